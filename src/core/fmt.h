/*
 * fmt.h - the core's only text formatting: a small printf subset for log
 * lines, request paths and status bodies. The core may not use stdio (it runs
 * where there is none), so this is written here: %s %u %d %x %c %% only,
 * always NUL-terminated, truncating at cap.
 */
#ifndef FOTA_FMT_H
#define FOTA_FMT_H

#include <stdarg.h>
#include "fota/fota.h"

uint32_t fota_vfmt(char *buf, uint32_t cap, const char *fmt, va_list ap);
uint32_t fota_fmt(char *buf, uint32_t cap, const char *fmt, ...);

/* Append s to buf (length *len, capacity cap) percent-encoding every byte
 * outside [A-Za-z0-9._~-], for a URL query value. */
void fota_urlenc(char *buf, uint32_t cap, uint32_t *len, const char *s);

/* n bytes as 2n lowercase hex digits and a NUL into out. */
void fota_hex(const uint8_t *b, uint32_t n, char *out);

/* Log through cfg->log when set; a line of at most 127 bytes. */
void fota_log(const struct fota *f, int level, const char *fmt, ...);

#endif
