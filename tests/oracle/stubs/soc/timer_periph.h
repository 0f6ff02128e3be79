/* Stand-in for ESP-IDF's soc/timer_periph.h: see idf_standin.h. */
#include "idf_standin.h"
