/*
 * test_multinode.c - server_multinode (label pg): two fota-server nodes on
 * one PostgreSQL database, each with its own data folder, as
 * docs/operations.md deploys them. Over real HTTP:
 *
 *  - a device checks at node B (which offers a release uploaded through B),
 *    then asks node A for a chunk without release=: A must serve B's
 *    release (its device cache must not keep the offer it saw before, and
 *    it fetches the release's bytes from the database into its own folder);
 *  - check and chunk answers are byte-identical whichever node serves them;
 *  - a node's start-up cleanup removes its own unfinished upload files and
 *    never another node's in a shared temp folder.
 *
 * Needs FOTA_TEST_PG (tests/lib/pgcluster.sh run): FAILS without it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = h_read_file(from, &n);
    FILE *f = fopen(to, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n && fclose(f) == 0, "copy %s to %s", from, to);
    free(b);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fclose(f) == 0, "create %s", path);
}

static char *get_ok(struct dev *d, struct srv *s, const char *path, size_t *len)
{
    struct resp r;
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0 && r.status == 200, "%s at %s: %ld %s", path,
          s->url, r.status, r.body ? r.body : "");
    *len = r.len;
    return r.body; /* the caller frees */
}

/* chunk n's bytes as a node serves them (no release=: the offered one) */
static uint8_t *chunk_bytes(struct dev *d, struct srv *s, unsigned n, size_t *len, char **raw,
                            size_t *rawlen)
{
    char path[96];
    snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%u", n);
    *raw = get_ok(d, s, path, rawlen);
    json_t *j = json_loads(*raw, 0, NULL);
    CHECK(j, "chunk answer is not JSON: %s", *raw);
    uint8_t *b = h_b64decode(json_string_value(json_object_get(j, "data")), len);
    json_decref(j);
    return b;
}

