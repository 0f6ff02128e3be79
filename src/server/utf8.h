/*
 * utf8.h - the server's one UTF-8 rule. Every text the server stores or
 * echoes passes through here: query parameters, header values, upload
 * metadata and app-descriptor strings are checked with utf8_valid and
 * refused when they fail; text that must be echoed whatever it holds (an
 * error message quoting a client's path, a message cut to a fixed size, a
 * row stored before this rule existed) is made valid with utf8_sanitize or
 * utf8_escape. jansson refuses a string that is not UTF-8, so this is what
 * keeps every JSON answer encodable.
 *
 * Well-formed means RFC 3629: shortest form only (no overlong encodings, so
 * no C0 80 for NUL), no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF. NUL itself (a 0x00 byte among the n) is refused too: no text the
 * server handles may hold one.
 */
#ifndef FOTA_SERVER_UTF8_H
#define FOTA_SERVER_UTF8_H

#include <stddef.h>

#include <jansson.h>

/* Length (1-4) of the well-formed, non-NUL sequence at s (n bytes left), or
 * 0 when the bytes there do not start one. */
size_t utf8_seq(const unsigned char *s, size_t n);

/* 1 when the n bytes at s are well-formed UTF-8 without a NUL, else 0. */
int utf8_valid(const char *s, size_t n);

/* 1 when the NUL-terminated s is well-formed UTF-8 (s NULL: 0). */
int utf8_valid_str(const char *s);

/* In place: every byte of s (NUL-terminated) that is not part of a
 * well-formed sequence becomes '?'. The length does not change, so a text
 * cut at a fixed byte count (a "%.40s", a full snprintf buffer) stays the
 * same size and becomes valid. Returns the number of bytes replaced. */
size_t utf8_sanitize(char *s);

/* In place, for a text shown to a client or written to the log: control
 * bytes (below 0x20, 0x7F) become '?', then utf8_sanitize. */
void utf8_clean_text(char *s);

/* Copies s (n bytes) into out (size outlen >= 1, always NUL-terminated),
 * writing each byte that is not part of a well-formed sequence as the four
 * ASCII characters \xHH, and never cutting a sequence or an escape. Used
 * to show text stored before the rule (so an old row shows, escaped, rather
 * than breaking its list). Returns the bytes written (without the NUL). */
size_t utf8_escape(const char *s, size_t n, char *out, size_t outlen);

/* A stored text as a JSON string (NULL only when s is NULL or memory is
 * short). Text is checked before it is stored, so this is json_string(s);
 * a row stored before that rule shows with its stray bytes escaped as \xHH
 * (utf8_escape) instead of breaking the answer it is part of. */
json_t *utf8_json(const char *s);

#endif
