/*
 * test_orphans.c - server_orphans: image files that no release names (a
 * crash between the rename into images/ and the insert of the row leaves
 * one) are removed at start-up and counted in the log; a release's image
 * stays and is still served; files not named like an image are left alone.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d;
    struct resp r;
    char orphan[400], kept[400], other[400], logpath[300], body[128];
    size_t len;
    long long rid;

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    h_device_add(&s, "dongle-1", "esp32", &d);
    json_t *rel = h_upload(&s, "esp32-arduino-a.bin", "version=1.4.0", &r);
    CHECK(r.status == 201, "upload: %ld %s", r.status, r.body);
    resp_free(&r);
    rid = json_integer_value(json_object_get(rel, "id"));
    snprintf(kept, sizeof kept, "%s/data/images/%s", s.dir,
             json_string_value(json_object_get(rel, "sha256")));
    json_decref(rel);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"dongle-1\"]}", rid);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 201));
    h_stop(&s);

    /* the bytes of b, as if renamed in and then the server died */
    uint8_t *b = h_read_file(h_fw_path("esp32-arduino-b.bin"), &len);
    uint8_t sha[32];
    char hex[65];
    h_sha256(b, len, sha);
    h_hex(sha, 32, hex);
    snprintf(orphan, sizeof orphan, "%s/data/images/%s", s.dir, hex);
    FILE *f = fopen(orphan, "wb");
    CHECK(f && fwrite(b, 1, len, f) == len && fclose(f) == 0, "write %s", orphan);
    chmod(orphan, 0444);
    free(b);
    snprintf(other, sizeof other, "%s/data/images/README", s.dir);
    f = fopen(other, "w");
    CHECK(f && fputs("not an image\n", f) >= 0 && fclose(f) == 0, "write %s", other);
    CHECK(exists(kept) && exists(orphan), "files in place before the restart");

    h_start(&s, NULL);
    CHECK(!exists(orphan), "orphan image %s survived the restart", orphan);
    CHECK(exists(kept), "the release's image %s was removed", kept);
    CHECK(exists(other), "a file not named like an image was removed");
    snprintf(logpath, sizeof logpath, "%s/server.log", s.dir);
    char *log = (char *)h_read_file(logpath, &len);
    CHECK(strstr(log, "images: 1 referenced, 1 orphan(s) removed"),
          "log lacks the orphan count:\n%s", log);
    free(log);

    /* the release is still served after the clean-up */
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0 &&
              r.status == 200 && strstr(r.body, "\"update\":true"), "check after restart: %s",
          r.body ? r.body : "");
    resp_free(&r);
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/chunk?chunk=0", NULL) == 0 &&
              r.status == 200, "chunk after restart: %ld", r.status);
    resp_free(&r);

    /* a second restart finds nothing to remove */
    h_stop(&s);
    h_start(&s, NULL);
    log = (char *)h_read_file(logpath, &len);
    CHECK(strstr(log, "images: 1 referenced, 0 orphan(s) removed"), "second start: %s", log);
    free(log);
    h_stop(&s);
    h_cleanup(&s);
    printf("server_orphans: all checks passed\n");
    return 0;
}
