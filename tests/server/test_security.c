/*
 * test_security.c - server_security_signed: signed releases end to end on
 * the server side, anti-rollback in check, and secrets at rest.
 *
 *  - an operator key (made here with mbedTLS) signs a manifest built from
 *    the image; the upload with X-Fota-Manifest / X-Fota-Signature is
 *    accepted and shown as signed; a manifest that differs from the image in
 *    any field is refused with 422 manifest_mismatch naming that field; a
 *    signature by another key is refused (422 bad_signature) by a server
 *    given --sign-pubkey-file; malformed or lone headers are 400;
 *  - check carries manifest, signature (verifiable with the public key) and
 *    secure_version; a release older than the running version is not offered
 *    unless the deployment allows a downgrade; a release whose secure_version
 *    is below the device's is never offered; secure_version is a strict
 *    optional query parameter;
 *  - the database file (with its WAL) holds no device key and no master key,
 *    raw or hex, and the log holds no key or token.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>

#include "fota/esp_image.h"
#include "fota/manifest.h"
#include "harness.h"

static mbedtls_entropy_context ent;
static mbedtls_ctr_drbg_context drbg;

struct key {
    mbedtls_ecdsa_context ec;
    uint8_t pub[64];
    char hex[129];
};

static void key_new(struct key *k)
{
    mbedtls_ecdsa_init(&k->ec);
    CHECK(mbedtls_ecdsa_genkey(&k->ec, MBEDTLS_ECP_DP_SECP256R1, mbedtls_ctr_drbg_random,
                               &drbg) == 0, "genkey");
    mbedtls_mpi_write_binary(&k->ec.Q.X, k->pub, 32);
    mbedtls_mpi_write_binary(&k->ec.Q.Y, k->pub + 32, 32);
    h_hex(k->pub, 64, k->hex);
}

static void sign(struct key *k, const uint8_t man[FOTA_MANIFEST_LEN], uint8_t sig[64])
{
    uint8_t h[32];
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    h_sha256(man, FOTA_MANIFEST_LEN, h);
    CHECK(mbedtls_ecdsa_sign(&k->ec.grp, &r, &s, &k->ec.d, h, 32, mbedtls_ctr_drbg_random,
                             &drbg) == 0, "sign");
    mbedtls_mpi_write_binary(&r, sig, 32);
    mbedtls_mpi_write_binary(&s, sig + 32, 32);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
}

/* What a device does with the check answer: verify r || s against pub. */
static int verify(const uint8_t pub[64], const uint8_t *man, const uint8_t *sig)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    uint8_t h[32], pt[65] = {0x04};
    int ok;
    memcpy(pt + 1, pub, 64);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
    mbedtls_ecp_point_read_binary(&grp, &q, pt, 65);
    mbedtls_mpi_read_binary(&r, sig, 32);
    mbedtls_mpi_read_binary(&s, sig + 32, 32);
    h_sha256(man, FOTA_MANIFEST_LEN, h);
    ok = mbedtls_ecdsa_verify(&grp, h, 32, &q, &r, &s) == 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return ok;
}

/* The manifest an operator makes from an image. */
static void manifest_of(const uint8_t *img, size_t n, const char *version, uint32_t chunk,
                        struct fota_manifest *m)
{
    struct fota_app_info info;
    CHECK(fota_img_check_head(img, (uint32_t)n, FOTA_CHIP_ANY, &info) == 0, "image head");
    memset(m, 0, sizeof *m);
    m->chip_id = info.chip_id;
    m->size = (uint32_t)n;
    m->chunk_size = chunk;
    m->secure_version = info.secure_version;
    h_sha256(img, n, m->sha256);
    snprintf(m->version, sizeof m->version, "%s", version);
    snprintf(m->project, sizeof m->project, "%s", info.project_name);
}

static void b64(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t olen;
    CHECK(mbedtls_base64_encode((unsigned char *)out, cap, &olen, p, n) == 0, "b64");
}

