/* Stand-in for ESP-IDF's soc/efuse_reg.h: see idf_standin.h. */
#include "idf_standin.h"
