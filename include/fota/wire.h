/*
 * wire.h - the wire rules shared by the device library, the server, the
 * simulator and the tests: request paths, which chunk sizes a device
 * accepts, the message a chunk HMAC covers, and the protocol v2 stream
 * layout. Each rule is defined here once (docs/protocol.md and DESIGN.md
 * describe them); the core's JSON parsing of v1 answers stays in the core.
 *
 * Chunk HMAC (v1 and v2 alike):
 *   HMAC-SHA256(device key, sha256(image)[32] || be32(n) || chunk bytes)
 * fota_chunk_mac_prefix() writes the first 36 bytes of that message; the
 * caller's HMAC (the port's callbacks on a device, mbedTLS on the server)
 * covers the prefix, then the chunk bytes.
 *
 * Protocol v2 stream body (GET stream?release=R&from=N, 200):
 *   stream header: "FOT2" | be32 chunk_size                  (8 bytes)
 *   then for each chunk n = N, N+1, ... to the last:
 *     frame header: be32 n | be16 len                         (6 bytes)
 *     len bytes of the image | 32-byte chunk HMAC (above)
 */
#ifndef FOTA_WIRE_RULES_H
#define FOTA_WIRE_RULES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_PATH_CHECK  "/api/inverter/fota/check"
#define FOTA_PATH_CHUNK  "/api/inverter/fota/chunk"
#define FOTA_PATH_STATUS "/api/inverter/fota/status"
#define FOTA_PATH_STREAM "/api/inverter/fota/stream"

/* Bytes of the chunk-HMAC message before the chunk data. */
#define FOTA_CHUNK_MAC_PREFIX_LEN 36u
/* Length of a chunk HMAC. */
#define FOTA_CHUNK_MAC_LEN 32u

#define FOTA_V2_MAGIC "FOT2"
#define FOTA_V2_MAGIC_LEN 4u
#define FOTA_V2_STREAM_HDR 8u  /* magic | be32 chunk_size */
#define FOTA_V2_FRAME_HDR 6u   /* be32 n | be16 len */
/* Bytes a frame adds around len bytes of data. */
#define FOTA_V2_FRAME_OVERHEAD (FOTA_V2_FRAME_HDR + FOTA_CHUNK_MAC_LEN)
/* Content type of a v2 stream answer. */
#define FOTA_V2_CONTENT_TYPE "application/vnd.fota.v2"

/*
 * Write the chunk-HMAC message prefix for chunk n of the image whose SHA-256
 * is sha256: out[0..31] = sha256, out[32..35] = n big-endian.
 */
void fota_chunk_mac_prefix(uint8_t out[FOTA_CHUNK_MAC_PREFIX_LEN], const uint8_t sha256[32],
                           uint32_t n);

/*
 * Nonzero when a device accepts chunk_size: FOTA_CHUNK_MIN..FOTA_CHUNK_MAX
 * (include/fota/fota.h) and a divisor of the 4096-byte sector
 * (FOTA_SECTOR_SIZE), so that resume points (sector ends) are chunk ends.
 * The server refuses any other size at upload; the device refuses it in
 * the offer (unsupported_chunk_size).
 */
int fota_chunk_size_ok(uint32_t chunk_size);

/* Write the v2 stream header for chunk_size into out (FOTA_V2_STREAM_HDR bytes). */
void fota_v2_put_stream_header(uint8_t out[FOTA_V2_STREAM_HDR], uint32_t chunk_size);

/* Write the header of frame n carrying len bytes into out (FOTA_V2_FRAME_HDR bytes). */
void fota_v2_put_frame_header(uint8_t out[FOTA_V2_FRAME_HDR], uint32_t n, uint16_t len);

#ifdef __cplusplus
}
#endif
#endif
