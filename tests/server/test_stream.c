/*
 * test_stream.c - server_stream: the protocol v2 endpoint
 * (GET /api/inverter/fota/stream?release=R&from=N). The stream of
 * esp32-arduino-a.bin reassembles to exactly the file with every frame's
 * HMAC checked here; from=N starts at frame N; Content-Type and the exact
 * Content-Length; check offers "protocols":"v1,v2"; the refusals (401, 404,
 * 400); keep-alive after a stream; one access-log line per stream.
 */
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses a whole v2 body: header, then frames from..total-1 whose bytes and
 * HMACs must be those of file. */
static void check_stream(const struct resp *r, const struct dev *d, const uint8_t *file,
                         size_t flen, uint32_t from)
{
    uint8_t sha[32];
    uint32_t cs, total, n;
    size_t pos = FOTA_V2_STREAM_HDR;
    char want[65], got[65];

    h_sha256(file, flen, sha);
    CHECK(r->status == 200, "stream from=%u: status %ld", from, r->status);
    CHECK(strcmp(r->ctype, FOTA_V2_CONTENT_TYPE) == 0, "stream content type \"%s\"", r->ctype);
    CHECK(r->len >= FOTA_V2_STREAM_HDR &&
              memcmp(r->body, FOTA_V2_MAGIC, FOTA_V2_MAGIC_LEN) == 0,
          "stream header missing (%zu bytes)", r->len);
    cs = be32((const uint8_t *)r->body + 4);
    CHECK(cs == 1024, "chunk_size in the header %u, expected 1024", cs);
    total = (uint32_t)((flen + cs - 1) / cs);
    for (n = from; n < total; n++) {
        const uint8_t *f = (const uint8_t *)r->body + pos;
        size_t off = (size_t)n * cs, len = flen - off < cs ? flen - off : cs;
        CHECK(pos + FOTA_V2_FRAME_HDR <= r->len, "stream ends before frame %u", n);
        CHECK(be32(f) == n, "frame at byte %zu is chunk %u, expected %u", pos, be32(f), n);
        CHECK(((size_t)f[4] << 8 | f[5]) == len, "frame %u length %u, expected %zu", n,
              (unsigned)(f[4] << 8 | f[5]), len);
        CHECK(pos + FOTA_V2_FRAME_OVERHEAD + len <= r->len, "frame %u truncated", n);
        CHECK(memcmp(f + FOTA_V2_FRAME_HDR, file + off, len) == 0,
              "frame %u bytes differ from the file", n);
        h_chunk_hmac(d->key, sha, n, file + off, len, want);
        h_hex(f + FOTA_V2_FRAME_HDR + len, FOTA_CHUNK_MAC_LEN, got);
        CHECK(strcmp(want, got) == 0, "frame %u HMAC %s, expected %s", n, got, want);
        pos += FOTA_V2_FRAME_OVERHEAD + len;
    }
    CHECK(pos == r->len, "stream has %zu bytes after the last frame", r->len - pos);
}

static size_t abort_after_64k(char *p, size_t sz, size_t n, void *ud)
{
    size_t *got = ud;
    (void)p;
    *got += sz * n;
    return *got > 65536 ? 0 : sz * n;
}

static void expect_error(struct dev *d, struct srv *s, const char *path, long status,
                         const char *code)
{
    struct resp r;
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0, "GET %s: transport error", path);
    h_check_error(&r, status, code);
    CHECK(r.len < 300, "an error must carry no firmware bytes (%zu bytes)", r.len);
    resp_free(&r);
}

