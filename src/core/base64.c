/*
 * base64.c - strict streaming base64 decoder (see base64.h).
 */
#include "base64.h"
#include "le.h"

/* Decoding table: 256 bytes of rodata buy a branch-free lookup on the hot
 * path (-1: not in the alphabet). */
static const int8_t dec[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64val(uint8_t c)
{
    return dec[c];
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
    /* fast path: whole quads without padding, straight from the input */
    i = 0;
    if (b->n == 0 && !b->done) {
        while (i + 4 <= n && *outn + 3 <= out_cap) {
            int v0 = b64val(in[i]), v1 = b64val(in[i + 1]), v2 = b64val(in[i + 2]),
                v3 = b64val(in[i + 3]);
            uint32_t w;
            if ((v0 | v1 | v2 | v3) < 0)
                break; /* '=' or a bad character: the careful path decides */
            w = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 | (uint32_t)v3;
            out[(*outn)++] = (uint8_t)(w >> 16);
            out[(*outn)++] = (uint8_t)(w >> 8);
            out[(*outn)++] = (uint8_t)w;
            i += 4;
        }
    }
    for (; i < n; i++) {
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
