/*
 * harness.c - see harness.h. The server runs as a child process with its
 * log in <dir>/server.log, so a failing test can show it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>


const char *h_server_bin;
const char *h_fw_dir;
const char *h_admin_token = "test-admin-token-0123456789";

void h_init(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FOTA_SERVER_BINARY FIRMWARE_DIR\n", argv[0]);
        exit(2);
    }
    h_server_bin = argv[1];
    h_fw_dir = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void h_newdir(struct srv *s)
{
    const char *t = getenv("TMPDIR");
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/fota-server-test-XXXXXX", t && *t ? t : "/tmp");
    CHECK(mkdtemp(s->dir), "mkdtemp %s: %s", s->dir, strerror(errno));
    if (h_pg()) {
        /* a database per server folder, named after it */
        const char *base = strrchr(s->dir, '/') + 1;
        char name[64], sql[128], err[256];
        int j = 0;
        for (const char *p = base; *p && j < 60; p++)
            name[j++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : (*p == '-' ? '_' : *p));
        name[j] = 0;
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        snprintf(s->db, sizeof s->db, "%s dbname=postgres", getenv("FOTA_TEST_PG"));
        CHECK(h_sql(s, sql, err, sizeof err) == 0, "%s: %s", sql, err);
        snprintf(s->db, sizeof s->db, "%s dbname=%s", getenv("FOTA_TEST_PG"), name);
    } else {
        snprintf(s->db, sizeof s->db, "%s/db.sqlite", s->dir);
    }
}

int h_pg(void)
{
    const char *pg = getenv("FOTA_TEST_PG");
    return pg && *pg;
}

