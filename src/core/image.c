/*
 * image.c - ESP32 app image checks (see include/fota/esp_image.h for the
 * layout). Pure functions over bytes: no flash, no hashing, no allocation, so
 * the device core, the simulated bootloader and the server share them.
 * The secure boot v2 signature sector that may follow an image is checked
 * here too (structure and CRC only; layout in esp_image.h).
 */
#include "fota/esp_image.h"
#include "fota/error.h"
#include "fota/esp_ota.h" /* fota_crc32 */
#include "le.h"

static const struct {
    int id;
    const char *name;
} chips[] = {
    {FOTA_CHIP_ESP32, "esp32"},     {FOTA_CHIP_ESP32S2, "esp32s2"},
    {FOTA_CHIP_ESP32C3, "esp32c3"}, {FOTA_CHIP_ESP32S3, "esp32s3"},
    {FOTA_CHIP_ESP32C2, "esp32c2"}, {FOTA_CHIP_ESP32C6, "esp32c6"},
    {FOTA_CHIP_ESP32H2, "esp32h2"},
};
#define NCHIPS (sizeof chips / sizeof chips[0])

const char *fota_chip_name(int chip_id)
{
    unsigned i;
    for (i = 0; i < NCHIPS; i++)
        if (chips[i].id == chip_id)
            return chips[i].name;
    return "unknown";
}

int fota_chip_from_name(const char *name)
{
    unsigned i;
    if (!name)
        return FOTA_ERR_PARAM;
    for (i = 0; i < NCHIPS; i++) {
        const char *a = chips[i].name, *b = name;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        if (!*a && !*b)
            return chips[i].id;
    }
    return FOTA_ERR_PARAM;
}

static void copy_field(char *dst, const uint8_t *src, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n && src[i]; i++)
        dst[i] = (char)src[i];
    dst[i] = '\0';
}

int fota_img_check_head(const uint8_t *buf, uint32_t len, int expected_chip,
                        struct fota_app_info *info)
{
    const uint8_t *d;
    uint16_t chip;

    if (!buf)
        return FOTA_ERR_PARAM;
    if (len < 1)
        return FOTA_ERR_TRUNCATED;
    if (buf[0] != FOTA_IMG_MAGIC)
        return FOTA_ERR_IMG_MAGIC;
    if (len < FOTA_IMG_HEAD_LEN)
        return FOTA_ERR_TRUNCATED;
    if (buf[1] == 0 || buf[1] > FOTA_IMG_MAX_SEGMENTS)
        return FOTA_ERR_IMG_FORMAT;
    chip = fota_le16(buf + 12);
    if (expected_chip != FOTA_CHIP_ANY && chip != (uint16_t)expected_chip)
        return FOTA_ERR_IMG_CHIP;
    if (buf[23] > 1)
        return FOTA_ERR_IMG_FORMAT;
    /* An application's first segment carries esp_app_desc_t at its start;
     * a bootloader or any other ESP image does not. */
    if (fota_le32(buf + FOTA_IMG_HEADER_LEN + 4) < FOTA_APP_DESC_LEN ||
        fota_le32(buf + FOTA_APP_DESC_OFFSET) != FOTA_APP_DESC_MAGIC)
        return FOTA_ERR_IMG_NOT_APP;
    if (info) {
        d = buf + FOTA_APP_DESC_OFFSET;
        info->chip_id = chip;
        info->segment_count = buf[1];
        info->hash_appended = buf[23];
        info->entry_addr = fota_le32(buf + 4);
        info->secure_version = fota_le32(d + 4);
        copy_field(info->version, d + 16, 32);
        copy_field(info->project_name, d + 48, 32);
        copy_field(info->time, d + 80, 16);
        copy_field(info->date, d + 96, 16);
        copy_field(info->idf_ver, d + 112, 32);
    }
    return FOTA_OK;
}

void fota_img_walk_init(struct fota_img_walk *w, uint32_t limit)
{
    fota_fill(w, 0, sizeof *w);
    w->limit = limit;
    w->next_hdr = FOTA_IMG_HEADER_LEN;
    w->checksum = FOTA_IMG_CHECKSUM_SEED;
}

/* Once the end of the last segment is known, the rest of the image follows:
 * padding up to a 16-byte boundary (its last byte the checksum), then the
 * optional hash. The tail is measured against what is left below the limit,
 * never by adding to segs_end, so a limit near 2^32 cannot wrap the sums. */
