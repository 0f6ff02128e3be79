/* Stand-in for ESP-IDF's soc/reset_reasons.h: see idf_standin.h. */
#include "idf_standin.h"
