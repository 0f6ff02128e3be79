/*
 * api_body.c - the JSON body of an admin request, read once for the
 * deployment and the rollout endpoints (api_body.h).
 */
#include <stdlib.h>

#include "fota/esp_image.h"
#include "api_body.h"
#include "keys.h"

json_t *api_body_object(struct request *r, enum MHD_Result *ret)
{
    json_error_t jerr;
    json_t *o = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        *ret = http_error(r, 400, "bad_request", "malformed JSON body: %s (line %d column %d)",
                          jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        *ret = http_error(r, 400, "bad_request", "body must be a JSON object");
        return NULL;
    }
    return o;
}

int api_body_release(struct request *r, json_t *o, struct store_release *rel,
                     enum MHD_Result *ret)
{
    struct server *srv = r->srv;
    json_t *v = json_object_get(o, "release");
    int rc;

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        *ret = http_error(r, 400, "bad_request", "release must be a positive integer id");
        return -1;
    }
    rc = srv->ops->release_get(srv->store, json_integer_value(v), rel);
    if (rc == STORE_NOT_FOUND) {
        *ret = http_error(r, 404, "not_found", "unknown release %lld",
                          (long long)json_integer_value(v));
        return -1;
    }
    if (rc != STORE_OK) {
        *ret = http_store_error(r, rc, "reading the release");
        return -1;
    }
    return 0;
}

int api_body_chip(struct request *r, json_t *v, const struct store_release *rel, int *chip,
                  enum MHD_Result *ret)
{
    *chip = json_is_string(v) ? fota_chip_from_name(json_string_value(v)) : -1;
    if (*chip < 0) {
        *ret = http_error(r, 400, "bad_request", "chip must be a chip name such as \"esp32\"");
        return -1;
    }
    if (*chip != rel->chip) {
        *ret = http_error(r, 400, "bad_request", "release %lld is built for %s, not %s",
                          (long long)rel->id, fota_chip_name(rel->chip), fota_chip_name(*chip));
        return -1;
    }
    return 0;
}

int api_body_devices(struct request *r, json_t *devs, size_t max, const struct store_release *rel,
                     const char ***ids, size_t *n, enum MHD_Result *ret)
{
    struct server *srv = r->srv;
    struct store_device d;
    int rc;

    *n = json_is_array(devs) ? json_array_size(devs) : 0;
    if (*n == 0 || *n > max) {
        *ret = http_error(r, 400, "bad_request",
                          "devices must be a non-empty list of at most %zu device ids", max);
        return -1;
    }
    *ids = calloc(*n, sizeof **ids);
    if (!*ids) {
        *ret = MHD_NO;
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        const char *id = json_string_value(json_array_get(devs, i));
        (*ids)[i] = id;
        if (!keys_valid_device_id(id)) {
            *ret = http_error(r, 400, "bad_request",
                              "devices[%zu] is not a device id (1-64 of [A-Za-z0-9._-], "
                              "no leading '.')", i);
            return -1;
        }
        rc = srv->ops->device_get(srv->store, id, &d);
        if (rc == STORE_NOT_FOUND) {
            *ret = http_error(r, 404, "not_found", "unknown device \"%s\"", id);
            return -1;
        }
        if (rc != STORE_OK) {
            *ret = http_store_error(r, rc, "reading a device");
            return -1;
        }
        if (d.chip != rel->chip) {
            *ret = http_error(r, 400, "bad_request",
                              "device %s is an %s, release %lld is built for %s", d.id,
                              fota_chip_name(d.chip), (long long)rel->id,
                              fota_chip_name(rel->chip));
            return -1;
        }
    }
    return 0;
}
