/*
 * fuzz_srv_query.c - libFuzzer harness for the server's query parsing
 * (src/server/parse.c): a raw query string is cut into name=value pairs the
 * way libmicrohttpd 0.9.x presents them ('&' separated, a name without '='
 * has a NULL value, %XX unescaped, at most QUERY_MAX collected) and handed to
 * parse_check_query, parse_chunk_query or parse_stream_query; or a string
 * goes straight to parse_u64 with a fuzzer-chosen max and hex flag.
 *
 * Invariants: the server accepts exactly when an independent reference
 * (docs/server.md: only allowed names, each at most once and with a value,
 * the required ones present, numbers canonical decimal without sign, leading
 * zero, exponent or overflow, versions printable UTF-8 (fuzz_utf8_ref.h) and
 * <= 32 bytes, what a device reports) accepts,
 * and then yields the same values; parse_u64 agrees with a strtoull-based
 * reference for any max; a refusal's message is the caller's buffer,
 * NUL-terminated within its size, non-empty, and nothing past the buffer is
 * written.
 *
 * Input: byte 0 mode (& 3: 0 check, 1 chunk, 2 stream, 3 parse_u64), byte 1
 * message buffer size - 1; mode 3: 8 bytes max (le64), 1 byte allow_hex;
 * then the query text (up to the first NUL).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/version.h"
#include "fuzz_utf8_ref.h"
#include "parse.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
    abort(); } } while (0)

#define MAXP 64

struct pair {
    char *key, *val;
};

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

/* MHD_http_unescape: %XX with two hex digits is decoded, anything else kept;
 * the C string ends at a decoded %00, as the server sees it. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '%' && hexv((unsigned char)r[1]) >= 0 && hexv((unsigned char)r[2]) >= 0) {
            *w++ = (char)(hexv((unsigned char)r[1]) * 16 + hexv((unsigned char)r[2]));
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Splits text in place into pairs; returns how many (all of them, even
 * past QUERY_MAX, up to MAXP). */
static int split(char *text, struct pair *p)
{
    int n = 0;
    char *s = text;
    if (!*s)
        return 0;
    for (;;) {
        char *amp = strchr(s, '&'), *eq;
        if (amp)
            *amp = '\0';
        if (n < MAXP) {
            eq = strchr(s, '=');
            if (eq) {
                *eq = '\0';
                p[n].val = eq + 1;
                unescape(p[n].val);
            } else {
                p[n].val = NULL;
            }
            p[n].key = s;
            unescape(p[n].key);
            n++;
        }
        if (!amp)
            break;
        s = amp + 1;
    }
    return n;
}

