/*
 * test_security.c - signed releases, replays and anti-rollback on the
 * simulated device (issue: security). Every refusal must come before the
 * update slot is erased, with its own error code, reported to the server as
 * a failed status carrying the reason; the running image keeps booting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include "testdev.h"

#define SZ 81920u
static uint8_t *img_a, *img_b, *img_x, *img_old, *img_sv1, *img_sv3, *img_sv2;
static uint8_t pub[64], pub_other[64];
static mbedtls_ecdsa_context key, key_other;
static mbedtls_ctr_drbg_context drbg;

static void export_pub(mbedtls_ecdsa_context *k, uint8_t out[64])
{
    uint8_t b[65];
    size_t n;
    mbedtls_ecp_point_write_binary(&k->grp, &k->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, b, sizeof b);
    memcpy(out, b + 1, 64);
}

static uint8_t *mk(const char *version, uint32_t seed, uint32_t sv)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, version, "inverter", sv, seed, 0};
    uint8_t *b = malloc(SZ);
    assert_int_equal(sim_mkimage(b, SZ, &o), FOTA_OK);
    return b;
}

static int setup_all(void **state)
{
    mbedtls_entropy_context ent;
    (void)state;
    fota_posix_log_level = -1;
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const uint8_t *)"t", 1);
    mbedtls_ecdsa_init(&key);
    mbedtls_ecdsa_init(&key_other);
    mbedtls_ecdsa_genkey(&key, MBEDTLS_ECP_DP_SECP256R1, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ecdsa_genkey(&key_other, MBEDTLS_ECP_DP_SECP256R1, mbedtls_ctr_drbg_random, &drbg);
    export_pub(&key, pub);
    export_pub(&key_other, pub_other);
    img_a = mk("1.0.0", 1, 0);
    img_b = mk("2.0.0", 2, 0);
    img_x = mk("6.6.6", 66, 0);   /* the attacker's image */
    img_old = mk("0.9.0", 3, 0);
    img_sv1 = mk("2.1.0", 4, 1);
    img_sv2 = mk("2.2.0", 5, 2);
    img_sv3 = mk("2.3.0", 6, 3);
    return 0;
}

/* Manifest for img as an operator would sign it; with sign_downgrade set,
 * signed to allow a downgrade (fota-admin release add --allow-downgrade). */
static int sign_downgrade;
static void sign(struct v1_source *s, const uint8_t *img, mbedtls_ecdsa_context *k)
{
    struct fota_manifest m;
    struct fota_app_info info;
    uint8_t h[32];
    mbedtls_mpi r, ss;
    memset(&m, 0, sizeof m);
    assert_int_equal(fota_img_check_head(img, SZ, FOTA_CHIP_ANY, &info), FOTA_OK);
    m.chip_id = info.chip_id;
    m.size = SZ;
    m.chunk_size = 1024;
    m.secure_version = info.secure_version;
    fota_posix_sha256(img, SZ, m.sha256);
    snprintf(m.version, sizeof m.version, "%s", info.version);
    snprintf(m.project, sizeof m.project, "%s", info.project_name);
    m.allow_downgrade = (uint8_t)sign_downgrade;
    fota_manifest_encode(&m, s->manifest);
    fota_posix_sha256(s->manifest, FOTA_MANIFEST_LEN, h);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&ss);
    assert_int_equal(mbedtls_ecdsa_sign(&k->grp, &r, &ss, &k->d, h, 32, mbedtls_ctr_drbg_random,
                                        &drbg), 0);
    mbedtls_mpi_write_binary(&r, s->signature, 32);
    mbedtls_mpi_write_binary(&ss, s->signature + 32, 32);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&ss);
    s->has_manifest = s->has_signature = 1;
    s->secure_version = info.secure_version;
}

static const uint8_t *use_pub;
static uint32_t floor_sv;

static int power_on(struct testdev *t)
{
    nor_rearm(&t->fl);
    t->d.curl = NULL;
    t->d.src = &t->src;
    sim_device_setup(&t->d, &t->fl, FOTA_CHIP_ESP32, "test-dev", t->key);
    t->d.no_sleep = 1;
    t->d.cfg.max_attempts = 3;
    t->d.cfg.sign_pubkey = use_pub;
    t->d.cfg.secure_version_floor = floor_sv;
    return sim_device_power_on(&t->d);
}

/* Offer img (as release 1, version ver) after `prep`; return fota_run's code.
 * Checks the refusal invariants when it fails: slot untouched, status
 * "failed" naming the reason, old image still boots. */
