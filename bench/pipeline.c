/*
 * pipeline - the libfota core end to end, in process, over a RAM flash.
 *
 * usage: pipeline [RUNS]        (default 10 runs per protocol, at most 1000)
 *
 * A simulated ESP32 (4 MB RAM flash, nor_open_mem, default partition table,
 * sim_provision) running a synthetic 1.0.0 image is offered a synthetic
 * 1,068,032-byte 2.0.0 image (sim_mkimage) by the in-process source, once
 * with protocol v1 and once with v2. Timed: fota_check + fota_run (check,
 * parse, base64 for v1, one HMAC per chunk, writes to the RAM flash model,
 * read-back hashes, boot switch). Provisioning and power-on are not timed.
 *
 * The in-process source is a second implementation of the server: for every
 * chunk it computes the HMAC (and base64 + JSON for v1) itself, inside the
 * timed region. So the same run also times the source alone (same requests,
 * bodies sent to a sink that drops them) and reports the device's share =
 * pipeline - source.
 *
 * Reference, measured in the same run with mbedTLS 2.28 on the same bytes:
 * raw SHA-256 of the image, raw HMAC-SHA256 of the image, and the "limit":
 * what the core cannot avoid computing = one HMAC per chunk (key setup +
 * sha256(image) || be32(n) || chunk, as the wire format says) + 2 x SHA-256
 * of the image (the two read-back checks). ratio = limit time / device time
 * (1.0 = the core costs nothing beyond its mandatory crypto).
 */
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include "fota/wire.h"
#include "simbench.h"

#define CHUNK 1024u

/* Untimed counting run: bytes the core hands to SHA-256 and HMAC. */
static struct {
    int (*sha_u)(const struct fota_config *, void *, const uint8_t *, uint32_t);
    int (*hmac_u)(const struct fota_config *, void *, const uint8_t *, uint32_t);
    int (*hmac_s)(const struct fota_config *, void *, const uint8_t *, uint32_t);
    uint64_t sha_bytes, hmac_bytes, hmacs;
} C;
static int c_sha_u(const struct fota_config *c, void *x, const uint8_t *d, uint32_t n)
{
    C.sha_bytes += n;
    return C.sha_u(c, x, d, n);
}
static int c_hmac_u(const struct fota_config *c, void *x, const uint8_t *d, uint32_t n)
{
    C.hmac_bytes += n;
    return C.hmac_u(c, x, d, n);
}
static int c_hmac_s(const struct fota_config *c, void *x, const uint8_t *k, uint32_t n)
{
    C.hmacs++;
    return C.hmac_s(c, x, k, n);
}

static int sink(void *arg, const uint8_t *d, uint32_t n)
{
    (void)d;
    *(uint64_t *)arg += n;
    return FOTA_OK;
}

