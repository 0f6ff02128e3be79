/*
 * sdkconfig_esp32c3.h - what ESP-IDF v5.4.4's headers strictly need from
 * sdkconfig.h for an esp32c3 (see ../shared/esp-idf/README.md), shared by
 * the two hand-written esp32c3 sdkconfig.h of the cross builds: the ESP-IDF
 * port's (tests/esp-idf/cross/sdkconfig.h) and the Arduino library's
 * (tests/arduino/cross-sdkconfig/sdkconfig.h).
 */
#pragma once

#define CONFIG_IDF_TARGET_ESP32C3 1
#define CONFIG_IDF_TARGET "esp32c3"
#define CONFIG_IDF_FIRMWARE_CHIP_ID 0x0005
#define CONFIG_ESP_SYSTEM_SINGLE_CORE_MODE 1
#define CONFIG_FREERTOS_NUMBER_OF_CORES 1
#define CONFIG_FREERTOS_HZ 1000
#define CONFIG_FREERTOS_MAX_TASK_NAME_LEN 16
#define CONFIG_FREERTOS_TASK_NOTIFICATION_ARRAY_ENTRIES 1
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_LOG_TIMESTAMP_SOURCE_RTOS 1
#define CONFIG_LWIP_IPV6 1
#define CONFIG_LWIP_IPV6_NUM_ADDRESSES 3
#define CONFIG_LWIP_TCP_OVERSIZE_MSS 1
#define CONFIG_MBEDTLS_AES_C 1
#define CONFIG_MBEDTLS_HARDWARE_SHA 1
