/*
 * test_releases.c - server_releases: making releases from the real ESP32
 * images (accepted ones with their chip and version, refused ones with a
 * message that names the problem), slot size, duplicates, upload limits
 * (413 by Content-Length and by a streamed chunked body), and deployment
 * refusals.
 */
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

static json_t *upload_ok(struct srv *s, const char *file, const char *query, const char *chip)
{
    struct resp r;
    json_t *j = h_upload(s, file, query, &r);
    CHECK(r.status == 201, "%s: expected 201, got %ld: %s", file, r.status, r.body);
    CHECK(strcmp(json_string_value(json_object_get(j, "chip")), chip) == 0, "%s: chip %s, want %s",
          file, json_string_value(json_object_get(j, "chip")), chip);
    resp_free(&r);
    printf("ok: %s accepted as release %lld (%s, version \"%s\")\n", file,
           json_integer_value(json_object_get(j, "id")), chip,
           json_string_value(json_object_get(j, "version")));
    return j;
}

static void upload_refused(struct srv *s, const char *file, const char *query, long status,
                           const char *code, const char *needle)
{
    struct resp r;
    json_t *j = h_upload(s, file, query, &r);
    h_check_error(&r, status, code);
    CHECK(strstr(r.body, needle), "%s: message should mention \"%s\": %s", file, needle, r.body);
    printf("ok: %s refused: %s\n", file, r.body);
    resp_free(&r);
    json_decref(j);
}

struct feed {
    const uint8_t *p;
    size_t left;
};

static size_t feed_cb(char *buf, size_t sz, size_t n, void *ud)
{
    struct feed *f = ud;
    size_t k = sz * n < f->left ? sz * n : f->left;
    if (k > 4096)
        k = 4096;
    memcpy(buf, f->p, k);
    f->p += k;
    f->left -= k;
    return k;
}

