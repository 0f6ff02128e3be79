/*
 * test_nor.c - the NOR flash model: NOR semantics (erase to 0xFF, program
 * ANDs), exact operation counting, power cuts after and inside an
 * operation, reproducible garbage, file persistence and bounds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fota/error.h"
#include "nor.h"

#define FSIZE (64u * 1024u)

static void blank_mem(struct nor_flash *f, uint8_t *mem)
{
    memset(mem, 0xFF, FSIZE);
    assert_int_equal(nor_open_mem(f, mem, FSIZE), FOTA_OK);
}

static void test_erase_and_program(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    uint8_t b[4], v = 0xF0, w = 0x3C;
    (void)state;

    blank_mem(&f, mem);
    assert_int_equal(nor_program(&f, 100, &v, 1), FOTA_OK);
    assert_int_equal(mem[100], 0xF0);
    assert_int_equal(nor_program(&f, 100, &w, 1), FOTA_OK);
    assert_int_equal(mem[100], 0x30); /* AND: bits only clear */
    v = 0xFF;
    assert_int_equal(nor_program(&f, 100, &v, 1), FOTA_OK);
    assert_int_equal(mem[100], 0x30); /* programming 1s restores nothing */
    assert_int_equal(nor_erase(&f, 0), FOTA_OK);
    assert_int_equal(nor_read(&f, 98, b, 4), FOTA_OK);
    assert_memory_equal(b, "\xFF\xFF\xFF\xFF", 4);
    /* erase touches only its sector */
    mem[4096] = 0;
    assert_int_equal(nor_erase(&f, 0), FOTA_OK);
    assert_int_equal(mem[4096], 0);
    assert_int_equal(nor_erase_block(&f, 0), FOTA_OK);
    assert_int_equal(mem[4096], 0xFF);
    nor_close(&f);
}

static void test_counting_and_time(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    uint8_t b[600];
    (void)state;

    blank_mem(&f, mem);
    memset(b, 0, sizeof b);
    assert_int_equal(nor_erase(&f, 4096), FOTA_OK);
    assert_int_equal(f.ops, 1);
    assert_int_equal(f.model_us, NOR_T_SECTOR_ERASE_US);
    assert_int_equal(nor_program(&f, 4096, b, 256), FOTA_OK); /* one page */
    assert_int_equal(f.model_us, NOR_T_SECTOR_ERASE_US + 400);
    assert_int_equal(nor_program(&f, 255, b, 2), FOTA_OK);    /* two pages */
    assert_int_equal(f.model_us, NOR_T_SECTOR_ERASE_US + 1200);
    assert_int_equal(nor_read(&f, 0, b, sizeof b), FOTA_OK);
    assert_int_equal(nor_read(&f, 0, b, 0), FOTA_OK);
    assert_int_equal(nor_program(&f, 0, b, 0), FOTA_OK);       /* not an operation */
    assert_int_equal(nor_erase_block(&f, 0), FOTA_OK);
    assert_int_equal(f.ops, 4);
    assert_int_equal(f.erases, 2);
    assert_int_equal(f.programs, 2);
    assert_int_equal(f.bytes_programmed, 258);
    assert_int_equal(f.reads, 1);
    assert_int_equal(f.bytes_read, 600);
    /* refused calls count nothing */
    assert_int_equal(nor_erase(&f, 100), FOTA_ERR_PARAM);
    assert_int_equal(nor_erase_block(&f, 4096), FOTA_ERR_PARAM);
    assert_int_equal(f.ops, 4);
    assert_int_equal(nor_rearm(&f), FOTA_OK);
    assert_int_equal(f.ops, 0);
    assert_int_equal(f.reads, 0);
    assert_int_equal(f.model_us, 0);
    nor_close(&f);
}

/* A fixed script of 7 operations; stops at the first error. */
static int script(struct nor_flash *f, int *done)
{
    uint8_t a[300], b[5000];
    int rc, i;
    for (i = 0; i < (int)sizeof a; i++)
        a[i] = (uint8_t)(i * 7);
    for (i = 0; i < (int)sizeof b; i++)
        b[i] = (uint8_t)(i ^ 0x5A);
    *done = 0;
#define STEP(call) do { rc = (call); if (rc) return rc; (*done)++; } while (0)
    STEP(nor_program(f, 0, a, sizeof a));
    STEP(nor_erase(f, 4096));
    STEP(nor_program(f, 4000, b, sizeof b));
    STEP(nor_program(f, 12000, a, 17));
    STEP(nor_erase(f, 0));
    STEP(nor_program(f, 10, a, 200));
    STEP(nor_erase_block(f, 0));
#undef STEP
    return FOTA_OK;
}

