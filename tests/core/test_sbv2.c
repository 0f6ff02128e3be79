/*
 * test_sbv2.c - secure boot v2 signed images (issue 11): an app image, 0xFF
 * padding to a 4 KB boundary and one signature sector as espsecure lays it
 * out (layout and rule in include/fota/esp_image.h). The image walk accepts
 * exactly that and refuses every malformed tail with the reason (a table of
 * mutations, each fed whole and byte by byte); the device installs a signed
 * image end to end, boots it on trial through the simulated bootloader and
 * confirms it; a signed image whose sector is malformed is refused at the
 * read-back before the boot switch, and by the bootloader if it is in a slot.
 * The signature bytes are random: only the structure is checked (the RSA
 * signature is ESP-IDF's esp_image_verify()'s job on a real device).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fota/esp_ota.h"
#include "testdev.h"

static const char *fw; /* ../shared/firmware */

#define IMG 10000u                                /* not 4 KB aligned: padding to 12288 */
#define SIGOFF 12288u
#define TOTAL (SIGOFF + FOTA_SBV2_SECTOR_LEN)     /* 16384 */

/* An image of img_len bytes signed with nblocks blocks; *len set. */
static uint8_t *signed_image(uint32_t img_len, unsigned nblocks, uint32_t *len)
{
    uint8_t *b;
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "2.0.0", "sbv2", 0, 7, 0};
    *len = sim_mkimage_sbv2_len(img_len);
    b = malloc(*len + 64); /* room for "extra bytes" cases */
    assert_non_null(b);
    memset(b + *len, 0x00, 64);
    assert_int_equal(sim_mkimage(b, img_len, &o), FOTA_OK);
    assert_int_equal(sim_mkimage_sbv2(b, img_len, 7, nblocks), FOTA_OK);
    return b;
}

/* Re-seal the CRC of block blk after a change. */
static void reseal(uint8_t *b, unsigned blk)
{
    uint8_t *k = b + SIGOFF + blk * FOTA_SBV2_BLOCK_LEN;
    uint32_t crc = fota_crc32(0, k, FOTA_SBV2_CRC_OFFSET);
    for (int i = 0; i < 4; i++)
        k[FOTA_SBV2_CRC_OFFSET + i] = (uint8_t)(crc >> (8 * i));
}

static int walk(const uint8_t *b, uint32_t len, uint32_t limit, int bytewise,
                struct fota_img_walk *w)
{
    uint32_t i, hoff;
    int rc = FOTA_OK;
    fota_img_walk_init(w, limit);
    if (bytewise) {
        for (i = 0; i < len && rc == FOTA_OK; i++)
            rc = fota_img_walk_feed(w, b + i, 1);
    } else {
        rc = fota_img_walk_feed(w, b, len);
    }
    if (rc == FOTA_OK)
        rc = fota_img_walk_finish(w, &hoff);
    return rc;
}

enum mutation {
    M_NONE, M_THREE_BLOCKS, M_PAD_ZERO, M_MAGIC, M_VERSION, M_CRC, M_CRC_BLOCK1, M_FIRST_BLANK,
    M_BLANK_NOT_FF, M_TAIL_NOT_FF, M_BLOCK_AFTER_BLANK, M_EXTRA, M_NO_PADDING, M_TRUNCATED,
    M_TRAILING, M_PAST_LIMIT,
};

