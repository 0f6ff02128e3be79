/*
 * admin_fleet.c - fota-admin's fleet commands (docs/fleet.md): staged
 * rollouts (create, list, show with a live progress view, pause, resume,
 * abort), bulk registration with the factory's provisioning export, device
 * tags, and the audit log. The HTTP plumbing and output helpers are
 * admin_main.c's (admin_cli.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "admin_cli.h"

/* --- rollouts ------------------------------------------------------------------ */

static void print_rollout_stages(json_t *ro)
{
    size_t i;
    json_t *s;
    printf("  %-5s %-6s %7s %7s %11s %9s %9s %6s %11s %9s\n", "STAGE", "UPTO", "DEVICES",
           "OFFERED", "DOWNLOADING", "INSTALLED", "CONFIRMED", "FAILED", "ROLLED_BACK",
           "TIMED_OUT");
    json_array_foreach(json_object_get(ro, "stages"), i, s)
        printf("  %-5lld %-6s %7lld %7lld %11lld %9lld %9lld %6lld %11lld %9lld%s\n",
               admin_ji(s, "stage"), admin_js(s, "upto"), admin_ji(s, "devices"), admin_ji(s, "offered"),
               admin_ji(s, "downloading"), admin_ji(s, "installed"), admin_ji(s, "confirmed"), admin_ji(s, "failed"),
               admin_ji(s, "rolled_back"), admin_ji(s, "timed_out"),
               admin_ji(s, "stage") == admin_ji(ro, "current_stage") ? "  <" : "");
    if (admin_ji(ro, "outside"))
        printf("  (%lld device(s) of the target fall past the last stage)\n", admin_ji(ro, "outside"));
}

static void print_rollout(json_t *ro)
{
    size_t i;
    json_t *e;
    char target[80];
    if (!strcmp(admin_js(ro, "target"), "devices"))
        snprintf(target, sizeof target, "a device list");
    else if (!strcmp(admin_js(ro, "target"), "tag"))
        snprintf(target, sizeof target, "%s devices tagged %s", admin_js(ro, "chip"), admin_js(ro, "tag"));
    else
        snprintf(target, sizeof target, "every %s device", admin_js(ro, "chip"));
    printf("rollout %lld: release %lld (%s) to %s\n", admin_ji(ro, "id"), admin_ji(ro, "release"),
           admin_js(ro, "version"), target);
    printf("  state:   %s, stage %lld of %zu (%s)\n", admin_js(ro, "state"), admin_ji(ro, "current_stage"),
           json_array_size(json_object_get(ro, "stages")), admin_js(ro, "stages_spec"));
    printf("  health:  judged after %lld finished device(s) per stage; halts above %lld%% "
           "failures;\n           confirm deadline %lld s after the offer; soak %lld s%s\n",
           admin_ji(ro, "min_devices"), admin_ji(ro, "max_failure_pct"), admin_ji(ro, "deadline"), admin_ji(ro, "soak"),
           json_is_true(json_object_get(ro, "allow_downgrade")) ? "; downgrade allowed" : "");
    printf("  why:     %s\n", admin_js(ro, "reason"));
    print_rollout_stages(ro);
    if (json_array_size(json_object_get(ro, "events"))) {
        printf("  events:\n");
        json_array_foreach(json_object_get(ro, "events"), i, e)
            printf("    %s  %s -> %s (stage %lld): %s\n", admin_js(e, "at"),
                   *admin_js(e, "from") == '-' ? "new" : admin_js(e, "from"), admin_js(e, "to"),
                   admin_ji(e, "to_stage"), admin_js(e, "reason"));
    }
}

static void rollout_row(json_t *ro)
{
    long long conf = 0, bad = 0, devs = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ro, "stages"), i, s) {
        conf += admin_ji(s, "confirmed");
        bad += admin_ji(s, "failed") + admin_ji(s, "rolled_back") + admin_ji(s, "timed_out");
        devs += admin_ji(s, "devices");
    }
    printf("%-5lld %-7lld %-16s %-8s %-10s %3lld/%-3zu %-18s %7lld %9lld %6lld\n", admin_ji(ro, "id"),
           admin_ji(ro, "release"), admin_js(ro, "version"), admin_js(ro, "target"), admin_js(ro, "state"),
           admin_ji(ro, "current_stage"), json_array_size(json_object_get(ro, "stages")),
           admin_js(ro, "stages_spec"), devs, conf, bad);
}

static void rollout_list_header(void)
{
    printf("%-5s %-7s %-16s %-8s %-10s %-7s %-18s %7s %9s %6s\n", "ID", "RELEASE", "VERSION",
           "TARGET", "STATE", "STAGE", "STAGES", "DEVICES", "CONFIRMED", "FAILED");
}

