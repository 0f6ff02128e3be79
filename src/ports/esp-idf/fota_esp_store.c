/*
 * fota_esp_store.c - the resume journal's store on ESP-IDF: one NVS blob
 * (namespace CONFIG_FOTA_NVS_NAMESPACE, key CONFIG_FOTA_NVS_JOURNAL_KEY) in
 * the default nvs partition, beside Wi-Fi's and PHY's own keys but never in
 * their sectors' way: NVS owns the partition and places the entries.
 *
 * Atomicity, as the contract asks: nvs_set_blob writes the new value's
 * entries first and erases the old ones after (nvs::Storage::writeItem), and
 * an interrupted write is cleaned up at the next nvs_flash_init, so after a
 * cut nvs_get_blob returns the old or the new 64 bytes, never a mix.
 * nvs_commit is a no-op on the current NVS but required by its API.
 * tests/esp-idf/host_test.c cuts the emulated flash inside nvs_set_blob and
 * checks exactly that.
 */
#include <string.h>
#include "nvs.h"
#include "esp_log.h"
#include "fota_esp.h"

static struct fota_esp *port(const struct fota_config *c)
{
    return (struct fota_esp *)c->context;
}

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

void fota_esp_bind_store(struct fota_config *c)
{
    c->store_load = store_load;
    c->store_save = store_save;
}
