/*
 * store_sqlite_int.h - what the parts of the SQLite store share: the store
 * itself (a pool of connections on one file) and the small statement
 * helpers. store_sqlite.c holds the schema, releases, devices and
 * deployments; store_sqlite_rollout.c the rollouts; store_sqlite_conn.c the
 * connections and their statement caches. Not for use outside the
 * store.
 */
#ifndef FOTA_SERVER_STORE_SQLITE_INT_H
#define FOTA_SERVER_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

#define POOL_MAX 64

struct sq_conn; /* a connection and its statement cache (store_sqlite_conn.c) */

struct store {
    char *path;
    pthread_mutex_t mu;
    struct sq_conn *pool[POOL_MAX];
    int npool;
    struct store_seen *seen; /* batched last_seen (store_seen.h) */
};

/* store_sqlite_conn.c: a new connection on path (WAL, synchronous=FULL,
 * foreign keys, busy timeout), or NULL (logged). */
sqlite3 *sq_conn_open(const char *path);
/* A connection of the pool (opened when the pool is empty), held by the
 * calling thread until sq_release, or NULL. */
sqlite3 *sq_acquire(struct store *s);
/* Gives db back to the pool (closed when the pool is full); db may be one
 * from sq_conn_open, which joins the pool. */
void sq_release(struct store *s, sqlite3 *db);
/* Closes every pooled connection (at sq_close). */
void sq_pool_close(struct store *s);
/* sqlite3_exec, logging a failure; 0 or -1. */
int sq_exec(sqlite3 *db, const char *sql);
/* A prepared statement for sql on db, from db's cache when db is held from
 * sq_acquire, or NULL (logged). Give it back with sq_done (never
 * sqlite3_finalize) before sq_release. */
sqlite3_stmt *sq_prep(sqlite3 *db, const char *sql);
/* Resets st, clears its bindings and returns it to its cache (or finalizes
 * it when it is not cached). NULL is ignored. */
void sq_done(sqlite3_stmt *st);
/* Text column i into dst (n bytes, NUL-terminated, "" for NULL). */
void sq_col_text(sqlite3_stmt *st, int i, char *dst, size_t n);
/* STORE_EXISTS for a constraint, else STORE_ERR (logged with what). */
int sq_step_err(sqlite3 *db, int rc, const char *what);

/* store_sqlite_rollout.c: the device's rollout memberships take a status
 * (inside status_add's transaction). 0 or -1. */
int sq_rollout_note_status(sqlite3 *db, const char *device, int64_t release, const char *state,
                           int64_t now);

/* store_sqlite_rollout.c: the rollout methods of struct store_ops. */
int sq_rollout_create(struct store *s, struct store_rollout *r, const struct store_member *m,
                      size_t n);
int sq_rollout_get(struct store *s, int64_t id, struct store_rollout *out);
int sq_rollout_list(struct store *s, store_rollout_cb cb, void *ctx);
int sq_rollout_transition(struct store *s, int64_t id, const char *from_state, int from_stage,
                          const char *to_state, int to_stage, int64_t now, const char *reason);
int sq_rollout_events(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx);
int sq_rollout_progress(struct store *s, int64_t id, struct store_stage_counts *counts, int n);
int sq_rollout_missing(struct store *s, const struct store_rollout *r, const char *device,
                       store_target_cb cb, void *ctx);
int sq_rollout_add_members(struct store *s, int64_t id, const struct store_member *m, size_t n);
int sq_rollout_joinable(struct store *s, const char *device, int chip,
                        const char *const *states, store_rollout_cb cb, void *ctx);
int sq_rollout_expire(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n);
int sq_rollout_for_device(struct store *s, const char *device, int chip,
                          struct store_rollout_offer *out);
int sq_rollout_offered(struct store *s, int64_t rollout, const char *device, int64_t now);
int sq_rollout_lookup(struct store *s, const char *device, int chip, const char *const *states,
                      int *joinable, struct store_rollout_offer *out);

/* store_sqlite_fleet.c */
int sq_device_import(struct store *s, struct store_import_row *rows, size_t n);
int sq_device_tag(struct store *s, const char *id, const char *const *add, size_t nadd,
                  const char *const *remove, size_t nremove);
int sq_device_tags(struct store *s, const char *id, store_tag_cb cb, void *ctx);
int sq_device_key_get(struct store *s, const char *id, uint8_t wrapped[60]);

/* store_sqlite_audit.c */
int sq_audit_add(struct store *s, struct store_audit *a);
int sq_audit_list(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx);

#define SQLITE_ROLLOUT_OPS                                                                 \
    .rollout_create = sq_rollout_create, .rollout_get = sq_rollout_get,                    \
    .rollout_list = sq_rollout_list, .rollout_transition = sq_rollout_transition,          \
    .rollout_events = sq_rollout_events, .rollout_progress = sq_rollout_progress,          \
    .rollout_missing = sq_rollout_missing, .rollout_add_members = sq_rollout_add_members,  \
    .rollout_joinable = sq_rollout_joinable, .rollout_expire = sq_rollout_expire,          \
    .rollout_for_device = sq_rollout_for_device, .rollout_offered = sq_rollout_offered,     \
    .rollout_lookup = sq_rollout_lookup,                                                   \
    .audit_add = sq_audit_add, .audit_list = sq_audit_list,                                 \
    .device_import = sq_device_import, .device_tag = sq_device_tag,                        \
    .device_tags = sq_device_tags, .device_key_get = sq_device_key_get,

#endif
