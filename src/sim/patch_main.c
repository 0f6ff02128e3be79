/*
 * fota-patch - make and apply patch streams (include/fota/patch.h) on the
 * host: the server's encoder (patchenc.c) and the core's own patcher, for
 * scripts, benchmarks and docs/delta.md.
 *
 *   fota-patch compress IMAGE -o OUT      compressed full image (kind 1)
 *   fota-patch delta BASE IMAGE -o OUT    delta from BASE (kind 2)
 *   fota-patch apply [--base BASE] PATCH -o OUT
 *                                         the core's patcher, fed in 1024-byte
 *                                         pieces, output in RAM
 *   fota-patch info PATCH                 header fields
 *
 * Exit 0 on success, 1 when a file cannot be read or written, 2 on bad usage
 * or a patch the patcher refuses (the message says which rule).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/patch.h"
#include "patchenc.h"

static int usage(void)
{
    fprintf(stderr, "usage: fota-patch compress IMAGE -o OUT\n"
                    "       fota-patch delta BASE IMAGE -o OUT\n"
                    "       fota-patch apply [--base BASE] PATCH -o OUT\n"
                    "       fota-patch info PATCH\n");
    return 2;
}

static uint8_t *slurp(const char *path, uint32_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *b = NULL;
    long n;
    if (!fp) {
        fprintf(stderr, "fota-patch: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && n < 0x7FFFFFFF &&
        fseek(fp, 0, SEEK_SET) == 0) {
        b = malloc((size_t)n + 1);
        if (b && fread(b, 1, (size_t)n, fp) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *len = (uint32_t)n;
    }
    fclose(fp);
    if (!b)
        fprintf(stderr, "fota-patch: %s: cannot read\n", path);
    return b;
}

static int spill(const char *path, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(b, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "fota-patch: %s: cannot write\n", path);
        return 1;
    }
    return 0;
}

/* RAM io for the core patcher. */
struct ram {
    const uint8_t *base;
    uint32_t bn;
    uint8_t *out;
    uint32_t cap, written;
};

static int r_base(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    if (off > r->bn || n > r->bn - off)
        return FOTA_ERR_PARAM;
    memcpy(buf, r->base + off, n);
    return FOTA_OK;
}

static int r_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    if (off > r->written || n > r->written - off)
        return FOTA_ERR_PARAM;
    memcpy(buf, r->out + off, n);
    return FOTA_OK;
}

static int r_write(void *ctx, uint32_t off, const uint8_t *buf, uint32_t n)
{
    struct ram *r = ctx;
    if (off != r->written || n > r->cap - off)
        return FOTA_ERR_PARAM;
    memcpy(r->out + off, buf, n);
    r->written += n;
    return FOTA_OK;
}

static int apply(const char *basef, const char *patchf, const char *outf)
{
    struct ram r = {0};
    struct fota_patch p;
    struct fota_patch_limits lim = {0};
    struct fota_patch_io io = {&r, r_base, r_read, r_write};
    uint8_t *patch, *base = NULL, sha[32];
    uint32_t pn, off = 0, used, n;
    int rc = FOTA_OK, ret = 1;

    patch = slurp(patchf, &pn);
    if (!patch || (basef && !(base = slurp(basef, &r.bn))))
        goto out;
    r.base = base;
    if (base && (r.bn <= 32 || mbedtls_sha256_ret(base, r.bn - 32, sha, 0) != 0)) /* its name */
        goto out;
    r.cap = 16u << 20;
    r.out = malloc(r.cap);
    if (!r.out)
        goto out;
    lim.out_max = r.cap;
    lim.base_max = r.bn;
    lim.base_sha256 = base ? sha : NULL;
    fota_patch_start(&p, &lim);
    while (off < pn && (rc == FOTA_OK || rc == FOTA_PATCH_POINT)) {
        n = pn - off < 1024 ? pn - off : 1024;
        rc = fota_patch_feed(&p, &io, patch + off, n, &used);
        off += used;
    }
    if (rc >= 0 && off < pn)
        rc = FOTA_ERR_PATCH;
    if (rc >= 0)
        rc = fota_patch_finish(&p);
    if (rc) {
        fprintf(stderr, "fota-patch: %s refused at stream byte %u: %s\n", patchf, p.in_off,
                fota_strerror(rc));
        ret = 2;
        goto out;
    }
    ret = spill(outf, r.out, r.written);
out:
    free(patch);
    free(base);
    free(r.out);
    return ret;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *basef = NULL, *args[2];
    int nargs = 0, i;

    if (argc < 2)
        return usage();
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--base") && i + 1 < argc)
            basef = argv[++i];
        else if (nargs < 2 && argv[i][0] != '-')
            args[nargs++] = argv[i];
        else
            return usage();
    }
    if (!strcmp(argv[1], "info") && nargs == 1) {
        uint32_t n;
        uint8_t *b = slurp(args[0], &n);
        struct fota_patch_hdr h;
        if (!b)
            return 1;
        if (n < FOTA_PATCH_HDR_LEN || fota_patch_hdr_decode(b, &h)) {
            fprintf(stderr, "fota-patch: %s: not a patch stream\n", args[0]);
            free(b);
            return 2;
        }
        printf("kind: %s\nwindow: %u\nnew_size: %u\nbase_size: %u\nstream: %u\n",
               h.kind == FOTA_PATCH_KIND_DELTA ? "delta" : "compressed", 1u << h.window_log2,
               h.new_size, h.base_size, n);
        free(b);
        return 0;
    }
    if (!out)
        return usage();
    if (!strcmp(argv[1], "apply") && nargs == 1)
        return apply(basef, args[0], out);
    if ((!strcmp(argv[1], "compress") && nargs == 1) || (!strcmp(argv[1], "delta") && nargs == 2)) {
        uint32_t bn = 0, n;
        uint8_t *base = NULL, *img, *patch = NULL;
        size_t pn;
        int ret = 1;
        if (nargs == 2 && !(base = slurp(args[0], &bn)))
            return 1;
        img = slurp(args[nargs - 1], &n);
        if (img && n && patchenc_make(base, bn, img, n, &patch, &pn) == 0)
            ret = spill(out, patch, pn);
        else if (img)
            fprintf(stderr, "fota-patch: cannot encode %s\n", args[nargs - 1]);
        free(base);
        free(img);
        free(patch);
        return ret;
    }
    return usage();
}
