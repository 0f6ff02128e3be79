/*
 * test_crash.c - crash_server_kill: a seeded SIGKILL campaign against the
 * real fota-server (see docs/crash.md).
 *
 *   test_crash FOTA_SERVER FOTA_MKIMAGE [--seed S] [--rounds R]
 *
 * Every round starts fota-server on the same folder (db, data, master key,
 * admin token), first checks everything acknowledged so far through the API,
 * then runs concurrent load (release uploads, device status storms, admin
 * device adds and deployments) and SIGKILLs the server after a delay drawn
 * from the seed. Right after the kill a copy of the database (db + WAL) is
 * opened with SQLite (WAL recovery), integrity-checked and searched for every
 * acknowledged write; the server itself then recovers the original files at
 * the next round's start.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "harness.h"

extern char **environ;

/* --- seeded randomness --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static unsigned rng_range(uint64_t *s, unsigned lo, unsigned hi) /* [lo, hi] */
{
    return lo + (unsigned)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- state shared by the load threads ------------------------------------ */

#define N_STORM 4      /* devices posting statuses */
#define N_UPLOADERS 2  /* concurrent release uploads */
#define MAX_IMG 2048
#define MAX_DEV 4096
#define MAX_DEPL 4096

enum img_state { IMG_NEW, IMG_SENT, IMG_ACKED, IMG_PRESENT };

struct img {
    char path[320];
    size_t size;
    char sha[65];
    char version[40];
    int state;       /* enum img_state */
    int round;       /* round it was acked in */
    long long rid;   /* release id once known */
    int checked;     /* file + chunks verified through the server */
};

struct status_rec {
    char err[48];
    int round;
};

struct storm {
    struct dev d;
    struct status_rec *v;
    size_t n, cap;
};

struct added_dev {
    struct dev d;
    int round;
    int checked;
};

static const char *mkimage_bin;
static struct srv S;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct img imgs[MAX_IMG];
static int nimg;
static struct storm storms[N_STORM];
static struct added_dev devs[MAX_DEV];
static int ndev;
static long long depls[MAX_DEPL];
static int depl_round[MAX_DEPL];
static int ndepl;
static long long base_rid;      /* release the status storms report on */
static long base_chunks;
static struct dev fetcher;      /* device every release is deployed to for chunk checks */
static atomic_int stop_load;
static int cur_round;
static uint64_t round_seed;

/* figures */
static long tot_uploads_acked, tot_status_acked, tot_dev_acked, tot_depl_acked;
static long tot_uploads_unacked_present, tot_tmp_left_after_start, tot_orphans_max;
static double max_admin_ms, max_status_ms;
static long offers_checked, tot_status_refused, tot_upload_other, tot_admin_other, tot_chunks_checked;

static void auth_header(char *buf, size_t n)
{
    snprintf(buf, n, "Authorization: Bearer %s", h_admin_token);
}

/* --- images -------------------------------------------------------------- */

static void sha256_hex(const uint8_t *data, size_t n, char out[65])
{
    uint8_t sha[32];
    CHECK(mbedtls_sha256_ret(data, n, sha, 0) == 0, "sha256");
    h_hex(sha, 32, out);
}

static void make_image(uint64_t *rng)
{
    CHECK(nimg < MAX_IMG, "too many images");
    struct img *m = &imgs[nimg];
    unsigned size = rng_range(rng, 100 * 1024 / 16, 600 * 1024 / 16) * 16;
    char ssize[32], sseed[32];
    snprintf(m->path, sizeof m->path, "%s/gen/img-%d.bin", S.dir, nimg);
    snprintf(m->version, sizeof m->version, "9.%d.%d", cur_round, nimg);
    snprintf(ssize, sizeof ssize, "%u", size);
    snprintf(sseed, sizeof sseed, "%llu", (unsigned long long)(rng_next(rng) & 0xFFFFFFFFu));
    const char *argv[] = {mkimage_bin, "-o", m->path, "--size", ssize, "--version", m->version,
                          "--seed", sseed, NULL};
    pid_t pid;
    int st;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    CHECK(posix_spawn(&pid, mkimage_bin, &fa, NULL, (char *const *)argv, environ) == 0,
          "spawn %s", mkimage_bin);
    posix_spawn_file_actions_destroy(&fa);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "fota-mkimage failed (%d)", st);
    size_t n;
    uint8_t *b = h_read_file(m->path, &n);
    CHECK(n == size, "mkimage size %zu != %u", n, size);
    m->size = n;
    sha256_hex(b, n, m->sha);
    free(b);
    m->state = IMG_NEW;
    nimg++;
}

