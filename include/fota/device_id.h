/*
 * device_id.h - the rule for a device id, defined once for every part of the
 * system: the core checks its own identity at fota_init, fota-server checks
 * ids at registration and in every X-Device-Id header, fota-admin checks the
 * ids an operator types before sending them.
 *
 * A device id is 1 to FOTA_DEVICE_ID_MAX bytes of [A-Za-z0-9._-] that does
 * not start with '.'. The leading-dot rule removes "." and ".." (which name
 * the current and parent folder wherever an id becomes a path segment or a
 * file name, so they could not be shown through the CLI or a proxy's URL
 * normalisation) and hidden-file names, and keeps ids printable ASCII, so an
 * id is always valid UTF-8 and always safe in a URL path, a JSON string and
 * a log line without escaping.
 */
#ifndef FOTA_DEVICE_ID_H
#define FOTA_DEVICE_ID_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_DEVICE_ID_MAX 64u

/* 1 when the len bytes at id form a valid device id (see above), else 0.
 * id may hold a NUL among its len bytes: that is refused, so a caller that
 * knows the length on the wire (a header value) passes that length, and the
 * id cannot be cut short by an embedded NUL. id may be NULL (refused). */
int fota_device_id_valid(const char *id, size_t len);

#ifdef __cplusplus
}
#endif

#endif
