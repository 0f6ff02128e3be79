/*
 * rollout.c - the rules of staged rollouts (rollout.h) and the evaluator
 * that applies them: cohorts by hash, stage bounds, the health rule, the
 * operator's actions as a table, late joiners, deadlines, and the tick.
 * SQL lives in the store (store_sqlite_rollout.c); HTTP in api_rollout.c.
 */
#include "rollout.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "log.h"
#include "server.h"

struct rollouts {
    pthread_mutex_t mu; /* one evaluation or action at a time */
    pthread_mutex_t tmu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop;
    unsigned tick;
    struct server *srv;
};

/* --- pure rules -------------------------------------------------------------- */

int rollout_parse_stages(const char *spec, struct rollout_stage *st, int *n, char *canon,
                         size_t canon_len, char *err, size_t err_len)
{
    const char *p = spec;
    size_t k = 0;
    int count_kind = -1;

    *n = 0;
    if (!spec || !*spec) {
        snprintf(err, err_len, "stages must be a list such as \"1%%,10%%,50%%,100%%\" or "
                               "\"5,50,all\"");
        return -1;
    }
    if (canon_len)
        canon[0] = '\0';
    while (*p) {
        char tok[24];
        size_t len = strcspn(p, ",");
        struct rollout_stage s = {0, 0};
        int last;

        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof tok) {
            snprintf(err, err_len, "stage %d is empty or too long", *n + 1);
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        p += strcspn(p, ",");
        last = *p == '\0';
        if (*p == ',' && *++p == '\0') {
            snprintf(err, err_len, "stages end with a comma");
            return -1;
        }
        if (*n == STORE_STAGES_MAX) {
            snprintf(err, err_len, "at most %d stages", STORE_STAGES_MAX);
            return -1;
        }
        if (!strcmp(tok, "all")) {
            if (!last) {
                snprintf(err, err_len, "\"all\" can only be the last stage");
                return -1;
            }
            s.value = 10000;
        } else if (tok[len - 1] == '%') {
            /* up to two decimals: hundredths of a percent */
            uint64_t whole = 0, frac = 0;
            int digits = 0, fd = 0;
            size_t i = 0;
            for (; i < len - 1 && tok[i] >= '0' && tok[i] <= '9' && digits < 4; i++, digits++)
                whole = whole * 10 + (uint64_t)(tok[i] - '0');
            if (i < len - 1 && tok[i] == '.') {
                for (i++; i < len - 1 && tok[i] >= '0' && tok[i] <= '9' && fd < 2; i++, fd++)
                    frac = frac * 10 + (uint64_t)(tok[i] - '0');
                if (fd == 0)
                    digits = 0;
            }
            while (fd < 2) {
                frac *= 10;
                fd++;
            }
            s.value = whole * 100 + frac;
            if (!digits || i != len - 1 || s.value == 0 || s.value > 10000) {
                snprintf(err, err_len, "stage %d: \"%s\" is not a percentage in (0, 100] with "
                         "at most two decimals", *n + 1, tok);
                return -1;
            }
        } else {
            uint64_t v = 0;
            size_t i = 0;
            for (; i < len && tok[i] >= '0' && tok[i] <= '9' && i < 9; i++)
                v = v * 10 + (uint64_t)(tok[i] - '0');
            if (i != len || v == 0) {
                snprintf(err, err_len, "stage %d: \"%s\" is not a device count (1-999999999), "
                         "a percentage (\"10%%\") or \"all\"", *n + 1, tok);
                return -1;
            }
            s.is_count = 1;
            s.value = v;
        }
        if (strcmp(tok, "all") != 0) {
            if (count_kind >= 0 && count_kind != s.is_count) {
                snprintf(err, err_len, "stages mix counts and percentages (only \"all\" may "
                         "end a list of counts)");
                return -1;
            }
            count_kind = s.is_count;
        }
        if (*n > 0 && st[*n - 1].is_count == s.is_count && s.value <= st[*n - 1].value) {
            snprintf(err, err_len, "stage %d (\"%s\") does not grow: stages are cumulative",
                     *n + 1, tok);
            return -1;
        }
        st[(*n)++] = s;
        if (canon_len)
            k += (size_t)snprintf(canon + k, k < canon_len ? canon_len - k : 0, "%s%s",
                                  *n > 1 ? "," : "", tok);
    }
    if (k >= canon_len) {
        snprintf(err, err_len, "stages are too long");
        return -1;
    }
    return 0;
}

