/*
 * request.c - the HTTP side of the engine: the check, chunk, stream and
 * status requests, their paths and headers, the JSON of a status report,
 * and what an HTTP status means. Answers come back parsed (wire.c) and
 * unverified: the engine (engine.c) checks every chunk before it is written.
 * Nothing here writes flash or the journal, and nothing here calls into the
 * state machine.
 */
#include "engine.h"
#include "fmt.h"
#include "le.h"
#include "wire.h"

int fota_req_http_error(struct fota *f, int status, const char *what)
{
    int rc;
    if (status == 401 || status == 403)
        rc = FOTA_ERR_AUTH;
    else if (status == 404)
        rc = FOTA_ERR_NOT_FOUND;
    else if (status == 429 || status >= 500)
        rc = FOTA_ERR_HTTP_RETRY;
    else if (status < 400)
        /* not an error status, but not the answer either: a stale response
         * left on a keep-alive connection, say. A broken exchange: retry.
         * (found by the link-fault campaign: a duplicated 204) */
        rc = FOTA_ERR_NET;
    else
        rc = FOTA_ERR_HTTP;
    fota_log(f, FOTA_LOG_WARN, "%s: expected HTTP 200, got %d (%s)", what, status,
             fota_errname(rc));
    return rc;
}

/* Auth headers of every device request. */
static void auth_headers(const struct fota *f, struct fota_http_header h[2])
{
    h[0].name = "X-Device-Id";
    h[0].value = f->cfg->device_id;
    h[1].name = "X-Device-Token";
    h[1].value = f->token;
}

/* GET path with the auth headers, the body to sink (arg = f); *status gets
 * the HTTP status, and the parsers see it through f->http_status. */
static int get(struct fota *f, const char *path, fota_body_fn sink, int *status)
{
    const struct fota_config *c = f->cfg;
    struct fota_http_header h[2];
    int rc;

    auth_headers(f, h);
    f->http_status = status;
    rc = c->http_get(c, path, h, 2, sink, f, status);
    f->http_status = 0;
    return rc;
}

/* What a request for the offer's chunks says about them: the encoding, and
 * for a delta the base it applies to (so a server finds the same patch). */
static uint32_t enc_params(const struct fota *f, char *out, uint32_t cap)
{
    char hx[65];
    if (f->offer.encoding == FOTA_ENC_COMPRESSED)
        return fota_fmt(out, cap, "&enc=compressed");
    if (f->offer.encoding != FOTA_ENC_DELTA)
        return 0;
    fota_hex(f->base_sha256, 32, hx);
    return fota_fmt(out, cap, "&enc=delta&base=%s", hx);
}

int fota_check(struct fota *f, const char *running_version, struct fota_offer *offer)
{
    char path[48 + 3 * FOTA_VERSION_MAX + 112];
    uint32_t len;
    int rc, status = 0;

    if (!f || !f->cfg || !offer)
        return FOTA_ERR_PARAM;
    len = fota_fmt(path, sizeof path, "%s?version=", FOTA_PATH_CHECK);
    fota_urlenc(path, sizeof path, &len, running_version ? running_version : "");
    /* the anti-rollback floor, so the server offers nothing below it; old
     * servers never see the parameter from a device without a floor */
    if (f->min_secure && len < sizeof path)
        len += fota_fmt(path + len, sizeof path - len, "&secure_version=%u", f->min_secure);
    /* the encodings this device takes, and what it runs (for a delta) */
    if (f->cfg->encodings & (FOTA_ENCS_COMPRESSED | FOTA_ENCS_DELTA) && len < sizeof path) {
        char hx[65];
        len += fota_fmt(path + len, sizeof path - len, "&enc=%s%s%s",
                        f->cfg->encodings & FOTA_ENCS_COMPRESSED ? "compressed" : "",
                        (f->cfg->encodings & FOTA_ENCS_COMPRESSED) &&
                                (f->cfg->encodings & FOTA_ENCS_DELTA)
                            ? ","
                            : "",
                        f->cfg->encodings & FOTA_ENCS_DELTA ? "delta" : "");
        if ((f->cfg->encodings & FOTA_ENCS_DELTA) && !f->base_size)
            fota_slot_base(f); /* once per boot; without it no delta is asked */
        if ((f->cfg->encodings & FOTA_ENCS_DELTA) && f->base_size && len < sizeof path) {
            fota_hex(f->base_sha256, 32, hx);
            len += fota_fmt(path + len, sizeof path - len, "&base=%s", hx);
        }
    }
    if (len >= sizeof path)
        return FOTA_ERR_PARAM;
    fota_fill(f->running_version, 0, sizeof f->running_version);
    fota_copy(f->running_version, running_version ? running_version : "",
              fota_strnlen(running_version ? running_version : "", FOTA_VERSION_MAX));
    fota_check_begin(f);
    rc = get(f, path, fota_check_body, &status);
    if (rc == FOTA_OK && status != 200)
        return fota_req_http_error(f, status, "check");
    if (rc == FOTA_OK)
        rc = fota_check_end(f);
    if (rc) {
        fota_log(f, FOTA_LOG_WARN, "check: refused the answer: %s", fota_strerror(rc));
        return rc;
    }
    *offer = f->offer;
    return FOTA_OK;
}

