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
#include "keys.h"
#include "utf8.h"

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
    if (q->bad_utf8) {
        /* stored (version) or echoed (messages): text is UTF-8 or refused */
        snprintf(buf, n, "a query parameter is not valid UTF-8");
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

void query_add(struct query *q, const char *key, size_t key_size, const char *val,
               size_t val_size)
{
    /* the sizes tell what C strings hide: an embedded NUL from %00 */
    if (strlen(key) != key_size || (val && strlen(val) != val_size))
        q->nul = 1;
    else if (!utf8_valid(key, key_size) || (val && !utf8_valid(val, val_size)))
        q->bad_utf8 = 1;
    if (q->n == QUERY_MAX) {
        q->overflow = 1;
        return;
    }
    q->q[q->n].key = key;
    q->q[q->n].val = val;
    q->n++;
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
    if (n > max || !utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

const char *parse_check_query(const struct query *q, const char **version, int *has_sv,
                              uint32_t *secure_version, char *buf, size_t n)
{
    static const char *const allowed[] = {"version", "secure_version", "enc", "base", NULL};
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
    static const char *const allowed[] = {"chunk", "release", "enc", "base", NULL};
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
    static const char *const allowed[] = {"release", "from", "enc", "base", NULL};
    const char *bad;
    uint64_t rid, f;

    if ((bad = query_problem(q, allowed, params, buf, n)))
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

const char *parse_enc_query(const struct query *q, int multi, unsigned *mask, uint8_t base[32],
                            int *has_base, char *buf, size_t n)
{
    static const char *const names[] = {"full", "compressed", "delta"};
    const char *e = query_get(q, "enc"), *b = query_get(q, "base"), *p;
    unsigned k;

    *mask = 0;
    *has_base = 0;
    for (p = e; p && *p;) {
        size_t len = strcspn(p, ",");
        for (k = 1; k < 3; k++)
            if (strlen(names[k]) == len && !strncmp(p, names[k], len))
                break;
        if (k == 3 || (*mask & (1u << k)) || (!multi && *mask)) {
            snprintf(buf, n, "enc must be %s, got \"%.40s\"",
                     multi ? "a list of compressed and delta" : "compressed or delta", e);
            return buf;
        }
        *mask |= 1u << k;
        p += len;
        if (*p == ',' && *++p == '\0') {
            snprintf(buf, n, "enc must not end with a comma");
            return buf;
        }
    }
    if (e && !*mask) {
        snprintf(buf, n, "enc must not be empty");
        return buf;
    }
    if (b) {
        if (strlen(b) != 64 || strspn(b, "0123456789abcdef") != 64 || keys_unhex(b, base, 32) < 0) {
            snprintf(buf, n, "base must be 64 lowercase hex digits (the running image's appended "
                     "SHA-256), got \"%.70s\"", b);
            return buf;
        }
        *has_base = 1;
    }
    if (!multi && (*mask & (1u << 2)) && !b) {
        snprintf(buf, n, "enc=delta needs base=");
        return buf;
    }
    if (b && !(*mask & (1u << 2))) {
        snprintf(buf, n, "base is only for enc=delta");
        return buf;
    }
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
        snprintf(buf, n, "id must be a string of 1-64 characters of [A-Za-z0-9._-], not starting "
                 "with '.'");
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

/* --- framing and headers ------------------------------------------------------- */

const char *parse_raw_target(const char *uri, char *buf, size_t n)
{
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri), params = 0;

    for (size_t i = 0; i + 2 < plen; i++) {
        if (uri[i] != '%')
            continue;
        if ((uri[i + 1] == '2' && (uri[i + 2] == 'F' || uri[i + 2] == 'f'))) {
            snprintf(buf, n, "the path holds an encoded '/' (%%2F): routes are matched on the "
                     "path as sent");
            return buf;
        }
        if (uri[i + 1] == '0' && uri[i + 2] == '0') {
            snprintf(buf, n, "the path holds an encoded NUL (%%00)");
            return buf;
        }
    }
    if (q) {
        for (const char *p = q + 1; *p && *p != '#'; p++)
            if (*p == '&')
                params++;
        params++;
        if (params > QUERY_MAX) {
            snprintf(buf, n, "too many query parameters (at most %d)", QUERY_MAX);
            return buf;
        }
    }
    return NULL;
}

void header_scan_init(struct header_scan *hs)
{
    memset(hs, 0, sizeof *hs);
}

static int has_ctl(const char *s, size_t len, int allow_tab)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
            return 1;
    }
    return 0;
}

static int token_eq(const char *s, size_t len, const char *word)
{
    size_t w = strlen(word);
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len == w && strncasecmp(s, word, w) == 0;
}

static void header_bad(struct header_scan *hs, const char *name, size_t name_len,
                       const char *what)
{
    size_t k = name_len < sizeof hs->bad_name - 1 ? name_len : sizeof hs->bad_name - 1;
    if (hs->bad)
        return;
    hs->bad = 1;
    hs->bad_what = what;
    memcpy(hs->bad_name, name, k);
    hs->bad_name[k] = '\0';
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)hs->bad_name[i] < 0x20 || hs->bad_name[i] == 0x7f)
            hs->bad_name[i] = '?';
    utf8_sanitize(hs->bad_name);
}

void header_scan_cut(struct header_scan *hs, const char *name, size_t name_len)
{
    header_bad(hs, name, name_len, "its line holds a NUL byte or does not end in CRLF");
}

void header_scan_feed(struct header_scan *hs, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    const char *what = NULL;

    if (!value)
        value = "", value_len = 0;
    if (has_ctl(name, name_len, 0) || !utf8_valid(name, name_len))
        what = "its name holds a control byte or is not UTF-8";
    else if (has_ctl(value, value_len, 1))
        what = memchr(value, 0, value_len) ? "its value holds a NUL byte"
                                           : "its value holds a control byte";
    else if (!utf8_valid(value, value_len))
        what = "its value is not valid UTF-8";
    if (what)
        header_bad(hs, name, name_len, what);
    if (token_eq(name, name_len, "Content-Length")) {
        char v[sizeof hs->cl_first];
        size_t k = value_len < sizeof v - 1 ? value_len : sizeof v - 1;
        memcpy(v, value, k);
        v[k] = '\0';
        if (hs->n_cl++ == 0)
            memcpy(hs->cl_first, v, sizeof v);
        else if (strcmp(v, hs->cl_first) != 0 || value_len >= sizeof v - 1)
            hs->cl_differ = 1;
    } else if (token_eq(name, name_len, "Transfer-Encoding")) {
        hs->te_chunked = hs->has_te ? 0 : token_eq(value, value_len, "chunked");
        hs->has_te = 1;
    }
}

const char *header_scan_verdict(const struct header_scan *hs, char *buf, size_t n)
{
    if (hs->bad) {
        snprintf(buf, n, "header \"%s\" is refused: %s", hs->bad_name, hs->bad_what);
        return buf;
    }
    if (hs->has_te && hs->n_cl) {
        snprintf(buf, n, "Transfer-Encoding and Content-Length together: the body's length "
                 "is ambiguous");
        return buf;
    }
    if (hs->cl_differ) {
        snprintf(buf, n, "Content-Length given twice with different values");
        return buf;
    }
    if (hs->has_te && !hs->te_chunked) {
        snprintf(buf, n, "Transfer-Encoding other than a single \"chunked\" is not supported");
        return buf;
    }
    return NULL;
}