/* Next image for an uploader: a retry of an unacknowledged one first (the
 * realistic client reaction), else a fresh one. -1 if none left. */
static int take_image(void)
{
    int pick = -1;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nimg && pick < 0; i++)
        if (imgs[i].state == IMG_SENT && imgs[i].round != cur_round) {
            pick = i;
            imgs[i].round = cur_round; /* taken this round */
        }
    for (int i = 0; i < nimg && pick < 0; i++)
        if (imgs[i].state == IMG_NEW) {
            pick = i;
            imgs[i].state = IMG_SENT;
            imgs[i].round = cur_round;
        }
    pthread_mutex_unlock(&mu);
    return pick;
}

static void *uploader(void *arg)
{
    (void)arg;
    char auth[128], url[512];
    const char *hdrs[] = {auth, "Content-Type: application/octet-stream", NULL};
    auth_header(auth, sizeof auth);
    while (!atomic_load(&stop_load)) {
        int i = take_image();
        if (i < 0)
            break;
        struct img *m = &imgs[i];
        size_t n;
        uint8_t *b = h_read_file(m->path, &n);
        struct resp r;
        snprintf(url, sizeof url, "%s/api/admin/releases?version=%s", S.url, m->version);
        int rc = h_http(&r, "POST", url, hdrs, b, n);
        free(b);
        if (rc != 0) {
            resp_free(&r);
            break; /* killed */
        }
        if (r.status == 201 || r.status == 409) {
            json_t *j = json_loadb(r.body, r.len, 0, NULL);
            if (r.status == 201) {
                CHECK(j, "upload 201 without JSON");
                const char *sha = json_string_value(json_object_get(j, "sha256"));
                CHECK(sha && strcmp(sha, m->sha) == 0, "upload answered sha256 %s, sent %s",
                      sha ? sha : "(none)", m->sha);
                CHECK(json_integer_value(json_object_get(j, "size")) == (json_int_t)m->size,
                      "upload answered size %lld, sent %zu",
                      (long long)json_integer_value(json_object_get(j, "size")), m->size);
            }
            pthread_mutex_lock(&mu);
            if (r.status == 201) {
                m->rid = json_integer_value(json_object_get(j, "id"));
                m->state = IMG_ACKED;
                tot_uploads_acked++;
            } else {
                /* a retried upload whose row was committed before an earlier kill */
                m->state = IMG_PRESENT;
            }
            m->round = cur_round;
            pthread_mutex_unlock(&mu);
            json_decref(j);
        } else {
            pthread_mutex_lock(&mu);
            tot_upload_other++;
            pthread_mutex_unlock(&mu);
            fprintf(stderr, "note: upload %s answered %ld: %s\n", m->version, r.status,
                    r.body ? r.body : "");
        }
        resp_free(&r);
    }
    return NULL;
}

static const char *const st_names[] = {"downloading", "verifying", "failed"};

static void *stormer(void *arg)
{
    struct storm *w = arg;
    struct resp r;
    char body[256], err[48];
    uint64_t rng = round_seed ^ (uint64_t)(uintptr_t)w;
    for (long n = 0; !atomic_load(&stop_load); n++) {
        snprintf(err, sizeof err, "r%d-%s-%ld", cur_round, w->d.id, n);
        snprintf(body, sizeof body,
                 "{\"release\":%lld,\"state\":\"%s\",\"chunks_received\":%ld,\"error\":\"%s\"}",
                 base_rid, st_names[rng_next(&rng) % 3], (long)(rng_next(&rng) % (uint64_t)(base_chunks + 1)),
                 err);
        double t = now_s();
        if (h_dev(&w->d, &r, "POST", &S, "/api/inverter/fota/status", body) != 0) {
            resp_free(&r);
            break;
        }
        t = (now_s() - t) * 1000;
        if (r.status == 204) {
            pthread_mutex_lock(&mu);
            if (t > max_status_ms)
                max_status_ms = t;
            pthread_mutex_unlock(&mu);
            if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 1024;
                w->v = realloc(w->v, w->cap * sizeof *w->v);
                CHECK(w->v, "oom");
            }
            snprintf(w->v[w->n].err, sizeof w->v[w->n].err, "%s", err);
            w->v[w->n].round = cur_round;
            w->n++;
        } else {
            CHECK(r.status == 429 || r.status == 503, "status post answered %ld: %s", r.status,
                  r.body ? r.body : "");
            pthread_mutex_lock(&mu);
            tot_status_refused++;
            pthread_mutex_unlock(&mu);
        }
        resp_free(&r);
    }
    return NULL;
}

