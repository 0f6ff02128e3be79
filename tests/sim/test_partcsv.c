/*
 * test_partcsv.c - partition CSV parsing (default, min_spiffs, auto offsets,
 * each malformed fixture refused with its message) and the binary table
 * writer, checked byte for byte and read back through fota_layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mbedtls/md5.h>

#include "boot.h"
#include "sim_test_util.h"

static void expect_part(const struct fota_partition *p, const char *label, uint8_t type,
                        uint8_t sub, uint32_t off, uint32_t size)
{
    assert_string_equal(p->label, label);
    assert_int_equal(p->type, type);
    assert_int_equal(p->subtype, sub);
    assert_int_equal(p->offset, off);
    assert_int_equal(p->size, size);
}

static void test_default_csv(void **state)
{
    struct fota_partition p[16];
    char err[160];
    int n = -1;
    (void)state;

    assert_int_equal(sim_pt_parse_csv(sim_pt_default_csv(), p, 16, &n, err, sizeof err), FOTA_OK);
    assert_int_equal(n, 7);
    expect_part(&p[0], "nvs", 1, FOTA_PT_SUB_NVS, 0x9000, 0x5000);
    expect_part(&p[1], "otadata", 1, FOTA_PT_SUB_OTADATA, 0xE000, 0x2000);
    expect_part(&p[2], "app0", 0, FOTA_PT_SUB_OTA_0, 0x10000, 0x140000);
    expect_part(&p[3], "app1", 0, FOTA_PT_SUB_OTA_0 + 1, 0x150000, 0x140000);
    /* the journal's own partition, carved from the end of spiffs */
    expect_part(&p[4], "spiffs", 1, FOTA_PT_SUB_SPIFFS, 0x290000, 0x15C000);
    expect_part(&p[5], "fota", 1, FOTA_PT_SUB_UNDEFINED, 0x3EC000, 0x4000);
    expect_part(&p[6], "coredump", 1, FOTA_PT_SUB_COREDUMP, 0x3F0000, 0x10000);
    assert_int_equal(p[6].flags, 0);
    /* the caller's max is honoured */
    assert_int_equal(sim_pt_parse_csv(sim_pt_default_csv(), p, 5, &n, err, sizeof err),
                     FOTA_ERR_PTABLE);
    assert_string_equal(err, "line 7: too many partitions (at most 5)");
}

static void test_min_spiffs(void **state)
{
    struct fota_partition p[16];
    char err[160];
    int n;
    char *csv = (char *)read_file(FOTA_TEST_DATA "/min_spiffs.csv", NULL);
    (void)state;

    assert_non_null(csv);
    assert_int_equal(sim_pt_parse_csv(csv, p, 16, &n, err, sizeof err), FOTA_OK);
    assert_int_equal(n, 7);
    expect_part(&p[2], "app0", 0, FOTA_PT_SUB_OTA_0, 0x10000, 0x1E0000);
    expect_part(&p[3], "app1", 0, FOTA_PT_SUB_OTA_0 + 1, 0x1F0000, 0x1E0000);
    expect_part(&p[4], "spiffs", 1, FOTA_PT_SUB_SPIFFS, 0x3D0000, 0x1C000);
    expect_part(&p[5], "fota", 1, FOTA_PT_SUB_UNDEFINED, 0x3EC000, 0x4000);
    free(csv);
}

