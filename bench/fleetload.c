/*
 * fleetload - a fleet's load on one fota-server: many devices polling
 * (`check`) while a few hundred download (`chunk`, with a `status` report
 * every 64 chunks), for a fixed time; prints per endpoint the offered and
 * achieved requests per second, p50 and p99 latency, errors (any answer but
 * the expected 200/204, or a transport failure), late sends, and the
 * server's RSS and CPU time beside the generator's own. Figures only: no
 * assertion.
 *
 * usage: fleetload PORT ADMIN_TOKEN FIRMWARE_FILE SERVER_PID
 *                  [--devices N] [--pollers P] [--downloaders D] [--seconds S]
 *                  [--poll-rate R] [--chunk-rate C] [--db-pid PID] [--timeline 1]
 *
 * Setup (not timed): registers N devices esp32-bench-NNNNN through
 * /api/admin/device-import with keys made here (so the tokens are known),
 * uploads FIRMWARE_FILE and deploys it to every esp32, and computes every
 * device's headers (id and HMAC token) once. A device's first check records
 * the offer (a state change): a warm-up (not timed) makes every device's
 * first check, so the timed polls are the steady state in which a check only
 * says the device was seen.
 *
 * Timed: P threads poll, each on its own keep-alive connection asking
 * `check` for random devices (not the downloaders), and D threads download,
 * each a device of its own fetching chunks in order (release= named) and
 * posting "downloading" after every 64th chunk.
 * - Closed loop (R = 0, C = 0, the default): each thread sends its next
 *   request as soon as the answer to the previous one is in; the load is
 *   whatever the server (and the shared CPUs) can take: a capacity figure,
 *   and its latencies are those of saturation (Little's law: P + D requests
 *   always in flight).
 * - Open loop (R > 0 and/or C > 0): a real fleet's devices poll on their own
 *   timers and download at their link's pace, whatever the server's answer
 *   time. Poller thread j sends at t0 + phase_j + k * P / R (R checks per
 *   second in total, a random phase per thread), downloader d its chunk k at
 *   t0 + phase_d + k / C. Latency is measured from the SCHEDULED send time,
 *   not the actual one, so a send delayed by a slow previous answer on the
 *   same connection (or by the generator's own lack of CPU) counts its delay
 *   (no coordinated omission). Sends more than LATE_MS late are counted and
 *   printed, split into "conn" (the connection was still busy with the
 *   previous request at the scheduled time) and "wake" (it was free, the
 *   thread woke late: the generator had no CPU); sends scheduled inside the
 *   window but never made are printed as "unsent" and enter the
 *   percentiles with their wait until the window's end (a lower bound). A
 *   status follows its chunk's answer and is timed from its actual send.
 * The downloaders' first `check` (one each, at start) is not timed.
 *
 * Latencies go into one shared log-linear histogram per endpoint (64
 * buckets per power of two: within 1.6 %), so memory does not grow with
 * the run's length; the per-device headers take about 128 bytes a device.
 * CPU: the generator's own (getrusage), the server's (utime + stime of
 * SERVER_PID in /proc/PID/stat) and, with --db-pid, that of a database
 * server and its direct children (PostgreSQL's postmaster and backends),
 * each over the timed window, also as a share of one core ("cores").
 * --timeline 1 adds, per second of the window, each endpoint's count and
 * worst latency (TIMELINE lines): are the slow answers a burst or spread?
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>

enum { K_CHECK, K_CHUNK, K_STATUS, K_N };
static const char *const kname[K_N] = {"check", "chunk", "status"};

/* a send this much later than its schedule is counted as late */
#define LATE_MS 10.0

static unsigned port;
static const char *token;
static int ndev = 10000, npoll = 64, ndl = 300, seconds = 10;
static double poll_rate, chunk_rate; /* 0: closed loop */
static long long rel_id;
static unsigned total_chunks;
static atomic_int stop_flag;
static double t_start, t_end; /* the timed window */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    struct timespec ts = {.tv_sec = (time_t)t};
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999L)
        ts.tv_nsec = 999999999L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* --- latency histograms (log-linear, shared, bounded) ---------------------- */

