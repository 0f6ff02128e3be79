/*
 * faultproxy.c - a fault-injecting HTTP/1.1 proxy on loopback, for the
 * link-fault campaign (docs/linkfault.md).
 *
 *   faultproxy --listen-port-file F --upstream 127.0.0.1:PORT --seed S
 *              [--rate P] [--log FILE] [--only SUBSTR] [--kinds k1,k2,..]
 *              [--stall-ms MS] [--drip-bytes N] [--drip-ms MS]
 *              [--max-stall N] [--max-drip N] [--max-seconds S] [--no-dup-empty]
 *
 * It sits between fota-device (or lf_device) and fota-server. Each client
 * connection gets its own upstream connection; requests are read whole
 * (Content-Length), forwarded, and the whole response is read from upstream
 * (Content-Length, chunked transfer-encoding, or until close; no body for
 * 1xx/204/304). Then, for that response, a PRNG seeded from (seed, request
 * index) decides whether to inject one fault and which (see kind_names).
 * Every request is logged with a monotonic timestamp, its index, path,
 * upstream status and the fault injected (or "none").
 *
 * Single-threaded, poll(2)-based. It exits by itself when its parent dies
 * (PR_SET_PDEATHSIG plus a getppid() check) or after --max-seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind {
    K_NONE = -1,
    K_RESET, K_TRUNC, K_FLIP_VALID, K_FLIP_INVALID, K_HMAC, K_500, K_503, K_429, K_STALL,
    K_DRIP, K_DUP, K_COUNT
};
static const char *const kind_names[K_COUNT] = {
    "reset", "trunc", "flip", "flipbad", "hmac", "500", "503", "429", "stall", "drip", "dup"};
/* relative weights of the kinds when a fault is drawn */
static const unsigned kind_weight[K_COUNT] = {3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 2};

#define MAX_CONNS 64
#define BUF_MAX (256 * 1024)

struct conn {
    int cfd, ufd;
    int id;
    /* request from the client */
    char *req;
    size_t req_len;
    /* response from upstream */
    char *resp;
    size_t resp_len;
    int resp_hdr_len, resp_status, resp_until_close;
    enum { S_READ_REQ, S_WAIT_UP, S_SEND } state;
    /* what to send, how */
    char *out;
    size_t out_len, out_sent;
    size_t drip_left;        /* bytes still to send one at a time */
    double next_send;        /* monotonic ms; nothing before this */
    int close_after;         /* 0 keep-alive, 1 FIN, 2 RST */
    /* a duplicate of the last response, sent before the next answer */
    char *stale;
    size_t stale_len;
    uint64_t req_index;
    double t_req;            /* when the request was whole (for backoff checks) */
    enum kind fault;
};

static struct {
    uint64_t seed;
    double rate;             /* percent */
    const char *only;
    unsigned allowed;        /* bitmask of kinds */
    unsigned stall_ms, drip_bytes, drip_ms;
    int max_stall, max_drip; /* -1: no limit */
    int dup_empty;           /* duplicate answers without a body too */
    int stalls, drips;
    uint64_t next_index;
    FILE *log;
    struct sockaddr_in up;
    double t0;
    uint64_t counts[K_COUNT];
} P;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void logf_(const char *fmt, ...)
{
    va_list ap;
    if (!P.log)
        return;
    fprintf(P.log, "t=%.3f ", now_ms() - P.t0);
    va_start(ap, fmt);
    vfprintf(P.log, fmt, ap);
    va_end(ap);
    fputc('\n', P.log);
    fflush(P.log);
}

/* ---- PRNG: splitmix64 to seed, xorshift64* per request ------------------ */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t s;
};

