/*
 * v1source.c - in-process v1 update source (see v1source.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/base64.h>
#include "fota/wire.h"
#include "posix_port.h"
#include "v1source.h"

void v1_source_init(struct v1_source *src, const uint8_t *image, uint32_t size,
                    uint32_t release, const char *version, const char *device_id,
                    const uint8_t key[32])
{
    memset(src, 0, sizeof *src);
    src->image = image;
    src->size = size;
    src->chunk_size = 1024;
    src->release = release;
    snprintf(src->version, sizeof src->version, "%s", version ? version : "");
    snprintf(src->device_id, sizeof src->device_id, "%s", device_id ? device_id : "");
    memcpy(src->key, key, 32);
    fota_posix_sha256(image, size, src->sha256);
    src->offer = 1;
    src->first_chunk = -1;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static const char *header(const struct fota_http_header *h, unsigned nh, const char *name)
{
    unsigned i;
    for (i = 0; i < nh; i++)
        if (!strcasecmp(h[i].name, name))
            return h[i].value;
    return NULL;
}

/* The token is HMAC(key, "token:" + id); the source computes it when the
 * key or id changes, as the real server caches it per device. */
static int authorized(struct v1_source *src, const struct fota_http_header *h, unsigned nh)
{
    const char *id = header(h, nh, "X-Device-Id"), *tok = header(h, nh, "X-Device-Token");
    char msg[96];
    uint8_t mac[32];
    if (!id || !tok || strcmp(id, src->device_id))
        return 0;
    if (!src->token[0] || memcmp(src->token_key, src->key, 32) || strcmp(src->token_id, id)) {
        snprintf(msg, sizeof msg, "token:%s", id);
        fota_posix_hmac(src->key, 32, (const uint8_t *)msg, strlen(msg), mac);
        hex(mac, 32, src->token);
        memcpy(src->token_key, src->key, 32);
        snprintf(src->token_id, sizeof src->token_id, "%s", id);
    }
    return strlen(tok) == 64 && !strcmp(tok, src->token);
}

/* What a request's chunks carry: the image, or with enc= the patch. */
struct view {
    const uint8_t *data;
    uint32_t size;
    const uint8_t *sha;
};

static int query_has(const char *q, const char *name, const char *val);

static struct view view_of(const struct v1_source *src, const char *q)
{
    struct view v = {src->image, src->size, src->sha256};
    if (src->patch && q && (query_has(q, "enc", "compressed") || query_has(q, "enc", "delta"))) {
        v.data = src->patch;
        v.size = src->patch_size;
        v.sha = src->patch_sha256;
    }
    return v;
}

void v1_source_set_patch(struct v1_source *src, const uint8_t *patch, uint32_t size, int enc,
                         const uint8_t base[32])
{
    src->patch = patch;
    src->patch_size = size;
    src->patch_enc = (uint8_t)enc;
    fota_posix_sha256(patch, size, src->patch_sha256);
    memset(src->patch_base, 0, 32);
    if (base)
        memcpy(src->patch_base, base, 32);
}

static size_t chunk_body_of(const struct v1_source *src, struct view v, uint32_t n, char *out,
                            size_t cap)
{
    uint32_t off = n * src->chunk_size;
    uint32_t len = v.size - off < src->chunk_size ? v.size - off : src->chunk_size;
    uint8_t msg[FOTA_CHUNK_MAC_PREFIX_LEN + 4096], mac[32];
    unsigned char b64[4096 * 4 / 3 + 8];
    size_t blen = 0;
    char mhex[65];

    fota_chunk_mac_prefix(msg, v.sha, n);
    memcpy(msg + FOTA_CHUNK_MAC_PREFIX_LEN, v.data + off, len);
    fota_posix_hmac(src->key, 32, msg, FOTA_CHUNK_MAC_PREFIX_LEN + len, mac);
    hex(mac, 32, mhex);
    mbedtls_base64_encode(b64, sizeof b64, &blen, v.data + off, len);
    return (size_t)snprintf(out, cap, "{\"chunk_number\": %u, \"data\": \"%.*s\", \"hmac\": \"%s\"}",
                            n, (int)blen, b64, mhex);
}

size_t v1_chunk_body(const struct v1_source *src, uint32_t n, char *out, size_t cap)
{
    struct view v = {src->image, src->size, src->sha256};
    return chunk_body_of(src, v, n, out, cap);
}