static void test_walk_table(void **state)
{
    static const struct {
        enum mutation m;
        const char *what;
        int rc;
        uint8_t fault, block;
    } cases[] = {
        {M_NONE, "one block", FOTA_OK, 0, 0},
        {M_THREE_BLOCKS, "three blocks", FOTA_OK, 0, 0},
        {M_PAD_ZERO, "padding of zeros (not checked)", FOTA_OK, 0, 0},
        {M_MAGIC, "wrong magic", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_BAD_MAGIC, 0},
        {M_VERSION, "version 3 (ECDSA scheme)", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_BAD_VERSION, 0},
        {M_CRC, "bad CRC", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_BAD_CRC, 0},
        {M_CRC_BLOCK1, "bad CRC in block 1", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_BAD_CRC, 1},
        {M_FIRST_BLANK, "no signature block", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_NO_BLOCK, 0},
        {M_BLANK_NOT_FF, "blank block with a stray byte", FOTA_ERR_IMG_SIG_SECTOR,
         FOTA_SBV2_NOT_BLANK, 1},
        {M_TAIL_NOT_FF, "end of sector not 0xFF", FOTA_ERR_IMG_SIG_SECTOR, FOTA_SBV2_NOT_BLANK, 3},
        {M_BLOCK_AFTER_BLANK, "block after a blank one", FOTA_ERR_IMG_SIG_SECTOR,
         FOTA_SBV2_NOT_BLANK, 2},
        {M_EXTRA, "extra bytes after the sector", FOTA_ERR_TOO_LARGE, 0, 0},
        {M_NO_PADDING, "sector right after the image", FOTA_ERR_IMG_SIG_SECTOR, 0xFF, 0},
        {M_TRUNCATED, "sector cut short", FOTA_ERR_IMG_SIG_SECTOR, 0, 0},
        {M_TRAILING, "padding only, no sector", FOTA_ERR_TOO_LARGE, 0, 0},
        {M_PAST_LIMIT, "sector past the slot", FOTA_ERR_SLOT_SIZE, 0, 0},
    };
    unsigned i;
    int bytewise;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t len, limit = 0x140000u;
        uint8_t *b = signed_image(IMG, cases[i].m == M_THREE_BLOCKS ? 3 : 1, &len);
        uint8_t *k1 = b + SIGOFF + FOTA_SBV2_BLOCK_LEN;
        assert_int_equal(len, TOTAL);
        switch (cases[i].m) {
        case M_PAD_ZERO: memset(b + IMG, 0, SIGOFF - IMG); break;
        case M_MAGIC: b[SIGOFF] = 0xE8; reseal(b, 0); break;
        case M_VERSION: b[SIGOFF + 1] = 0x03; reseal(b, 0); break;
        case M_CRC: b[SIGOFF + 900] ^= 0x01; break;
        case M_CRC_BLOCK1:
            memcpy(k1, b + SIGOFF, FOTA_SBV2_BLOCK_LEN);
            k1[FOTA_SBV2_CRC_OFFSET] ^= 0x80;
            break;
        case M_FIRST_BLANK: memset(b + SIGOFF, 0xFF, FOTA_SBV2_BLOCK_LEN); break;
        case M_BLANK_NOT_FF: k1[600] = 0x00; break;
        case M_TAIL_NOT_FF: b[SIGOFF + 4000] = 0x00; break;
        case M_BLOCK_AFTER_BLANK:
            memcpy(b + SIGOFF + 2 * FOTA_SBV2_BLOCK_LEN, b + SIGOFF, FOTA_SBV2_BLOCK_LEN);
            break;
        case M_EXTRA: len += 16; break;
        case M_NO_PADDING:
            memmove(b + IMG, b + SIGOFF, FOTA_SBV2_SECTOR_LEN);
            len = IMG + FOTA_SBV2_SECTOR_LEN;
            break;
        case M_TRUNCATED: len -= 100; break;
        case M_TRAILING: len = SIGOFF; break;
        case M_PAST_LIMIT: limit = SIGOFF + 2048; break;
        default: break;
        }
        for (bytewise = 0; bytewise < 2; bytewise++) {
            struct fota_img_walk w;
            int rc = walk(b, len, limit, bytewise, &w);
            if (rc != cases[i].rc)
                fail_msg("%s (%s): got %s, expected %s", cases[i].what,
                         bytewise ? "byte by byte" : "whole", fota_errname(rc),
                         fota_errname(cases[i].rc));
            if (rc == FOTA_ERR_IMG_SIG_SECTOR && cases[i].fault != 0xFF) {
                assert_int_equal(w.sig_fault, cases[i].fault);
                assert_int_equal(w.sig_block, cases[i].block);
            }
            assert_int_equal(fota_img_walk_signed(&w), rc == FOTA_OK);
            if (rc == FOTA_OK) {
                assert_int_equal(w.sig_offset, SIGOFF);
                assert_int_equal(w.sig_blocks, cases[i].m == M_THREE_BLOCKS ? 3 : 1);
                assert_int_equal(w.hash_offset, IMG - 32);
            }
        }
        printf("ok: %s: %s\n", cases[i].what, fota_errname(cases[i].rc));
        free(b);
    }
}

