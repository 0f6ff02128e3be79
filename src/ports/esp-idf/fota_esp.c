/*
 * fota_esp.c - assembles the ESP-IDF port: fills a struct fota_config from
 * the callback groups of the other files, reads the device's identity from
 * NVS, opens the HTTP client and starts libfota; plus the one-round helper
 * (check, then download/verify/switch) that the update task and
 * applications with their own scheduling call.
 */
#include <string.h>
#include "esp_log.h"
#include "esp_app_desc.h"
#include "esp_timer.h"
#include "nvs.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* 128 hex digits -> 64 bytes; 0 on success. */
static int parse_pubkey(const char *hex, uint8_t out[64])
{
    unsigned i;
    if (strlen(hex) != 128)
        return -1;
    for (i = 0; i < 64; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void on_progress(const struct fota_config *c, const struct fota_progress *p)
{
    struct fota_esp *e = c->context;
    uint32_t pct;
    if (e->set.progress) {
        e->set.progress(p);
        return;
    }
    if (p->phase != FOTA_PHASE_DOWNLOADING || !p->bytes_total)
        return;
    pct = (uint32_t)((uint64_t)p->bytes_done * 100u / p->bytes_total);
    if (pct / 10 != e->last_pct / 10 || p->bytes_done == p->bytes_total)
        ESP_LOGI(TAG, "release %lu: %lu of %lu bytes (%lu%%)", (unsigned long)p->release,
                 (unsigned long)p->bytes_done, (unsigned long)p->bytes_total, (unsigned long)pct);
    e->last_pct = pct;
}

static esp_err_t load_identity(struct fota_esp *e)
{
    esp_err_t err;
    if (e->set.device_id) {
        size_t n = strlen(e->set.device_id);
        if (n == 0 || n > FOTA_ID_MAX)
            return ESP_ERR_INVALID_ARG;
        memcpy(e->id, e->set.device_id, n + 1);
    } else {
        size_t n = sizeof e->id;
        err = nvs_get_str(e->nvs, "id", e->id, &n);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "device id: nvs %s/id: %s (provision it, docs/esp32.md)",
                     CONFIG_FOTA_NVS_NAMESPACE, esp_err_to_name(err));
            return err;
        }
    }
    if (e->set.device_key) {
        memcpy(e->key, e->set.device_key, FOTA_KEY_LEN);
    } else {
        size_t n = sizeof e->key;
        err = nvs_get_blob(e->nvs, "key", e->key, &n);
        if (err == ESP_OK && n != FOTA_KEY_LEN)
            err = ESP_ERR_NVS_INVALID_LENGTH;
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "device key: nvs %s/key (32-byte blob): %s", CONFIG_FOTA_NVS_NAMESPACE,
                     esp_err_to_name(err));
            return err;
        }
    }
    return ESP_OK;
}

esp_err_t fota_esp_init(struct fota_esp *e, const struct fota_esp_settings *s)
{
    struct fota_config *c = &e->cfg;
    const char *url;
    esp_err_t err;
    int rc;

    memset(e, 0, sizeof *e);
    if (s)
        e->set = *s;
    err = nvs_open(CONFIG_FOTA_NVS_NAMESPACE, NVS_READWRITE, &e->nvs);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "nvs_open(%s): %s (nvs_flash_init first)", CONFIG_FOTA_NVS_NAMESPACE,
                 esp_err_to_name(err));
        return err;
    }
    err = load_identity(e);
    if (err == ESP_OK && e->set.sign_pubkey) {
        memcpy(e->pubkey, e->set.sign_pubkey, sizeof e->pubkey);
        c->sign_pubkey = e->pubkey;
    } else if (err == ESP_OK && CONFIG_FOTA_SIGN_PUBKEY[0]) {
        if (parse_pubkey(CONFIG_FOTA_SIGN_PUBKEY, e->pubkey)) {
            ESP_LOGE(TAG, "CONFIG_FOTA_SIGN_PUBKEY: want 128 hex digits (X || Y)");
            err = ESP_ERR_INVALID_ARG;
        } else {
            c->sign_pubkey = e->pubkey;
        }
    }
    url = e->set.server_url ? e->set.server_url : CONFIG_FOTA_SERVER_URL;
    if (err == ESP_OK)
        err = fota_esp_http_open(&e->http, url, e->set.ca_pem, e->set.crt_bundle_attach);
    if (err != ESP_OK) {
        fota_esp_deinit(e);
        return err;
    }

    c->context = e;
    fota_esp_bind_flash(c);
    fota_esp_bind_crypto(c);
    fota_esp_bind_sys(c);
    fota_esp_bind_http(c);
    fota_esp_bind_store(c);
    c->progress = on_progress;
    c->device_id = e->id;
    c->device_key = e->key;
    c->chip_id = CONFIG_IDF_FIRMWARE_CHIP_ID;
    c->max_attempts = CONFIG_FOTA_MAX_ATTEMPTS;
    c->secure_version_floor = e->set.secure_version_floor;
