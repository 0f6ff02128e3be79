/*
 * wirerules.c - the wire rules of include/fota/wire.h: the chunk-HMAC
 * message prefix, the chunk sizes a device accepts, the v2 stream and frame
 * headers. Core, server, simulator and tests all call these, so each rule
 * has one definition.
 */
#include "fota/wire.h"
#include "fota/esp_ota.h"
#include "fota/fota.h"
#include "le.h"

void fota_chunk_mac_prefix(uint8_t out[FOTA_CHUNK_MAC_PREFIX_LEN], const uint8_t sha256[32],
                           uint32_t n)
{
    fota_copy(out, sha256, 32);
    fota_put_be32(out + 32, n);
}

int fota_chunk_size_ok(uint32_t chunk_size)
{
    return chunk_size >= FOTA_CHUNK_MIN && chunk_size <= FOTA_CHUNK_MAX &&
           FOTA_SECTOR_SIZE % chunk_size == 0;
}

void fota_v2_put_stream_header(uint8_t out[FOTA_V2_STREAM_HDR], uint32_t chunk_size)
{
    fota_copy(out, FOTA_V2_MAGIC, FOTA_V2_MAGIC_LEN);
    fota_put_be32(out + FOTA_V2_MAGIC_LEN, chunk_size);
}

void fota_v2_put_frame_header(uint8_t out[FOTA_V2_FRAME_HDR], uint32_t n, uint16_t len)
{
    fota_put_be32(out, n);
    out[4] = (uint8_t)(len >> 8);
    out[5] = (uint8_t)len;
}
