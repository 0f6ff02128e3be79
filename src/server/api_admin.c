/*
 * api_admin.c - the operator's API (bearer token, checked by http.c):
 * releases (upload, list, show), devices (register, list, show with status
 * history), deployments (create, list). JSON in, JSON out; every refusal
 * names what was expected and what came.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/fota.h"
#include "fota/manifest.h"
#include "fota/version.h"
#include "fota/wire.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "release.h"
#include "utf8.h"

#define HISTORY_LIMIT 50
#define DEPLOY_DEVICES_MAX 10000

static json_t *release_json(const struct store_release *rel)
{
    return json_pack("{s:I, s:o, s:I, s:s, s:i, s:o, s:o, s:I, s:s, s:I, s:I, s:I, s:o, s:b}",
                     "id", (json_int_t)rel->id, "version", utf8_json(rel->version), "size",
                     (json_int_t)rel->size, "chip", fota_chip_name(rel->chip), "chip_id",
                     rel->chip, "project", utf8_json(rel->project), "idf_ver",
                     utf8_json(rel->idf_ver),
                     "secure_version", (json_int_t)rel->secure_version, "sha256", rel->sha256,
                     "chunk_size", (json_int_t)rel->chunk_size, "total_chunks",
                     (json_int_t)((rel->size + rel->chunk_size - 1) / rel->chunk_size),
                     "slot_size", (json_int_t)rel->slot_size, "created_at",
                     json_time(rel->created_at), "signed", rel->is_signed);
}

static json_t *id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* The error a device reported, in words (the core's sentence), or null. */
static json_t *error_text(const char *name)
{
    const char *w = name[0] ? fleet_error_words(name) : NULL;
    return w ? json_string(w) : json_null();
}

static json_t *device_json(struct server *srv, const struct store_device *d)
{
    struct store_release rel;
    json_t *total = json_null();

    if (d->status_release &&
        srv->ops->release_get(srv->store, d->status_release, &rel) == STORE_OK)
        total = json_integer((rel.size + rel.chunk_size - 1) / rel.chunk_size);
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "id",
                     utf8_json(d->id), "chip", fota_chip_name(d->chip), "current_version",
                     utf8_json(d->current_version), "reported_version",
                     utf8_json(d->reported_version), "offered_release",
                     id_or_null(d->offered_release), "state", utf8_json(d->state), "release",
                     id_or_null(d->status_release), "chunks_received",
                     (json_int_t)d->chunks_received, "total_chunks", total, "last_error",
                     utf8_json(d->last_error), "last_seen", json_time(d->last_seen), "created_at",
                     json_time(d->created_at), "last_error_text", error_text(d->last_error));
}

static json_t *deployment_json(const struct store_deployment *d, const char *const *devs,
                               size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, utf8_json(devs[i]));
    return json_pack("{s:I, s:I, s:o, s:o, s:b, s:o}", "id", (json_int_t)d->id, "release",
                     (json_int_t)d->release, "chip",
                     d->chip >= 0 ? json_string(fota_chip_name(d->chip)) : json_null(),
                     "devices", a, "allow_downgrade", d->allow_downgrade, "created_at",
                     json_time(d->created_at));
}

static enum MHD_Result no_query(struct request *r, int *bad)
{
    char buf[128];
    const char *p = http_query_problem(r, NULL, NULL, buf, sizeof buf);
    *bad = p != NULL;
    return p ? http_error(r, 400, "bad_request", "%s", p) : MHD_YES;
}

/* Parse "<id>" of a path tail. */
static int tail_id(const char *tail, int64_t *id)
{
    uint64_t v;
    if (parse_u64(tail, INT64_MAX, 0, &v) < 0 || v == 0)
        return -1;
    *id = (int64_t)v;
    return 0;
}

static json_t *parse_body(struct request *r, enum MHD_Result *ret)
{
    json_error_t jerr;
    json_t *o = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        *ret = http_error(r, 400, "bad_request", "malformed JSON body: %s (line %d column %d)",
                          jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        *ret = http_error(r, 400, "bad_request", "body must be a JSON object");
        return NULL;
    }
    return o;
}

/* First field of o not in allowed, or NULL. */
static const char *unknown_field(json_t *o, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a)
            return key;
    }
    return NULL;
}

