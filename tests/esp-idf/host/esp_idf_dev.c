/*
 * esp_idf_dev.c - one power-on of an emulated ESP32 running libfota's
 * ESP-IDF port, for tests/esp-idf/host_test.sh. The flash is a file mapped
 * by ESP-IDF's own esp_partition Linux emulation; NVS is ESP-IDF's
 * nvs_flash on it; otadata is written by ESP-IDF's esp_ota_ops.c; the
 * transport is the port's esp_http_client code over the libcurl-backed
 * esp_http_client of http_shim.c, talking to a real fota-server. Every run
 * is one boot: the bootloader step of idf_shim.c first, then the command;
 * a reboot is the next run on the same file.
 *
 * usage: esp_idf_dev --flash FILE [options] COMMAND [ARGS]
 *   provision TABLE.bin IMAGE ID KEYHEX  new flash: table, IMAGE in ota_0,
 *                                        identity in NVS namespace "fota"
 *   update        fota_esp_check_and_update (check, settle trial, run)
 *   confirm       fota_esp_confirm
 *   rollback      fota_esp_rollback (ESP-IDF restarts: exit 5)
 *   boot          print the running slot, its otadata state, its SHA-256
 *   floor         print the anti-rollback floor the port's floor store holds
 *   forget-journal  erase the journal only (NVS key, or the journal's sectors)
 *   journal       print the journal record (NVS blob, or fota_fstore on the
 *                 `fota` partition in the partition-journal build)
 *   erase-nvs     nvs_flash_erase(), as applications do at boot on
 *                 ESP_ERR_NVS_NO_FREE_PAGES (journal and NVS floor gone);
 *                 the identity is written back, as an application that
 *                 keeps it elsewhere would pass it
 *   partinfo      for each partition, ESP-IDF's `encrypted` and what the
 *                 port tells the core (fota_esp_part_of); no boot step
 *   trial         the application's loop on a trial boot: rounds of
 *                 fota_esp_check_and_update 10 s apart (vTaskDelay moves the
 *                 clock on, nothing waits) until the trial is settled:
 *                 confirmed (exit 0) or rolled back (ESP-IDF restarts: exit 5)
 * options: --server URL, --protocols v1|v2, --sign-pubkey HEX (128 hex
 *   digits: only releases it signed are installed), --cut-cycles N (cut power at
 *   the N-th esp_partition_fail_after cycle from the start of the command),
 *   --cut-nvs K (tear the K-th write to the nvs partition in half and cut),
 *   --no-rollback-bootloader 1 (the boot step of a bootloader built without
 *   CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), --flash-encryption 1 (the chip's
 *   esp_flash_encryption_enabled() says yes: a fake at the chip boundary;
 *   ESP-IDF's emulation refuses I/O on encrypted partitions, so only
 *   partinfo runs with it),
 *   --reset-reason poweron|brownout|panic|task_wdt|sw (what esp_reset_reason
 *   says ended the previous boot), --free-block N (largest free heap block),
 *   --self-test pass|fail (the application reports its self-test:
 *   settings.app_reports_self_test), --deadline S (trial deadline, seconds).
 *   The anti-rollback build keeps a fake eFuse in FILE.efuse (efuse_fake.c).
 * exit: 0 done, 1 usage/setup, 2 refused or failed, 3 nothing boots,
 *   4 power cut, 5 esp_restart().
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <mbedtls/sha256.h>
#include "esp_partition.h"
#include "esp_private/partition_linux.h"
#include "esp_ota_ops.h"
#include "esp_image_format.h"
#include "esp_timer.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "nvs.h"
#include "nvs_flash.h"
#include "fota_esp.h"
#include "fota/esp_ota.h"
#include "idf_shim.h"
#include "http_shim.h"

static struct fota_esp s_e;
static uint32_t s_first_progress = 1;

static int usage(void)
{
    fprintf(stderr, "usage: esp_idf_dev --flash FILE [--server URL] [--protocols v1|v2] "
                    "[--sign-pubkey HEX] [--cut-cycles N] [--cut-nvs K] [--reset-reason R] [--free-block N] "
                    "[--self-test pass|fail] [--deadline S] "
                    "provision|update|confirm|rollback|boot|journal|trial\n");
    return 1;
}

static int hexbytes(const char *hex, uint8_t *out, size_t n)
{
    size_t i;
    if (strlen(hex) != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = 0;
    if (in < 0 || out < 0)
        rc = -1;
    while (!rc && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -1;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out))
        rc = -1;
    return rc;
}

/* Provisioning failed after the emulation made its temporary flash file:
 * remove it (it would stay in /tmp otherwise). */
