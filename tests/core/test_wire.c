/*
 * test_wire.c - the v1 chunk answer parser, alone and inside the engine.
 *
 * Alone: every malformed, foreign or oversized answer gets its own error
 * code; valid answers are accepted whatever the field order, whitespace and
 * the way the body is split into pieces.
 * Inside the engine: a refused chunk writes nothing (invariant 1: the flash
 * operation counter does not move, the slot stays erased).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mbedtls/base64.h>
#include "testdev.h"
#include "engine.h"
#include "wire.h"

#define IMG_SIZE 65536u
static uint8_t *img, *img_other;
static struct testdev T;

static int setup_all(void **state)
{
    (void)state;
    fota_posix_log_level = -1;
    img = make_image(IMG_SIZE, "2.0.0", 7, FOTA_CHIP_ESP32);
    img_other = make_image(IMG_SIZE, "3.0.0", 8, FOTA_CHIP_ESP32);
    return 0;
}

/* A device that has begun installing img; returns with the offer taken. */
static void start(void)
{
    uint8_t *a = make_image(40960, "1.0.0", 3, FOTA_CHIP_ESP32);
    struct fota_offer o;
    assert_int_equal(td_provision(&T, NULL, a, 40960, FOTA_CHIP_ESP32), FOTA_OK);
    free(a);
    td_offer(&T, img, IMG_SIZE);
    assert_int_equal(td_power_on(&T, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&T.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_begin(&T.d.fota, &o), FOTA_OK);
}

/* Parse body as the answer for chunk n, split into pieces of `piece`. */
static int parse(const char *body, size_t len, uint32_t n, size_t piece)
{
    struct fota *f = &T.d.fota;
    uint32_t expect = IMG_SIZE - n * 1024 < 1024 ? IMG_SIZE - n * 1024 : 1024;
    size_t off = 0;
    int rc = FOTA_OK;
    fota_chunk_begin(&f->p.chunk, expect);
    while (rc == FOTA_OK && off < len) {
        size_t k = len - off < piece ? len - off : piece;
        rc = fota_chunk_body(f, (const uint8_t *)body + off, (uint32_t)k);
        off += k;
    }
    if (!rc)
        rc = fota_chunk_end(f);
    /* parsed; then the engine's check before a write, as for chunk n */
    f->next_chunk = n;
    return rc ? rc : fota_chunk_check(f, f->p.chunk.number, f->p.chunk.data_len, f->p.chunk.hmac);
}

static int parse_s(const char *body, uint32_t n)
{
    int r1 = parse(body, strlen(body), n, 1 << 20), r7 = parse(body, strlen(body), n, 7),
        r1b = parse(body, strlen(body), n, 1);
    /* the result never depends on how the body was split */
    assert_int_equal(r1, r7);
    assert_int_equal(r1, r1b);
    return r1;
}

/* Build an answer from parts: data base64 of img[n], hmac computed over
 * (sha, idx_in_hmac, data). */
static char body[8192];
static const char *make(const char *fmt_order, uint32_t n_field, const uint8_t *image,
                        uint32_t n_data, uint32_t data_len)
{
    unsigned char b64[2048];
    size_t blen;
    uint8_t msg[FOTA_CHUNK_MAC_PREFIX_LEN + 1024], mac[32], sha[32];
    char mhex[65];
    int i;
    fota_posix_sha256(image, IMG_SIZE, sha);
    fota_chunk_mac_prefix(msg, sha, n_data);
    memcpy(msg + FOTA_CHUNK_MAC_PREFIX_LEN, image + n_data * 1024, data_len);
    fota_posix_hmac(T.key, 32, msg, FOTA_CHUNK_MAC_PREFIX_LEN + data_len, mac);
    for (i = 0; i < 32; i++)
        sprintf(mhex + 2 * i, "%02x", mac[i]);
    mbedtls_base64_encode(b64, sizeof b64, &blen, image + n_data * 1024, data_len);
    b64[blen] = 0;
    if (!strcmp(fmt_order, "ndh"))
        snprintf(body, sizeof body, "{\"chunk_number\": %u, \"data\": \"%s\", \"hmac\": \"%s\"}", n_field, b64, mhex);
    else if (!strcmp(fmt_order, "hdn"))
        snprintf(body, sizeof body, " {\n \"hmac\":\"%s\" ,\"data\" : \"%s\",\t\"chunk_number\":%u }\n", mhex, b64, n_field);
    else if (!strcmp(fmt_order, "extra"))
        snprintf(body, sizeof body, "{\"chunk_number\": %u, \"data\": \"%s\", \"hmac\": \"%s\", \"x\": 1}", n_field, b64, mhex);
    else if (!strcmp(fmt_order, "dup"))
        snprintf(body, sizeof body, "{\"chunk_number\": %u, \"data\": \"%s\", \"hmac\": \"%s\", \"hmac\": \"%s\"}", n_field, b64, mhex, mhex);
    else if (!strcmp(fmt_order, "nohmac"))
        snprintf(body, sizeof body, "{\"chunk_number\": %u, \"data\": \"%s\"}", n_field, b64);
    else if (!strcmp(fmt_order, "strnum"))
        snprintf(body, sizeof body, "{\"chunk_number\": \"%u\", \"data\": \"%s\", \"hmac\": \"%s\"}", n_field, b64, mhex);
    else if (!strcmp(fmt_order, "slash")) { /* JSON may escape '/' as "\/" */
        char esc[4096];
        size_t k = 0;
        for (i = 0; b64[i]; i++) {
            if (b64[i] == '/')
                esc[k++] = '\\';
            esc[k++] = (char)b64[i];
        }
        esc[k] = 0;
        snprintf(body, sizeof body, "{\"chunk_number\": %u, \"data\": \"%s\", \"hmac\": \"%s\"}", n_field, esc, mhex);
    }
    return body;
}

/* The wire rules of include/fota/wire.h against values written down by hand
 * (the HMAC computed once with Python's hmac module), so a change to the one
 * definition that server, simulator and device share cannot go unseen. */
static void test_wire_rules_known_answers(void **state)
{
    static const uint8_t key[32] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
    static const uint8_t data[3] = {0xA5, 0x00, 0xFF};
    uint8_t sha[32], msg[FOTA_CHUNK_MAC_PREFIX_LEN + 3], mac[32], hdr[8];
    char hexmac[65];
    int i;
    (void)state;
    for (i = 0; i < 32; i++)
        sha[i] = (uint8_t)i;
    fota_chunk_mac_prefix(msg, sha, 0x01020380u);
    assert_memory_equal(msg, sha, 32);
    assert_memory_equal(msg + 32, "\x01\x02\x03\x80", 4);
    memcpy(msg + FOTA_CHUNK_MAC_PREFIX_LEN, data, 3);
    fota_posix_hmac(key, 32, msg, sizeof msg, mac);
    for (i = 0; i < 32; i++)
        sprintf(hexmac + 2 * i, "%02x", mac[i]);
    assert_string_equal(hexmac, "bd732ad7cdec72e5461919a25b3619ecb9ac594cbe839f460aa47f87830b9129");

    fota_v2_put_stream_header(hdr, 1024);
    assert_memory_equal(hdr, "FOT2\x00\x00\x04\x00", 8);
    fota_v2_put_frame_header(hdr, 0x00010203u, 0x0400);
    assert_memory_equal(hdr, "\x00\x01\x02\x03\x04\x00", 6);

    /* chunk sizes a device takes: 512..1024 dividing the 4096-byte sector */
    assert_true(fota_chunk_size_ok(512) && fota_chunk_size_ok(1024));
    assert_false(fota_chunk_size_ok(16) || fota_chunk_size_ok(256) || fota_chunk_size_ok(768) ||
                 fota_chunk_size_ok(2048) || fota_chunk_size_ok(4096) || fota_chunk_size_ok(0));
}

static void test_valid_any_order_and_split(void **state)
{
    (void)state;
    start();
    assert_int_equal(parse_s(make("ndh", 3, img, 3, 1024), 3), FOTA_OK);
    assert_memory_equal(T.d.fota.buf, img + 3 * 1024, 1024);
    assert_int_equal(parse_s(make("hdn", 5, img, 5, 1024), 5), FOTA_OK);
    assert_memory_equal(T.d.fota.buf, img + 5 * 1024, 1024);
    assert_int_equal(parse_s(make("slash", 9, img, 9, 1024), 9), FOTA_OK);
    assert_memory_equal(T.d.fota.buf, img + 9 * 1024, 1024);
    td_free(&T);
}

static void test_each_defect_has_its_code(void **state)
{
    char *p;
    (void)state;
    start();
    /* wrong HMAC: one hex digit changed */
    make("ndh", 3, img, 3, 1024);
    p = strstr(body, "\"hmac\": \"") + 9;
    *p = *p == '0' ? '1' : '0';
    assert_int_equal(parse_s(body, 3), FOTA_ERR_HMAC);
    /* a chunk of another image (its own valid HMAC for that image) */
    assert_int_equal(parse_s(make("ndh", 3, img_other, 3, 1024), 3), FOTA_ERR_HMAC);
    /* a chunk of another index, honestly labelled */
    assert_int_equal(parse_s(make("ndh", 4, img, 4, 1024), 3), FOTA_ERR_CHUNK_INDEX);
    /* another index's data relabelled as the one asked for */
    assert_int_equal(parse_s(make("ndh", 3, img, 4, 1024), 3), FOTA_ERR_HMAC);
    /* bad base64: a character outside the alphabet */
    make("ndh", 3, img, 3, 1024);
    p = strstr(body, "\"data\": \"") + 20;
    *p = '*';
    assert_int_equal(parse_s(body, 3), FOTA_ERR_BASE64);
    /* bad base64: padding in the middle */
    make("ndh", 3, img, 3, 1024);
    p = strstr(body, "\"data\": \"") + 12;
    *p = '=';
    assert_int_equal(parse_s(body, 3), FOTA_ERR_BASE64);
    /* data of the wrong length (short) */
    assert_int_equal(parse_s(make("ndh", 3, img, 3, 1023), 3), FOTA_ERR_CHUNK_LEN);
    /* truncated body */
    make("ndh", 3, img, 3, 1024);
    assert_int_equal(parse(body, strlen(body) - 40, 3, 100), FOTA_ERR_TRUNCATED);
    assert_int_equal(parse(body, strlen(body) / 2, 3, 100), FOTA_ERR_TRUNCATED);
    /* oversized body: whitespace past the limit */
    {
        static char big[FOTA_CHUNK_BODY_MAX + 2048];
        make("ndh", 3, img, 3, 1024);
        memset(big, ' ', sizeof big);
        memcpy(big + sizeof big - strlen(body) - 1, body, strlen(body));
        big[sizeof big - 1] = 0;
        assert_int_equal(parse(big, strlen(big), 3, 512), FOTA_ERR_TOO_LARGE);
    }
    /* oversized data: more decoded bytes than the chunk holds */
    {
        static char big[4096];
        unsigned char b64[2048];
        size_t blen;
        mbedtls_base64_encode(b64, sizeof b64, &blen, img, 1100);
        b64[blen] = 0;
        snprintf(big, sizeof big, "{\"chunk_number\": 0, \"data\": \"%s\", \"hmac\": \"%064d\"}", b64, 0);
        assert_int_equal(parse_s(big, 0), FOTA_ERR_CHUNK_LEN);
    }
    /* extra field, duplicate field, missing field, wrong type */
    assert_int_equal(parse_s(make("extra", 3, img, 3, 1024), 3), FOTA_ERR_FIELD_UNKNOWN);
    assert_int_equal(parse_s(make("dup", 3, img, 3, 1024), 3), FOTA_ERR_FIELD_DUP);
    assert_int_equal(parse_s(make("nohmac", 3, img, 3, 1024), 3), FOTA_ERR_FIELD_MISSING);
    assert_int_equal(parse_s(make("strnum", 3, img, 3, 1024), 3), FOTA_ERR_FIELD_TYPE);
    /* not JSON at all, and trailing garbage */
    assert_int_equal(parse_s("<html>503</html>", 3), FOTA_ERR_JSON);
    make("ndh", 3, img, 3, 1024);
    strcat(body, "x");
    assert_int_equal(parse_s(body, 3), FOTA_ERR_JSON);
    assert_int_equal(parse_s("{\"chunk_number\": -3}", 3), FOTA_ERR_FIELD_TYPE);
    assert_int_equal(parse_s("{\"chunk_number\": 03}", 3), FOTA_ERR_JSON);
    assert_int_equal(parse_s("{\"chunk_number\": 99999999999}", 3), FOTA_ERR_FIELD_TYPE);
    td_free(&T);
}

/* Through the engine: the source answers with a defect; the step fails with
 * the defect's code and not one flash operation happens (invariant 1). */
struct defect { const char *name; int expect; };
static const struct defect *cur;

static void mutate(void *arg, long chunk, char *b, size_t *len, size_t cap, int *status)
{
    char *p;
    (void)arg, (void)cap;
    if (chunk != 0)
        return;
    if (!strcmp(cur->name, "hmac")) {
        p = strstr(b, "\"hmac\": \"") + 9;
        *p = *p == 'a' ? 'b' : 'a';
    } else if (!strcmp(cur->name, "index")) {
        p = strstr(b, "\"chunk_number\": 0");
        p[16] = '1';
    } else if (!strcmp(cur->name, "base64")) {
        p = strstr(b, "\"data\": \"") + 30;
        *p = '!';
    } else if (!strcmp(cur->name, "truncated")) {
        *len /= 2;
    } else if (!strcmp(cur->name, "flip")) { /* one bit flipped in the data */
        p = strstr(b, "\"data\": \"") + 100;
        *p = *p == 'A' ? 'B' : 'A';
    } else if (!strcmp(cur->name, "extra")) {
        memmove(b + 1, b, *len);
        memcpy(b, "{\"evil\": 1,", 11);
        b[11] = ' ';
        *len += 1;
    } else if (!strcmp(cur->name, "500")) {
        *status = 500;
    } else if (!strcmp(cur->name, "reset")) {
        *status = 0;
    }
}

static void test_refused_chunks_write_nothing(void **state)
{
    static const struct defect defects[] = {
        {"hmac", FOTA_ERR_HMAC},       {"index", FOTA_ERR_CHUNK_INDEX},
        {"base64", FOTA_ERR_BASE64},   {"truncated", FOTA_ERR_TRUNCATED},
        {"flip", FOTA_ERR_HMAC},       {"extra", FOTA_ERR_FIELD_UNKNOWN},
        {"500", FOTA_ERR_HTTP_RETRY},  {"reset", FOTA_ERR_NET},
    };
    unsigned i;
    uint64_t ops;
    (void)state;
    for (i = 0; i < sizeof defects / sizeof defects[0]; i++) {
        cur = &defects[i];
        start();
        T.src.mutate = mutate;
        ops = T.fl.ops;
        assert_int_equal(fota_step(&T.d.fota), cur->expect);
        assert_int_equal(T.fl.ops, ops);
        assert_true(all_ff(T.mem + OTA1, SLOT));
        /* and the next, clean answer goes through */
        T.src.mutate = NULL;
        assert_int_equal(fota_step(&T.d.fota), FOTA_OK);
        assert_memory_equal(T.mem + OTA1, img, 1024);
        td_free(&T);
    }
}

/* A defect on every attempt: fota_run retries with backoff, then gives up
 * with FOTA_ERR_RETRIES, and the slot stays erased. */
static void test_retries_bounded(void **state)
{
    static const struct defect d = {"hmac", FOTA_ERR_HMAC};
    struct fota_offer o;
    (void)state;
    cur = &d;
    start();
    T.src.mutate = mutate;
    o = T.d.fota.offer;
    T.d.fota.phase = FOTA_PHASE_IDLE;
    assert_int_equal(fota_run(&T.d.fota, &o), FOTA_ERR_RETRIES);
    assert_int_equal(T.src.chunk_requests, 3); /* max_attempts */
    assert_true(all_ff(T.mem + OTA1, SLOT));
    assert_non_null(strstr(T.src.last_status, "retries_exhausted"));
    td_free(&T);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_rules_known_answers),
        cmocka_unit_test(test_valid_any_order_and_split),
        cmocka_unit_test(test_each_defect_has_its_code),
        cmocka_unit_test(test_refused_chunks_write_nothing),
        cmocka_unit_test(test_retries_bounded),
    };
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
