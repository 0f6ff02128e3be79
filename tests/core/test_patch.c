/*
 * test_patch.c - the patcher of include/fota/patch.h (src/core/patch.c) and
 * the host encoder (src/sim/patchenc.c): round trips of compressed images
 * and deltas (synthetic and the real images of ../shared/firmware) fed in
 * pieces of every awkward size, a restart from every resume point, and every
 * malformed stream refused before the bad token writes a byte (the io here
 * records each write; a write of a byte the stream did not validly produce
 * fails the test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/patch.h"
#include "patchenc.h"

static const char *fw;

/* ---- RAM io: base, output, and a record of writes ------------------------ */

struct ram {
    const uint8_t *base;
    uint32_t bn;
    uint8_t out[1u << 21];
    uint32_t written; /* output bytes written, in order */
    uint32_t writes;
};

static int r_base(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    assert_true(off <= r->bn && n <= r->bn - off); /* the patcher checked it */
    memcpy(buf, r->base + off, n);
    return FOTA_OK;
}

static int r_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    assert_true(off <= r->written && n <= r->written - off); /* only written bytes */
    memcpy(buf, r->out + off, n);
    return FOTA_OK;
}

static int r_write(void *ctx, uint32_t off, const uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    assert_int_equal(off, r->written); /* in order */
    assert_true(n > 0 && n <= FOTA_PATCH_BUF && off % FOTA_PATCH_BUF == 0);
    assert_true(off + n <= sizeof r->out);
    memcpy(r->out + off, buf, n);
    r->written += n;
    r->writes++;
    return FOTA_OK;
}

static struct ram *ram_new(const uint8_t *base, uint32_t bn)
{
    struct ram *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->base = base;
    r->bn = bn;
    return r;
}

static uint8_t base_sha[32];

static void limits(struct fota_patch_limits *lim, const struct ram *r)
{
    memset(lim, 0, sizeof *lim);
    lim->out_max = sizeof r->out;
    lim->base_max = r->bn;
    if (r->bn) {
        mbedtls_sha256_ret(r->base, r->bn - 32, base_sha, 0); /* the base's name */
        lim->base_sha256 = base_sha;
    }
}

/* Feed s[from, n) in pieces of `piece` bytes; returns the final code
 * (FOTA_OK for a complete image and a stream that ended with it). */
static int run(struct fota_patch *p, struct ram *r, const uint8_t *s, uint32_t n, uint32_t piece)
{
    struct fota_patch_io io = {r, r_base, r_read, r_write};
    uint32_t off = 0, used, k;
    int rc = FOTA_OK;
    while (off < n) {
        k = n - off < piece ? n - off : piece;
        rc = fota_patch_feed(p, &io, s + off, k, &used);
        assert_true(used <= k);
        off += used;
        if (rc < 0)
            return rc;
        if (rc == FOTA_OK)
            assert_int_equal(used, k);
    }
    return fota_patch_finish(p);
}

static void roundtrip(const uint8_t *base, uint32_t bn, const uint8_t *img, uint32_t n,
                      size_t *patch_len)
{
    static const uint32_t pieces[] = {1, 7, 48, 1000, 1024, 65536};
    uint8_t *s;
    size_t sn;
    unsigned i;
    assert_int_equal(patchenc_make(base, bn, img, n, &s, &sn), 0);
    for (i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        struct ram *r;
        struct fota_patch p;
        struct fota_patch_limits lim;
        if (n > 300000 && pieces[i] < 48)
            continue; /* byte-at-a-time on the large images: slow, nothing new */
        r = ram_new(base, bn);
        limits(&lim, r);
        fota_patch_start(&p, &lim);
        assert_int_equal(run(&p, r, s, (uint32_t)sn, pieces[i]), FOTA_OK);
        assert_int_equal(r->written, n);
        assert_memory_equal(r->out, img, n);
        free(r);
    }
    if (patch_len)
        *patch_len = sn;
    free(s);
}

/* ---- synthetic images --------------------------------------------------- */

static uint32_t rnd_state = 1;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* "Code": words from a small vocabulary with address-like fields, text,
 * and 0xFF padding. */
