/*
 * test_hardening.c - server_hardening: the hostile-input probe of issue 9,
 * black box over loopback against the real fota-server, with raw sockets
 * wherever libcurl would normalise the request (a NUL in a header, two
 * Content-Length headers, an encoded slash, thousands of parameters).
 *
 * Each case is one row of a table: what was sent, what is expected, what
 * came. Every case runs (one failing does not hide the others), the table
 * is printed, and the test fails if any row failed, so the same binary run
 * against an older server prints the "before" column of the note.
 *
 *  utf8.*      text that is not UTF-8 is refused at the edge (query, upload
 *              metadata, app descriptor) and every answer is valid JSON
 *              (error messages that quote client text or cut it at a byte
 *              count, a row stored before the rule, list endpoints);
 *  status.*    status only for the release the device was offered (409,
 *              the same answer whether the release exists or not); history
 *              bounded (progress collapses, transitions kept, capped);
 *  header.*    header values with control bytes or a NUL refused;
 *  framing.*   Transfer-Encoding with Content-Length, two Content-Lengths,
 *              an unsupported Transfer-Encoding, %2F in the path, 3000 query
 *              parameters: 400 (and the connection closed);
 *  head.*      request heads near the connection memory (default
 *              --conn-memory): big but legal ones served; larger ones
 *              refused with the server's JSON 414/431 while they fit in
 *              libmicrohttpd's pool, with libmicrohttpd's own 414/431 (status
 *              checked, body not) past it; never left unanswered;
 *  id.*        device ids ".", "..", ".hidden" refused;
 *  connlog.*   refused connections logged as one summary line per interval.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#define ADMIN_AUTH "Authorization: Bearer test-admin-token-0123456789\r\n"
#define STORE_HISTORY_KEEP 200 /* src/server/store.h */

/* --- the table ------------------------------------------------------------ */

static int nfail, nrows;

static void row(const char *id, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void row(const char *id, int ok, const char *fmt, ...)
{
    char got[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(got, sizeof got, fmt, ap);
    va_end(ap);
    for (char *p = got; *p; p++) /* the table stays one printable line per row */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '.';
    printf("%-4s %-28s %s\n", ok ? "ok" : "FAIL", id, got);
    nrows++;
    nfail += !ok;
}

/* --- raw HTTP ------------------------------------------------------------- */

static unsigned port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_port(unsigned p)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)p);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s",
          strerror(errno));
    return fd;
}

struct raw {
    int status;       /* 0: no answer */
    char body[8192];  /* NUL-terminated */
    size_t body_len;
    int json_ok;      /* body parses as JSON (jansson, so valid UTF-8) */
    char code[64];    /* "error" of a JSON error body */
    int closed;       /* the server closed the connection after its answer */
};

/* Sends len bytes of req on fd (a new connection when fd < 0) and reads one
 * answer: up to its Content-Length, then waits (up to 5 s) to see whether
 * the server closes. Closes fd. */
static void raw_send_on(int fd, const char *req, size_t len, struct raw *out)
{
    char buf[65536];
    size_t n = 0;
    int hdr_end = -1;
    long clen = -1;
    double end = now_s() + 30;

    if (fd < 0)
        fd = connect_port(port);
    memset(out, 0, sizeof *out);
    (void)!send(fd, req, len, MSG_NOSIGNAL);
    while (now_s() < end && n < sizeof buf - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (k <= 0) {
            out->closed = 1;
            break;
        }
        n += (size_t)k;
        buf[n] = '\0';
        char *e = strstr(buf, "\r\n\r\n");
        if (e && hdr_end < 0) {
            hdr_end = (int)(e - buf) + 4;
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            clen = cl && cl < e ? atol(cl + 17) : 0;
        }
        if (hdr_end >= 0 && (long)n >= hdr_end + clen)
            break;
    }
    buf[n] = '\0';
    if (!out->closed && hdr_end >= 0) { /* answered: does the server close? */
        double until = now_s() + 5;
        char c;
        while (now_s() < until) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 200) <= 0)
                continue;
            ssize_t k = recv(fd, &c, 1, 0);
            if (k <= 0) {
                out->closed = 1;
                break;
            }
        }
    }
    close(fd);
    if (n >= 12 && strncmp(buf, "HTTP/1.", 7) == 0)
        out->status = atoi(buf + 9);
    if (hdr_end >= 0) {
        out->body_len = n - (size_t)hdr_end;
        if (out->body_len >= sizeof out->body)
            out->body_len = sizeof out->body - 1;
        memcpy(out->body, buf + hdr_end, out->body_len);
        out->body[out->body_len] = '\0';
        json_t *j = json_loadb(out->body, out->body_len, 0, NULL);
        out->json_ok = j != NULL;
        const char *c = json_string_value(json_object_get(j, "error"));
        snprintf(out->code, sizeof out->code, "%s", c ? c : "");
        json_decref(j);
    }
}

