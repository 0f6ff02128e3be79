/*
 * fuzz_srv_status.c - libFuzzer harness for the server's JSON bodies
 * (src/server/parse.c): the device status body (parse_status_body, behind
 * POST /api/inverter/fota/status) and the admin device body
 * (parse_device_body, behind POST /api/admin/devices).
 *
 * Two modes:
 *  raw (byte 0 bit 0 = 0): the rest is the body as sent. Accepted => release
 *    > 0, state one of the six, chunks_received >= 0, error <= 128 bytes
 *    without control characters, the body is an object of exactly 4 members
 *    that jansson also loads with JSON_REJECT_DUPLICATES; re-encoding the
 *    decoded values with jansson and parsing again gives the same values.
 *    A body that jansson loads without the flag but not with it (a repeated
 *    key) is refused: documented behaviour (docs/server.md, "exactly those
 *    four fields"). The device body, fed the same bytes: accepted => the id
 *    is 1-64 of [A-Za-z0-9._-] and the chip a known name.
 *  structured (bit 0 = 1): the harness writes the JSON text itself from
 *    fuzzer-chosen members: one of the four keys, an unknown key, or a known
 *    key spelled with a \u escape (a duplicate after decoding), and values
 *    of every JSON type (integers of any int64 value, reals, out-of-range
 *    integers, strings with control characters, near-miss states). A
 *    reference model computes the verdict; the parser must agree both ways
 *    and decode the same values.
 * Any refusal: the message is the caller's buffer, NUL-terminated, non-empty,
 * and the status struct is left zeroed.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fota/esp_image.h"
#include "parse.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
    abort(); } } while (0)

static const char *const known[] = {"release", "state", "chunks_received", "error"};
static const char *const spelled[] = {"rel\\u0065ase", "st\\u0061te", "chunks_r\\u0065ceived",
                                      "\\u0065rror"};
static const char *const near_states[] = {"Failed", "failed ", "rolled-back", "", "confirm",
                                          "installedx", "downloading\\u0000"};

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_accepted(const struct store_status *st)
{
    int i;
    FUZZ_ASSERT(st->release > 0);
    FUZZ_ASSERT(st->chunks_received >= 0);
    for (i = 0; parse_states[i] && strcmp(parse_states[i], st->state) != 0; i++)
        ;
    FUZZ_ASSERT(i < 6 && parse_states[i]);
    FUZZ_ASSERT(memchr(st->error, '\0', sizeof st->error));
    FUZZ_ASSERT(strlen(st->error) <= STORE_ERROR_MAX);
    for (const char *c = st->error; *c; c++)
        FUZZ_ASSERT((unsigned char)*c >= 0x20 && (unsigned char)*c != 0x7f);
}

/* Re-encode what was decoded and parse it again: same values. */
static void roundtrip(const struct store_status *st)
{
    struct store_status st2;
    char buf[PARSE_MSG_MAX];
    json_t *o = json_pack("{s:I, s:s, s:I, s:s}", "release", (json_int_t)st->release, "state",
                          st->state, "chunks_received", (json_int_t)st->chunks_received,
                          "error", st->error);
    char *txt;
    FUZZ_ASSERT(o);
    txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    FUZZ_ASSERT(txt);
    FUZZ_ASSERT(parse_status_body(txt, strlen(txt), &st2, buf, sizeof buf) == NULL);
    FUZZ_ASSERT(st2.release == st->release && st2.chunks_received == st->chunks_received);
    FUZZ_ASSERT(strcmp(st2.state, st->state) == 0 && strcmp(st2.error, st->error) == 0);
    free(txt);
}

