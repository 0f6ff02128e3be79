/*
 * device.c - the simulated device's port bindings and provisioning (see
 * device.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "device.h"
#include "partcsv.h"

/* The floor store: nvs sectors 2 and 3 (the journal has 0 and 1). */
#define SIM_FLOOR_STORE_OFFSET (2u * FOTA_SECTOR_SIZE)
#define SIM_FLOOR_STORE_END    (4u * FOTA_SECTOR_SIZE)

static struct sim_device *dev(const struct fota_config *c)
{
    return (struct sim_device *)c->context;
}

static int f_read(const struct fota_config *c, uint32_t a, void *b, uint32_t n)
{
    return nor_read(dev(c)->flash, a, b, n);
}

static int f_erase(const struct fota_config *c, uint32_t a)
{
    return nor_erase(dev(c)->flash, a);
}

static int f_program(const struct fota_config *c, uint32_t a, const void *b, uint32_t n)
{
    return nor_program(dev(c)->flash, a, b, n);
}

static int f_erase_block(const struct fota_config *c, uint32_t a)
{
    return nor_erase_block(dev(c)->flash, a);
}

static int s_load(const struct fota_config *c, uint8_t *b, uint32_t n)
{
    return fota_fstore_load(&dev(c)->store, b, n);
}

static int s_save(const struct fota_config *c, const uint8_t *b, uint32_t n)
{
    return fota_fstore_save(&dev(c)->store, b, n);
}

static int fl_load(const struct fota_config *c, uint32_t *sv)
{
    return fota_fstore_floor_load(&dev(c)->floor_store, sv);
}

static int fl_save(const struct fota_config *c, uint32_t sv)
{
    return fota_fstore_floor_save(&dev(c)->floor_store, sv);
}

static int v1_get(const struct fota_config *c, const char *path, const struct fota_http_header *h,
                  unsigned nh, fota_body_fn fn, void *arg, int *status)
{
    return v1_source_get(dev(c)->src, path, h, nh, fn, arg, status);
}

static int v1_post(const struct fota_config *c, const char *path, const struct fota_http_header *h,
                   unsigned nh, const char *body, uint32_t len, int *status)
{
    return v1_source_post(dev(c)->src, path, h, nh, body, len, status);
}

/* No transport configured (boot, confirm without --server): requests fail
 * as a device without a network would see them. */
static int off_get(const struct fota_config *c, const char *path, const struct fota_http_header *h,
                   unsigned nh, fota_body_fn fn, void *arg, int *status)
{
    (void)c, (void)path, (void)h, (void)nh, (void)fn, (void)arg, (void)status;
    return FOTA_ERR_NET;
}

static int off_post(const struct fota_config *c, const char *path, const struct fota_http_header *h,
                    unsigned nh, const char *body, uint32_t len, int *status)
{
    (void)c, (void)path, (void)h, (void)nh, (void)body, (void)len, (void)status;
    return FOTA_ERR_NET;
}

int sim_device_setup(struct sim_device *d, struct nor_flash *fl, int chip, const char *id,
                     const uint8_t key[FOTA_KEY_LEN])
{
    struct fota_curl *keep_curl = d->curl;
    struct v1_source *keep_src = d->src;
    memset(d, 0, sizeof *d);
    d->curl = keep_curl;
    d->src = keep_src;
    d->flash = fl;
    d->chip = chip;
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    memcpy(d->key, key, FOTA_KEY_LEN);
    d->cfg.context = d;
    d->cfg.flash_read = f_read;
    d->cfg.flash_erase = f_erase;
    d->cfg.flash_program = f_program;
    d->cfg.flash_erase_block = f_erase_block;
    d->cfg.flash_size = fl->size;
    d->cfg.sector_size = FOTA_SECTOR_SIZE;
    d->cfg.store_load = s_load;
    d->cfg.store_save = s_save;
    fota_posix_crypto(&d->cfg);
    fota_posix_ecdsa(&d->cfg);
    fota_posix_clock(&d->cfg);
    fota_posix_log(&d->cfg);
    d->cfg.device_id = d->id;
    d->cfg.device_key = d->key;
    d->cfg.chip_id = chip;
    return FOTA_OK;
}

