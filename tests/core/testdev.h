/*
 * testdev.h - shared fixtures for the core tests: a simulated ESP32 on a RAM
 * flash, provisioned with one image and offered another by the in-process v1
 * source. Only the port boundary is simulated (flash model, v1 source); the
 * core, the crypto and the bootloader rules are the real ones.
 */
#ifndef TESTDEV_H
#define TESTDEV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "device.h"
#include "partcsv.h"
#include "mkimage.h"

#define FLASH_4MB (4u << 20)
#define OTA0 0x10000u
#define OTA1 0x150000u
#define SLOT 0x140000u

struct testdev {
    uint8_t *mem;
    struct nor_flash fl;
    struct v1_source src;
    struct sim_device d;
    uint8_t key[32];
};

static inline uint8_t *load_file(const char *dir, const char *name, uint32_t *len)
{
    char path[1024];
    FILE *fp;
    long n;
    uint8_t *b;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = malloc((size_t)n);
    if (fread(b, 1, (size_t)n, fp) != (size_t)n)
        abort();
    fclose(fp);
    *len = (uint32_t)n;
    return b;
}

static inline uint8_t *make_image(uint32_t size, const char *version, uint32_t seed, int chip)
{
    struct sim_mkimage_opts o = {chip, version, "testapp", 0, seed, 0};
    uint8_t *b = malloc(size);
    if (sim_mkimage(b, size, &o))
        abort();
    return b;
}

/* Fresh RAM flash with csv (NULL: default) and img in ota_0; returns the
 * provisioning result. */
static inline int td_provision(struct testdev *t, const char *csv, const uint8_t *img, uint32_t len,
                               int chip)
{
    char err[256];
    int rc;
    memset(t, 0, sizeof *t);
    t->mem = malloc(FLASH_4MB);
    memset(t->mem, 0xFF, FLASH_4MB);
    nor_open_mem(&t->fl, t->mem, FLASH_4MB);
    memset(t->key, 0x5A, 32);
    rc = sim_provision(&t->fl, NULL, csv, img, len, chip, err, sizeof err);
    if (rc)
        fprintf(stderr, "provision: %s\n", err);
    return rc;
}

/* Serve img as release 1 to this device. */
static inline void td_offer(struct testdev *t, const uint8_t *img, uint32_t len)
{
    v1_source_init(&t->src, img, len, 1, "2.0.0", "test-dev", t->key);
}

/* One power-on: reboot the flash model, bootloader, fota_init. */
static inline int td_power_on(struct testdev *t, int chip)
{
    nor_rearm(&t->fl);
    t->d.curl = NULL;
    t->d.src = &t->src;
    sim_device_setup(&t->d, &t->fl, chip, "test-dev", t->key);
    t->d.no_sleep = 1;
    t->d.cfg.max_attempts = 3;
    return sim_device_power_on(&t->d);
}

static inline void td_free(struct testdev *t)
{
    nor_close(&t->fl);
    free(t->mem);
}

static inline int all_ff(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return 0;
    return 1;
}

#endif
