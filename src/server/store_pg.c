/*
 * store_pg.c - the PostgreSQL implementation of struct store_ops, for
 * several fota-server processes sharing one database (docs/operations.md).
 * `--db postgresql://...` (or postgres://, or a libpq "key=value" string
 * starting with "host=" or "dbname=") selects it.
 *
 * Durability: a transition is committed with synchronous_commit on (the
 * server's default: WAL flushed before COMMIT returns), so a status answered
 * with 204 survives a crash of the server or of PostgreSQL; a progress
 * update (collapsed into the newest history row) commits with
 * synchronous_commit off, as the SQLite store's NORMAL: a database crash may
 * lose the last progress figures, never a transition. Concurrency: a pool of
 * connections, one taken per call; status_add locks the device's row so two
 * statuses of one device (through two nodes) queue instead of both adding a
 * row. Schema: the migrations of store_migrations.c in the PostgreSQL
 * dialect, the version in the schema_version table, applied in one
 * transaction under an advisory lock, so nodes starting together migrate
 * once.
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_migrations.h"
#include "store_seen.h"
#include "store_pg_int.h"

/* pg_advisory_xact_lock key of the migrations ("fota") */
#define MIGRATE_LOCK 0x666f7461

/* --- helpers (store_pg_int.h) ------------------------------------------- */

void pg_i64(struct pg_args *a, int64_t x)
{
    snprintf(a->buf[a->n], sizeof a->buf[a->n], "%" PRId64, x);
    a->v[a->n] = a->buf[a->n];
    a->n++;
}

void pg_txt(struct pg_args *a, const char *s) { a->v[a->n++] = s; }

void pg_bytea(struct pg_args *a, char *hex, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        hex[2 + 2 * i] = digits[p[i] >> 4];
        hex[3 + 2 * i] = digits[p[i] & 15];
    }
    hex[2 + 2 * len] = 0;
    a->v[a->n++] = hex;
}

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    SLOG(SLOG_DEBUG, "postgresql: %s", msg);
}

static void conn_finish(PGconn *c);

static PGconn *conn_open(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        SLOG(SLOG_ERROR, "postgresql: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c); /* never registered */
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return c;
}

PGconn *pg_acquire(struct store *s)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->npool > 0)
        c = s->pool[--s->npool];
    pthread_mutex_unlock(&s->mu);
    if (c && PQstatus(c) != CONNECTION_OK) {
        conn_finish(c);
        c = NULL;
    }
    return c ? c : conn_open(s->conninfo);
}

