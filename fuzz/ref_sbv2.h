/*
 * ref_sbv2.h - an independent reference check of a secure boot v2
 * signature sector for the fuzz oracles (not the core's code): the layout of
 * ESP-IDF's ets_secure_boot_signature_t (include/fota/esp_image.h). Returns
 * the number of signature blocks (1..3) when the 4096 bytes at sec are a
 * well-formed sector, else -1.
 */
#ifndef FUZZ_REF_SBV2_H
#define FUZZ_REF_SBV2_H

#include <stdint.h>

static uint32_t ref_crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1u ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static int ref_sbv2_sector(const uint8_t *sec)
{
    int blocks = 0, blank = 0;
    for (int b = 0; b < 3; b++) {
        const uint8_t *k = sec + 1216 * b;
        uint32_t stored = (uint32_t)k[1196] | (uint32_t)k[1197] << 8 | (uint32_t)k[1198] << 16 |
                          (uint32_t)k[1199] << 24;
        int all_ff = 1;
        for (int i = 0; i < 1216; i++)
            all_ff &= k[i] == 0xFF;
        if (all_ff && b > 0) {
            blank = 1;
            continue;
        }
        if (blank || k[0] != 0xE7 || k[1] != 0x02 || stored != ref_crc32(k, 1196))
            return -1;
        blocks++;
    }
    for (int i = 3 * 1216; i < 4096; i++)
        if (sec[i] != 0xFF)
            return -1;
    return blocks;
}

#endif