uint32_t rollout_hash(uint64_t salt, const char *device)
{
    char msg[96];
    uint8_t h[32];
    int n = snprintf(msg, sizeof msg, "%016" PRIx64 ":%s", salt, device);
    keys_sha256(msg, (size_t)n, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

void rollout_bounds(const struct rollout_stage *st, int n, const uint64_t *sorted, size_t ndev,
                    uint64_t *bound)
{
    for (int k = 0; k < n; k++) {
        if (!st[k].is_count)
            bound[k] = st[k].value * ROLLOUT_HASH_SPACE / 10000;
        else
            bound[k] = st[k].value >= ndev ? ROLLOUT_HASH_SPACE : sorted[st[k].value];
        if (k > 0 && bound[k] < bound[k - 1])
            bound[k] = bound[k - 1];
    }
}

int rollout_stage_of(const struct store_rollout *r, uint64_t h)
{
    int k = 0;
    while (k < r->nstages && h >= r->bound[k])
        k++;
    return k;
}

enum rollout_verdict rollout_judge(const struct store_rollout *r, int stage,
                                   const struct store_stage_counts *c, int64_t now, char *why,
                                   size_t n)
{
    int64_t fin = c->confirmed + c->failed + c->rolled_back + c->timed_out;
    int64_t bad = fin - c->confirmed;
    int64_t m = r->min_devices < c->members ? r->min_devices : c->members;

    if (fin > 0 && fin >= m && bad * 100 > (int64_t)r->max_failure_pct * fin) {
        snprintf(why, n, "stage %d: %" PRId64 " of %" PRId64 " finished devices failed (%" PRId64
                 " failed, %" PRId64 " rolled back, %" PRId64 " timed out): %" PRId64
                 "%% is above %d%%", stage + 1, bad, fin, c->failed, c->rolled_back,
                 c->timed_out, bad * 100 / fin, r->max_failure_pct);
        return ROLLOUT_HALT;
    }
    if (fin < m) {
        snprintf(why, n, "stage %d: %" PRId64 " of at least %" PRId64 " devices finished",
                 stage + 1, fin, m);
        return ROLLOUT_WAIT;
    }
    if (fin < c->offered) {
        snprintf(why, n, "stage %d: %" PRId64 " offered devices have not finished", stage + 1,
                 c->offered - fin);
        return ROLLOUT_WAIT;
    }
    if (stage == r->nstages - 1 && fin < c->members) {
        snprintf(why, n, "stage %d (the last): %" PRId64 " of %" PRId64 " devices finished",
                 stage + 1, fin, c->members);
        return ROLLOUT_WAIT;
    }
    if (now - r->stage_started_at < r->soak) {
        snprintf(why, n, "stage %d: healthy, soaking for %" PRId64 " s more", stage + 1,
                 r->soak - (now - r->stage_started_at));
        return ROLLOUT_WAIT;
    }
    if (c->members == 0)
        snprintf(why, n, "stage %d has no devices", stage + 1);
    else
        snprintf(why, n, "stage %d passed: %" PRId64 " confirmed, %" PRId64 " failed of %" PRId64
                 " finished (%" PRId64 "%%, at most %d%%)", stage + 1, c->confirmed, bad, fin,
                 fin ? bad * 100 / fin : 0, r->max_failure_pct);
    return ROLLOUT_PASS;
}

/* From each state, where each action leads (NULL: not allowed). */
static const struct {
    const char *state;
    const char *to[3]; /* indexed by enum rollout_action */
} action_table[] = {
    {"running", {"paused", NULL, "aborted"}},
    {"paused", {NULL, "running", "aborted"}},
    {"halted", {NULL, NULL, "aborted"}},
    {"completed", {NULL, NULL, "aborted"}},
    {"aborted", {NULL, NULL, NULL}},
};

static const char *const action_names[] = {"pause", "resume", "abort"};

const char *rollout_after_action(const char *state, enum rollout_action a)
{
    for (size_t i = 0; i < sizeof action_table / sizeof action_table[0]; i++)
        if (!strcmp(action_table[i].state, state))
            return (unsigned)a < 3 ? action_table[i].to[a] : NULL;
    return NULL;
}

int rollout_action_from_name(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, action_names[i]))
            return i;
    return -1;
}

/* --- the evaluator ------------------------------------------------------------- */

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

struct idlist {
    char (*v)[65];
    size_t n, cap;
    int failed;
};

