/*
 * admin_http.h - the one libcurl request of an admin API client, shared by
 * fota-admin (admin_main.c) and the fleet simulator (src/sim/fleet.c): a
 * bearer-token request whose answer body grows in a heap buffer.
 */
#ifndef FOTA_SERVER_ADMIN_HTTP_H
#define FOTA_SERVER_ADMIN_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

/* An answer body, NUL-terminated; p is NULL until a byte came. free(p). */
struct admin_http_buf {
    char *p;
    size_t n;
};

/*
 * A curl handle for METHOD url with "Authorization: Bearer token" added to
 * *headers (the caller appends its own, sets CURLOPT_HTTPHEADER and frees
 * the list) and the body going into *body. NULL when curl cannot start.
 */
CURL *admin_http_open(const char *method, const char *url, const char *token,
                      struct curl_slist **headers, struct admin_http_buf *body);

#endif
