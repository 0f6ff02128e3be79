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

#ifdef __cplusplus
}
#endif
#endif