static uint64_t xs(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static void rng_for(struct rng *r, uint64_t index)
{
    r->s = splitmix(splitmix(P.seed) ^ (index * 0xD1B54A32D192ED03ull));
    if (!r->s)
        r->s = 1;
}

/* ---- HTTP framing -------------------------------------------------------- */

static const char *memfind(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    if (nl > hl)
        return NULL;
    return memmem(h, hl, n, nl);
}

/* Header value (case-insensitive name) within [buf, buf+hlen). */
static int header(const char *buf, int hlen, const char *name, char *val, size_t vlen)
{
    const char *p = memchr(buf, '\n', (size_t)hlen), *end = buf + hlen;
    size_t nl = strlen(name);
    while (p && p < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && !strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            size_t n;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            n = (size_t)(eol - v);
            while (n && (v[n - 1] == '\r' || v[n - 1] == ' '))
                n--;
            if (n >= vlen)
                n = vlen - 1;
            memcpy(val, v, n);
            val[n] = '\0';
            return 1;
        }
        p = eol;
    }
    return 0;
}

static int head_len(const char *b, size_t n)
{
    const char *e = memfind(b, n, "\r\n\r\n");
    return e ? (int)(e - b) + 4 : -1;
}

/* Complete request length, 0 if incomplete, -1 if unsupported. */
static long request_complete(const char *b, size_t n)
{
    int h = head_len(b, n);
    char v[64];
    long cl = 0;
    if (h < 0)
        return n > 65536 ? -1 : 0;
    if (header(b, h, "Transfer-Encoding", v, sizeof v))
        return -1;
    if (header(b, h, "Content-Length", v, sizeof v))
        cl = strtol(v, NULL, 10);
    if (cl < 0 || cl > BUF_MAX)
        return -1;
    return (size_t)h + (size_t)cl <= n ? h + cl : 0;
}

/* Complete length of a chunked body starting at b, 0 if incomplete. */
static size_t chunked_complete(const char *b, size_t n)
{
    size_t i = 0;
    for (;;) {
        const char *eol = memfind(b + i, n - i, "\r\n");
        unsigned long sz;
        if (!eol)
            return 0;
        sz = strtoul(b + i, NULL, 16);
        i = (size_t)(eol - b) + 2;
        if (sz == 0) {
            /* trailers until an empty line */
            for (;;) {
                const char *e2 = memfind(b + i, n - i, "\r\n");
                if (!e2)
                    return 0;
                if (e2 == b + i)
                    return i + 2;
                i = (size_t)(e2 - b) + 2;
            }
        }
        if (i + sz + 2 > n)
            return 0;
        i += sz + 2;
    }
}

