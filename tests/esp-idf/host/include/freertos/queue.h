/* freertos/queue.h - stand-in for the host test (see FreeRTOS.h). */
#pragma once
#include "freertos/FreeRTOS.h"
