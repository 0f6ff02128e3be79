/*
 * admin_main.c - fota-admin, the operator's command-line client of the
 * fota-server admin API (libcurl + jansson).
 *
 * Exit codes, for scripts: 0 ok, 1 usage error, 2 the server refused the
 * request (4xx; its message is printed), 3 server or network failure (5xx,
 * cannot connect), 4 local error (file unreadable). A file to upload is
 * opened and checked before anything is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

enum { EX_OK = 0, EX_USAGE = 1, EX_REFUSED = 2, EX_SERVER = 3, EX_LOCAL = 4 };

static const char *server_url;
static char token[512];
static int opt_json, opt_progress;

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "fota-admin: %s\n", why);
    fprintf(why ? stderr : stdout,
            "usage: fota-admin [--server URL] [--token T | --token-file F] [--json] [--progress]\n"
            "                  COMMAND\n"
            "commands:\n"
            "  release add FILE [--version V] [--slot-size N] [--chunk-size N]\n"
            "  release list\n"
            "  release show ID\n"
            "  device add ID [--chip esp32]\n"
            "  device list\n"
            "  device show ID\n"
            "  deploy RELEASE (--device ID ... | --chip CHIP)\n"
            "  deployment list\n"
            "  status [DEVICE]\n"
            "environment: FOTA_SERVER (default http://127.0.0.1:8080), FOTA_ADMIN_TOKEN\n"
            "exit codes: 0 ok, 1 usage, 2 refused by the server (4xx), 3 server or network\n"
            "            failure (5xx, connect), 4 local error (file unreadable)\n");
    return why ? EX_USAGE : EX_OK;
}

/* --- HTTP ------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t n;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct buf *b = ud;
    char *q = realloc(b->p, b->n + sz * n + 1);
    if (!q)
        return 0;
    memcpy(q + b->n, p, sz * n);
    b->p = q;
    b->n += sz * n;
    b->p[b->n] = '\0';
    return sz * n;
}

static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)ud;
    (void)dlt;
    (void)dln;
    if (ult > 0) {
        int pct = (int)(uln * 100 / ult), bars = pct * 30 / 100;
        fprintf(stderr, "\rupload [%.*s%*s] %3d%% %lld/%lld bytes", bars,
                "##############################", 30 - bars, "", pct, (long long)uln,
                (long long)ult);
        if (uln == ult)
            fprintf(stderr, "\n");
    }
    return 0;
}

/* Call the admin API. upload: a file to stream as the body (size len), or
 * json: a JSON body. On success *out is the parsed answer (may be NULL) and
 * *raw its text. */
