/*
 * store_pg_rollout.c - the rollout methods of the PostgreSQL store, the same
 * rules as store_sqlite_rollout.c: every change of state is a compare-and-
 * set on (state, stage) that appends its event in the same transaction (an
 * UPDATE ... WHERE state AND stage re-checks its condition on the locked row
 * under READ COMMITTED, so two nodes' evaluators cannot both move a
 * rollout); members never change stage; outcomes are set once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_int.h"

#define ROLLOUT_COLS                                                                        \
    "id, release_id, target, COALESCE(chip, -1), COALESCE(tag, ''), stages, bounds, salt, " \
    "min_devices, max_failure_pct, deadline, soak, allow_downgrade, state, stage, "        \
    "stage_started_at, created_at, updated_at, reason"

static void read_rollout(const PGresult *res, int i, struct store_rollout *r)
{
    char bounds[STORE_STAGES_MAX * 21 + 1];
    const char *p;
    char *end;

    memset(r, 0, sizeof *r);
    r->id = pg_i64_at(res, i, 0);
    r->release = pg_i64_at(res, i, 1);
    r->target = (int)pg_i64_at(res, i, 2);
    r->chip = (int)pg_i64_at(res, i, 3);
    pg_txt_at(res, i, 4, r->tag, sizeof r->tag);
    pg_txt_at(res, i, 5, r->stages, sizeof r->stages);
    pg_txt_at(res, i, 6, bounds, sizeof bounds);
    for (p = bounds; *p && r->nstages < STORE_STAGES_MAX; p = *end ? end + 1 : end) {
        r->bound[r->nstages++] = strtoull(p, &end, 10);
        if (end == p)
            break;
    }
    r->salt = (uint64_t)pg_i64_at(res, i, 7);
    r->min_devices = (int)pg_i64_at(res, i, 8);
    r->max_failure_pct = (int)pg_i64_at(res, i, 9);
    r->deadline = pg_i64_at(res, i, 10);
    r->soak = pg_i64_at(res, i, 11);
    r->allow_downgrade = (int)pg_i64_at(res, i, 12);
    pg_txt_at(res, i, 13, r->state, sizeof r->state);
    r->stage = (int)pg_i64_at(res, i, 14);
    r->stage_started_at = pg_i64_at(res, i, 15);
    r->created_at = pg_i64_at(res, i, 16);
    r->updated_at = pg_i64_at(res, i, 17);
    pg_txt_at(res, i, 18, r->reason, sizeof r->reason);
}

static int add_event(PGconn *c, int64_t id, int64_t at, const char *from_state, int from_stage,
                     const char *to_state, int to_stage, const char *reason)
{
    struct pg_args a = {0};
    pg_i64(&a, id);
    pg_i64(&a, at);
    pg_txt(&a, from_state);
    pg_txt(&a, to_state);
    pg_i64(&a, from_stage);
    pg_i64(&a, to_stage);
    pg_txt(&a, reason);
    return pg_cmd(c, "INSERT INTO rollout_events (rollout_id, at, from_state, to_state,"
                     " from_stage, to_stage, reason) VALUES ($1,$2,$3,$4,$5,$6,$7)", &a,
                  "insert rollout event", NULL) ? -1 : 0;
}

static int insert_members(PGconn *c, int64_t id, const struct store_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct pg_args a = {0};
        int rc;
        pg_i64(&a, id);
        pg_txt(&a, m[i].device);
        pg_i64(&a, (int64_t)m[i].hash);
        pg_i64(&a, m[i].stage);
        rc = pg_cmd(c, "INSERT INTO rollout_members (rollout_id, device_id, hash, stage)"
                       " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING", &a,
                    "insert rollout member", NULL);
        if (rc != STORE_OK)
            return rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: no such device */
    }
    return STORE_OK;
}

struct create_ctx { struct store_rollout *r; const struct store_member *m; size_t n; };

