/*
 * esp_image.h - the ESP32 application image format (esp_app_format.h), checked
 * without allocating and without hashing.
 *
 * Used by the device core (before erasing anything, and on the final
 * read-back), by the simulated bootloader and by the server when it accepts a
 * release. Hashing stays with the caller: fota_img_walk tells where the
 * appended SHA-256 sits, and the caller hashes [0, hash_offset) with whatever
 * SHA-256 it has (a port callback, mbedTLS) and compares.
 *
 * Layout (all little-endian):
 *   0   esp_image_header_t, 24 bytes: magic 0xE9, segment_count, spi_mode,
 *       spi_speed_size, entry_addr u32, wp_pin, spi_pin_drv[3], chip_id u16 @12,
 *       min_chip_rev, min_chip_rev_full u16, max_chip_rev_full u16,
 *       reserved[4], hash_appended @23
 *   24  segments: 8-byte header {load_addr u32, data_len u32} then data
 *   32  the first segment of an application starts with esp_app_desc_t
 *       (256 bytes, magic_word 0xABCD5432)
 *   ..  padding so that (end of segments + 1) is 16-aligned; the last padding
 *       byte is the XOR of all segment data, seeded with 0xEF
 *   ..  when hash_appended == 1: SHA-256 of everything before it (32 bytes)
 *
 * Optionally, as `espsecure sign_data --version 2` lays out a secure boot v2
 * signed app (ESP-IDF v5.4.4: struct ets_secure_boot_signature and
 * ets_secure_boot_sig_block in components/esp_rom/esp32c3/include/esp32c3/
 * rom/secure_boot.h; placement in bootloader_support/src/esp_image_format.c,
 * verify_secure_boot_signature() and process_appended_hash_and_sig()):
 *   ..  padding up to the next 4096-byte boundary (none when the image ends
 *       on one): any bytes (ESP-IDF hashes them into the signed digest and
 *       checks nothing else; espsecure writes 0xFF)
 *   ..  one 4096-byte signature sector: up to 3 blocks of 1216 bytes
 *         0    magic 0xE7
 *         1    version 0x02 (RSA-PSS; the ECDSA v2 scheme is not supported)
 *         2    2 reserved bytes
 *         4    image_digest[32] (SHA-256 of the image and padding)
 *         36   ets_rsa_pubkey_t (n[384], e u32, rinv[384], mdash u32)
 *         812  signature[384]
 *         1196 block_crc u32: CRC-32 of bytes 0..1195 (esp_rom_crc32_le(0,
 *              ...), i.e. zlib's crc32, fota_crc32(0, ...))
 *         1200 16 padding bytes
 *       then 448 bytes of 0xFF.
 * The walk checks that structure: the first block is a signature block (magic,
 * version, CRC), each following block is one too or all 0xFF (no signature
 * block after a blank one, as the ROM stops at the first invalid block), and
 * the end of the sector is 0xFF. It does not verify the RSA signature: on
 * ESP-IDF, esp_ota_set_boot_partition() runs esp_image_verify(), which checks
 * it against the eFuse key digests when secure boot is enabled; nothing here
 * holds those keys. The release SHA-256 covers the whole file, sector
 * included; the appended hash covers only the image before it.
 */
#ifndef FOTA_ESP_IMAGE_H
#define FOTA_ESP_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_IMG_MAGIC            0xE9u
#define FOTA_IMG_HEADER_LEN       24u
#define FOTA_IMG_SEG_HEADER_LEN   8u
#define FOTA_APP_DESC_OFFSET      32u     /* header + first segment header */
#define FOTA_APP_DESC_LEN         256u
#define FOTA_APP_DESC_MAGIC       0xABCD5432u
#define FOTA_IMG_HEAD_LEN         (FOTA_APP_DESC_OFFSET + FOTA_APP_DESC_LEN) /* 288 */
#define FOTA_IMG_MAX_SEGMENTS     16u     /* ESP_IMAGE_MAX_SEGMENTS */
#define FOTA_IMG_CHECKSUM_SEED    0xEFu
#define FOTA_IMG_HASH_LEN         32u

/* secure boot v2 signature sector (see above) */
#define FOTA_SBV2_SECTOR_LEN      4096u   /* sizeof(ets_secure_boot_signature_t) */
#define FOTA_SBV2_BLOCK_LEN       1216u   /* sizeof(ets_secure_boot_sig_block_t) */
#define FOTA_SBV2_BLOCKS          3u      /* SECURE_BOOT_NUM_BLOCKS */
#define FOTA_SBV2_MAGIC           0xE7u   /* ETS_SECURE_BOOT_V2_SIGNATURE_MAGIC */
#define FOTA_SBV2_VERSION         0x02u
#define FOTA_SBV2_DIGEST_OFFSET   4u
#define FOTA_SBV2_CRC_OFFSET      1196u   /* CRC_SIGN_BLOCK_LEN */

/* What was wrong in a signature sector (fota_img_walk.sig_fault). */
#define FOTA_SBV2_BAD_MAGIC       1u  /* first byte of a block neither 0xE7 nor (blank) 0xFF */
#define FOTA_SBV2_BAD_VERSION     2u  /* version byte not 0x02 */
#define FOTA_SBV2_BAD_CRC         3u  /* block_crc differs from the CRC of the block */
#define FOTA_SBV2_NOT_BLANK       4u  /* a blank block or the sector's end holds a non-0xFF byte */
#define FOTA_SBV2_NO_BLOCK        5u  /* the first block is blank: no signature at all */
/* (fota_img_walk_finish reports a file that ends inside the sector as
 * FOTA_ERR_IMG_SIG_SECTOR with sig_fault still 0.) */

