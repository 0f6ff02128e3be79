/*
 * fuzz_utf8_ref.h - an independent reference for UTF-8 well-formedness, for
 * the server harnesses to judge src/server/utf8.c by: it decodes each
 * sequence by its bit pattern into a code point and then applies RFC 3629's
 * rules (the shortest form for that code point, no surrogate, at most
 * U+10FFFF), where utf8.c works from the table of valid byte ranges. No NUL.
 */
#ifndef FUZZ_UTF8_REF_H
#define FUZZ_UTF8_REF_H

#include <stddef.h>
#include <stdint.h>

static int ref_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len, k;
        uint32_t cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return 0; /* overlong */
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += len;
    }
    return 1;
}

#endif
