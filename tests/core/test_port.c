/*
 * test_port.c - the port contract v2 (include/fota/fota.h), through the
 * simulator's port (src/sim/device.c): flash by partition with the
 * partition-table offset the platform gives, boot control only through the
 * boot_* callbacks (switch, confirm, state, rollback, and a platform that
 * refuses the switch), the encrypted-partition mode, and the journal in a
 * partition of its own, never in nvs. Only the port boundary is simulated
 * (NOR model, v1 source); core, crypto and bootloader rules are the real
 * ones. Each test says which broken build it catches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdev.h"

#define LEN 40960u
#define NVS_OFF 0x9000u
#define NVS_LEN 0x5000u
#define OTADATA 0xE000u
#define JOURNAL 0x3EC000u

static uint8_t *img_a, *img_b;

static int setup_all(void **state)
{
    (void)state;
    fota_posix_log_level = -1;
    img_a = make_image(LEN, "1.0.0", 1, FOTA_CHIP_ESP32);
    img_b = make_image(LEN, "2.0.0", 2, FOTA_CHIP_ESP32);
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    free(img_a);
    free(img_b);
    return 0;
}

/* Provision with plat (kept for every later power-on) and offer b. */
static int provision(struct testdev *t, const struct sim_platform *plat, const char *csv,
                     const uint8_t *a, const uint8_t *b, uint32_t len)
{
    char err[256];
    int rc;
    memset(t, 0, sizeof *t);
    t->mem = malloc(FLASH_4MB);
    memset(t->mem, 0xFF, FLASH_4MB);
    nor_open_mem(&t->fl, t->mem, FLASH_4MB);
    memset(t->key, 0x5A, 32);
    rc = sim_provision(&t->fl, plat, csv, a, len, FOTA_CHIP_ESP32, err, sizeof err);
    if (rc)
        fprintf(stderr, "provision: %s\n", err);
    if (plat)
        t->d.plat = *plat;
    td_offer(t, b, len);
    return rc;
}

/* Check, run, reboot into the new image on trial. Returns the bytes
 * programmed by the update run. */
static uint64_t update_and_reboot(struct testdev *t)
{
    struct fota_offer o;
    uint64_t before, bytes;
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 0);
    assert_int_equal(fota_check(&t->d.fota, "1.0.0", &o), FOTA_OK);
    assert_true(o.update);
    before = t->fl.bytes_programmed;
    assert_int_equal(fota_run(&t->d.fota, &o), FOTA_OK);
    bytes = t->fl.bytes_programmed - before;
    assert_int_equal(fota_phase(&t->d.fota), FOTA_PHASE_INSTALLED);
    assert_int_equal(td_power_on(t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t->d.boot.slot, 1);
    assert_int_equal(t->d.boot.ota_state, FOTA_OTA_PENDING_VERIFY);
    return bytes;
}

/* The journal lives in the `fota` partition; the nvs partition, which on a
 * device holds Wi-Fi credentials and PHY calibration, is never written by a
 * whole update and confirm. (Broken build: the port opening its store on
 * nvs, as before issue 10, overwrites the pattern.) */
