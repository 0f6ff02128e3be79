/*
 * fuzz_common.h - helpers shared by the libFuzzer harnesses in fuzz/:
 * cutting the input into transport-sized pieces, a SHA-256/HMAC port on
 * mbedTLS 2.28 (the _ret API) that keeps its state in struct fota's hash
 * area as a real port must, and a hard-coded device key and image SHA-256
 * that the seed generator (fuzz/mkcorpus.py) uses too.
 *
 * Input layout for every "pieces" harness:
 *   byte 0        k = byte0 & 7: how many piece-size bytes follow
 *   bytes 1..k    piece sizes, used in turn (0 = an empty piece)
 *   then          the harness's own header, then the payload
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/sha256.h>
#include "fota/fota.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
    abort(); } } while (0)

/* Key and image SHA-256 known to the seed generator. */
static const uint8_t fuzz_key[FOTA_KEY_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t fuzz_image_sha[32] = {
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};

/* ---- pieces ---------------------------------------------------------------- */

struct fuzz_split {
    const uint8_t *sizes;
    size_t nsizes, i;
    int all_zero;
};

/* Consume the split header; returns bytes used. */
static inline size_t fuzz_split_init(struct fuzz_split *s, const uint8_t *d, size_t n)
{
    size_t k, j;
    memset(s, 0, sizeof *s);
    if (n == 0)
        return 0;
    k = d[0] & 7u;
    if (k > n - 1)
        k = n - 1;
    s->sizes = d + 1;
    s->nsizes = k;
    s->all_zero = 1;
    for (j = 0; j < k; j++)
        if (d[1 + j])
            s->all_zero = 0;
    return 1 + k;
}

/* Size of the next piece, at most rem. Terminates: every cycle through the
 * sizes holds a non-zero one, or the rest is taken whole. */
static inline size_t fuzz_split_next(struct fuzz_split *s, size_t rem)
{
    size_t p;
    if (s->nsizes == 0 || s->all_zero)
        return rem;
    p = s->sizes[s->i++ % s->nsizes];
    return p < rem ? p : rem;
}

/* ---- SHA-256 / HMAC port on mbedTLS ---------------------------------------- */

struct fuzz_hmac {
    mbedtls_sha256_context sha;
    uint8_t opad[64];
};
typedef char fuzz_hmac_fits[(sizeof(struct fuzz_hmac) <= FOTA_HASH_CTX_SIZE) ? 1 : -1];

static inline int fz_sha_start(const struct fota_config *c, void *ctx)
{
    (void)c;
    mbedtls_sha256_init((mbedtls_sha256_context *)ctx);
    return mbedtls_sha256_starts_ret((mbedtls_sha256_context *)ctx, 0) ? FOTA_ERR_IO : FOTA_OK;
}
static inline int fz_sha_update(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n)
{
    (void)c;
    return mbedtls_sha256_update_ret((mbedtls_sha256_context *)ctx, d, n) ? FOTA_ERR_IO : FOTA_OK;
}
static inline int fz_sha_finish(const struct fota_config *c, void *ctx, uint8_t out[32])
{
    (void)c;
    return mbedtls_sha256_finish_ret((mbedtls_sha256_context *)ctx, out) ? FOTA_ERR_IO : FOTA_OK;
}
static inline int fz_hmac_start(const struct fota_config *c, void *ctx, const uint8_t *key, uint32_t n)
{
    struct fuzz_hmac *h = (struct fuzz_hmac *)ctx;
    uint8_t k[64], ipad[64];
    unsigned i;
    (void)c;
    memset(k, 0, sizeof k);
    if (n > 64)
        mbedtls_sha256_ret(key, n, k, 0);
    else
        memcpy(k, key, n);
    for (i = 0; i < 64; i++) {
        ipad[i] = (uint8_t)(k[i] ^ 0x36);
        h->opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    mbedtls_sha256_init(&h->sha);
    mbedtls_sha256_starts_ret(&h->sha, 0);
    mbedtls_sha256_update_ret(&h->sha, ipad, 64);
    return FOTA_OK;
}
static inline int fz_hmac_update(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n)
{
    (void)c;
    mbedtls_sha256_update_ret(&((struct fuzz_hmac *)ctx)->sha, d, n);
    return FOTA_OK;
}
static inline int fz_hmac_finish(const struct fota_config *c, void *ctx, uint8_t out[32])
{
    struct fuzz_hmac *h = (struct fuzz_hmac *)ctx;
    uint8_t inner[32];
    (void)c;
    mbedtls_sha256_finish_ret(&h->sha, inner);
    mbedtls_sha256_starts_ret(&h->sha, 0);
    mbedtls_sha256_update_ret(&h->sha, h->opad, 64);
    mbedtls_sha256_update_ret(&h->sha, inner, 32);
    mbedtls_sha256_finish_ret(&h->sha, out);
    mbedtls_sha256_free(&h->sha);
    return FOTA_OK;
}

/* Reference HMAC, independent of struct fota. */
static inline void fuzz_ref_hmac(const uint8_t *key, const uint8_t *msg1, size_t n1,
                          const uint8_t *msg2, size_t n2, uint8_t out[32])
{
    struct fuzz_hmac h;
    fz_hmac_start(NULL, &h, key, FOTA_KEY_LEN);
    fz_hmac_update(NULL, &h, msg1, (uint32_t)n1);
    fz_hmac_update(NULL, &h, msg2, (uint32_t)n2);
    fz_hmac_finish(NULL, &h, out);
}

static inline void fuzz_config(struct fota_config *c)
{
    memset(c, 0, sizeof *c);
    c->sha256_start = fz_sha_start;
    c->sha256_update = fz_sha_update;
    c->sha256_finish = fz_sha_finish;
    c->hmac_start = fz_hmac_start;
    c->hmac_update = fz_hmac_update;
    c->hmac_finish = fz_hmac_finish;
    c->device_id = "fuzz-device";
    c->device_key = fuzz_key;
}

#endif
