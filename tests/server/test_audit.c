/*
 * test_audit.c - server_audit: the audit log over the real fota-server.
 * Two named admin tokens (--admin-tokens-file) and the single token act;
 * every admin request that is not a read is in GET /api/admin/audit, newest
 * first, with who (the token's name, "-" for a wrong token), what, when and
 * the result (status and error code); reads are not; a device key answered
 * by "device add" never is. The SQLite file itself refuses to change or
 * delete an entry (append-only).
 */
#include <string.h>
#include <unistd.h>


#include "harness.h"

#define ALICE "alice-token-0123456789abcdef"
#define BOB "bob-token-0123456789abcdef01"

static long as(struct srv *s, const char *token, const char *method, const char *path,
               const char *body)
{
    char url[256], auth[128];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct resp r;
    long st;
    snprintf(url, sizeof url, "%s%s", s->url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    CHECK(h_http(&r, method, url, hdrs, body, body ? strlen(body) : 0) == 0, "transport");
    st = r.status;
    resp_free(&r);
    return st;
}

/* entry i (0: newest) of the audit log */
static json_t *entry(json_t *log, size_t i)
{
    json_t *e = json_array_get(json_object_get(log, "audit"), i);
    CHECK(e, "audit log has no entry %zu", i);
    return e;
}

static void expect(json_t *e, const char *who, const char *method, const char *path, int status,
                   const char *result, const char *detail_part)
{
    const char *w = json_string_value(json_object_get(e, "who"));
    const char *m = json_string_value(json_object_get(e, "method"));
    const char *p = json_string_value(json_object_get(e, "path"));
    const char *res = json_string_value(json_object_get(e, "result"));
    const char *d = json_string_value(json_object_get(e, "detail"));
    char *dump = json_dumps(e, 0);
    CHECK(w && !strcmp(w, who), "who: expected %s in %s", who, dump);
    CHECK(m && !strcmp(m, method) && p && !strcmp(p, path), "what: %s %s in %s", method, path,
          dump);
    CHECK(json_integer_value(json_object_get(e, "status")) == status, "status %d in %s", status,
          dump);
    CHECK(res && !strcmp(res, result), "result \"%s\" in %s", result, dump);
    CHECK(d && strstr(d, detail_part), "detail has \"%s\" in %s", detail_part, dump);
    CHECK(json_is_string(json_object_get(e, "at")), "when: %s", dump);
    free(dump);
}

int main(int argc, char **argv)
{
    struct srv s;
    char tokens[300], body[200];
    struct dev d;
    FILE *f;

    h_init(argc, argv);
    h_newdir(&s);
    snprintf(tokens, sizeof tokens, "%s/tokens", s.dir);
    f = fopen(tokens, "w");
    CHECK(f, "write %s", tokens);
    fprintf(f, "# operators\nalice %s\nbob %s\n", ALICE, BOB);
    fclose(f);
    const char *extra[] = {"--admin-tokens-file", tokens, NULL};
    h_start(&s, extra);

    CHECK(as(&s, ALICE, "POST", "/api/admin/devices", "{\"id\":\"dongle-1\",\"chip\":\"esp32\"}") ==
          201, "alice registers dongle-1");
    CHECK(as(&s, BOB, "POST", "/api/admin/devices", "{\"id\":\"dongle-1\",\"chip\":\"esp32\"}") ==
          409, "bob registers dongle-1 again: 409");
    CHECK(as(&s, "not-a-token-at-all", "POST", "/api/admin/devices", "{\"id\":\"x\"}") == 401,
          "a wrong token: 401");
    CHECK(as(&s, BOB, "GET", "/api/admin/devices", NULL) == 200, "a read");
    json_t *rel = h_upload(&s, "esp32-arduino-b.bin", "version=2.0.0", NULL);
    long long rid = json_integer_value(json_object_get(rel, "id"));
    json_decref(rel);
    snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"dongle-1\"],\"stages\":\"100%%\"}",
             rid);
    CHECK(as(&s, ALICE, "POST", "/api/admin/rollouts", body) == 201, "alice creates a rollout");
    CHECK(as(&s, BOB, "POST", "/api/admin/rollout-actions",
             "{\"rollout\":1,\"action\":\"abort\",\"reason\":\"bad batch\"}") == 200,
          "bob aborts it");
    CHECK(as(&s, BOB, "DELETE", "/api/admin/rollouts", NULL) == 405, "a DELETE: 405");

    /* refusals made from the headers alone (the 401, the 405) are written
     * when their request ends, just after the answer: wait for all 7 */
    json_t *log = NULL;
    for (int tries = 0; tries < 500; tries++) {
        json_decref(log);
        log = h_admin(&s, "GET", "/api/admin/audit", NULL, 200);
        if (json_array_size(json_object_get(log, "audit")) >= 7)
            break;
        usleep(10000);
    }
    if (getenv("AUDIT_DUMP"))
        json_dumpf(log, stderr, JSON_INDENT(1));
    CHECK(json_array_size(json_object_get(log, "audit")) == 7, "7 entries (reads are not), got %zu",
          json_array_size(json_object_get(log, "audit")));
    /* the method is refused before the token is read: nobody is named */
    expect(entry(log, 0), "-", "DELETE", "/api/admin/rollouts", 405, "method_not_allowed", "");
    expect(entry(log, 1), "bob", "POST", "/api/admin/rollout-actions", 200, "", "bad batch");
    expect(entry(log, 2), "alice", "POST", "/api/admin/rollouts", 201, "", "\"stages\"");
    expect(entry(log, 3), "admin", "POST", "/api/admin/releases", 201, "", "version=2.0.0");
    expect(entry(log, 3), "admin", "POST", "/api/admin/releases", 201, "", "bytes uploaded");
    expect(entry(log, 2), "alice", "POST", "/api/admin/rollouts", 201, "", "dongle-1");
    expect(entry(log, 4), "-", "POST", "/api/admin/devices", 401, "unauthorized", "");
    expect(entry(log, 5), "bob", "POST", "/api/admin/devices", 409, "already_exists", "dongle-1");
    expect(entry(log, 6), "alice", "POST", "/api/admin/devices", 201, "", "dongle-1");
    CHECK(json_integer_value(json_object_get(entry(log, 0), "id")) >
              json_integer_value(json_object_get(entry(log, 6), "id")),
          "newest first");
    json_decref(log);

    /* a device key answered by "device add" is never written down */
    h_device_add(&s, "dongle-2", "esp32", &d);
    char keyhex[65];
    h_hex(d.key, 32, keyhex);
    log = h_admin(&s, "GET", "/api/admin/audit?limit=2", NULL, 200);
    CHECK(json_array_size(json_object_get(log, "audit")) == 2, "limit=2");
    char *dump = json_dumps(log, 0);
    CHECK(!strstr(dump, keyhex), "the audit log holds a device key: %s", dump);
    free(dump);
    long long newest = json_integer_value(json_object_get(entry(log, 0), "id"));
    json_decref(log);
    snprintf(body, sizeof body, "/api/admin/audit?before=%lld&limit=1", newest);
    log = h_admin(&s, "GET", body, NULL, 200);
    CHECK(json_integer_value(json_object_get(entry(log, 0), "id")) == newest - 1, "before=");
    json_decref(log);
    CHECK(as(&s, BOB, "GET", "/api/admin/audit?limit=0", NULL) == 400, "limit=0: 400");
    CHECK(as(&s, BOB, "GET", "/api/admin/audit?what=1", NULL) == 400, "unknown parameter: 400");
    CHECK(as(&s, BOB, "POST", "/api/admin/audit", "{}") == 405, "POST audit: 405");
    h_stop(&s);

    /* append-only in the database itself (SQLite or PostgreSQL) */
    char err[512];
    CHECK(h_sql(&s, "UPDATE audit_log SET who = 'mallory'", err, sizeof err) != 0,
          "UPDATE of audit_log succeeded");
    CHECK(strstr(err, "append-only"), "UPDATE refused for another reason: %s", err);
    CHECK(h_sql(&s, "DELETE FROM audit_log", err, sizeof err) != 0,
          "DELETE from audit_log succeeded");
    CHECK(strstr(err, "append-only"), "DELETE refused for another reason: %s", err);
    CHECK(h_sql(&s, "SELECT COUNT(*) FROM audit_log WHERE who = 'mallory'", err, sizeof err) == 0
          && strcmp(err, "0") == 0, "audit_log rewritten: %s", err);
    h_cleanup(&s);
    printf("ok: audit: who, what, when, result of every admin action; append-only\n");
    return 0;
}
