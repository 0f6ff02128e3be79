/* hal/efuse_ll.h - stand-in for the host test: esp_secure_boot.h asks the
 * eFuse whether secure boot v2 is on; the emulated device has no secure boot. */
#pragma once
#include <stdbool.h>
static inline bool efuse_ll_get_secure_boot_v2_en(void)
{
    return false;
}
