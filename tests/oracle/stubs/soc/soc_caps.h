/* Stand-in for ESP-IDF's soc/soc_caps.h: see idf_standin.h. */
#include "idf_standin.h"
