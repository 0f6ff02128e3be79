/*
 * linkemu - a link-emulating TCP proxy on loopback, for benchmarks.
 *
 * usage: linkemu --listen-port-file F --upstream 127.0.0.1:PORT --rtt-ms R
 *                --rate-kbit K [--queue-bytes Q] [--max-seconds S]
 *
 * Listens on 127.0.0.1 (a free port, written atomically to F), and for every
 * client connects to the upstream and relays both directions through an
 * emulated link: each direction is a bottleneck of K kbit/s (token bucket of 4 ms of
 * the rate, at least 512 bytes,
 * a queue of Q bytes in front of it, default 64 KB: the proxy stops reading
 * from the sender while the queue is full, which is TCP's backpressure),
 * followed by a one-way delay of R/2 ms. Bytes leaving the bottleneck are
 * timestamped and released to the receiver when their delay is over, so the
 * link is a pipe with latency (many segments in flight), not stop-and-wait.
 * Rate counts TCP payload bytes only (no header overhead). The TCP handshake
 * is not delayed (the client's connection to the proxy is local): a real
 * link adds one RTT per new connection.
 *
 * One poll loop, no threads. Exits when its parent dies, on SIGTERM/SIGINT,
 * or after --max-seconds (default 1800).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 64
#define DELAY_CAP (8u << 20)   /* bytes in flight in the delay line, per direction */
#define SEG_CAP 65536u         /* segment records in flight, per direction */

struct seg {
    uint64_t due_ns;
    uint32_t len;
};

struct dir {
    int from, to;              /* indexes into conn fds: 0 client, 1 upstream */
    uint8_t *q;                /* bottleneck queue */
    uint32_t qlen;
    uint8_t *line;             /* delay line: ring of bytes */
    uint32_t lhead, llen;      /* ring start and length */
    struct seg *segs;          /* ring of segments */
    uint32_t shead, scount;
    double tokens;
    uint64_t last_ns;
    int eof, shut;
};

struct conn {
    int fd[2];
    struct dir d[2];           /* d[0]: client -> upstream, d[1]: upstream -> client */
    int used;
};

static volatile sig_atomic_t stop;
static double rate_Bps, bucket_max;
static uint64_t delay_ns;
static uint32_t queue_max = 65536;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void conn_close(struct conn *c)
{
    int i;
    for (i = 0; i < 2; i++) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        free(c->d[i].q), free(c->d[i].line), free(c->d[i].segs);
    }
    memset(c, 0, sizeof *c);
    c->fd[0] = c->fd[1] = -1;
}

static int dir_init(struct dir *d, int from, int to, uint64_t t)
{
    memset(d, 0, sizeof *d);
    d->from = from, d->to = to;
    d->q = malloc(queue_max), d->line = malloc(DELAY_CAP), d->segs = malloc(SEG_CAP * sizeof *d->segs);
    d->tokens = bucket_max;
    d->last_ns = t;
    return d->q && d->line && d->segs ? 0 : -1;
}

/* Move bytes from the bottleneck queue into the delay line as tokens allow. */
static void dir_transmit(struct dir *d, uint64_t t)
{
    uint32_t n, i, pos;
    d->tokens += (double)(t - d->last_ns) * rate_Bps / 1e9;
    if (d->tokens > bucket_max)
        d->tokens = bucket_max;
    d->last_ns = t;
    n = d->qlen;
    if (n > (uint32_t)d->tokens)
        n = (uint32_t)d->tokens;
    if (n > DELAY_CAP - d->llen)
        n = DELAY_CAP - d->llen;
    if (!n || d->scount == SEG_CAP)
        return;
    for (i = 0; i < n; i++) {
        pos = (d->lhead + d->llen + i) % DELAY_CAP;
        d->line[pos] = d->q[i];
    }
    d->llen += n;
    memmove(d->q, d->q + n, d->qlen - n);
    d->qlen -= n;
    d->tokens -= n;
    d->segs[(d->shead + d->scount) % SEG_CAP] = (struct seg){t + delay_ns, n};
    d->scount++;
}

