/*
 * device.c - the simulator's port (see device.h): flash by partition over
 * the NOR model, boot control through its otadata writer (the esp_ota_ops
 * calls it stands for are named at each callback), the journal store on the
 * `fota` partition, and provisioning. Fakes only at the port boundary: the
 * flash is the NOR model, the otadata rules are fota/esp_ota.h's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "device.h"
#include "partcsv.h"

/* The floor store: sectors 2 and 3 of the journal partition (the journal
 * has 0 and 1), when it has them: the default `fota` partition does. */
#define SIM_FLOOR_STORE_OFFSET (2u * FOTA_SECTOR_SIZE)
#define SIM_FLOOR_STORE_END    (4u * FOTA_SECTOR_SIZE)

static struct sim_device *dev(const struct fota_config *c)
{
    return (struct sim_device *)c->context;
}

/* ---- flash by partition ---------------------------------------------------- */

/* p for app slot idx (ota_N, or -1 for factory) of d's table. */
static int app_part(const struct sim_device *d, int idx, struct fota_part *p)
{
    const struct fota_layout *l = &d->layout;
    memset(p, 0, sizeof *p);
    if (idx < 0) {
        if (!l->factory_size)
            return FOTA_ERR_NO_SLOT;
        p->addr = l->factory_offset;
        p->size = l->factory_size;
        p->index = FOTA_SLOT_FACTORY;
        snprintf(p->label, sizeof p->label, "factory");
    } else {
        if (idx >= l->slot_count)
            return FOTA_ERR_NO_SLOT;
        p->addr = l->slot_offset[idx];
        p->size = l->slot_size[idx];
        p->index = (uint8_t)idx;
        snprintf(p->label, sizeof p->label, "ota_%d", idx);
    }
    p->handle = d;
    p->encrypted = (uint8_t)(d->plat.flash_encryption != 0); /* all apps, as on ESP32 */
    return FOTA_OK;
}

/* The slot otadata selects now, as esp_ota_get_boot_partition: the entry
 * in force, else factory, else ota_0. */
static int boot_slot(struct sim_device *d, int *idx)
{
    struct fota_ota_entry e[2];
    int a, rc = sim_boot_read_otadata(d->flash, &d->layout, e);
    if (rc)
        return rc;
    a = fota_ota_active(e);
    if (a >= 0)
        *idx = (int)fota_ota_slot(e[a].seq, d->layout.slot_count);
    else
        *idx = d->layout.factory_size ? -1 : 0;
    return FOTA_OK;
}

static int p_get(const struct fota_config *c, int which, struct fota_part *p)
{
    struct sim_device *d = dev(c);
    int run = d->boot.slot, idx;
    int rc;

    switch (which) {
    case FOTA_PART_RUNNING:
        return app_part(d, run, p);
    case FOTA_PART_UPDATE:
        /* esp_ota_get_next_update_partition(NULL): the OTA slot after the
         * running one (ota_0 after factory), never the running one */
        if (d->layout.slot_count == 0)
            return FOTA_ERR_NO_SLOT;
        idx = run < 0 ? 0 : (run + 1) % d->layout.slot_count;
        if (idx == run)
            return FOTA_ERR_NO_SLOT;
        return app_part(d, idx, p);
    case FOTA_PART_BOOT:
        rc = boot_slot(d, &idx);
        return rc ? rc : app_part(d, idx, p);
    default:
        return FOTA_ERR_PARAM;
    }
}

static int in_part(const struct fota_part *p, uint32_t off, uint32_t len)
{
    return off <= p->size && len <= p->size - off;
}

static int p_read(const struct fota_config *c, const struct fota_part *p, uint32_t off, void *b,
                  uint32_t n)
{
    if (!in_part(p, off, n))
        return FOTA_ERR_PARAM;
    return nor_read_dec(dev(c)->flash, p->encrypted, p->addr + off, b, n);
}

/* esp_partition_erase_range: sector-aligned range; a block-aligned 64 KB
 * range is one block erase, as esp_flash does. */
static int p_erase(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                   uint32_t n)
{
    struct sim_device *d = dev(c);
    uint32_t a = p->addr + off, i;
    int rc = FOTA_OK;

    if (!in_part(p, off, n) || off % FOTA_SECTOR_SIZE || n % FOTA_SECTOR_SIZE)
        return FOTA_ERR_PARAM;
    if (n == NOR_BLOCK_SIZE && a % NOR_BLOCK_SIZE == 0 && !d->no_block_erase)
        return nor_erase_block(d->flash, a);
    for (i = 0; rc == FOTA_OK && i < n; i += FOTA_SECTOR_SIZE)
        rc = nor_erase(d->flash, a + i);
    return rc;
}

static int p_write(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                   const void *b, uint32_t n)
{
    if (!in_part(p, off, n))
        return FOTA_ERR_PARAM;
    return nor_program_enc(dev(c)->flash, p->encrypted, p->addr + off, b, n);
}

/* ---- boot control: the otadata writer, as esp_ota_ops does it ------------- */

/* Rewrite otadata sector sec with e: erase, then program 32 bytes. A cut
 * leaves the other sector's entry in force. */
