/*
 * api_device.c - the device API of wire protocol v1: check, chunk, status.
 * The caller is already authenticated (http.c put its row in r->device).
 *
 * chunk is the hot path: release bytes come from the mapped image cache, the
 * answer is formatted by hand into one buffer (no JSON library objects), and
 * the only store access is the one made by authentication (plus a deployment
 * check when the device names a release).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "fota/manifest.h"
#include "fota/patch.h"
#include "fota/wire.h"
#include "devcache.h"
#include "http.h"
#include "keys.h"
#include "dlslots.h"
#include "loadshape.h"
#include "patches.h"
#include "log.h"
#include "release.h"
#include "rollout.h"

static uint32_t total_chunks(const struct store_release *rel)
{
    return (uint32_t)((rel->size + rel->chunk_size - 1) / rel->chunk_size);
}

/* Base64 of n bytes into a new JSON string (manifest, signature). */
static json_t *b64_json(const uint8_t *p, size_t n)
{
    char out[200];
    size_t olen = 0;
    if (mbedtls_base64_encode((unsigned char *)out, sizeof out, &olen, p, n) != 0)
        return NULL;
    return json_stringn(out, olen);
}

/* Whether rel may be offered to a device running `version` whose recorded
 * anti-rollback floor is secure_version (has_sv: the device reported one).
 * NULL when it may, else the reason (also logged at info by the caller). */
static const char *offer_refusal(const struct store_release *rel, const char *version,
                                 int has_sv, uint32_t secure_version, int allow_downgrade,
                                 char *buf, size_t n)
{
    int cmp;
    if (has_sv && rel->secure_version < secure_version) {
        snprintf(buf, n, "its secure_version %u is below the device's %u (anti-rollback)",
                 rel->secure_version, secure_version);
        return buf;
    }
    if (!allow_downgrade && fota_version_cmp(rel->version, version, &cmp) == 0 && cmp < 0) {
        snprintf(buf, n, "version \"%s\" is older than the running \"%.64s\" and the "
                 "deployment does not allow a downgrade", rel->version, version);
        return buf;
    }
    return NULL;
}

/* The patch to offer with img to a device that takes the encodings in
 * mask (and runs the image named base): the smaller of its delta and its
 * compressed image, if either is smaller than the full image. NULL: the
 * full image. *enc gets FOTA_ENC_* of the patch. */
static const struct image *offer_patch(struct request *r, const struct image *img, unsigned mask,
                                       const uint8_t base[32], int has_base, int *enc)
{
    const struct image *d = NULL, *z = NULL;
    if ((mask & (1u << FOTA_ENC_DELTA)) && has_base &&
        patches_get(r->srv, img, FOTA_ENC_DELTA, base, &d) != STORE_OK)
        d = NULL;
    if ((mask & (1u << FOTA_ENC_COMPRESSED)) &&
        patches_get(r->srv, img, FOTA_ENC_COMPRESSED, base, &z) != STORE_OK)
        z = NULL;
    if (d && (!z || d->size <= z->size)) {
        *enc = FOTA_ENC_DELTA;
        return d;
    }
    *enc = FOTA_ENC_COMPRESSED;
    return z;
}

/* What a chunk or stream request reads: the release, or with enc= its
 * patch (404 when it has none to offer). NULL when it has answered. */
static const struct image *request_view(struct request *r, const struct image *img)
{
    char buf[PARSE_MSG_MAX];
    const char *bad;
    const struct image *p;
    unsigned mask;
    uint8_t base[32];
    int has_base, enc;

    if ((bad = parse_enc_query(&r->query, 0, &mask, base, &has_base, buf, sizeof buf))) {
        http_error(r, 400, "bad_request", "%s", bad);
        return NULL;
    }
    if (!mask)
        return img;
    enc = (mask & (1u << FOTA_ENC_DELTA)) ? FOTA_ENC_DELTA : FOTA_ENC_COMPRESSED;
    if (patches_get(r->srv, img, enc, base, &p) != STORE_OK) {
        http_error(r, 404, "not_found", "release %lld has no %s patch%s",
                   (long long)img->rel.id, enc == FOTA_ENC_DELTA ? "delta" : "compressed",
                   enc == FOTA_ENC_DELTA ? " from that base" : "");
        return NULL;
    }
    return p;
}

