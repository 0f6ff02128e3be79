/* Stand-in for ESP-IDF's soc/gpio_periph.h: see idf_standin.h. */
#include "idf_standin.h"