static void synth(uint8_t *b, uint32_t n, uint32_t seed)
{
    uint32_t i = 0;
    rnd_state = seed;
    while (i < n) {
        uint32_t kind = rnd() % 10, k;
        if (kind < 6) {
            uint32_t w = (rnd() % 64) * 0x01010101u ^ 0x40080000u;
            for (k = 0; k < 4 && i < n; k++)
                b[i++] = (uint8_t)(w >> (8 * k));
        } else if (kind < 8) {
            const char *t = "esp_app_desc hello world fota ";
            for (k = rnd() % 20; *t && i < n; t++)
                b[i++] = (uint8_t)(*t + (k == 0));
        } else if (kind == 8) {
            for (k = rnd() % 300; k && i < n; k--)
                b[i++] = 0xFF;
        } else {
            b[i++] = (uint8_t)rnd();
        }
    }
}

/* A new version: a constant changed here and there, a block moved, a block
 * inserted (the code after it shifts). */
static uint32_t evolve(const uint8_t *a, uint32_t n, uint8_t *b)
{
    uint32_t m = 0, i;
    memcpy(b, a, n / 3);
    m = n / 3;
    for (i = 0; i < 1500; i++) /* inserted function */
        b[m++] = (uint8_t)(i * 7);
    memcpy(b + m, a + n / 3, n - n / 3);
    m += n - n / 3;
    for (i = 0; i < 40; i++) /* constants */
        b[(i * 7919u) % m] ^= 0x5A;
    memmove(b + 100, b + m - 5000, 2000); /* a block moved to the front */
    return m;
}

static void test_roundtrip_synthetic(void **state)
{
    uint32_t n = 200000, m;
    uint8_t *a = malloc(n), *b = malloc(n + 4096);
    size_t zn, dn;
    (void)state;
    synth(a, n, 5);
    m = evolve(a, n, b);
    roundtrip(NULL, 0, a, n, &zn);
    roundtrip(a, n, b, m, &dn);
    /* the delta is a small fraction; compression does something */
    assert_true(dn < m / 10);
    assert_true(zn < n);
    /* edge sizes: one byte, a sector, a sector and one */
    roundtrip(NULL, 0, a, 1, NULL);
    roundtrip(NULL, 0, a, FOTA_PATCH_SECTOR, NULL);
    roundtrip(NULL, 0, a, FOTA_PATCH_SECTOR + 1, NULL);
    roundtrip(a, 33, b, 5000, NULL);
    free(a);
    free(b);
}

static uint8_t *load(const char *name, uint32_t *len)
{
    char path[1024];
    FILE *fp;
    long n;
    uint8_t *b;
    snprintf(path, sizeof path, "%s/%s", fw, name);
    fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s (the real images of ../shared/firmware)", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (uint32_t)n;
    return b;
}

static void test_roundtrip_real(void **state)
{
    uint32_t an, bn, sn;
    uint8_t *a = load("esp32-arduino-a.bin", &an), *b = load("esp32-arduino-b.bin", &bn);
    uint8_t *s3 = load("esp32s3-arduino.bin", &sn);
    size_t zn, dn;
    (void)state;
    roundtrip(NULL, 0, a, an, &zn);
    assert_true(zn < an * 85 / 100);
    roundtrip(a, an, b, bn, &dn);
    assert_true(dn < bn); /* unrelated builds: a delta still decodes exactly */
    roundtrip(NULL, 0, s3, sn, NULL);
    free(a);
    free(b);
    free(s3);
}