/* An image that ends on a 4 KB boundary gets no padding; the unsigned image
 * still walks as before; fota_img_walk_end finds the sector from its first
 * two bytes. */
static void test_walk_aligned_and_end(void **state)
{
    struct fota_img_walk w;
    uint32_t len;
    uint8_t *b = signed_image(8192, 2, &len);
    (void)state;
    assert_int_equal(len, 8192 + FOTA_SBV2_SECTOR_LEN);
    assert_int_equal(walk(b, len, 0x140000u, 0, &w), FOTA_OK);
    assert_int_equal(w.sig_offset, 8192);
    assert_int_equal(walk(b, 8192, 0x140000u, 0, &w), FOTA_OK); /* the image alone */
    assert_false(fota_img_walk_signed(&w));
    assert_int_equal(fota_img_walk_end(&w, b + 8192), 8192 + FOTA_SBV2_SECTOR_LEN);
    {
        const uint8_t blank[2] = {0xFF, 0xFF}, v3[2] = {0xE7, 0x03};
        assert_int_equal(fota_img_walk_end(&w, blank), 8192);
        assert_int_equal(fota_img_walk_end(&w, v3), 8192);
    }
    fota_img_walk_init(&w, 0x140000u);
    assert_int_equal(fota_img_walk_end(&w, b + 8192), 0); /* total not known yet */
    free(b);
}

/* ---- on the device ----------------------------------------------------- */

#define BIG 300000u /* a signed image of 303104 bytes */

/* fota_run, bounded: begin, then steps until installed or the first error.
 * (fota_run retries some errors without end while the download progresses:
 * a bounded loop makes a regression fail instead of hang.) */
static int run_bounded(struct fota *f, const struct fota_offer *o)
{
    int rc = fota_begin(f, o), i;
    for (i = 0; rc == FOTA_OK && fota_phase(f) != FOTA_PHASE_INSTALLED; i++) {
        if (i > 2000)
            fail_msg("no end after 2000 steps (phase %d)", fota_phase(f));
        rc = fota_step(f);
    }
    return rc;
}

static void test_device_installs_signed_image(void **state)
{
    struct testdev t;
    struct fota_offer o;
    uint32_t len_a, len;
    uint8_t *a = load_file(fw, "esp32-arduino-a.bin", &len_a);
    uint8_t *b = signed_image(BIG, 1, &len);
    (void)state;
    assert_int_equal(td_provision(&t, NULL, a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, b, len);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, t.d.boot.info.version, &o), FOTA_OK);
    assert_int_equal(o.size, len);
    assert_int_equal(run_bounded(&t.d.fota, &o), FOTA_OK);
    assert_memory_equal(t.mem + OTA1, b, len);
    /* the bootloader takes it (walking into the sector) and it confirms */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.image_len, len);
    assert_string_equal(t.d.boot.info.project_name, "sbv2");
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    td_free(&t);
    free(a);
    free(b);
}

/* A sector with a bad CRC: downloaded (its chunks are genuine), refused at
 * the read-back; the boot slot never switches and the old image runs. */
