/*
 * mkimage.c - synthetic ESP32 application images (see mkimage.h).
 *
 * Layout of an image of size S: 24-byte header; 2-4 segments whose data
 * lengths are multiples of 4 (as esptool writes them), the first one opening
 * with esp_app_desc_t; the segments end at S - 48, so that 15 zero bytes of
 * padding and the XOR checksum byte end at S - 32, 16-aligned; the last 32
 * bytes are the SHA-256 of everything before them.
 */
#include "mkimage.h"

#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "simrand.h"

/* Plausible load addresses (DROM, DRAM, IRAM, IROM) per chip family, as the
 * linker scripts of ESP-IDF place them. */
static const struct {
    int chip;
    uint32_t load[4];
} chip_maps[] = {
    {FOTA_CHIP_ESP32, {0x3F400020u, 0x3FFB0000u, 0x40080000u, 0x400D0020u}},
    {FOTA_CHIP_ESP32S2, {0x3F000020u, 0x3FFBE000u, 0x40022000u, 0x40080020u}},
    {FOTA_CHIP_ESP32S3, {0x3C000020u, 0x3FC88000u, 0x40374000u, 0x42000020u}},
    {FOTA_CHIP_ESP32C3, {0x3C000020u, 0x3FC88000u, 0x40380000u, 0x42000020u}},
    {FOTA_CHIP_ESP32C2, {0x3C000020u, 0x3FCA0000u, 0x40380000u, 0x42000020u}},
    {FOTA_CHIP_ESP32C6, {0x42800020u, 0x40800000u, 0x40800000u, 0x42000020u}},
    {FOTA_CHIP_ESP32H2, {0x42800020u, 0x40800000u, 0x40800000u, 0x42000020u}},
};
#define N_CHIP_MAPS (sizeof chip_maps / sizeof chip_maps[0])

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}


static void put_str(uint8_t *dst, const char *s, size_t field)
{
    size_t n = strlen(s);
    memcpy(dst, s, n < field ? n : field - 1);
}

int sim_mkimage(uint8_t *buf, uint32_t size, const struct sim_mkimage_opts *o)
{
    const char *version, *project;
    const uint32_t *load = NULL;
    uint32_t rng, segs_end, data_total, rest, per, pos, i, k, hash_off;
    uint8_t *d, ck = FOTA_IMG_CHECKSUM_SEED;
    unsigned m;

    if (!buf || !o || size < SIM_MKIMAGE_MIN_SIZE || size % 16u)
        return FOTA_ERR_PARAM;
    for (m = 0; m < N_CHIP_MAPS; m++)
        if (chip_maps[m].chip == o->chip_id)
            load = chip_maps[m].load;
    if (!load)
        return FOTA_ERR_PARAM;
    version = o->version ? o->version : "0.0.0";
    project = o->project ? o->project : "fota-sim";
    if (strlen(version) > 31 || strlen(project) > 31)
        return FOTA_ERR_PARAM;

    rng = o->seed * 0x9E3779B9u ^ 0xA5A5F00Du;
    if (!rng)
        rng = 0x2545F491u;
    k = 2u + o->seed % 3u;
    hash_off = size - FOTA_IMG_HASH_LEN;
    segs_end = hash_off - 16u;
    data_total = segs_end - FOTA_IMG_HEADER_LEN - k * FOTA_IMG_SEG_HEADER_LEN;
    rest = data_total - FOTA_APP_DESC_LEN;
    per = (rest / k) & ~3u;

    memset(buf, 0, size);
    buf[0] = FOTA_IMG_MAGIC;
    buf[1] = (uint8_t)k;
    buf[2] = 2;    /* spi_mode DIO */
    buf[3] = 0x20; /* 4 MB, 40 MHz */
    put32(buf + 4, load[2] + 0x0F00u + (o->seed & 0xFFu) * 4u);
    buf[8] = 0xEE; /* wp_pin: not used */
    buf[12] = (uint8_t)o->chip_id;
    buf[13] = (uint8_t)((unsigned)o->chip_id >> 8);
    buf[17] = 0x8F; /* max_chip_rev_full 399, as ESP-IDF v5 writes */
    buf[18] = 0x01;
    buf[23] = 1;   /* hash_appended */

    pos = FOTA_IMG_HEADER_LEN;
    for (i = 0; i < k; i++) {
        uint32_t len = i + 1 == k ? rest - per * (k - 1) : per;
        uint32_t j = 0;
        if (i == 0)
            len += FOTA_APP_DESC_LEN;
        put32(buf + pos, load[i]);
        put32(buf + pos + 4, len);
        pos += FOTA_IMG_SEG_HEADER_LEN;
        d = buf + pos;
        if (i == 0) {
            put32(d, FOTA_APP_DESC_MAGIC);
            put32(d + 4, o->secure_version);
            put_str(d + 16, version, 32);
            put_str(d + 48, project, 32);
            put_str(d + 80, "00:00:00", 16);
            put_str(d + 96, "Jan  1 2024", 16);
            put_str(d + 112, "v5.1-fota-sim", 32);
            for (j = 144; j < 176; j += 4) /* app_elf_sha256 */
                put32(d + j, xs_next(&rng));
            j = FOTA_APP_DESC_LEN;
        }
        for (; j < len; j += 4)
            put32(d + j, xs_next(&rng));
        for (j = 0; o->ff_every && j < len; j++)
            if (((pos + j) / 256u) % o->ff_every == 1u && (i || j >= FOTA_APP_DESC_LEN))
                d[j] = 0xFF;
        for (j = 0; j < len; j++)
            ck ^= d[j];
        pos += len;
    }
    buf[hash_off - 1u] = ck;
    if (mbedtls_sha256_ret(buf, hash_off, buf + hash_off, 0) != 0)
        return FOTA_ERR_CRYPTO;
    return FOTA_OK;
}

