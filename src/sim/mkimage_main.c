/*
 * fota-mkimage - write a synthetic ESP32 application image (see mkimage.h),
 * for demos, benchmarks and scripts that need a release of a given size.
 *
 *   fota-mkimage -o OUT --size N [--chip esp32] [--version V] [--project P]
 *                [--secure-version N] [--seed S] [--secure-boot-v2 [--sig-blocks K]]
 *
 * --secure-boot-v2 appends what espsecure appends to a signed app: padding
 * to a 4096-byte boundary and a signature sector of K (1..3, default 1)
 * blocks with valid structure and CRC; the signature bytes are random (no
 * eFuse key signs them). The file is then longer than N.
 *
 * --app-rev R (0..4) writes revision R of the synthetic application of
 * about N bytes made from --seed (mkapp.c: constants changed, a function
 * edited, functions moved, a segment grown, cumulatively), so that pairs of
 * revisions change as real releases do, for delta updates; the file's size
 * follows from the model (ESP32 only; --seed defaults to 1 there, so every
 * revision is of the same app).
 *
 * Exit 0 on success, 1 when the file cannot be written, 2 on bad usage.
 * Without --seed the seed is derived from the version, so two versions
 * differ in most bytes and the same version is always the same image.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/esp_image.h"
#include "mkimage.h"

static int usage(const char *msg, const char *arg)
{
    if (msg)
        fprintf(stderr, "fota-mkimage: %s%s%s%s\n", msg, arg ? " '" : "", arg ? arg : "",
                arg ? "'" : "");
    fprintf(stderr,
            "usage: fota-mkimage -o OUT --size N [--chip esp32] [--version V] [--project P]\n"
            "                    [--secure-version N] [--seed S] [--secure-boot-v2 [--sig-blocks K]]\n"
            "  N: bytes, a multiple of 16 and at least 512 (decimal, 0x hex, or K/M suffix)\n"
            "  --app-rev R: revision R (0..4) of the synthetic app of about N bytes from --seed\n"
            "    (default 1): 1 constants changed, 2 a function edited, 3 functions moved,\n"
            "    4 a segment grown (cumulative)\n"
            "  --secure-boot-v2: append padding to 4096 and a secure boot v2 signature sector\n"
            "    of K blocks (1..3, default 1): valid structure and CRC, random signature\n");
    return 2;
}

/* Decimal or 0x hex, optional K/M suffix; 0 on success. */
static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v, mul = 1;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    if (*end || v > 0xFFFFFFFFull / mul)
        return -1;
    *out = (uint32_t)(v * mul);
    return 0;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 0x811C9DC5u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x01000193u;
    return h;
}

int main(int argc, char **argv)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "0.0.0", "fota-sim", 0, 0, 0};
    const char *out = NULL;
    uint32_t size = 0, total, sig_blocks = 1;
    int have_size = 0, have_seed = 0, sbv2 = 0, i, rc, app_rev = -1;
    uint8_t *buf, sha[32];
    FILE *fp;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(NULL, NULL);
            return 0;
        }
        if (!strcmp(a, "--secure-boot-v2")) {
            sbv2 = 1;
            continue;
        }
        if (!v)
            return usage("missing value after", a);
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = v;
        } else if (!strcmp(a, "--size")) {
            if (parse_u32(v, &size) || size < SIM_MKIMAGE_MIN_SIZE || size % 16u)
                return usage("--size must be a multiple of 16 and at least 512, found", v);
            have_size = 1;
        } else if (!strcmp(a, "--chip")) {
            o.chip_id = fota_chip_from_name(v);
            if (o.chip_id < 0)
                return usage("--chip must be esp32, esp32s2, esp32s3, esp32c2, esp32c3, "
                             "esp32c6 or esp32h2, found", v);
        } else if (!strcmp(a, "--version")) {
            if (strlen(v) > 31)
                return usage("--version is longer than 31 characters:", v);
            o.version = v;
        } else if (!strcmp(a, "--project")) {
            if (strlen(v) > 31)
                return usage("--project is longer than 31 characters:", v);
            o.project = v;
        } else if (!strcmp(a, "--secure-version")) {
            if (parse_u32(v, &o.secure_version))
                return usage("--secure-version must be a number, found", v);
        } else if (!strcmp(a, "--sig-blocks")) {
            if (parse_u32(v, &sig_blocks) || sig_blocks < 1 || sig_blocks > FOTA_SBV2_BLOCKS)
                return usage("--sig-blocks must be 1, 2 or 3, found", v);
        } else if (!strcmp(a, "--app-rev")) {
            uint32_t r;
            if (parse_u32(v, &r) || r > 4)
                return usage("--app-rev must be 0..4, found", v);
            app_rev = (int)r;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u32(v, &o.seed))
                return usage("--seed must be a 32-bit number, found", v);
            have_seed = 1;
        } else {
            return usage("unknown option", a);
        }
        i++;
    }
    if (!out)
        return usage("missing -o OUT", NULL);
    if (!have_size)
        return usage("missing --size N", NULL);
    if (!have_seed)
        o.seed = app_rev >= 0 ? 1u : fnv1a(o.version);
    if (app_rev >= 0) {
        if (sbv2 || o.chip_id != FOTA_CHIP_ESP32)
            return usage("--app-rev makes ESP32 images without --secure-boot-v2", NULL);
        rc = sim_mkapp(&buf, &total, size, &o, (unsigned)app_rev);
        if (rc) {
            fprintf(stderr, "fota-mkimage: --app-rev: %s (--size 16K..8M)\n", fota_strerror(rc));
            return rc == FOTA_ERR_PARAM ? 2 : 1;
        }
        goto write;
    }

    total = sbv2 ? sim_mkimage_sbv2_len(size) : size;
    if (total < size)
        return usage("--size too large for --secure-boot-v2", NULL);
    buf = malloc(total);
    if (!buf) {
        fprintf(stderr, "fota-mkimage: out of memory for %u bytes\n", (unsigned)total);
        return 1;
    }
    rc = sim_mkimage(buf, size, &o);
    if (!rc && sbv2)
        rc = sim_mkimage_sbv2(buf, size, o.seed, sig_blocks);
    if (rc) {
        fprintf(stderr, "fota-mkimage: %s\n", fota_strerror(rc));
        free(buf);
        return rc == FOTA_ERR_PARAM ? 2 : 1;
    }
write:
    fp = fopen(out, "wb");
    if (!fp || fwrite(buf, 1, total, fp) != total || fclose(fp) != 0) {
        fprintf(stderr, "fota-mkimage: cannot write '%s': %s\n", out, strerror(errno));
        free(buf);
        return 1;
    }
    mbedtls_sha256_ret(buf, total, sha, 0);
    free(buf);
    printf("%s: %u bytes, chip %s, version %s, project %s, ", out, (unsigned)total,
           fota_chip_name(o.chip_id), o.version, o.project);
    if (sbv2)
        printf("secure boot v2 signature sector of %u block(s) at %u, ", (unsigned)sig_blocks,
               (unsigned)(total - FOTA_SBV2_SECTOR_LEN));
    printf("sha256 ");
    for (i = 0; i < 32; i++)
        printf("%02x", sha[i]);
    printf("\n");
    return 0;
}
