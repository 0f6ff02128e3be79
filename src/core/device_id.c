/*
 * device_id.c - the device id rule of fota/device_id.h. Freestanding: no
 * libc at all, so the server and the CLI link the very same function the
 * device runs.
 */
#include "fota/device_id.h"

int fota_device_id_valid(const char *id, size_t len)
{
    size_t i;

    if (!id || len == 0 || len > FOTA_DEVICE_ID_MAX || id[0] == '.')
        return 0;
    for (i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