static void test_auto_offsets(void **state)
{
    struct fota_partition p[16];
    char err[160];
    int n;
    char *csv = (char *)read_file(FOTA_TEST_DATA "/auto_offsets.csv", NULL);
    (void)state;

    assert_non_null(csv);
    assert_int_equal(sim_pt_parse_csv(csv, p, 16, &n, err, sizeof err), FOTA_OK);
    assert_int_equal(n, 7);
    expect_part(&p[0], "nvs", 1, FOTA_PT_SUB_NVS, 0x9000, 0x4000);
    expect_part(&p[1], "otadata", 1, FOTA_PT_SUB_OTADATA, 0xD000, 0x2000);
    expect_part(&p[2], "phy_init", 1, FOTA_PT_SUB_PHY, 0xF000, 0x1000);
    expect_part(&p[3], "factory", 0, FOTA_PT_SUB_FACTORY, 0x10000, 0x100000);
    expect_part(&p[4], "ota_0", 0, FOTA_PT_SUB_OTA_0, 0x110000, 0x100000);
    assert_int_equal(p[4].flags, SIM_PT_FLAG_READONLY);
    expect_part(&p[5], "ota_1", 0, FOTA_PT_SUB_OTA_0 + 1, 0x210000, 0x100000);
    assert_int_equal(p[5].flags, SIM_PT_FLAG_ENCRYPTED | SIM_PT_FLAG_READONLY);
    expect_part(&p[6], "storage", 0x40, 0x01, 0x310000, 0x10000);
    free(csv);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *file, *msg;
    } cases[] = {
        {"bad_type.csv", "line 3: expected type 'app', 'data' or a number 0x00-0xFE, found 'application'"},
        {"bad_too_big.csv", "line 4: size '0x1400000' ends past the 4 MB flash (at 0x1550000)"},
        {"bad_misaligned.csv", "line 2: offset '0x18000' is not aligned to 0x10000 for app"},
        {"bad_overlap.csv", "line 4: offset '0x140000' overlaps 'app0', which ends at 0x150000"},
        {"bad_duplicate.csv", "line 2: duplicate partition name 'nvs'"},
        {"bad_number.csv", "line 1: expected a non-zero size as 0x hex, decimal or with K/M suffix, found '0x5zz0'"},
        {"bad_subtype.csv", "line 2: expected app subtype factory, ota_0..ota_15, test or a number, found 'ota_16'"},
        {"bad_flags.csv", "line 1: expected flags 'encrypted' or 'readonly' (joined by ':'), found 'compressed'"},
        {"bad_fields.csv", "line 1: expected at least 5 fields (Name, Type, SubType, Offset, Size), found 3"},
    };
    struct fota_partition p[16];
    char err[200], path[512];
    unsigned i;
    int n;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *csv;
        snprintf(path, sizeof path, "%s/%s", FOTA_TEST_DATA, cases[i].file);
        csv = (char *)read_file(path, NULL);
        assert_non_null(csv);
        n = 99;
        assert_int_equal(sim_pt_parse_csv(csv, p, 16, &n, err, sizeof err), FOTA_ERR_PTABLE);
        assert_int_equal(n, 0);
        assert_string_equal(err, cases[i].msg);
        free(csv);
    }
}

static void test_malformed_inline(void **state)
{
    static const struct {
        const char *csv, *msg;
    } cases[] = {
        {"a, data, nvs, 0x8000, 0x1000\n", "line 1: offset '0x8000' overlaps the partition table; expected 0x9000 or higher"},
        {"a, data, nvs, 0x9000, 0x1800\n", "line 1: size '0x1800' is not a multiple of 0x1000"},
        {"a, data, nvs, 0x9000, 0\n", "line 1: expected a non-zero size as 0x hex, decimal or with K/M suffix, found '0'"},
        {"a, data, nvs, 0x9000, \n", "line 1: expected a size, found an empty field"},
        {"a, data, ota, 0x9000, 0x3000\n", "line 1: otadata size must be 0x2000, found '0x3000'"},
        {"a, data, wat, 0x9000, 0x1000\n", "line 1: expected data subtype ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs or a number, found 'wat'"},
        {"a, app, ota_0, 0x10000, 0x10000\nb, app, ota_0, , 0x10000\n", "line 2: app subtype 'ota_0' already used by 'a'"},
        {"a, data, nvs, 0x9000, 0x1000, , x\n", "line 1: expected at most 6 fields (Name, Type, SubType, Offset, Size, Flags), found more"},
        {"averyveryverylongname, data, nvs, 0x9000, 0x1000\n", "line 1: name 'averyveryverylongname' is longer than 16 characters"},
        {", data, nvs, 0x9000, 0x1000\n", "line 1: expected a partition name, found an empty field"},
        {"a, data, nvs, 0x9000, 99999999999\n", "line 1: expected a non-zero size as 0x hex, decimal or with K/M suffix, found '99999999999'"},
        {"a, data, nvs, 0x9000, 4096M\n", "line 1: expected a non-zero size as 0x hex, decimal or with K/M suffix, found '4096M'"},
        {"a, data, nvs, 0x9000, 010\n", "line 1: expected a non-zero size as 0x hex, decimal or with K/M suffix, found '010'"},
        {"# only comments\n\n", "no partitions in the CSV text"},
    };
    struct fota_partition p[16];
    char err[240];
    unsigned i;
    int n;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sim_pt_parse_csv(cases[i].csv, p, 16, &n, err, sizeof err),
                         FOTA_ERR_PTABLE);
        assert_string_equal(err, cases[i].msg);
    }
    /* a tiny err buffer is still terminated */
    assert_int_equal(sim_pt_parse_csv(cases[0].csv, p, 16, &n, err, 8), FOTA_ERR_PTABLE);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(sim_pt_parse_csv(NULL, p, 16, &n, err, sizeof err), FOTA_ERR_PARAM);
}