/* Microseconds; values below 64 exact, above in 64 buckets per power of
 * two. HB buckets reach 2^(HB/64 + 5) us, far beyond any run. */
enum { HSUB = 64, HB = HSUB * 32 };
static atomic_ullong hist[K_N][HB];
static atomic_long nerr[K_N], ndone[K_N];

static unsigned hbucket(double us)
{
    uint64_t v = us < 1 ? 0 : (uint64_t)us;
    if (v < HSUB)
        return (unsigned)v;
    unsigned h = 63u - (unsigned)__builtin_clzll(v), shift = h - 6;
    unsigned i = (shift + 1) * HSUB + (unsigned)((v >> shift) - HSUB);
    return i < HB ? i : HB - 1;
}

/* the middle of bucket i, in ms */
static double hvalue(unsigned i)
{
    if (i < HSUB)
        return i / 1000.0;
    unsigned shift = i / HSUB - 1;
    double lo = (double)((uint64_t)(HSUB + i % HSUB) << shift);
    return (lo + (double)(1ull << shift) / 2) / 1000.0;
}

/* --timeline: per second of the window (by send time), the count and the
 * worst latency of each endpoint, to see whether slow answers come in
 * bursts (a periodic flush, a checkpoint) or spread evenly */
static int timeline;
static atomic_uint (*tl_n)[K_N], (*tl_max_us)[K_N];