static int create_body(PGconn *c, void *ctx)
{
    struct create_ctx *x = ctx;
    struct store_rollout *r = x->r;
    char bounds[STORE_STAGES_MAX * 21 + 1] = "";
    struct pg_args a = {0};
    size_t k = 0;
    PGresult *res;
    int rc;

    for (int i = 0; i < r->nstages && i < STORE_STAGES_MAX; i++)
        k += (size_t)snprintf(bounds + k, sizeof bounds - k, "%s%" PRIu64, i ? "," : "",
                              r->bound[i]);
    pg_i64(&a, r->release);
    pg_i64(&a, r->target);
    pg_i64(&a, r->chip);
    pg_txt(&a, r->target == STORE_TARGET_TAG ? r->tag : NULL);
    pg_txt(&a, r->stages);
    pg_txt(&a, bounds);
    pg_i64(&a, (int64_t)r->salt);
    pg_i64(&a, r->min_devices);
    pg_i64(&a, r->max_failure_pct);
    pg_i64(&a, r->deadline);
    pg_i64(&a, r->soak);
    pg_i64(&a, r->allow_downgrade ? 1 : 0);
    pg_txt(&a, r->state);
    pg_i64(&a, r->stage);
    pg_i64(&a, r->stage_started_at);
    pg_i64(&a, r->created_at);
    pg_i64(&a, r->updated_at);
    pg_txt(&a, r->reason);
    res = pg_run(c, "INSERT INTO rollouts (release_id, target, chip, tag, stages, bounds, salt,"
                    " min_devices, max_failure_pct, deadline, soak, allow_downgrade, state,"
                    " stage, stage_started_at, created_at, updated_at, reason, after_deployment)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,"
                    " (SELECT COALESCE(MAX(id), 0) FROM deployments)) RETURNING id", &a);
    rc = pg_check(res, "insert rollout");
    if (rc == STORE_OK)
        r->id = pg_i64_at(res, 0, 0);
    PQclear(res);
    if (rc != STORE_OK)
        return rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: no such release */
    if ((rc = insert_members(c, r->id, x->m, x->n)) != STORE_OK)
        return rc;
    return add_event(c, r->id, r->created_at, "", 0, r->state, r->stage, r->reason) ? STORE_ERR
                                                                                   : STORE_OK;
}

int pg_rollout_create(struct store *s, struct store_rollout *r, const struct store_member *m,
                      size_t n)
{
    struct create_ctx x = {r, m, n};
    return pg_tx(s, create_body, &x);
}

static int copy_rollout(void *ctx, const PGresult *r, int i)
{
    read_rollout(r, i, ctx);
    return 1;
}

int pg_rollout_get(struct store *s, int64_t id, struct store_rollout *out)
{
    struct pg_args a = {0};
    pg_i64(&a, id);
    return pg_rows(s, "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = $1", &a, "get rollout",
                   1, copy_rollout, out);
}

struct each_rollout { store_rollout_cb cb; void *ctx; };
static int each_rollout(void *ctx, const PGresult *r, int i)
{
    struct each_rollout *e = ctx;
    struct store_rollout ro;
    read_rollout(r, i, &ro);
    return e->cb(e->ctx, &ro);
}

int pg_rollout_list(struct store *s, store_rollout_cb cb, void *ctx)
{
    struct each_rollout e = {cb, ctx};
    return pg_rows(s, "SELECT " ROLLOUT_COLS " FROM rollouts ORDER BY id", NULL, "rollouts", 0,
                   each_rollout, &e);
}

struct transition_ctx {
    int64_t id, now;
    const char *from_state, *to_state, *reason;
    int from_stage, to_stage;
};

static int transition_body(PGconn *c, void *ctx)
{
    struct transition_ctx *t = ctx;
    struct pg_args a = {0};
    int rc, n = 0;

    pg_txt(&a, t->to_state);
    pg_i64(&a, t->to_stage);
    pg_i64(&a, t->now);
    pg_txt(&a, t->reason);
    pg_i64(&a, t->id);
    pg_txt(&a, t->from_state);
    pg_i64(&a, t->from_stage);
    rc = pg_cmd(c, "UPDATE rollouts SET state = $1, stage = $2, updated_at = $3, reason = $4,"
                   " stage_started_at = CASE WHEN stage != $2 THEN $3 ELSE stage_started_at END"
                   " WHERE id = $5 AND state = $6 AND stage = $7", &a, "rollout transition", &n);
    if (rc != STORE_OK)
        return STORE_ERR;
    if (n == 0)
        return STORE_NOT_FOUND;
    return add_event(c, t->id, t->now, t->from_state, t->from_stage, t->to_state, t->to_stage,
                     t->reason) ? STORE_ERR : STORE_OK;
}

