/*
 * mbedtls3_compat.h - force-included into the ESP-IDF port's crypto file in
 * the host test only: the port is written for mbedTLS 3 (ESP-IDF v5), the
 * host has Debian 12's mbedTLS 2.28, whose int-returning SHA-256 functions
 * carry a _ret suffix. With the deprecated void versions removed, the
 * mbedTLS 3 names map onto them one to one; the code that runs is real
 * mbedTLS either way.
 */
#pragma once
#define MBEDTLS_DEPRECATED_REMOVED
#define mbedtls_sha256_starts mbedtls_sha256_starts_ret
#define mbedtls_sha256_update mbedtls_sha256_update_ret
#define mbedtls_sha256_finish mbedtls_sha256_finish_ret
#define mbedtls_sha256 mbedtls_sha256_ret