static int unhex32(const char *s, uint8_t out[32])
{
    if (!s || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void *admin_load(void *arg)
{
    (void)arg;
    char auth[128], url[512], body[512];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    uint64_t rng = round_seed * 31 + 7;
    auth_header(auth, sizeof auth);
    for (int k = 0; !atomic_load(&stop_load); k++) {
        struct resp r;
        int rc;
        if (k >= 60) { /* bounds the checks (and the run time) per round */
            usleep(5000);
            continue;
        }
        if (k % 3 != 2) {
            char id[40];
            snprintf(id, sizeof id, "a%d-%d", cur_round, k);
            snprintf(body, sizeof body, "{\"id\":\"%s\",\"chip\":\"esp32\"}", id);
            snprintf(url, sizeof url, "%s/api/admin/devices", S.url);
            double t = now_s();
            rc = h_http(&r, "POST", url, hdrs, body, strlen(body));
            t = (now_s() - t) * 1000;
            if (rc != 0) {
                resp_free(&r);
                break;
            }
            if (r.status == 201) {
                json_t *j = json_loadb(r.body, r.len, 0, NULL);
                uint8_t key[32];
                CHECK(j && unhex32(json_string_value(json_object_get(j, "key")), key) == 0,
                      "device add: no key: %s", r.body);
                pthread_mutex_lock(&mu);
                CHECK(ndev < MAX_DEV, "too many devices");
                h_device_creds(&devs[ndev].d, id, key);
                devs[ndev].round = cur_round;
                devs[ndev].checked = 0;
                ndev++;
                if (t > max_admin_ms)
                    max_admin_ms = t;
                tot_dev_acked++;
                pthread_mutex_unlock(&mu);
                json_decref(j);
            } else {
                pthread_mutex_lock(&mu);
                tot_admin_other++;
                pthread_mutex_unlock(&mu);
                fprintf(stderr, "note: device add %s answered %ld: %s\n", id, r.status,
                        r.body ? r.body : "");
            }
        } else {
            /* deploy a known release to one or two acknowledged devices */
            long long rid = 0;
            char d1[70] = "", d2[70] = "";
            pthread_mutex_lock(&mu);
            int cands = 0;
            for (int i = 0; i < nimg; i++)
                if (imgs[i].rid > 0)
                    cands++;
            if (cands && ndev) {
                int c = (int)(rng_next(&rng) % (uint64_t)cands);
                for (int i = 0; i < nimg; i++)
                    if (imgs[i].rid > 0 && c-- == 0)
                        rid = imgs[i].rid;
                snprintf(d1, sizeof d1, "%s", devs[rng_next(&rng) % (uint64_t)ndev].d.id);
                snprintf(d2, sizeof d2, "%s", devs[rng_next(&rng) % (uint64_t)ndev].d.id);
            }
            pthread_mutex_unlock(&mu);
            if (!rid)
                rid = base_rid, snprintf(d1, sizeof d1, "%s", storms[0].d.id),
                snprintf(d2, sizeof d2, "%s", storms[1].d.id);
            if (strcmp(d1, d2) == 0)
                snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\"]}", rid, d1);
            else
                snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\",\"%s\"]}",
                         rid, d1, d2);
            snprintf(url, sizeof url, "%s/api/admin/deployments", S.url);
            rc = h_http(&r, "POST", url, hdrs, body, strlen(body));
            if (rc != 0) {
                resp_free(&r);
                break;
            }
            if (r.status == 201) {
                json_t *j = json_loadb(r.body, r.len, 0, NULL);
                CHECK(j, "deploy: no JSON");
                pthread_mutex_lock(&mu);
                CHECK(ndepl < MAX_DEPL, "too many deployments");
                depls[ndepl] = json_integer_value(json_object_get(j, "id"));
                depl_round[ndepl] = cur_round;
                ndepl++;
                tot_depl_acked++;
                pthread_mutex_unlock(&mu);
                json_decref(j);
            } else {
                pthread_mutex_lock(&mu);
                tot_admin_other++;
                pthread_mutex_unlock(&mu);
                fprintf(stderr, "note: deploy %s answered %ld: %s\n", body, r.status,
                        r.body ? r.body : "");
            }
        }
        resp_free(&r);
    }
    return NULL;
}

/* --- checks after the kill, on a copy of the crashed database ------------ */

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out;
    char buf[65536];
    ssize_t n;
    unlink(to);
    if (in < 0) {
        CHECK(errno == ENOENT, "open %s: %s", from, strerror(errno));
        return;
    }
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(out >= 0, "create %s", to);
    while ((n = read(in, buf, sizeof buf)) > 0)
        CHECK(write(out, buf, (size_t)n) == n, "write %s", to);
    close(in);
    close(out);
}

