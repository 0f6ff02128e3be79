/*
 * test_rollouts.c - staged rollouts over the real fota-server (black box,
 * loopback HTTP, a fresh SQLite file per scenario). Devices are driven with
 * raw wire-protocol requests (check, status) so each scenario chooses
 * exactly what every device reports; tests/e2e/e2e_rollout.sh does the same
 * with real fota-device processes that update, confirm and roll back.
 *
 * Scenarios (argv[3], one ctest each):
 *   progression  stages open one after another only on confirmed boots;
 *                "installed" is never success
 *   halt         a bad release halts after its minimum number of failures;
 *                no device outside the first stage was ever offered it
 *   deadline     a device that never confirms times out and counts as a
 *                failure (and halts the rollout)
 *   late         a device registered after the rollout began joins it;
 *                another chip does not
 *   actions      pause, resume, abort (with reasons, 409 when not allowed);
 *                devices keep what they confirmed
 *   refusals     malformed rollout requests: status and JSON error
 *   import       bulk registration (CSV and JSON, 3,000 devices in one call,
 *                idempotent, a report per line), keys devices already hold
 *                (they authenticate; the database holds them only wrapped),
 *                tags, and a tag rollout that takes a device tagged after
 *                it began
 *   loadshape    --max-downloads 1: a second device's chunk and stream get 503
 *                with a jittered Retry-After until the first one's download
 *                ends; the first is never refused; check answers carry a
 *                jittered poll_interval
 *   metrics      GET /metrics: requests by route and status, latency
 *                histogram, devices by state and version, rollout progress
 *                and halts (Prometheus text format, admin token required)
 */
#include <string.h>
#include <unistd.h>


#include "harness.h"

#define NDEV_MAX 32

struct fleet {
    struct srv s;
    struct dev d[NDEV_MAX];
    int n;
    long long rel; /* release 2.0.0 (esp32-arduino-b.bin) */
};

static void fleet_start_with(struct fleet *f, int n, const char *const *extra)
{
    char id[32];
    struct resp r;

    h_newdir(&f->s);
    h_start(&f->s, extra);
    f->n = n;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "dev-%02d", i);
        h_device_add(&f->s, id, "esp32", &f->d[i]);
    }
    json_t *rel = h_upload(&f->s, "esp32-arduino-b.bin", "version=2.0.0", &r);
    CHECK(r.status == 201, "upload b.bin: %ld %s", r.status, r.body);
    resp_free(&r);
    f->rel = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);
}

static void fleet_start(struct fleet *f, int n)
{
    const char *extra[] = {"--rollout-tick", "1", NULL};
    fleet_start_with(f, n, extra);
}

static void fleet_stop(struct fleet *f)
{
    h_stop(&f->s);
    h_cleanup(&f->s);
}

/* check as a device running version: 1 offered (the release checked), 0 not */
static int check(struct fleet *f, struct dev *d, const char *version)
{
    char path[128];
    struct resp r;
    json_t *j;
    int offered;

    snprintf(path, sizeof path, "/api/inverter/fota/check?version=%s", version);
    CHECK(h_dev(d, &r, "GET", &f->s, path, NULL) == 0, "check %s: transport", d->id);
    CHECK(r.status == 200, "check %s: %ld %s", d->id, r.status, r.body);
    j = json_loads(r.body, 0, NULL);
    CHECK(j, "check %s: not JSON: %s", d->id, r.body);
    offered = json_is_true(json_object_get(j, "update"));
    if (offered)
        CHECK(json_integer_value(json_object_get(j, "release")) == f->rel,
              "check %s offers release %lld, expected %lld", d->id,
              (long long)json_integer_value(json_object_get(j, "release")), f->rel);
    json_decref(j);
    resp_free(&r);
    return offered;
}

static void status(struct fleet *f, struct dev *d, const char *state)
{
    char body[200];
    struct resp r;
    snprintf(body, sizeof body,
             "{\"release\":%lld,\"state\":\"%s\",\"chunks_received\":%d,\"error\":\"%s\"}",
             f->rel, state, strcmp(state, "downloading") ? 0 : 1,
             strcmp(state, "failed") ? "" : "hash_mismatch");
    CHECK(h_dev(d, &r, "POST", &f->s, "/api/inverter/fota/status", body) == 0, "status");
    CHECK(r.status == 204, "status %s from %s: %ld %s", state, d->id, r.status, r.body);
    resp_free(&r);
}

static json_t *rollout_create(struct fleet *f, const char *fields)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"release\":%lld,%s}", f->rel, fields);
    return h_admin(&f->s, "POST", "/api/admin/rollouts", body, 201);
}

static json_t *rollout_get(struct fleet *f, long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/api/admin/rollouts/%lld", id);
    return h_admin(&f->s, "GET", path, NULL, 200);
}

static json_t *rollout_act(struct fleet *f, long long id, const char *action, long want)
{
    char body[256];
    snprintf(body, sizeof body, "{\"rollout\":%lld,\"action\":\"%s\",\"reason\":\"test %s\"}",
             id, action, action);
    return h_admin(&f->s, "POST", "/api/admin/rollout-actions", body, want);
}

