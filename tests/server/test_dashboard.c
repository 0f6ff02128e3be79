/*
 * test_dashboard.c - server_dashboard: the dashboard's files and its fleet
 * summary over the real fota-server.
 *   - GET /dashboard and every embedded file: 200, the content type of its
 *     kind, the security headers (CSP without inline script, no framing,
 *     nosniff); index.html loads scripts only by src and has no inline style
 *     or handler; no HSTS over plain HTTP (server_security_tls_cli checks it
 *     over HTTPS); no script uses an HTML sink (innerHTML & co.: values from
 *     the database must go in as text). No token needed: files, no data.
 *   - refusals on /dashboard (unknown file 404, POST 405, a query 400) carry
 *     the same headers; admin answers carry Cache-Control: no-store, a 401
 *     too.
 *   - GET /api/admin/fleet: 401 without the token; an empty fleet; devices
 *     by state and by
 *     running version, the failure of the last day with its error in words
 *     (the core's fota_strerror), the confirmation in the current hour's
 *     bucket; hours=N gives N buckets; bad parameters 400. Device answers
 *     carry last_error_text and history error_text.
 */
#include <string.h>

#include <curl/curl.h>

#include "fota/error.h"
#include "harness.h"

struct got {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct got *g = ud;
    char *b = realloc(g->body, g->len + sz * n + 1);
    CHECK(b, "out of memory");
    memcpy(b + g->len, p, sz * n);
    g->body = b;
    g->len += sz * n;
    b[g->len] = '\0';
    return sz * n;
}

static size_t on_head(char *p, size_t sz, size_t n, void *ud)
{
    struct got *g = ud;
    size_t k = sz * n;
    if (g->hlen + k < sizeof g->headers) {
        memcpy(g->headers + g->hlen, p, k);
        g->hlen += k;
        g->headers[g->hlen] = '\0';
    }
    return k;
}