int pg_rollout_transition(struct store *s, int64_t id, const char *from_state, int from_stage,
                          const char *to_state, int to_stage, int64_t now, const char *reason)
{
    struct transition_ctx t = {id, now, from_state, to_state, reason, from_stage, to_stage};
    return pg_tx(s, transition_body, &t);
}

struct each_event { store_rollout_event_cb cb; void *ctx; };
static int each_event(void *ctx, const PGresult *r, int i)
{
    struct each_event *x = ctx;
    struct store_rollout_event e;
    memset(&e, 0, sizeof e);
    e.at = pg_i64_at(r, i, 0);
    pg_txt_at(r, i, 1, e.from_state, sizeof e.from_state);
    pg_txt_at(r, i, 2, e.to_state, sizeof e.to_state);
    e.from_stage = (int)pg_i64_at(r, i, 3);
    e.to_stage = (int)pg_i64_at(r, i, 4);
    pg_txt_at(r, i, 5, e.reason, sizeof e.reason);
    return x->cb(x->ctx, &e);
}

int pg_rollout_events(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx)
{
    struct each_event x = {cb, ctx};
    struct pg_args a = {0};
    pg_i64(&a, id);
    return pg_rows(s, "SELECT at, from_state, to_state, from_stage, to_stage, reason"
                      " FROM rollout_events WHERE rollout_id = $1 ORDER BY id", &a,
                   "rollout events", 0, each_event, &x);
}

struct progress_ctx { struct store_stage_counts *c; int n; };
static int each_stage(void *ctx, const PGresult *r, int i)
{
    struct progress_ctx *p = ctx;
    int k = (int)pg_i64_at(r, i, 0);
    if (k < 0 || k >= p->n)
        return 0;
    p->c[k].members = pg_i64_at(r, i, 1);
    p->c[k].offered = pg_i64_at(r, i, 2);
    p->c[k].downloading = pg_i64_at(r, i, 3);
    p->c[k].installed = pg_i64_at(r, i, 4);
    p->c[k].confirmed = pg_i64_at(r, i, 5);
    p->c[k].failed = pg_i64_at(r, i, 6);
    p->c[k].rolled_back = pg_i64_at(r, i, 7);
    p->c[k].timed_out = pg_i64_at(r, i, 8);
    return 0;
}

int pg_rollout_progress(struct store *s, int64_t id, struct store_stage_counts *c, int n)
{
    struct progress_ctx p = {c, n};
    struct pg_args a = {0};
    memset(c, 0, (size_t)n * sizeof *c);
    pg_i64(&a, id);
    return pg_rows(s, "SELECT stage, COUNT(*), COUNT(offered_at),"
                      " COUNT(*) FILTER (WHERE outcome = '' AND state IN ('downloading',"
                      "  'verifying')),"
                      " COUNT(*) FILTER (WHERE outcome = '' AND state = 'installed'),"
                      " COUNT(*) FILTER (WHERE outcome = 'confirmed'),"
                      " COUNT(*) FILTER (WHERE outcome = 'failed'),"
                      " COUNT(*) FILTER (WHERE outcome = 'rolled_back'),"
                      " COUNT(*) FILTER (WHERE outcome = 'timed_out')"
                      " FROM rollout_members WHERE rollout_id = $1 GROUP BY stage", &a,
                   "rollout progress", 0, each_stage, &p);
}

struct each_target { store_target_cb cb; void *ctx; };
static int each_target(void *ctx, const PGresult *r, int i)
{
    struct each_target *e = ctx;
    return e->cb(e->ctx, PQgetvalue(r, i, 0));
}

int pg_rollout_missing(struct store *s, const struct store_rollout *r, const char *device,
                       store_target_cb cb, void *ctx)
{
    struct each_target e = {cb, ctx};
    struct pg_args a = {0};
    const char *where;
    char sql[512];

    /* $1 chip, $2 device (NULL: all), $3 rollout, $4 tag (tag targets only:
     * PostgreSQL refuses a parameter no expression types) */
    if (r->target == STORE_TARGET_CHIP || r->target == STORE_TARGET_ALL)
        where = "d.chip = $1";
    else if (r->target == STORE_TARGET_TAG)
        where = "d.chip = $1 AND EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id"
                " AND t.tag = $4)";
    else
        return STORE_OK; /* a list: its members were all named at creation */
    snprintf(sql, sizeof sql,
             "SELECT d.id FROM devices d WHERE %s AND ($2::text IS NULL OR d.id = $2)"
             " AND NOT EXISTS (SELECT 1 FROM rollout_members m WHERE m.rollout_id = $3"
             " AND m.device_id = d.id) ORDER BY d.id", where);
    pg_i64(&a, r->chip);
    pg_txt(&a, device);
    pg_i64(&a, r->id);
    if (r->target == STORE_TARGET_TAG)
        pg_txt(&a, r->tag);
    return pg_rows(s, sql, &a, "target devices", 0, each_target, &e);
}

