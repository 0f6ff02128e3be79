/*
 * test_mkimage.c - synthetic images pass the same checks a device and the
 * bootloader apply (header, chip, app descriptor, segments, checksum,
 * appended SHA-256), have exactly the requested size, and differ by seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/esp_image.h"
#include "mkimage.h"

/* Walk buf as a device would, in uneven pieces; check the appended hash. */
static int check_image(const uint8_t *buf, uint32_t len, int chip, struct fota_app_info *info)
{
    struct fota_img_walk w;
    uint32_t pos = 0, hoff = 0, step = 1;
    uint8_t sha[32];
    int rc = fota_img_check_head(buf, len, chip, info);
    if (rc)
        return rc;
    fota_img_walk_init(&w, len);
    while (pos < len) {
        uint32_t n = step < len - pos ? step : len - pos;
        rc = fota_img_walk_feed(&w, buf + pos, n);
        if (rc)
            return rc;
        pos += n;
        step = step * 3 + 1;
    }
    rc = fota_img_walk_finish(&w, &hoff);
    if (rc)
        return rc;
    if (hoff != len - 32)
        return FOTA_ERR_IMG_FORMAT;
    mbedtls_sha256_ret(buf, hoff, sha, 0);
    return memcmp(sha, buf + hoff, 32) ? FOTA_ERR_IMG_HASH : FOTA_OK;
}

static void test_sizes_and_seeds(void **state)
{
    static const uint32_t sizes[] = {512, 528, 4096, 65536, 903360, 1068032, 1310720};
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "1.4.0", "inverter", 3, 0, 0};
    struct fota_app_info info;
    uint8_t *buf = malloc(1310720 + 16);
    unsigned i, s;
    (void)state;

    assert_non_null(buf);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (s = 0; s < 3; s++) { /* seeds give 2, 3 and 4 segments */
            o.seed = s + 10u * i;
            memset(buf, 0xAA, 1310720 + 16);
            assert_int_equal(sim_mkimage(buf, sizes[i], &o), FOTA_OK);
            assert_int_equal(buf[sizes[i]], 0xAA); /* not a byte more */
            assert_int_equal(check_image(buf, sizes[i], FOTA_CHIP_ESP32, &info), FOTA_OK);
            assert_int_equal(info.segment_count, 2 + o.seed % 3);
            assert_int_equal(info.hash_appended, 1);
            assert_int_equal(info.chip_id, FOTA_CHIP_ESP32);
            assert_int_equal(info.secure_version, 3);
            assert_string_equal(info.version, "1.4.0");
            assert_string_equal(info.project_name, "inverter");
        }
    }
    free(buf);
}

static void test_chip_recorded(void **state)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32S3, NULL, NULL, 0, 5, 0};
    struct fota_app_info info;
    static uint8_t buf[8192];
    (void)state;

    assert_int_equal(sim_mkimage(buf, sizeof buf, &o), FOTA_OK);
    assert_int_equal(buf[12], 9);
    assert_int_equal(check_image(buf, sizeof buf, FOTA_CHIP_ESP32S3, &info), FOTA_OK);
    assert_string_equal(info.version, "0.0.0");
    assert_string_equal(info.project_name, "fota-sim");
    assert_int_equal(check_image(buf, sizeof buf, FOTA_CHIP_ESP32, &info), FOTA_ERR_IMG_CHIP);
}

static void test_versions_differ(void **state)
{
    struct sim_mkimage_opts a = {FOTA_CHIP_ESP32, "1.0.0", "p", 0, 1, 0};
    struct sim_mkimage_opts b = {FOTA_CHIP_ESP32, "1.0.1", "p", 0, 2, 0};
    static uint8_t x[65536], y[65536], z[65536];
    uint32_t i, same = 0;
    (void)state;

    assert_int_equal(sim_mkimage(x, sizeof x, &a), FOTA_OK);
    assert_int_equal(sim_mkimage(y, sizeof y, &b), FOTA_OK);
    assert_int_equal(sim_mkimage(z, sizeof z, &a), FOTA_OK);
    assert_memory_equal(x, z, sizeof x); /* reproducible */
    for (i = 0; i < sizeof x; i++)
        same += x[i] == y[i];
    assert_true(same < sizeof x / 50); /* about 1/256 by chance, plus headers */
    /* a flipped bit anywhere is caught */
    x[30000] ^= 0x10;
    assert_int_equal(check_image(x, sizeof x, FOTA_CHIP_ESP32, NULL), FOTA_ERR_IMG_CHECKSUM);
    x[30000] ^= 0x10;
    x[sizeof x - 33] ^= 0x01; /* the checksum byte itself */
    assert_int_equal(check_image(x, sizeof x, FOTA_CHIP_ESP32, NULL), FOTA_ERR_IMG_CHECKSUM);
    x[sizeof x - 33] ^= 0x01;
    x[sizeof x - 1] ^= 0x01;  /* the appended hash */
    assert_int_equal(check_image(x, sizeof x, FOTA_CHIP_ESP32, NULL), FOTA_ERR_IMG_HASH);
}

static void test_bad_params(void **state)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "1", "p", 0, 1, 0};
    static uint8_t buf[4096];
    (void)state;

    assert_int_equal(sim_mkimage(buf, 500, &o), FOTA_ERR_PARAM);
    assert_int_equal(sim_mkimage(buf, 1000, &o), FOTA_ERR_PARAM);
    assert_int_equal(sim_mkimage(buf, 0, &o), FOTA_ERR_PARAM);
    assert_int_equal(sim_mkimage(NULL, 4096, &o), FOTA_ERR_PARAM);
    assert_int_equal(sim_mkimage(buf, 4096, NULL), FOTA_ERR_PARAM);
    o.chip_id = 77;
    assert_int_equal(sim_mkimage(buf, 4096, &o), FOTA_ERR_PARAM);
    o.chip_id = FOTA_CHIP_ESP32;
    o.version = "0123456789012345678901234567890123";
    assert_int_equal(sim_mkimage(buf, 4096, &o), FOTA_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_seeds),
        cmocka_unit_test(test_chip_recorded),
        cmocka_unit_test(test_versions_differ),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
