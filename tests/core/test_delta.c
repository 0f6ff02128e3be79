/*
 * test_delta.c - compressed and delta updates through the engine, on the
 * simulated device (NOR model, bootloader model, the in-process v1 source
 * serving the patch as fota-server does): the bytes fetched are the patch's,
 * the slot ends up holding the new image exactly, a patch from another base
 * or one that makes a wrong image falls back to the full image, a device
 * that takes no encoding gets the full image, and a power cut after or
 * inside every flash operation of a delta and a compressed update resumes
 * from the last sector end (not from zero) and installs the same image.
 * The campaign prints the operation it cut, to replay one.
 * Only the port boundary is simulated; the core and the patcher are real.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"
#include "patchenc.h"

#define APPROX 24576u        /* the synthetic app of about 24 KB: 7 sectors */
#define APPROX_FULL 262144u  /* --full (make soak): 256 KB, every operation cut */

static uint8_t *app[5];
static uint32_t app_len[5];
static int exhaustive; /* --full: the larger app, every operation cut */

static int setup_all(void **state)
{
    unsigned r;
    (void)state;
    fota_posix_log_level = -1;
    for (r = 0; r < 5; r++) {
        struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "1.0.0", "delta-test", 0, 7, 0};
        char v[16];
        snprintf(v, sizeof v, "1.0.%u", r);
        o.version = v;
        if (sim_mkapp(&app[r], &app_len[r], exhaustive ? APPROX_FULL : APPROX, &o, r))
            return -1;
    }
    return 0;
}

static int teardown_all(void **state)
{
    unsigned r;
    (void)state;
    for (r = 0; r < 5; r++)
        free(app[r]);
    return 0;
}

/* The appended SHA-256 of an image: what names it as a base. */
static const uint8_t *tail(const uint8_t *img, uint32_t len)
{
    return img + len - 32;
}

/* One power-on with the given encodings, cut settings armed first. */
static int power_on(struct testdev *t, uint32_t encodings, uint64_t cut_after,
                    uint64_t cut_inside)
{
    nor_rearm(&t->fl);
    t->fl.cut_after = cut_after;
    t->fl.cut_inside = cut_inside;
    t->d.curl = NULL;
    t->d.src = &t->src;
    sim_device_setup(&t->d, &t->fl, FOTA_CHIP_ESP32, "test-dev", t->key);
    t->d.no_sleep = 1;
    t->d.cfg.max_attempts = 3;
    t->d.cfg.encodings = encodings;
    return sim_device_power_on(&t->d);
}

/* Power on, check, run: FOTA_OK when installed. */
static int attempt(struct testdev *t, uint32_t enc, uint64_t cut_after, uint64_t cut_inside)
{
    struct fota_offer o;
    struct fota_boot_info bi;
    int rc = power_on(t, enc, cut_after, cut_inside);
    if (!rc && fota_boot_info(&t->d.fota, &bi) == FOTA_OK && bi.running_slot == 1)
        return fota_confirm(&t->d.fota); /* the switch took before the cut: the new
                                            image runs on trial; its self-test passes */
    if (!rc && fota_phase(&t->d.fota) == FOTA_PHASE_INSTALLED)
        return FOTA_OK; /* recovery redid the boot switch a cut undid */
    if (!rc)
        rc = fota_check(&t->d.fota, "1.0.0", &o);
    if (!rc && !o.update)
        rc = FOTA_ERR_OFFER;
    if (!rc)
        rc = fota_run(&t->d.fota, &o);
    return rc;
}

/* The new image is in ota_1 and boots (k: the cut, for the message). */
static void installed_at(struct testdev *t, const uint8_t *img, uint32_t len, uint64_t k)
{
    struct fota_boot_info bi;
    if (memcmp(t->mem + OTA1, img, len))
        fail_msg("cut at op %llu: ota_1 does not hold the new image", (unsigned long long)k);
    assert_int_equal(power_on(t, 0, 0, 0), FOTA_OK);
    assert_int_equal(fota_boot_info(&t->d.fota, &bi), FOTA_OK);
    if (bi.running_slot != 1)
        fail_msg("cut at op %llu: ota_%u boots, not ota_1 with the new image",
                 (unsigned long long)k, bi.running_slot);
}

static void assert_installed(struct testdev *t, const uint8_t *img, uint32_t len)
{
    installed_at(t, img, len, 0);
}

