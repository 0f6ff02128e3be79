/*
 * main.c - the smallest ESP-IDF application that keeps itself up to date
 * with libfota: NVS (identity and journal), Wi-Fi through ESP-IDF's example
 * connection helper, then the update task. The device's id and key are
 * provisioned in NVS namespace "fota" (docs/esp32.md); the server URL is
 * CONFIG_FOTA_SERVER_URL.
 *
 * A new image boots on trial. The task confirms it after its first answer
 * from the server, once self_test() below agrees; if the image never gets
 * there (crash, no network), the next restart returns to the previous
 * image (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE).
 */
#include <stdbool.h>
#include "esp_err.h"
#include "esp_log.h"
#include "esp_event.h"
#include "esp_netif.h"
#include "esp_app_desc.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"
#include "fota_esp.h"

static const char *const TAG = "app";

/* The application's own check of a new image before it is confirmed:
 * sensors answer, the inverter link works, ... */
static bool self_test(void)
{
    return true;
}

void app_main(void)
{
    static const struct fota_esp_settings settings = {
        .self_test = self_test,
    };
    esp_err_t err = nvs_flash_init();

    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* the nvs partition was truncated or written by a newer NVS: the
         * identity is lost too, so the device must be provisioned again */
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    ESP_ERROR_CHECK(err);
    ESP_LOGI(TAG, "running %s", esp_app_get_description()->version);

    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    ESP_ERROR_CHECK(example_connect());

    ESP_ERROR_CHECK(fota_esp_start_task(&settings));
}