/* Parse the upstream response in c->resp: returns 1 when complete. */
static int response_complete(struct conn *c, int up_eof)
{
    int h = head_len(c->resp, c->resp_len);
    char v[64];
    if (h < 0)
        return 0;
    c->resp_hdr_len = h;
    c->resp_status = atoi(c->resp + 9);
    c->resp_until_close = 0;
    if ((c->resp_status >= 100 && c->resp_status < 200) || c->resp_status == 204 ||
        c->resp_status == 304) {
        c->resp_len = (size_t)h;
        return 1;
    }
    if (header(c->resp, h, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked")) {
        size_t n = chunked_complete(c->resp + h, c->resp_len - (size_t)h);
        if (!n)
            return 0;
        c->resp_len = (size_t)h + n;
        return 1;
    }
    if (header(c->resp, h, "Content-Length", v, sizeof v)) {
        size_t cl = strtoul(v, NULL, 10);
        if (c->resp_len < (size_t)h + cl)
            return 0;
        c->resp_len = (size_t)h + cl;
        return 1;
    }
    c->resp_until_close = 1;
    return up_eof;
}

/* ---- faults ---------------------------------------------------------------- */

/* The string value of "name" in the body: [*s, *s + *n). */
static int json_str(const char *body, size_t blen, const char *name, size_t *s, size_t *n)
{
    char key[32];
    const char *p, *end = body + blen;
    snprintf(key, sizeof key, "\"%s\"", name);
    p = memfind(body, blen, key);
    if (!p)
        return 0;
    p += strlen(key);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return 0;
    p++;
    *s = (size_t)(p - body);
    while (p < end && *p != '"')
        p++;
    if (p >= end)
        return 0;
    *n = (size_t)(p - body) - *s;
    return 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int applicable(const struct conn *c, enum kind k)
{
    size_t body = c->resp_len - (size_t)c->resp_hdr_len, s, n;
    const char *b = c->resp + c->resp_hdr_len;
    if (!(P.allowed & (1u << k)))
        return 0;
    switch (k) {
    case K_RESET: case K_TRUNC:
        return !c->resp_until_close && body >= 2;
    case K_FLIP_VALID: case K_FLIP_INVALID:
        return c->resp_status == 200 && json_str(b, body, "data", &s, &n) && n >= 8;
    case K_HMAC:
        return c->resp_status == 200 && json_str(b, body, "hmac", &s, &n) && n == 64;
    case K_STALL:
        return P.max_stall < 0 || P.stalls < P.max_stall;
    case K_DRIP:
        return P.max_drip < 0 || P.drips < P.max_drip;
    case K_DUP:
        return !c->resp_until_close && (P.dup_empty || body > 0);
    default:
        return 1;
    }
}

static enum kind decide(struct conn *c, const char *path, struct rng *r)
{
    unsigned total = 0, pick, i;
    int k;
    if (P.only && !strstr(path, P.only))
        return K_NONE;
    if ((double)(xs(r) % 1000000u) >= P.rate * 10000.0)
        return K_NONE;
    for (i = 0; i < K_COUNT; i++)
        total += kind_weight[i];
    pick = (unsigned)(xs(r) % total);
    for (k = 0; pick >= kind_weight[k]; k++)
        pick -= kind_weight[k];
    /* not applicable to this answer (or capped): the next kind that is */
    for (i = 0; i < K_COUNT; i++, k = (k + 1) % K_COUNT)
        if (applicable(c, (enum kind)k))
            return (enum kind)k;
    return K_NONE;
}

static void set_out(struct conn *c, const char *a, size_t an, const char *b, size_t bn)
{
    free(c->out);
    c->out = malloc(an + bn + 1);
    memcpy(c->out, a, an);
    if (bn)
        memcpy(c->out + an, b, bn);
    c->out_len = an + bn;
    c->out_sent = 0;
}

static void error_response(struct conn *c, int status)
{
    char body[200], buf[512];
    const char *reason = status == 500 ? "Internal Server Error"
                         : status == 503 ? "Service Unavailable" : "Too Many Requests";
    const char *code = status == 500 ? "internal" : status == 503 ? "unavailable"
                                                                  : "too_many_requests";
    int bl = snprintf(body, sizeof body,
                      "{\"error\":\"%s\",\"message\":\"faultproxy: injected %d\"}", code, status);
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "%s\r\n%s",
                     status, reason, bl, status == 429 ? "Retry-After: 1\r\n" : "", body);
    set_out(c, buf, (size_t)n, NULL, 0);
}

/* Build c->out and the sending plan for the response in c->resp. */
static void plan(struct conn *c, const char *path)
{
    struct rng r;
    enum kind k;
    size_t body = c->resp_len - (size_t)c->resp_hdr_len, s = 0, n = 0, cut;
    char detail[96] = "";

    rng_for(&r, c->req_index);
    k = decide(c, path, &r);
    c->fault = k;
    c->close_after = c->resp_until_close ? 1 : 0;
    c->drip_left = 0;
    c->next_send = now_ms();
    /* a stale duplicate from the last answer goes first */
    set_out(c, c->stale ? c->stale : "", c->stale_len, c->resp, c->resp_len);
    if (c->stale) {
        free(c->stale);
        c->stale = NULL;
        c->stale_len = 0;
    }
    {
        size_t pre = c->out_len - c->resp_len; /* stale bytes before the answer */
        char *a = c->out + pre;                /* the answer within out */
        const char *bp = a + c->resp_hdr_len;
        switch (k) {
        case K_RESET:
        case K_TRUNC:
            cut = 1 + (size_t)(xs(&r) % (body - 1));
            c->out_len = pre + (size_t)c->resp_hdr_len + cut;
            c->close_after = k == K_RESET ? 2 : 1;
            snprintf(detail, sizeof detail, "sent %zu of %zu body bytes", cut, body);
            break;
        case K_FLIP_VALID:
        case K_FLIP_INVALID: {
            size_t pos, q;
            json_str(bp, body, "data", &s, &n);
            /* stay out of the last quantum (padding, unused low bits) */
            pos = s + (size_t)(xs(&r) % (n - 4));
            q = (size_t)(strchr(b64, a[c->resp_hdr_len + pos]) - b64);
            if (q >= 64)
                q = 0;
            if (k == K_FLIP_VALID) {
                unsigned bit = (unsigned)(xs(&r) % 6);
                a[c->resp_hdr_len + pos] = b64[q ^ (1u << bit)];
                snprintf(detail, sizeof detail, "data[%zu] bit %u (valid base64)", pos - s, bit);
            } else {
                static const char bad[] = "!#$%&*.~-_";
                a[c->resp_hdr_len + pos] = bad[xs(&r) % (sizeof bad - 1)];
                snprintf(detail, sizeof detail, "data[%zu]='%c' (invalid base64)", pos - s,
                         a[c->resp_hdr_len + pos]);
            }
            break;
        }
        case K_HMAC: {
            size_t pos;
            char *ch;
            json_str(bp, body, "hmac", &s, &n);
            pos = s + (size_t)(xs(&r) % 64);
            static const char hx[] = "0123456789abcdef";
            const char *at;
            ch = &a[c->resp_hdr_len + pos];
            at = strchr(hx, *ch);
            *ch = hx[((at && *ch ? (size_t)(at - hx) : 0) + 1 + (size_t)(xs(&r) % 15)) % 16];
            snprintf(detail, sizeof detail, "hmac[%zu]", pos - s);
            break;
        }
        case K_500:
        case K_503:
        case K_429: {
            char *keep = malloc(pre + 1);
            memcpy(keep, c->out, pre);
            error_response(c, k == K_500 ? 500 : k == K_503 ? 503 : 429);
            if (pre) {
                char *o = c->out;
                size_t ol = c->out_len;
                c->out = NULL;
                set_out(c, keep, pre, o, ol);
                free(o);
            }
            free(keep);
            c->close_after = 0;
            break;
        }
        case K_STALL:
            P.stalls++;
            c->next_send += P.stall_ms;
            snprintf(detail, sizeof detail, "held %u ms", P.stall_ms);
            break;
        case K_DRIP:
            P.drips++;
            c->drip_left = P.drip_bytes;
            snprintf(detail, sizeof detail, "first %u bytes one per %u ms", P.drip_bytes,
                     P.drip_ms);
            break;
        case K_DUP:
            c->stale = malloc(c->resp_len);
            memcpy(c->stale, c->resp, c->resp_len);
            c->stale_len = c->resp_len;
            snprintf(detail, sizeof detail, "again before the next answer");
            break;
        default:
            break;
        }
        if (pre && k != K_500 && k != K_503 && k != K_429)
            strncat(detail, detail[0] ? " +stale" : "+stale", sizeof detail - strlen(detail) - 1);
    }
    if (k != K_NONE)
        P.counts[k]++;
    logf_("req=%llu at=%.3f conn=%d %s status=%d fault=%s%s%s", (unsigned long long)c->req_index,
          c->t_req, c->id, path, c->resp_status, k == K_NONE ? "none" : kind_names[k], detail[0] ? " " : "",
          detail);
}

/* ---- connections ----------------------------------------------------------- */

static struct conn conns[MAX_CONNS];
static int nconns, next_id;

static void conn_close(struct conn *c, int rst)
{
    if (c->cfd >= 0) {
        if (rst) {
            struct linger lg = {1, 0};
            setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->cfd);
    }
    if (c->ufd >= 0)
        close(c->ufd);
    free(c->req);
    free(c->resp);
    free(c->out);
    free(c->stale);
    *c = conns[--nconns];
}

static int up_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&P.up, sizeof P.up)) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The client sent bytes: when a request is whole, forward it. Returns -1 to
 * close. */
