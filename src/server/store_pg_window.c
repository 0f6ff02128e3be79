/*
 * store_pg_window.c - status_window of the PostgreSQL store: the fleet's
 * history of the last hours for the dashboard's fleet page, in two queries
 * (two round trips) whatever the number of devices; it was one
 * status_history per device, 10,000 round trips a refresh for 10,000
 * devices, per node and per open dashboard. The failures come newest first
 * with their total beside each row (COUNT(*) OVER (), taken before the
 * LIMIT); the confirmations are counted per hour by PostgreSQL (GROUP BY
 * the bucket). Each reads one index of migration 5 and only the window's
 * rows of it: the failures the partial index status_history_failures (its
 * WHERE is repeated here as written), the confirmations
 * status_history_state_at.
 */
#include <string.h>

#include "store_pg_int.h"

struct failures {
    struct store_window *w;
    store_failure_cb cb;
    void *ctx;
};

static int each_failure(void *ctx, const PGresult *r, int i)
{
    struct failures *f = ctx;
    struct store_status h;
    char device[65];

    f->w->failures_total = pg_i64_at(r, i, 7); /* the same on every row */
    pg_txt_at(r, i, 0, device, sizeof device);
    pg_status_at(r, i, 1, &h);
    return f->cb(f->ctx, device, &h);
}

static int each_hour(void *ctx, const PGresult *r, int i)
{
    struct store_window *w = ctx;
    int64_t k = pg_i64_at(r, i, 0);
    if (k >= 0 && k < (int64_t)w->hours)
        w->confirmed[k] = pg_i64_at(r, i, 1);
    return 0;
}

int pg_status_window(struct store *s, struct store_window *w, store_failure_cb cb, void *ctx)
{
    struct failures f = {w, cb, ctx};
    struct pg_args a = {0}, b = {0};
    int rc;

    w->failures_total = 0;
    for (unsigned k = 0; k < w->hours; k++)
        w->confirmed[k] = 0;
    pg_i64(&a, w->since);
    pg_i64(&a, w->limit);
    rc = pg_rows(s, "SELECT device_id, id, release_id, state, chunks_received, error, at,"
                    " COUNT(*) OVER () FROM status_history WHERE at >= $1 AND"
                    " (state IN ('failed', 'rolled_back') OR error <> '')"
                    " ORDER BY at DESC, id DESC LIMIT $2",
                 &a, "failures", 0, each_failure, &f);
    if (rc != STORE_OK || !w->hours)
        return rc;
    pg_i64(&b, w->first_hour);
    pg_i64(&b, w->first_hour + 3600 * (int64_t)w->hours);
    return pg_rows(s, "SELECT (at - $1) / 3600, COUNT(*) FROM status_history"
                      " WHERE at >= $1 AND at < $2 AND state = 'confirmed' GROUP BY 1",
                   &b, "confirmations per hour", 0, each_hour, w);
}
