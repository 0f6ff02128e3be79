/*
 * fuzz_patch.c - libFuzzer harness for the patcher (src/core/patch.c, the
 * stream of include/fota/patch.h), fed in fuzzer-chosen pieces against a
 * fixed 2000-byte base, and judged by an independent whole-buffer decoder
 * written here from the header's description (ref_decode).
 * Invariants: output is written in order, in aligned pieces of at most
 * FOTA_PATCH_BUF, never past the header's new size; only written output is
 * read back, only base bytes are read; the verdict (complete, truncated,
 * refused) is the reference's; every byte written is the reference's byte
 * at that offset, and a refused stream wrote no byte of the token refused
 * (written <= the reference's output before it); an error is sticky.
 * Input: split header (fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"
#include "fota/patch.h"

#define BASE_N 2000u
#define OUT_MAX 65536u

static uint8_t base[BASE_N];
static uint8_t out[OUT_MAX], ref[OUT_MAX];
static uint32_t written, new_size;

static int b_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    (void)ctx;
    FUZZ_ASSERT(off <= BASE_N && n <= BASE_N - off);
    memcpy(buf, base + off, n);
    return FOTA_OK;
}

static int o_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    (void)ctx;
    FUZZ_ASSERT(off <= written && n <= written - off);
    memcpy(buf, out + off, n);
    return FOTA_OK;
}

static int o_write(void *ctx, uint32_t off, const uint8_t *buf, uint32_t n)
{
    (void)ctx;
    FUZZ_ASSERT(off == written && n && n <= FOTA_PATCH_BUF && off % FOTA_PATCH_BUF == 0);
    FUZZ_ASSERT(off + n <= new_size && off + n <= OUT_MAX);
    memcpy(out + off, buf, n);
    written += n;
    return FOTA_OK;
}

/* ---- the reference: the format's description, decoded in one pass -------- */

static int ref_varint(const uint8_t *d, size_t n, size_t *i, uint32_t *v)
{
    uint64_t acc = 0;
    unsigned k;
    for (k = 0; k < 5; k++) {
        if (*i >= n)
            return -2;
        acc |= (uint64_t)(d[*i] & 0x7F) << (7 * k);
        if (!(d[(*i)++] & 0x80))
            return acc > 0xFFFFFFFFull ? -1 : (*v = (uint32_t)acc, 0);
    }
    return -1;
}

/* 0 complete, -1 refused, -2 truncated; *made: output bytes of the tokens
 * before the one that failed. */
