/*
 * slot.c - the update slot and otadata on flash: the erase-ahead writer, the
 * whole-slot read-back check before a boot switch, and the otadata writes of
 * the switch and of confirm. Split from engine.c, which decides when each
 * happens; this file only knows how (see invariants 3, 4 and 5 there).
 */
#include "slot.h"
#include "fmt.h"
#include "le.h"

static uint32_t sector(const struct fota *f)
{
    return f->cfg->sector_size;
}

static int all_ff(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return 0;
    return 1;
}

int fota_slot_read_otadata(struct fota *f, struct fota_ota_entry e[2])
{
    unsigned i;
    int rc;
    for (i = 0; i < 2; i++) {
        rc = f->cfg->flash_read(f->cfg, f->layout.otadata_offset + i * sector(f), f->buf,
                                FOTA_OTA_ENTRY_LEN);
        if (rc)
            return rc;
        fota_ota_decode(f->buf, &e[i]);
    }
    return FOTA_OK;
}

/* Rewrite one otadata sector with entry e: erase, then program 32 bytes. */
int fota_slot_write_otadata(struct fota *f, unsigned sec, const struct fota_ota_entry *e)
{
    uint32_t addr = f->layout.otadata_offset + sec * sector(f);
    int rc = f->cfg->flash_erase(f->cfg, addr);
    if (rc)
        return rc;
    fota_ota_encode(e, f->buf);
    return f->cfg->flash_program(f->cfg, addr, f->buf, FOTA_OTA_ENTRY_LEN);
}

/* ---- slot read-back (invariant 4) ---------------------------------------- */

/* SHA-256 of [0, len) of the slot into out, through f->buf. */
static int hash_slot(struct fota *f, uint32_t base, uint32_t len, uint8_t out[32])
{
    const struct fota_config *c = f->cfg;
    uint32_t off, n;
    int rc = c->sha256_start(c, f->hash.bytes);
    for (off = 0; rc == FOTA_OK && off < len; off += n) {
        n = len - off < FOTA_CHUNK_MAX ? len - off : FOTA_CHUNK_MAX;
        rc = c->flash_read(c, base + off, f->buf, n);
        if (!rc)
            rc = c->sha256_update(c, f->hash.bytes, f->buf, n);
    }
    if (!rc)
        rc = c->sha256_finish(c, f->hash.bytes, out);
    return rc;
}

/* Whole-slot check before a boot switch, in two read-back passes (the port
 * gives one hash state at a time): the release SHA-256 over [0, size); then
 * the image walk (head, segments, checksum) and, in the same pass, the
 * SHA-256 of [0, hash_offset) against the appended hash. hash_offset is
 * known as soon as the last segment header has been walked, which is before
 * the bytes it bounds, so each block is walked first and hashed up to it. */
int fota_slot_verify(struct fota *f, unsigned slot, uint32_t size, const uint8_t sha[32])
{
    const struct fota_config *c = f->cfg;
    uint32_t base = f->layout.slot_offset[slot], off, n, hoff = 0, lim;
    struct fota_img_walk w;
    uint8_t got[32], want[32];
    char hx[65];
    int rc;

    rc = hash_slot(f, base, size, got);
    if (rc)
        return rc;
    if (fota_ct_diff(got, sha, 32)) {
        fota_hex(got, 32, hx);
        fota_log(f, FOTA_LOG_ERROR, "verify: slot ota_%u SHA-256 is %s, not the release's",
                 (uint32_t)slot, hx);
        return FOTA_ERR_SHA256;
    }
    fota_img_walk_init(&w, f->layout.slot_size[slot]);
    rc = c->sha256_start(c, f->hash.bytes);
    for (off = 0; rc == FOTA_OK && off < size; off += n) {
        n = size - off < FOTA_CHUNK_MAX ? size - off : FOTA_CHUNK_MAX;
        rc = c->flash_read(c, base + off, f->buf, n);
        if (!rc && off == 0)
            rc = fota_img_check_head(f->buf, n, c->chip_id, 0);
        if (!rc)
            rc = fota_img_walk_feed(&w, f->buf, n);
        /* hash what lies below the appended hash (all of it while unknown) */
        lim = w.segs_end ? (w.hash_offset ? w.hash_offset : size) : off + n;
        if (!rc && lim > off)
            rc = c->sha256_update(c, f->hash.bytes, f->buf, lim - off < n ? lim - off : n);
    }
    if (!rc)
        rc = c->sha256_finish(c, f->hash.bytes, got);
    if (!rc)
        rc = fota_img_walk_finish(&w, &hoff);
    if (!rc && hoff) {
        rc = c->flash_read(c, base + hoff, want, 32);
        if (!rc && fota_ct_diff(got, want, 32))
            rc = FOTA_ERR_IMG_HASH;
    }
    /* The slot matched the release's SHA-256, so a walk error is the
     * release's own and no download fixes it; but the walk shares two codes
     * with the wire parser (TOO_LARGE: bytes after the image and no valid
     * signature sector; TRUNCATED: the image needs more bytes than the
     * release has), which fota_run retries: it would download the release
     * forever. Report them as a malformed image. */
    if (rc == FOTA_ERR_TOO_LARGE || rc == FOTA_ERR_TRUNCATED) {
        fota_log(f, FOTA_LOG_ERROR, "verify: slot ota_%u: the release's %u bytes %s", (uint32_t)slot,
                 size, rc == FOTA_ERR_TRUNCATED ? "end inside the image"
                                                : "go on past the image and are no signature sector");
        return FOTA_ERR_IMG_FORMAT;
    }
    if (rc)
        fota_log(f, FOTA_LOG_ERROR, "verify: slot ota_%u: %s", (uint32_t)slot, fota_strerror(rc));
    return rc;
}

