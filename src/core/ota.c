/*
 * ota.c - partition table and otadata codecs and ESP-IDF's boot-slot rules
 * (see include/fota/esp_ota.h). Pure functions over bytes, so the simulated
 * bootloader and the core apply exactly the same rules.
 */
#include "fota/esp_ota.h"
#include "fota/error.h"
#include "le.h"

/* ---- partition table ---------------------------------------------------- */

int fota_pt_decode(const uint8_t e[FOTA_PT_ENTRY_LEN], struct fota_partition *p, int *kind)
{
    uint16_t magic = fota_le16(e);
    unsigned i;

    if (magic == 0xFFFFu) {
        *kind = FOTA_PT_ENTRY_END;
        return FOTA_OK;
    }
    if (magic == FOTA_PT_MD5_MAGIC) {
        *kind = FOTA_PT_ENTRY_MD5;
        return FOTA_OK;
    }
    if (magic != FOTA_PT_MAGIC)
        return FOTA_ERR_PTABLE;
    *kind = FOTA_PT_ENTRY_PART;
    p->type = e[2];
    p->subtype = e[3];
    p->offset = fota_le32(e + 4);
    p->size = fota_le32(e + 8);
    for (i = 0; i < 16 && e[12 + i]; i++)
        p->label[i] = (char)e[12 + i];
    p->label[i] = '\0';
    p->flags = fota_le32(e + 28);
    return FOTA_OK;
}

void fota_pt_encode(const struct fota_partition *p, uint8_t e[FOTA_PT_ENTRY_LEN])
{
    unsigned i;
    fota_put_le16(e, FOTA_PT_MAGIC);
    e[2] = p->type;
    e[3] = p->subtype;
    fota_put_le32(e + 4, p->offset);
    fota_put_le32(e + 8, p->size);
    for (i = 0; i < 16 && p->label[i]; i++)
        e[12 + i] = (uint8_t)p->label[i];
    for (; i < 16; i++)
        e[12 + i] = 0;
    fota_put_le32(e + 28, p->flags);
}

void fota_layout_init(struct fota_layout *l)
{
    static const char jl[] = FOTA_PT_JOURNAL_LABEL;
    fota_fill(l, 0, sizeof *l);
    l->pt_offset = FOTA_PT_OFFSET_DEFAULT;
    fota_copy(l->journal_label, jl, sizeof jl);
}

static int label_is(const char *a, const char *b)
{
    unsigned i;
    for (i = 0; i < 16 && a[i] == b[i] && a[i]; i++)
        ;
    return i == 16 || a[i] == b[i];
}

int fota_layout_add(struct fota_layout *l, const uint8_t e[FOTA_PT_ENTRY_LEN], int *done)
{
    struct fota_partition p;
    int kind, rc;

    *done = 0;
    if (l->entries >= FOTA_PT_MAX_LEN / FOTA_PT_ENTRY_LEN) {
        *done = 1;
        return FOTA_OK;
    }
    rc = fota_pt_decode(e, &p, &kind);
    if (rc)
        return rc;
    if (kind == FOTA_PT_ENTRY_END) {
        *done = 1;
        return FOTA_OK;
    }
    l->entries++;
    if (kind == FOTA_PT_ENTRY_MD5)
        return FOTA_OK;
    /* untrusted: bound before adding */
    if (p.size == 0 || p.offset % FOTA_SECTOR_SIZE || p.size % FOTA_SECTOR_SIZE ||
        p.offset > 0xFFFFFFFFu - p.size)
        return FOTA_ERR_PTABLE;
    if (p.offset + p.size > l->end)
        l->end = p.offset + p.size;
    if (p.type == FOTA_PT_TYPE_APP) {
        if (p.offset % FOTA_APP_ALIGN)
            return FOTA_ERR_PTABLE;
        if (p.subtype >= FOTA_PT_SUB_OTA_0 && p.subtype < FOTA_PT_SUB_OTA_0 + FOTA_MAX_OTA_SLOTS) {
            unsigned n = p.subtype - FOTA_PT_SUB_OTA_0;
            if (l->slot_size[n])
                return FOTA_ERR_PTABLE; /* duplicate ota_N */
            l->slot_offset[n] = p.offset;
            l->slot_size[n] = p.size;
        } else if (p.subtype == FOTA_PT_SUB_FACTORY && !l->factory_size) {
            l->factory_offset = p.offset;
            l->factory_size = p.size;
        }
    } else if (p.type == FOTA_PT_TYPE_DATA) {
        if (p.subtype == FOTA_PT_SUB_OTADATA) {
            if (l->otadata_size || p.size != 2 * FOTA_SECTOR_SIZE)
                return FOTA_ERR_PTABLE;
            l->otadata_offset = p.offset;
            l->otadata_size = p.size;
        } else if (p.subtype == FOTA_PT_SUB_NVS && !l->nvs_size) {
            l->nvs_offset = p.offset;
            l->nvs_size = p.size;
        }
        if (!l->journal_size && label_is(p.label, l->journal_label)) {
            l->journal_offset = p.offset;
            l->journal_size = p.size;
        }
    }
    return FOTA_OK;
}