/* A restart from every resume point of a delta gives the same image. */
static void test_resume_every_point(void **state)
{
    uint32_t n = 60000, m, points = 0, off = 0, used;
    uint8_t *a = malloc(n), *b = malloc(n + 4096), *s;
    size_t sn;
    struct fota_patch p;
    struct fota_patch_limits lim;
    struct fota_patch_point pt;
    struct fota_patch_hdr h;
    struct ram *r;
    int rc;
    (void)state;
    synth(a, n, 9);
    m = evolve(a, n, b);
    assert_int_equal(patchenc_make(a, n, b, m, &s, &sn), 0);
    assert_int_equal(fota_patch_hdr_decode(s, &h), FOTA_OK);
    r = ram_new(a, n);
    limits(&lim, r);
    fota_patch_start(&p, &lim);
    for (;;) {
        struct fota_patch_io io = {r, r_base, r_read, r_write};
        uint32_t k = (uint32_t)sn - off < 333 ? (uint32_t)sn - off : 333;
        rc = fota_patch_feed(&p, &io, s + off, k, &used);
        off += used;
        assert_true(rc >= 0);
        if (rc == FOTA_PATCH_POINT || rc == FOTA_PATCH_DONE) {
            /* a fresh patcher (as after a reboot) from this point */
            struct fota_patch q;
            struct ram *r2 = ram_new(a, n);
            uint8_t enc[FOTA_PATCH_POINT_LEN];
            fota_patch_get_point(&p, &pt);
            assert_int_equal(pt.in_off, off);
            assert_int_equal(pt.out_off, r->written); /* everything is on flash */
            assert_true(pt.out_off % FOTA_PATCH_SECTOR == 0 || pt.out_off == m);
            fota_patch_point_encode(&pt, enc);
            fota_patch_point_decode(enc, &pt);
            memcpy(r2->out, r->out, pt.out_off);
            r2->written = pt.out_off;
            assert_int_equal(fota_patch_resume(&q, &lim, &h, &pt), FOTA_OK);
            assert_int_equal(run(&q, r2, s + pt.in_off, (uint32_t)sn - pt.in_off, 1024), FOTA_OK);
            assert_int_equal(r2->written, m);
            assert_memory_equal(r2->out, b, m);
            free(r2);
            points++;
        }
        if (rc == FOTA_PATCH_DONE)
            break;
    }
    assert_int_equal(off, sn);
    assert_int_equal(points, (m + FOTA_PATCH_SECTOR - 1) / FOTA_PATCH_SECTOR);
    /* a point that is not a sector end, or past the end, is refused */
    pt.out_off = 100;
    assert_int_equal(fota_patch_resume(&p, &lim, &h, &pt), FOTA_ERR_PATCH);
    pt.out_off = m + FOTA_PATCH_SECTOR;
    assert_int_equal(fota_patch_resume(&p, &lim, &h, &pt), FOTA_ERR_PATCH);
    free(r);
    free(s);
    free(a);
    free(b);
}

/* ---- malformed streams ---------------------------------------------------- */

struct sbuf {
    uint8_t b[8192];
    uint32_t n;
};

static void sb(struct sbuf *s, const void *d, uint32_t n)
{
    assert_true(s->n + n <= sizeof s->b);
    memcpy(s->b + s->n, d, n);
    s->n += n;
}

static void sb1(struct sbuf *s, uint8_t v)
{
    sb(s, &v, 1);
}

static const uint8_t base_img[1000] = {1, 2, 3};

static void hdr(struct sbuf *s, uint8_t kind, uint8_t wlog, uint32_t size)
{
    struct fota_patch_hdr h;
    uint8_t b[FOTA_PATCH_HDR_LEN];
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.window_log2 = wlog;
    h.new_size = size;
    if (kind == FOTA_PATCH_KIND_DELTA) {
        h.base_size = sizeof base_img;
        mbedtls_sha256_ret(base_img, sizeof base_img - 32, h.base_sha256, 0);
    }
    fota_patch_hdr_encode(&h, b);
    s->n = 0;
    sb(s, b, sizeof b);
}

/* A valid prefix: P = FOTA_PATCH_BUF (512) literal bytes i & 0xFF (one
 * full staging buffer, so written on its own), after which the bad token
 * comes. */
#define P FOTA_PATCH_BUF
typedef char test_prefix_is_512[(P == 512u) ? 1 : -1];

static void prefix(struct sbuf *s)
{
    uint8_t lit[P];
    unsigned i;
    for (i = 0; i < P; i++)
        lit[i] = (uint8_t)i;
    sb1(s, FOTA_PATCH_T_LIT | FOTA_PATCH_LIT_EXT);
    sb1(s, 0xC2); /* varint 450: 512 - 62 */
    sb1(s, 0x03);
    sb(s, lit, P);
}

