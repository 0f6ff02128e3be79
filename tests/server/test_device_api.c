/*
 * test_device_api.c - server_device_api: the seed-style client of wire
 * protocol v1 end to end (register, upload, deploy, check, every chunk,
 * status), then every refusal of the device API with its status code and
 * JSON error body.
 */
#include <string.h>

#include <curl/curl.h>

#include "harness.h"

#define SHA_A "32dfbb63ad86ead6be055ed18778c8c417d166035c6eb03294d13d0093273bb9"

static void get_expect_error(struct dev *d, struct srv *s, const char *method, const char *path,
                             long status, const char *code)
{
    struct resp r;
    CHECK(h_dev(d, &r, method, s, path, NULL) == 0, "%s %s: transport error", method, path);
    h_check_error(&r, status, code);
    if (status == 401)
        CHECK(!strstr(r.body, "data"), "a 401 must carry no firmware bytes: %s", r.body);
    resp_free(&r);
}

static void post_status_expect(struct dev *d, struct srv *s, const char *body, long status)
{
    struct resp r;
    CHECK(h_dev(d, &r, "POST", s, "/api/inverter/fota/status", body) == 0, "status: transport");
    if (status == 400)
        h_check_error(&r, 400, "bad_request");
    else
        CHECK(r.status == status, "status %s: expected %ld got %ld: %s", body, status, r.status,
              r.body ? r.body : "");
    resp_free(&r);
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d, other, stranger, forged;
    struct resp r;
    size_t flen;
    uint8_t *file, sha[32];
    char path[256], hex[65];

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    file = h_read_file(h_fw_path("esp32-arduino-a.bin"), &flen);

    /* --- seed flow ------------------------------------------------------ */
    h_device_add(&s, "dongle-1", "esp32", &d);
    h_device_add(&s, "dongle-2", "esp32", &other);
    json_t *rel = h_upload(&s, "esp32-arduino-a.bin", "version=1.4.0", &r);
    CHECK(r.status == 201, "upload a.bin: expected 201, got %ld: %s", r.status, r.body);
    resp_free(&r);
    long long rid = json_integer_value(json_object_get(rel, "id"));
    CHECK(strcmp(json_string_value(json_object_get(rel, "sha256")), SHA_A) == 0, "release sha");
    CHECK(json_integer_value(json_object_get(rel, "size")) == (long long)flen, "release size");
    CHECK(strcmp(json_string_value(json_object_get(rel, "chip")), "esp32") == 0, "release chip");
    json_decref(rel);

    /* before any deployment: no update */
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0, "check");
    CHECK(r.status == 200 && strstr(r.body, "\"update\":false"), "check before deploy: %s", r.body);
    resp_free(&r);
    get_expect_error(&d, &s, "GET", "/api/inverter/fota/chunk?chunk=0", 404, "not_found");

    char body[256];
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"dongle-1\"]}", rid);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 201));

    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0, "check");
    CHECK(r.status == 200, "check: %ld %s", r.status, r.body);
    json_t *chk = json_loads(r.body, 0, NULL);
    resp_free(&r);
    CHECK(json_is_true(json_object_get(chk, "update")), "check offers an update");
    CHECK(json_integer_value(json_object_get(chk, "release")) == rid, "offered release id");
    CHECK(strcmp(json_string_value(json_object_get(chk, "version")), "1.4.0") == 0, "version");
    CHECK(json_integer_value(json_object_get(chk, "size")) == (long long)flen, "size");
    CHECK(json_integer_value(json_object_get(chk, "chunk_size")) == 1024, "chunk_size");
    long long total = json_integer_value(json_object_get(chk, "total_chunks"));
    CHECK(total == (long long)((flen + 1023) / 1024), "total_chunks %lld", total);
    CHECK(strcmp(json_string_value(json_object_get(chk, "sha256")), SHA_A) == 0,
          "check sha256 is %s", json_string_value(json_object_get(chk, "sha256")));
    json_decref(chk);
    h_sha256(file, flen, sha);

    /* every chunk, over the offered release (no release= parameter) */
    uint8_t *got = malloc(flen);
    size_t at = 0;
    for (long long n = 0; n < total; n++) {
        snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%lld", n);
        CHECK(h_dev(&d, &r, "GET", &s, path, NULL) == 0, "chunk %lld: transport", n);
        CHECK(r.status == 200, "chunk %lld: %ld %s", n, r.status, r.body);
        CHECK(!strstr(r.body, "\\/"), "chunk %lld: '/' must not be escaped", n);
        json_t *c = json_loads(r.body, 0, NULL);
        CHECK(c && json_object_size(c) == 3, "chunk %lld: 3 fields: %s", n, r.body);
        CHECK(json_integer_value(json_object_get(c, "chunk_number")) == n, "chunk_number echo");
        size_t dl;
        uint8_t *data = h_b64decode(json_string_value(json_object_get(c, "data")), &dl);
        size_t want = n == total - 1 ? flen - (size_t)n * 1024 : 1024;
        CHECK(dl == want, "chunk %lld: %zu bytes, expected %zu", n, dl, want);
        CHECK(memcmp(data, file + at, dl) == 0, "chunk %lld: bytes differ from the file", n);
        h_chunk_hmac(d.key, sha, (uint32_t)n, data, dl, hex);
        CHECK(strcmp(json_string_value(json_object_get(c, "hmac")), hex) == 0,
              "chunk %lld: hmac %s, expected %s", n, json_string_value(json_object_get(c, "hmac")),
              hex);
        memcpy(got + at, data, dl);
        at += dl;
        free(data);
        json_decref(c);
        resp_free(&r);
    }
    CHECK(at == flen && memcmp(got, file, flen) == 0, "reassembled image differs");
    free(got);
    printf("ok: %lld chunks reassemble esp32-arduino-a.bin, HMACs verify\n", total);

    /* explicit release= */
    snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=0&release=%lld", rid);
    CHECK(h_dev(&d, &r, "GET", &s, path, NULL) == 0 && r.status == 200, "chunk with release=");
    resp_free(&r);

    /* --- refusals --------------------------------------------------------- */
    uint8_t zero[32] = {0};
    h_device_creds(&stranger, "not-registered", zero);
    get_expect_error(&stranger, &s, "GET", "/api/inverter/fota/chunk?chunk=0", 401, "unauthorized");
    get_expect_error(&stranger, &s, "GET", "/api/inverter/fota/check?version=1", 401,
                     "unauthorized");
    h_device_creds(&forged, "dongle-1", other.key); /* another device's key */
    get_expect_error(&forged, &s, "GET", "/api/inverter/fota/chunk?chunk=0", 401, "unauthorized");
    {
        const char *hdrs[] = {"X-Device-Id: dongle-1", NULL};
        char url[256];
        snprintf(url, sizeof url, "%s/api/inverter/fota/chunk?chunk=0", s.url);
        CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0, "no token");
        h_check_error(&r, 401, "unauthorized");
        resp_free(&r);
        const char *bad_id[] = {"X-Device-Id: bad id!", d.htok, NULL};
        CHECK(h_http(&r, "GET", url, bad_id, NULL, 0) == 0, "bad id");
        h_check_error(&r, 401, "unauthorized");
        resp_free(&r);
    }
    snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%lld", total);
    get_expect_error(&d, &s, "GET", path, 404, "not_found");
    get_expect_error(&d, &s, "GET", "/api/inverter/fota/chunk?chunk=0&release=9999", 404,
                     "not_found");
    /* dongle-2 has no deployment of this release */
    snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=0&release=%lld", rid);
    get_expect_error(&other, &s, "GET", path, 404, "not_found");
    const char *bad_chunks[] = {
        "chunk=abc", "chunk=-1", "chunk=1e3", "chunk=%2B1", "chunk=", "chunk",
        "chunk=99999999999999999999", "chunk=4294967296", "chunk=1&chunk=2", "chunk=0x10",
        "chunk=1.0", "chunk=%201", "chunk=1&bogus=2", "release=1", "", "chunk=0&release=abc",
        "chunk=5%00junk", "chunk=007", /* both found by fuzz_srv_query */
        NULL};
    for (int i = 0; bad_chunks[i]; i++) {
        snprintf(path, sizeof path, "/api/inverter/fota/chunk?%s", bad_chunks[i]);
        get_expect_error(&d, &s, "GET", path, 400, "bad_request");
    }
    get_expect_error(&d, &s, "GET", "/api/inverter/fota/check", 400, "bad_request");
    get_expect_error(&d, &s, "GET", "/api/inverter/fota/check?version=1&version=2", 400,
                     "bad_request");
    get_expect_error(&d, &s, "GET", "/api/inverter/fota/nope", 404, "not_found");
    get_expect_error(&d, &s, "GET", "/", 404, "not_found");

    CHECK(h_dev(&d, &r, "DELETE", &s, "/api/inverter/fota/check?version=1", NULL) == 0, "DELETE");
    h_check_error(&r, 405, "method_not_allowed");
    CHECK(strcmp(r.allow, "GET") == 0, "405 Allow header: \"%s\"", r.allow);
    resp_free(&r);
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/status", NULL) == 0, "GET status");
    h_check_error(&r, 405, "method_not_allowed");
    CHECK(strcmp(r.allow, "POST") == 0, "405 Allow header: \"%s\"", r.allow);
    resp_free(&r);
    CHECK(h_dev(&d, &r, "POST", &s, "/api/inverter/fota/chunk?chunk=0", "{}") == 0, "POST chunk");
    h_check_error(&r, 405, "method_not_allowed");
    resp_free(&r);

    /* --- status ------------------------------------------------------------- */
    const char *bad_status[] = {
        "{",
        "not json",
        "[]",
        "{\"release\": 1, \"state\": \"downloading\", \"chunks_received\": 3}",
        "{\"release\": \"1\", \"state\": \"downloading\", \"chunks_received\": 3, \"error\": \"\"}",
        "{\"release\": 1, \"state\": \"sleeping\", \"chunks_received\": 3, \"error\": \"\"}",
        "{\"release\": 1, \"state\": 5, \"chunks_received\": 3, \"error\": \"\"}",
        "{\"release\": 1, \"state\": \"downloading\", \"chunks_received\": -1, \"error\": \"\"}",
        "{\"release\": 1, \"state\": \"downloading\", \"chunks_received\": 1.5, \"error\": \"\"}",
        "{\"release\": 1, \"state\": \"downloading\", \"chunks_received\": 3, \"error\": null}",
        "{\"release\": 1, \"state\": \"downloading\", \"chunks_received\": 3, \"error\": \"\", "
        "\"extra\": 1}",
        "{\"release\": 1, \"release\": 1, \"state\": \"downloading\", \"chunks_received\": 3, "
        "\"error\": \"\"}",
        NULL};
    for (int i = 0; bad_status[i]; i++)
        post_status_expect(&d, &s, bad_status[i], 400);
    snprintf(body, sizeof body,
             "{\"release\": 9999, \"state\": \"downloading\", \"chunks_received\": 1, \"error\": \"\"}");
    CHECK(h_dev(&d, &r, "POST", &s, "/api/inverter/fota/status", body) == 0, "status");
    h_check_error(&r, 409, "not_offered"); /* never offered (and unknown: the same answer) */
    resp_free(&r);

    snprintf(body, sizeof body,
             "{\"release\": %lld, \"state\": \"downloading\", \"chunks_received\": 17, \"error\": \"\"}",
             rid);
    post_status_expect(&d, &s, body, 204);
    json_t *dev = h_admin(&s, "GET", "/api/admin/devices/dongle-1", NULL, 200);
    CHECK(strcmp(json_string_value(json_object_get(dev, "state")), "downloading") == 0, "state");
    CHECK(json_integer_value(json_object_get(dev, "chunks_received")) == 17, "chunks_received");
    CHECK(json_integer_value(json_object_get(dev, "total_chunks")) == total, "total_chunks");
    CHECK(json_integer_value(json_object_get(dev, "offered_release")) == rid, "offered release");
    CHECK(strcmp(json_string_value(json_object_get(dev, "reported_version")), "1.0.0") == 0,
          "reported version");
    CHECK(json_array_size(json_object_get(dev, "history")) == 1, "history has 1 row");
    json_decref(dev);

    snprintf(body, sizeof body,
             "{\"release\": %lld, \"state\": \"failed\", \"chunks_received\": 20, \"error\": \"hmac_mismatch\"}",
             rid);
    post_status_expect(&d, &s, body, 204);
    snprintf(body, sizeof body,
             "{\"release\": %lld, \"state\": \"confirmed\", \"chunks_received\": %lld, \"error\": \"\"}",
             rid, total);
    post_status_expect(&d, &s, body, 204);
    dev = h_admin(&s, "GET", "/api/admin/devices/dongle-1", NULL, 200);
    CHECK(strcmp(json_string_value(json_object_get(dev, "state")), "confirmed") == 0, "state");
    CHECK(strcmp(json_string_value(json_object_get(dev, "current_version")), "1.4.0") == 0,
          "confirmed sets the version: %s",
          json_string_value(json_object_get(dev, "current_version")));
    json_t *hist = json_object_get(dev, "history");
    CHECK(json_array_size(hist) == 3, "history has 3 rows");
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(hist, 0), "state")),
                 "confirmed") == 0, "history is newest first");
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(hist, 1), "error")),
                 "hmac_mismatch") == 0, "history keeps the error");
    json_decref(dev);

    /* running the offered version: no update */
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.4.0", NULL) == 0, "check");
    CHECK(r.status == 200 && strstr(r.body, "\"update\":false"), "up to date: %s", r.body);
    resp_free(&r);

    /* keep-alive: two requests on one curl handle reuse the connection */
    {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = curl_slist_append(curl_slist_append(NULL, d.hid), d.htok);
        char url[256];
        long conns = -1;
        FILE *devnull = fopen("/dev/null", "w");
        snprintf(url, sizeof url, "%s/api/inverter/fota/chunk?chunk=1", s.url);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
        CHECK(curl_easy_perform(c) == CURLE_OK, "keep-alive 1");
        CHECK(curl_easy_perform(c) == CURLE_OK, "keep-alive 2");
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
        CHECK(conns == 0, "second request opened %ld new connection(s): no keep-alive", conns);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        fclose(devnull);
    }

    /* admin API refuses without or with a wrong token */
    {
        char url[256];
        const char *wrong[] = {"Authorization: Bearer nope", NULL};
        snprintf(url, sizeof url, "%s/api/admin/releases", s.url);
        CHECK(h_http(&r, "GET", url, NULL, NULL, 0) == 0, "admin no token");
        h_check_error(&r, 401, "unauthorized");
        resp_free(&r);
        CHECK(h_http(&r, "GET", url, wrong, NULL, 0) == 0, "admin wrong token");
        h_check_error(&r, 401, "unauthorized");
        resp_free(&r);
        /* a device token is no admin token */
        CHECK(h_dev(&d, &r, "GET", &s, "/api/admin/releases", NULL) == 0, "device on admin");
        h_check_error(&r, 401, "unauthorized");
        resp_free(&r);
    }

    /* What a poll persists (store.h, device_checked): a repeated check
     * changes nothing but last_seen, which is batched; it reaches the row
     * at the latest when the server stops. dongle-2 has never been seen. */
    {
        char out[64];
        for (int i = 0; i < 2; i++) { /* the first may change the version or the offer */
            if (i == 1)
                CHECK(h_sql(&s, "UPDATE devices SET last_seen = 0 WHERE id = 'dongle-1'", out,
                            sizeof out) == 0, "reset last_seen: %s", out);
            CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0 &&
                      r.status == 200, "poll: %ld", r.status);
            resp_free(&r);
        }
        h_stop(&s);
        CHECK(h_sql(&s, "SELECT last_seen FROM devices WHERE id = 'dongle-1'", out,
                    sizeof out) == 0 && atoll(out) > 0,
              "the poll's last_seen was not written by the stop: %s", out);
        CHECK(h_sql(&s, "SELECT last_seen FROM devices WHERE id = 'dongle-2'", out,
                    sizeof out) == 0 && atoll(out) == 0, "dongle-2 seen: %s", out);
        printf("ok: a poll's last_seen is batched and written by the stop at the latest\n");
    }

    free(file);
    h_cleanup(&s);
    printf("server_device_api: all checks passed\n");
    return 0;
}
