/*
 * freertos/FreeRTOS.h - stand-in for the host test (tests/esp-idf/host):
 * ESP-IDF's Linux FreeRTOS port is not in ../shared/esp-idf. Only the types
 * and macros that esp_event.h, esp_http_client.h and the port's
 * fota_esp_sys.c name; log/src/log_timestamp_common.c includes it unused.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint32_t TickType_t;
typedef int BaseType_t;
typedef unsigned UBaseType_t;
typedef void *TaskHandle_t;
typedef void *QueueHandle_t;
typedef void *SemaphoreHandle_t;
#define portMAX_DELAY ((TickType_t)0xFFFFFFFFu)
#define portTICK_PERIOD_MS 1
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms))
#define pdPASS 1