/* method path, with the admin token or without */
static void get(struct srv *s, const char *method, const char *path, int token, struct got *g)
{
    char url[512], auth[128];
    struct curl_slist *hl = NULL;
    CURL *c = curl_easy_init();

    memset(g, 0, sizeof *g);
    snprintf(url, sizeof url, "%s%s", s->url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    if (token)
        hl = curl_slist_append(hl, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST"))
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
    CHECK(curl_easy_perform(c) == CURLE_OK, "%s %s: transport error", method, path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    if (!g->body)
        g->body = calloc(1, 1);
}

static void has_header(const struct got *g, const char *line, const char *what)
{
    char want[600];
    snprintf(want, sizeof want, "%s\r\n", line);
    CHECK(strcasestr(g->headers, want), "%s: header \"%s\" missing in:\n%s", what, line,
          g->headers);
}

static const char CSP[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'";

static void dashboard_headers(const struct got *g, const char *what)
{
    has_header(g, CSP, what);
    has_header(g, "X-Frame-Options: DENY", what);
    has_header(g, "X-Content-Type-Options: nosniff", what);
    has_header(g, "Referrer-Policy: no-referrer", what);
}

static void files(struct srv *s)
{
    static const struct {
        const char *path, *ctype;
    } f[] = {
        {"/dashboard", "text/html; charset=utf-8"},
        {"/dashboard/", "text/html; charset=utf-8"}, /* an operator types the slash */
        {"/dashboard/index.html", "text/html; charset=utf-8"},
        {"/dashboard/style.css", "text/css; charset=utf-8"},
        {"/dashboard/app.js", "text/javascript; charset=utf-8"},
        {"/dashboard/api.js", "text/javascript; charset=utf-8"},
        {"/dashboard/dom.js", "text/javascript; charset=utf-8"},
        {"/dashboard/pages.js", "text/javascript; charset=utf-8"},
        {"/dashboard/chart.js", "text/javascript; charset=utf-8"},
    };
    static const char *const sinks[] = {"innerHTML", "outerHTML", "insertAdjacentHTML",
                                        "document.write", "eval(", "new Function", NULL};
    struct got g;
    char ct[200];

    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        get(s, "GET", f[i].path, 0, &g);
        CHECK(g.status == 200 && g.len > 100, "GET %s: %ld, %zu bytes", f[i].path, g.status, g.len);
        snprintf(ct, sizeof ct, "Content-Type: %s", f[i].ctype);
        has_header(&g, ct, f[i].path);
        dashboard_headers(&g, f[i].path);
        has_header(&g, "Cache-Control: no-cache", f[i].path);
        CHECK(!strcasestr(g.headers, "Strict-Transport-Security"), "HSTS over plain HTTP");
        if (strstr(f[i].path, ".js"))
            for (int k = 0; sinks[k]; k++)
                CHECK(!strstr(g.body, sinks[k]), "%s uses %s: text from the database must "
                      "never become markup", f[i].path, sinks[k]);
        if (!strcmp(f[i].path, "/dashboard")) {
            /* every <script> has a src; no inline style or event handler */
            for (const char *p = g.body; (p = strstr(p, "<script")); p++) {
                const char *end = strchr(p, '>');
                CHECK(end && memmem(p, (size_t)(end - p), " src=", 5), "inline script: %.80s", p);
            }
            CHECK(!strstr(g.body, "style=") && !strstr(g.body, " onclick=") &&
                  !strstr(g.body, "<style"), "inline style or handler in index.html");
            CHECK(strstr(g.body, "type=\"password\""), "the token field is a password field");
        }
        free(g.body);
    }

    get(s, "GET", "/dashboard//app.js", 0, &g);
    CHECK(g.status == 404, "GET /dashboard//app.js: %ld", g.status);
    free(g.body);
    get(s, "GET", "/dashboard/secrets.txt", 0, &g);
    CHECK(g.status == 404 && strstr(g.body, "not_found"), "unknown file: %ld %s", g.status, g.body);
    dashboard_headers(&g, "404");
    free(g.body);
    get(s, "POST", "/dashboard", 0, &g);
    CHECK(g.status == 405, "POST /dashboard: %ld", g.status);
    has_header(&g, "Allow: GET", "405");
    dashboard_headers(&g, "405");
    free(g.body);
    get(s, "GET", "/dashboard?token=x", 0, &g);
    CHECK(g.status == 400, "a query on /dashboard: %ld %s", g.status, g.body);
    free(g.body);
    get(s, "GET", "/dashboard/app.js/x", 0, &g);
    CHECK(g.status == 404, "a path below a file: %ld", g.status);
    free(g.body);
}

static void status(struct dev *d, struct srv *s, const char *state, const char *error)
{
    char body[256];
    struct resp r;
    snprintf(body, sizeof body,
             "{\"release\": 1, \"state\": \"%s\", \"chunks_received\": 3, \"error\": \"%s\"}",
             state, error);
    CHECK(h_dev(d, &r, "POST", s, FOTA_PATH_STATUS, body) == 0 && r.status == 204,
          "status %s: %ld %s", state, r.status, r.body ? r.body : "");
    resp_free(&r);
}

static long count_of(json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

static void fleet(struct srv *s)
{
    struct dev a, b, c;
    struct resp r;
    struct got g;
    json_t *f, *fails, *conf, *dev;
    char *dump;

    get(s, "GET", "/api/admin/fleet", 0, &g);
    CHECK(g.status == 401, "fleet without a token: %ld", g.status);
    has_header(&g, "Cache-Control: no-store", "401");
    CHECK(!strcasestr(g.headers, "Content-Security-Policy"), "CSP on an API answer");
    free(g.body);

    /* an empty fleet: no failure to sort (UBSan: qsort of NULL) */
    get(s, "GET", "/api/admin/fleet", 1, &g);
    f = json_loads(g.body, 0, NULL);
    CHECK(g.status == 200 && f && json_object_size(json_object_get(f, "by_state")) == 0 &&
              json_array_size(json_object_get(f, "failures")) == 0,
          "empty fleet: %ld %s", g.status, g.body);
    json_decref(f);
    free(g.body);

    h_device_add(s, "dongle-a", "esp32", &a);
    h_device_add(s, "dongle-b", "esp32", &b);
    h_device_add(s, "dongle-c", "esp32", &c);
    json_decref(h_upload(s, "esp32-arduino-a.bin", "version=2.0.0", NULL));
    json_decref(h_admin(s, "POST", "/api/admin/deployments",
                        "{\"release\": 1, \"devices\": [\"dongle-a\", \"dongle-b\"]}", 201));
    CHECK(h_dev(&a, &r, "GET", s, FOTA_PATH_CHECK "?version=1.0.0", NULL) == 0 &&
          r.status == 200, "check a: %ld", r.status);
    resp_free(&r);
    CHECK(h_dev(&b, &r, "GET", s, FOTA_PATH_CHECK "?version=1.0.0", NULL) == 0 &&
          r.status == 200, "check b: %ld", r.status);
    resp_free(&r);
    status(&a, s, "downloading", "");
    status(&a, s, "installed", "");
    status(&a, s, "confirmed", "");
    status(&b, s, "downloading", "");
    status(&b, s, "failed", "hmac_mismatch");

    get(s, "GET", "/api/admin/fleet", 1, &g);
    CHECK(g.status == 200, "fleet: %ld %s", g.status, g.body);
    has_header(&g, "Cache-Control: no-store", "fleet");
    has_header(&g, "X-Content-Type-Options: nosniff", "fleet");
    f = json_loads(g.body, 0, NULL);
    CHECK(f, "fleet answer is not JSON: %s", g.body);
    dump = g.body;
    json_t *st = json_object_get(f, "by_state"), *ver = json_object_get(f, "by_version");
    CHECK(json_object_size(st) == 3 && count_of(st, "confirmed") == 1 &&
          count_of(st, "failed") == 1 && count_of(st, "new") == 1, "by_state: %s", dump);
    /* a confirmed 2.0.0 (its check said 1.0.0 before), b still runs 1.0.0 */
    CHECK(json_object_size(ver) == 3 && count_of(ver, "2.0.0") == 1 &&
          count_of(ver, "1.0.0") == 1 && count_of(ver, "unknown") == 1, "by_version: %s", dump);
    CHECK(json_integer_value(json_object_get(f, "devices_seen")) == 2, "devices_seen: %s", dump);
    fails = json_object_get(f, "failures");
    CHECK(json_array_size(fails) == 1 &&
              json_integer_value(json_object_get(f, "failures_total")) == 1, "failures: %s", dump);
    json_t *x = json_array_get(fails, 0);
    CHECK(!strcmp(json_string_value(json_object_get(x, "device")), "dongle-b") &&
              !strcmp(json_string_value(json_object_get(x, "state")), "failed") &&
              !strcmp(json_string_value(json_object_get(x, "error")), "hmac_mismatch") &&
              json_integer_value(json_object_get(x, "release")) == 1 &&
              json_is_string(json_object_get(x, "at")),
          "the failure: %s", dump);
    CHECK(!strcmp(json_string_value(json_object_get(x, "error_text")),
                  fota_strerror(FOTA_ERR_HMAC)), "error in words: %s", dump);
    conf = json_object_get(f, "confirmations");
    CHECK(json_array_size(conf) == 24, "24 hourly buckets: %s", dump);
    long total = 0;
    for (size_t i = 0; i < 24; i++)
        total += (long)json_integer_value(json_object_get(json_array_get(conf, i), "count"));
    /* the confirmation was just made: in the current hour's bucket (the
     * last), unless the hour turned between the post and the read (then
     * the bucket before it) */
    CHECK(total == 1 && (json_integer_value(json_object_get(json_array_get(conf, 23), "count")) ||
                         json_integer_value(json_object_get(json_array_get(conf, 22), "count"))),
          "confirmations: %s", dump);
    json_decref(f);
    free(g.body);

    get(s, "GET", "/api/admin/fleet?hours=2", 1, &g);
    f = json_loads(g.body, 0, NULL);
    CHECK(g.status == 200 && f && json_array_size(json_object_get(f, "confirmations")) == 2 &&
              json_integer_value(json_object_get(f, "hours")) == 2, "hours=2: %s", g.body);
    json_decref(f);
    free(g.body);
    static const char *const bad[] = {"?hours=0", "?hours=169", "?hours=x", "?hours=1&hours=2",
                                      "?limit=3", NULL};
    for (int i = 0; bad[i]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/admin/fleet%s", bad[i]);
        get(s, "GET", path, 1, &g);
        CHECK(g.status == 400 && strstr(g.body, "bad_request"), "%s: %ld %s", path, g.status,
              g.body);
        free(g.body);
    }

    /* the device answer: the last error in words, in the history too */
    dev = h_admin(s, "GET", "/api/admin/devices/dongle-b", NULL, 200);
    dump = json_dumps(dev, 0);
    CHECK(!strcmp(json_string_value(json_object_get(dev, "last_error_text")),
                  fota_strerror(FOTA_ERR_HMAC)), "last_error_text: %s", dump);
    x = json_array_get(json_object_get(dev, "history"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(x, "error_text")),
                  fota_strerror(FOTA_ERR_HMAC)), "history error_text: %s", dump);
    free(dump);
    json_decref(dev);
    dev = h_admin(s, "GET", "/api/admin/devices/dongle-a", NULL, 200);
    CHECK(json_is_null(json_object_get(dev, "last_error_text")), "no error: null");
    json_decref(dev);
}

int main(int argc, char **argv)
{
    struct srv s;

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    files(&s);
    fleet(&s);
    h_stop(&s);
    h_cleanup(&s);
    printf("server_dashboard: ok\n");
    return 0;
}