#if CONFIG_FOTA_PROTOCOL_V1_ONLY
    c->protocols = FOTA_PROTO_V1;
#else
    c->protocols = FOTA_PROTO_V1 | FOTA_PROTO_V2;
#endif
    if (e->set.protocols)
        c->protocols = e->set.protocols;

    err = fota_esp_store_open(e);
    if (err != ESP_OK) {
        fota_esp_deinit(e);
        return err;
    }
#if !CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK /* with it the eFuse is the floor store */
    if (!e->has_floor_store) { /* a journal partition of 2 sectors: floor in the journal only */
        c->floor_load = NULL;
        c->floor_save = NULL;
    }
#endif
    /* a trial of the other image that a power loss ended: boot it again
     * (restarts), before libfota's recovery would count it as rolled back */
    fota_esp_trial_boot(e);
    rc = fota_init(&e->fota, c);
    if (rc != FOTA_OK) {
        ESP_LOGE(TAG, "fota_init: %s", fota_strerror(rc));
        fota_esp_deinit(e);
        return ESP_FAIL;
    }
    e->initialised = 1;
    e->trial.start_us = esp_timer_get_time();
    {
        struct fota_boot_info bi;
        /* an image that runs untried (its entry stayed NEW: a bootloader
         * built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE; the core
         * logged and reported it) is settled like a trial: nothing else
         * would ever confirm it, and past the deadline the port's own
         * rollback still works */
        e->trial.pending = fota_boot_info(&e->fota, &bi) == FOTA_OK &&
                           (bi.pending || bi.untried);
    }
    if (!e->set.app_reports_self_test && !e->set.self_test)
        e->trial.self_test = FOTA_ESP_SELF_TEST_PASSED; /* the server's answer decides */
    return ESP_OK;
}

void fota_esp_deinit(struct fota_esp *e)
{
    fota_esp_http_close(&e->http);
    if (e->nvs) {
        nvs_close(e->nvs);
        e->nvs = 0;
    }
    e->initialised = 0;
}

int fota_esp_check_and_update(struct fota_esp *e, bool *installed)
{
    struct fota_offer *o = &e->offer; /* kept off the task's stack */
    const char *version = e->set.running_version ? e->set.running_version
                                                 : esp_app_get_description()->version;
    int rc, trc;

    *installed = false;
    if (!e->initialised)
        return FOTA_ERR_STATE;
    if (fota_phase(&e->fota) == FOTA_PHASE_INSTALLED) {
        /* fota_init finished a switch that a power cut interrupted: the new
         * image waits for the restart (found by tests/esp-idf powercut).
         * Contract gap: fota_init does not say "restart due"; the port
         * reads it from the phase and the boot info. */
        struct fota_boot_info bi;
        if (fota_boot_info(&e->fota, &bi) == FOTA_OK && !bi.pending &&
            bi.next_slot != bi.running_slot) {
            *installed = true;
            return FOTA_OK;
        }
    }
    rc = fota_check(&e->fota, version, o);
    if (rc == FOTA_OK) {
        e->trial.reached = 1; /* the server answered in this boot */
        if (e->trial.pending && e->set.self_test && !e->set.app_reports_self_test &&
            e->trial.self_test == FOTA_ESP_SELF_TEST_UNKNOWN)
            fota_esp_self_test_result(e, e->set.self_test());
    }
    /* A round that starts on trial only settles it (confirm, roll back:
     * restarts, or wait): its offer was made before the server heard of a
     * confirm, so it may name the release just installed; the next round
     * asks again. */
    if (e->trial.pending) {
        trc = fota_esp_trial_poll(e);
        return rc != FOTA_OK ? rc : trc;
    }
    if (rc != FOTA_OK || !o->update)
        return rc;
    rc = fota_esp_preflight(e, o); /* fits the slot, heap for TLS: else nothing erased */
    if (rc != FOTA_OK)
        return rc;
    ESP_LOGI(TAG, "release %lu (%s, %lu bytes) offered", (unsigned long)o->release, o->version,
             (unsigned long)o->size);
    rc = fota_run(&e->fota, o);
    if (rc == FOTA_OK)
        *installed = true; /* the next boot is its trial (fota_esp_trial.c) */
    return rc;
}
