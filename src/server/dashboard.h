/*
 * dashboard.h - the operator's web dashboard, served by fota-server itself.
 * Its files (src/server/dashboard/) are compiled into the binary by
 * embed_assets.cmake, so nothing is read from disk or from another machine
 * at run time. The pages hold no data: they read the admin JSON API with
 * the admin token the operator types into the login form (kept in the
 * browser's sessionStorage, sent as "Authorization: Bearer").
 */
#ifndef FOTA_SERVER_DASHBOARD_H
#define FOTA_SERVER_DASHBOARD_H

#include <stddef.h>

struct dashboard_asset {
    const char *name;          /* file name under /dashboard/ */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

/* Generated table, ended by a row whose name is NULL. */
extern const struct dashboard_asset dashboard_assets[];

/* The asset called name ("" is index.html), or NULL. */
const struct dashboard_asset *dashboard_find(const char *name);

/* The headers every dashboard answer carries: a Content-Security-Policy
 * that allows scripts, styles and requests from this origin only (no
 * inline script, no framing), and their friends. NULL-terminated pairs. */
extern const char *const dashboard_headers[];

#endif