int sim_device_power_on(struct sim_device *d)
{
    struct fota_layout l;
    int rc;

    if (d->curl) {
        fota_posix_http(&d->cfg);
    } else if (d->src) {
        d->cfg.http_get = v1_get;
        d->cfg.http_post = v1_post;
    } else {
        d->cfg.http_get = off_get;
        d->cfg.http_post = off_post;
    }
    if (d->no_sleep)
        d->cfg.sleep_ms = NULL;
    rc = sim_boot(d->flash, d->chip, &d->boot);
    if (rc)
        return rc;
    rc = sim_read_layout(d->flash, &l);
    if (rc)
        return rc;
    if (l.nvs_size < 2 * FOTA_SECTOR_SIZE)
        return FOTA_ERR_PTABLE;
    rc = fota_fstore_open(&d->store, &d->cfg, l.nvs_offset);
    if (rc)
        return rc;
    if (l.nvs_size >= SIM_FLOOR_STORE_END) {
        rc = fota_fstore_open(&d->floor_store, &d->cfg, l.nvs_offset + SIM_FLOOR_STORE_OFFSET);
        if (rc)
            return rc;
        d->cfg.floor_load = fl_load;
        d->cfg.floor_save = fl_save;
    }
    d->cfg.running_slot = d->boot.slot < 0 ? FOTA_SLOT_FACTORY : (unsigned)d->boot.slot;
    return fota_init(&d->fota, &d->cfg);
}

int sim_provision(struct nor_flash *fl, const char *csv, const uint8_t *img, uint32_t len,
                  int chip, char *err, size_t errlen)
{
    struct fota_partition parts[SIM_PT_MAX_ENTRIES];
    struct fota_layout l;
    struct fota_app_info info;
    struct fota_img_walk w;
    uint32_t off, hoff;
    int n = 0, rc, i;

    rc = sim_pt_parse_csv_flash(csv ? csv : sim_pt_default_csv(), fl->size, parts,
                                SIM_PT_MAX_ENTRIES, &n, err, errlen);
    if (rc)
        return rc;
    rc = sim_pt_write(fl, parts, n);
    if (!rc)
        rc = sim_read_layout(fl, &l);
    if (rc) {
        snprintf(err, errlen, "partition table: %s", fota_strerror(rc));
        return rc;
    }
    if (l.slot_count < 2 || l.nvs_size < 2 * FOTA_SECTOR_SIZE) {
        snprintf(err, errlen, "partition table: expected 2 OTA slots, otadata and nvs, found %u slots",
                 l.slot_count);
        return FOTA_ERR_PTABLE;
    }
    rc = fota_img_check_head(img, len, chip, &info);
    if (rc == FOTA_ERR_IMG_CHIP) {
        snprintf(err, errlen, "image is for %s (chip id %u), this device is %s",
                 fota_chip_name(img[12] | img[13] << 8), img[12] | img[13] << 8,
                 fota_chip_name(chip));
        return rc;
    }
    if (rc) {
        snprintf(err, errlen, "image refused: %s", fota_strerror(rc));
        return rc;
    }
    if (len > l.slot_size[0]) {
        snprintf(err, errlen, "image is %u bytes, slot ota_0 holds %u", len, l.slot_size[0]);
        return FOTA_ERR_SLOT_SIZE;
    }
    fota_img_walk_init(&w, l.slot_size[0]);
    rc = fota_img_walk_feed(&w, img, len);
    if (!rc)
        rc = fota_img_walk_finish(&w, &hoff);
    if (rc) {
        snprintf(err, errlen, "image refused: %s", fota_strerror(rc));
        return rc;
    }
    /* blank otadata, journal and floor store sectors: boots ota_0 */
    for (i = 0; i < 2; i++) {
        if ((rc = nor_erase(fl, l.otadata_offset + (uint32_t)i * FOTA_SECTOR_SIZE)) ||
            (rc = nor_erase(fl, l.nvs_offset + (uint32_t)i * FOTA_SECTOR_SIZE)))
            return rc;
        if (l.nvs_size >= SIM_FLOOR_STORE_END &&
            (rc = nor_erase(fl, l.nvs_offset + SIM_FLOOR_STORE_OFFSET +
                                    (uint32_t)i * FOTA_SECTOR_SIZE)))
            return rc;
    }
    for (off = 0; off < len; off += FOTA_SECTOR_SIZE) {
        uint32_t k = len - off < FOTA_SECTOR_SIZE ? len - off : FOTA_SECTOR_SIZE;
        if ((rc = nor_erase(fl, l.slot_offset[0] + off)) ||
            (rc = nor_program(fl, l.slot_offset[0] + off, img + off, k)))
            return rc;
    }
    return FOTA_OK;
}
