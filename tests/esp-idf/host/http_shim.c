/*
 * http_shim.c - esp_http_client for the host test, over libcurl: the
 * subset of esp_http_client.h the ESP-IDF port calls (init, set_url,
 * set_method, set/delete_header, open, write, fetch_headers, read,
 * get_status_code, is_complete_data_received, is_persistent_connection,
 * close, cleanup), with ESP-IDF's semantics where the port relies on them
 * (see src/ports/esp-idf/fota_esp_http.c):
 *
 *   - open sets Content-Length in the handle's header list for a request
 *     with a body and leaves it there, as esp_http_client does (a port
 *     that does not delete it sends it with the next GET);
 *   - open + write send the request; fetch_headers returns once the
 *     status and headers are in (the content length, 0 when chunked, or
 *     ESP_FAIL); read hands out the body in pieces as it arrives (0 at the
 *     end; negative on a broken transfer, as esp_transport errors);
 *   - the connection outlives a request: libcurl keeps it in the multi
 *     handle's connection cache while the handle is not closed; close()
 *     drops the handle and with it the connection, so a port that closed
 *     between requests would open a new TCP connection each time. The
 *     number of connections made is counted (CURLINFO_NUM_CONNECTS) so the
 *     test can assert that a whole v1 download used one.
 *
 * A fake at the port boundary (ESP-IDF's esp_http_client needs lwIP and
 * esp-tls, absent on the host); the server it talks to is the real
 * fota-server over loopback.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "esp_http_client.h"
#include "http_shim.h"

#define MAX_HDRS 16
#define PAUSE_AT (64 * 1024)

struct esp_http_client {
    CURLM *multi;
    CURL *easy;
    char *url;
    esp_http_client_method_t method;
    char *hname[MAX_HDRS], *hvalue[MAX_HDRS];
    unsigned nh;
    int timeout_ms;
    /* the request in flight */
    struct curl_slist *slist;
    char *post;
    size_t post_len, post_cap;
    int running, done, headers_done, paused;
    CURLcode result;
    int status;
    uint8_t *buf;
    size_t len, pos, cap;
};

static long s_connections, s_requests;

long shim_http_connections(void)
{
    return s_connections;
}

long shim_http_requests(void)
{
    return s_requests;
}

esp_http_client_handle_t esp_http_client_init(const esp_http_client_config_t *config)
{
    static int global;
    struct esp_http_client *c;
    if (!global) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global = 1;
    }
    c = calloc(1, sizeof *c);
    if (!c || !config->url)
        return free(c), NULL;
    c->url = strdup(config->url);
    c->timeout_ms = config->timeout_ms ? config->timeout_ms : 5000;
    return c;
}

static void end_transfer(struct esp_http_client *c)
{
    if (c->easy && c->running) {
        long n = 0;
        curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &n);
        s_connections += n;
        curl_multi_remove_handle(c->multi, c->easy);
    }
    c->running = 0;
    curl_slist_free_all(c->slist);
    c->slist = NULL;
}

esp_err_t esp_http_client_close(esp_http_client_handle_t c)
{
    end_transfer(c);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->multi)
        curl_multi_cleanup(c->multi); /* drops the cached connection */
    c->easy = NULL;
    c->multi = NULL;
    return ESP_OK;
}

esp_err_t esp_http_client_cleanup(esp_http_client_handle_t c)
{
    unsigned i;
    if (!c)
        return ESP_FAIL;
    esp_http_client_close(c);
    for (i = 0; i < c->nh; i++) {
        free(c->hname[i]);
        free(c->hvalue[i]);
    }
    free(c->url);
    free(c->post);
    free(c->buf);
    free(c);
    return ESP_OK;
}

esp_err_t esp_http_client_set_url(esp_http_client_handle_t c, const char *url)
{
    char *u = strdup(url);
    if (!u)
        return ESP_ERR_NO_MEM;
    free(c->url);
    c->url = u;
    return ESP_OK;
}

esp_err_t esp_http_client_set_method(esp_http_client_handle_t c, esp_http_client_method_t m)
{
    c->method = m;
    return ESP_OK;
}

esp_err_t esp_http_client_delete_header(esp_http_client_handle_t c, const char *key)
{
    unsigned i;
    for (i = 0; i < c->nh; i++) {
        if (!strcasecmp(c->hname[i], key)) {
            free(c->hname[i]);
            free(c->hvalue[i]);
            c->hname[i] = c->hname[c->nh - 1];
            c->hvalue[i] = c->hvalue[c->nh - 1];
            c->nh--;
            return ESP_OK;
        }
    }
    return ESP_OK;
}

