/*
 * test_engine.c - the engine's decisions that cost a field device its link
 * or its data (issue 12): a release whose bytes do not match its SHA-256 is
 * downloaded twice at most and reported `failed` with the reason; fota_check
 * never clobbers an update in progress; fota_init does no network I/O and
 * reads no slot beyond an image head (the first fota_step does what a
 * reboot left); a confirmed image offered again is reported `confirmed`,
 * not downloaded into the other slot; fota_rollback of a confirmed image.
 *
 * Only the port boundary is simulated (the NOR model, the in-process v1
 * source); the wrappers below count and log what crosses the port's
 * transport and flash callbacks and then call the simulator's own ones.
 * Each test names the broken build it was seen to fail on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"
#include "journal.h"

#define LEN 81920u /* 80 chunks of 1 KB, 20 sectors */

static uint8_t *img_a, *img_b, *img_c;

/* ---- counting wrappers at the port boundary ------------------------------- */

static struct {
    unsigned gets, posts;
    unsigned failed_sha_posts;   /* "failed" with error sha256_mismatch */
    unsigned confirmed_posts;
    uint64_t app_bytes_read;     /* part_read of app slots (not the journal) */
} seen;

static int (*real_read)(const struct fota_config *, const struct fota_part *, uint32_t, void *,
                        uint32_t);

static int count_get(const struct fota_config *c, const char *path,
                     const struct fota_http_header *h, unsigned nh, fota_body_fn fn, void *arg,
                     int *status)
{
    struct sim_device *d = (struct sim_device *)c->context;
    seen.gets++;
    return v1_source_get(d->src, path, h, nh, fn, arg, status);
}

static int count_post(const struct fota_config *c, const char *path,
                      const struct fota_http_header *h, unsigned nh, const char *body,
                      uint32_t len, int *status)
{
    struct sim_device *d = (struct sim_device *)c->context;
    char b[256];
    snprintf(b, sizeof b, "%.*s", (int)len, body);
    seen.posts++;
    if (strstr(b, "\"state\": \"failed\"") && strstr(b, "\"error\": \"sha256_mismatch\""))
        seen.failed_sha_posts++;
    if (strstr(b, "\"state\": \"confirmed\""))
        seen.confirmed_posts++;
    return v1_source_post(d->src, path, h, nh, body, len, status);
}

static int count_read(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                      void *buf, uint32_t n)
{
    if (p->index < FOTA_SLOT_DATA)
        seen.app_bytes_read += n;
    return real_read(c, p, off, buf, n);
}

/* A power-on like sim_device_power_on, with the wrappers bound before
 * fota_init and without its first step: what fota_init alone does. */
static int power_on_counted(struct testdev *t)
{
    int rc;
    nor_rearm(&t->fl);
    t->d.curl = NULL;
    t->d.src = &t->src;
    sim_device_setup(&t->d, &t->fl, FOTA_CHIP_ESP32, "test-dev", t->key);
    t->d.cfg.sleep_ms = NULL;
    t->d.cfg.max_attempts = 3;
    rc = sim_boot(t->d.flash, &t->d.plat, t->d.chip, &t->d.boot);
    if (!rc)
        rc = sim_device_open_journal(&t->d);
    if (rc)
        return rc;
    t->d.cfg.http_get = count_get;
    t->d.cfg.http_post = count_post;
    real_read = t->d.cfg.part_read;
    t->d.cfg.part_read = count_read;
    memset(&seen, 0, sizeof seen);
    return fota_init(&t->d.fota, &t->d.cfg);
}

/* Bind the counting transport to a device powered on by td_power_on. */
static void count_transport(struct testdev *t)
{
    t->d.cfg.http_get = count_get;
    t->d.cfg.http_post = count_post;
    memset(&seen, 0, sizeof seen);
}

static int setup_all(void **state)
{
    (void)state;
    fota_posix_log_level = -1;
    img_a = make_image(LEN, "1.0.0", 1, FOTA_CHIP_ESP32);
    img_b = make_image(LEN, "2.0.0", 2, FOTA_CHIP_ESP32);
    img_c = make_image(LEN, "3.0.0", 3, FOTA_CHIP_ESP32);
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    free(img_a);
    free(img_b);
    free(img_c);
    return 0;
}

/* The otadata entry in force selects slot (otadata at 0xE000). */
static int selects(const struct testdev *t, unsigned slot)
{
    struct fota_ota_entry e[2];
    int a;
    fota_ota_decode(t->mem + 0xE000, &e[0]);
    fota_ota_decode(t->mem + 0xF000, &e[1]);
    a = fota_ota_active(e);
    return a >= 0 && fota_ota_slot(e[a].seq, 2) == slot;
}

