/*
 * chunk_rps - v1 chunk requests per second from one client with keep-alive.
 *
 * usage: chunk_rps URL DEVICE_ID KEY_HEX [SECONDS]
 *
 * Asks `check` for the device's offered release, then fetches every chunk of
 * it (GET /api/inverter/fota/chunk?chunk=N&release=R with the device headers)
 * over and over with one reused libcurl easy handle (one TCP connection) for
 * about SECONDS (default 5), and prints the rate. Every answer must be 200
 * and carry the right chunk_number; the HMACs are not checked here (the e2e
 * tests do that), so the figure is the server's cost, not the client's.
 */
#include <curl/curl.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
    char *p;
    size_t len, cap;
};

static size_t on_data(char *d, size_t sz, size_t n, void *u)
{
    struct buf *b = u;
    size_t k = sz * n;
    if (b->len + k + 1 > b->cap) {
        size_t cap = (b->len + k + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, k);
    b->len += k;
    b->p[b->len] = '\0';
    return k;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long json_num(const char *s, const char *field)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", field);
    p = s ? strstr(s, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static int get(CURL *c, const char *url, struct buf *b)
{
    long code = 0;
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return (int)code;
}

int main(int argc, char **argv)
{
    const char *base, *id, *keyhex;
    unsigned char key[32], mac[32];
    char token[65], url[512], hdr_id[128], hdr_tok[128], msg[128];
    double secs = 5, t0, t;
    long release, total, n, reqs = 0, conns = 0;
    struct curl_slist *h = NULL;
    struct buf b = {0};
    CURL *c;
    int i, code;

    if (argc < 4 || argc > 5 || strlen(argv[3]) != 64) {
        fprintf(stderr, "usage: chunk_rps URL DEVICE_ID KEY_HEX [SECONDS]\n");
        return 1;
    }
    base = argv[1];
    id = argv[2];
    keyhex = argv[3];
    if (argc == 5)
        secs = atof(argv[4]);
    for (i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(keyhex + 2 * i, "%2x", &v) != 1) {
            fprintf(stderr, "chunk_rps: KEY_HEX: expected 64 hex digits\n");
            return 1;
        }
        key[i] = (unsigned char)v;
    }
    snprintf(msg, sizeof msg, "token:%s", id);
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                    (const unsigned char *)msg, strlen(msg), mac);
    for (i = 0; i < 32; i++)
        sprintf(token + 2 * i, "%02x", mac[i]);
    snprintf(hdr_id, sizeof hdr_id, "X-Device-Id: %s", id);
    snprintf(hdr_tok, sizeof hdr_tok, "X-Device-Token: %s", token);
    h = curl_slist_append(h, hdr_id);
    h = curl_slist_append(h, hdr_tok);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);

    snprintf(url, sizeof url, "%s/api/inverter/fota/check?version=bench-none", base);
    code = get(c, url, &b);
    release = json_num(b.p, "release");
    total = json_num(b.p, "total_chunks");
    if (code != 200 || release < 0 || total <= 0) {
        fprintf(stderr, "chunk_rps: check: HTTP %d, no release offered: %s\n", code,
                b.p ? b.p : "");
        return 2;
    }
    t0 = now_s();
    for (t = t0, n = 0; t - t0 < secs; n = (n + 1) % total) {
        long cn;
        snprintf(url, sizeof url, "%s/api/inverter/fota/chunk?chunk=%ld&release=%ld", base, n,
                 release);
        code = get(c, url, &b);
        cn = json_num(b.p, "chunk_number");
        if (code != 200 || cn != n) {
            fprintf(stderr, "chunk_rps: chunk %ld: HTTP %d: %.200s\n", n, code, b.p ? b.p : "");
            return 2;
        }
        reqs++;
        {
            long nc = 0;
            curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nc);
            conns += nc; /* new connections this transfer had to make */
        }
        if ((reqs & 63) == 0)
            t = now_s();
    }
    t = now_s();
    printf("server: v1 chunk requests/s, 1 client keep-alive: %.0f (%ld requests in %.2f s, "
           "release %ld, %ld chunks, %ld new connection(s) in the timed loop)\n",
           reqs / (t - t0), reqs, t - t0, release, total, conns);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    curl_global_cleanup();
    free(b.p);
    return 0;
}
