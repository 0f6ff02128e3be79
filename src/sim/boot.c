/*
 * boot.c - ESP-IDF second-stage bootloader model (see boot.h).
 *
 * Mirrors bootloader_utility.c (ESP-IDF v4.4/v5) with rollback enabled:
 * get_selected_boot_partition() picks the slot from otadata and rewrites the
 * entry in place (erase + program of that sector) when it turns NEW into
 * PENDING_VERIFY or PENDING_VERIFY into ABORTED; load_boot_image() verifies
 * the image and, if it fails, tries start-1 down to ota_0, then factory, then
 * start+1 upwards, without touching otadata. All reads go to the flash.
 */
#include "boot.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

#include "fota/error.h"

#define FACTORY_INDEX (-1)

uint32_t sim_pt_offset(const struct sim_platform *plat)
{
    return plat && plat->pt_offset ? plat->pt_offset : FOTA_PT_OFFSET_DEFAULT;
}

int sim_read_layout(struct nor_flash *f, const struct sim_platform *plat, struct fota_layout *l)
{
    uint32_t base = sim_pt_offset(plat);
    uint8_t tbl[FOTA_PT_MAX_LEN];
    uint8_t md5[16];
    uint32_t i;
    int rc, done = 0;

    if (!f || !l)
        return FOTA_ERR_PARAM;
    fota_layout_init(l);
    l->pt_offset = base;
    if (plat && plat->journal_label)
        snprintf(l->journal_label, sizeof l->journal_label, "%s", plat->journal_label);
    for (i = 0; i < FOTA_PT_MAX_LEN / FOTA_PT_ENTRY_LEN && !done; i++) {
        uint8_t *e = tbl + i * FOTA_PT_ENTRY_LEN;
        rc = nor_read(f, base + i * FOTA_PT_ENTRY_LEN, e, FOTA_PT_ENTRY_LEN);
        if (rc)
            return rc;
        rc = fota_layout_add(l, e, &done);
        if (rc)
            return FOTA_ERR_PTABLE;
        /* As esp_partition_table_verify: an MD5 entry covers every entry
         * before it (and an MD5 entry first in the table is refused). */
        if (!done && e[0] == 0xEB && e[1] == 0xEB) {
            if (i == 0)
                return FOTA_ERR_PTABLE;
            if (mbedtls_md5_ret(tbl, i * FOTA_PT_ENTRY_LEN, md5) != 0)
                return FOTA_ERR_CRYPTO;
            if (memcmp(md5, e + 16, 16) != 0)
                return FOTA_ERR_PTABLE;
        }
    }
    if (l->entries == 0)
        return FOTA_ERR_PTABLE; /* blank or erased table */
    return fota_layout_finish(l, f->size) ? FOTA_ERR_PTABLE : FOTA_OK;
}

int sim_boot_read_otadata(struct nor_flash *f, const struct fota_layout *l,
                          struct fota_ota_entry e[2])
{
    uint8_t b[FOTA_OTA_ENTRY_LEN];
    unsigned i;
    int rc;

    if (!f || !l || !e)
        return FOTA_ERR_PARAM;
    for (i = 0; i < 2; i++) {
        memset(b, 0xFF, sizeof b);
        if (l->otadata_size) {
            rc = nor_read(f, l->otadata_offset + i * FOTA_SECTOR_SIZE, b, sizeof b);
            if (rc)
                return rc;
        }
        fota_ota_decode(b, &e[i]);
    }
    return FOTA_OK;
}

/* Rewrite otadata entry i in place, as ESP-IDF's write_otadata(): erase its
 * sector, program the 32 bytes. A cut in between leaves that sector blank
 * (or torn), so the other entry decides the next boot. */
static int write_entry(struct nor_flash *f, const struct fota_layout *l, unsigned i,
                       const struct fota_ota_entry *e)
{
    uint8_t b[FOTA_OTA_ENTRY_LEN];
    uint32_t addr = l->otadata_offset + i * FOTA_SECTOR_SIZE;
    int rc;

    fota_ota_encode(e, b);
    rc = nor_erase(f, addr);
    if (rc)
        return rc;
    return nor_program(f, addr, b, sizeof b);
}

int sim_verify_image(struct nor_flash *f, uint32_t offset, uint32_t size, int chip_id,
                     struct fota_app_info *info, uint32_t *image_len, uint8_t sha256[32])
{
    return sim_verify_image_dec(f, 0, offset, size, chip_id, info, image_len, sha256);
}

