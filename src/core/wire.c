/*
 * wire.c - streaming parsers for the v1 `chunk` and `check` answers and the
 * v2 stream, and the chunk HMAC formula (formats in wire.h). The parsers
 * only parse: a chunk is decoded straight into f->buf and handed back to
 * the caller with its index and received HMAC (fota_chunk_end, or
 * FOTA_V2_FRAME from fota_v2_feed); the engine verifies it before anything
 * is written (invariant 1). Nothing here calls into the engine.
 */
#include "wire.h"
#include "base64.h"
#include "json.h"
#include "le.h"

#define SEEN_NUMBER 0x01
#define SEEN_DATA   0x02
#define SEEN_HMAC   0x04

static int key_is(const char *key, const char *lit)
{
    while (*lit && *key == *lit) {
        key++;
        lit++;
    }
    return *key == '\0' && *lit == '\0';
}

/* Hex digits of a streamed string into out[32]; *n counts digits. */
static int hex_piece(const uint8_t *s, uint32_t len, uint8_t out[32], uint8_t *n)
{
    uint32_t i;
    for (i = 0; i < len; i++) {
        int v = fota_hexval(s[i]);
        if (v < 0 || *n >= 64)
            return FOTA_ERR_FIELD_TYPE;
        if ((*n & 1) == 0)
            out[*n / 2] = (uint8_t)(v << 4);
        else
            out[*n / 2] |= (uint8_t)v;
        (*n)++;
    }
    return FOTA_OK;
}

int fota_hex32(const char *hex, uint32_t len, uint8_t out[32])
{
    uint8_t n = 0;
    int rc;
    if (len != 64)
        return FOTA_ERR_FIELD_TYPE;
    rc = hex_piece((const uint8_t *)hex, len, out, &n);
    return rc ? rc : (n == 64 ? FOTA_OK : FOTA_ERR_FIELD_TYPE);
}

/* ---- chunk ---------------------------------------------------------------- */

void fota_chunk_begin(struct fota_chunk_state *s, uint32_t expect_len)
{
    fota_fill(s, 0, sizeof *s);
    fota_json_init(&s->json);
    fota_b64_init(&s->b64);
    s->expect_len = expect_len;
}

/* One member of the chunk answer. String fields arrive in pieces; the
 * field's bit is set on its final piece, so any piece for a field already
 * complete is a second occurrence of it. */
static int chunk_member(void *arg, const char *key, int ev, const uint8_t *str, uint32_t len,
                        int final, uint32_t num)
{
    struct fota *f = (struct fota *)arg;
    struct fota_chunk_state *s = &f->p.chunk;
    int rc = FOTA_OK;

    if (key_is(key, "chunk_number")) {
        if (ev != FOTA_JSON_NUM)
            return FOTA_ERR_FIELD_TYPE;
        if (s->seen & SEEN_NUMBER)
            return FOTA_ERR_FIELD_DUP;
        s->seen |= SEEN_NUMBER;
        s->number = num;
        return FOTA_OK;
    }
    if (key_is(key, "data")) {
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        if (s->seen & SEEN_DATA)
            return FOTA_ERR_FIELD_DUP;
        /* decoded straight into the chunk buffer, never past expect_len */
        if (len)
            rc = fota_b64_feed(&s->b64, str, len, f->buf, &s->data_len, s->expect_len);
        if (rc == FOTA_OK && final) {
            rc = fota_b64_finish(&s->b64);
            s->seen |= SEEN_DATA;
        }
        return rc;
    }
    if (key_is(key, "hmac")) {
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        if (s->seen & SEEN_HMAC)
            return FOTA_ERR_FIELD_DUP;
        rc = hex_piece(str, len, s->hmac, &s->hexn);
        if (rc == FOTA_OK && final) {
            if (s->hexn != 64)
                rc = FOTA_ERR_FIELD_TYPE;
            s->seen |= SEEN_HMAC;
        }
        return rc;
    }
    return FOTA_ERR_FIELD_UNKNOWN;
}

int fota_chunk_body(void *arg, const uint8_t *d, uint32_t n)
{
    struct fota *f = (struct fota *)arg;
    struct fota_chunk_state *s = &f->p.chunk;

    if (s->err)
        return s->err;
    if (f->http_status && *f->http_status != 200)
        return FOTA_OK; /* an error body: the status decides, not its text */
    if (n > FOTA_CHUNK_BODY_MAX - s->body_len) {
        s->err = FOTA_ERR_TOO_LARGE;
        return s->err;
    }
    s->body_len += n;
    s->err = fota_json_feed(&s->json, d, n, chunk_member, f);
    return s->err;
}

