/*
 * unit_checks.h - the core's pure unit checks, written once and run twice:
 * on the host under cmocka (test_units.c, test_image.c) and as RV32IMC code
 * under QEMU with picolibc (tests/rv32/runner.c), so a check that only holds
 * on a 64-bit little-endian host with glibc shows up.
 *
 * The including file defines the four check macros (UC_INT_EQ, UC_TRUE,
 * UC_MEM_EQ, UC_STR_EQ) and, for uc_fstore_atomic, the flash it runs on
 * (a fake at the port boundary): uc_flash_open(mem, size) returning the
 * struct fota_config, uc_flash_ops() (erase and program operations so far),
 * uc_flash_cut_after(k) (power lost once the k-th operation from now
 * completed) and uc_flash_rearm() (power back, counters cleared).
 * Only the core's headers and <string.h>/<stdio.h> are used here.
 */
#ifndef TESTS_CORE_UNIT_CHECKS_H
#define TESTS_CORE_UNIT_CHECKS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "fmt.h"
#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "fota/fstore.h"
#include "fota/version.h"
#include "journal.h"
#include "json.h"
#include "le.h"
#include "version_vectors.h"

#if !defined(UC_INT_EQ) || !defined(UC_TRUE) || !defined(UC_MEM_EQ) || !defined(UC_STR_EQ)
#error "define UC_INT_EQ, UC_TRUE, UC_MEM_EQ and UC_STR_EQ before including unit_checks.h"
#endif

/* ---- base64 --------------------------------------------------------------- */

static int uc_b64(const char *in, uint8_t *out, uint32_t *n, uint32_t cap)
{
    struct fota_b64_state s;
    int rc;
    fota_b64_init(&s);
    *n = 0;
    rc = fota_b64_feed(&s, (const uint8_t *)in, (uint32_t)strlen(in), out, n, cap);
    return rc ? rc : fota_b64_finish(&s);
}

static void uc_base64_strict(void)
{
    uint8_t out[16];
    uint32_t n;
    UC_INT_EQ(uc_b64("", out, &n, 16), FOTA_OK);
    UC_INT_EQ(n, 0);
    UC_INT_EQ(uc_b64("Zm9vYmFy", out, &n, 16), FOTA_OK);
    UC_MEM_EQ(out, "foobar", 6);
    UC_INT_EQ(uc_b64("Zm9vYg==", out, &n, 16), FOTA_OK);
    UC_INT_EQ(n, 4);
    UC_INT_EQ(uc_b64("Zm9vYmE=", out, &n, 16), FOTA_OK);
    UC_INT_EQ(n, 5);
    /* bytes >= 0x80 come out unsigned */
    UC_INT_EQ(uc_b64("/+7dzA==", out, &n, 16), FOTA_OK);
    UC_INT_EQ(n, 4);
    UC_MEM_EQ(out, "\xff\xee\xdd\xcc", 4);
    UC_INT_EQ(uc_b64("Zm9vYg=", out, &n, 16), FOTA_ERR_BASE64);   /* short quad */
    UC_INT_EQ(uc_b64("Zm9vYh==", out, &n, 16), FOTA_ERR_BASE64);  /* non-canonical */
    UC_INT_EQ(uc_b64("Zm9=YmFy", out, &n, 16), FOTA_ERR_BASE64);  /* pad inside */
    UC_INT_EQ(uc_b64("Zg==Zg==", out, &n, 16), FOTA_ERR_BASE64);  /* data after pad */
    UC_INT_EQ(uc_b64("Zm9v\nYmFy", out, &n, 16), FOTA_ERR_BASE64); /* no line breaks */
    UC_INT_EQ(uc_b64("Zm9-YmFy", out, &n, 16), FOTA_ERR_BASE64);  /* url alphabet */
    UC_INT_EQ(uc_b64("Zm9\xc3YmFy", out, &n, 16), FOTA_ERR_BASE64); /* a byte >= 0x80 */
    UC_INT_EQ(uc_b64("Zm9vYmFy", out, &n, 5), FOTA_ERR_CHUNK_LEN); /* over capacity */
}