static void test_cut_after_each_op(void **state)
{
    static uint8_t mem[FSIZE], ref[FSIZE];
    struct nor_flash f, g;
    uint64_t n, k;
    int done, rc;
    uint8_t x;
    (void)state;

    blank_mem(&f, mem);
    assert_int_equal(script(&f, &done), FOTA_OK);
    n = f.ops;
    assert_int_equal(n, 7);
    for (k = 1; k <= n; k++) {
        /* reference: the first k steps only, no cut */
        memset(ref, 0xFF, FSIZE);
        assert_int_equal(nor_open_mem(&g, ref, FSIZE), FOTA_OK);
        g.cut_after = k;
        blank_mem(&f, mem);
        f.cut_after = k;
        rc = script(&f, &done);
        assert_int_equal(rc, FOTA_ERR_POWER_LOST);
        assert_int_equal(done, (int)k - 1); /* op k applied, its caller saw the cut */
        assert_int_equal(f.ops, k);
        assert_true(f.dead);
        script(&g, &done);
        assert_memory_equal(mem, ref, FSIZE);
        /* dead: nothing more happens */
        assert_int_equal(nor_read(&f, 0, &x, 1), FOTA_ERR_POWER_LOST);
        assert_int_equal(nor_erase(&f, 0), FOTA_ERR_POWER_LOST);
        assert_int_equal(nor_program(&f, 0, "\0", 1), FOTA_ERR_POWER_LOST);
        assert_memory_equal(mem, ref, FSIZE);
        assert_int_equal(f.ops, k);
        /* reboot: power back */
        assert_int_equal(nor_rearm(&f), FOTA_OK);
        assert_int_equal(nor_read(&f, 0, &x, 1), FOTA_OK);
    }
}

static void test_cut_inside_program(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    uint8_t old[2048], data[2048], want[2048];
    uint32_t i, prefix;
    int garbage_seen = 0;
    (void)state;

    for (i = 0; i < sizeof data; i++) {
        old[i] = (uint8_t)(0xF0 | (i & 0x0F));
        data[i] = (uint8_t)(i * 13 + 1);
        want[i] = old[i] & data[i];
    }
    blank_mem(&f, mem);
    assert_int_equal(nor_program(&f, 8192, old, sizeof old), FOTA_OK);
    f.seed = 42;
    f.cut_inside = 2;
    assert_int_equal(nor_program(&f, 8192, data, sizeof data), FOTA_ERR_POWER_LOST);
    assert_true(f.dead);
    for (prefix = 0; prefix < sizeof data && mem[8192 + prefix] == want[prefix]; prefix++)
        ;
    assert_true(prefix < sizeof data); /* torn: not all written */
    for (i = prefix; i < sizeof data; i++)
        if (mem[8192 + i] != want[i] && mem[8192 + i] != old[i])
            garbage_seen++;
    assert_true(garbage_seen > 0);
    assert_int_equal(mem[8192 + sizeof data], 0xFF); /* nothing past it */
    assert_int_equal(nor_program(&f, 0, data, 1), FOTA_ERR_POWER_LOST);
}

static void test_cut_inside_erase(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    uint32_t i, ff = 0, junk = 0;
    (void)state;

    memset(mem, 0, FSIZE);
    assert_int_equal(nor_open_mem(&f, mem, FSIZE), FOTA_OK);
    f.seed = 7;
    f.cut_inside = 1;
    assert_int_equal(nor_erase(&f, 4096), FOTA_ERR_POWER_LOST);
    for (i = 4096; i < 8192; i++) {
        if (mem[i] == 0xFF)
            ff++;
        else if (mem[i] != 0)
            junk++;
    }
    assert_true(junk > 0); /* not cleanly erased */
    assert_int_equal(mem[4095], 0);
    assert_int_equal(mem[8192], 0);
    (void)ff;
}

static void torn_run(uint32_t seed, uint8_t *mem)
{
    struct nor_flash f;
    uint8_t data[1024];
    memset(data, 0x11, sizeof data);
    memset(mem, 0xFF, FSIZE);
    assert_int_equal(nor_open_mem(&f, mem, FSIZE), FOTA_OK);
    f.seed = seed;
    f.cut_inside = 3;
    assert_int_equal(nor_erase(&f, 0), FOTA_OK);
    assert_int_equal(nor_program(&f, 100, data, 10), FOTA_OK);
    assert_int_equal(nor_program(&f, 1000, data, sizeof data), FOTA_ERR_POWER_LOST);
}

