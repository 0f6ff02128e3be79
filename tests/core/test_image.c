/*
 * test_image.c - unit tests of the streaming image walk (src/core/image.c)
 * at its arithmetic edges: untrusted segment lengths near 2^32, limits near
 * 2^32, and images that end exactly at the limit or one byte past it. The
 * walk runs on the device over its slot and on the server over every upload
 * (invariant 6: bad input gets an error, never a write out of bounds).
 * The arithmetic edges that need no host (segment lengths that wrap, tails
 * past a limit near 2^32, a small hand-built image) are in
 * unit_checks.h, run by core_units and by the RV32 runner; this file keeps
 * the checks that need sim_mkimage or the reproducer file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fota/error.h"
#include "fota/esp_image.h"
#include "mkimage.h"

static const char *repro_dir;

/* Feed one byte at a time, so every path of the walk sees each position. */
static int feed_bytes(struct fota_img_walk *w, const uint8_t *b, uint32_t n)
{
    int rc = FOTA_OK;
    for (uint32_t i = 0; i < n && rc == FOTA_OK; i++)
        rc = fota_img_walk_feed(w, b + i, 1);
    return rc;
}

/* A real-shaped image is accepted with limit == its size, refused one byte
 * below, and accepted with the largest limit there is. */
static void test_limit_boundary(void **state)
{
    static uint8_t img[4096];
    struct sim_mkimage_opts o = {.chip_id = FOTA_CHIP_ESP32, .version = "1.0.0", .seed = 7};
    uint32_t hoff = 0;
    struct fota_img_walk w;
    (void)state;
    assert_int_equal(sim_mkimage(img, sizeof img, &o), FOTA_OK);
    fota_img_walk_init(&w, sizeof img);
    assert_int_equal(fota_img_walk_feed(&w, img, sizeof img), FOTA_OK);
    assert_int_equal(fota_img_walk_finish(&w, &hoff), FOTA_OK);
    assert_int_equal(hoff, sizeof img - FOTA_IMG_HASH_LEN);
    fota_img_walk_init(&w, sizeof img - 1);
    assert_int_equal(fota_img_walk_feed(&w, img, sizeof img), FOTA_ERR_SLOT_SIZE);
    fota_img_walk_init(&w, 0xFFFFFFFFu);
    assert_int_equal(feed_bytes(&w, img, sizeof img), FOTA_OK);
    assert_int_equal(fota_img_walk_finish(&w, &hoff), FOTA_OK);
}

/* The input the server fuzzer found (../shared/repro), fed as its harness
 * does: slot size le32 at [1..4], the image after the version bytes. */
static void test_repro_srv_upload(void **state)
{
    char path[512];
    uint8_t buf[4096];
    struct fota_img_walk w;
    FILE *f;
    size_t n;
    (void)state;
    snprintf(path, sizeof path, "%s/fuzz_srv_upload-crash-fb59fd18.bin", repro_dir);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("missing reproducer %s (../shared/repro must be beside the checkout)", path);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 9u + buf[8]);
    uint32_t limit = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 |
                     (uint32_t)buf[4] << 24;
    const uint8_t *img = buf + 9 + buf[8];
    uint32_t len = (uint32_t)(n - 9 - buf[8]);
    fota_img_walk_init(&w, limit);
    assert_int_equal(fota_img_walk_feed(&w, img, len), FOTA_ERR_SLOT_SIZE);
    fota_img_walk_init(&w, limit);
    assert_int_equal(feed_bytes(&w, img, len), FOTA_ERR_SLOT_SIZE);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_boundary),
        cmocka_unit_test(test_repro_srv_upload),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPRO_DIR (../shared/repro)\n", argv[0]);
        return 2;
    }
    repro_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