static int deliver(struct v1_source *src, long chunk, char *body, size_t len, size_t cap,
                   int *status, fota_body_fn on_body, void *arg)
{
    size_t off = 0, piece;
    int rc;
    if (src->mutate)
        src->mutate(src->mutate_arg, chunk, body, &len, cap, status);
    if (*status == 0)
        return FOTA_ERR_NET; /* the mutator dropped the connection */
    piece = src->piece ? src->piece : len;
    while (off < len) {
        size_t n = len - off < piece ? len - off : piece;
        rc = on_body(arg, (const uint8_t *)body + off, (uint32_t)n);
        if (rc)
            return rc;
        off += n;
    }
    return FOTA_OK;
}

static int query_u32(const char *q, const char *name, uint32_t *out)
{
    size_t nl = strlen(name);
    const char *p = q;
    char *end;
    unsigned long v;
    while (p && *p) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            v = strtoul(p + nl + 1, &end, 10);
            if (end == p + nl + 1 || (*end && *end != '&') || v > 0xFFFFFFFFul)
                return 0;
            *out = (uint32_t)v;
            return 1;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return 0;
}

/* Whether the query's name= list (comma separated) holds val. */
static int query_has(const char *q, const char *name, const char *val)
{
    size_t nl = strlen(name), vl = strlen(val);
    const char *p = q;
    while (p && *p) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            while (*v && *v != '&') {
                if (!strncmp(v, val, vl) && (v[vl] == ',' || v[vl] == '&' || !v[vl]))
                    return 1;
                v += strcspn(v, ",&");
                if (*v == ',')
                    v++;
            }
            return 0;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return 0;
}

/* Protocol v2: the rest of the image from chunk `from` as binary frames
 * (docs/protocol.md). The mutate hook sees each frame as chunk n. */
static int v1_stream(struct v1_source *src, const char *q, fota_body_fn on_body, void *arg,
                     int *status)
{
    uint8_t frame[FOTA_V2_FRAME_OVERHEAD + 4096], msg[FOTA_CHUNK_MAC_PREFIX_LEN + 4096];
    struct view v = view_of(src, q);
    uint32_t from, rel, n, total = (v.size + src->chunk_size - 1) / src->chunk_size;
    int rc;

    src->stream_requests++;
    if (!query_u32(q, "from", &from) || !query_u32(q, "release", &rel) || rel != src->release ||
        from >= total) {
        *status = 404;
        return FOTA_OK;
    }
    *status = 200;
    fota_v2_put_stream_header(frame, src->chunk_size);
    if ((rc = on_body(arg, frame, FOTA_V2_STREAM_HDR)))
        return rc;
    for (n = from; n < total; n++) {
        uint32_t off = n * src->chunk_size;
        uint32_t len = v.size - off < src->chunk_size ? v.size - off : src->chunk_size;
        size_t flen = FOTA_V2_FRAME_OVERHEAD + len;
        int st = 200;
        fota_v2_put_frame_header(frame, n, (uint16_t)len);
        memcpy(frame + FOTA_V2_FRAME_HDR, v.data + off, len);
        fota_chunk_mac_prefix(msg, v.sha, n);
        memcpy(msg + FOTA_CHUNK_MAC_PREFIX_LEN, v.data + off, len);
        fota_posix_hmac(src->key, 32, msg, FOTA_CHUNK_MAC_PREFIX_LEN + len,
                        frame + FOTA_V2_FRAME_HDR + len);
        if (src->first_chunk < 0)
            src->first_chunk = (long)n;
        src->chunk_bytes += len;
        if (src->mutate) {
            src->mutate(src->mutate_arg, (long)n, (char *)frame, &flen, sizeof frame, &st);
            if (st != 200)
                return st == 0 ? FOTA_ERR_NET : FOTA_OK; /* the connection breaks here */
        }
        if ((rc = on_body(arg, frame, (uint32_t)flen)))
            return rc;
    }
    return FOTA_OK;
}