/* Upload image bytes with optional manifest/signature headers (raw values). */
static json_t *upload(struct srv *s, const uint8_t *img, size_t n, const char *query,
                      const char *hman, const char *hsig, struct resp *r)
{
    char url[512], auth[128], hm[300], hs[200];
    const char *hdrs[6] = {auth, "Content-Type: application/octet-stream", NULL};
    int k = 2;
    snprintf(url, sizeof url, "%s/api/admin/releases?%s", s->url, query);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h_admin_token);
    if (hman) {
        snprintf(hm, sizeof hm, "X-Fota-Manifest: %s", hman);
        hdrs[k++] = hm;
    }
    if (hsig) {
        snprintf(hs, sizeof hs, "X-Fota-Signature: %s", hsig);
        hdrs[k++] = hs;
    }
    hdrs[k] = NULL;
    CHECK(h_http(r, "POST", url, hdrs, img, n) == 0, "upload transport");
    return r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
}

/* Sign m with k and upload; returns the answer. */
static json_t *upload_signed(struct srv *s, struct key *k, const uint8_t *img, size_t n,
                             const char *query, const struct fota_manifest *m, struct resp *r)
{
    uint8_t man[FOTA_MANIFEST_LEN], sig[64];
    char bm[200], bs[100];
    fota_manifest_encode(m, man);
    sign(k, man, sig);
    b64(man, sizeof man, bm, sizeof bm);
    b64(sig, sizeof sig, bs, sizeof bs);
    return upload(s, img, n, query, bm, bs, r);
}

static void expect_mismatch(struct srv *s, struct key *k, const uint8_t *img, size_t n,
                            const char *query, const struct fota_manifest *m, const char *field)
{
    struct resp r;
    char needle[64];
    json_decref(upload_signed(s, k, img, n, query, m, &r));
    h_check_error(&r, 422, "manifest_mismatch");
    snprintf(needle, sizeof needle, "manifest field %s ", field);
    CHECK(strstr(r.body, needle), "refusal should name the field %s: %s", field, r.body);
    printf("ok: manifest with a wrong %s refused: %s\n", field, r.body);
    resp_free(&r);
}

/* A copy of an image with another secure_version (checksum and appended
 * hash fixed up), as a build with a bumped anti-rollback counter. */
static uint8_t *with_secure_version(const uint8_t *img, size_t n, uint32_t sv)
{
    struct fota_img_walk w;
    uint32_t hash_off = 0, ck;
    uint8_t *c = malloc(n);
    memcpy(c, img, n);
    fota_img_walk_init(&w, (uint32_t)n);
    fota_img_walk_feed(&w, c, (uint32_t)n);
    CHECK(fota_img_walk_finish(&w, &hash_off) == 0 && hash_off, "walk");
    ck = hash_off - 1; /* last padding byte: XOR checksum */
    for (int i = 0; i < 4; i++) {
        uint8_t nb = (uint8_t)(sv >> (8 * i));
        c[ck] ^= c[FOTA_APP_DESC_OFFSET + 4 + i] ^ nb;
        c[FOTA_APP_DESC_OFFSET + 4 + i] = nb;
    }
    h_sha256(c, hash_off, c + hash_off);
    return c;
}

static json_t *check(struct dev *d, struct srv *s, const char *query)
{
    struct resp r;
    char path[256];
    snprintf(path, sizeof path, "/api/inverter/fota/check?%s", query);
    CHECK(h_dev(d, &r, "GET", s, path, NULL) == 0, "check transport");
    CHECK(r.status == 200, "check?%s: expected 200, got %ld: %s", query, r.status, r.body);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    CHECK(j, "check body");
    resp_free(&r);
    return j;
}

static int offered(json_t *j)
{
    return json_is_true(json_object_get(j, "update"));
}

/* 1 when needle (n bytes) occurs in hay. */
static int contains(const uint8_t *hay, size_t hn, const void *needle, size_t n)
{
    return hn >= n && memmem(hay, hn, needle, n) != NULL;
}

static void check_no_secret(const char *path, const uint8_t key[32], const char *what)
{
    size_t n;
    char hex[65], up[65];
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* no WAL file: nothing to search */
    fclose(f);
    uint8_t *b = h_read_file(path, &n);
    h_hex(key, 32, hex);
    for (int i = 0; i < 65; i++)
        up[i] = (char)toupper((unsigned char)hex[i]);
    CHECK(!contains(b, n, key, 32), "%s: %s holds the raw %s", path, what, what);
    CHECK(!contains(b, n, hex, 64) && !contains(b, n, up, 64), "%s holds the %s in hex", path,
          what);
    free(b);
}