static long long stage_count(json_t *ro, int stage, const char *what)
{
    json_t *s = json_array_get(json_object_get(ro, "stages"), (size_t)stage - 1);
    CHECK(s, "rollout has no stage %d", stage);
    return json_integer_value(json_object_get(s, what));
}

static const char *state_of(json_t *ro)
{
    return json_string_value(json_object_get(ro, "state"));
}

static long long id_of(json_t *ro)
{
    return json_integer_value(json_object_get(ro, "id"));
}

static long long cur_stage(json_t *ro)
{
    return json_integer_value(json_object_get(ro, "current_stage"));
}

/* The admin view of the device: was it ever offered a release? */
static int ever_offered(struct fleet *f, struct dev *d)
{
    char path[128];
    snprintf(path, sizeof path, "/api/admin/devices/%s", d->id);
    json_t *j = h_admin(&f->s, "GET", path, NULL, 200);
    int o = json_is_integer(json_object_get(j, "offered_release"));
    json_decref(j);
    return o;
}

/* One event of the rollout went to `to` with a reason containing `needle`. */
static void expect_event(json_t *ro, const char *to, const char *needle)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ro, "events"), i, e) {
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (!strcmp(json_string_value(json_object_get(e, "to")), to) && reason &&
            strstr(reason, needle) && json_is_string(json_object_get(e, "at")))
            return;
    }
    char *dump = json_dumps(json_object_get(ro, "events"), 0);
    CHECK(0, "no event to \"%s\" with a reason containing \"%s\": %s", to, needle, dump);
}

/* --- scenarios ------------------------------------------------------------------- */

static void progression(void)
{
    struct fleet f;
    int offered[NDEV_MAX] = {0}, n1 = 0, n2 = 0, n3 = 0;

    fleet_start(&f, 10);
    json_t *ro = rollout_create(&f, "\"chip\":\"esp32\",\"stages\":\"2,5,all\","
                                    "\"min_devices\":2,\"max_failure_pct\":20,\"deadline\":600");
    long long id = id_of(ro);
    CHECK(!strcmp(state_of(ro), "running") && cur_stage(ro) == 1, "new rollout: running stage 1");
    CHECK(stage_count(ro, 1, "devices") == 2 && stage_count(ro, 2, "devices") == 3 &&
          stage_count(ro, 3, "devices") == 5, "cohorts 2/3/5 by count");
    json_decref(ro);

    /* stage 1: exactly its two devices are offered */
    for (int i = 0; i < f.n; i++)
        n1 += offered[i] = check(&f, &f.d[i], "1.0.0");
    CHECK(n1 == 2, "stage 1 offers 2 devices, offered %d", n1);

    /* downloading and installed are progress, not success */
    for (int i = 0; i < f.n; i++)
        if (offered[i]) {
            status(&f, &f.d[i], "downloading");
            status(&f, &f.d[i], "installed");
        }
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "installed") == 2 && stage_count(ro, 1, "confirmed") == 0,
          "installed counted as installed, not confirmed");
    CHECK(cur_stage(ro) == 1 && !strcmp(state_of(ro), "running"),
          "no stage passes on installed devices (stage %lld, %s)", cur_stage(ro), state_of(ro));
    json_decref(ro);
    for (int i = 0; i < f.n; i++)
        CHECK(!offered[i] ? !check(&f, &f.d[i], "1.0.0") : 1, "stage 2 not open yet");

    /* one confirmed boot of two: still stage 1 */
    int first = -1;
    for (int i = 0; i < f.n && first < 0; i++)
        if (offered[i])
            first = i;
    status(&f, &f.d[first], "confirmed");
    ro = rollout_get(&f, id);
    CHECK(cur_stage(ro) == 1 && stage_count(ro, 1, "confirmed") == 1, "1 of 2 confirmed");
    json_decref(ro);
    for (int i = first + 1; i < f.n; i++)
        if (offered[i])
            status(&f, &f.d[i], "confirmed");
    ro = rollout_get(&f, id);
    CHECK(cur_stage(ro) == 2 && !strcmp(state_of(ro), "running"),
          "both confirmed: stage 2 (at %lld, %s)", cur_stage(ro), state_of(ro));
    expect_event(ro, "running", "stage 1 passed: 2 confirmed");
    json_decref(ro);

    /* stage 2: three more; the confirmed ones (now on 2.0.0) get nothing */
    for (int i = 0; i < f.n; i++) {
        if (offered[i] == 1) {
            CHECK(!check(&f, &f.d[i], "2.0.0"), "a confirmed device is not offered again");
            continue;
        }
        if (check(&f, &f.d[i], "1.0.0")) {
            offered[i] = 2;
            n2++;
        }
    }
    CHECK(n2 == 3, "stage 2 offers 3 more devices, offered %d", n2);
    for (int i = 0; i < f.n; i++)
        if (offered[i] == 2)
            status(&f, &f.d[i], "confirmed");
    ro = rollout_get(&f, id);
    CHECK(cur_stage(ro) == 3, "stage 3 after stage 2 confirmed (at %lld)", cur_stage(ro));
    json_decref(ro);
    /* stage 3, the last: four of its five devices come, update, confirm;
     * the rollout waits for the fifth (not yet offered) before completing */
    int last = -1;
    for (int i = 0; i < f.n; i++)
        if (!offered[i]) {
            if (last < 0) {
                last = i; /* stays offline for now */
                continue;
            }
            CHECK(check(&f, &f.d[i], "1.0.0"), "stage 3 offers %s", f.d[i].id);
            offered[i] = 3;
            n3++;
            status(&f, &f.d[i], "confirmed");
        }
    CHECK(n3 == 4, "stage 3 offered 4 devices, offered %d", n3);
    ro = rollout_get(&f, id);
    CHECK(!strcmp(state_of(ro), "running") && cur_stage(ro) == 3,
          "the last stage waits for its last device, is %s", state_of(ro));
    json_decref(ro);
    CHECK(check(&f, &f.d[last], "1.0.0"), "the fifth device of stage 3 is offered");
    status(&f, &f.d[last], "confirmed");
    n3++;
    ro = rollout_get(&f, id);
    CHECK(!strcmp(state_of(ro), "completed"), "all confirmed: completed, is %s", state_of(ro));
    CHECK(stage_count(ro, 1, "confirmed") == 2 && stage_count(ro, 2, "confirmed") == 3 &&
          stage_count(ro, 3, "confirmed") == 5, "confirmed 2/3/5");
    expect_event(ro, "running", "stage 2 passed");
    expect_event(ro, "completed", "all 3 stages done");
    json_decref(ro);
    fleet_stop(&f);
    printf("ok: progression: 2, 3, 5 devices offered stage by stage on confirmed boots only\n");
}

