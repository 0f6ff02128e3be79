/*
 * http.c - libmicrohttpd glue: the route table, the per-request state
 * machine (first call: route, method, auth, early refusals; body calls:
 * buffer JSON or stream an upload; last call: dispatch), answers in JSON,
 * and the access log written when libmicrohttpd reports the request done.
 *
 * Refusals that do not need the body (unknown path, wrong method, bad
 * credentials, a Content-Length over the limit, too many requests) are
 * answered on the first call, before libmicrohttpd sends "100 Continue", so
 * a refused upload is never transferred. A body that grows past its limit
 * without announcing its length is dropped as it arrives and refused at its
 * end; past a hard cap the connection is closed.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fota/device_id.h"
#include "fota/wire.h"
#include "connlimit.h"
#include "dashboard.h"
#include "devcache.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "release.h"
#include "utf8.h"

static const struct route routes[] = {
    {FOTA_PATH_CHECK, 0, AUTH_DEVICE, "GET", {{"GET", BODY_NONE, api_check}}},
    {FOTA_PATH_CHUNK, 0, AUTH_DEVICE, "GET", {{"GET", BODY_NONE, api_chunk}}},
    {FOTA_PATH_STREAM, 0, AUTH_DEVICE, "GET", {{"GET", BODY_NONE, api_stream}}},
    {FOTA_PATH_STATUS, 0, AUTH_DEVICE, "POST", {{"POST", BODY_JSON, api_status}}},
    {"/api/admin/releases", 1, AUTH_ADMIN, "GET, POST",
     {{"GET", BODY_NONE, admin_releases_get}, {"POST", BODY_UPLOAD, admin_release_upload}}},
    {"/api/admin/devices", 1, AUTH_ADMIN, "GET, POST",
     {{"GET", BODY_NONE, admin_devices_get}, {"POST", BODY_JSON, admin_devices_post}}},
    {"/api/admin/deployments", 0, AUTH_ADMIN, "GET, POST",
     {{"GET", BODY_NONE, admin_deployments_get}, {"POST", BODY_JSON, admin_deployments_post}}},
    {"/api/admin/rollouts", 1, AUTH_ADMIN, "GET, POST",
     {{"GET", BODY_NONE, admin_rollouts_get}, {"POST", BODY_JSON, admin_rollouts_post}}},
    {"/api/admin/rollout-actions", 0, AUTH_ADMIN, "POST",
     {{"POST", BODY_JSON, admin_rollout_action_post}}},
    {"/api/admin/audit", 0, AUTH_ADMIN, "GET", {{"GET", BODY_NONE, admin_audit_get}}},
    {"/metrics", 0, AUTH_ADMIN, "GET", {{"GET", BODY_NONE, admin_metrics_get}}},
    {"/api/admin/device-import", 0, AUTH_ADMIN, "POST",
     {{"POST", BODY_JSON, admin_device_import_post}}},
    {"/api/admin/device-tags", 0, AUTH_ADMIN, "POST",
     {{"POST", BODY_JSON, admin_device_tags_post}}},
    {"/api/admin/fleet", 0, AUTH_ADMIN, "GET", {{"GET", BODY_NONE, admin_fleet_get}}},
    {"/dashboard", 2, AUTH_NONE, "GET", {{"GET", BODY_NONE, dashboard_get}}},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* A body that keeps coming after a refusal is read and dropped up to this,
 * then the connection is closed. */
#define DISCARD_CAP (16u * 1024u * 1024u)

/* --- answers ------------------------------------------------------------- */

/* Counted in the metrics once: when answered (so a scrape that follows an
 * answer sees it), with the time to the answer; or at the end when never
 * answered. us < 0: measure now. */
static void measure_once(struct request *r, long long us)
{
    struct timespec t1;
    if (r->measured)
        return;
    r->measured = 1;
    if (us < 0) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        us = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000000 +
             (t1.tv_nsec - r->t0.tv_nsec) / 1000;
    }
    metrics_request(r->srv->metrics, r->route ? (int)(r->route - routes) : -1, r->status,
                    (uint64_t)us, r->resp_bytes);
}

/* Every admin action that is not a read, refused ones included, goes to
 * the audit log once: when it is answered (so before the operator sees the
 * answer), or when it ends. A refusal made from the headers alone is
 * recorded when the request ends instead: its answer must leave at once,
 * while the client may still be sending a body that will not be read (a
 * durable write first would let megabytes pile up unread, and the close
 * would then reset the connection under the answer). */
