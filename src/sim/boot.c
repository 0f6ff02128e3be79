/*
 * boot.c - ESP-IDF second-stage bootloader model (see boot.h).
 *
 * Mirrors bootloader_utility.c (ESP-IDF v5.4) with rollback enabled:
 * get_selected_boot_partition() picks the slot from otadata and rewrites the
 * entry in place (erase + program of that sector) when it turns NEW into
 * PENDING_VERIFY or PENDING_VERIFY into ABORTED (every entry whose state
 * reads PENDING_VERIFY, valid or not); load_boot_image() verifies the image
 * and, if it fails, tries start-1 down to ota_0, then factory, then start+1
 * upwards; with no factory app and no entry holding a seq, the OTA slot that
 * boots gets {seq = slot + 1, VALID} written into sector 0
 * (set_actual_ota_seq). All reads go to the flash. tests/oracle compares
 * every decision and every byte written back with ESP-IDF's own code.
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
 * (or torn), so the other entry decides the next boot. With keep_crc the crc
 * field is written back as the flash holds it: the bootloader writes back
 * the struct it read with only the state changed, so an entry whose crc
 * does not match stays one (found by the bootloader oracle, tests/oracle). */
static int write_entry(struct nor_flash *f, const struct fota_layout *l, unsigned i,
                       const struct fota_ota_entry *e, int keep_crc)
{
    uint8_t b[FOTA_OTA_ENTRY_LEN], raw[FOTA_OTA_ENTRY_LEN];
    uint32_t addr = l->otadata_offset + i * FOTA_SECTOR_SIZE;
    int rc;

    fota_ota_encode(e, b);
    if (keep_crc) {
        rc = nor_read(f, addr, raw, sizeof raw);
        if (rc)
            return rc;
        memcpy(b + FOTA_OTA_ENTRY_LEN - 4, raw + FOTA_OTA_ENTRY_LEN - 4, 4);
    }
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

/* ESP-IDF's ota_has_initial_contents (bootloader_utility.c, v5.4.4), read
 * after the PENDING_VERIFY entries became ABORTED: neither entry can be
 * selected (seq blank, INVALID or ABORTED) and neither holds a seq with its
 * crc (blank or torn). With no factory app the bootloader then writes the
 * first entry itself once an OTA slot boots. */
static int initial_contents(const struct fota_ota_entry e[2])
{
    int i;
    for (i = 0; i < 2; i++) {
        int unselectable = e[i].seq == FOTA_OTA_SEQ_BLANK || e[i].state == FOTA_OTA_INVALID ||
                           e[i].state == FOTA_OTA_ABORTED;
        if (!unselectable || fota_ota_valid(&e[i]))
            return 0;
    }
    return 1;
}

int sim_boot(struct nor_flash *f, const struct sim_platform *plat, int chip_id,
             struct sim_boot_result *r)
{
    struct fota_layout l;
    struct fota_ota_entry e[2];
    char sel[120] = "", name[16], fails[96] = "";
    int rc, i, active = -1, start, order[FOTA_MAX_OTA_SLOTS + 1], norder = 0;
    int have_ota, initial = 0, wrote_first = 0;

    if (!f || !r)
        return FOTA_ERR_PARAM;
    memset(r, 0, sizeof *r);
    r->slot = -1;
    r->entry = -1;
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
        /* An entry still PENDING_VERIFY at boot: its app never confirmed.
         * As ESP-IDF, every entry whose state reads PENDING_VERIFY is
         * rewritten, whether its seq and crc are valid or not. */
        for (i = 0; i < 2 && !(plat && plat->no_rollback); i++) {
            if (e[i].state == FOTA_OTA_PENDING_VERIFY) {
                int was_valid = fota_ota_valid(&e[i]);
                e[i].state = FOTA_OTA_ABORTED;
                rc = write_entry(f, &l, (unsigned)i, &e[i], 1);
                if (rc)
                    return rc;
                if (!was_valid)
                    continue;
                r->aborted = 1;
                slot_name(name, sizeof name, (int)fota_ota_slot(e[i].seq, l.slot_count));
                snprintf(sel, sizeof sel, "%s (seq %u) never confirmed -> ABORTED; ", name,
                         (unsigned)e[i].seq);
            }
        }
        active = fota_ota_active(e);
        r->entry = active >= 0 ? active : -1;
        if (active >= 0) {
            uint32_t was = e[active].state;
            start = (int)fota_ota_slot(e[active].seq, l.slot_count);
            /* without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE a NEW entry
             * boots as it is: no trial, nothing will roll it back */
            if (was == FOTA_OTA_NEW && !(plat && plat->no_rollback)) {
                e[active].state = FOTA_OTA_PENDING_VERIFY;
                rc = write_entry(f, &l, (unsigned)active, &e[active], 1);
                if (rc)
                    return rc;
            }
            slot_name(name, sizeof name, start);
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), "otadata seq %u %s%s selects %s",
                     (unsigned)e[active].seq, fota_ota_state_name(was),
                     was != FOTA_OTA_NEW               ? ""
                     : plat && plat->no_rollback ? " (no rollback: not a trial)"
                                                 : " -> PENDING_VERIFY (trial boot)",
                     name);
        } else {
            initial = !l.factory_size && initial_contents(e);
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
        if (initial && idx != FACTORY_INDEX) {
            /* ESP-IDF's set_actual_ota_seq: the slot that boots gets the
             * entry it would have had, {seq = idx + 1, VALID}, in sector 0 */
            struct fota_ota_entry first;
            memset(&first, 0xFF, sizeof first);
            first.seq = (uint32_t)idx + 1u;
            first.state = FOTA_OTA_VALID;
            rc = write_entry(f, &l, 0, &first, 0);
            if (rc)
                return rc;
            e[0] = first;
            active = 0;
            wrote_first = 1;
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), "; wrote seq %u valid",
                     (unsigned)first.seq);
        }
        r->slot = idx;
        r->offset = off;
        r->size = size;
        r->fell_back = idx != start;
        if ((!r->fell_back || wrote_first) && active >= 0)
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
