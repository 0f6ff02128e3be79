/* Stand-in for ESP-IDF's soc/rtc.h: see idf_standin.h. */
#include "idf_standin.h"
