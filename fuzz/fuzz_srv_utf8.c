/*
 * fuzz_srv_utf8.c - libFuzzer harness for the server's text rule (issue 9):
 * bytes that are not UTF-8 fed through the query, the headers and the
 * upload metadata into the JSON answers the server builds from them.
 *
 * Every path ends the way the server's handlers end: a refusal becomes the
 * body http_error makes (the message formatted, cleaned with
 * utf8_clean_text, packed as {"error", "message"}); an acceptance becomes
 * the JSON the server later shows the text in (utf8_json, json_pack).
 * Invariants:
 *  - whenever an answer is produced it is valid JSON: json_pack succeeds,
 *    json_dumps succeeds and jansson loads the text back to the same object
 *    (jansson refuses strings that are not UTF-8, so this is the property
 *    whose failure dropped connections before);
 *  - utf8_valid agrees with an independent decoder (fuzz_utf8_ref.h);
 *    utf8_sanitize keeps the length, makes the text valid and changes
 *    nothing in a valid text; utf8_escape's output is valid and
 *    NUL-terminated within its buffer and equals the input when it is valid;
 *  - what is accepted is valid UTF-8: a check version, an upload version, a
 *    header value (no control byte either).
 *
 * Input: byte 0 mode (& 3): 0 validator functions on the rest; 1 the rest
 * is a raw query string (split and %-decoded the way libmicrohttpd does,
 * recorded with query_add) for check and for a release upload; 2 the rest
 * is header lines "name:value" separated by '\n' (bytes as received, NUL
 * included) for the header scan, and the first line's value as an
 * X-Device-Id; 3 the rest is the raw request target (path and query) for
 * parse_raw_target and the decoded path's echo in a 400/404.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fota/device_id.h"
#include "fuzz_utf8_ref.h"
#include "parse.h"
#include "store.h"
#include "utf8.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
    abort(); } } while (0)

/* The answer must encode and load back to an equal value. */
static void answer_ok(json_t *o)
{
    FUZZ_ASSERT(o != NULL);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_ASSERT(s != NULL);
    json_error_t e;
    json_t *back = json_loads(s, JSON_DECODE_ANY, &e);
    FUZZ_ASSERT(back != NULL);
    FUZZ_ASSERT(json_equal(o, back));
    json_decref(back);
    free(s);
    json_decref(o);
}

/* What http_error builds from a message (http.c): formatted into 600
 * bytes, cleaned, packed. fmt has one %s or %.Ns for client text. */
static void error_answer(const char *fmt, const char *text)
{
    char msg[600];
    snprintf(msg, sizeof msg, fmt, text);
    utf8_clean_text(msg);
    FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)msg, strlen(msg)));
    answer_ok(json_pack("{s:s, s:s}", "error", "bad_request", "message", msg));
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX decoding in place as libmicrohttpd does; returns the decoded length
 * (the text may now hold NULs). */
static size_t unescape(char *s, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        if (s[r] == '%' && r + 2 < n + 0 && hexv((unsigned char)s[r + 1]) >= 0 &&
            hexv((unsigned char)s[r + 2]) >= 0) {
            s[w++] = (char)(hexv((unsigned char)s[r + 1]) * 16 + hexv((unsigned char)s[r + 2]));
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

static void mode_validator(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1), esc[256];
    int want = ref_utf8_valid(d, n);
    memcpy(s, d, n);
    s[n] = '\0';
    FUZZ_ASSERT(utf8_valid((const char *)d, n) == want);
    FUZZ_ASSERT(utf8_valid_str(s) == (strlen(s) == n ? want : ref_utf8_valid(d, strlen(s))));
    for (size_t i = 0, k; i < n; i += k ? k : 1) { /* utf8_seq: the reference on each prefix */
        k = utf8_seq(d + i, n - i);
        FUZZ_ASSERT(k <= 4 && k <= n - i);
        if (k)
            FUZZ_ASSERT(ref_utf8_valid(d + i, k));
    }
    size_t len = strlen(s);
    char *orig = strndup(s, len);
    size_t bad = utf8_sanitize(s);
    FUZZ_ASSERT(strlen(s) == len);
    FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)s, len));
    if (ref_utf8_valid((const unsigned char *)orig, len))
        FUZZ_ASSERT(bad == 0 && memcmp(s, orig, len) == 0);
    size_t olen = (size_t)(d[0] % sizeof esc) + 1;
    size_t w = utf8_escape((const char *)d, n, esc, olen);
    FUZZ_ASSERT(w < olen && esc[w] == '\0' && strlen(esc) == w);
    FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)esc, w));
    if (want && n < olen)
        FUZZ_ASSERT(w == n && memcmp(esc, d, n) == 0);
    answer_ok(utf8_json(orig));
    utf8_clean_text(orig);
    answer_ok(json_pack("{s:s}", "message", orig));
    free(orig);
    free(s);
}

