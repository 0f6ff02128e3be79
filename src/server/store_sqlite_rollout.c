/*
 * store_sqlite_rollout.c - the rollout methods of the SQLite store: the
 * rollout row, its members (one row per device of the target: cohort hash,
 * stage, first offer, last reported state, outcome) and its transitions.
 *
 * The store only keeps what rollout.c decides: every change of state is a
 * compare-and-set on (state, stage) that appends its event in the same
 * transaction, so two evaluators (the tick and a request) cannot both move
 * a rollout, and no transition is ever recorded without its reason. Members
 * of a rollout never change stage; outcomes are set once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_int.h"

#define ROLLOUT_COLS                                                                        \
    "id, release_id, target, IFNULL(chip, -1), IFNULL(tag, ''), stages, bounds, salt, "    \
    "min_devices, max_failure_pct, deadline, soak, allow_downgrade, state, stage, "        \
    "stage_started_at, created_at, updated_at, reason"

static void read_rollout(sqlite3_stmt *st, struct store_rollout *r)
{
    char bounds[STORE_STAGES_MAX * 21 + 1];
    const char *p;
    char *end;

    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->release = sqlite3_column_int64(st, 1);
    r->target = sqlite3_column_int(st, 2);
    r->chip = sqlite3_column_int(st, 3);
    sq_col_text(st, 4, r->tag, sizeof r->tag);
    sq_col_text(st, 5, r->stages, sizeof r->stages);
    sq_col_text(st, 6, bounds, sizeof bounds);
    for (p = bounds; *p && r->nstages < STORE_STAGES_MAX; p = *end ? end + 1 : end) {
        r->bound[r->nstages++] = strtoull(p, &end, 10);
        if (end == p)
            break;
    }
    r->salt = (uint64_t)sqlite3_column_int64(st, 7);
    r->min_devices = sqlite3_column_int(st, 8);
    r->max_failure_pct = sqlite3_column_int(st, 9);
    r->deadline = sqlite3_column_int64(st, 10);
    r->soak = sqlite3_column_int64(st, 11);
    r->allow_downgrade = sqlite3_column_int(st, 12);
    sq_col_text(st, 13, r->state, sizeof r->state);
    r->stage = sqlite3_column_int(st, 14);
    r->stage_started_at = sqlite3_column_int64(st, 15);
    r->created_at = sqlite3_column_int64(st, 16);
    r->updated_at = sqlite3_column_int64(st, 17);
    sq_col_text(st, 18, r->reason, sizeof r->reason);
}

static int add_event(sqlite3 *db, int64_t id, int64_t at, const char *from_state, int from_stage,
                     const char *to_state, int to_stage, const char *reason)
{
    sqlite3_stmt *st = sq_prep(db, "INSERT INTO rollout_events (rollout_id, at, from_state,"
                                   " to_state, from_stage, to_stage, reason)"
                                   " VALUES (?,?,?,?,?,?,?)");
    int rc;
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, from_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, to_state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, from_stage);
    sqlite3_bind_int(st, 6, to_stage);
    sqlite3_bind_text(st, 7, reason, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        sq_step_err(db, rc, "insert rollout event");
        return -1;
    }
    return 0;
}

static int insert_members(sqlite3 *db, int64_t id, const struct store_member *m, size_t n)
{
    sqlite3_stmt *st = sq_prep(db, "INSERT OR IGNORE INTO rollout_members (rollout_id,"
                                   " device_id, hash, stage) VALUES (?,?,?,?)");
    if (!st)
        return STORE_ERR;
    for (size_t i = 0; i < n; i++) {
        int rc;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, m[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)m[i].hash);
        sqlite3_bind_int(st, 4, m[i].stage);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            rc = sq_step_err(db, rc, "insert rollout member");
            sq_done(st);
            return rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: no such device */
        }
    }
    sq_done(st);
    return STORE_OK;
}