static sqlite3 *open_check(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK, "open %s: %s",
          path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 10000);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK,
          "integrity_check prepare: %s", sqlite3_errmsg(db));
    CHECK(sqlite3_step(st) == SQLITE_ROW, "integrity_check row: %s", sqlite3_errmsg(db));
    CHECK(strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0,
          "PRAGMA integrity_check on %s: %s", path, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) == SQLITE_OK,
          "foreign_key_check prepare");
    CHECK(sqlite3_step(st) == SQLITE_DONE, "PRAGMA foreign_key_check: violation in table %s",
          sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return db;
}

static long long sql_count(sqlite3 *db, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st;
    long long n;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
          sqlite3_errmsg(db));
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    CHECK(sqlite3_step(st) == SQLITE_ROW, "%s: no row", sql);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A status post's place in its device's sequence, from its error text
 * "r<round>-<device>-<n>": later posts compare greater. */
static long long post_order(const char *err)
{
    int round = -1;
    const char *dash = err ? strrchr(err, '-') : NULL;
    if (!err || sscanf(err, "r%d-", &round) != 1 || !dash)
        return -1;
    return (long long)round * 100000000LL + atoll(dash + 1);
}

/* The store keeps one row per state transition (a repeat of the newest
 * row's release and state updates it) and at most STORE_HISTORY_KEEP rows
 * per device (src/server/store.h): so the last acknowledged status of each
 * storm device, or a later post that reached the store before the kill, is
 * its newest row, and the rows stay within the bound. */
#define HISTORY_KEEP 200
static void check_storm_rows(sqlite3 *db, struct storm *w, int from_round)
{
    sqlite3_stmt *st;
    const struct status_rec *last = NULL;
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].round >= from_round)
            last = &w->v[i];
    CHECK(sql_count(db, "SELECT COUNT(*) FROM status_history WHERE device_id=?", w->d.id,
                    NULL) <= HISTORY_KEEP,
          "%s has more than %d status rows", w->d.id, HISTORY_KEEP);
    if (!last)
        return;
    CHECK(sqlite3_prepare_v2(db, "SELECT error FROM status_history WHERE device_id=? ORDER BY "
                                 "id DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK, "prepare");
    sqlite3_bind_text(st, 1, w->d.id, -1, SQLITE_TRANSIENT);
    CHECK(sqlite3_step(st) == SQLITE_ROW, "%s: no status row, %s got 204", w->d.id, last->err);
    const char *e = (const char *)sqlite3_column_text(st, 0);
    CHECK(post_order(e) >= post_order(last->err),
          "status %s of %s got 204 but the newest row is the older %s (round %d)", last->err,
          w->d.id, e ? e : "(null)", last->round);
    sqlite3_finalize(st);
}

/* Every write acknowledged in rounds >= from_round is in db. */
static void check_db_acks(sqlite3 *db, int from_round)
{
    char idbuf[32];
    for (int w = 0; w < N_STORM; w++)
        check_storm_rows(db, &storms[w], from_round);
    for (int i = 0; i < nimg; i++)
        if ((imgs[i].state == IMG_ACKED || imgs[i].state == IMG_PRESENT) &&
            imgs[i].round >= from_round)
            CHECK(sql_count(db, "SELECT COUNT(*) FROM releases WHERE sha256=?", imgs[i].sha,
                            NULL) == 1,
                  "release %s (version %s) got 201 but has no row", imgs[i].sha,
                  imgs[i].version);
    for (int i = 0; i < ndev; i++)
        if (devs[i].round >= from_round)
            CHECK(sql_count(db, "SELECT COUNT(*) FROM devices WHERE id=?", devs[i].d.id, NULL) ==
                      1,
                  "device %s got 201 but has no row", devs[i].d.id);
    for (int i = 0; i < ndepl; i++)
        if (depl_round[i] >= from_round) {
            snprintf(idbuf, sizeof idbuf, "%lld", depls[i]);
            CHECK(sql_count(db, "SELECT COUNT(*) FROM deployments WHERE id=CAST(? AS INTEGER)",
                            idbuf, NULL) == 1,
                  "deployment %lld got 201 but has no row", depls[i]);
        }
}

static void check_crashed_copy(void)
{
    char from[400], to[400];
    snprintf(to, sizeof to, "%s/check", S.dir);
    mkdir(to, 0755);
    static const char *const sfx[] = {"", "-wal"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/db.sqlite%s", S.dir, sfx[i]);
        snprintf(to, sizeof to, "%s/check/db.sqlite%s", S.dir, sfx[i]);
        copy_file(from, to);
    }
    snprintf(to, sizeof to, "%s/check/db.sqlite-shm", S.dir);
    unlink(to);
    snprintf(to, sizeof to, "%s/check/db.sqlite", S.dir);
    sqlite3 *db = open_check(to);
    check_db_acks(db, cur_round);
    sqlite3_close(db);
}

/* --- checks through the restarted server --------------------------------- */

static size_t count_dir(const char *path, const char *prefix)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0))
            n++;
    closedir(d);
    return n;
}

