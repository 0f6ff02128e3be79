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
 * It uses the store's existing methods (device_list, then status_history of
 * each device seen in the window: a device not seen since has no row in
 * it), so it costs one history read per recently active device.
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
#define FLEET_HISTORY_ROWS 200

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
    int64_t since;          /* start of the window (failures) */
    int64_t first_hour;     /* start of the first hourly bucket */
    unsigned hours;
    unsigned *confirmed;    /* per bucket */
    char (*ids)[65];        /* devices seen in the window */
    size_t nids, cap;
    int failed;             /* out of memory */
    struct failure {
        int64_t at, release;
        char state[STORE_STATE_MAX + 1];
        char error[STORE_ERROR_MAX + 1];
        size_t dev;         /* index in ids */
    } *fails;
    size_t nfails, fcap;
    size_t cur;             /* device whose history is being read */
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
    if (d->last_seen < f->since)
        return 0;
    if (f->nids == f->cap) {
        size_t n = f->cap ? 2 * f->cap : 64;
        void *p = realloc(f->ids, n * sizeof *f->ids);
        if (!p) {
            f->failed = 1;
            return 1;
        }
        f->ids = p;
        f->cap = n;
    }
    snprintf(f->ids[f->nids++], sizeof f->ids[0], "%s", d->id);
    return 0;
}

static int status_cb(void *ctx, const struct store_status *s)
{
    struct fleet *f = ctx;

    if (s->at < f->since)
        return 1; /* newest first: the rest is older */
    if (!strcmp(s->state, "confirmed") && s->at >= f->first_hour) {
        int64_t k = (s->at - f->first_hour) / 3600;
        if (k >= 0 && k < (int64_t)f->hours)
            f->confirmed[k]++;
    }
    if (strcmp(s->state, "failed") && strcmp(s->state, "rolled_back") && !s->error[0])
        return 0;
    if (f->nfails == f->fcap) {
        size_t n = f->fcap ? 2 * f->fcap : 64;
        void *p = realloc(f->fails, n * sizeof *f->fails);
        if (!p) {
            f->failed = 1;
            return 1;
        }
        f->fails = p;
        f->fcap = n;
    }
    struct failure *x = &f->fails[f->nfails++];
    x->at = s->at;
    x->release = s->release;
    x->dev = f->cur;
    snprintf(x->state, sizeof x->state, "%s", s->state);
    snprintf(x->error, sizeof x->error, "%s", s->error);
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct failure *x = a, *y = b;
    return x->at < y->at ? 1 : x->at > y->at ? -1 : 0;
}

enum MHD_Result admin_fleet_get(struct request *r)
{
    static const char *const allowed[] = {"hours", NULL};
    struct server *srv = r->srv;
    struct fleet f;
    const char *bad, *s;
    char buf[128];
    uint64_t hours = FLEET_HOURS_DEFAULT;
    int64_t now = (int64_t)time(NULL);
    json_t *fails, *conf, *o;
    int rc = STORE_OK;

    if ((bad = http_query_problem(r, allowed, NULL, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    if ((s = http_query(r, "hours")) && (parse_u64(s, FLEET_HOURS_MAX, 0, &hours) < 0 || !hours))
        return http_error(r, 400, "bad_request", "hours must be 1..%d", FLEET_HOURS_MAX);
    memset(&f, 0, sizeof f);
    f.hours = (unsigned)hours;
    f.since = now - (int64_t)hours * 3600;
    f.first_hour = (now / 3600 - (int64_t)hours + 1) * 3600;
    f.by_state = json_object();
    f.by_version = json_object();
    f.confirmed = calloc(hours, sizeof *f.confirmed);
    if (!f.by_state || !f.by_version || !f.confirmed)
        f.failed = 1;
    if (!f.failed)
        rc = srv->ops->device_list(srv->store, device_cb, &f);
    for (f.cur = 0; rc == STORE_OK && !f.failed && f.cur < f.nids; f.cur++)
        rc = srv->ops->status_history(srv->store, f.ids[f.cur], FLEET_HISTORY_ROWS, status_cb,
                                      &f);
    if (rc != STORE_OK || f.failed) {
        json_decref(f.by_state);
        json_decref(f.by_version);
        free(f.confirmed);
        free(f.ids);
        free(f.fails);
        if (rc != STORE_OK)
            return http_store_error(r, rc, "summing up the fleet");
        return http_error(r, 500, "internal_error", "out of memory summing up the fleet");
    }
    if (f.nfails) /* f.fails is NULL when there is none: qsort wants a pointer */
        qsort(f.fails, f.nfails, sizeof *f.fails, newest_first);
    fails = json_array();
    for (size_t i = 0; i < f.nfails && i < FLEET_FAILURES_MAX; i++) {
        const char *words = f.fails[i].error[0] ? fleet_error_words(f.fails[i].error) : NULL;
        json_array_append_new(
            fails, json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "device",
                             utf8_json(f.ids[f.fails[i].dev]), "release",
                             (json_int_t)f.fails[i].release, "state", utf8_json(f.fails[i].state),
                             "error", utf8_json(f.fails[i].error), "error_text",
                             words ? json_string(words) : json_null(), "at",
                             json_time(f.fails[i].at)));
    }
    conf = json_array();
    for (unsigned k = 0; k < f.hours; k++)
        json_array_append_new(conf, json_pack("{s:o, s:i}", "hour",
                                              json_time(f.first_hour + 3600 * (int64_t)k),
                                              "count", (int)f.confirmed[k]));
    o = json_pack("{s:o, s:i, s:I, s:o, s:o, s:o, s:I, s:o}", "generated_at", json_time(now),
                  "hours", (int)hours, "devices_seen", (json_int_t)f.nids, "by_state",
                  f.by_state, "by_version", f.by_version, "failures", fails, "failures_total",
                  (json_int_t)f.nfails, "confirmations", conf);
    free(f.confirmed);
    free(f.ids);
    free(f.fails);
    return http_json(r, 200, o);
}