/* --- releases ---------------------------------------------------------------- */

/* Strict padded base64 of exactly n bytes from header name. 1 present and
 * good, 0 absent, -1 malformed. */
static int b64_header(struct request *r, const char *name, uint8_t *out, size_t n)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);

    if (!h)
        return 0;
    return parse_b64_exact(h, out, n) < 0 ? -1 : 1;
}

/* X-Fota-Manifest and X-Fota-Signature: both or neither; with
 * --sign-pubkey-file the signature is checked here, before the body. */
static int release_signature(struct request *r, struct upload_params *p)
{
    struct fota_manifest m;
    int hm = b64_header(r, "X-Fota-Manifest", p->manifest, FOTA_MANIFEST_LEN);
    int hs = b64_header(r, "X-Fota-Signature", p->signature, FOTA_SIGNATURE_LEN);

    if (hm < 0 || hs < 0) {
        http_error(r, 400, "bad_request",
                   "%s must be the padded base64 of %u bytes",
                   hm < 0 ? "X-Fota-Manifest" : "X-Fota-Signature",
                   hm < 0 ? FOTA_MANIFEST_LEN : FOTA_SIGNATURE_LEN);
        return -1;
    }
    if (hm != hs) {
        http_error(r, 400, "bad_request",
                   "give both X-Fota-Manifest and X-Fota-Signature, or neither");
        return -1;
    }
    if (!hm)
        return 0;
    if (fota_manifest_decode(p->manifest, &m) != FOTA_OK) {
        http_error(r, 422, "bad_manifest",
                   "X-Fota-Manifest is not a manifest of format 1 (magic \"FOTM\", reserved "
                   "bytes zero, printable NUL-padded strings)");
        return -1;
    }
    if (r->srv->has_sign_pubkey &&
        !keys_ecdsa_verify(r->srv->sign_pubkey, p->manifest, FOTA_MANIFEST_LEN, p->signature)) {
        http_error(r, 422, "bad_signature",
                   "X-Fota-Signature is not a valid ECDSA P-256 signature of the manifest by "
                   "the key in --sign-pubkey-file");
        return -1;
    }
    p->has_manifest = 1;
    return 0;
}

int admin_release_begin(struct request *r)
{
    static const char *const allowed[] = {"version", "slot_size", "chunk_size", NULL};
    struct upload_params p;
    const char *bad, *s;
    char buf[128];
    uint64_t v;

    memset(&p, 0, sizeof p);
    p.slot_size = DEFAULT_SLOT_SIZE;
    p.chunk_size = DEFAULT_CHUNK_SIZE;
    if ((bad = http_query_problem(r, allowed, NULL, buf, sizeof buf))) {
        http_error(r, 400, "bad_request", "%s", bad);
        return -1;
    }
    if ((s = http_query(r, "version"))) {
        size_t n = strlen(s);
        if (n == 0 || !parse_printable(s, FOTA_VERSION_OFFER_MAX)) {
            http_error(r, 400, "bad_request",
                       "version must be 1-%u bytes of printable UTF-8 text (the longest a "
                       "device takes in an offer), got %zu bytes", FOTA_VERSION_OFFER_MAX, n);
            return -1;
        }
        snprintf(p.version, sizeof p.version, "%s", s);
    }
    if ((s = http_query(r, "slot_size"))) {
        if (parse_u64(s, UINT32_MAX, 1, &v) < 0 || v < FOTA_IMG_HEAD_LEN) {
            http_error(r, 400, "bad_request",
                       "slot_size must be a byte count %u..4294967295 (decimal or 0x hex), got "
                       "\"%.40s\"", FOTA_IMG_HEAD_LEN, s);
            return -1;
        }
        p.slot_size = v;
    }
    if ((s = http_query(r, "chunk_size"))) {
        /* only sizes a device accepts (fota_chunk_size_ok, the core's rule):
         * anything else would be deployed and then refused by every device */
        if (parse_u64(s, UINT32_MAX, 0, &v) < 0 || !fota_chunk_size_ok((uint32_t)v)) {
            http_error(r, 400, "bad_request",
                       "chunk_size must be %u..%u bytes and divide the %u-byte flash sector, "
                       "got \"%.40s\": devices refuse any other size",
                       FOTA_CHUNK_MIN, FOTA_CHUNK_MAX, FOTA_SECTOR_SIZE, s);
            return -1;
        }
        p.chunk_size = (uint32_t)v;
    }
    if (release_signature(r, &p) < 0)
        return -1;
    r->upload = upload_begin(r->srv, &p);
    if (!r->upload) {
        http_error(r, 500, "internal_error", "cannot store the upload");
        return -1;
    }
    return 0;
}