void pg_release(struct store *s, PGconn *c)
{
    if (!c)
        return;
    /* a connection left inside a transaction or broken is not reused */
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
        pthread_mutex_lock(&s->mu);
        if (s->npool < PG_POOL_MAX) {
            s->pool[s->npool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (c)
        conn_finish(c);
}

/* Prepared statements, per connection: a statement with parameters is
 * prepared on its first use on a connection (named after a hash of its
 * text) and executed by name from then on, so PostgreSQL parses and plans
 * it once per connection instead of once per request. The registry is
 * process-wide (a connection is used by one thread at a time; the mutex
 * only guards finding its entry). */
#define PREP_CONNS 512
#define PREP_STMTS 128
static struct prep_conn {
    PGconn *c;
    uint64_t h[PREP_STMTS];
    int n;
} prep_conns[PREP_CONNS];
static pthread_mutex_t prep_mu = PTHREAD_MUTEX_INITIALIZER;

static struct prep_conn *prep_of(PGconn *c, int make)
{
    struct prep_conn *p = NULL;
    pthread_mutex_lock(&prep_mu);
    for (int i = 0; i < PREP_CONNS && !p; i++)
        if (prep_conns[i].c == c)
            p = &prep_conns[i];
    for (int i = 0; make && i < PREP_CONNS && !p; i++)
        if (!prep_conns[i].c) {
            p = &prep_conns[i];
            p->c = c;
            p->n = 0;
        }
    pthread_mutex_unlock(&prep_mu);
    return p;
}

static void conn_finish(PGconn *c)
{
    struct prep_conn *p = c ? prep_of(c, 0) : NULL;
    if (p) {
        pthread_mutex_lock(&prep_mu);
        p->c = NULL;
        pthread_mutex_unlock(&prep_mu);
    }
    PQfinish(c);
}

PGresult *pg_run(PGconn *c, const char *sql, const struct pg_args *a)
{
    struct prep_conn *p;
    uint64_t h = 1469598103934665603ull;
    char name[24];
    int i;

    if (!a || a->n == 0 || !(p = prep_of(c, 1)))
        return PQexecParams(c, sql, a ? a->n : 0, NULL, a ? a->v : NULL, NULL, NULL, 0);
    for (const char *q = sql; *q; q++)
        h = (h ^ (uint8_t)*q) * 1099511628211ull;
    snprintf(name, sizeof name, "f%016" PRIx64, h);
    for (i = 0; i < p->n && p->h[i] != h; i++)
        ;
    if (i == p->n) {
        PGresult *r;
        if (p->n == PREP_STMTS) /* full: run it unprepared */
            return PQexecParams(c, sql, a->n, NULL, a->v, NULL, NULL, 0);
        r = PQprepare(c, name, sql, a->n, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            PQclear(r); /* e.g. inside a failed transaction: the plain run says why */
            return PQexecParams(c, sql, a->n, NULL, a->v, NULL, NULL, 0);
        }
        PQclear(r);
        p->h[p->n++] = h;
    }
    return PQexecPrepared(c, name, a->n, a->v, NULL, NULL, 0);
}

int pg_check(PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    const char *state;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return STORE_OK;
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strncmp(state, "23", 2) == 0)
        return STORE_EXISTS;
    SLOG(SLOG_ERROR, "postgresql: %s: %s", what, PQresultErrorMessage(r));
    return STORE_ERR;
}

int pg_cmd(PGconn *c, const char *sql, const struct pg_args *a, const char *what, int *changed)
{
    PGresult *r = pg_run(c, sql, a);
    int rc = pg_check(r, what);
    if (changed)
        *changed = rc == STORE_OK ? atoi(PQcmdTuples(r)) : 0;
    PQclear(r);
    return rc;
}

int64_t pg_i64_at(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg_txt_at(const PGresult *r, int row, int col, char *dst, size_t n)
{
    snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int pg_bytea_at(const PGresult *r, int row, int col, void *dst, size_t n)
{
    size_t len = 0;
    unsigned char *b;
    int ok = 0;

    if (PQgetisnull(r, row, col))
        return 0;
    b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);
    if (b && len == n) {
        memcpy(dst, b, n);
        ok = 1;
    }
    PQfreemem(b);
    return ok;
}

/* --- open, migrations --------------------------------------------------- */

static int migrate(PGconn *c)
{
    struct pg_args a = {0};
    PGresult *r;
    int version;

    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL))
        return -1;
    pg_i64(&a, MIGRATE_LOCK);
    if (pg_cmd(c, "SELECT pg_advisory_xact_lock($1)", &a, "migration lock", NULL) ||
        pg_cmd(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", NULL,
               "schema_version", NULL))
        goto fail;
    r = pg_run(c, "SELECT version FROM schema_version", NULL);
    if (pg_check(r, "schema version") != STORE_OK) {
        PQclear(r);
        goto fail;
    }
    version = PQntuples(r) ? (int)pg_i64_at(r, 0, 0) : -1;
    PQclear(r);
    if (version < 0) {
        if (pg_cmd(c, "INSERT INTO schema_version VALUES (0)", NULL, "schema version", NULL))
            goto fail;
        version = 0;
    }
    if (version > store_nmigrations) {
        SLOG(SLOG_ERROR, "postgresql: schema version %d is not one this server knows (0..%d)",
             version, store_nmigrations);
        goto fail;
    }
    for (int v = version; v < store_nmigrations; v++) {
        struct pg_args b = {0};
        r = PQexec(c, store_migrations[v].pg); /* several statements, no parameters */
        if (pg_check(r, "migration") != STORE_OK) {
            PQclear(r);
            goto fail;
        }
        PQclear(r);
        pg_i64(&b, v + 1);
        if (pg_cmd(c, "UPDATE schema_version SET version = $1", &b, "schema version", NULL))
            goto fail;
        SLOG(SLOG_INFO, "postgresql: migrated schema to version %d", v + 1);
    }
    return pg_cmd(c, "COMMIT", NULL, "commit migrations", NULL) ? -1 : 0;
fail:
    pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
    return -1;
}