int fota_req_chunk(struct fota *f, uint32_t n, uint32_t len)
{
    char path[160];
    uint32_t k;
    int rc, status = 0;

    k = fota_fmt(path, sizeof path, "%s?chunk=%u&release=%u", FOTA_PATH_CHUNK, n, f->offer.release);
    enc_params(f, path + k, sizeof path - k);
    fota_chunk_begin(&f->p.chunk, len);
    rc = get(f, path, fota_chunk_body, &status);
    if (rc == FOTA_OK && status != 200)
        return fota_req_http_error(f, status, "chunk");
    if (rc == FOTA_OK)
        rc = fota_chunk_end(f);
    if (rc)
        fota_log(f, FOTA_LOG_WARN, "chunk %u: refused: %s", n, fota_strerror(rc));
    return rc;
}

int fota_req_stream(struct fota *f, fota_body_fn sink)
{
    char path[176];
    uint32_t k;
    int rc, status = 0;

    k = fota_fmt(path, sizeof path, "%s?release=%u&from=%u", FOTA_PATH_STREAM, f->offer.release,
                 f->next_chunk);
    enc_params(f, path + k, sizeof path - k);
    fota_v2_begin(&f->p.v2);
    rc = get(f, path, sink, &status);
    if (rc == FOTA_OK && (status == 404 || status == 400 || status == 405 || status == 501)) {
        /* a server without v2 at this path: v1 from here on, no attempt lost */
        fota_log(f, FOTA_LOG_INFO, "stream: HTTP %d; falling back to protocol v1", status);
        return FOTA_REQ_NO_V2;
    }
    if (rc == FOTA_OK && status != 200)
        return fota_req_http_error(f, status, "stream");
    return rc;
}

/* A status report: the JSON body is composed here and nowhere else. */
int fota_report(struct fota *f, const char *state, int err)
{
    struct fota_http_header h[3];
    char body[160];
    uint32_t len;
    int rc, status = 0;

    if (!f || !f->cfg || !state)
        return FOTA_ERR_PARAM;
    len = fota_fmt(body, sizeof body,
                   "{\"release\": %u, \"state\": \"%s\", \"chunks_received\": %u, \"error\": \"%s\"}",
                   f->offer.release, state, f->prog.chunks_done, err ? fota_errname(err) : "");
    auth_headers(f, h);
    h[2].name = "Content-Type";
    h[2].value = "application/json";
    rc = f->cfg->http_post(f->cfg, FOTA_PATH_STATUS, h, 3, body, len, &status);
    if (rc == FOTA_OK && status != 204 && status != 200)
        rc = fota_req_http_error(f, status, "status");
    if (rc)
        fota_log(f, FOTA_LOG_WARN, "status '%s' not delivered: %s", state, fota_strerror(rc));
    return rc;
}