static void check_refused(const char *bad, const char *buf, size_t n,
                          const struct store_status *st)
{
    FUZZ_ASSERT(bad == buf);
    FUZZ_ASSERT(memchr(buf, '\0', n) && buf[0]);
    FUZZ_ASSERT(is_zero(st, sizeof *st));
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void raw_mode(const uint8_t *d, size_t n)
{
    struct store_status st;
    char buf[PARSE_MSG_MAX], id[DEVICE_ID_MAX + 1];
    const char *bad;
    json_error_t jerr;
    json_t *lax, *strict;
    int chip = -1;

    memset(&st, 0xEE, sizeof st);
    bad = parse_status_body((const char *)d, n, &st, buf, sizeof buf);
    lax = json_loadb((const char *)d, n, 0, &jerr);
    strict = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, &jerr);
    if (lax && !strict) /* a repeated key: documented as refused */
        FUZZ_ASSERT(bad);
    if (!bad) {
        check_accepted(&st);
        FUZZ_ASSERT(strict && json_is_object(strict) && json_object_size(strict) == 4);
        roundtrip(&st);
    } else {
        check_refused(bad, buf, sizeof buf, &st);
    }
    json_decref(lax);
    json_decref(strict);

    memset(id, 0xEE, sizeof id);
    bad = parse_device_body((const char *)d, n, id, &chip, buf, sizeof buf);
    if (!bad) {
        FUZZ_ASSERT(memchr(id, '\0', sizeof id) && valid_id(id));
        FUZZ_ASSERT(chip >= 0 && strcmp(fota_chip_name(chip), "unknown") != 0);
        FUZZ_ASSERT(fota_chip_from_name(fota_chip_name(chip)) == chip);
    } else {
        FUZZ_ASSERT(bad == buf && memchr(buf, '\0', sizeof buf) && buf[0]);
    }
}

/* --- structured mode -------------------------------------------------------- */

struct rd {
    const uint8_t *d;
    size_t n, i;
};
static unsigned get(struct rd *r)
{
    return r->i < r->n ? r->d[r->i++] : 0;
}

struct text {
    char s[16384];
    size_t n;
};
static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->n += (size_t)k < sizeof t->s - t->n ? (size_t)k : sizeof t->s - t->n - 1;
}

/* What the model knows about one value. */
enum vkind { V_INT, V_REAL, V_STR, V_BOOL, V_NULL, V_BIGINT, V_BADSTR };
struct val {
    enum vkind k;
    long long i;
    char s[300]; /* decoded string */
};

/* Writes a JSON string from fuzzer bytes (ASCII; control characters and
 * quotes escaped); *has_nul when it holds \u0000 (jansson refuses that). */
static void gen_string(struct rd *r, struct text *t, struct val *v)
{
    unsigned len = get(r) % 160, sel = get(r);
    size_t o = 0;
    int nul = 0;
    if (sel < 64) { /* a state or a near miss */
        const char *s = sel < 48 ? parse_states[sel % 6] : near_states[sel % 7];
        put(t, "\"%s\"", s);
        if (strstr(s, "\\u0000")) {
            v->k = V_BADSTR;
            return;
        }
        snprintf(v->s, sizeof v->s, "%s", s);
        v->k = V_STR;
        return;
    }
    put(t, "\"");
    for (unsigned j = 0; j < len; j++) {
        unsigned c = get(r) & 0x7f;
        if (c == 0)
            nul = 1;
        if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(t, "\\u%04x", c);
        else
            put(t, "%c", c);
        if (o < sizeof v->s - 1)
            v->s[o++] = (char)c;
    }
    v->s[o] = '\0';
    put(t, "\"");
    v->k = nul ? V_BADSTR : V_STR;
}

static void gen_value(struct rd *r, struct text *t, struct val *v)
{
    unsigned kind = get(r) % 8;
    uint64_t u = 0;
    memset(v, 0, sizeof *v);
    switch (kind) {
    case 0:
    case 1: /* small integers, often in range */
        v->k = V_INT;
        v->i = (long long)(int8_t)get(r);
        put(t, "%lld", v->i);
        break;
    case 2: /* any int64 */
        for (int j = 0; j < 8; j++)
            u |= (uint64_t)get(r) << (8 * j);
        v->k = V_INT;
        v->i = (long long)u;
        put(t, "%lld", v->i);
        break;
    case 3:
        v->k = V_REAL;
        put(t, get(r) & 1 ? "%u.0" : "%ue2", get(r));
        break;
    case 4:
        gen_string(r, t, v);
        break;
    case 5:
        v->k = V_BOOL;
        put(t, get(r) & 1 ? "true" : "false");
        break;
    case 6:
        v->k = V_NULL;
        put(t, get(r) & 1 ? "null" : "[1]");
        break;
    default: /* past int64: jansson refuses the whole body */
        v->k = V_BIGINT;
        put(t, "%s9223372036854775808", get(r) & 1 ? "-1" : "");
        break;
    }
}