/* Write NEW for slot into the otadata sector not in force (invariant 5). */
int fota_slot_switch(struct fota *f, unsigned slot)
{
    struct fota_ota_entry e[2], n;
    unsigned sec;
    int rc = fota_slot_read_otadata(f, e);
    if (rc)
        return rc;
    rc = fota_ota_next(e, slot, f->layout.slot_count, &n, &sec);
    if (rc) {
        fota_log(f, FOTA_LOG_ERROR, "boot: otadata seq %u/%u leaves no room for a new entry",
                 e[0].seq, e[1].seq);
        return rc;
    }
    rc = fota_slot_write_otadata(f, sec, &n);
    if (!rc)
        fota_log(f, FOTA_LOG_INFO, "boot: otadata[%u] seq %u selects ota_%u (NEW)",
                 (uint32_t)sec, n.seq, (uint32_t)slot);
    return rc;
}

/*
 * Program a verified chunk (invariants 1 and 3). Erasing runs ahead of the
 * write position in bounded steps: the first write at or past erased_until
 * erases a whole 64 KB block when the write is block aligned and at least
 * four more sectors of the image will land in it (one block erase costs
 * about as much as 3-4 sector erases on NOR), else one sector. Every sector
 * erased was at or past the journal's committed point, so nothing verified
 * is ever erased. Pages of the chunk that are all 0xFF are not programmed:
 * erased flash already reads 0xFF.
 */
int fota_slot_write(struct fota *f, uint32_t off, uint32_t len)
{
    const struct fota_config *c = f->cfg;
    uint32_t base = f->layout.slot_offset[f->target_slot];
    uint32_t slot_end = f->layout.slot_size[f->target_slot];
    uint32_t p, q, k;
    int rc;

    if (off + len > f->erased_until) {
        uint32_t at = off > f->erased_until ? off : f->erased_until;
        at -= at % sector(f);
        if (c->flash_erase_block && (base + at) % FOTA_BLOCK_SIZE == 0 &&
            at + FOTA_BLOCK_SIZE <= slot_end && f->offer.size > at + 3u * sector(f)) {
            rc = c->flash_erase_block(c, base + at);
            f->erased_until = at + FOTA_BLOCK_SIZE;
        } else {
            rc = c->flash_erase(c, base + at);
            f->erased_until = at + sector(f);
        }
        if (rc)
            return rc;
    }
    /* program runs of pages that hold something other than 0xFF */
    for (p = 0; p < len; p = q) {
        for (; p < len; p += k) {
            k = FOTA_PAGE_SIZE - (off + p) % FOTA_PAGE_SIZE;
            k = k < len - p ? k : len - p;
            if (!all_ff(f->buf + p, k))
                break;
        }
        for (q = p; q < len; q += k) {
            k = FOTA_PAGE_SIZE - (off + q) % FOTA_PAGE_SIZE;
            k = k < len - q ? k : len - q;
            if (all_ff(f->buf + q, k))
                break;
        }
        if (q > p) {
            rc = c->flash_program(c, base + off + p, f->buf + p, q - p);
            if (rc)
                return rc;
        }
    }
    return FOTA_OK;
}
