/*
 * wire.h - wire protocol v1 as the device sees it: the paths, the `chunk`
 * and `check` answers parsed as a stream, and the HMAC that binds a chunk to
 * its image and index. The formats are declared here and nowhere else in the
 * core.
 *
 * chunk answer: {"chunk_number": n, "data": "<base64>", "hmac": "<64 hex>"}
 *   exactly these three fields, in any order; anything else is refused.
 *   hmac = HMAC-SHA256(key, sha256(image)[32] || be32(n) || decoded data)
 * check answer: {"update": false} or {"update": true, "release": id,
 *   "version": "..", "size": n, "chunk_size": n, "total_chunks": n,
 *   "sha256": "<64 hex>"}; unknown fields are ignored (newer servers add
 *   some), known ones must have the right type.
 */
#ifndef FOTA_WIRE_H
#define FOTA_WIRE_H

#include "fota/fota.h"
#include "fota/wire.h" /* paths, chunk-HMAC prefix, v2 layout and magic */

/*
 * Protocol v2 (docs/protocol.md; layout in fota/wire.h): the device
 * verifies each frame's HMAC before writing it, and resumes with a new
 * request from its last committed chunk.
 */

void fota_v2_begin(struct fota_v2_state *s);
/* Body sink (arg = struct fota): parses frames and hands each complete one
 * to fota_v2_frame (engine.c), which checks and writes it. */
int fota_v2_body(void *arg, const uint8_t *d, uint32_t n);
int fota_v2_frame(struct fota *f, uint32_t index, uint32_t len, const uint8_t hmac[32]);

/* Largest chunk body accepted: the base64 of FOTA_CHUNK_MAX bytes plus room
 * for the other two fields and generous whitespace. */
#define FOTA_CHUNK_BODY_MAX (FOTA_B64_LEN(FOTA_CHUNK_MAX) + 256u)
#define FOTA_B64_LEN(n) ((((n) + 2u) / 3u) * 4u)
/* Largest check body accepted. */
#define FOTA_CHECK_BODY_MAX 2048u

/* Start parsing the answer for chunk `index`, which must decode to
 * expect_len bytes into buf (FOTA_CHUNK_MAX bytes). */
void fota_chunk_begin(struct fota_chunk_state *s, uint32_t expect_len);

/* Body piece from the transport (a fota_body_fn): arg is the struct fota. */
int fota_chunk_body(void *arg, const uint8_t *d, uint32_t n);

/*
 * End of body: all fields present, chunk_number == index, data complete and
 * of the expected length, and the HMAC verified with the device key over
 * image sha256 || be32(index) || data. Returns FOTA_OK or the error for
 * the first thing wrong (FOTA_ERR_TRUNCATED, FIELD_MISSING, BASE64,
 * CHUNK_INDEX, CHUNK_LEN, HMAC, ...).
 */
int fota_chunk_end(struct fota *f, uint32_t index);

/* check answer: begin, feed (fota_body_fn, arg = struct fota), end. The offer
 * is parsed into f->offer. */
void fota_check_begin(struct fota *f);
int fota_check_body(void *arg, const uint8_t *d, uint32_t n);
int fota_check_end(struct fota *f);

/* HMAC of a chunk as the server computes it (used by fota_chunk_end). */
int fota_chunk_hmac(struct fota *f, const uint8_t sha256[32], uint32_t index,
                    const uint8_t *data, uint32_t len, uint8_t out[32]);

/* Parse 64 hex characters into 32 bytes. FOTA_OK or FOTA_ERR_FIELD_TYPE. */
int fota_hex32(const char *hex, uint32_t len, uint8_t out[32]);

#endif
