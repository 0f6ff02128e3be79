/*
 * api_audit.c - the audit log: every admin request that is not a read
 * (refusals and failed authentications included) is appended when it is
 * done, with who (the admin token's name), what (method, path, query and
 * JSON body, cut to size; never an uploaded image, never an answer, so a
 * device key printed by "device add" is not in it), when and the result.
 * GET /api/admin/audit[?limit=N&before=ID] lists it, newest first.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "release.h"
#include "utf8.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 10000

void audit_request(struct request *r)
{
    struct server *srv = r->srv;
    struct store_audit a;
    size_t k = 0;

    memset(&a, 0, sizeof a);
    a.at = (int64_t)time(NULL);
    snprintf(a.who, sizeof a.who, "%s", r->admin_name[0] ? r->admin_name : "-");
    snprintf(a.method, sizeof a.method, "%s", r->log_method);
    snprintf(a.path, sizeof a.path, "%s", r->log_path);
    for (int i = 0; i < r->query.n && k < sizeof a.detail; i++)
        k += (size_t)snprintf(a.detail + k, sizeof a.detail - k, "%s%s=%s", i ? "&" : "",
                              r->query.q[i].key, r->query.q[i].val ? r->query.q[i].val : "");
    if (k < sizeof a.detail && r->body && r->body_len)
        k += (size_t)snprintf(a.detail + k, sizeof a.detail - k, "%s%.*s", k ? " " : "",
                              (int)r->body_len, r->body);
    else if (k < sizeof a.detail && r->upload)
        k += (size_t)snprintf(a.detail + k, sizeof a.detail - k, "%s(%llu bytes uploaded)",
                              k ? " " : "", (unsigned long long)upload_received(r->upload));
    /* one line: control characters (a pretty-printed body) become spaces;
     * a body cut at the size limit may end inside a UTF-8 sequence, and the
     * log is answered as JSON: stray bytes become '?' */
    for (char *p = a.detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    utf8_sanitize(a.detail);
    utf8_sanitize(a.path);
    a.status = (int)r->status;
    snprintf(a.result, sizeof a.result, "%s", r->status >= 400 ? r->err_code : "");
    if (srv->ops->audit_add(srv->store, &a) != STORE_OK)
        SLOG(SLOG_ERROR, "audit log: cannot record %s %s by %s (%u)", a.method, a.path, a.who,
             r->status);
}

static int audit_cb(void *ctx, const struct store_audit *a)
{
    json_array_append_new(ctx, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:i, s:o}", "id",
                                         (json_int_t)a->id, "at", json_time(a->at), "who",
                                         utf8_json(a->who), "method", utf8_json(a->method),
                                         "path", utf8_json(a->path), "detail",
                                         utf8_json(a->detail), "status", a->status, "result",
                                         utf8_json(a->result)));
    return 0;
}

enum MHD_Result admin_audit_get(struct request *r)
{
    static const char *const allowed[] = {"limit", "before", NULL};
    struct server *srv = r->srv;
    const char *bad, *s;
    char buf[128];
    uint64_t limit = AUDIT_LIMIT_DEFAULT, before = 0;
    json_t *a;
    int rc;

    if ((bad = http_query_problem(r, allowed, NULL, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    if ((s = http_query(r, "limit")) && (parse_u64(s, AUDIT_LIMIT_MAX, 0, &limit) < 0 || !limit))
        return http_error(r, 400, "bad_request", "limit must be 1..%d", AUDIT_LIMIT_MAX);
    if ((s = http_query(r, "before")) && parse_u64(s, INT64_MAX, 0, &before) < 0)
        return http_error(r, 400, "bad_request", "before must be an entry id");
    a = json_array();
    rc = srv->ops->audit_list(srv->store, (int64_t)before, (int)limit, audit_cb, a);
    if (rc != STORE_OK) {
        json_decref(a);
        return http_store_error(r, rc, "reading the audit log");
    }
    return http_json(r, 200, json_pack("{s:o}", "audit", a));
}