static void token_of(const uint8_t key[32], const char *id, char out[65])
{
    char msg[96];
    uint8_t mac[32];
    int i;
    snprintf(msg, sizeof msg, "token:%s", id);
    fota_posix_hmac(key, 32, (const uint8_t *)msg, strlen(msg), mac);
    for (i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

/* The source's own cost: the same requests the device made, bodies dropped. */
static double source_alone(struct v1_source *src, int v2, uint32_t posts, uint64_t *bytes)
{
    char tok[65], path[128];
    const char body[] = "{\"release\":1,\"state\":\"downloading\",\"chunks_received\":0,\"error\":\"\"}";
    struct fota_http_header h[2] = {{"X-Device-Id", BENCH_DEV_ID}, {"X-Device-Token", tok}};
    uint32_t n, total = (src->size + CHUNK - 1) / CHUNK;
    int st;
    double t0;
    token_of(src->key, BENCH_DEV_ID, tok);
    *bytes = 0;
    t0 = bench_now();
    v1_source_get(src, "/api/inverter/fota/check?version=1.0.0", h, 2, sink, bytes, &st);
    if (v2) {
        snprintf(path, sizeof path, "/api/inverter/fota/stream?release=1&from=0");
        v1_source_get(src, path, h, 2, sink, bytes, &st);
    } else {
        for (n = 0; n < total; n++) {
            snprintf(path, sizeof path, "/api/inverter/fota/chunk?chunk=%u&release=1", n);
            v1_source_get(src, path, h, 2, sink, bytes, &st);
        }
    }
    for (n = 0; n < posts; n++)
        v1_source_post(src, "/api/inverter/fota/status", h, 2, body, sizeof body - 1, &st);
    return bench_now() - t0;
}

static double t_sha256(const uint8_t *img, uint32_t len)
{
    uint8_t out[32];
    double t0 = bench_now();
    mbedtls_sha256_ret(img, len, out, 0);
    return bench_now() - t0;
}

static double t_hmac(const uint8_t *img, uint32_t len, const uint8_t key[32])
{
    uint8_t out[32];
    double t0 = bench_now();
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, img, len, out);
    return bench_now() - t0;
}

/* one HMAC per chunk over sha256(image) || be32(n) || chunk, key set up each time */
static double t_chunk_hmacs(const uint8_t *img, uint32_t len, const uint8_t key[32])
{
    mbedtls_md_context_t c;
    uint8_t sha[32], out[32], pfx[FOTA_CHUNK_MAC_PREFIX_LEN];
    uint32_t n, off;
    double t0;
    mbedtls_sha256_ret(img, len, sha, 0);
    mbedtls_md_init(&c);
    mbedtls_md_setup(&c, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    t0 = bench_now();
    for (n = 0, off = 0; off < len; n++, off += CHUNK) {
        uint32_t l = len - off < CHUNK ? len - off : CHUNK;
        fota_chunk_mac_prefix(pfx, sha, n);
        mbedtls_md_hmac_starts(&c, key, 32);
        mbedtls_md_hmac_update(&c, pfx, sizeof pfx);
        mbedtls_md_hmac_update(&c, img + off, l);
        mbedtls_md_hmac_finish(&c, out);
    }
    t0 = bench_now() - t0;
    mbedtls_md_free(&c);
    return t0;
}

int main(int argc, char **argv)
{
    const uint32_t len = BENCH_IMAGE_SIZE;
    int runs = argc > 1 ? atoi(argv[1]) : 10, r, v2;
    uint8_t *base, *img;
    struct bench_dev t = {0};
    double *sha, *hm, *lim, *pipe[2], *srct[2], *rdev[2], *rall[2];
    uint64_t bytes[2] = {0, 0};
    uint32_t posts[2] = {0, 0};
    double mb = len / 1e6, msha, mhm, mlim;

    if (runs < 3 || runs > 1000) {
        fprintf(stderr, "usage: pipeline [RUNS 3..1000: each figure the median of RUNS, with min and max]\n");
        return 1;
    }
    fota_posix_log_level = -1;
    base = bench_image(len, "1.0.0", 7);
    img = bench_image(len, "2.0.0", 1);
    sha = calloc((size_t)runs, sizeof *sha), hm = calloc((size_t)runs, sizeof *hm);
    lim = calloc((size_t)runs, sizeof *lim);
    for (v2 = 0; v2 <= 1; v2++) {
        pipe[v2] = calloc((size_t)runs, sizeof *pipe[v2]);
        srct[v2] = calloc((size_t)runs, sizeof *srct[v2]);
        rdev[v2] = calloc((size_t)runs, sizeof *rdev[v2]);
        rall[v2] = calloc((size_t)runs, sizeof *rall[v2]);
    }

    memset(t.key, 0x5A, 32);
    for (v2 = 0; v2 <= 1; v2++) {
        memset(&C, 0, sizeof C);
        bench_dev_start(&t, base, len, img, len, v2);
        C.sha_u = t.d.cfg.sha256_update, C.hmac_u = t.d.cfg.hmac_update, C.hmac_s = t.d.cfg.hmac_start;
        t.d.cfg.sha256_update = c_sha_u, t.d.cfg.hmac_update = c_hmac_u, t.d.cfg.hmac_start = c_hmac_s;
        bench_dev_update(&t, img, len, v2); /* also the warm-up */
        printf("pipeline v%d: the core hashed %llu bytes with SHA-256 (%.2f x image) and ran %llu "
               "HMACs over %llu bytes (%.2f x image)\n",
               v2 + 1, (unsigned long long)C.sha_bytes, (double)C.sha_bytes / len,
               (unsigned long long)C.hmacs, (unsigned long long)C.hmac_bytes,
               (double)C.hmac_bytes / len);
    }
    /* Interleaved: every run measures the references and both protocols
     * back to back, so a slower or busier moment hits all of them; ratios are
     * taken per run, then the median. */
    for (r = 0; r < runs; r++) {
        sha[r] = t_sha256(img, len);
        hm[r] = t_hmac(img, len, t.key);
        lim[r] = t_chunk_hmacs(img, len, t.key) + 2 * t_sha256(img, len);
        for (v2 = 0; v2 <= 1; v2++) {
            double t0;
            bench_dev_start(&t, base, len, img, len, v2);
            t0 = bench_now();
            bench_dev_update(&t, img, len, v2);
            pipe[v2][r] = bench_now() - t0;
            if (!bench_dev_slot_matches(&t, img, len)) {
                fprintf(stderr, "pipeline: v%d: slot does not hold the image\n", v2 + 1);
                return 2;
            }
            posts[v2] = t.src.status_posts;
            srct[v2][r] = source_alone(&t.src, v2, posts[v2], &bytes[v2]);
            rdev[v2][r] = lim[r] / (pipe[v2][r] - srct[v2][r]);
            rall[v2][r] = lim[r] / pipe[v2][r];
        }
    }
    msha = bench_median(sha, runs), mhm = bench_median(hm, runs), mlim = bench_median(lim, runs);
    printf("pipeline: image %u bytes (%u chunks of %u), %d interleaved runs, medians\n", len,
           (len + CHUNK - 1) / CHUNK, CHUNK, runs);
    printf("pipeline: reference raw SHA-256 (mbedTLS)        %8.2f ms  %7.1f MB/s\n", msha * 1e3,
           mb / msha);
    printf("pipeline: reference raw HMAC-SHA256 (mbedTLS)    %8.2f ms  %7.1f MB/s\n", mhm * 1e3,
           mb / mhm);
    printf("pipeline: limit = per-chunk HMACs + 2 x SHA-256  %8.2f ms  %7.1f MB/s\n", mlim * 1e3,
           mb / mlim);
    for (v2 = 0; v2 <= 1; v2++) {
        double mp = bench_median(pipe[v2], runs), ms = bench_median(srct[v2], runs), dev = mp - ms;
        double rd = bench_median(rdev[v2], runs), ra = bench_median(rall[v2], runs);
        double rd_lo = rdev[v2][0], rd_hi = rdev[v2][runs - 1]; /* sorted by the median */
        printf("pipeline v%d: device+source %8.2f ms  %7.1f MB/s | source alone %7.2f ms "
               "(%llu body bytes, %u status posts) | device share %7.2f ms  %7.1f MB/s\n",
               v2 + 1, mp * 1e3, mb / mp, ms * 1e3, (unsigned long long)bytes[v2], posts[v2],
               dev * 1e3, mb / dev);
        printf("pipeline v%d: ratio limit/device = %.2f (min %.2f, max %.2f over %d runs; "
               "target >= 0.80: %s); ratio limit/(device+source) = %.2f\n",
               v2 + 1, rd, rd_lo, rd_hi, runs, rd >= 0.8 ? "met" : "NOT met", ra);
        printf("RESULT pipeline_v%d_MBps=%.1f device_MBps=%.1f limit_MBps=%.1f ratio=%.2f "
               "ratio_min=%.2f ratio_max=%.2f runs=%d\n",
               v2 + 1, mb / mp, mb / dev, mb / mlim, rd, rd_lo, rd_hi, runs);
    }
    bench_dev_free(&t);
    free(base), free(img), free(sha), free(hm), free(lim);
    for (v2 = 0; v2 <= 1; v2++)
        free(pipe[v2]), free(srct[v2]), free(rdev[v2]), free(rall[v2]);
    return 0;
}
