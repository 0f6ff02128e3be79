/* Stand-in for ESP-IDF's soc/soc.h: see idf_standin.h. */
#include "idf_standin.h"
