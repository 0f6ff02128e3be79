/*
 * fleetload - a fleet's load on one fota-server: many devices polling
 * (`check`) while a few hundred download (`chunk`, with a `status` report
 * every 64 chunks), for a fixed time; prints requests per second, p50 and
 * p99 latency per endpoint, errors (any answer but the expected 200/204, or
 * a transport failure) and the server's RSS. Figures only: no assertion.
 *
 * usage: fleetload PORT ADMIN_TOKEN FIRMWARE_FILE SERVER_PID
 *                  [--devices N] [--pollers P] [--downloaders D] [--seconds S]
 *
 * Setup (not timed): registers N devices esp32-bench-NNNNN through
 * /api/admin/device-import with keys made here (so the tokens are known),
 * uploads FIRMWARE_FILE and deploys it to every esp32. Then P threads poll,
 * each a keep-alive connection asking `check` for a random device, and D
 * threads download, each a device of its own fetching chunks in order
 * (release= named) and posting "downloading" every 64th chunk. A device's
 * first check records the offer (a state change): a warm-up (not timed)
 * makes every device's first check, so the timed polls are the steady state
 * in which a check only says the device was seen.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>

enum { K_CHECK, K_CHUNK, K_STATUS, K_N };
static const char *const kname[K_N] = {"check", "chunk", "status"};

static unsigned port;
static const char *token;
static int ndev = 10000, npoll = 64, ndl = 300, seconds = 10;
static long long rel_id;
static unsigned total_chunks;
static atomic_int stop_flag;

struct lat {
    double *v;
    size_t n, cap;
    long errors;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lat_add(struct lat *l, double ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = ms;
}

/* --- a minimal keep-alive HTTP/1.1 client ------------------------------- */

struct conn {
    int fd;
    char buf[65536];
    size_t have;
};

static int conn_open(struct conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->have = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* One request; the status code, or -1 on a transport error (the connection
 * is closed then, and reopened by the next request). The body is skipped. */
static int request(struct conn *c, const char *req, size_t len)
{
    size_t off = 0;
    long clen = -1;
    int status = -1;
    char *end;

    if (c->fd < 0 && conn_open(c) < 0)
        return -1;
    while (off < len) {
        ssize_t w = send(c->fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    for (;;) {
        c->buf[c->have] = 0;
        if ((end = strstr(c->buf, "\r\n\r\n")))
            break;
        if (c->have >= sizeof c->buf - 1)
            goto fail;
        ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have, 0);
        if (r <= 0)
            goto fail;
        c->have += (size_t)r;
    }
    sscanf(c->buf, "HTTP/1.%*d %d", &status);
    for (char *p = c->buf; p < end; p++)
        if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
    if (clen < 0 && (status == 204 || status == 304))
        clen = 0; /* no body */
    if (clen < 0)
        goto fail; /* every other answer of the server says its length */
    size_t head = (size_t)(end + 4 - c->buf), need = head + (size_t)clen;
    if (c->have >= need) {
        memmove(c->buf, c->buf + need, c->have - need);
        c->have -= need;
    } else {
        size_t left = need - c->have;
        c->have = 0;
        while (left > 0) {
            ssize_t r = recv(c->fd, c->buf, left < sizeof c->buf ? left : sizeof c->buf, 0);
            if (r <= 0)
                goto fail;
            left -= (size_t)r;
        }
    }
    return status;
fail:
    conn_close(c);
    return -1;
}

/* --- devices ---------------------------------------------------------------- */

static void dev_id(int i, char *out) { sprintf(out, "esp32-bench-%05d", i); }

static void dev_key(int i, uint8_t key[32])
{
    char seed[32];
    int n = snprintf(seed, sizeof seed, "fleetload-%d", i);
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const unsigned char *)seed,
               (size_t)n, key);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static void dev_token(int i, char *out)
{
    uint8_t key[32], tok[32];
    char id[32], msg[48];
    dev_id(i, id);
    dev_key(i, key);
    int n = snprintf(msg, sizeof msg, "token:%s", id);
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                    (const unsigned char *)msg, (size_t)n, tok);
    hex(tok, 32, out);
}

static int dev_headers(int i, char *out, size_t n)
{
    char id[32], tok[65];
    dev_id(i, id);
    dev_token(i, tok);
    return snprintf(out, n, "X-Device-Id: %s\r\nX-Device-Token: %s\r\n", id, tok);
}

/* --- setup through the admin API ---------------------------------------- */

