/*
 * mkimage.h - synthetic ESP32 application images for tests, benchmarks and
 * demos: structurally exact (header, esp_app_desc_t, segments, XOR checksum,
 * appended SHA-256), of any size, reproducible from a seed, so the project
 * never needs to commit real firmware.
 */
#ifndef SIM_MKIMAGE_H
#define SIM_MKIMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_MKIMAGE_MIN_SIZE 512u

struct sim_mkimage_opts {
    int chip_id;             /* FOTA_CHIP_ESP32, ... */
    const char *version;     /* esp_app_desc_t.version (NULL: "0.0.0") */
    const char *project;     /* esp_app_desc_t.project_name (NULL: "fota-sim") */
    uint32_t secure_version;
    uint32_t seed;           /* segment data and layout; same seed, same image */
    uint32_t ff_every;       /* 0: none; N: segment data of every N-th 256-byte
                                page (page index % N == 1) is 0xFF, as padding
                                in real images is (tests of the 0xFF-page rule) */
};

/*
 * Write an image of exactly size bytes into buf. size must be a multiple of
 * 16 and at least 512; chip_id a known chip (fota_chip_name != "unknown");
 * version and project at most 31 characters. Returns FOTA_OK,
 * FOTA_ERR_PARAM or FOTA_ERR_CRYPTO.
 */
int sim_mkimage(uint8_t *buf, uint32_t size, const struct sim_mkimage_opts *o);

/* Length of an image of image_size bytes once signed for secure boot v2:
 * padded to the next 4096-byte boundary, plus the 4096-byte sector. */
uint32_t sim_mkimage_sbv2_len(uint32_t image_size);

/*
 * Sign buf[0, image_size) (an image from sim_mkimage) the way espsecure lays
 * out secure boot v2 (include/fota/esp_image.h): 0xFF padding to the next
 * 4096-byte boundary, then a signature sector of nblocks (1..3) blocks, each
 * with the magic, version 2, the SHA-256 of image and padding, a key and a
 * signature, and its CRC; the rest 0xFF. The key and signature bytes are
 * random (from seed): nothing here holds an eFuse-trusted RSA key, so only
 * the structure is real, which is all the project checks (ESP-IDF's
 * esp_image_verify checks the signature on a device). buf must hold
 * sim_mkimage_sbv2_len(image_size) bytes. FOTA_OK, FOTA_ERR_PARAM or
 * FOTA_ERR_CRYPTO.
 */
int sim_mkimage_sbv2(uint8_t *buf, uint32_t image_size, uint32_t seed, unsigned nblocks);

/*
 * Revision rev (0..4) of the synthetic application of about approx bytes
 * (16 KB..8 MB) made from o->seed (mkapp.c): ESP32 only (o->chip_id),
 * version and project from o. Revisions are cumulative edits as real
 * releases make them: 1 constants changed, 2 a function edited (the code
 * after it shifts), 3 functions moved, 4 a data segment grown. The image is
 * exact (checksum, appended SHA-256); its size follows from the model.
 * *out is malloc'ed. FOTA_OK, FOTA_ERR_PARAM, FOTA_ERR_CRYPTO.
 */
int sim_mkapp(uint8_t **out, uint32_t *out_len, uint32_t approx, const struct sim_mkimage_opts *o,
              unsigned rev);

#ifdef __cplusplus
}
#endif
#endif
