/*
 * sdkconfig.h - stand-in for the sdkconfig.h of Arduino-ESP32 3.x (built on
 * ESP-IDF 5) for an esp32c3 board, for tests/arduino/cross.sh: what
 * ESP-IDF v5.4.4's headers need (as tests/esp-idf/cross/sdkconfig.h), the
 * app rollback Arduino-ESP32's bootloader is built with, and no
 * CONFIG_FOTA_* at all: Arduino builds do not run our Kconfig, so the
 * library must compile on fota_esp.h's defaults.
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
#define CONFIG_MBEDTLS_ECDSA_C 1
#define CONFIG_MBEDTLS_ECP_C 1
#define CONFIG_MBEDTLS_ECP_DP_SECP256R1_ENABLED 1
#define CONFIG_MBEDTLS_PEM_PARSE_C 1
#define CONFIG_MBEDTLS_PEM_WRITE_C 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_ESPTOOLPY_FLASHSIZE_4MB 1