static int attempt(struct testdev *t, const uint8_t *img, const char *running,
                   void (*prep)(struct v1_source *))
{
    struct fota_offer o;
    struct fota_app_info info;
    int rc;
    assert_int_equal(td_provision(t, NULL, img_a, SZ, FOTA_CHIP_ESP32), FOTA_OK);
    fota_img_check_head(img, SZ, FOTA_CHIP_ANY, &info);
    v1_source_init(&t->src, img, SZ, 1, info.version, "test-dev", t->key);
    t->src.secure_version = info.secure_version;
    if (prep)
        prep(&t->src);
    assert_int_equal(power_on(t), FOTA_OK);
    assert_int_equal(fota_check(&t->d.fota, running, &o), FOTA_OK);
    rc = fota_run(&t->d.fota, &o);
    if (rc) {
        assert_true(all_ff(t->mem + OTA1, SLOT));
        assert_non_null(strstr(t->src.last_status, "\"failed\""));
        assert_non_null(strstr(t->src.last_status, fota_errname(rc)));
        assert_int_equal(power_on(t), FOTA_OK);
        assert_int_equal(t->d.boot.slot, 0);
    }
    return rc;
}

static void p_sign(struct v1_source *s) { sign(s, s->image, &key); }
static void p_sign_other(struct v1_source *s) { sign(s, s->image, &key_other); }
static void p_sign_flip(struct v1_source *s) { sign(s, s->image, &key); s->signature[10] ^= 4; }
static void p_sign_wrong_sha(struct v1_source *s) { sign(s, img_b, &key); } /* for another image */
static void p_manifest_only(struct v1_source *s) { sign(s, s->image, &key); s->has_signature = 0; }
static void p_downgrade_ok(struct v1_source *s) { s->allow_downgrade = 1; }
static void p_downgrade_ok_signed(struct v1_source *s) { sign(s, s->image, &key); s->allow_downgrade = 1; }
static void p_downgrade_signed_flag(struct v1_source *s)
{
    sign_downgrade = 1;
    sign(s, s->image, &key);
    sign_downgrade = 0;
}
/* An on-path proxy relabels a genuine signed offer as a newer version. */
static void p_relabel(struct v1_source *s)
{
    sign(s, s->image, &key);
    snprintf(s->version, sizeof s->version, "9.9.9");
}