static int overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    return as && bs && a < b + bs && b < a + as;
}

int fota_layout_finish(struct fota_layout *l, uint32_t flash_size)
{
    unsigned i, j;

    if (l->end > flash_size)
        return FOTA_ERR_PTABLE;
    for (i = 0; i < FOTA_MAX_OTA_SLOTS && l->slot_size[i]; i++)
        ;
    l->slot_count = (uint8_t)i;
    for (; i < FOTA_MAX_OTA_SLOTS; i++)
        if (l->slot_size[i])
            return FOTA_ERR_PTABLE; /* ota_N numbered with a gap */
    if (l->slot_count && !l->otadata_size)
        return FOTA_ERR_PTABLE;
    /* The regions the OTA logic writes must not overlap each other or the
     * partition table itself. */
    for (i = 0; i < l->slot_count; i++) {
        if (overlaps(l->slot_offset[i], l->slot_size[i], l->otadata_offset, l->otadata_size) ||
            overlaps(l->slot_offset[i], l->slot_size[i], l->nvs_offset, l->nvs_size) ||
            overlaps(l->slot_offset[i], l->slot_size[i], l->journal_offset, l->journal_size) ||
            overlaps(l->slot_offset[i], l->slot_size[i], l->pt_offset, FOTA_SECTOR_SIZE) ||
            overlaps(l->slot_offset[i], l->slot_size[i], l->factory_offset, l->factory_size))
            return FOTA_ERR_PTABLE;
        for (j = i + 1; j < l->slot_count; j++)
            if (overlaps(l->slot_offset[i], l->slot_size[i], l->slot_offset[j], l->slot_size[j]))
                return FOTA_ERR_PTABLE;
    }
    if (overlaps(l->otadata_offset, l->otadata_size, l->pt_offset, FOTA_SECTOR_SIZE) ||
        overlaps(l->otadata_offset, l->otadata_size, l->nvs_offset, l->nvs_size) ||
        overlaps(l->otadata_offset, l->otadata_size, l->journal_offset, l->journal_size) ||
        overlaps(l->journal_offset, l->journal_size, l->pt_offset, FOTA_SECTOR_SIZE) ||
        overlaps(l->journal_offset, l->journal_size, l->nvs_offset, l->nvs_size))
        return FOTA_ERR_PTABLE;
    return FOTA_OK;
}

/* ---- otadata ------------------------------------------------------------ */

