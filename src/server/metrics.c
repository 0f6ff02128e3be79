/*
 * metrics.c - see metrics.h. Counters are atomics in one block sized at
 * start (routes x statuses, routes x buckets): counting a request costs a
 * few relaxed atomic adds and no lock. The fleet part of a scrape walks the
 * devices and rollouts through the store's method table.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devcache.h"
#include "http.h"
#include "server.h"
#include "store.h"
#include "utf8.h"

static const unsigned statuses[] = {200, 201, 204, 206, 400, 401, 403, 404, 405, 409,
                                    413, 414, 422, 429, 500, 503, 0 /* other */};
#define NSTATUS (sizeof statuses / sizeof statuses[0])
/* upper bounds in microseconds; one more bucket for +Inf */
static const uint64_t bucket_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000,
                                     100000, 250000, 500000, 1000000, 2500000, 5000000};
#define NBUCKET (sizeof bucket_us / sizeof bucket_us[0] + 1)

struct route_counters {
    atomic_uint_fast64_t status[NSTATUS];
    atomic_uint_fast64_t bucket[NBUCKET];
    atomic_uint_fast64_t sum_us, count, bytes;
};

struct metrics {
    const char *const *names;
    int n;                       /* routes + 1 ("other") */
    struct route_counters r[];
};