static int on_request(struct conn *c)
{
    long n = request_complete(c->req, c->req_len);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    if (c->ufd < 0 && (c->ufd = up_connect()) < 0) {
        logf_("conn=%d upstream connect failed: %s", c->id, strerror(errno));
        return -1;
    }
    if (send_all(c->ufd, c->req, (size_t)n))
        return -1;
    c->req_index = P.next_index++;
    c->t_req = now_ms() - P.t0;
    /* keep the request line for the log; drop the rest (no pipelining) */
    c->req_len = (size_t)n;
    c->resp_len = 0;
    c->state = S_WAIT_UP;
    return 0;
}

static void request_path(const struct conn *c, char *out, size_t n)
{
    const char *eol = memchr(c->req, '\r', c->req_len);
    size_t l = eol ? (size_t)(eol - c->req) : 0;
    if (l > 9 && !memcmp(c->req + l - 9, " HTTP/1.1", 9))
        l -= 9;
    if (l >= n)
        l = n - 1;
    memcpy(out, c->req, l);
    out[l] = '\0';
}

static int read_into(int fd, char **buf, size_t *len)
{
    ssize_t r;
    if (!*buf)
        *buf = malloc(BUF_MAX);
    if (*len >= BUF_MAX)
        return -1;
    r = recv(fd, *buf + *len, BUF_MAX - *len, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (r <= 0)
        return 0;
    *len += (size_t)r;
    (*buf)[*len < BUF_MAX ? *len : BUF_MAX - 1] = '\0';
    return 1;
}

/* Send what is due; returns -1 to close the connection. */
static int pump(struct conn *c)
{
    double t = now_ms();
    while (c->out_sent < c->out_len && t >= c->next_send) {
        size_t n = c->out_len - c->out_sent;
        ssize_t w;
        if (c->drip_left)
            n = 1;
        w = send(c->cfd, c->out + c->out_sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (w <= 0)
            return -1;
        c->out_sent += (size_t)w;
        if (c->drip_left) {
            c->drip_left--;
            c->next_send = t + P.drip_ms;
            return 0;
        }
    }
    if (c->out_sent < c->out_len)
        return 0;
    if (c->close_after) {
        if (c->close_after == 1)
            shutdown(c->cfd, SHUT_WR);
        return c->close_after == 2 ? -2 : -1;
    }
    /* keep-alive: next request */
    c->state = S_READ_REQ;
    c->req_len = 0;
    if (c->resp_until_close && c->ufd >= 0) {
        close(c->ufd);
        c->ufd = -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: faultproxy --listen-port-file F --upstream 127.0.0.1:PORT --seed S\n"
            "                  [--rate PERCENT] [--log FILE] [--only PATH-SUBSTRING]\n"
            "                  [--kinds reset,trunc,flip,flipbad,hmac,500,503,429,stall,drip,dup]\n"
            "                  [--stall-ms MS] [--drip-bytes N] [--drip-ms MS]\n"
            "                  [--max-stall N] [--max-drip N] [--max-seconds S]\n"
            "                  [--no-dup-empty]\n");
    exit(1);
}

static unsigned parse_kinds(const char *s)
{
    unsigned m = 0;
    char *dup = strdup(s), *save = NULL, *t;
    for (t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k;
        for (k = 0; k < K_COUNT && strcmp(t, kind_names[k]); k++)
            ;
        if (k == K_COUNT) {
            fprintf(stderr, "faultproxy: unknown fault kind '%s'\n", t);
            exit(1);
        }
        m |= 1u << k;
    }
    free(dup);
    return m;
}

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"listen-port-file", 1, 0, 'p'}, {"upstream", 1, 0, 'u'}, {"seed", 1, 0, 's'},
        {"rate", 1, 0, 'r'}, {"log", 1, 0, 'l'}, {"only", 1, 0, 'o'}, {"kinds", 1, 0, 'k'},
        {"stall-ms", 1, 0, 'S'}, {"drip-bytes", 1, 0, 'D'}, {"drip-ms", 1, 0, 'd'},
        {"max-stall", 1, 0, 'x'}, {"max-drip", 1, 0, 'y'}, {"max-seconds", 1, 0, 'm'},
        {"no-dup-empty", 0, 0, 'E'},
        {0, 0, 0, 0}};
    const char *port_file = NULL, *upstream = NULL, *log_path = NULL;
    double max_seconds = 600;
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    pid_t parent = getppid();
    int lfd, ch, one = 1;

    P.rate = 15;
    P.allowed = (1u << K_COUNT) - 1;
    P.stall_ms = 1500;
    P.drip_bytes = 8;
    P.drip_ms = 100;
    P.max_stall = P.max_drip = -1;
    P.dup_empty = 1;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': port_file = optarg; break;
        case 'u': upstream = optarg; break;
        case 's': P.seed = strtoull(optarg, NULL, 0); break;
        case 'r': P.rate = atof(optarg); break;
        case 'l': log_path = optarg; break;
        case 'o': P.only = optarg; break;
        case 'k': P.allowed = parse_kinds(optarg); break;
        case 'S': P.stall_ms = (unsigned)atoi(optarg); break;
        case 'D': P.drip_bytes = (unsigned)atoi(optarg); break;
        case 'd': P.drip_ms = (unsigned)atoi(optarg); break;
        case 'x': P.max_stall = atoi(optarg); break;
        case 'y': P.max_drip = atoi(optarg); break;
        case 'm': max_seconds = atof(optarg); break;
        case 'E': P.dup_empty = 0; break;
        default: usage();
        }
    }
    if (!port_file || !upstream)
        usage();
    {
        const char *colon = strrchr(upstream, ':');
        char host[64];
        if (!colon || (size_t)(colon - upstream) >= sizeof host)
            usage();
        memcpy(host, upstream, (size_t)(colon - upstream));
        host[colon - upstream] = '\0';
        P.up.sin_family = AF_INET;
        P.up.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &P.up.sin_addr) != 1)
            usage();
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        return 0;
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    signal(SIGPIPE, SIG_IGN);
    P.t0 = now_ms();
    if (log_path && !(P.log = fopen(log_path, "w"))) {
        fprintf(stderr, "faultproxy: cannot open %s: %s\n", log_path, strerror(errno));
        return 1;
    }
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&a, &al)) {
        fprintf(stderr, "faultproxy: listen: %s\n", strerror(errno));
        return 1;
    }
    {
        char tmp[4096];
        FILE *fp;
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        if (!(fp = fopen(tmp, "w"))) {
            fprintf(stderr, "faultproxy: cannot write %s: %s\n", tmp, strerror(errno));
            return 1;
        }
        fprintf(fp, "%u\n", ntohs(a.sin_port));
        fclose(fp);
        rename(tmp, port_file);
    }
    logf_("listening port=%u upstream=%s seed=%llu rate=%g", ntohs(a.sin_port), upstream,
          (unsigned long long)P.seed, P.rate);

    while (!stop) {
        struct pollfd pf[1 + 2 * MAX_CONNS];
        int map[1 + 2 * MAX_CONNS], np = 0, i, timeout = 200;
        double t = now_ms();

        if (getppid() != parent || (t - P.t0) / 1000.0 > max_seconds)
            break;
        pf[np].fd = lfd;
        pf[np].events = nconns < MAX_CONNS ? POLLIN : 0;
        map[np++] = -1;
        for (i = 0; i < nconns; i++) {
            struct conn *c = &conns[i];
            pf[np].fd = c->cfd;
            pf[np].events = POLLIN;
            if (c->state == S_SEND && c->out_sent < c->out_len) {
                if (t >= c->next_send)
                    pf[np].events |= POLLOUT;
                else if (c->next_send - t < timeout)
                    timeout = (int)(c->next_send - t) + 1;
            }
            map[np++] = i;
            if (c->ufd >= 0 && c->state == S_WAIT_UP) {
                pf[np].fd = c->ufd;
                pf[np].events = POLLIN;
                map[np++] = i | 0x10000;
            }
        }
        if (poll(pf, (nfds_t)np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                struct conn *c = &conns[nconns++];
                memset(c, 0, sizeof *c);
                c->cfd = fd;
                c->ufd = -1;
                c->id = ++next_id;
                c->fault = K_NONE;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            }
        }
        /* handle events from the highest index down: conn_close moves the
         * last connection into the closed one's place */
        for (i = np - 1; i >= 1; i--) {
            int ci = map[i] & 0xFFFF, up = map[i] >> 16, rc = 0;
            struct conn *c;
            if (ci >= nconns)
                continue;
            c = &conns[ci];
            if (up) {
                if (c->state != S_WAIT_UP || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                rc = read_into(c->ufd, &c->resp, &c->resp_len);
                if (response_complete(c, rc == 0)) {
                    char path[300];
                    request_path(c, path, sizeof path);
                    plan(c, path);
                    c->state = S_SEND;
                    rc = pump(c);
                    if (rc < 0) {
                        conn_close(c, rc == -2);
                        continue;
                    }
                } else if (rc == 0) {
                    logf_("conn=%d upstream closed before a whole response", c->id);
                    conn_close(c, 0);
                }
                continue;
            }
            if (pf[i].fd != c->cfd)
                continue;
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (c->state == S_READ_REQ) {
                    rc = read_into(c->cfd, &c->req, &c->req_len);
                    if (rc == 0 || on_request(c) < 0) {
                        conn_close(c, 0);
                        continue;
                    }
                } else {
                    /* the client has nothing to say while we answer: a
                     * close (or a timeout) ends the connection */
                    char tmp[4096];
                    ssize_t r = recv(c->cfd, tmp, sizeof tmp, MSG_DONTWAIT);
                    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                        if (c->fault != K_NONE && c->state == S_SEND)
                            logf_("req=%llu conn=%d client closed during %s",
                                  (unsigned long long)c->req_index, c->id, kind_names[c->fault]);
                        conn_close(c, 0);
                        continue;
                    }
                    if (r > 0 && c->req_len + (size_t)r < BUF_MAX) {
                        /* pipelined bytes: keep them for later */
                        memcpy(c->req + c->req_len, tmp, (size_t)r);
                        c->req_len += (size_t)r;
                    }
                }
            }
        }
        /* timers and writable sockets */
        for (i = nconns - 1; i >= 0; i--) {
            struct conn *c = &conns[i];
            if (c->state == S_SEND) {
                int rc = pump(c);
                if (rc < 0)
                    conn_close(c, rc == -2);
            }
        }
    }
    {
        int k;
        char line[512];
        size_t n = 0;
        for (k = 0; k < K_COUNT; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%llu", kind_names[k],
                                  (unsigned long long)P.counts[k]);
        logf_("exit requests=%llu%s", (unsigned long long)P.next_index, line);
    }
    while (nconns)
        conn_close(&conns[0], 0);
    close(lfd);
    return 0;
}
