/*
 * fstore.c - atomic record store on the two sectors of a data partition (see
 * fstore.h), through the port's part_* callbacks, and the anti-rollback
 * floor record a port may keep in a second store.
 */
#include "fota/fstore.h"
#include "le.h"

#define FS_MAGIC 0x31525346u /* "FSR1" */
#define FS_SLOTS (FOTA_SECTOR_SIZE / FOTA_FSTORE_SLOT)
#define FS_REC   (8u + FOTA_JOURNAL_LEN + 4u)

/* Offset inside the store's partition. */
static uint32_t slot_addr(unsigned sec, unsigned i)
{
    return sec * FOTA_SECTOR_SIZE + i * FOTA_FSTORE_SLOT;
}

static int is_blank(const uint8_t *b, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0xFF)
            return 0;
    return 1;
}

static int rec_ok(const uint8_t *b)
{
    return fota_le32(b) == FS_MAGIC && fota_le32(b + 8 + FOTA_JOURNAL_LEN) ==
                                           fota_crc32(0, b, 8 + FOTA_JOURNAL_LEN);
}

int fota_fstore_open(struct fota_fstore *s, const struct fota_config *cfg,
                     const struct fota_part *p)
{
    uint8_t b[FS_REC];
    unsigned sec, i;
    uint16_t used[2] = {0, 0};
    int rc;

    s->cfg = cfg;
    s->part = *p;
    s->seq = 0;
    s->sector = 0;
    s->next = 0;
    if (p->size < 2 * FOTA_SECTOR_SIZE)
        return FOTA_ERR_STORE;
    for (sec = 0; sec < 2; sec++) {
        for (i = 0; i < FS_SLOTS; i++) {
            rc = cfg->part_read(cfg, &s->part, slot_addr(sec, i), b, FS_REC);
            if (rc)
                return rc;
            if (!is_blank(b, FS_REC))
                used[sec] = (uint16_t)(i + 1); /* garbage counts as used */
            if (rec_ok(b) && fota_le32(b + 4) > s->seq) {
                s->seq = fota_le32(b + 4);
                s->sector = (uint8_t)sec;
            }
        }
    }
    s->next = used[s->sector];
    return FOTA_OK;
}

int fota_fstore_load(struct fota_fstore *s, uint8_t *buf, uint32_t len)
{
    uint8_t b[FS_REC];
    unsigned i;
    int rc;

    if (len != FOTA_JOURNAL_LEN)
        return FOTA_ERR_PARAM;
    fota_fill(buf, 0xFF, len);
    if (!s->seq)
        return FOTA_OK;
    for (i = 0; i < FS_SLOTS; i++) {
        rc = s->cfg->part_read(s->cfg, &s->part, slot_addr(s->sector, i), b, FS_REC);
        if (rc)
            return rc;
        if (rec_ok(b) && fota_le32(b + 4) == s->seq) {
            fota_copy(buf, b + 8, len);
            return FOTA_OK;
        }
    }
    return FOTA_ERR_STORE; /* the record seen at open is gone */
}

int fota_fstore_save(struct fota_fstore *s, const uint8_t *buf, uint32_t len)
{
    const struct fota_config *c = s->cfg;
    uint8_t b[FS_REC], back[FS_REC];
    unsigned sec = s->sector, i;
    int rc;

    if (len != FOTA_JOURNAL_LEN)
        return FOTA_ERR_PARAM;
    if (s->next >= FS_SLOTS || !s->seq) {
        /* switch sectors: erase the other one; the record in force stays
         * where it is until the new one is written */
        sec = s->seq ? 1u - s->sector : 0u;
        rc = c->part_erase(c, &s->part, slot_addr(sec, 0), FOTA_SECTOR_SIZE);
        if (rc)
            return rc;
        i = 0;
    } else {
        i = s->next;
    }
    fota_put_le32(b, FS_MAGIC);
    fota_put_le32(b + 4, s->seq + 1u);
    fota_copy(b + 8, buf, len);
    fota_put_le32(b + 8 + len, fota_crc32(0, b, 8 + len));
    rc = c->part_write(c, &s->part, slot_addr(sec, i), b, FS_REC);
    if (!rc)
        rc = c->part_read(c, &s->part, slot_addr(sec, i), back, FS_REC);
    if (rc)
        return rc;
    if (fota_ct_diff(b, back, FS_REC)) {
        if (sec == s->sector)
            s->next = (uint16_t)(i + 1); /* that slot is spoiled: skip it */
        return FOTA_ERR_IO;
    }
    s->seq++;
    s->sector = (uint8_t)sec;
    s->next = (uint16_t)(i + 1);
    return FOTA_OK;
}

int fota_fstore_floor_load(struct fota_fstore *s, uint32_t *floor)
{
    uint8_t b[FOTA_JOURNAL_LEN];
    uint32_t i;
    int rc = fota_fstore_load(s, b, sizeof b);
    if (rc)
        return rc;
    *floor = 0;
    if (!s->seq)
        return FOTA_OK; /* never saved */
    for (i = 8; i < sizeof b; i++)
        if (b[i])
            return FOTA_ERR_STORE;
    if (fota_le32(b) != FOTA_FSTORE_FLOOR_MAGIC)
        return FOTA_ERR_STORE;
    *floor = fota_le32(b + 4);
    return FOTA_OK;
}

int fota_fstore_floor_save(struct fota_fstore *s, uint32_t floor)
{
    uint8_t b[FOTA_JOURNAL_LEN];
    uint32_t now = 0;
    int rc = fota_fstore_floor_load(s, &now);
    if (rc == FOTA_OK && floor <= now)
        return FOTA_OK;
    fota_fill(b, 0, sizeof b);
    fota_put_le32(b, FOTA_FSTORE_FLOOR_MAGIC);
    fota_put_le32(b + 4, floor);
    return fota_fstore_save(s, b, sizeof b);
}