int main(int argc, char **argv)
{
    struct srv s, small;
    struct resp r;
    char path[512];

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);

    json_t *a = upload_ok(&s, "esp32-arduino-a.bin", "version=1.0.0", "esp32");
    json_decref(upload_ok(&s, "esp32-arduino-b.bin", "version=1.0.1", "esp32"));
    json_t *s2 = upload_ok(&s, "esp32s2-idf-blink.bin", NULL, "esp32s2");
    /* no version given: the app descriptor's */
    CHECK(strncmp(json_string_value(json_object_get(s2, "version")), "qa-test-v5.0", 12) == 0,
          "S2 version from its descriptor: %s", json_string_value(json_object_get(s2, "version")));
    CHECK(strcmp(json_string_value(json_object_get(s2, "project")), "blink") == 0, "project");
    CHECK(json_integer_value(json_object_get(s2, "chip_id")) == 2, "S2 chip id");
    json_t *s3 = upload_ok(&s, "esp32s3-arduino.bin", "version=s3-1", "esp32s3");
    CHECK(json_integer_value(json_object_get(s3, "chip_id")) == 9, "S3 chip id");

    upload_refused(&s, "not-an-app-bootloader.bin", "version=x", 422, "not_an_app",
                   "not an application image");
    upload_refused(&s, "not-an-app-partitions.bin", "version=x", 422, "not_an_image",
                   "not an ESP image");
    upload_refused(&s, "esp32-arduino-large.bin", "version=big", 422, "image_too_large",
                   "image is 1689952 bytes, larger than the 1310720-byte slot");
    json_t *big = upload_ok(&s, "esp32-arduino-large.bin", "version=big&slot_size=0x1E0000",
                            "esp32");
    CHECK(json_integer_value(json_object_get(big, "slot_size")) == 0x1E0000, "slot size kept");
    json_decref(big);

    /* truncated copies of a valid image */
    {
        size_t n;
        uint8_t *img = h_read_file(h_fw_path("esp32-arduino-b.bin"), &n);
        size_t cuts[] = {100, 5000, 400000, n - 1};
        for (unsigned i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            snprintf(path, sizeof path, "%s/trunc.bin", s.dir);
            FILE *f = fopen(path, "wb");
            fwrite(img, 1, cuts[i], f);
            fclose(f);
            upload_refused(&s, path, "version=t", 422, "truncated_image", "truncated");
        }
        /* a flipped byte inside a segment: checksum or hash refusal */
        img[5000] ^= 0x55;
        FILE *f = fopen(path, "wb");
        fwrite(img, 1, n, f);
        fclose(f);
        upload_refused(&s, path, "version=t", 422, "bad_image_checksum", "checksum");
        free(img);
        unlink(path);
    }

    /* same bytes twice: 409 naming the existing release */
    upload_refused(&s, "esp32-arduino-a.bin", "version=again", 409, "already_exists",
                   "already release");
    /* bad parameters */
    upload_refused(&s, "esp32-arduino-a.bin", "slot_size=abc", 400, "bad_request", "slot_size");
    upload_refused(&s, "esp32-arduino-a.bin", "chunk_size=0", 400, "bad_request", "chunk_size");
    /* chunk sizes no device accepts (fota_chunk_size_ok: 512..1024 dividing
     * the 4096-byte sector) are refused at upload, not deployed to fail */
    {
        static const char *const bad_cs[] = {"16", "256", "768", "1000", "2048", "4096", "65536"};
        char q[64];
        for (unsigned i = 0; i < sizeof bad_cs / sizeof bad_cs[0]; i++) {
            snprintf(q, sizeof q, "version=cs&chunk_size=%s", bad_cs[i]);
            upload_refused(&s, "esp32-arduino-a.bin", q, 400, "bad_request",
                           "chunk_size must be 512..1024 bytes and divide the 4096-byte flash "
                           "sector");
        }
    }
    upload_refused(&s, "esp32-arduino-a.bin", "colour=red", 400, "bad_request", "colour");
    upload_refused(&s, "esp32-arduino-a.bin", "version=1&version=2", 400, "bad_request",
                   "more than once");

    /* list and show */
    json_t *l = h_admin(&s, "GET", "/api/admin/releases", NULL, 200);
    CHECK(json_array_size(json_object_get(l, "releases")) == 5, "5 releases listed, got %zu",
          json_array_size(json_object_get(l, "releases")));
    json_decref(l);
    snprintf(path, sizeof path, "/api/admin/releases/%lld",
             json_integer_value(json_object_get(a, "id")));
    json_t *one = h_admin(&s, "GET", path, NULL, 200);
    CHECK(json_equal(json_object_get(one, "sha256"), json_object_get(a, "sha256")), "show");
    CHECK(json_integer_value(json_object_get(one, "total_chunks")) == 883, "total_chunks 883");
    json_decref(one);
    json_decref(h_admin(&s, "GET", "/api/admin/releases/999", NULL, 404));
    json_decref(h_admin(&s, "GET", "/api/admin/releases/abc", NULL, 404));
    json_decref(h_admin(&s, "DELETE", "/api/admin/releases/1", NULL, 405));

    /* the content-addressed store holds the bytes under their sha256 */
    snprintf(path, sizeof path, "%s/data/images/%s", s.dir,
             json_string_value(json_object_get(a, "sha256")));
    CHECK(access(path, R_OK) == 0, "image stored at %s", path);

    /* deployments: chip must match, devices must exist */
    struct dev d;
    h_device_add(&s, "esp-1", "esp32", &d);
    json_decref(h_admin(&s, "POST", "/api/admin/devices", "{\"id\":\"esp-1\",\"chip\":\"esp32\"}",
                        409));
    json_decref(h_admin(&s, "POST", "/api/admin/devices", "{\"id\":\"bad id\"}", 400));
    json_decref(h_admin(&s, "POST", "/api/admin/devices", "{\"id\":\"x\",\"chip\":\"z80\"}", 400));
    char body[256];
    snprintf(body, sizeof body, "{\"release\": %lld, \"chip\": \"esp32s3\"}",
             json_integer_value(json_object_get(a, "id")));
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 400));
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"esp-1\", \"ghost\"]}",
             json_integer_value(json_object_get(a, "id")));
    {
        char url[256], auth[128];
        const char *hdrs[] = {auth, NULL};
        snprintf(url, sizeof url, "%s/api/admin/deployments", s.url);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
        CHECK(h_http(&r, "POST", url, hdrs, body, strlen(body)) == 0, "deploy");
        h_check_error(&r, 404, "not_found");
        CHECK(strstr(r.body, "ghost"), "404 names the unknown device: %s", r.body);
        resp_free(&r);
    }
    json_decref(h_admin(&s, "POST", "/api/admin/deployments",
                        "{\"release\": 999, \"chip\": \"esp32\"}", 404));
    snprintf(body, sizeof body, "{\"release\": %lld, \"chip\": \"esp32\"}",
             json_integer_value(json_object_get(a, "id")));
    json_t *dep = h_admin(&s, "POST", "/api/admin/deployments", body, 201);
    CHECK(strcmp(json_string_value(json_object_get(dep, "chip")), "esp32") == 0, "chip deploy");
    json_decref(dep);
    json_t *deps = h_admin(&s, "GET", "/api/admin/deployments", NULL, 200);
    CHECK(json_array_size(json_object_get(deps, "deployments")) == 1, "1 deployment");
    json_decref(deps);
    /* by chip: esp-1 is offered release a */
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=0", NULL) == 0, "check");
    CHECK(r.status == 200 && strstr(r.body, "\"update\":true"), "chip deployment offers: %s",
          r.body);
    resp_free(&r);

    json_decref(a);
    json_decref(s2);
    json_decref(s3);
    h_stop(&s);
    h_cleanup(&s);

    /* --- upload limit ------------------------------------------------------ */
    {
        const char *extra[] = {"--max-upload", "300000", NULL};
        h_newdir(&small);
        h_start(&small, extra);
        upload_refused(&small, "esp32-arduino-a.bin", "version=1", 413, "too_large", "300000");
        json_decref(upload_ok(&small, "esp32s2-idf-blink.bin", NULL, "esp32s2"));
        /* the other size a device accepts */
        json_t *cs512 = upload_ok(&small, "esp32s3-arduino.bin", "chunk_size=512", "esp32s3");
        CHECK(json_integer_value(json_object_get(cs512, "chunk_size")) == 512, "chunk_size 512 kept");
        json_decref(cs512);

        /* chunked body, no Content-Length: refused once it passes the limit */
        size_t n;
        uint8_t *img = h_read_file(h_fw_path("esp32-arduino-a.bin"), &n);
        struct feed f = {img, n};
        char url[256], auth[128];
        snprintf(url, sizeof url, "%s/api/admin/releases?version=chunked", small.url);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
        struct curl_slist *hl = curl_slist_append(NULL, auth);
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        CURL *c = curl_easy_init();
        memset(&r, 0, sizeof r);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &f);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_body_sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        CHECK(curl_easy_perform(c) == CURLE_OK, "chunked upload transport");
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        CHECK(r.status == 413 && strstr(r.body, "too_large"), "chunked over limit: %ld %s",
              r.status, r.body);
        printf("ok: chunked upload over the limit refused: %s\n", r.body);
        curl_easy_cleanup(c);
        curl_slist_free_all(hl);
        resp_free(&r);
        free(img);
        /* nothing left behind in tmp/ */
        snprintf(path, sizeof path, "%s/data/tmp", small.dir);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", path);
        CHECK(system(cmd) == 0, "temp files left in %s", path);
        h_stop(&small);
        h_cleanup(&small);
    }
    printf("server_releases: all checks passed\n");
    return 0;
}
