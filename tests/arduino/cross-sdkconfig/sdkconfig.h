/*
 * sdkconfig.h - stand-in for the sdkconfig.h of Arduino-ESP32 3.x (built on
 * ESP-IDF 5) for an esp32c3 board, for tests/arduino/cross.sh: what
 * ESP-IDF v5.4.4's headers need (as tests/esp-idf/cross/sdkconfig.h), the
 * app rollback Arduino-ESP32's bootloader is built with, and no
 * CONFIG_FOTA_* at all: Arduino builds do not run our Kconfig, so the
 * library must compile on fota_esp.h's defaults.
 */
#pragma once
#include "../../esp-idf/sdkconfig_esp32c3.h" /* what ESP-IDF's headers need */
#define CONFIG_MBEDTLS_ECDSA_C 1
#define CONFIG_MBEDTLS_ECP_C 1
#define CONFIG_MBEDTLS_ECP_DP_SECP256R1_ENABLED 1
#define CONFIG_MBEDTLS_PEM_PARSE_C 1
#define CONFIG_MBEDTLS_PEM_WRITE_C 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_ESPTOOLPY_FLASHSIZE_4MB 1