/* A device running base (NULL: app[0]) offered img with patch p. */
static void prepare(struct testdev *t, const uint8_t *base, uint32_t bn, const uint8_t *img,
                    uint32_t len, const uint8_t *p, size_t pn, int enc)
{
    assert_int_equal(td_provision(t, NULL, base, bn, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(t, img, len);
    if (p)
        v1_source_set_patch(&t->src, p, (uint32_t)pn, enc,
                            enc == FOTA_ENC_DELTA ? tail(base, bn) : NULL);
}

static void test_compressed_update(void **state)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    int v2;
    (void)state;
    assert_int_equal(patchenc_make(NULL, 0, app[1], app_len[1], &p, &pn), 0);
    assert_true(pn < app_len[1]);
    for (v2 = 0; v2 < 2; v2++) {
        prepare(&t, app[0], app_len[0], app[1], app_len[1], p, pn, FOTA_ENC_COMPRESSED);
        t.src.v2 = v2;
        assert_int_equal(attempt(&t, FOTA_ENCS_COMPRESSED, 0, 0), FOTA_OK);
        assert_int_equal(t.src.patch_offers, 1);
        assert_int_equal(t.src.chunk_bytes, pn); /* the patch, once */
        assert_installed(&t, app[1], app_len[1]);
        td_free(&t);
    }
    free(p);
}

static void test_delta_update(void **state)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    int v2;
    (void)state;
    assert_int_equal(patchenc_make(app[0], app_len[0], app[4], app_len[4], &p, &pn), 0);
    assert_true(pn < app_len[4] / 4);
    for (v2 = 0; v2 < 2; v2++) {
        prepare(&t, app[0], app_len[0], app[4], app_len[4], p, pn, FOTA_ENC_DELTA);
        t.src.v2 = v2;
        assert_int_equal(attempt(&t, FOTA_ENCS_DELTA | FOTA_ENCS_COMPRESSED, 0, 0), FOTA_OK);
        assert_int_equal(t.src.patch_offers, 1);
        assert_int_equal(t.src.chunk_bytes, pn);
        assert_installed(&t, app[4], app_len[4]);
        td_free(&t);
    }
    free(p);
}

/* A device that takes no encoding: the source offers no patch, the full
 * image comes as before. */
static void test_no_encodings_full_image(void **state)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    (void)state;
    assert_int_equal(patchenc_make(app[0], app_len[0], app[2], app_len[2], &p, &pn), 0);
    prepare(&t, app[0], app_len[0], app[2], app_len[2], p, pn, FOTA_ENC_DELTA);
    assert_int_equal(attempt(&t, 0, 0, 0), FOTA_OK);
    assert_int_equal(t.src.patch_offers, 0);
    assert_int_equal(t.src.chunk_bytes, app_len[2]);
    assert_installed(&t, app[2], app_len[2]);
    td_free(&t);
    free(p);
}

/* The device runs app[1], but the delta offered is from app[0] (the source
 * names the wrong base): the patcher refuses its header before a byte is
 * written and the full image is downloaded instead. */
static void test_delta_other_base_falls_back(void **state)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    (void)state;
    assert_int_equal(patchenc_make(app[0], app_len[0], app[3], app_len[3], &p, &pn), 0);
    prepare(&t, app[1], app_len[1], app[3], app_len[3], p, pn, FOTA_ENC_DELTA);
    assert_int_equal(attempt(&t, FOTA_ENCS_DELTA, 0, 0), FOTA_OK);
    assert_int_equal(t.src.patch_offers, 1);
    assert_true(t.src.chunk_bytes <= 1024 + app_len[3]); /* one patch chunk, then the image */
    assert_installed(&t, app[3], app_len[3]);
    td_free(&t);
    free(p);
}

/* A well-formed delta (its HMACs verify) that makes another image: the
 * read-back SHA-256 differs, and the full image is downloaded instead. */
static void test_delta_wrong_image_falls_back(void **state)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    (void)state;
    /* a delta to app[2], served as if it made app[3] */
    assert_int_equal(patchenc_make(app[0], app_len[0], app[2], app_len[2], &p, &pn), 0);
    assert_int_equal(app_len[2], app_len[3]);
    prepare(&t, app[0], app_len[0], app[3], app_len[3], p, pn, FOTA_ENC_DELTA);
    assert_int_equal(attempt(&t, FOTA_ENCS_DELTA, 0, 0), FOTA_OK);
    assert_int_equal(t.src.chunk_bytes, pn + app_len[3]);
    assert_installed(&t, app[3], app_len[3]);
    td_free(&t);
    free(p);
}