static void pgs_close(struct store *s);
static int pgs_seen_flush(void *ctx, const struct store_seen_entry *e, size_t n);

static int pgs_open(const char *target, struct store **out)
{
    struct store *s = calloc(1, sizeof *s);
    PGconn *c;

    if (!s)
        return STORE_ERR;
    s->conninfo = strdup(target);
    pthread_mutex_init(&s->mu, NULL);
    c = s->conninfo ? conn_open(s->conninfo) : NULL;
    if (!c || migrate(c)) {
        conn_finish(c);
        free(s->conninfo);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return STORE_ERR;
    }
    pg_release(s, c);
    if (!(s->seen = store_seen_new(pgs_seen_flush, s, 0))) {
        pgs_close(s);
        return STORE_ERR;
    }
    *out = s;
    return STORE_OK;
}

static void pgs_close(struct store *s)
{
    if (!s)
        return;
    store_seen_free(s->seen); /* the last batch, while the pool is open */
    for (int i = 0; i < s->npool; i++)
        conn_finish(s->pool[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}

int pg_exec(struct store *s, const char *sql, const struct pg_args *a, const char *what,
            int *changed)
{
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    rc = pg_cmd(c, sql, a, what, changed);
    pg_release(s, c);
    return rc;
}

int pg_tx(struct store *s, int (*body)(PGconn *c, void *ctx), void *ctx)
{
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL)) {
        pg_release(s, c);
        return STORE_ERR;
    }
    rc = body(c, ctx);
    if (rc == STORE_OK && pg_cmd(c, "COMMIT", NULL, "commit", NULL))
        rc = STORE_ERR;
    if (rc != STORE_OK)
        pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
    pg_release(s, c);
    return rc;
}

