/* Stand-in for ESP-IDF's soc/chip_revision.h: see idf_standin.h. */
#include "idf_standin.h"
