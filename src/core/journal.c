/*
 * journal.c - codec of the resume journal record (format in journal.h), and
 * the anti-rollback floor it carries a copy of. The bytes come back from
 * flash, so everything is checked: a record that does not decode is an
 * error, never trusted.
 */
#include "journal.h"
#include "le.h"

void fota_j_encode(const struct fota_jrec *r, uint8_t b[FOTA_JOURNAL_LEN])
{
    fota_fill(b, 0, FOTA_JOURNAL_LEN);
    fota_put_le32(b, FOTA_J_MAGIC);
    b[4] = FOTA_J_VERSION;
    b[5] = r->phase;
    b[6] = r->target;
    b[7] = (uint8_t)((r->switches & 0x7Fu) | (r->untried_reported ? FOTA_J_UNTRIED_REPORTED : 0u));
    fota_put_le32(b + 8, r->release);
    fota_put_le32(b + 12, r->size);
    fota_put_le32(b + 16, r->chunk_size);
    fota_put_le32(b + 20, r->committed);
    fota_copy(b + 24, r->sha256, 32);
    fota_put_le32(b + 56, r->min_secure);
    b[60] = r->encoding;
    b[61] = r->window_log2;
    fota_put_le32(b + 64, r->patch_size);
    fota_put_le32(b + 68, r->in_off);
    fota_put_le32(b + 72, r->rel);
    fota_put_le32(b + 76, r->base_size);
    fota_copy(b + 80, r->patch_sha256, 32);
    fota_put_le32(b + 112, r->add);
    fota_put_le32(b + 124, fota_crc32(0, b, 124));
}

void fota_j_set_point(uint8_t b[FOTA_JOURNAL_LEN], uint32_t committed, uint32_t in_off,
                      uint32_t rel, uint32_t add, uint8_t window_log2, uint32_t base_size)
{
    fota_put_le32(b + 112, add);
    fota_put_le32(b + 20, committed);
    b[61] = window_log2;
    fota_put_le32(b + 68, in_off);
    fota_put_le32(b + 72, rel);
    fota_put_le32(b + 76, base_size);
    fota_put_le32(b + 124, fota_crc32(0, b, 124));
}

int fota_j_decode(const uint8_t b[FOTA_JOURNAL_LEN], struct fota_jrec *r)
{
    uint32_t i;

    fota_fill(r, 0, sizeof *r);
    for (i = 0; i < FOTA_JOURNAL_LEN && b[i] == 0xFF; i++)
        ;
    if (i == FOTA_JOURNAL_LEN)
        return FOTA_OK; /* never written */
    if (fota_le32(b) != FOTA_J_MAGIC || b[4] != FOTA_J_VERSION ||
        fota_le32(b + 124) != fota_crc32(0, b, 124) || b[5] > FOTA_J_ROLLED_BACK ||
        b[60] > FOTA_ENC_DELTA)
        return FOTA_ERR_JOURNAL;
    r->phase = b[5];
    r->target = b[6];
    r->switches = (uint8_t)(b[7] & 0x7Fu);
    r->untried_reported = (uint8_t)((b[7] & FOTA_J_UNTRIED_REPORTED) != 0);
    r->release = fota_le32(b + 8);
    r->size = fota_le32(b + 12);
    r->chunk_size = fota_le32(b + 16);
    r->committed = fota_le32(b + 20);
    fota_copy(r->sha256, b + 24, 32);
    r->min_secure = fota_le32(b + 56);
    r->encoding = b[60];
    r->window_log2 = b[61];
    r->patch_size = fota_le32(b + 64);
    r->in_off = fota_le32(b + 68);
    r->rel = fota_le32(b + 72);
    r->base_size = fota_le32(b + 76);
    fota_copy(r->patch_sha256, b + 80, 32);
    r->add = fota_le32(b + 112);
    if (r->committed > r->size || (r->encoding && r->in_off > r->patch_size))
        return FOTA_ERR_JOURNAL;
    return FOTA_OK;
}

uint32_t fota_j_floor_load(const struct fota_config *c, uint32_t journal_floor)
{
    uint32_t floor = journal_floor, stored = 0;
    if (c->secure_version_floor > floor)
        floor = c->secure_version_floor;
    if (c->floor_load && c->floor_load(c, &stored) == FOTA_OK && stored > floor)
        floor = stored;
    return floor;
}

int fota_j_floor_save(const struct fota_config *c, uint32_t floor)
{
    return c->floor_save ? c->floor_save(c, floor) : FOTA_OK;
}
