/*
 * fota_esp_trial.c - the trial boot of a new image on ESP-IDF, as the port
 * settles it (issue 11 item 7; docs/esp32.md "Trial boot").
 *
 * ESP-IDF's bootloader (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE) gives a new
 * image one boot: PENDING_VERIFY, and the next boot without a confirm is
 * ABORTED and the previous image runs, whatever ended the trial. Two rules
 * are added here:
 *
 *  1. Confirm means something. The image is confirmed only once its
 *     self-test passed AND the server answered a check in this boot (the
 *     network path that brings the next fix works); past the deadline
 *     without both, it rolls back by itself. A table decides (trial_table).
 *     When ESP-IDF refuses the explicit rollback (no otadata entry for the
 *     previous image), a restart does it: the bootloader aborts the
 *     unconfirmed image.
 *  2. A trial ended by power loss or brownout is not the image's fault.
 *     When the previous image boots because the bootloader aborted the
 *     trial, esp_reset_reason() still tells what ended it; for
 *     ESP_RST_POWERON and ESP_RST_BROWNOUT the port boots the new image on
 *     trial again (esp_ota_set_boot_partition), at most a few times per
 *     release, the count kept in NVS. A crash (panic) or a watchdog reset
 *     ends the trial for good, as does a deliberate restart.
 *
 * The NVS record (<namespace>/"trial", 4 bytes): 'T', format 1, the OTA
 * subtype of the image on trial, power-loss retries used. Written by the
 * port's boot_set just before esp_ota_set_boot_partition switches to a new
 * image (so a cut after the switch always finds it), erased when the trial
 * ends either way.
 */
#include <string.h>
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "nvs.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

#define TRIAL_KEY "trial"
#define TRIAL_MAGIC 'T'
#define TRIAL_FORMAT 1u

enum trial_act { T_WAIT, T_CONFIRM, T_ROLLBACK };

/* [self-test unknown/passed/failed][server reached][deadline passed] */
static const uint8_t trial_table[3][2][2] = {
    /* unknown */ {{T_WAIT, T_ROLLBACK}, {T_WAIT, T_ROLLBACK}},
    /* passed  */ {{T_WAIT, T_ROLLBACK}, {T_CONFIRM, T_CONFIRM}},
    /* failed  */ {{T_ROLLBACK, T_ROLLBACK}, {T_ROLLBACK, T_ROLLBACK}},
};

static void forget(struct fota_esp *e)
{
    if (nvs_erase_key(e->nvs, TRIAL_KEY) == ESP_OK)
        nvs_commit(e->nvs);
}

static uint32_t deadline_s(const struct fota_esp *e)
{
    return e->set.trial_deadline_s ? e->set.trial_deadline_s : CONFIG_FOTA_TRIAL_DEADLINE_S;
}

static unsigned power_retries(const struct fota_esp *e)
{
    if (e->set.trial_power_retries == FOTA_ESP_NO_POWER_RETRY)
        return 0;
    return e->set.trial_power_retries ? e->set.trial_power_retries
                                      : CONFIG_FOTA_TRIAL_POWER_RETRIES;
}

static const char *reason_name(esp_reset_reason_t r)
{
    switch (r) {
    case ESP_RST_POWERON: return "power-on (power lost)";
    case ESP_RST_BROWNOUT: return "brownout";
    case ESP_RST_PANIC: return "panic";
    case ESP_RST_INT_WDT: case ESP_RST_TASK_WDT: case ESP_RST_WDT: return "watchdog";
    case ESP_RST_SW: return "software restart";
    default: return "other reset";
    }
}

void fota_esp_trial_installed(struct fota_esp *e, const esp_partition_t *target)
{
    uint8_t rec[4] = {TRIAL_MAGIC, TRIAL_FORMAT, 0, 0};
    if (!target || !e->nvs)
        return;
    rec[2] = (uint8_t)target->subtype;
    if (nvs_set_blob(e->nvs, TRIAL_KEY, rec, sizeof rec) != ESP_OK || nvs_commit(e->nvs) != ESP_OK)
        ESP_LOGW(TAG, "trial record not saved: a power loss in the trial will count as a rollback");
}

