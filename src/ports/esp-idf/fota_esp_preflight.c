/*
 * fota_esp_preflight.c - what the port checks before a download starts, so
 * that a device that cannot finish one refuses before anything is erased:
 * the image fits the update slot, and the heap has a block large enough
 * for TLS (mbedTLS's record buffers and handshake), esp_http_client and the
 * ECDSA check of a signed manifest. The largest free block is what counts
 * (heap_caps_get_largest_free_block), not the total: a fragmented heap
 * fails a TLS handshake with plenty free.
 *
 * Erase pacing is the other half of "can it finish": libfota never erases
 * more than one 64 KB block at a time, ahead of the write position
 * (src/core/slot.c), and the port yields after each erase
 * (fota_esp_flash.c), so the task watchdog and Wi-Fi keep running while a
 * slot is prepared.
 */
#include <string.h>
#include "esp_log.h"
#include "esp_heap_caps.h"
#include "esp_ota_ops.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

static uint32_t heap_need(const struct fota_esp *e)
{
    if (e->set.heap_need)
        return e->set.heap_need;
    return strncmp(e->http.base_url, "https:", 6) == 0 ? CONFIG_FOTA_HEAP_NEED_TLS
                                                        : CONFIG_FOTA_HEAP_NEED_HTTP;
}

int fota_esp_preflight(struct fota_esp *e, const struct fota_offer *o)
{
    const esp_partition_t *slot = esp_ota_get_next_update_partition(NULL);
    size_t have = heap_caps_get_largest_free_block(MALLOC_CAP_8BIT);
    uint32_t need = heap_need(e);

    if (!slot) {
        ESP_LOGE(TAG, "release %lu: no OTA slot to write to", (unsigned long)o->release);
        return FOTA_ERR_NO_SLOT;
    }
    if (o->size > slot->size) {
        ESP_LOGE(TAG, "release %lu: image of %lu bytes, slot %s holds %lu: not started",
                 (unsigned long)o->release, (unsigned long)o->size, slot->label,
                 (unsigned long)slot->size);
        return FOTA_ERR_SLOT_SIZE;
    }
    if (have < need) {
        ESP_LOGE(TAG, "release %lu: largest free heap block %lu bytes, %lu needed "
                      "(TLS, HTTP client, signature check): not started, nothing erased",
                 (unsigned long)o->release, (unsigned long)have, (unsigned long)need);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}
