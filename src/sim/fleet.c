/*
 * fleet.c - `fota-fleet`, a fleet simulator: N simulated ESP32s, each the
 * real libfota core on its own small NOR flash (RAM-backed, 192 KB: nvs,
 * otadata, the 3-sector fota journal partition, two 64 KB app slots) with the simulator's bootloader, against a
 * real fota-server over HTTP. It registers the devices, uploads synthetic
 * releases (sim_mkimage), runs one staged rollout per --release through the
 * admin API, and drives the fleet in rounds until each rollout ends; then it
 * checks every device and prints a summary.
 *
 * A round gives each device at most one power-on (poll probability
 * --poll, so polls are jittered across rounds): the bootloader runs; a trial
 * image is confirmed by a healthy device, or dies before confirming on a
 * device whose self-test fails on that release (a seeded share, --release
 * VERSION:SHARE), so the next power-on rolls it back and reports it; else
 * the device checks and installs what it is offered. Faults, all seeded:
 * link drops (a request fails before it is sent, or its answer is cut after
 * a random number of bytes; the core retries), power cuts (flash operation
 * k of an update is the last; the next power-on resumes) and devices that
 * stay offline for a number of rounds.
 *
 * At the end every device is booted once more, offline: it must boot a
 * verified image, and that image must be the version it last confirmed (the
 * new release, or the one it ran before). Exit status: 0 when every check
 * holds and every rollout ended as --expect says; 1 otherwise; 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "device.h"
#include "mkimage.h"
#include "simrand.h"
#include "admin_http.h" /* src/server: the admin API request fota-admin makes too */

#define FLEET_FLASH_SIZE 0x30000u
#define FLEET_IMAGE_SIZE 32768u
#define RELEASES_MAX 8
#define ROUNDS_MAX_DEFAULT 400

static const char fleet_csv[] =
    "# Name,   Type, SubType, Offset,  Size, Flags\n"
    "nvs,      data, nvs,     0x9000,  0x2000,\n"
    "otadata,  data, ota,     0xB000,  0x2000,\n"
    "fota,     data, undefined,0xD000, 0x3000,\n"
    "app0,     app,  ota_0,   0x10000, 0x10000,\n"
    "app1,     app,  ota_1,   0x20000, 0x10000,\n";

struct release {
    char version[32];
    double fail_share;   /* devices whose self-test fails on it */
    long long id;        /* on the server */
    long long rollout;
    char end_state[16];
    double seconds;
};

struct fdev {
    char id[24];
    uint8_t key[32];
    uint8_t *mem;               /* the flash */
    uint32_t rng;
    int offline_until;          /* round */
    char confirmed[32];         /* version it last confirmed (or was provisioned with) */
    int trial_crashed;          /* a trial image died before confirming: next boot rolls back */
    int pending;                /* installed: the next power-on (at once) boots it on trial */
    char cut_confirming[32];    /* power was cut while confirming this version */
    uint64_t polls, drops, cuts, installs, confirms, rollbacks, offers, confirms_unreported;
    long long offered_release;  /* last offer seen by this device */
};

struct opts {
    const char *server, *token, *stages;
    int devices, threads, min_devices, max_failure_pct, deadline, max_rounds;
    double poll, drop, cut, offline;
    int offline_rounds;
    uint32_t seed;
    int server_pid;
    int quiet;
    const char *expect;
    const char *acked; /* --acked FILE: every status answered 2xx, a line each */
};

static struct opts o = {.devices = 100, .threads = 4, .stages = "1%,10%,50%,100%",
                        .min_devices = 5, .max_failure_pct = 10, .deadline = 600,
                        .max_rounds = ROUNDS_MAX_DEFAULT, .poll = 0.7, .seed = 1,
                        .offline_rounds = 10};
static struct release rel[RELEASES_MAX];
static int nrel;
static struct fdev *devs;
static uint8_t images[RELEASES_MAX + 1][FLEET_IMAGE_SIZE]; /* [0]: provisioned */
static FILE *acked_f;                 /* --acked */
static pthread_mutex_t acked_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- admin API (libcurl + jansson) ------------------------------------------- */

