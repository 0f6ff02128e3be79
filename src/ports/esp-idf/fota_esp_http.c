/*
 * fota_esp_http.c - the transport callbacks of the ESP-IDF port on
 * esp_http_client, with one client handle for the device's whole life.
 *
 * Every request (a v1 chunk, the v2 stream, check, status) goes through the
 * same handle with esp_http_client_open / _fetch_headers / _read, never
 * esp_http_client_perform: the body is handed to the core's sink piece by
 * piece as it arrives (a v2 stream of a whole image is never buffered), and
 * the connection stays open between requests. esp_http_client_open connects
 * only when the handle is not connected (state below CONNECTED); after a
 * response that was read to its end on a keep-alive connection the socket
 * is reused by the next request, so the ~1000 requests of a v1 update cost
 * one TCP (and TLS) handshake. The connection is closed, and the next
 * request reconnects, when the server does not keep it alive
 * (esp_http_client_is_persistent_connection), when the sink stopped a body
 * half way, and after any transport error.
 *
 * Headers: the core's (replaced at every request), and Content-Type and
 * Content-Length, which esp_http_client keeps in the handle from one
 * request to the next and which are therefore deleted before each one.
 *
 * A request sent on a reused connection that the server had closed in the
 * meantime (idle timeout) fails before any response byte: it is sent once
 * more on a fresh connection, as any keep-alive client does. Everything
 * else is FOTA_ERR_NET and the core's retry policy decides.
 */
#include <stdio.h>
#include <string.h>
#include "esp_http_client.h"
#include "esp_log.h"
#include "fota_esp.h"

static const char *const TAG = "fota";

static struct fota_esp_http *transport(const struct fota_config *c)
{
    return &((struct fota_esp *)c->context)->http;
}

esp_err_t fota_esp_http_open(struct fota_esp_http *h, const char *base_url, const char *ca_pem,
                             esp_err_t (*crt_bundle_attach)(void *conf))
{
    esp_http_client_config_t hc;
    size_t n;

    memset(h, 0, sizeof *h);
    if (!base_url || (n = strlen(base_url)) == 0 || n >= sizeof h->base_url)
        return ESP_ERR_INVALID_ARG;
    if (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8))
        return ESP_ERR_INVALID_ARG;
    memcpy(h->base_url, base_url, n + 1);
    while (n && h->base_url[n - 1] == '/')
        h->base_url[--n] = '\0';

    memset(&hc, 0, sizeof hc);
    hc.url = h->base_url;
    hc.timeout_ms = CONFIG_FOTA_HTTP_TIMEOUT_MS;   /* idle: per read, not per request */
    hc.buffer_size = CONFIG_FOTA_HTTP_BUFFER_SIZE;
    hc.buffer_size_tx = 1024;                      /* request line + headers */
    hc.keep_alive_enable = true;                   /* TCP keep-alive probes */
    hc.disable_auto_redirect = true;               /* the API never redirects */
    hc.cert_pem = ca_pem;
    hc.crt_bundle_attach = crt_bundle_attach;
    h->client = esp_http_client_init(&hc);
    return h->client ? ESP_OK : ESP_ERR_NO_MEM;
}

void fota_esp_http_close(struct fota_esp_http *h)
{
    if (h->client)
        esp_http_client_cleanup(h->client);
    h->client = NULL;
}

/* Replace the previous request's headers by this request's. */
static int set_headers(struct fota_esp_http *h, const struct fota_http_header *hdrs,
                       unsigned nhdrs)
{
    unsigned i;
    for (i = 0; i < h->nhdr; i++)
        esp_http_client_delete_header(h->client, h->hdr_names[i]);
    h->nhdr = 0;
    if (nhdrs > FOTA_ESP_MAX_HEADERS)
        return FOTA_ERR_PARAM;
    for (i = 0; i < nhdrs; i++) {
        size_t n = strlen(hdrs[i].name);
        if (n >= FOTA_ESP_HEADER_NAME_MAX)
            return FOTA_ERR_PARAM;
        if (esp_http_client_set_header(h->client, hdrs[i].name, hdrs[i].value) != ESP_OK)
            return FOTA_ERR_NET;
        memcpy(h->hdr_names[h->nhdr++], hdrs[i].name, n + 1);
    }
    return FOTA_OK;
}

