/*
 * mbedtls_compat.h - the SHA-256 and MD5 calls of the shared mbedTLS
 * crypto (fota_mbedtls.c, used by the posix and the ESP-IDF port) and of
 * the posix port under names that build against both mbedTLS 2.28 (Debian 12:
 * the int-returning functions are the *_ret ones, the plain names are
 * deprecated void functions) and mbedTLS 3.x (ESP-IDF 5: the plain names
 * return int, the *_ret ones are gone). One switch on the version, here.
 */
#ifndef FOTA_MBEDTLS_COMPAT_H
#define FOTA_MBEDTLS_COMPAT_H

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define fota_sha256_starts mbedtls_sha256_starts
#define fota_sha256_update mbedtls_sha256_update
#define fota_sha256_finish mbedtls_sha256_finish
#define fota_sha256        mbedtls_sha256
#define fota_md5           mbedtls_md5
#else
#define fota_sha256_starts mbedtls_sha256_starts_ret
#define fota_sha256_update mbedtls_sha256_update_ret
#define fota_sha256_finish mbedtls_sha256_finish_ret
#define fota_sha256        mbedtls_sha256_ret
#define fota_md5           mbedtls_md5_ret
#endif

#endif
