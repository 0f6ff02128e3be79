/* freertos/task.h - stand-in for the host test (see FreeRTOS.h beside it).
 * vTaskDelay is the test's (tests/esp-idf/host/idf_shim.c): no waiting. */
#pragma once
#include "freertos/FreeRTOS.h"
void vTaskDelay(const TickType_t ticks);
