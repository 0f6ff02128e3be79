/*
 * idf_shim.c - the thin layer of the host test between ESP-IDF's own code
 * and the Linux process it runs in (tests/esp-idf/host). What runs is real:
 * ESP-IDF's esp_partition Linux emulation and nvs_flash, ESP-IDF's own
 * app_update/esp_ota_ops.c (esp_ota_set_boot_partition,
 * esp_ota_mark_app_valid_cancel_rollback, esp_ota_get_state_partition, ...
 * writing otadata into the emulated flash exactly as on a device), and the
 * ESP-IDF port of libfota. Faked here, each at the boundary named:
 *
 *   - the chip: spi_flash_cache2phys (which partition the running code is
 *     in: the one this file's bootloader step chose), esp_restart (the
 *     process exits with SHIM_EXIT_RESTART; the next run is the next boot),
 *     esp_flash_encryption_enabled (off unless shim_set_flash_encryption),
 *     esp_app_get_description (read
 *     from the running partition, as the linker-placed descriptor would be);
 *   - bootloader_support: ESP-IDF's bootloader_common.c does not compile on
 *     the host, so bootloader_common_ota_select_* / _get_active_otadata /
 *     _select_otadata are re-stated here over the core's otadata helpers
 *     (fota/esp_ota.h), and esp_image_verify over the core's image walk
 *     (header, segments, checksum, appended SHA-256; no secure boot);
 *   - the bootloader's boot step at power-on (shim_power_on), with
 *     CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE's rules as bootloader_utility.c
 *     applies them: every PENDING_VERIFY entry becomes ABORTED, the active
 *     entry (highest valid seq) is chosen, a NEW one becomes
 *     PENDING_VERIFY; no valid entry boots ota_0 (no factory here); or,
 *     with shim_set_no_rollback, a bootloader built without it (the active
 *     entry boots as it is). It is
 *     modelled with the core's otadata rules: the bootloader-oracle test
 *     compares those with ESP-IDF's own code;
 *   - FreeRTOS and esp_timer: vTaskDelay does not wait (no timing in
 *     tests) but moves the clock on by the delay, esp_timer_get_time is
 *     CLOCK_MONOTONIC plus that, esp_random getrandom;
 *   - esp_reset_reason (what ended the previous boot: the test names it)
 *     and heap_caps_get_largest_free_block (wrapped: ESP-IDF's Linux heap
 *     reports UINT32_MAX; the test may name a smaller block);
 *   - power cuts: esp_partition_write / _write_raw / _erase_range are
 *     wrapped (ld --wrap). With a cut armed, ESP-IDF's own
 *     esp_partition_fail_after() performs the partial operation (the first
 *     4 x n bytes of the cut write, the first n sectors of the cut erase)
 *     and the wrapper then ends the process at once (exit SHIM_EXIT_CUT):
 *     nothing more reaches the flash file, as when power goes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "esp_err.h"
#include "esp_partition.h"
#include "esp_private/partition_linux.h"
#include "esp_flash_partitions.h"
#include "esp_image_format.h"
#include "esp_app_desc.h"
#include "esp_flash.h"
#include "esp_system.h"
#include "bootloader_common.h"
#include "spi_flash_mmap.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include <mbedtls/sha256.h>
#include "fota/esp_ota.h"
#include "fota/esp_image.h"
#include "fota/error.h"
#include "idf_shim.h"

/* ---- the chip ------------------------------------------------------------ */

static const esp_partition_t *s_booted;
esp_flash_t *esp_flash_default_chip = NULL;

const esp_partition_t *shim_booted(void)
{
    return s_booted;
}

size_t spi_flash_cache2phys(const void *cached)
{
    (void)cached;
    return s_booted ? s_booted->address + 0x20 : SPI_FLASH_CACHE2PHYS_FAIL;
}

static int s_flash_encryption;

void shim_set_flash_encryption(int on)
{
    s_flash_encryption = on;
}

bool esp_flash_encryption_enabled(void)
{
    return s_flash_encryption != 0;
}

void esp_restart(void)
{
    printf("restart\n");
    fflush(stdout);
    fflush(stderr);
    _exit(SHIM_EXIT_RESTART);
}

const esp_app_desc_t *esp_app_get_description(void)
{
    static esp_app_desc_t d;
    if (!s_booted || esp_partition_read(s_booted, sizeof(esp_image_header_t) +
                                        sizeof(esp_image_segment_header_t), &d, sizeof d))
        memset(&d, 0, sizeof d);
    return &d;
}

/* Time the device spent in vTaskDelay: added to the clock, never waited. */
static int64_t s_slept_us;
static unsigned s_yields;

