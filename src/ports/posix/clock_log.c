/*
 * clock_log.c - the posix clock (monotonic milliseconds, nanosleep, random
 * words from getrandom for backoff jitter) and the stderr logger.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <errno.h>
#include <sys/random.h>
#include "posix_port.h"

int fota_posix_log_level = FOTA_LOG_INFO;

static uint32_t now_ms(const struct fota_config *c)
{
    struct timespec ts;
    (void)c;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000u);
}

static void sleep_ms(const struct fota_config *c, uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    (void)c;
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static uint32_t rnd(const struct fota_config *c)
{
    uint32_t v = 0;
    (void)c;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (uint32_t)time(NULL);
    return v;
}

void fota_posix_clock(struct fota_config *c)
{
    c->now_ms = now_ms;
    c->sleep_ms = sleep_ms;
    c->random = rnd;
}

static void log_line(const struct fota_config *c, int level, const char *msg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    (void)c;
    if (level > fota_posix_log_level)
        return;
    fprintf(stderr, "fota %s: %s\n", names[level & 3], msg);
}

void fota_posix_log(struct fota_config *c)
{
    c->log = log_line;
}