int pg_rows(struct store *s, const char *sql, const struct pg_args *a,
                      const char *what, int want_row, pg_row_fn each, void *ctx)
{
    PGconn *c = pg_acquire(s);
    PGresult *r;
    int rc;

    if (!c)
        return STORE_ERR;
    r = pg_run(c, sql, a);
    rc = pg_check(r, what);
    if (rc == STORE_OK && want_row && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        if (each(ctx, r, i))
            break;
    PQclear(r);
    pg_release(s, c);
    return rc == STORE_EXISTS ? STORE_ERR : rc;
}

/* --- releases ----------------------------------------------------------- */

#define RELEASE_COLS                                                                       \
    "id, version, size, chip, project, idf_ver, secure_version, sha256, chunk_size, "     \
    "slot_size, created_at, manifest, signature"

static void read_release(const PGresult *r, int i, struct store_release *out)
{
    memset(out, 0, sizeof *out);
    out->id = pg_i64_at(r, i, 0);
    pg_txt_at(r, i, 1, out->version, sizeof out->version);
    out->size = pg_i64_at(r, i, 2);
    out->chip = (int)pg_i64_at(r, i, 3);
    pg_txt_at(r, i, 4, out->project, sizeof out->project);
    pg_txt_at(r, i, 5, out->idf_ver, sizeof out->idf_ver);
    out->secure_version = (uint32_t)pg_i64_at(r, i, 6);
    pg_txt_at(r, i, 7, out->sha256, sizeof out->sha256);
    out->chunk_size = (uint32_t)pg_i64_at(r, i, 8);
    out->slot_size = pg_i64_at(r, i, 9);
    out->created_at = pg_i64_at(r, i, 10);
    out->is_signed = pg_bytea_at(r, i, 11, out->manifest, sizeof out->manifest) &&
                     pg_bytea_at(r, i, 12, out->signature, sizeof out->signature);
    if (!out->is_signed) {
        memset(out->manifest, 0, sizeof out->manifest);
        memset(out->signature, 0, sizeof out->signature);
    }
}

static int pgs_release_insert(struct store *s, struct store_release *rel)
{
    struct pg_args a = {0};
    char man[2 * 128 + 3], sig[2 * 64 + 3];
    PGconn *c = pg_acquire(s);
    PGresult *r;
    int rc;

    if (!c)
        return STORE_ERR;
    rel->created_at = (int64_t)time(NULL);
    pg_txt(&a, rel->version);
    pg_i64(&a, rel->size);
    pg_i64(&a, rel->chip);
    pg_txt(&a, rel->project);
    pg_txt(&a, rel->idf_ver);
    pg_i64(&a, rel->secure_version);
    pg_txt(&a, rel->sha256);
    pg_i64(&a, rel->chunk_size);
    pg_i64(&a, rel->slot_size);
    pg_i64(&a, rel->created_at);
    if (rel->is_signed) {
        pg_bytea(&a, man, rel->manifest, sizeof rel->manifest);
        pg_bytea(&a, sig, rel->signature, sizeof rel->signature);
    } else {
        pg_txt(&a, NULL);
        pg_txt(&a, NULL);
    }
    r = pg_run(c, "INSERT INTO releases (version, size, chip, project, idf_ver, secure_version,"
                  " sha256, chunk_size, slot_size, created_at, manifest, signature)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id", &a);
    rc = pg_check(r, "insert release");
    if (rc == STORE_OK)
        rel->id = pg_i64_at(r, 0, 0);
    PQclear(r);
    pg_release(s, c);
    return rc;
}

static int copy_release(void *ctx, const PGresult *r, int i)
{
    read_release(r, i, ctx);
    return 1;
}

static int pgs_release_get(struct store *s, int64_t id, struct store_release *out)
{
    struct pg_args a = {0};
    pg_i64(&a, id);
    return pg_rows(s, "SELECT " RELEASE_COLS " FROM releases WHERE id = $1", &a,
                      "get release", 1, copy_release, out);
}

static int pgs_release_by_sha256(struct store *s, const char *sha, struct store_release *out)
{
    struct pg_args a = {0};
    pg_txt(&a, sha);
    return pg_rows(s, "SELECT " RELEASE_COLS " FROM releases WHERE sha256 = $1", &a,
                      "get release", 1, copy_release, out);
}

struct each_release { store_release_cb cb; void *ctx; };
static int each_release(void *ctx, const PGresult *r, int i)
{
    struct each_release *e = ctx;
    struct store_release rel;
    read_release(r, i, &rel);
    return e->cb(e->ctx, &rel);
}

static int pgs_release_list(struct store *s, store_release_cb cb, void *ctx)
{
    struct each_release e = {cb, ctx};
    return pg_rows(s, "SELECT " RELEASE_COLS " FROM releases ORDER BY id", NULL,
                      "list releases", 0, each_release, &e);
}

/* --- devices ------------------------------------------------------------ */

#define DEVICE_COLS                                                                        \
    "id, chip, current_version, reported_version, COALESCE(offered_release, 0), state, "  \
    "COALESCE(status_release, 0), chunks_received, last_error, last_seen, created_at"

static void read_device(const PGresult *r, int i, struct store_device *d)
{
    memset(d, 0, sizeof *d);
    pg_txt_at(r, i, 0, d->id, sizeof d->id);
    d->chip = (int)pg_i64_at(r, i, 1);
    pg_txt_at(r, i, 2, d->current_version, sizeof d->current_version);
    pg_txt_at(r, i, 3, d->reported_version, sizeof d->reported_version);
    d->offered_release = pg_i64_at(r, i, 4);
    pg_txt_at(r, i, 5, d->state, sizeof d->state);
    d->status_release = pg_i64_at(r, i, 6);
    d->chunks_received = pg_i64_at(r, i, 7);
    pg_txt_at(r, i, 8, d->last_error, sizeof d->last_error);
    d->last_seen = pg_i64_at(r, i, 9);
    d->created_at = pg_i64_at(r, i, 10);
}

static int pgs_device_insert(struct store *s, const char *id, int chip)
{
    struct pg_args a = {0};

    pg_txt(&a, id);
    pg_i64(&a, chip);
    pg_i64(&a, (int64_t)time(NULL));
    return pg_exec(s, "INSERT INTO devices (id, chip, created_at) VALUES ($1,$2,$3)", &a,
                   "insert device", NULL);
}

static int copy_device(void *ctx, const PGresult *r, int i)
{
    read_device(r, i, ctx);
    return 1;
}

static int pgs_device_get(struct store *s, const char *id, struct store_device *out)
{
    struct pg_args a = {0};
    pg_txt(&a, id);
    return pg_rows(s, "SELECT " DEVICE_COLS " FROM devices WHERE id = $1", &a, "get device",
                      1, copy_device, out);
}

struct each_device { store_device_cb cb; void *ctx; };
static int each_device(void *ctx, const PGresult *r, int i)
{
    struct each_device *e = ctx;
    struct store_device d;
    read_device(r, i, &d);
    return e->cb(e->ctx, &d);
}

static int pgs_device_list(struct store *s, store_device_cb cb, void *ctx)
{
    struct each_device e = {cb, ctx};
    return pg_rows(s, "SELECT " DEVICE_COLS " FROM devices ORDER BY id", NULL,
                      "list devices", 0, each_device, &e);
}

/* The batched last_seen times (store_seen.h): one statement over arrays,
 * committed without waiting for the WAL flush (a crash may lose the last
 * second of them, nothing else). */
static int pgs_seen_flush(void *ctx, const struct store_seen_entry *e, size_t n)
{
    struct store *s = ctx;
    struct pg_args a = {0};
    char *ids, *ats;
    size_t ki = 0, ka = 0;
    PGconn *c;
    int rc = -1;

    ids = malloc(n * (2 * sizeof e->id + 3) + 3);
    ats = malloc(n * 21 + 3);
    if (!ids || !ats)
        goto out;
    ids[ki++] = '{';
    ats[ka++] = '{';
    for (size_t i = 0; i < n; i++) {
        /* a text[] literal: each id quoted, " and \ escaped */
        if (i) {
            ids[ki++] = ',';
            ats[ka++] = ',';
        }
        ids[ki++] = '"';
        for (const char *p = e[i].id; *p; p++) {
            if (*p == '"' || *p == '\\')
                ids[ki++] = '\\';
            ids[ki++] = *p;
        }
        ids[ki++] = '"';
        ka += (size_t)sprintf(ats + ka, "%" PRId64, e[i].at);
    }
    ids[ki++] = '}';
    ids[ki] = 0;
    ats[ka++] = '}';
    ats[ka] = 0;
    if (!(c = pg_acquire(s)))
        goto out;
    pg_txt(&a, ids);
    pg_txt(&a, ats);
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL) == STORE_OK) {
        if (pg_cmd(c, "SET LOCAL synchronous_commit = off", NULL, "last_seen", NULL) == STORE_OK &&
            pg_cmd(c, "UPDATE devices d SET last_seen = v.at FROM (SELECT unnest($1::text[]) AS id,"
                      " unnest($2::bigint[]) AS at) v WHERE d.id = v.id AND d.last_seen < v.at",
                   &a, "last_seen", NULL) == STORE_OK &&
            pg_cmd(c, "COMMIT", NULL, "commit last_seen", NULL) == STORE_OK)
            rc = 0;
        else
            pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
    }
    pg_release(s, c);
