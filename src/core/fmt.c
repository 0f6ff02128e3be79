/*
 * fmt.c - printf subset for the core (see fmt.h).
 */
#include "fmt.h"

static void put(char *buf, uint32_t cap, uint32_t *n, char c)
{
    if (*n + 1 < cap)
        buf[*n] = c;
    (*n)++;
}

static void put_u(char *buf, uint32_t cap, uint32_t *n, uint32_t v, unsigned base)
{
    char tmp[10];
    int k = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[k++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (k)
        put(buf, cap, n, tmp[--k]);
}

uint32_t fota_vfmt(char *buf, uint32_t cap, const char *fmt, va_list ap)
{
    uint32_t n = 0;
    const char *s;
    int d;

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(buf, cap, &n, *fmt);
            continue;
        }
        switch (*++fmt) {
        case 's':
            for (s = va_arg(ap, const char *), s = s ? s : "(null)"; *s; s++)
                put(buf, cap, &n, *s);
            break;
        case 'u':
            put_u(buf, cap, &n, va_arg(ap, uint32_t), 10);
            break;
        case 'x':
            put_u(buf, cap, &n, va_arg(ap, uint32_t), 16);
            break;
        case 'd':
            d = va_arg(ap, int);
            if (d < 0) {
                put(buf, cap, &n, '-');
                put_u(buf, cap, &n, (uint32_t)0 - (uint32_t)d, 10);
            } else {
                put_u(buf, cap, &n, (uint32_t)d, 10);
            }
            break;
        case 'c':
            put(buf, cap, &n, (char)va_arg(ap, int));
            break;
        case '%':
            put(buf, cap, &n, '%');
            break;
        default: /* unknown conversion: our bug, shown rather than hidden */
            put(buf, cap, &n, '?');
            if (!*fmt)
                fmt--;
            break;
        }
    }
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

uint32_t fota_fmt(char *buf, uint32_t cap, const char *fmt, ...)
{
    va_list ap;
    uint32_t n;
    va_start(ap, fmt);
    n = fota_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void fota_urlenc(char *buf, uint32_t cap, uint32_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        uint8_t c = (uint8_t)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '~' || c == '-') {
            put(buf, cap, len, (char)c);
        } else {
            put(buf, cap, len, '%');
            put(buf, cap, len, hex[c >> 4]);
            put(buf, cap, len, hex[c & 15]);
        }
    }
    if (cap)
        buf[*len < cap ? *len : cap - 1] = '\0';
}

void fota_log(const struct fota *f, int level, const char *fmt, ...)
{
    char line[128];
    va_list ap;

    if (!f->cfg || !f->cfg->log)
        return;
    va_start(ap, fmt);
    fota_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    f->cfg->log(f->cfg, level, line);
}
void fota_hex(const uint8_t *b, uint32_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    uint32_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}