int sim_verify_image_dec(struct nor_flash *f, int enc, uint32_t offset, uint32_t size,
                         int chip_id, struct fota_app_info *info, uint32_t *image_len,
                         uint8_t sha256[32])
{
    uint8_t buf[4096], head[FOTA_IMG_HEAD_LEN], calc[32], stored[32], whole[32];
    struct fota_app_info tmp;
    struct fota_img_walk w;
    mbedtls_sha256_context all, upto;
    uint32_t pos = 0, hoff = 0, end = 0;
    int rc, have_calc = 0;

    if (!f || size < FOTA_IMG_HEAD_LEN)
        return f ? FOTA_ERR_TRUNCATED : FOTA_ERR_PARAM;
    rc = nor_read_dec(f, enc, offset, head, sizeof head);
    if (rc)
        return rc;
    rc = fota_img_check_head(head, sizeof head, chip_id, info ? info : &tmp);
    if (rc)
        return rc;

    fota_img_walk_init(&w, size);
    mbedtls_sha256_init(&all);
    mbedtls_sha256_init(&upto);
    if (mbedtls_sha256_starts_ret(&all, 0) != 0) {
        rc = FOTA_ERR_CRYPTO;
        goto out;
    }
    for (;;) {
        uint32_t n = sizeof buf;
        if (w.hash_offset && pos == w.hash_offset && !have_calc) {
            /* [0, hash_offset) is hashed: that is what the image stores */
            mbedtls_sha256_clone(&upto, &all);
            if (mbedtls_sha256_finish_ret(&upto, calc) != 0) {
                rc = FOTA_ERR_CRYPTO;
                goto out;
            }
            have_calc = 1;
        }
        /* Feed no byte past the end of the image: until the last segment
         * header is known, stop at the end of the next header; then stop at
         * the hash and at the end, which is after a secure boot v2
         * signature sector when one follows (the core's rule decides). */
        if (w.total && !end) {
            uint8_t at_sig[2] = {0, 0};
            if (w.sig_offset && w.sig_offset <= size - sizeof at_sig) {
                rc = nor_read(f, offset + w.sig_offset, at_sig, sizeof at_sig);
                if (rc)
                    goto out;
            }
            end = fota_img_walk_end(&w, at_sig);
        }
        if (end) {
            if (pos >= end)
                break;
            if (n > end - pos)
                n = end - pos;
            if (w.hash_offset && pos < w.hash_offset && n > w.hash_offset - pos)
                n = w.hash_offset - pos;
        } else if (w.next_hdr + FOTA_IMG_SEG_HEADER_LEN > pos &&
                   n > w.next_hdr + FOTA_IMG_SEG_HEADER_LEN - pos) {
            n = w.next_hdr + FOTA_IMG_SEG_HEADER_LEN - pos;
        }
        if (n > size - pos)
            n = size - pos;
        if (n == 0)
            break; /* slot ends: fota_img_walk_finish reports truncation */
        rc = nor_read_dec(f, enc, offset + pos, buf, n);
        if (rc)
            goto out;
        rc = fota_img_walk_feed(&w, buf, n);
        if (rc)
            goto out;
        if (mbedtls_sha256_update_ret(&all, buf, n) != 0) {
            rc = FOTA_ERR_CRYPTO;
            goto out;
        }
        pos += n;
    }
    rc = fota_img_walk_finish(&w, &hoff);
    if (rc)
        goto out;
    if (hoff) {
        rc = nor_read_dec(f, enc, offset + hoff, stored, sizeof stored);
        if (rc)
            goto out;
        if (!have_calc || memcmp(calc, stored, sizeof calc) != 0) {
            rc = FOTA_ERR_IMG_HASH;
            goto out;
        }
    }
    if (mbedtls_sha256_finish_ret(&all, whole) != 0) {
        rc = FOTA_ERR_CRYPTO;
        goto out;
    }
    if (sha256)
        memcpy(sha256, whole, sizeof whole);
    if (image_len)
        *image_len = pos;
    rc = FOTA_OK;
out:
    mbedtls_sha256_free(&all);
    mbedtls_sha256_free(&upto);
    return rc;
}

static void slot_name(char *buf, size_t len, int idx)
{
    if (idx == FACTORY_INDEX)
        snprintf(buf, len, "factory");
    else
        snprintf(buf, len, "ota_%d", idx);
}

static int part_of(const struct fota_layout *l, int idx, uint32_t *off, uint32_t *size)
{
    if (idx == FACTORY_INDEX) {
        *off = l->factory_offset;
        *size = l->factory_size;
    } else {
        *off = l->slot_offset[idx];
        *size = l->slot_size[idx];
    }
    return *size != 0;
}