uint32_t fota_crc32(uint32_t crc, const uint8_t *data, uint32_t len)
{
    /* Bitwise on purpose: otadata CRCs cover 4 bytes, and a 1 KB table
     * would cost more flash than it saves time. */
    uint32_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

uint32_t fota_ota_seq_crc(uint32_t seq)
{
    uint8_t b[4];
    fota_put_le32(b, seq);
    return fota_crc32(0xFFFFFFFFu, b, 4);
}

void fota_ota_decode(const uint8_t b[FOTA_OTA_ENTRY_LEN], struct fota_ota_entry *e)
{
    e->seq = fota_le32(b);
    fota_copy(e->label, b + 4, 20);
    e->state = fota_le32(b + 24);
    e->crc = fota_le32(b + 28);
}

void fota_ota_encode(const struct fota_ota_entry *e, uint8_t b[FOTA_OTA_ENTRY_LEN])
{
    fota_put_le32(b, e->seq);
    fota_copy(b + 4, e->label, 20);
    fota_put_le32(b + 24, e->state);
    fota_put_le32(b + 28, fota_ota_seq_crc(e->seq));
}

int fota_ota_valid(const struct fota_ota_entry *e)
{
    return e->seq != FOTA_OTA_SEQ_BLANK && e->crc == fota_ota_seq_crc(e->seq);
}

int fota_ota_bootable(const struct fota_ota_entry *e)
{
    return fota_ota_valid(e) && e->state != FOTA_OTA_INVALID && e->state != FOTA_OTA_ABORTED;
}

int fota_ota_active(const struct fota_ota_entry e[2])
{
    int b0 = fota_ota_bootable(&e[0]), b1 = fota_ota_bootable(&e[1]);
    if (b0 && b1)
        return e[0].seq >= e[1].seq ? 0 : 1;
    if (b0)
        return 0;
    if (b1)
        return 1;
    return FOTA_ERR_OTADATA;
}

const char *fota_ota_state_name(uint32_t state)
{
    switch (state) {
    case FOTA_OTA_NEW: return "new";
    case FOTA_OTA_PENDING_VERIFY: return "pending_verify";
    case FOTA_OTA_VALID: return "valid";
    case FOTA_OTA_INVALID: return "invalid";
    case FOTA_OTA_ABORTED: return "aborted";
    case FOTA_OTA_UNDEFINED: return "undefined";
    default: return "unknown";
    }
}

unsigned fota_ota_slot(uint32_t seq, unsigned slot_count)
{
    return slot_count ? (unsigned)((seq - 1u) % slot_count) : 0u;
}

int fota_ota_next(const struct fota_ota_entry cur[2], unsigned slot, unsigned slot_count,
                  struct fota_ota_entry *out, unsigned *sector)
{
    uint32_t max = 0, seq, steps;
    int active = fota_ota_active(cur);
    unsigned i;

    if (slot_count == 0 || slot >= slot_count)
        return FOTA_ERR_PARAM;
    /* The new seq must beat every valid entry, aborted ones included, so the
     * new entry is the one in force; ESP-IDF computes the same but allows a
     * tie with the active entry, which we avoid (a tie goes to sector 0). */
    for (i = 0; i < 2; i++)
        if (fota_ota_valid(&cur[i]) && cur[i].seq > max)
            max = cur[i].seq;
    seq = slot + 1u;
    if (seq <= max) {
        /* seq comes from flash: an entry near 2^32 leaves no room above it
         * (0xFFFFFFFF reads as blank); refuse rather than wrap */
        steps = (max - seq) / slot_count + 1u;
        if (steps > (FOTA_OTA_SEQ_BLANK - 1u - seq) / slot_count)
            return FOTA_ERR_OTADATA;
        seq += steps * slot_count;
    }
    fota_fill(out, 0xFF, sizeof *out);
    fota_fill(out->label, 0xFF, sizeof out->label);
    out->seq = seq;
    out->state = FOTA_OTA_NEW;
    out->crc = fota_ota_seq_crc(seq);
    /* Write where the entry in force is not, so a cut leaves it intact. */
    *sector = active < 0 ? 0u : (unsigned)(1 - active);
    return FOTA_OK;
}
