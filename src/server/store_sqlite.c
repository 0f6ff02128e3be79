/*
 * store_sqlite.c - the SQLite implementation of struct store_ops, the
 * embedded default store (one file, no server to run).
 *
 * Durability: WAL journal with synchronous=FULL, so a write acknowledged to a
 * device (204) survives a power cut or a SIGKILL. Concurrency: a small pool
 * of connections, one taken per call, so reads from many HTTP threads run in
 * parallel (WAL readers never block) and writers queue on busy_timeout.
 * Schema: the versioned migrations of store_migrations.c, tracked in PRAGMA
 * user_version, applied in one transaction at open, so a half-migrated
 * database cannot exist.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store_migrations.h"
#include "store_seen.h"
#include "store_sqlite_int.h"

static int migrate(sqlite3 *db)
{
    sqlite3_stmt *st;
    int version = -1;

    if (sq_exec(db, "BEGIN IMMEDIATE"))
        return -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (version < 0 || version > store_nmigrations) {
        SLOG(SLOG_ERROR, "sqlite: schema version %d is not one this server knows (0..%d)",
             version, store_nmigrations);
        sq_exec(db, "ROLLBACK");
        return -1;
    }
    for (int v = version; v < store_nmigrations; v++) {
        char sql[64];
        if (sq_exec(db, store_migrations[v].sqlite)) {
            sq_exec(db, "ROLLBACK");
            return -1;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (sq_exec(db, sql)) {
            sq_exec(db, "ROLLBACK");
            return -1;
        }
        SLOG(SLOG_INFO, "sqlite: migrated schema to version %d", v + 1);
    }
    return sq_exec(db, "COMMIT");
}

static void sq_close(struct store *s);
static int sq_seen_flush(void *ctx, const struct store_seen_entry *e, size_t n);

static int sq_open(const char *target, struct store **out)
{
    struct store *s = calloc(1, sizeof *s);
    sqlite3 *db;

    if (!s)
        return STORE_ERR;
    s->path = strdup(target);
    pthread_mutex_init(&s->mu, NULL);
    db = s->path ? sq_conn_open(s->path) : NULL;
    if (!db || migrate(db)) {
        sqlite3_close(db);
        free(s->path);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return STORE_ERR;
    }
    sq_release(s, db);
    if (!(s->seen = store_seen_new(sq_seen_flush, s, 0))) {
        sq_close(s);
        return STORE_ERR;
    }
    *out = s;
    return STORE_OK;
}

static void sq_close(struct store *s)
{
    if (!s)
        return;
    store_seen_free(s->seen); /* the last batch, while the pool is open */
    sq_pool_close(s);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/* --- small helpers ------------------------------------------------------ */

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static int step_err(sqlite3 *db, int rc, const char *what)
{
    if (rc == SQLITE_CONSTRAINT)
        return STORE_EXISTS;
    SLOG(SLOG_ERROR, "sqlite: %s: %s", what, sqlite3_errmsg(db));
    return STORE_ERR;
}

#define RELEASE_COLS                                                                       \
    "id, version, size, chip, project, idf_ver, secure_version, sha256, chunk_size, "     \
    "slot_size, created_at, manifest, signature"

static void read_release(sqlite3_stmt *st, struct store_release *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, r->version, sizeof r->version);
    r->size = sqlite3_column_int64(st, 2);
    r->chip = sqlite3_column_int(st, 3);
    col_text(st, 4, r->project, sizeof r->project);
    col_text(st, 5, r->idf_ver, sizeof r->idf_ver);
    r->secure_version = (uint32_t)sqlite3_column_int64(st, 6);
    col_text(st, 7, r->sha256, sizeof r->sha256);
    r->chunk_size = (uint32_t)sqlite3_column_int64(st, 8);
    r->slot_size = sqlite3_column_int64(st, 9);
    r->created_at = sqlite3_column_int64(st, 10);
    if (sqlite3_column_bytes(st, 11) == (int)sizeof r->manifest &&
        sqlite3_column_bytes(st, 12) == (int)sizeof r->signature) {
        memcpy(r->manifest, sqlite3_column_blob(st, 11), sizeof r->manifest);
        memcpy(r->signature, sqlite3_column_blob(st, 12), sizeof r->signature);
        r->is_signed = 1;
    }
}

/* --- releases ----------------------------------------------------------- */

