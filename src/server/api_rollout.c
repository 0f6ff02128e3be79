/*
 * api_rollout.c - the admin API of staged rollouts (rules in rollout.h):
 *   POST /api/admin/rollouts          create
 *   GET  /api/admin/rollouts[/<id>]   list, or one with its events
 *   POST /api/admin/rollout-actions   {"rollout": id, "action": "pause" |
 *                                      "resume" | "abort", "reason": text}
 * Each answer carries the progress per stage (members, offered,
 * downloading, installed, confirmed, failed, rolled back, timed out),
 * evaluated just before it is read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/esp_image.h"
#include "api_body.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "rollout.h"
#include "utf8.h"

#define ROLLOUT_DEVICES_MAX 100000u
#define SECONDS_MAX 31536000 /* a year */

static const char *const target_names[] = {"devices", "chip", "tag", "all"};

static json_t *counts_json(const struct store_stage_counts *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "devices",
                     (json_int_t)c->members, "offered", (json_int_t)c->offered, "downloading",
                     (json_int_t)c->downloading, "installed", (json_int_t)c->installed,
                     "confirmed", (json_int_t)c->confirmed, "failed", (json_int_t)c->failed,
                     "rolled_back", (json_int_t)c->rolled_back, "timed_out",
                     (json_int_t)c->timed_out);
}

static int event_cb(void *ctx, const struct store_rollout_event *e)
{
    json_array_append_new(ctx, json_pack("{s:o, s:s, s:s, s:i, s:i, s:o}", "at", json_time(e->at),
                                         "from", e->from_state, "to", e->to_state, "from_stage",
                                         e->from_stage + 1, "to_stage", e->to_stage + 1,
                                         "reason", utf8_json(e->reason)));
    return 0;
}

/* The rollout with its stages' progress (and events when asked). NULL on a
 * store failure. */
static json_t *rollout_json(struct server *srv, const struct store_rollout *r, int events)
{
    struct store_stage_counts c[STORE_STAGES_MAX + 1];
    struct store_release rel;
    json_t *o, *stages = json_array();
    const char *p = r->stages;

    if (srv->ops->rollout_progress(srv->store, r->id, c, r->nstages + 1) != STORE_OK) {
        json_decref(stages);
        return NULL;
    }
    for (int k = 0; k < r->nstages; k++) {
        size_t len = strcspn(p, ",");
        json_t *s = counts_json(&c[k]);
        json_object_set_new(s, "stage", json_integer(k + 1));
        json_object_set_new(s, "upto", json_stringn(p, len));
        json_object_set_new(s, "open", json_boolean(k <= r->stage));
        json_array_append_new(stages, s);
        p += len + (p[len] == ',');
    }
    o = json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:o, s:I, s:i, s:i, s:I, s:I, s:b, s:s, s:i,"
                  " s:o, s:o, s:o, s:s}",
                  "id", (json_int_t)r->id, "release", (json_int_t)r->release, "target",
                  target_names[r->target & 3], "chip", fota_chip_name(r->chip), "tag",
                  r->target == STORE_TARGET_TAG ? json_string(r->tag) : json_null(), "stages_spec",
                  r->stages, "stages", stages, "outside", (json_int_t)c[r->nstages].members,
                  "min_devices", r->min_devices, "max_failure_pct", r->max_failure_pct,
                  "deadline", (json_int_t)r->deadline, "soak", (json_int_t)r->soak,
                  "allow_downgrade", r->allow_downgrade, "state", r->state, "current_stage",
                  r->stage + 1, "stage_started_at", json_time(r->stage_started_at),
                  "created_at", json_time(r->created_at), "updated_at",
                  json_time(r->updated_at), "reason", "");
    if (o)
        json_object_set_new(o, "reason", utf8_json(r->reason));
    if (o && srv->ops->release_get(srv->store, r->release, &rel) == STORE_OK)
        json_object_set_new(o, "version", utf8_json(rel.version));
    if (o && events) {
        json_t *ev = json_array();
        if (srv->ops->rollout_events(srv->store, r->id, event_cb, ev) != STORE_OK) {
            json_decref(ev);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "events", ev);
    }
    return o;
}

/* An optional integer field in lo..hi (default def). 0, or -1 when it has
 * answered. */
