/*
 * test_update.c - libfota end to end on the simulated ESP32 with the real
 * images of ../shared/firmware: which images are accepted and refused (and
 * that refusals happen before anything is erased), a full update a -> b
 * with the trial boot, confirm and rollback, and resume after a power cut.
 * Each test names the DESIGN.md invariant it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"

static const char *fw; /* ../shared/firmware */
static uint8_t *img_a, *img_b, *img_large, *img_s2, *img_s3, *img_boot, *img_pt;
static uint32_t len_a, len_b, len_large, len_s2, len_s3, len_boot, len_pt;

static const char min_spiffs_csv[] =
    "# Name,   Type, SubType, Offset,  Size, Flags\n"
    "nvs,      data, nvs,     0x9000,  0x5000,\n"
    "otadata,  data, ota,     0xe000,  0x2000,\n"
    "app0,     app,  ota_0,   0x10000, 0x1E0000,\n"
    "app1,     app,  ota_1,   0x1F0000,0x1E0000,\n"
    "spiffs,   data, spiffs,  0x3D0000,0x1C000,\n"
    "fota,     data, undefined,0x3EC000,0x4000,\n"
    "coredump, data, coredump,0x3F0000,0x10000,\n";

static int setup_all(void **state)
{
    (void)state;
    fota_posix_log_level = -1;
    img_a = load_file(fw, "esp32-arduino-a.bin", &len_a);
    img_b = load_file(fw, "esp32-arduino-b.bin", &len_b);
    img_large = load_file(fw, "esp32-arduino-large.bin", &len_large);
    img_s2 = load_file(fw, "esp32s2-idf-blink.bin", &len_s2);
    img_s3 = load_file(fw, "esp32s3-arduino.bin", &len_s3);
    img_boot = load_file(fw, "not-an-app-bootloader.bin", &len_boot);
    img_pt = load_file(fw, "not-an-app-partitions.bin", &len_pt);
    return 0;
}

/* ---- which images a device accepts -------------------------------------- */

static void test_real_images_accepted_and_refused(void **state)
{
    const struct {
        const char *csv;
        uint8_t **img;
        uint32_t *len;
        int chip, expect;
    } cases[] = {
        {NULL, &img_a, &len_a, FOTA_CHIP_ESP32, FOTA_OK},
        {NULL, &img_b, &len_b, FOTA_CHIP_ESP32, FOTA_OK},
        {NULL, &img_s2, &len_s2, FOTA_CHIP_ESP32, FOTA_ERR_IMG_CHIP},
        {NULL, &img_s3, &len_s3, FOTA_CHIP_ESP32, FOTA_ERR_IMG_CHIP},
        {NULL, &img_s3, &len_s3, FOTA_CHIP_ESP32S3, FOTA_OK}, /* an S3 takes it */
        {NULL, &img_boot, &len_boot, FOTA_CHIP_ESP32, FOTA_ERR_IMG_NOT_APP},
        {NULL, &img_pt, &len_pt, FOTA_CHIP_ESP32, FOTA_ERR_IMG_MAGIC},
        {NULL, &img_large, &len_large, FOTA_CHIP_ESP32, FOTA_ERR_SLOT_SIZE},
        {min_spiffs_csv, &img_large, &len_large, FOTA_CHIP_ESP32, FOTA_OK},
    };
    struct testdev t;
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(td_provision(&t, cases[i].csv, *cases[i].img, *cases[i].len,
                                      cases[i].chip), cases[i].expect);
        td_free(&t);
    }
}

static void test_refusal_names_expected_and_got(void **state)
{
    struct nor_flash fl;
    uint8_t *mem = malloc(FLASH_4MB);
    char err[256];
    (void)state;
    memset(mem, 0xFF, FLASH_4MB);
    nor_open_mem(&fl, mem, FLASH_4MB);
    assert_int_equal(sim_provision(&fl, NULL, NULL, img_s3, len_s3, FOTA_CHIP_ESP32, err, sizeof err),
                     FOTA_ERR_IMG_CHIP);
    assert_non_null(strstr(err, "esp32s3"));
    assert_non_null(strstr(err, "esp32"));
    assert_int_equal(sim_provision(&fl, NULL, NULL, img_large, len_large, FOTA_CHIP_ESP32, err, sizeof err),
                     FOTA_ERR_SLOT_SIZE);
    assert_non_null(strstr(err, "1689952"));
    assert_non_null(strstr(err, "1310720"));
    nor_close(&fl);
    free(mem);
}

/* Offer an image over the wire and expect a refusal before any erase of the
 * update slot (invariant 6; ESP-IDF's esp_https_ota does the same). */
