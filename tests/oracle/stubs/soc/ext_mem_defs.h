/* Stand-in for ESP-IDF's soc/ext_mem_defs.h: see idf_standin.h. */
#include "idf_standin.h"