static int walk_set_end(struct fota_img_walk *w, uint32_t segs_end)
{
    uint32_t pad = 16u - (segs_end & 15u); /* 1..16 bytes, the checksum last */
    uint32_t tail = pad + (w->hash_appended ? FOTA_IMG_HASH_LEN : 0u);

    if (tail > w->limit - segs_end) /* segs_end <= limit: checked by the caller */
        return FOTA_ERR_SLOT_SIZE;
    w->segs_end = segs_end;
    w->hash_offset = w->hash_appended ? segs_end + pad : 0;
    w->total = segs_end + tail;
    /* a signature sector would start at the next 4 KB boundary (none near
     * 2^32: it could not fit below any limit there) */
    w->sig_offset = w->total <= 0xFFFFF000u - FOTA_SBV2_SECTOR_LEN
                        ? (w->total + (FOTA_SBV2_SECTOR_LEN - 1u)) & ~(FOTA_SBV2_SECTOR_LEN - 1u)
                        : 0u;
    return FOTA_OK;
}

static int sig_fault(struct fota_img_walk *w, uint8_t fault, uint32_t block)
{
    w->sig_fault = fault;
    w->sig_block = (uint8_t)block;
    w->err = FOTA_ERR_IMG_SIG_SECTOR;
    return w->err;
}

/* Byte b at offset p >= w->total: padding up to sig_offset, then the
 * signature sector (layout and rule in esp_image.h). */
static int walk_tail(struct fota_img_walk *w, uint32_t p, uint8_t b)
{
    uint32_t k, blk, off;

    if (!w->sig_offset || (p >= w->sig_offset && p - w->sig_offset >= FOTA_SBV2_SECTOR_LEN)) {
        w->err = FOTA_ERR_TOO_LARGE;
        return w->err;
    }
    if (p < w->sig_offset)
        return FOTA_OK; /* padding: hashed into the signed digest, not checked */
    k = p - w->sig_offset;
    if (k >= FOTA_SBV2_BLOCKS * FOTA_SBV2_BLOCK_LEN)
        return b == 0xFF ? FOTA_OK : sig_fault(w, FOTA_SBV2_NOT_BLANK, FOTA_SBV2_BLOCKS);
    blk = k / FOTA_SBV2_BLOCK_LEN;
    off = k % FOTA_SBV2_BLOCK_LEN;
    if (off == 0) {
        w->sig_crc = 0;
        w->sig_stored = 0;
        if (b == 0xFF && blk == 0)
            return sig_fault(w, FOTA_SBV2_NO_BLOCK, blk);
        if (b == 0xFF)
            w->sig_blank = 1;
        else if (w->sig_blank)
            return sig_fault(w, FOTA_SBV2_NOT_BLANK, blk); /* a block after a blank one */
        else if (b != FOTA_SBV2_MAGIC)
            return sig_fault(w, FOTA_SBV2_BAD_MAGIC, blk);
    }
    if (w->sig_blank)
        return b == 0xFF ? FOTA_OK : sig_fault(w, FOTA_SBV2_NOT_BLANK, blk);
    if (off == 1 && b != FOTA_SBV2_VERSION)
        return sig_fault(w, FOTA_SBV2_BAD_VERSION, blk);
    if (off < FOTA_SBV2_CRC_OFFSET) {
        w->sig_crc = fota_crc32(w->sig_crc, &b, 1);
    } else if (off < FOTA_SBV2_CRC_OFFSET + 4u) {
        w->sig_stored |= (uint32_t)b << (8u * (off - FOTA_SBV2_CRC_OFFSET));
        if (off == FOTA_SBV2_CRC_OFFSET + 3u) {
            if (w->sig_stored != w->sig_crc)
                return sig_fault(w, FOTA_SBV2_BAD_CRC, blk);
            w->sig_blocks++;
        }
    }
    return FOTA_OK;
}