static void test_journal_in_own_partition_nvs_untouched(void **state)
{
    struct testdev t;
    uint8_t *nvs = malloc(NVS_LEN);
    uint32_t i;
    (void)state;
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    for (i = 0; i < NVS_LEN; i++) /* stands for Wi-Fi credentials */
        nvs[i] = (uint8_t)(i * 7 + 3);
    memcpy(t.mem + NVS_OFF, nvs, NVS_LEN);
    update_and_reboot(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_memory_equal(t.mem + NVS_OFF, nvs, NVS_LEN);
    assert_false(all_ff(t.mem + JOURNAL, 2 * FOTA_SECTOR_SIZE)); /* the journal went here */
    free(nvs);
    td_free(&t);
}

/* Provisioning refuses a table without a journal partition of its own, and
 * a journal named onto nvs or otadata; a spare data partition named
 * explicitly is accepted and used. (Broken build: provisioning that does
 * not look for the partition accepts the old Arduino table.) */
static void test_provision_needs_journal_partition(void **state)
{
    static const char old_arduino[] =
        "nvs,      data, nvs,     0x9000,  0x5000,\n"
        "otadata,  data, ota,     0xe000,  0x2000,\n"
        "app0,     app,  ota_0,   0x10000, 0x140000,\n"
        "app1,     app,  ota_1,   0x150000,0x140000,\n"
        "spiffs,   data, spiffs,  0x290000,0x160000,\n"
        "coredump, data, coredump,0x3F0000,0x10000,\n";
    struct sim_platform nvs = {0, "nvs", 0, 0}, otadata = {0, "otadata", 0, 0};
    struct sim_platform spiffs = {0, "spiffs", 0, 0};
    struct testdev t;
    char err[256];
    (void)state;

    assert_int_equal(provision(&t, NULL, old_arduino, img_a, img_b, LEN), FOTA_ERR_PTABLE);
    assert_int_equal(sim_provision(&t.fl, NULL, old_arduino, img_a, LEN, FOTA_CHIP_ESP32, err,
                                   sizeof err), FOTA_ERR_PTABLE);
    assert_non_null(strstr(err, "'fota'"));
    assert_int_equal(sim_provision(&t.fl, &nvs, NULL, img_a, LEN, FOTA_CHIP_ESP32, err,
                                   sizeof err), FOTA_ERR_PTABLE);
    assert_int_equal(sim_provision(&t.fl, &otadata, NULL, img_a, LEN, FOTA_CHIP_ESP32, err,
                                   sizeof err), FOTA_ERR_PTABLE);
    td_free(&t);

    /* told otherwise: the journal in the (unused) spiffs partition */
    assert_int_equal(provision(&t, &spiffs, old_arduino, img_a, img_b, LEN), FOTA_OK);
    update_and_reboot(&t);
    assert_false(all_ff(t.mem + 0x290000, 2 * FOTA_SECTOR_SIZE));
    assert_true(all_ff(t.mem + NVS_OFF, NVS_LEN));
    td_free(&t);
}

/* The partition table lies where the platform says
 * (CONFIG_PARTITION_TABLE_OFFSET), not at a fixed 0x8000. (Broken build:
 * the port reading the table at 0x8000 fails to power on.) */
static void test_partition_table_offset_from_port(void **state)
{
    static const char csv[] =
        "nvs,      data, nvs,      0xB000,  0x3000,\n"
        "otadata,  data, ota,      0xE000,  0x2000,\n"
        "app0,     app,  ota_0,    0x10000, 0x140000,\n"
        "app1,     app,  ota_1,    0x150000,0x140000,\n"
        "fota,     data, undefined,0x290000,0x2000,\n";
    struct sim_platform at_a000 = {0xA000, NULL, 0, 0};
    struct testdev t;
    (void)state;
    assert_int_equal(provision(&t, &at_a000, csv, img_a, img_b, LEN), FOTA_OK);
    assert_true(all_ff(t.mem + 0x8000, FOTA_SECTOR_SIZE));
    assert_int_equal(t.mem[0xA000], 0xAA); /* the table's first magic byte */
    update_and_reboot(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_memory_equal(t.mem + 0x150000, img_b, LEN);
    /* the same flash with the default offset has no table to boot from */
    memset(&t.d.plat, 0, sizeof t.d.plat);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_ERR_PTABLE);
    td_free(&t);
}

/* Encrypted partitions: erased flash does not decrypt to 0xFF, so the
 * writer programs every page, 0xFF pages included, and the read-back goes
 * through the port's decrypting read; the bootloader (decrypting too) then
 * boots the new image. Raw flash holds ciphertext. (Broken build: the
 * writer skipping 0xFF pages on an encrypted partition fails the read-back
 * with FOTA_ERR_SHA256.) */
static void test_encrypted_partition_writes_every_page(void **state)
{
    struct sim_mkimage_opts ob = {FOTA_CHIP_ESP32, "2.0.0", "testapp", 0, 2, 4};
    struct sim_platform enc = {0, NULL, 1, 0};
    struct testdev t;
    uint8_t *b = malloc(LEN), *dec = malloc(LEN);
    uint32_t i, ff = 0;
    uint64_t bytes_plain, bytes_enc;
    (void)state;
    assert_int_equal(sim_mkimage(b, LEN, &ob), FOTA_OK);
    for (i = 0; i < LEN; i += FOTA_PAGE_SIZE)
        ff += all_ff(b + i, FOTA_PAGE_SIZE);
    assert_true(ff >= 8); /* the image has erased-looking pages to skip */

    /* plain: the 0xFF pages are skipped */
    assert_int_equal(provision(&t, NULL, NULL, img_a, b, LEN), FOTA_OK);
    bytes_plain = update_and_reboot(&t);
    td_free(&t);

    assert_int_equal(provision(&t, &enc, NULL, img_a, b, LEN), FOTA_OK);
    assert_memory_not_equal(t.mem + OTA0, img_a, 256); /* ota_0 provisioned encrypted */
    bytes_enc = update_and_reboot(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(nor_read_dec(&t.fl, 1, OTA1, dec, LEN), FOTA_OK);
    assert_memory_equal(dec, b, LEN);
    assert_memory_not_equal(t.mem + OTA1, b, 256); /* ciphertext on the chip */
    /* every page written: the 0xFF pages' bytes more than without encryption */
    assert_true(bytes_enc >= bytes_plain + (uint64_t)ff * FOTA_PAGE_SIZE);
    free(b);
    free(dec);
    td_free(&t);
}

/* A bootloader built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (issue
 * 11 item 6): the new image boots with its otadata entry still NEW, not on
 * trial. The device notices it at the first boot, reports it once
 * ("installed" with no_rollback_bootloader) and not at the next boots nor
 * at the confirm; the same update with rollback shows none of it. (Broken
 * build: the engine's recovery table treating NEW as a trial reports
 * nothing; a report_untried without the journal bit reports at every
 * boot.) */
static void test_bootloader_without_rollback_reported_once(void **state)
{
    struct sim_platform norb = {0, NULL, 0, 1};
    struct testdev t;
    struct fota_offer o;
    uint32_t posts;
    int i;
    (void)state;
    assert_int_equal(provision(&t, &norb, NULL, img_a, img_b, LEN), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    posts = t.src.status_posts;
    /* first boot of the new image: NEW, noticed and reported */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_NEW);
    assert_true(t.d.fota.untried);
    assert_int_equal(fota_phase(&t.d.fota), FOTA_PHASE_INSTALLED);
    assert_int_equal(t.src.status_posts, posts + 1);
    assert_non_null(strstr(t.src.last_status, "\"installed\""));
    assert_non_null(strstr(t.src.last_status, "\"no_rollback_bootloader\""));
    /* unconfirmed reboots: nothing rolls it back, and no second report */
    for (i = 0; i < 2; i++) {
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(t.d.boot.slot, 1);
        assert_int_equal(t.d.boot.ota_state, FOTA_OTA_NEW);
        assert_true(t.d.fota.untried);
        assert_int_equal(t.src.status_posts, posts + 1);
    }
    /* confirm: VALID, "confirmed" reported, the untried report not again */
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(t.src.status_posts, posts + 2);
    assert_non_null(strstr(t.src.last_status, "\"confirmed\""));
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    assert_false(t.d.fota.untried);
    assert_int_equal(t.src.status_posts, posts + 2);
    td_free(&t);

    /* no network at the first boot (an ESP-IDF device runs fota_esp_init
     * before Wi-Fi is up): the report is not lost, it goes with the
     * confirm, once */
    {
        int (*online_post)(const struct fota_config *, const char *,
                           const struct fota_http_header *, unsigned, const char *, uint32_t,
                           int *);
        assert_int_equal(provision(&t, &norb, NULL, img_a, img_b, LEN), FOTA_OK);
        assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
        assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
        assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
        online_post = t.d.cfg.http_post; /* the in-process source's */
        posts = t.src.status_posts;
        nor_rearm(&t.fl);
        t.d.curl = NULL;
        t.d.src = NULL; /* offline: status posts fail */
        sim_device_setup(&t.d, &t.fl, FOTA_CHIP_ESP32, "test-dev", t.key);
        t.d.no_sleep = 1;
        assert_int_equal(sim_device_power_on(&t.d), FOTA_OK);
        assert_true(t.d.fota.untried);
        assert_int_equal(t.src.status_posts, posts);
        /* the network comes up */
        t.d.src = &t.src;
        t.d.cfg.http_post = online_post;
        assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
        assert_int_equal(t.src.status_posts, posts + 2); /* untried, then confirmed */
        assert_non_null(strstr(t.src.last_status, "\"confirmed\""));
        assert_false(t.d.fota.untried);
        td_free(&t);
    }

    /* the same update with the rollback bootloader: a trial, no such report */
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    update_and_reboot(&t);
    assert_false(t.d.fota.untried);
    assert_null(strstr(t.src.last_status, "no_rollback_bootloader"));
    td_free(&t);
}

/* The platform may refuse the switch (esp_ota_set_boot_partition runs its
 * own image verification and the secure-boot signature check): the update
 * fails with the platform's code, otadata is untouched, the old image keeps
 * booting, and the release is not installed again by itself. (Broken
 * build: an engine that ignores boot_set's result reports installed.) */
static int refuse_set(const struct fota_config *c, const struct fota_part *p)
{
    (void)c, (void)p;
    return FOTA_ERR_SIGNATURE;
}

/* No otadata entry selects ota_1. (The first boot's own entry, seq 1 VALID
 * for ota_0, is the bootloader's, as ESP-IDF's set_actual_ota_seq.) */
static int never_switched(const uint8_t *mem)
{
    struct fota_ota_entry e;
    unsigned i;
    for (i = 0; i < 2; i++) {
        fota_ota_decode(mem + OTADATA + i * FOTA_SECTOR_SIZE, &e);
        if (fota_ota_valid(&e) && fota_ota_slot(e.seq, 2) == 1)
            return 0;
    }
    return 1;
}

static void test_platform_refuses_boot_switch(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    t.d.cfg.boot_set = refuse_set;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_SIGNATURE);
    assert_int_not_equal(fota_phase(&t.d.fota), FOTA_PHASE_INSTALLED);
    assert_true(never_switched(t.mem));
    assert_non_null(strstr(t.src.last_status, "\"failed\""));
    assert_non_null(strstr(t.src.last_status, fota_errname(FOTA_ERR_SIGNATURE)));
    /* next boots: still A, no blind re-switch, and B is not taken again */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_true(never_switched(t.mem));
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_ROLLED_BACK);
    td_free(&t);
}