int admin_cmd_rollout_create(int argc, char **argv)
{
    const char *release = NULL, *chip = NULL, *tag = NULL, *stages = NULL;
    const char *nums[4] = {NULL, NULL, NULL, NULL};
    static const char *const num_opts[4] = {"--min-devices", "--max-failure-pct", "--deadline",
                                            "--soak"};
    static const char *const num_fields[4] = {"min_devices", "max_failure_pct", "deadline",
                                              "soak"};
    json_t *devs = json_array(), *body, *o = NULL;
    char *raw = NULL, *js_body, *end;
    long long rid;
    int ex, all = 0, downgrade = 0, ntarget;

    for (int i = 0; i < argc; i++) {
        int k;
        for (k = 0; k < 4 && strcmp(argv[i], num_opts[k]); k++)
            ;
        if (k < 4 && i + 1 < argc)
            nums[k] = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            json_array_append_new(devs, json_string(argv[++i]));
        else if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i];
        else if (!strcmp(argv[i], "--tag") && i + 1 < argc)
            tag = argv[++i];
        else if (!strcmp(argv[i], "--stages") && i + 1 < argc)
            stages = argv[++i];
        else if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (!strcmp(argv[i], "--allow-downgrade"))
            downgrade = 1;
        else if (argv[i][0] == '-' || release) {
            json_decref(devs);
            return admin_usage("rollout create RELEASE (--device ID ... | --chip CHIP | --tag TAG | "
                         "--all) [--stages LIST] [--min-devices N] [--max-failure-pct P] "
                         "[--deadline S] [--soak S] [--allow-downgrade]");
        } else
            release = argv[i];
    }
    ntarget = (json_array_size(devs) > 0) + !!chip + !!tag + all;
    if (!release || ntarget != 1) {
        json_decref(devs);
        return admin_usage("rollout create RELEASE needs one target: --device ID (repeatable), "
                     "--chip CHIP, --tag TAG or --all");
    }
    rid = strtoll(release, &end, 10);
    if (*end || rid <= 0) {
        json_decref(devs);
        return admin_usage("RELEASE must be a release id (a positive number)");
    }
    body = json_pack("{s:I}", "release", (json_int_t)rid);
    if (json_array_size(devs))
        json_object_set(body, "devices", devs);
    json_decref(devs);
    if (chip)
        json_object_set_new(body, "chip", json_string(chip));
    if (tag)
        json_object_set_new(body, "tag", json_string(tag));
    if (all)
        json_object_set_new(body, "all", json_true());
    if (stages)
        json_object_set_new(body, "stages", json_string(stages));
    for (int k = 0; k < 4; k++) {
        long long v;
        if (!nums[k])
            continue;
        v = strtoll(nums[k], &end, 10);
        if (*end || !*nums[k]) {
            json_decref(body);
            fprintf(stderr, "fota-admin: %s must be a number, got \"%s\"\n", num_opts[k],
                    nums[k]);
            return EX_USAGE;
        }
        json_object_set_new(body, num_fields[k], json_integer(v));
    }
    if (downgrade)
        json_object_set_new(body, "allow_downgrade", json_true());
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = admin_call("POST", "/api/admin/rollouts", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK)
        admin_print_result(raw, o, print_rollout);
    free(raw);
    json_decref(o);
    return ex;
}

int admin_cmd_rollout_action(const char *action, int argc, char **argv)
{
    const char *id = NULL, *reason = NULL;
    json_t *body, *o = NULL;
    char *raw = NULL, *js_body, *end;
    long long rid;
    int ex;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--reason") && i + 1 < argc)
            reason = argv[++i];
        else if (argv[i][0] == '-' || id)
            return admin_usage("rollout pause|resume|abort ID [--reason TEXT]");
        else
            id = argv[i];
    }
    if (!id)
        return admin_usage("rollout pause|resume|abort needs a rollout ID");
    rid = strtoll(id, &end, 10);
    if (*end || rid <= 0)
        return admin_usage("ID must be a rollout id (a positive number)");
    body = json_pack("{s:I, s:s}", "rollout", (json_int_t)rid, "action", action);
    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = admin_call("POST", "/api/admin/rollout-actions", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK)
        admin_print_result(raw, o, print_rollout);
    free(raw);
    json_decref(o);
    return ex;
}


/* Whole file into a NUL-terminated buffer (at most 64 MiB), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n = 0, cap = 0, k;
    if (!f)
        return NULL;
    do {
        if (n + 65536 + 1 > cap) {
            char *q = cap > (64u << 20) ? NULL : realloc(b, cap = cap ? 2 * cap : 131072);
            if (!q) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = q;
        }
        k = fread(b + n, 1, 65536, f);
        n += k;
    } while (k > 0);
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

/* The provisioning record of one device for the factory: DIR/<id>.json,
 * mode 0600 (it holds the device key). */