out:
    free(ids);
    free(ats);
    return rc;
}

/* What a poll persists (store_sqlite.c says why): the running version and
 * the offer at once and durably when they change, in one conditional
 * UPDATE; a poll that changes neither writes nothing (no transaction id, no
 * WAL flush) and only notes last_seen for the batch. */
static int pgs_device_checked(struct store *s, const char *id, const char *running,
                              int64_t offered, int64_t now)
{
    struct pg_args a = {0};
    int rc, n = 0;

    pg_txt(&a, running);
    pg_i64(&a, now);
    pg_i64(&a, offered);
    pg_txt(&a, id);
    /* An offer of nothing keeps the last offered release (store_sqlite.c). */
    rc = pg_exec(s, "UPDATE devices SET reported_version = $1, last_seen = $2,"
                    " offered_release = CASE WHEN $3::bigint > 0 THEN $3::bigint"
                    " ELSE offered_release END WHERE id = $4 AND (reported_version <> $1"
                    " OR ($3::bigint > 0 AND COALESCE(offered_release, 0) <> $3::bigint))",
                 &a, "update device on check", &n);
    if (rc == STORE_EXISTS)
        rc = STORE_ERR;
    /* nothing changed (or no such device: its batched last_seen then
     * updates no row) */
    if (rc == STORE_OK && n == 0)
        store_seen_note(s->seen, id, now);
    return rc;
}