static void test_device_refuses_bad_sector(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_ota_entry e[2];
    uint32_t len_a, len;
    uint8_t *a = load_file(fw, "esp32-arduino-a.bin", &len_a);
    uint8_t *b = signed_image(BIG, 1, &len);
    (void)state;
    b[len - FOTA_SBV2_SECTOR_LEN + 500] ^= 0x10;
    assert_int_equal(td_provision(&t, NULL, a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(&t, b, len);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(run_bounded(&t.d.fota, &o), FOTA_ERR_IMG_SIG_SECTOR);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_IMG_SIG_SECTOR); /* final, not retried */
    fota_ota_decode(t.mem + 0xE000, &e[0]);
    fota_ota_decode(t.mem + 0xF000, &e[1]);
    assert_true(fota_ota_active(e) < 0 || fota_ota_slot(e[fota_ota_active(e)].seq, 2) == 0);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    td_free(&t);
    free(a);
    free(b);
}

/* A release that matches its SHA-256 but is not one image: bytes after the
 * image that are no signature sector (padding only), or an image cut short.
 * No download can fix it, so fota_run gives up with FOTA_ERR_IMG_FORMAT
 * instead of downloading it again and again (it once did: the walk's
 * FOTA_ERR_TOO_LARGE and FOTA_ERR_TRUNCATED are also retryable wire
 * errors). */
static void test_device_malformed_release_is_final(void **state)
{
    uint32_t len_a, len, cut;
    uint8_t *a = load_file(fw, "esp32-arduino-a.bin", &len_a);
    uint8_t *b = signed_image(BIG, 1, &len);
    (void)state;
    for (cut = 0; cut < 2; cut++) {
        struct testdev t;
        struct fota_offer o;
        /* the image and its padding / the image less its last 1000 bytes */
        uint32_t n = cut ? BIG - 1000 : len - FOTA_SBV2_SECTOR_LEN;
        assert_int_equal(td_provision(&t, NULL, a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
        td_offer(&t, b, n);
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
        assert_int_equal(run_bounded(&t.d.fota, &o), FOTA_ERR_IMG_FORMAT);
        assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
        assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_IMG_FORMAT);
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(t.d.boot.slot, 0);
        td_free(&t);
    }
    free(a);
    free(b);
}

/* The bootloader's own check: a signed image whose sector went bad in the
 * slot is not booted. */
static void test_bootloader_refuses_bad_sector(void **state)
{
    struct nor_flash fl;
    uint8_t *mem = malloc(FLASH_4MB);
    uint32_t len, img_len = 0;
    uint8_t *b = signed_image(BIG, 1, &len);
    (void)state;
    memset(mem, 0xFF, FLASH_4MB);
    nor_open_mem(&fl, mem, FLASH_4MB);
    memcpy(mem + OTA1, b, len);
    assert_int_equal(sim_verify_image(&fl, OTA1, SLOT, FOTA_CHIP_ESP32, NULL, &img_len, NULL),
                     FOTA_OK);
    assert_int_equal(img_len, len);
    mem[OTA1 + len - FOTA_SBV2_SECTOR_LEN + 1] = 0x03; /* version */
    assert_int_equal(sim_verify_image(&fl, OTA1, SLOT, FOTA_CHIP_ESP32, NULL, &img_len, NULL),
                     FOTA_OK); /* no longer a sector's head: the image ends before it */
    assert_int_equal(img_len, BIG);
    mem[OTA1 + len - FOTA_SBV2_SECTOR_LEN + 1] = 0x02;
    mem[OTA1 + len - FOTA_SBV2_SECTOR_LEN + 100] ^= 0x01; /* CRC no longer matches */
    assert_int_equal(sim_verify_image(&fl, OTA1, SLOT, FOTA_CHIP_ESP32, NULL, &img_len, NULL),
                     FOTA_ERR_IMG_SIG_SECTOR);
    nor_close(&fl);
    free(mem);
    free(b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_table),
        cmocka_unit_test(test_walk_aligned_and_end),
        cmocka_unit_test(test_device_installs_signed_image),
        cmocka_unit_test(test_device_refuses_bad_sector),
        cmocka_unit_test(test_device_malformed_release_is_final),
        cmocka_unit_test(test_bootloader_refuses_bad_sector),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIRMWARE_DIR (../shared/firmware)\n", argv[0]);
        return 2;
    }
    fw = argv[1];
    fota_posix_log_level = -1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
