/*
 * http_curl.c - the transport callbacks of the posix port on libcurl.
 *
 * One easy handle per device, reused for every request so the connection
 * stays open (keep-alive) across the ~1000 chunk requests of an update.
 * Timeouts: a connect timeout, and an idle timeout (no byte for N ms aborts
 * the transfer) rather than a total one, so a slow but moving link finishes.
 * Retries and backoff are the core's job (fota_run): this layer reports
 * FOTA_ERR_TLS when the server's certificate does not verify against the CA
 * (or the CA file is unusable): a configuration problem, final, named as
 * such; and FOTA_ERR_NET for any other transfer that produced no complete
 * HTTP answer. libcurl's own text of the last failure is kept in last_error.
 */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include "posix_port.h"

struct xfer {
    struct fota_curl *t;
    CURL *easy;
    fota_body_fn on_body;
    void *arg;
    int *status;
    int status_set;
    int body_rc;
};

/* context of the config points at a struct whose first member is a
 * struct fota_curl * */
static struct fota_curl *transport(const struct fota_config *c)
{
    return *(struct fota_curl **)c->context;
}

int fota_curl_open(struct fota_curl *t, const char *base_url)
{
    size_t n;
    static int global_done;
    memset(t, 0, sizeof *t);
    if (!base_url || (n = strlen(base_url)) == 0 || n >= sizeof t->base_url)
        return FOTA_ERR_PARAM;
    if (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8))
        return FOTA_ERR_PARAM;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
    memcpy(t->base_url, base_url, n + 1);
    while (n && t->base_url[n - 1] == '/')
        t->base_url[--n] = '\0';
    t->easy = curl_easy_init();
    t->connect_timeout_ms = 5000;
    t->idle_timeout_ms = 15000;
    return t->easy ? FOTA_OK : FOTA_ERR_NET;
}

void fota_curl_close(struct fota_curl *t)
{
    if (t->easy)
        curl_easy_cleanup(t->easy);
    t->easy = NULL;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    long code = 0;

    if (!x->status_set) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        *x->status = (int)code;
        x->status_set = 1;
    }
    x->t->bytes_in += len;
    if (x->on_body) {
        x->body_rc = x->on_body(x->arg, (const uint8_t *)p, (uint32_t)len);
        if (x->body_rc)
            return 0; /* abort the transfer; body_rc says why */
    }
    return len;
}

/* A failed transfer's code: certificate and CA problems are FOTA_ERR_TLS. */
static int curl_error(CURLcode cc)
{
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION: /* not signed by the CA, wrong name, expired */
    case CURLE_SSL_CACERT_BADFILE:       /* --ca-file missing or not a CA */
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return FOTA_ERR_TLS;
    default:
        return FOTA_ERR_NET;
    }
}

static int perform(const struct fota_config *c, const char *path,
                   const struct fota_http_header *hdrs, unsigned nhdrs, const char *body,
                   uint32_t blen, int post, fota_body_fn on_body, void *arg, int *status)
{
    struct fota_curl *t = transport(c);
    struct curl_slist *list = NULL;
    struct xfer x = {t, t->easy, on_body, arg, status, 0, FOTA_OK};
    char url[512], line[256];
    unsigned i;
    long code = 0;
    CURLcode cc;

    if (snprintf(url, sizeof url, "%s%s", t->base_url, path) >= (int)sizeof url)
        return FOTA_ERR_PARAM;
    for (i = 0; i < nhdrs; i++) {
        snprintf(line, sizeof line, "%s: %s", hdrs[i].name, hdrs[i].value);
        list = curl_slist_append(list, line);
    }
    list = curl_slist_append(list, "Expect:");
    *status = 0;
    curl_easy_reset(t->easy); /* keeps the connection cache */
    curl_easy_setopt(t->easy, CURLOPT_URL, url);
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    /* idle timeout: under 1 byte/s for the idle period aborts */
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME,
                     (t->idle_timeout_ms + 999) / 1000 > 0 ? (t->idle_timeout_ms + 999) / 1000 : 1);
    curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (t->ca_file[0])
        curl_easy_setopt(t->easy, CURLOPT_CAINFO, t->ca_file);
    t->last_error[0] = '\0';
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->last_error);
    if (post) {
        curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    cc = curl_easy_perform(t->easy);
    curl_slist_free_all(list);
    t->requests++;
    if (cc == CURLE_WRITE_ERROR && x.body_rc)
        return x.body_rc;
    if (cc != CURLE_OK)
        return curl_error(cc);
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    return FOTA_OK;
}

static int http_get(const struct fota_config *c, const char *path,
                    const struct fota_http_header *hdrs, unsigned nhdrs, fota_body_fn on_body,
                    void *arg, int *status)
{
    return perform(c, path, hdrs, nhdrs, NULL, 0, 0, on_body, arg, status);
}

static int http_post(const struct fota_config *c, const char *path,
                     const struct fota_http_header *hdrs, unsigned nhdrs, const char *body,
                     uint32_t len, int *status)
{
    return perform(c, path, hdrs, nhdrs, body, len, 1, NULL, NULL, status);
}

void fota_posix_http(struct fota_config *c)
{
    c->http_get = http_get;
    c->http_post = http_post;
}