struct members_ctx { int64_t id; const struct store_member *m; size_t n; };
static int members_body(PGconn *c, void *ctx)
{
    struct members_ctx *x = ctx;
    return insert_members(c, x->id, x->m, x->n);
}

int pg_rollout_add_members(struct store *s, int64_t id, const struct store_member *m, size_t n)
{
    struct members_ctx x = {id, m, n};
    return pg_tx(s, members_body, &x);
}

/* The rollouts in one of states (NULL-terminated, at most 8, from $3 on)
 * whose target takes the device $1 of chip $2 but that do not count it as a
 * member yet: "FROM ... WHERE ..." into sql; the number of states. */
static int joinable_from(char *sql, size_t n, const char *const *states)
{
    char in[64] = "";
    int k = 0;

    for (; states[k] && k < 8; k++)
        snprintf(in + strlen(in), sizeof in - strlen(in), "%s$%d", k ? "," : "", k + 3);
    snprintf(sql, n,
             " FROM rollouts r WHERE r.state IN (%s) AND r.chip = $2"
             " AND (r.target IN (%d, %d) OR (r.target = %d AND EXISTS (SELECT 1 FROM"
             " device_tags t WHERE t.device_id = $1 AND t.tag = r.tag)))"
             " AND NOT EXISTS (SELECT 1 FROM rollout_members m WHERE m.rollout_id = r.id"
             " AND m.device_id = $1)",
             in, STORE_TARGET_CHIP, STORE_TARGET_ALL, STORE_TARGET_TAG);
    return k;
}

/* The newest rollout offering its release to device $1 of chip $2 (columns
 * id, release_id, allow_downgrade): a deployment made after the rollout
 * (for this device) takes over. */
#define OFFER_SQL                                                                             \
    "SELECT r.id, r.release_id, r.allow_downgrade FROM rollout_members m"                    \
    " JOIN rollouts r ON r.id = m.rollout_id WHERE m.device_id = $1 AND"                     \
    " ((r.state IN ('running', 'completed') AND m.stage <= r.stage) OR"                      \
    "  (r.state = 'paused' AND m.offered_at IS NOT NULL))"                                   \
    " AND NOT EXISTS (SELECT 1 FROM deployments d WHERE"                                     \
    "  d.id > r.after_deployment AND (d.chip = $2 OR EXISTS (SELECT 1 FROM"                  \
    "  deployment_devices x WHERE x.deployment_id = d.id"                                    \
    "  AND x.device_id = $1)))"                                                              \
    " ORDER BY r.id DESC LIMIT 1"

int pg_rollout_joinable(struct store *s, const char *device, int chip,
                        const char *const *states, store_rollout_cb cb, void *ctx)
{
    struct each_rollout e = {cb, ctx};
    struct pg_args a = {0};
    char from[768], sql[1024];
    int n = joinable_from(from, sizeof from, states);

    if (n == 0)
        return STORE_OK;
    snprintf(sql, sizeof sql, "SELECT " ROLLOUT_COLS "%s ORDER BY r.id", from);
    pg_txt(&a, device);
    pg_i64(&a, chip);
    for (int i = 0; i < n; i++)
        pg_txt(&a, states[i]);
    return pg_rows(s, sql, &a, "joinable rollouts", 0, each_rollout, &e);
}

int pg_rollout_expire(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n)
{
    struct pg_args a = {0};

    *n = 0;
    pg_i64(&a, now);
    pg_i64(&a, id);
    pg_i64(&a, cutoff);
    return pg_exec(s, "UPDATE rollout_members SET outcome = 'timed_out', finished_at = $1"
                      " WHERE rollout_id = $2 AND outcome = '' AND offered_at IS NOT NULL"
                      " AND offered_at <= $3", &a, "expire rollout members", n) == STORE_OK
               ? STORE_OK
               : STORE_ERR;
}