static int export_device(const char *dir, json_t *d, const char *ca, const char *pub)
{
    char path[1200];
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", admin_js(d, "id"), "key", admin_js(d, "key"), "server",
                          admin_server_url);
    char *text;
    int fd, ok;
    json_object_set_new(o, "chip", json_string(admin_js(d, "chip")));
    json_object_set_new(o, "ca", ca ? json_string(ca) : json_null());
    json_object_set_new(o, "sign_pubkey", pub ? json_string(pub) : json_null());
    text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    snprintf(path, sizeof path, "%s/%s.json", dir, admin_js(d, "id"));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ok = fd >= 0 && text && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
         write(fd, "\n", 1) == 1 && fchmod(fd, 0600) == 0;
    if (fd >= 0)
        close(fd);
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
    if (!ok)
        fprintf(stderr, "fota-admin: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

int admin_cmd_device_import(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL, *ca_path = NULL, *pub_path = NULL;
    char *body, *ca = NULL, *pub = NULL, *raw = NULL;
    size_t len, n, i;
    json_t *o = NULL, *d;
    int ex, csv;

    for (int k = 0; k < argc; k++) {
        if (!strcmp(argv[k], "--export") && k + 1 < argc)
            dir = argv[++k];
        else if (!strcmp(argv[k], "--device-ca") && k + 1 < argc)
            ca_path = argv[++k];
        else if (!strcmp(argv[k], "--sign-pub") && k + 1 < argc)
            pub_path = argv[++k];
        else if (argv[k][0] == '-' || file)
            return admin_usage("device import FILE [--export DIR] [--device-ca PEM] [--sign-pub PUB]");
        else
            file = argv[k];
    }
    if (!file)
        return admin_usage("device import needs a FILE (.csv or .json)");
    if (!(body = slurp(file, &len))) {
        fprintf(stderr, "fota-admin: cannot read %s\n", file);
        return EX_LOCAL;
    }
    if ((ca_path && !(ca = slurp(ca_path, &n))) || (pub_path && !(pub = slurp(pub_path, &n)))) {
        fprintf(stderr, "fota-admin: cannot read %s\n", ca && !pub ? pub_path : ca_path);
        free(body), free(ca);
        return EX_LOCAL;
    }
    if (dir && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "fota-admin: cannot create %s: %s\n", dir, strerror(errno));
        free(body), free(ca), free(pub);
        return EX_LOCAL;
    }
    csv = len >= 4 && !strcmp(file + strlen(file) - 4, ".csv");
    admin_body_ctype = csv ? "Content-Type: text/csv" : NULL;
    ex = admin_call("POST", "/api/admin/device-import", body, NULL, 0, &o, &raw);
    free(body);
    if (ex == EX_OK) {
        if (admin_json) {
            printf("%s\n", raw);
        } else {
            printf("%-6s %-24s %-8s %s\n", "LINE", "ID", "RESULT", "DETAIL");
            json_array_foreach(json_object_get(o, "devices"), i, d)
                printf("%-6lld %-24s %-8s %s\n", admin_ji(d, "line"), admin_js(d, "id"), admin_js(d, "result"),
                       json_is_string(json_object_get(d, "error")) ? admin_js(d, "error") : "");
            printf("%lld created, %lld already registered, %lld refused\n", admin_ji(o, "created"),
                   admin_ji(o, "existing"), admin_ji(o, "failed"));
        }
        if (dir) {
            size_t written = 0;
            if (pub)
                pub[strcspn(pub, "\r\n")] = '\0';
            json_array_foreach(json_object_get(o, "devices"), i, d)
                if (json_is_string(json_object_get(d, "key"))) {
                    if (export_device(dir, d, ca, pub) < 0) {
                        ex = EX_LOCAL;
                        break;
                    }
                    written++;
                }
            fprintf(stderr, "provisioning records: %zu written to %s (they hold device keys)\n",
                    written, dir);
        }
        if (ex == EX_OK && admin_ji(o, "failed") > 0)
            ex = EX_REFUSED;
    }
    if (raw)
        explicit_bzero(raw, strlen(raw));
    free(raw);
    json_decref(o);
    free(ca), free(pub);
    return ex;
}