int sq_rollout_create(struct store *s, struct store_rollout *r, const struct store_member *m,
                      size_t n)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    char bounds[STORE_STAGES_MAX * 21 + 1] = "";
    size_t k = 0;
    int rc = STORE_ERR;

    if (!db)
        return STORE_ERR;
    for (int i = 0; i < r->nstages && i < STORE_STAGES_MAX; i++)
        k += (size_t)snprintf(bounds + k, sizeof bounds - k, "%s%" PRIu64, i ? "," : "",
                              r->bound[i]);
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    st = sq_prep(db, "INSERT INTO rollouts (release_id, target, chip, tag, stages, bounds, salt,"
                     " min_devices, max_failure_pct, deadline, soak, allow_downgrade, state,"
                     " stage, stage_started_at, created_at, updated_at, reason, after_deployment)"
                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                     " (SELECT IFNULL(MAX(id), 0) FROM deployments))");
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, r->release);
    sqlite3_bind_int(st, 2, r->target);
    sqlite3_bind_int(st, 3, r->chip);
    if (r->target == STORE_TARGET_TAG)
        sqlite3_bind_text(st, 4, r->tag, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, r->stages, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, bounds, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (int64_t)r->salt);
    sqlite3_bind_int(st, 8, r->min_devices);
    sqlite3_bind_int(st, 9, r->max_failure_pct);
    sqlite3_bind_int64(st, 10, r->deadline);
    sqlite3_bind_int64(st, 11, r->soak);
    sqlite3_bind_int(st, 12, r->allow_downgrade ? 1 : 0);
    sqlite3_bind_text(st, 13, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 14, r->stage);
    sqlite3_bind_int64(st, 15, r->stage_started_at);
    sqlite3_bind_int64(st, 16, r->created_at);
    sqlite3_bind_int64(st, 17, r->updated_at);
    sqlite3_bind_text(st, 18, r->reason, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        rc = sq_step_err(db, rc, "insert rollout");
        rc = rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: no such release */
        goto fail;
    }
    r->id = sqlite3_last_insert_rowid(db);
    if ((rc = insert_members(db, r->id, m, n)) != STORE_OK)
        goto fail;
    if (add_event(db, r->id, r->created_at, "", 0, r->state, r->stage, r->reason) ||
        sq_exec(db, "COMMIT")) {
        rc = STORE_ERR;
        goto fail;
    }
    sq_release(s, db);
    return STORE_OK;
fail:
    sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return rc == STORE_OK ? STORE_ERR : rc;
}

/* Run a statement whose rows are rollouts, handing each to cb; then
 * finalize it and give the connection back (st NULL: prepare failed). The
 * one frame get, list and joinable share. */
static int run_rollouts(struct store *s, sqlite3 *db, sqlite3_stmt *st, store_rollout_cb cb,
                        void *ctx)
{
    struct store_rollout r;
    int rc;

    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_rollout(st, &r);
        if (cb(ctx, &r))
            break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "rollouts");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

struct one_rollout { struct store_rollout *out; int found; };
static int copy_one(void *ctx, const struct store_rollout *r)
{
    struct one_rollout *o = ctx;
    *o->out = *r;
    o->found = 1;
    return 1;
}

int sq_rollout_get(struct store *s, int64_t id, struct store_rollout *out)
{
    struct one_rollout o = {out, 0};
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    if ((st = sq_prep(db, "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = ?")))
        sqlite3_bind_int64(st, 1, id);
    rc = run_rollouts(s, db, st, copy_one, &o);
    return rc == STORE_OK && !o.found ? STORE_NOT_FOUND : rc;
}

int sq_rollout_list(struct store *s, store_rollout_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);

    if (!db)
        return STORE_ERR;
    return run_rollouts(s, db, sq_prep(db, "SELECT " ROLLOUT_COLS " FROM rollouts ORDER BY id"),
                        cb, ctx);
}

int sq_rollout_transition(struct store *s, int64_t id, const char *from_state, int from_stage,
                          const char *to_state, int to_stage, int64_t now, const char *reason)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    st = sq_prep(db, "UPDATE rollouts SET state = ?1, stage = ?2, updated_at = ?3, reason = ?4,"
                     " stage_started_at = CASE WHEN stage != ?2 THEN ?3 ELSE stage_started_at"
                     " END WHERE id = ?5 AND state = ?6 AND stage = ?7");
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, to_state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, to_stage);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, id);
    sqlite3_bind_text(st, 6, from_state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, from_stage);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        sq_step_err(db, rc, "rollout transition");
        goto fail;
    }
    if (sqlite3_changes(db) == 0) {
        sq_exec(db, "ROLLBACK");
        sq_release(s, db);
        return STORE_NOT_FOUND;
    }
    if (add_event(db, id, now, from_state, from_stage, to_state, to_stage, reason) ||
        sq_exec(db, "COMMIT"))
        goto fail;
    sq_release(s, db);
    return STORE_OK;
fail:
    sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return STORE_ERR;
}