static int copy_offer(void *ctx, const PGresult *r, int i)
{
    struct store_rollout_offer *o = ctx;
    o->rollout = pg_i64_at(r, i, 0);
    o->release = pg_i64_at(r, i, 1);
    o->allow_downgrade = (int)pg_i64_at(r, i, 2);
    return 1;
}

int pg_rollout_for_device(struct store *s, const char *device, int chip,
                          struct store_rollout_offer *out)
{
    struct pg_args a = {0};
    pg_txt(&a, device);
    pg_i64(&a, chip);
    return pg_rows(s, OFFER_SQL, &a, "rollout for device", 1, copy_offer, out);
}

struct lookup { int *joinable; struct store_rollout_offer *out; int offered; };
static int copy_lookup(void *ctx, const PGresult *r, int i)
{
    struct lookup *l = ctx;
    *l->joinable = pg_i64_at(r, i, 0) != 0;
    l->offered = !PQgetisnull(r, i, 1);
    if (l->offered) {
        l->out->rollout = pg_i64_at(r, i, 1);
        l->out->release = pg_i64_at(r, i, 2);
        l->out->allow_downgrade = (int)pg_i64_at(r, i, 3);
    }
    return 1;
}

int pg_rollout_lookup(struct store *s, const char *device, int chip, const char *const *states,
                      int *joinable, struct store_rollout_offer *out)
{
    struct lookup l = {joinable, out, 0};
    struct pg_args a = {0};
    char from[768], sql[2048];
    int n = joinable_from(from, sizeof from, states), rc;

    /* one round trip for a poll: whether a rollout would take the device,
     * and the offer (the two reads rollout_joinable and rollout_for_device
     * make), which doubled the checks a node serves (bench/scale.sh) */
    if (n == 0)
        snprintf(from, sizeof from, " WHERE false");
    snprintf(sql, sizeof sql,
             "SELECT EXISTS (SELECT 1%s)::int, o.id, o.release_id, o.allow_downgrade"
             " FROM (SELECT 1) AS one LEFT JOIN LATERAL (" OFFER_SQL ") AS o ON true",
             from);
    pg_txt(&a, device);
    pg_i64(&a, chip);
    for (int i = 0; i < n; i++)
        pg_txt(&a, states[i]);
    *joinable = 0;
    rc = pg_rows(s, sql, &a, "rollout lookup", 1, copy_lookup, &l);
    if (rc == STORE_OK && !l.offered)
        rc = STORE_NOT_FOUND;
    return rc;
}

int pg_rollout_offered(struct store *s, int64_t rollout, const char *device, int64_t now)
{
    struct pg_args a = {0};

    pg_i64(&a, now);
    pg_i64(&a, rollout);
    pg_txt(&a, device);
    return pg_exec(s, "UPDATE rollout_members SET offered_at = $1 WHERE rollout_id = $2"
                      " AND device_id = $3 AND offered_at IS NULL", &a, "rollout offered",
                   NULL) == STORE_OK
               ? STORE_OK
               : STORE_ERR;
}

int pg_rollout_note_status(PGconn *c, const char *device, int64_t release, const char *state,
                           int64_t now)
{
    struct pg_args a = {0};
    pg_txt(&a, device);
    pg_i64(&a, release);
    pg_txt(&a, state);
    pg_i64(&a, now);
    /* every expression sees the row before the update: the first terminal
     * state becomes the outcome, later ones only the state */
    return pg_cmd(c, "UPDATE rollout_members SET state = $3,"
                     " outcome = CASE WHEN outcome = '' AND $3 IN ('confirmed', 'failed',"
                     "  'rolled_back') THEN $3 ELSE outcome END,"
                     " finished_at = CASE WHEN outcome = '' AND $3 IN ('confirmed', 'failed',"
                     "  'rolled_back') THEN $4 ELSE finished_at END"
                     " WHERE device_id = $1 AND offered_at IS NOT NULL AND rollout_id IN"
                     " (SELECT id FROM rollouts WHERE release_id = $2)", &a,
                  "note status in rollouts", NULL) ? -1 : 0;
}