static void check_chunks(long long rid, const char *sha_hex, const uint8_t *file, size_t size,
                         long chunk_size, uint64_t *rng)
{
    uint8_t sha[32];
    char hex[65], path[160];
    long total = (long)((size + (size_t)chunk_size - 1) / (size_t)chunk_size);
    long picks[3] = {0, total - 1, (long)(rng_next(rng) % (uint64_t)total)};
    CHECK(unhex32(sha_hex, sha) == 0, "sha hex");
    for (int k = 0; k < 3; k++) {
        long n = picks[k];
        struct resp r;
        size_t dl;
        snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%ld&release=%lld", n, rid);
        CHECK(h_dev(&fetcher, &r, "GET", &S, path, NULL) == 0, "chunk fetch transport");
        CHECK(r.status == 200, "release %lld chunk %ld after restart: %ld %s", rid, n, r.status,
              r.body ? r.body : "");
        json_t *j = json_loads(r.body, 0, NULL);
        CHECK(j, "chunk JSON");
        uint8_t *data = h_b64decode(json_string_value(json_object_get(j, "data")), &dl);
        size_t want = (size_t)n * (size_t)chunk_size + (size_t)chunk_size <= size
                          ? (size_t)chunk_size
                          : size - (size_t)n * (size_t)chunk_size;
        CHECK(dl == want && memcmp(data, file + (size_t)n * (size_t)chunk_size, dl) == 0,
              "release %lld chunk %ld: bytes differ from images/%s", rid, n, sha_hex);
        h_chunk_hmac(fetcher.key, sha, (uint32_t)n, data, dl, hex);
        CHECK(strcmp(hex, json_string_value(json_object_get(j, "hmac"))) == 0,
              "release %lld chunk %ld: hmac", rid, n);
        free(data);
        json_decref(j);
        resp_free(&r);
        tot_chunks_checked++;
    }
}

struct verified {
    char sha[65];
};
static struct verified *ver;
static size_t nver, capver;

static int already_verified(const char *sha)
{
    for (size_t i = 0; i < nver; i++)
        if (strcmp(ver[i].sha, sha) == 0)
            return 1;
    return 0;
}

