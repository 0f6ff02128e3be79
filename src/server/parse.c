/*
 * parse.c - pure parsing of queries, JSON bodies and base64 headers for the
 * handlers (see parse.h). No libmicrohttpd, no store, no logging: fuzzed as
 * is by fuzz/fuzz_srv_query.c and fuzz/fuzz_srv_status.c.
 */
#include "parse.h"
#include "fota/version.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <mbedtls/base64.h>

#include "fota/esp_image.h"

/* --- query ----------------------------------------------------------------- */

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

const char *query_problem(const struct query *q, const char *const *allowed,
                          const char *const *required, char *buf, size_t n)
{
    if (q->overflow) {
        snprintf(buf, n, "too many query parameters (at most %d)", QUERY_MAX);
        return buf;
    }
    if (q->nul) {
        /* "chunk=5%00junk" must not read as chunk 5 */
        snprintf(buf, n, "a query parameter contains a NUL byte (%%00)");
        return buf;
    }
    for (int i = 0; i < q->n; i++) {
        if (!in_list(q->q[i].key, allowed)) {
            snprintf(buf, n, "unknown query parameter \"%.40s\"", q->q[i].key);
            return buf;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(q->q[i].key, q->q[j].key) == 0) {
                snprintf(buf, n, "query parameter \"%.40s\" given more than once", q->q[i].key);
                return buf;
            }
        if (!q->q[i].val) {
            snprintf(buf, n, "query parameter \"%.40s\" has no value", q->q[i].key);
            return buf;
        }
    }
    for (; required && *required; required++)
        if (!query_get(q, *required)) {
            snprintf(buf, n, "missing query parameter \"%s\"", *required);
            return buf;
        }
    return NULL;
}

const char *query_get(const struct query *q, const char *key)
{
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->q[i].key, key) == 0)
            return q->q[i].val;
    return NULL;
}

int parse_u64(const char *s, uint64_t max, int allow_hex, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;

    if (!s || !*s)
        return -1;
    if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return -1;
    } else if (s[0] == '0' && s[1]) {
        return -1; /* "007": not the canonical form */
    }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        /* v * base + d <= max; d > max first, or max - d wraps around */
        if (d > max || v > (max - d) / base)
            return -1;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

int parse_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

const char *parse_check_query(const struct query *q, const char **version, int *has_sv,
                              uint32_t *secure_version, char *buf, size_t n)
{
    static const char *const allowed[] = {"version", "secure_version", NULL};
    static const char *const required[] = {"version", NULL};
    const char *bad, *svs;
    uint64_t sv = 0;

    if ((bad = query_problem(q, allowed, required, buf, n)))
        return bad;
    *version = query_get(q, "version");
    /* a device reports at most its esp_app_desc_t.version (32 bytes) */
    if (!parse_printable(*version, FOTA_VERSION_RUNNING_MAX)) {
        snprintf(buf, n, "version must be at most %u printable characters (a device's "
                 "esp_app_desc_t.version), got %zu", FOTA_VERSION_RUNNING_MAX, strlen(*version));
        return buf;
    }
    svs = query_get(q, "secure_version");
    if (svs && parse_u64(svs, UINT32_MAX, 0, &sv) < 0) {
        snprintf(buf, n, "secure_version must be a decimal number 0..4294967295, got \"%.40s\"",
                 svs);
        return buf;
    }
    *has_sv = svs != NULL;
    *secure_version = (uint32_t)sv;
    return NULL;
}

const char *parse_chunk_query(const struct query *q, uint32_t *chunk, int *has_release,
                              int64_t *release, char *buf, size_t n)
{
    static const char *const allowed[] = {"chunk", "release", NULL};
    static const char *const required[] = {"chunk", NULL};
    const char *bad, *rs;
    uint64_t v, rid = 0;

    if ((bad = query_problem(q, allowed, required, buf, n)))
        return bad;
    if (parse_u64(query_get(q, "chunk"), UINT32_MAX, 0, &v) < 0) {
        snprintf(buf, n, "chunk must be a decimal number 0..4294967295, got \"%.40s\"",
                 query_get(q, "chunk"));
        return buf;
    }
    rs = query_get(q, "release");
    if (rs && parse_u64(rs, INT64_MAX, 0, &rid) < 0) {
        snprintf(buf, n, "release must be a decimal release id, got \"%.40s\"", rs);
        return buf;
    }
    *chunk = (uint32_t)v;
    *has_release = rs != NULL;
    *release = (int64_t)rid;
    return NULL;
}

const char *parse_stream_query(const struct query *q, uint32_t *release, uint32_t *from,
                               char *buf, size_t n)
{
    static const char *const params[] = {"release", "from", NULL};
    const char *bad;
    uint64_t rid, f;

    if ((bad = query_problem(q, params, params, buf, n)))
        return bad;
    if (parse_u64(query_get(q, "release"), UINT32_MAX, 0, &rid) < 0) {
        snprintf(buf, n, "release must be a decimal number 0..4294967295, got \"%.40s\"",
                 query_get(q, "release"));
        return buf;
    }
    if (parse_u64(query_get(q, "from"), UINT32_MAX, 0, &f) < 0) {
        snprintf(buf, n, "from must be a decimal number 0..4294967295, got \"%.40s\"",
                 query_get(q, "from"));
        return buf;
    }
    *release = (uint32_t)rid;
    *from = (uint32_t)f;
    return NULL;
}