static void test_signed_releases(void **state)
{
    struct testdev t;
    (void)state;
    use_pub = pub;
    floor_sv = 0;
    assert_int_equal(attempt(&t, img_b, "1.0.0", NULL), FOTA_ERR_UNSIGNED);
    td_free(&t);
    assert_int_equal(attempt(&t, img_b, "1.0.0", p_manifest_only), FOTA_ERR_UNSIGNED);
    td_free(&t);
    assert_int_equal(attempt(&t, img_b, "1.0.0", p_sign_flip), FOTA_ERR_SIGNATURE);
    td_free(&t);
    assert_int_equal(attempt(&t, img_b, "1.0.0", p_sign_other), FOTA_ERR_SIGNATURE);
    td_free(&t);
    assert_int_equal(attempt(&t, img_x, "1.0.0", p_sign_wrong_sha), FOTA_ERR_MANIFEST);
    td_free(&t);
    /* correctly signed: installed, and boots */
    assert_int_equal(attempt(&t, img_b, "1.0.0", p_sign), FOTA_OK);
    assert_memory_equal(t.mem + OTA1, img_b, SZ);
    assert_int_equal(power_on(&t), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    td_free(&t);
    /* a device without a key takes unsigned releases (v1 as it was) */
    use_pub = NULL;
    assert_int_equal(attempt(&t, img_b, "1.0.0", NULL), FOTA_OK);
    td_free(&t);
}

/* The server (database and data folder) is in the attacker's hands: it
 * serves its own image with a matching SHA-256, size and valid HMACs, and
 * either keeps the genuine signed manifest or forges one. */
static void p_compromised_keep(struct v1_source *s)
{
    struct v1_source genuine;
    v1_source_init(&genuine, img_b, SZ, 1, "2.0.0", "test-dev", s->key);
    sign(&genuine, img_b, &key);
    memcpy(s->manifest, genuine.manifest, sizeof s->manifest);
    memcpy(s->signature, genuine.signature, sizeof s->signature);
    s->has_manifest = s->has_signature = 1;
}
static void p_compromised_forge(struct v1_source *s) { sign(s, s->image, &key_other); }

static void test_compromised_server(void **state)
{
    struct testdev t;
    (void)state;
    use_pub = pub;
    floor_sv = 0;
    assert_int_equal(attempt(&t, img_x, "1.0.0", p_compromised_keep), FOTA_ERR_MANIFEST);
    assert_memory_equal(t.mem + OTA0, img_a, SZ);
    td_free(&t);
    assert_int_equal(attempt(&t, img_x, "1.0.0", p_compromised_forge), FOTA_ERR_SIGNATURE);
    assert_memory_equal(t.mem + OTA0, img_a, SZ);
    td_free(&t);
}

/* Replays: recorded chunks offered where they do not belong. */
static struct v1_source other;
static const char *replay_kind;
static void replay(void *arg, long chunk, char *b, size_t *len, size_t cap, int *status)
{
    (void)arg, (void)status;
    if (chunk != 0)
        return;
    if (!strcmp(replay_kind, "device")) { /* recorded for device A */
        memset(other.key, 0x11, 32);
        *len = v1_chunk_body(&other, 0, b, cap);
    } else if (!strcmp(replay_kind, "release")) { /* chunk of release 1 (img_a) */
        *len = v1_chunk_body(&other, 0, b, cap);
    } else { /* another index */
        char tmp[4096];
        size_t n = v1_chunk_body(&other, 1, tmp, sizeof tmp);
        char *p = strstr(tmp, "\"chunk_number\": 1");
        p[16] = '0';
        memcpy(b, tmp, n);
        *len = n;
    }
}

static void test_replays_refused_before_write(void **state)
{
    static const char *kinds[] = {"device", "release", "index"};
    struct testdev t;
    struct fota_offer o;
    uint64_t ops;
    unsigned i;
    (void)state;
    use_pub = NULL;
    for (i = 0; i < 3; i++) {
        replay_kind = kinds[i];
        assert_int_equal(td_provision(&t, NULL, img_a, SZ, FOTA_CHIP_ESP32), FOTA_OK);
        v1_source_init(&t.src, img_b, SZ, 2, "2.0.0", "test-dev", t.key);
        v1_source_init(&other, i == 1 ? img_a : img_b, SZ, 1, "x", "test-dev", t.key);
        t.src.mutate = replay;
        assert_int_equal(power_on(&t), FOTA_OK);
        assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
        assert_int_equal(fota_begin(&t.d.fota, &o), FOTA_OK);
        ops = t.fl.ops;
        assert_int_equal(fota_step(&t.d.fota), FOTA_ERR_HMAC);
        assert_int_equal(t.fl.ops, ops);
        assert_true(all_ff(t.mem + OTA1, SLOT));
        td_free(&t);
    }
}

static void test_downgrade(void **state)
{
    struct testdev t;
    (void)state;
    use_pub = NULL;
    floor_sv = 0;
    assert_int_equal(attempt(&t, img_old, "1.0.0", NULL), FOTA_ERR_DOWNGRADE);
    td_free(&t);
    assert_int_equal(attempt(&t, img_old, "1.0.0", p_downgrade_ok), FOTA_OK);
    assert_memory_equal(t.mem + OTA1, img_old, SZ);
    td_free(&t);
    /* a device with the signing key: the deployment's (unsigned)
     * allow_downgrade is not enough, a compromised server or a proxy sets
     * it at will (issue 11); the manifest must be signed to allow it */
    use_pub = pub;
    assert_int_equal(attempt(&t, img_old, "1.0.0", p_downgrade_ok_signed), FOTA_ERR_DOWNGRADE);
    td_free(&t);
    assert_int_equal(attempt(&t, img_old, "1.0.0", p_downgrade_signed_flag), FOTA_OK);
    assert_memory_equal(t.mem + OTA1, img_old, SZ);
    td_free(&t);
    /* a genuine old manifest relabelled 9.9.9 in the offer: refused */
    assert_int_equal(attempt(&t, img_old, "1.0.0", p_relabel), FOTA_ERR_MANIFEST);
    td_free(&t);
    /* a device without the key still follows the offer (v1 as it was) */
    use_pub = NULL;
    assert_int_equal(attempt(&t, img_old, "1.0.0", p_relabel), FOTA_OK);
    td_free(&t);
}

static void p_lie_sv(struct v1_source *s) { s->secure_version = 9; } /* the offer lies */

static void test_secure_version(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    use_pub = NULL;
    floor_sv = 2;
    /* below the floor: refused from the offer */
    assert_int_equal(attempt(&t, img_sv1, "1.0.0", NULL), FOTA_ERR_SECURE_VERSION);
    td_free(&t);
    /* the offer claims 9, the image says 1: refused at its first chunk */
    assert_int_equal(attempt(&t, img_sv1, "1.0.0", p_lie_sv), FOTA_ERR_SECURE_VERSION);
    td_free(&t);
    /* signed manifest below the floor: refused */
    use_pub = pub;
    assert_int_equal(attempt(&t, img_sv1, "1.0.0", p_sign), FOTA_ERR_SECURE_VERSION);
    td_free(&t);
    /* install secure_version 3 and confirm it: the floor rises to 3 */
    use_pub = NULL;
    floor_sv = 0;
    assert_int_equal(attempt(&t, img_sv3, "1.0.0", NULL), FOTA_OK);
    assert_int_equal(power_on(&t), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(t.d.fota.min_secure, 3);
    /* it survives a reboot, and secure_version 2 is now refused, even as an
     * allowed downgrade */
    assert_int_equal(power_on(&t), FOTA_OK);
    assert_int_equal(t.d.fota.min_secure, 3);
    v1_source_init(&t.src, img_sv2, SZ, 2, "2.2.0", "test-dev", t.key);
    t.src.secure_version = 2;
    t.src.allow_downgrade = 1;
    assert_int_equal(fota_check(&t.d.fota, "2.3.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_SECURE_VERSION);
    td_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_releases),
        cmocka_unit_test(test_compromised_server),
        cmocka_unit_test(test_replays_refused_before_write),
        cmocka_unit_test(test_downgrade),
        cmocka_unit_test(test_secure_version),
    };
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
