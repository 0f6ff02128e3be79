/*
 * log.c - formats a log line (UTC timestamp, level, message) into one buffer
 * and writes it with a single write(2), so lines from the HTTP worker threads
 * never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int slog_threshold = SLOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

int slog_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void slog_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;
    int r;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s ", (long)(tv.tv_usec / 1000),
                 names[level < 0 ? 0 : level > 3 ? 3 : level]);
    if (r > 0)
        n += (size_t)r;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r < sizeof line - n - 1 ? (size_t)r : sizeof line - n - 2;
    /* a message cannot start a new log line: control characters go */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