/* One admin call; the parsed answer, or NULL (printed) when it is not the
 * expected status. */
static json_t *admin(const char *method, const char *path, const void *body, size_t len,
                     const char *ctype, long want)
{
    struct curl_slist *h = NULL;
    struct admin_http_buf b = {NULL, 0};
    char url[512], ct[80];
    long status = 0;
    json_t *j = NULL;
    CURL *c;

    snprintf(url, sizeof url, "%s%s", o.server, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    c = admin_http_open(method, url, o.token, &h, &b);
    if (!c) {
        curl_slist_free_all(h);
        fprintf(stderr, "fota-fleet: %s %s: curl cannot start\n", method, path);
        return NULL;
    }
    h = curl_slist_append(h, ct);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == want)
        j = json_loads(b.p ? b.p : "{}", 0, NULL);
    else
        fprintf(stderr, "fota-fleet: %s %s: HTTP %ld (expected %ld): %s\n", method, path, status,
                want, b.p ? b.p : "(no answer)");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(b.p);
    return j;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* --- the device's faults: a transport in front of the curl one --------------- */

struct ctx {
    struct sim_device d; /* first: the curl transport and device.c find theirs here */
    struct fota_curl curl;
    struct fdev *dev;
    struct nor_flash *fl;  /* dead after a power cut: so is the radio */
    int (*get)(const struct fota_config *, const char *, const struct fota_http_header *,
               unsigned, fota_body_fn, void *, int *);
    int (*post)(const struct fota_config *, const char *, const struct fota_http_header *,
                unsigned, const char *, uint32_t, int *);
};

static double urand(uint32_t *s)
{
    return (double)(xs_next(s) >> 8) / (double)(1u << 24);
}

struct cut_sink {
    fota_body_fn fn;
    void *arg;
    uint32_t left; /* bytes before the link drops */
};

static int cut_body(void *arg, const uint8_t *data, uint32_t len)
{
    struct cut_sink *c = arg;
    if (len >= c->left) {
        if (c->left)
            c->fn(c->arg, data, c->left);
        return FOTA_ERR_NET;
    }
    c->left -= len;
    return c->fn(c->arg, data, len);
}

static int faulty_get(const struct fota_config *cfg, const char *path,
                      const struct fota_http_header *h, unsigned nh, fota_body_fn fn, void *arg,
                      int *status)
{
    struct ctx *x = (struct ctx *)cfg->context;
    struct fdev *d = x->dev;
    if (x->fl->dead)
        return FOTA_ERR_POWER_LOST; /* the power is off: nothing more goes out */
    if (o.drop > 0 && urand(&d->rng) < o.drop) {
        d->drops++;
        if (xs_next(&d->rng) & 1)
            return FOTA_ERR_NET; /* before it was sent */
        struct cut_sink c = {fn, arg, xs_next(&d->rng) % 8192};
        return x->get(cfg, path, h, nh, cut_body, &c, status); /* cut in the answer */
    }
    return x->get(cfg, path, h, nh, fn, arg, status);
}

static int faulty_post(const struct fota_config *cfg, const char *path,
                       const struct fota_http_header *h, unsigned nh, const char *body,
                       uint32_t len, int *status)
{
    struct ctx *x = (struct ctx *)cfg->context;
    struct fdev *d = x->dev;
    if (x->fl->dead)
        return FOTA_ERR_POWER_LOST; /* the power is off: nothing more goes out */
    if (o.drop > 0 && urand(&d->rng) < o.drop) {
        d->drops++;
        return FOTA_ERR_NET;
    }
    int rc = x->post(cfg, path, h, nh, body, len, status);
    /* the statuses the server acknowledged, for a test to find in its
     * database (tests/server/test_threenode.c): "ID<TAB>BODY" */
    if (acked_f && rc == FOTA_OK && *status >= 200 && *status < 300 && strstr(path, "/status")) {
        pthread_mutex_lock(&acked_mu);
        fprintf(acked_f, "%s\t%.*s\n", d->id, (int)len, body);
        fflush(acked_f);
        pthread_mutex_unlock(&acked_mu);
    }
    return rc;
}

/* --- one power-on ----------------------------------------------------------------- */

/* Whether dev's self-test fails on a release of this version. */
static int fails_on(const struct fdev *d, const char *version)
{
    for (int i = 0; i < nrel; i++)
        if (!strcmp(rel[i].version, version)) {
            uint32_t s, h = 2166136261u; /* FNV-1a of the id, then the release */
            for (const char *p = d->id; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
            s = (h ^ (uint32_t)(i + 1) * 0x85ebca6bu ^ o.seed) | 1u;
            xs_next(&s);
            xs_next(&s);
            return urand(&s) < rel[i].fail_share;
        }
    return 0;
}

static void power_on(struct ctx *x, struct fdev *d, int network)
{
    struct nor_flash fl;
    struct fota_offer offer;
    int rc;

    nor_open_mem(&fl, d->mem, FLEET_FLASH_SIZE);
    memset(&x->curl, 0, sizeof x->curl);
    x->d.curl = NULL;
    if (network && fota_curl_open(&x->curl, o.server) == 0)
        x->d.curl = &x->curl;
    sim_device_setup(&x->d, &fl, FOTA_CHIP_ESP32, d->id, d->key);
    x->d.no_sleep = 1;
    x->dev = d;
    x->fl = &fl;
    d->polls++;
    /* a power cut in this power-on: after flash operation k */
    if (network && o.cut > 0 && urand(&d->rng) < o.cut) {
        fl.cut_after = 1 + xs_next(&d->rng) % 48;
        fl.seed = xs_next(&d->rng);
    }
    rc = sim_device_power_on(&x->d);
    if (network && x->d.curl) {
        x->get = x->d.cfg.http_get;
        x->post = x->d.cfg.http_post;
        x->d.cfg.http_get = faulty_get;
        x->d.cfg.http_post = faulty_post;
    }
    if (rc == FOTA_ERR_POWER_LOST) {
        d->cuts++;
        goto off;
    }
    if (rc) {
        /* the final check reports it: an unbootable device */
        goto off;
    }
    d->pending = 0;
    /* a cut right after the otadata write of a confirm: the image is valid
     * (the device did confirm) though no report went out */
    if (d->cut_confirming[0] && !strcmp(x->d.boot.info.version, d->cut_confirming) &&
        x->d.boot.ota_state == FOTA_OTA_VALID) {
        snprintf(d->confirmed, sizeof d->confirmed, "%s", d->cut_confirming);
        d->confirms_unreported++;
    }
    d->cut_confirming[0] = '\0';
    if (x->d.boot.aborted) {
        d->rollbacks++;
        d->trial_crashed = 0;
    }
    if (!network)
        goto off;
    if (x->d.boot.ota_state == FOTA_OTA_PENDING_VERIFY) {
        if (fails_on(d, x->d.boot.info.version)) {
            d->trial_crashed = 1; /* dies before it can confirm */
            goto off;
        }
        rc = fota_confirm(&x->d.fota);
        if (rc == FOTA_OK) {
            d->confirms++;
            snprintf(d->confirmed, sizeof d->confirmed, "%s", x->d.boot.info.version);
        } else if (rc == FOTA_ERR_POWER_LOST) {
            d->cuts++;
            snprintf(d->cut_confirming, sizeof d->cut_confirming, "%s", x->d.boot.info.version);
        }
        goto off;
    }
    if (fota_phase(&x->d.fota) == FOTA_PHASE_INSTALLED)
        goto off; /* installed, the switch is made: the next power-on boots it */
    rc = fota_check(&x->d.fota, x->d.boot.info.version, &offer);
    if (rc || !offer.update)
        goto off;
    d->offers++;
    d->offered_release = offer.release;
    rc = fota_run(&x->d.fota, &offer);
    if (rc == FOTA_OK) {
        d->installs++;
        d->pending = 1;
    } else if (rc == FOTA_ERR_POWER_LOST)
        d->cuts++;
off:
    if (x->d.curl)
        fota_curl_close(&x->curl);
    x->d.curl = NULL;
    nor_close(&fl);
}

/* --- rounds over the fleet, in threads --------------------------------------------- */

struct worker {
    pthread_t t;
    int first, step, round;
};

static int round_now;

static void *work(void *arg)
{
    struct worker *w = arg;
    struct ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    for (int i = w->first; i < o.devices; i += w->step) {
        struct fdev *d = &devs[i];
        if (round_now < d->offline_until)
            continue;
        /* a device whose trial image crashed, or that just installed,
         * reboots at once; the others poll when they happen to */
        if (urand(&d->rng) >= o.poll && !d->trial_crashed && !d->pending)
            continue;
        power_on(x, d, 1);
    }
    free(x);
    return NULL;
}

static void run_round(void)
{
    struct worker w[64];
    int n = o.threads < 1 ? 1 : o.threads > 64 ? 64 : o.threads;
    for (int i = 0; i < n; i++) {
        w[i].first = i;
        w[i].step = n;
        pthread_create(&w[i].t, NULL, work, &w[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(w[i].t, NULL);
}

/* --- setup ---------------------------------------------------------------------------- */

static int setup_fleet(void)
{
    char err[200];
    struct nor_flash fl;
    struct sim_mkimage_opts mo = {FOTA_CHIP_ESP32, "1.0.0", "fleet-sim", 0, 1000, 0};
    uint32_t seed = o.seed;

    if (sim_mkimage(images[0], FLEET_IMAGE_SIZE, &mo) != FOTA_OK)
        return -1;
    devs = calloc((size_t)o.devices, sizeof *devs);
    json_t *list = json_array(), *j;
    if (!devs || !list)
        return -1;
    for (int i = 0; i < o.devices; i++) {
        struct fdev *d = &devs[i];
        snprintf(d->id, sizeof d->id, "sim-%05d", i);
        d->rng = seed = seed * 1664525u + 1013904223u;
        if (!d->rng)
            d->rng = 1;
        xs_next(&d->rng);
        if (o.offline > 0 && urand(&d->rng) < o.offline)
            d->offline_until = 1 + (int)(xs_next(&d->rng) % (uint32_t)o.offline_rounds);
        snprintf(d->confirmed, sizeof d->confirmed, "1.0.0");
        d->mem = malloc(FLEET_FLASH_SIZE);
        if (!d->mem)
            return -1;
        memset(d->mem, 0xFF, FLEET_FLASH_SIZE);
        nor_open_mem(&fl, d->mem, FLEET_FLASH_SIZE);
        if (sim_provision(&fl, NULL, fleet_csv, images[0], FLEET_IMAGE_SIZE, FOTA_CHIP_ESP32, err,
                          sizeof err) != FOTA_OK) {
            fprintf(stderr, "fota-fleet: provision: %s\n", err);
            return -1;
        }
        nor_close(&fl);
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", d->id, "chip", "esp32"));
    }
    /* one bulk registration (POST /api/admin/device-import): the keys come back */
    {
        json_t *doc = json_pack("{s:o}", "devices", list), *rows;
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        j = text ? admin("POST", "/api/admin/device-import", text, strlen(text), NULL, 200) : NULL;
        free(text);
        rows = json_object_get(j, "devices");
        if (!j || json_array_size(rows) != (size_t)o.devices) {
            json_decref(j);
            return -1;
        }
        for (int i = 0; i < o.devices; i++)
            if (unhex(json_string_value(json_object_get(json_array_get(rows, (size_t)i), "key")),
                      devs[i].key, 32)) {
                fprintf(stderr, "fota-fleet: %s was not registered\n", devs[i].id);
                json_decref(j);
                return -1;
            }
        json_decref(j);
    }
    for (int r = 0; r < nrel; r++) {
        char path[128];
        json_t *j;
        mo.version = rel[r].version;
        mo.seed = 2000 + (uint32_t)r;
        if (sim_mkimage(images[r + 1], FLEET_IMAGE_SIZE, &mo) != FOTA_OK)
            return -1;
        snprintf(path, sizeof path, "/api/admin/releases?version=%s", rel[r].version);
        j = admin("POST", path, images[r + 1], FLEET_IMAGE_SIZE, "application/octet-stream", 201);
        if (!j)
            return -1;
        rel[r].id = json_integer_value(json_object_get(j, "id"));
        json_decref(j);
    }
    return 0;
}

/* --- progress ------------------------------------------------------------------------- */

static long long sum_stage(json_t *ro, const char *what)
{
    long long n = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ro, "stages"), i, s)
        n += json_integer_value(json_object_get(s, what));
    return n;
}

static void print_stages(json_t *ro)
{
    size_t i;
    json_t *s;
    printf("  %-5s %-6s %7s %7s %9s %6s %11s %9s\n", "STAGE", "UPTO", "DEVICES", "OFFERED",
           "CONFIRMED", "FAILED", "ROLLED_BACK", "TIMED_OUT");
    json_array_foreach(json_object_get(ro, "stages"), i, s)
        printf("  %-5lld %-6s %7lld %7lld %9lld %6lld %11lld %9lld\n",
               (long long)json_integer_value(json_object_get(s, "stage")),
               json_string_value(json_object_get(s, "upto")),
               (long long)json_integer_value(json_object_get(s, "devices")),
               (long long)json_integer_value(json_object_get(s, "offered")),
               (long long)json_integer_value(json_object_get(s, "confirmed")),
               (long long)json_integer_value(json_object_get(s, "failed")),
               (long long)json_integer_value(json_object_get(s, "rolled_back")),
               (long long)json_integer_value(json_object_get(s, "timed_out")));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether every device is done for now: no trial to boot or roll back, no
 * device still offline. */
static int settled(void)
{
    for (int i = 0; i < o.devices; i++)
        if (devs[i].trial_crashed || devs[i].pending || round_now < devs[i].offline_until)
            return 0;
    return 1;
}

static int run_rollout(struct release *r)
{
    char body[512], path[64];
    json_t *ro;
    int quiet_rounds = 0, fails = 0;
    double t0 = now_s();

    snprintf(body, sizeof body,
             "{\"release\":%lld,\"all\":true,\"stages\":\"%s\",\"min_devices\":%d,"
             "\"max_failure_pct\":%d,\"deadline\":%d}",
             r->id, o.stages, o.min_devices, o.max_failure_pct, o.deadline);
    ro = admin("POST", "/api/admin/rollouts", body, strlen(body), NULL, 201);
    if (!ro)
        return -1;
    r->rollout = json_integer_value(json_object_get(ro, "id"));
    json_decref(ro);
    printf("rollout %lld: release %lld (%s, self-test fails on %.1f%% of devices), stages %s, "
           "halt above %d%% after %d finished; created in %.0f ms\n", r->rollout, r->id,
           r->version, r->fail_share * 100, o.stages, o.max_failure_pct, o.min_devices,
           (now_s() - t0) * 1000);
    snprintf(path, sizeof path, "/api/admin/rollouts/%lld", r->rollout);
    for (round_now = 1; round_now <= o.max_rounds; round_now++) {
        const char *state;
        run_round();
        ro = admin("GET", path, NULL, 0, NULL, 200);
        if (!ro)
            return -1;
        state = json_string_value(json_object_get(ro, "state"));
        if (!o.quiet)
            printf("  round %3d: %-9s stage %lld/%zu  offered %5lld  confirmed %5lld  failed %3lld"
                   "  rolled_back %3lld  timed_out %3lld\n", round_now, state,
                   (long long)json_integer_value(json_object_get(ro, "current_stage")),
                   json_array_size(json_object_get(ro, "stages")), sum_stage(ro, "offered"),
                   sum_stage(ro, "confirmed"), sum_stage(ro, "failed"),
                   sum_stage(ro, "rolled_back"), sum_stage(ro, "timed_out"));
        if (strcmp(state, "running") != 0 && settled())
            quiet_rounds++;
        else
            quiet_rounds = 0;
        if (quiet_rounds >= 2) {
            snprintf(r->end_state, sizeof r->end_state, "%s", state);
            r->seconds = now_s() - t0;
            printf("rollout %lld %s after %d rounds, %.1f s: %s\n", r->rollout, state, round_now,
                   r->seconds, json_string_value(json_object_get(ro, "reason")));
            print_stages(ro);
            /* a halted rollout: nobody outside the stage it halted in was offered */
            if (!strcmp(state, "halted")) {
                size_t i;
                json_t *s;
                long long cur = json_integer_value(json_object_get(ro, "current_stage"));
                json_array_foreach(json_object_get(ro, "stages"), i, s)
                    if ((long long)i + 1 > cur && json_integer_value(json_object_get(s, "offered"))) {
                        printf("FAIL: stage %zu of halted rollout %lld was offered the release\n",
                               i + 1, r->rollout);
                        fails++;
                    }
            }
            json_decref(ro);
            return fails;
        }
        json_decref(ro);
    }
    snprintf(r->end_state, sizeof r->end_state, "unfinished");
    r->seconds = now_s() - t0;
    printf("rollout %lld did not end within %d rounds\n", r->rollout, o.max_rounds);
    return 1;
}

/* Every device once more, offline: it boots a verified image, the one it
 * last confirmed. */
static int final_check(void)
{
    int bricks = 0, wrong = 0;
    struct tally {
        char v[32];
        int n;
    } t[RELEASES_MAX + 2];
    int nt = 0;

    for (int i = 0; i < o.devices; i++) {
        struct fdev *d = &devs[i];
        struct nor_flash fl;
        struct sim_boot_result b;
        int k;
        nor_open_mem(&fl, d->mem, FLEET_FLASH_SIZE);
        if (sim_boot(&fl, NULL, FOTA_CHIP_ESP32, &b) != FOTA_OK) {
            printf("FAIL: %s does not boot: %s\n", d->id, b.why);
            bricks++;
            nor_close(&fl);
            continue;
        }
        nor_close(&fl);
        /* the exact bytes of the release with that version (each release's
         * image is made here, so its bytes are known) */
        const uint8_t *want = strcmp(b.info.version, "1.0.0") == 0 ? images[0] : NULL;
        for (int r = 0; !want && r < nrel; r++)
            if (strcmp(rel[r].version, b.info.version) == 0)
                want = images[r + 1];
        if (!want || b.offset + FLEET_IMAGE_SIZE > FLEET_FLASH_SIZE ||
            memcmp(d->mem + b.offset, want, FLEET_IMAGE_SIZE) != 0) {
            printf("FAIL: %s boots %s, not the exact bytes of that release\n", d->id,
                   b.info.version);
            wrong++;
        }
        if (strcmp(b.info.version, d->confirmed) != 0 ||
            b.ota_state == FOTA_OTA_PENDING_VERIFY) {
            printf("FAIL: %s boots %s (%s), it last confirmed %s\n", d->id, b.info.version,
                   fota_ota_state_name(b.ota_state), d->confirmed);
            wrong++;
        }
        for (k = 0; k < nt && strcmp(t[k].v, b.info.version); k++)
            ;
        if (k == nt && nt < RELEASES_MAX + 2) {
            snprintf(t[nt].v, sizeof t[nt].v, "%s", b.info.version);
            t[nt++].n = 0;
        }
        if (k < nt)
            t[k].n++;
    }
    printf("devices boot:");
    for (int k = 0; k < nt; k++)
        printf(" %s x %d", t[k].v, t[k].n);
    printf("; unbootable: %d; not what they confirmed: %d\n", bricks, wrong);
    return bricks + wrong;
}

static void server_usage(void)
{
    char p[64], line[256];
    FILE *f;
    long long hwm = -1, rss = -1;
    unsigned long long ut = 0, st = 0;

    if (!o.server_pid)
        return;
    snprintf(p, sizeof p, "/proc/%d/status", o.server_pid);
    if ((f = fopen(p, "r"))) {
        while (fgets(line, sizeof line, f)) {
            sscanf(line, "VmHWM: %lld", &hwm);
            sscanf(line, "VmRSS: %lld", &rss);
        }
        fclose(f);
    }
    snprintf(p, sizeof p, "/proc/%d/stat", o.server_pid);
    if ((f = fopen(p, "r"))) {
        if (fgets(line, sizeof line, f)) {
            char *q = strrchr(line, ')');
            if (q)
                sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
        }
        fclose(f);
    }
    printf("server: peak RSS %lld KiB (now %lld KiB), CPU %.2f s user + %.2f s system\n", hwm,
           rss, (double)ut / (double)sysconf(_SC_CLK_TCK),
           (double)st / (double)sysconf(_SC_CLK_TCK));
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "fota-fleet: %s\n", why);
    fprintf(why ? stderr : stdout,
            "usage: fota-fleet --server URL --token T --release VERSION[:FAIL_SHARE] ...\n"
            "                  [--devices N] [--stages LIST] [--min-devices N]\n"
            "                  [--max-failure-pct P] [--deadline S] [--threads N]\n"
            "                  [--poll P] [--drop P] [--cut P] [--offline P]\n"
            "                  [--offline-rounds R] [--max-rounds R] [--seed S]\n"
            "                  [--server-pid PID] [--expect STATE,...] [--quiet]\n"
            "                  [--acked FILE]\n"
            "  --release V:S  a rollout of a new release V, whose self-test fails on a share S\n"
            "                 (0..1) of the devices (they roll back); repeat for more\n"
            "  --poll P       chance a device powers on and polls in a round (default 0.7)\n"
            "  --drop P       chance a request fails or its answer is cut (default 0)\n"
            "  --cut P        chance a power-on loses power during flash operations (0)\n"
            "  --offline P    share of devices offline for the first 1..R rounds (0)\n"
            "  --expect LIST  how each rollout must end, e.g. completed,halted\n"
            "  --server-pid   report the server's peak RSS and CPU time\n"
            "  --acked FILE   write every status the server answered 2xx to FILE\n");
    return 2;
}

static double parse_share(const char *s, int *bad)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || v < 0 || v > 1)
        *bad = 1;
    return v;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'}, {"token", 1, 0, 't'}, {"release", 1, 0, 'r'},
        {"devices", 1, 0, 'n'}, {"stages", 1, 0, 'S'}, {"min-devices", 1, 0, 'm'},
        {"max-failure-pct", 1, 0, 'M'}, {"deadline", 1, 0, 'D'}, {"threads", 1, 0, 'T'},
        {"poll", 1, 0, 'p'}, {"drop", 1, 0, 'd'}, {"cut", 1, 0, 'c'}, {"offline", 1, 0, 'o'},
        {"offline-rounds", 1, 0, 'O'}, {"max-rounds", 1, 0, 'R'}, {"seed", 1, 0, 'e'},
        {"server-pid", 1, 0, 'P'}, {"expect", 1, 0, 'x'}, {"quiet", 0, 0, 'q'},
        {"acked", 1, 0, 'a'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch, bad = 0, fails = 0;
    double t0;

    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 's': o.server = optarg; break;
        case 't': o.token = optarg; break;
        case 'r': {
            char *colon = strchr(optarg, ':');
            if (nrel == RELEASES_MAX)
                return usage("at most 8 releases");
            snprintf(rel[nrel].version, sizeof rel[nrel].version, "%.*s",
                     colon ? (int)(colon - optarg) : (int)strlen(optarg), optarg);
            rel[nrel].fail_share = colon ? parse_share(colon + 1, &bad) : 0;
            if (!rel[nrel].version[0] || !strcmp(rel[nrel].version, "1.0.0"))
                bad = 1;
            nrel++;
            break;
        }
        case 'n': o.devices = atoi(optarg); bad |= o.devices < 1 || o.devices > 100000; break;
        case 'S': o.stages = optarg; break;
        case 'm': o.min_devices = atoi(optarg); break;
        case 'M': o.max_failure_pct = atoi(optarg); break;
        case 'D': o.deadline = atoi(optarg); break;
        case 'T': o.threads = atoi(optarg); break;
        case 'p': o.poll = parse_share(optarg, &bad); bad |= o.poll <= 0; break;
        case 'd': o.drop = parse_share(optarg, &bad); break;
        case 'c': o.cut = parse_share(optarg, &bad); break;
        case 'o': o.offline = parse_share(optarg, &bad); break;
        case 'O': o.offline_rounds = atoi(optarg); bad |= o.offline_rounds < 1; break;
        case 'R': o.max_rounds = atoi(optarg); bad |= o.max_rounds < 1; break;
        case 'e': o.seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'P': o.server_pid = atoi(optarg); break;
        case 'a': o.acked = optarg; break;
        case 'x': o.expect = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(NULL); return 0;
        default: return usage("unknown option or missing value");
        }
    }
    if (bad)
        return usage("a value is out of range (shares are 0..1; versions other than 1.0.0)");
    if (!o.server || !o.token || !nrel)
        return usage("--server, --token and at least one --release are required");
    if (o.acked && !(acked_f = fopen(o.acked, "w"))) {
        fprintf(stderr, "fota-fleet: cannot write %s\n", o.acked);
        return 2;
    }
    fota_posix_log_level = FOTA_LOG_ERROR - 1; /* the devices are many: silence */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setvbuf(stdout, NULL, _IOLBF, 0);

    t0 = now_s();
    if (setup_fleet() < 0) {
        fprintf(stderr, "fota-fleet: setting up the fleet failed\n");
        return 1;
    }
    printf("fleet: %d devices on 1.0.0 (%u-byte images, %u-byte flash each), seed %u, "
           "poll %.2f, drop %.3f, cut %.3f, offline %.2f; set up in %.1f s\n", o.devices,
           FLEET_IMAGE_SIZE, FLEET_FLASH_SIZE, o.seed, o.poll, o.drop, o.cut, o.offline,
           now_s() - t0);
    for (int r = 0; r < nrel; r++) {
        int f = run_rollout(&rel[r]);
        if (f < 0)
            return 1;
        fails += f;
    }
    fails += final_check();
    {
        unsigned long long polls = 0, drops = 0, cuts = 0, inst = 0, conf = 0, rb = 0, unrep = 0;
        for (int i = 0; i < o.devices; i++) {
            polls += devs[i].polls, drops += devs[i].drops, cuts += devs[i].cuts;
            inst += devs[i].installs, conf += devs[i].confirms, rb += devs[i].rollbacks;
            unrep += devs[i].confirms_unreported;
        }
        printf("devices: %llu power-ons, %llu link drops, %llu power cuts, %llu installs, "
               "%llu confirmed (+%llu confirmed in flash, then cut before the report), "
               "%llu rolled back\n", polls, drops, cuts, inst, conf, unrep, rb);
    }
    printf("wall time: %.1f s\n", now_s() - t0);
    server_usage();
    if (o.expect) {
        const char *p = o.expect;
        for (int r = 0; r < nrel; r++) {
            size_t n = strcspn(p, ",");
            if (strlen(rel[r].end_state) != n || strncmp(rel[r].end_state, p, n)) {
                printf("FAIL: rollout %lld (%s) ended %s, expected %.*s\n", rel[r].rollout,
                       rel[r].version, rel[r].end_state, (int)n, p);
                fails++;
            }
            p += n + (p[n] == ',');
        }
    }
    printf("%s\n", fails ? "fota-fleet: FAILED" : "fota-fleet: all checks passed");
    for (int i = 0; i < o.devices; i++)
        free(devs[i].mem);
    free(devs);
    curl_global_cleanup();
    return fails ? 1 : 0;
}