/* Reference: strict canonical unsigned number via strtoull. */
static int ref_u64(const char *s, uint64_t max, int allow_hex, uint64_t *out)
{
    const char *d = s;
    int base = 10;
    unsigned long long v;
    char *end;

    if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        d = s + 2;
    }
    if (!*d)
        return -1;
    for (const char *c = d; *c; c++)
        if (base == 16 ? !isxdigit((unsigned char)*c) : !isdigit((unsigned char)*c))
            return -1;
    if (base == 10 && d[0] == '0' && d[1])
        return -1;
    errno = 0;
    v = strtoull(d, &end, base);
    if (errno == ERANGE || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int ref_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (!ref_utf8_valid((const unsigned char *)s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return n <= max;
}

/* Reference of query_problem: names in allowed, once each, with a value,
 * required present, at most QUERY_MAX parameters. */
static int ref_shape(const struct pair *p, int n, const char *const *allowed,
                     const char *const *required)
{
    if (n > QUERY_MAX)
        return 0;
    for (int i = 0; i < n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, p[i].key) == 0;
        if (!ok || !p[i].val)
            return 0;
        for (int j = 0; j < i; j++)
            if (strcmp(p[i].key, p[j].key) == 0)
                return 0;
    }
    for (; *required; required++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(p[i].key, *required) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

static const char *ref_get(const struct pair *p, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return p[i].val;
    return NULL;
}

static void check_msg(const char *bad, const char *buf, size_t n, const unsigned char *guard)
{
    FUZZ_ASSERT(bad == buf);
    FUZZ_ASSERT(memchr(buf, '\0', n) != NULL);
    FUZZ_ASSERT(n == 1 || buf[0] != '\0');
    for (size_t i = 0; i < 64; i++)
        FUZZ_ASSERT(guard[i] == 0xA5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const check_allowed[] = {"version", "secure_version", "enc", "base", NULL};
    static const char *const check_required[] = {"version", NULL};
    static const char *const chunk_allowed[] = {"chunk", "release", "enc", "base", NULL};
    static const char *const chunk_required[] = {"chunk", NULL};
    static const char *const stream_params[] = {"release", "from", NULL};
    static const char *const stream_allowed[] = {"release", "from", "enc", "base", NULL};
    struct pair p[MAXP];
    struct query q;
    unsigned char mem[256 + 64];
    char *buf = (char *)mem, *text;
    const char *bad;
    size_t n, off = 2;
    int mode, np, exp;

    if (size < 2)
        return 0;
    mode = data[0] & 3;
    n = (size_t)data[1] + 1;
    /* the message buffer is n bytes; the 64 after it must stay 0xA5 */
    memset(mem, 0xA5, sizeof mem);

    if (mode == 3) {
        uint64_t max = 0, got = 0, want = 0;
        int hex, rc, rrc;
        if (size < off + 9)
            return 0;
        for (int i = 0; i < 8; i++)
            max |= (uint64_t)data[off + i] << (8 * i);
        /* small maxima too: the digit test must not wrap */
        if (data[off + 7] & 0x80)
            max >>= (data[off + 7] & 63);
        hex = data[off + 8] & 1;
        off += 9;
        text = strndup((const char *)data + off, size - off);
        rc = parse_u64(text, max, hex, &got);
        rrc = ref_u64(text, max, hex, &want);
        FUZZ_ASSERT(rc == rrc);
        if (rc == 0)
            FUZZ_ASSERT(got == want && got <= max);
        FUZZ_ASSERT(parse_u64(NULL, max, hex, &got) == -1);
        free(text);
        return 0;
    }

    text = strndup((const char *)data + off, size - off);
    {
        char *copy = strdup(text);
        np = split(copy, p);
        /* what libmicrohttpd + collect_query give the server */
        memset(&q, 0, sizeof q);
        for (int i = 0; i < np; i++) {
            if (q.n == QUERY_MAX) {
                q.overflow = 1;
                break;
            }
            q.q[q.n].key = p[i].key;
            q.q[q.n].val = p[i].val;
            q.n++;
        }
        if (mode == 0) {
            const char *version = NULL;
            int has_sv = -1;
            uint32_t sv = 7;
            uint64_t rsv = 0;
            const char *rv = NULL, *rs = NULL;
            exp = ref_shape(p, np, check_allowed, check_required);
            if (exp) {
                rv = ref_get(p, np, "version");
                rs = ref_get(p, np, "secure_version");
                exp = ref_printable(rv, FOTA_VERSION_RUNNING_MAX) && (!rs || ref_u64(rs, UINT32_MAX, 0, &rsv) == 0);
            }
            bad = parse_check_query(&q, &version, &has_sv, &sv, buf, n);
            FUZZ_ASSERT((bad == NULL) == (exp != 0));
            if (!bad) {
                FUZZ_ASSERT(version && strcmp(version, rv) == 0);
                FUZZ_ASSERT(has_sv == (rs != NULL));
                FUZZ_ASSERT(!has_sv || sv == rsv);
            } else {
                check_msg(bad, buf, n, mem + n);
            }
        } else if (mode == 1) {
            uint32_t chunk = 0;
            int has_rel = -1;
            int64_t rel = -1;
            uint64_t rc = 0, rr = 0;
            const char *rcs, *rrs = NULL;
            exp = ref_shape(p, np, chunk_allowed, chunk_required);
            if (exp) {
                rcs = ref_get(p, np, "chunk");
                rrs = ref_get(p, np, "release");
                exp = ref_u64(rcs, UINT32_MAX, 0, &rc) == 0 &&
                      (!rrs || ref_u64(rrs, INT64_MAX, 0, &rr) == 0);
            }
            bad = parse_chunk_query(&q, &chunk, &has_rel, &rel, buf, n);
            FUZZ_ASSERT((bad == NULL) == (exp != 0));
            if (!bad) {
                FUZZ_ASSERT(chunk == rc);
                FUZZ_ASSERT(has_rel == (rrs != NULL));
                FUZZ_ASSERT(rel >= 0 && (uint64_t)rel == rr);
            } else {
                check_msg(bad, buf, n, mem + n);
            }
        } else {
            uint32_t rel = 1, from = 1;
            uint64_t rr = 0, rf = 0;
            exp = ref_shape(p, np, stream_allowed, stream_params) &&
                  ref_u64(ref_get(p, np, "release"), UINT32_MAX, 0, &rr) == 0 &&
                  ref_u64(ref_get(p, np, "from"), UINT32_MAX, 0, &rf) == 0;
            bad = parse_stream_query(&q, &rel, &from, buf, n);
            FUZZ_ASSERT((bad == NULL) == (exp != 0));
            if (!bad)
                FUZZ_ASSERT(rel == rr && from == rf);
            else
                check_msg(bad, buf, n, mem + n);
        }
        /* the generic check with no parameter allowed (status, admin GETs) */
        bad = query_problem(&q, NULL, NULL, buf, n);
        FUZZ_ASSERT((bad == NULL) == (np == 0));
        if (bad)
            check_msg(bad, buf, n, mem + n);
        free(copy);
    }
    free(text);
    return 0;
}
