/*
 * http.h - request plumbing between libmicrohttpd and the API handlers:
 * routing, authentication, query parameters, bodies, JSON answers, error
 * answers and the one access-log line per request.
 *
 * A handler gets a struct request whose query has been collected (every
 * occurrence, so a repeated parameter is seen), whose caller is already
 * authenticated (device or admin), and whose body is complete: a JSON body in
 * memory (at most JSON_BODY_MAX bytes) or an upload streamed to a temp file.
 * It answers with exactly one of the http_* functions below.
 */
#ifndef FOTA_SERVER_HTTP_H
#define FOTA_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "parse.h"
#include "server.h"
#include "store.h"
#include "utf8.h"

struct upload; /* release.h */
struct conn_entry; /* http.c: per-connection deadline */

struct request {
    struct server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *tail;            /* path after the route prefix ("" or "/<id>") */
    const struct route *route;
    struct timespec t0;
    unsigned status;             /* answered status, 0 until then */
    size_t resp_bytes;
    int answered;
    int counted;                 /* counted in srv->inflight */
    int io_error;                /* storing the upload failed */
    int started;                 /* on_request has seen it (the URI log callback
                                  * creates it, before the headers are read) */
    int close;                   /* answer with "Connection: close" */
    const char *target_bad;      /* parse_raw_target's refusal (in target_msg) */
    char target_msg[PARSE_MSG_MAX];
    const char *allow;           /* Allow header of a 405 */
    char log_method[16];
    char log_path[160];

    char device_id[65];          /* authenticated device, "" for admin */
    char admin_name[KEYS_ADMIN_NAME_MAX + 1]; /* authenticated admin token's name */
    char err_code[32];           /* error code of a refusal, for the audit log */
    int audited;                 /* its audit entry is written */
    int early;                   /* in the first call: a refusal now comes before the body */
    int measured;                /* counted in the metrics */
    struct store_device device;  /* its row, for device routes */
    struct keys_mac mac;         /* its key, ready for chunk HMACs (wiped at the end) */

    struct conn_entry *ce;       /* its connection's watchdog entry (may be NULL) */
    unsigned retry_after;        /* Retry-After of a 429/503, 0: 1 second */
    char addr[48];               /* source address (IPv6: its /64), for rate limits */

    struct query query;          /* its parameters, as libmicrohttpd gives them */
    size_t q_len;                /* bytes of keys and values, for the 414 */

    char *body;                  /* JSON body, NUL-terminated */
    size_t body_len;
    int body_too_large;
    uint64_t discarded;          /* bytes dropped after a refusal */

    struct upload *upload;       /* streamed release upload */
};

typedef enum MHD_Result (*handler_fn)(struct request *r);

enum body_kind { BODY_NONE, BODY_JSON, BODY_UPLOAD };
enum auth_kind { AUTH_DEVICE, AUTH_ADMIN, AUTH_NONE /* the dashboard's files */ };

struct route_method {
    const char *method;
    enum body_kind body;
    handler_fn fn;
};

struct route {
    const char *path;     /* exact path, or prefix when has_tail */
    int has_tail;         /* 1: also matches path + "/<something>"; 2: and
                           * path + "/" (an empty tail: the dashboard) */
    enum auth_kind auth;
    const char *allow;    /* Allow header for 405 */
    struct route_method m[3];
};

struct http_config {
    const char *addr;        /* numeric IPv4 or IPv6 */
    unsigned port;           /* 0 picks one */
    unsigned threads;
    const char *tls_cert;    /* PEM text of the certificate chain, NULL: plain HTTP */
    const char *tls_key;     /* PEM text of its private key */
    unsigned max_connections;  /* all connections at once */
    unsigned max_per_ip;       /* connections at once from one address (0: no limit) */
    unsigned limit_log_interval; /* seconds between connection-refusal summaries */
    unsigned idle_timeout;     /* seconds: inactivity, and the deadline for a
                                * request's headers (and a device request's body) */
    size_t memory_limit;       /* per-connection buffer: bounds request headers */
};

/* Start/stop the HTTP daemon (and its slow-client watchdog). Returns NULL on
 * failure (logged). *bound_port receives the port. */
