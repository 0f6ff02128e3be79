/*
 * test_boot.c - the bootloader model on a 4 MB RAM flash with Arduino's
 * default table: slot choice from otadata, the trial boot (NEW ->
 * PENDING_VERIFY), rollback (PENDING_VERIFY -> ABORTED), fallback when the
 * selected image is corrupt, the brick case, real images and chip checks,
 * and power cuts during the otadata rewrites.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/sha256.h>

#include "boot.h"
#include "mkimage.h"
#include "sim_test_util.h"

#define IMG_LEN 200000u

struct rig {
    struct nor_flash f;
    struct fota_layout l;
    uint8_t img[2][IMG_LEN];
};

static uint8_t flash_mem[FLASH_4MB];
static struct rig rig;

static void put_image(struct nor_flash *f, uint32_t off, const uint8_t *img, uint32_t len)
{
    uint32_t a;
    for (a = 0; a < len; a += 4096)
        assert_int_equal(nor_erase(f, off + a), FOTA_OK);
    assert_int_equal(nor_program(f, off, img, len), FOTA_OK);
}

static void put_entry(struct nor_flash *f, const struct fota_layout *l, unsigned sector,
                      uint32_t seq, uint32_t st)
{
    struct fota_ota_entry e;
    uint8_t b[32];
    memset(&e, 0xFF, sizeof e);
    e.seq = seq;
    e.state = st;
    fota_ota_encode(&e, b);
    assert_int_equal(nor_erase(f, l->otadata_offset + sector * 4096u), FOTA_OK);
    assert_int_equal(nor_program(f, l->otadata_offset + sector * 4096u, b, 32), FOTA_OK);
}

static struct fota_ota_entry get_entry(struct nor_flash *f, const struct fota_layout *l,
                                       unsigned sector)
{
    struct fota_ota_entry e[2];
    assert_int_equal(sim_boot_read_otadata(f, l, e), FOTA_OK);
    return e[sector];
}

/* Default table, image v1 in ota_0 and v2 in ota_1, blank otadata. */
static int setup(void **state)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "1.0.0", "inverter", 0, 1, 0};
    struct rig *r = &rig;
    assert_int_equal(flash_with_table(&r->f, flash_mem, FLASH_4MB, sim_pt_default_csv()), FOTA_OK);
    assert_int_equal(sim_read_layout(&r->f, NULL, &r->l), FOTA_OK);
    assert_int_equal(sim_mkimage(r->img[0], IMG_LEN, &o), FOTA_OK);
    o.version = "2.0.0";
    o.seed = 2;
    assert_int_equal(sim_mkimage(r->img[1], IMG_LEN, &o), FOTA_OK);
    put_image(&r->f, r->l.slot_offset[0], r->img[0], IMG_LEN);
    put_image(&r->f, r->l.slot_offset[1], r->img[1], IMG_LEN);
    assert_int_equal(nor_rearm(&r->f), FOTA_OK);
    *state = r;
    return 0;
}

static void boot_ok(struct rig *r, struct sim_boot_result *res, int slot)
{
    uint8_t sha[32];
    assert_int_equal(nor_rearm(&r->f), FOTA_OK);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, res), FOTA_OK);
    assert_int_equal(res->slot, slot);
    if (slot >= 0) {
        assert_int_equal(res->offset, r->l.slot_offset[slot]);
        assert_int_equal(res->size, 0x140000);
        assert_int_equal(res->image_len, IMG_LEN);
        mbedtls_sha256_ret(r->img[slot], IMG_LEN, sha, 0);
        assert_memory_equal(res->image_sha256, sha, 32);
        assert_string_equal(res->info.version, slot ? "2.0.0" : "1.0.0");
    }
    assert_true(strlen(res->why) > 0);
}

/* Blank otadata, no factory app: ota_0 boots and, as ESP-IDF's
 * set_actual_ota_seq does, gets its entry {seq 1, VALID} in sector 0
 * (found by the bootloader oracle, tests/oracle: the model wrote nothing). */
