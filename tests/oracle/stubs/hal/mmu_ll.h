/* Stand-in for ESP-IDF's hal/mmu_ll.h: see idf_standin.h. */
#include "idf_standin.h"
