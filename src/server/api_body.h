/*
 * api_body.h - reading an admin request's JSON body, shared by the
 * deployment (api_admin.c) and rollout (api_rollout.c) endpoints: the body
 * as an object, the release it names, and its target (a chip, or a list of
 * device ids that must exist and match the release's chip). Each helper
 * answers the request itself (400, 404 or 503, with the reason) when the
 * body is wrong, and then says so.
 */
#ifndef FOTA_SERVER_API_BODY_H
#define FOTA_SERVER_API_BODY_H

#include <stddef.h>
#include <jansson.h>
#include "http.h"

/* The body as a JSON object (duplicate keys refused), or NULL when it has
 * answered 400 (*ret). json_decref it. */
json_t *api_body_object(struct request *r, enum MHD_Result *ret);

/* "release": a positive integer id of a stored release, into *rel. 0, or
 * -1 when it has answered (400, 404 or 503 in *ret). */
int api_body_release(struct request *r, json_t *o, struct store_release *rel,
                     enum MHD_Result *ret);

/* A "chip" value naming rel's chip: *chip. 0, or -1 when it has answered. */
int api_body_chip(struct request *r, json_t *v, const struct store_release *rel, int *chip,
                  enum MHD_Result *ret);

/* A "devices" value: 1..max ids of registered devices of rel's chip. *ids
 * (calloc'd, free it; the strings belong to devs) and *n. 0, or -1 when it
 * has answered (or MHD_NO in *ret when memory ran out). */
int api_body_devices(struct request *r, json_t *devs, size_t max, const struct store_release *rel,
                     const char ***ids, size_t *n, enum MHD_Result *ret);

#endif