int64_t esp_timer_get_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + s_slept_us;
}

static esp_reset_reason_t s_reset_reason = ESP_RST_POWERON;

void shim_set_reset_reason(esp_reset_reason_t r)
{
    s_reset_reason = r;
}

esp_reset_reason_t esp_reset_reason(void)
{
    return s_reset_reason;
}

static size_t s_free_block;

void shim_set_largest_free_block(size_t n)
{
    s_free_block = n;
}

size_t __real_heap_caps_get_largest_free_block(uint32_t caps);
size_t __wrap_heap_caps_get_largest_free_block(uint32_t caps);
size_t __wrap_heap_caps_get_largest_free_block(uint32_t caps)
{
    return s_free_block ? s_free_block : __real_heap_caps_get_largest_free_block(caps);
}

uint32_t esp_random(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (uint32_t)time(NULL);
    return v;
}

void vTaskDelay(const TickType_t ticks)
{
    /* no waiting in tests: the delay moves the clock on (a trial deadline
     * passes in a few loop rounds), and counts as a yield */
    s_slept_us += (int64_t)ticks * portTICK_PERIOD_MS * 1000;
    s_yields++;
}

/* ---- bootloader_support stand-ins ----------------------------------------- */

static void to_fota(const esp_ota_select_entry_t *s, struct fota_ota_entry *e)
{
    e->seq = s->ota_seq;
    memcpy(e->label, s->seq_label, sizeof e->label);
    e->state = s->ota_state;
    e->crc = s->crc;
}

uint32_t bootloader_common_ota_select_crc(const esp_ota_select_entry_t *s)
{
    return fota_ota_seq_crc(s->ota_seq);
}

bool bootloader_common_ota_select_valid(const esp_ota_select_entry_t *s)
{
    struct fota_ota_entry e;
    to_fota(s, &e);
    return fota_ota_bootable(&e) != 0;
}

bool bootloader_common_ota_select_invalid(const esp_ota_select_entry_t *s)
{
    return s->ota_seq == UINT32_MAX || s->ota_state == ESP_OTA_IMG_INVALID ||
           s->ota_state == ESP_OTA_IMG_ABORTED;
}

int bootloader_common_select_otadata(const esp_ota_select_entry_t *two, bool *valid, bool max)
{
    if (!two || !valid)
        return -1;
    if (valid[0] && valid[1]) {
        uint32_t a = two[0].ota_seq, b = two[1].ota_seq;
        uint32_t want = max ? (a > b ? a : b) : (a < b ? a : b);
        return want == a ? 0 : 1;
    }
    return valid[0] ? 0 : valid[1] ? 1 : -1;
}

int bootloader_common_get_active_otadata(esp_ota_select_entry_t *two)
{
    struct fota_ota_entry e[2];
    int rc;
    if (!two)
        return -1;
    to_fota(&two[0], &e[0]);
    to_fota(&two[1], &e[1]);
    rc = fota_ota_active(e);
    return rc < 0 ? -1 : rc;
}

/* The partition that starts at address (esp_image_verify gets positions). */
static const esp_partition_t *part_at(uint32_t address)
{
    esp_partition_iterator_t it = esp_partition_find(ESP_PARTITION_TYPE_ANY,
                                                     ESP_PARTITION_SUBTYPE_ANY, NULL);
    const esp_partition_t *found = NULL;
    for (; it; it = esp_partition_next(it)) {
        const esp_partition_t *p = esp_partition_get(it);
        if (p->address == address) {
            found = p;
            break;
        }
    }
    esp_partition_iterator_release(it);
    return found;
}

/* esp_image_verify over the core's image walk: header and app descriptor,
 * segments, XOR checksum, appended SHA-256. */
