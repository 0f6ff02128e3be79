/*
 * fota_esp_store.c - the resume journal's store on ESP-IDF, one of two
 * (Kconfig "Resume journal store"):
 *
 * CONFIG_FOTA_JOURNAL_NVS (default): one NVS blob (namespace
 * CONFIG_FOTA_NVS_NAMESPACE, key CONFIG_FOTA_NVS_JOURNAL_KEY) in the default
 * nvs partition, beside Wi-Fi's and PHY's own keys but never in their
 * sectors' way: NVS owns the partition and places the entries.
 *
 * Atomicity, as the contract asks: nvs_set_blob writes the new value's
 * entries first and erases the old ones after (nvs::Storage::writeItem), and
 * an interrupted write is cleaned up at the next nvs_flash_init, so after a
 * cut nvs_get_blob returns the old or the new FOTA_JOURNAL_LEN bytes, never a mix.
 * nvs_commit is a no-op on the current NVS but required by its API.
 * tests/esp-idf/host_test.sh tears NVS writes in the emulated flash and
 * checks exactly that.
 *
 * CONFIG_FOTA_JOURNAL_PARTITION: for devices that do not use NVS, the core's
 * fota_fstore (two-sector append log, fota/fstore.h) on a data partition of
 * its own, labelled CONFIG_FOTA_JOURNAL_PARTITION_LABEL, reached through
 * the port's esp_partition callbacks.
 *
 * The anti-rollback floor (fota_config.floor_load/floor_save: the highest
 * secure_version confirmed, kept apart from the journal so that losing the
 * journal does not lower it): a u32 in NVS (CONFIG_FOTA_NVS_FLOOR_KEY), or
 * fota_fstore's floor records in sectors 2 and 3 of the journal partition.
 * With CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK the floor store is the eFuse
 * secure_version itself (efuse_floor_load/_save below, the port's one
 * place that touches eFuses): read with esp_efuse_read_secure_version(),
 * advanced by ESP-IDF in esp_ota_mark_app_valid_cancel_rollback() (the
 * port's boot_confirm), burnt here only when a confirm found the entry
 * VALID already (a cut between the otadata write and the burn). An eFuse
 * never goes down, nvs_flash_erase() does not touch it. The host test
 * fakes the three esp_efuse_* calls (tests/esp-idf/host/efuse_fake.c).
 */
#include <string.h>
#include "nvs.h"
#include "esp_log.h"
#include "fota_esp.h"

static struct fota_esp *port(const struct fota_config *c)
{
    return (struct fota_esp *)c->context;
}

#if CONFIG_FOTA_JOURNAL_PARTITION
#include "fota/fstore.h"

esp_err_t fota_esp_store_open(struct fota_esp *e)
{
    const esp_partition_t *p = esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
                                                        ESP_PARTITION_SUBTYPE_ANY,
                                                        CONFIG_FOTA_JOURNAL_PARTITION_LABEL);
    struct fota_part part;
    int rc;
    if (!p || fota_esp_part_of(p, &part) != FOTA_OK) {
        ESP_LOGE("fota", "journal: no data partition labelled \"%s\"",
                 CONFIG_FOTA_JOURNAL_PARTITION_LABEL);
        return ESP_ERR_NOT_FOUND;
    }
    rc = fota_fstore_open(&e->fstore, &e->cfg, &part);
    if (rc == FOTA_OK && part.size >= 4 * FOTA_SECTOR_SIZE) {
        /* the anti-rollback floor in sectors 2 and 3, apart from the journal */
        part.addr += 2 * FOTA_SECTOR_SIZE;
        part.size -= 2 * FOTA_SECTOR_SIZE;
        rc = fota_fstore_open(&e->floor_store, &e->cfg, &part);
        e->has_floor_store = rc == FOTA_OK;
    }
    if (rc != FOTA_OK) {
        ESP_LOGE("fota", "journal: partition %s: %s", p->label, fota_strerror(rc));
        return ESP_FAIL;
    }
    return ESP_OK;
}

#if !CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK /* else the eFuse, below */
static int floor_load(const struct fota_config *c, uint32_t *sv)
{
    return fota_fstore_floor_load(&port(c)->floor_store, sv);
}

static int floor_save(const struct fota_config *c, uint32_t sv)
{
    return fota_fstore_floor_save(&port(c)->floor_store, sv);
}
#endif

