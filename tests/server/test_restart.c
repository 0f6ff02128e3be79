/*
 * test_restart.c - server_restart: SIGKILL fota-server while a client is
 * fetching chunks and posting statuses, restart it on the same database and
 * data folder, and check that the SQLite file passes integrity_check, that
 * the last status answered with 204 is in the history (repeated progress
 * collapses into one row), and that chunks are still served with the right
 * bytes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>


#include "harness.h"

struct client {
    struct srv *s;
    struct dev *d;
    long long rid;
    const uint8_t *file;
    size_t flen;
    long acked[100000]; /* chunks_received of statuses answered 204 */
    atomic_int nacked;
    atomic_int stop;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct resp r;
    char path[128], body[200];
    for (long n = 0; !c->stop; n = (n + 1) % 800) {
        snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%ld", n);
        if (h_dev(c->d, &r, "GET", c->s, path, NULL) != 0)
            break; /* server gone */
        CHECK(r.status == 200, "chunk %ld before the kill: %ld", n, r.status);
        resp_free(&r);
        snprintf(body, sizeof body,
                 "{\"release\":%lld,\"state\":\"downloading\",\"chunks_received\":%d,\"error\":\"\"}",
                 c->rid, atomic_load(&c->nacked) + 1);
        if (h_dev(c->d, &r, "POST", c->s, "/api/inverter/fota/status", body) != 0)
            break;
        if (r.status == 204) {
            int k = atomic_load(&c->nacked);
            c->acked[k] = k + 1;
            atomic_store(&c->nacked, k + 1);
        }
        resp_free(&r);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct client c;
    struct srv s;
    struct dev d;
    struct resp r;
    pthread_t th;
    char body[200];

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    h_device_add(&s, "dongle-r", "esp32", &d);
    json_t *rel = h_upload(&s, "esp32-arduino-a.bin", "version=2.0.0", &r);
    CHECK(r.status == 201, "upload: %ld", r.status);
    resp_free(&r);
    long long rid = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"dongle-r\"]}", rid);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 201));
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1", NULL) == 0 &&
              r.status == 200, "check");
    resp_free(&r);

    c.s = &s;
    c.d = &d;
    c.rid = rid;
    c.file = h_read_file(h_fw_path("esp32-arduino-a.bin"), &c.flen);
    pthread_create(&th, NULL, client_main, &c);
    /* let it run until a good number of statuses are durable, then kill */
    for (int i = 0; i < 500 && atomic_load(&c.nacked) < 40; i++)
        usleep(10000);
    h_kill(&s);
    c.stop = 1;
    pthread_join(th, NULL);
    int acked = atomic_load(&c.nacked);
    CHECK(acked >= 1, "no status was acknowledged before the kill");
    printf("ok: killed the server after %d acknowledged statuses\n", acked);

    /* the database, checked by its own engine (SQLite: opening it replays
     * the WAL, then integrity_check; PostgreSQL: amcheck is not in the
     * default install, so the rows themselves are the check) */
    char out[256];
    if (!h_pg()) {
        CHECK(h_sql(&s, "PRAGMA integrity_check", out, sizeof out) == 0 &&
                  strcmp(out, "ok") == 0, "integrity_check: %s", out);
    }
    /* repeated "downloading" posts collapse into one row (store.h): it
     * holds the last acknowledged progress, or a later one that reached the
     * store before the kill */
    CHECK(h_sql(&s, "SELECT COUNT(*) FROM status_history WHERE device_id = 'dongle-r'", out,
                sizeof out) == 0, "count: %s", out);
    CHECK(atoi(out) == 1, "%s progress rows: repeats did not collapse", out);
    CHECK(h_sql(&s, "SELECT MAX(chunks_received) FROM status_history WHERE device_id ="
                    " 'dongle-r'", out, sizeof out) == 0, "max: %s", out);
    CHECK(atol(out) >= c.acked[acked - 1],
          "status with chunks_received=%ld got 204 but the row holds %s", c.acked[acked - 1], out);
    printf("ok: integrity_check ok, the last of %d acknowledged statuses stored\n", acked);

    /* restart on the same files: still serves */
    h_start(&s, NULL);
    json_t *dev = h_admin(&s, "GET", "/api/admin/devices/dongle-r", NULL, 200);
    CHECK(json_integer_value(json_object_get(dev, "chunks_received")) >= acked,
          "device progress %lld < %d acknowledged",
          json_integer_value(json_object_get(dev, "chunks_received")), acked);
    json_decref(dev);
    uint8_t sha[32];
    char hex[65];
    h_sha256(c.file, c.flen, sha);
    long total = (long)((c.flen + 1023) / 1024);
    for (long n = 0; n < total; n += 97) {
        char path[128];
        size_t dl;
        snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%ld", n);
        CHECK(h_dev(&d, &r, "GET", &s, path, NULL) == 0 && r.status == 200,
              "chunk %ld after restart: %ld", n, r.status);
        json_t *j = json_loads(r.body, 0, NULL);
        uint8_t *data = h_b64decode(json_string_value(json_object_get(j, "data")), &dl);
        CHECK(memcmp(data, c.file + n * 1024, dl) == 0, "chunk %ld bytes after restart", n);
        h_chunk_hmac(d.key, sha, (uint32_t)n, data, dl, hex);
        CHECK(strcmp(hex, json_string_value(json_object_get(j, "hmac"))) == 0, "hmac %ld", n);
        free(data);
        json_decref(j);
        resp_free(&r);
    }
    printf("ok: chunks served after the restart\n");
    h_stop(&s);
    h_cleanup(&s);
    free((void *)c.file);
    printf("server_restart: all checks passed\n");
    return 0;
}