static void audit_once(struct request *r)
{
    if (r->audited || !r->route || r->route->auth != AUTH_ADMIN ||
        !strcmp(r->log_method, "GET") || !strcmp(r->log_method, "HEAD"))
        return;
    r->audited = 1;
    audit_request(r);
}

/* Headers by kind of route: the dashboard's files carry its security
 * policy (dashboard.h), plus HSTS under TLS; admin answers (and answers to
 * requests that matched no route) are never cached: they carry fleet data
 * and are read with the admin token. */
static int serving_tls; /* set by http_start */

static void security_headers(struct request *r, struct MHD_Response *resp)
{
    if (r->route && r->route->auth == AUTH_NONE) {
        for (const char *const *h = dashboard_headers; h[0]; h += 2)
            MHD_add_response_header(resp, h[0], h[1]);
        if (serving_tls)
            MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    } else if (!r->route || r->route->auth == AUTH_ADMIN) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    }
}

static enum MHD_Result answer(struct request *r, unsigned status, struct MHD_Response *resp,
                              size_t len, const char *content_type);

enum MHD_Result http_body(struct request *r, unsigned status, char *buf, size_t len,
                          const char *content_type)
{
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer(len, buf, buf ? MHD_RESPMEM_MUST_FREE
                                                         : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(buf);
        return MHD_NO;
    }
    return answer(r, status, resp, len, content_type);
}

enum MHD_Result http_static(struct request *r, unsigned status, const void *data, size_t len,
                            const char *content_type)
{
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    return answer(r, status, resp, len, content_type);
}

static enum MHD_Result answer(struct request *r, unsigned status, struct MHD_Response *resp,
                              size_t len, const char *content_type)
{
    enum MHD_Result ret;

    security_headers(r, resp);
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (status == 405 && r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (status == 401 && r->route && r->route->auth == AUTH_ADMIN)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 429 || status == 503) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", r->retry_after ? r->retry_after : 1u);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    r->status = status;
    r->resp_bytes = len;
    if (!r->early)
        audit_once(r);
    measure_once(r, -1);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    return ret;
}

enum MHD_Result http_json(struct request *r, unsigned status, json_t *obj)
{
    /* compact, UTF-8, '/' not escaped */
    static const char failed[] = "{\"error\":\"internal_error\",\"message\":\"the answer "
                                 "could not be encoded as JSON\"}";
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s) {
        /* A string that is not UTF-8 (json_string refuses it, so json_pack
         * returns NULL) or no memory: never a dropped connection. */
        SLOG(SLOG_ERROR, "%s %s device=%s: the %u answer could not be encoded as JSON; "
             "answering 500", r->log_method, r->log_path, r->device_id[0] ? r->device_id : "-",
             status);
        if (!(s = strdup(failed)))
            return MHD_NO;
        status = 500;
    }
    return http_body(r, status, s, strlen(s), "application/json");
}

enum MHD_Result http_no_content(struct request *r)
{
    return http_body(r, 204, NULL, 0, NULL);
}

static void conn_no_deadline(struct request *r);

enum MHD_Result http_stream(struct request *r, unsigned status, uint64_t size,
                            MHD_ContentReaderCallback reader, void *cls,
                            MHD_ContentReaderFreeCallback free_cb, const char *content_type)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_callback(size, 32 * 1024, reader, cls, free_cb);
    if (!resp) {
        free_cb(cls);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    r->status = status;
    r->resp_bytes = (size_t)size;
    measure_once(r, -1);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    conn_no_deadline(r);
    return ret;
}

enum MHD_Result http_error(struct request *r, unsigned status, const char *code,
                           const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err_code, sizeof r->err_code, "%s", code);
    /* The message may quote client text (a path, a parameter) or cut it at a
     * byte count: make it valid UTF-8, so the JSON answer always encodes. */
    utf8_clean_text(msg);
    SLOG(status >= 500 ? SLOG_ERROR : SLOG_WARN, "refused %s %s device=%s: %u %s: %s",
         r->log_method, r->log_path, r->device_id[0] ? r->device_id : "-", status, code, msg);
    return http_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

enum MHD_Result http_store_error(struct request *r, int rc, const char *what)
{
    (void)rc;
    return http_error(r, 503, "store_unavailable", "the store failed while %s; retry later",
                      what);
}