int fota_chunk_hmac(struct fota *f, const uint8_t sha256[32], uint32_t index,
                    const uint8_t *data, uint32_t len, uint8_t out[32])
{
    const struct fota_config *c = f->cfg;
    uint8_t pfx[FOTA_CHUNK_MAC_PREFIX_LEN];
    int rc;

    fota_chunk_mac_prefix(pfx, sha256, index);
    rc = c->hmac_start(c, f->hash.bytes, c->device_key, FOTA_KEY_LEN);
    if (!rc)
        rc = c->hmac_update(c, f->hash.bytes, pfx, sizeof pfx);
    if (!rc)
        rc = c->hmac_update(c, f->hash.bytes, data, len);
    if (!rc)
        rc = c->hmac_finish(c, f->hash.bytes, out);
    return rc;
}

int fota_chunk_end(struct fota *f)
{
    struct fota_chunk_state *s = &f->p.chunk;
    int rc;

    if (s->err)
        return s->err;
    rc = fota_json_finish(&s->json);
    if (rc)
        return rc;
    if ((s->seen & (SEEN_NUMBER | SEEN_DATA | SEEN_HMAC)) != (SEEN_NUMBER | SEEN_DATA | SEEN_HMAC))
        return FOTA_ERR_FIELD_MISSING;
    return FOTA_OK;
}

/* ---- v2 stream ------------------------------------------------------------ */

void fota_v2_begin(struct fota_v2_state *s)
{
    fota_fill(s, 0, sizeof *s);
}

int fota_v2_feed(struct fota *f, const uint8_t *d, uint32_t n, uint32_t *used)
{
    struct fota_v2_state *s = &f->p.v2;
    uint32_t i = 0, k;

    *used = 0;
    if (s->err)
        return s->err;
    while (i < n) {
        switch (s->stage) {
        case 0: /* stream header */
        case 1: /* frame header */
            k = s->stage ? FOTA_V2_FRAME_HDR : FOTA_V2_STREAM_HDR;
            while (s->pos < k && i < n)
                s->hdr[s->pos++ & 7u] = d[i++]; /* at most 8 header bytes */
            if (s->stage == 0 && s->pos == FOTA_V2_STREAM_HDR) {
                if (fota_le32(s->hdr) != fota_le32((const uint8_t *)FOTA_V2_MAGIC) ||
                    ((uint32_t)s->hdr[4] << 24 | (uint32_t)s->hdr[5] << 16 |
                     (uint32_t)s->hdr[6] << 8 | s->hdr[7]) != f->offer.chunk_size) {
                    s->err = FOTA_ERR_JSON; /* not a v2 stream of this release */
                    return s->err;
                }
                s->stage = 1;
                s->pos = 0;
            } else if (s->stage == 1 && s->pos == FOTA_V2_FRAME_HDR) {
                s->index = (uint32_t)s->hdr[0] << 24 | (uint32_t)s->hdr[1] << 16 |
                           (uint32_t)s->hdr[2] << 8 | s->hdr[3];
                s->len = (uint32_t)s->hdr[4] << 8 | s->hdr[5];
                if (s->len > FOTA_CHUNK_MAX || s->len > f->offer.chunk_size) {
                    s->err = FOTA_ERR_CHUNK_LEN;
                    return s->err;
                }
                s->stage = 2;
                s->pos = 0;
            }
            break;
        case 2: /* data, straight into the chunk buffer */
            k = s->len - s->pos < n - i ? s->len - s->pos : n - i;
            fota_copy(f->buf + s->pos, d + i, k);
            s->pos += k;
            i += k;
            if (s->pos == s->len) {
                s->stage = 3;
                s->pos = 0;
            }
            break;
        default: /* hmac */
            k = 32 - s->pos < n - i ? 32 - s->pos : n - i;
            fota_copy(s->hmac + s->pos, d + i, k);
            s->pos += k;
            i += k;
            if (s->pos == 32) {
                /* a whole frame: back to the caller, which verifies it
                 * before feeding the rest */
                s->stage = 1;
                s->pos = 0;
                *used = i;
                return FOTA_V2_FRAME;
            }
            break;
        }
    }
    *used = i;
    return FOTA_OK;
}

/* ---- check ---------------------------------------------------------------- */

#define C_UPDATE  0x01
#define C_RELEASE 0x02
#define C_VERSION 0x04
#define C_SIZE    0x08
#define C_CSIZE   0x10
#define C_TOTAL   0x20
#define C_SHA     0x40
#define C_MANIF   0x80
#define C_SIG     0x100
#define C_SECVER  0x200
#define C_DOWNGR  0x400
#define C_PROTO   0x800

void fota_check_begin(struct fota *f)
{
    fota_fill(&f->p.check, 0, sizeof f->p.check);
    fota_fill(&f->offer, 0, sizeof f->offer);
    fota_json_init(&f->p.check.json);
}

