/*
 * dashboard.c - GET /dashboard[/<file>]: the embedded dashboard files
 * (dashboard.h), with strict security headers (added by http.c for every
 * answer of this route, refusals included). No authentication: the files
 * are the same for everyone and carry no data; every figure on the pages
 * comes from the admin API, behind the admin token.
 */
#include <string.h>

#include "dashboard.h"
#include "http.h"

const char *const dashboard_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options", "DENY",
    "X-Content-Type-Options", "nosniff",
    "Referrer-Policy", "no-referrer",
    "Cross-Origin-Opener-Policy", "same-origin",
    "Cross-Origin-Resource-Policy", "same-origin",
    "Cache-Control", "no-cache",
    NULL, NULL,
};

const struct dashboard_asset *dashboard_find(const char *name)
{
    if (!name[0])
        name = "index.html";
    for (const struct dashboard_asset *a = dashboard_assets; a->name; a++)
        if (!strcmp(a->name, name))
            return a;
    return NULL;
}

enum MHD_Result dashboard_get(struct request *r)
{
    const struct dashboard_asset *a;
    const char *bad;
    char buf[128];

    if ((bad = http_query_problem(r, NULL, NULL, buf, sizeof buf)))
        return http_error(r, 400, "bad_request", "%s", bad);
    if (!(a = dashboard_find(r->tail)))
        return http_error(r, 404, "not_found", "no dashboard file %.64s", r->tail);
    /* the bytes are static: NULL buf makes http_body use them in place */
    return http_static(r, 200, a->data, a->len, a->content_type);
}
