/*
 * manifest.c - codec of the signed release manifest (format in
 * include/fota/manifest.h). The order of versions is in version.c.
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
    out[5] = m->allow_downgrade ? (uint8_t)FOTA_MANIFEST_ALLOW_DOWNGRADE : 0u;
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
    if (fota_le32(in) != FOTA_MANIFEST_MAGIC || in[4] != 1 ||
        (in[5] & ~FOTA_MANIFEST_ALLOW_DOWNGRADE) || fota_le32(in + 20))
        return FOTA_ERR_MANIFEST;
    for (i = 120; i < FOTA_MANIFEST_LEN; i++)
        if (in[i])
            return FOTA_ERR_MANIFEST;
    m->allow_downgrade = (uint8_t)(in[5] & FOTA_MANIFEST_ALLOW_DOWNGRADE);
    m->chip_id = fota_le16(in + 6);
    m->size = fota_le32(in + 8);
    m->chunk_size = fota_le32(in + 12);
    m->secure_version = fota_le32(in + 16);
    fota_copy(m->sha256, in + 24, 32);
    if (text_field(in + 56, m->version) || text_field(in + 88, m->project))
        return FOTA_ERR_MANIFEST;
    return FOTA_OK;
}