/* chip_id values of esp_image_header_t */
#define FOTA_CHIP_ESP32    0
#define FOTA_CHIP_ESP32S2  2
#define FOTA_CHIP_ESP32C3  5
#define FOTA_CHIP_ESP32S3  9
#define FOTA_CHIP_ESP32C2  12
#define FOTA_CHIP_ESP32C6  13
#define FOTA_CHIP_ESP32H2  16
#define FOTA_CHIP_ANY      (-1)

/* What the header and the app descriptor say. Strings are NUL-terminated
 * copies of the fixed-size fields (truncated at the field size). */
struct fota_app_info {
    uint16_t chip_id;
    uint8_t  segment_count;
    uint8_t  hash_appended;
    uint32_t entry_addr;
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
};

/* Name of a chip id ("esp32", "esp32s3"), or "unknown". */
const char *fota_chip_name(int chip_id);

/* Chip id for a name as printed by fota_chip_name(), or FOTA_ERR_PARAM. */
int fota_chip_from_name(const char *name);

/*
 * Check the first bytes of an image: header magic, segment count, chip and the
 * app descriptor magic. Needs len >= FOTA_IMG_HEAD_LEN (else FOTA_ERR_TRUNCATED).
 *   expected_chip: a FOTA_CHIP_* value, or FOTA_CHIP_ANY to accept any chip.
 *   info: filled on success (may be NULL).
 * Returns FOTA_OK, FOTA_ERR_IMG_MAGIC, FOTA_ERR_IMG_FORMAT (segment count),
 * FOTA_ERR_IMG_CHIP or FOTA_ERR_IMG_NOT_APP.
 */
int fota_img_check_head(const uint8_t *buf, uint32_t len, int expected_chip,
                        struct fota_app_info *info);

/*
 * Streaming structural walk of a whole image: segment headers, XOR checksum,
 * padding, and where the appended hash sits. Feed the image in any pieces.
 * It holds a few counters only (no copy of the data).
 */
struct fota_img_walk {
    uint32_t pos;           /* bytes fed so far */
    uint32_t limit;         /* refuse images longer than this */
    uint32_t next_hdr;      /* offset of the next segment header */
    uint32_t seg_end;       /* end of the current segment's data */
    uint32_t segs_end;      /* end of all segments, once known (else 0) */
    uint32_t hash_offset;   /* offset of the appended hash (0 if none) */
    uint32_t total;         /* expected image length, once known (else 0) */
    uint8_t  seg_count;
    uint8_t  seg_index;
    uint8_t  hash_appended;
    uint8_t  checksum;      /* running XOR of segment data */
    uint8_t  stored_checksum;
    uint8_t  hdr[FOTA_IMG_SEG_HEADER_LEN]; /* segment header being assembled */
    int      err;           /* first error seen, sticky */
    /* secure boot v2 tail, once total is known */
    uint32_t sig_offset;    /* where a signature sector would start (total rounded up to 4096) */
    uint32_t sig_crc;       /* running CRC-32 of the current block */
    uint32_t sig_stored;    /* block_crc being assembled */
    uint8_t  sig_blocks;    /* signature blocks checked so far */
    uint8_t  sig_blank;     /* the current block (and all after it) is blank */
    uint8_t  sig_fault;     /* FOTA_SBV2_* reason when err is FOTA_ERR_IMG_SIG_SECTOR */
    uint8_t  sig_block;     /* index of the block at fault */
};

/* Start a walk; limit is the largest acceptable image length (slot size). */
void fota_img_walk_init(struct fota_img_walk *w, uint32_t limit);

/* Feed the next len bytes. Returns FOTA_OK or a sticky error:
 * FOTA_ERR_IMG_MAGIC, FOTA_ERR_IMG_FORMAT, FOTA_ERR_SLOT_SIZE (longer than
 * limit), FOTA_ERR_IMG_SIG_SECTOR (bytes after the image that are not a
 * well-formed signature sector, sig_fault says how), FOTA_ERR_TOO_LARGE
 * (bytes past the end of the image and its signature sector). */
int fota_img_walk_feed(struct fota_img_walk *w, const uint8_t *data, uint32_t len);

/*
 * End of input: check that the image is complete and the checksum matches.
 *   hash_offset: set to the offset of the appended SHA-256 (the caller hashes
 *                [0, *hash_offset) and compares with the 32 bytes there), or 0
 *                when the image has no appended hash. May be NULL.
 * The input may end right after the image (w->total bytes) or after its
 * signature sector (w->sig_offset + FOTA_SBV2_SECTOR_LEN bytes); ending
 * after the image but before the sector starts is FOTA_ERR_TOO_LARGE
 * (trailing bytes), inside the sector FOTA_ERR_IMG_SIG_SECTOR.
 * Returns FOTA_OK, FOTA_ERR_TRUNCATED, FOTA_ERR_IMG_CHECKSUM or the errors
 * above.
 */
int fota_img_walk_finish(const struct fota_img_walk *w, uint32_t *hash_offset);

/* Whether the input fed so far carries a secure boot v2 signature sector:
 * 1 after a successful fota_img_walk_finish on a signed image, else 0. */
int fota_img_walk_signed(const struct fota_img_walk *w);

/*
 * Where an image in a slot ends, for a reader that does not know the file's
 * length (a bootloader): after w has walked the image (w->total known), the
 * caller reads the 2 bytes at w->sig_offset; when they are a signature
 * block's magic and version, the image ends with its signature sector
 * (w->sig_offset + FOTA_SBV2_SECTOR_LEN), else at w->total. Returns 0 when
 * w->total is not known yet.
 */
uint32_t fota_img_walk_end(const struct fota_img_walk *w, const uint8_t at_sig[2]);

#ifdef __cplusplus
}
#endif
#endif