enum MHD_Result admin_release_upload(struct request *r)
{
    struct ingest_result res;

    if (!r->upload)
        return http_error(r, 500, "internal_error", "upload was not started");
    upload_finish(r->upload, &res);
    if (res.status != 201)
        return http_error(r, res.status, res.code, "%s", res.message);
    return http_json(r, 201, release_json(&res.rel));
}

/* A list answer being built: its array, and whether a row failed. */
struct list_ctx {
    struct server *srv;
    json_t *a;
    int failed;
};

/* Appends row v (NULL: it could not be built): a row that fails stops the
 * list, which then answers 500, rather than being left out in silence. */
static int append_row(struct list_ctx *c, json_t *v, const char *what, const char *name)
{
    if (!v || json_array_append_new(c->a, v) < 0) {
        SLOG(SLOG_ERROR, "%s %s could not be encoded as JSON", what, name);
        c->failed = 1;
        return -1;
    }
    return 0;
}

/* The answer to a list request, once its store call returned rc. */
static enum MHD_Result list_answer(struct request *r, struct list_ctx *c, int rc,
                                   const char *key, const char *what)
{
    if (rc != STORE_OK) {
        json_decref(c->a);
        return http_store_error(r, rc, what);
    }
    if (c->failed || !c->a) {
        json_decref(c->a);
        return http_error(r, 500, "internal_error", "a row could not be encoded while %s", what);
    }
    return http_json(r, 200, json_pack("{s:o}", key, c->a));
}

static int list_release_cb(void *ctx, const struct store_release *rel)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)rel->id);
    return append_row(ctx, release_json(rel), "release", id);
}

enum MHD_Result admin_releases_get(struct request *r)
{
    struct server *srv = r->srv;
    struct store_release rel;
    enum MHD_Result ret;
    int64_t id;
    int rc, bad;

    ret = no_query(r, &bad);
    if (bad)
        return ret;
    if (r->tail[0]) {
        if (tail_id(r->tail, &id) < 0)
            return http_error(r, 404, "not_found", "no release \"%.40s\" (ids are numbers)",
                              r->tail);
        rc = srv->ops->release_get(srv->store, id, &rel);
        if (rc == STORE_NOT_FOUND)
            return http_error(r, 404, "not_found", "unknown release %lld", (long long)id);
        if (rc != STORE_OK)
            return http_store_error(r, rc, "reading the release");
        return http_json(r, 200, release_json(&rel));
    }
    struct list_ctx c = {srv, json_array(), 0};
    rc = c.a ? srv->ops->release_list(srv->store, list_release_cb, &c) : STORE_OK;
    return list_answer(r, &c, rc, "releases", "listing releases");
}

/* --- devices ------------------------------------------------------------------ */

enum MHD_Result admin_devices_post(struct request *r)
{
    struct server *srv = r->srv;
    enum MHD_Result ret;
    const char *badmsg;
    uint8_t key[KEY_LEN];
    char hex[65], idc[DEVICE_ID_MAX + 1], buf[PARSE_MSG_MAX];
    int chip, rc, bad;