static int write_otadata(struct sim_device *d, unsigned sec, const struct fota_ota_entry *e)
{
    uint8_t b[FOTA_OTA_ENTRY_LEN];
    uint32_t addr = d->layout.otadata_offset + sec * FOTA_SECTOR_SIZE;
    int rc = nor_erase(d->flash, addr);
    if (rc)
        return rc;
    fota_ota_encode(e, b);
    return nor_program(d->flash, addr, b, sizeof b);
}

/* esp_ota_set_boot_partition: verify the image (esp_image_verify), then
 * write NEW for its slot into the otadata sector not in force. */
static int b_set(const struct fota_config *c, const struct fota_part *p)
{
    struct sim_device *d = dev(c);
    struct fota_ota_entry e[2], n;
    unsigned sec;
    int rc;

    if (p->index >= d->layout.slot_count)
        return FOTA_ERR_PARAM;
    rc = sim_verify_image_dec(d->flash, p->encrypted, p->addr, p->size, d->chip, NULL, NULL,
                              NULL);
    if (rc)
        return rc;
    rc = sim_boot_read_otadata(d->flash, &d->layout, e);
    if (rc)
        return rc;
    rc = fota_ota_next(e, p->index, d->layout.slot_count, &n, &sec);
    if (rc)
        return rc;
    return write_otadata(d, sec, &n);
}

/* esp_ota_mark_app_valid_cancel_rollback: the entry in force becomes VALID,
 * in place. */
static int b_confirm(const struct fota_config *c)
{
    struct sim_device *d = dev(c);
    struct fota_ota_entry e[2];
    int a, rc = sim_boot_read_otadata(d->flash, &d->layout, e);
    if (rc)
        return rc;
    a = fota_ota_active(e);
    if (a < 0)
        return FOTA_ERR_OTADATA;
    if (e[a].state == FOTA_OTA_VALID)
        return FOTA_OK;
    e[a].state = FOTA_OTA_VALID;
    return write_otadata(d, (unsigned)a, &e[a]);
}

/* esp_ota_get_state_partition: the first valid entry (sector 0, then 1)
 * that selects p's slot. */
static int b_state(const struct fota_config *c, const struct fota_part *p, uint32_t *st)
{
    struct sim_device *d = dev(c);
    struct fota_ota_entry e[2];
    unsigned i;
    int rc;

    *st = FOTA_OTA_NO_ENTRY;
    if (p->index >= d->layout.slot_count)
        return FOTA_OK; /* factory: ESP_ERR_NOT_SUPPORTED */
    rc = sim_boot_read_otadata(d->flash, &d->layout, e);
    if (rc)
        return rc;
    for (i = 0; i < 2; i++)
        if (fota_ota_valid(&e[i]) && fota_ota_slot(e[i].seq, d->layout.slot_count) == p->index) {
            *st = e[i].state;
            break;
        }
    return FOTA_OK;
}

/* esp_ota_mark_app_invalid_rollback_and_reboot, without the reboot (the
 * caller powers off): refused unless esp_ota_check_rollback_is_possible
 * holds, i.e. the other otadata entry is selectable and its slot verifies,
 * or, with no such entry, a factory app verifies (ESP-IDF v5.4.4,
 * esp_ota_ops.c); then the entry in force becomes INVALID, in place. */
static int b_rollback(const struct fota_config *c)
{
    struct sim_device *d = dev(c);
    struct fota_ota_entry e[2];
    struct fota_part p;
    int a, last, target, rc = sim_boot_read_otadata(d->flash, &d->layout, e);

    if (rc)
        return rc;
    a = fota_ota_active(e);
    if (a < 0)
        return FOTA_ERR_OTADATA;
    last = 1 - a;
    target = fota_ota_bootable(&e[last])
                 ? (int)fota_ota_slot(e[last].seq, d->layout.slot_count)
                 : -1; /* factory */
    if (app_part(d, target, &p) != FOTA_OK ||
        sim_verify_image_dec(d->flash, d->plat.flash_encryption, p.addr, p.size, d->chip, NULL,
                             NULL, NULL) != FOTA_OK)
        return FOTA_ERR_NO_SLOT;
    e[a].state = FOTA_OTA_INVALID;
    return write_otadata(d, (unsigned)a, &e[a]);
}

/* ---- journal store: fstore on the journal partition ----------------------- */

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
    struct sim_platform keep_plat = d->plat;
    memset(d, 0, sizeof *d);
    d->curl = keep_curl;
    d->src = keep_src;
    d->plat = keep_plat;
    d->flash = fl;
    d->chip = chip;
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    memcpy(d->key, key, FOTA_KEY_LEN);
    d->cfg.context = d;
    d->cfg.part_get = p_get;
    d->cfg.part_read = p_read;
    d->cfg.part_erase = p_erase;
    d->cfg.part_write = p_write;
    d->cfg.boot_set = b_set;
    d->cfg.boot_confirm = b_confirm;
    d->cfg.boot_state = b_state;
    d->cfg.boot_rollback = b_rollback;
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

