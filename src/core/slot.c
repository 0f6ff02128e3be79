/*
 * slot.c - the update partition on flash: the erase-ahead writer and the
 * whole-partition read-back check before a boot switch, both by offset
 * inside the partition through the port's part_* callbacks. engine.c
 * decides when each happens; this file only knows how (invariants 3 and 4
 * there). Otadata is not written here: the port's boot_* callbacks do it.
 */
#include "engine.h"
#include "fmt.h"
#include "le.h"

static int all_ff(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return 0;
    return 1;
}

/* ---- slot read-back (invariant 4) ---------------------------------------- */

/* SHA-256 of [0, len) of p into out, through f->buf. */
static int hash_slot(struct fota *f, const struct fota_part *p, uint32_t len, uint8_t out[32])
{
    const struct fota_config *c = f->cfg;
    uint32_t off, n;
    int rc = c->sha256_start(c, f->hash.bytes);
    for (off = 0; rc == FOTA_OK && off < len; off += n) {
        n = len - off < FOTA_CHUNK_MAX ? len - off : FOTA_CHUNK_MAX;
        rc = c->part_read(c, p, off, f->buf, n);
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
int fota_slot_verify(struct fota *f, const struct fota_part *p, uint32_t size,
                     const uint8_t sha[32])
{
    const struct fota_config *c = f->cfg;
    uint32_t slot = p->index, off, n, hoff = 0, lim;
    struct fota_img_walk w;
    uint8_t got[32], want[32];
    char hx[65];
    int rc;

    rc = hash_slot(f, p, size, got);
    if (rc)
        return rc;
    if (fota_ct_diff(got, sha, 32)) {
        fota_hex(got, 32, hx);
        fota_log(f, FOTA_LOG_ERROR, "verify: slot ota_%u SHA-256 is %s, not the release's",
                 slot, hx);
        return FOTA_ERR_SHA256;
    }
    fota_img_walk_init(&w, p->size);
    rc = c->sha256_start(c, f->hash.bytes);
    for (off = 0; rc == FOTA_OK && off < size; off += n) {
        n = size - off < FOTA_CHUNK_MAX ? size - off : FOTA_CHUNK_MAX;
        rc = c->part_read(c, p, off, f->buf, n);
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
        rc = c->part_read(c, p, hoff, want, 32);
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
        fota_log(f, FOTA_LOG_ERROR, "verify: slot ota_%u: %s", slot, fota_strerror(rc));
    return rc;
}

/*
 * Program a verified chunk (invariants 1 and 3). Erasing runs ahead of the
 * write position in bounded steps: the first write at or past erased_until
 * erases a whole 64 KB block when the write is block aligned and at least
 * four more sectors of the image will land in it (one block erase costs
 * about as much as 3-4 sector erases on NOR), else one sector. Every sector
 * erased was at or past the journal's committed point, so nothing verified
 * is ever erased. The port gets the range (part_erase) and erases it its
 * own way: a 64 KB range as one block erase where it can. App partitions
 * are 64 KB aligned, so an offset inside one is block aligned exactly when
 * the flash address is.
 *
 * Pages of the chunk that are all 0xFF are not programmed: erased flash
 * already reads 0xFF. Not on an encrypted partition: there erased flash
 * does not decrypt to 0xFF, so every page is written (encrypted).
 */
int fota_slot_write(struct fota *f, uint32_t off, uint32_t len)
{
    return fota_slot_program(f, off, f->buf, len);
}

int fota_slot_program(struct fota *f, uint32_t off, const uint8_t *buf, uint32_t len)
{
    const struct fota_config *c = f->cfg;
    const struct fota_part *part = &f->update;
    uint32_t p, q, k, at, n;
    int rc;

    if (off + len > f->erased_until) {
        at = off > f->erased_until ? off : f->erased_until;
        at -= at % FOTA_SECTOR_SIZE;
        n = at % FOTA_BLOCK_SIZE == 0 && at + FOTA_BLOCK_SIZE <= part->size &&
                    f->offer.size > at + 3u * FOTA_SECTOR_SIZE
                ? FOTA_BLOCK_SIZE
                : FOTA_SECTOR_SIZE;
        rc = c->part_erase(c, part, at, n);
        if (rc)
            return rc;
        f->erased_until = at + n;
    }
    if (part->encrypted)
        return c->part_write(c, part, off, buf, len);
    /* program runs of pages that hold something other than 0xFF */
    for (p = 0; p < len; p = q) {
        for (; p < len; p += k) {
            k = FOTA_PAGE_SIZE - (off + p) % FOTA_PAGE_SIZE;
            k = k < len - p ? k : len - p;
            if (!all_ff(buf + p, k))
                break;
        }
        for (q = p; q < len; q += k) {
            k = FOTA_PAGE_SIZE - (off + q) % FOTA_PAGE_SIZE;
            k = k < len - q ? k : len - q;
            if (all_ff(buf + q, k))
                break;
        }
        if (q > p) {
            rc = c->part_write(c, part, off + p, buf + p, q - p);
            if (rc)
                return rc;
        }
    }
    return FOTA_OK;
}

/*
 * The running image's length and appended SHA-256 (the identity a delta's
 * base is named by), walked through part_read. Each read stays inside what
 * the walk knows is image (the image header, a segment's data, the next
 * segment header, then up to the end), so no byte after the image is fed.
 */
int fota_slot_base(struct fota *f)
{
    const struct fota_config *c = f->cfg;
    struct fota_img_walk w;
    uint32_t off = 0, lim, n, hoff = 0;
    int rc = FOTA_OK;

    fota_img_walk_init(&w, f->running.size);
    while (!rc && (!w.total || off < w.total)) {
        if (w.total)
            lim = w.total;
        else if (off < FOTA_IMG_HEADER_LEN)
            lim = FOTA_IMG_HEADER_LEN;
        else if (off < w.seg_end)
            lim = w.seg_end;
        else
            lim = w.next_hdr + FOTA_IMG_SEG_HEADER_LEN;
        n = lim > off ? lim - off : 1u;
        n = n < FOTA_CHUNK_MAX ? n : FOTA_CHUNK_MAX;
        if (off >= f->running.size || n > f->running.size - off)
            rc = FOTA_ERR_IMG_FORMAT;
        if (!rc)
            rc = c->part_read(c, &f->running, off, f->buf, n);
        if (!rc)
            rc = fota_img_walk_feed(&w, f->buf, n);
        off += n;
    }
    if (!rc)
        rc = fota_img_walk_finish(&w, &hoff);
    if (!rc && !hoff)
        rc = FOTA_ERR_IMG_FORMAT; /* no appended hash: nothing names it */
    if (!rc)
        rc = c->part_read(c, &f->running, hoff, f->base_sha256, 32);
    if (rc) {
        fota_log(f, FOTA_LOG_WARN, "base: running image in ota_%u not walkable (%s): no delta",
                 (uint32_t)f->running.index, fota_strerror(rc));
        f->base_size = 0;
        return rc;
    }
    f->base_size = hoff + 32u;
    return FOTA_OK;
}
