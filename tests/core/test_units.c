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

int main(void)
{
    struct CMUnitTest tests[sizeof uc_groups / sizeof uc_groups[0]];
    unsigned i;
    for (i = 0; i < sizeof uc_groups / sizeof uc_groups[0]; i++) {
        memset(&tests[i], 0, sizeof tests[i]);
        tests[i].name = uc_groups[i].name;
        tests[i].test_func = run_group;
        tests[i].initial_state = (void *)&uc_groups[i];
    }
    fota_posix_log_level = -1;
    return _cmocka_run_group_tests("core_units", tests, i, NULL, NULL);
}
