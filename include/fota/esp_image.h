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
};

/* Start a walk; limit is the largest acceptable image length (slot size). */
void fota_img_walk_init(struct fota_img_walk *w, uint32_t limit);

/* Feed the next len bytes. Returns FOTA_OK or a sticky error:
 * FOTA_ERR_IMG_MAGIC, FOTA_ERR_IMG_FORMAT, FOTA_ERR_SLOT_SIZE (longer than
 * limit), FOTA_ERR_TOO_LARGE (bytes past the end of the image). */
int fota_img_walk_feed(struct fota_img_walk *w, const uint8_t *data, uint32_t len);

/*
 * End of input: check that the image is complete and the checksum matches.
 *   hash_offset: set to the offset of the appended SHA-256 (the caller hashes
 *                [0, *hash_offset) and compares with the 32 bytes there), or 0
 *                when the image has no appended hash. May be NULL.
 * Returns FOTA_OK, FOTA_ERR_TRUNCATED, FOTA_ERR_IMG_CHECKSUM or the sticky error.
 */
int fota_img_walk_finish(const struct fota_img_walk *w, uint32_t *hash_offset);

#ifdef __cplusplus
}
#endif
#endif
