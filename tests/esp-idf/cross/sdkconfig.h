/*
 * sdkconfig.h - a hand-written stand-in for the sdkconfig.h that idf.py
 * generates, for compiling the ESP-IDF port for esp32c3 with Debian's
 * riscv64-unknown-elf-gcc against ../shared/esp-idf/ (tests/esp-idf/cross.sh).
 * The first block is what ESP-IDF v5.4.4's headers strictly need (see
 * ../shared/esp-idf/README.md); the second is what a real build of the
 * example sets and the port reads (Kconfig of src/ports/esp-idf and
 * examples/esp-idf/sdkconfig.defaults), with their Kconfig defaults, from
 * ../sdkconfig_fota.h, which the host test's sdkconfig.h includes too.
 */
#pragma once

/* needed by ESP-IDF's headers */
#include "../sdkconfig_esp32c3.h"

/* set in a real build of the example */
#define CONFIG_MBEDTLS_ECDSA_C 1
#define CONFIG_MBEDTLS_ECP_C 1
#define CONFIG_MBEDTLS_ECP_DP_SECP256R1_ENABLED 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_APP_ROLLBACK_ENABLE CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_PARTITION_TABLE_CUSTOM 1
#define CONFIG_PARTITION_TABLE_CUSTOM_FILENAME "partitions.csv"
#define CONFIG_ESPTOOLPY_FLASHSIZE_4MB 1

/* src/ports/esp-idf/Kconfig, defaults (shared with the host test) */
#include "../sdkconfig_fota.h"