static void raw_send(const char *req, size_t len, struct raw *out)
{
    raw_send_on(-1, req, len, out);
}

static void raw_str(const char *req, struct raw *out)
{
    raw_send(req, strlen(req), out);
}

/* "GET path" with headers (each ending in \r\n) and an optional body. */
static void req(const char *method, const char *path, const char *headers, const char *body,
                struct raw *out)
{
    static char r[1 << 16];
    int n = snprintf(r, sizeof r, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s", method,
                     path, headers ? headers : "");
    if (body)
        n += snprintf(r + n, sizeof r - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    n += snprintf(r + n, sizeof r - (size_t)n, "\r\n%s", body ? body : "");
    raw_send(r, (size_t)n, out);
}

static char dev_hdrs[300]; /* X-Device-Id and X-Device-Token of dev-a */

static void dev_req(const char *method, const char *path, const char *body, struct raw *out)
{
    req(method, path, dev_hdrs, body, out);
}

static void admin_req(const char *method, const char *path, const char *body, struct raw *out)
{
    req(method, path, ADMIN_AUTH, body, out);
}

/* A short view of an answer for the table. */
static const char *seen(const struct raw *r)
{
    static char s[200];
    if (!r->status)
        snprintf(s, sizeof s, "no answer%s", r->closed ? " (closed)" : "");
    else
        snprintf(s, sizeof s, "%d %s%s%s %.80s", r->status, r->json_ok ? "json" : "NOT-JSON",
                 r->code[0] ? " " : "", r->code, r->body);
    return s;
}

static int is_error(const struct raw *r, int status, const char *code)
{
    return r->status == status && r->json_ok && strcmp(r->code, code) == 0;
}

/* --- helpers -------------------------------------------------------------- */

static int contains(const struct raw *r, const char *needle)
{
    return strstr(r->body, needle) != NULL;
}

/* Uploads image bytes (raw, so nothing is normalised). */
static void upload(const char *query, const uint8_t *img, size_t n, struct raw *out)
{
    char *r = malloc(n + 512);
    int k = snprintf(r, 512, "POST /api/admin/releases%s%s HTTP/1.1\r\nHost: x\r\n"
                     "Connection: close\r\n" ADMIN_AUTH "Content-Type: application/octet-stream\r\n"
                     "Content-Length: %zu\r\n\r\n", query ? "?" : "", query ? query : "", n);
    memcpy(r + k, img, n);
    raw_send(r, (size_t)k + n, out);
    free(r);
}

/* Sum of N over the log's "refused N connections from" lines; *lines gets
 * how many there were. */
static long log_refusals(struct srv *s, int *lines)
{
    char p[300], line[2048];
    long sum = 0, n;
    snprintf(p, sizeof p, "%s/server.log", s->dir);
    *lines = 0;
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char *m = strstr(line, "refused ");
        if (m && strstr(m, " connections from ") && sscanf(m, "refused %ld", &n) == 1) {
            sum += n;
            (*lines)++;
        }
    }
    fclose(f);
    return sum;
}

