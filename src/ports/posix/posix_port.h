/*
 * posix_port.h - the posix port of libfota: mbedTLS crypto, a monotonic
 * clock with real sleeps, a stderr logger, and (http_curl.c) the libcurl
 * transport. Flash comes from whoever owns it (the simulator's NOR model);
 * this port only fills the other callbacks of a struct fota_config.
 */
#ifndef FOTA_POSIX_PORT_H
#define FOTA_POSIX_PORT_H

#include "fota/fota.h"

/* Fill the crypto, clock and log callbacks of c. Log lines go to stderr
 * when their level is <= max_level. */
void fota_posix_crypto(struct fota_config *c);
/* ECDSA P-256 verification for signed releases (mbedTLS). */
void fota_posix_ecdsa(struct fota_config *c);
void fota_posix_clock(struct fota_config *c);
void fota_posix_log(struct fota_config *c);
extern int fota_posix_log_level;

/* SHA-256 and HMAC-SHA256 in one call (for tools and tests). */
void fota_posix_sha256(const uint8_t *d, size_t n, uint8_t out[32]);
void fota_posix_hmac(const uint8_t *key, size_t klen, const uint8_t *d, size_t n, uint8_t out[32]);

/* libcurl transport (http_curl.c). */
struct fota_curl {
    void    *easy;            /* CURL *, reused across requests (keep-alive) */
    char     base_url[256];   /* "http://127.0.0.1:8080", no trailing slash */
    long     connect_timeout_ms;
    long     idle_timeout_ms; /* abort when no byte arrives for this long */
    char     ca_file[256];    /* verify the server against this CA ("" = system) */
    char     last_error[256]; /* libcurl's text for the last failed transfer */
    uint64_t requests, bytes_in;
};
int fota_curl_open(struct fota_curl *t, const char *base_url);
void fota_curl_close(struct fota_curl *t);
/* Set c->http_get/http_post to the curl transport; c->context must point to
 * a struct whose first member is a struct fota_curl * (see fota_device.c). */
void fota_posix_http(struct fota_config *c);

#endif
