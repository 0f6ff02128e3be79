/* esp_efuse.h - stand-in for ESP-IDF's efuse component (not in the pinned
 * subset): the three secure_version calls, with ESP-IDF v5's signatures,
 * that esp_ota_ops.c makes under CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK and the
 * port's floor store makes there (src/ports/esp-idf/fota_esp_store.c).
 * Implemented by host/efuse_fake.c, a fake eFuse at that port boundary,
 * linked only into the anti-rollback build of the host test. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "esp_err.h"

/* Secure version burnt in eFuse (number of bits set in the field). */
uint32_t esp_efuse_read_secure_version(void);
/* true when secure_version is not below the eFuse's. */
bool esp_efuse_check_secure_version(uint32_t secure_version);
/* Burn the field up to secure_version (bits are only ever set). */
esp_err_t esp_efuse_update_secure_version(uint32_t secure_version);