int sim_device_open_journal(struct sim_device *d)
{
    struct fota_part j;
    int rc = sim_read_layout(d->flash, &d->plat, &d->layout);
    if (rc)
        return rc;
    if (d->layout.journal_size < 2 * FOTA_SECTOR_SIZE)
        return FOTA_ERR_PTABLE;
    memset(&j, 0, sizeof j);
    j.handle = d;
    j.addr = d->layout.journal_offset;
    j.size = d->layout.journal_size;
    j.index = FOTA_SLOT_DATA;
    snprintf(j.label, sizeof j.label, "%s", d->layout.journal_label);
    rc = fota_fstore_open(&d->store, &d->cfg, &j);
    if (rc || j.size < SIM_FLOOR_STORE_END)
        return rc;
    j.addr += SIM_FLOOR_STORE_OFFSET;
    j.size -= SIM_FLOOR_STORE_OFFSET;
    rc = fota_fstore_open(&d->floor_store, &d->cfg, &j);
    if (rc)
        return rc;
    d->cfg.floor_load = fl_load;
    d->cfg.floor_save = fl_save;
    return FOTA_OK;
}

int sim_device_power_on(struct sim_device *d)
{
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
    rc = sim_boot(d->flash, &d->plat, d->chip, &d->boot);
    if (rc)
        return rc;
    rc = sim_device_open_journal(d);
    if (rc)
        return rc;
    rc = fota_init(&d->fota, &d->cfg);
    /* the simulated firmware has its network at once: what the reboot
     * left (a status report, a re-verify and boot switch) is done now, by
     * the first fota_step, as an application does once it is online */
    if (rc == FOTA_OK && fota_phase(&d->fota) == FOTA_PHASE_RECOVERING)
        rc = fota_step(&d->fota);
    return rc;
}

/* A journal partition a device may use: data, two sectors at least, and not
 * one that holds something else (otadata, nvs, PHY data, nvs keys). */
static int journal_ok(const struct fota_partition *p)
{
    return p->type == FOTA_PT_TYPE_DATA && p->size >= 2 * FOTA_SECTOR_SIZE &&
           p->subtype != FOTA_PT_SUB_OTADATA && p->subtype != FOTA_PT_SUB_NVS &&
           p->subtype != FOTA_PT_SUB_PHY && p->subtype != FOTA_PT_SUB_NVS_KEYS &&
           p->subtype != FOTA_PT_SUB_EFUSE;
}

int sim_provision(struct nor_flash *fl, const struct sim_platform *plat, const char *csv,
                  const uint8_t *img, uint32_t len, int chip, char *err, size_t errlen)
{
    struct fota_partition parts[SIM_PT_MAX_ENTRIES];
    struct fota_layout l;
    struct fota_app_info info;
    struct fota_img_walk w;
    const char *jl = plat && plat->journal_label ? plat->journal_label : FOTA_PT_JOURNAL_LABEL;
    int enc = plat && plat->flash_encryption;
    uint32_t off, hoff;
    int n = 0, rc, i, jp = -1;

    rc = sim_pt_parse_csv_flash(csv ? csv : sim_pt_default_csv(), fl->size, sim_pt_offset(plat),
                                parts, SIM_PT_MAX_ENTRIES, &n, err, errlen);
    if (rc)
        return rc;
    for (i = 0; i < n && jp < 0; i++)
        if (strncmp(parts[i].label, jl, 16) == 0)
            jp = i;
    if (jp < 0 || !journal_ok(&parts[jp])) {
        snprintf(err, errlen,
                 "partition table: expected a data partition '%s' of 2 sectors or more for the "
                 "resume journal (not nvs, otadata or phy: the journal never shares one)%s",
                 jl, jp < 0 ? ", found none" : ", found an unsuitable one");
        return FOTA_ERR_PTABLE;
    }
    rc = sim_pt_write(fl, sim_pt_offset(plat), parts, n);
    if (!rc)
        rc = sim_read_layout(fl, plat, &l);
    if (rc) {
        snprintf(err, errlen, "partition table: %s", fota_strerror(rc));
        return rc;
    }
    if (l.slot_count < 2) {
        snprintf(err, errlen, "partition table: expected 2 OTA slots and otadata, found %u slots",
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
            (rc = nor_erase(fl, l.journal_offset + (uint32_t)i * FOTA_SECTOR_SIZE)))
            return rc;
        if (l.journal_size >= SIM_FLOOR_STORE_END &&
            (rc = nor_erase(fl, l.journal_offset + SIM_FLOOR_STORE_OFFSET +
                                    (uint32_t)i * FOTA_SECTOR_SIZE)))
            return rc;
    }
    for (off = 0; off < len; off += FOTA_SECTOR_SIZE) {
        uint32_t k = len - off < FOTA_SECTOR_SIZE ? len - off : FOTA_SECTOR_SIZE;
        if ((rc = nor_erase(fl, l.slot_offset[0] + off)) ||
            (rc = nor_program_enc(fl, enc, l.slot_offset[0] + off, img + off, k)))
            return rc;
    }
    return FOTA_OK;
}
