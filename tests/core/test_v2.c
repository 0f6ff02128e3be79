/*
 * test_v2.c - protocol v2 (one stream of HMAC'd binary frames) and the
 * flash-aware writer, on the simulated device with the real images.
 * Invariant 1: a frame that fails writes nothing; invariant 3: a broken
 * stream or a power cut resumes from the last committed chunk with one new
 * request; v1 stays the fallback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"

static const char *fw;
static uint8_t *img_a, *img_b;
static uint32_t len_a, len_b;

static int setup_all(void **state)
{
    (void)state;
    fota_posix_log_level = -1;
    img_a = load_file(fw, "esp32-arduino-a.bin", &len_a);
    img_b = load_file(fw, "esp32-arduino-b.bin", &len_b);
    return 0;
}

static void start(struct testdev *t, int v2, struct fota_offer *o)
{
    assert_int_equal(td_provision(t, NULL, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    td_offer(t, img_b, len_b);
    t->src.v2 = v2;
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t->d.fota, "1.0.0", o), FOTA_OK);
}

static void test_v2_update_one_request(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    start(&t, 1, &o);
    assert_true(o.protocols & FOTA_PROTO_V2);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_int_equal(t.src.stream_requests, 1);
    assert_int_equal(t.src.chunk_requests, 0);
    assert_memory_equal(t.mem + OTA1, img_b, len_b);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    td_free(&t);
}

static void test_v1_fallback(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    /* the offer says v2 but the server has no stream path: v1 takes over */
    start(&t, 1, &o);
    t.src.v2 = 0;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_int_equal(t.src.chunk_requests, (len_b + 1023) / 1024);
    assert_memory_equal(t.mem + OTA1, img_b, len_b);
    td_free(&t);
    /* a device limited to v1 never streams */
    start(&t, 1, &o);
    t.d.cfg.protocols = FOTA_PROTO_V1;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_int_equal(t.src.stream_requests, 0);
    td_free(&t);
}

/* faults in the stream: a flipped data byte in frame 300, a wrong HMAC in
 * frame 500, a reset at frame 700: each stops the stream before that frame
 * is written; the next request starts at that very frame. */
static uint8_t *watch_mem;
static void fault(void *arg, long n, char *b, size_t *len, size_t cap, int *status)
{
    static int done[3];
    (void)arg, (void)cap;
    if (n == 0)
        done[0] = done[1] = done[2] = 0;
    if (n == 300 && !done[0]++) {
        b[6 + 17] ^= 0x10;
        assert_true(all_ff(watch_mem + OTA1 + 300 * 1024, 1024));
    } else if (n == 500 && !done[1]++) {
        b[*len - 1] ^= 1;
    } else if (n == 700 && !done[2]++) {
        *status = 0;
    }
}

static void test_v2_faults_resume_in_place(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_progress p;
    (void)state;
    start(&t, 1, &o);
    watch_mem = t.mem;
    t.src.mutate = fault;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    fota_get_progress(&t.d.fota, &p);
    assert_int_equal(t.src.stream_requests, 4);
    assert_int_equal(p.retries, 3);
    /* nothing fetched twice: every retry starts at the frame that failed */
    assert_int_equal(t.src.chunk_bytes, len_b + 3 * 1024);
    assert_memory_equal(t.mem + OTA1, img_b, len_b);
    td_free(&t);
}

static void test_v2_power_cut_resume(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_progress p;
    uint64_t before;
    (void)state;
    start(&t, 1, &o);
    t.fl.cut_after = t.fl.ops + 300;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_POWER_LOST);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    before = t.src.chunk_bytes;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    fota_get_progress(&t.d.fota, &p);
    assert_true(p.resumed_from > 0 && p.resumed_from % 4096 == 0);
    assert_int_equal(t.src.chunk_bytes - before, len_b - p.resumed_from);
    assert_memory_equal(t.mem + OTA1, img_b, len_b);
    td_free(&t);
}

/* The writer erases 64 KB blocks where it can and skips 0xFF pages: far
 * fewer erases than sectors, and never a page of 0xFF programmed. */
static int ff_programmed;
static void on_prog(void *arg, uint32_t addr, const uint8_t *d, uint32_t n)
{
    uint32_t i, k;
    (void)arg;
    if (addr < OTA1 || addr >= OTA1 + SLOT)
        return;
    for (i = 0; i < n; i += k) {
        k = 256 - (addr + i) % 256;
        k = k < n - i ? k : n - i;
        if (all_ff(d + i, k))
            ff_programmed++;
    }
}

static void test_flash_aware_writer(void **state)
{
    struct testdev t;
    struct fota_offer o;
    uint8_t *img = make_image(1068032, "2.0.0", 9, FOTA_CHIP_ESP32);
    uint64_t erases;
    (void)state;
    /* an image with a 70 KB run of 0xFF inside its largest segment, its
     * checksum and appended SHA-256 fixed up so it stays valid */
    {
        uint32_t pos = 24, best = 0, best_len = 0, i, hole;
        uint8_t x = 0;
        for (i = 0; i < img[1]; i++) {
            uint32_t dl = img[pos + 4] | img[pos + 5] << 8 | img[pos + 6] << 16 |
                          (uint32_t)img[pos + 7] << 24;
            if (dl > best_len)
                best = pos + 8, best_len = dl;
            pos += 8 + dl;
        }
        assert_true(best_len > 80000);
        hole = best + (best_len - 70000) / 2;
        for (i = 0; i < 70000; i++)
            x ^= img[hole + i] ^ 0xFF;
        memset(img + hole, 0xFF, 70000);
        img[1068032 - 33] ^= x;
        fota_posix_sha256(img, 1068032 - 32, img + 1068032 - 32);
    }
    assert_int_equal(td_provision(&t, NULL, img_a, len_a, FOTA_CHIP_ESP32), FOTA_OK);
    v1_source_init(&t.src, img, 1068032, 1, "2.0.0", "test-dev", t.key);
    t.src.v2 = 1;
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    /* fill ota_1 with old bytes so a missed erase would show */
    memset(t.mem + OTA1, 0x00, SLOT);
    t.fl.on_program = on_prog;
    ff_programmed = 0;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    erases = t.fl.erases;
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_memory_equal(t.mem + OTA1, img, 1068032);
    assert_int_equal(ff_programmed, 0);
    /* 1068032 bytes: 16 block erases + 4 sector erases for the tail, plus
     * the journal's own sector erases */
    assert_true(t.fl.erases - erases <= 16 + 4 + 8);
    td_free(&t);
    free(img);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_update_one_request),
        cmocka_unit_test(test_v1_fallback),
        cmocka_unit_test(test_v2_faults_resume_in_place),
        cmocka_unit_test(test_v2_power_cut_resume),
        cmocka_unit_test(test_flash_aware_writer),
    };
    fw = argc > 1 ? argv[1] : "../shared/firmware";
    return cmocka_run_group_tests(tests, setup_all, NULL);
}
