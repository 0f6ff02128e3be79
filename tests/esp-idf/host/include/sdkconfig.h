/*
 * sdkconfig.h - hand-written sdkconfig for the host test of the ESP-IDF port
 * (tests/esp-idf/host): ESP-IDF's Linux target with its esp_partition and
 * nvs_flash emulation (the macros ../shared/esp-idf/README.md lists as
 * needed, and its switches: stats and fail_after, erase check, error
 * names), the app-rollback and bootloader settings esp_ota_ops.c reads, and
 * the port's Kconfig values.
 */
#pragma once
#define CONFIG_IDF_TARGET_LINUX 1
#define CONFIG_IDF_TARGET "linux"
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_LOG_TAG_LEVEL_IMPL_NONE 1
#define CONFIG_LOG_TIMESTAMP_SOURCE_RTOS 1
#define CONFIG_MMU_PAGE_SIZE 0x10000
#define CONFIG_ESP_PARTITION_ENABLE_STATS 1
#define CONFIG_ESP_PARTITION_ERASE_CHECK 1
#define CONFIG_ESP_ERR_TO_NAME_LOOKUP 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
/* the anti-rollback build (-DFOTA_TEST_ANTI_ROLLBACK): the floor is the
 * eFuse secure_version (host/efuse_fake.c), burnt by
 * esp_ota_mark_app_valid_cancel_rollback */
#ifdef FOTA_TEST_ANTI_ROLLBACK
#define CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK 1
#define CONFIG_BOOTLOADER_APP_SECURE_VERSION 0
#define CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD 32
#endif
#define CONFIG_BOOTLOADER_OFFSET_IN_FLASH 0x0
/* the images of ../shared/firmware are ESP32 images */
#define CONFIG_IDF_FIRMWARE_CHIP_ID 0x0000

/* src/ports/esp-idf/Kconfig */
#define CONFIG_FOTA_SERVER_URL "http://127.0.0.1:1"
#define CONFIG_FOTA_PROTOCOL_V1_V2 1
#define CONFIG_FOTA_TASK_STACK_SIZE 8192
#define CONFIG_FOTA_TASK_PRIORITY 5
#define CONFIG_FOTA_CHECK_INTERVAL_S 3600
#define CONFIG_FOTA_HTTP_TIMEOUT_MS 15000
#define CONFIG_FOTA_HTTP_BUFFER_SIZE 1024
#define CONFIG_FOTA_MAX_ATTEMPTS 8
/* the journal store: NVS (default), or the `fota` data partition when the
 * test builds its second variant with -DFOTA_TEST_JOURNAL_PARTITION */
#ifdef FOTA_TEST_JOURNAL_PARTITION
#define CONFIG_FOTA_JOURNAL_PARTITION 1
#else
#define CONFIG_FOTA_JOURNAL_NVS 1
#endif
#define CONFIG_FOTA_NVS_NAMESPACE "fota"
#define CONFIG_FOTA_NVS_JOURNAL_KEY "journal"
#define CONFIG_FOTA_NVS_FLOOR_KEY "floor"
#define CONFIG_FOTA_JOURNAL_PARTITION_LABEL "fota"
#define CONFIG_FOTA_SIGN_PUBKEY ""