esp_err_t esp_image_verify(esp_image_load_mode_t mode, const esp_partition_pos_t *pos,
                           esp_image_metadata_t *data)
{
    const esp_partition_t *p = part_at(pos->offset);
    static uint8_t buf[4096];
    struct fota_img_walk w;
    uint32_t off = 0, n, hash_off = 0;
    int rc;
    (void)mode;
    if (data)
        memset(data, 0, sizeof *data);
    if (!p || esp_partition_read(p, 0, buf, sizeof buf) != ESP_OK)
        return ESP_ERR_IMAGE_INVALID;
    if (fota_img_check_head(buf, sizeof buf, FOTA_CHIP_ANY, NULL) != FOTA_OK)
        return ESP_ERR_IMAGE_INVALID;
    fota_img_walk_init(&w, pos->size);
    for (;;) {
        n = sizeof buf;
        if (w.total && w.total - off < n)
            n = w.total - off;
        if (off + n > pos->size)
            n = pos->size - off;
        if (n == 0 || esp_partition_read(p, off, buf, n) != ESP_OK)
            break;
        if (fota_img_walk_feed(&w, buf, n) != FOTA_OK)
            return ESP_ERR_IMAGE_INVALID;
        off += n;
        if (w.total && off >= w.total)
            break;
    }
    rc = fota_img_walk_finish(&w, &hash_off);
    if (rc != FOTA_OK)
        return ESP_ERR_IMAGE_INVALID;
    if (hash_off) {
        mbedtls_sha256_context c;
        uint8_t got[32], want[32];
        mbedtls_sha256_init(&c);
        mbedtls_sha256_starts_ret(&c, 0);
        for (off = 0; off < hash_off; off += n) {
            n = hash_off - off < sizeof buf ? hash_off - off : (uint32_t)sizeof buf;
            if (esp_partition_read(p, off, buf, n) != ESP_OK)
                return ESP_ERR_IMAGE_INVALID;
            mbedtls_sha256_update_ret(&c, buf, n);
        }
        mbedtls_sha256_finish_ret(&c, got);
        mbedtls_sha256_free(&c);
        if (esp_partition_read(p, hash_off, want, sizeof want) != ESP_OK ||
            memcmp(got, want, sizeof got))
            return ESP_ERR_IMAGE_INVALID;
    }
    if (data)
        data->image_len = w.total;
    return ESP_OK;
}

/* ---- the bootloader's boot step ------------------------------------------- */

static int read_otadata(const esp_partition_t *od, esp_ota_select_entry_t e[2])
{
    return esp_partition_read(od, 0, &e[0], sizeof e[0]) == ESP_OK &&
                   esp_partition_read(od, od->erase_size, &e[1], sizeof e[1]) == ESP_OK
               ? 0 : -1;
}

static int write_entry(const esp_partition_t *od, int i, const esp_ota_select_entry_t *e)
{
    if (esp_partition_erase_range(od, (size_t)i * od->erase_size, od->erase_size) != ESP_OK)
        return -1;
    return esp_partition_write(od, (size_t)i * od->erase_size, e, sizeof *e) == ESP_OK ? 0 : -1;
}

static const esp_partition_t *ota_slot(unsigned n)
{
    return esp_partition_find_first(ESP_PARTITION_TYPE_APP,
                                    (esp_partition_subtype_t)(ESP_PARTITION_SUBTYPE_APP_OTA_MIN + n),
                                    NULL);
}

static int s_no_rollback;

void shim_set_no_rollback(int on)
{
    s_no_rollback = on;
}

int shim_power_on(char *why, size_t whylen)
{
    const esp_partition_t *od = esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
                                                         ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
    esp_ota_select_entry_t e[2];
    unsigned count = 0;
    int i, active;

    while (count < 16 && ota_slot(count))
        count++;
    if (!od || count == 0 || read_otadata(od, e)) {
        snprintf(why, whylen, "no otadata or no OTA slot");
        return -1;
    }
    for (i = 0; i < 2 && !s_no_rollback; i++) {
        if (e[i].ota_state == ESP_OTA_IMG_PENDING_VERIFY) {
            e[i].ota_state = ESP_OTA_IMG_ABORTED; /* its trial boot did not confirm */
            if (write_entry(od, i, &e[i])) {
                snprintf(why, whylen, "otadata write");
                return -1;
            }
        }
    }
    active = bootloader_common_get_active_otadata(e);
    if (active < 0) {
        s_booted = ota_slot(0);
    } else {
        s_booted = ota_slot((e[active].ota_seq - 1) % count);
        if (e[active].ota_state == ESP_OTA_IMG_NEW && !s_no_rollback) {
            e[active].ota_state = ESP_OTA_IMG_PENDING_VERIFY; /* first boot: on trial */
            if (write_entry(od, active, &e[active])) {
                snprintf(why, whylen, "otadata write");
                return -1;
            }
        }
    }
    if (s_booted) {
        esp_partition_pos_t pos = {s_booted->address, s_booted->size};
        if (esp_image_verify(ESP_IMAGE_VERIFY, &pos, NULL) != ESP_OK) {
            /* as bootloader_utility_load_boot_image: another slot */
            const esp_partition_t *bad = s_booted;
            unsigned n;
            s_booted = NULL;
            for (n = 0; n < count && !s_booted; n++) {
                const esp_partition_t *p = ota_slot(n);
                esp_partition_pos_t q = {p->address, p->size};
                if (p != bad && esp_image_verify(ESP_IMAGE_VERIFY, &q, NULL) == ESP_OK)
                    s_booted = p;
            }
        }
    }
    if (!s_booted) {
        snprintf(why, whylen, "no bootable image");
        return -1;
    }
    return 0;
}