/* --- query ----------------------------------------------------------------- */

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    struct request *r = cls;
    (void)kind;
    query_add(&r->query, key, key_size, value, value_size);
    r->q_len += key_size + (value ? value_size : 0) + 2;
    return r->query.overflow ? MHD_NO : MHD_YES;
}

const char *http_query_problem(const struct request *r, const char *const *allowed,
                               const char *const *required, char *buf, size_t n)
{
    return query_problem(&r->query, allowed, required, buf, n);
}

const char *http_query(const struct request *r, const char *key)
{
    return query_get(&r->query, key);
}

json_t *json_time(int64_t t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == 0 || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* --- authentication ---------------------------------------------------------- */

static int auth_admin(struct request *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        http_error(r, 401, "unauthorized", "admin API needs \"Authorization: Bearer <token>\"");
        return -1;
    }
    const char *name = keys_admin_name(&r->srv->keys, h + 7);
    if (!name) {
        http_error(r, 401, "unauthorized", "wrong admin token");
        return -1;
    }
    snprintf(r->admin_name, sizeof r->admin_name, "%s", name);
    return 0;
}

static int auth_device(struct request *r)
{
    const char *id = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Device-Id");
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Device-Token");
    const char *idv = NULL;
    size_t id_len = 0;
    int rc;

    /* the length as received: an id cut short by a NUL is not this id */
    if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, "X-Device-Id",
                                      sizeof "X-Device-Id" - 1, &idv, &id_len) != MHD_YES)
        idv = NULL;
    /* One message to the client for every case; the log says which. */
    if (!idv || !fota_device_id_valid(idv, id_len)) {
        SLOG(SLOG_WARN, "device auth: X-Device-Id %s", id ? "malformed" : "missing");
        http_error(r, 401, "unauthorized", "device authentication failed");
        return -1;
    }
    snprintf(r->device_id, sizeof r->device_id, "%s", id);
    rc = devcache_auth(r->srv, id, tok, &r->device, &r->mac);
    if (rc == DEVCACHE_BAD_TOKEN) {
        SLOG(SLOG_WARN, "device auth: %s X-Device-Token for %s", tok ? "wrong" : "missing", id);
        http_error(r, 401, "unauthorized", "device authentication failed");
        return -1;
    }
    if (rc == DEVCACHE_UNKNOWN) {
        SLOG(SLOG_WARN, "device auth: %s is not registered", id);
        http_error(r, 401, "unauthorized", "device authentication failed");
        return -1;
    }
    if (rc != DEVCACHE_OK) {
        http_store_error(r, STORE_ERR, "looking up the device");
        return -1;
    }
    if (r->srv->rate_device && (r->retry_after = ratelimit_take(r->srv->rate_device, id))) {
        http_error(r, 429, "too_many_requests",
                   "device %s sends requests faster than it may; retry in %u s", id,
                   r->retry_after);
        return -1;
    }
    return 0;
}

/* --- request life cycle ------------------------------------------------------- */

static const struct route *find_route(const char *url, const char **tail)
{
    for (size_t i = 0; i < NROUTES; i++) {
        size_t n = strlen(routes[i].path);
        if (strncmp(url, routes[i].path, n) != 0)
            continue;
        if (url[n] == '\0') {
            *tail = "";
            return &routes[i];
        }
        if (routes[i].has_tail && url[n] == '/' && (url[n + 1] || routes[i].has_tail == 2) &&
            !strchr(url + n + 1, '/')) {
            *tail = url + n + 1;
            return &routes[i];
        }
    }
    return NULL;
}

static const struct route_method *find_method(struct request *r)
{
    const struct route *rt = r->route;
    for (int i = 0; i < 3 && rt->m[i].method; i++) {
        if (strcmp(rt->m[i].method, r->method) != 0)
            continue;
        /* "/<id>" paths are read-only */
        if (r->tail[0] && strcmp(r->method, "GET") != 0)
            break;
        return &rt->m[i];
    }
    r->allow = r->tail[0] ? "GET" : rt->allow;
    return NULL;
}

static uint64_t content_length(struct request *r, int *present)
{
    const char *s = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t v = 0;
    *present = s && parse_u64(s, UINT64_MAX, 0, &v) == 0;
    return v;
}

/* Largest body of a JSON request: device requests (status) are small. */
static size_t json_body_max(const struct request *r)
{
    if (r->route && r->route->m[0].fn == admin_device_import_post)
        return IMPORT_BODY_MAX; /* a bulk registration, by an authenticated admin */
    return r->route && r->route->auth == AUTH_DEVICE ? r->srv->max_device_body : JSON_BODY_MAX;
}