/* Run s against a base of base_img: expect rc (from feed or finish) and
 * exactly `written` output bytes, all of them the valid prefix's. */
static void expect_refused(const struct sbuf *s, int want, uint32_t written, const char *what)
{
    struct ram *r = ram_new(base_img, sizeof base_img);
    struct fota_patch p;
    struct fota_patch_limits lim;
    uint32_t i;
    int rc;
    limits(&lim, r);
    lim.out_max = 1u << 20;
    fota_patch_start(&p, &lim);
    rc = run(&p, r, s->b, s->n, 1024);
    if (rc != want || r->written != written)
        fail_msg("%s: rc %d (%s), wanted %d; %u bytes written, wanted %u", what, rc,
                 fota_strerror(rc), want, r->written, written);
    for (i = 0; i < r->written; i++)
        assert_int_equal(r->out[i], (uint8_t)i);
    /* fed byte by byte: the same verdict */
    free(r);
    r = ram_new(base_img, sizeof base_img);
    fota_patch_start(&p, &lim);
    rc = run(&p, r, s->b, s->n, 1);
    if (rc != want || r->written != written)
        fail_msg("%s (byte by byte): rc %d, wanted %d; %u bytes written", what, rc, want,
                 r->written);
    free(r);
}

static void test_malformed_header(void **state)
{
    struct sbuf s;
    (void)state;
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.n = 47;
    expect_refused(&s, FOTA_ERR_TRUNCATED, 0, "truncated header");
    s.n = 0;
    expect_refused(&s, FOTA_ERR_TRUNCATED, 0, "empty stream");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.b[0] = 'X';
    expect_refused(&s, FOTA_ERR_PATCH, 0, "bad magic");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.b[4] = 2;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "unknown version");
    hdr(&s, 3, 12, 100);
    expect_refused(&s, FOTA_ERR_PATCH, 0, "unknown kind");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.b[7] = 1;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "reserved byte set");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 13, 100);
    expect_refused(&s, FOTA_ERR_PATCH, 0, "window larger than this build's");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 7, 100);
    expect_refused(&s, FOTA_ERR_PATCH, 0, "window below 256");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 0);
    expect_refused(&s, FOTA_ERR_PATCH, 0, "empty image");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, (1u << 20) + 1);
    expect_refused(&s, FOTA_ERR_PATCH, 0, "image larger than the slot");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.b[12] = 1;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "compressed image with a base size");
    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 100);
    s.b[20] = 1;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "compressed image with a base hash");
    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 100);
    s.b[16] ^= 1;
    expect_refused(&s, FOTA_ERR_PATCH_BASE, 0, "delta from another base");
    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 100);
    s.b[12] = 0xE9;
    s.b[13] = 0x03; /* 1001 bytes: more than the running slot gives */
    expect_refused(&s, FOTA_ERR_PATCH_BASE, 0, "base larger than the running slot");
    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 100);
    s.b[12] = s.b[13] = 0;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "delta with an empty base");
    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 100);
    s.b[12] = 32;
    s.b[13] = 0;
    expect_refused(&s, FOTA_ERR_PATCH, 0, "delta from a base of only its name's 32 bytes");
}

