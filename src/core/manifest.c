/*
 * manifest.c - codec of the signed release manifest (format in
 * include/fota/manifest.h) and the version order used against downgrades.
 */
#include "fota/manifest.h"
#include "fota/error.h"
#include "le.h"

void fota_manifest_encode(const struct fota_manifest *m, uint8_t out[FOTA_MANIFEST_LEN])
{
    uint32_t i;
    fota_fill(out, 0, FOTA_MANIFEST_LEN);
    fota_put_le32(out, FOTA_MANIFEST_MAGIC);
    out[4] = 1;
    fota_put_le16(out + 6, m->chip_id);
    fota_put_le32(out + 8, m->size);
    fota_put_le32(out + 12, m->chunk_size);
    fota_put_le32(out + 16, m->secure_version);
    fota_copy(out + 24, m->sha256, 32);
    for (i = 0; i < 32 && m->version[i]; i++)
        out[56 + i] = (uint8_t)m->version[i];
    for (i = 0; i < 32 && m->project[i]; i++)
        out[88 + i] = (uint8_t)m->project[i];
}

/* A NUL-padded text field: printable bytes, then only NULs. */
static int text_field(const uint8_t *f, char *out)
{
    uint32_t i, n = 0;
    while (n < 32 && f[n])
        n++;
    for (i = 0; i < n; i++) {
        if (f[i] < 0x20 || f[i] > 0x7E)
            return FOTA_ERR_MANIFEST;
        out[i] = (char)f[i];
    }
    out[n] = '\0';
    for (; i < 32; i++)
        if (f[i])
            return FOTA_ERR_MANIFEST;
    return FOTA_OK;
}

int fota_manifest_decode(const uint8_t in[FOTA_MANIFEST_LEN], struct fota_manifest *m)
{
    uint32_t i;
    if (fota_le32(in) != FOTA_MANIFEST_MAGIC || in[4] != 1 || in[5] || fota_le32(in + 20))
        return FOTA_ERR_MANIFEST;
    for (i = 120; i < FOTA_MANIFEST_LEN; i++)
        if (in[i])
            return FOTA_ERR_MANIFEST;
    m->chip_id = fota_le16(in + 6);
    m->size = fota_le32(in + 8);
    m->chunk_size = fota_le32(in + 12);
    m->secure_version = fota_le32(in + 16);
    fota_copy(m->sha256, in + 24, 32);
    if (text_field(in + 56, m->version) || text_field(in + 88, m->project))
        return FOTA_ERR_MANIFEST;
    return FOTA_OK;
}

/* Next dotted number of s into *v; returns the rest, or 0 when malformed. */
static const char *part(const char *s, uint32_t *v)
{
    uint32_t n = 0, digits = 0;
    while (*s >= '0' && *s <= '9') {
        if (n > 99999999u)
            return 0;
        n = n * 10u + (uint32_t)(*s++ - '0');
        digits++;
    }
    if (!digits)
        return 0;
    *v = n;
    return s;
}

int fota_version_cmp(const char *a, const char *b, int *cmp)
{
    uint32_t x, y;
    if (!a || !b || !cmp)
        return FOTA_ERR_PARAM;
    if (*a == 'v')
        a++;
    if (*b == 'v')
        b++;
    if (!*a || !*b)
        return FOTA_ERR_PARAM;
    while (*a || *b) {
        x = y = 0;
        if (*a && !(a = part(a, &x)))
            return FOTA_ERR_PARAM;
        if (*b && !(b = part(b, &y)))
            return FOTA_ERR_PARAM;
        if (x != y) {
            *cmp = x < y ? -1 : 1;
            return FOTA_OK;
        }
        if (*a == '.')
            a++;
        else if (*a)
            return FOTA_ERR_PARAM;
        if (*b == '.')
            b++;
        else if (*b)
            return FOTA_ERR_PARAM;
    }
    *cmp = 0;
    return FOTA_OK;
}