static void lat_add(int kind, double ms, double sched)
{
    atomic_fetch_add_explicit(&hist[kind][hbucket(ms * 1000)], 1, memory_order_relaxed);
    if (timeline) {
        double at = sched - t_start;
        int sec = at < 0 ? 0 : at >= seconds ? seconds : (int)at;
        unsigned us = ms * 1000 > 4e9 ? 4000000000u : (unsigned)(ms * 1000), old;
        atomic_fetch_add_explicit(&tl_n[sec][kind], 1, memory_order_relaxed);
        old = atomic_load_explicit(&tl_max_us[sec][kind], memory_order_relaxed);
        while (us > old && !atomic_compare_exchange_weak(&tl_max_us[sec][kind], &old, us))
            ;
    }
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

/* Every device's "X-Device-Id: ...\r\nX-Device-Token: ...\r\n", computed
 * once before the timed part (an HMAC each), so a request costs the
 * generator a copy, not a hash. */
enum { HD_MAX = 136 };
static char (*dev_hd)[HD_MAX];
static unsigned char *dev_hd_len;

static int dev_headers_init(void)
{
    if (!(dev_hd = malloc((size_t)ndev * sizeof *dev_hd)) || !(dev_hd_len = malloc((size_t)ndev)))
        return -1;
    for (int i = 0; i < ndev; i++) {
        char id[32], tok[65];
        dev_id(i, id);
        dev_token(i, tok);
        int n = snprintf(dev_hd[i], HD_MAX, "X-Device-Id: %s\r\nX-Device-Token: %s\r\n", id, tok);
        if (n <= 0 || n >= HD_MAX)
            return -1;
        dev_hd_len[i] = (unsigned char)n;
    }
    return 0;
}

static const char check_line[] =
    "GET /api/inverter/fota/check?version=1.0.0 HTTP/1.1\r\nHost: x\r\n";

/* device i's check request into req (at least 256 bytes); its length */
static size_t check_req(int i, char *req)
{
    size_t n = sizeof check_line - 1;
    memcpy(req, check_line, n);
    memcpy(req + n, dev_hd[i], dev_hd_len[i]);
    n += dev_hd_len[i];
    memcpy(req + n, "\r\n", 2);
    return n + 2;
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
    long sends, late_conn, late_wake, unsent; /* open loop only */
};

static uint32_t xs(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static double uniform(uint32_t *s) { return xs(s) / 4294967296.0; }

/* One request, timed from `sched` (its scheduled send time in open loop,
 * the moment of sending in closed loop) to the answer's last byte. */
static void timed(struct conn *c, int kind, const char *req, size_t len, int want, double sched)
{
    int st = request(c, req, len);
    if (st != want) {
        if (atomic_fetch_add(&nerr[kind], 1) == 0)
            fprintf(stderr, "fleetload: %s answered %d (first error)\n", kname[kind], st);
    } else {
        lat_add(kind, (now_s() - sched) * 1000, sched);
        atomic_fetch_add_explicit(&ndone[kind], 1, memory_order_relaxed);
    }
}

/* Open loop, at the end of the window: the sends still scheduled in it but
 * never made (the thread was held up) are counted as unsent, and enter the
 * latencies with their wait so far (a lower bound), so a stalled server
 * cannot make them vanish from the percentiles. */
static void unsent(struct worker *w, int kind, double sched, double period)
{
    double now = now_s();
    for (; period > 0 && sched < t_end; sched += period) {
        w->unsent++;
        lat_add(kind, (now - sched) * 1000, sched);
    }
}

/* Open loop: wait for the scheduled time `sched`, count the send as late
 * (and why) when it leaves more than LATE_MS after it. `free_at` is when
 * the connection's previous answer came in. */
static void pace(struct worker *w, double sched, double free_at)
{
    sleep_until(sched);
    w->sends++;
    if ((now_s() - sched) * 1000 > LATE_MS) {
        if (free_at > sched)
            w->late_conn++;
        else
            w->late_wake++;
    }
}

/* Warm-up (not timed): every device checks once, so the offer is recorded
 * and the timed polls are the steady state of a fleet. */
static atomic_int warm_next;
static void *warmer(void *arg)
{
    struct conn c = {.fd = -1};
    char req[256];
    int i;
    (void)arg;
    while ((i = atomic_fetch_add(&warm_next, 1)) < ndev)
        if (request(&c, req, check_req(i, req)) != 200)
            fprintf(stderr, "fleetload: warm-up check of device %d failed\n", i);
    conn_close(&c);
    return NULL;
}

/* Waits for the next send of a paced (open-loop) worker, or takes now as
 * its time in the closed loop; 0 when the window is over. */
static int next_send(struct worker *w, double *sched, double period, double free_at)
{
    if (period > 0) {
        if (*sched >= t_end || now_s() >= t_end)
            return 0;
        pace(w, *sched, free_at);
    } else {
        if (atomic_load(&stop_flag))
            return 0;
        *sched = now_s();
    }
    return 1;
}

static void *poller(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    char req[256];
    double period = poll_rate > 0 ? npoll / poll_rate : 0;
    sleep_until(t_start);
    double sched = t_start + period * uniform(&w->rng), free_at = t_start;
    while (next_send(w, &sched, period, free_at)) {
        /* pollers use the devices the downloaders do not */
        int i = ndl + (int)(xs(&w->rng) % (uint32_t)(ndev - ndl));
        timed(&c, K_CHECK, req, check_req(i, req), 200, sched);
        free_at = now_s();
        sched += period;
    }
    unsent(w, K_CHECK, sched, period);
    conn_close(&c);
    return NULL;
}

static void *downloader(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    char req[1024], body[160];
    const char *hd = dev_hd[w->index];
    unsigned n = xs(&w->rng) % total_chunks;
    double period = chunk_rate > 0 ? 1 / chunk_rate : 0;
    /* the device's check before it downloads (not timed) */
    request(&c, req, check_req(w->index, req));
    sleep_until(t_start);
    double sched = t_start + period * uniform(&w->rng), free_at = t_start;
    while (next_send(w, &sched, period, free_at)) {
        int len = snprintf(req, sizeof req,
                           "GET /api/inverter/fota/chunk?chunk=%u&release=%lld HTTP/1.1\r\n"
                           "Host: x\r\n%s\r\n",
                           n, rel_id, hd);
        timed(&c, K_CHUNK, req, (size_t)len, 200, sched);
        if (++n % 64 == 0) {
            int bl = snprintf(body, sizeof body,
                              "{\"release\":%lld,\"state\":\"downloading\",\"chunks_received\":%u,"
                              "\"error\":\"\"}",
                              rel_id, n);
            len = snprintf(req, sizeof req,
                           "POST /api/inverter/fota/status HTTP/1.1\r\nHost: x\r\n%s"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           hd, bl, body);
            timed(&c, K_STATUS, req, (size_t)len, 204, now_s());
        }
        if (n >= total_chunks)
            n = 0;
        free_at = now_s();
        sched += period;
    }
    unsent(w, K_CHUNK, sched, period);
    conn_close(&c);
    return NULL;
}

/* --- the server's figures ------------------------------------------------------ */

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

/* utime + stime of process pid in seconds (and its parent in *ppid), -1 if
 * it cannot be read */
static double proc_cpu_s(int pid, int *ppid)
{
    char p[64], line[1024], *r;
    unsigned long ut, st;
    int pp;
    FILE *f;
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    if (!(f = fopen(p, "r")))
        return -1;
    r = fgets(line, sizeof line, f);
    fclose(f);
    /* after the command's ")": state ppid ... utime (14th field) stime */
    if (!r || !(r = strrchr(line, ')')) ||
        sscanf(r + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
        return -1;
    if (ppid)
        *ppid = pp;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of pid and of its direct children (a postmaster and its
 * backends); children that exited in between are not counted */
static double tree_cpu_s(int pid)
{
    double sum = proc_cpu_s(pid, NULL);
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (sum < 0 || !d)
        return -1;
    while ((e = readdir(d))) {
        int child = atoi(e->d_name), pp = 0;
        double c;
        if (child > 0 && child != pid && (c = proc_cpu_s(child, &pp)) >= 0 && pp == pid)
            sum += c;
    }
    closedir(d);
    return sum;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* --- main ---------------------------------------------------------------------- */

static double percentile(const unsigned long long *h, unsigned long long n, double q)
{
    unsigned long long rank = (unsigned long long)((double)n * q) + 1, seen = 0;
    for (unsigned i = 0; i < HB; i++)
        if ((seen += h[i]) >= rank)
            return hvalue(i);
    return 0;
}

int main(int argc, char **argv)
{
    int pid, dbpid = 0;
    if (argc < 5) {
        fprintf(stderr, "usage: fleetload PORT ADMIN_TOKEN FIRMWARE_FILE SERVER_PID "
                        "[--devices N] [--pollers P] [--downloaders D] [--seconds S] "
                        "[--poll-rate R] [--chunk-rate C] [--db-pid PID] [--timeline 1]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines show as they come */
    port = (unsigned)atoi(argv[1]);
    token = argv[2];
    pid = atoi(argv[4]);
    for (int i = 5; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "fleetload: %s needs a value\n", argv[i]);
            return 2;
        }
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--devices")) ndev = v;
        else if (!strcmp(argv[i], "--pollers")) npoll = v;
        else if (!strcmp(argv[i], "--downloaders")) ndl = v;
        else if (!strcmp(argv[i], "--seconds")) seconds = v;
        else if (!strcmp(argv[i], "--poll-rate")) poll_rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--chunk-rate")) chunk_rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--db-pid")) dbpid = v;
        else if (!strcmp(argv[i], "--timeline")) timeline = v;
        else {
            fprintf(stderr, "fleetload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (ndev < 1 || ndl < 0 || ndl >= ndev || npoll < 0 || npoll + ndl < 1 || seconds < 1 ||
        poll_rate < 0 || chunk_rate < 0) {
        fprintf(stderr, "fleetload: need 0 <= downloaders < devices, pollers >= 0, rates >= 0\n");
        return 2;
    }
    if (timeline && (!(tl_n = calloc((size_t)seconds + 1, sizeof *tl_n)) ||
                     !(tl_max_us = calloc((size_t)seconds + 1, sizeof *tl_max_us)))) {
        fprintf(stderr, "fleetload: out of memory for the timeline\n");
        return 1;
    }
    if (dev_headers_init() < 0) {
        fprintf(stderr, "fleetload: out of memory for the device headers\n");
        return 1;
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
    if (!w)
        return 1;
    /* the window starts a little after the threads (and the downloaders'
     * untimed first checks), so none starts late */
    t_start = now_s() + 0.5 + nw * 0.001;
    t_end = t_start + seconds;
    for (int i = 0; i < nw; i++) {
        w[i].index = i < ndl ? i : i - ndl;
        w[i].rng = 2463534242u + 7919u * (uint32_t)i;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        pthread_create(&w[i].th, &at, i < ndl ? downloader : poller, &w[i]);
        pthread_attr_destroy(&at);
    }
    sleep_until(t_start);
    double gen0 = self_cpu_s(), srv0 = proc_cpu_s(pid, NULL), db0 = dbpid ? tree_cpu_s(dbpid) : 0;
    sleep_until(t_end);
    long rss = rss_kib(pid, "VmRSS:"), hwm = rss_kib(pid, "VmHWM:");
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < nw; i++)
        pthread_join(w[i].th, NULL);
    double el = now_s() - t_start;
    double gen = self_cpu_s() - gen0, srv = proc_cpu_s(pid, NULL) - srv0;
    double db = dbpid ? tree_cpu_s(dbpid) - db0 : 0;

    long total = 0, errors = 0;
    printf("fleetload: %d devices, %d polling connections (%s), %d downloading (%s), %d s "
           "(%.2f s to the last answer)\n",
           ndev, npoll, poll_rate > 0 ? "open loop" : "closed loop", ndl,
           chunk_rate > 0 ? "open loop" : "closed loop", seconds, el);
    for (int k = 0; k < K_N; k++) {
        static unsigned long long h[HB];
        unsigned long long n = 0;
        double maxv = 0;
        for (unsigned i = 0; i < HB; i++) {
            h[i] = atomic_load(&hist[k][i]);
            n += h[i];
            if (h[i])
                maxv = hvalue(i);
        }
        /* the offered load, the sends and their lateness (open loop) */
        int open = k == K_CHECK ? poll_rate > 0 : chunk_rate > 0;
        double offered = k == K_CHECK ? poll_rate : k == K_CHUNK ? ndl * chunk_rate
                                                                 : ndl * chunk_rate / 64;
        long lc = 0, lw = 0, uns = 0, sends = 0;
        for (int i = k == K_CHECK ? ndl : 0; k != K_STATUS && i < (k == K_CHECK ? nw : ndl); i++) {
            sends += w[i].sends;
            lc += w[i].late_conn;
            lw += w[i].late_wake;
            uns += w[i].unsent;
        }
        long e = atomic_load(&nerr[k]), done = atomic_load(&ndone[k]);
        /* open loop: every send was scheduled inside the S-s window */
        double win = open ? (double)seconds : el;
        printf("RESULT %s rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.1f n=%ld errors=%ld "
               "loop=%s",
               kname[k], (double)done / win, percentile(h, n, 0.50), percentile(h, n, 0.99), maxv,
               done, e, open ? "open" : "closed");
        if (open)
            printf(" offered_rps=%.0f", offered);
        if (open && k != K_STATUS) /* a status follows its chunk: no schedule of its own */
            printf(" late=%ld late_conn=%ld late_wake=%ld unsent=%ld", lc + lw, lc, lw, uns);
        printf("\n");
        if (open && k != K_STATUS && (lw > sends / 100 || uns > 0))
            printf("fleetload: WARNING: %s load not offered as scheduled: %ld sends never made "
                   "(their connection held up to the end), %ld of %ld made more than %.0f ms late "
                   "with their connection free (the generator had no CPU)\n",
                   kname[k], uns, lw, sends, LATE_MS);
        total += done;
        errors += e;
    }
    for (int t = 0; timeline && t <= seconds; t++) {
        printf("TIMELINE s=%d", t);
        for (int k = 0; k < K_N; k++)
            printf(" %s_n=%u %s_max_ms=%.1f", kname[k], atomic_load(&tl_n[t][k]), kname[k],
                   atomic_load(&tl_max_us[t][k]) / 1000.0);
        printf("\n");
    }
    printf("RESULT total rps=%.0f errors=%ld rss_kib=%ld hwm_kib=%ld server_cpu_s=%.2f "
           "server_cores=%.2f gen_cpu_s=%.2f gen_cores=%.2f",
           total / el, errors, rss, hwm, srv, srv / el, gen, gen / el);
    if (dbpid)
        printf(" db_cpu_s=%.2f db_cores=%.2f", db, db / el);
    printf(" cores=%ld late_ms=%.0f\n", sysconf(_SC_NPROCESSORS_ONLN), LATE_MS);
    free(w);
    free(dev_hd);
    free(dev_hd_len);
    free(tl_n);
    free(tl_max_us);
    return 0;
}
