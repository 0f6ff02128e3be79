/*
 * idf_host.c - runs ESP-IDF v5.4.4's own bootloader code (bootloader_utility.c
 * and bootloader_common_loader.c from ../shared/esp-idf, compiled by CMake at
 * build time with the stand-in headers of stubs/) on the host, for the
 * bootloader oracle (oracle_boot.c).
 *
 * This file is the fake at ESP-IDF's port boundary: the flash (bootloader_mmap,
 * bootloader_flash_erase_sector/_write on a RAM buffer with NOR semantics),
 * image loading (bootloader_load_image answers from a list of good partition
 * offsets) and the points where the real bootloader leaves C for good
 * (bootloader_random_disable, the first call of load_image once an image is
 * chosen, and esp_rom_software_reset_system, reached when nothing boots),
 * which longjmp back here. The otadata reading, validity, selection, the
 * PENDING_VERIFY -> ABORTED and NEW -> PENDING_VERIFY rewrites, the initial
 * ota_seq write and the fallback order are ESP-IDF's code, unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdkconfig.h"
#include "esp_err.h"
#include "esp_log.h"
#include "esp_rom_spiflash.h"
#include "esp_flash_partitions.h"
#include "esp_image_format.h"
#include "esp_rom_sys.h"
#include "bootloader_common.h"
#include "bootloader_config.h"
#include "bootloader_flash_priv.h"
#include "bootloader_utility.h"
#include "bootloader_random.h"
#include "bootloader_soc.h"
#include "bootloader_console.h"
#include "bootloader_sha.h"
#include "esp_flash_encrypt.h"

#include "idf_oracle.h"

static const struct idf_oracle_in *g_in;
static struct idf_oracle_out *g_out;
static jmp_buf g_jmp;
static int g_candidate; /* offset of the image bootloader_load_image accepted last */

static void harness_error(const char *fmt, ...)
{
    va_list ap;
    if (g_out->err[0])
        return;
    va_start(ap, fmt);
    vsnprintf(g_out->err, sizeof g_out->err, fmt, ap);
    va_end(ap);
}

/* ---- flash ---------------------------------------------------------------- */

const void *bootloader_mmap(uint32_t src_addr, uint32_t size)
{
    if (src_addr > g_in->flash_size || size > g_in->flash_size - src_addr) {
        harness_error("bootloader_mmap(0x%x, 0x%x) outside the flash", (unsigned)src_addr,
                      (unsigned)size);
        return NULL;
    }
    return g_in->flash + src_addr;
}

void bootloader_munmap(const void *mapping)
{
    (void)mapping;
}

uint32_t bootloader_mmap_get_free_pages(void)
{
    return 50;
}

esp_err_t bootloader_flash_erase_sector(size_t sector)
{
    if (sector >= g_in->flash_size / FLASH_SECTOR_SIZE) {
        harness_error("erase of sector %zu outside the flash", sector);
        return ESP_FAIL;
    }
    memset(g_in->flash + sector * FLASH_SECTOR_SIZE, 0xFF, FLASH_SECTOR_SIZE);
    g_out->ops++;
    return ESP_OK;
}

esp_err_t bootloader_flash_write(size_t dest_addr, void *src, size_t size, bool write_encrypted)
{
    const uint8_t *s = src;
    size_t i;
    if (write_encrypted || dest_addr > g_in->flash_size || size > g_in->flash_size - dest_addr) {
        harness_error("write of %zu bytes at 0x%zx%s", size, dest_addr,
                      write_encrypted ? " encrypted" : " outside the flash");
        return ESP_FAIL;
    }
    for (i = 0; i < size; i++) /* NOR: programming only clears bits */
        g_in->flash[dest_addr + i] &= s[i];
    g_out->ops++;
    return ESP_OK;
}

bool esp_flash_encryption_enabled(void)
{
    return false;
}

/* Not ESP-IDF's verification (flash_partitions.c is not in the pinned
 * subset): count the entries up to the first one that is not a partition,
 * which is how many bootloader_utility_load_partition_table then reads. */
esp_err_t esp_partition_table_verify(const esp_partition_info_t *partition_table, bool log_errors,
                                     int *num_partitions)
{
    int n = 0;
    (void)log_errors;
    while (n < (int)ESP_PARTITION_TABLE_MAX_ENTRIES && partition_table[n].magic == ESP_PARTITION_MAGIC)
        n++;
    *num_partitions = n;
    return ESP_OK;
}

/* ---- image loading and leaving the bootloader ----------------------------- */

