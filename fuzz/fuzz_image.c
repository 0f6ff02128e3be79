/*
 * fuzz_image.c - libFuzzer harness for the ESP32 app-image checks
 * (src/core/image.c): fota_img_check_head on the first bytes, and the
 * streaming structural walk fota_img_walk_init/feed/finish in fuzzer-chosen
 * pieces with a fuzzer-chosen size limit. Invariants: the walk never accepts
 * more than limit bytes; on FOTA_OK every byte fed belongs to the image
 * (pos == total) or to its secure boot v2 tail (padding to the next 4 KB
 * boundary and a sector that an independent check, ref_sbv2.h, finds
 * well-formed), total is 16-aligned or 16-aligned + 32 with the hash right
 * after the padding, and the XOR checksum matches; app info strings are
 * NUL-terminated.
 *
 * Input: split header (fuzz_common.h), limit (le32), chip byte (0xFF = any),
 * then the image bytes.
 */
#include "fuzz_common.h"
#include "ref_sbv2.h"

/* One walk of the image bytes in the fuzzer's pieces under one limit, with
 * the walk's invariants checked after every piece. Returns its verdict. */
static int walk_once(const uint8_t *data, size_t size, size_t off, const uint8_t *split_hdr,
                     size_t split_len, uint32_t limit)
{
    struct fuzz_split sp;
    struct fota_img_walk w;
    uint32_t hash_off = 0xDEADBEEFu, fed = 0;
    int rc = FOTA_OK, end;

    fuzz_split_init(&sp, split_hdr, split_len);
    fota_img_walk_init(&w, limit);
    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        rc = fota_img_walk_feed(&w, data + off, (uint32_t)n);
        if (rc == FOTA_OK)
            fed += (uint32_t)n;
        off += n;
        FUZZ_ASSERT(w.pos <= limit);
        /* positions only move forward: a header being assembled is never
         * more than 8 bytes behind, and the image end never wraps */
        if (rc == FOTA_OK && w.segs_end == 0 && w.pos > FOTA_IMG_HEADER_LEN)
            FUZZ_ASSERT(w.pos <= w.next_hdr || w.pos - w.next_hdr < FOTA_IMG_SEG_HEADER_LEN);
        if (w.segs_end)
            FUZZ_ASSERT(w.total > w.segs_end && w.total <= limit);
    }
    end = fota_img_walk_finish(&w, &hash_off);
    if (rc != FOTA_OK)
        FUZZ_ASSERT(end == rc);
    if (end == FOTA_OK) {
        FUZZ_ASSERT(fed == w.pos && w.pos <= limit);
        if (w.pos == w.total) {
            FUZZ_ASSERT(!fota_img_walk_signed(&w));
        } else {
            /* signed: [total, sig_offset) padding, then a well-formed sector */
            const uint8_t *img = data + (size - fed);
            FUZZ_ASSERT(fota_img_walk_signed(&w));
            FUZZ_ASSERT(w.sig_offset % FOTA_SBV2_SECTOR_LEN == 0 && w.sig_offset >= w.total &&
                        w.sig_offset - w.total < FOTA_SBV2_SECTOR_LEN);
            FUZZ_ASSERT(w.pos == w.sig_offset + FOTA_SBV2_SECTOR_LEN);
            FUZZ_ASSERT(ref_sbv2_sector(img + w.sig_offset) == (int)w.sig_blocks);
        }
        FUZZ_ASSERT(w.seg_index == w.seg_count);
        if (hash_off) {
            FUZZ_ASSERT(hash_off % 16 == 0 && hash_off + FOTA_IMG_HASH_LEN == w.total);
        } else {
            FUZZ_ASSERT(w.total % 16 == 0);
        }
    } else {
        FUZZ_ASSERT(hash_off == 0xDEADBEEFu);
    }
    return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split sp;
    struct fota_app_info info;
    size_t off = fuzz_split_init(&sp, data, size);
    uint32_t limit;
    int chip, end, top;

    if (size < off + 5)
        return 0;
    limit = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 | (uint32_t)data[off + 2] << 16 |
            (uint32_t)data[off + 3] << 24;
    chip = data[off + 4] == 0xFF ? FOTA_CHIP_ANY : data[off + 4];

    memset(&info, 0x5A, sizeof info);
    if (fota_img_check_head(data + off + 5, (uint32_t)(size - off - 5), chip, &info) == FOTA_OK) {
        FUZZ_ASSERT(size - off - 5 >= FOTA_IMG_HEAD_LEN);
        FUZZ_ASSERT(memchr(info.version, 0, sizeof info.version));
        FUZZ_ASSERT(memchr(info.project_name, 0, sizeof info.project_name));
        FUZZ_ASSERT(memchr(info.time, 0, sizeof info.time));
        FUZZ_ASSERT(memchr(info.date, 0, sizeof info.date));
        FUZZ_ASSERT(memchr(info.idf_ver, 0, sizeof info.idf_ver));
    }

    end = walk_once(data, size, off + 5, data, off, limit);
    /* The same bytes again under a limit within 256 of 2^32: seeds and
     * mutations rarely reach such limits by themselves, yet the server's
     * slot size and any 32-bit sum of untrusted lengths live there (a
     * segment length that wrapped start + len went unfound here for 31 M
     * executions). An image short enough for both limits gets one verdict. */
    top = walk_once(data, size, off + 5, data, off, 0xFFFFFFFFu - (limit & 0xFFu));
    if (end == FOTA_OK)
        FUZZ_ASSERT(top == FOTA_OK);
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace image: %d\n", end);
#endif
    return 0;
}
