/*
 * esp_netif.h - stand-in for the cross-compile check only
 * (tests/esp-idf/cross.sh): ESP-IDF's esp_netif headers are not in
 * ../shared/esp-idf. Declares the one function the example calls, with the
 * prototype of ESP-IDF v5.4's components/esp_netif/include/esp_netif.h.
 */
#pragma once
#include "esp_err.h"
esp_err_t esp_netif_init(void);
