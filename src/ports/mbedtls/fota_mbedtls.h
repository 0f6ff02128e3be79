/*
 * fota_mbedtls.h - the crypto callbacks of the port contract on mbedTLS,
 * one implementation for every port that has mbedTLS: the posix port
 * (Debian 12's mbedTLS 2.28) and the ESP-IDF port (ESP-IDF v5's mbedTLS
 * 3.6, with the SHA peripheral behind mbedtls_sha256_* when
 * CONFIG_MBEDTLS_HARDWARE_SHA is set). mbedtls_compat.h bridges the two
 * versions' names.
 */
#ifndef FOTA_MBEDTLS_H
#define FOTA_MBEDTLS_H

#include "fota/fota.h"

/* Bind sha256_start/update/finish and hmac_start/update/finish: SHA-256
 * and HMAC-SHA256 (RFC 2104 from two mbedtls_sha256 contexts) kept entirely
 * in the FOTA_HASH_CTX_SIZE bytes the core lends, no heap. */
void fota_mbedtls_hash(struct fota_config *c);

/* Bind ecdsa_p256_verify: ECDSA P-256 over a 32-byte hash, pubkey raw
 * X || Y, sig raw r || s. Allocates: mbedTLS's bignums grow on the heap
 * (a few KB, freed before it returns), once per update and only when a
 * signing key is provisioned. */
void fota_mbedtls_ecdsa(struct fota_config *c);

#endif
