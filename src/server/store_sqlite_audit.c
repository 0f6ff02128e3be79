/*
 * store_sqlite_audit.c - the audit log of the SQLite store: one row per
 * admin action, appended and never changed (the schema's triggers refuse
 * UPDATE and DELETE on audit_log, so not even a bug here could rewrite it).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_int.h"

int sq_audit_add(struct store *s, struct store_audit *a)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "INSERT INTO audit_log (at, who, method, path, detail, status, result)"
                     " VALUES (?,?,?,?,?,?,?)");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, a->at);
    sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, a->status);
    sqlite3_bind_text(st, 7, a->result, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        a->id = sqlite3_last_insert_rowid(db);
        rc = STORE_OK;
    } else {
        rc = sq_step_err(db, rc, "append to the audit log");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_audit_list(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    struct store_audit a;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT id, at, who, method, path, detail, status, result FROM audit_log"
                     " WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(st, 0);
        a.at = sqlite3_column_int64(st, 1);
        sq_col_text(st, 2, a.who, sizeof a.who);
        sq_col_text(st, 3, a.method, sizeof a.method);
        sq_col_text(st, 4, a.path, sizeof a.path);
        sq_col_text(st, 5, a.detail, sizeof a.detail);
        a.status = sqlite3_column_int(st, 6);
        sq_col_text(st, 7, a.result, sizeof a.result);
        if (cb(ctx, &a))
            break;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "audit log");
    sq_done(st);
    sq_release(s, db);
    return rc;
}