static void test_blank_otadata_boots_ota0(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    struct fota_ota_entry e;
    boot_ok(r, &res, 0);
    assert_int_equal(res.ota_state, FOTA_OTA_VALID);
    assert_int_equal(res.entry, -1);
    assert_int_equal(res.aborted, 0);
    assert_int_equal(res.fell_back, 0);
    assert_int_equal(r->f.ops, 2); /* erase + program of sector 0 */
    e = get_entry(&r->f, &r->l, 0);
    assert_true(fota_ota_valid(&e));
    assert_int_equal(e.seq, 1);
    assert_int_equal(e.state, FOTA_OTA_VALID);
    assert_int_equal(get_entry(&r->f, &r->l, 1).seq, FOTA_OTA_SEQ_BLANK);
    /* the next boot selects it and writes nothing */
    boot_ok(r, &res, 0);
    assert_int_equal(res.entry, 0);
    assert_int_equal(res.ota_state, FOTA_OTA_VALID);
    assert_int_equal(r->f.ops, 0);
}

/* Blank otadata and a corrupt ota_0: ota_1 boots and the entry written is
 * ota_1's (seq 2), so the next boot selects ota_1 directly. */
static void test_blank_otadata_fallback_gets_entry(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    assert_int_equal(nor_erase(&r->f, r->l.slot_offset[0]), FOTA_OK);
    boot_ok(r, &res, 1);
    assert_int_equal(res.fell_back, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_VALID);
    assert_int_equal(get_entry(&r->f, &r->l, 0).seq, 2);
    boot_ok(r, &res, 1);
    assert_int_equal(res.fell_back, 0);
    assert_int_equal(res.entry, 0);
    assert_int_equal(r->f.ops, 0);
}

/* An entry whose state reads PENDING_VERIFY but whose crc does not match (a
 * torn write) is rewritten as ABORTED like any other, its bytes otherwise as
 * read, crc included, as ESP-IDF's bootloader does (found by the oracle: the
 * model left it alone). It was never in force: no rollback is reported. */
static void test_torn_pending_entry_aborted_as_read(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    struct fota_ota_entry e;
    uint8_t zero[4] = {0, 0, 0, 0};

    put_entry(&r->f, &r->l, 0, 1, FOTA_OTA_VALID);
    put_entry(&r->f, &r->l, 1, 2, FOTA_OTA_PENDING_VERIFY);
    assert_int_equal(nor_program(&r->f, r->l.otadata_offset + 4096u + 28u, zero, 4), FOTA_OK);
    boot_ok(r, &res, 0);
    assert_int_equal(res.aborted, 0);
    assert_int_equal(res.entry, 0);
    assert_int_equal(r->f.ops, 2);
    e = get_entry(&r->f, &r->l, 1);
    assert_int_equal(e.seq, 2);
    assert_int_equal(e.state, FOTA_OTA_ABORTED);
    assert_int_equal(e.crc, 0);
}

static void test_trial_boot_then_rollback(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    struct fota_ota_entry cur[2], next;
    uint8_t b[32];
    unsigned sector;

    assert_int_equal(sim_boot_read_otadata(&r->f, &r->l, cur), FOTA_OK);
    fota_ota_next(cur, 1, 2, &next, &sector);
    assert_int_equal(next.seq, 2);
    fota_ota_encode(&next, b);
    assert_int_equal(nor_erase(&r->f, r->l.otadata_offset + sector * 4096u), FOTA_OK);
    assert_int_equal(nor_program(&r->f, r->l.otadata_offset + sector * 4096u, b, 32), FOTA_OK);

    /* trial boot: NEW -> PENDING_VERIFY on flash, exactly erase + program */
    boot_ok(r, &res, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_PENDING_VERIFY);
    assert_int_equal(res.aborted, 0);
    assert_int_equal(r->f.ops, 2);
    assert_int_equal(get_entry(&r->f, &r->l, sector).state, FOTA_OTA_PENDING_VERIFY);
    assert_int_equal(get_entry(&r->f, &r->l, sector).seq, 2);

    /* no confirm, reboot: ABORTED on flash, back to ota_0 */
    boot_ok(r, &res, 0);
    assert_int_equal(res.aborted, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_UNDEFINED);
    assert_int_equal(r->f.ops, 2);
    assert_int_equal(get_entry(&r->f, &r->l, sector).state, FOTA_OTA_ABORTED);

    /* and it stays there, writing nothing */
    boot_ok(r, &res, 0);
    assert_int_equal(res.aborted, 0);
    assert_int_equal(r->f.ops, 0);
}