static int collect_id(void *ctx, const char *id)
{
    struct idlist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char (*v)[65] = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = 1;
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    snprintf(l->v[l->n++], 65, "%s", id);
    return 0;
}

/* Make members of ids (hash and stage by r's salt and bounds) and add them. */
static int add_members(struct server *srv, const struct store_rollout *r, char (*ids)[65],
                       size_t n)
{
    struct store_member *m;
    int rc;

    if (n == 0)
        return STORE_OK;
    if (!(m = calloc(n, sizeof *m)))
        return STORE_ERR;
    for (size_t i = 0; i < n; i++) {
        snprintf(m[i].device, sizeof m[i].device, "%s", ids[i]);
        m[i].hash = rollout_hash(r->salt, ids[i]);
        m[i].stage = rollout_stage_of(r, m[i].hash);
    }
    rc = srv->ops->rollout_add_members(srv->store, r->id, m, n);
    free(m);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int rollout_create(struct server *srv, struct store_rollout *r, const struct rollout_stage *st,
                   const char *const *devices, size_t n)
{
    struct idlist ids = {0};
    struct store_member *m = NULL;
    uint64_t *sorted = NULL;
    int rc = STORE_ERR;
    int64_t now = now_s();

    if (keys_random(&r->salt, sizeof r->salt) < 0)
        return STORE_ERR;
    if (r->target == STORE_TARGET_DEVICES) {
        for (size_t i = 0; i < n; i++)
            if (collect_id(&ids, devices[i]))
                goto out;
    } else {
        r->id = 0; /* no rollout has id 0: every device of the target is "missing" */
        rc = srv->ops->rollout_missing(srv->store, r, NULL, collect_id, &ids);
        if (rc != STORE_OK || ids.failed) {
            rc = STORE_ERR;
            goto out;
        }
    }
    m = calloc(ids.n ? ids.n : 1, sizeof *m);
    sorted = calloc(ids.n ? ids.n : 1, sizeof *sorted);
    if (!m || !sorted)
        goto out;
    for (size_t i = 0; i < ids.n; i++) {
        snprintf(m[i].device, sizeof m[i].device, "%s", ids.v[i]);
        sorted[i] = m[i].hash = rollout_hash(r->salt, ids.v[i]);
    }
    qsort(sorted, ids.n, sizeof *sorted, cmp_u64);
    rollout_bounds(st, r->nstages, sorted, ids.n, r->bound);
    for (size_t i = 0; i < ids.n; i++)
        m[i].stage = rollout_stage_of(r, m[i].hash);
    snprintf(r->state, sizeof r->state, "running");
    r->stage = 0;
    r->stage_started_at = r->created_at = r->updated_at = now;
    snprintf(r->reason, sizeof r->reason, "created: release %" PRId64 " to %zu device(s) in %d "
             "stage(s) (%s)", r->release, ids.n, r->nstages, r->stages);
    pthread_mutex_lock(&srv->rollouts->mu);
    rc = srv->ops->rollout_create(srv->store, r, m, ids.n);
    pthread_mutex_unlock(&srv->rollouts->mu);
    if (rc == STORE_OK) {
        SLOG(SLOG_INFO, "rollout %" PRId64 ": %s", r->id, r->reason);
        rollout_evaluate(srv, r->id, 0); /* empty first stages pass at once */
        rc = srv->ops->rollout_get(srv->store, r->id, r);
    }
out:
    free(ids.v);
    free(m);
    free(sorted);
    return rc;
}

static int transition(struct server *srv, const struct store_rollout *r, const char *to_state,
                      int to_stage, int64_t now, const char *reason)
{
    int rc = srv->ops->rollout_transition(srv->store, r->id, r->state, r->stage, to_state,
                                          to_stage, now, reason);
    if (rc == STORE_OK)
        SLOG(!strcmp(to_state, "halted") ? SLOG_WARN : SLOG_INFO,
             "rollout %" PRId64 ": %s stage %d -> %s stage %d: %s", r->id, r->state,
             r->stage + 1, to_state, to_stage + 1, reason);
    return rc;
}

/* Called with the mutex held. */
static int evaluate_locked(struct server *srv, int64_t id, int sync)
{
    struct store_stage_counts c[STORE_STAGES_MAX];
    struct store_rollout r;
    char why[STORE_REASON_MAX + 1];
    int64_t now = now_s();
    int rc, expired;

    if ((rc = srv->ops->rollout_get(srv->store, id, &r)) != STORE_OK)
        return rc;
    if (strcmp(r.state, "running") != 0 && strcmp(r.state, "paused") != 0)
        return STORE_OK;
    if (sync && r.target != STORE_TARGET_DEVICES) {
        struct idlist ids = {0};
        rc = srv->ops->rollout_missing(srv->store, &r, NULL, collect_id, &ids);
        if (rc == STORE_OK && !ids.failed && ids.n) {
            rc = add_members(srv, &r, ids.v, ids.n);
            if (rc == STORE_OK)
                SLOG(SLOG_INFO, "rollout %" PRId64 ": %zu device(s) joined the target", r.id,
                     ids.n);
        }
        free(ids.v);
        if (rc != STORE_OK)
            return rc;
    }
    rc = srv->ops->rollout_expire(srv->store, r.id, now - r.deadline, now, &expired);
    if (rc != STORE_OK)
        return rc;
    if (expired)
        SLOG(SLOG_WARN, "rollout %" PRId64 ": %d device(s) did not confirm within %" PRId64
             " s of the offer: timed out", r.id, expired, r.deadline);
    for (;;) {
        int cur = r.stage < r.nstages ? r.stage : r.nstages - 1;
        if ((rc = srv->ops->rollout_progress(srv->store, r.id, c, r.nstages)) != STORE_OK)
            return rc;
        for (int k = 0; k <= cur; k++)
            if (rollout_judge(&r, k, &c[k], now, why, sizeof why) == ROLLOUT_HALT)
                return transition(srv, &r, "halted", r.stage, now, why) == STORE_ERR
                           ? STORE_ERR : STORE_OK;
        if (strcmp(r.state, "running") != 0 ||
            rollout_judge(&r, cur, &c[cur], now, why, sizeof why) != ROLLOUT_PASS)
            return STORE_OK;
        if (cur + 1 >= r.nstages) {
            char msg[STORE_REASON_MAX + 1];
            snprintf(msg, sizeof msg, "%.200s; all %d stages done", why, r.nstages);
            rc = transition(srv, &r, "completed", cur, now, msg);
            return rc == STORE_ERR ? STORE_ERR : STORE_OK;
        }
        rc = transition(srv, &r, "running", cur + 1, now, why);
        if (rc != STORE_OK)
            return rc == STORE_ERR ? STORE_ERR : STORE_OK;
        r.stage = cur + 1;
        r.stage_started_at = now;
    }
}

int rollout_evaluate(struct server *srv, int64_t id, int sync)
{
    int rc;
    pthread_mutex_lock(&srv->rollouts->mu);
    rc = evaluate_locked(srv, id, sync);
    pthread_mutex_unlock(&srv->rollouts->mu);
    return rc;
}

struct active {
    int64_t *id;
    size_t n, cap;
    int64_t release; /* 0: any */
};

static int collect_active(void *ctx, const struct store_rollout *r)
{
    struct active *a = ctx;
    if (strcmp(r->state, "running") != 0 && strcmp(r->state, "paused") != 0)
        return 0;
    if (a->release && r->release != a->release)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        int64_t *v = realloc(a->id, cap * sizeof *v);
        if (!v)
            return -1;
        a->id = v;
        a->cap = cap;
    }
    a->id[a->n++] = r->id;
    return 0;
}