/* POST (or GET with body NULL) to the admin API; the answer's body in out. */
static int admin(const char *method, const char *path, const char *ctype, const void *body,
                 size_t len, char *out, size_t outn)
{
    struct conn c = {.fd = -1};
    size_t hl, got = 0;
    char *req;
    int status = -1;

    req = malloc(len + 1024);
    if (!req || conn_open(&c) < 0)
        return -1;
    hl = (size_t)sprintf(req,
                         "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         method, path, token, ctype, len);
    if (len)
        memcpy(req + hl, body, len);
    if (send(c.fd, req, hl + len, MSG_NOSIGNAL) == (ssize_t)(hl + len)) {
        ssize_t r;
        while (got < outn - 1 && (r = recv(c.fd, out + got, outn - 1 - got, 0)) > 0)
            got += (size_t)r;
        out[got] = 0;
        sscanf(out, "HTTP/1.%*d %d", &status);
    }
    conn_close(&c);
    free(req);
    return status;
}

static int setup(const char *fw)
{
    static char out[1 << 20];
    size_t cap = 256 + (size_t)1000 * 140, len;
    char *body = malloc(cap);
    FILE *f;
    uint8_t *img;
    long size;
    int st;

    for (int base = 0; base < ndev; base += 1000) {
        len = (size_t)sprintf(body, "{\"devices\":[");
        for (int i = base; i < ndev && i < base + 1000; i++) {
            char id[32], kh[65];
            uint8_t key[32];
            dev_id(i, id);
            dev_key(i, key);
            hex(key, 32, kh);
            len += (size_t)sprintf(body + len, "%s{\"id\":\"%s\",\"chip\":\"esp32\",\"key\":\"%s\"}",
                                   i > base ? "," : "", id, kh);
        }
        len += (size_t)sprintf(body + len, "]}");
        st = admin("POST", "/api/admin/device-import", "application/json", body, len, out,
                   sizeof out);
        if (st != 200) {
            fprintf(stderr, "fleetload: device-import: %d %.300s\n", st, out);
            return -1;
        }
    }
    free(body);
    if (!(f = fopen(fw, "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) || !(img = malloc((size_t)size)) ||
        fread(img, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "fleetload: cannot read %s\n", fw);
        return -1;
    }
    fclose(f);
    st = admin("POST", "/api/admin/releases?version=9.0.0", "application/octet-stream", img,
               (size_t)size, out, sizeof out);
    free(img);
    char *j = strstr(out, "\r\n\r\n");
    char *idp = j ? strstr(j, "\"id\":") : NULL;
    if (st != 201 || !idp) {
        fprintf(stderr, "fleetload: upload: %d %.300s\n", st, out);
        return -1;
    }
    rel_id = strtoll(idp + 5, NULL, 10);
    total_chunks = (unsigned)((size + 1023) / 1024);
    char dep[128];
    len = (size_t)snprintf(dep, sizeof dep, "{\"release\": %lld, \"chip\": \"esp32\"}", rel_id);
    st = admin("POST", "/api/admin/deployments", "application/json", dep, len, out, sizeof out);
    if (st != 201) {
        fprintf(stderr, "fleetload: deployment: %d %.300s\n", st, out);
        return -1;
    }
    return 0;
}

/* --- load --------------------------------------------------------------------- */

struct worker {
    pthread_t th;
    int index;
    uint32_t rng;
    struct lat lat[K_N];
};

static uint32_t xs(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void timed(struct worker *w, struct conn *c, int kind, const char *req, size_t len,
                  int want)
{
    double t = now_s();
    int st = request(c, req, len);
    if (st != want) {
        if (w->lat[kind].errors++ == 0)
            fprintf(stderr, "fleetload: %s answered %d (first error of this thread)\n",
                    kname[kind], st);
    }
    else
        lat_add(&w->lat[kind], (now_s() - t) * 1000);
}

/* Warm-up (not timed): every device checks once, so the offer is recorded
 * and the timed polls are the steady state of a fleet. */
static atomic_int warm_next;
static void *warmer(void *arg)
{
    struct conn c = {.fd = -1};
    char req[512], hd[200];
    int i;
    (void)arg;
    while ((i = atomic_fetch_add(&warm_next, 1)) < ndev) {
        dev_headers(i, hd, sizeof hd);
        int n = snprintf(req, sizeof req,
                         "GET /api/inverter/fota/check?version=1.0.0 HTTP/1.1\r\nHost: x\r\n%s\r\n",
                         hd);
        if (request(&c, req, (size_t)n) != 200)
            fprintf(stderr, "fleetload: warm-up check of device %d failed\n", i);
    }
    conn_close(&c);
    return NULL;
}

static void *poller(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    char req[512], hd[200];
    while (!atomic_load(&stop_flag)) {
        /* pollers use the devices the downloaders do not */
        int i = ndl + (int)(xs(&w->rng) % (uint32_t)(ndev - ndl));
        dev_headers(i, hd, sizeof hd);
        int n = snprintf(req, sizeof req,
                         "GET /api/inverter/fota/check?version=1.0.0 HTTP/1.1\r\nHost: x\r\n%s\r\n",
                         hd);
        timed(w, &c, K_CHECK, req, (size_t)n, 200);
    }
    conn_close(&c);
    return NULL;
}

static void *downloader(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    char req[1024], hd[200], body[160];
    unsigned n = xs(&w->rng) % total_chunks;
    dev_headers(w->index, hd, sizeof hd);
    int len = snprintf(req, sizeof req,
                       "GET /api/inverter/fota/check?version=1.0.0 HTTP/1.1\r\nHost: x\r\n%s\r\n",
                       hd);
    timed(w, &c, K_CHECK, req, (size_t)len, 200);
    while (!atomic_load(&stop_flag)) {
        len = snprintf(req, sizeof req,
                       "GET /api/inverter/fota/chunk?chunk=%u&release=%lld HTTP/1.1\r\nHost: x\r\n"
                       "%s\r\n",
                       n, rel_id, hd);
        timed(w, &c, K_CHUNK, req, (size_t)len, 200);
        if (++n % 64 == 0) {
            int bl = snprintf(body, sizeof body,
                              "{\"release\":%lld,\"state\":\"downloading\",\"chunks_received\":%u,"
                              "\"error\":\"\"}",
                              rel_id, n);
            len = snprintf(req, sizeof req,
                           "POST /api/inverter/fota/status HTTP/1.1\r\nHost: x\r\n%s"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           hd, bl, body);
            timed(w, &c, K_STATUS, req, (size_t)len, 204);
        }
        if (n >= total_chunks)
            n = 0;
    }
    conn_close(&c);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long rss_kib(int pid, const char *field)
{
    char p[64], line[256];
    long v = -1;
    FILE *f;
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    if (!(f = fopen(p, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field) + 1, NULL, 10);
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    int pid;
    if (argc < 5) {
        fprintf(stderr, "usage: fleetload PORT ADMIN_TOKEN FIRMWARE_FILE SERVER_PID "
                        "[--devices N] [--pollers P] [--downloaders D] [--seconds S]\n");
        return 2;
    }
    port = (unsigned)atoi(argv[1]);
    token = argv[2];
    pid = atoi(argv[4]);
    for (int i = 5; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--devices")) ndev = v;
        else if (!strcmp(argv[i], "--pollers")) npoll = v;
        else if (!strcmp(argv[i], "--downloaders")) ndl = v;
        else if (!strcmp(argv[i], "--seconds")) seconds = v;
        else {
            fprintf(stderr, "fleetload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (ndev < 1 || ndl < 0 || ndl >= ndev || npoll < 1 || seconds < 1) {
        fprintf(stderr, "fleetload: need 0 <= downloaders < devices, pollers >= 1\n");
        return 2;
    }
    if (setup(argv[3]) < 0)
        return 1;
    {
        pthread_t wt[16];
        double tw = now_s();
        for (int i = 0; i < 16; i++)
            pthread_create(&wt[i], NULL, warmer, NULL);
        for (int i = 0; i < 16; i++)
            pthread_join(wt[i], NULL);
        printf("fleetload: warm-up, %d first checks (each records an offer) in %.1f s\n", ndev,
               now_s() - tw);
    }

    int nw = npoll + ndl;
    struct worker *w = calloc((size_t)nw, sizeof *w);
    double t0 = now_s();
    for (int i = 0; i < nw; i++) {
        w[i].index = i < ndl ? i : i - ndl;
        w[i].rng = 2463534242u + 7919u * (uint32_t)i;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        pthread_create(&w[i].th, &at, i < ndl ? downloader : poller, &w[i]);
        pthread_attr_destroy(&at);
    }
    sleep((unsigned)seconds);
    long rss = rss_kib(pid, "VmRSS:"), hwm = rss_kib(pid, "VmHWM:");
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < nw; i++)
        pthread_join(w[i].th, NULL);
    double el = now_s() - t0;

    long total = 0, errors = 0;
    printf("fleetload: %d devices, %d polling connections, %d downloading, %.1f s\n", ndev, npoll,
           ndl, el);
    for (int k = 0; k < K_N; k++) {
        struct lat all = {0};
        for (int i = 0; i < nw; i++) {
            for (size_t j = 0; j < w[i].lat[k].n; j++)
                lat_add(&all, w[i].lat[k].v[j]);
            all.errors += w[i].lat[k].errors;
            free(w[i].lat[k].v);
        }
        qsort(all.v, all.n, sizeof *all.v, cmp);
        double p50 = all.n ? all.v[all.n / 2] : 0, p99 = all.n ? all.v[all.n * 99 / 100] : 0;
        printf("RESULT %s rps=%.0f p50_ms=%.2f p99_ms=%.2f n=%zu errors=%ld\n", kname[k],
               all.n / el, p50, p99, all.n, all.errors);
        total += (long)all.n;
        errors += all.errors;
        free(all.v);
    }
    printf("RESULT total rps=%.0f errors=%ld rss_kib=%ld hwm_kib=%ld\n", total / el, errors, rss,
           hwm);
    free(w);
    return 0;
}
