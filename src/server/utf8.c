/*
 * utf8.c - UTF-8 well-formedness (RFC 3629, table 3-7 of the Unicode
 * standard), sanitizing and escaping; see utf8.h.
 */
#include "utf8.h"

#include <string.h>

size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    size_t len, i;

    if (n == 0)
        return 0;
    c = s[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    if (!s)
        return n == 0;
    while (i < n) {
        if (p[i] && p[i] < 0x80) { /* ASCII run: the common case */
            i++;
            continue;
        }
        if (!(k = utf8_seq(p + i, n - i)))
            return 0;
        i += k;
    }
    return 1;
}

int utf8_valid_str(const char *s)
{
    return s && utf8_valid(s, strlen(s));
}

size_t utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s), i = 0, k, bad = 0;

    while (i < n) {
        if ((k = utf8_seq(p + i, n - i))) {
            i += k;
        } else {
            p[i++] = '?';
            bad++;
        }
    }
    return bad;
}

void utf8_clean_text(char *s)
{
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    utf8_sanitize(s);
}

json_t *utf8_json(const char *s)
{
    char buf[4 * 255 + 1];
    if (!s)
        return NULL;
    if (utf8_valid_str(s))
        return json_string(s);
    utf8_escape(s, strlen(s), buf, sizeof buf);
    return json_string(buf);
}

size_t utf8_escape(const char *s, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, k;

    while (i < n) {
        if ((k = utf8_seq(p + i, n - i))) {
            if (o + k >= outlen)
                break;
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            if (o + 4 >= outlen)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
            i++;
        }
    }
    out[o] = '\0';
    return o;
}