struct MHD_Daemon *http_start(struct server *srv, const struct http_config *cfg,
                              unsigned *bound_port);
void http_stop(struct MHD_Daemon *d);

/* --- answers (each returns what libmicrohttpd's handler must return) --- */

/* JSON body, takes ownership of obj. */
enum MHD_Result http_json(struct request *r, unsigned status, json_t *obj);
/* Pre-serialized body, takes ownership of buf (malloc'd). */
enum MHD_Result http_body(struct request *r, unsigned status, char *buf, size_t len,
                          const char *content_type);
enum MHD_Result http_no_content(struct request *r);
/* Body of static bytes (never freed), e.g. an embedded dashboard file. */
enum MHD_Result http_static(struct request *r, unsigned status, const void *data, size_t len,
                            const char *content_type);
/* Body produced on demand by reader (libmicrohttpd's content reader: called
 * with the position and room, returns bytes written); size is the exact
 * Content-Length; free_cb(cls) runs when the response is done. A device
 * stream keeps only libmicrohttpd's inactivity timeout (not the request
 * deadline): its length is set by the device's pace. */
enum MHD_Result http_stream(struct request *r, unsigned status, uint64_t size,
                            MHD_ContentReaderCallback reader, void *cls,
                            MHD_ContentReaderFreeCallback free_cb, const char *content_type);
/* {"error": code, "message": <formatted>}; also logs the refusal. */
enum MHD_Result http_error(struct request *r, unsigned status, const char *code,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- query parameters --- */

/* NULL when every parameter is in allowed (NULL-terminated), none repeats
 * and every one in required is present; else a message (in buf) for a 400.
 * (query_problem and query_get of parse.h on r->query.) */
const char *http_query_problem(const struct request *r, const char *const *allowed,
                               const char *const *required, char *buf, size_t n);
const char *http_query(const struct request *r, const char *key);

/* parse_u64: see parse.h */

/* ISO-8601 UTC string for unix seconds t (t == 0 gives JSON null). */
json_t *json_time(int64_t t);

/* handlers (api_device.c, api_admin.c) */
enum MHD_Result api_check(struct request *r);
enum MHD_Result api_chunk(struct request *r);
enum MHD_Result api_stream(struct request *r);
enum MHD_Result api_status(struct request *r);
/* Called before the body of a release upload is accepted: checks the query
 * and opens the temp file (r->upload). 0, or -1 when it has answered. */
int admin_release_begin(struct request *r);
enum MHD_Result admin_release_upload(struct request *r);
enum MHD_Result admin_releases_get(struct request *r);
enum MHD_Result admin_devices_post(struct request *r);
enum MHD_Result admin_devices_get(struct request *r);
enum MHD_Result admin_deployments_post(struct request *r);
enum MHD_Result admin_deployments_get(struct request *r);
/* api_rollout.c */
enum MHD_Result admin_rollouts_post(struct request *r);
enum MHD_Result admin_rollouts_get(struct request *r);
enum MHD_Result admin_rollout_action_post(struct request *r);
/* api_audit.c: the audit log (GET /api/admin/audit), and the record of one
 * finished admin request that was not a read (called by http.c) */
enum MHD_Result admin_audit_get(struct request *r);
void audit_request(struct request *r);
/* api_import.c: bulk registration and tags */
enum MHD_Result admin_device_import_post(struct request *r);
enum MHD_Result admin_device_tags_post(struct request *r);
/* api_fleet.c: GET /api/admin/fleet, the dashboard's fleet summary; and the
 * English sentence of an error name a device reported (NULL if unknown) */
enum MHD_Result admin_fleet_get(struct request *r);
const char *fleet_error_words(const char *name);
/* dashboard.c: GET /dashboard[/<file>] */
enum MHD_Result dashboard_get(struct request *r);
/* metrics.c: GET /metrics (Prometheus text format) */
enum MHD_Result admin_metrics_get(struct request *r);

/* Answer 503 for a store failure (already logged by the store). */
enum MHD_Result http_store_error(struct request *r, int rc, const char *what);

#endif