/* Splits text (n bytes) like libmicrohttpd and records it with query_add. */
static void split_query(char *text, size_t n, struct query *q)
{
    char *s = text, *end = text + n;
    memset(q, 0, sizeof *q);
    if (!n)
        return;
    for (;;) {
        char *amp = memchr(s, '&', (size_t)(end - s)), *stop = amp ? amp : end, *eq;
        *stop = '\0';
        eq = memchr(s, '=', (size_t)(stop - s));
        if (eq)
            *eq = '\0';
        size_t klen = unescape(s, (size_t)((eq ? eq : stop) - s));
        size_t vlen = eq ? unescape(eq + 1, (size_t)(stop - eq - 1)) : 0;
        query_add(q, s, klen, eq ? eq + 1 : NULL, vlen);
        if (!amp || q->overflow)
            break;
        s = amp + 1;
    }
}

static void mode_query(const uint8_t *d, size_t n)
{
    static const char *const upload_allowed[] = {"version", "slot_size", "chunk_size", NULL};
    char *text = malloc(n + 1), buf[PARSE_MSG_MAX];
    const char *bad, *version = NULL;
    struct query q;
    uint32_t sv;
    int has_sv;

    memcpy(text, d, n);
    text[n] = '\0';
    split_query(text, n, &q);

    /* check?version=... : refused (400) or stored as reported_version */
    bad = parse_check_query(&q, &version, &has_sv, &sv, buf, sizeof buf);
    if (bad) {
        error_answer("%s", bad);
    } else {
        FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)version, strlen(version)));
        answer_ok(json_pack("{s:o, s:o}", "reported_version", utf8_json(version),
                            "current_version", utf8_json(version)));
    }
    /* release upload ?version=... (admin_release_begin) */
    bad = query_problem(&q, upload_allowed, NULL, buf, sizeof buf);
    if (bad) {
        error_answer("%s", bad);
    } else if ((version = query_get(&q, "version"))) {
        if (!version[0] || !parse_printable(version, STORE_VERSION_MAX)) {
            error_answer("version must be 1-%s bytes of printable UTF-8 text", "64");
        } else {
            FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)version, strlen(version)));
            answer_ok(json_pack("{s:I, s:o}", "id", (json_int_t)1, "version",
                                utf8_json(version)));
        }
    }
    /* echoes of client text cut at a byte count, as the handlers write them */
    for (int i = 0; i < q.n; i++) {
        error_answer("unknown query parameter \"%.40s\"", q.q[i].key);
        if (q.q[i].val)
            error_answer("chunk must be a decimal number 0..4294967295, got \"%.40s\"",
                         q.q[i].val);
    }
    free(text);
}

static void mode_headers(const uint8_t *d, size_t n)
{
    struct header_scan hs;
    char buf[PARSE_MSG_MAX];
    const char *bad, *p = (const char *)d, *end = p + n;
    int first = 1;

    header_scan_init(&hs);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon) {
            const char *v = colon + 1;
            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            header_scan_feed(&hs, p, (size_t)(colon - p), v, (size_t)(stop - v));
            if (first) { /* the value as an X-Device-Id, length as received */
                int ok = fota_device_id_valid(v, (size_t)(stop - v));
                FUZZ_ASSERT(!ok || (stop - v >= 1 && stop - v <= 64 && *v != '.' &&
                                    !memchr(v, 0, (size_t)(stop - v))));
                first = 0;
            }
        }
        p = nl ? nl + 1 : end;
    }
    bad = header_scan_verdict(&hs, buf, sizeof buf);
    if (bad) {
        error_answer("%s", bad);
        return;
    }
    /* accepted: every header value was printable UTF-8 */
    for (p = (const char *)d; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon) {
            const char *v = colon + 1;
            FUZZ_ASSERT(ref_utf8_valid((const unsigned char *)v, (size_t)(stop - v)));
            for (const char *c = v; c < stop; c++)
                FUZZ_ASSERT(*c == '\t' || ((unsigned char)*c >= 0x20 && *c != 0x7f));
        }
        p = nl ? nl + 1 : end;
    }
}

static void mode_target(const uint8_t *d, size_t n)
{
    char *uri = malloc(n + 1), buf[PARSE_MSG_MAX];
    const char *bad;
    memcpy(uri, d, n);
    uri[n] = '\0';
    bad = parse_raw_target(uri, buf, sizeof buf);
    if (bad)
        error_answer("%s", bad);
    /* the decoded path, quoted in a 400 or 404 (%.100s) */
    char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    uri[plen] = '\0';
    unescape(uri, plen);
    error_answer("no such path: %.100s", uri);
    error_answer("the path is not valid UTF-8: %.100s", uri);
    free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        if (size >= 2)
            mode_validator(data + 1, size - 1);
        break;
    case 1:
        mode_query(data + 1, size - 1);
        break;
    case 2:
        mode_headers(data + 1, size - 1);
        break;
    default:
        mode_target(data + 1, size - 1);
        break;
    }
    return 0;
}
