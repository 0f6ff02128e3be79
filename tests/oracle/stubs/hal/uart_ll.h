/* Stand-in for ESP-IDF's hal/uart_ll.h: see idf_standin.h. */
#include "idf_standin.h"