/* otadata changes only inside the port's boot_* callbacks: the engine
 * switches with boot_set (once, for the update partition) and confirms with
 * boot_confirm. (Broken build: fota_confirm not calling boot_confirm leaves
 * the trial entry PENDING_VERIFY and the next boot rolls back.) */
static struct {
    int in_hook, outside, sets, confirms, set_index;
    int (*set)(const struct fota_config *, const struct fota_part *);
    int (*confirm)(const struct fota_config *);
} H;

static void watch_otadata(void *arg, uint32_t addr, const uint8_t *d, uint32_t len)
{
    (void)arg, (void)d;
    if (addr < OTADATA + 2 * FOTA_SECTOR_SIZE && addr + len > OTADATA && !H.in_hook)
        H.outside++;
}

static int hook_set(const struct fota_config *c, const struct fota_part *p)
{
    int rc;
    H.in_hook = 1, H.sets++, H.set_index = p->index;
    rc = H.set(c, p);
    H.in_hook = 0;
    return rc;
}

static int hook_confirm(const struct fota_config *c)
{
    int rc;
    H.in_hook = 1, H.confirms++;
    rc = H.confirm(c);
    H.in_hook = 0;
    return rc;
}

static void hook(struct testdev *t)
{
    H.set = t->d.cfg.boot_set, H.confirm = t->d.cfg.boot_confirm;
    t->d.cfg.boot_set = hook_set, t->d.cfg.boot_confirm = hook_confirm;
}

