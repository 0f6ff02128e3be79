/*
 * admin_main.c - fota-admin, the operator's command-line client of the
 * fota-server admin API (libcurl + jansson): options, the API call, output
 * helpers, releases, devices, deployments and signing keys; the fleet
 * commands (rollouts, bulk import, tags, audit) are in admin_fleet.c.
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

#include <fcntl.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "fota/device_id.h"
#include "fota/esp_image.h"
#include "fota/version.h"
#include "fota/wire.h"
#include "fota/manifest.h"
#include "admin_cli.h"


const char *admin_server_url;
static const char *ca_file;
static char token[512];
int admin_json;
static int opt_progress;
static struct curl_slist *extra_headers; /* added to every request (signed upload) */
const char *admin_body_ctype;           /* Content-Type of a text body (NULL: JSON) */

int admin_usage(const char *why)
{
    if (why)
        fprintf(stderr, "fota-admin: %s\n", why);
    fprintf(why ? stderr : stdout,
            "usage: fota-admin [--server URL] [--token T | --token-file F] [--ca-file PEM]\n"
            "                  [--json] [--progress] COMMAND\n"
            "commands:\n"
            "  key generate --out NAME      (offline: NAME.key private, NAME.pub public;\n"
            "                               prints the 128-hex public key for the devices)\n"
            "  key show FILE                (hex public key of NAME.key or NAME.pub)\n"
            "  release add FILE [--version V] [--slot-size N] [--chunk-size N] [--sign NAME.key\n"
            "              [--allow-downgrade]]   (signed to be installable over newer versions)\n"
            "  release list\n"
            "  release show ID\n"
            "  device add ID [--chip esp32]\n"
            "  device list\n"
            "  device show ID\n"
            "  device import FILE.csv|FILE.json [--export DIR] [--device-ca PEM]\n"
            "                [--sign-pub NAME.pub]   (bulk registration, idempotent; --export\n"
            "                writes DIR/<id>.json: id, key, server, CA, signing key)\n"
            "  device tag ID [--add TAG ...] [--remove TAG ...]\n"
            "  deploy RELEASE (--device ID ... | --chip CHIP) [--allow-downgrade]\n"
            "  deployment list\n"
            "  rollout create RELEASE (--device ID ... | --chip CHIP | --tag TAG | --all)\n"
            "                 [--stages 1%%,10%%,50%%,100%%] [--min-devices N]\n"
            "                 [--max-failure-pct P] [--deadline S] [--soak S]\n"
            "                 [--allow-downgrade]\n"
            "  rollout list\n"
            "  rollout show ID [--watch S]  (progress per stage; --watch: refresh every S\n"
            "                               seconds until the rollout ends)\n"
            "  rollout pause|resume|abort ID [--reason TEXT]\n"
            "  audit [--limit N] [--before ID]  (admin actions, newest first)\n"
            "  status [DEVICE]\n"
            "environment: FOTA_SERVER (default http://127.0.0.1:8080), FOTA_ADMIN_TOKEN,\n"
            "             FOTA_CA_FILE (CA certificate(s) that must have signed an https server)\n"
            "exit codes: 0 ok, 1 usage, 2 refused by the server (4xx), 3 server or network\n"
            "            failure (5xx, connect), 4 local error (file unreadable)\n");
    return why ? EX_USAGE : EX_OK;
}