/* Bytes of the delay line whose time has come. */
static uint32_t dir_due(const struct dir *d, uint64_t t)
{
    uint32_t i, n = 0;
    for (i = 0; i < d->scount; i++) {
        const struct seg *s = &d->segs[(d->shead + i) % SEG_CAP];
        if (s->due_ns > t)
            break;
        n += s->len;
    }
    return n;
}

/* Write due bytes to the receiver. -1: connection broken. */
static int dir_deliver(struct conn *c, struct dir *d, uint64_t t)
{
    uint32_t due = dir_due(d, t);
    while (due) {
        uint32_t chunk = due, contig = DELAY_CAP - d->lhead;
        ssize_t w;
        if (chunk > contig)
            chunk = contig;
        w = send(c->fd[d->to], d->line + d->lhead, chunk, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        d->lhead = (d->lhead + (uint32_t)w) % DELAY_CAP;
        d->llen -= (uint32_t)w;
        due -= (uint32_t)w;
        while (w > 0) {
            struct seg *s = &d->segs[d->shead];
            if ((uint32_t)w >= s->len) {
                w -= s->len;
                d->shead = (d->shead + 1) % SEG_CAP;
                d->scount--;
            } else {
                s->len -= (uint32_t)w;
                w = 0;
            }
        }
    }
    if (d->eof && !d->qlen && !d->llen && !d->shut) {
        shutdown(c->fd[d->to], SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

static int dir_read(struct conn *c, struct dir *d)
{
    ssize_t r;
    if (d->eof || d->qlen >= queue_max)
        return 0;
    r = recv(c->fd[d->from], d->q + d->qlen, queue_max - d->qlen, 0);
    if (r == 0) {
        d->eof = 1;
        return 0;
    }
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    d->qlen += (uint32_t)r;
    return 0;
}

/* ns until something in d can progress (token refill or delay), or -1. */
static int64_t dir_wait(const struct dir *d, uint64_t t)
{
    int64_t w = -1;
    if (d->scount) {
        uint64_t due = d->segs[d->shead].due_ns;
        w = due > t ? (int64_t)(due - t) : 0;
    }
    if (d->qlen) {
        double want = d->qlen < 1460 ? d->qlen : 1460, need;
        if (want > bucket_max)
            want = bucket_max;
        need = want - d->tokens;
        int64_t tw = need <= 0 ? 0 : (int64_t)(need / rate_Bps * 1e9);
        if (w < 0 || tw < w)
            w = tw;
    }
    return w;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *up = NULL;
    double rtt_ms = -1, kbit = -1, max_s = 1800;
    struct sockaddr_in la = {0}, ua = {0};
    struct conn conns[MAX_CONN];
    socklen_t sl = sizeof la;
    pid_t parent = getppid();
    uint64_t start;
    int lfd, i, one = 1;
    char tmp[4096];
    FILE *fp;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto usage;
        if (!strcmp(a, "--listen-port-file"))
            port_file = v;
        else if (!strcmp(a, "--upstream"))
            up = v;
        else if (!strcmp(a, "--rtt-ms"))
            rtt_ms = atof(v);
        else if (!strcmp(a, "--rate-kbit"))
            kbit = atof(v);
        else if (!strcmp(a, "--queue-bytes"))
            queue_max = (uint32_t)atol(v);
        else if (!strcmp(a, "--max-seconds"))
            max_s = atof(v);
        else
            goto usage;
        i++;
    }
    if (!port_file || !up || rtt_ms < 0 || kbit <= 0 || queue_max < 1460 || max_s <= 0)
        goto usage;
    {
        char host[64];
        const char *colon = strrchr(up, ':');
        if (!colon || colon - up >= (long)sizeof host)
            goto usage;
        memcpy(host, up, (size_t)(colon - up));
        host[colon - up] = '\0';
        ua.sin_family = AF_INET;
        ua.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &ua.sin_addr) != 1)
            goto usage;
    }
    rate_Bps = kbit * 1000 / 8;
    bucket_max = rate_Bps * 0.004 > 512 ? rate_Bps * 0.004 : 512; /* 4 ms of the rate, at least 512 B */
    delay_ns = (uint64_t)(rtt_ms * 1e6 / 2);

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    la.sin_family = AF_INET;
    la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&la, sizeof la) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&la, &sl)) {
        perror("linkemu: listen");
        return 1;
    }
    nonblock(lfd);
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    fp = fopen(tmp, "w");
    if (!fp || fprintf(fp, "%u\n", ntohs(la.sin_port)) < 0 || fclose(fp) || rename(tmp, port_file)) {
        perror("linkemu: port file");
        return 1;
    }
    for (i = 0; i < MAX_CONN; i++) {
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].fd[0] = conns[i].fd[1] = -1;
    }
    start = now_ns();

    while (!stop && getppid() == parent && (now_ns() - start) / 1e9 < max_s) {
        struct pollfd p[1 + 2 * MAX_CONN];
        int idx[1 + 2 * MAX_CONN], np = 0, k;
        uint64_t t = now_ns();
        int64_t wait = 200000000; /* re-check parent and deadline every 200 ms */

        for (i = 0; i < MAX_CONN; i++) {
            struct conn *c = &conns[i];
            int j, bad = 0;
            if (!c->used)
                continue;
            for (j = 0; j < 2; j++) {
                dir_transmit(&c->d[j], t);
                if (dir_deliver(c, &c->d[j], t))
                    bad = 1;
            }
            if (bad || (c->d[0].shut && c->d[1].shut)) {
                conn_close(c);
                continue;
            }
            for (j = 0; j < 2; j++) {
                int64_t w = dir_wait(&c->d[j], t);
                if (w >= 0 && w < wait)
                    wait = w;
            }
        }
        p[np].fd = lfd, p[np].events = POLLIN, idx[np++] = -1;
        for (i = 0; i < MAX_CONN; i++) {
            struct conn *c = &conns[i];
            int j;
            if (!c->used)
                continue;
            for (j = 0; j < 2; j++) {
                /* fd j is the sender of d[j] and the receiver of d[1-j] */
                short ev = 0;
                if (!c->d[j].eof && c->d[j].qlen < queue_max)
                    ev |= POLLIN;
                if (dir_due(&c->d[1 - j], t))
                    ev |= POLLOUT;
                /* nothing wanted (sender at EOF, nothing due): leave the fd out,
                 * or its POLLHUP would spin the loop */
                p[np].fd = ev ? c->fd[j] : -1, p[np].events = ev, idx[np++] = i;
            }
        }
        {
            struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
            if (ppoll(p, (nfds_t)np, &ts, NULL) < 0 && errno != EINTR)
                break;
        }
        if (p[0].revents & POLLIN) {
            int cfd = accept(lfd, NULL, NULL);
            if (cfd >= 0) {
                int ufd = socket(AF_INET, SOCK_STREAM, 0), slot = -1;
                for (i = 0; i < MAX_CONN; i++)
                    if (!conns[i].used) {
                        slot = i;
                        break;
                    }
                if (slot < 0 || ufd < 0 || connect(ufd, (struct sockaddr *)&ua, sizeof ua)) {
                    close(cfd);
                    if (ufd >= 0)
                        close(ufd);
                } else {
                    struct conn *c = &conns[slot];
                    uint64_t t2 = now_ns();
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    nonblock(cfd), nonblock(ufd);
                    c->fd[0] = cfd, c->fd[1] = ufd, c->used = 1;
                    if (dir_init(&c->d[0], 0, 1, t2) || dir_init(&c->d[1], 1, 0, t2))
                        conn_close(c);
                }
            }
        }
        for (k = 1; k < np; k++) {
            struct conn *c;
            int j;
            if (idx[k] < 0 || !p[k].revents)
                continue;
            c = &conns[idx[k]];
            if (!c->used)
                continue;
            j = p[k].fd == c->fd[0] ? 0 : 1;
            if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
                if (dir_read(c, &c->d[j])) {
                    conn_close(c);
                    continue;
                }
        }
    }
    for (i = 0; i < MAX_CONN; i++)
        if (conns[i].used)
            conn_close(&conns[i]);
    close(lfd);
    return 0;
usage:
    fprintf(stderr, "usage: linkemu --listen-port-file F --upstream 127.0.0.1:PORT --rtt-ms R "
                    "--rate-kbit K [--queue-bytes Q] [--max-seconds S]\n");
    return 1;
}