int admin_cmd_device_tag(int argc, char **argv)
{
    const char *id = NULL;
    json_t *add = json_array(), *rem = json_array(), *body, *o = NULL;
    char *raw = NULL, *text;
    int ex;

    for (int k = 0; k < argc; k++) {
        if (!strcmp(argv[k], "--add") && k + 1 < argc)
            json_array_append_new(add, json_string(argv[++k]));
        else if (!strcmp(argv[k], "--remove") && k + 1 < argc)
            json_array_append_new(rem, json_string(argv[++k]));
        else if (argv[k][0] == '-' || id) {
            json_decref(add), json_decref(rem);
            return admin_usage("device tag ID [--add TAG ...] [--remove TAG ...]");
        } else
            id = argv[k];
    }
    if (!id) {
        json_decref(add), json_decref(rem);
        return admin_usage("device tag needs an ID");
    }
    body = json_pack("{s:s, s:o, s:o}", "device", id, "add", add, "remove", rem);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = admin_call("POST", "/api/admin/device-tags", text, NULL, 0, &o, &raw);
    free(text);
    if (ex == EX_OK) {
        if (admin_json) {
            printf("%s\n", raw);
        } else {
            size_t i;
            json_t *t;
            printf("device %s tags:", admin_js(o, "id"));
            json_array_foreach(json_object_get(o, "tags"), i, t)
                printf(" %s", json_string_value(t));
            printf("\n");
        }
    }
    free(raw);
    json_decref(o);
    return ex;
}

static void audit_row(json_t *a)
{
    char res[48];
    snprintf(res, sizeof res, "%lld%s%s", admin_ji(a, "status"), *admin_js(a, "result") != '-' ? " " : "",
             *admin_js(a, "result") != '-' ? admin_js(a, "result") : "");
    printf("%-6lld %-20s %-12s %-6s %-30s %-22s %s\n", admin_ji(a, "id"), admin_js(a, "at"), admin_js(a, "who"),
           admin_js(a, "method"), admin_js(a, "path"), res, admin_js(a, "detail"));
}

int admin_cmd_audit(int argc, char **argv)
{
    char path[128] = "/api/admin/audit";
    const char *limit = NULL, *before = NULL;
    char *end;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = argv[++i];
        else if (!strcmp(argv[i], "--before") && i + 1 < argc)
            before = argv[++i];
        else
            return admin_usage("audit [--limit N] [--before ID]");
    }
    if ((limit && (strtoul(limit, &end, 10) == 0 || *end)) ||
        (before && (strtoul(before, &end, 10) == 0 || *end)))
        return admin_usage("--limit and --before take positive numbers");
    if (limit || before)
        snprintf(path + strlen(path), sizeof path - strlen(path), "?%s%s%s%s%s",
                 limit ? "limit=" : "", limit ? limit : "", limit && before ? "&" : "",
                 before ? "before=" : "", before ? before : "");
    if (!admin_json)
        printf("%-6s %-20s %-12s %-6s %-30s %-22s %s\n", "ID", "AT", "WHO", "METHOD", "PATH",
               "RESULT", "DETAIL");
    return admin_show(path, audit_row, "audit");
}

/* show, and with --watch S: clear and show again every S seconds until the
 * rollout is no longer running or paused */
int admin_cmd_rollout_show(int argc, char **argv)
{
    const char *id = NULL;
    char path[512], *end;
    long watch = 0;
    int ex;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--watch") && i + 1 < argc) {
            watch = strtol(argv[++i], &end, 10);
            if (*end || watch <= 0 || watch > 3600)
                return admin_usage("--watch takes 1..3600 seconds");
        } else if (argv[i][0] == '-' || id) {
            return admin_usage("rollout show ID [--watch S]");
        } else {
            id = argv[i];
        }
    }
    if (!id || admin_path_with_id(path, sizeof path, "/api/admin/rollouts", id) < 0)
        return admin_usage("rollout show needs a rollout ID");
    for (;;) {
        json_t *o = NULL;
        char *raw = NULL;
        const char *state;
        ex = admin_call("GET", path, NULL, NULL, 0, &o, &raw);
        if (ex != EX_OK)
            return ex;
        if (watch && !admin_json && isatty(STDOUT_FILENO))
            printf("\033[H\033[J");
        admin_print_result(raw, o, print_rollout);
        fflush(stdout);
        state = admin_js(o, "state");
        int done = strcmp(state, "running") != 0 && strcmp(state, "paused") != 0;
        free(raw);
        json_decref(o);
        if (!watch || done)
            return EX_OK;
        sleep((unsigned)watch);
        if (!admin_json && !isatty(STDOUT_FILENO))
            printf("\n");
    }
}

int admin_cmd_rollout_list(void)
{
    if (!admin_json)
        rollout_list_header();
    return admin_show("/api/admin/rollouts", rollout_row, "rollouts");
}
