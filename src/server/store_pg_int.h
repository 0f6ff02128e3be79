/*
 * store_pg_int.h - what the parts of the PostgreSQL store share: the store
 * (a pool of libpq connections to one database), query parameters as text,
 * and the result helpers. store_pg.c holds the pool, the migrations,
 * releases, devices, statuses and deployments; store_pg_rollout.c the
 * rollouts; store_pg_fleet.c onboarding and the audit log;
 * store_pg_shared.c release bytes and download slots; store_pg_window.c
 * the fleet page's view of the history. Not for use
 * outside the store.
 */
#ifndef FOTA_SERVER_STORE_PG_INT_H
#define FOTA_SERVER_STORE_PG_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

#define PG_POOL_MAX 64
#define PG_ARGS_MAX 24

struct store {
    char *conninfo;
    pthread_mutex_t mu;
    PGconn *pool[PG_POOL_MAX];
    int npool;
    struct store_seen *seen; /* batched last_seen (store_seen.h) */
};

/* Query parameters, all sent as text (NULL: SQL NULL). Numbers are printed
 * into buf; text is pointed to and must outlive the query. */
struct pg_args {
    int n;
    const char *v[PG_ARGS_MAX];
    char buf[PG_ARGS_MAX][24];
};
void pg_i64(struct pg_args *a, int64_t x);
void pg_txt(struct pg_args *a, const char *s);
/* bytea as text ("\x" and hex) in hex (2 * len + 3 bytes). */
void pg_bytea(struct pg_args *a, char *hex, const void *data, size_t len);

/* A connection of the pool (opened when the pool is empty), or NULL. */
PGconn *pg_acquire(struct store *s);
/* Back to the pool; a broken connection is closed instead. */
void pg_release(struct store *s, PGconn *c);
/* Runs sql with a (may be NULL). Always returns a result (PQclear it). */
PGresult *pg_run(PGconn *c, const char *sql, const struct pg_args *a);
/* The result's outcome: STORE_OK for commands and rows; STORE_EXISTS for a
 * constraint (SQLSTATE class 23); else STORE_ERR, logged with what. */
int pg_check(PGresult *r, const char *what);
/* Runs a command without rows; STORE_OK/STORE_EXISTS/STORE_ERR; *changed
 * (may be NULL): rows it touched. */
int pg_cmd(PGconn *c, const char *sql, const struct pg_args *a, const char *what, int *changed);
/* pg_cmd on a connection of the pool: the acquire/run/release frame of
 * every single-statement write; STORE_ERR when no connection opens. */
int pg_exec(struct store *s, const char *sql, const struct pg_args *a, const char *what,
            int *changed);
/* body(c, ctx) inside BEGIN..COMMIT on a connection of the pool, rolled back
 * unless it returns STORE_OK: the frame of every multi-statement write. */
int pg_tx(struct store *s, int (*body)(PGconn *c, void *ctx), void *ctx);
/* One query whose rows go to each(ctx, r, row) until it returns non-zero:
 * the acquire/run/check/release frame every read shares. STORE_NOT_FOUND
 * when want_row and no row came. */
typedef int (*pg_row_fn)(void *ctx, const PGresult *r, int row);
int pg_rows(struct store *s, const char *sql, const struct pg_args *a, const char *what,
            int want_row, pg_row_fn each, void *ctx);
int64_t pg_i64_at(const PGresult *r, int row, int col);
/* A status_history row from columns col.. (id, release, state,
 * chunks_received, error, at) of row i. */
void pg_status_at(const PGresult *r, int i, int col, struct store_status *h);
void pg_txt_at(const PGresult *r, int row, int col, char *dst, size_t n);
/* bytea column into dst when it holds exactly n bytes: 1, else 0. */
int pg_bytea_at(const PGresult *r, int row, int col, void *dst, size_t n);

/* store_pg_rollout.c */
int pg_rollout_note_status(PGconn *c, const char *device, int64_t release, const char *state,
                           int64_t now);
int pg_rollout_create(struct store *s, struct store_rollout *r, const struct store_member *m,
                      size_t n);
int pg_rollout_get(struct store *s, int64_t id, struct store_rollout *out);
int pg_rollout_list(struct store *s, store_rollout_cb cb, void *ctx);
int pg_rollout_transition(struct store *s, int64_t id, const char *from_state, int from_stage,
                          const char *to_state, int to_stage, int64_t now, const char *reason);
int pg_rollout_events(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx);
int pg_rollout_progress(struct store *s, int64_t id, struct store_stage_counts *counts, int n);
int pg_rollout_missing(struct store *s, const struct store_rollout *r, const char *device,
                       store_target_cb cb, void *ctx);
int pg_rollout_add_members(struct store *s, int64_t id, const struct store_member *m, size_t n);
int pg_rollout_joinable(struct store *s, const char *device, int chip,
                        const char *const *states, store_rollout_cb cb, void *ctx);
int pg_rollout_expire(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n);
int pg_rollout_lookup(struct store *s, const char *device, int chip, const char *const *states,
                      int *joinable, struct store_rollout_offer *out);
int pg_rollout_for_device(struct store *s, const char *device, int chip,
                          struct store_rollout_offer *out);
int pg_rollout_offered(struct store *s, int64_t rollout, const char *device, int64_t now);

/* store_pg_fleet.c */
int pg_device_import(struct store *s, struct store_import_row *rows, size_t n);
int pg_device_tag(struct store *s, const char *id, const char *const *add, size_t nadd,
                  const char *const *remove, size_t nremove);
int pg_device_tags(struct store *s, const char *id, store_tag_cb cb, void *ctx);
int pg_device_key_get(struct store *s, const char *id, uint8_t wrapped[60]);
int pg_audit_add(struct store *s, struct store_audit *a);
int pg_audit_list(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx);

/* store_pg_window.c */
int pg_status_window(struct store *s, struct store_window *w, store_failure_cb cb, void *ctx);

/* store_pg_shared.c */
int pg_blob_put(struct store *s, const char *sha256hex, const uint8_t *data, size_t len);
int pg_blob_get(struct store *s, const char *sha256hex, int fd);
int pg_download_admit(struct store *s, const char *id, unsigned max, int64_t now,
                      unsigned idle);
int pg_download_done(struct store *s, const char *id);

#define PG_ROLLOUT_OPS                                                                     \
    .rollout_create = pg_rollout_create, .rollout_get = pg_rollout_get,                    \
    .rollout_list = pg_rollout_list, .rollout_transition = pg_rollout_transition,          \
    .rollout_events = pg_rollout_events, .rollout_progress = pg_rollout_progress,          \
    .rollout_missing = pg_rollout_missing, .rollout_add_members = pg_rollout_add_members,  \
    .rollout_joinable = pg_rollout_joinable, .rollout_expire = pg_rollout_expire,          \
    .rollout_for_device = pg_rollout_for_device, .rollout_offered = pg_rollout_offered,     \
    .rollout_lookup = pg_rollout_lookup,                                                   \
    .audit_add = pg_audit_add, .audit_list = pg_audit_list,                                 \
    .device_import = pg_device_import, .device_tag = pg_device_tag,                        \
    .device_tags = pg_device_tags, .device_key_get = pg_device_key_get,                    \
    .blob_put = pg_blob_put, .blob_get = pg_blob_get, .download_admit = pg_download_admit, \
    .download_done = pg_download_done,

#endif