int h_sql(struct srv *s, const char *sql, char *out, size_t n)
{
    int rc = -1;
    out[0] = 0;
    if (h_pg()) {
        PGconn *c = PQconnectdb(s->db);
        PGresult *r = NULL;
        if (PQstatus(c) != CONNECTION_OK) {
            snprintf(out, n, "%s", PQerrorMessage(c));
        } else {
            r = PQexec(c, sql);
            if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
                if (PQntuples(r) > 0 && PQnfields(r) > 0)
                    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
                rc = 0;
            } else {
                snprintf(out, n, "%s", PQresultErrorMessage(r));
            }
        }
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        if (sqlite3_open(s->db, &db) != SQLITE_OK) {
            snprintf(out, n, "%s", db ? sqlite3_errmsg(db) : "cannot open");
        } else {
            sqlite3_busy_timeout(db, 10000);
            if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
                int step = sqlite3_step(st);
                if (step == SQLITE_ROW || step == SQLITE_DONE) {
                    const unsigned char *t = step == SQLITE_ROW ? sqlite3_column_text(st, 0)
                                                                : NULL;
                    snprintf(out, n, "%s", t ? (const char *)t : "");
                    rc = 0;
                }
            }
            if (rc)
                snprintf(out, n, "%s", sqlite3_errmsg(db));
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return rc;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void dump_log(struct srv *s)
{
    char p[300], line[1024];
    snprintf(p, sizeof p, "%s/server.log", s->dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    fprintf(stderr, "---- last lines of %s ----\n", p);
    long n = 0;
    while (fgets(line, sizeof line, f))
        n++;
    rewind(f);
    for (long i = 0; fgets(line, sizeof line, f); i++)
        if (i >= n - 40)
            fputs(line, stderr);
    fclose(f);
}

void h_start(struct srv *s, const char *const *extra)
{
    char data[300], mk[300], tok[300], pf[300], logp[300];
    const char *argv[40];
    int n = 0;

    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(mk, sizeof mk, "%s/master.key", s->dir);
    snprintf(tok, sizeof tok, "%s/admin.token", s->dir);
    snprintf(pf, sizeof pf, "%s/port", s->dir);
    snprintf(logp, sizeof logp, "%s/server.log", s->dir);
    write_text(tok, "test-admin-token-0123456789\n");
    unlink(pf);

    argv[n++] = h_server_bin;
    argv[n++] = "--db"; argv[n++] = s->db;
    argv[n++] = "--data"; argv[n++] = data;
    argv[n++] = "--master-key-file"; argv[n++] = mk;
    argv[n++] = "--admin-token-file"; argv[n++] = tok;
    argv[n++] = "--port"; argv[n++] = "0";
    argv[n++] = "--port-file"; argv[n++] = pf;
    for (; extra && *extra && n < 38; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;

    s->pid = fork();
    CHECK(s->pid >= 0, "fork: %s", strerror(errno));
    if (s->pid == 0) {
        /* a test that aborts must not leave its server running */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execv(h_server_bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", h_server_bin, strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) { /* up to 10 s */
        FILE *f = fopen(pf, "r");
        unsigned port = 0;
        if (f) {
            int ok = fscanf(f, "%u", &port) == 1;
            fclose(f);
            if (ok && port) {
                s->port = port;
                snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", port);
                return;
            }
        }
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            dump_log(s);
            CHECK(0, "fota-server exited during start-up (status %d)", st);
        }
        usleep(10000);
    }
    dump_log(s);
    CHECK(0, "fota-server did not write its port file in 10 s");
}

void h_stop(struct srv *s)
{
    int st = 0;
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    CHECK(waitpid(s->pid, &st, 0) == s->pid, "waitpid");
    s->pid = 0;
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        dump_log(s);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fota-server did not exit 0 on SIGTERM (%d)", st);
}

void h_kill(struct srv *s)
{
    int st;
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void h_cleanup(struct srv *s)
{
    if (!getenv("FOTA_KEEP_TEST_DIR"))
        nftw(s->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- HTTP ---------------------------------------------------------------- */

size_t h_body_sink(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t add = sz * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = sz * n;
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)(len < 255 ? len : 255), p);
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Content-Type:", 13) == 0)
        snprintf(r->ctype, sizeof r->ctype, "%s", line + 13 + strspn(line + 13, " "));
    if (strncasecmp(line, "Retry-After:", 12) == 0)
        snprintf(r->retry_after, sizeof r->retry_after, "%s", line + 12 + strspn(line + 12, " "));
    if (strncasecmp(line, "Allow:", 6) == 0)
        snprintf(r->allow, sizeof r->allow, "%s", line + 6 + strspn(line + 6, " "));
    return len;
}

void resp_free(struct resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

int h_http(struct resp *r, const char *method, const char *url, const char *const *headers,
           const void *body, size_t len)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    CURLcode rc;

    memset(r, 0, sizeof *r);
    for (; headers && *headers; headers++)
        hl = curl_slist_append(hl, *headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_body_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

json_t *h_admin(struct srv *s, const char *method, const char *path, const char *body,
                long want)
{
    char url[512], auth[128];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct resp r;
    json_error_t e;
    json_t *j = NULL;

    snprintf(url, sizeof url, "%s%s", s->url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    CHECK(h_http(&r, method, url, hdrs, body, body ? strlen(body) : 0) == 0,
          "%s %s: transport error", method, path);
    CHECK(r.status == want, "%s %s: expected status %ld, got %ld: %s", method, path, want,
          r.status, r.body ? r.body : "");
    if (r.len) {
        j = json_loadb(r.body, r.len, 0, &e);
        CHECK(j, "%s %s: body is not JSON: %s", method, path, r.body);
    }
    resp_free(&r);
    return j;
}

json_t *h_upload(struct srv *s, const char *fw_file, const char *query, struct resp *raw)
{
    char url[512], auth[128];
    const char *hdrs[] = {auth, "Content-Type: application/octet-stream",
                          "Expect: 100-continue", NULL};
    size_t n;
    uint8_t *img = h_read_file(h_fw_path(fw_file), &n);
    struct resp r;
    json_t *j = NULL;

    snprintf(url, sizeof url, "%s/api/admin/releases%s%s", s->url, query ? "?" : "",
             query ? query : "");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    CHECK(h_http(&r, "POST", url, hdrs, img, n) == 0, "upload %s: transport error", fw_file);
    free(img);
    if (r.len)
        j = json_loadb(r.body, r.len, 0, NULL);
    if (raw)
        *raw = r;
    else
        resp_free(&r);
    return j;
}

void h_device_creds(struct dev *d, const char *id, const uint8_t key[32])
{
    uint8_t tok[32];
    char msg[80], hex[65];
    int n = snprintf(msg, sizeof msg, "token:%s", id);
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", id);
    memcpy(d->key, key, 32);
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                    (const unsigned char *)msg, (size_t)n, tok);
    h_hex(tok, 32, hex);
    snprintf(d->hid, sizeof d->hid, "X-Device-Id: %s", id);
    snprintf(d->htok, sizeof d->htok, "X-Device-Token: %s", hex);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

void h_device_add(struct srv *s, const char *id, const char *chip, struct dev *d)
{
    char body[200];
    uint8_t key[32];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"chip\":\"%s\"}", id, chip);
    json_t *j = h_admin(s, "POST", "/api/admin/devices", body, 201);
    const char *k = json_string_value(json_object_get(j, "key"));
    CHECK(k && unhex(k, key, 32) == 0, "device add: no 64-hex key in answer");
    CHECK(strcmp(json_string_value(json_object_get(j, "id")), id) == 0, "device add: id echo");
    h_device_creds(d, id, key);
    json_decref(j);
}

int h_dev(struct dev *d, struct resp *r, const char *method, struct srv *s, const char *path,
          const char *body)
{
    char url[512];
    const char *hdrs[] = {d->hid, d->htok, "Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "%s%s", s->url, path);
    return h_http(r, method, url, hdrs, body, body ? strlen(body) : 0);
}

void h_check_error(const struct resp *r, long status, const char *code)
{
    json_t *j, *e, *m;
    CHECK(r->status == status, "expected status %ld (%s), got %ld: %s", status, code, r->status,
          r->body ? r->body : "");
    CHECK(strncmp(r->ctype, "application/json", 16) == 0,
          "error answer must be application/json, got \"%s\"", r->ctype);
    j = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
    CHECK(j && json_is_object(j), "error body is not a JSON object: %s", r->body ? r->body : "");
    e = json_object_get(j, "error");
    m = json_object_get(j, "message");
    CHECK(json_is_string(e) && json_is_string(m) && json_object_size(j) == 2,
          "error body must be {\"error\":..., \"message\":...}, got %s", r->body);
    CHECK(strcmp(json_string_value(e), code) == 0, "expected error \"%s\", got \"%s\" (%s)", code,
          json_string_value(e), json_string_value(m));
    CHECK(strlen(json_string_value(m)) > 0, "empty error message");
    json_decref(j);
}

uint8_t *h_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    CHECK(b && fread(b, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    fclose(f);
    b[n] = 0; /* callers may treat it as text (a log) */
    *len = (size_t)n;
    return b;
}

char *h_fw_path(const char *name)
{
    static __thread char p[512];
    if (name[0] == '/')
        snprintf(p, sizeof p, "%s", name);
    else
        snprintf(p, sizeof p, "%s/%s", h_fw_dir, name);
    return p;
}

void h_hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
    out[2 * n] = '\0';
}

void h_sha256(const void *data, size_t n, uint8_t out[32])
{
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data, n, out);
}

void h_chunk_hmac(const uint8_t key[32], const uint8_t sha[32], uint32_t n, const uint8_t *data,
                  size_t len, char hex_out[65])
{
    uint8_t *msg = malloc(FOTA_CHUNK_MAC_PREFIX_LEN + len), mac[32];
    fota_chunk_mac_prefix(msg, sha, n); /* the rule's one definition (core) */
    memcpy(msg + FOTA_CHUNK_MAC_PREFIX_LEN, data, len);
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, msg,
                    FOTA_CHUNK_MAC_PREFIX_LEN + len, mac);
    free(msg);
    h_hex(mac, 32, hex_out);
}

uint8_t *h_b64decode(const char *s, size_t *len)
{
    size_t sl = strlen(s), olen = 0;
    uint8_t *out = malloc(sl + 1);
    CHECK(sl % 4 == 0, "base64 length %zu is not a multiple of 4 (must be padded)", sl);
    CHECK(mbedtls_base64_decode(out, sl + 1, &olen, (const unsigned char *)s, sl) == 0,
          "invalid base64");
    CHECK(!strchr(s, '\\'), "base64 contains an escape");
    *len = olen;
    return out;
}