int main(int argc, char **argv)
{
    struct srv s, v;
    struct key op, other;
    struct fota_manifest m, bad;
    struct resp r;
    struct dev d1, d2;
    size_t na, nb;
    uint8_t *a, *b, *a5;
    char path[600], pubfile[300];
    json_t *j;

    h_init(argc, argv);
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    CHECK(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) == 0, "drbg");
    key_new(&op);
    key_new(&other);
    a = h_read_file(h_fw_path("esp32-arduino-a.bin"), &na);
    b = h_read_file(h_fw_path("esp32-arduino-b.bin"), &nb);

    /* --- a server that verifies signatures with the operator's key --------- */
    h_newdir(&s);
    snprintf(pubfile, sizeof pubfile, "%s/op.hex", s.dir);
    FILE *f = fopen(pubfile, "w");
    fprintf(f, "%s\n", op.hex);
    fclose(f);
    const char *extra[] = {"--sign-pubkey-file", pubfile, NULL};
    h_start(&s, extra);

    /* every field of the manifest must match the upload */
    manifest_of(a, na, "1.0.0", 1024, &m);
    bad = m;
    bad.sha256[0] ^= 1;
    expect_mismatch(&s, &op, a, na, "version=1.0.0", &bad, "sha256");
    bad = m;
    bad.size++;
    expect_mismatch(&s, &op, a, na, "version=1.0.0", &bad, "size");
    bad = m;
    bad.chip_id = FOTA_CHIP_ESP32S3;
    expect_mismatch(&s, &op, a, na, "version=1.0.0", &bad, "chip");
    expect_mismatch(&s, &op, a, na, "version=1.0.0&chunk_size=512", &m, "chunk_size");
    expect_mismatch(&s, &op, a, na, "version=1.0.1", &m, "version");
    bad = m;
    bad.secure_version = 3;
    expect_mismatch(&s, &op, a, na, "version=1.0.0", &bad, "secure_version");
    bad = m;
    snprintf(bad.project, sizeof bad.project, "evil-project");
    expect_mismatch(&s, &op, a, na, "version=1.0.0", &bad, "project");

    /* signature by another key: refused before the body is stored */
    json_decref(upload_signed(&s, &other, a, na, "version=1.0.0", &m, &r));
    h_check_error(&r, 422, "bad_signature");
    resp_free(&r);
    printf("ok: a manifest signed by another key is refused (bad_signature)\n");
    /* malformed headers */
    json_decref(upload(&s, a, na, "version=1.0.0", "not base64!", "AAAA", &r));
    h_check_error(&r, 400, "bad_request");
    resp_free(&r);
    {
        uint8_t man[FOTA_MANIFEST_LEN];
        char bm[200];
        fota_manifest_encode(&m, man);
        b64(man, sizeof man, bm, sizeof bm);
        json_decref(upload(&s, a, na, "version=1.0.0", bm, NULL, &r));
        h_check_error(&r, 400, "bad_request");
        CHECK(strstr(r.body, "both"), "lone manifest message: %s", r.body);
        resp_free(&r);
        man[0] ^= 0xFF; /* bad magic */
        b64(man, sizeof man, bm, sizeof bm);
        uint8_t sig[64];
        char bs[100];
        sign(&op, man, sig);
        b64(sig, sizeof sig, bs, sizeof bs);
        json_decref(upload(&s, a, na, "version=1.0.0", bm, bs, &r));
        h_check_error(&r, 422, "bad_manifest");
        resp_free(&r);
    }
    printf("ok: malformed, lone and undecodable manifest headers refused\n");

    /* the good one */
    j = upload_signed(&s, &op, a, na, "version=1.0.0", &m, &r);
    CHECK(r.status == 201, "signed upload: expected 201, got %ld: %s", r.status, r.body);
    CHECK(json_is_true(json_object_get(j, "signed")), "release should be signed: %s", r.body);
    int64_t rel_a = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    resp_free(&r);
    /* an unsigned release next to it */
    j = h_upload(&s, "esp32-arduino-b.bin", "version=0.9.0", &r);
    CHECK(r.status == 201, "unsigned upload: %ld %s", r.status, r.body);
    CHECK(json_is_false(json_object_get(j, "signed")), "unsigned release shows signed false");
    int64_t rel_b = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/admin/releases/%lld", (long long)rel_a);
    j = h_admin(&s, "GET", path, NULL, 200);
    CHECK(json_is_true(json_object_get(j, "signed")), "release show: signed");
    json_decref(j);
    printf("ok: signed release %lld accepted and shown as signed; unsigned %lld as not\n",
           (long long)rel_a, (long long)rel_b);

    /* --- check answers ------------------------------------------------------ */
    h_device_add(&s, "sec-1", "esp32", &d1);
    h_device_add(&s, "sec-2", "esp32", &d2);
    snprintf(path, sizeof path, "{\"release\":%lld,\"devices\":[\"sec-1\"]}", (long long)rel_a);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", path, 201));

    j = check(&d1, &s, "version=0.5.0");
    CHECK(offered(j), "1.0.0 should be offered to 0.5.0");
    {
        size_t ml, sl;
        const char *ms = json_string_value(json_object_get(j, "manifest"));
        const char *ss = json_string_value(json_object_get(j, "signature"));
        CHECK(ms && ss, "signed offer needs manifest and signature");
        uint8_t *man = h_b64decode(ms, &ml), *sig = h_b64decode(ss, &sl);
        uint8_t want[FOTA_MANIFEST_LEN];
        fota_manifest_encode(&m, want);
        CHECK(ml == FOTA_MANIFEST_LEN && sl == 64, "manifest %zu, signature %zu bytes", ml, sl);
        CHECK(memcmp(man, want, ml) == 0, "manifest differs from the one uploaded");
        CHECK(verify(op.pub, man, sig), "signature does not verify with the operator's key");
        CHECK(!verify(other.pub, man, sig), "signature verifies with another key");
        free(man);
        free(sig);
    }
    CHECK(json_is_integer(json_object_get(j, "secure_version")) &&
              json_integer_value(json_object_get(j, "secure_version")) == 0,
          "secure_version 0 in the offer");
    CHECK(!json_object_get(j, "allow_downgrade"), "no allow_downgrade unless deployed so");
    json_decref(j);
    printf("ok: check carries manifest, signature (verified), secure_version\n");

    /* downgrade refused; allowed by a deployment that says so */
    j = check(&d1, &s, "version=2.0.0");
    CHECK(!offered(j), "1.0.0 must not be offered to a device running 2.0.0");
    json_decref(j);
    j = check(&d1, &s, "version=v1.0.1");
    CHECK(!offered(j), "1.0.0 must not be offered to v1.0.1");
    json_decref(j);
    j = check(&d1, &s, "version=esp-idf%3A%20v4.4.4%20e8bdaf9198");
    CHECK(offered(j), "a non-comparable running version gets the offer");
    json_decref(j);
    snprintf(path, sizeof path, "{\"release\":%lld,\"devices\":[\"sec-1\"],"
             "\"allow_downgrade\":true}", (long long)rel_a);
    j = h_admin(&s, "POST", "/api/admin/deployments", path, 201);
    CHECK(json_is_true(json_object_get(j, "allow_downgrade")), "deployment echoes allow_downgrade");
    json_decref(j);
    j = check(&d1, &s, "version=2.0.0");
    CHECK(offered(j) && json_is_true(json_object_get(j, "allow_downgrade")),
          "downgrade deployment: offer with allow_downgrade true");
    json_decref(j);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments",
                        "{\"release\":1,\"devices\":[\"sec-1\"],\"allow_downgrade\":1}", 400));
    printf("ok: downgrade offered only when the deployment allows it\n");

    /* secure_version floor: never below the device's, even with downgrade */
    j = check(&d1, &s, "version=2.0.0&secure_version=0");
    CHECK(offered(j), "secure_version 0 >= device's 0");
    json_decref(j);
    j = check(&d1, &s, "version=2.0.0&secure_version=1");
    CHECK(!offered(j), "secure_version 0 offered to a device at 1");
    json_decref(j);
    a5 = with_secure_version(a, na, 5);
    manifest_of(a5, na, "1.1.0", 1024, &m);
    CHECK(m.secure_version == 5, "patched secure_version");
    j = upload_signed(&s, &op, a5, na, "version=1.1.0", &m, &r);
    CHECK(r.status == 201, "sv5 upload: %ld %s", r.status, r.body);
    int64_t rel_5 = json_integer_value(json_object_get(j, "id"));
    CHECK(json_integer_value(json_object_get(j, "secure_version")) == 5, "release sv 5");
    json_decref(j);
    resp_free(&r);
    snprintf(path, sizeof path, "{\"release\":%lld,\"devices\":[\"sec-2\"]}", (long long)rel_5);
    json_decref(h_admin(&s, "POST", "/api/admin/deployments", path, 201));
    j = check(&d2, &s, "version=1.0.0&secure_version=5");
    CHECK(offered(j) && json_integer_value(json_object_get(j, "secure_version")) == 5,
          "sv 5 offered to a device at 5");
    json_decref(j);
    j = check(&d2, &s, "version=1.0.0&secure_version=6");
    CHECK(!offered(j), "sv 5 offered to a device at 6");
    json_decref(j);
    const char *badq[] = {"version=1&secure_version=-1", "version=1&secure_version=abc",
                          "version=1&secure_version=4294967296",
                          "version=1&secure_version=1&secure_version=1",
                          "version=1&secure_version=", "secure_version=1", NULL};
    for (int i = 0; badq[i]; i++) {
        char p2[256];
        snprintf(p2, sizeof p2, "/api/inverter/fota/check?%s", badq[i]);
        CHECK(h_dev(&d2, &r, "GET", &s, p2, NULL) == 0, "transport");
        h_check_error(&r, 400, "bad_request");
        resp_free(&r);
    }
    printf("ok: secure_version floor respected; malformed secure_version refused\n");
    snprintf(path, sizeof path, "%s/server.log", s.dir);
    {
        size_t ln;
        uint8_t *log = h_read_file(path, &ln);
        CHECK(contains(log, ln, "not offering release", 20), "refusals to offer are logged");
        free(log);
    }

    /* --- secrets at rest --------------------------------------------------- */
    {
        uint8_t mk[32];
        size_t n;
        char p2[600];
        h_stop(&s); /* checkpoint: everything in the db file */
        snprintf(p2, sizeof p2, "%s/master.key", s.dir);
        uint8_t *mkb = h_read_file(p2, &n);
        CHECK(n == 32, "master key size");
        memcpy(mk, mkb, 32);
        free(mkb);
        const char *files[] = {"db.sqlite", "db.sqlite-wal", "server.log", NULL};
        for (int i = 0; files[i]; i++) {
            snprintf(p2, sizeof p2, "%s/%s", s.dir, files[i]);
            check_no_secret(p2, d1.key, "device key");
            check_no_secret(p2, d2.key, "device key");
            check_no_secret(p2, mk, "master key");
        }
        snprintf(p2, sizeof p2, "%s/server.log", s.dir);
        uint8_t *log = h_read_file(p2, &n);
        CHECK(!contains(log, n, d1.htok + 16, 64), "the log holds a device token");
        CHECK(!contains(log, n, h_admin_token, strlen(h_admin_token)), "the log holds the admin token");
        free(log);
        printf("ok: database, WAL and log hold no device key, master key or token\n");
        h_start(&s, extra); /* keys still derive after a restart */
        uint8_t k1[32];
        memcpy(k1, d1.key, 32);
        h_device_creds(&d1, "sec-1", k1);
        j = check(&d1, &s, "version=0.5.0");
        json_decref(j);
    }
    h_stop(&s);
    h_cleanup(&s);

    /* --- a server with --require-signed refuses unsigned releases ----------- */
    h_newdir(&v);
    const char *req[] = {"--require-signed", NULL};
    h_start(&v, req);
    json_decref(h_upload(&v, "esp32-arduino-b.bin", "version=1.0.0", &r));
    h_check_error(&r, 422, "unsigned_release");
    resp_free(&r);
    manifest_of(b, nb, "1.0.0", 1024, &m);
    json_decref(upload_signed(&v, &other, b, nb, "version=1.0.0", &m, &r));
    CHECK(r.status == 201, "signed upload without --sign-pubkey-file: %ld %s", r.status, r.body);
    resp_free(&r);
    printf("ok: --require-signed refuses unsigned releases\n");
    h_stop(&v);
    h_cleanup(&v);

    free(a);
    free(b);
    free(a5);
    mbedtls_ecdsa_free(&op.ec);
    mbedtls_ecdsa_free(&other.ec);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    printf("server_security_signed: all checks passed\n");
    return 0;
}
