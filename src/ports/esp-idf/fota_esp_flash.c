/*
 * fota_esp_flash.c - flash and boot control of the ESP-IDF port: the part_*
 * and boot_* callbacks of libfota's contract, each one ESP-IDF call.
 *
 * Flash goes through esp_partition_read / _erase_range / _write only, never
 * esp_flash_* or spi_flash_*: on a device with flash encryption the app,
 * otadata and partition-table partitions are encrypted, and only the
 * esp_partition_* calls encrypt on write and decrypt on read. The core gets
 * `encrypted` set for a partition ESP-IDF marks encrypted, and for every app
 * partition when esp_flash_encryption_enabled() (ESP-IDF's own rule in
 * partition.c, asked again here so that the mode follows the chip whatever
 * the table says; the host test fakes the call), and then writes every
 * page, 0xFF pages included, and checks only what part_read returns.
 *
 * Boot control is ESP-IDF's own: esp_ota_set_boot_partition (which runs
 * esp_image_verify, with secure boot the signature check too, and with
 * CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK the eFuse secure_version check),
 * esp_ota_mark_app_valid_cancel_rollback (which burns the eFuse
 * secure_version with anti-rollback), esp_ota_get_state_partition and
 * esp_ota_mark_app_invalid_rollback_and_reboot. The core never writes
 * otadata on ESP-IDF.
 *
 * This file is the whole of the port that depends on the flash/boot part
 * of the contract (fota.h "Flash, by partition" and "Boot control").
 */
#include <string.h>
#include "esp_partition.h"
#include "esp_ota_ops.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

/* bootloader_support's esp_flash_encrypt.h declares it; that header needs
 * the chip's hal/efuse_ll.h, which not every build of the port has on its
 * include path (the project's esp32c3 compile check does not), so the one
 * prototype is repeated here, unchanged. */
bool esp_flash_encryption_enabled(void);

int fota_esp_part_of(const esp_partition_t *ep, struct fota_part *p)
{
    if (!ep)
        return FOTA_ERR_NO_SLOT;
    memset(p, 0, sizeof *p);
    p->handle = ep;
    p->addr = ep->address;
    p->size = ep->size;
    if (ep->type == ESP_PARTITION_TYPE_APP && ep->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
        ep->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX)
        p->index = (uint8_t)(ep->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN);
    else if (ep->type == ESP_PARTITION_TYPE_APP)
        p->index = FOTA_SLOT_FACTORY;
    else
        p->index = FOTA_SLOT_DATA;
    p->encrypted = ep->encrypted || (ep->type == ESP_PARTITION_TYPE_APP &&
                                     esp_flash_encryption_enabled()) ? 1 : 0;
    memcpy(p->label, ep->label, sizeof p->label - 1); /* both 16 chars + NUL */
    return FOTA_OK;
}

static int part_get(const struct fota_config *c, int which, struct fota_part *p)
{
    (void)c;
    switch (which) {
    case FOTA_PART_RUNNING:
        return fota_esp_part_of(esp_ota_get_running_partition(), p);
    case FOTA_PART_UPDATE:
        return fota_esp_part_of(esp_ota_get_next_update_partition(NULL), p);
    case FOTA_PART_BOOT:
        return fota_esp_part_of(esp_ota_get_boot_partition(), p);
    default:
        return FOTA_ERR_PARAM;
    }
}

static int flash_err(esp_err_t err, const char *what, const struct fota_part *p, uint32_t off)
{
    if (err == ESP_OK)
        return FOTA_OK;
    ESP_LOGE(TAG, "%s %s+0x%lx: %s", what, p->label, (unsigned long)off, esp_err_to_name(err));
    if (err == ESP_ERR_INVALID_ARG || err == ESP_ERR_INVALID_SIZE)
        return FOTA_ERR_PARAM;
    return FOTA_ERR_IO;
}

/* A struct fota_part may name a sub-range of its esp_partition (the floor
 * store: sectors 2 and 3 of the journal partition): offsets are relative
 * to p->addr, which lies inside the partition p->handle names. */
static const esp_partition_t *esp_part(const struct fota_part *p, uint32_t *base)
{
    const esp_partition_t *ep = p->handle;
    *base = p->addr - ep->address;
    return ep;
}

static int part_read(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                     void *buf, uint32_t len)
{
    uint32_t base;
    const esp_partition_t *ep = esp_part(p, &base);
    (void)c;
    if (off > p->size || len > p->size - off)
        return FOTA_ERR_PARAM;
    return flash_err(esp_partition_read(ep, base + off, buf, len), "read", p, off);
}

