/* Stand-in for ESP-IDF's esp_efuse.h: see idf_standin.h. */
#include "idf_standin.h"