int fota_img_walk_feed(struct fota_img_walk *w, const uint8_t *data, uint32_t len)
{
    uint32_t i;

    if (w->err)
        return w->err;
    for (i = 0; i < len; i++, w->pos++) {
        uint32_t p = w->pos;
        uint8_t b = data[i];

        if (p >= w->limit) {
            w->err = FOTA_ERR_SLOT_SIZE;
            return w->err;
        }
        if (w->total && p >= w->total) {
            if (walk_tail(w, p, b))
                return w->err;
            continue;
        }
        if (p < FOTA_IMG_HEADER_LEN) {
            if (p == 0 && b != FOTA_IMG_MAGIC)
                w->err = FOTA_ERR_IMG_MAGIC;
            else if (p == 1 && (b == 0 || b > FOTA_IMG_MAX_SEGMENTS))
                w->err = FOTA_ERR_IMG_FORMAT;
            else if (p == 1)
                w->seg_count = b;
            else if (p == 23 && b > 1)
                w->err = FOTA_ERR_IMG_FORMAT;
            else if (p == 23)
                w->hash_appended = b;
            if (w->err)
                return w->err;
            continue;
        }
        if (p < w->seg_end) { /* segment data (seg_end is 0 before the first header) */
            /* the bulk of an image: XOR the whole run in one tight loop */
            uint32_t k = w->seg_end - p, j;
            uint8_t x = 0;
            if (k > len - i)
                k = len - i;
            if (k > w->limit - p)
                k = w->limit - p;
            for (j = 0; j < k; j++)
                x ^= data[i + j];
            w->checksum ^= x;
            i += k - 1;
            w->pos += k - 1;
            continue;
        }
        if (w->segs_end == 0 && p >= w->next_hdr) { /* segment header */
            uint32_t k = p - w->next_hdr;
            w->hdr[k] = b;
            if (k == FOTA_IMG_SEG_HEADER_LEN - 1) {
                uint32_t dlen = fota_le32(w->hdr + 4);
                uint32_t start = p + 1; /* <= limit, since p < limit */
                /* data_len is untrusted: compare it with the room left, never
                 * add it first (start + dlen wraps for dlen near 2^32, which
                 * once moved next_hdr behind pos and indexed hdr[] far out of
                 * bounds; ../shared/repro/fuzz_srv_upload-crash-fb59fd18.bin) */
                if (dlen > w->limit - start) {
                    w->err = FOTA_ERR_SLOT_SIZE;
                    return w->err;
                }
                w->seg_end = start + dlen;
                w->next_hdr = w->seg_end;
                w->seg_index++;
                if (w->seg_index == w->seg_count)
                    w->err = walk_set_end(w, w->seg_end);
                if (w->err)
                    return w->err;
            }
            continue;
        }
        /* padding, checksum byte, appended hash */
        if (w->segs_end && w->hash_offset && p >= w->hash_offset)
            continue;
        if (w->segs_end && p == w->total - (w->hash_appended ? FOTA_IMG_HASH_LEN : 0u) - 1u)
            w->stored_checksum = b;
    }
    return FOTA_OK;
}

int fota_img_walk_finish(const struct fota_img_walk *w, uint32_t *hash_offset)
{
    if (w->err)
        return w->err;
    if (w->pos < FOTA_IMG_HEADER_LEN || w->segs_end == 0 || w->pos < w->total)
        return FOTA_ERR_TRUNCATED;
    if (w->stored_checksum != w->checksum)
        return FOTA_ERR_IMG_CHECKSUM;
    if (w->pos > w->total && w->pos <= w->sig_offset)
        return FOTA_ERR_TOO_LARGE; /* trailing bytes, and no signature sector */
    if (w->pos > w->total && w->pos - w->sig_offset < FOTA_SBV2_SECTOR_LEN)
        return FOTA_ERR_IMG_SIG_SECTOR; /* the file ends inside the sector */
    if (hash_offset)
        *hash_offset = w->hash_offset;
    return FOTA_OK;
}

int fota_img_walk_signed(const struct fota_img_walk *w)
{
    return !w->err && w->sig_blocks && w->pos > w->sig_offset &&
           w->pos - w->sig_offset == FOTA_SBV2_SECTOR_LEN;
}

uint32_t fota_img_walk_end(const struct fota_img_walk *w, const uint8_t at_sig[2])
{
    if (!w->total)
        return 0;
    if (w->sig_offset && w->limit >= FOTA_SBV2_SECTOR_LEN &&
        w->sig_offset <= w->limit - FOTA_SBV2_SECTOR_LEN && at_sig[0] == FOTA_SBV2_MAGIC &&
        at_sig[1] == FOTA_SBV2_VERSION)
        return w->sig_offset + FOTA_SBV2_SECTOR_LEN;
    return w->total;
}