static int log_count(struct srv *s, const char *needle)
{
    char p[300], line[2048];
    int n = 0;
    snprintf(p, sizeof p, "%s/server.log", s->dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static sqlite3 *open_db(struct srv *s)
{
    char p[300];
    sqlite3 *db;
    snprintf(p, sizeof p, "%s/db.sqlite", s->dir);
    CHECK(sqlite3_open(p, &db) == SQLITE_OK, "open %s", p);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static long long sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
          sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    CHECK(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
}

static long long json_id(const struct raw *r)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static char status_body[256];
static const char *status_json(long long rel, const char *state, long chunks)
{
    snprintf(status_body, sizeof status_body,
             "{\"release\":%lld,\"state\":\"%s\",\"chunks_received\":%ld,\"error\":\"\"}", rel,
             state, chunks);
    return status_body;
}

/* --- the cases ------------------------------------------------------------ */

/* Returns the id of the release uploaded with a good image. */
static long long utf8_cases(struct srv *s)
{
    static const char *const bad_versions[] = {
        "%FF%FE",       /* not UTF-8 at all */
        "1.%C0%80",     /* overlong NUL */
        "1.%E0%80%AF",  /* overlong '/' */
        "1.%ED%A0%80",  /* surrogate U+D800 */
        "1.%F4%90%80%80", /* above U+10FFFF */
        "1.%C3",        /* cut sequence */
        NULL};
    struct raw r;
    char path[300];

    for (int i = 0; bad_versions[i]; i++) {
        snprintf(path, sizeof path, "/api/inverter/fota/check?version=%s", bad_versions[i]);
        dev_req("GET", path, NULL, &r);
        char id[64];
        snprintf(id, sizeof id, "utf8.check_version[%d]", i);
        row(id, is_error(&r, 400, "bad_request"), "version=%s: %s", bad_versions[i], seen(&r));
    }
    admin_req("GET", "/api/admin/devices", NULL, &r);
    row("utf8.device_still_listed", r.status == 200 && r.json_ok && contains(&r, "\"dev-a\""),
        "device list after the bad versions: %s", seen(&r));
    admin_req("GET", "/api/admin/devices/dev-a", NULL, &r);
    row("utf8.device_still_shown", r.status == 200 && r.json_ok, "device show: %s", seen(&r));

    dev_req("GET", "/api/inverter/fota/check?version=1.0-%C3%A9t%C3%A9", NULL, &r);
    admin_req("GET", "/api/admin/devices/dev-a", NULL, &r);
    row("utf8.valid_text_kept", r.status == 200 && r.json_ok && contains(&r, "1.0-\xc3\xa9t\xc3\xa9"),
        "check?version=1.0-été then device show: %s", seen(&r));

    size_t n, n3;
    uint8_t *img = h_read_file(h_fw_path("esp32-arduino-a.bin"), &n);
    upload("version=1.0.0", img, n, &r);
    CHECK(r.status == 201, "upload of a good image: %s", seen(&r));
    long long rel_a = json_id(&r);
    uint8_t *s3 = h_read_file(h_fw_path("esp32s3-arduino.bin"), &n3);
    upload("version=1.%FF", s3, n3, &r);
    free(s3);
    row("utf8.upload_version", is_error(&r, 400, "bad_request"), "upload version=1.%%FF: %s",
        seen(&r));
    admin_req("GET", "/api/admin/releases", NULL, &r);
    row("utf8.release_list_after", r.status == 200 && r.json_ok && contains(&r, "esp32s3") == 0 &&
                                       contains(&r, "\"version\":\"1.0.0\""),
        "release list after it: %s", seen(&r));

    /* an app descriptor whose project_name is not UTF-8: two bytes of the
     * first segment change by the same XOR, so the image checksum still
     * holds; the appended SHA-256 is recomputed */
    {
        uint8_t *bad = malloc(n);
        memcpy(bad, img, n);
        size_t proj = 24 + 8 + 48; /* image header, segment header, esp_app_desc_t.project_name */
        uint8_t delta = (uint8_t)(bad[proj] ^ 0xFF);
        bad[proj] = 0xFF;
        bad[proj + 1] ^= delta;
        CHECK(bad[23] == 1, "esp32-arduino-a.bin has no appended SHA-256");
        h_sha256(bad, n - 32, bad + n - 32);
        upload("version=9.9.9", bad, n, &r);
        row("utf8.app_descriptor", is_error(&r, 422, "bad_app_descriptor"),
            "image with project_name 0xFF...: %s", seen(&r));
        free(bad);
    }
    free(img);

    raw_str("GET /api/%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    row("utf8.path_echo", r.status == 400 && r.json_ok, "GET /api/%%FF (no credentials): %s",
        seen(&r));
    /* "%.40s" of a text made of 2-byte characters after one ASCII byte cuts
     * the last one in half */
    snprintf(path, sizeof path, "/api/inverter/fota/check?a");
    for (int i = 0; i < 30; i++)
        strcat(path, "%C3%A9");
    strcat(path, "=1");
    dev_req("GET", path, NULL, &r);
    row("utf8.cut_echo", is_error(&r, 400, "bad_request"), "unknown parameter a\\xc3\\xa9...: %s",
        seen(&r));
    snprintf(path, sizeof path, "/api/admin/releases/a");
    for (int i = 0; i < 30; i++)
        strcat(path, "%C3%A9");
    admin_req("GET", path, NULL, &r);
    row("utf8.cut_echo_404", is_error(&r, 404, "not_found"), "release a\\xc3\\xa9...: %s",
        seen(&r));

    /* rows stored before the rule (written into the database directly):
     * they show escaped, they are not left out of their lists, and a device
     * offered such a release gets an answer */
    sqlite3 *db = open_db(s);
    sql_exec(db, "UPDATE devices SET reported_version = CAST(X'312EFF' AS TEXT) WHERE id='dev-a'");
    sql_exec(db, "UPDATE releases SET project = CAST(X'70FE' AS TEXT), "
                 "version = CAST(X'322EFF' AS TEXT) WHERE version = '1.0.0'");
    sqlite3_close(db);
    admin_req("GET", "/api/admin/devices", NULL, &r);
    row("utf8.legacy_device_listed", r.status == 200 && r.json_ok && contains(&r, "1.\\\\xFF"),
        "device list with a stored 0xFF: %s", seen(&r));
    admin_req("GET", "/api/admin/releases", NULL, &r);
    row("utf8.legacy_release_listed", r.status == 200 && r.json_ok && contains(&r, "p\\\\xFE"),
        "release list with a stored 0xFE: %s", seen(&r));
    return rel_a;
}

static void status_cases(struct srv *s, long long rel_a)
{
    struct raw r, r2;
    size_t n;
    uint8_t *img = h_read_file(h_fw_path("esp32-arduino-b.bin"), &n);
    upload("version=2.0.0", img, n, &r);
    free(img);
    CHECK(r.status == 201, "upload b: %s", seen(&r));
    long long rel_b = json_id(&r);

    /* dev-b has been offered nothing */
    dev_req("POST", "/api/inverter/fota/status", status_json(rel_b, "confirmed", 0), &r);
    row("status.not_offered", is_error(&r, 409, "not_offered"),
        "confirmed on release %lld never offered: %s", rel_b, seen(&r));
    dev_req("POST", "/api/inverter/fota/status", status_json(999999, "confirmed", 0), &r2);
    char *m1 = strstr(r.body, "release "), *m2 = strstr(r2.body, "release ");
    int same = r2.status == r.status && !strcmp(r.code, r2.code) && m1 && m2 &&
               !strcmp(strchr(m1 + 8, ' '), strchr(m2 + 8, ' '));
    row("status.no_release_leak", same && r2.status == 409,
        "unknown release 999999: %s (vs %d for an existing one)", seen(&r2), r.status);
    admin_req("GET", "/api/admin/devices/dev-a", NULL, &r);
    row("status.version_untouched", r.status == 200 && !contains(&r, "\"current_version\":\"2.0.0\""),
        "current_version after the refused confirmed: %s", seen(&r));

    /* offered: accepted */
    char dep[200];
    snprintf(dep, sizeof dep, "{\"release\":%lld,\"devices\":[\"dev-a\"]}", rel_a);
    admin_req("POST", "/api/admin/deployments", dep, &r);
    CHECK(r.status == 201, "deploy: %s", seen(&r));
    dev_req("GET", "/api/inverter/fota/check?version=0.1", NULL, &r);
    row("status.legacy_offer_answers", r.status == 200 && r.json_ok && contains(&r, "\"update\":true"),
        "check offered the release stored with a 0xFF version: %s", seen(&r));
    dev_req("POST", "/api/inverter/fota/status", status_json(rel_a, "downloading", 1), &r);
    row("status.offered_ok", r.status == 204, "downloading on the offered release: %s", seen(&r));

    /* history: 300 progress posts are one row */
    int bad = 0;
    for (long i = 2; i <= 300; i++) {
        dev_req("POST", "/api/inverter/fota/status", status_json(rel_a, "downloading", i), &r);
        bad += r.status != 204;
    }
    sqlite3 *db = open_db(s);
    long long rows = sql_int(db, "SELECT COUNT(*) FROM status_history WHERE device_id='dev-a'");
    long long last = sql_int(db, "SELECT chunks_received FROM status_history WHERE "
                                 "device_id='dev-a' ORDER BY id DESC LIMIT 1");
    row("status.progress_collapses", bad == 0 && rows == 1 && last == 300,
        "300 downloading posts: %d refused, %lld row(s), newest chunks_received %lld", bad, rows,
        last);
    /* transitions each keep a row, up to the cap */
    bad = 0;
    for (long i = 0; i < STORE_HISTORY_KEEP + 50; i++) {
        dev_req("POST", "/api/inverter/fota/status",
                status_json(rel_a, i % 2 ? "downloading" : "verifying", 300), &r);
        bad += r.status != 204;
    }
    rows = sql_int(db, "SELECT COUNT(*) FROM status_history WHERE device_id='dev-a'");
    sqlite3_close(db);
    row("status.history_capped", bad == 0 && rows == STORE_HISTORY_KEEP,
        "%d alternating transitions: %d refused, %lld rows kept (cap %d)",
        STORE_HISTORY_KEEP + 50, bad, rows, STORE_HISTORY_KEEP);
}

static void header_cases(const struct dev *d)
{
    static const char nul_id[] = "GET /api/inverter/fota/check?version=1 HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\nX-Device-Id: dev-a\0x\r\n";
    static const char nul_auth[] = "GET /api/admin/devices HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\nAuthorization: Bearer "
                                   "test-admin-token-0123456789\0junk\r\n\r\n";
    char b[600];
    struct raw r;
    size_t k;

    k = sizeof nul_id - 1;
    memcpy(b, nul_id, k);
    k += (size_t)snprintf(b + k, sizeof b - k, "%s\r\n\r\n", d->htok);
    raw_send(b, k, &r);
    row("header.nul_device_id", is_error(&r, 400, "bad_request"), "X-Device-Id: dev-a\\0x: %s",
        seen(&r));
    raw_send(nul_auth, sizeof nul_auth - 1, &r);
    row("header.nul_authorization", is_error(&r, 400, "bad_request"),
        "Authorization: Bearer <token>\\0junk: %s", seen(&r));
    snprintf(b, sizeof b, "%s\r\n%s\r\nX-Trace: a\x01" "b\r\n", d->hid, d->htok);
    req("GET", "/api/inverter/fota/check?version=1", b, NULL, &r);
    row("header.control_byte", is_error(&r, 400, "bad_request"), "X-Trace: a\\x01b: %s",
        seen(&r));
}

static void framing_cases(void)
{
    char b[1024], *big;
    struct raw r;

    snprintf(b, sizeof b, "POST /api/inverter/fota/status HTTP/1.1\r\nHost: x\r\n%s"
             "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", dev_hdrs);
    raw_str(b, &r);
    row("framing.te_and_cl", is_error(&r, 400, "bad_request") && r.closed,
        "Transfer-Encoding + Content-Length: %s, %s", seen(&r), r.closed ? "closed" : "kept open");
    snprintf(b, sizeof b, "POST /api/inverter/fota/status HTTP/1.1\r\nHost: x\r\n%s"
             "Content-Length: 2\r\nContent-Length: 70\r\n\r\n{}", dev_hdrs);
    raw_str(b, &r);
    row("framing.two_cl", is_error(&r, 400, "bad_request") && r.closed,
        "Content-Length 2 and 70: %s, %s", seen(&r), r.closed ? "closed" : "kept open");
    snprintf(b, sizeof b, "GET /api/admin/devices HTTP/1.1\r\nHost: x\r\n" ADMIN_AUTH
             "Content-Length: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    raw_str(b, &r);
    row("framing.same_cl_twice_ok", r.status == 200, "Content-Length 0 twice: %s", seen(&r));
    snprintf(b, sizeof b, "POST /api/inverter/fota/status HTTP/1.1\r\nHost: x\r\n%s"
             "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", dev_hdrs);
    raw_str(b, &r);
    row("framing.te_gzip_chunked", is_error(&r, 400, "bad_request") && r.closed,
        "Transfer-Encoding: gzip, chunked: %s", seen(&r));
    raw_str("GET /api%2Fadmin%2Fdevices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" ADMIN_AUTH
            "\r\n", &r);
    row("framing.encoded_slash", is_error(&r, 400, "bad_request"),
        "GET /api%%2Fadmin%%2Fdevices with the admin token: %s", seen(&r));
    raw_str("GET /api/admin/devices%2Fdev-a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            ADMIN_AUTH "\r\n", &r);
    row("framing.encoded_slash_tail", is_error(&r, 400, "bad_request"),
        "GET /api/admin/devices%%2Fdev-a: %s", seen(&r));

    /* 3000 parameters of 4 bytes: a 12 KB request line, which fits the
     * default --conn-memory (16 KiB), so libmicrohttpd parses the
     * parameters and runs out of pool while it does (the case on_uri
     * answers). A longer line does not fit at all: head.line_over_pool. */
    big = malloc(64 * 1024);
    int k = snprintf(big, 64 * 1024, "GET /api/inverter/fota/check?version=1");
    for (int i = 0; i < 3000; i++)
        k += snprintf(big + k, 64 * 1024 - (size_t)k, "&p=1");
    k += snprintf(big + k, 64 * 1024 - (size_t)k, " HTTP/1.1\r\nHost: x\r\n%s\r\n", dev_hdrs);
    raw_send(big, (size_t)k, &r);
    row("framing.3000_params", is_error(&r, 400, "bad_request"), "3000 query parameters (%d bytes): %s",
        k, seen(&r));
    free(big);
}

/* --- request heads near the connection memory ------------------------------
 *
 * At the default --conn-memory (16384 bytes, libmicrohttpd's pool per
 * connection) the server accepts a request line plus headers (plus 64 bytes
 * per header and query parameter record) of up to 16384 - 2048 = 14336
 * bytes and refuses a larger head itself with its JSON 414 uri_too_long
 * (the request target) or 431 headers_too_large; only a head that does not
 * fit in the pool at all never reaches it and gets libmicrohttpd's own
 * HTML 414 or 431, the connection closed. Before, a head just under the
 * pool size got no answer (libmicrohttpd had no room left for the answer's
 * header) or hung until the idle timeout; the scans step through that
 * band. */

#define POOL 16384  /* fota-server's default --conn-memory */
#define HEAD_MAX 14336 /* POOL - the server's reserve (src/server/http.c) */

/* A connection that has served one request and is kept alive (its pool has
 * been reset by libmicrohttpd), or -1. */
static int kept_alive_fd(void)
{
    static const char q[] = "GET /dashboard HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[65536];
    size_t n = 0;
    int fd = connect_port(port);
    double end = now_s() + 10;

    (void)!send(fd, q, sizeof q - 1, MSG_NOSIGNAL);
    while (now_s() < end && n < sizeof buf - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
        char *e = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "\r\nContent-Length:");
        if (e && cl && cl < e && n >= (size_t)(e + 4 - buf) + (size_t)atol(cl + 17))
            return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? fd : (close(fd), -1);
    }
    close(fd);
    return -1;
}

/* GET check with a request target of `target` bytes (the query padded)
 * and an X-Pad header of `pad` bytes, on fd (-1: a new connection). */
static void head_req(int fd, size_t target, size_t pad, struct raw *out)
{
    static const char pre[] = "GET /api/inverter/fota/check?version=";
    char *q = malloc(target + pad + 512);
    size_t n = sizeof pre - 1, fill = target + 4 > n ? target + 4 - n : 1;
    memcpy(q, pre, n);
    memset(q + n, '1', fill);
    n += fill;
    n += (size_t)sprintf(q + n, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s", dev_hdrs);
    if (pad) {
        n += (size_t)sprintf(q + n, "X-Pad: ");
        memset(q + n, 'a', pad);
        n += pad;
        n += (size_t)sprintf(q + n, "\r\n");
    }
    n += (size_t)sprintf(q + n, "\r\n");
    raw_send_on(fd, q, n, out);
    free(q);
}

/* The answer to a head of `bytes` whose refusal is `status`/`code`: exactly
 * that status; the server's JSON while the head surely fits in the pool,
 * libmicrohttpd's (any body) past it. */
static int head_refused(const struct raw *r, size_t bytes, int status, const char *code)
{
    if (r->status != status || !r->closed)
        return 0;
    return bytes > POOL - 256 || is_error(r, status, code);
}

static void head_cases(void)
{
    struct raw r;
    int bad, fd;
    char first[200];

    /* big but legal: a 12 KB header, with the device's own */
    head_req(-1, 60, 12000, &r);
    row("head.big_header_ok", r.status == 200, "12,000-byte header: %s", seen(&r));
    /* a target over HEAD_MAX that fits in the pool: the server's 414 */
    head_req(-1, 15000, 0, &r);
    row("head.line_near_pool", is_error(&r, 414, "uri_too_long") && r.closed,
        "15,000-byte request target: %s", seen(&r));
    /* a header block over HEAD_MAX that fits in the pool: the server's 431 */
    head_req(-1, 60, 15000, &r);
    row("head.header_near_pool", is_error(&r, 431, "headers_too_large") && r.closed,
        "15,000-byte header: %s", seen(&r));
    /* the same on a kept-alive connection (after libmicrohttpd reset its pool) */
    fd = kept_alive_fd();
    if (fd >= 0)
        head_req(fd, 15000, 0, &r);
    row("head.line_keepalive", fd >= 0 && is_error(&r, 414, "uri_too_long") && r.closed,
        "15,000-byte target after a kept-alive request: %s", fd >= 0 ? seen(&r) : "no keep-alive");
    fd = kept_alive_fd();
    if (fd >= 0)
        head_req(fd, 60, 15000, &r);
    row("head.header_keepalive", fd >= 0 && is_error(&r, 431, "headers_too_large") && r.closed,
        "15,000-byte header after a kept-alive request: %s", fd >= 0 ? seen(&r) : "no keep-alive");
    /* 200 tiny headers: few bytes, but one pool record each */
    {
        char *q = malloc(8192);
        int n = snprintf(q, 8192, "GET /api/inverter/fota/check?version=1 HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n%s", dev_hdrs);
        for (int i = 0; i < 200; i++)
            n += snprintf(q + n, 8192 - (size_t)n, "X-%d: b\r\n", i);
        n += snprintf(q + n, 8192 - (size_t)n, "\r\n");
        raw_send(q, (size_t)n, &r);
        row("head.200_headers", is_error(&r, 431, "headers_too_large") && r.closed,
            "200 headers (%d bytes): %s", n, seen(&r));
        free(q);
    }
    /* too long for the pool: libmicrohttpd's own answer (status only) */
    head_req(-1, 21000, 0, &r);
    row("head.line_over_pool", r.status == 414 && r.closed,
        "21,000-byte request target: %s (libmicrohttpd)", seen(&r));
    head_req(-1, 60, 21000, &r);
    row("head.header_over_pool", r.status == 431 && r.closed,
        "21,000-byte header: %s (libmicrohttpd)", seen(&r));

    /* the band around the pool size, sampled: every size gets its status */
    bad = 0, first[0] = '\0';
    for (size_t len = HEAD_MAX + 1; len < POOL + 600; len += 53) {
        head_req(-1, len, 0, &r); /* the line is the target and 15 bytes */
        if (!head_refused(&r, len + 15, 414, "uri_too_long") && !bad++)
            snprintf(first, sizeof first, "%zu: %s", len, seen(&r));
    }
    row("head.line_scan", !bad, "targets %d..%d bytes: %d not refused with 414 as expected%s%s",
        HEAD_MAX + 1, POOL + 600, bad, bad ? ", first " : "", first);
    bad = 0, first[0] = '\0';
    for (size_t pad = HEAD_MAX; pad < POOL + 600; pad += 53) {
        head_req(-1, 60, pad, &r); /* the rest of the head and its 6 records: < 600 bytes */
        if (!head_refused(&r, pad + 600, 431, "headers_too_large") && !bad++)
            snprintf(first, sizeof first, "%zu: %s", pad, seen(&r));
    }
    row("head.header_scan", !bad, "headers %d..%d bytes: %d not refused with 431 as expected%s%s",
        HEAD_MAX, POOL + 600, bad, bad ? ", first " : "", first);
}

static void id_cases(void)
{
    static const char *const bad[] = {".", "..", ".hidden", NULL};
    struct raw r;
    char body[100];
    for (int i = 0; bad[i]; i++) {
        char id[40];
        snprintf(body, sizeof body, "{\"id\":\"%s\"}", bad[i]);
        admin_req("POST", "/api/admin/devices", body, &r);
        snprintf(id, sizeof id, "id.refused[%s]", bad[i]);
        row(id, is_error(&r, 400, "bad_request"), "register \"%s\": %s", bad[i], seen(&r));
    }
    admin_req("POST", "/api/admin/devices", "{\"id\":\"a.b-c_d\"}", &r);
    row("id.inner_dot_ok", r.status == 201, "register \"a.b-c_d\": %s", seen(&r));
}

/* A second server with 2 connections per address: 40 more are refused and
 * logged as one summary line per 10 s interval (two if the refusals happen
 * to straddle an interval's end), not 40 warn lines. */
static void connlog_cases(void)
{
    struct srv s2;
    int hold[2], refused = 0;
    const char *extra[] = {"--max-conn-per-ip", "2", NULL};

    h_newdir(&s2);
    h_start(&s2, extra);
    for (int i = 0; i < 2; i++)
        hold[i] = connect_port(s2.port);
    usleep(200 * 1000); /* let the server count them */
    for (int i = 0; i < 40; i++) {
        int fd = connect_port(s2.port);
        struct pollfd p = {fd, POLLIN, 0};
        char c;
        if (poll(&p, 1, 5000) > 0 && recv(fd, &c, 1, 0) <= 0)
            refused++;
        close(fd);
    }
    /* wait (up to 25 s) for the interval's summary line(s) */
    int summaries = 0;
    long logged = 0;
    for (int i = 0; i < 250 && (logged = log_refusals(&s2, &summaries)) < refused; i++)
        usleep(100 * 1000);
    int per_refusal = log_count(&s2, "reached connection limit");
    row("connlog.refused", refused == 40, "40 connections past --max-conn-per-ip 2: %d refused",
        refused);
    row("connlog.summary", logged == refused && summaries >= 1 && summaries <= 2 &&
                               per_refusal == 0,
        "log: %d summary line(s) counting %ld refusals, %d per-refusal lines", summaries, logged,
        per_refusal);
    for (int i = 0; i < 2; i++)
        close(hold[i]);
    h_stop(&s2);
    h_cleanup(&s2);
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d;
    struct raw r;

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    port = s.port;
    h_device_add(&s, "dev-a", "esp32", &d);
    snprintf(dev_hdrs, sizeof dev_hdrs, "%s\r\n%s\r\n", d.hid, d.htok);

    long long rel_a = utf8_cases(&s);
    status_cases(&s, rel_a);
    header_cases(&d);
    framing_cases();
    head_cases();
    id_cases();
    connlog_cases();

    /* the server is still up and well */
    admin_req("GET", "/api/admin/devices", NULL, &r);
    row("server.still_serving", r.status == 200 && r.json_ok, "after everything: %s", seen(&r));
    printf("%d of %d cases ok\n", nrows - nfail, nrows);
    h_stop(&s);
    if (nfail)
        return 1;
    h_cleanup(&s);
    return 0;
}