int sim_boot(struct nor_flash *f, const struct sim_platform *plat, int chip_id,
             struct sim_boot_result *r)
{
    struct fota_layout l;
    struct fota_ota_entry e[2];
    char sel[120] = "", name[16], fails[96] = "";
    int rc, i, active = -1, start, order[FOTA_MAX_OTA_SLOTS + 1], norder = 0;
    int have_ota;

    if (!f || !r)
        return FOTA_ERR_PARAM;
    memset(r, 0, sizeof *r);
    r->slot = -1;
    r->ota_state = FOTA_OTA_UNDEFINED;

    rc = sim_read_layout(f, plat, &l);
    if (rc) {
        snprintf(r->why, sizeof r->why, "partition table at 0x%x: %s", sim_pt_offset(plat),
                 fota_strerror(rc));
        return rc;
    }
    if (l.slot_count == 0 && l.factory_size == 0) {
        snprintf(r->why, sizeof r->why, "partition table has no app partition");
        return FOTA_ERR_PTABLE;
    }
    have_ota = l.otadata_size && l.slot_count;
    start = l.factory_size ? FACTORY_INDEX : 0;

    if (have_ota) {
        rc = sim_boot_read_otadata(f, &l, e);
        if (rc)
            return rc;
        /* An entry still PENDING_VERIFY at boot: its app never confirmed. */
        for (i = 0; i < 2; i++) {
            if (fota_ota_valid(&e[i]) && e[i].state == FOTA_OTA_PENDING_VERIFY) {
                e[i].state = FOTA_OTA_ABORTED;
                rc = write_entry(f, &l, (unsigned)i, &e[i]);
                if (rc)
                    return rc;
                r->aborted = 1;
                slot_name(name, sizeof name, (int)fota_ota_slot(e[i].seq, l.slot_count));
                snprintf(sel, sizeof sel, "%s (seq %u) never confirmed -> ABORTED; ", name,
                         (unsigned)e[i].seq);
            }
        }
        active = fota_ota_active(e);
        if (active >= 0) {
            uint32_t was = e[active].state;
            start = (int)fota_ota_slot(e[active].seq, l.slot_count);
            if (was == FOTA_OTA_NEW) {
                e[active].state = FOTA_OTA_PENDING_VERIFY;
                rc = write_entry(f, &l, (unsigned)active, &e[active]);
                if (rc)
                    return rc;
            }
            slot_name(name, sizeof name, start);
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), "otadata seq %u %s%s selects %s",
                     (unsigned)e[active].seq, fota_ota_state_name(was),
                     was == FOTA_OTA_NEW ? " -> PENDING_VERIFY (trial boot)" : "", name);
        } else {
            slot_name(name, sizeof name, start);
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel),
                     "no bootable otadata entry, default %s", name);
        }
    } else {
        slot_name(name, sizeof name, start);
        snprintf(sel, sizeof sel, "no OTA data, default %s", name);
    }

    /* ESP-IDF's order: the selected one, down to ota_0, factory, then up. */
    for (i = start; i >= FACTORY_INDEX; i--)
        order[norder++] = i;
    for (i = start + 1; i < (int)l.slot_count; i++)
        order[norder++] = i;

    for (i = 0; i < norder; i++) {
        uint32_t off, size;
        int idx = order[i];
        if (!part_of(&l, idx, &off, &size))
            continue;
        rc = sim_verify_image_dec(f, plat && plat->flash_encryption, off, size, chip_id,
                                  &r->info, &r->image_len, r->image_sha256);
        if (rc == FOTA_ERR_POWER_LOST)
            return rc;
        if (rc) {
            size_t used = strlen(fails);
            slot_name(name, sizeof name, idx);
            snprintf(fails + used, sizeof fails - used, "%s%s %s", used ? ", " : "", name,
                     fota_errname(rc));
            continue;
        }
        r->slot = idx;
        r->offset = off;
        r->size = size;
        r->fell_back = idx != start;
        if (!r->fell_back && active >= 0)
            r->ota_state = e[active].state;
        slot_name(name, sizeof name, idx);
        if (r->fell_back)
            snprintf(r->why, sizeof r->why, "booted %s, fell back: %s; failed: %s", name, sel,
                     fails);
        else
            snprintf(r->why, sizeof r->why, "booted %s: %s", name, sel);
        return FOTA_OK;
    }
    memset(&r->info, 0, sizeof r->info);
    r->image_len = 0;
    memset(r->image_sha256, 0, sizeof r->image_sha256);
    snprintf(r->why, sizeof r->why, "no bootable image: %s; failed: %s", sel,
             fails[0] ? fails : "no app partition to try");
    return FOTA_ERR_NO_SLOT;
}