esp_err_t bootloader_load_image(const esp_partition_pos_t *part, esp_image_metadata_t *data)
{
    unsigned i;
    memset(data, 0, sizeof *data);
    for (i = 0; i < g_in->ngood; i++) {
        if (g_in->good[i] == part->offset) {
            g_candidate = (int)part->offset;
            return ESP_OK;
        }
    }
    return ESP_ERR_IMAGE_INVALID;
}

/* load_image()'s first call once an image was chosen (no secure boot, no
 * flash encryption): the app would start now. */
void bootloader_random_disable(void)
{
    longjmp(g_jmp, 1);
}

/* bootloader_reset(): nothing could be loaded. */
void esp_rom_software_reset_system(void)
{
    longjmp(g_jmp, 2);
}

void bootloader_console_deinit(void)
{
}

void esp_rom_delay_us(uint32_t us)
{
    (void)us;
}

/* ---- never reached: the app start, hashing, eFuses, logging --------------- */

#define NEVER(decl)                                                       \
    decl                                                                  \
    {                                                                     \
        fprintf(stderr, "idf_host: unexpected call: %s\n", #decl);        \
        abort();                                                          \
    }

NEVER(void bootloader_ana_clock_glitch_reset_config(bool enable))
NEVER(bootloader_sha256_handle_t bootloader_sha256_start(void))
NEVER(void bootloader_sha256_data(bootloader_sha256_handle_t h, const void *d, size_t l))
NEVER(void bootloader_sha256_finish(bootloader_sha256_handle_t h, uint8_t *digest))
NEVER(uint32_t efuse_hal_blk_version(void))
NEVER(uint32_t efuse_hal_chip_revision(void))
NEVER(bool efuse_hal_get_disable_blk_version_major(void))
NEVER(bool efuse_hal_get_disable_wafer_version_major(void))
NEVER(void cache_hal_disable(int level, int type))
NEVER(void cache_hal_enable(int level, int type))
NEVER(void mmu_hal_unmap_all(void))
NEVER(void mmu_hal_map_region(uint32_t id, int t, uint32_t v, uint32_t p, uint32_t l, uint32_t *o))
NEVER(cache_bus_mask_t cache_ll_l1_get_bus(uint32_t id, uint32_t v, uint32_t l))
NEVER(void cache_ll_l1_enable_bus(uint32_t id, cache_bus_mask_t m))

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    (void)level;
    (void)tag;
    (void)format;
}

uint32_t esp_log_timestamp(void)
{
    return 0;
}

/* ---- the run ------------------------------------------------------------- */

int idf_oracle_boot(const struct idf_oracle_in *in, struct idf_oracle_out *out)
{
    static bootloader_state_t bs; /* static: longjmp leaves the frames below */
    esp_ota_select_entry_t two[2];
    volatile int start;
    int how;

    memset(out, 0, sizeof *out);
    out->start = out->entry = out->loaded = IDF_ORACLE_NONE;
    g_in = in;
    g_out = out;
    g_candidate = -1;
    memset(&bs, 0, sizeof bs);
    if (!bootloader_utility_load_partition_table(&bs)) {
        harness_error("bootloader_utility_load_partition_table failed");
        return -1;
    }
    start = bootloader_utility_get_selected_boot_partition(&bs);
    out->start = start;
    if (start == INVALID_INDEX) {
        harness_error("bootloader_common_read_otadata failed");
        return -1;
    }
    /* the entry in force: what get_selected_boot_partition chose from (its
     * rewrites keep every entry's validity but the ABORTED ones) */
    out->entry = -1;
    if (bs.ota_info.offset && bootloader_common_read_otadata(&bs.ota_info, two) == ESP_OK)
        out->entry = bootloader_common_get_active_otadata(two);

    how = setjmp(g_jmp);
    if (how == 0) {
        bootloader_utility_load_boot_image(&bs, start);
        harness_error("bootloader_utility_load_boot_image returned");
        return -1;
    }
    if (how == 2) {
        out->loaded = IDF_ORACLE_NONE;
    } else {
        int i;
        out->loaded = IDF_ORACLE_NONE;
        if (g_candidate >= 0 && (uint32_t)g_candidate == bs.factory.offset && bs.factory.size)
            out->loaded = IDF_ORACLE_FACTORY;
        for (i = 0; i < (int)bs.app_count; i++)
            if (g_candidate >= 0 && (uint32_t)g_candidate == bs.ota[i].offset)
                out->loaded = i;
        if (out->loaded == IDF_ORACLE_NONE)
            harness_error("loaded an image at 0x%x that is no app partition", g_candidate);
    }
    return out->err[0] ? -1 : 0;
}
