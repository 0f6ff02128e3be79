/*
 * crypto_mbedtls.c - the posix port's crypto: the callbacks come from the
 * shared mbedTLS piece (src/ports/mbedtls/fota_mbedtls.c, the ESP-IDF
 * port's too); here only the one-shot SHA-256 and HMAC helpers the
 * simulator, the tools and the tests use, through those same callbacks.
 */
#include <string.h>
#include <mbedtls/sha256.h>
#include "mbedtls_compat.h"
#include "fota_mbedtls.h"
#include "posix_port.h"

void fota_posix_crypto(struct fota_config *c)
{
    fota_mbedtls_hash(c);
}

void fota_posix_ecdsa(struct fota_config *c)
{
    fota_mbedtls_ecdsa(c);
}

void fota_posix_sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    fota_sha256(d, n, out, 0);
}

/* One-shot HMAC through the shared callbacks (no heap), in pieces below
 * 2^32 bytes. */
void fota_posix_hmac(const uint8_t *key, size_t klen, const uint8_t *d, size_t n, uint8_t out[32])
{
    union {
        uint64_t align;
        uint8_t bytes[FOTA_HASH_CTX_SIZE];
    } ctx;
    struct fota_config c;
    size_t k;
    int rc;

    memset(&c, 0, sizeof c);
    fota_mbedtls_hash(&c);
    rc = c.hmac_start(&c, ctx.bytes, key, (uint32_t)klen);
    for (; !rc && n; d += k, n -= k) {
        k = n > 0x40000000u ? 0x40000000u : n;
        rc = c.hmac_update(&c, ctx.bytes, d, (uint32_t)k);
    }
    if (!rc)
        rc = c.hmac_finish(&c, ctx.bytes, out);
    if (rc)
        memset(out, 0, 32);
}
