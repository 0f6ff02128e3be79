/* http_shim.h - counters of the host test's esp_http_client (http_shim.c). */
#ifndef HTTP_SHIM_H
#define HTTP_SHIM_H
long shim_http_connections(void); /* TCP connections opened so far */
long shim_http_requests(void);    /* requests sent so far */
#endif
