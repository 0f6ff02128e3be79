/*
 * protocol_examples_common.h - stand-in for the cross-compile check only
 * (tests/esp-idf/cross.sh): ESP-IDF's examples/common_components are not in
 * ../shared/esp-idf. Same prototype as ESP-IDF v5.4's example_connect().
 */
#pragma once
#include "esp_err.h"
esp_err_t example_connect(void);
