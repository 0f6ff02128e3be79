/*
 * test_security_limits.c - server_security_limits: the abuse limits, black
 * box.
 *
 *  - a flood from one device gets 429 with Retry-After and the JSON error
 *    body; after waiting that long the device gets 200 again; another device
 *    is not affected;
 *  - a flood from one address (unauthenticated) gets 429 too;
 *  - a slowloris connection (one header byte a second) is closed by the
 *    server within the deadline (--idle-timeout 2) while others are served;
 *  - headers of 15 KB get the server's JSON 431 (headers_too_large) at the
 *    default --conn-memory; headers of 40 KB, which do not fit in
 *    libmicrohttpd's connection memory, get 4xx (libmicrohttpd's own 431,
 *    or the connection closed under curl while it still sends); an
 *    oversized query and an oversized status body are refused with their
 *    JSON errors; the server stays up;
 *  - more connections from one address than --max-conn-per-ip are refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(struct srv *s)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s",
          strerror(errno));
    return fd;
}

/* 1 when the peer has closed fd (EOF or reset) within ms milliseconds. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[4096];
    double end = now_s() + ms / 1000.0;
    while (now_s() < end) {
        int left = (int)((end - now_s()) * 1000) + 1;
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 1;
        /* an error answer before the close is fine: keep reading */
    }
    return 0;
}

/* Send req on fd and wait up to ms milliseconds: 1 when an HTTP answer
 * arrives, -1 when the server closes the connection (EOF, reset, or a send
 * that fails), 0 when neither happens. */
static int answers_or_closes(int fd, const char *req, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[4096];
    size_t got = 0;
    double end = now_s() + ms / 1000.0;
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        return -1;
    while (now_s() < end) {
        int left = (int)((end - now_s()) * 1000) + 1;
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (strncmp(buf, "HTTP/1.1 ", got < 9 ? got : 9) == 0 && strstr(buf, "\r\n\r\n")) {
            /* an answer that closes the connection would lower the count */
            CHECK(!strstr(buf, "Connection: close"), "answer closes the connection: %.60s", buf);
            return 1;
        }
        CHECK(got < 9 || strncmp(buf, "HTTP/1.1 ", 9) == 0, "not an HTTP answer: %.40s", buf);
    }
    return 0;
}

static void still_serving(struct srv *s, struct dev *d, const char *after)
{
    struct resp r;
    sleep(1); /* refill the device's 5-token bucket: only the refusal under test counts */
    CHECK(h_dev(d, &r, "GET", s, "/api/inverter/fota/check?version=1", NULL) == 0,
          "after %s: the server does not answer", after);
    CHECK(r.status == 200, "after %s: expected 200, got %ld: %s", after, r.status, r.body);
    resp_free(&r);
}

