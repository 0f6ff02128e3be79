/*
 * json.h - a push parser for the flat JSON objects of wire protocol v1.
 *
 * Bodies arrive from the transport in pieces of any size; this parser keeps a
 * few bytes of state (struct fota_json_state) and reports each member of the
 * top-level object as it goes, string values in pieces, so a 1.4 KB base64
 * string is never held. Written here, not taken from a library, because the
 * core has no heap and must not hold a whole body (jsmn, for instance, needs
 * the full text in memory).
 *
 * Accepted: one object; members with string, non-negative integer (fits u32),
 * true/false/null values; nested objects/arrays are reported once as NESTED
 * and skipped (the handler may refuse them). Keys longer than 15 bytes are
 * reported as FOTA_JSON_KEY_LONG ("" key) so the handler can refuse or skip.
 */
#ifndef FOTA_JSON_H
#define FOTA_JSON_H

#include "fota/fota.h"

enum fota_json_ev {
    FOTA_JSON_STR,        /* string piece; last piece has final = 1 */
    FOTA_JSON_NUM,        /* non-negative integer in num */
    FOTA_JSON_TRUE,
    FOTA_JSON_FALSE,
    FOTA_JSON_NULL,
    FOTA_JSON_NESTED,     /* object or array value (skipped) */
    FOTA_JSON_BADNUM      /* well-formed number we do not accept (negative,
                             fraction, exponent, > u32) */
};

/* Called for each member. key is NUL-terminated ("" when too long). For
 * FOTA_JSON_STR, s/len is the next piece of the decoded value (possibly
 * empty) and final marks its end. Return FOTA_OK or an error to stop. */
typedef int (*fota_json_fn)(void *arg, const char *key, int ev, const uint8_t *s,
                            uint32_t len, int final, uint32_t num);

void fota_json_init(struct fota_json_state *j);

/* Feed the next piece. Returns FOTA_OK, FOTA_ERR_JSON, or the handler's code. */
int fota_json_feed(struct fota_json_state *j, const uint8_t *d, uint32_t n,
                   fota_json_fn fn, void *arg);

/* End of body: FOTA_OK when exactly one complete object was seen, else
 * FOTA_ERR_TRUNCATED. */
int fota_json_finish(const struct fota_json_state *j);

#endif
