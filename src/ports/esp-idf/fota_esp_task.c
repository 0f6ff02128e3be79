/*
 * fota_esp_task.c - the FreeRTOS task that keeps a device up to date:
 * starts libfota once, then checks every
 * CONFIG_FOTA_CHECK_INTERVAL_S seconds and restarts into a new image once
 * it is installed. While the running image is on trial it checks every
 * 10 s instead, so the trial's deadline (fota_esp_trial.c) is kept.
 *
 * Stack: CONFIG_FOTA_TASK_STACK_SIZE bytes, 8192 by default. Our own frames
 * (this task, the port, the core's deepest chain) take the figure
 * tests/esp-idf/cross.sh prints as "update task stack" (under 1.5 KB on
 * esp32c3); the rest is ESP-IDF's: esp_http_client and lwIP sockets, and
 * for https esp-tls and the mbedTLS handshake (ECDHE and certificate
 * verification), which ESP-IDF's own HTTPS OTA examples give an 8 KB task.
 * Plain-http deployments can lower it to about 4096; keep
 * CONFIG_FREERTOS_CHECK_STACKOVERFLOW on when tuning it, and read the
 * high-water mark this task logs after each round.
 *
 * The port's state (struct fota_esp, about 4.5 KB) is a static here, in
 * .bss, not on the task's stack.
 */
#include <string.h>
#include "esp_log.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

static struct fota_esp s_fota;
static struct fota_esp_settings s_settings;
static TaskHandle_t s_task;

static void fota_task(void *arg)
{
    struct fota_esp *e = &s_fota;
    bool installed;
    int rc;
    (void)arg;

    if (fota_esp_init(e, &s_settings) != ESP_OK) {
        ESP_LOGE(TAG, "not started");
        s_task = NULL;
        vTaskDelete(NULL);
        return;
    }
    for (;;) {
        rc = fota_esp_check_and_update(e, &installed);
        if (installed) {
            ESP_LOGI(TAG, "new image installed, restarting to boot it on trial");
            esp_restart();
        }
        if (rc != FOTA_OK)
            ESP_LOGW(TAG, "update round: %s", fota_strerror(rc));
        ESP_LOGD(TAG, "stack high-water mark: %u bytes free",
                 (unsigned)uxTaskGetStackHighWaterMark(NULL));
        /* on trial: a round every 10 s until it is settled (the deadline,
         * 300 s by default, must be seen in time) */
        vTaskDelay(pdMS_TO_TICKS(
            (fota_esp_on_trial(e) ? 10u : (uint32_t)CONFIG_FOTA_CHECK_INTERVAL_S) * 1000u));
    }
}

esp_err_t fota_esp_start_task(const struct fota_esp_settings *s)
{
    if (s_task)
        return ESP_ERR_INVALID_STATE;
    if (s)
        s_settings = *s;
    else
        memset(&s_settings, 0, sizeof s_settings);
    if (xTaskCreate(fota_task, "fota", CONFIG_FOTA_TASK_STACK_SIZE, NULL,
                    CONFIG_FOTA_TASK_PRIORITY, &s_task) != pdPASS) {
        s_task = NULL;
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}