int v1_source_get(struct v1_source *src, const char *path, const struct fota_http_header *h,
                  unsigned nh, fota_body_fn on_body, void *arg, int *status)
{
    static const char chk[] = FOTA_PATH_CHECK, chn[] = FOTA_PATH_CHUNK;
    char body[8192], shex[65];
    const char *q = strchr(path, '?');
    uint32_t n, rel;
    size_t len;

    q = q ? q + 1 : "";
    if (!authorized(src, h, nh)) {
        *status = 401;
        len = (size_t)snprintf(body, sizeof body,
                               "{\"error\": \"unauthorized\", \"message\": \"unknown device or wrong token\"}");
        return deliver(src, -2, body, len, sizeof body, status, on_body, arg);
    }
    if (!strncmp(path, chk, sizeof chk - 1)) {
        src->check_requests++;
        *status = 200;
        hex(src->sha256, 32, shex);
        if (!src->offer)
            len = (size_t)snprintf(body, sizeof body, "{\"update\": false}");
        else {
            unsigned char m64[256] = "", s64[128] = "";
            size_t ml = 0, sl = 0;
            if (src->has_manifest)
                mbedtls_base64_encode(m64, sizeof m64, &ml, src->manifest, FOTA_MANIFEST_LEN);
            if (src->has_signature)
                mbedtls_base64_encode(s64, sizeof s64, &sl, src->signature, FOTA_SIGNATURE_LEN);
            len = (size_t)snprintf(body, sizeof body,
                                   "{\"update\": true, \"release\": %u, \"version\": \"%s\", "
                                   "\"size\": %u, \"chunk_size\": %u, \"total_chunks\": %u, "
                                   "\"sha256\": \"%s\", \"secure_version\": %u",
                                   src->release, src->version, src->size, src->chunk_size,
                                   (src->size + src->chunk_size - 1) / src->chunk_size, shex,
                                   src->secure_version);
            if (src->v2)
                len += (size_t)snprintf(body + len, sizeof body - len, ", \"protocols\": \"v1,v2\"");
            if (src->patch) {
                char bhex[65], phex[65];
                int want = src->patch_enc == FOTA_ENC_DELTA ? query_has(q, "enc", "delta")
                                                             : query_has(q, "enc", "compressed");
                hex(src->patch_base, 32, bhex);
                if (want && src->patch_enc == FOTA_ENC_DELTA) {
                    const char *b = strstr(q, "base=");
                    want = b && !strncmp(b + 5, bhex, 64);
                }
                if (want) {
                    hex(src->patch_sha256, 32, phex);
                    src->patch_offers++;
                    len += (size_t)snprintf(body + len, sizeof body - len,
                                            ", \"encoding\": \"%s\", \"patch_size\": %u, "
                                            "\"patch_sha256\": \"%s\"",
                                            src->patch_enc == FOTA_ENC_DELTA ? "delta" : "compressed",
                                            src->patch_size, phex);
                }
            }
            if (src->allow_downgrade)
                len += (size_t)snprintf(body + len, sizeof body - len, ", \"allow_downgrade\": true");
            if (ml)
                len += (size_t)snprintf(body + len, sizeof body - len, ", \"manifest\": \"%s\"", m64);
            if (sl)
                len += (size_t)snprintf(body + len, sizeof body - len, ", \"signature\": \"%s\"", s64);
            len += (size_t)snprintf(body + len, sizeof body - len, "}");
        }
        return deliver(src, -1, body, len, sizeof body, status, on_body, arg);
    }
    if (!strncmp(path, chn, sizeof chn - 1)) {
        src->chunk_requests++;
        if (!query_u32(q, "chunk", &n)) {
            *status = 400;
            len = (size_t)snprintf(body, sizeof body, "{\"error\": \"bad_request\", \"message\": \"chunk\"}");
            return deliver(src, -2, body, len, sizeof body, status, on_body, arg);
        }
        struct view v = view_of(src, q);
        if ((query_u32(q, "release", &rel) && rel != src->release) ||
            (uint64_t)n * src->chunk_size >= v.size) {
            *status = 404;
            len = (size_t)snprintf(body, sizeof body, "{\"error\": \"not_found\", \"message\": \"no such chunk\"}");
            return deliver(src, (long)n, body, len, sizeof body, status, on_body, arg);
        }
        if (src->first_chunk < 0)
            src->first_chunk = (long)n;
        *status = 200;
        len = chunk_body_of(src, v, n, body, sizeof body);
        {
            uint32_t off = n * src->chunk_size;
            src->chunk_bytes += v.size - off < src->chunk_size ? v.size - off : src->chunk_size;
        }
        return deliver(src, (long)n, body, len, sizeof body, status, on_body, arg);
    }
    if (!strncmp(path, FOTA_PATH_STREAM, sizeof FOTA_PATH_STREAM - 1) && src->v2)
        return v1_stream(src, q, on_body, arg, status);
    *status = 404;
    len = (size_t)snprintf(body, sizeof body, "{\"error\": \"not_found\", \"message\": \"no such path\"}");
    return deliver(src, -2, body, len, sizeof body, status, on_body, arg);
}

int v1_source_post(struct v1_source *src, const char *path, const struct fota_http_header *h,
                   unsigned nh, const char *body, uint32_t len, int *status)
{
    if (!authorized(src, h, nh)) {
        *status = 401;
        return FOTA_OK;
    }
    if (strcmp(path, FOTA_PATH_STATUS)) {
        *status = 404;
        return FOTA_OK;
    }
    src->status_posts++;
    snprintf(src->last_status, sizeof src->last_status, "%.*s", (int)len, body);
    *status = 204;
    return FOTA_OK;
}