static void structured_mode(const uint8_t *d, size_t n)
{
    struct rd r = {d, n, 0};
    struct text *t = calloc(1, sizeof *t);
    struct val *vals = calloc(8, sizeof *vals);
    struct store_status st;
    char buf[PARSE_MSG_MAX];
    const char *bad;
    int count[4] = {0}, slot[4] = {-1, -1, -1, -1}, unknown = 0, broken = 0, exp;
    unsigned members = get(&r) % 8;

    put(t, "%s{", get(&r) & 1 ? " " : "");
    for (unsigned m = 0; m < members; m++) {
        unsigned ks = get(&r) % 10;
        if (m)
            put(t, ",");
        if (ks < 4) {
            put(t, "\"%s\":", known[ks]);
        } else if (ks < 6) {
            ks = get(&r) % 4; /* same key, escaped: equal once decoded */
            put(t, "\"%s\":", spelled[ks]);
        } else {
            put(t, "\"%s\":", ks == 6 ? "Release" : ks == 7 ? "state " : ks == 8 ? "" : "extra");
            unknown = 1;
            ks = 99;
        }
        if (ks < 4) {
            count[ks]++;
            slot[ks] = (int)m;
        }
        gen_value(&r, t, &vals[m]);
        if (vals[m].k == V_BIGINT || vals[m].k == V_BADSTR)
            broken = 1;
    }
    put(t, "}");

    /* the model: parse errors first, then duplicates, unknown, missing, types */
    exp = !broken && !unknown;
    for (int k = 0; k < 4; k++)
        exp = exp && count[k] == 1;
    if (exp) {
        const struct val *rel = &vals[slot[0]], *sta = &vals[slot[1]], *chk = &vals[slot[2]],
                         *err = &vals[slot[3]];
        int st_ok = 0;
        for (int i = 0; sta->k == V_STR && parse_states[i]; i++)
            st_ok |= strcmp(parse_states[i], sta->s) == 0;
        exp = rel->k == V_INT && rel->i > 0 && st_ok && chk->k == V_INT && chk->i >= 0 &&
              err->k == V_STR && strlen(err->s) <= STORE_ERROR_MAX;
        for (const char *c = err->s; exp && *c; c++)
            exp = (unsigned char)*c >= 0x20 && *c != 0x7f;
    }

    memset(&st, 0xEE, sizeof st);
    bad = parse_status_body(t->s, t->n, &st, buf, sizeof buf);
    if ((bad == NULL) != (exp != 0))
        fprintf(stderr, "body: %s\nserver: %s\nmodel: %s\n", t->s, bad ? bad : "accepted",
                exp ? "accept" : "refuse");
    FUZZ_ASSERT((bad == NULL) == (exp != 0));
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace srv_status: %s -> %s\n", t->s, bad ? bad : "accepted");
#endif
    if (!bad) {
        check_accepted(&st);
        FUZZ_ASSERT(st.release == vals[slot[0]].i);
        FUZZ_ASSERT(strcmp(st.state, vals[slot[1]].s) == 0);
        FUZZ_ASSERT(st.chunks_received == vals[slot[2]].i);
        FUZZ_ASSERT(strcmp(st.error, vals[slot[3]].s) == 0);
        roundtrip(&st);
    } else {
        check_refused(bad, buf, sizeof buf, &st);
    }
    free(vals);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        structured_mode(data + 1, size - 1);
    else
        raw_mode(data + 1, size - 1);
    return 0;
}