/*
 * The campaign: a cut after (inside: torn) each flash operation k of the
 * update, then power-ons without cuts until installed. The image must be
 * exact, boot, and the bytes fetched again must stay below what a restart
 * from zero would cost: at most one sector's worth of patch plus a chunk.
 */
static void campaign(int enc, const uint8_t *base, uint32_t bn, const uint8_t *img,
                     uint32_t len, int inside)
{
    struct testdev t;
    uint8_t *p;
    size_t pn;
    uint64_t k, n, step;
    uint64_t worst = 0, worst_k = 0;
    uint32_t encs = enc == FOTA_ENC_DELTA ? FOTA_ENCS_DELTA : FOTA_ENCS_COMPRESSED;
    unsigned cuts = 0;

    assert_int_equal(patchenc_make(enc == FOTA_ENC_DELTA ? base : NULL,
                                   enc == FOTA_ENC_DELTA ? bn : 0, img, len, &p, &pn), 0);
    /* the operations of an uncut update (from its power-on) */
    prepare(&t, base, bn, img, len, p, pn, enc);
    assert_int_equal(attempt(&t, encs, 0, 0), FOTA_OK);
    n = t.fl.ops;
    td_free(&t);
    step = exhaustive || n <= 400 ? 1 : n / 400 + 1;
    for (k = 1; k <= n; k += step) {
        uint64_t fetched;
        int rc, tries = 0;
        prepare(&t, base, bn, img, len, p, pn, enc);
        rc = attempt(&t, encs, inside ? 0 : k, inside ? k : 0);
        if (rc != FOTA_ERR_POWER_LOST)
            fail_msg("%s %s cut at op %llu of %llu: expected a power loss, got %s",
                     enc == FOTA_ENC_DELTA ? "delta" : "compressed", inside ? "inside" : "after",
                     (unsigned long long)k, (unsigned long long)n, fota_strerror(rc));
        do {
            rc = attempt(&t, encs, 0, 0);
        } while (rc == FOTA_ERR_POWER_LOST && ++tries < 2);
        if (rc)
            fail_msg("%s cut %s op %llu: the resumed update failed: %s",
                     enc == FOTA_ENC_DELTA ? "delta" : "compressed", inside ? "inside" : "after",
                     (unsigned long long)k, fota_strerror(rc));
        assert_true(t.src.patch_offers >= 1);
        fetched = t.src.chunk_bytes - pn; /* fetched again because of the cut */
        if (fetched > worst)
            worst = fetched, worst_k = k;
        if (fetched > pn / 2 + 2048)
            fail_msg("cut %s op %llu: %llu bytes fetched again of a %zu-byte patch: resumed "
                     "from zero?", inside ? "inside" : "after", (unsigned long long)k,
                     (unsigned long long)fetched, pn);
        installed_at(&t, img, len, k);
        td_free(&t);
        cuts++;
    }
    printf("  %s, cut %s: %u of %llu operations cut (replay: op k), worst re-fetch %llu bytes "
           "of a %zu-byte patch at op %llu\n",
           enc == FOTA_ENC_DELTA ? "delta" : "compressed", inside ? "inside" : "after", cuts,
           (unsigned long long)n, (unsigned long long)worst, pn, (unsigned long long)worst_k);
    free(p);
}

static void test_powercut_delta_after(void **state)
{
    (void)state;
    campaign(FOTA_ENC_DELTA, app[0], app_len[0], app[4], app_len[4], 0);
}

static void test_powercut_delta_inside(void **state)
{
    (void)state;
    campaign(FOTA_ENC_DELTA, app[0], app_len[0], app[4], app_len[4], 1);
}

static void test_powercut_compressed_after(void **state)
{
    (void)state;
    campaign(FOTA_ENC_COMPRESSED, app[0], app_len[0], app[1], app_len[1], 0);
}

static void test_powercut_compressed_inside(void **state)
{
    (void)state;
    campaign(FOTA_ENC_COMPRESSED, app[0], app_len[0], app[1], app_len[1], 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compressed_update),
        cmocka_unit_test(test_delta_update),
        cmocka_unit_test(test_no_encodings_full_image),
        cmocka_unit_test(test_delta_other_base_falls_back),
        cmocka_unit_test(test_delta_wrong_image_falls_back),
        cmocka_unit_test(test_powercut_delta_after),
        cmocka_unit_test(test_powercut_delta_inside),
        cmocka_unit_test(test_powercut_compressed_after),
        cmocka_unit_test(test_powercut_compressed_inside),
    };
    exhaustive = argc > 1 && !strcmp(argv[1], "--full");
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
