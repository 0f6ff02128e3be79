/*
 * le.h - little- and big-endian byte helpers. Every on-flash and on-wire
 * field is read and written through these, byte by byte, never by casting a
 * buffer to a struct: that keeps the formats independent of the compiler's
 * padding, alignment and the host's byte order.
 */
#ifndef FOTA_LE_H
#define FOTA_LE_H

#include <stdint.h>
#include <stddef.h>

/* Every byte is widened to an unsigned type before it is shifted: on a
 * 16-bit-int target a byte >= 0x80 promoted to int and shifted by 8 would
 * overflow int (undefined behaviour). tests: core_units, "byte helpers". */
static inline uint16_t fota_le16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] | ((unsigned)p[1] << 8));
}

static inline uint32_t fota_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void fota_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void fota_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void fota_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Freestanding stand-ins for string.h: the core links against nothing, and a
 * compiler for a bare target may not ship string.h. */
static inline void fota_copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--)
        *d++ = *s++;
}

static inline void fota_fill(void *dst, uint8_t v, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    while (n--)
        *d++ = v;
}

/* Constant-time comparison: 0 when equal. For secrets and MACs. */
static inline int fota_ct_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t acc = 0;
    size_t i;
    for (i = 0; i < n; i++)
        acc = (uint8_t)(acc | (a[i] ^ b[i]));
    return acc != 0;
}

/* Value of a hex digit, or -1. */
static inline int fota_hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline size_t fota_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

#endif
