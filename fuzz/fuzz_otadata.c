/*
 * fuzz_otadata.c - libFuzzer harness for otadata and partition-table logic
 * (src/core/ota.c). Invariants:
 *  - encode(decode(x)) == x for every valid 32-byte otadata entry;
 *  - fota_ota_active picks a bootable entry with the highest seq;
 *  - fota_ota_next gives a seq above every valid entry's seq (so the new
 *    entry is the one in force), never the blank seq, selecting the
 *    requested slot, in the sector that is not the active one;
 *  - fota_layout_*: a finished layout has slots inside the flash, 64 KB
 *    aligned, not overlapping each other or otadata.
 *
 * Input: two otadata entries (64 bytes), slot_count byte (1..16), slot byte,
 * flash size byte (in MB, 1..16), then 32-byte partition table entries.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fota_ota_entry e[2], next;
    struct fota_layout l;
    uint8_t b[FOTA_OTA_ENTRY_LEN];
    unsigned slot_count, slot, sector, i, j;
    uint32_t flash;
    int active, done = 0, rc = FOTA_OK;
    size_t off;

    if (size < 67)
        return 0;
    for (i = 0; i < 2; i++) {
        fota_ota_decode(data + 32 * i, &e[i]);
        if (fota_ota_valid(&e[i])) {
            fota_ota_encode(&e[i], b);
            FUZZ_ASSERT(memcmp(b, data + 32 * i, 32) == 0);
        }
    }
    active = fota_ota_active(e);
    if (active >= 0) {
        FUZZ_ASSERT(fota_ota_bootable(&e[active]));
        FUZZ_ASSERT(!fota_ota_bootable(&e[1 - active]) || e[1 - active].seq <= e[active].seq);
    } else {
        FUZZ_ASSERT(!fota_ota_bootable(&e[0]) && !fota_ota_bootable(&e[1]));
    }
    slot_count = data[64] % FOTA_MAX_OTA_SLOTS + 1u;
    slot = data[65] % slot_count;
    if (fota_ota_next(e, slot, slot_count, &next, &sector) != FOTA_OK) {
        /* refused only when a valid seq leaves no room above it */
        uint32_t max = 0;
        for (i = 0; i < 2; i++)
            if (fota_ota_valid(&e[i]) && e[i].seq > max)
                max = e[i].seq;
        FUZZ_ASSERT(max > 0xFFFFFFFFu - 1u - slot_count);
        return 0;
    }
    for (i = 0; i < 2; i++)
        if (fota_ota_valid(&e[i]))
            FUZZ_ASSERT(next.seq > e[i].seq);
    FUZZ_ASSERT(next.seq != FOTA_OTA_SEQ_BLANK);
    FUZZ_ASSERT(fota_ota_slot(next.seq, slot_count) == slot);
    FUZZ_ASSERT(fota_ota_valid(&next) && next.state == FOTA_OTA_NEW);
    FUZZ_ASSERT(sector <= 1 && (active < 0 || sector != (unsigned)active));

    flash = (data[66] % 16u + 1u) * 1024u * 1024u;
    fota_layout_init(&l);
    for (off = 67; off + FOTA_PT_ENTRY_LEN <= size && !done && rc == FOTA_OK;
         off += FOTA_PT_ENTRY_LEN)
        rc = fota_layout_add(&l, data + off, &done);
    if (rc == FOTA_OK && fota_layout_finish(&l, flash) == FOTA_OK) {
        FUZZ_ASSERT(l.slot_count <= FOTA_MAX_OTA_SLOTS);
        /* a table without OTA slots (factory only) needs no otadata */
        FUZZ_ASSERT(l.otadata_size == 2 * FOTA_SECTOR_SIZE || (l.otadata_size == 0 && l.slot_count == 0));
        for (i = 0; i < l.slot_count; i++) {
            uint64_t s0 = l.slot_offset[i], e0 = s0 + l.slot_size[i];
            FUZZ_ASSERT(l.slot_size[i] > 0 && e0 <= flash);
            FUZZ_ASSERT(s0 % FOTA_APP_ALIGN == 0);
            FUZZ_ASSERT(e0 <= l.otadata_offset || s0 >= (uint64_t)l.otadata_offset + l.otadata_size);
            for (j = 0; j < i; j++) {
                uint64_t s1 = l.slot_offset[j], e1 = s1 + l.slot_size[j];
                FUZZ_ASSERT(e0 <= s1 || e1 <= s0);
            }
        }
    }
    return 0;
}
