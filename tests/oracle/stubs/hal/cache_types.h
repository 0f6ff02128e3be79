/* Stand-in for ESP-IDF's hal/cache_types.h: see idf_standin.h. */
#include "idf_standin.h"