/* The source address as a rate-limit key: IPv4 as is, IPv6 by its /64
 * (one host usually owns a whole /64). */
static void client_addr(struct request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(r->addr, sizeof r->addr, "?");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->addr, sizeof r->addr);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(&a))
            memset(a.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a, r->addr, sizeof r->addr);
    }
}

static void conn_request_started(struct request *r);
static void conn_expire(struct MHD_Connection *conn);
static void conn_adopt(struct MHD_Connection *conn, struct request *r);

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    header_scan_feed(cls, key, key_size, value, value_size);
    /* libmicrohttpd 0.9.75 measures a header value with strlen, so
     * "X-Device-Id: dev-a<NUL>x" reaches us as "dev-a". The value points
     * into its read buffer, where the line's "\r\n" was overwritten with two
     * NULs: a byte other than NUL right after the value's terminator is the
     * rest of a line cut by a NUL (or a line not ended by CRLF: refused too,
     * HTTP/1.1 lines end in CRLF). Every header line is followed at least by
     * the empty line, so that byte is inside the buffer. */
    if (value && value_size == strlen(value) && value[value_size + 1] != '\0')
        header_scan_cut(cls, key, key_size);
    return MHD_YES;
}

/* Request heads near the connection memory: see that section below. */
/* Pool bytes kept free beyond head_max: the read buffer's growth past the
 * head (at most 1 KiB in libmicrohttpd 0.9.75) plus the largest answer
 * header (the dashboard's, about 500 bytes), with room to spare. */
#define HEAD_RESERVE 2048u
/* What one header or query parameter record costs in the pool: struct
 * MHD_HTTP_Header (7 words in 0.9.75) rounded to 16 bytes. */
#define MHD_RECORD_SIZE 64u

static size_t head_max; /* set by http_start */

static void answer_on_socket(struct MHD_Connection *conn, unsigned status, const char *reason,
                             const char *code, const char *msg);

/* What the request's head takes of the connection's pool: its bytes (line
 * and headers) and one record per header, cookie and query parameter. */
static size_t head_used(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    int records = MHD_get_connection_values_n(
        conn, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, NULL, NULL);
    return (ci ? ci->header_size : 0) + MHD_RECORD_SIZE * (size_t)(records > 0 ? records : 0);
}

/* First call: everything that can be decided from the headers. */
static enum MHD_Result begin(struct request *r)
{
    struct server *srv = r->srv;
    const struct route_method *m;
    struct header_scan hs;
    const char *bad;
    char msg[PARSE_MSG_MAX];
    uint64_t clen;
    size_t used;
    int has_len;