static void offer_refused(const uint8_t *img, uint32_t len, int expect, const char *csv)
{
    struct testdev t;
    struct fota_offer o;
    uint64_t ops;
    int rc;

    assert_int_equal(td_provision(&t, csv, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img, len);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_true(o.update);
    rc = fota_begin(&t.d.fota, &o);
    if (rc == FOTA_OK) {
        ops = t.fl.ops; /* begin may write the journal; nothing after that */
        rc = fota_step(&t.d.fota);
        assert_int_equal(t.fl.ops, ops);
    }
    assert_int_equal(rc, expect);
    assert_true(all_ff(t.mem + OTA1, SLOT));
    /* the old image still boots */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    td_free(&t);
}

static void test_offered_wrong_images_refused_before_erase(void **state)
{
    (void)state;
    offer_refused(img_s3, len_s3, FOTA_ERR_IMG_CHIP, NULL);
    offer_refused(img_s2, len_s2, FOTA_ERR_IMG_CHIP, NULL);
    offer_refused(img_boot, len_boot, FOTA_ERR_IMG_NOT_APP, NULL);
    offer_refused(img_large, len_large, FOTA_ERR_SLOT_SIZE, NULL);
}

static void test_large_image_updates_with_min_spiffs(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    assert_int_equal(td_provision(&t, min_spiffs_csv, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img_large, len_large);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_memory_equal(t.mem + 0x1F0000, img_large, len_large);
    td_free(&t);
}

/* ---- a -> b, trial boot, confirm, rollback (invariants 4 and 5) --------- */

static void read_otadata(struct testdev *t, struct fota_ota_entry e[2])
{
    fota_ota_decode(t->mem + 0xE000, &e[0]);
    fota_ota_decode(t->mem + 0xF000, &e[1]);
}

static void install_b(struct testdev *t)
{
    struct fota_offer o;
    struct fota_ota_entry e[2];
    int a;

    assert_int_equal(td_provision(t, NULL, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(t, img_b, len_b);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 0);
    assert_int_equal(fota_check(&t->d.fota, t->d.boot.info.version, &o), FOTA_OK);
    assert_true(o.update);
    assert_int_equal(o.size, len_b);
    assert_int_equal(o.total_chunks, (len_b + 1023) / 1024);
    assert_int_equal(fota_run(&t->d.fota, &o), FOTA_OK);
    assert_int_equal(fota_phase(&t->d.fota), FOTA_PHASE_INSTALLED);
    /* ota_1 holds exactly the new bytes; the running slot is untouched */
    assert_memory_equal(t->mem + OTA1, img_b, len_b);
    assert_memory_equal(t->mem + OTA0, img_a, len_a);
    /* otadata selects ota_1 with state NEW */
    read_otadata(t, e);
    a = fota_ota_active(e);
    assert_true(a >= 0);
    assert_int_equal(fota_ota_slot(e[a].seq, 2), 1);
    assert_int_equal(e[a].state, FOTA_OTA_NEW);
    assert_non_null(strstr(t->src.last_status, "\"installed\""));
}

static void test_update_a_to_b_confirm(void **state)
{
    struct testdev t;
    struct fota_ota_entry e[2];
    int a;
    (void)state;
    install_b(&t);
    /* boot: NEW -> PENDING_VERIFY, ota_1 runs */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    read_otadata(&t, e);
    a = fota_ota_active(e);
    assert_int_equal(e[a].state, FOTA_OTA_PENDING_VERIFY);
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_INSTALLED);
    /* confirm: VALID */
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    read_otadata(&t, e);
    a = fota_ota_active(e);
    assert_int_equal(e[a].state, FOTA_OTA_VALID);
    assert_non_null(strstr(t.src.last_status, "\"confirmed\""));
    /* and it stays: the next boots run ota_1, VALID */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK); /* idempotent */
    td_free(&t);
}

static void test_update_without_confirm_rolls_back(void **state)
{
    struct testdev t;
    struct fota_ota_entry e[2];
    struct fota_offer o;
    (void)state;
    install_b(&t);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK); /* trial */
    assert_int_equal(t.d.boot.slot, 1);
    /* reboot without confirm: ABORTED, ota_0 boots again */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_int_equal(t.d.boot.aborted, 1);
    read_otadata(&t, e);
    assert_true(e[0].state == FOTA_OTA_ABORTED || e[1].state == FOTA_OTA_ABORTED);
    assert_memory_equal(t.mem + OTA0, img_a, len_a);
    assert_non_null(strstr(t.src.last_status, "\"rolled_back\""));
    /* the same release is not installed again by itself */
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_ROLLED_BACK);
    /* confirm has nothing to confirm on the old image either way */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    td_free(&t);
}

/* ---- resume after a power cut (invariant 3) ------------------------------ */

/* Cut power at cut_ops flash operations into the download, reboot, resume.
 * docs/core.md promises that a resume re-fetches at most one sector: the
 * bytes written before the cut minus the resume point is at most 4096. */