static int sq_release_insert(struct store *s, struct store_release *r)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "INSERT INTO releases (version, size, chip, project, idf_ver, secure_version,"
                  " sha256, chunk_size, slot_size, created_at, manifest, signature)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    r->created_at = (int64_t)time(NULL);
    sqlite3_bind_text(st, 1, r->version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->size);
    sqlite3_bind_int(st, 3, r->chip);
    sqlite3_bind_text(st, 4, r->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->idf_ver, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, r->secure_version);
    sqlite3_bind_text(st, 7, r->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, r->chunk_size);
    sqlite3_bind_int64(st, 9, r->slot_size);
    sqlite3_bind_int64(st, 10, r->created_at);
    if (r->is_signed) {
        sqlite3_bind_blob(st, 11, r->manifest, (int)sizeof r->manifest, SQLITE_STATIC);
        sqlite3_bind_blob(st, 12, r->signature, (int)sizeof r->signature, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 11);
        sqlite3_bind_null(st, 12);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r->id = sqlite3_last_insert_rowid(db);
        rc = STORE_OK;
    } else {
        rc = step_err(db, rc, "insert release");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int release_one(struct store *s, const char *sql, int64_t id, const char *text,
                       struct store_release *out)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, sql);
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_release(st, out);
        rc = STORE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = step_err(db, rc, "get release");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int sq_release_get(struct store *s, int64_t id, struct store_release *out)
{
    return release_one(s, "SELECT " RELEASE_COLS " FROM releases WHERE id = ?", id, NULL, out);
}

static int sq_release_by_sha256(struct store *s, const char *sha, struct store_release *out)
{
    return release_one(s, "SELECT " RELEASE_COLS " FROM releases WHERE sha256 = ?", 0, sha, out);
}

static int sq_release_list(struct store *s, store_release_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_release r;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT " RELEASE_COLS " FROM releases ORDER BY id");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_release(st, &r);
        if (cb(ctx, &r))
            break;
    }
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : step_err(db, rc, "list releases");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* --- devices ------------------------------------------------------------ */

#define DEVICE_COLS                                                                        \
    "id, chip, current_version, reported_version, IFNULL(offered_release, 0), state, "    \
    "IFNULL(status_release, 0), chunks_received, last_error, last_seen, created_at"

static void read_device(sqlite3_stmt *st, struct store_device *d)
{
    memset(d, 0, sizeof *d);
    col_text(st, 0, d->id, sizeof d->id);
    d->chip = sqlite3_column_int(st, 1);
    col_text(st, 2, d->current_version, sizeof d->current_version);
    col_text(st, 3, d->reported_version, sizeof d->reported_version);
    d->offered_release = sqlite3_column_int64(st, 4);
    col_text(st, 5, d->state, sizeof d->state);
    d->status_release = sqlite3_column_int64(st, 6);
    d->chunks_received = sqlite3_column_int64(st, 7);
    col_text(st, 8, d->last_error, sizeof d->last_error);
    d->last_seen = sqlite3_column_int64(st, 9);
    d->created_at = sqlite3_column_int64(st, 10);
}

static int sq_device_insert(struct store *s, const char *id, int chip)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "INSERT INTO devices (id, chip, created_at) VALUES (?,?,?)");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, chip);
    sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? STORE_OK : step_err(db, rc, "insert device");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int sq_device_get(struct store *s, const char *id, struct store_device *out)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT " DEVICE_COLS " FROM devices WHERE id = ?");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_device(st, out);
        rc = STORE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = step_err(db, rc, "get device");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int sq_device_list(struct store *s, store_device_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_device d;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT " DEVICE_COLS " FROM devices ORDER BY id");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_device(st, &d);
        if (cb(ctx, &d))
            break;
    }
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : step_err(db, rc, "list devices");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* The batched last_seen times (store_seen.h), in one transaction without
 * an fsync: a crash may lose the last second of them, nothing else. */
static int sq_seen_flush(void *ctx, const struct store_seen_entry *e, size_t n)
{
    struct store *s = ctx;
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (!db)
        return -1;
    if (sq_exec(db, "PRAGMA synchronous=NORMAL"))
        goto out;
    if (sq_exec(db, "BEGIN IMMEDIATE"))
        goto sync;
    st = sq_prep(db, "UPDATE devices SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2");
    for (size_t i = 0; st && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, e[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e[i].at);
        if (sqlite3_step(st) != SQLITE_DONE) {
            step_err(db, SQLITE_ERROR, "last_seen");
            break;
        }
        if (i + 1 == n)
            rc = 0;
    }
    sq_done(st);
    if (rc == 0 && sq_exec(db, "COMMIT"))
        rc = -1;
    if (rc)
        sq_exec(db, "ROLLBACK");
sync:
    sq_exec(db, "PRAGMA synchronous=FULL");
out:
    sq_release(s, db);
    return rc;
}

