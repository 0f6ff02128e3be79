/*
 * fuzz_srv_upload.c - libFuzzer harness for the server's release checks
 * (src/server/release.c release_check: image header and app descriptor,
 * size vs slot, segment walk, XOR checksum, appended SHA-256, version, and
 * for a signed upload the manifest against the release) and for the base64
 * X-Fota-Manifest / X-Fota-Signature header text (parse.c parse_b64_exact).
 *
 * Invariants, whenever release_check accepts:
 *  - fota_img_check_head accepts the image and rel's chip, project, idf_ver,
 *    secure_version and version are the descriptor's (or the version given);
 *  - an independent walk (below, not the core's) finds the segments, the
 *    padding and the checksum byte right, and the image ends exactly after
 *    them (+32 with the hash), or after padding to 4 KB and a secure boot v2
 *    signature sector that ref_sbv2.h finds well-formed; size <= slot;
 *  - with hash_appended the 32 bytes equal the SHA-256 (mbedTLS) of what
 *    precedes them; sha and rel->sha256 are the SHA-256 of the whole image;
 *  - with a manifest: it decodes, and every field equals the release
 *    (sha256, size, chip, chunk_size, version, secure_version, project);
 *    without one the release is not signed.
 * And: a manifest built from the image's true fields is accepted whenever
 * the image is (if its strings are printable ASCII and the version fits the
 * manifest's 32 bytes); a manifest
 * with any field changed is refused. parse_b64_exact accepts only text of
 * the exact padded length in the base64 alphabet and yields the bytes a
 * reference decoder gives. Refusals carry a status (400/422), a code and a
 * NUL-terminated message.
 *
 * Input: [0] flags (bit 0: repair checksum and hash after the harness's
 * walk; bit 1: a version parameter; bits 2-3 manifest mode: 0 none, 1 true
 * fields then one field changed as [7] says, 2 raw 128 bytes, 3 base64 text
 * through parse_b64_exact), [1..4] slot size le32, [5..6] chunk size,
 * [7] manifest mutation, [8] version length, the version, mode 2: 128 bytes,
 * mode 3: length byte + text; the rest is the image.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/esp_image.h"
#include "fota/manifest.h"
#include "log.h"
#include "parse.h"
#include "ref_sbv2.h"
#include "release.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
    abort(); } } while (0)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reference walk of esp_image_header_t + segments + padding + checksum (+
 * hash). 0 with the checksum offset, the hash offset (0: none) and the
 * image's total length; -1 when the segments do not fit in size. */
struct ref_walk {
    uint64_t cs_off, hash_off, total;
    uint8_t checksum;
};
static int ref_walk(const uint8_t *img, uint64_t size, struct ref_walk *w)
{
    uint64_t off = FOTA_IMG_HEADER_LEN;
    uint8_t ck = FOTA_IMG_CHECKSUM_SEED;
    unsigned segs;

    if (size < FOTA_IMG_HEADER_LEN)
        return -1;
    segs = img[1];
    for (unsigned i = 0; i < segs; i++) {
        uint64_t len;
        if (off + 8 > size)
            return -1;
        len = le32(img + off + 4);
        off += 8;
        if (len > size - off)
            return -1;
        for (uint64_t j = 0; j < len; j++)
            ck ^= img[off + j];
        off += len;
    }
    w->total = (off + 16) & ~(uint64_t)15; /* checksum is the last byte of a 16-byte block */
    w->cs_off = w->total - 1;
    w->hash_off = img[23] == 1 ? w->total : 0;
    if (img[23] == 1)
        w->total += 32;
    w->checksum = ck;
    return 0;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    FUZZ_ASSERT(mbedtls_sha256_ret(p, n, out, 0) == 0);
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Reference: padded base64 of exactly n bytes; -1 otherwise. */
static int ref_b64(const char *t, uint8_t *out, size_t n)
{
    size_t len = strlen(t), pad = (3 - n % 3) % 3, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (len != 4 * ((n + 2) / 3))
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64v((unsigned char)t[i]);
        if (i >= len - pad) {
            if (t[i] != '=')
                return -1;
            continue;
        }
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < n)
                out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == n ? 0 : -1;
}

static void check_refused(const struct ingest_result *res)
{
    FUZZ_ASSERT(res->status == 400 || res->status == 422);
    FUZZ_ASSERT(res->code && res->code[0]);
    FUZZ_ASSERT(memchr(res->message, '\0', sizeof res->message) && res->message[0]);
}