static void test_rollback_to_valid_entry(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;

    put_entry(&r->f, &r->l, 0, 1, FOTA_OTA_VALID); /* ota_0 confirmed */
    put_entry(&r->f, &r->l, 1, 2, FOTA_OTA_NEW);   /* switch to ota_1 */
    boot_ok(r, &res, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_PENDING_VERIFY);
    boot_ok(r, &res, 0);
    assert_int_equal(res.aborted, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_VALID);
    assert_int_equal(get_entry(&r->f, &r->l, 1).state, FOTA_OTA_ABORTED);
    assert_int_equal(get_entry(&r->f, &r->l, 0).state, FOTA_OTA_VALID);
}

static void test_valid_stays_valid(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    int i;

    put_entry(&r->f, &r->l, 0, 1, FOTA_OTA_VALID);
    put_entry(&r->f, &r->l, 1, 2, FOTA_OTA_VALID);
    for (i = 0; i < 3; i++) {
        boot_ok(r, &res, 1);
        assert_int_equal(res.ota_state, FOTA_OTA_VALID);
        assert_int_equal(r->f.ops, 0);
        assert_int_equal(get_entry(&r->f, &r->l, 1).state, FOTA_OTA_VALID);
    }
    /* seq 3 selects ota_0 again (seq - 1) mod 2 */
    put_entry(&r->f, &r->l, 0, 3, FOTA_OTA_VALID);
    boot_ok(r, &res, 0);
}

static void test_corrupt_image_falls_back(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    uint8_t zero = 0;

    put_entry(&r->f, &r->l, 0, 2, FOTA_OTA_VALID); /* selects ota_1 */
    /* one byte of ota_1's segment data cleared: the checksum catches it */
    assert_int_equal(nor_program(&r->f, r->l.slot_offset[1] + 100000, &zero, 1), FOTA_OK);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[1], 0x140000, FOTA_CHIP_ESP32,
                                      NULL, NULL, NULL),
                     FOTA_ERR_IMG_CHECKSUM);
    boot_ok(r, &res, 0);
    assert_int_equal(res.fell_back, 1);
    assert_int_equal(res.ota_state, FOTA_OTA_UNDEFINED);
    assert_non_null(strstr(res.why, "fell back"));

    /* ota_0 corrupt too, in its appended hash only: nothing boots */
    assert_int_equal(nor_program(&r->f, r->l.slot_offset[0] + IMG_LEN - 1, &zero, 1), FOTA_OK);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[0], 0x140000, FOTA_CHIP_ESP32,
                                      NULL, NULL, NULL),
                     FOTA_ERR_IMG_HASH);
    assert_int_equal(nor_rearm(&r->f), FOTA_OK);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_ERR_NO_SLOT);
    assert_int_equal(res.slot, -1);
    assert_non_null(strstr(res.why, "no bootable image"));
}

static void test_blank_slots_brick(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    uint32_t a;

    for (a = 0; a < 0x140000; a += 65536) {
        assert_int_equal(nor_erase_block(&r->f, r->l.slot_offset[0] + a), FOTA_OK);
        assert_int_equal(nor_erase_block(&r->f, r->l.slot_offset[1] + a), FOTA_OK);
    }
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_ERR_NO_SLOT);
    /* and a missing partition table is its own error */
    assert_int_equal(nor_erase(&r->f, 0x8000), FOTA_OK);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_ERR_PTABLE);
}

static void test_wrong_chip_refused(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32S3, &res), FOTA_ERR_NO_SLOT);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[0], 0x140000, FOTA_CHIP_ESP32S3,
                                      NULL, NULL, NULL),
                     FOTA_ERR_IMG_CHIP);
}

static void real_image(struct rig *r, const char *name, int ok_chip, int bad_chip,
                       const char *sha_hex)
{
    struct sim_boot_result res;
    char path[512], hex[65];
    uint32_t len = 0, a;
    uint8_t *img;
    int i;

    snprintf(path, sizeof path, "%s/%s", FOTA_SHARED_FIRMWARE, name);
    img = read_required_file(path, &len);
    for (a = 0; a < 0x140000; a += 65536)
        assert_int_equal(nor_erase_block(&r->f, r->l.slot_offset[1] + a), FOTA_OK);
    put_image(&r->f, r->l.slot_offset[0], img, len);
    assert_int_equal(nor_rearm(&r->f), FOTA_OK);
    assert_int_equal(sim_boot(&r->f, NULL, ok_chip, &res), FOTA_OK);
    assert_int_equal(res.slot, 0);
    assert_int_equal(res.image_len, len);
    assert_int_equal(res.info.chip_id, ok_chip);
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", res.image_sha256[i]);
    assert_string_equal(hex, sha_hex);
    assert_int_equal(sim_boot(&r->f, NULL, bad_chip, &res), FOTA_ERR_NO_SLOT);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[0], 0x140000, bad_chip, NULL,
                                      NULL, NULL),
                     FOTA_ERR_IMG_CHIP);
    free(img);
}