static void evaluate_some(struct server *srv, int64_t release, int sync)
{
    struct active a = {NULL, 0, 0, release};
    if (srv->ops->rollout_list(srv->store, collect_active, &a) == STORE_OK)
        for (size_t i = 0; i < a.n; i++)
            if (rollout_evaluate(srv, a.id[i], sync) == STORE_ERR)
                SLOG(SLOG_WARN, "rollout %" PRId64 ": evaluation failed (store)", a.id[i]);
    free(a.id);
}

void rollout_evaluate_all(struct server *srv, int sync)
{
    evaluate_some(srv, 0, sync);
}

void rollout_after_status(struct server *srv, int64_t release, const char *state)
{
    if (!strcmp(state, "confirmed") || !strcmp(state, "failed") || !strcmp(state, "rolled_back"))
        evaluate_some(srv, release, 0);
}

int rollout_act(struct server *srv, int64_t id, enum rollout_action a, const char *reason,
                char state[STORE_STATE_MAX + 1])
{
    struct store_rollout r;
    char why[STORE_REASON_MAX + 1];
    const char *to;
    int rc;

    pthread_mutex_lock(&srv->rollouts->mu);
    rc = srv->ops->rollout_get(srv->store, id, &r);
    if (rc != STORE_OK)
        goto out;
    snprintf(state, STORE_STATE_MAX + 1, "%s", r.state);
    if (!(to = rollout_after_action(r.state, a))) {
        rc = STORE_EXISTS;
        goto out;
    }
    snprintf(why, sizeof why, "%s by the operator%s%.200s", action_names[a],
             reason && *reason ? ": " : "", reason ? reason : "");
    rc = transition(srv, &r, to, r.stage, now_s(), why);
    if (rc == STORE_NOT_FOUND)
        rc = STORE_EXISTS; /* moved meanwhile: the caller reads it again */
out:
    pthread_mutex_unlock(&srv->rollouts->mu);
    if (rc == STORE_OK && a == ROLLOUT_RESUME)
        rollout_evaluate(srv, id, 1);
    return rc;
}

