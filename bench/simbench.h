/*
 * simbench.h - shared fixture of the in-process benchmarks (pipeline, flash):
 * a simulated ESP32 on a 4 MB RAM flash (nor_open_mem), default partition
 * table (sim_provision), running a synthetic 1.0.0 image and offered a
 * synthetic 2.0.0 image of BENCH_IMAGE_SIZE bytes by the in-process source.
 * Not a test: figures only, no assertions on time.
 */
#ifndef BENCH_SIMBENCH_H
#define BENCH_SIMBENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "device.h"
#include "mkimage.h"
#include "posix_port.h"

#define BENCH_FLASH_SIZE (4u << 20)
#define BENCH_IMAGE_SIZE 1068032u /* the first fleet's firmware size, 1043 chunks */
#define BENCH_DEV_ID "bench-dev"

struct bench_dev {
    uint8_t *mem;
    struct nor_flash fl;
    struct v1_source src;
    struct sim_device d;
    uint8_t key[32];
};

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint8_t *bench_image(uint32_t size, const char *version, uint32_t seed)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, version, "bench", 0, seed, 0};
    uint8_t *b = malloc(size);
    if (!b || sim_mkimage(b, size, &o)) {
        fprintf(stderr, "bench: sim_mkimage(%u) failed\n", size);
        exit(2);
    }
    return b;
}

static inline void bench_die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s: %s (%d)\n", what, fota_strerror(rc), rc);
    exit(2);
}

/* Fresh flash (mem reused when already allocated), provisioned with base,
 * powered on with the source offering img (v2 offered when v2). */
static inline void bench_dev_start(struct bench_dev *t, const uint8_t *base, uint32_t base_len,
                                   const uint8_t *img, uint32_t len, int v2)
{
    char err[256];
    int rc;
    if (!t->mem) {
        t->mem = malloc(BENCH_FLASH_SIZE);
        if (!t->mem)
            exit(2);
        memset(t->key, 0x5A, 32);
    }
    memset(t->mem, 0xFF, BENCH_FLASH_SIZE);
    nor_open_mem(&t->fl, t->mem, BENCH_FLASH_SIZE);
    rc = sim_provision(&t->fl, NULL, NULL, base, base_len, FOTA_CHIP_ESP32, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench: provision: %s\n", err);
        exit(2);
    }
    v1_source_init(&t->src, img, len, 1, "2.0.0", BENCH_DEV_ID, t->key);
    t->src.v2 = v2;
    nor_rearm(&t->fl);
    t->d.curl = NULL;
    t->d.src = &t->src;
    sim_device_setup(&t->d, &t->fl, FOTA_CHIP_ESP32, BENCH_DEV_ID, t->key);
    t->d.no_sleep = 1;
    t->d.cfg.protocols = v2 ? FOTA_PROTO_V2 | FOTA_PROTO_V1 : FOTA_PROTO_V1;
    rc = sim_device_power_on(&t->d);
    if (rc)
        bench_die("power on", rc);
}

/* check + run; exits on failure (a benchmark of a failed update means nothing). */
static inline void bench_dev_update(struct bench_dev *t, const uint8_t *img, uint32_t len, int v2)
{
    struct fota_offer o;
    int rc = fota_check(&t->d.fota, "1.0.0", &o);
    if (rc)
        bench_die("check", rc);
    if (!o.update)
        bench_die("check: no update offered", FOTA_ERR_OFFER);
    rc = fota_run(&t->d.fota, &o);
    if (rc)
        bench_die("run", rc);
    if (v2 ? (t->src.stream_requests == 0 || t->src.chunk_requests != 0)
           : t->src.stream_requests != 0) {
        fprintf(stderr, "bench: expected protocol v%d, source saw %u stream / %u chunk requests\n",
                v2 ? 2 : 1, t->src.stream_requests, t->src.chunk_requests);
        exit(2);
    }
    (void)img, (void)len;
}

static inline int bench_dev_slot_matches(const struct bench_dev *t, const uint8_t *img, uint32_t len)
{
    /* default table: ota_1 at 0x150000 */
    return memcmp(t->mem + 0x150000u, img, len) == 0;
}

static inline void bench_dev_free(struct bench_dev *t)
{
    nor_close(&t->fl);
    free(t->mem);
    t->mem = NULL;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
