/* Stand-in for ESP-IDF's esp_private/spi_flash_os.h: see idf_standin.h. */
#include "idf_standin.h"