static int bad_device_id(const char *id);

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
int admin_call(const char *method, const char *path, const char *json, FILE *upload,
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
    snprintf(url, sizeof url, "%s%s", admin_server_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hl = curl_slist_append(hl, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    for (struct curl_slist *x = extra_headers; x; x = x->next)
        hl = curl_slist_append(hl, x->data);
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
        hl = curl_slist_append(hl, admin_body_ctype ? admin_body_ctype : "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);

    if (rc != CURLE_OK && status == 0) {
        fprintf(stderr, "fota-admin: cannot reach %s: %s\n", admin_server_url,
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

const char *admin_js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : "-";
}

long long admin_ji(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *yes_no(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k)) ? "yes" : "no";
}

static void print_release(json_t *r)
{
    printf("release %lld\n  version:    %s\n  chip:       %s\n  size:       %lld bytes\n"
           "  chunks:     %lld x %lld bytes\n  slot size:  %lld bytes\n  sha256:     %s\n"
           "  project:    %s\n  idf:        %s\n  secure ver: %lld\n  signed:     %s\n"
           "  created:    %s\n",
           admin_ji(r, "id"), admin_js(r, "version"), admin_js(r, "chip"), admin_ji(r, "size"), admin_ji(r, "total_chunks"),
           admin_ji(r, "chunk_size"), admin_ji(r, "slot_size"), admin_js(r, "sha256"), admin_js(r, "project"),
           admin_js(r, "idf_ver"), admin_ji(r, "secure_version"), yes_no(r, "signed"), admin_js(r, "created_at"));
}

static void progress_text(json_t *d, char *out, size_t n)
{
    json_t *t = json_object_get(d, "total_chunks");
    if (json_is_integer(t) && json_integer_value(t) > 0)
        snprintf(out, n, "%lld/%lld (%lld%%)", admin_ji(d, "chunks_received"), json_integer_value(t),
                 admin_ji(d, "chunks_received") * 100 / json_integer_value(t));
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
        printf("%-24s %-8s %-16s %-12s %-8s %-20s %s\n", admin_js(d, "id"), admin_js(d, "chip"),
               admin_js(d, "current_version"), admin_js(d, "state"), rel, prog, admin_js(d, "last_seen"));
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
           admin_js(d, "id"), admin_js(d, "chip"), admin_js(d, "current_version"), admin_js(d, "reported_version"));
    if (json_is_integer(off))
        printf("  offered release:  %lld\n", json_integer_value(off));
    else
        printf("  offered release:  -\n");
    printf("  state:            %s\n  progress:         %s\n  last error:       %s\n"
           "  last seen:        %s\n  registered:       %s\n",
           admin_js(d, "state"), prog, admin_js(d, "last_error"), admin_js(d, "last_seen"), admin_js(d, "created_at"));
    json_t *hist = json_object_get(d, "history");
    if (json_array_size(hist)) {
        printf("  history (newest first):\n");
        json_array_foreach(hist, i, h)
            printf("    %s  release %lld  %-12s chunks %lld%s%s\n", admin_js(h, "at"),
                   admin_ji(h, "release"), admin_js(h, "state"), admin_ji(h, "chunks_received"),
                   json_string_value(json_object_get(h, "error"))[0] ? "  error " : "",
                   json_string_value(json_object_get(h, "error")));
    }
}

static void print_deployment(json_t *d)
{
    size_t i;
    json_t *v;
    printf("deployment %lld: release %lld to ", admin_ji(d, "id"), admin_ji(d, "release"));
    if (json_is_string(json_object_get(d, "chip")))
        printf("every %s device", admin_js(d, "chip"));
    else
        json_array_foreach(json_object_get(d, "devices"), i, v)
            printf("%s%s", i ? ", " : "", json_string_value(v));
    printf("%s (%s)\n", json_is_true(json_object_get(d, "allow_downgrade")) ?
           " (downgrade allowed)" : "", admin_js(d, "created_at"));
}

/* Run a GET and print it with fn (or raw with --json). */
int admin_show(const char *path, void (*fn)(json_t *), const char *key)
{
    json_t *o = NULL;
    char *raw = NULL;
    int ex = admin_call("GET", path, NULL, NULL, 0, &o, &raw);
    if (ex == EX_OK) {
        if (admin_json) {
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
    printf("%-5lld %-24s %-8s %10lld %6lld  %.16s  %-6s %s\n", admin_ji(r, "id"), admin_js(r, "version"),
           admin_js(r, "chip"), admin_ji(r, "size"), admin_ji(r, "total_chunks"), admin_js(r, "sha256"),
           yes_no(r, "signed"), admin_js(r, "created_at"));
}

static void device_list_printer(json_t *o)
{
    print_device_table(json_object_get(o, "devices"));
}

/* --- commands ------------------------------------------------------------------ */

int admin_print_result(const char *raw, json_t *o, void (*fn)(json_t *))
{
    if (admin_json)
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

/* --- signing keys (offline: no server, no token) ------------------------------ */

static int seed_drbg(mbedtls_entropy_context *ent, mbedtls_ctr_drbg_context *drbg)
{
    static const char pers[] = "fota-admin";
    mbedtls_entropy_init(ent);
    mbedtls_ctr_drbg_init(drbg);
    return mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, ent, (const unsigned char *)pers,
                                 sizeof pers - 1);
}

/* Raw X || Y of a P-256 key as 128 lowercase hex digits. */
static int pub_hex(mbedtls_pk_context *pk, char out[129])
{
    uint8_t xy[64];
    const mbedtls_ecp_keypair *ec;
    if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
        return -1;
    ec = mbedtls_pk_ec(*pk);
    if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1 || mbedtls_mpi_write_binary(&ec->Q.X, xy, 32) ||
        mbedtls_mpi_write_binary(&ec->Q.Y, xy + 32, 32))
        return -1;
    for (int i = 0; i < 64; i++)
        sprintf(out + 2 * i, "%02x", xy[i]);
    return 0;
}

/* Write text to a new file (never over an existing one). */
static int write_new(const char *path, const unsigned char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    size_t n = strlen((const char *)text);
    if (fd < 0) {
        fprintf(stderr, "fota-admin: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (refusing to overwrite a key)" : "");
        return -1;
    }
    if (write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        fprintf(stderr, "fota-admin: cannot write %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

static int cmd_key_generate(int argc, char **argv)
{
    const char *name = NULL;
    char kpath[1024], ppath[1024], hex[129];
    unsigned char pem[1024];
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    struct stat st;
    int ex = EX_LOCAL;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            name = argv[++i];
        else
            return admin_usage("key generate --out NAME");
    }
    if (!name || !*name)
        return admin_usage("key generate needs --out NAME (writes NAME.key and NAME.pub)");
    snprintf(kpath, sizeof kpath, "%s.key", name);
    snprintf(ppath, sizeof ppath, "%s.pub", name);
    if (stat(kpath, &st) == 0 || stat(ppath, &st) == 0) {
        fprintf(stderr, "fota-admin: %s or %s exists: refusing to overwrite a key\n", kpath,
                ppath);
        return EX_LOCAL;
    }
    mbedtls_pk_init(&pk);
    if (seed_drbg(&ent, &drbg) != 0 ||
        mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random,
                            &drbg) != 0 ||
        pub_hex(&pk, hex) != 0) {
        fprintf(stderr, "fota-admin: key generation failed\n");
        goto out;
    }
    if (mbedtls_pk_write_key_pem(&pk, pem, sizeof pem) != 0 || write_new(kpath, pem, 0600) < 0)
        goto out;
    if (mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof pem) != 0 ||
        write_new(ppath, pem, 0644) < 0) {
        unlink(kpath);
        goto out;
    }
    printf("%s\n", hex);
    fprintf(stderr,
            "wrote %s (private, mode 0600: keep it offline, never on the server) and %s.\n"
            "Give each device this public key (fota-device: --sign-pubkey %s on every run)\n"
            "Sign releases with: fota-admin release add FILE --version V --sign %s\n",
            kpath, ppath, hex, kpath);
    ex = EX_OK;
out:
    memset(pem, 0, sizeof pem);
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return ex;
}

static int cmd_key_show(int argc, char **argv)
{
    mbedtls_pk_context pk;
    char hex[129];
    int ok;

    if (argc != 1)
        return admin_usage("key show FILE (NAME.key or NAME.pub)");
    mbedtls_pk_init(&pk);
    ok = (mbedtls_pk_parse_public_keyfile(&pk, argv[0]) == 0 ||
          (mbedtls_pk_free(&pk), mbedtls_pk_init(&pk),
           mbedtls_pk_parse_keyfile(&pk, argv[0], NULL) == 0)) &&
         pub_hex(&pk, hex) == 0;
    mbedtls_pk_free(&pk);
    if (!ok) {
        fprintf(stderr, "fota-admin: %s is not a PEM EC P-256 key\n", argv[0]);
        return EX_LOCAL;
    }
    printf("%s\n", hex);
    return EX_OK;
}

/* Build the manifest of the image in f (read through, then rewound) and sign
 * it with the private key in keyfile; downgrade sets the manifest's signed
 * FOTA_MANIFEST_ALLOW_DOWNGRADE flag (devices holding the public key install
 * an older version only from such a manifest). Fills the two X-Fota-*
 * headers. */
static int sign_release(FILE *f, const char *file, const char *keyfile, const char *version,
                        uint32_t chunk_size, int downgrade, char *vbuf, size_t vlen)
{
    uint8_t head[FOTA_IMG_HEAD_LEN], buf[65536], man[FOTA_MANIFEST_LEN], hash[32], sig[64];
    unsigned char b64m[200], b64s[100];
    char hdr[300];
    struct fota_app_info info;
    struct fota_manifest m;
    mbedtls_sha256_context sha;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    mbedtls_mpi r, s;
    uint64_t size = 0;
    size_t n, olen;
    int rc, ex = EX_LOCAL;

    n = fread(head, 1, sizeof head, f);
    rc = fota_img_check_head(head, (uint32_t)n, FOTA_CHIP_ANY, &info);
    if (rc != 0) {
        fprintf(stderr, "fota-admin: %s is not an ESP32 application image (header or app "
                "descriptor missing); nothing sent\n", file);
        return EX_LOCAL;
    }
    memset(&m, 0, sizeof m);
    snprintf(vbuf, vlen, "%s", version ? version : info.version);
    if (!vbuf[0] || strlen(vbuf) > FOTA_VERSION_OFFER_MAX) {
        fprintf(stderr, "fota-admin: a signed release needs a version of 1-%u characters "
                "(--version), got \"%s\"\n", FOTA_VERSION_OFFER_MAX, vbuf);
        return EX_USAGE;
    }
    rewind(f);
    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts_ret(&sha, 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        mbedtls_sha256_update_ret(&sha, buf, n);
        size += n;
    }
    mbedtls_sha256_finish_ret(&sha, m.sha256);
    mbedtls_sha256_free(&sha);
    if (ferror(f) || size > UINT32_MAX) {
        fprintf(stderr, "fota-admin: cannot read %s\n", file);
        return EX_LOCAL;
    }
    rewind(f);
    m.chip_id = info.chip_id;
    m.size = (uint32_t)size;
    m.chunk_size = chunk_size;
    m.secure_version = info.secure_version;
    snprintf(m.version, sizeof m.version, "%s", vbuf);
    snprintf(m.project, sizeof m.project, "%s", info.project_name);
    m.allow_downgrade = downgrade ? 1 : 0;
    fota_manifest_encode(&m, man);
    mbedtls_sha256_ret(man, sizeof man, hash, 0);

    mbedtls_pk_init(&pk);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (seed_drbg(&ent, &drbg) != 0) {
        fprintf(stderr, "fota-admin: no randomness\n");
        goto out;
    }
    if (mbedtls_pk_parse_keyfile(&pk, keyfile, NULL) != 0 ||
        mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        fprintf(stderr, "fota-admin: %s is not a PEM EC P-256 private key (fota-admin key "
                "generate makes one)\n", keyfile);
        goto out;
    }
    /* RFC 6979 deterministic k; the DRBG only blinds the computation */
    if (mbedtls_ecdsa_sign_det_ext(&mbedtls_pk_ec(pk)->grp, &r, &s, &mbedtls_pk_ec(pk)->d, hash,
                                   32, MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &drbg) != 0 ||
        mbedtls_mpi_write_binary(&r, sig, 32) != 0 || mbedtls_mpi_write_binary(&s, sig + 32, 32)) {
        fprintf(stderr, "fota-admin: signing failed\n");
        goto out;
    }
    mbedtls_base64_encode(b64m, sizeof b64m, &olen, man, sizeof man);
    snprintf(hdr, sizeof hdr, "X-Fota-Manifest: %s", b64m);
    extra_headers = curl_slist_append(extra_headers, hdr);
    mbedtls_base64_encode(b64s, sizeof b64s, &olen, sig, sizeof sig);
    snprintf(hdr, sizeof hdr, "X-Fota-Signature: %s", b64s);
    extra_headers = curl_slist_append(extra_headers, hdr);
    fprintf(stderr, "signed: %s version \"%s\", %u bytes, %s, secure_version %u, chunks of %u%s\n",
            file, vbuf, m.size, fota_chip_name(m.chip_id), m.secure_version, m.chunk_size,
            m.allow_downgrade ? ", downgrade allowed" : "");
    ex = EX_OK;
out:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return ex;
}

static int cmd_release_add(int argc, char **argv)
{
    const char *file = NULL, *version = NULL, *slot = NULL, *chunk = NULL, *sign = NULL;
    char path[1024], esc[512], vbuf[80];
    struct stat st;
    FILE *f;
    json_t *o = NULL;
    char *raw = NULL;
    int ex, downgrade = 0;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--version") && i + 1 < argc)
            version = argv[++i];
        else if (!strcmp(argv[i], "--slot-size") && i + 1 < argc)
            slot = argv[++i];
        else if (!strcmp(argv[i], "--chunk-size") && i + 1 < argc)
            chunk = argv[++i];
        else if (!strcmp(argv[i], "--sign") && i + 1 < argc)
            sign = argv[++i];
        else if (!strcmp(argv[i], "--allow-downgrade"))
            downgrade = 1;
        else if (argv[i][0] == '-' || file)
            return admin_usage("release add FILE [--version V] [--slot-size N] [--chunk-size N] "
                         "[--sign NAME.key [--allow-downgrade]]");
        else
            file = argv[i];
    }
    if (!file)
        return admin_usage("release add needs a FILE");
    if (downgrade && !sign)
        return admin_usage("release add --allow-downgrade signs the permission into the "
                           "manifest: it needs --sign NAME.key");
    if (version && (!version[0] || strlen(version) > FOTA_VERSION_OFFER_MAX)) {
        fprintf(stderr, "fota-admin: --version must be 1-%u characters (the longest a device "
                "takes in an offer), got %zu: \"%s\"; nothing sent\n", FOTA_VERSION_OFFER_MAX,
                strlen(version), version);
        return EX_USAGE;
    }
    f = fopen(file, "rb");
    if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "fota-admin: cannot read %s: %s\n", file,
                f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return EX_LOCAL;
    }
    if (sign) {
        char *end;
        unsigned long cs = chunk ? strtoul(chunk, &end, 10) : 1024;
        /* the core's rule (include/fota/wire.h): a size no device accepts
         * is not signed, as the server would not accept it */
        if (chunk && (*end || cs > UINT32_MAX || !fota_chunk_size_ok((uint32_t)cs))) {
            fclose(f);
            return admin_usage("--chunk-size must be 512..1024 and divide the 4096-byte sector "
                         ": devices refuse any other size");
        }
        ex = sign_release(f, file, sign, version, (uint32_t)cs, downgrade, vbuf,
                          sizeof vbuf);
        if (ex != EX_OK) {
            fclose(f);
            return ex;
        }
        version = vbuf; /* the server must make the release the manifest names */
        if (!chunk)
            chunk = "1024";
    }
    snprintf(path, sizeof path, "/api/admin/releases?");
    if (version) {
        if (url_escape(version, esc, sizeof esc) < 0) {
            fclose(f);
            return admin_usage("--version too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "version=%s&", esc);
    }
    if (slot) {
        if (url_escape(slot, esc, sizeof esc) < 0) {
            fclose(f);
            return admin_usage("--slot-size too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "slot_size=%s&", esc);
    }
    if (chunk) {
        if (url_escape(chunk, esc, sizeof esc) < 0) {
            fclose(f);
            return admin_usage("--chunk-size too long");
        }
        snprintf(path + strlen(path), sizeof path - strlen(path), "chunk_size=%s&", esc);
    }
    path[strlen(path) - 1] = '\0'; /* trailing '?' or '&' */
    ex = admin_call("POST", path, NULL, f, (curl_off_t)st.st_size, &o, &raw);
    fclose(f);
    if (ex == EX_OK)
        admin_print_result(raw, o, print_release);
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
            return admin_usage("device add ID [--chip CHIP]");
        else
            id = argv[i];
    }
    if (!id)
        return admin_usage("device add needs an ID");
    if ((ex = bad_device_id(id)))
        return ex;
    body = json_pack("{s:s, s:s}", "id", id, "chip", chip);
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = admin_call("POST", "/api/admin/devices", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK) {
        if (admin_json) {
            printf("%s\n", raw);
        } else {
            printf("device %s (%s) registered\nkey: %s\n", admin_js(o, "id"), admin_js(o, "chip"),
                   admin_js(o, "key"));
            fprintf(stderr,
                    "This key is shown once and only here: provision it on the device now\n"
                    "(the device sends X-Device-Id: %s and\n"
                    " X-Device-Token: hex(HMAC-SHA256(key, \"token:%s\"))).\n",
                    admin_js(o, "id"), admin_js(o, "id"));
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
    int ex, downgrade = 0;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--allow-downgrade"))
            downgrade = 1;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            if ((ex = bad_device_id(argv[++i]))) {
                json_decref(devs);
                return ex;
            }
            json_array_append_new(devs, json_string(argv[i]));
        }
        else if (!strcmp(argv[i], "--chip") && i + 1 < argc)
            chip = argv[++i];
        else if (argv[i][0] == '-' || release) {
            json_decref(devs);
            return admin_usage("deploy RELEASE (--device ID ... | --chip CHIP) [--allow-downgrade]");
        } else
            release = argv[i];
    }
    if (!release || (!chip == !json_array_size(devs))) {
        json_decref(devs);
        return admin_usage("deploy RELEASE needs either --device ID (repeatable) or --chip CHIP");
    }
    rid = strtoll(release, &end, 10);
    if (*end || rid <= 0) {
        json_decref(devs);
        return admin_usage("RELEASE must be a release id (a positive number)");
    }
    if (chip) {
        body = json_pack("{s:I, s:s}", "release", (json_int_t)rid, "chip", chip);
        json_decref(devs);
    } else {
        body = json_pack("{s:I, s:o}", "release", (json_int_t)rid, "devices", devs);
    }
    if (downgrade)
        json_object_set_new(body, "allow_downgrade", json_true());
    js_body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex = admin_call("POST", "/api/admin/deployments", js_body, NULL, 0, &o, &raw);
    free(js_body);
    if (ex == EX_OK)
        admin_print_result(raw, o, print_deployment);
    free(raw);
    json_decref(o);
    return ex;
}

/* The device id rule (fota/device_id.h), checked before anything is sent:
 * 0, or the usage exit code with a message naming the rule. */
static int bad_device_id(const char *id)
{
    char msg[200];
    if (fota_device_id_valid(id, strlen(id)))
        return 0;
    snprintf(msg, sizeof msg,
             "\"%.80s\" is not a device id: 1-%u characters of [A-Za-z0-9._-], not starting "
             "with '.'", id, FOTA_DEVICE_ID_MAX);
    return admin_usage(msg);
}

int admin_path_with_id(char *path, size_t n, const char *prefix, const char *id)
{
    char esc[256];
    if (url_escape(id, esc, sizeof esc) < 0)
        return -1;
    snprintf(path, n, "%s/%s", prefix, esc);
    return 0;
}

static void release_list_header(void)
{
    printf("%-5s %-24s %-8s %10s %6s  %-16s  %-6s %s\n", "ID", "VERSION", "CHIP", "SIZE",
           "CHUNKS", "SHA256", "SIGNED", "CREATED");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'},
        {"progress", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {"ca-file", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *tok = NULL, *tok_file = NULL;
    char path[512];
    int c, ex;

    opterr = 0;
    admin_server_url = getenv("FOTA_SERVER");
    if (getenv("FOTA_CA_FILE") && *getenv("FOTA_CA_FILE"))
        ca_file = getenv("FOTA_CA_FILE");
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 's': admin_server_url = optarg; break;
        case 't': tok = optarg; break;
        case 'f': tok_file = optarg; break;
        case 'j': admin_json = 1; break;
        case 'p': opt_progress = 1; break;
        case 'c': ca_file = optarg; break;
        case 'h': return admin_usage(NULL);
        default: return admin_usage("unknown option or missing value");
        }
    }
    if (optind >= argc)
        return admin_usage("no command given");
    if (!admin_server_url || !*admin_server_url)
        admin_server_url = "http://127.0.0.1:8080";
    static char url_buf[1024];
    snprintf(url_buf, sizeof url_buf, "%s", admin_server_url);
    while (strlen(url_buf) && url_buf[strlen(url_buf) - 1] == '/')
        url_buf[strlen(url_buf) - 1] = '\0';
    admin_server_url = url_buf;

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
            admin_json = 1;
        else if (!strcmp(argv[i], "--progress"))
            opt_progress = 1;
        else
            av[ac++] = argv[i];
    }
    if (ac == 0)
        return admin_usage("no command given");
    const char *cmd = av[0], *sub = ac > 1 ? av[1] : "";
    if (!strcmp(cmd, "help"))
        return admin_usage(NULL);
    if (!strcmp(cmd, "key") && !strcmp(sub, "generate"))
        return cmd_key_generate(ac - 2, av + 2);
    if (!strcmp(cmd, "key") && !strcmp(sub, "show"))
        return cmd_key_show(ac - 2, av + 2);
    if (!token[0])
        return admin_usage("no admin token: give --token, --token-file or set FOTA_ADMIN_TOKEN");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!strcmp(cmd, "release") && !strcmp(sub, "add")) {
        ex = cmd_release_add(ac - 2, av + 2);
    } else if (!strcmp(cmd, "release") && !strcmp(sub, "list") && ac == 2) {
        if (!admin_json)
            release_list_header();
        ex = admin_show("/api/admin/releases", release_row, "releases");
    } else if (!strcmp(cmd, "release") && !strcmp(sub, "show") && ac == 3) {
        ex = admin_path_with_id(path, sizeof path, "/api/admin/releases", av[2]) < 0
                 ? admin_usage("bad ID")
                 : admin_show(path, print_release, NULL);
    } else if (!strcmp(cmd, "device") && !strcmp(sub, "import")) {
        ex = admin_cmd_device_import(ac - 2, av + 2);
    } else if (!strcmp(cmd, "device") && !strcmp(sub, "tag")) {
        ex = admin_cmd_device_tag(ac - 2, av + 2);
    } else if (!strcmp(cmd, "device") && !strcmp(sub, "add")) {
        ex = cmd_device_add(ac - 2, av + 2);
    } else if ((!strcmp(cmd, "device") && !strcmp(sub, "list") && ac == 2) ||
               (!strcmp(cmd, "status") && ac == 1)) {
        ex = admin_show("/api/admin/devices", device_list_printer, NULL);
    } else if ((!strcmp(cmd, "device") && !strcmp(sub, "show") && ac == 3) ||
               (!strcmp(cmd, "status") && ac == 2)) {
        ex = bad_device_id(av[ac - 1]);
        if (!ex)
            ex = admin_path_with_id(path, sizeof path, "/api/admin/devices", av[ac - 1]) < 0
                     ? admin_usage("bad ID")
                     : admin_show(path, print_device, NULL);
    } else if (!strcmp(cmd, "deploy") && ac >= 2) {
        ex = cmd_deploy(ac - 1, av + 1);
    } else if (!strcmp(cmd, "deployment") && !strcmp(sub, "list") && ac == 2) {
        ex = admin_show("/api/admin/deployments", print_deployment, "deployments");
    } else if (!strcmp(cmd, "audit")) {
        ex = admin_cmd_audit(ac - 1, av + 1);
    } else if (!strcmp(cmd, "rollout") && !strcmp(sub, "create")) {
        ex = admin_cmd_rollout_create(ac - 2, av + 2);
    } else if (!strcmp(cmd, "rollout") && !strcmp(sub, "list") && ac == 2) {
        ex = admin_cmd_rollout_list();
    } else if (!strcmp(cmd, "rollout") && !strcmp(sub, "show")) {
        ex = admin_cmd_rollout_show(ac - 2, av + 2);
    } else if (!strcmp(cmd, "rollout") &&
               (!strcmp(sub, "pause") || !strcmp(sub, "resume") || !strcmp(sub, "abort"))) {
        ex = admin_cmd_rollout_action(sub, ac - 2, av + 2);
    } else {
        ex = admin_usage("unknown command or wrong arguments");
    }
    curl_slist_free_all(extra_headers);
    curl_global_cleanup();
    return ex;
}
