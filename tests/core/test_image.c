/*
 * test_image.c - unit tests of the streaming image walk (src/core/image.c)
 * at its arithmetic edges: untrusted segment lengths near 2^32, limits near
 * 2^32, and images that end exactly at the limit or one byte past it. The
 * walk runs on the device over its slot and on the server over every upload
 * (invariant 6: bad input gets an error, never a write out of bounds).
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

/* An image head (24 bytes) with n segments; the caller appends segments. */
static uint32_t put_head(uint8_t *b, uint8_t nseg, uint8_t hash)
{
    memset(b, 0, FOTA_IMG_HEADER_LEN);
    b[0] = FOTA_IMG_MAGIC;
    b[1] = nseg;
    b[23] = hash;
    return FOTA_IMG_HEADER_LEN;
}

static uint32_t put_seg_hdr(uint8_t *b, uint32_t load, uint32_t len)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(load >> (8 * i));
        b[4 + i] = (uint8_t)(len >> (8 * i));
    }
    return FOTA_IMG_SEG_HEADER_LEN;
}

/* Feed one byte at a time, so every path of the walk sees each position. */
static int feed_bytes(struct fota_img_walk *w, const uint8_t *b, uint32_t n)
{
    int rc = FOTA_OK;
    for (uint32_t i = 0; i < n && rc == FOTA_OK; i++)
        rc = fota_img_walk_feed(w, b + i, 1);
    return rc;
}

/* Invariant 6: a data_len whose end wraps past 2^32 is refused at its header,
 * whatever the limit, and the walk never indexes past its header buffer
 * (under UBSan the old code stopped on hdr[256]). */
static void test_seg_len_wraps(void **state)
{
    static const uint32_t limits[] = {0xFFFFFFFFu, 0xFFFFFFFEu, 0xFFFFFF00u, 0x80000000u, 0x140000u};
    static const uint32_t lens[] = {0xFFFFFFFFu, 0xFFFFFFE8u, 0xFFFFFFE0u, 0x80000000u};
    uint8_t img[128];
    (void)state;
    for (unsigned a = 0; a < sizeof limits / sizeof limits[0]; a++)
        for (unsigned c = 0; c < sizeof lens / sizeof lens[0]; c++) {
            struct fota_img_walk w;
            uint32_t n = put_head(img, 2, 1);
            n += put_seg_hdr(img + n, 0x3F400020u, lens[c]);
            memset(img + n, 0xA5, sizeof img - n);
            fota_img_walk_init(&w, limits[a]);
            int rc = feed_bytes(&w, img, sizeof img);
            if (lens[c] > limits[a] - 32u) {
                assert_int_equal(rc, FOTA_ERR_SLOT_SIZE);
                assert_int_equal(w.pos, 31); /* refused at the header's last byte */
            } else {
                assert_int_equal(rc, FOTA_OK); /* inside the segment's data */
                assert_true(w.seg_end > w.pos && w.next_hdr == w.seg_end);
            }
            assert_int_equal(fota_img_walk_finish(&w, NULL), rc ? rc : FOTA_ERR_TRUNCATED);
        }
}

/* The last segment fits below a limit near 2^32 but its padding, checksum
 * byte and hash do not: refused as soon as the last header is read, and
 * total never wraps. */
static void test_tail_past_limit(void **state)
{
    uint8_t img[64];
    (void)state;
    for (uint8_t hash = 0; hash <= 1; hash++)
        for (uint32_t room = 0; room <= 48; room++) {
            struct fota_img_walk w;
            const uint32_t limit = 0xFFFFFFFFu;
            uint32_t start = FOTA_IMG_HEADER_LEN + FOTA_IMG_SEG_HEADER_LEN;
            uint32_t dlen = limit - start - room; /* segs_end = limit - room */
            uint32_t segs_end = start + dlen;
            uint32_t need = 16u - (segs_end & 15u) + (hash ? 32u : 0u);
            uint32_t n = put_head(img, 1, hash);
            n += put_seg_hdr(img + n, 0x3F400020u, dlen);
            fota_img_walk_init(&w, limit);
            int rc = feed_bytes(&w, img, n);
            if (need > room) {
                assert_int_equal(rc, FOTA_ERR_SLOT_SIZE);
            } else {
                assert_int_equal(rc, FOTA_OK);
                assert_int_equal(w.total, segs_end + need);
                assert_true(w.total >= segs_end); /* no wrap */
            }
        }
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
        cmocka_unit_test(test_seg_len_wraps),
        cmocka_unit_test(test_tail_past_limit),
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
