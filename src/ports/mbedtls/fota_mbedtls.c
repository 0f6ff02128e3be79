/*
 * fota_mbedtls.c - SHA-256, HMAC-SHA256 and ECDSA P-256 verification on
 * mbedTLS, shared by the posix and the ESP-IDF port (fota_mbedtls.h).
 *
 * SHA-256 and HMAC keep their whole state in the caller's
 * FOTA_HASH_CTX_SIZE buffer. HMAC is RFC 2104 over two mbedtls_sha256
 * contexts, not mbedtls_md: with mbedtls_md_setup(..., hmac = 1) and the
 * one-shot mbedtls_md_hmac, mbedTLS allocates the HMAC pads with
 * mbedtls_calloc. The inner context runs over the whole message and the
 * outer one is built only at the finish, beside the stored outer key pad.
 * With CONFIG_MBEDTLS_HARDWARE_SHA the contexts use the SHA peripheral
 * (ESP32-C3: 116-byte contexts; the static asserts below are checked by the
 * esp32c3 cross build with the device's context size).
 *
 * ECDSA verification DOES allocate: the bignums (mbedtls_mpi) grow on the
 * heap during group load, point decoding and the verification itself (a
 * few KB, freed before returning). It runs once per update, before anything
 * is erased, and only when a signing key is provisioned. The core's no-heap
 * rule (DESIGN.md invariant 2) is about the core; the ports state the
 * exception here and in docs/esp32.md. This is also why verification is a
 * port callback rather than core code (a device may use its ROM or
 * hardware verifier instead).
 *
 * Builds against mbedTLS 2.28 and 3.x (mbedtls_compat.h; the test
 * posix_crypto_mbedtls3 compiles it against ESP-IDF's mbedTLS 3.6 headers).
 */
#include <string.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/bignum.h>
#include <mbedtls/platform_util.h>
#include "mbedtls_compat.h"
#include "fota_mbedtls.h"

struct hmac_state {
    mbedtls_sha256_context inner;
    uint8_t opad[64];
};

_Static_assert(sizeof(mbedtls_sha256_context) <= FOTA_HASH_CTX_SIZE,
               "mbedtls_sha256_context does not fit FOTA_HASH_CTX_SIZE");
_Static_assert(sizeof(struct hmac_state) <= FOTA_HASH_CTX_SIZE,
               "HMAC state (SHA-256 context + outer pad) does not fit FOTA_HASH_CTX_SIZE");
_Static_assert(_Alignof(mbedtls_sha256_context) <= 8,
               "the core's hash buffer is only 8-aligned");

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
    int i, rc = 0;
    (void)c;
    memset(k, 0, sizeof k);
    if (n > sizeof k)
        rc = fota_sha256(key, n, k, 0); /* long keys are hashed first */
    else
        memcpy(k, key, n);
    for (i = 0; i < 64; i++) {
        ipad[i] = (uint8_t)(k[i] ^ 0x36);
        h->opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    mbedtls_sha256_init(&h->inner);
    if (!rc)
        rc = fota_sha256_starts(&h->inner, 0);
    if (!rc)
        rc = fota_sha256_update(&h->inner, ipad, sizeof ipad);
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(ipad, sizeof ipad);
    return rc ? FOTA_ERR_CRYPTO : FOTA_OK;
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
        rc = fota_sha256_update(&outer, h->opad, sizeof h->opad);
    if (!rc)
        rc = fota_sha256_update(&outer, ih, sizeof ih);
    if (!rc)
        rc = fota_sha256_finish(&outer, out);
    mbedtls_sha256_free(&outer);
    mbedtls_platform_zeroize(h->opad, sizeof h->opad);
    mbedtls_platform_zeroize(ih, sizeof ih);
    return rc ? FOTA_ERR_CRYPTO : FOTA_OK;
}

void fota_mbedtls_hash(struct fota_config *c)
{
    c->sha256_start = sha_start;
    c->sha256_update = sha_update;
    c->sha256_finish = sha_finish;
    c->hmac_start = hmac_start;
    c->hmac_update = hmac_update;
    c->hmac_finish = hmac_finish;
}

/* ECDSA P-256 over a 32-byte hash; allocates (see the top of this file). */
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

void fota_mbedtls_ecdsa(struct fota_config *c)
{
    c->ecdsa_p256_verify = ecdsa_verify;
}