static void halt(void)
{
    struct fleet f;
    int offered[NDEV_MAX] = {0}, n = 0, idx[4], k = 0;

    fleet_start(&f, 20);
    json_t *ro = rollout_create(&f, "\"all\":true,\"stages\":\"4,all\",\"min_devices\":3,"
                                    "\"max_failure_pct\":30,\"deadline\":600");
    long long id = id_of(ro);
    json_decref(ro);
    for (int i = 0; i < f.n; i++)
        if ((offered[i] = check(&f, &f.d[i], "1.0.0")))
            idx[k < 4 ? k++ : 3] = i, n++;
    CHECK(n == 4, "stage 1 offers 4 devices, offered %d", n);

    /* two failures: below the minimum of 3 finished, no verdict yet */
    status(&f, &f.d[idx[0]], "failed");
    status(&f, &f.d[idx[1]], "rolled_back");
    ro = rollout_get(&f, id);
    CHECK(!strcmp(state_of(ro), "running"), "2 failures < min 3: still running, is %s",
          state_of(ro));
    json_decref(ro);
    /* the third failure halts it, before any other request */
    status(&f, &f.d[idx[2]], "failed");
    ro = rollout_get(&f, id);
    CHECK(!strcmp(state_of(ro), "halted"), "3 of 3 failed: halted, is %s", state_of(ro));
    CHECK(cur_stage(ro) == 1, "halted in stage 1");
    CHECK(stage_count(ro, 1, "failed") == 2 && stage_count(ro, 1, "rolled_back") == 1,
          "2 failed, 1 rolled back");
    expect_event(ro, "halted", "3 of 3 finished devices failed");
    json_decref(ro);

    /* nothing more is offered to anyone, not even the 4th canary */
    for (int i = 0; i < f.n; i++)
        CHECK(!check(&f, &f.d[i], "1.0.0"), "halted rollout offered %s", f.d[i].id);
    for (int i = 0; i < f.n; i++)
        if (!offered[i])
            CHECK(!ever_offered(&f, &f.d[i]), "%s (outside stage 1) was offered the release",
                  f.d[i].id);
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 2, "offered") == 0 && stage_count(ro, 2, "devices") == 16,
          "stage 2: 16 devices, none offered");
    json_decref(ro);
    /* halted stays halted: resume is refused, abort is allowed */
    json_decref(rollout_act(&f, id, "resume", 409));
    json_decref(rollout_act(&f, id, "abort", 200));
    fleet_stop(&f);
    printf("ok: halt: 3 failures of 4 canaries halted it; 16 devices never offered\n");
}