    client_addr(r);
    /* a head that leaves too little of the pool for the answer's header is
     * answered on the socket (plain HTTP): libmicrohttpd could not send it */
    if ((used = head_used(r->conn)) > head_max) {
        r->close = 1;
        if (serving_tls)
            return http_error(r, 431, "headers_too_large",
                              "request line and headers take %zu bytes, at most %zu accepted",
                              used, head_max);
        snprintf(msg, sizeof msg, "request line and headers take %zu bytes, at most %zu accepted",
                 used, head_max);
        SLOG(SLOG_WARN, "refused %s %s device=-: 431 headers_too_large: %s", r->log_method,
             r->log_path, msg);
        snprintf(r->err_code, sizeof r->err_code, "headers_too_large");
        answer_on_socket(r->conn, 431, "Request Header Fields Too Large", "headers_too_large",
                         msg);
        r->status = 431;
        r->answered = 1;
        return MHD_NO; /* libmicrohttpd closes it; on_completed logs and counts it */
    }
    /* framing first: what follows on the connection depends on it */
    if (r->target_bad) {
        r->close = 1;
        return http_error(r, 400, "bad_request", "%s", r->target_bad);
    }
    if (!utf8_valid_str(r->url))
        return http_error(r, 400, "bad_request", "the path is not valid UTF-8: %.100s", r->url);
    header_scan_init(&hs);
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, scan_header, &hs);
    if ((bad = header_scan_verdict(&hs, msg, sizeof msg))) {
        r->close = 1;
        return http_error(r, 400, "bad_request", "%s", bad);
    }
    if (r->counted && atomic_load(&srv->inflight) > srv->max_inflight)
        return http_error(r, 429, "too_many_requests",
                          "more than %u requests in progress; retry later", srv->max_inflight);
    if (srv->rate_addr && (r->retry_after = ratelimit_take(srv->rate_addr, r->addr)))
        return http_error(r, 429, "too_many_requests",
                          "too many requests from %s; retry in %u s", r->addr, r->retry_after);
    r->route = find_route(r->url, &r->tail);
    if (!r->route)
        return http_error(r, 404, "not_found", "no such path: %.100s", r->url);
    m = find_method(r);
    if (!m)
        return http_error(r, 405, "method_not_allowed", "%s is not allowed on %.100s (allowed: %s)",
                          r->log_method, r->url, r->allow);
    conn_request_started(r);
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, r);
    if (r->q_len > srv->max_query)
        return http_error(r, 414, "uri_too_long", "query is %zu bytes or more, at most %u accepted",
                          r->q_len, srv->max_query);
    if (r->route->auth != AUTH_NONE &&
        (r->route->auth == AUTH_ADMIN ? auth_admin(r) : auth_device(r)) < 0)
        return MHD_YES;
    clen = content_length(r, &has_len);
    if (m->body == BODY_JSON && has_len && clen > json_body_max(r))
        return http_error(r, 413, "too_large", "body is %llu bytes, at most %zu accepted",
                          (unsigned long long)clen, json_body_max(r));
    if (m->body == BODY_UPLOAD) {
        if (has_len && clen > srv->max_upload)
            return http_error(r, 413, "too_large", "upload is %llu bytes, at most %llu accepted",
                              (unsigned long long)clen, (unsigned long long)srv->max_upload);
        if (admin_release_begin(r) < 0)
            return MHD_YES;
    }
    return MHD_YES;
}

static enum MHD_Result take_body(struct request *r, const char *data, size_t len)
{
    const struct route_method *m = r->route ? find_method(r) : NULL;

    if (r->answered || r->body_too_large || r->io_error || !m || m->body == BODY_NONE) {
        r->discarded += len;
        return r->discarded > DISCARD_CAP ? MHD_NO : MHD_YES;
    }
    if (m->body == BODY_JSON) {
        if (r->body_len + len > json_body_max(r)) {
            r->body_too_large = 1;
            free(r->body);
            r->body = NULL;
            return MHD_YES;
        }
        char *b = realloc(r->body, r->body_len + len + 1);
        if (!b) {
            r->io_error = 1;
            return MHD_YES;
        }
        memcpy(b + r->body_len, data, len);
        r->body = b;
        r->body_len += len;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    /* BODY_UPLOAD */
    if (!r->upload)
        return MHD_NO;
    if (upload_received(r->upload) + len > r->srv->max_upload) {
        r->body_too_large = 1;
        r->discarded = upload_received(r->upload) + len;
        upload_free(r->upload); /* drop what was stored so far */
        r->upload = NULL;
        return MHD_YES;
    }
    if (upload_feed(r->upload, data, len) < 0)
        r->io_error = 1;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct server *srv = cls;
    struct request *r = *con_cls;
    (void)version;

    if (!r || !r->started) {
        if (!r && !(r = calloc(1, sizeof *r)))
            return MHD_NO;
        if (r->answered)
            return MHD_NO; /* answered by on_uri already: close */
        *con_cls = r;
        r->started = 1;
        conn_adopt(conn, r); /* from now on on_completed frees it */
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->tail = "";
        snprintf(r->log_method, sizeof r->log_method, "%s", method);
        snprintf(r->log_path, sizeof r->log_path, "%s", url);
        utf8_clean_text(r->log_method);
        utf8_clean_text(r->log_path);
        atomic_fetch_add(&srv->inflight, 1);
        r->counted = 1;
        r->early = 1;
        enum MHD_Result ret = begin(r);
        r->early = 0;
        return ret;
    }
    r->conn = conn;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return take_body(r, upload_data, n);
    }
    if (r->answered)
        return MHD_YES;
    if (r->body_too_large) {
        if (find_method(r)->body == BODY_JSON)
            return http_error(r, 413, "too_large", "body is over %zu bytes", json_body_max(r));
        return http_error(r, 413, "too_large", "upload is %llu bytes or more, at most %llu accepted",
                          (unsigned long long)r->discarded,
                          (unsigned long long)srv->max_upload);
    }
    if (r->io_error)
        return http_error(r, 500, "internal_error", "could not store the request body");
    return find_method(r)->fn(r);
}

