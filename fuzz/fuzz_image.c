/*
 * fuzz_image.c - libFuzzer harness for the ESP32 app-image checks
 * (src/core/image.c): fota_img_check_head on the first bytes, and the
 * streaming structural walk fota_img_walk_init/feed/finish in fuzzer-chosen
 * pieces with a fuzzer-chosen size limit. Invariants: the walk never accepts
 * more than limit bytes; on FOTA_OK every byte fed belongs to the image
 * (pos == total), total is 16-aligned or 16-aligned + 32 with the hash right
 * after the padding, and the XOR checksum matches; app info strings are
 * NUL-terminated.
 *
 * Input: split header (fuzz_common.h), limit (le32), chip byte (0xFF = any),
 * then the image bytes.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split sp;
    struct fota_img_walk w;
    struct fota_app_info info;
    size_t off = fuzz_split_init(&sp, data, size);
    uint32_t limit, hash_off = 0xDEADBEEFu, fed = 0;
    int chip, rc = FOTA_OK, end;

    if (size < off + 5)
        return 0;
    limit = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 | (uint32_t)data[off + 2] << 16 |
            (uint32_t)data[off + 3] << 24;
    chip = data[off + 4] == 0xFF ? FOTA_CHIP_ANY : data[off + 4];
    off += 5;

    memset(&info, 0x5A, sizeof info);
    if (fota_img_check_head(data + off, (uint32_t)(size - off), chip, &info) == FOTA_OK) {
        FUZZ_ASSERT(size - off >= FOTA_IMG_HEAD_LEN);
        FUZZ_ASSERT(memchr(info.version, 0, sizeof info.version));
        FUZZ_ASSERT(memchr(info.project_name, 0, sizeof info.project_name));
        FUZZ_ASSERT(memchr(info.time, 0, sizeof info.time));
        FUZZ_ASSERT(memchr(info.date, 0, sizeof info.date));
        FUZZ_ASSERT(memchr(info.idf_ver, 0, sizeof info.idf_ver));
    }

    fota_img_walk_init(&w, limit);
    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        rc = fota_img_walk_feed(&w, data + off, (uint32_t)n);
        if (rc == FOTA_OK)
            fed += (uint32_t)n;
        off += n;
        FUZZ_ASSERT(w.pos <= limit);
    }
    end = fota_img_walk_finish(&w, &hash_off);
    if (rc != FOTA_OK)
        FUZZ_ASSERT(end == rc);
    if (end == FOTA_OK) {
        FUZZ_ASSERT(fed == w.pos && w.pos == w.total && w.total <= limit);
        FUZZ_ASSERT(w.seg_index == w.seg_count);
        if (hash_off) {
            FUZZ_ASSERT(hash_off % 16 == 0 && hash_off + FOTA_IMG_HASH_LEN == w.total);
        } else {
            FUZZ_ASSERT(w.total % 16 == 0);
        }
    } else {
        FUZZ_ASSERT(hash_off == 0xDEADBEEFu);
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace image: %d\n", end);
#endif
    return 0;
}
