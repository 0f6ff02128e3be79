/*
 * test_units.c - unit tests of the core's small pieces: base64, the JSON
 * push parser, otadata codec and ESP-IDF's seq rule, CRC-32, partition table
 * checks, the flash record store, and the printf subset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"
#include "base64.h"
#include "fmt.h"
#include "journal.h"
#include "le.h"
#include "json.h"

static int b64(const char *in, uint8_t *out, uint32_t *n, uint32_t cap)
{
    struct fota_b64_state s;
    int rc;
    fota_b64_init(&s);
    *n = 0;
    rc = fota_b64_feed(&s, (const uint8_t *)in, (uint32_t)strlen(in), out, n, cap);
    return rc ? rc : fota_b64_finish(&s);
}

static void test_base64_strict(void **state)
{
    uint8_t out[16];
    uint32_t n;
    (void)state;
    assert_int_equal(b64("", out, &n, 16), FOTA_OK);
    assert_int_equal(n, 0);
    assert_int_equal(b64("Zm9vYmFy", out, &n, 16), FOTA_OK);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(b64("Zm9vYg==", out, &n, 16), FOTA_OK);
    assert_int_equal(n, 4);
    assert_int_equal(b64("Zm9vYmE=", out, &n, 16), FOTA_OK);
    assert_int_equal(n, 5);
    assert_int_equal(b64("Zm9vYg=", out, &n, 16), FOTA_ERR_BASE64);   /* short quad */
    assert_int_equal(b64("Zm9vYh==", out, &n, 16), FOTA_ERR_BASE64);  /* non-canonical */
    assert_int_equal(b64("Zm9=YmFy", out, &n, 16), FOTA_ERR_BASE64);  /* pad inside */
    assert_int_equal(b64("Zg==Zg==", out, &n, 16), FOTA_ERR_BASE64);  /* data after pad */
    assert_int_equal(b64("Zm9v\nYmFy", out, &n, 16), FOTA_ERR_BASE64); /* no line breaks */
    assert_int_equal(b64("Zm9-YmFy", out, &n, 16), FOTA_ERR_BASE64);  /* url alphabet */
    assert_int_equal(b64("Zm9vYmFy", out, &n, 5), FOTA_ERR_CHUNK_LEN); /* over capacity */
}

struct ev { char key[16]; int ev; uint32_t num; char str[64]; };
static struct ev evs[16];
static int nev;