static int provision_fail(const char *msg)
{
    fprintf(stderr, "provision: %s\n", msg);
    esp_partition_get_file_mmap_ctrl_input()->remove_dump = true;
    esp_partition_file_munmap();
    return 1;
}

static int provision(const char *flash, const char *table, const char *image, const char *id,
                     const char *keyhex)
{
    esp_partition_file_mmap_ctrl_t *in = esp_partition_get_file_mmap_ctrl_input();
    const esp_partition_t *ota0;
    uint8_t key[FOTA_KEY_LEN], *img;
    struct stat st;
    nvs_handle_t h;
    char tmpname[sizeof in->flash_file_name];
    size_t off;
    int rc;
    FILE *f;

    if (hexbytes(keyhex, key, sizeof key) || stat(image, &st) || st.st_size <= 0) {
        fprintf(stderr, "provision: bad key or image\n");
        return 1;
    }
    memset(in, 0, sizeof *in);
    strncpy(in->partition_file_name, table, sizeof in->partition_file_name - 1);
    in->flash_file_size = 0x400000;
    ota0 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_0, NULL);
    if (!ota0 || (size_t)st.st_size > ota0->size)
        return provision_fail("no ota_0 in the table, or the image does not fit");
    img = malloc((size_t)st.st_size);
    f = fopen(image, "rb");
    if (!img || !f || fread(img, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        return provision_fail("cannot read the image");
    fclose(f);
    if (esp_partition_erase_range(ota0, 0, ((size_t)st.st_size + 4095) & ~(size_t)4095))
        return provision_fail("erasing ota_0 failed");
    /* 4 KB at a time: ESP-IDF v5.4.4's emulation statistics
     * (esp_partition_stat_time_interpolate) index past their timing table
     * for one operation of 8 KB or more (ASan: global-buffer-overflow) */
    for (off = 0; off < (size_t)st.st_size; off += 4096) {
        size_t n = (size_t)st.st_size - off < 4096 ? (size_t)st.st_size - off : 4096;
        if (esp_partition_write(ota0, off, img + off, n))
            return provision_fail("writing ota_0 failed");
    }
    free(img);
    /* factory provisioning of the identity, as nvs_partition_gen would */
    if (nvs_flash_init() || nvs_open("fota", NVS_READWRITE, &h) || nvs_set_str(h, "id", id) ||
        nvs_set_blob(h, "key", key, sizeof key) || nvs_commit(h))
        return provision_fail("NVS identity failed");
    nvs_close(h);
    nvs_flash_deinit();
    strcpy(tmpname, esp_partition_get_file_mmap_ctrl_act()->flash_file_name);
    esp_partition_file_munmap();
    rc = copy_file(tmpname, flash);
    unlink(tmpname);
    if (rc) {
        fprintf(stderr, "provision: cannot write %s\n", flash);
        return 1;
    }
    printf("provision: %s in ota_0, identity %s in NVS\n", image, id);
    return 0;
}

static void progress(const struct fota_progress *p)
{
    if (s_first_progress && p->phase == FOTA_PHASE_DOWNLOADING) {
        printf("progress: resumed_from=%u of %u\n", (unsigned)p->resumed_from,
               (unsigned)p->bytes_total);
        s_first_progress = 0;
    }
    if (p->phase == FOTA_PHASE_INSTALLED)
        printf("progress: installed, fetched %u bytes in %u chunks this run\n",
               (unsigned)p->bytes_fetched, (unsigned)p->chunks_fetched);
    fflush(stdout);
}

static const char *state_name(const esp_partition_t *p)
{
    esp_ota_img_states_t st;
    if (esp_ota_get_state_partition(p, &st) != ESP_OK)
        return "none";
    return fota_ota_state_name((uint32_t)st);
}

static int print_boot(void)
{
    const esp_partition_t *p = esp_ota_get_running_partition();
    esp_partition_pos_t pos = {p->address, p->size};
    esp_image_metadata_t md;
    mbedtls_sha256_context c;
    uint8_t buf[4096], h[32];
    uint32_t off, n;
    int i;
    if (esp_image_verify(ESP_IMAGE_VERIFY, &pos, &md) != ESP_OK) {
        printf("boot: slot=%s image does not verify\n", p->label);
        return 2;
    }
    mbedtls_sha256_init(&c);
    mbedtls_sha256_starts_ret(&c, 0);
    for (off = 0; off < md.image_len; off += n) {
        n = md.image_len - off < sizeof buf ? md.image_len - off : (uint32_t)sizeof buf;
        esp_partition_read(p, off, buf, n);
        mbedtls_sha256_update_ret(&c, buf, n);
    }
    mbedtls_sha256_finish_ret(&c, h);
    mbedtls_sha256_free(&c);
    printf("boot: slot=%s state=%s version=%s sha256=", p->label, state_name(p),
           esp_app_get_description()->version);
    for (i = 0; i < 32; i++)
        printf("%02x", h[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *flash = NULL, *server = NULL, *cmd;
    long cut = -1, cut_nvs = -1;
    uint32_t protocols = 0;
    static uint8_t pubkey[64];
    int have_pubkey = 0, self_test = -1;
    uint32_t deadline = 0;
    struct fota_esp_settings set;
    esp_partition_file_mmap_ctrl_t *in = esp_partition_get_file_mmap_ctrl_input();
    char why[128];
    int i, rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--flash"))
            flash = argv[i + 1];
        else if (!strcmp(argv[i], "--server"))
            server = argv[i + 1];
        else if (!strcmp(argv[i], "--cut-cycles"))
            cut = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--cut-nvs"))
            cut_nvs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--sign-pubkey")) {
            if (hexbytes(argv[i + 1], pubkey, sizeof pubkey))
                return usage();
            have_pubkey = 1;
        } else if (!strcmp(argv[i], "--reset-reason")) {
            static const struct { const char *name; esp_reset_reason_t r; } rr[] = {
                {"poweron", ESP_RST_POWERON}, {"brownout", ESP_RST_BROWNOUT},
                {"panic", ESP_RST_PANIC}, {"task_wdt", ESP_RST_TASK_WDT}, {"sw", ESP_RST_SW}};
            size_t k;
            for (k = 0; k < sizeof rr / sizeof rr[0] && strcmp(rr[k].name, argv[i + 1]); k++)
                ;
            if (k == sizeof rr / sizeof rr[0])
                return usage();
            shim_set_reset_reason(rr[k].r);
        } else if (!strcmp(argv[i], "--free-block"))
            shim_set_largest_free_block((size_t)atol(argv[i + 1]));
        else if (!strcmp(argv[i], "--self-test"))
            self_test = !strcmp(argv[i + 1], "pass");
        else if (!strcmp(argv[i], "--deadline"))
            deadline = (uint32_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--no-rollback-bootloader"))
            shim_set_no_rollback(atoi(argv[i + 1]));
        else if (!strcmp(argv[i], "--flash-encryption"))
            shim_set_flash_encryption(atoi(argv[i + 1]));
        else if (!strcmp(argv[i], "--protocols"))
            protocols = !strcmp(argv[i + 1], "v1") ? FOTA_PROTO_V1 : FOTA_PROTO_V1 | FOTA_PROTO_V2;
        else
            return usage();
    }
    if (!flash || i >= argc)
        return usage();
    cmd = argv[i++];
    if (!strcmp(cmd, "provision"))
        return argc - i == 4 ? provision(flash, argv[i], argv[i + 1], argv[i + 2], argv[i + 3])
                             : usage();

    /* power on: map the same flash file again, contents kept */
    memset(in, 0, sizeof *in);
    strncpy(in->flash_file_name, flash, sizeof in->flash_file_name - 1);
    shim_efuse_open(flash);
    if (!strcmp(cmd, "partinfo")) {
        /* ESP-IDF's partition.c marks partitions encrypted as it loads the
         * table (app and otadata partitions when flash encryption is on) */
        esp_partition_iterator_t it = esp_partition_find(ESP_PARTITION_TYPE_ANY,
                                                         ESP_PARTITION_SUBTYPE_ANY, NULL);
        for (; it; it = esp_partition_next(it)) {
            const esp_partition_t *ep = esp_partition_get(it);
            struct fota_part fp;
            if (fota_esp_part_of(ep, &fp) != FOTA_OK)
                continue;
            printf("partinfo: %s idf_encrypted=%d core_encrypted=%d\n", ep->label,
                   ep->encrypted ? 1 : 0, fp.encrypted);
        }
        esp_partition_iterator_release(it);
        return 0;
    }
    if (!esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL)) {
        fprintf(stderr, "cannot map %s\n", flash);
        return 1;
    }
    if (shim_power_on(why, sizeof why)) {
        printf("boot: %s\n", why);
        return 3;
    }
    if (nvs_flash_init() != ESP_OK) {
        printf("nvs_flash_init failed\n");
        return 2;
    }
    if (!strcmp(cmd, "boot"))
        return print_boot();
    if (!strcmp(cmd, "journal")) {
        /* the FOTA_JOURNAL_LEN bytes the port's journal store holds, read the way it reads them */
        uint8_t j[FOTA_JOURNAL_LEN];
        int blank = 1;
#if CONFIG_FOTA_JOURNAL_PARTITION
        struct fota_config c;
        struct fota_part part;
        struct fota_fstore st;
        const esp_partition_t *p = esp_partition_find_first(
            ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, CONFIG_FOTA_JOURNAL_PARTITION_LABEL);
        memset(&c, 0, sizeof c);
        fota_esp_bind_flash(&c);
        if (!p || fota_esp_part_of(p, &part) || fota_fstore_open(&st, &c, &part) ||
            fota_fstore_load(&st, j, sizeof j)) {
            printf("journal: unreadable\n");
            return 2;
        }
#else
        nvs_handle_t h;
        size_t n = sizeof j;
        memset(j, 0xFF, sizeof j);
        if (nvs_open("fota", NVS_READONLY, &h) == ESP_OK) {
            if (nvs_get_blob(h, "journal", j, &n) != ESP_OK || n != sizeof j)
                memset(j, 0xFF, sizeof j);
            nvs_close(h);
        }
#endif
        for (i = 0; i < (int)sizeof j; i++)
            blank &= j[i] == 0xFF;
        if (blank) {
            printf("journal: none\n");
            return 0;
        }
        printf("journal: ");
        for (i = 0; i < (int)sizeof j; i++)
            printf("%02x", j[i]);
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "erase-nvs")) {
        char id[FOTA_ID_MAX + 1];
        uint8_t key[FOTA_KEY_LEN];
        size_t n = sizeof id, kn = sizeof key;
        nvs_handle_t h;
        if (nvs_open("fota", NVS_READONLY, &h) != ESP_OK || nvs_get_str(h, "id", id, &n) != ESP_OK ||
            nvs_get_blob(h, "key", key, &kn) != ESP_OK || kn != sizeof key) {
            printf("erase-nvs: no identity to keep\n");
            return 2;
        }
        nvs_close(h);
        nvs_flash_deinit();
        rc = (int)nvs_flash_erase();
        if (rc == ESP_OK)
            rc = (int)nvs_flash_init();
        if (rc == ESP_OK && (nvs_open("fota", NVS_READWRITE, &h) != ESP_OK ||
                             nvs_set_str(h, "id", id) != ESP_OK ||
                             nvs_set_blob(h, "key", key, sizeof key) != ESP_OK ||
                             nvs_commit(h) != ESP_OK))
            rc = -1;
        printf("erase-nvs: %s\n", rc == ESP_OK ? "done" : "failed");
        return rc == ESP_OK ? 0 : 2;
    }
    if (!strcmp(cmd, "forget-journal")) {
        /* lose the journal (and only it): the floor store must keep the floor */
#if CONFIG_FOTA_JOURNAL_PARTITION
        const esp_partition_t *p = esp_partition_find_first(
            ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, CONFIG_FOTA_JOURNAL_PARTITION_LABEL);
        rc = p ? (int)esp_partition_erase_range(p, 0, 2 * FOTA_SECTOR_SIZE) : -1;
#else
        nvs_handle_t h;
        rc = (int)nvs_open("fota", NVS_READWRITE, &h);
        if (rc == ESP_OK) {
            rc = (int)nvs_erase_key(h, CONFIG_FOTA_NVS_JOURNAL_KEY);
            if (rc == ESP_OK)
                rc = (int)nvs_commit(h);
            nvs_close(h);
        }
#endif
        printf("forget-journal: %s\n", rc == 0 ? "done" : "failed");
        return rc == 0 ? 0 : 2;
    }
    shim_reset_cycles();
    if (cut >= 0)
        shim_arm_cut((size_t)cut);
    if (cut_nvs >= 0)
        shim_arm_nvs_tear((unsigned)cut_nvs);

    memset(&set, 0, sizeof set);
    set.server_url = server ? server : "http://127.0.0.1:1";
    set.protocols = protocols;
    set.progress = progress;
    if (have_pubkey)
        set.sign_pubkey = pubkey;
    set.app_reports_self_test = self_test >= 0;
    set.trial_deadline_s = deadline;
    if (fota_esp_init(&s_e, &set) != ESP_OK) {
        printf("init: failed\n");
        return 2;
    }
    if (!strcmp(cmd, "update")) {
        bool installed = false;
        rc = fota_esp_check_and_update(&s_e, &installed);
        printf("http: requests=%ld connections=%ld\n", shim_http_requests(),
               shim_http_connections());
        if (rc != FOTA_OK) {
            printf("update: failed: %s\n", fota_strerror(rc));
            return 2;
        }
        printf("flash: cycles=%zu\n", shim_cycles());
        {
            size_t n, max, unyielded;
            shim_erase_stats(&n, &max, &unyielded);
            printf("erase: count=%zu max=%zu unyielded=%zu\n", n, max, unyielded);
        }
        printf("update: %s\n", installed ? "installed" : "no update");
        return 0;
    }
    if (!strcmp(cmd, "trial")) {
        bool installed = false;
        int round;
        int64_t t0 = esp_timer_get_time();
        printf("trial: on trial=%d\n", fota_esp_on_trial(&s_e));
        if (self_test >= 0)
            fota_esp_self_test_result(&s_e, self_test == 1);
        for (round = 1; round <= 1000; round++) {
            rc = fota_esp_check_and_update(&s_e, &installed);
            if (!fota_esp_on_trial(&s_e))
                break;
            vTaskDelay(pdMS_TO_TICKS(10000));
        }
        printf("trial: settled after %d rounds, %lld s: %s\n", round,
               (long long)((esp_timer_get_time() - t0) / 1000000),
               fota_esp_on_trial(&s_e) ? "still on trial" : "confirmed");
        return fota_esp_on_trial(&s_e) ? 2 : 0;
    }
    if (!strcmp(cmd, "floor")) {
        uint32_t sv = 0;
        if (!s_e.cfg.floor_load) {
            printf("floor: no store\n");
            return 2;
        }
        rc = s_e.cfg.floor_load(&s_e.cfg, &sv);
        printf("floor: %u (%s)\n", (unsigned)sv, fota_strerror(rc));
        return rc == FOTA_OK ? 0 : 2;
    }
    if (!strcmp(cmd, "confirm")) {
        rc = fota_esp_confirm(&s_e);
        printf("flash: cycles=%zu\n", shim_cycles());
        printf("confirm: %s\n", fota_strerror(rc));
        return rc == FOTA_OK ? 0 : 2;
    }
    if (!strcmp(cmd, "rollback")) {
        rc = fota_esp_rollback(&s_e); /* ESP-IDF restarts: does not return */
        printf("rollback: %s\n", fota_strerror(rc));
        return 2;
    }
    return usage();
}
