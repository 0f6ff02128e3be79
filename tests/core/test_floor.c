/*
 * test_floor.c - the anti-rollback floor is kept apart from the resume
 * journal (issue 11): once an image with secure_version 3 is confirmed, the
 * device refuses secure_version 2, even as a deployment that allows a
 * downgrade, after its journal was corrupted (a record whose CRC does not
 * match, saved through the store as a torn or rotten write would leave it)
 * and after its journal sectors were wiped. Before, the floor lived only in
 * the journal and both cases lowered it to 0. The simulator's floor store
 * (sectors 2-3 of the `fota` partition, standing for the eFuse) never goes
 * down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"

#define SZ (64u * 1024u)
#define JOURNAL 0x3EC000u /* the default table's `fota` partition */

static uint8_t *mk(const char *version, uint32_t seed, uint32_t sv)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, version, "inverter", sv, seed, 0};
    uint8_t *b = malloc(SZ);
    assert_int_equal(sim_mkimage(b, SZ, &o), FOTA_OK);
    return b;
}

/* A device that installed and confirmed secure_version 3 (floor 3). */
static void confirmed_sv3(struct testdev *t, const uint8_t *a, const uint8_t *sv3)
{
    struct fota_offer o;
    assert_int_equal(td_provision(t, NULL, a, SZ, FOTA_CHIP_ESP32), FOTA_OK);
    v1_source_init(&t->src, sv3, SZ, 1, "2.3.0", "test-dev", t->key);
    t->src.secure_version = 3;
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t->d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t->d.fota, &o), FOTA_OK);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 1);
    assert_int_equal(fota_confirm(&t->d.fota), FOTA_OK);
    assert_int_equal(t->d.fota.min_secure, 3);
}

/* After a reboot: the floor is still 3 and secure_version 2 is refused,
 * although the deployment allows a downgrade. */
static void sv2_refused(struct testdev *t, const uint8_t *sv2)
{
    struct fota_offer o;
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 1);
    assert_int_equal(t->d.fota.min_secure, 3);
    v1_source_init(&t->src, sv2, SZ, 2, "2.2.0", "test-dev", t->key);
    t->src.secure_version = 2;
    t->src.allow_downgrade = 1;
    assert_int_equal(fota_check(&t->d.fota, "2.3.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t->d.fota, &o), FOTA_ERR_SECURE_VERSION);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 1); /* still the confirmed image */
}

static void test_journal_corrupt_keeps_floor(void **state)
{
    struct testdev t;
    struct fota_fstore *st = &t.d.store; /* the journal, as the port opened it */
    uint8_t j[FOTA_JOURNAL_LEN];
    uint8_t *a = mk("1.0.0", 1, 0), *sv3 = mk("2.3.0", 6, 3), *sv2 = mk("2.2.0", 5, 2);
    (void)state;
    confirmed_sv3(&t, a, sv3);
    /* the newest journal record, its floor byte flipped and its CRC left
     * stale, saved through the store as the record in force */
    assert_int_equal(fota_fstore_load(st, j, sizeof j), FOTA_OK);
    assert_int_equal(j[56], 3); /* the journal's copy of the floor */
    j[56] ^= 0x03;
    assert_int_equal(fota_fstore_save(st, j, sizeof j), FOTA_OK);
    sv2_refused(&t, sv2);
    td_free(&t);
    free(a), free(sv3), free(sv2);
}

static void test_journal_wiped_keeps_floor(void **state)
{
    struct testdev t;
    uint8_t *a = mk("1.0.0", 1, 0), *sv3 = mk("2.3.0", 6, 3), *sv2 = mk("2.2.0", 5, 2);
    (void)state;
    confirmed_sv3(&t, a, sv3);
    /* both journal sectors erased, as an NVS erase at boot would */
    assert_int_equal(nor_erase(&t.fl, JOURNAL), FOTA_OK);
    assert_int_equal(nor_erase(&t.fl, JOURNAL + FOTA_SECTOR_SIZE), FOTA_OK);
    sv2_refused(&t, sv2);
    td_free(&t);
    free(a), free(sv3), free(sv2);
}

/* Journal and floor store both wiped (as nvs_flash_erase() does on a port
 * that keeps both in NVS): the floor does not fall below the confirmed
 * running image's secure_version, and it is written back to the store.
 * (Broken build: fota_init without that bound: floor 0, sv2 installed.) */
static void test_all_wiped_keeps_running_floor(void **state)
{
    struct testdev t;
    uint32_t v = 0;
    uint8_t *a = mk("1.0.0", 1, 0), *sv3 = mk("2.3.0", 6, 3), *sv2 = mk("2.2.0", 5, 2);
    int i;
    (void)state;
    confirmed_sv3(&t, a, sv3);
    for (i = 0; i < 4; i++) /* journal (sectors 0-1) and floor store (2-3) */
        assert_int_equal(nor_erase(&t.fl, JOURNAL + (uint32_t)i * FOTA_SECTOR_SIZE), FOTA_OK);
    sv2_refused(&t, sv2);
    assert_int_equal(fota_fstore_floor_load(&t.d.floor_store, &v), FOTA_OK);
    assert_int_equal(v, 3);
    td_free(&t);
    free(a), free(sv3), free(sv2);
}

/* The floor store by itself: blank is 0, it only goes up, and a record of
 * another kind is an error (the core then keeps the journal's floor). */
static void test_floor_store_only_rises(void **state)
{
    struct testdev t;
    struct fota_fstore *st = &t.d.floor_store; /* as the port opened it */
    uint8_t junk[FOTA_JOURNAL_LEN];
    uint32_t v = 99;
    uint8_t *a = mk("1.0.0", 1, 0);
    (void)state;
    assert_int_equal(td_provision(&t, NULL, a, SZ, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_non_null(t.d.cfg.floor_load);
    assert_int_equal(fota_fstore_floor_load(st, &v), FOTA_OK);
    assert_int_equal(v, 0);
    assert_int_equal(fota_fstore_floor_save(st, 5), FOTA_OK);
    assert_int_equal(fota_fstore_floor_save(st, 2), FOTA_OK); /* ignored */
    assert_int_equal(fota_fstore_floor_load(st, &v), FOTA_OK);
    assert_int_equal(v, 5);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.fota.min_secure, 5);
    memset(junk, 0x42, sizeof junk);
    assert_int_equal(fota_fstore_save(st, junk, sizeof junk), FOTA_OK);
    assert_int_equal(fota_fstore_floor_load(st, &v), FOTA_ERR_STORE);
    td_free(&t);
    free(a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_corrupt_keeps_floor),
        cmocka_unit_test(test_journal_wiped_keeps_floor),
        cmocka_unit_test(test_all_wiped_keeps_running_floor),
        cmocka_unit_test(test_floor_store_only_rises),
    };
    (void)argc, (void)argv;
    fota_posix_log_level = -1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