/* ---- power cuts ----------------------------------------------------------- */

/* Erase pacing: the largest single erase, and erases that followed another
 * erase with no vTaskDelay (yield) in between. */
static size_t s_erase_max, s_erases, s_erase_unyielded;
static unsigned s_yields_at_erase = ~0u;

void shim_erase_stats(size_t *count, size_t *max, size_t *unyielded)
{
    *count = s_erases;
    *max = s_erase_max;
    *unyielded = s_erase_unyielded;
}

static void note_erase(size_t size)
{
    s_erases++;
    if (size > s_erase_max)
        s_erase_max = size;
    if (s_yields == s_yields_at_erase)
        s_erase_unyielded++;
    s_yields_at_erase = s_yields;
}

static int s_cut_armed;
static size_t s_cut_left;
static size_t s_cycles;

size_t shim_cycles(void)
{
    return s_cycles;
}

void shim_reset_cycles(void)
{
    s_cycles = 0;
}

void shim_arm_cut(size_t cycles)
{
    s_cut_armed = 1;
    s_cut_left = cycles;
    esp_partition_fail_after(cycles, ESP_PARTITION_FAIL_AFTER_MODE_BOTH);
}

static void power_off(const char *what, const esp_partition_t *p, size_t off)
{
    printf("power cut: during %s of %s+0x%zx\n", what, p->label, off);
    fflush(stdout);
    fflush(stderr);
    _exit(SHIM_EXIT_CUT);
}

/* 1 when the armed cut falls inside an operation of this many cycles. */
static int cut_now(size_t cycles)
{
    s_cycles += cycles;
    if (!s_cut_armed || cycles == 0)
        return 0;
    if (s_cut_left > cycles) {
        s_cut_left -= cycles;
        return 0;
    }
    return 1;
}

esp_err_t __real_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size);
esp_err_t __real_esp_partition_write_raw(const esp_partition_t *p, size_t off, const void *src,
                                         size_t size);
esp_err_t __real_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size);
esp_err_t __wrap_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size);
esp_err_t __wrap_esp_partition_write_raw(const esp_partition_t *p, size_t off, const void *src,
                                         size_t size);
esp_err_t __wrap_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size);

static long s_tear = -1;

void shim_arm_nvs_tear(unsigned k)
{
    s_tear = (long)k;
}

/* The armed K-th write to the nvs partition: half of it reaches the flash. */
static void maybe_tear(const esp_partition_t *p, size_t off, const void *src, size_t size,
                       esp_err_t (*real)(const esp_partition_t *, size_t, const void *, size_t))
{
    if (s_tear < 0 || p->type != ESP_PARTITION_TYPE_DATA ||
        p->subtype != ESP_PARTITION_SUBTYPE_DATA_NVS || s_tear-- > 0)
        return;
    if (size / 8) {
        esp_partition_fail_after(size / 8, ESP_PARTITION_FAIL_AFTER_MODE_BOTH);
        real(p, off, src, size);
    }
    power_off("torn nvs write", p, off);
}

static int write_counts(const esp_partition_t *p, size_t off, size_t size)
{
    return !p->readonly && off <= p->size && off + size <= p->size;
}

esp_err_t __wrap_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size)
{
    maybe_tear(p, off, src, size, __real_esp_partition_write);
    if (write_counts(p, off, size) && cut_now(size / 4)) {
        __real_esp_partition_write(p, off, src, size); /* partial, by fail_after */
        power_off("write", p, off);
    }
    return __real_esp_partition_write(p, off, src, size);
}

esp_err_t __wrap_esp_partition_write_raw(const esp_partition_t *p, size_t off, const void *src,
                                         size_t size)
{
    maybe_tear(p, off, src, size, __real_esp_partition_write_raw);
    if (write_counts(p, off, size) && cut_now(size / 4)) {
        __real_esp_partition_write_raw(p, off, src, size);
        power_off("write", p, off);
    }
    return __real_esp_partition_write_raw(p, off, src, size);
}

esp_err_t __wrap_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size)
{
    int valid = !p->readonly && off % p->erase_size == 0 && size % p->erase_size == 0 &&
                off <= p->size && off + size <= p->size;
    if (valid && p->type == ESP_PARTITION_TYPE_APP)
        note_erase(size);
    if (valid && cut_now(size / ESP_PARTITION_EMULATED_SECTOR_SIZE)) {
        __real_esp_partition_erase_range(p, off, size);
        power_off("erase", p, off);
    }
    return __real_esp_partition_erase_range(p, off, size);
}
