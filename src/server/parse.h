/*
 * parse.h - the server's parsing of what a client sends, as pure functions
 * over plain strings and buffers (no libmicrohttpd, no store, no I/O): query
 * parameters, the device status body, the admin device body and the base64
 * signing headers. The handlers (http.c, api_device.c, api_admin.c) call
 * them; the libFuzzer harnesses fuzz/fuzz_srv_*.c call them directly.
 *
 * Every function that can refuse returns NULL when the input is acceptable,
 * else a message for a 400 written into buf (always NUL-terminated, at most
 * n - 1 bytes).
 */
#ifndef FOTA_SERVER_PARSE_H
#define FOTA_SERVER_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "store.h"

#define QUERY_MAX 16
#define PARSE_MSG_MAX 256 /* room for any message below */

/* Query parameters as libmicrohttpd hands them over (unescaped, in order,
 * every occurrence; val NULL for a name without '='). */
struct query_param {
    const char *key, *val;
};
struct query {
    struct query_param q[QUERY_MAX];
    int n;
    int overflow; /* more than QUERY_MAX were given */
    int nul;      /* a key or value held a %00 (a NUL byte) */
    int bad_utf8; /* a key or value is not well-formed UTF-8 (utf8.h) */
};

/* NULL when every parameter is in allowed (NULL-terminated), none repeats,
 * each has a value and every one in required is present. */
const char *query_problem(const struct query *q, const char *const *allowed,
                          const char *const *required, char *buf, size_t n);
/* Record one parameter as libmicrohttpd hands it over (key_size and
 * value_size are the decoded lengths, so an embedded %00 shows). Sets the
 * overflow, nul and bad_utf8 flags that query_problem refuses. */
void query_add(struct query *q, const char *key, size_t key_size, const char *val,
               size_t val_size);
/* Value of the first occurrence of key, or NULL. */
const char *query_get(const struct query *q, const char *key);

/* Strict canonical unsigned decimal: digits only, no sign, space or
 * exponent, no leading zero (except "0" itself), no value past max; with
 * allow_hex also 0x/0X followed by hex digits. Returns 0 (*out set) or -1. */
int parse_u64(const char *s, uint64_t max, int allow_hex, uint64_t *out);

/* The device API's queries (docs/server.md): check?version=V[&secure_version=S],
 * chunk?chunk=N[&release=ID], stream?release=ID&from=N. */
const char *parse_check_query(const struct query *q, const char **version, int *has_sv,
                              uint32_t *secure_version, char *buf, size_t n);
const char *parse_chunk_query(const struct query *q, uint32_t *chunk, int *has_release,
                              int64_t *release, char *buf, size_t n);
/* Their enc= and base= (compressed and delta updates, docs/delta.md): enc
 * is a comma list of "compressed" and "delta" in check (multi), one of them
 * in chunk and stream; *mask gets 1u << FOTA_ENC_* per name. base is 64
 * lowercase hex digits, the running image's appended SHA-256, into base
 * (*has_base); only with delta, and required with it in chunk and stream.
 * NULL, or the refusal (in buf). */
const char *parse_enc_query(const struct query *q, int multi, unsigned *mask, uint8_t base[32],
                            int *has_base, char *buf, size_t n);
const char *parse_stream_query(const struct query *q, uint32_t *release, uint32_t *from,
                               char *buf, size_t n);

/* Whether s is at most max bytes of UTF-8 text (utf8.h) without a control
 * character. */
int parse_printable(const char *s, size_t max);

/* The status body: a JSON object with exactly release (integer > 0), state
 * (one of the six), chunks_received (integer >= 0) and error (at most
 * STORE_ERROR_MAX printable bytes); a repeated key is refused. On success
 * st's release, state, chunks_received and error are set (the rest zeroed). */
extern const char *const parse_states[]; /* the six states, NULL-terminated */
const char *parse_status_body(const char *body, size_t len, struct store_status *st,
                              char *buf, size_t n);

/* The admin device body {"id": ID, "chip": NAME} (chip optional, default
 * esp32). On success id holds a valid device id and *chip its chip id. */
const char *parse_device_body(const char *body, size_t len, char id[DEVICE_ID_MAX + 1],
                              int *chip, char *buf, size_t n);

/* Strict padded base64 text of exactly n bytes (n <= 150) into out: 0, or -1
 * (length not 4*ceil(n/3), not base64, or not n bytes). */
int parse_b64_exact(const char *text, uint8_t *out, size_t n);

/* --- the request's framing and headers, before routing ----------------------
 *
 * libmicrohttpd decodes the path before it routes and takes the first of
 * two Content-Length headers; these checks see what it was sent. Every
 * refusal below is a 400 that closes the connection (*close set), since
 * what follows on the connection cannot be framed with confidence. */

/* The request target as sent (undecoded, from libmicrohttpd's URI log
 * callback): refuses an encoded '/' (%2F) or NUL (%00) in the path and more
 * than QUERY_MAX parameters (counted here, before libmicrohttpd parses them:
 * thousands of them exhaust its per-connection memory and it then never
 * answers). The decoded path's UTF-8 is checked by the caller. */
const char *parse_raw_target(const char *uri, char *buf, size_t n);

/* Header scan: feed every header (name and value with their lengths as
 * received), then ask for the verdict. */
struct header_scan {
    int bad;               /* a name or value with a control byte, a NUL or bad UTF-8 */
    char bad_name[48];     /* the first such header (sanitized, cut) */
    const char *bad_what;  /* what was wrong with it */
    int n_cl, cl_differ;   /* Content-Length headers, two of them differ */
    char cl_first[24];
    int has_te, te_chunked; /* Transfer-Encoding present; exactly "chunked" */
};
void header_scan_init(struct header_scan *hs);
void header_scan_feed(struct header_scan *hs, const char *name, size_t name_len,
                      const char *value, size_t value_len);
/* The header name's value went on past a NUL its length does not show
 * (http.c sees that in libmicrohttpd's buffer): refused like a NUL. */
void header_scan_cut(struct header_scan *hs, const char *name, size_t name_len);
/* NULL when the headers are acceptable, else the message of a 400 (the
 * connection to be closed). */
const char *header_scan_verdict(const struct header_scan *hs, char *buf, size_t n);

#endif