/* a in ota_0, powered on, b offered by the source and the check. */
static void offered_b(struct testdev *t, struct fota_offer *o)
{
    assert_int_equal(td_provision(t, NULL, img_a, LEN, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(t, img_b, LEN);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t->d.fota, "1.0.0", o), FOTA_OK);
    assert_true(o->update);
}

/* a in ota_0, b offered, installed, booted on trial in ota_1. */
static void install_b_trial(struct testdev *t)
{
    struct fota_offer o;
    offered_b(t, &o);
    assert_int_equal(fota_run(&t->d.fota, &o), FOTA_OK);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 1);
    assert_int_equal(t->d.boot.ota_state, FOTA_OTA_PENDING_VERIFY);
}

/* ---- a whole-image SHA-256 mismatch ---------------------------------------- */

/* A server whose release bytes do not match the SHA-256 it states (its
 * chunk HMACs are made with that same SHA-256, so every chunk verifies):
 * exactly 2 full downloads, `failed` with sha256_mismatch posted after each,
 * no boot switch; the same offer again is refused without a download until
 * a check answers "no update" (the operator stopped the deployment).
 * Broken build seen failing: SHA_MISMATCH_MAX 8 in engine.c (3 downloads,
 * then FOTA_ERR_RETRIES as before the fix). */
static void test_sha_mismatch_downloaded_twice_then_given_up(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_jrec r;
    uint32_t chunks = LEN / 1024;
    (void)state;
    assert_int_equal(td_provision(&t, NULL, img_a, LEN, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img_b, LEN);
    t.src.sha256[5] ^= 0x40; /* the stated SHA-256 is not the bytes' */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    count_transport(&t);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_true(o.update);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_SHA256);
    assert_int_equal(t.src.chunk_requests, 2 * chunks);
    assert_int_equal(t.src.chunk_bytes, 2ull * LEN);
    assert_int_equal(seen.failed_sha_posts, 2);
    assert_false(selects(&t, 1));
    assert_int_equal(fota_j_decode(t.d.fota.journal, &r), FOTA_OK);
    assert_int_equal(r.phase, FOTA_J_FAILED);

    /* a reboot, the same offer: refused, reported, nothing fetched */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    count_transport(&t);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_SHA256);
    assert_int_equal(t.src.chunk_requests, 2 * chunks);
    assert_int_equal(seen.failed_sha_posts, 1);

    /* the operator stops the deployment (no update), then deploys the
     * release again: a new offer, downloaded again */
    t.src.offer = 0;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_false(o.update);
    t.src.offer = 1;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_SHA256);
    assert_int_equal(t.src.chunk_requests, 4 * chunks);
    assert_false(selects(&t, 1));
    td_free(&t);
}

/* A mismatch the second download does not repeat (the first one's bytes
 * were corrupted on their way; here: ota_1 changed behind the engine's back
 * before the read-back) installs with exactly 2 downloads. Broken build seen
 * failing: step_verify giving up at the first mismatch (SHA_MISMATCH_MAX 1). */
static int corrupt_once;
static int corrupting_read(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                           void *buf, uint32_t n)
{
    int rc = real_read(c, p, off, buf, n);
    if (rc == FOTA_OK && corrupt_once && p->index == 1 && off <= 5000 && 5000 < off + n) {
        ((uint8_t *)buf)[5000 - off] ^= 0x01;
        corrupt_once = 0;
    }
    return rc;
}

