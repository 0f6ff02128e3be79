/*
 * log.h - the server's logger: one line per event on stderr, with a level.
 *
 * SLOG() tests the level before it evaluates its arguments, so debug lines in
 * hot paths (chunk serving) cost one comparison when debug is off. Secrets
 * (master key, device keys, tokens) are never passed to it.
 */
#ifndef FOTA_SERVER_LOG_H
#define FOTA_SERVER_LOG_H

enum slog_level { SLOG_ERROR = 0, SLOG_WARN = 1, SLOG_INFO = 2, SLOG_DEBUG = 3 };

extern int slog_threshold;

/* Parse "error|warn|info|debug"; returns the level or -1. */
int slog_level_from_name(const char *name);
void slog_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SLOG(level, ...)                                  \
    do {                                                  \
        if ((level) <= slog_threshold)                    \
            slog_write((level), __VA_ARGS__);             \
    } while (0)

#endif