static void conn_request_done(struct request *r);

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct server *srv = cls;
    struct request *r = *con_cls;
    struct timespec t1;
    long long us;

    if (!r)
        return;
    if (!r->started) { /* libmicrohttpd refused it before routing (it logs why) */
        conn_adopt(conn, r);
        free(r);
        *con_cls = NULL;
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000000 + (t1.tv_nsec - r->t0.tv_nsec) / 1000;
    SLOG(SLOG_INFO, "%s %s %s %u %zu %lldus%s", r->log_method, r->log_path,
         r->device_id[0] ? r->device_id : "-", r->status, r->resp_bytes, us,
         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    audit_once(r); /* a request that ended without an answer */
    measure_once(r, us);
    if (r->counted)
        atomic_fetch_sub(&srv->inflight, 1);
    conn_request_done(r);
    explicit_bzero(&r->mac, sizeof r->mac);
    upload_free(r->upload);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* --- slow clients ----------------------------------------------------------------
 *
 * libmicrohttpd's connection timeout counts inactivity only: a client that
 * sends one header byte a second (slowloris) is never idle. The watchdog
 * gives each connection a deadline: its request headers must be complete
 * within idle_timeout seconds of the connection opening (or of the previous
 * request's end on a kept-alive connection), and a device request's small
 * body within idle_timeout seconds more. Admin uploads are long by nature
 * and keep only the inactivity timeout. A connection past its deadline gets
 * shutdown(2) on its socket; libmicrohttpd then sees the end of the stream
 * and closes it as usual (the descriptor stays libmicrohttpd's to close: an
 * entry is unlinked, under the lock, before libmicrohttpd closes it).
 */

struct conn_entry {
    struct conn_entry *prev, *next;
    int fd;
    int counted;                  /* in connlimit under addr */
    int quiet;                    /* closed after a refusal already logged */
    struct request *unstarted;    /* made by on_uri, not yet seen by on_request: freed
                                   * here if libmicrohttpd never completes it (it may
                                   * drop a request it refused itself without telling) */
    char addr[CONNLIMIT_KEY_MAX];
    _Atomic int64_t deadline; /* monotonic milliseconds; 0: none. Set without the
                               * list lock (the entry lives as long as its
                               * connection, so while any of its requests) */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct conn_entry head;
    pthread_t thread;
    int running, stop;
    unsigned timeout;
    int tls;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .head = {.fd = -1}};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1; /* never 0 */
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct conn_entry *e;
    (void)cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = NULL;
        if (!ci || !(e = calloc(1, sizeof *e)))
            return;
        e->fd = ci->connect_fd;
        connlimit_key(ai ? ai->client_addr : NULL, e->addr);
        connlimit_opened(e->addr);
        e->counted = 1;
        pthread_mutex_lock(&wd.mu);
        atomic_store(&e->deadline, wd.timeout ? mono_ms() + 1000 * (int64_t)wd.timeout : 0);
        e->next = wd.head.next;
        e->prev = &wd.head;
        if (wd.head.next)
            wd.head.next->prev = e;
        wd.head.next = e;
        pthread_mutex_unlock(&wd.mu);
        *socket_context = e;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && (e = *socket_context)) {
        pthread_mutex_lock(&wd.mu);
        e->prev->next = e->next;
        if (e->next)
            e->next->prev = e->prev;
        pthread_mutex_unlock(&wd.mu);
        if (e->counted)
            connlimit_closed(e->addr);
        free(e->unstarted); /* never completed by libmicrohttpd */
        free(e);
        *socket_context = NULL;
    }
}

/* Headers are in: a device request gets a fresh deadline for its body and
 * answer, an admin request none. */
static void conn_request_started(struct request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    r->ce = ci ? ci->socket_context : NULL;
    if (!r->ce)
        return;
    atomic_store(&r->ce->deadline, wd.timeout && r->route->auth == AUTH_DEVICE
                                       ? mono_ms() + 1000 * (int64_t)wd.timeout : 0);
}

/* A stream is answered: its length depends on the device's pace, so only
 * the inactivity timeout applies until it ends. */
static void conn_no_deadline(struct request *r)
{
    if (r->ce)
        atomic_store(&r->ce->deadline, 0);
}

/* The request is over: the next one on this connection has its own deadline. */
static void conn_request_done(struct request *r)
{
    if (!r->ce)
        return;
    atomic_store(&r->ce->deadline, wd.timeout ? mono_ms() + 1000 * (int64_t)wd.timeout : 0);
}

/* The watchdog entry of conn (its socket context), or NULL. Its
 * `unstarted` field is used only from conn's own thread. */
static struct conn_entry *conn_entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* r (made by on_uri) is no longer the connection's to free. */
static void conn_adopt(struct MHD_Connection *conn, struct request *r)
{
    struct conn_entry *e = conn_entry_of(conn);
    if (e && e->unstarted == r)
        e->unstarted = NULL;
}

/* Let the watchdog close conn's socket on its next round. */
static void conn_expire(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_entry *e = ci ? ci->socket_context : NULL;
    if (e) {
        pthread_mutex_lock(&wd.mu); /* the watchdog reads it under the lock */
        e->quiet = 1;
        pthread_mutex_unlock(&wd.mu);
        atomic_store(&e->deadline, mono_ms() - 1 > 0 ? mono_ms() - 1 : 1);
    }
}

static void *watchdog(void *arg)
{
    struct timespec ts;
    (void)arg;
    pthread_mutex_lock(&wd.mu);
    while (!wd.stop) {
        int64_t t = mono_ms(), dl;
        for (struct conn_entry *e = wd.head.next; e; e = e->next)
            if ((dl = atomic_load(&e->deadline)) && t > dl) {
                if (!e->quiet)
                    SLOG(SLOG_WARN, "closing a connection (fd %d): no complete request "
                         "within %u s (slow client)", e->fd, wd.timeout);
                shutdown(e->fd, SHUT_RDWR);
                atomic_compare_exchange_strong(&e->deadline, &dl, 0);
            }
        connlimit_tick();
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wd.cv, &wd.mu, &ts);
    }
    pthread_mutex_unlock(&wd.mu);
    return NULL;
}