enum MHD_Result api_check(struct request *r)
{
    struct server *srv = r->srv;
    const struct image *img;
    const char *version = NULL, *bad, *why;
    char buf[PARSE_MSG_MAX], reason[256];
    uint32_t sv = 0;
    int64_t rid;
    int rc, downgrade = 0, has_sv = 0, has_base = 0;
    unsigned encs = 0;
    uint8_t base[32];

    if ((bad = parse_check_query(&r->query, &version, &has_sv, &sv, buf, sizeof buf)) ||
        (bad = parse_enc_query(&r->query, 1, &encs, base, &has_base, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);

    /* an active rollout first (rollout.h), else the deployments */
    struct store_rollout_offer ro = {0, 0, 0};
    rc = rollout_offer(srv, r->device_id, r->device.chip, &ro);
    if (rc == STORE_OK) {
        rid = ro.release;
        downgrade = ro.allow_downgrade;
    } else if (rc == STORE_NOT_FOUND) {
        rc = srv->ops->deployment_for_device(srv->store, r->device_id, r->device.chip, &rid,
                                             &downgrade);
    }
    if (rc == STORE_OK) {
        rc = images_get(srv, rid, &img);
        if (rc != STORE_OK)
            return http_error(r, 503, "unavailable",
                              "release %lld is deployed but its image cannot be served",
                              (long long)rid);
        why = offer_refusal(&img->rel, version, has_sv, sv, downgrade, reason,
                            sizeof reason);
        if (why)
            SLOG(SLOG_INFO, "not offering release %lld to %s: %s", (long long)rid, r->device_id,
                 why);
        if (!why && strcmp(img->rel.version, version) != 0) {
            json_t *o;
            if (ro.rollout &&
                (rc = srv->ops->rollout_offered(srv->store, ro.rollout, r->device_id,
                                                (int64_t)time(NULL))) != STORE_OK)
                return http_store_error(r, rc, "recording the rollout's offer");
            rc = srv->ops->device_checked(srv->store, r->device_id, version, rid,
                                          (int64_t)time(NULL));
            if (rc != STORE_OK)
                return http_store_error(r, rc, "recording the offer");
            SLOG(SLOG_DEBUG, "offering release %lld (%s) to %s running \"%s\"", (long long)rid,
                 img->rel.version, r->device_id, version);
            o = json_pack("{s:b, s:I, s:o, s:I, s:I, s:I, s:s, s:I}", "update", 1, "release",
                          (json_int_t)rid, "version", utf8_json(img->rel.version), "size",
                          (json_int_t)img->rel.size, "chunk_size",
                          (json_int_t)img->rel.chunk_size, "total_chunks",
                          (json_int_t)total_chunks(&img->rel), "sha256", img->rel.sha256,
                          "secure_version", (json_int_t)img->rel.secure_version);
            if (o && img->rel.is_signed) {
                json_object_set_new(o, "manifest", b64_json(img->rel.manifest, FOTA_MANIFEST_LEN));
                json_object_set_new(o, "signature",
                                    b64_json(img->rel.signature, FOTA_SIGNATURE_LEN));
            }
            if (o && downgrade)
                json_object_set_new(o, "allow_downgrade", json_true());
            /* a string, so a device needs no array parser; v2 frames carry
             * a 16-bit length */
            if (o)
                json_object_set_new(o, "protocols", json_string(img->rel.chunk_size <= 0xFFFF
                                                                    ? "v1,v2" : "v1"));
            if (o && srv->poll_interval)
                json_object_set_new(o, "poll_interval",
                                    json_integer(loadshape_poll_interval(srv->poll_interval)));
            if (o && encs) {
                int enc;
                const struct image *p = offer_patch(r, img, encs, base, has_base, &enc);
                char hx[65];
                if (p) {
                    keys_hex(p->sha, 32, hx);
                    json_object_set_new(o, "encoding", json_string(enc == FOTA_ENC_DELTA
                                                                       ? "delta" : "compressed"));
                    json_object_set_new(o, "patch_size", json_integer((json_int_t)p->size));
                    json_object_set_new(o, "patch_sha256", json_string(hx));
                } else {
                    json_object_set_new(o, "encoding", json_string("full"));
                }
            }
            return http_json(r, 200, o);
        }
    } else if (rc != STORE_NOT_FOUND) {
        return http_store_error(r, rc, "finding a rollout or deployment");
    }
    rc = srv->ops->device_checked(srv->store, r->device_id, version, 0, (int64_t)time(NULL));
    if (rc != STORE_OK)
        return http_store_error(r, rc, "recording the check");
    if (srv->poll_interval)
        return http_json(r, 200, json_pack("{s:b, s:i}", "update", 0, "poll_interval",
                                           (int)loadshape_poll_interval(srv->poll_interval)));
    return http_json(r, 200, json_pack("{s:b}", "update", 0));
}

/* Load shaping: NULL when the device may download now, else it has
 * answered 503 with a jittered Retry-After (loadshape.h). */
static int download_refused(struct request *r)
{
    unsigned ra;
    if (!r->srv->loadshape)
        return 0;
    /* several nodes on one database share the cap (dlslots.h) */
    ra = r->srv->ops->download_admit ? dlslots_admit(r->srv, r->device_id)
                                     : loadshape_admit(r->srv->loadshape, r->device_id);
    if (!ra)
        return 0;
    r->retry_after = ra;
    http_error(r, 503, "busy", "the server has its maximum of downloads under way; retry in "
               "%u s", ra);
    return 1;
}

/* The release named by a device request: 404 when unknown or (named) not
 * deployed to the device, 503 when its bytes cannot be served. NULL when
 * it has answered. */
static const struct image *device_release(struct request *r, uint64_t rid, int named)
{
    struct server *srv = r->srv;
    const struct image *img;
    int rc = images_get(srv, (int64_t)rid, &img);

    if (rc == STORE_NOT_FOUND) {
        http_error(r, 404, "not_found", "unknown release %llu", (unsigned long long)rid);
        return NULL;
    }
    if (rc != STORE_OK) {
        http_error(r, 503, "unavailable", "release %llu cannot be served now",
                   (unsigned long long)rid);
        return NULL;
    }
    if (named) {
        rc = devcache_deployed_to(srv, (int64_t)rid, r->device_id, r->device.chip);
        if (rc == STORE_NOT_FOUND) {
            http_error(r, 404, "not_found", "release %llu is not deployed to this device",
                       (unsigned long long)rid);
            return NULL;
        }
        if (rc != STORE_OK) {
            http_store_error(r, rc, "checking the deployment");
            return NULL;
        }
    }
    return img;
}

static size_t put(char *out, const char *s, size_t n)
{
    memcpy(out, s, n);
    return n;
}

static size_t put_u32(char *out, uint32_t v)
{
    char tmp[10];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Hot path: the release's base64 chunks are precomputed (release.c), the
 * device's key schedule is cached (devcache.c), so an answer is one HMAC
 * over at most a chunk and one copy into the response buffer. */
enum MHD_Result api_chunk(struct request *r)
{
    static const char k1[] = "{\"chunk_number\":", k2[] = ",\"data\":\"",
                      k3[] = "\",\"hmac\":\"", k4[] = "\"}";
    const struct image *img;
    const char *bad;
    char buf[PARSE_MSG_MAX];
    uint8_t mac[32];
    uint64_t n, rid;
    uint32_t n32;
    int64_t rel_id;
    int has_release, rc;
    uint32_t len;
    size_t off, b64len, k;
    char *out;

    if ((bad = parse_chunk_query(&r->query, &n32, &has_release, &rel_id, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    n = n32;
    if (has_release) {
        rid = (uint64_t)rel_id;
    } else {
        if ((rc = devcache_refresh(r->srv, r->device_id, &r->device)) != STORE_OK)
            return http_store_error(r, rc, "reading the device");
        rid = (uint64_t)r->device.offered_release;
        if (rid == 0)
            return http_error(r, 404, "not_found",
                              "no release has been offered to this device: call check first");
    }
    if (!(img = device_release(r, rid, has_release)))
        return MHD_YES;
    if (!(img = request_view(r, img)))
        return MHD_YES;
    if (download_refused(r))
        return MHD_YES;
    if (n >= img->total_chunks)
        return http_error(r, 404, "not_found",
                          "chunk %llu is past the end: release %llu has %u chunks (0..%u)",
                          (unsigned long long)n, (unsigned long long)rid, img->total_chunks,
                          img->total_chunks - 1);

    off = (size_t)n * img->rel.chunk_size;
    len = (uint32_t)(img->size - off < img->rel.chunk_size ? img->size - off
                                                           : img->rel.chunk_size);
    if (keys_chunk_hmac_mac(&r->mac, img->sha, (uint32_t)n, img->data + off, len, mac) < 0)
        return http_error(r, 500, "internal_error", "HMAC computation failed");

    b64len = img->b64_off[n + 1] - img->b64_off[n];
    out = malloc(sizeof k1 + 10 + sizeof k2 + b64len + sizeof k3 + 64 + sizeof k4);
    if (!out)
        return MHD_NO;
    k = put(out, k1, sizeof k1 - 1);
    k += put_u32(out + k, (uint32_t)n);
    k += put(out + k, k2, sizeof k2 - 1);
    k += put(out + k, img->b64 + img->b64_off[n], b64len);
    k += put(out + k, k3, sizeof k3 - 1);
    keys_hex(mac, 32, out + k); /* writes a NUL, overwritten next */
    k += 64;
    k += put(out + k, k4, sizeof k4 - 1);
    return http_body(r, 200, out, k, "application/json");
}

/* --- protocol v2: one request streams the frames from= to the end ------------
 *
 * The layout is include/fota/wire.h's (stream header, then per chunk a frame
 * header, the bytes and the chunk HMAC). Frames are made as
 * libmicrohttpd asks for bytes (never the whole body in memory): the mapped
 * release, the device's prepared key, the next chunk and one frame buffer. */

struct stream {
    const struct image *img;
    struct keys_mac mac;
    uint32_t next, total; /* next chunk to frame, chunks in the release */
    uint64_t pos;         /* body bytes handed out so far */
    size_t flen, fpos;    /* current frame: its length, bytes handed out */
    uint8_t frame[];      /* FOTA_V2_FRAME_OVERHEAD + chunk_size (>= the stream header) */
};

static void stream_frame(struct stream *st)
{
    const struct image *img = st->img;
    uint32_t n = st->next++, cs = img->rel.chunk_size;
    size_t off = (size_t)n * cs;
    uint32_t len = (uint32_t)(img->size - off < cs ? img->size - off : cs);
    uint8_t *f = st->frame;

    fota_v2_put_frame_header(f, n, (uint16_t)len);
    memcpy(f + FOTA_V2_FRAME_HDR, img->data + off, len);
    keys_chunk_hmac_mac(&st->mac, img->sha, n, img->data + off, len, f + FOTA_V2_FRAME_HDR + len);
    st->flen = FOTA_V2_FRAME_OVERHEAD + (size_t)len;
    st->fpos = 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    size_t done = 0, k;

    if (pos != st->pos)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* libmicrohttpd reads in order */
    while (done < max) {
        if (st->fpos == st->flen) {
            if (st->next >= st->total)
                break;
            stream_frame(st);
        }
        k = st->flen - st->fpos < max - done ? st->flen - st->fpos : max - done;
        memcpy(buf + done, st->frame + st->fpos, k);
        st->fpos += k;
        done += k;
    }
    st->pos += done;
    return done ? (ssize_t)done : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    explicit_bzero(&st->mac, sizeof st->mac);
    free(st);
}

enum MHD_Result api_stream(struct request *r)
{
    const struct image *img;
    const char *bad;
    char buf[PARSE_MSG_MAX];
    uint64_t rid, from, size;
    uint32_t cs, rid32, from32;
    struct stream *st;

    if ((bad = parse_stream_query(&r->query, &rid32, &from32, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    rid = rid32;
    from = from32;
    if (!(img = device_release(r, rid, 1)))
        return MHD_YES;
    if (!(img = request_view(r, img)))
        return MHD_YES;
    if (download_refused(r))
        return MHD_YES;
    cs = img->rel.chunk_size;
    if (cs > 0xFFFF)
        return http_error(r, 404, "not_found",
                          "release %llu has %u-byte chunks, more than a v2 frame carries; use "
                          "chunk (protocol v1)", (unsigned long long)rid, cs);
    if (from >= img->total_chunks)
        return http_error(r, 404, "not_found",
                          "from %llu is past the end: release %llu has %u chunks (0..%u)",
                          (unsigned long long)from, (unsigned long long)rid, img->total_chunks,
                          img->total_chunks - 1);

    /* A stream request says what a v1 device says with a "downloading"
     * status post: record it here, so a v2 device spends no round trip on
     * it (one durable write per stream request, none per chunk). */
    {
        struct store_status ds;
        memset(&ds, 0, sizeof ds);
        ds.release = (int64_t)rid;
        snprintf(ds.state, sizeof ds.state, "downloading");
        ds.chunks_received = (int64_t)from;
        if (r->srv->ops->status_add(r->srv->store, r->device_id, &ds, NULL) != STORE_OK)
            SLOG(SLOG_WARN, "device %s: stream from %llu: progress not recorded", r->device_id,
                 (unsigned long long)from);
    }
    st = calloc(1, sizeof *st + FOTA_V2_FRAME_OVERHEAD + (size_t)cs);
    if (!st)
        return MHD_NO;
    st->img = img;
    st->mac = r->mac;
    st->next = (uint32_t)from;
    st->total = img->total_chunks;
    fota_v2_put_stream_header(st->frame, cs);
    st->flen = FOTA_V2_STREAM_HDR;
    size = FOTA_V2_STREAM_HDR + (uint64_t)(img->total_chunks - from) * FOTA_V2_FRAME_OVERHEAD +
           ((uint64_t)img->size - from * cs);
    return http_stream(r, 200, size, stream_read, st, stream_free, FOTA_V2_CONTENT_TYPE);
}

enum MHD_Result api_status(struct request *r)
{
    struct server *srv = r->srv;
    struct store_status st;
    const struct image *img;
    const char *bad;
    char buf[PARSE_MSG_MAX];
    int rc;

    if ((bad = http_query_problem(r, NULL, NULL, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    if ((bad = parse_status_body(r->body, r->body_len, &st, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);

    /* Only about a release this device was offered (by check; or the one it
     * already reports on, offered earlier): anything else is refused with
     * the same answer whether or not that release exists, so a device
     * cannot probe for release ids, nor mark itself "confirmed" on any. */
    if ((rc = devcache_refresh(srv, r->device_id, &r->device)) != STORE_OK)
        return http_store_error(r, rc, "reading the device");
    if (st.release != r->device.offered_release && st.release != r->device.status_release)
        return http_error(r, 409, "not_offered",
                          "release %lld was not offered to this device: report status only "
                          "on the release check offered", (long long)st.release);
    rc = images_get(srv, st.release, &img);
    if (rc == STORE_NOT_FOUND)
        return http_error(r, 404, "not_found", "unknown release %lld", (long long)st.release);
    if (rc != STORE_OK)
        return http_error(r, 503, "unavailable", "release %lld cannot be read now",
                          (long long)st.release);
    if (st.chunks_received > (int64_t)total_chunks(&img->rel))
        return http_error(r, 400, "bad_request",
                          "chunks_received %lld is more than the release's %u chunks",
                          (long long)st.chunks_received, total_chunks(&img->rel));
    rc = srv->ops->status_add(srv->store, r->device_id, &st,
                              strcmp(st.state, "confirmed") == 0 ? img->rel.version : NULL);
    if (rc == STORE_NOT_FOUND)
        return http_error(r, 404, "not_found", "unknown release %lld", (long long)st.release);
    if (rc != STORE_OK)
        return http_store_error(r, rc, "recording the status");
    rollout_after_status(srv, st.release, st.state);
    if (srv->loadshape && strcmp(st.state, "downloading") && strcmp(st.state, "verifying")) {
        if (srv->ops->download_admit)
            dlslots_done(srv, r->device_id); /* its download is over */
        else
            loadshape_done(srv->loadshape, r->device_id);
    }
    if (st.error[0] || strcmp(st.state, "failed") == 0 || strcmp(st.state, "rolled_back") == 0)
        SLOG(SLOG_WARN, "device %s reports %s on release %lld: %s", r->device_id, st.state,
             (long long)st.release, st.error[0] ? st.error : "(no error code)");
    return http_no_content(r);
}