/* Returns the number of tmp/ leftovers right after the start. */
static void check_via_api(int prev_round, uint64_t *rng, size_t *tmp_left, size_t *orphans)
{
    char p[400], body[200];
    struct resp r;

    snprintf(p, sizeof p, "%s/data/tmp", S.dir);
    *tmp_left = count_dir(p, NULL);

    /* releases: every listed one has its exact bytes, and is servable */
    json_t *list = h_admin(&S, "GET", "/api/admin/releases", NULL, 200);
    json_t *arr = json_object_get(list, "releases"), *rel;
    size_t idx;
    CHECK(json_is_array(arr), "releases list");
    json_array_foreach(arr, idx, rel) {
        long long rid = json_integer_value(json_object_get(rel, "id"));
        const char *sha = json_string_value(json_object_get(rel, "sha256"));
        long long size = json_integer_value(json_object_get(rel, "size"));
        long chunk_size = (long)json_integer_value(json_object_get(rel, "chunk_size"));
        CHECK(sha && strlen(sha) == 64 && size > 0 && chunk_size > 0, "release %lld fields", rid);
        snprintf(p, sizeof p, "%s/data/images/%s", S.dir, sha);
        struct stat sb;
        CHECK(stat(p, &sb) == 0, "release %lld is listed but images/%s is missing", rid, sha);
        CHECK(sb.st_size == size, "release %lld: images/%s has %lld bytes, row says %lld", rid,
              sha, (long long)sb.st_size, size);
        pthread_mutex_lock(&mu);
        for (int i = 0; i < nimg; i++)
            if (strcmp(imgs[i].sha, sha) == 0) {
                CHECK(imgs[i].size == (size_t)size, "release %lld size %lld, uploaded %zu", rid,
                      size, imgs[i].size);
                if (imgs[i].state == IMG_SENT) {
                    /* committed although the 201 never came: fine, no longer pending */
                    tot_uploads_unacked_present++;
                    imgs[i].state = IMG_PRESENT;
                    imgs[i].round = -1; /* not an ack; don't count it */
                }
                if (imgs[i].state == IMG_ACKED)
                    CHECK(imgs[i].rid == rid, "release %s got 201 as id %lld, listed as %lld",
                          sha, imgs[i].rid, rid);
                imgs[i].rid = rid;
            }
        pthread_mutex_unlock(&mu);
        if (already_verified(sha))
            continue;
        size_t n;
        uint8_t *b = h_read_file(p, &n);
        char got[65];
        sha256_hex(b, n, got);
        CHECK(strcmp(got, sha) == 0, "release %lld: images/%s has SHA-256 %s", rid, sha, got);
        /* deploy to the fetcher and read chunks back */
        snprintf(body, sizeof body, "{\"release\":%lld,\"devices\":[\"%s\"]}", rid, fetcher.id);
        json_decref(h_admin(&S, "POST", "/api/admin/deployments", body, 201));
        check_chunks(rid, sha, b, n, chunk_size, rng);
        free(b);
        if (nver == capver) {
            capver = capver ? 2 * capver : 64;
            ver = realloc(ver, capver * sizeof *ver);
        }
        snprintf(ver[nver++].sha, sizeof ver->sha, "%s", sha);
    }
    /* every acknowledged upload is listed */
    for (int i = 0; i < nimg; i++)
        if (imgs[i].state == IMG_ACKED || imgs[i].state == IMG_PRESENT) {
            int found = 0;
            json_array_foreach(arr, idx, rel)
                found |= strcmp(json_string_value(json_object_get(rel, "sha256")),
                                imgs[i].sha) == 0;
            CHECK(found, "release %s (version %s, 201 in round %d) is not listed", imgs[i].sha,
                  imgs[i].version, imgs[i].round);
        }
    /* files in images/ without a row: allowed (crash between rename and insert) */
    snprintf(p, sizeof p, "%s/data/images", S.dir);
    *orphans = count_dir(p, NULL) - json_array_size(arr);

    /* status history through the API: the newest acknowledged post (or a
     * later one that reached the store before the kill) is the newest row */
    for (int w = 0; w < N_STORM; w++) {
        snprintf(p, sizeof p, "/api/admin/devices/%s", storms[w].d.id);
        json_t *dj = h_admin(&S, "GET", p, NULL, 200);
        json_t *hist = json_object_get(dj, "history");
        CHECK(json_is_array(hist), "history");
        const struct status_rec *last = NULL;
        for (size_t i = 0; i < storms[w].n; i++)
            if (storms[w].v[i].round == prev_round)
                last = &storms[w].v[i];
        if (last) {
            const char *e =
                json_string_value(json_object_get(json_array_get(hist, 0), "error"));
            CHECK(post_order(e) >= post_order(last->err),
                  "status %s of %s got 204 but GET /api/admin/devices shows %s as the newest",
                  last->err, storms[w].d.id, e ? e : "(none)");
        }
        json_decref(dj);
    }

    /* devices added: present, and their keys still authenticate */
    for (int i = 0; i < ndev; i++) {
        if (devs[i].checked && devs[i].round != prev_round && (rng_next(rng) % 8) != 0)
            continue; /* older ones: a sample each round */
        snprintf(p, sizeof p, "/api/admin/devices/%s", devs[i].d.id);
        json_decref(h_admin(&S, "GET", p, NULL, 200));
        CHECK(h_dev(&devs[i].d, &r, "GET", &S, "/api/inverter/fota/check?version=0.0.1", NULL) ==
                      0 &&
                  r.status == 200,
              "device %s (201 in round %d): check answered %ld %s", devs[i].d.id, devs[i].round,
              r.status, r.body ? r.body : "");
        /* an offer names a listed release with its exact size and sha256 */
        json_t *cj = json_loadb(r.body, r.len, 0, NULL);
        CHECK(cj, "check answer JSON");
        if (json_is_true(json_object_get(cj, "update"))) {
            long long orid = json_integer_value(json_object_get(cj, "release"));
            const char *osha = json_string_value(json_object_get(cj, "sha256"));
            int found = 0;
            json_array_foreach(arr, idx, rel)
                found |= json_integer_value(json_object_get(rel, "id")) == orid && osha &&
                         strcmp(json_string_value(json_object_get(rel, "sha256")), osha) == 0 &&
                         json_integer_value(json_object_get(rel, "size")) ==
                             json_integer_value(json_object_get(cj, "size"));
            CHECK(found, "device %s is offered release %lld (%s) that is not a listed release",
                  devs[i].d.id, orid, osha ? osha : "?");
            offers_checked++;
        }
        json_decref(cj);
        resp_free(&r);
        devs[i].checked = 1;
    }

    json_decref(list);

    /* deployments */
    json_t *dl = h_admin(&S, "GET", "/api/admin/deployments", NULL, 200);
    json_t *darr = json_object_get(dl, "deployments"), *dep;
    for (int i = 0; i < ndepl; i++) {
        int found = 0;
        json_array_foreach(darr, idx, dep)
            found |= json_integer_value(json_object_get(dep, "id")) == depls[i];
        CHECK(found, "deployment %lld (201 in round %d) is not listed", depls[i], depl_round[i]);
    }
    json_decref(dl);
}