static int store_load(const struct fota_config *c, uint8_t *buf, uint32_t len)
{
    return fota_fstore_load(&port(c)->fstore, buf, len);
}

static int store_save(const struct fota_config *c, const uint8_t *buf, uint32_t len)
{
    return fota_fstore_save(&port(c)->fstore, buf, len);
}

#else /* CONFIG_FOTA_JOURNAL_NVS */

esp_err_t fota_esp_store_open(struct fota_esp *e)
{
    e->has_floor_store = 1; /* the NVS handle is opened with the identity */
    return ESP_OK;
}

#if !CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK /* else the eFuse, below */
/* The anti-rollback floor: u32 CONFIG_FOTA_NVS_FLOOR_KEY, never lowered
 * (nvs_set_u32 keeps the old or the new value across a cut, as blobs). */
static int floor_load(const struct fota_config *c, uint32_t *sv)
{
    esp_err_t err = nvs_get_u32(port(c)->nvs, CONFIG_FOTA_NVS_FLOOR_KEY, sv);
    if (err == ESP_ERR_NVS_NOT_FOUND) {
        *sv = 0;
        return FOTA_OK;
    }
    if (err != ESP_OK) {
        ESP_LOGE("fota", "floor: nvs_get_u32: %s", esp_err_to_name(err));
        return FOTA_ERR_STORE;
    }
    return FOTA_OK;
}

static int floor_save(const struct fota_config *c, uint32_t sv)
{
    uint32_t cur = 0;
    esp_err_t err;
    int rc = floor_load(c, &cur);
    if (rc != FOTA_OK || sv <= cur)
        return rc; /* the floor never goes down */
    err = nvs_set_u32(port(c)->nvs, CONFIG_FOTA_NVS_FLOOR_KEY, sv);
    if (err == ESP_OK)
        err = nvs_commit(port(c)->nvs);
    if (err != ESP_OK) {
        ESP_LOGE("fota", "floor: nvs_set_u32: %s", esp_err_to_name(err));
        return FOTA_ERR_STORE;
    }
    return FOTA_OK;
}
#endif

static int store_load(const struct fota_config *c, uint8_t *buf, uint32_t len)
{
    size_t n = len;
    esp_err_t err = nvs_get_blob(port(c)->nvs, CONFIG_FOTA_NVS_JOURNAL_KEY, buf, &n);
    if (err == ESP_ERR_NVS_NOT_FOUND || (err == ESP_OK && n != len)) {
        memset(buf, 0xFF, len); /* never saved (or another size: start over) */
        return FOTA_OK;
    }
    if (err != ESP_OK) {
        ESP_LOGE("fota", "journal: nvs_get_blob: %s", esp_err_to_name(err));
        return FOTA_ERR_STORE;
    }
    return FOTA_OK;
}

static int store_save(const struct fota_config *c, const uint8_t *buf, uint32_t len)
{
    esp_err_t err = nvs_set_blob(port(c)->nvs, CONFIG_FOTA_NVS_JOURNAL_KEY, buf, len);
    if (err == ESP_OK)
        err = nvs_commit(port(c)->nvs);
    if (err != ESP_OK) {
        ESP_LOGE("fota", "journal: nvs_set_blob: %s", esp_err_to_name(err));
        return FOTA_ERR_STORE;
    }
    return FOTA_OK;
}

#endif

#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
#include "esp_efuse.h"

static int floor_load(const struct fota_config *c, uint32_t *sv)
{
    (void)c;
    *sv = esp_efuse_read_secure_version();
    return FOTA_OK;
}

static int floor_save(const struct fota_config *c, uint32_t sv)
{
    esp_err_t err;
    (void)c;
    if (esp_efuse_read_secure_version() >= sv)
        return FOTA_OK; /* burnt by esp_ota_mark_app_valid_cancel_rollback */
    err = esp_efuse_update_secure_version(sv);
    if (err != ESP_OK) {
        ESP_LOGE("fota", "floor: esp_efuse_update_secure_version(%lu): %s", (unsigned long)sv,
                 esp_err_to_name(err));
        return FOTA_ERR_STORE;
    }
    return FOTA_OK;
}
#endif

void fota_esp_bind_store(struct fota_config *c)
{
    c->store_load = store_load;
    c->store_save = store_save;
    c->floor_load = floor_load; /* NVS, the journal partition, or the eFuse */
    c->floor_save = floor_save;
}