static void test_real_esp32_image(void **state)
{
    real_image(*state, "esp32-arduino-a.bin", FOTA_CHIP_ESP32, FOTA_CHIP_ESP32S3,
               "32dfbb63ad86ead6be055ed18778c8c417d166035c6eb03294d13d0093273bb9");
}

static void test_real_esp32s3_image(void **state)
{
    real_image(*state, "esp32s3-arduino.bin", FOTA_CHIP_ESP32S3, FOTA_CHIP_ESP32,
               "158856c3a5566cc5e3c9d2d0a4c458c5db6e80183d78c993d65624c4ba8e162e");
}

/* esp32-arduino-large.bin does not fit the default 0x140000 slot. */
static void test_real_large_image_slot_size(void **state)
{
    struct rig *r = *state;
    uint32_t len = 0;
    uint8_t *img = read_required_file(FOTA_SHARED_FIRMWARE "/esp32-arduino-large.bin", &len);
    /* it runs into ota_1 when written at ota_0: the walk stops at the slot end */
    put_image(&r->f, r->l.slot_offset[0], img, len);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[0], 0x140000, FOTA_CHIP_ESP32,
                                      NULL, NULL, NULL),
                     FOTA_ERR_SLOT_SIZE);
    assert_int_equal(sim_verify_image(&r->f, r->l.slot_offset[0], 0x1E0000, FOTA_CHIP_ESP32,
                                      NULL, NULL, NULL),
                     FOTA_OK);
    free(img);
}

/* A cut at each operation of the NEW -> PENDING_VERIFY rewrite (after the
 * erase, after the program; torn erase, torn program) leaves a device that
 * boots ota_0: the previous entry (ota_0 VALID) is in force when the rewrite
 * did not complete, and a completed PENDING_VERIFY is rolled back. */
static void test_cut_during_pending_rewrite(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    int k, inside;

    for (inside = 0; inside < 2; inside++) {
        for (k = 1; k <= 2; k++) {
            put_entry(&r->f, &r->l, 0, 1, FOTA_OTA_VALID);
            put_entry(&r->f, &r->l, 1, 2, FOTA_OTA_NEW);
            assert_int_equal(nor_rearm(&r->f), FOTA_OK);
            r->f.seed = (uint32_t)k;
            if (inside)
                r->f.cut_inside = (uint64_t)k;
            else
                r->f.cut_after = (uint64_t)k;
            assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_ERR_POWER_LOST);
            boot_ok(r, &res, 0);
            /* when the PENDING_VERIFY entry was fully written before the cut,
             * that was the trial boot: this boot rolls it back */
            assert_int_equal(res.aborted, k == 2 && !inside);
            assert_int_equal(res.ota_state, FOTA_OTA_VALID);
            assert_int_equal(get_entry(&r->f, &r->l, 0).state, FOTA_OTA_VALID);
        }
    }
}

/* Cut after the erase of the PENDING_VERIFY -> ABORTED rewrite: the entry is
 * gone, the previous one boots, as the rollback intended. */
static void test_cut_during_abort_rewrite(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;

    put_entry(&r->f, &r->l, 0, 1, FOTA_OTA_VALID);
    put_entry(&r->f, &r->l, 1, 2, FOTA_OTA_PENDING_VERIFY);
    assert_int_equal(nor_rearm(&r->f), FOTA_OK);
    r->f.cut_after = 1;
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_ERR_POWER_LOST);
    assert_int_equal(r->f.mem[r->l.otadata_offset + 4096], 0xFF);
    boot_ok(r, &res, 0);
    assert_int_equal(res.ota_state, FOTA_OTA_VALID);
    assert_int_equal(r->f.ops, 0);
}