int main(int argc, char **argv)
{
    struct srv a, b;
    struct dev d;
    struct resp r;
    char path[600], body[200], *ra, *rb;
    size_t la, lb, len1, len2, cl;
    const char *const a_args[] = {"--node-id", "a", "--max-downloads", "1", NULL};
    const char *const b_args[] = {"--node-id", "b", "--max-downloads", "1", NULL};

    h_init(argc, argv);
    CHECK(h_pg(), "FOTA_TEST_PG is not set: run under tests/lib/pgcluster.sh run --");
    h_newdir(&a);
    h_start(&a, a_args);
    /* node B: its own folder, the same database and master secret */
    h_newdir(&b);
    snprintf(b.db, sizeof b.db, "%s", a.db);
    snprintf(path, sizeof path, "%s/master.key", a.dir);
    char to[600];
    snprintf(to, sizeof to, "%s/master.key", b.dir);
    copy_file(path, to);
    chmod(to, 0600);
    h_start(&b, b_args);

    uint8_t *img1 = h_read_file(h_fw_path("esp32-arduino-a.bin"), &len1);
    uint8_t *img2 = h_read_file(h_fw_path("esp32-arduino-b.bin"), &len2);

    /* release 1 through A, offered and read at A: A caches the device */
    h_device_add(&a, "mn-dev", "esp32", &d);
    json_t *rel = h_upload(&a, "esp32-arduino-a.bin", "version=1.0.0", &r);
    CHECK(r.status == 201, "upload at A: %ld", r.status);
    resp_free(&r);
    long long r1 = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"mn-dev\"]}", r1);
    json_decref(h_admin(&a, "POST", "/api/admin/deployments", body, 201));
    free(get_ok(&d, &a, "/api/inverter/fota/check?version=0.1", &la));
    uint8_t *c = chunk_bytes(&d, &a, 0, &cl, &ra, &la);
    CHECK(cl > 0 && memcmp(c, img1, cl) == 0, "chunk 0 at A is not release 1's");
    free(c);
    free(ra);
    printf("ok: node A offers and serves release %lld\n", r1);

    /* release 2 through B, deployed at B, offered at B */
    rel = h_upload(&b, "esp32-arduino-b.bin", "version=2.0.0", &r);
    CHECK(r.status == 201, "upload at B: %ld", r.status);
    resp_free(&r);
    long long r2 = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"mn-dev\"]}", r2);
    json_decref(h_admin(&b, "POST", "/api/admin/deployments", body, 201));
    ra = get_ok(&d, &b, "/api/inverter/fota/check?version=1.0.0", &la);
    CHECK(strstr(ra, "\"2.0.0\""), "B does not offer 2.0.0: %s", ra);
    free(ra);
    /* A, which saw the device offered release 1 and has not seen the check
     * at B, serves B's release for a chunk without release=, byte-identical
     * to B's answer */
    for (unsigned n = 0; n < 3; n++) {
        uint8_t *ca = chunk_bytes(&d, &a, n, &cl, &ra, &la);
        size_t off = (size_t)n * 1024;
        CHECK(cl > 0 && off + cl <= len2 && memcmp(ca, img2 + off, cl) == 0,
              "chunk %u at A is not release 2's bytes (stale offer in A's device cache?)", n);
        uint8_t *cb = chunk_bytes(&d, &b, n, &cl, &rb, &lb);
        CHECK(la == lb && memcmp(ra, rb, la) == 0, "chunk %u answers differ between A and B", n);
        free(ca);
        free(cb);
        free(ra);
        free(rb);
    }
    snprintf(path, sizeof path, "%s/data/images/", a.dir);
    char sha_path[700];
    {
        uint8_t sha[32];
        char hex[65];
        h_sha256(img2, len2, sha);
        h_hex(sha, 32, hex);
        snprintf(sha_path, sizeof sha_path, "%s%s", path, hex);
    }
    struct stat st;
    CHECK(stat(sha_path, &st) == 0 && (size_t)st.st_size == len2,
          "A has no local copy of release 2 at %s", sha_path);
    printf("ok: A serves release %lld uploaded through B (fetched into its own folder), "
           "chunks identical to B's\n", r2);

    /* the same check at A and B: the same bytes */
    ra = get_ok(&d, &b, "/api/inverter/fota/check?version=1.0.0", &la);
    rb = get_ok(&d, &a, "/api/inverter/fota/check?version=1.0.0", &lb);
    CHECK(la == lb && memcmp(ra, rb, la) == 0, "check answers differ:\n  B: %s\n  A: %s", ra, rb);
    free(ra);
    free(rb);
    printf("ok: check answers identical at A and B (offer of release %lld)\n", r2);

    /* --max-downloads 1 is fleet-wide: mn-dev downloads (through A and B
     * above), so another device is refused at either node until mn-dev's
     * download ends, reported through A */
    struct dev e;
    h_device_add(&b, "mn-other", "esp32", &e);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"mn-other\"]}", r2);
    json_decref(h_admin(&b, "POST", "/api/admin/deployments", body, 201));
    free(get_ok(&e, &b, "/api/inverter/fota/check?version=1.0.0", &la));
    CHECK(h_dev(&e, &r, "GET", &b, "/api/inverter/fota/chunk?chunk=0", NULL) == 0 &&
              r.status == 503, "a second download at B while mn-dev downloads: %ld", r.status);
    resp_free(&r);
    CHECK(h_dev(&e, &r, "GET", &a, "/api/inverter/fota/chunk?chunk=0", NULL) == 0 &&
              r.status == 503, "a second download at A while mn-dev downloads: %ld", r.status);
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"release\":%lld,\"state\":\"installed\",\"chunks_received\":0,\"error\":\"\"}",
             r2);
    CHECK(h_dev(&d, &r, "POST", &a, "/api/inverter/fota/status", body) == 0 && r.status == 204,
          "installed: %ld %s", r.status, r.body);
    resp_free(&r);
    CHECK(h_dev(&e, &r, "GET", &b, "/api/inverter/fota/chunk?chunk=0", NULL) == 0 &&
              r.status == 200, "mn-other's turn at B: %ld", r.status);
    resp_free(&r);
    printf("ok: --max-downloads 1 holds across A and B\n");

    /* start-up cleanup: A's own leftovers go, B's stay (a shared folder) */
    h_stop(&a);
    char own[700], other[700];
    snprintf(own, sizeof own, "%s/data/tmp/upload-a-x1y2z3", a.dir);
    snprintf(other, sizeof other, "%s/data/tmp/upload-b-x1y2z3", a.dir);
    touch(own);
    touch(other);
    h_start(&a, a_args);
    CHECK(access(own, F_OK) != 0, "A's own unfinished upload %s was not removed", own);
    CHECK(access(other, F_OK) == 0, "A's start-up removed node B's upload file %s", other);
    printf("ok: start-up cleanup removed A's own temp file and left B's\n");

    h_stop(&a);
    h_stop(&b);
    h_cleanup(&a);
    h_cleanup(&b);
    free(img1);
    free(img2);
    printf("server_multinode: all checks passed\n");
    return 0;
}
