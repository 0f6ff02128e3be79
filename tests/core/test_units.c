/*
 * test_units.c - unit tests of the core's small pieces: base64, the JSON
 * push parser, otadata codec and ESP-IDF's seq rule, CRC-32, partition table
 * checks, the flash record store, the printf subset, the little-endian
 * helpers, version comparison and the image walk's edges. The checks are
 * in unit_checks.h, shared with the RV32 QEMU runner (tests/rv32).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"
#include "base64.h"
#include "fmt.h"
#include "journal.h"
#include "json.h"

/* The checks live in unit_checks.h, shared with the RV32 runner
 * (tests/rv32); here they run under cmocka. */
#define UC_INT_EQ(a, b) assert_int_equal((a), (b))
#define UC_TRUE(x) assert_true(x)
#define UC_MEM_EQ(a, b, n) assert_memory_equal((a), (b), (n))
#define UC_STR_EQ(a, b) assert_string_equal((a), (b))

/* The flash under uc_fstore_atomic: the NOR model behind the simulated
 * device's port (a fake at the port boundary). */
static struct nor_flash uc_fl;
static struct sim_device uc_dev;

static const struct fota_config *uc_flash_open(uint8_t *mem, uint32_t size)
{
    static const uint8_t key[32];
    nor_open_mem(&uc_fl, mem, size);
    sim_device_setup(&uc_dev, &uc_fl, 0, "x", key);
    return &uc_dev.cfg;
}

static uint64_t uc_flash_ops(void)
{
    return uc_fl.ops;
}

static void uc_flash_cut_after(uint64_t k)
{
    uc_fl.cut_after = uc_fl.ops + k;
}

static void uc_flash_rearm(void)
{
    nor_rearm(&uc_fl);
}

#include "unit_checks.h"

static void run_group(void **state)
{
    ((const struct uc_group *)*state)->fn();
}

/* The device id rule (fota/device_id.h), and fota_init refusing an id that
 * breaks it (issue 9: "." and ".." were accepted everywhere). */
static void test_device_id_rule(void **state)
{
    static const struct {
        const char *id;
        size_t len; /* 0: strlen */
        int ok;
    } cases[] = {
        {"dongle-1", 0, 1}, {"a.b_c-9", 0, 1}, {"A", 0, 1}, {"a.", 0, 1}, {"a..b", 0, 1},
        {"", 0, 0}, {".", 0, 0}, {"..", 0, 0}, {".hidden", 0, 0}, {"a/b", 0, 0},
        {"a b", 0, 0}, {"caf\xc3\xa9", 0, 0}, {"dev-a\0x", 7, 0}, {"x\x7f", 0, 0},
        {"0123456789012345678901234567890123456789012345678901234567890123", 0, 1},
        {"01234567890123456789012345678901234567890123456789012345678901234", 0, 0},
    };
    struct testdev t;
    uint8_t *img;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].id);
        if (fota_device_id_valid(cases[i].id, n) != cases[i].ok)
            fail_msg("fota_device_id_valid(\"%s\", %zu) != %d", cases[i].id, n, cases[i].ok);
    }
    assert_int_equal(fota_device_id_valid(NULL, 3), 0);

    img = make_image(200000, "1.0.0", 1, FOTA_CHIP_ESP32);
    assert_int_equal(td_provision(&t, NULL, img, 200000, FOTA_CHIP_ESP32), FOTA_OK);
    nor_rearm(&t.fl);
    sim_device_setup(&t.d, &t.fl, FOTA_CHIP_ESP32, "..", t.key);
    t.d.no_sleep = 1;
    assert_int_equal(sim_device_power_on(&t.d), FOTA_ERR_PARAM);
    td_free(&t);
    free(img);
}

int main(void)
{
    struct CMUnitTest tests[sizeof uc_groups / sizeof uc_groups[0] + 1];
    unsigned i;
    for (i = 0; i < sizeof uc_groups / sizeof uc_groups[0]; i++) {
        memset(&tests[i], 0, sizeof tests[i]);
        tests[i].name = uc_groups[i].name;
        tests[i].test_func = run_group;
        tests[i].initial_state = (void *)&uc_groups[i];
    }
    /* host only: it boots a simulated device */
    memset(&tests[i], 0, sizeof tests[i]);
    tests[i].name = "test_device_id_rule";
    tests[i++].test_func = test_device_id_rule;
    fota_posix_log_level = -1;
    return _cmocka_run_group_tests("core_units", tests, i, NULL, NULL);
}