static int ref_decode(const uint8_t *d, size_t n, uint32_t *made)
{
    struct fota_patch_hdr h;
    size_t i = FOTA_PATCH_HDR_LEN;
    uint32_t o = 0, rel = 0, add = 0;
    *made = 0;
    if (n < FOTA_PATCH_HDR_LEN)
        return -2;
    if (fota_patch_hdr_decode(d, &h) || h.window_log2 > FOTA_PATCH_WINDOW_LOG2 ||
        h.new_size > OUT_MAX || (h.kind == FOTA_PATCH_KIND_DELTA && h.base_size > BASE_N))
        return -1;
    while (o < h.new_size) {
        uint8_t t;
        uint64_t len, dist = 0, src;
        uint32_t v = 0;
        int rc;
        if (i >= n)
            return -2;
        t = d[i++];
        if (t & 0x80) {
            if (i >= n)
                return -2;
            dist = (((uint32_t)(t & 15) << 8) | d[i++]) + 1;
            len = ((t >> 4) & 7) + 3;
            if (len == 10 && (rc = ref_varint(d, n, &i, &v)))
                return rc;
            len += v;
        } else if (!(t & 0x40) && ((t & 63) == 61 || (t & 63) == 62)) { /* ADDW */
            len = 4;
            if ((t & 63) == 62) {
                if ((rc = ref_varint(d, n, &i, &v)))
                    return rc;
                add += (uint32_t)((v >> 1) ^ (0u - (v & 1)));
            }
        } else if (!(t & 0x40)) {
            len = (t & 63) + 1;
            if (len == 64) {
                if ((rc = ref_varint(d, n, &i, &v)))
                    return rc;
                len = 62 + (uint64_t)v;
            }
        } else {
            len = (t & 31) + 1;
            if (len == 32 && (rc = ref_varint(d, n, &i, &v)))
                return rc;
            len += v;
            if (t & 0x20) {
                uint32_t z;
                if ((rc = ref_varint(d, n, &i, &z)))
                    return rc;
                rel += (uint32_t)((z >> 1) ^ (0u - (z & 1)));
            }
        }
        if (len > 0xFFFFFFFFull || len > h.new_size - o || (o % 4096) + len > 4096)
            return -1;
        if (t & 0x80) {
            if (dist > o || dist > (1ull << h.window_log2))
                return -1;
            for (src = o - dist; len--; o++, src++)
                ref[o] = ref[src];
        } else if (!(t & 0x40) && ((t & 63) == 61 || (t & 63) == 62)) {
            uint32_t w;
            src = (uint32_t)(o + rel);
            if (h.kind != FOTA_PATCH_KIND_DELTA || src > h.base_size || 4 > h.base_size - src)
                return -1;
            w = (uint32_t)base[src] | (uint32_t)base[src + 1] << 8 | (uint32_t)base[src + 2] << 16 |
                (uint32_t)base[src + 3] << 24;
            w += add;
            for (unsigned k = 0; k < 4; k++)
                ref[o++] = (uint8_t)(w >> (8 * k));
        } else if (!(t & 0x40)) {
            for (; len--; o++) {
                if (i >= n) {
                    *made = o; /* a literal's bytes may be written as they come */
                    return -2;
                }
                ref[o] = d[i++];
            }
        } else {
            src = (uint32_t)(o + rel);
            if (h.kind != FOTA_PATCH_KIND_DELTA || src > h.base_size || len > h.base_size - src)
                return -1;
            memcpy(ref + o, base + src, (size_t)len);
            o += (uint32_t)len;
        }
        *made = o;
    }
    return i == n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split sp;
    struct fota_patch p;
    struct fota_patch_limits lim = {OUT_MAX, BASE_N, NULL};
    struct fota_patch_io io = {NULL, b_read, o_read, o_write};
    struct fota_patch_hdr h;
    size_t off = fuzz_split_init(&sp, data, size);
    uint32_t used, made, k;
    int rc = FOTA_OK, want;
    unsigned i;

    for (i = 0; i < BASE_N; i++)
        base[i] = (uint8_t)(i * 13 + (i >> 8));
    written = 0;
    new_size = 0;
    data += off;
    size -= off;
    if (size >= FOTA_PATCH_HDR_LEN && fota_patch_hdr_decode(data, &h) == FOTA_OK)
        new_size = h.new_size;
    want = ref_decode(data, size, &made);
    fota_patch_start(&p, &lim);
    off = 0;
    while (off < size) {
        k = (uint32_t)fuzz_split_next(&sp, size - off);
        rc = fota_patch_feed(&p, &io, data + off, k, &used);
        FUZZ_ASSERT(used <= k);
        off += used;
        if (rc < 0)
            break;
        FUZZ_ASSERT(rc != FOTA_OK || used == k);
    }
    if (rc >= 0)
        rc = fota_patch_finish(&p);
    else
        FUZZ_ASSERT(fota_patch_feed(&p, &io, data, size ? 1 : 0, &used) == rc); /* sticky */
    if (want == 0) {
        FUZZ_ASSERT(rc == FOTA_OK && written == new_size);
        FUZZ_ASSERT(!memcmp(out, ref, written));
    } else {
        FUZZ_ASSERT(want == -2 ? rc == FOTA_ERR_TRUNCATED
                               : (rc == FOTA_ERR_PATCH || rc == FOTA_ERR_PATCH_BASE));
        FUZZ_ASSERT(written <= made && !memcmp(out, ref, written));
    }
    return 0;
}