static int part_erase(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                      uint32_t len)
{
    uint32_t base;
    const esp_partition_t *ep = esp_part(p, &base);
    (void)c;
    if (off > p->size || len > p->size - off)
        return FOTA_ERR_PARAM;
    /* erase_range erases 64 KB blocks where the range allows (faster); the
     * core asks for at most one block at a time. Then yield a tick, so the
     * idle task (task watchdog) and lower-priority work run between erases
     * (fota_esp_preflight.c: erase pacing). */
    int rc = flash_err(esp_partition_erase_range(ep, base + off, len), "erase", p, off);
    vTaskDelay(1);
    return rc;
}

static int part_write(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                      const void *buf, uint32_t len)
{
    uint32_t base;
    const esp_partition_t *ep = esp_part(p, &base);
    (void)c;
    if (off > p->size || len > p->size - off)
        return FOTA_ERR_PARAM;
    return flash_err(esp_partition_write(ep, base + off, buf, len), "write", p, off);
}

static int boot_set(const struct fota_config *c, const struct fota_part *p)
{
    esp_err_t err;
    /* first remember that this image's next boot is a trial (its power-loss
     * retry count, fota_esp_trial.c): before the switch, so a cut anywhere
     * after the switch finds the record */
    if (c->context)
        fota_esp_trial_installed(c->context, p->handle);
    err = esp_ota_set_boot_partition(p->handle);
    if (err == ESP_OK)
        return FOTA_OK;
    ESP_LOGE(TAG, "esp_ota_set_boot_partition(%s): %s", p->label, esp_err_to_name(err));
    switch (err) {
    case ESP_ERR_OTA_VALIDATE_FAILED:
        /* esp_image_verify refused: a malformed image, or with secure boot
         * a bad signature. ESP-IDF returns the same code for both, so the
         * contract's FOTA_ERR_SIGNATURE cannot be told apart here. */
        return FOTA_ERR_IMG_FORMAT;
    case ESP_ERR_OTA_SMALL_SEC_VER:
        return FOTA_ERR_SECURE_VERSION; /* below the eFuse secure_version */
    case ESP_ERR_INVALID_ARG:
        return FOTA_ERR_PARAM;
    case ESP_ERR_NOT_FOUND:
        return FOTA_ERR_OTADATA;      /* no otadata partition */
    default:
        return FOTA_ERR_IO;
    }
}

static int boot_confirm(const struct fota_config *c)
{
    esp_err_t err;
    (void)c;
    err = esp_ota_mark_app_valid_cancel_rollback();
    if (err == ESP_OK)
        return FOTA_OK;
    ESP_LOGE(TAG, "esp_ota_mark_app_valid_cancel_rollback: %s", esp_err_to_name(err));
    return err == ESP_FAIL ? FOTA_ERR_NOTHING_PENDING /* factory app: no entry */
                           : FOTA_ERR_OTADATA;
}

static int boot_state(const struct fota_config *c, const struct fota_part *p, uint32_t *state)
{
    esp_ota_img_states_t st;
    esp_err_t err;
    (void)c;
    err = esp_ota_get_state_partition(p->handle, &st);
    if (err == ESP_OK) {
        *state = (uint32_t)st;
        return FOTA_OK;
    }
    if (err == ESP_ERR_NOT_FOUND || err == ESP_ERR_NOT_SUPPORTED) {
        *state = FOTA_OTA_NO_ENTRY;
        return FOTA_OK;
    }
    ESP_LOGE(TAG, "esp_ota_get_state_partition(%s): %s", p->label, esp_err_to_name(err));
    return FOTA_ERR_OTADATA;
}

static int boot_rollback(const struct fota_config *c)
{
    esp_err_t err;
    (void)c;
    /* returns only when it could not roll back: ESP_ERR_OTA_ROLLBACK_FAILED
     * when no other slot has a valid otadata entry and a verified image
     * (e.g. ota_0 flashed by esptool, never updated). Contract gap: no
     * FOTA_ERR_* says "nothing to go back to"; FOTA_ERR_OTADATA it is. */
    err = esp_ota_mark_app_invalid_rollback_and_reboot();
    ESP_LOGE(TAG, "esp_ota_mark_app_invalid_rollback_and_reboot: %s", esp_err_to_name(err));
    return FOTA_ERR_OTADATA;
}

void fota_esp_bind_flash(struct fota_config *c)
{
    c->part_get = part_get;
    c->part_read = part_read;
    c->part_erase = part_erase;
    c->part_write = part_write;
    c->boot_set = boot_set;
    c->boot_confirm = boot_confirm;
    c->boot_state = boot_state;
    c->boot_rollback = boot_rollback;
}
