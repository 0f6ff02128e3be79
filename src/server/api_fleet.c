/*
 * api_fleet.c - GET /api/admin/fleet[?hours=N]: the fleet at a glance, for
 * the dashboard's first page. One answer with what the other admin
 * endpoints give only device by device:
 *   by_state      devices per last reported state ("new": none yet)
 *   by_version    devices per running version (the confirmed one when the
 *                 last status is "confirmed", else what check last said;
 *                 "unknown": neither)
 *   failures      status rows of the last N hours (default 24) in state
 *                 failed or rolled_back, or carrying an error, newest first
 *                 (at most 100; failures_total counts them all), each with
 *                 the error in words
 *   confirmations per hour of the last N hours, oldest first
 * Its cost does not grow with the fleet in queries: device_list (one
 * query, the counts by state and version), then status_window (two: the
 * failures, newest first, at most 100, with their total; the confirmations
 * per hour, counted by the database). It used to read status_history device
 * by device: 10,000 queries per refresh for 10,000 devices, and as many
 * round trips to PostgreSQL (docs/performance.md, "The dashboard's fleet
 * page").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/error.h"
#include "http.h"
#include "log.h"
#include "utf8.h"

#define FLEET_HOURS_DEFAULT 24
#define FLEET_HOURS_MAX 168
#define FLEET_FAILURES_MAX 100

const char *fleet_error_words(const char *name)
{
    /* the core's codes are 0..-99: a device sends fota_errname() */
    for (int c = -1; c > -100; c--) {
        const char *n = fota_errname(c);
        if (strcmp(n, "unknown_error") && !strcmp(n, name))
            return fota_strerror(c);
    }
    return NULL;
}

struct fleet {
    json_t *by_state, *by_version;
    int64_t since;          /* start of the window */
    int64_t seen;           /* devices seen in the window */
    json_t *fails;          /* the failures' JSON, newest first */
    int failed;             /* out of memory */
};

static void count(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    json_object_set_new(o, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int device_cb(void *ctx, const struct store_device *d)
{
    struct fleet *f = ctx;
    /* after a confirmation the device runs what it confirmed (its check
     * said the version it ran before); else what its last check said */
    const char *v = !strcmp(d->state, "confirmed") && d->current_version[0]
                        ? d->current_version
                        : d->reported_version[0] ? d->reported_version : d->current_version;

    count(f->by_state, d->state[0] ? d->state : "new");
    count(f->by_version, v[0] ? v : "unknown");
    if (d->last_seen >= f->since)
        f->seen++;
    return 0;
}

static int failure_cb(void *ctx, const char *device, const struct store_status *s)
{
    struct fleet *f = ctx;
    const char *words = s->error[0] ? fleet_error_words(s->error) : NULL;
    json_t *x = json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "device", utf8_json(device),
                          "release", (json_int_t)s->release, "state", utf8_json(s->state),
                          "error", utf8_json(s->error), "error_text",
                          words ? json_string(words) : json_null(), "at", json_time(s->at));

    if (!x || json_array_append_new(f->fails, x)) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

enum MHD_Result admin_fleet_get(struct request *r)
{
    static const char *const allowed[] = {"hours", NULL};
    struct server *srv = r->srv;
    struct fleet f;
    struct store_window w;
    const char *bad, *s;
    char buf[128];
    uint64_t hours = FLEET_HOURS_DEFAULT;
    int64_t now = (int64_t)time(NULL);
    json_t *conf, *o;
    int rc = STORE_OK;

    if ((bad = http_query_problem(r, allowed, NULL, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    if ((s = http_query(r, "hours")) && (parse_u64(s, FLEET_HOURS_MAX, 0, &hours) < 0 || !hours))
        return http_error(r, 400, "bad_request", "hours must be 1..%d", FLEET_HOURS_MAX);
    memset(&f, 0, sizeof f);
    memset(&w, 0, sizeof w);
    f.since = now - (int64_t)hours * 3600;
    f.by_state = json_object();
    f.by_version = json_object();
    f.fails = json_array();
    w.since = f.since;
    w.limit = FLEET_FAILURES_MAX;
    w.first_hour = (now / 3600 - (int64_t)hours + 1) * 3600;
    w.hours = (unsigned)hours;
    w.confirmed = calloc(hours, sizeof *w.confirmed);
    conf = json_array();
    if (!f.by_state || !f.by_version || !f.fails || !w.confirmed || !conf)
        f.failed = 1;
    if (!f.failed)
        rc = srv->ops->device_list(srv->store, device_cb, &f);
    if (rc == STORE_OK && !f.failed)
        rc = srv->ops->status_window(srv->store, &w, failure_cb, &f);
    for (unsigned k = 0; rc == STORE_OK && !f.failed && k < w.hours; k++)
        if (json_array_append_new(conf, json_pack("{s:o, s:I}", "hour",
                                                  json_time(w.first_hour + 3600 * (int64_t)k),
                                                  "count", (json_int_t)w.confirmed[k])))
            f.failed = 1;
    free(w.confirmed);
    if (rc != STORE_OK || f.failed) {
        json_decref(f.by_state);
        json_decref(f.by_version);
        json_decref(f.fails);
        json_decref(conf);
        if (rc != STORE_OK)
            return http_store_error(r, rc, "summing up the fleet");
        return http_error(r, 500, "internal_error", "out of memory summing up the fleet");
    }
    o = json_pack("{s:o, s:i, s:I, s:o, s:o, s:o, s:I, s:o}", "generated_at", json_time(now),
                  "hours", (int)hours, "devices_seen", (json_int_t)f.seen, "by_state",
                  f.by_state, "by_version", f.by_version, "failures", f.fails, "failures_total",
                  (json_int_t)w.failures_total, "confirmations", conf);
    return http_json(r, 200, o);
}