static void test_factory_preferred(void **state)
{
    struct rig *r = *state;
    struct sim_boot_result res;
    struct fota_layout l;
    assert_int_equal(flash_with_table(&r->f, flash_mem, FLASH_4MB,
                                      "nvs, data, nvs, 0x9000, 0x4000\n"
                                      "otadata, data, ota, 0xd000, 0x2000\n"
                                      "phy_init, data, phy, 0xf000, 0x1000\n"
                                      "factory, app, factory, 0x10000, 1M\n"
                                      "ota_0, app, ota_0, , 1M\n"
                                      "ota_1, app, ota_1, , 1M\n"),
                     FOTA_OK);
    assert_int_equal(sim_read_layout(&r->f, NULL, &l), FOTA_OK);
    assert_int_equal(l.factory_offset, 0x10000);
    put_image(&r->f, l.factory_offset, r->img[0], IMG_LEN);
    put_image(&r->f, l.slot_offset[0], r->img[1], IMG_LEN);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_OK);
    assert_int_equal(res.slot, -1);
    assert_int_equal(res.offset, 0x10000);
    /* a corrupt factory falls forward to ota_0 */
    assert_int_equal(nor_erase(&r->f, l.factory_offset), FOTA_OK);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_OK);
    assert_int_equal(res.slot, 0);
    assert_int_equal(res.fell_back, 1);
    /* an entry for ota_1 whose image is missing falls back down to ota_0 */
    put_entry(&r->f, &l, 0, 2, FOTA_OTA_VALID);
    assert_int_equal(sim_boot(&r->f, NULL, FOTA_CHIP_ESP32, &res), FOTA_OK);
    assert_int_equal(res.slot, 0);
    assert_int_equal(res.fell_back, 1);
}

/* A reboot is a new process on the same flash file. */
static void test_file_backed_reboot(void **state)
{
    struct rig *r = *state;
    struct nor_flash f;
    struct fota_layout l;
    struct fota_partition p[8];
    struct sim_boot_result res;
    char path[] = "/tmp/fota-boot-test-XXXXXX", err[160];
    int fd, n;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(nor_create(&f, path, FLASH_4MB), FOTA_OK);
    assert_int_equal(sim_pt_parse_csv(sim_pt_default_csv(), p, 8, &n, err, sizeof err), FOTA_OK);
    assert_int_equal(sim_pt_write(&f, 0, p, n), FOTA_OK);
    assert_int_equal(sim_read_layout(&f, NULL, &l), FOTA_OK);
    put_image(&f, l.slot_offset[0], r->img[0], IMG_LEN);
    put_image(&f, l.slot_offset[1], r->img[1], IMG_LEN);
    put_entry(&f, &l, 0, 2, FOTA_OTA_NEW);
    nor_close(&f);

    assert_int_equal(nor_open(&f, path), FOTA_OK);
    assert_int_equal(sim_boot(&f, NULL, FOTA_CHIP_ESP32, &res), FOTA_OK);
    assert_int_equal(res.slot, 1);
    nor_close(&f);
    assert_int_equal(nor_open(&f, path), FOTA_OK);
    assert_int_equal(sim_boot(&f, NULL, FOTA_CHIP_ESP32, &res), FOTA_OK);
    assert_int_equal(res.slot, 0);
    assert_int_equal(res.aborted, 1);
    nor_close(&f);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_blank_otadata_boots_ota0, setup),
        cmocka_unit_test_setup(test_blank_otadata_fallback_gets_entry, setup),
        cmocka_unit_test_setup(test_torn_pending_entry_aborted_as_read, setup),
        cmocka_unit_test_setup(test_trial_boot_then_rollback, setup),
        cmocka_unit_test_setup(test_rollback_to_valid_entry, setup),
        cmocka_unit_test_setup(test_valid_stays_valid, setup),
        cmocka_unit_test_setup(test_corrupt_image_falls_back, setup),
        cmocka_unit_test_setup(test_blank_slots_brick, setup),
        cmocka_unit_test_setup(test_wrong_chip_refused, setup),
        cmocka_unit_test_setup(test_real_esp32_image, setup),
        cmocka_unit_test_setup(test_real_esp32s3_image, setup),
        cmocka_unit_test_setup(test_real_large_image_slot_size, setup),
        cmocka_unit_test_setup(test_cut_during_pending_rewrite, setup),
        cmocka_unit_test_setup(test_cut_during_abort_rewrite, setup),
        cmocka_unit_test_setup(test_factory_preferred, setup),
        cmocka_unit_test_setup(test_file_backed_reboot, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
