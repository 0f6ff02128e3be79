/* Stand-in for ESP-IDF's soc/gpio_pins.h: see idf_standin.h. */
#include "idf_standin.h"