static void test_malformed_tokens(void **state)
{
    struct sbuf s;
    uint8_t junk[600] = {0};
    (void)state;

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_COPY | 3);
    expect_refused(&s, FOTA_ERR_PATCH, P, "COPY in a compressed image");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | FOTA_PATCH_ADDW);
    expect_refused(&s, FOTA_ERR_PATCH, P, "ADDW in a compressed image");

    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_COPY_REL | 0); /* 1 byte from base 512 + 485 = 997 */
    sb1(&s, ((485 * 2) & 0x7F) | 0x80);
    sb1(&s, (485 * 2) >> 7);
    sb1(&s, FOTA_PATCH_T_LIT | FOTA_PATCH_ADDW); /* its word at 998: 2 bytes short */
    expect_refused(&s, FOTA_ERR_PATCH, P, "ADDW beyond the base image");

    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | FOTA_PATCH_ADDW_NEW);
    sb(&s, "\x80\x80\x80\x80\x10", 5);
    expect_refused(&s, FOTA_ERR_PATCH, P, "ADDW's addend over 32 bits");


    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_COPY_REL | 9); /* 10 bytes from base 512 + 480 = 992 */
    sb1(&s, ((480 * 2) & 0x7F) | 0x80);
    sb1(&s, (480 * 2) >> 7);
    expect_refused(&s, FOTA_ERR_PATCH, P, "COPY beyond the base image");

    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_COPY_REL | 0); /* rel -513: before the base's start */
    sb1(&s, ((513 * 2 - 1) & 0x7F) | 0x80);
    sb1(&s, (513 * 2 - 1) >> 7);
    expect_refused(&s, FOTA_ERR_PATCH, P, "COPY before the base image (offset wraps)");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_MATCH | 0x02); /* dist 0x200 + 1 = 513 > 512 written */
    sb1(&s, 0x00);
    expect_refused(&s, FOTA_ERR_PATCH, P, "MATCH before the image's start");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 9, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 63); /* 100 more literal bytes: 612 made */
    sb1(&s, 38);
    sb(&s, junk, 100);
    sb1(&s, FOTA_PATCH_T_MATCH | 0x02); /* dist 513 > window 512 */
    sb1(&s, 0x00);
    expect_refused(&s, FOTA_ERR_PATCH, P, "MATCH beyond the window");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, P + 44);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 49); /* 50 bytes, 44 left */
    sb(&s, junk, 50);
    expect_refused(&s, FOTA_ERR_PATCH, P, "output past the new size");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_MATCH | 0x70); /* dist 1, 10 + 3580 = 3590 > 3584 left */
    sb1(&s, 0x00);
    sb1(&s, (3580 & 0x7F) | 0x80);
    sb1(&s, 3580 >> 7);
    expect_refused(&s, FOTA_ERR_PATCH, P, "token across a sector end");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 63); /* 64 + 0xFFFFFFFF wraps */
    sb(&s, "\xff\xff\xff\xff\x0f", 5);
    expect_refused(&s, FOTA_ERR_PATCH, P, "literal length overflows 2^32");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_MATCH | 0x70);
    sb1(&s, 0x00);
    sb(&s, "\xf6\xff\xff\xff\x0f", 5); /* 10 + 0xFFFFFFF6 = 2^32 */
    expect_refused(&s, FOTA_ERR_PATCH, P, "match length reaches 2^32");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 63);
    sb(&s, "\x80\x80\x80\x80\x10", 5); /* 5th byte with more than 4 bits */
    expect_refused(&s, FOTA_ERR_PATCH, P, "varint over 32 bits");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 63);
    sb(&s, "\x80\x80\x80\x80\x80\x01", 6); /* 6 bytes */
    expect_refused(&s, FOTA_ERR_PATCH, P, "varint of 6 bytes");

    hdr(&s, FOTA_PATCH_KIND_DELTA, 12, 9000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_COPY | FOTA_PATCH_COPY_EXT); /* 32 + 0xFFFFFFF0 */
    sb(&s, "\xf0\xff\xff\xff\x0f", 5);
    expect_refused(&s, FOTA_ERR_PATCH, P, "copy length overflows 2^32");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, P);
    prefix(&s);
    sb1(&s, 0x00);
    expect_refused(&s, FOTA_ERR_PATCH, P, "bytes after the end");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 2000);
    prefix(&s);
    sb1(&s, FOTA_PATCH_T_LIT | 9);
    sb(&s, junk, 5);
    expect_refused(&s, FOTA_ERR_TRUNCATED, P, "stream ends inside a literal");

    hdr(&s, FOTA_PATCH_KIND_COMPRESSED, 12, 2000);
    prefix(&s);
    expect_refused(&s, FOTA_ERR_TRUNCATED, P, "stream ends before the image does");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_synthetic),
        cmocka_unit_test(test_roundtrip_real),
        cmocka_unit_test(test_resume_every_point),
        cmocka_unit_test(test_malformed_header),
        cmocka_unit_test(test_malformed_tokens),
    };
    fw = argc > 1 ? argv[1] : "../shared/firmware";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