static int num_field(struct fota *f, uint16_t bit, int ev, uint32_t num, uint32_t *dst)
{
    if (ev != FOTA_JSON_NUM)
        return FOTA_ERR_FIELD_TYPE;
    if (f->p.check.seen & bit)
        return FOTA_ERR_FIELD_DUP;
    f->p.check.seen |= bit;
    *dst = num;
    return FOTA_OK;
}

/* A base64 string field of fixed decoded length (manifest, signature),
 * decoded as it streams into dst. */
static int b64_field(struct fota *f, uint16_t bit, int ev, const uint8_t *str, uint32_t len,
                     int final, uint8_t *dst, uint32_t want, uint8_t *have)
{
    int rc = FOTA_OK;
    if (ev != FOTA_JSON_STR)
        return FOTA_ERR_FIELD_TYPE;
    if (f->p.check.seen & bit)
        return FOTA_ERR_FIELD_DUP;
    if (!f->p.check.b64_len && !(f->p.check.seen & 0x8000)) {
        fota_b64_init(&f->p.check.b64);
        f->p.check.seen |= 0x8000; /* a base64 field is in progress */
    }
    if (len)
        rc = fota_b64_feed(&f->p.check.b64, str, len, dst, &f->p.check.b64_len, want);
    if (rc == FOTA_OK && final) {
        rc = fota_b64_finish(&f->p.check.b64);
        if (rc == FOTA_OK && f->p.check.b64_len != want)
            rc = FOTA_ERR_FIELD_TYPE;
        f->p.check.seen = (uint16_t)((f->p.check.seen | bit) & ~0x8000);
        f->p.check.b64_len = 0;
        *have = rc == FOTA_OK;
    }
    return rc == FOTA_ERR_CHUNK_LEN || rc == FOTA_ERR_BASE64 ? FOTA_ERR_FIELD_TYPE : rc;
}

#define C2_ENC   0x01
#define C2_PSIZE 0x02
#define C2_PSHA  0x04

/* "encoding": one of the three names, else a wrong value. */
static int enc_field(struct fota *f, int ev, const uint8_t *str, uint32_t len, int final)
{
    static const char *const names[] = {"full", "compressed", "delta"};
    uint32_t i, k;
    if (ev != FOTA_JSON_STR)
        return FOTA_ERR_FIELD_TYPE;
    if (f->p.check.seen2 & C2_ENC)
        return FOTA_ERR_FIELD_DUP;
    for (i = 0; i < len; i++) {
        if (f->p.check.encn >= sizeof f->p.check.enc)
            return FOTA_ERR_FIELD_TYPE;
        f->p.check.enc[f->p.check.encn++] = (char)str[i];
    }
    if (!final)
        return FOTA_OK;
    for (k = 0; k < 3; k++) {
        for (i = 0; i < f->p.check.encn && names[k][i] == f->p.check.enc[i]; i++)
            ;
        if (i == f->p.check.encn && !names[k][i]) {
            f->offer.encoding = (uint8_t)k;
            f->p.check.seen2 |= C2_ENC;
            return FOTA_OK;
        }
    }
    return FOTA_ERR_FIELD_TYPE;
}