static void test_write_and_read_back(void **state)
{
    static uint8_t mem[FLASH_4MB];
    struct nor_flash f;
    struct fota_layout l;
    uint8_t md5[16];
    unsigned i;
    (void)state;

    assert_int_equal(flash_with_table(&f, mem, FLASH_4MB, sim_pt_default_csv()), FOTA_OK);
    assert_int_equal(f.ops, 2); /* erase + one program */
    /* entry layout: magic, type, subtype, offset, size, label, flags */
    assert_memory_equal(mem + 0x8000 + 2 * 32,
                        "\xAA\x50\x00\x10\x00\x00\x01\x00\x00\x00\x14\x00" "app0", 16);
    /* MD5 entry after the 7 entries, then 0xFF */
    assert_int_equal(mem[0x8000 + 7 * 32], 0xEB);
    assert_int_equal(mem[0x8000 + 7 * 32 + 1], 0xEB);
    for (i = 2; i < 16; i++)
        assert_int_equal(mem[0x8000 + 7 * 32 + i], 0xFF);
    assert_int_equal(mbedtls_md5_ret(mem + 0x8000, 7 * 32, md5), 0);
    assert_memory_equal(mem + 0x8000 + 7 * 32 + 16, md5, 16);
    for (i = 8 * 32; i < 4096; i++)
        assert_int_equal(mem[0x8000 + i], 0xFF);

    assert_int_equal(sim_read_layout(&f, NULL, &l), FOTA_OK);
    assert_int_equal(l.slot_count, 2);
    assert_int_equal(l.slot_offset[0], 0x10000);
    assert_int_equal(l.slot_offset[1], 0x150000);
    assert_int_equal(l.slot_size[0], 0x140000);
    assert_int_equal(l.slot_size[1], 0x140000);
    assert_int_equal(l.otadata_offset, 0xE000);
    assert_int_equal(l.nvs_offset, 0x9000);
    assert_int_equal(l.journal_offset, 0x3EC000);
    assert_int_equal(l.journal_size, 0x4000);
    assert_int_equal(l.factory_size, 0);

    /* a flipped bit in an entry breaks the MD5: refused like ESP-IDF does */
    mem[0x8000 + 2 * 32 + 8] ^= 0x01;
    assert_int_equal(sim_read_layout(&f, NULL, &l), FOTA_ERR_PTABLE);
    /* a blank table is refused */
    memset(mem + 0x8000, 0xFF, 4096);
    assert_int_equal(sim_read_layout(&f, NULL, &l), FOTA_ERR_PTABLE);
}

/* Cross-check with gen_esp32part.py's own output (esptool's
 * partitions_singleapp.bin, written without an MD5 entry). */
static void test_matches_real_table(void **state)
{
    static uint8_t mem[FLASH_4MB];
    struct nor_flash f;
    uint32_t len = 0;
    uint8_t *real = read_required_file(FOTA_SHARED_FIRMWARE "/not-an-app-partitions.bin", &len);
    (void)state;
    assert_int_equal(flash_with_table(&f, mem, FLASH_4MB,
                                      "factory, app, factory, 0x10000, 1M\n"
                                      "rfdata, data, phy, , 256K\n"
                                      "wifidata, data, nvs, , 256K\n"),
                     FOTA_OK);
    assert_int_equal(len, 96);
    assert_memory_equal(mem + 0x8000, real, 96);
    free(real);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_csv),
        cmocka_unit_test(test_min_spiffs),
        cmocka_unit_test(test_auto_offsets),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_inline),
        cmocka_unit_test(test_write_and_read_back),
        cmocka_unit_test(test_matches_real_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