/* --- JSON bodies ------------------------------------------------------------ */

const char *const parse_states[] = {"downloading", "verifying", "installed",
                                    "confirmed",   "failed",    "rolled_back", NULL};

/* A JSON object from body, or NULL with the message in buf. A repeated key
 * is refused (JSON_REJECT_DUPLICATES). */
static json_t *load_object(const char *body, size_t len, char *buf, size_t n)
{
    json_error_t jerr;
    json_t *o = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(buf, n, "malformed JSON body: %s (line %d column %d)", jerr.text, jerr.line,
                 jerr.column);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(buf, n, "body must be a JSON object");
        return NULL;
    }
    return o;
}

/* First key of o not in allowed, or NULL. */
static const char *unknown_field(json_t *o, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        (void)v;
        if (!in_list(key, allowed))
            return key;
    }
    return NULL;
}

const char *parse_status_body(const char *body, size_t len, struct store_status *st,
                              char *buf, size_t n)
{
    static const char *const fields[] = {"release", "state", "chunks_received", "error", NULL};
    const char *key;
    json_t *o, *v;
    int i;

    memset(st, 0, sizeof *st);
    if (!(o = load_object(body, len, buf, n)))
        return buf;
    if ((key = unknown_field(o, fields))) {
        snprintf(buf, n, "unknown field \"%.40s\" (expected release, state, chunks_received, "
                 "error)", key);
        goto bad;
    }
    for (i = 0; fields[i]; i++)
        if (!json_object_get(o, fields[i])) {
            snprintf(buf, n, "missing field \"%s\"", fields[i]);
            goto bad;
        }
    v = json_object_get(o, "release");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        snprintf(buf, n, "release must be a positive integer");
        goto bad;
    }
    st->release = json_integer_value(v);
    v = json_object_get(o, "state");
    for (i = 0; json_is_string(v) && parse_states[i] &&
                strcmp(parse_states[i], json_string_value(v)) != 0;
         i++)
        ;
    if (!json_is_string(v) || !parse_states[i]) {
        snprintf(buf, n, "state must be one of downloading, verifying, installed, confirmed, "
                 "failed, rolled_back");
        goto bad;
    }
    snprintf(st->state, sizeof st->state, "%s", parse_states[i]);
    v = json_object_get(o, "chunks_received");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(buf, n, "chunks_received must be an integer >= 0");
        goto bad;
    }
    st->chunks_received = json_integer_value(v);
    v = json_object_get(o, "error");
    if (!json_is_string(v) || !parse_printable(json_string_value(v), STORE_ERROR_MAX)) {
        snprintf(buf, n, "error must be a string of at most %d printable characters",
                 STORE_ERROR_MAX);
        goto bad;
    }
    snprintf(st->error, sizeof st->error, "%s", json_string_value(v));
    json_decref(o);
    return NULL;
bad:
    json_decref(o);
    memset(st, 0, sizeof *st);
    return buf;
}

const char *parse_device_body(const char *body, size_t len, char id[DEVICE_ID_MAX + 1],
                              int *chip, char *buf, size_t n)
{
    static const char *const allowed[] = {"id", "chip", NULL};
    const char *key, *sid, *chip_name = "esp32";
    json_t *o, *v;
    int c;

    if (!(o = load_object(body, len, buf, n)))
        return buf;
    if ((key = unknown_field(o, allowed))) {
        snprintf(buf, n, "unknown field \"%.40s\" (expected id, chip)", key);
        goto bad;
    }
    sid = json_string_value(json_object_get(o, "id"));
    if (!keys_valid_device_id(sid)) {
        snprintf(buf, n, "id must be a string of 1-64 characters of [A-Za-z0-9._-]");
        goto bad;
    }
    v = json_object_get(o, "chip");
    if (v)
        chip_name = json_string_value(v);
    c = chip_name ? fota_chip_from_name(chip_name) : -1;
    if (c < 0) {
        snprintf(buf, n,
                 "unknown chip \"%.40s\" (expected esp32, esp32s2, esp32s3, esp32c3, esp32c2, "
                 "esp32c6 or esp32h2)",
                 chip_name ? chip_name : "(not a string)");
        goto bad;
    }
    snprintf(id, DEVICE_ID_MAX + 1, "%s", sid);
    *chip = c;
    json_decref(o);
    return NULL;
bad:
    json_decref(o);
    return buf;
}

/* --- base64 headers ----------------------------------------------------------- */

int parse_b64_exact(const char *text, uint8_t *out, size_t n)
{
    uint8_t tmp[200];
    size_t olen = 0, len = strlen(text);

    if (n > 150 || len != 4 * ((n + 2) / 3) ||
        mbedtls_base64_decode(tmp, sizeof tmp, &olen, (const unsigned char *)text, len) != 0 ||
        olen != n)
        return -1;
    memcpy(out, tmp, n);
    return 0;
}
