/*
 * sketch_test.h - put before each example when it is built for the host
 * (tests/arduino/CMakeLists.txt): the example's server URL comes from the
 * test (a free loopback port), its id and key from NVS, where
 * esp_idf_dev's `provision` wrote them at the "factory".
 */
#ifndef SKETCH_TEST_H
#define SKETCH_TEST_H
#include <stdint.h>
const char *arduino_test_server_url(void);
void arduino_set_pin(uint8_t pin, int level);
#define FOTA_SERVER_URL arduino_test_server_url()
#define FOTA_DEVICE_ID nullptr
#define FOTA_DEVICE_KEY nullptr
#define WIFI_SSID "loopback"
#define WIFI_PASS ""
#endif