    ret = no_query(r, &bad);
    if (bad)
        return ret;
    if ((badmsg = parse_device_body(r->body, r->body_len, idc, &chip, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", badmsg);

    rc = srv->ops->device_insert(srv->store, idc, chip);
    if (rc == STORE_EXISTS)
        return http_error(r, 409, "already_exists", "device %s is already registered", idc);
    if (rc != STORE_OK)
        return http_store_error(r, rc, "registering the device");
    keys_device_key(&srv->keys, idc, key);
    keys_hex(key, KEY_LEN, hex);
    memset(key, 0, sizeof key);
    SLOG(SLOG_INFO, "registered device %s (%s)", idc, fota_chip_name(chip));
    ret = http_json(r, 201, json_pack("{s:s, s:s, s:s}", "id", idc, "chip",
                                      fota_chip_name(chip), "key", hex));
    memset(hex, 0, sizeof hex);
    return ret;
}

static int history_cb(void *ctx, const struct store_status *s)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)s->id);
    return append_row(ctx, json_pack("{s:I, s:o, s:I, s:o, s:o, s:o}", "release",
                                     (json_int_t)s->release, "state", utf8_json(s->state),
                                     "chunks_received", (json_int_t)s->chunks_received,
                                     "error", utf8_json(s->error), "error_text",
                                     error_text(s->error), "at", json_time(s->at)),
                      "status row", id);
}

static int list_device_cb(void *ctx, const struct store_device *d)
{
    struct list_ctx *c = ctx;
    return append_row(c, device_json(c->srv, d), "device", d->id);
}

enum MHD_Result admin_devices_get(struct request *r)
{
    struct server *srv = r->srv;
    struct store_device d;
    enum MHD_Result ret;
    int rc, bad;

    ret = no_query(r, &bad);
    if (bad)
        return ret;
    if (r->tail[0]) {
        rc = keys_valid_device_id(r->tail) ? srv->ops->device_get(srv->store, r->tail, &d)
                                           : STORE_NOT_FOUND;
        if (rc == STORE_NOT_FOUND)
            return http_error(r, 404, "not_found", "unknown device \"%.64s\"", r->tail);
        if (rc != STORE_OK)
            return http_store_error(r, rc, "reading the device");
        json_t *o = device_json(srv, &d);
        struct list_ctx h = {srv, json_array(), 0};
        rc = h.a ? srv->ops->status_history(srv->store, d.id, HISTORY_LIMIT, history_cb, &h)
                 : STORE_OK;
        if (rc != STORE_OK || h.failed || !h.a || !o) {
            json_decref(o);
            json_decref(h.a);
            if (rc != STORE_OK)
                return http_store_error(r, rc, "reading the status history");
            return http_error(r, 500, "internal_error",
                              "device %s could not be encoded as JSON", d.id);
        }
        json_object_set_new(o, "history", h.a);
        return http_json(r, 200, o);
    }
    struct list_ctx c = {srv, json_array(), 0};
    rc = c.a ? srv->ops->device_list(srv->store, list_device_cb, &c) : STORE_OK;
    return list_answer(r, &c, rc, "devices", "listing devices");
}

/* --- deployments ----------------------------------------------------------------- */

enum MHD_Result admin_deployments_post(struct request *r)
{
    static const char *const allowed[] = {"release", "devices", "chip", "allow_downgrade", NULL};
    struct server *srv = r->srv;
    struct store_release rel;
    struct store_deployment dep;
    struct store_device d;
    enum MHD_Result ret;
    const char *unk, **ids = NULL;
    json_t *o, *v, *devs, *chipv, *dg;
    size_t n = 0;
    int chip = -1, rc, bad, downgrade = 0;

