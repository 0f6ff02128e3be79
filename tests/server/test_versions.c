/*
 * test_versions.c - server_versions: the version order of
 * include/fota/version.h in the server's offer decision, and the version
 * lengths a device can hold, over real HTTP.
 *
 * A device running an image whose descriptor says "9036908-dirty" (the
 * Arduino build esp32-arduino-b.bin) or "esp-idf: v4.4.4 e8bdaf9198" has
 * no place in the order, so it is offered release 3.0.0 (before issue 11 the
 * leading number decided: 9036908 > 3, never offered). A device running a
 * git-describe build past 3.0.0 is not. Versions longer than a device takes
 * are refused: a release version over 31 bytes (the check answer's limit) and
 * a running version over 32 bytes (esp_app_desc_t.version).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static json_t *check(struct srv *s, struct dev *d, const char *version_q)
{
    struct resp r;
    char path[256];
    json_t *j;
    snprintf(path, sizeof path, "/api/inverter/fota/check?version=%s", version_q);
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0, "check %s: transport", version_q);
    CHECK(r.status == 200, "check %s: %ld %s", version_q, r.status, r.body);
    j = json_loads(r.body, 0, NULL);
    CHECK(j, "check %s: not JSON: %s", version_q, r.body);
    resp_free(&r);
    return j;
}

static void expect_offer(struct srv *s, struct dev *d, const char *version_q, const char *want)
{
    json_t *j = check(s, d, version_q);
    CHECK(json_is_true(json_object_get(j, "update")), "running %s: expected an offer of %s",
          version_q, want);
    CHECK(strcmp(json_string_value(json_object_get(j, "version")), want) == 0,
          "running %s: offered %s, expected %s", version_q,
          json_string_value(json_object_get(j, "version")), want);
    printf("ok: a device running \"%s\" is offered %s\n", version_q, want);
    json_decref(j);
}

static void expect_none(struct srv *s, struct dev *d, const char *version_q)
{
    json_t *j = check(s, d, version_q);
    CHECK(json_is_false(json_object_get(j, "update")), "running %s: expected no offer",
          version_q);
    printf("ok: a device running \"%s\" is offered nothing\n", version_q);
    json_decref(j);
}

static void expect_refused(struct srv *s, struct dev *d, const char *version_q,
                           const char *needle)
{
    struct resp r;
    char path[256];
    snprintf(path, sizeof path, "/api/inverter/fota/check?version=%s", version_q);
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0, "check: transport");
    h_check_error(&r, 400, "bad_request");
    CHECK(strstr(r.body, needle), "message should mention \"%s\": %s", needle, r.body);
    printf("ok: check?version=<%zu bytes> refused: %s\n", strlen(version_q), r.body);
    resp_free(&r);
}

int main(int argc, char **argv)
{
    struct srv s;
    struct dev d;
    struct resp r;
    char body[256], q[128];
    json_t *rel;
    const char *v31 = "1.0.0-rc.1+build.2024.06.01.123";
    const char *v32 = "1.0.0-rc.1+build.2024.06.01.1234";
    const char *v33 = "1.0.0-rc.1+build.2024.06.01.12345";

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);
    CHECK(strlen(v31) == 31 && strlen(v32) == 32 && strlen(v33) == 33, "test strings");
    h_device_add(&s, "dongle-1", "esp32", &d);

    rel = h_upload(&s, "esp32-arduino-a.bin", "version=3.0.0", &r);
    CHECK(r.status == 201, "upload 3.0.0: %ld %s", r.status, r.body);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"release\": %lld, \"devices\": [\"dongle-1\"]}",
             json_integer_value(json_object_get(rel, "id")));
    json_decref(rel);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", body, 201));

    /* unordered running versions: never older, so 3.0.0 is offered */
    expect_offer(&s, &d, "9036908-dirty", "3.0.0");
    expect_offer(&s, &d, "esp-idf%3A%20v4.4.4%20e8bdaf9198", "3.0.0");
    expect_offer(&s, &d, "v5.1-rc2", "3.0.0");
    /* ordered ones: SemVer and git describe */
    expect_offer(&s, &d, "2.9.12", "3.0.0");
    expect_offer(&s, &d, "3.0.0-rc.1", "3.0.0");
    expect_offer(&s, &d, "v2.0.0-14-gabc1234-dirty", "3.0.0");
    expect_none(&s, &d, "3.0.0");
    expect_none(&s, &d, "v3.0.0-2-gabc1234");
    expect_none(&s, &d, "3.0.1-dirty");
    expect_none(&s, &d, "10.0.0");
    {
        char logpath[300];
        size_t ln;
        char *log;
        snprintf(logpath, sizeof logpath, "%s/server.log", s.dir);
        log = (char *)h_read_file(logpath, &ln);
        CHECK(strstr(log, "version \"3.0.0\" is older than the running \"v3.0.0-2-gabc1234\""),
              "the server log names the downgrade refusal");
        free(log);
    }

    /* running versions: 32 bytes is what esp_app_desc_t holds */
    json_decref(check(&s, &d, v32));
    expect_refused(&s, &d, v33, "32");

    /* release versions: at most 31 bytes, what a device takes in an offer */
    snprintf(q, sizeof q, "version=%s", v32);
    rel = h_upload(&s, "esp32-arduino-b.bin", q, &r);
    h_check_error(&r, 400, "bad_request");
    CHECK(strstr(r.body, "31"), "the message names the limit: %s", r.body);
    printf("ok: a 32-byte release version refused: %s\n", r.body);
    resp_free(&r);
    json_decref(rel);
    snprintf(q, sizeof q, "version=%s", v31);
    rel = h_upload(&s, "esp32-arduino-b.bin", q, &r);
    CHECK(r.status == 201, "a 31-byte version: %ld %s", r.status, r.body);
    printf("ok: a 31-byte release version accepted\n");
    resp_free(&r);
    json_decref(rel);

    h_stop(&s);
    h_cleanup(&s);
    printf("server_versions: all checks passed\n");
    return 0;
}
