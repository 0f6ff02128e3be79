/*
 * store_sqlite_conn.c - the SQLite store's connections: a pool of them on
 * one file, each with a cache of its prepared statements.
 *
 * Why a statement cache: sqlite3_prepare_v2 parses and plans the SQL every
 * time, and with 10,000 devices polling that was most of a `check`'s cost
 * (perf: ~70 % of the server's CPU in the parser, bench/scale.sh). SQLite's
 * C API has no cache of its own (its Tcl binding does), so each pooled
 * connection keeps up to STMT_CACHE statements, found by the SQL text
 * (hash, then an exact compare: SQL built at run time is cached by its text
 * too), prepared with SQLITE_PREPARE_PERSISTENT. sq_prep hands one out
 * marked busy; sq_done resets it, clears its bindings and gives it back. A
 * statement asked for while its cached copy is still out (the same SQL
 * nested) is prepared anew and finalized by sq_done.
 *
 * A connection is used by one thread at a time, between sq_acquire and
 * sq_release; the thread keeps the connections it holds on a small stack of
 * its own (thread-local, nesting is at most two deep in the store), which
 * is how sq_prep finds the cache of a `sqlite3 *` without a lock.
 *
 * Also here, once per process: SQLite's memory statistics are turned off
 * (SQLITE_CONFIG_MEMSTATUS): they take one global mutex at every malloc and
 * free inside SQLite, which the server's threads fought over.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite_int.h"

#define BUSY_TIMEOUT_MS 10000
#define STMT_CACHE 64 /* distinct statements of the store: about 60 */
#define HELD_MAX 8    /* connections one thread holds at once */

struct sq_stmt {
    uint32_t hash;
    unsigned char busy;
    sqlite3_stmt *st;
};

struct sq_conn {
    sqlite3 *db;
    unsigned n;
    struct sq_stmt c[STMT_CACHE];
};

static _Thread_local struct sq_conn *held[HELD_MAX];
static _Thread_local int nheld;

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void config_sqlite(void)
{
    /* fails (SQLITE_MISUSE) if SQLite was initialised already: then the
     * statistics stay on, which only costs speed */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        SLOG(SLOG_ERROR, "sqlite: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3 *sq_conn_open(const char *path)
{
    sqlite3 *db = NULL;
    int rc;

    pthread_once(&config_once, config_sqlite);
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        SLOG(SLOG_ERROR, "sqlite: cannot open %s: %s", path,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* synchronous=FULL: with WAL, NORMAL may lose the last commits on power
     * loss; a status answered with 204 must not be lost. */
    if (sq_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void conn_close(struct sq_conn *c)
{
    for (unsigned i = 0; i < c->n; i++)
        sqlite3_finalize(c->c[i].st);
    sqlite3_close(c->db);
    free(c);
}

static void hold(struct sq_conn *c)
{
    assert(nheld < HELD_MAX); /* the store nests at most two connections */
    held[nheld++] = c;
}

/* The connection this thread holds for db, taken off its stack when take. */
static struct sq_conn *held_conn(sqlite3 *db, int take)
{
    for (int i = nheld - 1; i >= 0; i--)
        if (held[i]->db == db) {
            struct sq_conn *c = held[i];
            if (take) {
                memmove(&held[i], &held[i + 1], (size_t)(nheld - 1 - i) * sizeof held[0]);
                nheld--;
            }
            return c;
        }
    return NULL;
}

sqlite3 *sq_acquire(struct store *s)
{
    struct sq_conn *c = NULL;
    sqlite3 *db;

    pthread_mutex_lock(&s->mu);
    if (s->npool > 0)
        c = s->pool[--s->npool];
    pthread_mutex_unlock(&s->mu);
    if (!c) {
        if (!(db = sq_conn_open(s->path)))
            return NULL;
        if (!(c = calloc(1, sizeof *c))) {
            sqlite3_close(db);
            return NULL;
        }
        c->db = db;
    }
    hold(c);
    return c->db;
}

void sq_release(struct store *s, sqlite3 *db)
{
    struct sq_conn *c;

    if (!db)
        return;
    if (!(c = held_conn(db, 1))) {
        /* a connection opened outside sq_acquire (the migration's) joins
         * the pool here */
        if (!(c = calloc(1, sizeof *c))) {
            sqlite3_close(db);
            return;
        }
        c->db = db;
    }
    for (unsigned i = 0; i < c->n; i++)
        if (c->c[i].busy) { /* not given back by sq_done: our bug, but harmless */
            sqlite3_reset(c->c[i].st);
            c->c[i].busy = 0;
        }
    pthread_mutex_lock(&s->mu);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (c)
        conn_close(c);
}

void sq_pool_close(struct store *s)
{
    for (int i = 0; i < s->npool; i++)
        conn_close(s->pool[i]);
    s->npool = 0;
}

static uint32_t hash_sql(const char *sql)
{
    uint32_t h = 2166136261u;
    for (; *sql; sql++)
        h = (h ^ (uint8_t)*sql) * 16777619u;
    return h;
}

sqlite3_stmt *sq_prep(sqlite3 *db, const char *sql)
{
    struct sq_conn *c = held_conn(db, 0);
    sqlite3_stmt *st = NULL;
    uint32_t h = 0;

    if (c) {
        h = hash_sql(sql);
        for (unsigned i = 0; i < c->n; i++) {
            struct sq_stmt *e = &c->c[i];
            if (e->hash == h && !e->busy && strcmp(sqlite3_sql(e->st), sql) == 0) {
                e->busy = 1;
                return e->st;
            }
        }
    }
    if (sqlite3_prepare_v3(db, sql, -1, c && c->n < STMT_CACHE ? SQLITE_PREPARE_PERSISTENT : 0,
                           &st, NULL) != SQLITE_OK) {
        SLOG(SLOG_ERROR, "sqlite: prepare failed: %s (%s)", sqlite3_errmsg(db), sql);
        sqlite3_finalize(st);
        return NULL;
    }
    if (c && c->n < STMT_CACHE && st)
        c->c[c->n++] = (struct sq_stmt){h, 1, st};
    return st;
}

void sq_done(sqlite3_stmt *st)
{
    struct sq_conn *c;

    if (!st)
        return;
    if ((c = held_conn(sqlite3_db_handle(st), 0)))
        for (unsigned i = 0; i < c->n; i++)
            if (c->c[i].st == st) {
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                c->c[i].busy = 0;
                return;
            }
    sqlite3_finalize(st);
}
