/*
 * idleconns - hold N idle keep-alive HTTP connections to a server.
 *
 * usage: idleconns PORT N HOLD_SECONDS READY_FILE [PATH [DEVICE_ID TOKEN]]
 *
 * Opens N TCP connections to 127.0.0.1:PORT (raise `ulimit -n` first),
 * sends one keep-alive GET of PATH (default /api/inverter/fota/check?version=x,
 * with the device headers when given) on each, reads each answer's status
 * line, then keeps every connection open and idle. Writes READY_FILE with
 * "opened=A answered=B status2xx=C refused=D closed=E" once all answers are
 * in (or after 30 s), then holds until HOLD_SECONDS have passed since the
 * start or SIGTERM, then prints how many connections the server closed
 * meanwhile and exits. Bounded: N <= 100000, HOLD_SECONDS <= 3600.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int port, n, i, opened = 0, answered = 0, ok = 0, refused = 0, closed = 0;
    double hold, t0;
    const char *path = "/api/inverter/fota/check?version=x", *ready;
    char req[1024];
    int *fd, *st;
    struct pollfd *p;
    struct sockaddr_in a = {0};
    FILE *fp;

    if (argc != 5 && argc != 6 && argc != 8) {
        fprintf(stderr, "usage: idleconns PORT N HOLD_SECONDS READY_FILE [PATH [DEVICE_ID TOKEN]]\n");
        return 1;
    }
    port = atoi(argv[1]), n = atoi(argv[2]), hold = atof(argv[3]), ready = argv[4];
    if (argc >= 6)
        path = argv[5];
    if (n < 1 || n > 100000 || hold <= 0 || hold > 3600) {
        fprintf(stderr, "idleconns: N 1..100000, HOLD_SECONDS 0..3600\n");
        return 1;
    }
    if (argc == 8)
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Device-Id: %s\r\nX-Device-Token: %s\r\n"
                 "Connection: keep-alive\r\n\r\n",
                 path, argv[6], argv[7]);
    else
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
                 path);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    signal(SIGPIPE, SIG_IGN);
    fd = calloc((size_t)n, sizeof *fd), st = calloc((size_t)n, sizeof *st);
    p = calloc((size_t)n, sizeof *p);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t0 = now_s();
    /* st: 0 waiting for answer, 1 answered (idle), 2 closed/refused */
    for (i = 0; i < n && !stop; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fd[i] < 0) {
            fprintf(stderr, "idleconns: socket %d: %s (ulimit -n?)\n", i, strerror(errno));
            n = i;
            break;
        }
        if (connect(fd[i], (struct sockaddr *)&a, sizeof a) ||
            send(fd[i], req, strlen(req), MSG_NOSIGNAL) < 0) {
            refused++;
            st[i] = 2;
            close(fd[i]);
            fd[i] = -1;
            continue;
        }
        fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
        opened++;
    }
    /* collect the answers (status line only; bodies are small and drained) */
    while (!stop && answered + refused + closed < n && now_s() - t0 < 30) {
        int np = 0;
        for (i = 0; i < n; i++)
            if (st[i] == 0)
                p[np].fd = fd[i], p[np++].events = POLLIN;
        if (!np || poll(p, (nfds_t)np, 200) < 0)
            break;
        for (i = 0; i < n; i++) {
            char buf[4096];
            ssize_t r;
            if (st[i] != 0)
                continue;
            r = recv(fd[i], buf, sizeof buf - 1, 0);
            if (r > 0) {
                buf[r] = '\0';
                st[i] = 1;
                answered++;
                if (!strncmp(buf, "HTTP/1.1 2", 10) || !strncmp(buf, "HTTP/1.0 2", 10))
                    ok++;
            } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                st[i] = 2;
                closed++;
            }
        }
    }
    fp = fopen(ready, "w");
    if (fp) {
        fprintf(fp, "opened=%d answered=%d status2xx=%d refused=%d closed=%d\n", opened, answered,
                ok, refused, closed);
        fclose(fp);
    }
    /* hold: notice connections the server closes */
    while (!stop && now_s() - t0 < hold) {
        for (i = 0; i < n; i++) {
            char buf[4096];
            ssize_t r;
            if (st[i] != 1)
                continue;
            r = recv(fd[i], buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                st[i] = 2;
                closed++;
            }
        }
        usleep(200000);
    }
    printf("idleconns: opened=%d answered=%d status2xx=%d refused=%d closed_by_server=%d\n", opened,
           answered, ok, refused, closed);
    for (i = 0; i < n; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    free(fd), free(st), free(p);
    return 0;
}
