/* Stand-in for ESP-IDF's esp_cpu.h: see idf_standin.h. */
#include "idf_standin.h"