static void test_sha_mismatch_once_then_installed(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    assert_int_equal(td_provision(&t, NULL, img_a, LEN, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img_b, LEN);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    count_transport(&t);
    real_read = t.d.cfg.part_read;
    t.d.cfg.part_read = corrupting_read;
    corrupt_once = 1;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_int_equal(t.src.chunk_bytes, 2ull * LEN);
    assert_int_equal(seen.failed_sha_posts, 1);
    assert_non_null(strstr(t.src.last_status, "\"installed\""));
    assert_true(selects(&t, 1));
    assert_memory_equal(t.mem + OTA1, img_b, LEN);
    td_free(&t);
}

/* ---- fota_check during a download ------------------------------------------ */

/* Half the download done, the application checks again: the server now
 * offers another release (then nothing). The download in progress keeps its
 * offer, journal and progress: the chunks fetched after the calls are the
 * remaining ones only, and ota_1 ends holding b. Broken build seen failing:
 * fota_check_begin parsing into f->offer again (the offer of release 2
 * replaced release 1's: its chunks were asked for release 2). */
static void test_check_keeps_update_in_progress(void **state)
{
    struct testdev t;
    struct fota_offer o, o2;
    struct fota_progress p0, p1;
    uint8_t journal[FOTA_JOURNAL_LEN];
    uint64_t bytes_before;
    (void)state;
    offered_b(&t, &o);
    o.protocols = 0; /* v1: one chunk per step */
    assert_int_equal(fota_begin(&t.d.fota, &o), FOTA_OK);
    while (t.d.fota.prog.chunks_done < 37)
        assert_int_equal(fota_step(&t.d.fota), FOTA_OK);
    fota_get_progress(&t.d.fota, &p0);
    memcpy(journal, t.d.fota.journal, sizeof journal);

    /* the server offers release 2 now ... */
    v1_source_init(&t.src, img_c, LEN, 2, "3.0.0", "test-dev", t.key);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o2), FOTA_OK);
    assert_true(o2.update);
    assert_int_equal(o2.release, 2);
    /* ... and then nothing */
    t.src.offer = 0;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o2), FOTA_OK);
    assert_false(o2.update);
    fota_get_progress(&t.d.fota, &p1);
    assert_memory_equal(&p0, &p1, sizeof p0);
    assert_memory_equal(journal, t.d.fota.journal, sizeof journal);
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_DOWNLOADING);

    /* release 1 is still served by id: the download goes on where it was */
    v1_source_init(&t.src, img_b, LEN, 1, "2.0.0", "test-dev", t.key);
    bytes_before = t.src.chunk_bytes;
    while (fota_phase(&t.d.fota) != FOTA_PHASE_INSTALLED)
        assert_int_equal(fota_step(&t.d.fota), FOTA_OK);
    assert_int_equal(t.src.first_chunk, 37);
    assert_int_equal(t.src.chunk_bytes - bytes_before, LEN - p0.bytes_done);
    assert_memory_equal(t.mem + OTA1, img_b, LEN);
    assert_true(selects(&t, 1));
    td_free(&t);
}

/* ---- fota_init: no network, no slot read beyond a head --------------------- */

/* A trial that never confirmed (b in ota_1, rebooted twice): the
 * bootloader went back to a, and the `rolled_back` report is due. fota_init
 * makes 0 transport calls and reads at most FOTA_IMG_HEAD_LEN bytes of the
 * app slots; the first fota_step sends the report. Broken build seen
 * failing: fota_init calling step_recover itself (the old recover()). */
static void test_init_defers_pending_report(void **state)
{
    struct testdev t;
    (void)state;
    install_b_trial(&t);
    assert_int_equal(power_on_counted(&t), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_int_equal(t.d.boot.aborted, 1);
    assert_int_equal(seen.gets + seen.posts, 0);
    assert_true(seen.app_bytes_read <= FOTA_IMG_HEAD_LEN);
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_RECOVERING);
    assert_int_equal(fota_step(&t.d.fota), FOTA_OK);
    assert_int_equal(seen.posts, 1);
    assert_non_null(strstr(t.src.last_status, "\"rolled_back\""));
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_IDLE);
    td_free(&t);
}

/* A cut undid the boot switch (the otadata entry for ota_1 is gone), the
 * journal says installed: the slot must be verified again and switched
 * again, in the first step, not in fota_init. Broken build seen failing:
 * the same as above. */
static void test_init_defers_reverify(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_ota_entry e[2];
    unsigned i;
    (void)state;
    offered_b(&t, &o);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    /* lose the NEW entry, as a cut in its sector's rewrite does */
    fota_ota_decode(t.mem + 0xE000, &e[0]);
    fota_ota_decode(t.mem + 0xF000, &e[1]);
    for (i = 0; i < 2; i++)
        if (fota_ota_valid(&e[i]) && fota_ota_slot(e[i].seq, 2) == 1)
            memset(t.mem + 0xE000 + i * 0x1000, 0xFF, 0x1000);
    assert_false(selects(&t, 1));
    assert_int_equal(power_on_counted(&t), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_int_equal(seen.gets + seen.posts, 0);
    assert_true(seen.app_bytes_read <= FOTA_IMG_HEAD_LEN);
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_RECOVERING);
    assert_int_equal(fota_step(&t.d.fota), FOTA_OK);
    assert_true(seen.app_bytes_read >= 2ull * LEN); /* two read-back passes */
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_INSTALLED);
    assert_true(selects(&t, 1));
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    td_free(&t);
}

/* ---- a confirmed image offered again ---------------------------------------- */