static int int_field(struct request *r, json_t *o, const char *name, json_int_t lo, json_int_t hi,
                     json_int_t def, json_int_t *out, enum MHD_Result *ret)
{
    json_t *v = json_object_get(o, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        *ret = http_error(r, 400, "bad_request", "%s must be an integer %lld..%lld", name,
                          (long long)lo, (long long)hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

enum MHD_Result admin_rollouts_post(struct request *r)
{
    static const char *const allowed[] = {"release", "devices", "chip", "tag", "all", "stages",
                                          "min_devices", "max_failure_pct", "deadline", "soak",
                                          "allow_downgrade", NULL};
    struct server *srv = r->srv;
    struct rollout_stage st[STORE_STAGES_MAX];
    struct store_rollout ro;
    struct store_release rel;
    enum MHD_Result ret = MHD_NO;
    const char **ids = NULL, *key, *stages = "1%,10%,50%,100%";
    json_t *o, *v, *devs = NULL;
    json_int_t min_dev, max_pct, deadline, soak;
    char err[200];
    size_t n = 0;
    int rc, ntarget = 0;

    if (http_query_problem(r, NULL, NULL, err, sizeof err))
        return http_error(r, 400, "bad_request", "%s", err);
    if (!(o = api_body_object(r, &ret)))
        return ret;
    json_object_foreach(o, key, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            ret = http_error(r, 400, "bad_request", "unknown field \"%.40s\" (expected release, "
                             "devices|chip|tag|all, stages, min_devices, max_failure_pct, "
                             "deadline, soak, allow_downgrade)", key);
            goto out;
        }
    }
    memset(&ro, 0, sizeof ro);
    if (api_body_release(r, o, &rel, &ret))
        goto out;
    ro.release = rel.id;
    ro.chip = rel.chip;
    if ((v = json_object_get(o, "stages"))) {
        if (!json_is_string(v)) {
            ret = http_error(r, 400, "bad_request", "stages must be a string such as "
                             "\"1%%,10%%,50%%,100%%\"");
            goto out;
        }
        stages = json_string_value(v);
    }
    if (rollout_parse_stages(stages, st, &ro.nstages, ro.stages, sizeof ro.stages, err,
                             sizeof err) < 0) {
        ret = http_error(r, 400, "bad_request", "%s", err);
        goto out;
    }
    if (int_field(r, o, "min_devices", 1, 1000000, 5, &min_dev, &ret) ||
        int_field(r, o, "max_failure_pct", 0, 100, 10, &max_pct, &ret) ||
        int_field(r, o, "deadline", 1, SECONDS_MAX, 86400, &deadline, &ret) ||
        int_field(r, o, "soak", 0, SECONDS_MAX, 0, &soak, &ret))
        goto out;
    ro.min_devices = (int)min_dev;
    ro.max_failure_pct = (int)max_pct;
    ro.deadline = deadline;
    ro.soak = soak;
    v = json_object_get(o, "allow_downgrade");
    if (v && !json_is_boolean(v)) {
        ret = http_error(r, 400, "bad_request", "allow_downgrade must be true or false");
        goto out;
    }
    ro.allow_downgrade = json_is_true(v);

    /* the target: exactly one of devices, chip, tag, all */
    if ((devs = json_object_get(o, "devices"))) {
        ntarget++;
        ro.target = STORE_TARGET_DEVICES;
    }
    if ((v = json_object_get(o, "chip"))) {
        int chip;
        ntarget++;
        ro.target = STORE_TARGET_CHIP;
        if (api_body_chip(r, v, &rel, &chip, &ret))
            goto out;
    }
    if ((v = json_object_get(o, "tag"))) {
        const char *t = json_string_value(v);
        ntarget++;
        ro.target = STORE_TARGET_TAG;
        if (!t || !*t || strlen(t) > STORE_TAG_MAX || !keys_valid_device_id(t)) {
            ret = http_error(r, 400, "bad_request", "tag must be 1-%d of [A-Za-z0-9._-]",
                             STORE_TAG_MAX);
            goto out;
        }
        snprintf(ro.tag, sizeof ro.tag, "%s", t);
    }
    if ((v = json_object_get(o, "all"))) {
        ntarget++;
        ro.target = STORE_TARGET_ALL;
        if (!json_is_true(v)) {
            ret = http_error(r, 400, "bad_request", "all must be true (every device of the "
                             "release's chip)");
            goto out;
        }
    }
    if (ntarget != 1) {
        ret = http_error(r, 400, "bad_request", "give exactly one target: \"devices\" (a list), "
                         "\"chip\", \"tag\" or \"all\": true");
        goto out;
    }
    if (devs && api_body_devices(r, devs, ROLLOUT_DEVICES_MAX, &rel, &ids, &n, &ret))
        goto out;
    rc = rollout_create(srv, &ro, st, ids, n);
    if (rc == STORE_NOT_FOUND) {
        ret = http_error(r, 404, "not_found", "release or device vanished while creating");
        goto out;
    }
    if (rc != STORE_OK) {
        ret = http_store_error(r, rc, "creating the rollout");
        goto out;
    }
    json_t *j = rollout_json(srv, &ro, 1);
    ret = j ? http_json(r, 201, j) : http_store_error(r, STORE_ERR, "reading the rollout");
out:
    free(ids);
    json_decref(o);
    return ret;
}

struct list_ctx {
    struct server *srv;
    json_t *a;
    int failed;
};

static int list_cb(void *ctx, const struct store_rollout *ro)
{
    struct list_ctx *c = ctx;
    json_t *j = rollout_json(c->srv, ro, 0);
    if (!j) {
        c->failed = 1;
        return -1;
    }
    json_array_append_new(c->a, j);
    return 0;
}

enum MHD_Result admin_rollouts_get(struct request *r)
{
    struct server *srv = r->srv;
    struct store_rollout ro;
    char err[200];
    uint64_t id;
    int rc;

    if (http_query_problem(r, NULL, NULL, err, sizeof err))
        return http_error(r, 400, "bad_request", "%s", err);
    if (r->tail[0]) {
        if (parse_u64(r->tail, INT64_MAX, 0, &id) < 0 || id == 0)
            return http_error(r, 404, "not_found", "no rollout \"%.40s\" (ids are numbers)",
                              r->tail);
        /* evaluated (deadlines, late joiners, health) just before it is read */
        rc = rollout_evaluate(srv, (int64_t)id, 1);
        if (rc == STORE_OK)
            rc = srv->ops->rollout_get(srv->store, (int64_t)id, &ro);
        if (rc == STORE_NOT_FOUND)
            return http_error(r, 404, "not_found", "unknown rollout %llu",
                              (unsigned long long)id);
        if (rc != STORE_OK)
            return http_store_error(r, rc, "reading the rollout");
        json_t *j = rollout_json(srv, &ro, 1);
        return j ? http_json(r, 200, j) : http_store_error(r, STORE_ERR, "reading the rollout");
    }
    rollout_evaluate_all(srv, 0);
    struct list_ctx c = {srv, json_array(), 0};
    rc = srv->ops->rollout_list(srv->store, list_cb, &c);
    if (rc != STORE_OK || c.failed) {
        json_decref(c.a);
        return http_store_error(r, STORE_ERR, "listing rollouts");
    }
    return http_json(r, 200, json_pack("{s:o}", "rollouts", c.a));
}

enum MHD_Result admin_rollout_action_post(struct request *r)
{
    static const char *const allowed[] = {"rollout", "action", "reason", NULL};
    struct server *srv = r->srv;
    struct store_rollout ro;
    enum MHD_Result ret = MHD_NO;
    char err[200], state[STORE_STATE_MAX + 1] = "";
    const char *key, *reason = "";
    json_t *o, *v, *rv;
    int rc, a;

    if (http_query_problem(r, NULL, NULL, err, sizeof err))
        return http_error(r, 400, "bad_request", "%s", err);
    if (!(o = api_body_object(r, &ret)))
        return ret;
    json_object_foreach(o, key, v) {
        const char *const *al = allowed;
        while (*al && strcmp(*al, key) != 0)
            al++;
        if (!*al) {
            ret = http_error(r, 400, "bad_request", "unknown field \"%.40s\" (expected rollout, "
                             "action, reason)", key);
            goto out;
        }
    }
    rv = json_object_get(o, "rollout");
    if (!json_is_integer(rv) || json_integer_value(rv) <= 0) {
        ret = http_error(r, 400, "bad_request", "rollout must be a positive integer id");
        goto out;
    }
    a = rollout_action_from_name(json_string_value(json_object_get(o, "action")));
    if (a < 0) {
        ret = http_error(r, 400, "bad_request", "action must be \"pause\", \"resume\" or "
                         "\"abort\"");
        goto out;
    }
    if ((v = json_object_get(o, "reason"))) {
        reason = json_string_value(v);
        if (!reason || !parse_printable(reason, 200)) {
            ret = http_error(r, 400, "bad_request", "reason must be a string of at most 200 "
                             "printable bytes");
            goto out;
        }
    }
    rc = rollout_act(srv, json_integer_value(rv), (enum rollout_action)a, reason, state);
    if (rc == STORE_NOT_FOUND) {
        ret = http_error(r, 404, "not_found", "unknown rollout %lld",
                         (long long)json_integer_value(rv));
        goto out;
    }
    if (rc == STORE_EXISTS) {
        ret = http_error(r, 409, "conflict", "rollout %lld is %s: it cannot be %s",
                         (long long)json_integer_value(rv), state,
                         a == ROLLOUT_PAUSE ? "paused" : a == ROLLOUT_RESUME ? "resumed"
                                                                              : "aborted");
        goto out;
    }
    if (rc == STORE_OK)
        rc = srv->ops->rollout_get(srv->store, json_integer_value(rv), &ro);
    if (rc != STORE_OK) {
        ret = http_store_error(r, rc, "changing the rollout");
        goto out;
    }
    json_t *j = rollout_json(srv, &ro, 1);
    ret = j ? http_json(r, 200, j) : http_store_error(r, STORE_ERR, "reading the rollout");
out:
    json_decref(o);
    return ret;
}