int sq_rollout_events(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_rollout_event e;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT at, from_state, to_state, from_stage, to_stage, reason"
                     " FROM rollout_events WHERE rollout_id = ? ORDER BY id");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&e, 0, sizeof e);
        e.at = sqlite3_column_int64(st, 0);
        sq_col_text(st, 1, e.from_state, sizeof e.from_state);
        sq_col_text(st, 2, e.to_state, sizeof e.to_state);
        e.from_stage = sqlite3_column_int(st, 3);
        e.to_stage = sqlite3_column_int(st, 4);
        sq_col_text(st, 5, e.reason, sizeof e.reason);
        if (cb(ctx, &e))
            break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "rollout events");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_rollout_progress(struct store *s, int64_t id, struct store_stage_counts *c, int n)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    memset(c, 0, (size_t)n * sizeof *c);
    st = sq_prep(db, "SELECT stage, COUNT(*), COUNT(offered_at),"
                     " SUM(outcome = '' AND state IN ('downloading', 'verifying')),"
                     " SUM(outcome = '' AND state = 'installed'),"
                     " SUM(outcome = 'confirmed'), SUM(outcome = 'failed'),"
                     " SUM(outcome = 'rolled_back'), SUM(outcome = 'timed_out')"
                     " FROM rollout_members WHERE rollout_id = ? GROUP BY stage");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        if (k < 0 || k >= n)
            continue;
        c[k].members = sqlite3_column_int64(st, 1);
        c[k].offered = sqlite3_column_int64(st, 2);
        c[k].downloading = sqlite3_column_int64(st, 3);
        c[k].installed = sqlite3_column_int64(st, 4);
        c[k].confirmed = sqlite3_column_int64(st, 5);
        c[k].failed = sqlite3_column_int64(st, 6);
        c[k].rolled_back = sqlite3_column_int64(st, 7);
        c[k].timed_out = sqlite3_column_int64(st, 8);
    }
    rc = rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "rollout progress");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* The devices a target takes, as SQL over devices d (the release's chip
 * always: a release is never offered to another chip). ?1 chip, ?2 tag. */
static const char *target_where(int target)
{
    switch (target) {
    case STORE_TARGET_CHIP:
    case STORE_TARGET_ALL:
        return "d.chip = ?1";
    case STORE_TARGET_TAG:
        return "d.chip = ?1 AND EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id"
               " AND t.tag = ?2)";
    default:
        return NULL; /* a list: its members were all named at creation */
    }
}

int sq_rollout_missing(struct store *s, const struct store_rollout *r, const char *device,
                       store_target_cb cb, void *ctx)
{
    const char *where = target_where(r->target);
    char sql[512];
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc;

    if (!where)
        return STORE_OK;
    snprintf(sql, sizeof sql,
             "SELECT d.id FROM devices d WHERE %s AND (?3 IS NULL OR d.id = ?3) AND NOT EXISTS"
             " (SELECT 1 FROM rollout_members m WHERE m.rollout_id = ?4 AND m.device_id = d.id)"
             " ORDER BY d.id", where);
    if (!(db = sq_acquire(s)))
        return STORE_ERR;
    if (!(st = sq_prep(db, sql))) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int(st, 1, r->chip);
    sqlite3_bind_text(st, 2, r->tag, -1, SQLITE_STATIC);
    if (device)
        sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, r->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0)))
            break;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "target devices");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_rollout_add_members(struct store *s, int64_t id, const struct store_member *m, size_t n)
{
    sqlite3 *db = sq_acquire(s);
    int rc;

    if (!db)
        return STORE_ERR;
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    rc = insert_members(db, id, m, n);
    if (rc != STORE_OK || sq_exec(db, "COMMIT")) {
        sq_exec(db, "ROLLBACK");
        sq_release(s, db);
        return rc != STORE_OK ? rc : STORE_ERR;
    }
    sq_release(s, db);
    return STORE_OK;
}