/* --- statuses ----------------------------------------------------------- */

/* Whether the device's newest history row is about the same release and
 * state as stt: 1, 0, or -1 on error. */
static int same_as_newest(PGconn *c, const char *id, const struct store_status *stt)
{
    struct pg_args a = {0};
    PGresult *r;
    int same;

    pg_txt(&a, id);
    r = pg_run(c, "SELECT release_id, state FROM status_history WHERE device_id = $1"
                  " ORDER BY id DESC LIMIT 1", &a);
    if (pg_check(r, "newest status") != STORE_OK)
        same = -1;
    else
        same = PQntuples(r) == 1 && pg_i64_at(r, 0, 0) == stt->release &&
               strcmp(PQgetvalue(r, 0, 1), stt->state) == 0;
    PQclear(r);
    return same;
}

static int status_write(PGconn *c, const char *id, const struct store_status *stt, int64_t now,
                        const char *confirmed_version)
{
    struct pg_args a = {0}, d = {0};
    int same, rc, n = 0;

    /* the device's row lock orders two statuses of one device (two nodes) */
    pg_txt(&a, id);
    if ((rc = pg_cmd(c, "SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", &a, "lock device",
                     &n)) != STORE_OK)
        return rc;
    if (n == 0)
        return STORE_EXISTS; /* as a foreign key would: the caller says NOT_FOUND */
    if ((same = same_as_newest(c, id, stt)) < 0)
        return STORE_ERR;
    pg_i64(&a, stt->chunks_received);
    pg_txt(&a, stt->error);
    pg_i64(&a, now);
    if (same) {
        /* progress: lost to a database crash at worst (see the top) */
        if ((rc = pg_cmd(c, "SET LOCAL synchronous_commit = off", NULL, "progress", NULL)) ||
            (rc = pg_cmd(c, "UPDATE status_history SET chunks_received = $2, error = $3,"
                            " at = $4 WHERE id = (SELECT MAX(id) FROM status_history"
                            " WHERE device_id = $1)", &a, "update status", NULL)))
            return rc;
    } else {
        struct pg_args t = {0};
        pg_i64(&a, stt->release);
        pg_txt(&a, stt->state);
        if ((rc = pg_cmd(c, "INSERT INTO status_history (device_id, chunks_received, error,"
                            " at, release_id, state) VALUES ($1,$2,$3,$4,$5,$6)", &a,
                         "insert status", NULL)))
            return rc;
        pg_txt(&t, id);
        pg_i64(&t, STORE_HISTORY_KEEP);
        if ((rc = pg_cmd(c, "DELETE FROM status_history WHERE device_id = $1 AND id <="
                            " (SELECT id FROM status_history WHERE device_id = $1"
                            "  ORDER BY id DESC LIMIT 1 OFFSET $2)", &t,
                         "trim status history", NULL)))
            return rc;
    }
    pg_txt(&d, stt->state);
    pg_i64(&d, stt->release);
    pg_i64(&d, stt->chunks_received);
    pg_txt(&d, stt->error);
    pg_i64(&d, now);
    pg_txt(&d, confirmed_version);
    pg_txt(&d, id);
    if ((rc = pg_cmd(c, "UPDATE devices SET state = $1, status_release = $2,"
                        " chunks_received = $3, last_error = $4, last_seen = $5,"
                        " current_version = COALESCE($6, current_version) WHERE id = $7", &d,
                     "update device status", NULL)))
        return rc;
    return pg_rollout_note_status(c, id, stt->release, stt->state, now) ? STORE_ERR : STORE_OK;
}

static int pgs_status_add(struct store *s, const char *id, const struct store_status *stt,
                          const char *confirmed_version)
{
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL)) {
        pg_release(s, c);
        return STORE_ERR;
    }
    rc = status_write(c, id, stt, (int64_t)time(NULL), confirmed_version);
    if (rc == STORE_OK)
        rc = pg_cmd(c, "COMMIT", NULL, "commit status", NULL) ? STORE_ERR : STORE_OK;
    else {
        pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
        rc = rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* FK: unknown release */
    }
    pg_release(s, c);
    return rc;
}

