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

/*
 * Feed n stream bytes. Parses frames, the data of each straight into f->buf
 * (never more than FOTA_CHUNK_MAX or the offer's chunk_size). *used gets
 * the bytes consumed. Returns FOTA_OK when all n were consumed and no frame
 * completed, FOTA_V2_FRAME when one did (f->p.v2.index, .len, .hmac and
 * f->buf hold it, as received and NOT verified; feed the rest of d after
 * the caller has dealt with it), or an error (sticky): FOTA_ERR_JSON (not a
 * v2 stream of this release), FOTA_ERR_CHUNK_LEN.
 */
#define FOTA_V2_FRAME 1
int fota_v2_feed(struct fota *f, const uint8_t *d, uint32_t n, uint32_t *used);

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
 * End of body: a complete object with all three fields, well formed.
 * Returns FOTA_OK or the error for the first thing wrong (FOTA_ERR_TRUNCATED,
 * FIELD_MISSING, BASE64, ...). The chunk is then parsed, NOT verified:
 * f->p.chunk.number, .data_len (bytes in f->buf) and .hmac are as received;
 * the engine checks index, length and HMAC before writing (invariant 1).
 */
int fota_chunk_end(struct fota *f);

/* check answer: begin, feed (fota_body_fn, arg = struct fota), end. The offer
 * is parsed into out (the caller's), never into f->offer: an update in
 * progress keeps its own. */
void fota_check_begin(struct fota *f, struct fota_offer *out);
int fota_check_body(void *arg, const uint8_t *d, uint32_t n);
int fota_check_end(struct fota *f);

/* HMAC of a chunk as the server computes it (the engine checks each chunk
 * against it, v1 and v2 alike). */
int fota_chunk_hmac(struct fota *f, const uint8_t sha256[32], uint32_t index,
                    const uint8_t *data, uint32_t len, uint8_t out[32]);

/* Parse 64 hex characters into 32 bytes. FOTA_OK or FOTA_ERR_FIELD_TYPE. */
int fota_hex32(const char *hex, uint32_t len, uint8_t out[32]);

#endif
