/*
 * fota_esp_crypto.c - the crypto callbacks of the ESP-IDF port: the shared
 * mbedTLS piece (src/ports/mbedtls/fota_mbedtls.c, the posix port's too) on
 * ESP-IDF v5's mbedTLS 3.6, with the SHA peripheral behind it when
 * CONFIG_MBEDTLS_HARDWARE_SHA is set. SHA-256 and HMAC-SHA256 keep their
 * state in the core's buffer (no heap); ECDSA P-256 verification allocates
 * (mbedTLS bignums), once per update, only with a signing key: see
 * fota_mbedtls.c and docs/esp32.md.
 */
#include "fota_mbedtls.h"
#include "fota_esp.h"

void fota_esp_bind_crypto(struct fota_config *c)
{
    fota_mbedtls_hash(c);
    fota_mbedtls_ecdsa(c);
}
