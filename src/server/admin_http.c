/*
 * admin_http.c - the admin API request both admin clients make (see
 * admin_http.h): method, URL, bearer token, the answer body collected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin_http.h"

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    struct admin_http_buf *b = ud;
    char *q = realloc(b->p, b->n + sz * n + 1);
    if (!q)
        return 0;
    memcpy(q + b->n, p, sz * n);
    b->p = q;
    b->n += sz * n;
    b->p[b->n] = '\0';
    return sz * n;
}

CURL *admin_http_open(const char *method, const char *url, const char *token,
                      struct curl_slist **headers, struct admin_http_buf *body)
{
    char auth[600];
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    *headers = curl_slist_append(*headers, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    return c;
}