/* b confirmed in ota_1, and the `confirmed` report lost: a cut in the
 * journal write after it, or the server offers b again because b's app
 * descriptor names another version. The device notices that the running,
 * VALID image hashes to the offer's SHA-256 and reports `confirmed` instead
 * of downloading b into ota_0. Broken build seen failing: fota_begin without
 * the same_as_running() call (b downloaded again into ota_0, a erased). */
static void test_confirmed_image_offered_again_not_downloaded(void **state)
{
    struct testdev t;
    struct fota_offer o;
    uint32_t requests;
    (void)state;
    install_b_trial(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    count_transport(&t);
    requests = t.src.chunk_requests;
    assert_int_equal(fota_check(&t.d.fota, "whatever-the-descriptor-says", &o), FOTA_OK);
    assert_true(o.update);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_ALREADY_RUNNING);
    assert_int_equal(t.src.chunk_requests, requests);
    assert_int_equal(seen.confirmed_posts, 1);
    assert_memory_equal(t.mem + OTA0, img_a, LEN); /* the other slot untouched */
    assert_true(selects(&t, 1));
    td_free(&t);
}

/* The same with the cut before the journal write: the journal still says
 * installed. The next power-on's first step reports `confirmed`; the offer
 * after it is not downloaded either. */
static void test_confirm_cut_in_journal_write(void **state)
{
    struct testdev t;
    struct fota_offer o;
    uint64_t ops;
    uint32_t requests;
    int rc = FOTA_ERR_POWER_LOST;
    (void)state;
    install_b_trial(&t);
    /* find the cut that hits the confirm's last flash operation */
    for (ops = 1; rc == FOTA_ERR_POWER_LOST; ops++) {
        struct testdev u;
        install_b_trial(&u);
        u.fl.cut_after = u.fl.ops + ops;
        rc = fota_confirm(&u.d.fota);
        td_free(&u);
    }
    ops -= 2; /* the last operation that cut */
    t.fl.cut_after = t.fl.ops + ops;
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_ERR_POWER_LOST);
    assert_int_equal(power_on_counted(&t), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    assert_int_equal(seen.gets + seen.posts, 0);
    if (fota_phase(&t.d.fota) == FOTA_PHASE_RECOVERING)
        assert_int_equal(fota_step(&t.d.fota), FOTA_OK);
    requests = t.src.chunk_requests;
    assert_int_equal(fota_check(&t.d.fota, "whatever-the-descriptor-says", &o), FOTA_OK);
    rc = fota_run(&t.d.fota, &o);
    assert_int_equal(rc, FOTA_ERR_ALREADY_RUNNING);
    assert_int_equal(t.src.chunk_requests, requests);
    assert_true(seen.confirmed_posts >= 1);
    assert_memory_equal(t.mem + OTA0, img_a, LEN);
    td_free(&t);
}

/* ---- fota_rollback of a confirmed image ------------------------------------- */

/* As esp_ota_mark_app_invalid_rollback_and_reboot: a confirmed (VALID)
 * image may be rolled back while a previous app would boot; the release is
 * reported and remembered as rolled back, so the same offer is not
 * installed again by itself. With no previous app the platform refuses and
 * the journal stays. Broken build seen failing: fota_rollback marking the
 * journal only for an image on trial (journal phase installed), as before. */
static void test_rollback_of_confirmed_image(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_jrec r;
    uint32_t requests;
    (void)state;
    install_b_trial(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    assert_int_equal(fota_rollback(&t.d.fota), FOTA_OK);
    assert_non_null(strstr(t.src.last_status, "\"rolled_back\""));
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_memory_equal(t.mem + OTA0, img_a, LEN);
    requests = t.src.chunk_requests;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_ROLLED_BACK);
    assert_int_equal(t.src.chunk_requests, requests);
    td_free(&t);

    /* nothing to go back to: refused, the journal as it was, a still runs */
    assert_int_equal(td_provision(&t, NULL, img_a, LEN, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img_b, LEN);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_rollback(&t.d.fota), FOTA_ERR_NO_SLOT);
    assert_int_equal(fota_j_decode(t.d.fota.journal, &r), FOTA_OK);
    assert_int_equal(r.phase, FOTA_J_NONE);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    td_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha_mismatch_downloaded_twice_then_given_up),
        cmocka_unit_test(test_sha_mismatch_once_then_installed),
        cmocka_unit_test(test_check_keeps_update_in_progress),
        cmocka_unit_test(test_init_defers_pending_report),
        cmocka_unit_test(test_init_defers_reverify),
        cmocka_unit_test(test_confirmed_image_offered_again_not_downloaded),
        cmocka_unit_test(test_confirm_cut_in_journal_write),
        cmocka_unit_test(test_rollback_of_confirmed_image),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
