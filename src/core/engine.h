/*
 * engine.h - what the files of the update engine share, private to
 * src/core. The engine is split by responsibility, and calls flow one way,
 * from the state machine outward:
 *
 *   engine.c   the state machine: init and recovery, begin, step, run,
 *              confirm, rollback; the only place a chunk is verified and
 *              handed to the slot writer (invariant 1)
 *   request.c  the HTTP requests (check, chunk, stream, status) and the
 *              JSON they send; returns parsed, unverified answers
 *   retry.c    which errors are worth another attempt, and the backoff
 *   policy.c   the security checks of an offer and of the image head
 *   slot.c     the update partition: erase-ahead writer, read-back check
 *   wire.c     the parsers (called by request.c and engine.c, calls no one)
 *
 * None of request.c, retry.c, policy.c, slot.c or wire.c calls into
 * engine.c.
 */
#ifndef FOTA_ENGINE_H
#define FOTA_ENGINE_H

#include "fota/fota.h"
#include "journal.h"

/* ---- engine.c ------------------------------------------------------------- */

/* The v2 stream's body sink (arg = struct fota): feeds the parser and takes
 * each frame it hands back (index, length and HMAC checked, then written),
 * before feeding the rest. Sticky on error. */
int fota_stream_body(void *arg, const uint8_t *d, uint32_t n);

/* The check of a chunk the parsers handed back (index and len as
 * received, data in f->buf, hmac as received) before it may be written: it
 * is f->next_chunk, of that chunk's length, and its HMAC verifies with the
 * device key. FOTA_OK, FOTA_ERR_CHUNK_INDEX, FOTA_ERR_CHUNK_LEN or
 * FOTA_ERR_HMAC, logged. */
int fota_chunk_check(struct fota *f, uint32_t index, uint32_t len, const uint8_t hmac[32]);

/* ---- request.c ------------------------------------------------------------ */

/* Map an HTTP status other than the expected one to an error code, logged
 * with what: 401/403 AUTH, 404 NOT_FOUND, 429/5xx HTTP_RETRY, other 4xx HTTP,
 * anything below 400 NET (a stale answer on a kept-alive connection). */
int fota_req_http_error(struct fota *f, int status, const char *what);

/*
 * v1: GET chunk n of the offer, parsed into f->p.chunk and f->buf (expected
 * to decode to len bytes). FOTA_OK means a well-formed answer arrived: its
 * chunk_number, length and HMAC are as received and still to be checked.
 */
int fota_req_chunk(struct fota *f, uint32_t n, uint32_t len);

/*
 * v2: GET the stream of the offer from f->next_chunk, its body to sink (arg
 * = f). Returns FOTA_OK when a 200 answer ended (the caller checks how far
 * it got), FOTA_REQ_NO_V2 when the server has no v2 at this path (404, 400,
 * 405, 501: fall back to v1), an HTTP error, or what the transport or the
 * sink returned.
 */
#define FOTA_REQ_NO_V2 1
int fota_req_stream(struct fota *f, fota_body_fn sink);

/* ---- retry.c -------------------------------------------------------------- */

/* 1 for errors worth another attempt (link, server load, a corrupted
 * transfer), 0 for final ones. */
int fota_retry_worthy(int rc);

/* Sleep before attempt number `attempt` (1 = first retry): exponential from
 * backoff_base_ms to backoff_max_ms, with equal jitter. */
void fota_retry_backoff(struct fota *f, uint32_t attempt);

/* ---- policy.c ------------------------------------------------------------- */

/* The offer's security checks, before anything is erased: signed manifest
 * (when the device holds a key), anti-rollback floor f->min_secure,
 * downgrade. FOTA_OK or the refusal's code, logged. */
int fota_policy_offer(struct fota *f, const struct fota_offer *o);

/* Chunk 0 (len bytes in f->buf), before it is written: an app image for
 * this chip whose app descriptor honours the floor and matches the signed
 * manifest. FOTA_OK or the refusal's code, logged. */
int fota_policy_head(struct fota *f, uint32_t len);

/* The same checks on the first len bytes of an image at b (a compressed or
 * delta update: the patcher's first output, before it is written). */
int fota_policy_head_at(struct fota *f, const uint8_t *b, uint32_t len);

/* ---- slot.c --------------------------------------------------------------- */

/* Whole-partition check before a boot switch (invariant 4): release
 * SHA-256 over [0, size) of p, image structure, checksum and appended hash,
 * all read back through part_read. */
int fota_slot_verify(struct fota *f, const struct fota_part *p, uint32_t size,
                     const uint8_t sha[32]);

/* Program len verified bytes of f->buf at off of f->update, erasing ahead
 * as needed (invariants 1 and 3). */
int fota_slot_write(struct fota *f, uint32_t off, uint32_t len);

/* The running image's length and appended SHA-256 into f->base_size and
 * f->base_sha256 (0 and an error when it has none: no delta then). */
int fota_slot_base(struct fota *f);

/* The same for len bytes at buf (the patcher's output). */
int fota_slot_program(struct fota *f, uint32_t off, const uint8_t *buf, uint32_t len);

#endif