/* A new connection: the connection limits (connlimit.h). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls;
    (void)addrlen;
    return connlimit_accept(addr) ? MHD_YES : MHD_NO;
}

/* --- request heads near the connection memory -------------------------------
 *
 * libmicrohttpd 0.9.75 keeps a connection's request line, headers, one
 * record per header and per query parameter, and the header of its answer in
 * one pool of --conn-memory bytes. It refuses a request whose line or
 * headers do not fit with its own HTML 414 or 431; but a request that fits
 * with less than a few hundred bytes to spare is either closed without an
 * answer (no room left for the answer's header: "failed to create response
 * header") or, when its last header record does not fit, never answered at
 * all (the connection hangs until the idle timeout). So the server refuses
 * every request head over head_max = --conn-memory - HEAD_RESERVE itself,
 * before that zone: a request target over head_max as soon as the request
 * line is in (on_uri), and a line plus headers plus their records over it
 * on the first call (begin). Those answers are written on the socket
 * directly: the pool may have no room for them. Under TLS the socket is
 * libmicrohttpd's (and GnuTLS's): an over-long target only closes the
 * connection, and an over-long head is answered through libmicrohttpd (the
 * answer, or a close when it does not fit). Requests that do not fit in the
 * pool at all never reach the server: libmicrohttpd's HTML 414/431 stays. */

/* Writes a JSON error on conn's socket and shuts its sending side (plain
 * HTTP; under TLS it only shuts the socket); the watchdog shuts the rest
 * on its next round and libmicrohttpd then closes the connection. msg is
 * the server's own text (no client bytes, no quotes). */