esp_err_t esp_http_client_set_header(esp_http_client_handle_t c, const char *key,
                                     const char *value)
{
    if (!key || !value)
        return ESP_ERR_INVALID_ARG;
    esp_http_client_delete_header(c, key);
    if (c->nh == MAX_HDRS)
        return ESP_ERR_NO_MEM;
    c->hname[c->nh] = strdup(key);
    c->hvalue[c->nh] = strdup(value);
    c->nh++;
    return ESP_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct esp_http_client *c = ud;
    size_t len = size * n;
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200) { /* not a 100 Continue */
            c->status = (int)code;
            c->headers_done = 1;
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct esp_http_client *c = ud;
    size_t len = size * n;
    if (c->len - c->pos > PAUSE_AT) {
        c->paused = 1;
        return CURL_WRITEFUNC_PAUSE; /* the reader is behind: stream, do not hoard */
    }
    if (c->pos && c->pos == c->len)
        c->pos = c->len = 0;
    if (c->len + len > c->cap) {
        size_t cap = (c->len + len) * 2;
        uint8_t *b = realloc(c->buf, cap);
        if (!b)
            return 0;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, len);
    c->len += len;
    return len;
}

esp_err_t esp_http_client_open(esp_http_client_handle_t c, int write_len)
{
    char line[512];
    unsigned i;
    end_transfer(c);
    if (!c->multi)
        c->multi = curl_multi_init();
    if (!c->easy)
        c->easy = curl_easy_init();
    if (!c->multi || !c->easy)
        return ESP_ERR_NO_MEM;
    curl_easy_reset(c->easy); /* options only; the connection stays cached */
    c->post_len = 0;
    c->post_cap = write_len > 0 ? (size_t)write_len : 0;
    free(c->post);
    c->post = c->post_cap ? malloc(c->post_cap) : NULL;
    c->done = c->headers_done = c->paused = 0;
    c->status = 0;
    c->result = CURLE_OK;
    c->len = c->pos = 0;
    /* as esp_http_client's http_client_prepare_first_line: a request with a
     * body (or a method that needs a length) sets Content-Length in the
     * handle's header list, where it stays for the next requests */
    if (write_len > 0 || (c->method != HTTP_METHOD_GET && c->method != HTTP_METHOD_HEAD &&
                          c->method != HTTP_METHOD_DELETE)) {
        snprintf(line, sizeof line, "%d", write_len > 0 ? write_len : 0);
        esp_http_client_set_header(c, "Content-Length", line);
    }
    for (i = 0; i < c->nh; i++) {
        snprintf(line, sizeof line, "%s: %s", c->hname[i], c->hvalue[i]);
        c->slist = curl_slist_append(c->slist, line);
    }
    c->slist = curl_slist_append(c->slist, "Expect:");
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->slist);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, (long)(c->timeout_ms + 999) / 1000);
    s_requests++;
    return ESP_OK;
}

int esp_http_client_write(esp_http_client_handle_t c, const char *buffer, int len)
{
    if (len < 0 || c->post_len + (size_t)len > c->post_cap)
        return ESP_FAIL;
    memcpy(c->post + c->post_len, buffer, (size_t)len);
    c->post_len += (size_t)len;
    return len;
}

/* Drive the transfer until cond() holds or it ends. */
static void pump(struct esp_http_client *c, int (*cond)(struct esp_http_client *))
{
    while (!c->done && !cond(c)) {
        int still = 0, msgs;
        CURLMsg *m;
        if (c->paused && c->pos == c->len) {
            c->paused = 0;
            c->pos = c->len = 0;
            curl_easy_pause(c->easy, CURLPAUSE_CONT);
        }
        curl_multi_perform(c->multi, &still);
        while ((m = curl_multi_info_read(c->multi, &msgs)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                c->result = m->data.result;
                c->done = 1;
            }
        }
        if (!c->done && !cond(c))
            curl_multi_poll(c->multi, NULL, 0, 100, NULL);
    }
}

static int have_headers(struct esp_http_client *c)
{
    return c->headers_done;
}

static int have_body(struct esp_http_client *c)
{
    return c->pos < c->len;
}

int64_t esp_http_client_fetch_headers(esp_http_client_handle_t c)
{
    curl_off_t cl = -1;
    if (c->method == HTTP_METHOD_POST) {
        curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)c->post_len);
        curl_easy_setopt(c->easy, CURLOPT_COPYPOSTFIELDS, c->post ? c->post : "");
    } else {
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    }
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
        return ESP_FAIL;
    c->running = 1;
    pump(c, have_headers);
    if (!c->headers_done)
        return ESP_FAIL;
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    return cl > 0 ? (int64_t)cl : 0;
}

int esp_http_client_get_status_code(esp_http_client_handle_t c)
{
    return c->status;
}

int esp_http_client_read(esp_http_client_handle_t c, char *buffer, int len)
{
    size_t n;
    pump(c, have_body);
    n = c->len - c->pos;
    if (n == 0)
        return c->done && c->result != CURLE_OK ? ESP_FAIL : 0;
    if (n > (size_t)len)
        n = (size_t)len;
    memcpy(buffer, c->buf + c->pos, n);
    c->pos += n;
    return (int)n;
}

bool esp_http_client_is_complete_data_received(esp_http_client_handle_t c)
{
    return c->done && c->result == CURLE_OK && c->pos == c->len;
}

bool esp_http_client_is_persistent_connection(esp_http_client_handle_t c)
{
    (void)c;
    return true; /* libcurl closes a connection the server did not keep alive */
}
