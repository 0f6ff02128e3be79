/*
 * store_sqlite_window.c - status_window of the SQLite store: the fleet's
 * history of the last hours for the dashboard's fleet page, in two
 * statements whatever the number of devices (it was one status_history per
 * device: 10,000 reads a refresh for 10,000 devices). The failures come
 * newest first with their total beside each row (COUNT(*) OVER (), taken
 * before the LIMIT); the confirmations are counted per hour by SQLite
 * (GROUP BY the bucket). Each reads one index of migration 5 and only the
 * window's rows of it: the failures the partial index
 * status_history_failures (SQLite uses it only when the query repeats its
 * WHERE term as written, hence FAILURE_ROW), the confirmations
 * status_history_state_at alone (no table row is read).
 */
#include <string.h>

#include "store_sqlite_int.h"

/* the failure rule (store.h, status_window), in the words of the index
 * status_history_failures (store_migrations.c, migration 5) */
#define FAILURE_ROW "at >= ?1 AND (state IN ('failed', 'rolled_back') OR error <> '')"

int sq_status_window(struct store *s, struct store_window *w, store_failure_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_status h;
    char device[65];
    int rc;

    w->failures_total = 0;
    for (unsigned k = 0; k < w->hours; k++)
        w->confirmed[k] = 0;
    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT device_id, id, release_id, state, chunks_received, error, at,"
                     " COUNT(*) OVER () FROM status_history WHERE " FAILURE_ROW
                     " ORDER BY at DESC, id DESC LIMIT ?2");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, w->since);
    sqlite3_bind_int(st, 2, w->limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        w->failures_total = sqlite3_column_int64(st, 7);
        memset(&h, 0, sizeof h);
        sq_col_text(st, 0, device, sizeof device);
        h.id = sqlite3_column_int64(st, 1);
        h.release = sqlite3_column_int64(st, 2);
        sq_col_text(st, 3, h.state, sizeof h.state);
        h.chunks_received = sqlite3_column_int64(st, 4);
        sq_col_text(st, 5, h.error, sizeof h.error);
        h.at = sqlite3_column_int64(st, 6);
        if (cb(ctx, device, &h))
            break; /* failures_total came with the first row */
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "failures");
    sq_done(st);
    if (rc != STORE_OK || !w->hours) {
        sq_release(s, db);
        return rc;
    }
    st = sq_prep(db, "SELECT (at - ?1) / 3600, COUNT(*) FROM status_history"
                     " WHERE at >= ?1 AND at < ?2 AND state = 'confirmed' GROUP BY 1");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, w->first_hour);
    sqlite3_bind_int64(st, 2, w->first_hour + 3600 * (int64_t)w->hours);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        if (k >= 0 && k < (int64_t)w->hours)
            w->confirmed[k] = sqlite3_column_int64(st, 1);
    }
    rc = rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "confirmations per hour");
    sq_done(st);
    sq_release(s, db);
    return rc;
}