static int on_member(void *arg, const char *key, int ev, const uint8_t *s, uint32_t len, int final,
                     uint32_t num)
{
    struct ev *e;
    (void)arg, (void)final;
    if (ev != FOTA_JSON_STR || nev == 0 || strcmp(evs[nev - 1].key, key) ||
        evs[nev - 1].ev != FOTA_JSON_STR || evs[nev - 1].num) {
        e = &evs[nev++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
        e->ev = ev;
        e->num = num;
    } else {
        e = &evs[nev - 1];
    }
    if (ev == FOTA_JSON_STR) {
        if (len)
            strncat(e->str, (const char *)s, len);
        if (final)
            e->num = 1; /* string complete */
    }
    return FOTA_OK;
}

static int json(const char *text)
{
    struct fota_json_state j;
    int rc;
    nev = 0;
    fota_json_init(&j);
    rc = fota_json_feed(&j, (const uint8_t *)text, (uint32_t)strlen(text), on_member, NULL);
    return rc ? rc : fota_json_finish(&j);
}

static void test_json_push_parser(void **state)
{
    (void)state;
    assert_int_equal(json("{\"a\": 1, \"b\": \"x\\u00e9\\n\\/\", \"c\": true, \"d\": null, "
                          "\"e\": {\"n\": [1, \"}\"]}, \"f\": 1.5e3, \"g\": false}"),
                     FOTA_OK);
    assert_int_equal(nev, 7);
    assert_int_equal(evs[0].ev, FOTA_JSON_NUM);
    assert_int_equal(evs[0].num, 1);
    assert_string_equal(evs[1].str, "x\xc3\xa9\n/");
    assert_int_equal(evs[2].ev, FOTA_JSON_TRUE);
    assert_int_equal(evs[3].ev, FOTA_JSON_NULL);
    assert_int_equal(evs[4].ev, FOTA_JSON_NESTED);
    assert_int_equal(evs[5].ev, FOTA_JSON_BADNUM);
    assert_int_equal(evs[6].ev, FOTA_JSON_FALSE);
    assert_int_equal(json("{}"), FOTA_OK);
    assert_int_equal(json("{"), FOTA_ERR_TRUNCATED);
    assert_int_equal(json(""), FOTA_ERR_TRUNCATED);
    assert_int_equal(json("{\"a\" 1}"), FOTA_ERR_JSON);
    assert_int_equal(json("{\"a\": 1,}"), FOTA_ERR_JSON);
    assert_int_equal(json("{\"a\": tru}"), FOTA_ERR_JSON);
    assert_int_equal(json("{\"a\": \"\x01\"}"), FOTA_ERR_JSON);
    assert_int_equal(json("{\"a\": 1} {}"), FOTA_ERR_JSON);
    assert_int_equal(json("[1]"), FOTA_ERR_JSON);
    assert_int_equal(json("{\"a\": \"\\ud800\"}"), FOTA_ERR_JSON);
}

static void test_otadata_rules(void **state)
{
    struct fota_ota_entry e[2], n;
    uint8_t b[32];
    unsigned sec;
    (void)state;
    /* DESIGN.md: seq 1 gives 0x4743989A */
    assert_int_equal(fota_ota_seq_crc(1), 0x4743989Au);
    assert_int_equal(fota_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    memset(e, 0xFF, sizeof e);
    /* blank: first switch to ota_1 writes seq 2 in sector 0 */
    fota_ota_next(e, 1, 2, &n, &sec);
    assert_int_equal(n.seq, 2);
    assert_int_equal(n.state, FOTA_OTA_NEW);
    assert_int_equal(sec, 0);
    fota_ota_encode(&n, b);
    fota_ota_decode(b, &e[0]);
    assert_true(fota_ota_valid(&e[0]));
    assert_int_equal(fota_ota_active(e), 0);
    assert_int_equal(fota_ota_slot(e[0].seq, 2), 1);
    /* back to ota_0: seq 3, the other sector */
    fota_ota_next(e, 0, 2, &n, &sec);
    assert_int_equal(n.seq, 3);
    assert_int_equal(sec, 1);
    e[1] = n;
    assert_int_equal(fota_ota_active(e), 1);
    /* an aborted entry is not bootable; the other one is in force */
    e[1].state = FOTA_OTA_ABORTED;
    assert_int_equal(fota_ota_active(e), 0);
    /* and a new switch still beats its seq */
    fota_ota_next(e, 0, 2, &n, &sec);
    assert_int_equal(n.seq, 5);
    assert_int_equal(sec, 1);
    /* a seq near 2^32 (from flash: only a CRC guards it) leaves no room:
     * refused, not wrapped or made blank (found by fuzz_otadata) */
    e[0].seq = 0xFFFFFFFEu;
    e[0].state = FOTA_OTA_VALID;
    e[0].crc = fota_ota_seq_crc(e[0].seq);
    assert_int_equal(fota_ota_next(e, 0, 1, &n, &sec), FOTA_ERR_OTADATA);
    assert_int_equal(fota_ota_next(e, 15, 16, &n, &sec), FOTA_ERR_OTADATA);
    assert_int_equal(fota_ota_next(e, 2, 2, &n, &sec), FOTA_ERR_PARAM);
    /* a corrupt crc makes an entry invalid */
    e[0].crc ^= 1;
    assert_false(fota_ota_valid(&e[0]));
}

static void test_partition_table_checks(void **state)
{
    struct fota_layout l;
    struct fota_partition p = {FOTA_PT_TYPE_APP, FOTA_PT_SUB_OTA_0, 0x10000, 0x140000, "app0", 0};
    uint8_t e[32], end[32];
    int done;
    (void)state;
    memset(end, 0xFF, 32);
    fota_layout_init(&l);
    p.offset = 0x11000; /* apps are 64 KB aligned */
    fota_pt_encode(&p, e);
    assert_int_equal(fota_layout_add(&l, e, &done), FOTA_ERR_PTABLE);
    memset(e, 0, 32); /* bad magic */
    assert_int_equal(fota_layout_add(&l, e, &done), FOTA_ERR_PTABLE);
    /* a slot past the end of flash */
    fota_layout_init(&l);
    p.offset = 0x3F0000;
    fota_pt_encode(&p, e);
    assert_int_equal(fota_layout_add(&l, e, &done), FOTA_OK);
    assert_int_equal(fota_layout_finish(&l, 4u << 20), FOTA_ERR_PTABLE);
    /* ota_1 without ota_0 */
    fota_layout_init(&l);
    p.offset = 0x10000;
    p.subtype = FOTA_PT_SUB_OTA_0 + 1;
    fota_pt_encode(&p, e);
    assert_int_equal(fota_layout_add(&l, e, &done), FOTA_OK);
    assert_int_equal(fota_layout_add(&l, end, &done), FOTA_OK);
    assert_int_equal(done, 1);
    assert_int_equal(fota_layout_finish(&l, 4u << 20), FOTA_ERR_PTABLE);
}

static void test_journal_codec(void **state)
{
    struct fota_jrec r = {FOTA_J_DOWNLOADING, 1, 0, 7, 100000, 1024, 8192, {1, 2, 3}, 5}, q;
    uint8_t b[64];
    (void)state;
    fota_j_encode(&r, b);
    assert_int_equal(fota_j_decode(b, &q), FOTA_OK);
    assert_int_equal(q.committed, 8192);
    assert_int_equal(q.release, 7);
    b[20] ^= 1; /* flash bit rot: refused */
    assert_int_equal(fota_j_decode(b, &q), FOTA_ERR_JOURNAL);
    memset(b, 0xFF, 64);
    assert_int_equal(fota_j_decode(b, &q), FOTA_OK);
    assert_int_equal(q.phase, FOTA_J_NONE);
}

/* fstore: every save is atomic against a cut at any operation. A first run
 * without a cut counts the flash operations that SAVES saves take; the sweep
 * then cuts after each one of them, exactly, and requires that every
 * iteration was cut (a cut point past the last operation would test
 * nothing). */
#define FSTORE_SAVES 200u

/* The store's partition, as a port hands it over: two sectors of data. */
static const struct fota_part jp = {0, 0x8000, 2 * FOTA_SECTOR_SIZE, FOTA_SLOT_DATA, 0, "fota"};

static unsigned fstore_run(struct nor_flash *fl, uint8_t *mem, uint32_t size,
                           struct sim_device *d, struct fota_fstore *s, uint64_t cut_after,
                           int *last_rc, uint64_t *ops_used)
{
    uint64_t ops0;
    uint8_t key[32] = {0}, rec[64];
    unsigned i;
    memset(mem, 0xFF, size);
    nor_open_mem(fl, mem, size);
    sim_device_setup(d, fl, 0, "x", key);
    assert_int_equal(fota_fstore_open(s, &d->cfg, &jp), FOTA_OK);
    ops0 = fl->ops;
    fl->cut_after = cut_after ? ops0 + cut_after : 0;
    *last_rc = FOTA_OK;
    for (i = 0; i < FSTORE_SAVES; i++) {
        memset(rec, (int)i, 64);
        *last_rc = fota_fstore_save(s, rec, 64);
        if (*last_rc)
            break;
    }
    *ops_used = fl->ops - ops0;
    return i;
}

static void test_fstore_atomic(void **state)
{
    static uint8_t mem[64 * 1024];
    struct nor_flash fl;
    struct sim_device d;
    struct fota_fstore s;
    uint8_t rec[64], got[64];
    uint64_t k, total_ops, used;
    unsigned i;
    int rc;
    (void)state;

    /* the operations SAVES saves take, counted without a cut */
    assert_int_equal(fstore_run(&fl, mem, sizeof mem, &d, &s, 0, &rc, &total_ops), FSTORE_SAVES);
    assert_int_equal(rc, FOTA_OK);
    assert_true(total_ops >= FSTORE_SAVES);

    for (k = 1; k <= total_ops; k++) {
        i = fstore_run(&fl, mem, sizeof mem, &d, &s, k, &rc, &used);
        /* this iteration did cut: a save failed on the lost power */
        if (i >= FSTORE_SAVES || rc != FOTA_ERR_POWER_LOST || used < k)
            fail_msg("cut after op %llu of %llu: %u saves completed, last rc %d: no cut",
                     (unsigned long long)k, (unsigned long long)total_ops, i, rc);
        /* i saves completed; the one in flight (i) may or may not have */
        nor_rearm(&fl);
        assert_int_equal(fota_fstore_open(&s, &d.cfg, &jp), FOTA_OK);
        assert_int_equal(fota_fstore_load(&s, got, 64), FOTA_OK);
        if (i == 0) {
            assert_true(got[0] == 0xFF || got[0] == 0);
        } else {
            if (got[0] != (uint8_t)(i - 1) && got[0] != (uint8_t)i)
                fail_msg("cut after op %llu: %u saves completed, the store holds record %u",
                         (unsigned long long)k, i, got[0]);
            assert_memory_equal(got, got + 32, 32);
        }
        /* and the store goes on working after the cut */
        memset(rec, 0xAB, 64);
        assert_int_equal(fota_fstore_save(&s, rec, 64), FOTA_OK);
        assert_int_equal(fota_fstore_open(&s, &d.cfg, &jp), FOTA_OK);
        assert_int_equal(fota_fstore_load(&s, got, 64), FOTA_OK);
        assert_memory_equal(got, rec, 64);
    }
}

/* The byte helpers with bytes >= 0x80 in every position: the values a
 * sign-extending or int-overflowing shift would get wrong (the core is also
 * built for a 16-bit-int target, test core_int16). */
static void test_byte_helpers(void **state)
{
    static const uint8_t le[4] = {0x80, 0xFF, 0x81, 0xFE};
    uint8_t out[4];
    (void)state;
    assert_int_equal(fota_le16(le), 0xFF80u);
    assert_int_equal(fota_le16(le + 2), 0xFE81u);
    assert_true(fota_le32(le) == 0xFE81FF80ul);
    fota_put_le16(out, 0xFF80u);
    assert_memory_equal(out, le, 2);
    fota_put_le32(out, 0xFE81FF80ul);
    assert_memory_equal(out, le, 4);
    fota_put_be32(out, 0x80FF81FEul);
    assert_memory_equal(out, le, 4);
    /* fmt's %u and %x take uint32_t: values with the top bit set */
    {
        char b[40];
        fota_fmt(b, sizeof b, "%u %x %u", (uint32_t)0xFFFFFFFFul, (uint32_t)0x80000000ul,
                 (uint32_t)fota_le16(le));
        assert_string_equal(b, "4294967295 80000000 65408");
    }
}

static void test_fmt(void **state)
{
    char b[32];
    uint32_t n = 0;
    (void)state;
    fota_fmt(b, sizeof b, "%s=%u %d %x%%", "a", (uint32_t)42, -7, (uint32_t)255);
    assert_string_equal(b, "a=42 -7 ff%");
    assert_int_equal(fota_fmt(b, 4, "%s", "abcdef"), 6);
    assert_string_equal(b, "abc");
    fota_urlenc(b, sizeof b, &n, "v 1/é");
    assert_string_equal(b, "v%201%2F%C3%A9");
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_json_push_parser),
        cmocka_unit_test(test_otadata_rules),
        cmocka_unit_test(test_partition_table_checks),
        cmocka_unit_test(test_journal_codec),
        cmocka_unit_test(test_fstore_atomic),
        cmocka_unit_test(test_byte_helpers),
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_device_id_rule),
    };
    fota_posix_log_level = -1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
