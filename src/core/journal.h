/*
 * journal.h - the resume journal: what libfota keeps in the port's state
 * store so that an update survives a reboot. One 64-byte record, declared
 * here and nowhere else, read and written byte by byte (FOTA_JOURNAL_LEN =
 * 128 bytes since format 2, which added the patch fields at 60..111):
 *
 *   off size field
 *   0   4    magic "FOTJ" (0x4A544F46 LE)
 *   4   1    format version (2)
 *   5   1    phase: 0 none, 1 downloading, 2 installed (boot slot switched),
 *            3 rolled back (the image never confirmed)
 *   6   1    target slot (ota index)
 *   7   1    bits 0-6: boot switches done for this image (bounded);
 *            bit 7: the image was seen booting without a trial (no
 *            rollback bootloader) and that was reported to the server
 *   8   4    release id
 *   12  4    image size
 *   16  4    chunk size
 *   20  4    committed: bytes [0, committed) of the image are in the slot
 *            (from verified chunks, or made by the patcher from them);
 *            always a multiple of the sector size (or the image size)
 *   24  32   image SHA-256
 *   56  4    highest secure_version confirmed on this device (kept in
 *            every record: the anti-rollback floor; a copy only: the port's
 *            floor store, fota_config.floor_load/floor_save, keeps it apart
 *            from the journal, so a journal lost or corrupt never lowers it)
 *   60  1    encoding of the download (FOTA_ENC_*)
 *   61  1    patch window_log2 (its header's)
 *   62  2    reserved (0)
 *   64  4    patch size (0 for a full image)
 *   68  4    patch bytes consumed at committed (fota_patch_point.in_off)
 *   72  4    COPY offset at committed (fota_patch_point.rel)
 *   76  4    base image size (the patch header's)
 *   80  32   patch SHA-256
 *   112 4    ADDW addend at committed (fota_patch_point.add)
 *   116 8    reserved (0)
 *   124 4    CRC-32 of bytes 0..123
 */
#ifndef FOTA_JOURNAL_H
#define FOTA_JOURNAL_H

#include "fota/fota.h"

#define FOTA_J_MAGIC       0x4A544F46u
#define FOTA_J_VERSION     2u
#define FOTA_J_NONE        0u
#define FOTA_J_DOWNLOADING 1u
#define FOTA_J_INSTALLED   2u
#define FOTA_J_ROLLED_BACK 3u
#define FOTA_J_UNTRIED_REPORTED 0x80u /* byte 7 */

struct fota_jrec {
    uint8_t  phase;
    uint8_t  target;
    uint8_t  switches;
    uint32_t release;
    uint32_t size;
    uint32_t chunk_size;
    uint32_t committed;
    uint8_t  sha256[32];
    uint32_t min_secure;
    uint8_t  encoding;
    uint8_t  window_log2;
    uint32_t patch_size;
    uint32_t in_off;
    uint32_t rel;
    uint32_t base_size;
    uint8_t  patch_sha256[32];
    uint32_t add;
    uint8_t  untried_reported;  /* byte 7 bit 7 */
};

typedef char fota_j_size_check[(FOTA_JOURNAL_LEN == 128u) ? 1 : -1];

void fota_j_encode(const struct fota_jrec *r, uint8_t b[FOTA_JOURNAL_LEN]);

/* A patch download's resume point written into an encoded record b in
 * place (fields 20, 61, 68, 72, 76, 112 and the CRC), so the engine need not
 * decode the record on the stack of the chunk path. */
void fota_j_set_point(uint8_t b[FOTA_JOURNAL_LEN], uint32_t committed, uint32_t in_off,
                      uint32_t rel, uint32_t add, uint8_t window_log2, uint32_t base_size);

/* FOTA_OK with *r filled; a blank record (never saved) decodes as phase
 * NONE. FOTA_ERR_JOURNAL when magic, version, CRC or a field is wrong. */
int fota_j_decode(const uint8_t b[FOTA_JOURNAL_LEN], struct fota_jrec *r);

/* The anti-rollback floor at power-on: the largest of journal_floor (the
 * journal's copy, 0 when the journal is blank or corrupt), the port's floor
 * store (c->floor_load, when the port has one; an error there leaves the
 * other two) and c->secure_version_floor. */
uint32_t fota_j_floor_load(const struct fota_config *c, uint32_t journal_floor);

/* Record a raised floor in the port's floor store before the journal gets
 * its copy (FOTA_OK without a floor store). */
int fota_j_floor_save(const struct fota_config *c, uint32_t floor);

#endif