/* "X-Big: aaa..." with n letters (malloc'd). */
static char *big_header(size_t n)
{
    char *h = malloc(n + 8);
    CHECK(h, "out of memory");
    strcpy(h, "X-Big: ");
    memset(h + 7, 'a', n);
    h[7 + n] = '\0';
    return h;
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d1, d2;
    struct resp r;
    int n429 = 0, n200 = 0;
    unsigned retry = 0;

    h_init(argc, argv);
    h_newdir(&s);
    const char *extra[] = {"--rate-device", "5/s", "--rate-device-burst", "5",
                           "--rate-addr", "200/s", "--rate-addr-burst", "200",
                           "--idle-timeout", "2", "--max-conn-per-ip", "8", NULL};
    h_start(&s, extra);
    h_device_add(&s, "flood-1", "esp32", &d1);
    h_device_add(&s, "calm-1", "esp32", &d2);

    /* --- per-device flood --------------------------------------------------- */
    for (int i = 0; i < 30; i++) {
        CHECK(h_dev(&d1, &r, "GET", &s, "/api/inverter/fota/check?version=1", NULL) == 0,
              "transport");
        if (r.status == 429) {
            h_check_error(&r, 429, "too_many_requests");
            CHECK(r.retry_after[0], "429 without Retry-After");
            retry = (unsigned)atoi(r.retry_after);
            CHECK(retry >= 1 && retry <= 5, "Retry-After %s out of range", r.retry_after);
            n429++;
        } else {
            CHECK(r.status == 200, "flood: expected 200 or 429, got %ld", r.status);
            n200++;
        }
        resp_free(&r);
    }
    CHECK(n429 > 0 && n200 >= 5, "flood of 30: %d x 200, %d x 429", n200, n429);
    printf("ok: device flood: %d x 200, %d x 429 (Retry-After %u)\n", n200, n429, retry);
    still_serving(&s, &d2, "another device's flood");
    printf("ok: another device is served meanwhile\n");
    sleep(retry);
    still_serving(&s, &d1, "waiting Retry-After");
    printf("ok: after Retry-After the flooding device gets 200 again\n");

    /* --- per-address flood (no credentials needed to be limited) ------------ */
    /* A server of its own whose address bucket (20) cannot refill during the
     * test (1 per minute): the 21st request is refused however slowly the
     * requests go out (a loaded ASan build sends a few per second, which a
     * 200/s bucket refilled as fast as it drained). */
    {
        struct srv sa;
        const char *aextra[] = {"--rate-addr", "1/m", "--rate-addr-burst", "20", NULL};
        char url[128];
        int n200a = 0;
        n429 = 0;
        h_newdir(&sa);
        h_start(&sa, aextra);
        snprintf(url, sizeof url, "%s/no/such/path", sa.url);
        for (int i = 0; i < 30; i++) {
            CHECK(h_http(&r, "GET", url, NULL, NULL, 0) == 0, "transport");
            if (r.status == 429) {
                h_check_error(&r, 429, "too_many_requests");
                CHECK(r.retry_after[0], "429 without Retry-After");
                n429++;
            } else {
                CHECK(r.status == 404, "address flood: expected 404 or 429, got %ld", r.status);
                CHECK(n429 == 0, "request %d served after a 429 (bucket refilled?)", i + 1);
                n200a++;
            }
            resp_free(&r);
        }
        CHECK(n200a == 20 && n429 == 10,
              "30 requests from one address, burst 20 at 1/m: %d served, %d x 429", n200a,
              n429);
        h_stop(&sa);
    }
    printf("ok: address flood: 20 served, then 10 x 429\n");

    /* --- slowloris ---------------------------------------------------------- */
    {
        const char *req = "GET /api/inverter/fota/check?version=1 HTTP/1.1\r\nHost: x\r\n"
                          "X-Device-Id: flood-1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        int fd = connect_to(&s), closed = 0;
        double t0 = now_s();
        for (size_t i = 0; req[i] && now_s() - t0 < 8; i++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1 || (poll(&p, 1, 1000) > 0 &&
                                                            closed_within(fd, 10))) {
                closed = 1;
                break;
            }
            if (i == 2)
                still_serving(&s, &d2, "a slowloris connection opened");
        }
        double t = now_s() - t0;
        CHECK(closed, "slowloris connection still open after %.1f s (idle timeout 2 s)", t);
        CHECK(t < 5.0, "slowloris closed only after %.1f s", t);
        close(fd);
        printf("ok: slowloris connection closed by the server after %.1f s\n", t);
        still_serving(&s, &d2, "slowloris");
    }

    /* --- oversized headers --------------------------------------------------- */
    {
        char *h = big_header(40000);
        const char *hdrs[] = {d2.hid, d2.htok, h, NULL};
        char url[128];
        snprintf(url, sizeof url, "%s/api/inverter/fota/check?version=1", s.url);
        int rc = h_http(&r, "GET", url, hdrs, NULL, 0);
        CHECK(rc < 0 || (r.status >= 400 && r.status < 500),
              "40 KB header: expected 4xx or a closed connection, got %ld", r.status);
        printf("ok: 40 KB header refused (%s %ld)\n", rc < 0 ? "connection closed" : "status",
               r.status);
        resp_free(&r);
        free(h);
        still_serving(&s, &d2, "oversized headers");
    }

    /* --- headers over what the server accepts, within the connection memory --- */
    /* default --conn-memory 16384: heads over 14336 bytes are the server's
     * 431 (test_hardening's head.* cases step through the whole band) */
    {
        char *h = big_header(15000);
        const char *hdrs[] = {d2.hid, d2.htok, h, NULL};
        char url[128];
        snprintf(url, sizeof url, "%s/api/inverter/fota/check?version=1", s.url);
        CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0, "transport");
        h_check_error(&r, 431, "headers_too_large");
        printf("ok: 15 KB header refused with %ld: %s\n", r.status, r.body);
        resp_free(&r);
        free(h);
        still_serving(&s, &d2, "headers over the limit");
    }

    /* --- oversized query ----------------------------------------------------- */
    {
        char url[2200];
        const char *hdrs[] = {d2.hid, d2.htok, NULL};
        int k = snprintf(url, sizeof url, "%s/api/inverter/fota/check?version=", s.url);
        memset(url + k, '1', 1500);
        url[k + 1500] = '\0';
        CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0, "transport");
        h_check_error(&r, 414, "uri_too_long");
        printf("ok: 1.5 KB query refused with %ld: %s\n", r.status, r.body);
        resp_free(&r);
        still_serving(&s, &d2, "oversized query");
    }

    /* --- oversized status body ------------------------------------------------ */
    {
        size_t n = 5000;
        char *body = malloc(n + 100);
        int k = snprintf(body, n + 100, "{\"release\":1,\"state\":\"failed\",\"chunks_received\":0,"
                                        "\"error\":\"");
        memset(body + k, 'x', n);
        strcpy(body + k + n, "\"}");
        CHECK(h_dev(&d2, &r, "POST", &s, "/api/inverter/fota/status", body) == 0, "transport");
        h_check_error(&r, 413, "too_large");
        resp_free(&r);
        free(body);
        printf("ok: 5 KB status body refused with 413\n");
        still_serving(&s, &d2, "oversized status body");
    }

    /* --- connections per address --------------------------------------------- */
    /* --max-conn-per-ip 8: first 8 connections that each answer a keep-alive
     * request (8 devices, one check each: no device's rate limit is hit;
     * retried while the server still counts a connection an earlier check
     * closed), then 4 more: every one of the 4 must be closed. */
    {
        int fds[12], closed = 0, tries;
        char reqs[8][400];
        for (int i = 0; i < 8; i++) {
            struct dev dc;
            char id[32];
            snprintf(id, sizeof id, "conn-%d", i);
            h_device_add(&s, id, "esp32", &dc);
            snprintf(reqs[i], sizeof reqs[i],
                     "GET /api/inverter/fota/check?version=1 HTTP/1.1\r\nHost: x\r\n%s\r\n%s\r\n\r\n",
                     dc.hid, dc.htok);
        }
        for (tries = 0; tries < 50; tries++) {
            int served = 0;
            for (int i = 0; i < 8; i++)
                fds[i] = connect_to(&s);
            for (int i = 0; i < 8; i++) {
                int a = answers_or_closes(fds[i], reqs[i], 10000);
                CHECK(a != 0, "connection %d of 8: neither answered nor closed in 10 s", i + 1);
                served += a > 0;
            }
            if (served == 8)
                break;
            for (int i = 0; i < 8; i++)
                close(fds[i]);
            usleep(100000);
        }
        CHECK(tries < 50, "8 connections under --max-conn-per-ip 8 were never all served");
        for (int i = 8; i < 12; i++)
            fds[i] = connect_to(&s);
        for (int i = 8; i < 12; i++) {
            int a = answers_or_closes(fds[i], reqs[i - 8], 10000);
            CHECK(a != 0, "connection %d of 12: neither answered nor closed in 10 s", i + 1);
            closed += a < 0;
        }
        CHECK(closed == 4, "%d of 4 connections over --max-conn-per-ip 8 were closed (want all 4)",
              closed);
        for (int i = 0; i < 12; i++)
            close(fds[i]);
        printf("ok: with 8 connections served, all 4 over --max-conn-per-ip 8 are closed\n");
        usleep(200000);
        still_serving(&s, &d2, "too many connections");
    }

    h_stop(&s);
    h_cleanup(&s);
    printf("server_security_limits: all checks passed\n");
    return 0;
}