void fota_esp_trial_boot(struct fota_esp *e)
{
    uint8_t rec[4];
    size_t n = sizeof rec;
    const esp_partition_t *run = esp_ota_get_running_partition(), *tgt;
    esp_ota_img_states_t st;
    esp_reset_reason_t why;
    esp_err_t err;

    if (nvs_get_blob(e->nvs, TRIAL_KEY, rec, &n) != ESP_OK)
        return;
    if (n != sizeof rec || rec[0] != TRIAL_MAGIC || rec[1] != TRIAL_FORMAT) {
        forget(e);
        return;
    }
    tgt = esp_partition_find_first(ESP_PARTITION_TYPE_APP, (esp_partition_subtype_t)rec[2], NULL);
    if (tgt && tgt == run) {
        /* running it: on trial (the record stays until the trial ends) or
         * already confirmed (a cut before the record was erased) */
        if (esp_ota_get_state_partition(tgt, &st) == ESP_OK && st != ESP_OTA_IMG_PENDING_VERIFY)
            forget(e);
        return;
    }
    if (!tgt || esp_ota_get_state_partition(tgt, &st) != ESP_OK || st != ESP_OTA_IMG_ABORTED) {
        forget(e); /* rolled back on purpose (INVALID), or nothing to retry */
        return;
    }
    why = esp_reset_reason();
    if ((why != ESP_RST_POWERON && why != ESP_RST_BROWNOUT) || rec[3] >= power_retries(e)) {
        ESP_LOGW(TAG, "trial of %s ended by %s: rolled back (power-loss retries used: %u of %u)",
                 tgt->label, reason_name(why), (unsigned)rec[3], power_retries(e));
        forget(e);
        return; /* fota_init's recovery reports the rollback */
    }
    rec[3]++;
    if (nvs_set_blob(e->nvs, TRIAL_KEY, rec, sizeof rec) != ESP_OK || nvs_commit(e->nvs) != ESP_OK) {
        forget(e); /* the bound must hold: no retry without the count stored */
        return;
    }
    ESP_LOGW(TAG, "trial of %s ended by %s: booting it on trial again (retry %u of %u)",
             tgt->label, reason_name(why), (unsigned)rec[3], power_retries(e));
    err = esp_ota_set_boot_partition(tgt); /* verifies the image again, writes NEW */
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "esp_ota_set_boot_partition(%s): %s: rolled back", tgt->label,
                 esp_err_to_name(err));
        forget(e);
        return;
    }
    esp_restart();
}

void fota_esp_self_test_result(struct fota_esp *e, bool passed)
{
    e->trial.self_test = passed ? FOTA_ESP_SELF_TEST_PASSED : FOTA_ESP_SELF_TEST_FAILED;
}

bool fota_esp_on_trial(const struct fota_esp *e)
{
    return e->initialised && e->trial.pending;
}

int fota_esp_trial_poll(struct fota_esp *e)
{
    int64_t age_s;
    int act, rc;

    if (!e->initialised || !e->trial.pending)
        return FOTA_OK;
    age_s = (esp_timer_get_time() - e->trial.start_us) / 1000000;
    act = trial_table[e->trial.self_test][e->trial.reached != 0][age_s >= (int64_t)deadline_s(e)];
    if (act == T_WAIT)
        return FOTA_OK;
    if (act == T_CONFIRM) {
        rc = fota_confirm(&e->fota);
        ESP_LOGI(TAG, "trial: self-test passed and server reached: confirmed (%s)",
                 fota_strerror(rc));
        if (rc == FOTA_OK) {
            e->trial.pending = 0;
            forget(e);
        }
        return rc;
    }
    if (e->trial.self_test == FOTA_ESP_SELF_TEST_FAILED)
        ESP_LOGE(TAG, "trial: self-test failed: rolling back");
    else
        ESP_LOGE(TAG, "trial: deadline of %lu s passed (self-test %s, server %s): rolling back",
                 (unsigned long)deadline_s(e),
                 e->trial.self_test == FOTA_ESP_SELF_TEST_PASSED ? "passed" : "not reported",
                 e->trial.reached ? "reached" : "not reached");
    forget(e);
    rc = fota_rollback(&e->fota); /* restarts into the previous image */
    /* ESP-IDF refuses when the previous image has no valid otadata entry
     * (flashed by esptool, never updated: ESP_ERR_OTA_ROLLBACK_FAILED). The
     * image is still PENDING_VERIFY, so a restart lets the bootloader abort
     * it and boot the previous one; libfota has already recorded the
     * rollback, and the reset reason (software) rules out a retry. */
    ESP_LOGE(TAG, "rollback: %s; restarting: the bootloader aborts the unconfirmed image",
             fota_strerror(rc));
    esp_restart();
    return rc;
}

int fota_esp_confirm(struct fota_esp *e)
{
    int rc;
    if (!e->initialised)
        return FOTA_ERR_STATE;
    rc = fota_confirm(&e->fota);
    if (rc == FOTA_OK && e->trial.pending) {
        e->trial.pending = 0;
        forget(e);
    }
    return rc;
}

int fota_esp_rollback(struct fota_esp *e)
{
    if (!e->initialised)
        return FOTA_ERR_STATE;
    forget(e);
    return fota_rollback(&e->fota);
}