static void test_otadata_only_through_boot_hooks(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    memset(&H, 0, sizeof H);
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    hook(&t);
    t.fl.on_program = watch_otadata;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_OK);
    assert_int_equal(H.sets, 1);
    assert_int_equal(H.set_index, 1);
    t.fl.on_program = NULL; /* the bootloader writes otadata (NEW -> PENDING_VERIFY) */
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    t.fl.on_program = watch_otadata;
    hook(&t);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK);
    assert_int_equal(H.confirms, 1);
    assert_int_equal(fota_confirm(&t.d.fota), FOTA_OK); /* already VALID: no call */
    assert_int_equal(H.confirms, 1);
    t.fl.on_program = NULL;
    assert_int_equal(H.outside, 0);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 1);
    assert_int_equal(t.d.boot.ota_state, FOTA_OTA_VALID);
    td_free(&t);
}

/* fota_rollback: the platform marks the trial image INVALID (not left to
 * the bootloader's ABORTED), the next boot runs the previous image, the
 * server hears "rolled_back", and the release is not installed again.
 * (Broken build: a boot_rollback that writes nothing leaves the entry
 * PENDING_VERIFY, which the bootloader then ABORTs: aborted=1, state not
 * INVALID.) */
static void test_rollback_through_platform(void **state)
{
    struct testdev t;
    struct fota_offer o;
    struct fota_ota_entry e[2];
    (void)state;
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    update_and_reboot(&t);
    assert_int_equal(fota_rollback(&t.d.fota), FOTA_OK);
    assert_non_null(strstr(t.src.last_status, "\"rolled_back\""));
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    assert_int_equal(t.d.boot.slot, 0);
    assert_int_equal(t.d.boot.aborted, 0);
    assert_int_equal(sim_boot_read_otadata(&t.fl, &t.d.layout, e), FOTA_OK);
    assert_true(e[0].state == FOTA_OTA_INVALID || e[1].state == FOTA_OTA_INVALID);
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_ROLLED_BACK);
    /* ota_0 runs on its own entry now (seq 1 VALID, written by the
     * bootloader at the first boot, as ESP-IDF's); the other entry is
     * INVALID, so there is nothing to roll back to: refused, as
     * esp_ota_check_rollback_is_possible refuses */
    assert_int_equal(fota_rollback(&t.d.fota), FOTA_ERR_NO_SLOT);
    td_free(&t);
}