static void check_accepted(const uint8_t *img, uint64_t size, const struct upload_params *p,
                           const struct store_release *rel, const uint8_t sha[32])
{
    struct fota_app_info info;
    struct ref_walk w;
    uint8_t h[32];
    char hex[65];

    FUZZ_ASSERT(size >= FOTA_IMG_HEAD_LEN && size <= p->slot_size);
    FUZZ_ASSERT(fota_img_check_head(img, FOTA_IMG_HEAD_LEN, FOTA_CHIP_ANY, &info) == 0);
    FUZZ_ASSERT(ref_walk(img, size, &w) == 0);
    if (w.total != size) { /* only with a secure boot v2 sector */
        uint64_t sig = (w.total + 4095) & ~(uint64_t)4095;
        FUZZ_ASSERT(size == sig + 4096 && ref_sbv2_sector(img + sig) > 0);
    }
    FUZZ_ASSERT(img[w.cs_off] == w.checksum);
    if (w.hash_off) {
        sha256(img, (size_t)w.hash_off, h);
        FUZZ_ASSERT(memcmp(h, img + w.hash_off, 32) == 0);
    }
    sha256(img, (size_t)size, h);
    FUZZ_ASSERT(memcmp(h, sha, 32) == 0);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sha[i]);
    FUZZ_ASSERT(strcmp(hex, rel->sha256) == 0);
    FUZZ_ASSERT(rel->size == (int64_t)size && rel->chip == info.chip_id);
    FUZZ_ASSERT(rel->secure_version == info.secure_version);
    FUZZ_ASSERT(strcmp(rel->project, info.project_name) == 0);
    FUZZ_ASSERT(strcmp(rel->idf_ver, info.idf_ver) == 0);
    FUZZ_ASSERT(strcmp(rel->version, p->version[0] ? p->version : info.version) == 0);
    FUZZ_ASSERT(rel->version[0] && parse_printable(rel->version, STORE_VERSION_MAX));
    FUZZ_ASSERT(rel->chunk_size == p->chunk_size && rel->slot_size == (int64_t)p->slot_size);
    if (p->has_manifest) {
        struct fota_manifest m;
        FUZZ_ASSERT(rel->is_signed);
        FUZZ_ASSERT(memcmp(rel->manifest, p->manifest, 128) == 0);
        FUZZ_ASSERT(memcmp(rel->signature, p->signature, 64) == 0);
        FUZZ_ASSERT(fota_manifest_decode(p->manifest, &m) == 0);
        FUZZ_ASSERT(memcmp(m.sha256, sha, 32) == 0);
        FUZZ_ASSERT(m.size == size && m.chip_id == info.chip_id);
        FUZZ_ASSERT(m.chunk_size == p->chunk_size);
        FUZZ_ASSERT(m.secure_version == info.secure_version);
        FUZZ_ASSERT(strcmp(m.version, rel->version) == 0);
        FUZZ_ASSERT(strcmp(m.project, info.project_name) == 0);
    } else {
        FUZZ_ASSERT(!rel->is_signed);
    }
}

