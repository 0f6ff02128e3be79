/*
 * test_concurrent.c - server_concurrent: several devices fetch every chunk
 * of a release at the same time (each on its own keep-alive connection) and
 * each gets exactly the image back with HMACs under its own key, over one
 * connection each: libcurl opened exactly one for all of a client's chunks.
 */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "harness.h"

#define NCLIENTS 8

struct job {
    struct srv *s;
    struct dev d;
    const uint8_t *file;
    size_t flen;
    const uint8_t *sha;
    int ok;
    long conns; /* connections libcurl opened over all the client's chunks */
};

static void *run(void *arg)
{
    struct job *j = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(curl_slist_append(NULL, j->d.hid), j->d.htok);
    long total = (long)((j->flen + 1023) / 1024), conns = 0;
    uint8_t *got = malloc(j->flen);
    char url[256], hex[65];

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_body_sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (long n = 0; n < total; n++) {
        struct resp r;
        size_t dl;
        long code = 0;
        memset(&r, 0, sizeof r);
        snprintf(url, sizeof url, "%s/api/inverter/fota/chunk?chunk=%ld", j->s->url, n);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        CHECK(curl_easy_perform(c) == CURLE_OK, "%s chunk %ld: transport", j->d.id, n);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        CHECK(code == 200, "%s chunk %ld: status %ld %s", j->d.id, n, code, r.body);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns); /* new ones for this one */
        j->conns += conns;
        json_t *o = json_loads(r.body, 0, NULL);
        CHECK(json_integer_value(json_object_get(o, "chunk_number")) == n, "chunk_number");
        uint8_t *data = h_b64decode(json_string_value(json_object_get(o, "data")), &dl);
        h_chunk_hmac(j->d.key, j->sha, (uint32_t)n, data, dl, hex);
        CHECK(strcmp(hex, json_string_value(json_object_get(o, "hmac"))) == 0,
              "%s chunk %ld: hmac", j->d.id, n);
        memcpy(got + n * 1024, data, dl);
        free(data);
        json_decref(o);
        free(r.body);
    }
    j->ok = memcmp(got, j->file, j->flen) == 0;
    free(got);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    struct srv s;
    struct resp r;
    static struct job jobs[NCLIENTS];
    pthread_t th[NCLIENTS];
    size_t flen;
    uint8_t sha[32];
    const char *extra[] = {"--threads", "4", "--log-level", "warn", NULL};

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, extra);
    uint8_t *file = h_read_file(h_fw_path("esp32-arduino-b.bin"), &flen);
    h_sha256(file, flen, sha);
    json_t *rel = h_upload(&s, "esp32-arduino-b.bin", "version=3.0.0", &r);
    CHECK(r.status == 201, "upload: %ld", r.status);
    resp_free(&r);
    json_decref(rel);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments",
                        "{\"release\": 1, \"chip\": \"esp32\"}", 201));
    for (int i = 0; i < NCLIENTS; i++) {
        char id[32];
        snprintf(id, sizeof id, "dongle-c%d", i);
        h_device_add(&s, id, "esp32", &jobs[i].d);
        CHECK(h_dev(&jobs[i].d, &r, "GET", &s, "/api/inverter/fota/check?version=1", NULL) == 0 &&
                  r.status == 200 && strstr(r.body, "\"update\":true"), "check %s", id);
        resp_free(&r);
        jobs[i].s = &s;
        jobs[i].file = file;
        jobs[i].flen = flen;
        jobs[i].sha = sha;
    }
    for (int i = 0; i < NCLIENTS; i++)
        pthread_create(&th[i], NULL, run, &jobs[i]);
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok, "client %d reassembled a different image", i);
        CHECK(jobs[i].conns == 1, "client %d needed %ld connections for %zu chunks (keep-alive: 1)",
              i, jobs[i].conns, (flen + 1023) / 1024);
    }
    printf("ok: %d concurrent clients each fetched all %zu chunks correctly, on one connection each\n", NCLIENTS,
           (flen + 1023) / 1024);
    h_stop(&s);
    h_cleanup(&s);
    free(file);
    printf("server_concurrent: all checks passed\n");
    return 0;
}