static void test_same_seed_same_garbage(void **state)
{
    static uint8_t a[FSIZE], b[FSIZE], c[FSIZE];
    (void)state;
    torn_run(1234, a);
    torn_run(1234, b);
    torn_run(99, c);
    assert_memory_equal(a, b, FSIZE);
    assert_memory_not_equal(a, c, FSIZE);
}

static void test_file_persistence(void **state)
{
    struct nor_flash f;
    char path[] = "/tmp/fota-nor-test-XXXXXX";
    uint8_t b[3] = {1, 2, 3}, r[3];
    FILE *fp;
    int fd;
    (void)state;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(nor_create(&f, path, FSIZE), FOTA_OK);
    assert_int_equal(f.size, FSIZE);
    assert_int_equal(f.mem[FSIZE - 1], 0xFF);
    assert_int_equal(nor_program(&f, 5000, b, 3), FOTA_OK);
    nor_close(&f);
    nor_close(&f); /* twice is harmless */

    assert_int_equal(nor_open(&f, path), FOTA_OK);
    assert_int_equal(f.size, FSIZE);
    assert_int_equal(f.ops, 0);
    assert_int_equal(nor_read(&f, 5000, r, 3), FOTA_OK);
    assert_memory_equal(r, b, 3);
    nor_close(&f);

    /* recreate truncates to blank */
    assert_int_equal(nor_create(&f, path, 2 * FSIZE), FOTA_OK);
    assert_int_equal(f.mem[5000], 0xFF);
    nor_close(&f);

    /* a file whose size is not a multiple of 4096 is refused */
    fp = fopen(path, "ab");
    assert_non_null(fp);
    fputc(0, fp);
    fclose(fp);
    assert_int_equal(nor_open(&f, path), FOTA_ERR_PARAM);
    unlink(path);
    assert_int_equal(nor_open(&f, path), FOTA_ERR_IO);
    assert_int_equal(nor_create(&f, path, 1000), FOTA_ERR_PARAM);
}

static void test_bounds(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    uint8_t b[8] = {0};
    (void)state;

    blank_mem(&f, mem);
    assert_int_equal(nor_read(&f, FSIZE - 1, b, 2), FOTA_ERR_PARAM);
    assert_int_equal(nor_read(&f, 0xFFFFFFFFu, b, 2), FOTA_ERR_PARAM);
    assert_int_equal(nor_read(&f, 4, b, 0xFFFFFFFFu), FOTA_ERR_PARAM);
    assert_int_equal(nor_read(&f, FSIZE - 8, b, 8), FOTA_OK);
    assert_int_equal(nor_read(&f, 0, NULL, 1), FOTA_ERR_PARAM);
    assert_int_equal(nor_program(&f, FSIZE - 4, b, 8), FOTA_ERR_PARAM);
    assert_int_equal(nor_program(&f, 0xFFFFFFF8u, b, 8), FOTA_ERR_PARAM);
    assert_int_equal(nor_erase(&f, FSIZE), FOTA_ERR_PARAM);
    assert_int_equal(nor_erase(&f, 0xFFFFF000u), FOTA_ERR_PARAM);
    assert_int_equal(nor_erase_block(&f, FSIZE), FOTA_ERR_PARAM);
    assert_int_equal(f.ops, 0);
    assert_int_equal(nor_open_mem(&f, mem, 100), FOTA_ERR_PARAM);
    assert_int_equal(nor_open_mem(&f, NULL, FSIZE), FOTA_ERR_PARAM);
}

struct obs {
    int calls;
    uint32_t addr, len;
};

static void observe(void *arg, uint32_t addr, const uint8_t *data, uint32_t len)
{
    struct obs *o = arg;
    (void)data;
    o->calls++;
    o->addr = addr;
    o->len = len;
}

static void test_observer(void **state)
{
    static uint8_t mem[FSIZE];
    struct nor_flash f;
    struct obs o = {0, 0, 0};
    (void)state;

    blank_mem(&f, mem);
    f.on_program = observe;
    f.on_program_arg = &o;
    assert_int_equal(nor_program(&f, 300, "abc", 3), FOTA_OK);
    assert_int_equal(nor_erase(&f, 0), FOTA_OK);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.addr, 300);
    assert_int_equal(o.len, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erase_and_program),
        cmocka_unit_test(test_counting_and_time),
        cmocka_unit_test(test_cut_after_each_op),
        cmocka_unit_test(test_cut_inside_program),
        cmocka_unit_test(test_cut_inside_erase),
        cmocka_unit_test(test_same_seed_same_garbage),
        cmocka_unit_test(test_file_persistence),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_observer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