/* ---- the JSON push parser ---------------------------------------------------- */

struct uc_ev { char key[16]; int ev; uint32_t num; char str[64]; };
static struct uc_ev uc_evs[16];
static int uc_nev;

static int uc_on_member(void *arg, const char *key, int ev, const uint8_t *s, uint32_t len,
                        int final, uint32_t num)
{
    struct uc_ev *e;
    (void)arg;
    if (ev != FOTA_JSON_STR || uc_nev == 0 || strcmp(uc_evs[uc_nev - 1].key, key) ||
        uc_evs[uc_nev - 1].ev != FOTA_JSON_STR || uc_evs[uc_nev - 1].num) {
        if (uc_nev == 16)
            return FOTA_ERR_JSON;
        e = &uc_evs[uc_nev++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
        e->ev = ev;
        e->num = num;
    } else {
        e = &uc_evs[uc_nev - 1];
    }
    if (ev == FOTA_JSON_STR) {
        if (len)
            strncat(e->str, (const char *)s, len);
        if (final)
            e->num = 1; /* string complete */
    }
    return FOTA_OK;
}

static int uc_json(const char *text)
{
    struct fota_json_state j;
    int rc;
    uc_nev = 0;
    fota_json_init(&j);
    rc = fota_json_feed(&j, (const uint8_t *)text, (uint32_t)strlen(text), uc_on_member, NULL);
    return rc ? rc : fota_json_finish(&j);
}

static void uc_json_push_parser(void)
{
    UC_INT_EQ(uc_json("{\"a\": 1, \"b\": \"x\\u00e9\\n\\/\", \"c\": true, \"d\": null, "
                      "\"e\": {\"n\": [1, \"}\"]}, \"f\": 1.5e3, \"g\": false}"),
              FOTA_OK);
    UC_INT_EQ(uc_nev, 7);
    UC_INT_EQ(uc_evs[0].ev, FOTA_JSON_NUM);
    UC_INT_EQ(uc_evs[0].num, 1);
    UC_STR_EQ(uc_evs[1].str, "x\xc3\xa9\n/");
    UC_INT_EQ(uc_evs[2].ev, FOTA_JSON_TRUE);
    UC_INT_EQ(uc_evs[3].ev, FOTA_JSON_NULL);
    UC_INT_EQ(uc_evs[4].ev, FOTA_JSON_NESTED);
    UC_INT_EQ(uc_evs[5].ev, FOTA_JSON_BADNUM);
    UC_INT_EQ(uc_evs[6].ev, FOTA_JSON_FALSE);
    /* raw UTF-8 (bytes >= 0x80) passes through a string unchanged; the
     * largest u32 is a number, one more is not */
    UC_INT_EQ(uc_json("{\"v\": \"\xc3\xa9\xe2\x82\xac\", \"n\": 4294967295, \"m\": 4294967296}"),
              FOTA_OK);
    UC_INT_EQ(uc_nev, 3);
    UC_STR_EQ(uc_evs[0].str, "\xc3\xa9\xe2\x82\xac");
    UC_INT_EQ(uc_evs[1].ev, FOTA_JSON_NUM);
    UC_INT_EQ(uc_evs[1].num, 0xFFFFFFFFu);
    UC_INT_EQ(uc_evs[2].ev, FOTA_JSON_BADNUM);
    UC_INT_EQ(uc_json("{}"), FOTA_OK);
    UC_INT_EQ(uc_json("{"), FOTA_ERR_TRUNCATED);
    UC_INT_EQ(uc_json(""), FOTA_ERR_TRUNCATED);
    UC_INT_EQ(uc_json("{\"a\" 1}"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("{\"a\": 1,}"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("{\"a\": tru}"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("{\"a\": \"\x01\"}"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("{\"a\": 1} {}"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("[1]"), FOTA_ERR_JSON);
    UC_INT_EQ(uc_json("{\"a\": \"\\ud800\"}"), FOTA_ERR_JSON);
}

/* ---- otadata codec, ESP-IDF's seq rule, CRC-32 -------------------------------- */

static void uc_crc32(void)
{
    static const uint8_t hi[4] = {0x80, 0xFF, 0xC3, 0xA9};
    UC_INT_EQ(fota_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    UC_INT_EQ(fota_crc32(0, (const uint8_t *)"", 0), 0);
    UC_INT_EQ(fota_crc32(0, hi, 4), 0x3D58C20Bu); /* zlib.crc32(b"\x80\xff\xc3\xa9") */
    /* incremental equals one-shot */
    UC_INT_EQ(fota_crc32(fota_crc32(0, hi, 2), hi + 2, 2), 0x3D58C20Bu);
    /* DESIGN.md: seq 1 gives 0x4743989A (initial value 0xFFFFFFFF) */
    UC_INT_EQ(fota_ota_seq_crc(1), 0x4743989Au);
    UC_INT_EQ(fota_ota_seq_crc(0xFFFFFFFFu), fota_crc32(0xFFFFFFFFu, (const uint8_t *)"\xff\xff\xff\xff", 4));
}

static void uc_otadata_rules(void)
{
    struct fota_ota_entry e[2], n;
    uint8_t b[32];
    unsigned sec;
    memset(e, 0xFF, sizeof e);
    /* blank: first switch to ota_1 writes seq 2 in sector 0 */
    UC_INT_EQ(fota_ota_next(e, 1, 2, &n, &sec), FOTA_OK);
    UC_INT_EQ(n.seq, 2);
    UC_INT_EQ(n.state, FOTA_OTA_NEW);
    UC_INT_EQ(sec, 0);
    fota_ota_encode(&n, b);
    UC_MEM_EQ(b, "\x02\x00\x00\x00", 4);
    UC_MEM_EQ(b + 24, "\x00\x00\x00\x00", 4);
    fota_ota_decode(b, &e[0]);
    UC_TRUE(fota_ota_valid(&e[0]));
    UC_INT_EQ(fota_ota_active(e), 0);
    UC_INT_EQ(fota_ota_slot(e[0].seq, 2), 1);
    /* back to ota_0: seq 3, the other sector */
    UC_INT_EQ(fota_ota_next(e, 0, 2, &n, &sec), FOTA_OK);
    UC_INT_EQ(n.seq, 3);
    UC_INT_EQ(sec, 1);
    e[1] = n;
    UC_INT_EQ(fota_ota_active(e), 1);
    /* an aborted entry is not bootable; the other one is in force */
    e[1].state = FOTA_OTA_ABORTED;
    UC_INT_EQ(fota_ota_active(e), 0);
    /* and a new switch still beats its seq */
    UC_INT_EQ(fota_ota_next(e, 0, 2, &n, &sec), FOTA_OK);
    UC_INT_EQ(n.seq, 5);
    UC_INT_EQ(sec, 1);
    /* a seq with its top bit set decodes and encodes unsigned */
    n.seq = 0x80000001u;
    fota_ota_encode(&n, b);
    UC_MEM_EQ(b, "\x01\x00\x00\x80", 4);
    fota_ota_decode(b, &e[1]);
    UC_INT_EQ(e[1].seq, 0x80000001u);
    UC_TRUE(fota_ota_valid(&e[1]));
    UC_INT_EQ(fota_ota_slot(0x80000001u, 3), (0x80000000u % 3u));
    /* a seq near 2^32 (from flash: only a CRC guards it) leaves no room:
     * refused, not wrapped or made blank (found by fuzz_otadata) */
    e[0].seq = 0xFFFFFFFEu;
    e[0].state = FOTA_OTA_VALID;
    e[0].crc = fota_ota_seq_crc(e[0].seq);
    UC_INT_EQ(fota_ota_next(e, 0, 1, &n, &sec), FOTA_ERR_OTADATA);
    UC_INT_EQ(fota_ota_next(e, 15, 16, &n, &sec), FOTA_ERR_OTADATA);
    UC_INT_EQ(fota_ota_next(e, 2, 2, &n, &sec), FOTA_ERR_PARAM);
    /* a corrupt crc makes an entry invalid */
    e[0].crc ^= 1;
    UC_TRUE(!fota_ota_valid(&e[0]));
}

/* ---- partition table -------------------------------------------------------- */

static void uc_partition_table_checks(void)
{
    struct fota_layout l;
    struct fota_partition p = {FOTA_PT_TYPE_APP, FOTA_PT_SUB_OTA_0, 0x10000, 0x140000, "app0", 0};
    uint8_t e[32], end[32];
    int done, kind;
    memset(end, 0xFF, 32);
    fota_layout_init(&l);
    p.offset = 0x11000; /* apps are 64 KB aligned */
    fota_pt_encode(&p, e);
    UC_INT_EQ(fota_layout_add(&l, e, &done), FOTA_ERR_PTABLE);
    memset(e, 0, 32); /* bad magic */
    UC_INT_EQ(fota_layout_add(&l, e, &done), FOTA_ERR_PTABLE);
    /* a slot past the end of flash */
    fota_layout_init(&l);
    p.offset = 0x3F0000;
    fota_pt_encode(&p, e);
    UC_INT_EQ(fota_layout_add(&l, e, &done), FOTA_OK);
    UC_INT_EQ(fota_layout_finish(&l, 4u << 20), FOTA_ERR_PTABLE);
    /* ota_1 without ota_0 */
    fota_layout_init(&l);
    p.offset = 0x10000;
    p.subtype = FOTA_PT_SUB_OTA_0 + 1;
    fota_pt_encode(&p, e);
    UC_INT_EQ(fota_layout_add(&l, e, &done), FOTA_OK);
    UC_INT_EQ(fota_layout_add(&l, end, &done), FOTA_OK);
    UC_INT_EQ(done, 1);
    UC_INT_EQ(fota_layout_finish(&l, 4u << 20), FOTA_ERR_PTABLE);
    /* the encoding: magic AA 50, offsets and sizes little-endian */
    p.offset = 0x150000;
    p.size = 0x140000;
    p.flags = 0x80000001u;
    fota_pt_encode(&p, e);
    UC_MEM_EQ(e, "\xaa\x50\x00\x11\x00\x00\x15\x00\x00\x00\x14\x00", 12);
    UC_MEM_EQ(e + 28, "\x01\x00\x00\x80", 4);
    memset(&p, 0, sizeof p);
    UC_INT_EQ(fota_pt_decode(e, &p, &kind), FOTA_OK);
    UC_INT_EQ(kind, FOTA_PT_ENTRY_PART);
    UC_INT_EQ(p.offset, 0x150000);
    UC_INT_EQ(p.flags, 0x80000001u);
    UC_STR_EQ(p.label, "app0");
}

/* ---- journal record ---------------------------------------------------------- */

static void uc_journal_codec(void)
{
    struct fota_jrec r, q;
    uint8_t b[FOTA_JOURNAL_LEN];
    memset(&r, 0, sizeof r);
    r.phase = FOTA_J_DOWNLOADING, r.target = 1, r.release = 7, r.size = 100000;
    r.chunk_size = 1024, r.committed = 8192, r.sha256[0] = 1, r.min_secure = 5;
    r.encoding = FOTA_ENC_DELTA, r.window_log2 = 12, r.patch_size = 5000, r.in_off = 999;
    r.rel = 0xFFFFFF00u, r.base_size = 90000, r.patch_sha256[31] = 9;
    r.switches = 3, r.untried_reported = 1;
    fota_j_encode(&r, b);
    UC_INT_EQ(fota_j_decode(b, &q), FOTA_OK);
    UC_INT_EQ(q.committed, 8192);
    UC_INT_EQ(q.release, 7);
    UC_INT_EQ(q.encoding, FOTA_ENC_DELTA);
    UC_INT_EQ(q.in_off, 999);
    UC_INT_EQ(q.rel, 0xFFFFFF00u);
    UC_INT_EQ(q.base_size, 90000);
    UC_INT_EQ(q.patch_sha256[31], 9);
    UC_INT_EQ(q.switches, 3);
    UC_INT_EQ(q.untried_reported, 1);
    b[20] ^= 1; /* flash bit rot: refused */
    UC_INT_EQ(fota_j_decode(b, &q), FOTA_ERR_JOURNAL);
    b[20] ^= 1;
    b[68] ^= 1; /* in the patch fields too */
    UC_INT_EQ(fota_j_decode(b, &q), FOTA_ERR_JOURNAL);
    memset(b, 0xFF, sizeof b);
    UC_INT_EQ(fota_j_decode(b, &q), FOTA_OK);
    UC_INT_EQ(q.phase, FOTA_J_NONE);
}

/* ---- fstore: every save is atomic against a cut at any operation ---------------- */

/* A first run without a cut counts the flash operations that UC_FSTORE_SAVES
 * saves take; the sweep then cuts after each one of them, exactly, and
 * requires that every iteration was cut (a cut point past the last
 * operation would test nothing). */
#define UC_FSTORE_SAVES 200u

static uint8_t uc_fstore_mem[64 * 1024];

/* The store's partition, as a port hands it over: two sectors of data. */
static const struct fota_part uc_jp = {0, 0x8000, 2 * FOTA_SECTOR_SIZE, FOTA_SLOT_DATA, 0, "fota"};

static unsigned uc_fstore_run(const struct fota_config **cfg, struct fota_fstore *s,
                              uint64_t cut_after, int *last_rc, uint64_t *ops_used)
{
    uint64_t ops0;
    uint8_t rec[FOTA_JOURNAL_LEN];
    unsigned i;
    memset(uc_fstore_mem, 0xFF, sizeof uc_fstore_mem);
    *cfg = uc_flash_open(uc_fstore_mem, sizeof uc_fstore_mem);
    UC_INT_EQ(fota_fstore_open(s, *cfg, &uc_jp), FOTA_OK);
    ops0 = uc_flash_ops();
    if (cut_after)
        uc_flash_cut_after(cut_after);
    *last_rc = FOTA_OK;
    for (i = 0; i < UC_FSTORE_SAVES; i++) {
        memset(rec, (int)i, FOTA_JOURNAL_LEN);
        *last_rc = fota_fstore_save(s, rec, FOTA_JOURNAL_LEN);
        if (*last_rc)
            break;
    }
    *ops_used = uc_flash_ops() - ops0;
    return i;
}

static void uc_fstore_atomic(void)
{
    const struct fota_config *cfg;
    struct fota_fstore s;
    uint8_t rec[FOTA_JOURNAL_LEN], got[FOTA_JOURNAL_LEN];
    uint64_t k, total_ops, used;
    unsigned i;
    int rc;

    /* the operations UC_FSTORE_SAVES saves take, counted without a cut */
    UC_INT_EQ(uc_fstore_run(&cfg, &s, 0, &rc, &total_ops), UC_FSTORE_SAVES);
    UC_INT_EQ(rc, FOTA_OK);
    UC_TRUE(total_ops >= UC_FSTORE_SAVES);

    for (k = 1; k <= total_ops; k++) {
        i = uc_fstore_run(&cfg, &s, k, &rc, &used);
        /* this iteration did cut: a save failed on the lost power */
        UC_TRUE(i < UC_FSTORE_SAVES);
        UC_INT_EQ(rc, FOTA_ERR_POWER_LOST);
        UC_TRUE(used >= k);
        /* i saves completed; the one in flight (i) may or may not have */
        uc_flash_rearm();
        UC_INT_EQ(fota_fstore_open(&s, cfg, &uc_jp), FOTA_OK);
        UC_INT_EQ(fota_fstore_load(&s, got, FOTA_JOURNAL_LEN), FOTA_OK);
        if (i == 0) {
            UC_TRUE(got[0] == 0xFF || got[0] == 0);
        } else {
            UC_TRUE(got[0] == (uint8_t)(i - 1) || got[0] == (uint8_t)i);
            UC_MEM_EQ(got, got + 32, 32);
        }
        /* and the store goes on working after the cut */
        memset(rec, 0xAB, FOTA_JOURNAL_LEN);
        UC_INT_EQ(fota_fstore_save(&s, rec, FOTA_JOURNAL_LEN), FOTA_OK);
        UC_INT_EQ(fota_fstore_open(&s, cfg, &uc_jp), FOTA_OK);
        UC_INT_EQ(fota_fstore_load(&s, got, FOTA_JOURNAL_LEN), FOTA_OK);
        UC_MEM_EQ(got, rec, FOTA_JOURNAL_LEN);
    }
}

/* ---- the printf subset and URL encoding ------------------------------------------ */

static void uc_fmt(void)
{
    char b[32];
    uint32_t n = 0;
    fota_fmt(b, sizeof b, "%s=%u %d %x%%", "a", (uint32_t)42, -7, (uint32_t)255);
    UC_STR_EQ(b, "a=42 -7 ff%");
    fota_fmt(b, sizeof b, "%u %x %d", (uint32_t)0xFFFFFFFFu, (uint32_t)0x80000000u, -2147483647 - 1);
    UC_STR_EQ(b, "4294967295 80000000 -2147483648");
    UC_INT_EQ(fota_fmt(b, 4, "%s", "abcdef"), 6);
    UC_STR_EQ(b, "abc");
    fota_urlenc(b, sizeof b, &n, "v 1/\xc3\xa9");
    UC_STR_EQ(b, "v%201%2F%C3%A9");
}

/* ---- little-endian helpers with bytes >= 0x80 -------------------------------------- */

static void uc_le_helpers(void)
{
    static const uint8_t hi[4] = {0xFE, 0x80, 0xFF, 0x91};
    uint8_t b[4];
    UC_INT_EQ(fota_le16(hi), 0x80FEu);
    UC_INT_EQ(fota_le32(hi), 0x91FF80FEu);
    UC_INT_EQ(fota_le32((const uint8_t *)"\xff\xff\xff\xff"), 0xFFFFFFFFu);
    fota_put_le16(b, 0xBEEFu);
    UC_MEM_EQ(b, "\xef\xbe", 2);
    fota_put_le32(b, 0xDEADBEEFu);
    UC_MEM_EQ(b, "\xef\xbe\xad\xde", 4);
    fota_put_be32(b, 0x80C0FFEEu);
    UC_MEM_EQ(b, "\x80\xc0\xff\xee", 4);
    UC_INT_EQ(fota_le32(b), 0xEEFFC080u);
    UC_INT_EQ(fota_hexval('f'), 15);
    UC_INT_EQ(fota_hexval('A'), 10);
    UC_TRUE(fota_hexval(0xC3) < 0);
    UC_INT_EQ(fota_ct_diff(hi, (const uint8_t *)"\xfe\x80\xff\x91", 4), 0);
    UC_TRUE(fota_ct_diff(hi, (const uint8_t *)"\xfe\x80\xff\x11", 4) != 0);
}

/* The byte helpers with bytes >= 0x80 in every position: the values a
 * sign-extending or int-overflowing shift would get wrong (the core is also
 * built for a 16-bit-int target, test core_int16). */
static void uc_byte_helpers(void)
{
    static const uint8_t le[4] = {0x80, 0xFF, 0x81, 0xFE};
    uint8_t out[4];
    char b[40];
    UC_INT_EQ(fota_le16(le), 0xFF80u);
    UC_INT_EQ(fota_le16(le + 2), 0xFE81u);
    UC_TRUE(fota_le32(le) == 0xFE81FF80ul);
    fota_put_le16(out, 0xFF80u);
    UC_MEM_EQ(out, le, 2);
    fota_put_le32(out, 0xFE81FF80ul);
    UC_MEM_EQ(out, le, 4);
    fota_put_be32(out, 0x80FF81FEul);
    UC_MEM_EQ(out, le, 4);
    /* fmt's %u and %x take uint32_t: values with the top bit set */
    fota_fmt(b, sizeof b, "%u %x %u", (uint32_t)0xFFFFFFFFul, (uint32_t)0x80000000ul,
             (uint32_t)fota_le16(le));
    UC_STR_EQ(b, "4294967295 80000000 65408");
}

/* ---- version comparison: the vectors of version_vectors.h ---------------------- */

/* VV_* result of fota_version_cmp(a, b); -99 for any other outcome */
static int uc_vorder(const char *a, const char *b)
{
    int cmp = 42, rc = fota_version_cmp(a, b, &cmp);
    if (rc == FOTA_ERR_VERSION_UNORDERED)
        return VV_UNORDERED;
    if (rc != FOTA_OK || cmp < -1 || cmp > 1)
        return -99;
    return cmp;
}

static void uc_version_cmp(void)
{
    unsigned i, j, n = (unsigned)VV_COUNT(version_chain);
    int cmp;
    for (i = 0; i < VV_COUNT(version_pairs); i++) {
        const struct version_vector *v = &version_pairs[i];
        UC_INT_EQ(uc_vorder(v->a, v->b), v->want);
        UC_INT_EQ(uc_vorder(v->b, v->a), v->want == VV_UNORDERED ? VV_UNORDERED : -v->want);
    }
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            UC_INT_EQ(uc_vorder(version_chain[i], version_chain[j]),
                      i < j ? VV_OLDER : i > j ? VV_NEWER : VV_SAME);
    for (i = 0; i < VV_COUNT(version_ordered); i++)
        UC_TRUE(fota_version_ordered(version_ordered[i]));
    for (i = 0; i < VV_COUNT(version_unordered); i++) {
        UC_TRUE(!fota_version_ordered(version_unordered[i]));
        UC_INT_EQ(uc_vorder(version_unordered[i], "1.0.0"), VV_UNORDERED);
    }
    UC_INT_EQ(fota_version_cmp(NULL, "1.0.0", &cmp), FOTA_ERR_PARAM);
}

/* ---- the image walk at its arithmetic edges ------------------------------------------ */

/* An image head (24 bytes) with n segments; the caller appends segments. */
static uint32_t uc_put_head(uint8_t *b, uint8_t nseg, uint8_t hash)
{
    memset(b, 0, FOTA_IMG_HEADER_LEN);
    b[0] = FOTA_IMG_MAGIC;
    b[1] = nseg;
    b[23] = hash;
    return FOTA_IMG_HEADER_LEN;
}

static uint32_t uc_put_seg_hdr(uint8_t *b, uint32_t load, uint32_t len)
{
    int i;
    for (i = 0; i < 4; i++) {
        b[i] = (uint8_t)(load >> (8 * i));
        b[4 + i] = (uint8_t)(len >> (8 * i));
    }
    return FOTA_IMG_SEG_HEADER_LEN;
}

/* Feed one byte at a time, so every path of the walk sees each position. */
static int uc_feed_bytes(struct fota_img_walk *w, const uint8_t *b, uint32_t n)
{
    int rc = FOTA_OK;
    uint32_t i;
    for (i = 0; i < n && rc == FOTA_OK; i++)
        rc = fota_img_walk_feed(w, b + i, 1);
    return rc;
}

/* Invariant 6: a data_len whose end wraps past 2^32 is refused at its header,
 * whatever the limit, and the walk never indexes past its header buffer. */
static void uc_img_seg_len_wraps(void)
{
    static const uint32_t limits[] = {0xFFFFFFFFu, 0xFFFFFFFEu, 0xFFFFFF00u, 0x80000000u, 0x140000u};
    static const uint32_t lens[] = {0xFFFFFFFFu, 0xFFFFFFE8u, 0xFFFFFFE0u, 0x80000000u};
    uint8_t img[128];
    unsigned a, c;
    for (a = 0; a < sizeof limits / sizeof limits[0]; a++)
        for (c = 0; c < sizeof lens / sizeof lens[0]; c++) {
            struct fota_img_walk w;
            uint32_t n = uc_put_head(img, 2, 1);
            int rc;
            n += uc_put_seg_hdr(img + n, 0x3F400020u, lens[c]);
            memset(img + n, 0xA5, sizeof img - n);
            fota_img_walk_init(&w, limits[a]);
            rc = uc_feed_bytes(&w, img, sizeof img);
            if (lens[c] > limits[a] - 32u) {
                UC_INT_EQ(rc, FOTA_ERR_SLOT_SIZE);
                UC_INT_EQ(w.pos, 31); /* refused at the header's last byte */
            } else {
                UC_INT_EQ(rc, FOTA_OK); /* inside the segment's data */
                UC_TRUE(w.seg_end > w.pos && w.next_hdr == w.seg_end);
            }
            UC_INT_EQ(fota_img_walk_finish(&w, NULL), rc ? rc : FOTA_ERR_TRUNCATED);
        }
}

/* The last segment fits below a limit near 2^32 but its padding, checksum
 * byte and hash do not: refused as soon as the last header is read, and
 * total never wraps. */
static void uc_img_tail_past_limit(void)
{
    uint8_t img[64];
    uint8_t hash;
    uint32_t room;
    for (hash = 0; hash <= 1; hash++)
        for (room = 0; room <= 48; room++) {
            struct fota_img_walk w;
            const uint32_t limit = 0xFFFFFFFFu;
            uint32_t start = FOTA_IMG_HEADER_LEN + FOTA_IMG_SEG_HEADER_LEN;
            uint32_t dlen = limit - start - room; /* segs_end = limit - room */
            uint32_t segs_end = start + dlen;
            uint32_t need = 16u - (segs_end & 15u) + (hash ? 32u : 0u);
            uint32_t n = uc_put_head(img, 1, hash);
            int rc;
            n += uc_put_seg_hdr(img + n, 0x3F400020u, dlen);
            fota_img_walk_init(&w, limit);
            rc = uc_feed_bytes(&w, img, n);
            if (need > room) {
                UC_INT_EQ(rc, FOTA_ERR_SLOT_SIZE);
            } else {
                UC_INT_EQ(rc, FOTA_OK);
                UC_INT_EQ(w.total, segs_end + need);
                UC_TRUE(w.total >= segs_end); /* no wrap */
            }
        }
}

/* A small image built here (no appended hash: one 0x90-byte segment, its
 * data bytes >= 0x80, padding and the XOR checksum byte) is accepted with
 * limit == its size and refused one byte below. */
static void uc_img_small_image(void)
{
    uint8_t img[24 + 8 + 0x90 + 16];
    uint32_t n = uc_put_head(img, 1, 0), i, hoff = 1;
    uint8_t x = 0xEF;
    struct fota_img_walk w;
    n += uc_put_seg_hdr(img + n, 0x3F400020u, 0x90);
    for (i = 0; i < 0x90; i++, n++) {
        img[n] = (uint8_t)(0x80 + i);
        x ^= img[n];
    }
    while ((n + 1) % 16)
        img[n++] = 0;
    img[n++] = x;
    fota_img_walk_init(&w, n);
    UC_INT_EQ(fota_img_walk_feed(&w, img, n), FOTA_OK);
    UC_INT_EQ(fota_img_walk_finish(&w, &hoff), FOTA_OK);
    UC_INT_EQ(hoff, 0);
    UC_INT_EQ(w.total, n);
    fota_img_walk_init(&w, n - 1);
    UC_INT_EQ(uc_feed_bytes(&w, img, n), FOTA_ERR_SLOT_SIZE);
}

/* ---- the list both runners walk ------------------------------------------------ */

struct uc_group {
    const char *name;
    void (*fn)(void);
};

static const struct uc_group uc_groups[] = {
    {"base64", uc_base64_strict},
    {"json push parser", uc_json_push_parser},
    {"crc32", uc_crc32},
    {"otadata codec and seq rule", uc_otadata_rules},
    {"partition table checks", uc_partition_table_checks},
    {"journal record codec", uc_journal_codec},
    {"fstore across power cuts", uc_fstore_atomic},
    {"printf subset", uc_fmt},
    {"le.h helpers", uc_le_helpers},
    {"byte helpers, bytes >= 0x80", uc_byte_helpers},
    {"version comparison", uc_version_cmp},
    {"image walk: segment length wraps", uc_img_seg_len_wraps},
    {"image walk: tail past limit", uc_img_tail_past_limit},
    {"image walk: small image", uc_img_small_image},
};

#endif
