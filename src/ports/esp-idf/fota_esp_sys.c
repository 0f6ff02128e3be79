/*
 * fota_esp_sys.c - clock, sleep, random and log callbacks of the ESP-IDF
 * port: esp_timer's microsecond clock, vTaskDelay, esp_random (the
 * hardware RNG; true random once Wi-Fi or Bluetooth runs, which is when the
 * backoff jitter matters) and ESP_LOG under the tag "fota".
 */
#include "esp_timer.h"
#include "esp_random.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

static uint32_t now_ms(const struct fota_config *c)
{
    (void)c;
    return (uint32_t)(esp_timer_get_time() / 1000);
}

static void sleep_ms(const struct fota_config *c, uint32_t ms)
{
    TickType_t t = pdMS_TO_TICKS(ms);
    (void)c;
    vTaskDelay(t ? t : 1);
}

static uint32_t rnd(const struct fota_config *c)
{
    (void)c;
    return esp_random();
}

static void log_line(const struct fota_config *c, int level, const char *msg)
{
    (void)c;
    switch (level) {
    case FOTA_LOG_ERROR:
        ESP_LOGE(TAG, "%s", msg);
        break;
    case FOTA_LOG_WARN:
        ESP_LOGW(TAG, "%s", msg);
        break;
    case FOTA_LOG_INFO:
        ESP_LOGI(TAG, "%s", msg);
        break;
    default:
        ESP_LOGD(TAG, "%s", msg);
        break;
    }
}

void fota_esp_bind_sys(struct fota_config *c)
{
    c->now_ms = now_ms;
    c->sleep_ms = sleep_ms;
    c->random = rnd;
    c->log = log_line;
}
