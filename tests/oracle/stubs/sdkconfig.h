/*
 * sdkconfig.h - the configuration the bootloader oracle compiles ESP-IDF's
 * bootloader_support sources with: app rollback on (as the simulator's
 * bootloader model and the example's sdkconfig.defaults), no anti-rollback,
 * no secure boot, no flash encryption, logging compiled out.
 */
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_IDF_FIRMWARE_CHIP_ID 0
#define CONFIG_BOOTLOADER_LOG_LEVEL 0
#define CONFIG_LOG_DEFAULT_LEVEL 0
#define CONFIG_LOG_MAXIMUM_LEVEL 0
#define CONFIG_LOG_TIMESTAMP_SOURCE_RTOS 1
#define CONFIG_ESP_SYSTEM_SINGLE_CORE_MODE 1
