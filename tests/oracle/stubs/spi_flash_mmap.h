/* Stand-in for ESP-IDF's spi_flash_mmap.h: see idf_standin.h. */
#include "idf_standin.h"