static void deadline(void)
{
    struct fleet f;
    int i, silent = -1, good = -1;

    fleet_start(&f, 2);
    json_t *ro = rollout_create(&f, "\"devices\":[\"dev-00\",\"dev-01\"],\"stages\":\"100%\","
                                    "\"min_devices\":2,\"max_failure_pct\":40,\"deadline\":2");
    long long id = id_of(ro);
    json_decref(ro);
    for (i = 0; i < f.n; i++)
        CHECK(check(&f, &f.d[i], "1.0.0"), "%s offered", f.d[i].id);
    silent = 0;
    good = 1;
    status(&f, &f.d[silent], "installed"); /* then never a word again */
    status(&f, &f.d[good], "confirmed");
    /* wait (the deadline is 2 s) for the verdict; no bound on how long */
    for (i = 0; i < 600; i++) {
        ro = rollout_get(&f, id);
        if (strcmp(state_of(ro), "running") != 0)
            break;
        json_decref(ro);
        usleep(100000);
    }
    CHECK(i < 600, "the rollout never left running");
    CHECK(!strcmp(state_of(ro), "halted"), "timed out device halts it (1 of 2 > 40%%), is %s",
          state_of(ro));
    CHECK(stage_count(ro, 1, "timed_out") == 1 && stage_count(ro, 1, "confirmed") == 1 &&
          stage_count(ro, 1, "installed") == 0, "1 timed out, 1 confirmed");
    expect_event(ro, "halted", "1 timed out");
    json_decref(ro);
    /* a confirm after the deadline does not turn the failure into success */
    status(&f, &f.d[silent], "confirmed");
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "timed_out") == 1 && stage_count(ro, 1, "confirmed") == 1,
          "the first outcome is kept");
    json_decref(ro);
    fleet_stop(&f);
    printf("ok: deadline: a device that never confirmed timed out and halted the rollout\n");
}

static void late(void)
{
    struct fleet f;
    struct dev late_dev, other_chip, later_dev;

    fleet_start(&f, 3);
    json_t *ro = rollout_create(&f, "\"chip\":\"esp32\",\"stages\":\"100%\",\"min_devices\":5");
    long long id = id_of(ro);
    CHECK(stage_count(ro, 1, "devices") == 3, "3 devices at creation");
    json_decref(ro);
    h_device_add(&f.s, "late-1", "esp32", &late_dev);
    h_device_add(&f.s, "other-chip", "esp32s3", &other_chip);
    CHECK(check(&f, &late_dev, "1.0.0"), "a device registered after the rollout is offered");
    CHECK(!check(&f, &other_chip, "1.0.0"), "an esp32s3 is not in an esp32 rollout");
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "devices") == 4 && stage_count(ro, 1, "offered") == 1,
          "the late device is a member (4) and offered (1)");
    json_decref(ro);
    /* one that never checks joins on the next evaluation (a read of it) */
    h_device_add(&f.s, "late-2", "esp32", &later_dev);
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "devices") == 5, "late-2 joined without checking (%lld)",
          stage_count(ro, 1, "devices"));
    json_decref(ro);
    status(&f, &late_dev, "confirmed");
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "confirmed") == 1, "the late device's confirm counts");
    json_decref(ro);
    fleet_stop(&f);
    printf("ok: late: devices registered after the start joined; another chip did not\n");
}

static void actions(void)
{
    struct fleet f;

    fleet_start(&f, 4);
    json_t *ro = rollout_create(&f, "\"chip\":\"esp32\",\"stages\":\"100%\",\"min_devices\":4");
    long long id = id_of(ro);
    json_decref(ro);
    CHECK(check(&f, &f.d[0], "1.0.0"), "dev-00 offered while running");

    ro = rollout_act(&f, id, "pause", 200);
    CHECK(!strcmp(state_of(ro), "paused"), "paused, is %s", state_of(ro));
    json_decref(ro);
    json_decref(rollout_act(&f, id, "pause", 409));
    CHECK(!check(&f, &f.d[1], "1.0.0"), "paused: no new device is offered");
    CHECK(check(&f, &f.d[0], "1.0.0"), "paused: a device already offered may finish");
    status(&f, &f.d[0], "installed");
    status(&f, &f.d[0], "confirmed");

    ro = rollout_act(&f, id, "resume", 200);
    CHECK(!strcmp(state_of(ro), "running"), "resumed, is %s", state_of(ro));
    json_decref(ro);
    CHECK(check(&f, &f.d[1], "1.0.0"), "resumed: dev-01 offered");
    status(&f, &f.d[1], "downloading");

    ro = rollout_act(&f, id, "abort", 200);
    CHECK(!strcmp(state_of(ro), "aborted"), "aborted, is %s", state_of(ro));
    expect_event(ro, "paused", "pause by the operator: test pause");
    expect_event(ro, "running", "resume by the operator: test resume");
    expect_event(ro, "aborted", "abort by the operator: test abort");
    json_decref(ro);
    for (int i = 1; i < f.n; i++)
        CHECK(!check(&f, &f.d[i], "1.0.0"), "aborted: %s is not offered", f.d[i].id);
    CHECK(!check(&f, &f.d[0], "2.0.0"), "aborted: the confirmed device keeps 2.0.0");
    json_t *dj = h_admin(&f.s, "GET", "/api/admin/devices/dev-00", NULL, 200);
    CHECK(!strcmp(json_string_value(json_object_get(dj, "current_version")), "2.0.0"),
          "dev-00 keeps what it confirmed");
    json_decref(dj);
    json_decref(rollout_act(&f, id, "resume", 409));
    json_decref(rollout_act(&f, id, "abort", 409));
    fleet_stop(&f);
    printf("ok: actions: pause held new offers, resume reopened, abort stopped them\n");
}