/* Send the request (and body) and read the response headers. 1 when the
 * failure came before any response byte (worth one retry on a new
 * connection), 0 on success, -1 otherwise. */
static int send_request(struct fota_esp_http *h, const char *body, uint32_t blen)
{
    int64_t hl;
    esp_err_t err = esp_http_client_open(h->client, body ? (int)blen : 0);
    if (err != ESP_OK) {
        ESP_LOGW(TAG, "http open %s: %s", h->url, esp_err_to_name(err));
        return 1;
    }
    if (body && blen) {
        int w = esp_http_client_write(h->client, body, (int)blen);
        if (w != (int)blen) {
            ESP_LOGW(TAG, "http write %s: %d of %u bytes", h->url, w, (unsigned)blen);
            return 1;
        }
    }
    hl = esp_http_client_fetch_headers(h->client);
    if (hl < 0) {
        ESP_LOGW(TAG, "http %s: no response headers (%d)", h->url, (int)hl);
        return 1;
    }
    return 0;
}

static int request(const struct fota_config *c, const char *path,
                   const struct fota_http_header *hdrs, unsigned nhdrs, const char *body,
                   uint32_t blen, esp_http_client_method_t method, fota_body_fn on_body,
                   void *arg, int *status)
{
    struct fota_esp_http *h = transport(c);
    int rc, attempt, n;

    *status = 0;
    if (snprintf(h->url, sizeof h->url, "%s%s", h->base_url, path) >= (int)sizeof h->url)
        return FOTA_ERR_PARAM;
    /* Same host and port as before: set_url keeps the connection. */
    if (esp_http_client_set_url(h->client, h->url) != ESP_OK)
        return FOTA_ERR_PARAM;
    esp_http_client_set_method(h->client, method);
    rc = set_headers(h, hdrs, nhdrs);
    /* esp_http_client_open leaves a POST's Content-Length in the handle's
     * header list: a GET sent with it makes the server wait for a body
     * (found by tests/esp-idf's host test, whose esp_http_client keeps it
     * the same way). Both go before every request; open sets its own. */
    esp_http_client_delete_header(h->client, "Content-Length");
    esp_http_client_delete_header(h->client, "Content-Type");
    if (rc == FOTA_OK && body)
        rc = esp_http_client_set_header(h->client, "Content-Type", "application/json") == ESP_OK
                 ? FOTA_OK : FOTA_ERR_NET;
    if (rc != FOTA_OK)
        return rc;
    h->requests++;

    for (attempt = 0;; attempt++) {
        int r = send_request(h, body, blen);
        if (r == 0)
            break;
        esp_http_client_close(h->client);
        if (r < 0 || attempt > 0)
            return FOTA_ERR_NET;
        /* a stale keep-alive connection: once more on a new one */
    }
    *status = esp_http_client_get_status_code(h->client);

    rc = FOTA_OK;
    while ((n = esp_http_client_read(h->client, h->rx, (int)sizeof h->rx)) > 0) {
        if (on_body && (rc = on_body(arg, (const uint8_t *)h->rx, (uint32_t)n)) != FOTA_OK)
            break;
    }
    if (rc != FOTA_OK) {
        /* the sink stopped the body: the rest is unread, the connection unusable */
        esp_http_client_close(h->client);
        return rc;
    }
    if (n < 0 || !esp_http_client_is_complete_data_received(h->client)) {
        ESP_LOGW(TAG, "http %s: body cut short (%d)", h->url, n);
        esp_http_client_close(h->client);
        return FOTA_ERR_NET;
    }
    if (!esp_http_client_is_persistent_connection(h->client))
        esp_http_client_close(h->client);
    return FOTA_OK;
}

static int http_get(const struct fota_config *c, const char *path,
                    const struct fota_http_header *hdrs, unsigned nhdrs, fota_body_fn on_body,
                    void *arg, int *status)
{
    return request(c, path, hdrs, nhdrs, NULL, 0, HTTP_METHOD_GET, on_body, arg, status);
}

static int http_post(const struct fota_config *c, const char *path,
                     const struct fota_http_header *hdrs, unsigned nhdrs, const char *body,
                     uint32_t len, int *status)
{
    return request(c, path, hdrs, nhdrs, body ? body : "", len, HTTP_METHOD_POST, NULL, NULL,
                   status);
}

void fota_esp_bind_http(struct fota_config *c)
{
    c->http_get = http_get;
    c->http_post = http_post;
}