/* Changes one field of m as mut says; returns whether m changed. */
static int mutate(struct fota_manifest *m, unsigned mut)
{
    struct fota_manifest o = *m;
    unsigned b = mut >> 4;
    switch (mut % 8) {
    case 0:
        return 0;
    case 1:
        m->chip_id ^= (uint16_t)(1u << (b & 15));
        break;
    case 2:
        m->size += b & 1 ? 1 : (uint32_t)-1;
        break;
    case 3:
        m->chunk_size ^= 1u << (b & 15);
        break;
    case 4:
        m->secure_version ^= 1u << b;
        break;
    case 5:
        m->sha256[b & 31] ^= 0x01;
        break;
    case 6: { /* version: last character cut, or one character changed */
        size_t n = strlen(m->version);
        if (n == 0)
            m->version[0] = 'x';
        else if (b & 8)
            m->version[n - 1] = '\0';
        else
            m->version[b % n] = m->version[b % n] == 'z' ? 'y' : 'z';
        break;
    }
    default: {
        size_t n = strlen(m->project);
        if (n < 32) {
            m->project[n] = 'p';
            m->project[n + 1] = '\0';
        } else {
            m->project[0] = m->project[0] == 'q' ? 'r' : 'q';
        }
        break;
    }
    }
    return memcmp(&o.chip_id, &m->chip_id, sizeof o.chip_id) || o.size != m->size ||
           o.chunk_size != m->chunk_size || o.secure_version != m->secure_version ||
           memcmp(o.sha256, m->sha256, 32) || strcmp(o.version, m->version) ||
           strcmp(o.project, m->project);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct upload_params p;
    struct ingest_result res;
    struct store_release *rel = &res.rel;
    uint8_t sha[32], *img;
    size_t off = 9, isize;
    unsigned flags, mmode, mut, vlen;
    uint32_t slot;
    int rc, changed = 0, decodable = 1;

    slog_threshold = -1; /* no "no appended SHA-256" warnings */
    if (size < off)
        return 0;
    flags = data[0];
    mmode = (flags >> 2) & 3;
    memset(&p, 0, sizeof p);
    slot = le32(data + 1);
    p.slot_size = slot == 0 ? DEFAULT_SLOT_SIZE : slot < FOTA_IMG_HEAD_LEN ? FOTA_IMG_HEAD_LEN : slot;
    p.chunk_size = 16u + (uint32_t)(data[5] | data[6] << 8) % 65521u;
    mut = data[7];
    vlen = data[8] % (STORE_VERSION_MAX + 1);
    if (flags & 2) {
        if (size < off + vlen)
            return 0;
        memcpy(p.version, data + off, vlen);
        p.version[vlen] = '\0';
        off += vlen;
        /* the query check (admin_release_begin) refuses anything else */
        if (!vlen || strlen(p.version) != vlen || !parse_printable(p.version, STORE_VERSION_MAX))
            return 0;
    }
    if (mmode == 2) {
        if (size < off + 128)
            return 0;
        memcpy(p.manifest, data + off, 128);
        off += 128;
        p.has_manifest = fota_manifest_decode(p.manifest, &(struct fota_manifest){0}) == 0;
    } else if (mmode == 3) {
        char text[256];
        uint8_t ref[128];
        size_t tl;
        int ok, rok;
        if (size < off + 1)
            return 0;
        tl = data[off++];
        if (size < off + tl)
            return 0;
        memcpy(text, data + off, tl);
        text[tl] = '\0';
        off += tl;
        ok = parse_b64_exact(text, p.manifest, 128) == 0;
        rok = ref_b64(text, ref, 128) == 0;
        if (ok) /* what is accepted is the padded base64 of the bytes decoded */
            FUZZ_ASSERT(rok && memcmp(ref, p.manifest, 128) == 0);
        ok = parse_b64_exact(text, p.signature, 64) == 0;
        rok = ref_b64(text, ref, 64) == 0;
        if (ok)
            FUZZ_ASSERT(rok && memcmp(ref, p.signature, 64) == 0);
        p.has_manifest = fota_manifest_decode(p.manifest, &(struct fota_manifest){0}) == 0;
    }
    for (int i = 0; i < 64; i++)
        p.signature[i] ^= (uint8_t)(mut + i);

    isize = size - off;
    img = malloc(isize ? isize : 1); /* exact size: ASan sees any read past the image */
    memcpy(img, data + off, isize);
    if (flags & 1) { /* repair checksum and hash, so that deeper checks are reached */
        struct ref_walk w;
        if (ref_walk(img, isize, &w) == 0) {
            if (w.cs_off < isize)
                img[w.cs_off] = w.checksum;
            if (w.hash_off && w.hash_off + 32 <= isize)
                sha256(img, (size_t)w.hash_off, img + w.hash_off);
        }
    }

    /* unsigned first: the reference verdict for the image itself */
    {
        struct upload_params u = p;
        u.has_manifest = 0;
        memset(&res, 0xEE, sizeof res);
        rc = release_check(img, isize, &u, rel, sha, &res);
        if (rc == 0)
            check_accepted(img, isize, &u, rel, sha);
        else
            check_refused(&res);
    }
    if (mmode == 1 && rc == 0) {
        struct fota_manifest m;
        memset(&m, 0, sizeof m);
        m.chip_id = (uint16_t)rel->chip;
        m.size = (uint32_t)rel->size;
        m.chunk_size = rel->chunk_size;
        m.secure_version = rel->secure_version;
        memcpy(m.sha256, sha, 32);
        snprintf(m.version, sizeof m.version, "%s", rel->version);
        snprintf(m.project, sizeof m.project, "%s", rel->project);
        changed = mutate(&m, mut);
        fota_manifest_encode(&m, p.manifest);
        /* a descriptor string outside printable ASCII has no manifest form */
        decodable = fota_manifest_decode(p.manifest, &(struct fota_manifest){0}) == 0;
        p.has_manifest = 1;
    }
    if (p.has_manifest) {
        int unsigned_ok = rc == 0;
        size_t vl = unsigned_ok ? strlen(rel->version) : 0;
        memset(&res, 0xEE, sizeof res);
        rc = release_check(img, isize, &p, rel, sha, &res);
        if (rc == 0)
            check_accepted(img, isize, &p, rel, sha);
        else
            check_refused(&res);
        FUZZ_ASSERT(unsigned_ok || rc != 0);
        if (mmode == 1) {
            if (changed)
                FUZZ_ASSERT(rc != 0);
            else if (rc != 0 && !decodable)
                FUZZ_ASSERT(strcmp(res.code, "bad_manifest") == 0);
            else if (rc != 0) /* only a version too long for the manifest */
                FUZZ_ASSERT(vl > 32 && strcmp(res.code, "manifest_mismatch") == 0);
        }
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace srv_upload: mode %u manifest %d changed %d -> %d %s\n", mmode,
            p.has_manifest, changed, rc, rc ? res.message : "");
#endif
    free(img);
    return 0;
}