void pg_status_at(const PGresult *r, int i, int col, struct store_status *h)
{
    memset(h, 0, sizeof *h);
    h->id = pg_i64_at(r, i, col);
    h->release = pg_i64_at(r, i, col + 1);
    pg_txt_at(r, i, col + 2, h->state, sizeof h->state);
    h->chunks_received = pg_i64_at(r, i, col + 3);
    pg_txt_at(r, i, col + 4, h->error, sizeof h->error);
    h->at = pg_i64_at(r, i, col + 5);
}

struct each_status { store_status_cb cb; void *ctx; };
static int each_status(void *ctx, const PGresult *r, int i)
{
    struct each_status *e = ctx;
    struct store_status h;
    pg_status_at(r, i, 0, &h);
    return e->cb(e->ctx, &h);
}

static int pgs_status_history(struct store *s, const char *id, int limit, store_status_cb cb,
                              void *ctx)
{
    struct each_status e = {cb, ctx};
    struct pg_args a = {0};
    pg_txt(&a, id);
    pg_i64(&a, limit);
    return pg_rows(s, "SELECT id, release_id, state, chunks_received, error, at"
                         " FROM status_history WHERE device_id = $1 ORDER BY id DESC LIMIT $2",
                      &a, "status history", 0, each_status, &e);
}

/* --- deployments -------------------------------------------------------- */

static int deployment_write(PGconn *c, int64_t release, int chip, int allow_downgrade,
                            const char *const *devices, size_t n, struct store_deployment *out)
{
    struct pg_args a = {0};
    PGresult *r;
    int rc;

    pg_i64(&a, release);
    if (chip >= 0)
        pg_i64(&a, chip);
    else
        pg_txt(&a, NULL);
    pg_i64(&a, out->created_at);
    pg_i64(&a, allow_downgrade ? 1 : 0);
    r = pg_run(c, "INSERT INTO deployments (release_id, chip, created_at, allow_downgrade)"
                  " VALUES ($1,$2,$3,$4) RETURNING id", &a);
    rc = pg_check(r, "insert deployment");
    if (rc == STORE_OK)
        out->id = pg_i64_at(r, 0, 0);
    PQclear(r);
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        struct pg_args d = {0};
        pg_i64(&d, out->id);
        pg_txt(&d, devices[i]);
        rc = pg_cmd(c, "INSERT INTO deployment_devices (deployment_id, device_id)"
                       " VALUES ($1,$2) ON CONFLICT DO NOTHING", &d,
                    "insert deployment device", NULL);
    }
    return rc;
}

static int pgs_deployment_create(struct store *s, int64_t release, int chip,
                                 int allow_downgrade, const char *const *devices, size_t n,
                                 struct store_deployment *out)
{
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    memset(out, 0, sizeof *out);
    out->release = release;
    out->chip = chip;
    out->allow_downgrade = allow_downgrade;
    out->created_at = (int64_t)time(NULL);
    out->ndevices = n;
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL)) {
        pg_release(s, c);
        return STORE_ERR;
    }
    rc = deployment_write(c, release, chip, allow_downgrade, devices, n, out);
    if (rc == STORE_OK && pg_cmd(c, "COMMIT", NULL, "commit deployment", NULL))
        rc = STORE_ERR;
    if (rc != STORE_OK) {
        pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
        rc = rc == STORE_EXISTS ? STORE_NOT_FOUND : STORE_ERR; /* a foreign key */
    }
    pg_release(s, c);
    return rc;
}

