/*
 * store_pg_fleet.c - onboarding and the audit log in the PostgreSQL store:
 * bulk registration in one transaction, device tags, imported keys, and
 * the append-only audit log (the schema's trigger refuses UPDATE, DELETE
 * and TRUNCATE on audit_log, as SQLite's triggers do).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_pg_int.h"

static int add_tag(PGconn *c, const char *sql, const char *id, const char *tag)
{
    struct pg_args a = {0};
    pg_txt(&a, id);
    pg_txt(&a, tag);
    return pg_cmd(c, sql, &a, "device tag", NULL) == STORE_OK ? 0 : -1;
}

#define TAG_INSERT "INSERT INTO device_tags (device_id, tag) VALUES ($1,$2) ON CONFLICT DO NOTHING"

static int import_row(PGconn *c, struct store_import_row *r, int64_t now)
{
    struct pg_args a = {0};
    char hex[2 * 60 + 3];
    PGresult *res;
    int n = 0;

    pg_txt(&a, r->id);
    pg_i64(&a, r->chip);
    pg_i64(&a, now);
    if (pg_cmd(c, "INSERT INTO devices (id, chip, created_at) VALUES ($1,$2,$3)"
                  " ON CONFLICT DO NOTHING", &a, "import device", &n))
        return -1;
    if (n) {
        r->result = STORE_OK;
        if (r->has_key) {
            struct pg_args k = {0};
            pg_txt(&k, r->id);
            pg_bytea(&k, hex, r->wrapped, sizeof r->wrapped);
            if (pg_cmd(c, "INSERT INTO device_keys (device_id, wrapped) VALUES ($1,$2)", &k,
                       "import key", NULL))
                return -1;
        }
    } else {
        struct pg_args g = {0};
        pg_txt(&g, r->id);
        res = pg_run(c, "SELECT chip FROM devices WHERE id = $1", &g);
        if (pg_check(res, "imported device") != STORE_OK || PQntuples(res) != 1) {
            PQclear(res);
            return -1;
        }
        r->existing_chip = (int)pg_i64_at(res, 0, 0);
        PQclear(res);
        r->result = r->existing_chip == r->chip ? STORE_EXISTS : STORE_ERR;
    }
    if (r->result == STORE_ERR)
        return 0;
    for (int t = 0; t < r->ntags; t++)
        if (add_tag(c, TAG_INSERT, r->id, r->tags[t]))
            return -1;
    return 0;
}

struct import_ctx { struct store_import_row *rows; size_t n; int64_t now; };
static int import_body(PGconn *c, void *ctx)
{
    struct import_ctx *x = ctx;
    for (size_t i = 0; i < x->n; i++)
        if (import_row(c, &x->rows[i], x->now))
            return STORE_ERR;
    return STORE_OK;
}

int pg_device_import(struct store *s, struct store_import_row *rows, size_t n)
{
    struct import_ctx x = {rows, n, (int64_t)time(NULL)};
    return pg_tx(s, import_body, &x);
}

int pg_device_tag(struct store *s, const char *id, const char *const *add, size_t nadd,
                  const char *const *remove, size_t nremove)
{
    struct pg_args a = {0};
    PGconn *c = pg_acquire(s);
    int rc, n = 0;

    if (!c)
        return STORE_ERR;
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL)) {
        pg_release(s, c);
        return STORE_ERR;
    }
    pg_txt(&a, id);
    rc = pg_cmd(c, "SELECT 1 FROM devices WHERE id = $1", &a, "device exists", &n);
    if (rc == STORE_OK && n == 0)
        rc = STORE_NOT_FOUND;
    for (size_t i = 0; rc == STORE_OK && i < nadd; i++)
        if (add_tag(c, TAG_INSERT, id, add[i]))
            rc = STORE_ERR;
    for (size_t i = 0; rc == STORE_OK && i < nremove; i++)
        if (add_tag(c, "DELETE FROM device_tags WHERE device_id = $1 AND tag = $2", id,
                    remove[i]))
            rc = STORE_ERR;
    if (rc == STORE_OK && pg_cmd(c, "COMMIT", NULL, "commit tags", NULL))
        rc = STORE_ERR;
    if (rc != STORE_OK)
        pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
    pg_release(s, c);
    return rc == STORE_EXISTS ? STORE_ERR : rc;
}

struct each_tag { store_tag_cb cb; void *ctx; };
static int each_tag(void *ctx, const PGresult *r, int i)
{
    struct each_tag *e = ctx;
    return e->cb(e->ctx, PQgetvalue(r, i, 0));
}

int pg_device_tags(struct store *s, const char *id, store_tag_cb cb, void *ctx)
{
    struct each_tag e = {cb, ctx};
    struct pg_args a = {0};
    pg_txt(&a, id);
    return pg_rows(s, "SELECT tag FROM device_tags WHERE device_id = $1 ORDER BY tag", &a,
                   "device tags", 0, each_tag, &e);
}

int pg_device_key_get(struct store *s, const char *id, uint8_t wrapped[60])
{
    struct pg_args a = {0};
    PGconn *c = pg_acquire(s);
    PGresult *r;
    int rc;

    if (!c)
        return STORE_ERR;
    pg_txt(&a, id);
    r = pg_run(c, "SELECT wrapped FROM device_keys WHERE device_id = $1", &a);
    rc = pg_check(r, "device key");
    if (rc == STORE_OK)
        rc = PQntuples(r) == 1 && pg_bytea_at(r, 0, 0, wrapped, 60) ? STORE_OK
                                                                     : STORE_NOT_FOUND;
    PQclear(r);
    pg_release(s, c);
    return rc == STORE_EXISTS ? STORE_ERR : rc;
}

int pg_audit_add(struct store *s, struct store_audit *au)
{
    struct pg_args a = {0};
    PGconn *c = pg_acquire(s);
    PGresult *r;
    int rc;

    if (!c)
        return STORE_ERR;
    pg_i64(&a, au->at);
    pg_txt(&a, au->who);
    pg_txt(&a, au->method);
    pg_txt(&a, au->path);
    pg_txt(&a, au->detail);
    pg_i64(&a, au->status);
    pg_txt(&a, au->result);
    r = pg_run(c, "INSERT INTO audit_log (at, who, method, path, detail, status, result)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id", &a);
    rc = pg_check(r, "append to the audit log");
    if (rc == STORE_OK)
        au->id = pg_i64_at(r, 0, 0);
    PQclear(r);
    pg_release(s, c);
    return rc == STORE_EXISTS ? STORE_ERR : rc;
}

struct each_audit { store_audit_cb cb; void *ctx; };
static int each_audit(void *ctx, const PGresult *r, int i)
{
    struct each_audit *e = ctx;
    struct store_audit a;
    memset(&a, 0, sizeof a);
    a.id = pg_i64_at(r, i, 0);
    a.at = pg_i64_at(r, i, 1);
    pg_txt_at(r, i, 2, a.who, sizeof a.who);
    pg_txt_at(r, i, 3, a.method, sizeof a.method);
    pg_txt_at(r, i, 4, a.path, sizeof a.path);
    pg_txt_at(r, i, 5, a.detail, sizeof a.detail);
    a.status = (int)pg_i64_at(r, i, 6);
    pg_txt_at(r, i, 7, a.result, sizeof a.result);
    return e->cb(e->ctx, &a);
}

int pg_audit_list(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx)
{
    struct each_audit e = {cb, ctx};
    struct pg_args a = {0};
    pg_i64(&a, before);
    pg_i64(&a, limit);
    return pg_rows(s, "SELECT id, at, who, method, path, detail, status, result FROM audit_log"
                      " WHERE $1::bigint = 0 OR id < $1 ORDER BY id DESC LIMIT $2", &a,
                   "audit log", 0, each_audit, &e);
}
