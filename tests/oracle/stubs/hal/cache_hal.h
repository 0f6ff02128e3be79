/* Stand-in for ESP-IDF's hal/cache_hal.h: see idf_standin.h. */
#include "idf_standin.h"