struct metrics *metrics_new(const char *const *routes, int nroutes)
{
    struct metrics *m = calloc(1, sizeof *m + (size_t)(nroutes + 1) * sizeof m->r[0]);
    if (!m)
        return NULL;
    m->names = routes;
    m->n = nroutes + 1;
    return m;
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_request(struct metrics *m, int route, unsigned status, uint64_t us, uint64_t bytes)
{
    struct route_counters *c;
    size_t s = 0, b = 0;

    if (!m)
        return;
    c = &m->r[route >= 0 && route < m->n - 1 ? route : m->n - 1];
    while (s < NSTATUS - 1 && statuses[s] != status)
        s++;
    while (b < NBUCKET - 1 && us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&c->status[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->bytes, bytes, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f), fputc(*s, f);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

/* --- fleet gauges ------------------------------------------------------------ */

#define VERSIONS_MAX 64 /* distinct versions shown (bounded cardinality) */

struct tally {
    char key[VERSIONS_MAX][STORE_VERSION_MAX + 1];
    uint64_t n[VERSIONS_MAX];
    int used;
    uint64_t other;
};

static void tally_add(struct tally *t, const char *key)
{
    for (int i = 0; i < t->used; i++)
        if (!strcmp(t->key[i], key)) {
            t->n[i]++;
            return;
        }
    if (t->used == VERSIONS_MAX) {
        t->other++;
        return;
    }
    snprintf(t->key[t->used], sizeof t->key[0], "%s", key);
    utf8_sanitize(t->key[t->used]); /* label values are UTF-8 */
    t->n[t->used++] = 1;
}

struct devtally {
    struct tally state, version;
};

static int device_cb(void *ctx, const struct store_device *d)
{
    struct devtally *t = ctx;
    tally_add(&t->state, d->state[0] ? d->state : "none");
    tally_add(&t->version, d->current_version[0] ? d->current_version : "unknown");
    return 0;
}

struct rollctx {
    struct server *srv;
    FILE *f;
    uint64_t by_state[5];
};

static const char *const rollout_states[] = {"running", "paused", "halted", "aborted",
                                             "completed"};

static int rollout_cb(void *ctx, const struct store_rollout *r)
{
    static const char *const outcomes[] = {"offered", "downloading", "installed", "confirmed",
                                           "failed", "rolled_back", "timed_out"};
    struct rollctx *c = ctx;
    struct store_stage_counts sc[STORE_STAGES_MAX];
    int active = !strcmp(r->state, "running") || !strcmp(r->state, "paused");

    for (int i = 0; i < 5; i++)
        if (!strcmp(r->state, rollout_states[i]))
            c->by_state[i]++;
    fprintf(c->f, "fota_rollout_current_stage{rollout=\"%lld\",state=\"%s\"} %d\n",
            (long long)r->id, r->state, r->stage + 1);
    if (!active || c->srv->ops->rollout_progress(c->srv->store, r->id, sc, r->nstages) != STORE_OK)
        return 0;
    for (int k = 0; k < r->nstages; k++) {
        const int64_t v[] = {sc[k].offered, sc[k].downloading, sc[k].installed, sc[k].confirmed,
                             sc[k].failed, sc[k].rolled_back, sc[k].timed_out};
        fprintf(c->f, "fota_rollout_stage_devices{rollout=\"%lld\",stage=\"%d\"} %lld\n",
                (long long)r->id, k + 1, (long long)sc[k].members);
        for (size_t o = 0; o < sizeof outcomes / sizeof outcomes[0]; o++)
            fprintf(c->f,
                    "fota_rollout_stage_status{rollout=\"%lld\",stage=\"%d\",status=\"%s\"} "
                    "%lld\n", (long long)r->id, k + 1, outcomes[o], (long long)v[o]);
    }
    return 0;
}

char *metrics_render(struct server *srv, size_t *len)
{
    struct metrics *m = srv->metrics;
    struct devtally *t = calloc(1, sizeof *t);
    struct rollctx rc;
    char *buf = NULL;
    FILE *f;

    if (!t || !(f = open_memstream(&buf, len))) {
        free(t);
        return NULL;
    }
    fputs("# HELP fota_http_requests_total Requests answered, by route and status.\n"
          "# TYPE fota_http_requests_total counter\n", f);
    for (int i = 0; m && i < m->n; i++)
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t v = get(&m->r[i].status[s]);
            if (!v)
                continue;
            fputs("fota_http_requests_total{route=\"", f);
            label(f, i < m->n - 1 ? m->names[i] : "other");
            if (statuses[s])
                fprintf(f, "\",status=\"%u\"} %llu\n", statuses[s], (unsigned long long)v);
            else
                fprintf(f, "\",status=\"other\"} %llu\n", (unsigned long long)v);
        }
    fputs("# HELP fota_http_request_duration_seconds Time from the request's first byte to "
          "its end.\n# TYPE fota_http_request_duration_seconds histogram\n", f);
    for (int i = 0; m && i < m->n; i++) {
        uint64_t cum = 0;
        const char *name = i < m->n - 1 ? m->names[i] : "other";
        if (!get(&m->r[i].count))
            continue;
        for (size_t b = 0; b < NBUCKET; b++) {
            cum += get(&m->r[i].bucket[b]);
            fputs("fota_http_request_duration_seconds_bucket{route=\"", f);
            label(f, name);
            if (b < NBUCKET - 1)
                fprintf(f, "\",le=\"%g\"} %llu\n", (double)bucket_us[b] / 1e6,
                        (unsigned long long)cum);
            else
                fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        fputs("fota_http_request_duration_seconds_sum{route=\"", f);
        label(f, name);
        fprintf(f, "\"} %.6f\n", (double)get(&m->r[i].sum_us) / 1e6);
        fputs("fota_http_request_duration_seconds_count{route=\"", f);
        label(f, name);
        fprintf(f, "\"} %llu\n", (unsigned long long)get(&m->r[i].count));
    }
    fputs("# HELP fota_http_response_bytes_total Bytes answered (bodies), by route.\n"
          "# TYPE fota_http_response_bytes_total counter\n", f);
    for (int i = 0; m && i < m->n; i++) {
        if (!get(&m->r[i].count))
            continue;
        fputs("fota_http_response_bytes_total{route=\"", f);
        label(f, i < m->n - 1 ? m->names[i] : "other");
        fprintf(f, "\"} %llu\n", (unsigned long long)get(&m->r[i].bytes));
    }
    {
        uint64_t hits, misses;
        devcache_stats(srv->devcache, &hits, &misses);
        fprintf(f, "# HELP fota_device_auth_cache_total Device authentications answered from "
                   "the device cache (hit) or from the store (miss).\n"
                   "# TYPE fota_device_auth_cache_total counter\n"
                   "fota_device_auth_cache_total{result=\"hit\"} %llu\n"
                   "fota_device_auth_cache_total{result=\"miss\"} %llu\n",
                (unsigned long long)hits, (unsigned long long)misses);
    }

    if (srv->ops->device_list(srv->store, device_cb, t) == STORE_OK) {
        fputs("# HELP fota_devices Registered devices by their last reported state.\n"
              "# TYPE fota_devices gauge\n", f);
        for (int i = 0; i < t->state.used; i++) {
            fputs("fota_devices{state=\"", f);
            label(f, t->state.key[i]);
            fprintf(f, "\"} %llu\n", (unsigned long long)t->state.n[i]);
        }
        fputs("# HELP fota_devices_by_version Registered devices by confirmed running version "
              "(at most 64 versions; the rest as \"other\").\n"
              "# TYPE fota_devices_by_version gauge\n", f);
        for (int i = 0; i < t->version.used; i++) {
            fputs("fota_devices_by_version{version=\"", f);
            label(f, t->version.key[i]);
            fprintf(f, "\"} %llu\n", (unsigned long long)t->version.n[i]);
        }
        if (t->version.other)
            fprintf(f, "fota_devices_by_version{version=\"other\"} %llu\n",
                    (unsigned long long)t->version.other);
    }
    memset(&rc, 0, sizeof rc);
    rc.srv = srv;
    rc.f = f;
    fputs("# HELP fota_rollout_current_stage The open stage of each rollout (1-based).\n"
          "# TYPE fota_rollout_current_stage gauge\n"
          "# HELP fota_rollout_stage_devices Members of each stage of an active rollout.\n"
          "# TYPE fota_rollout_stage_devices gauge\n"
          "# HELP fota_rollout_stage_status Members of a stage of an active rollout by "
          "progress and outcome.\n# TYPE fota_rollout_stage_status gauge\n", f);
    if (srv->ops->rollout_list(srv->store, rollout_cb, &rc) == STORE_OK) {
        fputs("# HELP fota_rollouts Rollouts by state (halted: stopped by the health rule).\n"
              "# TYPE fota_rollouts gauge\n", f);
        for (int i = 0; i < 5; i++)
            fprintf(f, "fota_rollouts{state=\"%s\"} %llu\n", rollout_states[i],
                    (unsigned long long)rc.by_state[i]);
    }
    free(t);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* --- GET /metrics ------------------------------------------------------------------ */

enum MHD_Result admin_metrics_get(struct request *r)
{
    char buf[128];
    size_t len = 0;
    char *text;

    if (http_query_problem(r, NULL, NULL, buf, sizeof buf))
        return http_error(r, 400, "bad_request", "%s", buf);
    if (!(text = metrics_render(r->srv, &len)))
        return http_error(r, 500, "internal_error", "cannot render the metrics");
    return http_body(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}