/* What a poll persists: the running version and the offer are written at
 * once and durably when they change; a check that changes neither (the
 * common poll) only notes last_seen for the batch (store_seen.h), so a
 * poll costs a read and no fsync. */
static int sq_device_checked(struct store *s, const char *id, const char *running,
                             int64_t offered, int64_t now)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT reported_version = ?2 AND (?3 <= 0 OR IFNULL(offered_release, 0) = ?3)"
                  " FROM devices WHERE id = ?1");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, running, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, offered);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_int(st, 0)) {
        sq_done(st);
        sq_release(s, db);
        store_seen_note(s->seen, id, now);
        return STORE_OK;
    }
    sq_done(st);
    if (rc == SQLITE_DONE) {
        sq_release(s, db);
        return STORE_NOT_FOUND;
    }
    if (rc != SQLITE_ROW) {
        rc = step_err(db, rc, "read device on check");
        sq_release(s, db);
        return rc;
    }
    /* An offer of nothing keeps the last offered release: a device that is
     * already up to date may still resume or re-read its old release. */
    st = sq_prep(db, "UPDATE devices SET reported_version = ?, last_seen = ?,"
                  " offered_release = CASE WHEN ? > 0 THEN ? ELSE offered_release END"
                  " WHERE id = ?");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, running, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, offered);
    sqlite3_bind_int64(st, 4, offered);
    sqlite3_bind_text(st, 5, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = sqlite3_changes(db) ? STORE_OK : STORE_NOT_FOUND;
    else
        rc = step_err(db, rc, "update device on check");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* Whether the device's newest history row is about the same release and
 * state as stt (then stt only updates it: progress). 1, 0, or -1 on error. */
static int same_as_newest(sqlite3 *db, const char *id, const struct store_status *stt)
{
    sqlite3_stmt *st = sq_prep(db, "SELECT release_id, state FROM status_history"
                                " WHERE device_id = ? ORDER BY id DESC LIMIT 1");
    int rc, same = 0;

    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        same = sqlite3_column_int64(st, 0) == stt->release &&
               strcmp((const char *)sqlite3_column_text(st, 1), stt->state) == 0;
    else if (rc != SQLITE_DONE)
        same = step_err(db, rc, "newest status") < 0 ? -1 : 0;
    sq_done(st);
    return same;
}

/* One status in the open transaction: a repeat of the newest row's release
 * and state updates that row (progress collapses into one row), anything
 * else is a transition and gets a row; then the device's rows past
 * STORE_HISTORY_KEEP (the oldest) are deleted. *collapsed says which. */
static int status_write(sqlite3 *db, const char *id, const struct store_status *stt,
                        int64_t now, int *collapsed)
{
    sqlite3_stmt *st;
    int same = same_as_newest(db, id, stt), rc;

    if (same < 0)
        return STORE_ERR;
    *collapsed = same;
    if (same)
        st = sq_prep(db, "UPDATE status_history SET chunks_received = ?2, error = ?3, at = ?4"
                      " WHERE id = (SELECT MAX(id) FROM status_history WHERE device_id = ?1)");
    else
        st = sq_prep(db, "INSERT INTO status_history (device_id, chunks_received, error, at,"
                      " release_id, state) VALUES (?1,?2,?3,?4,?5,?6)");
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, stt->chunks_received);
    sqlite3_bind_text(st, 3, stt->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    if (!same) {
        sqlite3_bind_int64(st, 5, stt->release);
        sqlite3_bind_text(st, 6, stt->state, -1, SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE)
        return step_err(db, rc, same ? "update status" : "insert status");
    if (same)
        return STORE_OK;
    st = sq_prep(db, "DELETE FROM status_history WHERE device_id = ?1 AND id <="
                  " (SELECT id FROM status_history WHERE device_id = ?1"
                  "  ORDER BY id DESC LIMIT 1 OFFSET ?2)");
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, STORE_HISTORY_KEEP);
    rc = sqlite3_step(st);
    sq_done(st);
    return rc == SQLITE_DONE ? STORE_OK : step_err(db, rc, "trim status history");
}

/* Durability: a transition commits with synchronous=FULL (an fsync); a
 * progress update (collapsed into the newest row) commits with NORMAL: in
 * WAL mode that survives a crash of the server but not a power cut, which
 * may lose the last progress figures, never a transition. The guess made
 * before the transaction is checked inside it: a transition found under
 * NORMAL is rolled back and written again under FULL. */
static int sq_status_add(struct store *s, const char *id, const struct store_status *stt,
                         const char *confirmed_version)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st = NULL;
    int rc = STORE_ERR, lazy, collapsed = 0, attempt;
    int64_t now = (int64_t)time(NULL);

    if (!db)
        return STORE_ERR;
    lazy = same_as_newest(db, id, stt) == 1;
    for (attempt = 0; attempt < 2; attempt++, lazy = 0) {
        if (lazy && sq_exec(db, "PRAGMA synchronous=NORMAL"))
            goto out;
        if (sq_exec(db, "BEGIN IMMEDIATE"))
            goto out;
        rc = status_write(db, id, stt, now, &collapsed);
        if (rc != STORE_OK)
            goto fail;
        if (lazy && !collapsed) { /* a transition after all: write it durably */
            sq_exec(db, "ROLLBACK");
            sq_exec(db, "PRAGMA synchronous=FULL");
            continue;
        }
        break;
    }
    st = sq_prep(db, "UPDATE devices SET state = ?, status_release = ?, chunks_received = ?,"
                  " last_error = ?, last_seen = ?,"
                  " current_version = IFNULL(?, current_version) WHERE id = ?");
    if (!st) {
        rc = STORE_ERR;
        goto fail;
    }
    sqlite3_bind_text(st, 1, stt->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, stt->release);
    sqlite3_bind_int64(st, 3, stt->chunks_received);
    sqlite3_bind_text(st, 4, stt->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    if (confirmed_version)
        sqlite3_bind_text(st, 6, confirmed_version, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        rc = step_err(db, rc, "update device status");
        goto fail;
    }
    if (sq_rollout_note_status(db, id, stt->release, stt->state, now)) {
        rc = STORE_ERR;
        goto fail;
    }
    if (sq_exec(db, "COMMIT")) {
        rc = STORE_ERR;
        goto fail;
    }
    rc = STORE_OK;
    goto out;
fail:
    sq_exec(db, "ROLLBACK");
    rc = rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: unknown release */
out:
    if (lazy)
        sq_exec(db, "PRAGMA synchronous=FULL");
    sq_release(s, db);
    return rc;
}

static int sq_status_history(struct store *s, const char *id, int limit, store_status_cb cb,
                             void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_status h;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT id, release_id, state, chunks_received, error, at FROM status_history"
                  " WHERE device_id = ? ORDER BY id DESC LIMIT ?");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&h, 0, sizeof h);
        h.id = sqlite3_column_int64(st, 0);
        h.release = sqlite3_column_int64(st, 1);
        col_text(st, 2, h.state, sizeof h.state);
        h.chunks_received = sqlite3_column_int64(st, 3);
        col_text(st, 4, h.error, sizeof h.error);
        h.at = sqlite3_column_int64(st, 5);
        if (cb(ctx, &h))
            break;
    }
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : step_err(db, rc, "status history");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* --- deployments -------------------------------------------------------- */

