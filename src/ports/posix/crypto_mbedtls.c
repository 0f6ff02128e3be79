/*
 * crypto_mbedtls.c - SHA-256 and HMAC-SHA256 callbacks on mbedTLS, kept
 * entirely in the caller's FOTA_HASH_CTX_SIZE buffer: mbedtls_md_hmac would
 * allocate its context on the heap, so HMAC is built from two SHA-256
 * contexts here (RFC 2104), with the outer key pad kept beside the inner
 * state. Builds against mbedTLS 2.28 and 3.x (mbedtls_compat.h; the test
 * posix_crypto_mbedtls3 compiles it against ESP-IDF's mbedTLS 3.6 headers).
 * Posix only: the ESP-IDF component has its own.
 */
#include <string.h>
#include <mbedtls/sha256.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include "mbedtls_compat.h"
#include "posix_port.h"

struct hmac_state {
    mbedtls_sha256_context inner;
    uint8_t opad[64];
};

_Static_assert(sizeof(struct hmac_state) <= FOTA_HASH_CTX_SIZE, "FOTA_HASH_CTX_SIZE too small");
_Static_assert(sizeof(mbedtls_sha256_context) <= FOTA_HASH_CTX_SIZE, "FOTA_HASH_CTX_SIZE too small");

static int sha_start(const struct fota_config *c, void *ctx)
{
    (void)c;
    mbedtls_sha256_init(ctx);
    return fota_sha256_starts(ctx, 0) ? FOTA_ERR_CRYPTO : FOTA_OK;
}

static int sha_update(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n)
{
    (void)c;
    return fota_sha256_update(ctx, d, n) ? FOTA_ERR_CRYPTO : FOTA_OK;
}

static int sha_finish(const struct fota_config *c, void *ctx, uint8_t out[32])
{
    int rc;
    (void)c;
    rc = fota_sha256_finish(ctx, out);
    mbedtls_sha256_free(ctx);
    return rc ? FOTA_ERR_CRYPTO : FOTA_OK;
}

static int hmac_start(const struct fota_config *c, void *ctx, const uint8_t *key, uint32_t n)
{
    struct hmac_state *h = ctx;
    uint8_t k[64], ipad[64];
    int i;
    (void)c;
    memset(k, 0, sizeof k);
    if (n > 64) {
        if (fota_sha256(key, n, k, 0))
            return FOTA_ERR_CRYPTO;
    } else {
        memcpy(k, key, n);
    }
    for (i = 0; i < 64; i++) {
        ipad[i] = (uint8_t)(k[i] ^ 0x36);
        h->opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    mbedtls_sha256_init(&h->inner);
    if (fota_sha256_starts(&h->inner, 0) || fota_sha256_update(&h->inner, ipad, 64))
        return FOTA_ERR_CRYPTO;
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(ipad, sizeof ipad);
    return FOTA_OK;
}

static int hmac_update(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n)
{
    struct hmac_state *h = ctx;
    (void)c;
    return fota_sha256_update(&h->inner, d, n) ? FOTA_ERR_CRYPTO : FOTA_OK;
}

static int hmac_finish(const struct fota_config *c, void *ctx, uint8_t out[32])
{
    struct hmac_state *h = ctx;
    mbedtls_sha256_context outer;
    uint8_t ih[32];
    int rc;
    (void)c;
    rc = fota_sha256_finish(&h->inner, ih);
    mbedtls_sha256_free(&h->inner);
    mbedtls_sha256_init(&outer);
    if (!rc)
        rc = fota_sha256_starts(&outer, 0);
    if (!rc)
        rc = fota_sha256_update(&outer, h->opad, 64);
    if (!rc)
        rc = fota_sha256_update(&outer, ih, 32);
    if (!rc)
        rc = fota_sha256_finish(&outer, out);
    mbedtls_sha256_free(&outer);
    mbedtls_platform_zeroize(h->opad, sizeof h->opad);
    return rc ? FOTA_ERR_CRYPTO : FOTA_OK;
}

void fota_posix_crypto(struct fota_config *c)
{
    c->sha256_start = sha_start;
    c->sha256_update = sha_update;
    c->sha256_finish = sha_finish;
    c->hmac_start = hmac_start;
    c->hmac_update = hmac_update;
    c->hmac_finish = hmac_finish;
}

void fota_posix_sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    fota_sha256(d, n, out, 0);
}

/* One-shot HMAC through the callbacks above (no heap), in pieces below
 * 2^32 bytes. */
void fota_posix_hmac(const uint8_t *key, size_t klen, const uint8_t *d, size_t n, uint8_t out[32])
{
    union {
        uint64_t align;
        uint8_t bytes[FOTA_HASH_CTX_SIZE];
    } ctx;
    size_t k;
    int rc = hmac_start(NULL, ctx.bytes, key, (uint32_t)klen);
    for (; !rc && n; d += k, n -= k) {
        k = n > 0x40000000u ? 0x40000000u : n;
        rc = hmac_update(NULL, ctx.bytes, d, (uint32_t)k);
    }
    if (!rc)
        rc = hmac_finish(NULL, ctx.bytes, out);
    if (rc)
        memset(out, 0, 32);
}

/* ECDSA P-256 verification with mbedTLS. The bignum code allocates on the
 * heap: fine in this port, and why verification is a port callback rather
 * than core code (a device port would use its ROM or hardware verifier). */
static int ecdsa_verify(const struct fota_config *c, const uint8_t pubkey[64],
                        const uint8_t hash[32], const uint8_t sig[64])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    uint8_t pt[65];
    int rc;
    (void)c;
    pt[0] = 0x04; /* uncompressed point */
    memcpy(pt + 1, pubkey, 64);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
    if (!rc)
        rc = mbedtls_ecp_point_read_binary(&grp, &q, pt, sizeof pt);
    if (!rc)
        rc = mbedtls_ecp_check_pubkey(&grp, &q);
    if (!rc)
        rc = mbedtls_mpi_read_binary(&r, sig, 32);
    if (!rc)
        rc = mbedtls_mpi_read_binary(&s, sig + 32, 32);
    if (!rc)
        rc = mbedtls_ecdsa_verify(&grp, hash, 32, &q, &r, &s);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return rc ? FOTA_ERR_SIGNATURE : FOTA_OK;
}

void fota_posix_ecdsa(struct fota_config *c)
{
    c->ecdsa_p256_verify = ecdsa_verify;
}