static size_t count_lines(const char *path, const char *needle)
{
    size_t len, n = 0;
    char *log = (char *)h_read_file(path, &len), *p = log;
    while ((p = strstr(p, needle))) {
        n++;
        p++;
    }
    free(log);
    return n;
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d, other, forged;
    struct resp r;
    size_t flen;
    uint8_t *file;
    char path[256], logpath[300];
    long long rid;

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    snprintf(logpath, sizeof logpath, "%s/server.log", s.dir);
    file = h_read_file(h_fw_path("esp32-arduino-a.bin"), &flen);
    h_device_add(&s, "dongle-1", "esp32", &d);
    h_device_add(&s, "dongle-2", "esp32", &other);
    json_t *rel = h_upload(&s, "esp32-arduino-a.bin", "version=1.4.0", &r);
    CHECK(r.status == 201, "upload: %ld %s", r.status, r.body);
    resp_free(&r);
    rid = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);

    /* not deployed yet: 404 (as chunk with release=) */
    snprintf(path, sizeof path, "/api/inverter/fota/stream?release=%lld&from=0", rid);
    expect_error(&d, &s, path, 404, "not_found");

    char body[128];
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"dongle-1\"]}", rid);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 201));

    /* check advertises v2 */
    CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0, "check");
    CHECK(r.status == 200 && strstr(r.body, "\"protocols\":\"v1,v2\""),
          "check offer lacks \"protocols\":\"v1,v2\": %s", r.body);
    resp_free(&r);

    /* the whole stream, then from the middle and the last frame */
    size_t before = count_lines(logpath, "GET /api/inverter/fota/stream dongle-1 200");
    CHECK(h_dev(&d, &r, "GET", &s, path, NULL) == 0, "stream");
    check_stream(&r, &d, file, flen, 0);
    size_t full = r.len;
    resp_free(&r);
    uint32_t total = (uint32_t)((flen + 1023) / 1024);
    CHECK(full == 8 + total * 38u + flen, "stream length %zu, expected %zu", full,
          8 + total * 38u + flen);
    uint32_t froms[] = {1, 517, total - 1};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/inverter/fota/stream?from=%u&release=%lld", froms[i],
                 rid);
        CHECK(h_dev(&d, &r, "GET", &s, path, NULL) == 0, "stream from=%u", froms[i]);
        check_stream(&r, &d, file, flen, froms[i]);
        resp_free(&r);
    }
    /* one access-log line per stream request, with the body length */
    {
        char needle[128];
        usleep(100 * 1000);
        size_t after = count_lines(logpath, "GET /api/inverter/fota/stream dongle-1 200");
        CHECK(after - before == 4, "%zu stream log lines for 4 streams", after - before);
        snprintf(needle, sizeof needle, "GET /api/inverter/fota/stream dongle-1 200 %zu ", full);
        CHECK(count_lines(logpath, needle) == 1, "no log line \"%s\"", needle);
        CHECK(count_lines(logpath, "GET /api/inverter/fota/chunk") == 0,
              "a stream must not show as chunk requests");
    }

    /* refusals */
    h_device_creds(&forged, "dongle-1", other.key); /* dongle-1 with another key */
    snprintf(path, sizeof path, "/api/inverter/fota/stream?release=%lld&from=0", rid);
    expect_error(&forged, &s, path, 401, "unauthorized");
    {
        struct dev ghost;
        h_device_creds(&ghost, "ghost-7", d.key);
        expect_error(&ghost, &s, path, 401, "unauthorized");
    }
    expect_error(&other, &s, path, 404, "not_found"); /* not deployed to dongle-2 */
    snprintf(path, sizeof path, "/api/inverter/fota/stream?release=%lld&from=%u", rid, total);
    expect_error(&d, &s, path, 404, "not_found");
    snprintf(path, sizeof path, "/api/inverter/fota/stream?release=%lld&from=4294967295", rid);
    expect_error(&d, &s, path, 404, "not_found");
    expect_error(&d, &s, "/api/inverter/fota/stream?release=999&from=0", 404, "not_found");
    const char *bad[] = {
        "/api/inverter/fota/stream?from=0",
        "/api/inverter/fota/stream?release=1",
        "/api/inverter/fota/stream",
        "/api/inverter/fota/stream?release=1&from=abc",
        "/api/inverter/fota/stream?release=1&from=-1",
        "/api/inverter/fota/stream?release=1&from=1e3",
        "/api/inverter/fota/stream?release=1&from=4294967296",
        "/api/inverter/fota/stream?release=x&from=0",
        "/api/inverter/fota/stream?release=1&from=0&from=1",
        "/api/inverter/fota/stream?release=1&release=1&from=0",
        "/api/inverter/fota/stream?release=1&from=0&chunk=0",
        "/api/inverter/fota/stream?release=1&from",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(&d, &s, bad[i], 400, "bad_request");
    CHECK(h_dev(&d, &r, "POST", &s, "/api/inverter/fota/stream?release=1&from=0", "") == 0,
          "POST stream");
    h_check_error(&r, 405, "method_not_allowed");
    resp_free(&r);

    /* keep-alive: a stream, then a chunk and a stream on the same connection */
    {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = curl_slist_append(curl_slist_append(NULL, d.hid), d.htok);
        char url[256];
        long conns = -1, code = 0;
        FILE *devnull = fopen("/dev/null", "w");
        snprintf(url, sizeof url, "%s/api/inverter/fota/stream?release=%lld&from=3", s.url, rid);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
        CHECK(curl_easy_perform(c) == CURLE_OK, "keep-alive stream 1");
        snprintf(url, sizeof url, "%s/api/inverter/fota/chunk?chunk=1&release=%lld", s.url, rid);
        curl_easy_setopt(c, CURLOPT_URL, url);
        CHECK(curl_easy_perform(c) == CURLE_OK, "keep-alive chunk after the stream");
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        CHECK(code == 200, "chunk after a stream: %ld", code);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
        CHECK(conns == 0, "chunk after a stream opened %ld new connection(s)", conns);
        snprintf(url, sizeof url, "%s/api/inverter/fota/stream?release=%lld&from=0", s.url, rid);
        curl_easy_setopt(c, CURLOPT_URL, url);
        CHECK(curl_easy_perform(c) == CURLE_OK, "keep-alive stream 2");
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
        CHECK(conns == 0, "stream after a chunk opened %ld new connection(s)", conns);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        fclose(devnull);
    }

    /* a client that goes away mid-stream does not hurt the server */
    {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = curl_slist_append(curl_slist_append(NULL, d.hid), d.htok);
        char url[256];
        size_t got = 0;
        snprintf(url, sizeof url, "%s/api/inverter/fota/stream?release=%lld&from=0", s.url, rid);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, abort_after_64k);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
        CHECK(curl_easy_perform(c) == CURLE_WRITE_ERROR, "the client aborts its stream");
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        CHECK(h_dev(&d, &r, "GET", &s, "/api/inverter/fota/chunk?chunk=0", NULL) == 0 &&
                  r.status == 200, "server serves after an aborted stream: %ld", r.status);
        resp_free(&r);
    }

    free(file);
    h_stop(&s);
    h_cleanup(&s);
    printf("server_stream: all checks passed\n");
    return 0;
}