static int sq_deployment_create(struct store *s, int64_t release, int chip, int allow_downgrade,
                                const char *const *devices, size_t n,
                                struct store_deployment *out)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st = NULL;
    int rc;

    if (!db)
        return STORE_ERR;
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    memset(out, 0, sizeof *out);
    out->release = release;
    out->chip = chip;
    out->allow_downgrade = allow_downgrade;
    out->created_at = (int64_t)time(NULL);
    out->ndevices = n;
    st = sq_prep(db, "INSERT INTO deployments (release_id, chip, created_at, allow_downgrade)"
                  " VALUES (?,?,?,?)");
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, release);
    if (chip >= 0)
        sqlite3_bind_int(st, 2, chip);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, out->created_at);
    sqlite3_bind_int(st, 4, allow_downgrade ? 1 : 0);
    rc = sqlite3_step(st);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        step_err(db, rc, "insert deployment");
        goto fail_fk;
    }
    out->id = sqlite3_last_insert_rowid(db);
    st = sq_prep(db, "INSERT OR IGNORE INTO deployment_devices (deployment_id, device_id)"
                  " VALUES (?,?)");
    if (!st)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, out->id);
        sqlite3_bind_text(st, 2, devices[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            sq_done(st);
            step_err(db, rc, "insert deployment device");
            goto fail_fk;
        }
    }
    sq_done(st);
    if (sq_exec(db, "COMMIT"))
        goto fail;
    sq_release(s, db);
    return STORE_OK;