static void refuse(struct fleet *f, const char *method, const char *path, const char *body,
                   long status, const char *code)
{
    char url[256], auth[128];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct resp r;
    snprintf(url, sizeof url, "%s%s", f->s.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    CHECK(h_http(&r, method, url, hdrs, body, body ? strlen(body) : 0) == 0, "transport");
    h_check_error(&r, status, code);
    resp_free(&r);
}

static void refusals(void)
{
    struct fleet f;
    char b[256];

    fleet_start(&f, 1);
    h_device_add(&f.s, "s3", "esp32s3", &f.d[1]);
#define RO "/api/admin/rollouts"
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"stages\":\"10%%,5%%\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"stages\":\"0%%\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"stages\":\"5,10%%\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"stages\":\"1%%,\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"chip\":\"esp32\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"chip\":\"esp32s3\"}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"devices\":[\"s3\"]}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"devices\":[\"nobody\"]}", f.rel);
    refuse(&f, "POST", RO, b, 404, "not_found");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"max_failure_pct\":101}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"deadline\":0}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    snprintf(b, sizeof b, "{\"release\":%lld,\"all\":true,\"surprise\":1}", f.rel);
    refuse(&f, "POST", RO, b, 400, "bad_request");
    refuse(&f, "POST", RO, "{\"release\":999,\"all\":true}", 404, "not_found");
    refuse(&f, "POST", RO, "{\"release\":", 400, "bad_request");
    refuse(&f, "POST", RO, "[]", 400, "bad_request");
    refuse(&f, "GET", RO "/77", NULL, 404, "not_found");
    refuse(&f, "GET", RO "/x", NULL, 404, "not_found");
    refuse(&f, "DELETE", RO, NULL, 405, "method_not_allowed");
    refuse(&f, "POST", "/api/admin/rollout-actions", "{\"rollout\":77,\"action\":\"pause\"}",
           404, "not_found");
    refuse(&f, "POST", "/api/admin/rollout-actions", "{\"rollout\":1,\"action\":\"explode\"}",
           400, "bad_request");
    refuse(&f, "GET", "/api/admin/rollout-actions", NULL, 405, "method_not_allowed");
    json_t *list = h_admin(&f.s, "GET", RO, NULL, 200);
    CHECK(json_array_size(json_object_get(list, "rollouts")) == 0, "no rollout was created");
    json_decref(list);
    fleet_stop(&f);
    printf("ok: refusals: every malformed rollout request got its 4xx and JSON error\n");
}