/* --- main ------------------------------------------------------------------ */

static void start_server(void)
{
    const char *extra[] = {"--log-level", "warn", NULL};
    h_start(&S, extra);
}

int main(int argc, char **argv)
{
    unsigned long long seed = 0;
    int rounds = 30, have_seed = 0;
    double t0 = now_s();

    if (argc < 3) {
        fprintf(stderr, "usage: %s FOTA_SERVER FOTA_MKIMAGE [--seed S] [--rounds R]\n", argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0), have_seed = 1;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!have_seed && getenv("FOTA_CRASH_SEED"))
        seed = strtoull(getenv("FOTA_CRASH_SEED"), NULL, 0), have_seed = 1;
    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((unsigned long long)ts.tv_sec * 1000003ull) ^ (unsigned long long)ts.tv_nsec ^
               ((unsigned long long)getpid() << 20);
        seed &= 0xFFFFFFFFull;
    }
    CHECK(rounds > 0 && rounds <= 1000, "--rounds 1..1000");
    char *hargv[] = {argv[0], argv[1], (char *)"/nonexistent", NULL};
    h_init(3, hargv);
    mkimage_bin = argv[2];
    printf("crash: seed %llu, %d rounds (replay: %s SERVER MKIMAGE --seed %llu --rounds %d)\n",
           seed, rounds, argv[0], seed, rounds);

    uint64_t rng = seed;
    h_newdir(&S);
    char p[400];
    snprintf(p, sizeof p, "%s/gen", S.dir);
    CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);

    /* set-up: the storm devices, the fetcher, and a base release */
    start_server();
    for (int w = 0; w < N_STORM; w++) {
        char id[32];
        snprintf(id, sizeof id, "storm-%d", w);
        h_device_add(&S, id, "esp32", &storms[w].d);
    }
    h_device_add(&S, "fetcher", "esp32", &fetcher);
    make_image(&rng);
    {
        char auth[128], url[512];
        const char *hdrs[] = {auth, "Content-Type: application/octet-stream", NULL};
        struct resp r;
        size_t n;
        uint8_t *b = h_read_file(imgs[0].path, &n);
        auth_header(auth, sizeof auth);
        snprintf(url, sizeof url, "%s/api/admin/releases?version=%s", S.url, imgs[0].version);
        CHECK(h_http(&r, "POST", url, hdrs, b, n) == 0 && r.status == 201, "base upload: %ld",
              r.status);
        free(b);
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        base_rid = json_integer_value(json_object_get(j, "id"));
        base_chunks = (long)json_integer_value(json_object_get(j, "total_chunks"));
        json_decref(j);
        resp_free(&r);
        imgs[0].state = IMG_ACKED;
        imgs[0].rid = base_rid;
        imgs[0].round = -1;
        /* the storm devices report on base_rid: the server takes a status
         * only for a release it offered the device, so offer it first */
        char dep[512];
        snprintf(dep, sizeof dep, "{\"release\":%lld,\"devices\":[\"%s\",\"%s\",\"%s\",\"%s\"]}",
                 base_rid, storms[0].d.id, storms[1].d.id, storms[2].d.id, storms[3].d.id);
        json_decref(h_admin(&S, "POST", "/api/admin/deployments", dep, 201));
        for (int w = 0; w < N_STORM; w++) {
            CHECK(h_dev(&storms[w].d, &r, "GET", &S, "/api/inverter/fota/check?version=0.0.0",
                        NULL) == 0 && r.status == 200 && strstr(r.body, "\"update\":true"),
                  "%s: check did not offer the base release", storms[w].d.id);
            resp_free(&r);
        }
    }

    long kills = 0;
    double kill_ms_sum = 0;
    for (int round = 0; round < rounds; round++) {
        cur_round = round;
        round_seed = rng_next(&rng);
        uint64_t rrng = round_seed;
        unsigned delay_ms = rng_range(&rrng, 50, 400);
        /* images for this round: keep 2 * N_UPLOADERS + 2 unsent ones ready */
        int unsent = 0;
        for (int i = 0; i < nimg; i++)
            unsent += imgs[i].state == IMG_NEW;
        for (; unsent < 2 * N_UPLOADERS + 2; unsent++)
            make_image(&rrng);

        /* (re)start on the files the last kill left, and check them */
        size_t tmp_before = 0, tmp_left = 0, orphans = 0;
        snprintf(p, sizeof p, "%s/data/tmp", S.dir);
        tmp_before = count_dir(p, NULL);
        if (!S.pid)
            start_server();
        check_via_api(round - 1, &rrng, &tmp_left, &orphans);
        tot_tmp_left_after_start += (long)tmp_left;
        if ((long)orphans > tot_orphans_max)
            tot_orphans_max = (long)orphans;

        /* load, then SIGKILL */
        long st0 = 0, up0 = tot_uploads_acked, dev0 = tot_dev_acked, dep0 = tot_depl_acked;
        for (int w = 0; w < N_STORM; w++)
            st0 += (long)storms[w].n;
        pthread_t th[N_STORM + N_UPLOADERS + 1];
        int nth = 0;
        atomic_store(&stop_load, 0);
        for (int w = 0; w < N_STORM; w++)
            pthread_create(&th[nth++], NULL, stormer, &storms[w]);
        for (int u = 0; u < N_UPLOADERS; u++)
            pthread_create(&th[nth++], NULL, uploader, NULL);
        pthread_create(&th[nth++], NULL, admin_load, NULL);
        usleep(delay_ms * 1000u);
        h_kill(&S);
        kills++;
        kill_ms_sum += delay_ms;
        atomic_store(&stop_load, 1);
        for (int i = 0; i < nth; i++)
            pthread_join(th[i], NULL);
        long st1 = 0;
        for (int w = 0; w < N_STORM; w++)
            st1 += (long)storms[w].n;
        tot_status_acked = st1;

        check_crashed_copy();
        snprintf(p, sizeof p, "%s/data/tmp", S.dir);
        size_t tmp_after_kill = count_dir(p, NULL);
        printf("round %2d: kill after %3u ms; acked uploads %ld, statuses %ld, devices %ld, "
               "deployments %ld; db copy: integrity ok, all acks present; at start: tmp/ %zu -> %zu, "
               "orphan images %zu; tmp/ after kill %zu\n",
               round, delay_ms, tot_uploads_acked - up0, st1 - st0, tot_dev_acked - dev0,
               tot_depl_acked - dep0, tmp_before, tmp_left, orphans, tmp_after_kill);
    }

    /* final restart: all checks through the API, then a clean stop and the
     * whole history checked on the real file */
    size_t tmp_left = 0, orphans = 0;
    uint64_t frng = rng_next(&rng);
    start_server();
    check_via_api(rounds - 1, &frng, &tmp_left, &orphans);
    tot_tmp_left_after_start += (long)tmp_left;
    h_stop(&S);
    snprintf(p, sizeof p, "%s/db.sqlite", S.dir);
    sqlite3 *db = open_check(p);
    check_db_acks(db, -1);
    sqlite3_close(db);

    printf("crash: figures: mean kill delay %.0f ms, devices added (201) %ld, deployments (201) "
           "%ld, unacknowledged uploads found committed %ld, tmp/ leftovers after start %ld, "
           "max orphan images %ld, status posts refused %ld, chunks checked %ld, offers checked %ld, slowest acked status post %.0f ms, slowest acked device add %.0f ms, %.1f s\n",
           kill_ms_sum / (double)kills, tot_dev_acked, tot_depl_acked,
           tot_uploads_unacked_present, tot_tmp_left_after_start, tot_orphans_max,
           tot_status_refused, tot_chunks_checked, offers_checked, max_status_ms, max_admin_ms, now_s() - t0);
    if (tot_tmp_left_after_start)
        printf("crash: FINDING: tmp/ not cleaned at start (%ld leftovers seen)\n",
               tot_tmp_left_after_start);
    printf("crash: %d rounds, kills=%ld, uploads acked=%ld (all present), statuses acked=%ld "
           "(all present), integrity ok\n",
           rounds, kills, tot_uploads_acked, tot_status_acked);
    (void)tot_upload_other;
    (void)tot_admin_other;
    h_cleanup(&S);
    for (int w = 0; w < N_STORM; w++)
        free(storms[w].v);
    free(ver);
    return 0;
}