int sq_rollout_joinable(struct store *s, const char *device, int chip,
                        const char *const *states, store_rollout_cb cb, void *ctx)
{
    char sql[1024], in[64] = "";
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = 0;

    for (; states[n] && n < 8; n++)
        snprintf(in + strlen(in), sizeof in - strlen(in), "%s?%d", n ? "," : "", n + 3);
    if (n == 0)
        return STORE_OK;
    /* a list target never takes new members; the others by their rule */
    snprintf(sql, sizeof sql,
             "SELECT " ROLLOUT_COLS " FROM rollouts r WHERE r.state IN (%s) AND r.chip = ?2"
             " AND (r.target IN (%d, %d) OR (r.target = %d AND EXISTS (SELECT 1 FROM"
             " device_tags t WHERE t.device_id = ?1 AND t.tag = r.tag)))"
             " AND NOT EXISTS (SELECT 1 FROM rollout_members m WHERE m.rollout_id = r.id"
             " AND m.device_id = ?1) ORDER BY r.id",
             in, STORE_TARGET_CHIP, STORE_TARGET_ALL, STORE_TARGET_TAG);
    if (!(db = sq_acquire(s)))
        return STORE_ERR;
    if ((st = sq_prep(db, sql))) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, chip);
        for (int i = 0; i < n; i++)
            sqlite3_bind_text(st, i + 3, states[i], -1, SQLITE_STATIC);
    }
    return run_rollouts(s, db, st, cb, ctx);
}

int sq_rollout_expire(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    *n = 0;
    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "UPDATE rollout_members SET outcome = 'timed_out', finished_at = ?1"
                     " WHERE rollout_id = ?2 AND outcome = '' AND offered_at IS NOT NULL"
                     " AND offered_at <= ?3");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int64(st, 3, cutoff);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        *n = sqlite3_changes(db);
        rc = STORE_OK;
    } else {
        rc = sq_step_err(db, rc, "expire rollout members");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_rollout_for_device(struct store *s, const char *device, int chip,
                          struct store_rollout_offer *out)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    /* a deployment made after the rollout (for this device) takes over */
    st = sq_prep(db, "SELECT r.id, r.release_id, r.allow_downgrade FROM rollout_members m"
                     " JOIN rollouts r ON r.id = m.rollout_id WHERE m.device_id = ?1 AND"
                     " ((r.state IN ('running', 'completed') AND m.stage <= r.stage) OR"
                     "  (r.state = 'paused' AND m.offered_at IS NOT NULL))"
                     " AND NOT EXISTS (SELECT 1 FROM deployments d WHERE"
                     "  d.id > r.after_deployment AND (d.chip = ?2 OR EXISTS (SELECT 1 FROM"
                     "  deployment_devices x WHERE x.deployment_id = d.id AND x.device_id = ?1)))"
                     " ORDER BY r.id DESC LIMIT 1");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, chip);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->rollout = sqlite3_column_int64(st, 0);
        out->release = sqlite3_column_int64(st, 1);
        out->allow_downgrade = sqlite3_column_int(st, 2);
        rc = STORE_OK;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_step_err(db, rc, "rollout for device");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int note_joinable(void *ctx, const struct store_rollout *r)
{
    (void)r;
    *(int *)ctx = 1;
    return 1; /* one is enough */
}

int sq_rollout_lookup(struct store *s, const char *device, int chip, const char *const *states,
                      int *joinable, struct store_rollout_offer *out)
{
    /* two cached statements in this process: no round trip to save */
    int rc;

    *joinable = 0;
    if ((rc = sq_rollout_joinable(s, device, chip, states, note_joinable, joinable)) != STORE_OK)
        return rc;
    return *joinable ? STORE_OK : sq_rollout_for_device(s, device, chip, out);
}

int sq_rollout_offered(struct store *s, int64_t rollout, const char *device, int64_t now)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "UPDATE rollout_members SET offered_at = ?1 WHERE rollout_id = ?2"
                     " AND device_id = ?3 AND offered_at IS NULL");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, rollout);
    sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "rollout offered");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_rollout_note_status(sqlite3 *db, const char *device, int64_t release, const char *state,
                           int64_t now)
{
    sqlite3_stmt *st;
    int rc;

    /* every expression sees the row before the update: the first terminal
     * state becomes the outcome, later ones only the state */
    st = sq_prep(db, "UPDATE rollout_members SET state = ?3,"
                     " outcome = CASE WHEN outcome = '' AND ?3 IN ('confirmed', 'failed',"
                     "  'rolled_back') THEN ?3 ELSE outcome END,"
                     " finished_at = CASE WHEN outcome = '' AND ?3 IN ('confirmed', 'failed',"
                     "  'rolled_back') THEN ?4 ELSE finished_at END"
                     " WHERE device_id = ?1 AND offered_at IS NOT NULL AND rollout_id IN"
                     " (SELECT id FROM rollouts WHERE release_id = ?2)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, release);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        sq_step_err(db, rc, "note status in rollouts");
        return -1;
    }
    return 0;
}