static int call(const char *method, const char *path, const char *json, FILE *upload,
                curl_off_t len, json_t **out, char **raw)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct buf b = {NULL, 0};
    char url[2048], auth[600], errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc;
    int ex;

    if (!c)
        return EX_LOCAL;
    snprintf(url, sizeof url, "%s%s", server_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hl = curl_slist_append(hl, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (upload) {
        hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
        /* so a refusal (413, 401, bad query) comes before the bytes are sent */
        hl = curl_slist_append(hl, "Expect: 100-continue");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, len);
        if (opt_progress || isatty(STDERR_FILENO)) {
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        }
    } else if (json) {
        hl = curl_slist_append(hl, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);

    if (rc != CURLE_OK && status == 0) {
        fprintf(stderr, "fota-admin: cannot reach %s: %s\n", server_url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        free(b.p);
        return EX_SERVER;
    }
    if (status >= 200 && status < 300) {
        if (out)
            *out = b.n ? json_loadb(b.p, b.n, 0, NULL) : NULL;
        if (raw)
            *raw = b.p;
        else
            free(b.p);
        return EX_OK;
    }
    json_t *e = b.n ? json_loadb(b.p, b.n, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(e, "error"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    ex = status >= 400 && status < 500 ? EX_REFUSED : EX_SERVER;
    fprintf(stderr, "fota-admin: %s (HTTP %ld %s): %s\n",
            ex == EX_REFUSED ? "refused by the server" : "server failure", status,
            code ? code : "", msg ? msg : (b.p ? b.p : "(no message)"));
    json_decref(e);
    free(b.p);
    return ex;
}

/* --- output ----------------------------------------------------------------- */

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : "-";
}

static long long ji(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void print_release(json_t *r)
{
    printf("release %lld\n  version:    %s\n  chip:       %s\n  size:       %lld bytes\n"
           "  chunks:     %lld x %lld bytes\n  slot size:  %lld bytes\n  sha256:     %s\n"
           "  project:    %s\n  idf:        %s\n  created:    %s\n",
           ji(r, "id"), js(r, "version"), js(r, "chip"), ji(r, "size"), ji(r, "total_chunks"),
           ji(r, "chunk_size"), ji(r, "slot_size"), js(r, "sha256"), js(r, "project"),
           js(r, "idf_ver"), js(r, "created_at"));
}

static void progress_text(json_t *d, char *out, size_t n)
{
    json_t *t = json_object_get(d, "total_chunks");
    if (json_is_integer(t) && json_integer_value(t) > 0)
        snprintf(out, n, "%lld/%lld (%lld%%)", ji(d, "chunks_received"), json_integer_value(t),
                 ji(d, "chunks_received") * 100 / json_integer_value(t));
    else
        snprintf(out, n, "-");
}

static void print_device_table(json_t *list)
{
    size_t i;
    json_t *d;
    char prog[64];
    printf("%-24s %-8s %-16s %-12s %-8s %-20s %s\n", "ID", "CHIP", "VERSION", "STATE", "RELEASE",
           "PROGRESS", "LAST SEEN");
    json_array_foreach(list, i, d) {
        char rel[24];
        progress_text(d, prog, sizeof prog);
        json_t *r = json_object_get(d, "release");
        snprintf(rel, sizeof rel, json_is_integer(r) ? "%lld" : "-", json_integer_value(r));
        printf("%-24s %-8s %-16s %-12s %-8s %-20s %s\n", js(d, "id"), js(d, "chip"),
               js(d, "current_version"), js(d, "state"), rel, prog, js(d, "last_seen"));
    }
}

static void print_device(json_t *d)
{
    char prog[64];
    size_t i;
    json_t *h;
    json_t *off = json_object_get(d, "offered_release");
    progress_text(d, prog, sizeof prog);
    printf("device %s\n  chip:             %s\n  current version:  %s\n"
           "  reported version: %s\n",
           js(d, "id"), js(d, "chip"), js(d, "current_version"), js(d, "reported_version"));
    if (json_is_integer(off))
        printf("  offered release:  %lld\n", json_integer_value(off));
    else
        printf("  offered release:  -\n");
    printf("  state:            %s\n  progress:         %s\n  last error:       %s\n"
           "  last seen:        %s\n  registered:       %s\n",
           js(d, "state"), prog, js(d, "last_error"), js(d, "last_seen"), js(d, "created_at"));
    json_t *hist = json_object_get(d, "history");
    if (json_array_size(hist)) {
        printf("  history (newest first):\n");
        json_array_foreach(hist, i, h)
            printf("    %s  release %lld  %-12s chunks %lld%s%s\n", js(h, "at"),
                   ji(h, "release"), js(h, "state"), ji(h, "chunks_received"),
                   json_string_value(json_object_get(h, "error"))[0] ? "  error " : "",
                   json_string_value(json_object_get(h, "error")));
    }
}

static void print_deployment(json_t *d)
{
    size_t i;
    json_t *v;
    printf("deployment %lld: release %lld to ", ji(d, "id"), ji(d, "release"));
    if (json_is_string(json_object_get(d, "chip")))
        printf("every %s device", js(d, "chip"));
    else
        json_array_foreach(json_object_get(d, "devices"), i, v)
            printf("%s%s", i ? ", " : "", json_string_value(v));
    printf(" (%s)\n", js(d, "created_at"));
}

/* Run a GET and print it with fn (or raw with --json). */
static int show(const char *path, void (*fn)(json_t *), const char *key)
{
    json_t *o = NULL;
    char *raw = NULL;
    int ex = call("GET", path, NULL, NULL, 0, &o, &raw);
    if (ex == EX_OK) {
        if (opt_json) {
            printf("%s\n", raw);
        } else if (key) {
            size_t i;
            json_t *v;
            json_array_foreach(json_object_get(o, key), i, v) fn(v);
        } else {
            fn(o);
        }
    }
    free(raw);
    json_decref(o);
    return ex;
}

static void release_row(json_t *r)
{
    printf("%-5lld %-24s %-8s %10lld %6lld  %.16s  %s\n", ji(r, "id"), js(r, "version"),
           js(r, "chip"), ji(r, "size"), ji(r, "total_chunks"), js(r, "sha256"),
           js(r, "created_at"));
}

static void device_list_printer(json_t *o)
{
    print_device_table(json_object_get(o, "devices"));
}

/* --- commands ------------------------------------------------------------------ */

static int print_result(const char *raw, json_t *o, void (*fn)(json_t *))
{
    if (opt_json)
        printf("%s\n", raw ? raw : "");
    else
        fn(o);
    return EX_OK;
}

static int url_escape(const char *in, char *out, size_t n)
{
    CURL *c = curl_easy_init();
    char *e = curl_easy_escape(c, in, 0);
    int ok = e && strlen(e) < n;
    if (ok)
        strcpy(out, e);
    curl_free(e);
    curl_easy_cleanup(c);
    return ok ? 0 : -1;
}

static int cmd_release_add(int argc, char **argv)
{
    const char *file = NULL, *version = NULL, *slot = NULL, *chunk = NULL;
    char path[1024], esc[512];
    struct stat st;
    FILE *f;
    json_t *o = NULL;
    char *raw = NULL;
    int ex;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--version") && i + 1 < argc)
            version = argv[++i];
        else if (!strcmp(argv[i], "--slot-size") && i + 1 < argc)
            slot = argv[++i];
        else if (!strcmp(argv[i], "--chunk-size") && i + 1 < argc)
            chunk = argv[++i];
        else if (argv[i][0] == '-' || file)
            return usage("release add FILE [--version V] [--slot-size N] [--chunk-size N]");
        else
            file = argv[i];
    }
    if (!file)
        return usage("release add needs a FILE");
    f = fopen(file, "rb");
    if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "fota-admin: cannot read %s: %s\n", file,
                f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return EX_LOCAL;
    }
    snprintf(path, sizeof path, "/api/admin/releases?");
    if (version) {
        if (url_escape(version, esc, sizeof esc) < 0) {
            fclose(f);
            return usage("--version too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "version=%s&", esc);
    }
    if (slot) {
        if (url_escape(slot, esc, sizeof esc) < 0) {
            fclose(f);
            return usage("--slot-size too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "slot_size=%s&", esc);
    }
    if (chunk) {
        if (url_escape(chunk, esc, sizeof esc) < 0) {
            fclose(f);
            return usage("--chunk-size too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "chunk_size=%s&", esc);
    }
    path[strlen(path) - 1] = '\0'; /* trailing '?' or '&' */
    ex = call("POST", path, NULL, f, (curl_off_t)st.st_size, &o, &raw);
    fclose(f);
    if (ex == EX_OK)
        print_result(raw, o, print_release);
    free(raw);
    json_decref(o);
    return ex;
}

static int cmd_device_add(int argc, char **argv)
{
    const char *id = NULL, *chip = "esp32";
    json_t *body, *o = NULL;
    char *raw = NULL, *js_body;
    int ex;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i];
        else if (argv[i][0] == '-' || id)
            return usage("device add ID [--chip CHIP]");
        else
            id = argv[i];
    }
    if (!id)
        return usage("device add needs an ID");
    body = json_pack("{s:s, s:s}", "id", id, "chip", chip);
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = call("POST", "/api/admin/devices", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK) {
        if (opt_json) {
            printf("%s\n", raw);
        } else {
            printf("device %s (%s) registered\nkey: %s\n", js(o, "id"), js(o, "chip"),
                   js(o, "key"));
            fprintf(stderr,
                    "This key is shown once and only here: provision it on the device now\n"
                    "(the device sends X-Device-Id: %s and\n"
                    " X-Device-Token: hex(HMAC-SHA256(key, \"token:%s\"))).\n",
                    js(o, "id"), js(o, "id"));
        }
    }
    free(raw);
    json_decref(o);
    return ex;
}

static int cmd_deploy(int argc, char **argv)
{
    const char *release = NULL, *chip = NULL;
    json_t *devs = json_array(), *body, *o = NULL;
    char *raw = NULL, *js_body, *end;
    long long rid;
    int ex;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            json_array_append_new(devs, json_string(argv[++i]));
        else if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i];
        else if (argv[i][0] == '-' || release) {
            json_decref(devs);
            return usage("deploy RELEASE (--device ID ... | --chip CHIP)");
        } else
            release = argv[i];
    }
    if (!release || (!chip == !json_array_size(devs))) {
        json_decref(devs);
        return usage("deploy RELEASE needs either --device ID (repeatable) or --chip CHIP");
    }
    rid = strtoll(release, &end, 10);
    if (*end || rid <= 0) {
        json_decref(devs);
        return usage("RELEASE must be a release id (a positive number)");
    }
    if (chip) {
        body = json_pack("{s:I, s:s}", "release", (json_int_t)rid, "chip", chip);
        json_decref(devs);
    } else {
        body = json_pack("{s:I, s:o}", "release", (json_int_t)rid, "devices", devs);
    }
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = call("POST", "/api/admin/deployments", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK)
        print_result(raw, o, print_deployment);
    free(raw);
    json_decref(o);
    return ex;
}

static int path_with_id(char *path, size_t n, const char *prefix, const char *id)
{
    char esc[256];
    if (url_escape(id, esc, sizeof esc) < 0)
        return -1;
    snprintf(path, n, "%s/%s", prefix, esc);
    return 0;
}

static void release_list_header(void)
{
    printf("%-5s %-24s %-8s %10s %6s  %-16s  %s\n", "ID", "VERSION", "CHIP", "SIZE", "CHUNKS",
           "SHA256", "CREATED");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'},
        {"progress", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *tok = NULL, *tok_file = NULL;
    char path[512];
    int c, ex;

    opterr = 0;
    server_url = getenv("FOTA_SERVER");
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 's': server_url = optarg; break;
        case 't': tok = optarg; break;
        case 'f': tok_file = optarg; break;
        case 'j': opt_json = 1; break;
        case 'p': opt_progress = 1; break;
        case 'h': return usage(NULL);
        default: return usage("unknown option or missing value");
        }
    }
    if (optind >= argc)
        return usage("no command given");
    if (!server_url || !*server_url)
        server_url = "http://127.0.0.1:8080";
    static char url_buf[1024];
    snprintf(url_buf, sizeof url_buf, "%s", server_url);
    while (strlen(url_buf) && url_buf[strlen(url_buf) - 1] == '/')
        url_buf[strlen(url_buf) - 1] = '\0';
    server_url = url_buf;

    if (tok_file) {
        FILE *f = fopen(tok_file, "r");
        if (!f || !fgets(token, sizeof token, f)) {
            fprintf(stderr, "fota-admin: cannot read token file %s: %s\n", tok_file,
                    f ? "empty" : strerror(errno));
            if (f)
                fclose(f);
            return EX_LOCAL;
        }
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
    } else if (tok) {
        snprintf(token, sizeof token, "%s", tok);
    } else if (getenv("FOTA_ADMIN_TOKEN")) {
        snprintf(token, sizeof token, "%s", getenv("FOTA_ADMIN_TOKEN"));
    }

    /* --json and --progress may also follow the command */
    char **av = argv + optind;
    int ac = 0;
    for (int i = optind; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            opt_json = 1;
        else if (!strcmp(argv[i], "--progress"))
            opt_progress = 1;
        else
            av[ac++] = argv[i];
    }
    if (ac == 0)
        return usage("no command given");
    const char *cmd = av[0], *sub = ac > 1 ? av[1] : "";
    if (!strcmp(cmd, "help"))
        return usage(NULL);
    if (!token[0])
        return usage("no admin token: give --token, --token-file or set FOTA_ADMIN_TOKEN");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!strcmp(cmd, "release") && !strcmp(sub, "add")) {
        ex = cmd_release_add(ac - 2, av + 2);
    } else if (!strcmp(cmd, "release") && !strcmp(sub, "list") && ac == 2) {
        if (!opt_json)
            release_list_header();
        ex = show("/api/admin/releases", release_row, "releases");
    } else if (!strcmp(cmd, "release") && !strcmp(sub, "show") && ac == 3) {
        ex = path_with_id(path, sizeof path, "/api/admin/releases", av[2]) < 0
                 ? usage("bad ID")
                 : show(path, print_release, NULL);
    } else if (!strcmp(cmd, "device") && !strcmp(sub, "add")) {
        ex = cmd_device_add(ac - 2, av + 2);
    } else if ((!strcmp(cmd, "device") && !strcmp(sub, "list") && ac == 2) ||
               (!strcmp(cmd, "status") && ac == 1)) {
        ex = show("/api/admin/devices", device_list_printer, NULL);
    } else if ((!strcmp(cmd, "device") && !strcmp(sub, "show") && ac == 3) ||
               (!strcmp(cmd, "status") && ac == 2)) {
        ex = path_with_id(path, sizeof path, "/api/admin/devices", av[ac - 1]) < 0
                 ? usage("bad ID")
                 : show(path, print_device, NULL);
    } else if (!strcmp(cmd, "deploy") && ac >= 2) {
        ex = cmd_deploy(ac - 1, av + 1);
    } else if (!strcmp(cmd, "deployment") && !strcmp(sub, "list") && ac == 2) {
        ex = show("/api/admin/deployments", print_deployment, "deployments");
    } else {
        ex = usage("unknown command or wrong arguments");
    }
    curl_global_cleanup();
    return ex;
}
