/*
 * store_sqlite_fleet.c - onboarding a fleet in the SQLite store: bulk
 * registration in one transaction (thousands of devices, one fsync), and
 * device tags (the targets of tag rollouts).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_sqlite_int.h"

static int add_tag(sqlite3_stmt *st, const char *id, const char *tag)
{
    int rc;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int sq_device_import(struct store *s, struct store_import_row *rows, size_t n)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *ins = NULL, *get = NULL, *tag = NULL, *key = NULL;
    int64_t now = (int64_t)time(NULL);

    if (!db)
        return STORE_ERR;
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    ins = sq_prep(db, "INSERT OR IGNORE INTO devices (id, chip, created_at) VALUES (?,?,?)");
    get = sq_prep(db, "SELECT chip FROM devices WHERE id = ?");
    tag = sq_prep(db, "INSERT OR IGNORE INTO device_tags (device_id, tag) VALUES (?,?)");
    key = sq_prep(db, "INSERT INTO device_keys (device_id, wrapped) VALUES (?,?)");
    if (!ins || !get || !tag || !key)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct store_import_row *r = &rows[i];
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 2, r->chip);
        sqlite3_bind_int64(ins, 3, now);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            sq_step_err(db, SQLITE_ERROR, "import device");
            goto fail;
        }
        if (sqlite3_changes(db)) {
            r->result = STORE_OK;
            if (r->has_key) {
                sqlite3_reset(key);
                sqlite3_bind_text(key, 1, r->id, -1, SQLITE_STATIC);
                sqlite3_bind_blob(key, 2, r->wrapped, (int)sizeof r->wrapped, SQLITE_STATIC);
                if (sqlite3_step(key) != SQLITE_DONE)
                    goto fail;
            }
        } else {
            sqlite3_reset(get);
            sqlite3_bind_text(get, 1, r->id, -1, SQLITE_STATIC);
            if (sqlite3_step(get) != SQLITE_ROW)
                goto fail;
            r->existing_chip = sqlite3_column_int(get, 0);
            r->result = r->existing_chip == r->chip ? STORE_EXISTS : STORE_ERR;
        }
        if (r->result == STORE_ERR)
            continue;
        for (int t = 0; t < r->ntags; t++)
            if (add_tag(tag, r->id, r->tags[t]))
                goto fail;
    }
    sq_done(ins);
    sq_done(get);
    sq_done(tag);
    sq_done(key);
    if (sq_exec(db, "COMMIT")) {
        sq_exec(db, "ROLLBACK");
        sq_release(s, db);
        return STORE_ERR;
    }
    sq_release(s, db);
    return STORE_OK;
fail:
    sq_done(ins);
    sq_done(get);
    sq_done(tag);
    sq_done(key);
    sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return STORE_ERR;
}

int sq_device_tag(struct store *s, const char *id, const char *const *add, size_t nadd,
                  const char *const *remove, size_t nremove)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *ex = NULL, *ins = NULL, *del = NULL;
    int rc = STORE_ERR;

    if (!db)
        return STORE_ERR;
    if (sq_exec(db, "BEGIN IMMEDIATE")) {
        sq_release(s, db);
        return STORE_ERR;
    }
    ex = sq_prep(db, "SELECT 1 FROM devices WHERE id = ?");
    ins = sq_prep(db, "INSERT OR IGNORE INTO device_tags (device_id, tag) VALUES (?,?)");
    del = sq_prep(db, "DELETE FROM device_tags WHERE device_id = ? AND tag = ?");
    if (!ex || !ins || !del)
        goto out;
    sqlite3_bind_text(ex, 1, id, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(ex)) != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERR;
        goto out;
    }
    rc = STORE_ERR;
    for (size_t i = 0; i < nadd; i++)
        if (add_tag(ins, id, add[i]))
            goto out;
    for (size_t i = 0; i < nremove; i++)
        if (add_tag(del, id, remove[i]))
            goto out;
    rc = STORE_OK;
out:
    sq_done(ex);
    sq_done(ins);
    sq_done(del);
    if (rc == STORE_OK && sq_exec(db, "COMMIT"))
        rc = STORE_ERR;
    if (rc != STORE_OK)
        sq_exec(db, "ROLLBACK");
    sq_release(s, db);
    return rc;
}

int sq_device_tags(struct store *s, const char *id, store_tag_cb cb, void *ctx)
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT tag FROM device_tags WHERE device_id = ? ORDER BY tag");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0)))
            break;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : sq_step_err(db, rc, "device tags");
    sq_done(st);
    sq_release(s, db);
    return rc;
}

int sq_device_key_get(struct store *s, const char *id, uint8_t wrapped[60])
{
    sqlite3 *db = sq_acquire(s);
    sqlite3_stmt *st;
    int rc;

    if (!db)
        return STORE_ERR;
    st = sq_prep(db, "SELECT wrapped FROM device_keys WHERE device_id = ?");
    if (!st) {
        sq_release(s, db);
        return STORE_ERR;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 60) {
        memcpy(wrapped, sqlite3_column_blob(st, 0), 60);
        rc = STORE_OK;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = sq_step_err(db, rc, "device key");
    }
    sq_done(st);
    sq_release(s, db);
    return rc;
}