static void answer_on_socket(struct MHD_Connection *conn, unsigned status, const char *reason,
                             const char *code, const char *msg)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char body[PARSE_MSG_MAX + 64], head[256];
    int bn = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
    int hn = snprintf(head, sizeof head, "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n", status, reason, bn);

    if (ci) {
        if (!wd.tls) {
            (void)!send(ci->connect_fd, head, (size_t)hn, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)!send(ci->connect_fd, body, (size_t)bn, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        shutdown(ci->connect_fd, wd.tls ? SHUT_RDWR : SHUT_WR);
    }
    conn_expire(conn);
}

/* A refusal answered on the socket before the headers (on_uri): logged,
 * and the request marked answered with its status. */
static void refuse_early(struct request *r, unsigned status, const char *reason,
                         const char *code, const char *msg)
{
    SLOG(SLOG_WARN, "refused a request before its headers: %u %s: %s", status, code, msg);
    answer_on_socket(r->conn, status, reason, code, msg);
    r->answered = 1;
    r->status = status;
}

/* The request line is in (headers not yet): libmicrohttpd hands over the
 * request target as sent, before it decodes it. The request's state starts
 * here, so the checks that need the raw target (parse_raw_target) are
 * answered on the first call of on_request. Two checks cannot wait, and are
 * answered here, on the socket (answer_on_socket): with thousands of query
 * parameters libmicrohttpd runs out of connection memory while it parses
 * them and then neither calls on_request nor answers (400); and a target
 * over head_max leaves too little of the pool for the headers (414). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct request *r = calloc(1, sizeof *r);
    struct conn_entry *e = conn_entry_of(conn);
    size_t len = strlen(uri);
    (void)cls;

    if (!r)
        return NULL;
    r->conn = conn;
    if (e) {
        free(e->unstarted); /* a previous one libmicrohttpd dropped on this connection */
        e->unstarted = r;
    }
    if (len > head_max) {
        snprintf(r->target_msg, sizeof r->target_msg,
                 "the request target is %zu bytes, at most %zu accepted", len, head_max);
        refuse_early(r, 414, "URI Too Long", "uri_too_long", r->target_msg);
        return r;
    }
    r->target_bad = parse_raw_target(uri, r->target_msg, sizeof r->target_msg);
    if (r->target_bad && strncmp(r->target_bad, "too many", 8) == 0) {
        refuse_early(r, 400, "Bad Request", "bad_request", r->target_bad);
    }
    return r;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    if (strncmp(buf, "Server reached connection limit", 31) == 0) {
        connlimit_refused_elsewhere(); /* one summary line per interval, not one per refusal */
        return;
    }
    SLOG(SLOG_WARN, "libmicrohttpd: %s", buf);
}

struct MHD_Daemon *http_start(struct server *srv, const struct http_config *cfg,
                              unsigned *bound_port)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem o[16];
    int n = 0;

    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    if (inet_pton(AF_INET, cfg->addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, cfg->addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        SLOG(SLOG_ERROR, "--listen %s is not a numeric IPv4 or IPv6 address", cfg->addr);
        return NULL;
    }
    if (cfg->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            SLOG(SLOG_ERROR, "this libmicrohttpd has no TLS support: run without --tls-cert "
                             "behind a TLS proxy");
            return NULL;
        }
        flags |= MHD_USE_TLS;
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert};
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key};
    }
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)sa};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout, NULL};
    /* the limits are connlimit's (on_accept); libmicrohttpd's total is a
     * backstop one above it */
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections + 1, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                     (intptr_t)cfg->memory_limit, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    if (!srv->metrics) {
        static const char *names[NROUTES];
        for (size_t i = 0; i < NROUTES; i++)
            names[i] = routes[i].path;
        srv->metrics = metrics_new(names, (int)NROUTES);
    }
    head_max = cfg->memory_limit >= 2 * HEAD_RESERVE ? cfg->memory_limit - HEAD_RESERVE
                                                     : cfg->memory_limit / 2;
    wd.timeout = cfg->idle_timeout;
    wd.tls = cfg->tls_cert != NULL;
    serving_tls = wd.tls;
    wd.stop = 0;
    connlimit_init(cfg->max_connections, cfg->max_per_ip,
                   cfg->limit_log_interval ? cfg->limit_log_interval : 10);
    d = MHD_start_daemon(flags, (uint16_t)cfg->port, on_accept, NULL, on_request, srv,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, as MHD asks */
                         MHD_OPTION_ARRAY, o, MHD_OPTION_END);
    if (!d) {
        SLOG(SLOG_ERROR, "cannot listen on %s port %u%s", cfg->addr, cfg->port,
             cfg->tls_cert ? " (or the TLS certificate or key is unusable)" : "");
        return NULL;
    }
    if (pthread_create(&wd.thread, NULL, watchdog, NULL) == 0)
        wd.running = 1;
    else
        SLOG(SLOG_WARN, "cannot start the slow-client watchdog; only the idle timeout applies");
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : cfg->port;
    return d;
}

void http_stop(struct MHD_Daemon *d)
{
    if (wd.running) {
        pthread_mutex_lock(&wd.mu);
        wd.stop = 1;
        pthread_cond_signal(&wd.cv);
        pthread_mutex_unlock(&wd.mu);
        pthread_join(wd.thread, NULL);
        wd.running = 0;
    }
    MHD_stop_daemon(d);
}