static int pgs_deployment_list(struct store *s, store_deployment_cb cb, void *ctx)
{
    PGconn *c = pg_acquire(s);
    PGresult *r, *dv;
    int rc;

    if (!c)
        return STORE_ERR;
    r = pg_run(c, "SELECT id, release_id, COALESCE(chip, -1), created_at, allow_downgrade"
                  " FROM deployments ORDER BY id", NULL);
    dv = pg_run(c, "SELECT deployment_id, device_id FROM deployment_devices"
                   " ORDER BY deployment_id, device_id", NULL);
    rc = pg_check(r, "deployments");
    if (rc == STORE_OK)
        rc = pg_check(dv, "deployment devices");
    for (int i = 0, j = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        struct store_deployment d;
        const char **ids;
        int first, stop;
        memset(&d, 0, sizeof d);
        d.id = pg_i64_at(r, i, 0);
        d.release = pg_i64_at(r, i, 1);
        d.chip = (int)pg_i64_at(r, i, 2);
        d.created_at = pg_i64_at(r, i, 3);
        d.allow_downgrade = (int)pg_i64_at(r, i, 4);
        while (j < PQntuples(dv) && pg_i64_at(dv, j, 0) < d.id)
            j++;
        for (first = j; j < PQntuples(dv) && pg_i64_at(dv, j, 0) == d.id; j++)
            ;
        d.ndevices = (size_t)(j - first);
        ids = calloc(d.ndevices + 1, sizeof *ids);
        if (!ids) {
            rc = STORE_ERR;
            break;
        }
        for (size_t k = 0; k < d.ndevices; k++)
            ids[k] = PQgetvalue(dv, first + (int)k, 1);
        stop = cb(ctx, &d, ids, d.ndevices);
        free(ids);
        if (stop)
            break;
    }
    PQclear(r);
    PQclear(dv);
    pg_release(s, c);
    return rc == STORE_OK ? STORE_OK : STORE_ERR;
}

struct dep_out { int64_t *release; int *allow_downgrade; };
static int copy_dep(void *ctx, const PGresult *r, int i)
{
    struct dep_out *o = ctx;
    *o->release = pg_i64_at(r, i, 0);
    if (o->allow_downgrade)
        *o->allow_downgrade = (int)pg_i64_at(r, i, 1);
    return 1;
}

static int pgs_deployment_for_device(struct store *s, const char *id, int chip,
                                     int64_t *release, int *allow_downgrade)
{
    struct dep_out o = {release, allow_downgrade};
    struct pg_args a = {0};
    pg_i64(&a, chip);
    pg_txt(&a, id);
    return pg_rows(s, "SELECT release_id, allow_downgrade FROM deployments d"
                         " WHERE d.chip = $1 OR EXISTS (SELECT 1 FROM deployment_devices x"
                         " WHERE x.deployment_id = d.id AND x.device_id = $2)"
                         " ORDER BY d.id DESC LIMIT 1", &a, "deployment for device", 1,
                      copy_dep, &o);
}

static int stop_at_first(void *ctx, const PGresult *r, int i)
{
    (void)ctx, (void)r, (void)i;
    return 1;
}

static int pgs_release_deployed_to(struct store *s, int64_t release, const char *id, int chip)
{
    struct pg_args a = {0};
    pg_i64(&a, release);
    pg_i64(&a, chip);
    pg_txt(&a, id);
    return pg_rows(s, "SELECT 1 FROM deployments d WHERE d.release_id = $1 AND"
                         " (d.chip = $2 OR EXISTS (SELECT 1 FROM deployment_devices x"
                         " WHERE x.deployment_id = d.id AND x.device_id = $3)) UNION ALL"
                         " SELECT 1 FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id"
                         " WHERE m.device_id = $3 AND r.release_id = $1"
                         " AND m.offered_at IS NOT NULL LIMIT 1", &a, "release deployed to", 1,
                      stop_at_first, NULL);
}

/* Whether target names a PostgreSQL database rather than a SQLite file. */
int store_pg_target(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0 ||
           strncmp(target, "host=", 5) == 0 || strncmp(target, "dbname=", 7) == 0;
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .shared = 1,
    .open = pgs_open,
    .close = pgs_close,
    .release_insert = pgs_release_insert,
    .release_get = pgs_release_get,
    .release_by_sha256 = pgs_release_by_sha256,
    .release_list = pgs_release_list,
    .device_insert = pgs_device_insert,
    .device_get = pgs_device_get,
    .device_list = pgs_device_list,
    .device_checked = pgs_device_checked,
    .status_add = pgs_status_add,
    .status_history = pgs_status_history,
    .status_window = pg_status_window,
    .deployment_create = pgs_deployment_create,
    .deployment_list = pgs_deployment_list,
    .deployment_for_device = pgs_deployment_for_device,
    .release_deployed_to = pgs_release_deployed_to,
    PG_ROLLOUT_OPS
};