static void resume_after_cut_at(uint32_t cut_ops)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_progress p;
    uint64_t served_before;
    uint32_t written_at_cut;

    assert_int_equal(td_provision(&t, NULL, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, img_b, len_b);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    /* cut power after cut_ops more flash operations: mid-download */
    t.fl.cut_after = t.fl.ops + cut_ops;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_POWER_LOST);
    fota_get_progress(&t.d.fota, &p);
    written_at_cut = p.bytes_done;
    assert_true(written_at_cut > 100000 && written_at_cut < len_b);

    /* reboot: the old image still boots */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    {
        uint8_t sha_a[32];
        fota_posix_sha256(img_a, len_a, sha_a);
        assert_memory_equal(t.d.boot.image_sha256, sha_a, 32);
    }
    served_before = t.src.chunk_bytes;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    fota_get_progress(&t.d.fota, &p);
    /* resumed at a sector boundary, not from zero, and never past what was
     * written before the cut */
    assert_true(p.resumed_from > 0);
    assert_int_equal(p.resumed_from % 4096, 0);
    assert_true(p.resumed_from <= written_at_cut);
    /* at most one sector lost (docs/core.md, "Writing and resuming") */
    if (written_at_cut - p.resumed_from > 4096)
        fail_msg("cut after %u ops: %u bytes were written, resumed from %u: %u bytes lost, "
                 "more than one sector",
                 cut_ops, written_at_cut, p.resumed_from, written_at_cut - p.resumed_from);
    /* exactly the bytes after the resume point were fetched again */
    assert_int_equal(t.src.chunk_bytes - served_before, len_b - p.resumed_from);
    assert_int_equal(p.bytes_done, len_b);
    assert_memory_equal(t.mem + OTA1, img_b, len_b);
    /* and it boots */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    td_free(&t);
}

/* Cut points over more than one sector's worth of flash operations (a
 * sector is 4 chunks of 1 KB, 16 page programs, its erase and the journal
 * save: about 18), so the cut lands at every position within a sector. */
static void test_resume_after_power_cut(void **state)
{
    uint32_t cut;
    (void)state;
    for (cut = 690; cut < 714; cut++)
        resume_after_cut_at(cut);
}

/* Recompute the appended SHA-256 (the image's last 32 bytes, over all the
 * bytes before it) after a test changed those bytes. */
static void fix_appended_hash(uint8_t *img, uint32_t len)
{
    fota_posix_sha256(img, len - 32, img + len - 32);
}

/* A release whose bytes match its SHA-256 but whose own structure is wrong
 * (appended hash, checksum) is never switched to (invariant 4). Each case
 * changes only the bytes it names and requires the one error that catches
 * them. */
static void test_broken_image_never_switched(void **state)
{
    static const struct { const char *what; uint32_t from_end; int fix_hash; int expect; } cases[] = {
        /* last byte: inside the appended hash */
        {"appended hash", 1, 0, FOTA_ERR_IMG_HASH},
        /* the XOR checksum byte (just before the appended hash) */
        {"checksum byte", 33, 0, FOTA_ERR_IMG_CHECKSUM},
        /* a byte of segment data, with the appended hash recomputed over the
         * changed bytes: only the segments' XOR checksum can catch it */
        {"segment data", 0, 1, FOTA_ERR_IMG_CHECKSUM},
    };
    unsigned i, wrong = 0;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct testdev t;
        struct fota_offer o;
        struct fota_ota_entry e[2];
        uint8_t *bad = malloc(len_b);
        uint32_t at = cases[i].from_end ? len_b - cases[i].from_end : 200000;
        int rc;
        memcpy(bad, img_b, len_b);
        bad[at] ^= 0x01;
        if (cases[i].fix_hash)
            fix_appended_hash(bad, len_b);
        assert_int_equal(td_provision(&t, NULL, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
        td_offer(&t, bad, len_b);
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
        rc = fota_run(&t.d.fota, &o);
        if (rc != cases[i].expect) { /* report every case, then fail */
            print_error("%s (byte %u flipped): %s, expected %s\n", cases[i].what, at,
                        fota_strerror(rc), fota_strerror(cases[i].expect));
            wrong++;
        }
        fota_ota_decode(t.mem + 0xE000, &e[0]);
        fota_ota_decode(t.mem + 0xF000, &e[1]);
        /* never switched: no entry selects ota_1 (the first boot's own
         * entry, seq 1 VALID for ota_0, is the bootloader's, as on ESP-IDF) */
        assert_false(fota_ota_valid(&e[0]) && fota_ota_slot(e[0].seq, 2) == 1);
        assert_false(fota_ota_valid(&e[1]) && fota_ota_slot(e[1].seq, 2) == 1);
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(t.d.boot.slot, 0);
        td_free(&t);
        free(bad);
    }
    assert_int_equal(wrong, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_images_accepted_and_refused),
        cmocka_unit_test(test_refusal_names_expected_and_got),
        cmocka_unit_test(test_offered_wrong_images_refused_before_erase),
        cmocka_unit_test(test_large_image_updates_with_min_spiffs),
        cmocka_unit_test(test_update_a_to_b_confirm),
        cmocka_unit_test(test_update_without_confirm_rolls_back),
        cmocka_unit_test(test_resume_after_power_cut),
        cmocka_unit_test(test_broken_image_never_switched),
    };
    fw = argc > 1 ? argv[1] : "../shared/firmware";
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
