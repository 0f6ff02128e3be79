/*
 * init_arduino.c - a stand-in for what Arduino-ESP32's initArduino() does
 * with a trial image before setup() (port boundary: the Arduino core),
 * restated from its documented behaviour (DESIGN.md, "Porting to
 * ESP-IDF"): when the running image is PENDING_VERIFY and
 * verifyRollbackLater() does not return true, it marks the image valid
 * (esp_ota_mark_app_valid_cancel_rollback). verifyRollbackLater has a weak
 * C default returning false, as in the core; the FOTA library's strong
 * extern "C" definition replaces it. Were the library's definition
 * mangled (no extern "C"), this default would run and the new image would
 * be confirmed before setup(): tests/arduino/host_test.sh sees that.
 */
#include <stdbool.h>
#include "esp_ota_ops.h"

bool verifyRollbackLater(void) __attribute__((weak));
bool verifyRollbackLater(void)
{
    return false;
}

void initArduino(void);
void initArduino(void)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    esp_ota_img_states_t st;
    if (running && esp_ota_get_state_partition(running, &st) == ESP_OK &&
        st == ESP_OTA_IMG_PENDING_VERIFY && !verifyRollbackLater())
        esp_ota_mark_app_valid_cancel_rollback();
}