struct join_ctx {
    struct server *srv;
    const char *device;
    int rc;
};

static int join_one(void *ctx, const struct store_rollout *r)
{
    struct join_ctx *j = ctx;
    char id[1][65];
    snprintf(id[0], sizeof id[0], "%s", j->device);
    if (add_members(j->srv, r, id, 1) != STORE_OK)
        j->rc = STORE_ERR;
    else
        SLOG(SLOG_INFO, "rollout %" PRId64 ": device %s joined the target (stage %d)", r->id,
             j->device, rollout_stage_of(r, rollout_hash(r->salt, j->device)) + 1);
    return 0;
}

int rollout_offer(struct server *srv, const char *device, int chip,
                  struct store_rollout_offer *out)
{
    static const char *const joinable[] = {"running", "paused", "completed", NULL};
    struct join_ctx j = {srv, device, STORE_OK};
    int rc, can_join = 0;

    /* a poll: nothing to join (the common case) costs one read */
    memset(out, 0, sizeof *out);
    rc = srv->ops->rollout_lookup(srv->store, device, chip, joinable, &can_join, out);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return STORE_ERR;
    if (!can_join)
        return rc;
    /* joins happen here, outside the evaluator's mutex: a member is one
     * INSERT OR IGNORE, and its stage depends only on the rollout's fixed
     * salt and bounds */
    rc = srv->ops->rollout_joinable(srv->store, device, chip, joinable, join_one, &j);
    if (rc != STORE_OK || j.rc != STORE_OK)
        return STORE_ERR;
    memset(out, 0, sizeof *out);
    return srv->ops->rollout_for_device(srv->store, device, chip, out);
}

/* --- the tick ------------------------------------------------------------------- */

static void *tick_main(void *arg)
{
    struct rollouts *ro = arg;
    struct timespec ts;

    pthread_mutex_lock(&ro->tmu);
    while (!ro->stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ro->tick;
        while (!ro->stop && pthread_cond_timedwait(&ro->cv, &ro->tmu, &ts) != ETIMEDOUT)
            ;
        if (ro->stop)
            break;
        pthread_mutex_unlock(&ro->tmu);
        rollout_evaluate_all(ro->srv, 1);
        pthread_mutex_lock(&ro->tmu);
    }
    pthread_mutex_unlock(&ro->tmu);
    return NULL;
}

int rollouts_start(struct server *srv, unsigned tick_seconds)
{
    struct rollouts *ro = calloc(1, sizeof *ro);
    if (!ro)
        return -1;
    pthread_mutex_init(&ro->mu, NULL);
    pthread_mutex_init(&ro->tmu, NULL);
    pthread_cond_init(&ro->cv, NULL);
    ro->tick = tick_seconds;
    ro->srv = srv;
    srv->rollouts = ro;
    if (tick_seconds) {
        if (pthread_create(&ro->thread, NULL, tick_main, ro) != 0) {
            SLOG(SLOG_ERROR, "cannot start the rollout evaluator thread");
            return -1;
        }
        ro->running = 1;
    }
    return 0;
}

void rollouts_stop(struct server *srv)
{
    struct rollouts *ro = srv->rollouts;
    if (!ro)
        return;
    if (ro->running) {
        pthread_mutex_lock(&ro->tmu);
        ro->stop = 1;
        pthread_cond_signal(&ro->cv);
        pthread_mutex_unlock(&ro->tmu);
        pthread_join(ro->thread, NULL);
    }
    pthread_mutex_destroy(&ro->mu);
    pthread_mutex_destroy(&ro->tmu);
    pthread_cond_destroy(&ro->cv);
    free(ro);
    srv->rollouts = NULL;
}