static json_t *post_raw(struct fleet *f, const char *path, const char *ctype, const char *body,
                        long want)
{
    char url[256], auth[128], ct[64];
    const char *hdrs[] = {auth, ct, NULL};
    struct resp r;
    json_t *j;
    snprintf(url, sizeof url, "%s%s", f->s.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    CHECK(h_http(&r, "POST", url, hdrs, body, strlen(body)) == 0, "transport");
    CHECK(r.status == want, "POST %s: expected %ld, got %ld: %.300s", path, want, r.status,
          r.body ? r.body : "");
    j = json_loads(r.body, 0, NULL);
    resp_free(&r);
    return j;
}

static json_t *line_of(json_t *rep, size_t i)
{
    json_t *d = json_array_get(json_object_get(rep, "devices"), i);
    CHECK(d, "no report line %zu", i);
    return d;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void import(void)
{
    struct fleet f;
    size_t cap = 3000 * 40 + 256, k = 0;
    char *csv = malloc(cap);
    struct dev d;
    uint8_t key[32];

    fleet_start(&f, 0);
    h_device_add(&f.s, "old-s3", "esp32s3", &d);
    k += (size_t)snprintf(csv + k, cap - k, "id,chip,tags\n# the factory's batch 7\n");
    for (int i = 0; i < 3000; i++)
        k += (size_t)snprintf(csv + k, cap - k, "fab-%04d,esp32,%s\n", i,
                              i % 3 == 0 ? "site-a;batch7" : "batch7");
    k += (size_t)snprintf(csv + k, cap - k, "bad id!,esp32,\nfab-0001,esp32,\n"
                                            "old-s3,esp32,\nx1,esp64,\n");
    json_t *rep = post_raw(&f, "/api/admin/device-import", "text/csv", csv, 200);
    CHECK(json_integer_value(json_object_get(rep, "created")) == 3000 &&
          json_integer_value(json_object_get(rep, "existing")) == 0 &&
          json_integer_value(json_object_get(rep, "failed")) == 4, "3000 created, 4 refused");
    json_t *l0 = line_of(rep, 0);
    CHECK(json_integer_value(json_object_get(l0, "line")) == 3 && !strcmp(str(l0, "id"), "fab-0000")
          && !strcmp(str(l0, "result"), "created"), "line 3 is fab-0000, created");
    CHECK(json_array_size(json_object_get(l0, "tags")) == 2, "fab-0000 has 2 tags");
    CHECK(!strcmp(str(line_of(rep, 3000), "result"), "error") &&
          strstr(str(line_of(rep, 3000), "error"), "id must be"), "bad id refused");
    CHECK(strstr(str(line_of(rep, 3001), "error"), "earlier line"), "duplicate refused");
    CHECK(strstr(str(line_of(rep, 3002), "error"), "already registered as an esp32s3"),
          "chip conflict refused");
    CHECK(strstr(str(line_of(rep, 3003), "error"), "unknown chip"), "unknown chip refused");
    /* the key in the report authenticates the device */
    for (int i = 0; i < 32; i++)
        sscanf(str(line_of(rep, 5), "key") + 2 * i, "%2hhx", &key[i]);
    h_device_creds(&d, "fab-0005", key);
    CHECK(!check(&f, &d, "1.0.0"), "fab-0005 authenticates (no update yet)");
    char key5[65];
    snprintf(key5, sizeof key5, "%s", str(line_of(rep, 5), "key"));
    json_decref(rep);

    /* again: idempotent, the same keys */
    rep = post_raw(&f, "/api/admin/device-import", "text/csv", csv, 200);
    CHECK(json_integer_value(json_object_get(rep, "created")) == 0 &&
          json_integer_value(json_object_get(rep, "existing")) == 3000, "second import: 3000 exist");
    CHECK(!strcmp(str(line_of(rep, 5), "key"), key5), "same key the second time");
    json_decref(rep);
    rep = post_raw(&f, "/api/admin/device-import", "application/json",
                   "{\"devices\":[{\"id\":\"js-1\",\"chip\":\"esp32\",\"tags\":[\"site-a\"]},"
                   "{\"id\":\"js-2\"},{\"id\":\"js-3\",\"color\":\"red\"}]}", 200);
    CHECK(json_integer_value(json_object_get(rep, "created")) == 2 &&
          json_integer_value(json_object_get(rep, "failed")) == 1, "JSON: 2 created, 1 refused");
    json_decref(rep);
    json_decref(post_raw(&f, "/api/admin/device-import", "application/json", "[1,2]", 400));
    free(csv);

    /* a key the device already holds: it authenticates with it, the derived
     * one does not; the database holds it only wrapped */
    static const char own[] = "00112233445566778899aabbccddeeff0123456789abcdef0011223344556677";
    char body[512], hex[65];
    struct dev own_dev, derived;
    snprintf(body, sizeof body, "{\"devices\":[{\"id\":\"own-1\",\"key\":\"%s\"},"
             "{\"id\":\"own-2\",\"key\":\"12\"}]}", own);
    rep = post_raw(&f, "/api/admin/device-import", "application/json", body, 200);
    CHECK(!strcmp(str(line_of(rep, 0), "result"), "created") &&
          !strcmp(str(line_of(rep, 0), "key"), own), "own-1 created with its own key");
    CHECK(strstr(str(line_of(rep, 1), "error"), "64 hex"), "a short key is refused");
    json_decref(rep);
    for (int i = 0; i < 32; i++)
        sscanf(own + 2 * i, "%2hhx", &key[i]);
    h_device_creds(&own_dev, "own-1", key);
    CHECK(!check(&f, &own_dev, "1.0.0"), "own-1 authenticates with its own key");
    memset(key, 0x5a, sizeof key);
    h_device_creds(&derived, "own-1", key);
    {
        struct resp rr;
        CHECK(h_dev(&derived, &rr, "GET", &f.s, "/api/inverter/fota/check?version=1", NULL) == 0,
              "transport");
        h_check_error(&rr, 401, "unauthorized");
        resp_free(&rr);
    }
    snprintf(body, sizeof body, "{\"devices\":[{\"id\":\"own-1\",\"key\":\"%s\"}]}", own);
    rep = post_raw(&f, "/api/admin/device-import", "application/json", body, 200);
    CHECK(!strcmp(str(line_of(rep, 0), "result"), "exists") &&
          !strcmp(str(line_of(rep, 0), "key"), own), "again: exists, same key");
    json_decref(rep);
    memset(hex, 'e', 64);
    hex[64] = '\0';
    snprintf(body, sizeof body, "{\"devices\":[{\"id\":\"own-1\",\"key\":\"%s\"}]}", hex);
    rep = post_raw(&f, "/api/admin/device-import", "application/json", body, 200);
    CHECK(strstr(str(line_of(rep, 0), "error"), "another key"), "another key is refused");
    json_decref(rep);
    {
        char hexw[256];
        uint8_t raw[32], w[60];
        for (int i = 0; i < 32; i++)
            sscanf(own + 2 * i, "%2hhx", &raw[i]);
        CHECK(h_sql(&f.s, h_pg() ? "SELECT encode(wrapped, 'hex') FROM device_keys"
                                   " WHERE device_id = 'own-1'"
                                 : "SELECT hex(wrapped) FROM device_keys"
                                   " WHERE device_id = 'own-1'", hexw, sizeof hexw) == 0,
              "own-1's key row: %s", hexw);
        CHECK(strlen(hexw) == 120, "wrapped key is 60 bytes, got %zu hex digits", strlen(hexw));
        for (int i = 0; i < 60; i++)
            sscanf(hexw + 2 * i, "%2hhx", &w[i]);
        CHECK(!memmem(w, sizeof w, raw, 32) && !memmem(w, sizeof w, own, 64),
              "the key is in clear in the database");
    }

    /* a rollout to the tag site-a: 1000 + 1 devices; a device tagged later joins */
    json_t *ro = rollout_create(&f, "\"tag\":\"site-a\",\"stages\":\"100%\"");
    long long id = id_of(ro);
    CHECK(stage_count(ro, 1, "devices") == 1001, "site-a: 1001 devices, got %lld",
          stage_count(ro, 1, "devices"));
    json_decref(ro);
    CHECK(check(&f, &d, "1.0.0") == 0, "fab-0005 (not site-a) is not offered");
    json_t *t = post_raw(&f, "/api/admin/device-tags", "application/json",
                         "{\"device\":\"fab-0005\",\"add\":[\"site-a\",\"x\"],"
                         "\"remove\":[\"batch7\"]}", 200);
    CHECK(json_array_size(json_object_get(t, "tags")) == 2, "fab-0005 tags: site-a, x");
    json_decref(t);
    CHECK(check(&f, &d, "1.0.0") == 1, "fab-0005 tagged site-a later: offered");
    ro = rollout_get(&f, id);
    CHECK(stage_count(ro, 1, "devices") == 1002, "1002 members after the late tag");
    json_decref(ro);
    json_decref(post_raw(&f, "/api/admin/device-tags", "application/json",
                         "{\"device\":\"nobody\",\"add\":[\"x\"]}", 404));
    json_decref(post_raw(&f, "/api/admin/device-tags", "application/json",
                         "{\"device\":\"fab-0005\",\"add\":[\"bad tag\"]}", 400));
    fleet_stop(&f);
    printf("ok: import: 3000 devices in one call (twice), 4 lines refused, tag rollout\n");
}

static long chunk(struct fleet *f, struct dev *d, const char *path, char ra[32])
{
    struct resp r;
    long st;
    CHECK(h_dev(d, &r, "GET", &f->s, path, NULL) == 0, "transport");
    st = r.status;
    if (st == 503)
        h_check_error(&r, 503, "busy");
    snprintf(ra, 32, "%s", r.retry_after);
    resp_free(&r);
    return st;
}

static void loadshape(void)
{
    struct fleet f;
    struct dev s3;
    struct resp r;
    char ra[32], path[96];
    const char *extra[] = {"--max-downloads", "1", "--download-retry", "5", "--poll-interval",
                           "100", NULL};

    fleet_start_with(&f, 3, extra);
    h_device_add(&f.s, "s3", "esp32s3", &s3);
    json_decref(rollout_create(&f, "\"chip\":\"esp32\",\"stages\":\"100%\""));
    for (int i = 0; i < 4; i++) {
        struct dev *d = i < 3 ? &f.d[i] : &s3;
        CHECK(h_dev(d, &r, "GET", &f.s, "/api/inverter/fota/check?version=1.0.0", NULL) == 0,
              "check");
        json_t *j = json_loads(r.body, 0, NULL);
        json_int_t pi = json_integer_value(json_object_get(j, "poll_interval"));
        CHECK(pi >= 80 && pi <= 120, "poll_interval %lld not in 80..120: %s", (long long)pi,
              r.body);
        CHECK(json_is_true(json_object_get(j, "update")) == (i < 3), "offer %d", i);
        json_decref(j);
        resp_free(&r);
    }
    CHECK(chunk(&f, &f.d[0], "/api/inverter/fota/chunk?chunk=0", ra) == 200, "A starts");
    CHECK(chunk(&f, &f.d[1], "/api/inverter/fota/chunk?chunk=0", ra) == 503, "B waits");
    CHECK(atoi(ra) >= 5 && atoi(ra) <= 10, "Retry-After %s not in 5..10", ra);
    snprintf(path, sizeof path, "/api/inverter/fota/stream?release=%lld&from=0", f.rel);
    CHECK(chunk(&f, &f.d[1], path, ra) == 503, "B's v2 stream waits too");
    CHECK(chunk(&f, &f.d[0], "/api/inverter/fota/chunk?chunk=1", ra) == 200,
          "A, downloading, is never refused");
    status(&f, &f.d[0], "installed");
    CHECK(chunk(&f, &f.d[1], "/api/inverter/fota/chunk?chunk=0", ra) == 200, "B's turn");
    CHECK(chunk(&f, &f.d[2], "/api/inverter/fota/chunk?chunk=0", ra) == 503, "C waits");
    status(&f, &f.d[1], "failed");
    CHECK(chunk(&f, &f.d[2], "/api/inverter/fota/chunk?chunk=0", ra) == 200, "C's turn");
    fleet_stop(&f);
    printf("ok: loadshape: one download at a time, 503 + Retry-After for the others\n");
}

/* The value of the sample `series` (exact name and labels) in the text. */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return atoll(p + n + 1);
    CHECK(0, "no sample %s in:\n%s", series, text);
    return -1;
}

static void metrics(void)
{
    struct fleet f;
    struct resp r;
    char url[128], auth[128];
    const char *hdrs[] = {auth, NULL};

    fleet_start(&f, 3);
    json_t *ro = rollout_create(&f, "\"chip\":\"esp32\",\"stages\":\"100%\",\"min_devices\":1,"
                                    "\"max_failure_pct\":40");
    json_decref(ro);
    for (int i = 0; i < 3; i++)
        CHECK(check(&f, &f.d[i], "1.0.0"), "offered");
    status(&f, &f.d[0], "downloading");
    status(&f, &f.d[0], "confirmed");
    status(&f, &f.d[1], "installed");

    snprintf(url, sizeof url, "%s/metrics", f.s.url);
    CHECK(h_http(&r, "GET", url, NULL, NULL, 0) == 0, "transport");
    h_check_error(&r, 401, "unauthorized");
    resp_free(&r);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0 && r.status == 200, "GET /metrics: %ld",
          r.status);
    CHECK(!strncmp(r.ctype, "text/plain; version=0.0.4", 25), "content type %s", r.ctype);
#define CK "route=\"/api/inverter/fota/check\""
    CHECK(sample(r.body, "fota_http_requests_total{" CK ",status=\"200\"}") == 3, "3 checks");
    CHECK(sample(r.body, "fota_http_requests_total{route=\"/metrics\",status=\"401\"}") == 1,
          "1 refused scrape");
    CHECK(sample(r.body, "fota_http_request_duration_seconds_count{" CK "}") == 3, "count");
    CHECK(sample(r.body, "fota_http_request_duration_seconds_bucket{" CK ",le=\"+Inf\"}") == 3,
          "+Inf bucket");
    CHECK(sample(r.body, "fota_http_response_bytes_total{" CK "}") > 0, "bytes");
    CHECK(sample(r.body, "fota_http_requests_total{route=\"/api/inverter/fota/status\","
                         "status=\"204\"}") == 3, "3 statuses");
    CHECK(sample(r.body, "fota_devices{state=\"confirmed\"}") == 1, "1 confirmed device");
    CHECK(sample(r.body, "fota_devices{state=\"installed\"}") == 1, "1 installed device");
    CHECK(sample(r.body, "fota_devices{state=\"none\"}") == 1, "1 device without status");
    CHECK(sample(r.body, "fota_devices_by_version{version=\"2.0.0\"}") == 1, "1 on 2.0.0");
    CHECK(sample(r.body, "fota_rollout_stage_status{rollout=\"1\",stage=\"1\","
                         "status=\"offered\"}") == 3, "3 offered");
    CHECK(sample(r.body, "fota_rollout_stage_status{rollout=\"1\",stage=\"1\","
                         "status=\"confirmed\"}") == 1, "1 confirmed");
    CHECK(sample(r.body, "fota_rollouts{state=\"running\"}") == 1, "1 running rollout");
    long long hits = sample(r.body, "fota_device_auth_cache_total{result=\"hit\"}");
    long long misses = sample(r.body, "fota_device_auth_cache_total{result=\"miss\"}");
    resp_free(&r);

    /* a polling device keeps its cache entry: 10 more checks of C (nothing
     * changes) are 10 hits and no read of the store */
    for (int i = 0; i < 10; i++)
        CHECK(check(&f, &f.d[2], "1.0.0"), "offered again");
    CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0 && r.status == 200, "GET /metrics");
    CHECK(sample(r.body, "fota_device_auth_cache_total{result=\"hit\"}") == hits + 10,
          "10 polls: 10 cache hits");
    CHECK(sample(r.body, "fota_device_auth_cache_total{result=\"miss\"}") == misses,
          "10 polls: no cache miss (before %lld misses)", misses);
    resp_free(&r);

    status(&f, &f.d[1], "rolled_back"); /* 1 of 2 = 50% > 40%: halted */
    CHECK(h_http(&r, "GET", url, hdrs, NULL, 0) == 0 && r.status == 200, "GET /metrics");
    CHECK(sample(r.body, "fota_rollouts{state=\"halted\"}") == 1, "the halt is visible");
    CHECK(sample(r.body, "fota_rollouts{state=\"running\"}") == 0, "no running rollout");
    resp_free(&r);
    fleet_stop(&f);
    printf("ok: metrics: requests, latency, bytes, devices, rollout progress and the halt\n");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } scen[] = {{"progression", progression}, {"halt", halt},       {"deadline", deadline},
                {"late", late},               {"actions", actions}, {"refusals", refusals},
                {"metrics", metrics},         {"import", import},
                {"loadshape", loadshape}};

    h_init(argc, argv);
    for (size_t i = 0; i < sizeof scen / sizeof scen[0]; i++)
        if (argc < 4 || !strcmp(argv[3], scen[i].name)) {
            scen[i].fn();
            if (argc >= 4)
                return 0;
        }
    CHECK(argc < 4, "unknown scenario %s", argv[3]);
    return 0;
}