fail_fk:
    sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return STORE_NOT_FOUND; /* a foreign key: the handler checked first */
fail:
    sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return STORE_ERR;
}

static int sq_deployment_list(struct store *s, store_deployment_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st, *dv;
    struct store_deployment d;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT id, release_id, IFNULL(chip, -1), created_at, allow_downgrade"
                  " FROM deployments ORDER BY id");
    dv = sq_prep(db, "SELECT device_id FROM deployment_devices WHERE deployment_id = ?"
                  " ORDER BY device_id");
    if (!st || !dv) {
        sq_done(st);
        sq_done(dv);
        sq_release(s, db);
        return STORE_ERR;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **ids = NULL;
        size_t n = 0, cap = 0;
        int stop;
        memset(&d, 0, sizeof d);
        d.id = sqlite3_column_int64(st, 0);
        d.release = sqlite3_column_int64(st, 1);
        d.chip = sqlite3_column_int(st, 2);
        d.created_at = sqlite3_column_int64(st, 3);
        d.allow_downgrade = sqlite3_column_int(st, 4);
        sqlite3_reset(dv);
        sqlite3_bind_int64(dv, 1, d.id);
        while (sqlite3_step(dv) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                char **p = realloc(ids, cap * sizeof *ids);
                if (!p)
                    break;
                ids = p;
            }
            ids[n++] = strdup((const char *)sqlite3_column_text(dv, 0));
        }
        d.ndevices = n;
        stop = cb(ctx, &d, (const char *const *)ids, n);
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        if (stop)
            break;
    }
    rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : step_err(db, rc, "deployments");
    sq_done(st);
    sq_done(dv);
    sq_release(s, db);
    return rc;
}

static int sq_deployment_for_device(struct store *s, const char *id, int chip, int64_t *release,
                                    int *allow_downgrade)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT release_id, allow_downgrade FROM deployments d WHERE d.chip = ?1 OR EXISTS"
                  " (SELECT 1 FROM deployment_devices x WHERE x.deployment_id = d.id"
                  "  AND x.device_id = ?2) ORDER BY d.id DESC LIMIT 1");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int(st, 1, chip);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *release = sqlite3_column_int64(st, 0);
        if (allow_downgrade)
            *allow_downgrade = sqlite3_column_int(st, 1);
        rc = STORE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = step_err(db, rc, "deployment for device");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

static int sq_release_deployed_to(struct store *s, int64_t release, const char *id, int chip)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT 1 FROM deployments d WHERE d.release_id = ?1 AND (d.chip = ?2 OR"
                  " EXISTS (SELECT 1 FROM deployment_devices x WHERE x.deployment_id = d.id"
                  " AND x.device_id = ?3)) UNION ALL"
                  " SELECT 1 FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id"
                  " WHERE m.device_id = ?3 AND r.release_id = ?1 AND m.offered_at IS NOT NULL"
                  " LIMIT 1");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, release);
    sqlite3_bind_int(st, 2, chip);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW    ? STORE_OK
         : rc == SQLITE_DONE ? STORE_NOT_FOUND
                             : step_err(db, rc, "release deployed to");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

/* --- shared with store_sqlite_rollout.c (store_sqlite_int.h) ------------- */

void sq_col_text(sqlite3_stmt *st, int i, char *dst, size_t n) { col_text(st, i, dst, n); }
int sq_step_err(sqlite3 *db, int rc, const char *what) { return step_err(db, rc, what); }

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .release_insert = sq_release_insert,
    .release_get = sq_release_get,
    .release_by_sha256 = sq_release_by_sha256,
    .release_list = sq_release_list,
    .device_insert = sq_device_insert,
    .device_get = sq_device_get,
    .device_list = sq_device_list,
    .device_checked = sq_device_checked,
    .status_add = sq_status_add,
    .status_history = sq_status_history,
    .deployment_create = sq_deployment_create,
    .deployment_list = sq_deployment_list,
    .deployment_for_device = sq_deployment_for_device,
    .release_deployed_to = sq_release_deployed_to,
    SQLITE_ROLLOUT_OPS
};
