/*
 * efuse_fake.c - a fake eFuse secure_version field for the host test's
 * anti-rollback build (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK): a fake at the
 * port boundary, standing for ESP-IDF's efuse component, which the pinned
 * subset does not hold. The field lives in a file beside the flash file
 * (FLASH.efuse), one little-endian u32 used as the eFuse's thermometer code:
 * secure_version n is the n lowest bits set, and a burn only ever sets bits
 * (new = old OR bits), as real eFuses do, so the value never goes down.
 * Every call is printed ("efuse: read 5", "efuse: update 5: 3 -> 5"), so a
 * test sees who reads it and who advances it, and when.
 */
#include <stdio.h>
#include <string.h>
#include "esp_efuse.h"
#include "idf_shim.h"

#define FIELD_BITS 32u

static char s_path[600];

void shim_efuse_open(const char *flash_file)
{
    snprintf(s_path, sizeof s_path, "%s.efuse", flash_file);
}

static uint32_t load(void)
{
    unsigned char b[4] = {0, 0, 0, 0};
    FILE *f = s_path[0] ? fopen(s_path, "rb") : NULL;
    if (f) {
        if (fread(b, 1, 4, f) != 4)
            memset(b, 0, sizeof b);
        fclose(f);
    }
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t popcount(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

uint32_t esp_efuse_read_secure_version(void)
{
    uint32_t v = popcount(load());
    printf("efuse: read %u\n", (unsigned)v);
    return v;
}

bool esp_efuse_check_secure_version(uint32_t secure_version)
{
    return secure_version >= popcount(load());
}

esp_err_t esp_efuse_update_secure_version(uint32_t secure_version)
{
    uint32_t old = load(), bits, v;
    unsigned char b[4];
    FILE *f;
    if (secure_version > FIELD_BITS)
        return ESP_ERR_INVALID_ARG;
    bits = secure_version == 32 ? 0xFFFFFFFFu : (1u << secure_version) - 1u;
    v = old | bits; /* burning only sets bits */
    printf("efuse: update %u: %u -> %u\n", (unsigned)secure_version, (unsigned)popcount(old),
           (unsigned)popcount(v));
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16), b[3] = (unsigned char)(v >> 24);
    f = fopen(s_path, "wb");
    if (!f || fwrite(b, 1, 4, f) != 4) {
        if (f)
            fclose(f);
        return ESP_FAIL;
    }
    return fclose(f) ? ESP_FAIL : ESP_OK;
}
