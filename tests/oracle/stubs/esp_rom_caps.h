/* Stand-in for ESP-IDF's esp_rom_caps.h: see idf_standin.h. */
#include "idf_standin.h"