/* A partition that always reads back one byte wrong (worn flash, a bad
 * decryption key): every read-back fails, and fota_run must give up after
 * max_attempts downloads instead of downloading forever. (Found when the
 * encrypted test above ran against a writer that skips 0xFF pages: each
 * chunk that arrived reset the attempt count, so the run never ended.) The
 * wrapper counts the downloads and fails the test past a bound. */
static struct {
    int (*read)(const struct fota_config *, const struct fota_part *, uint32_t, void *, uint32_t);
    int head_reads;
} R;

static int bad_read(const struct fota_config *c, const struct fota_part *p, uint32_t off, void *b,
                    uint32_t n)
{
    int rc = R.read(c, p, off, b, n);
    if (!rc && p->index == 1 && off <= 100 && off + n > 100)
        ((uint8_t *)b)[100 - off] ^= 0x01;
    if (p->index == 1 && off == 0 && ++R.head_reads > 40)
        fail_msg("fota_run still reading the slot back after %d passes", R.head_reads);
    return rc;
}

static void test_read_back_that_never_matches_gives_up(void **state)
{
    struct testdev t;
    struct fota_offer o;
    (void)state;
    memset(&R, 0, sizeof R);
    assert_int_equal(provision(&t, NULL, NULL, img_a, img_b, LEN), FOTA_OK);
    assert_int_equal(td_power_on(&t, FOTA_CHIP_ESP32), FOTA_OK);
    R.read = t.d.cfg.part_read;
    t.d.cfg.part_read = bad_read;
    assert_int_equal(fota_check(&t.d.fota, "1.0.0", &o), FOTA_OK);
    assert_int_equal(fota_run(&t.d.fota, &o), FOTA_ERR_RETRIES);
    assert_true(never_switched(t.mem)); /* never switched */
    assert_non_null(strstr(t.src.last_status, "\"failed\""));
    td_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_in_own_partition_nvs_untouched),
        cmocka_unit_test(test_provision_needs_journal_partition),
        cmocka_unit_test(test_partition_table_offset_from_port),
        cmocka_unit_test(test_encrypted_partition_writes_every_page),
        cmocka_unit_test(test_bootloader_without_rollback_reported_once),
        cmocka_unit_test(test_platform_refuses_boot_switch),
        cmocka_unit_test(test_otadata_only_through_boot_hooks),
        cmocka_unit_test(test_rollback_through_platform),
        cmocka_unit_test(test_read_back_that_never_matches_gives_up),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