static int check_member(void *arg, const char *key, int ev, const uint8_t *str, uint32_t len,
                        int final, uint32_t num)
{
    struct fota *f = (struct fota *)arg;
    struct fota_offer *o = &f->offer;
    uint32_t i;

    if (key_is(key, "update")) {
        if (ev != FOTA_JSON_TRUE && ev != FOTA_JSON_FALSE)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen & C_UPDATE)
            return FOTA_ERR_FIELD_DUP;
        f->p.check.seen |= C_UPDATE;
        o->update = ev == FOTA_JSON_TRUE;
        return FOTA_OK;
    }
    if (key_is(key, "release"))
        return num_field(f, C_RELEASE, ev, num, &o->release);
    if (key_is(key, "size"))
        return num_field(f, C_SIZE, ev, num, &o->size);
    if (key_is(key, "chunk_size"))
        return num_field(f, C_CSIZE, ev, num, &o->chunk_size);
    if (key_is(key, "total_chunks"))
        return num_field(f, C_TOTAL, ev, num, &o->total_chunks);
    if (key_is(key, "version")) {
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen & C_VERSION)
            return FOTA_ERR_FIELD_DUP;
        for (i = 0; i < len; i++) {
            if (f->p.check.vlen >= FOTA_VERSION_MAX)
                return FOTA_ERR_TOO_LARGE;
            if (str[i] < 0x20 || str[i] == 0x7F)
                return FOTA_ERR_FIELD_TYPE;
            o->version[f->p.check.vlen++] = (char)str[i];
        }
        o->version[f->p.check.vlen] = '\0';
        if (final)
            f->p.check.seen |= C_VERSION;
        return FOTA_OK;
    }
    if (key_is(key, "sha256")) {
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen & C_SHA)
            return FOTA_ERR_FIELD_DUP;
        if (hex_piece(str, len, o->sha256, &f->p.check.hexn))
            return FOTA_ERR_FIELD_TYPE;
        if (final) {
            if (f->p.check.hexn != 64)
                return FOTA_ERR_FIELD_TYPE;
            f->p.check.seen |= C_SHA;
        }
        return FOTA_OK;
    }
    if (key_is(key, "secure_version"))
        return num_field(f, C_SECVER, ev, num, &o->secure_version);
    if (key_is(key, "allow_downgrade")) {
        if (ev != FOTA_JSON_TRUE && ev != FOTA_JSON_FALSE)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen & C_DOWNGR)
            return FOTA_ERR_FIELD_DUP;
        f->p.check.seen |= C_DOWNGR;
        o->allow_downgrade = ev == FOTA_JSON_TRUE;
        return FOTA_OK;
    }
    if (key_is(key, "protocols")) {
        /* "v1,v2": a string, so a device needs no array parsing */
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        for (i = 0; i < len; i++) {
            uint8_t ch = str[i];
            if (f->p.check.vlen2 == 1 && (ch == '1' || ch == '2'))
                o->protocols |= ch == '1' ? FOTA_PROTO_V1 : FOTA_PROTO_V2;
            f->p.check.vlen2 = (uint8_t)(ch == 'v' ? 1 : 0);
        }
        if (final)
            f->p.check.seen |= C_PROTO;
        return FOTA_OK;
    }
    if (key_is(key, "manifest"))
        return b64_field(f, C_MANIF, ev, str, len, final, o->manifest, FOTA_MANIFEST_LEN,
                         &o->has_manifest);
    if (key_is(key, "signature"))
        return b64_field(f, C_SIG, ev, str, len, final, o->signature, FOTA_SIGNATURE_LEN,
                         &o->has_signature);
    if (key_is(key, "encoding")) /* "full", "compressed" or "delta" */
        return enc_field(f, ev, str, len, final);
    if (key_is(key, "patch_size")) {
        if (ev != FOTA_JSON_NUM)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen2 & C2_PSIZE)
            return FOTA_ERR_FIELD_DUP;
        f->p.check.seen2 |= C2_PSIZE;
        o->patch_size = num;
        return FOTA_OK;
    }
    if (key_is(key, "patch_sha256")) {
        if (ev != FOTA_JSON_STR)
            return FOTA_ERR_FIELD_TYPE;
        if (f->p.check.seen2 & C2_PSHA)
            return FOTA_ERR_FIELD_DUP;
        if (hex_piece(str, len, o->patch_sha256, &f->p.check.hexn2))
            return FOTA_ERR_FIELD_TYPE;
        if (final) {
            if (f->p.check.hexn2 != 64)
                return FOTA_ERR_FIELD_TYPE;
            f->p.check.seen2 |= C2_PSHA;
        }
        return FOTA_OK;
    }
    /* unknown: ignored, whatever its type (forward compatible) */
    return FOTA_OK;
}

int fota_check_body(void *arg, const uint8_t *d, uint32_t n)
{
    struct fota *f = (struct fota *)arg;

    if (f->p.check.err)
        return f->p.check.err;
    if (f->http_status && *f->http_status != 200)
        return FOTA_OK;
    if (n > FOTA_CHECK_BODY_MAX - f->p.check.body_len) {
        f->p.check.err = FOTA_ERR_TOO_LARGE;
        return f->p.check.err;
    }
    f->p.check.body_len += n;
    f->p.check.err = fota_json_feed(&f->p.check.json, d, n, check_member, f);
    return f->p.check.err;
}

int fota_check_end(struct fota *f)
{
    uint16_t all = C_UPDATE | C_RELEASE | C_VERSION | C_SIZE | C_CSIZE | C_TOTAL | C_SHA;
    int rc;

    if (f->p.check.err)
        return f->p.check.err;
    rc = fota_json_finish(&f->p.check.json);
    if (rc)
        return rc;
    if (!(f->p.check.seen & C_UPDATE))
        return FOTA_ERR_FIELD_MISSING;
    if (f->offer.update && (f->p.check.seen & all) != all)
        return FOTA_ERR_FIELD_MISSING;
    /* a patch: its size and hash come with it */
    if (f->offer.update && f->offer.encoding != FOTA_ENC_FULL &&
        (f->p.check.seen2 & (C2_PSIZE | C2_PSHA)) != (C2_PSIZE | C2_PSHA))
        return FOTA_ERR_FIELD_MISSING;
    return FOTA_OK;
}
