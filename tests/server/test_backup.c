/*
 * test_backup.c - server_backup (SQLite) and server_backup_pg (PostgreSQL):
 * the backup and restore of docs/operations.md, done as an operator would
 * with the database's own tools while the server runs, then restored into
 * a fresh folder (and, on PostgreSQL, a fresh database) where a new server
 * must answer the device exactly as the old one did.
 *
 *  - SQLite: `sqlite3 DB ".backup FILE"` (an online, consistent copy) plus
 *    the data folder's images/ and the master key file;
 *  - PostgreSQL: `pg_dump -Fc` and `pg_restore` into an empty database plus
 *    the master key file; no data folder: the release bytes are in the
 *    database, and the restored server starts with an empty folder.
 *
 * The sqlite3 and pg_dump/pg_restore tools are required (scripts/bootstrap:
 * sqlite3, postgresql): the test fails naming a missing one.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void run(const char *cmd)
{
    int rc = system(cmd);
    CHECK(rc == 0, "`%s` failed (exit %d)", cmd, rc);
}

/* A PostgreSQL client tool of the server's version when there, else PATH's. */
static const char *pg_tool(const char *name, char *buf, size_t n)
{
    for (int v = 20; v >= 12; v--) {
        snprintf(buf, n, "/usr/lib/postgresql/%d/bin/%s", v, name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    snprintf(buf, n, "%s", name);
    return buf;
}

static char *get(struct dev *d, struct srv *s, const char *path, size_t *len)
{
    struct resp r;
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0 && r.status == 200, "%s: %ld %s", path,
          r.status, r.body ? r.body : "");
    *len = r.len;
    return r.body;
}

int main(int argc, char **argv)
{
    struct srv a, b;
    struct dev d;
    struct resp r;
    char cmd[2048], body[160], tool[256], tool2[256], backup[600];
    size_t l1, l2, l3, l4;

    h_init(argc, argv);
    h_newdir(&a);
    h_start(&a, NULL);
    h_device_add(&a, "bk-dev", "esp32", &d);
    json_t *rel = h_upload(&a, "esp32-arduino-a.bin", "version=2.0.0", &r);
    CHECK(r.status == 201, "upload: %ld", r.status);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"bk-dev\"]}",
             (long long)json_integer_value(json_object_get(rel, "id")));
    json_decref(rel);
    json_decref(h_admin(&a, "POST", "/api/admin/deployments", body, 201));
    char *check1 = get(&d, &a, "/api/inverter/fota/check?version=1.0.0", &l1);
    char *chunk1 = get(&d, &a, "/api/inverter/fota/chunk?chunk=5", &l2);

    /* the backup, taken while the server runs */
    h_newdir(&b); /* on PostgreSQL: its own empty database */
    snprintf(backup, sizeof backup, "%s/backup", a.dir);
    if (h_pg()) {
        snprintf(cmd, sizeof cmd, "%s -Fc -f '%s' '%s'", pg_tool("pg_dump", tool, sizeof tool),
                 backup, a.db);
        run(cmd);
    } else {
        CHECK(system("command -v sqlite3 >/dev/null") == 0,
              "the sqlite3 tool is missing (Debian package sqlite3; scripts/bootstrap)");
        snprintf(cmd, sizeof cmd, "sqlite3 '%s' \".backup '%s'\" && cp -r '%s/data' '%s.data'",
                 a.db, backup, a.dir, backup);
        run(cmd);
    }
    snprintf(cmd, sizeof cmd, "cp '%s/master.key' '%s/master.key'", a.dir, b.dir);
    run(cmd);
    h_stop(&a);
    printf("ok: backup taken while the server ran (%s)\n",
           h_pg() ? "pg_dump -Fc" : "sqlite3 .backup + data/images");

    /* the restore, into b */
    if (h_pg()) {
        snprintf(cmd, sizeof cmd, "%s --no-owner -d '%s' '%s'",
                 pg_tool("pg_restore", tool2, sizeof tool2), b.db, backup);
        run(cmd);
    } else {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp -r '%s.data' '%s/data'", backup, b.db,
                 backup, b.dir);
        run(cmd);
    }
    h_start(&b, NULL);
    char *check2 = get(&d, &b, "/api/inverter/fota/check?version=1.0.0", &l3);
    char *chunk2 = get(&d, &b, "/api/inverter/fota/chunk?chunk=5", &l4);
    CHECK(l1 == l3 && memcmp(check1, check2, l1) == 0, "check differs after the restore:\n  %s\n  %s",
          check1, check2);
    CHECK(l2 == l4 && memcmp(chunk1, chunk2, l2) == 0, "chunk 5 differs after the restore");
    json_t *dev = h_admin(&b, "GET", "/api/admin/devices/bk-dev", NULL, 200);
    CHECK(json_integer_value(json_object_get(dev, "offered_release")) > 0,
          "the restored device row lost its offer");
    json_decref(dev);
    printf("ok: the restored server answers check and chunk byte for byte as before\n");

    free(check1);
    free(check2);
    free(chunk1);
    free(chunk2);
    h_stop(&b);
    h_cleanup(&a);
    h_cleanup(&b);
    printf("server_backup: all checks passed\n");
    return 0;
}
