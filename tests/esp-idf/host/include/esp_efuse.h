/* esp_efuse.h - empty stand-in: esp_ota_ops.c includes it and uses eFuses only
 * under CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK, off in the host test. */
#pragma once
