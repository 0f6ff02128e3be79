/*
 * lf_device.c - the link-fault campaign's device: the same update as
 * `fota-device update` (bootloader, fota_init, check with retries, fota_run),
 * on a RAM NOR flash, with an observer on every program operation.
 *
 *   lf_device --server URL --id ID --key HEX --running IMG_A --release IMG_B
 *             [--max-attempts N] [--backoff-ms MS] [--timeout-ms MS]
 *             [--expect installed|retries_exhausted] [--flash-out FILE]
 *             [--protocol v1|v2|auto]   (default v1: the campaign's fault model)
 *
 * Checks (exit 1 with "lf_device: FAIL ..." lines when one breaks):
 *  - every program operation that touches ota_1 carries exactly the release
 *    image's bytes at that offset (nor.h's on_program observer, called before
 *    the operation applies);
 *  - after the run, ota_1 holds the release byte for byte where written and
 *    0xFF after it (expect installed: the whole image; expect
 *    retries_exhausted: nothing may be wrong, the tail beyond the committed
 *    point is blank or matches);
 *  - the outcome is the expected one; after "installed", a reboot boots
 *    ota_1 with the release's version.
 * Prints one line: "lf_device: result=... retries=... check_retries=...
 * chunks_fetched=... program_ops_checked=... bad_programs=... ota1=...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "device.h"

#define FLASH_SIZE (4u << 20)

static struct {
    const uint8_t *img;
    uint32_t len, base, slot_size;
    uint64_t checked, bad, other;
    char first_bad[160];
} W;

static void on_program(void *arg, uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint32_t i, lo, hi;
    (void)arg;
    if (addr + len <= W.base || addr >= W.base + W.slot_size) {
        W.other++;
        return;
    }
    W.checked++;
    lo = addr < W.base ? W.base : addr;
    hi = addr + len > W.base + W.slot_size ? W.base + W.slot_size : addr + len;
    for (i = lo; i < hi; i++) {
        uint32_t off = i - W.base;
        if (off >= W.len || data[i - addr] != W.img[off]) {
            if (!W.bad++)
                snprintf(W.first_bad, sizeof W.first_bad,
                         "program at 0x%x len %u: ota_1 offset %u has 0x%02x, release has %s",
                         addr, len, off, data[i - addr], off >= W.len ? "nothing (past the end)"
                                                                      : "another byte");
            return;
        }
    }
}

static uint8_t *slurp(const char *path, uint32_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    uint8_t *b;
    if (!fp || fstat(fileno(fp), &st)) {
        fprintf(stderr, "lf_device: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    b = malloc((size_t)st.st_size + 1);
    if (fread(b, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        fprintf(stderr, "lf_device: cannot read %s\n", path);
        exit(2);
    }
    fclose(fp);
    *len = (uint32_t)st.st_size;
    return b;
}

static int parse_key(const char *hex, uint8_t key[32])
{
    unsigned i, v;
    if (!hex || strlen(hex) != 64)
        return -1;
    for (i = 0; i < 32; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        key[i] = (uint8_t)v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'}, {"id", 1, 0, 'i'}, {"key", 1, 0, 'k'}, {"running", 1, 0, 'a'},
        {"release", 1, 0, 'b'}, {"max-attempts", 1, 0, 'm'}, {"backoff-ms", 1, 0, 'B'},
        {"timeout-ms", 1, 0, 't'}, {"expect", 1, 0, 'e'}, {"flash-out", 1, 0, 'o'},
        {"verbose", 0, 0, 'v'}, {"protocol", 1, 0, 'P'}, {0, 0, 0, 0}};
    const char *server = NULL, *id = NULL, *keyhex = NULL, *pa = NULL, *pb = NULL;
    const char *expect = "installed", *flash_out = NULL;
    uint32_t max_attempts = 8, backoff_ms = 5, timeout_ms = 1000, len_a, len_b;
    static struct sim_device d;
    static struct nor_flash fl;
    static struct fota_curl curl;
    struct fota_layout l;
    struct fota_offer offer;
    struct fota_progress p;
    uint8_t key[32], *img_a, *img_b, *mem;
    char err[256];
    const char *result;
    uint32_t attempt = 0, check_retries = 0, i, written = 0;
    int ch, rc, fails = 0, verbose = 0;
    uint32_t protocols = FOTA_PROTO_V1; /* the campaign's fault model is v1's */

    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's': server = optarg; break;
        case 'i': id = optarg; break;
        case 'k': keyhex = optarg; break;
        case 'a': pa = optarg; break;
        case 'b': pb = optarg; break;
        case 'm': max_attempts = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'B': backoff_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 't': timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'e': expect = optarg; break;
        case 'o': flash_out = optarg; break;
        case 'v': verbose = 1; break;
        case 'P':
            protocols = !strcmp(optarg, "v2") ? FOTA_PROTO_V2
                        : !strcmp(optarg, "auto") ? 0u : FOTA_PROTO_V1;
            break;
        default:
            fprintf(stderr, "usage: lf_device --server URL --id ID --key HEX --running IMG "
                            "--release IMG [--max-attempts N] [--backoff-ms MS] "
                            "[--timeout-ms MS] [--expect installed|retries_exhausted] "
                            "[--flash-out FILE] [--verbose]\n");
            return 2;
        }
    }
    if (!server || !id || parse_key(keyhex, key) || !pa || !pb) {
        fprintf(stderr, "lf_device: --server, --id, --key (64 hex), --running, --release needed\n");
        return 2;
    }
    fota_posix_log_level = verbose ? FOTA_LOG_INFO : FOTA_LOG_WARN;
    img_a = slurp(pa, &len_a);
    img_b = slurp(pb, &len_b);
    mem = malloc(FLASH_SIZE);
    memset(mem, 0xFF, FLASH_SIZE);
    if (nor_open_mem(&fl, mem, FLASH_SIZE) ||
        sim_provision(&fl, NULL, NULL, img_a, len_a, FOTA_CHIP_ESP32, err, sizeof err)) {
        fprintf(stderr, "lf_device: provision: %s\n", err);
        return 2;
    }
    if (sim_read_layout(&fl, NULL, &l) || l.slot_count < 2) {
        fprintf(stderr, "lf_device: no ota_1 in the partition table\n");
        return 2;
    }
    W.img = img_b;
    W.len = len_b;
    W.base = l.slot_offset[1];
    W.slot_size = l.slot_size[1];
    fl.on_program = on_program;

    if (fota_curl_open(&curl, server)) {
        fprintf(stderr, "lf_device: bad --server %s\n", server);
        return 2;
    }
    curl.idle_timeout_ms = timeout_ms;
    curl.connect_timeout_ms = 2000;
    d.curl = &curl;
    sim_device_setup(&d, &fl, FOTA_CHIP_ESP32, id, key);
    d.cfg.max_attempts = max_attempts;
    d.cfg.protocols = protocols;
    d.cfg.backoff_base_ms = backoff_ms;
    rc = sim_device_power_on(&d);
    if (rc || d.boot.slot != 0) {
        fprintf(stderr, "lf_device: power-on: %s (slot %d)\n", fota_errname(rc), d.boot.slot);
        return 2;
    }
    /* check, retried as fota-device does it */
    for (;;) {
        rc = fota_check(&d.fota, d.boot.info.version, &offer);
        if (!rc || !fota_err_retryable(rc) || ++attempt >= max_attempts)
            break;
        check_retries++;
        d.cfg.sleep_ms(&d.cfg, backoff_ms << (attempt < 6 ? attempt - 1 : 5));
    }
    memset(&p, 0, sizeof p);
    if (rc) {
        result = "check_failed";
    } else if (!offer.update) {
        rc = FOTA_ERR_STATE;
        result = "no_update";
    } else {
        rc = fota_run(&d.fota, &offer);
        fota_get_progress(&d.fota, &p);
        result = rc ? fota_errname(rc) : "installed";
    }

    /* ota_1 after the run: written bytes equal the release, the rest blank */
    {
        const uint8_t *s = mem + W.base;
        uint32_t first_diff = UINT32_MAX, first_dirty = UINT32_MAX;
        for (i = 0; i < len_b && s[i] == img_b[i]; i++)
            ;
        written = i;
        for (; i < len_b; i++)
            if (s[i] != 0xFF && s[i] != img_b[i]) {
                first_diff = i;
                break;
            }
        for (i = len_b; i < W.slot_size; i++)
            if (s[i] != 0xFF) {
                first_dirty = i;
                break;
            }
        if (first_diff != UINT32_MAX) {
            printf("lf_device: FAIL ota_1 offset %u holds 0x%02x, release 0x%02x\n", first_diff,
                   s[first_diff], img_b[first_diff]);
            fails++;
        }
        if (first_dirty != UINT32_MAX) {
            printf("lf_device: FAIL ota_1 offset %u past the image (%u bytes) is 0x%02x, not "
                   "0xFF\n", first_dirty, len_b, s[first_dirty]);
            fails++;
        }
    }
    if (W.bad) {
        printf("lf_device: FAIL %llu program ops with wrong bytes; first: %s\n",
               (unsigned long long)W.bad, W.first_bad);
        fails++;
    }
    if (strcmp(result, expect)) {
        printf("lf_device: FAIL outcome %s, expected %s\n", result, expect);
        fails++;
    }
    if (!strcmp(result, "installed") && written != len_b) {
        printf("lf_device: FAIL installed but ota_1 matches only %u of %u bytes\n", written, len_b);
        fails++;
    }
    if (!strcmp(expect, "retries_exhausted") && W.checked) {
        /* every attempt faulted: nothing may have reached ota_1 */
        printf("lf_device: FAIL %llu program ops into ota_1 though every chunk answer was "
               "faulted\n", (unsigned long long)W.checked);
        fails++;
    }
    printf("lf_device: result=%s retries=%u check_retries=%u chunks_fetched=%u bytes_fetched=%u "
           "requests=%llu program_ops_checked=%llu other_program_ops=%llu bad_programs=%llu "
           "ota1_match=%u/%u\n",
           result, p.retries, check_retries, p.chunks_fetched, p.bytes_fetched,
           (unsigned long long)curl.requests, (unsigned long long)W.checked,
           (unsigned long long)W.other, (unsigned long long)W.bad, written, len_b);
    fota_curl_close(&curl);
    d.curl = NULL;

    /* reboot: the bootloader must start the new image on trial */
    if (!strcmp(result, "installed")) {
        struct fota_app_info info;
        fota_img_check_head(img_b, len_b, FOTA_CHIP_ESP32, &info);
        sim_device_setup(&d, &fl, FOTA_CHIP_ESP32, id, key);
        rc = sim_device_power_on(&d);
        if (rc || d.boot.slot != 1 || strcmp(d.boot.info.version, info.version)) {
            printf("lf_device: FAIL reboot: %s, booted slot %d version '%s', expected ota_1 '%s'\n",
                   fota_errname(rc), d.boot.slot, d.boot.info.version, info.version);
            fails++;
        }
    }
    if (flash_out) {
        FILE *fp = fopen(flash_out, "wb");
        if (!fp || fwrite(mem, 1, FLASH_SIZE, fp) != FLASH_SIZE || fclose(fp)) {
            printf("lf_device: FAIL cannot write %s\n", flash_out);
            fails++;
        }
    }
    nor_close(&fl);
    free(mem);
    free(img_a);
    free(img_b);
    return fails ? 1 : 0;
}