    ret = no_query(r, &bad);
    if (bad)
        return ret;
    if (!(o = parse_body(r, &ret)))
        return ret;
    if ((unk = unknown_field(o, allowed))) {
        ret = http_error(r, 400, "bad_request",
                         "unknown field \"%.40s\" (expected release, devices or chip, "
                         "allow_downgrade)", unk);
        goto out;
    }
    dg = json_object_get(o, "allow_downgrade");
    if (dg && !json_is_boolean(dg)) {
        ret = http_error(r, 400, "bad_request", "allow_downgrade must be true or false");
        goto out;
    }
    downgrade = json_is_true(dg);
    v = json_object_get(o, "release");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        ret = http_error(r, 400, "bad_request", "release must be a positive integer id");
        goto out;
    }
    devs = json_object_get(o, "devices");
    chipv = json_object_get(o, "chip");
    if (!devs == !chipv) {
        ret = http_error(r, 400, "bad_request",
                         "give exactly one of \"devices\" (a list of ids) or \"chip\"");
        goto out;
    }
    rc = srv->ops->release_get(srv->store, json_integer_value(v), &rel);
    if (rc == STORE_NOT_FOUND) {
        ret = http_error(r, 404, "not_found", "unknown release %lld",
                         (long long)json_integer_value(v));
        goto out;
    }
    if (rc != STORE_OK) {
        ret = http_store_error(r, rc, "reading the release");
        goto out;
    }
    if (chipv) {
        chip = json_is_string(chipv) ? fota_chip_from_name(json_string_value(chipv)) : -1;
        if (chip < 0) {
            ret = http_error(r, 400, "bad_request", "chip must be a chip name such as \"esp32\"");
            goto out;
        }
        if (chip != rel.chip) {
            ret = http_error(r, 400, "bad_request", "release %lld is built for %s, not %s",
                             (long long)rel.id, fota_chip_name(rel.chip), fota_chip_name(chip));
            goto out;
        }
    } else {
        n = json_is_array(devs) ? json_array_size(devs) : 0;
        if (n == 0 || n > DEPLOY_DEVICES_MAX) {
            ret = http_error(r, 400, "bad_request",
                             "devices must be a non-empty list of at most %d device ids",
                             DEPLOY_DEVICES_MAX);
            goto out;
        }
        ids = calloc(n, sizeof *ids);
        if (!ids) {
            ret = MHD_NO;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            ids[i] = json_string_value(json_array_get(devs, i));
            if (!keys_valid_device_id(ids[i])) {
                ret = http_error(r, 400, "bad_request",
                                 "devices[%zu] is not a device id (1-64 of [A-Za-z0-9._-], "
                                 "no leading '.')", i);
                goto out;
            }
            rc = srv->ops->device_get(srv->store, ids[i], &d);
            if (rc == STORE_NOT_FOUND) {
                ret = http_error(r, 404, "not_found", "unknown device \"%s\"", ids[i]);
                goto out;
            }
            if (rc != STORE_OK) {
                ret = http_store_error(r, rc, "reading a device");
                goto out;
            }
            if (d.chip != rel.chip) {
                ret = http_error(r, 400, "bad_request",
                                 "device %s is an %s, release %lld is built for %s", d.id,
                                 fota_chip_name(d.chip), (long long)rel.id,
                                 fota_chip_name(rel.chip));
                goto out;
            }
        }
    }
    rc = srv->ops->deployment_create(srv->store, rel.id, chip, downgrade, ids, n, &dep);
    if (rc == STORE_NOT_FOUND) {
        ret = http_error(r, 404, "not_found", "release or device vanished while deploying");
        goto out;
    }
    if (rc != STORE_OK) {
        ret = http_store_error(r, rc, "creating the deployment");
        goto out;
    }
    SLOG(SLOG_INFO, "deployment %lld: release %lld to %s%s%s", (long long)dep.id,
         (long long)rel.id, chip >= 0 ? "every " : "",
         chip >= 0 ? fota_chip_name(chip) : "a device list",
         downgrade ? " (downgrade allowed)" : "");
    if (downgrade && rel.is_signed && !(rel.manifest[5] & FOTA_MANIFEST_ALLOW_DOWNGRADE))
        SLOG(SLOG_WARN, "deployment %lld allows a downgrade, but release %lld's signed manifest "
             "does not: devices holding the signing key refuse it where it is older than what "
             "they run (sign it with fota-admin release add --sign KEY --allow-downgrade)",
             (long long)dep.id, (long long)rel.id);
    ret = http_json(r, 201, deployment_json(&dep, ids, n));
out:
    free(ids);
    json_decref(o);
    return ret;
}

static int list_dep_cb(void *ctx, const struct store_deployment *d, const char *const *devs,
                       size_t n)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)d->id);
    return append_row(ctx, deployment_json(d, devs, n), "deployment", id);
}

enum MHD_Result admin_deployments_get(struct request *r)
{
    struct server *srv = r->srv;
    enum MHD_Result ret;
    int rc, bad;

    ret = no_query(r, &bad);
    if (bad)
        return ret;
    struct list_ctx c = {srv, json_array(), 0};
    rc = c.a ? srv->ops->deployment_list(srv->store, list_dep_cb, &c) : STORE_OK;
    return list_answer(r, &c, rc, "deployments", "listing deployments");
}
