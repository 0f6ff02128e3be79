/*
 * base64.c - strict streaming base64 decoder (see base64.h).
 */
#include "base64.h"
#include "le.h"

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

void fota_b64_init(struct fota_b64_state *b)
{
    fota_fill(b, 0, sizeof *b);
}

int fota_b64_feed(struct fota_b64_state *b, const uint8_t *in, uint32_t n,
                  uint8_t *out, uint32_t *outn, uint32_t out_cap)
{
    uint32_t i;

    if (b->err)
        return b->err;
    for (i = 0; i < n; i++) {
        uint8_t c = in[i];
        int v;

        if (b->done) { /* nothing may follow the padded quad */
            b->err = FOTA_ERR_BASE64;
            return b->err;
        }
        if (c == '=') {
            /* '=' only in positions 3 and 4 of a quad, and once in 3 means 4 too */
            if (b->n < 2) {
                b->err = FOTA_ERR_BASE64;
                return b->err;
            }
            b->pad++;
            b->quad[b->n++] = 0;
        } else {
            v = b64val(c);
            if (v < 0 || b->pad) {
                b->err = FOTA_ERR_BASE64;
                return b->err;
            }
            b->quad[b->n++] = (uint8_t)v;
        }
        if (b->n == 4) {
            uint32_t k = 3u - b->pad;
            uint32_t w = ((uint32_t)b->quad[0] << 18) | ((uint32_t)b->quad[1] << 12) |
                         ((uint32_t)b->quad[2] << 6) | b->quad[3];
            /* canonical: bits under the padding must be zero */
            if ((b->pad == 1 && (w & 0xFFu)) || (b->pad == 2 && (w & 0xFFFFu))) {
                b->err = FOTA_ERR_BASE64;
                return b->err;
            }
            if (*outn + k > out_cap) {
                b->err = FOTA_ERR_CHUNK_LEN;
                return b->err;
            }
            out[(*outn)++] = (uint8_t)(w >> 16);
            if (k > 1)
                out[(*outn)++] = (uint8_t)(w >> 8);
            if (k > 2)
                out[(*outn)++] = (uint8_t)w;
            b->n = 0;
            if (b->pad)
                b->done = 1;
        }
    }
    return FOTA_OK;
}

int fota_b64_finish(const struct fota_b64_state *b)
{
    if (b->err)
        return b->err;
    return b->n == 0 ? FOTA_OK : FOTA_ERR_BASE64;
}