uint32_t sim_mkimage_sbv2_len(uint32_t image_size)
{
    return ((image_size + FOTA_SBV2_SECTOR_LEN - 1u) & ~(FOTA_SBV2_SECTOR_LEN - 1u)) +
           FOTA_SBV2_SECTOR_LEN;
}

int sim_mkimage_sbv2(uint8_t *buf, uint32_t image_size, uint32_t seed, unsigned nblocks)
{
    uint32_t end, rng = seed * 0x2545F491u ^ 0x5EC0B007u, j;
    uint8_t digest[32], *sec;
    unsigned b;

    if (!buf || nblocks < 1 || nblocks > FOTA_SBV2_BLOCKS || image_size > 0xFFFF0000u)
        return FOTA_ERR_PARAM;
    if (!rng)
        rng = 0x2545F491u;
    end = sim_mkimage_sbv2_len(image_size) - FOTA_SBV2_SECTOR_LEN;
    memset(buf + image_size, 0xFF, end - image_size + FOTA_SBV2_SECTOR_LEN);
    if (mbedtls_sha256_ret(buf, end, digest, 0) != 0)
        return FOTA_ERR_CRYPTO;
    sec = buf + end;
    for (b = 0; b < nblocks; b++) {
        uint8_t *k = sec + b * FOTA_SBV2_BLOCK_LEN;
        k[0] = FOTA_SBV2_MAGIC;
        k[1] = FOTA_SBV2_VERSION;
        k[2] = k[3] = 0;
        memcpy(k + FOTA_SBV2_DIGEST_OFFSET, digest, sizeof digest);
        for (j = FOTA_SBV2_DIGEST_OFFSET + 32u; j < FOTA_SBV2_CRC_OFFSET; j += 4)
            put32(k + j, xs_next(&rng)); /* key and signature: random */
        put32(k + FOTA_SBV2_CRC_OFFSET, fota_crc32(0, k, FOTA_SBV2_CRC_OFFSET));
        memset(k + FOTA_SBV2_CRC_OFFSET + 4u, 0, FOTA_SBV2_BLOCK_LEN - FOTA_SBV2_CRC_OFFSET - 4u);
    }
    return FOTA_OK;
}
