/* soc/efuse_periph.h - empty stand-in: esp_secure_boot.h includes it; on the
 * host test no eFuse exists (tests/esp-idf/host). */
#pragma once
