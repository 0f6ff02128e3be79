/*
 * patch.h - the patch stream: one format for compressed full images and for
 * deltas from a base image (the image a device runs), and the freestanding,
 * heap-free patcher that turns it into the new image. Declared here once and
 * used by the core, the host encoder (src/sim/patchenc.c), the server, the
 * simulator and the tests; read and written byte by byte (docs/delta.md).
 *
 * Header (FOTA_PATCH_HDR_LEN = 48 bytes):
 *   off size field
 *   0   4    magic "FOTP" (0x50544F46 LE)
 *   4   1    format version (1)
 *   5   1    kind: 1 compressed image (no base), 2 delta from a base image
 *   6   1    window_log2: back references reach at most 2^window_log2 bytes
 *            of the new image (8 ..FOTA_PATCH_WINDOW_LOG2)
 *   7   1    reserved (0)
 *   8   4    new image size: the bytes the stream produces (> 0)
 *   12  4    base image size (kind 1: 0; kind 2: more than 32)
 *   16  32   the base's name: SHA-256 of its bytes but the last 32, which
 *            for an ESP app image with hash_appended is the appended hash
 *            a device reads from its running slot (kind 1: zeros)
 *
 * Body: tokens, byte aligned, each producing output bytes in order. No token
 * produces bytes across a multiple of FOTA_PATCH_SECTOR of the output: every
 * sector end is a point between tokens, so the patcher's whole state there is
 * four numbers (struct fota_patch_point) and the window is the new image's
 * last bytes, already in the update slot.
 *
 *   1LLLDDDD DDDDDDDD   MATCH: copy len bytes from dist bytes back in the new
 *                       image; dist = D + 1 (1..4096), len = L + 3 (3..9),
 *                       L = 7: len = 10 + varint
 *   00LLLLLL            LITERAL: len = L + 1 (1..61), L = 63: len = 62 +
 *                       varint; then len bytes
 *   00111101            ADDW (L = 61): 4 bytes, the little-endian word of
 *                       the base at out + rel plus add (mod 2^32): an
 *                       address that moved with the code it points to
 *   00111110            ADDW with a new add (L = 62): a zigzag varint d,
 *                       add += d, then as ADDW
 *   010LLLLL            COPY: len bytes of the base image at out + rel, with
 *                       rel as it is; len = L + 1 (1..31), L = 31: 32 + varint
 *   011LLLLL            COPY with a new rel: len as above, then a zigzag
 *                       varint d, rel += d (mod 2^32), then as COPY
 *
 * out is the output offset of the token's first byte; rel and add start at
 * 0.
 * varint: unsigned LEB128, at most 5 bytes, at most 0xFFFFFFFF; zigzag: d =
 * (v >> 1) ^ -(v & 1) as 32-bit two's complement. A length extension that
 * would pass 2^32, a reference before the output's start or beyond the
 * window, a COPY outside the base image or in a compressed image, a token
 * crossing a sector end or the new size, bytes after the end, a stream
 * ending early: each is FOTA_ERR_PATCH, refused before the token writes a
 * byte.
 *
 * RAM: struct fota_patch, FOTA_PATCH_BUF bytes of output staging plus about
 * 80 bytes, fixed at compile time whatever the image, window or patch size:
 * back references read the new image back from the update slot (out_read),
 * base copies read the running slot (base_read).
 */
#ifndef FOTA_PATCH_H
#define FOTA_PATCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the chunks of an offer carry (offer `encoding`, wire "encoding"):
 * the image itself, or a patch stream (this header) that makes it. */
#define FOTA_ENC_FULL 0u          /* "full" */
#define FOTA_ENC_COMPRESSED 1u    /* "compressed": the image, compressed */
#define FOTA_ENC_DELTA 2u         /* "delta": from the running image */

#define FOTA_PATCH_MAGIC 0x50544F46u /* "FOTP" */
#define FOTA_PATCH_VERSION 1u
#define FOTA_PATCH_HDR_LEN 48u
#define FOTA_PATCH_KIND_COMPRESSED 1u
#define FOTA_PATCH_KIND_DELTA 2u
#define FOTA_PATCH_SECTOR 4096u      /* resume points: multiples of this */
#define FOTA_PATCH_WINDOW_MIN_LOG2 8u
#define FOTA_PATCH_MATCH_MAX_DIST 4096u /* what a MATCH token can say */

/* Largest window this build accepts (a header asking more is refused). The
 * window costs no RAM (it is read back from flash); it bounds the reach of
 * a back reference. */
#ifndef FOTA_PATCH_WINDOW_LOG2
#define FOTA_PATCH_WINDOW_LOG2 12u
#endif
/* Output staging: a power of two dividing FOTA_PATCH_SECTOR, at least 16
 * (flash encryption's block). 512 holds an image's head (288 bytes), which
 * the engine checks before the first write, as it does for chunk 0. */
#ifndef FOTA_PATCH_BUF
#define FOTA_PATCH_BUF 512u
#endif

/* Token bits (the layout above). */
#define FOTA_PATCH_T_MATCH 0x80u
#define FOTA_PATCH_T_LIT 0x00u
#define FOTA_PATCH_T_COPY 0x40u
#define FOTA_PATCH_T_COPY_REL 0x60u
#define FOTA_PATCH_MATCH_MIN 3u
#define FOTA_PATCH_MATCH_EXT 7u  /* L value that says "varint follows" */
#define FOTA_PATCH_LIT_EXT 63u
#define FOTA_PATCH_LIT_SHORT 61u /* longest literal without a varint */
#define FOTA_PATCH_ADDW 61u      /* L of ADDW */
#define FOTA_PATCH_ADDW_NEW 62u  /* L of ADDW with a new add */
#define FOTA_PATCH_COPY_EXT 31u
#define FOTA_PATCH_VARINT_MAX 5u

/* What feed returns besides FOTA_OK and errors. */
#define FOTA_PATCH_POINT 1 /* a sector end: all output so far is written */
#define FOTA_PATCH_DONE 2  /* the whole new image is written */

struct fota_patch_hdr {
    uint8_t  kind;
    uint8_t  window_log2;
    uint32_t new_size;
    uint32_t base_size;
    uint8_t  base_sha256[32];
};

/* A resume point: where the stream and the output stand at a sector end,
 * and the COPY offset. What a journal keeps (FOTA_PATCH_POINT_LEN bytes). */
struct fota_patch_point {
    uint32_t in_off;   /* stream bytes consumed, header included */
    uint32_t out_off;  /* output bytes written: a multiple of FOTA_PATCH_SECTOR
                          or the new size */
    uint32_t rel;      /* base offset minus output offset, mod 2^32 */
    uint32_t add;      /* ADDW's addend */
};
#define FOTA_PATCH_POINT_LEN 16u

/* Where the bytes go and come from. Offsets are inside the new image (the
 * update slot) and the base image (the running slot). Each returns FOTA_OK
 * or an error code that the patcher returns as it is. out_write gets the
 * output in order, in pieces of at most FOTA_PATCH_BUF bytes that start at
 * multiples of FOTA_PATCH_BUF; out_read asks only for bytes already
 * written. base_read may be NULL for compressed images. */
struct fota_patch_io {
    void *ctx;
    int (*base_read)(void *ctx, uint32_t off, uint8_t *buf, uint32_t n);
    int (*out_read)(void *ctx, uint32_t off, uint8_t *buf, uint32_t n);
    int (*out_write)(void *ctx, uint32_t off, const uint8_t *buf, uint32_t n);
};

/* What the caller accepts in a header (checked before anything is written). */
struct fota_patch_limits {
    uint32_t out_max;             /* the update slot's size */
    uint32_t base_max;            /* the running slot's size (0: no deltas) */
    const uint8_t *base_sha256;   /* the running image's SHA-256, or NULL */
};

/* The patcher: caller-owned, sized at compile time. Opaque to the caller. */
struct fota_patch {
    struct fota_patch_hdr hdr;
    struct fota_patch_limits lim;
    uint32_t in_off, out_off, rel, add;
    uint32_t flushed;     /* output bytes handed to out_write */
    uint32_t len;         /* bytes left of the token being produced */
    uint32_t dist;        /* MATCH distance */
    uint32_t v;           /* varint being read */
    uint8_t  stage;
    uint8_t  op;          /* token type */
    uint8_t  vn;          /* varint bytes read */
    uint8_t  hn;          /* header bytes held */
    int      err;         /* sticky */
    uint8_t  w[4];        /* ADDW's word */
    uint8_t  buf[FOTA_PATCH_BUF > FOTA_PATCH_HDR_LEN ? FOTA_PATCH_BUF : FOTA_PATCH_HDR_LEN];
};

/* Write h as the FOTA_PATCH_HDR_LEN header bytes of a stream (encoders). */
void fota_patch_hdr_encode(const struct fota_patch_hdr *h, uint8_t out[FOTA_PATCH_HDR_LEN]);

/* Decode and check a header (magic, version, kind, window, reserved, sizes,
 * a zero base for kind 1). FOTA_OK or FOTA_ERR_PATCH. */
int fota_patch_hdr_decode(const uint8_t in[FOTA_PATCH_HDR_LEN], struct fota_patch_hdr *h);

/* Start a patch from its first byte: the header comes first. lim bounds
 * what the header may ask (copied; base_sha256 must outlive p). */
void fota_patch_start(struct fota_patch *p, const struct fota_patch_limits *lim);

/* Start at a resume point pt of the stream whose header is h (checked
 * against lim as at the start): the next byte fed is stream byte
 * pt->in_off. FOTA_OK, or FOTA_ERR_PATCH when h or pt are not a header and
 * a point (sector end or end, not past the new size). */
int fota_patch_resume(struct fota_patch *p, const struct fota_patch_limits *lim,
                      const struct fota_patch_hdr *h, const struct fota_patch_point *pt);

/*
 * Feed n stream bytes. Writes output through io as it completes. Returns
 * with *used bytes consumed:
 *   FOTA_OK          all n consumed, no sector end reached
 *   FOTA_PATCH_POINT a sector end: every output byte so far is written and
 *                    fota_patch_get_point() is a resume point; feed the rest
 *   FOTA_PATCH_DONE  the new image is complete and written (the stream must
 *                    end here: another byte is FOTA_ERR_PATCH)
 *   an error         FOTA_ERR_PATCH for a malformed stream or header,
 *                    FOTA_ERR_PATCH_BASE for a base other than lim's, or
 *                    what io returned; sticky.
 */
int fota_patch_feed(struct fota_patch *p, const struct fota_patch_io *io, const uint8_t *d,
                    uint32_t n, uint32_t *used);

/* The stream has ended: FOTA_OK when the whole new image was produced,
 * FOTA_ERR_TRUNCATED (or the sticky error) otherwise. */
int fota_patch_finish(const struct fota_patch *p);

/* The current position (a resume point right after feed returned
 * FOTA_PATCH_POINT or FOTA_PATCH_DONE, or right after start/resume). */
void fota_patch_get_point(const struct fota_patch *p, struct fota_patch_point *pt);

/* A point as FOTA_PATCH_POINT_LEN bytes (four LE words), and back. */
void fota_patch_point_encode(const struct fota_patch_point *pt, uint8_t out[FOTA_PATCH_POINT_LEN]);
void fota_patch_point_decode(const uint8_t in[FOTA_PATCH_POINT_LEN], struct fota_patch_point *pt);

#ifdef __cplusplus
}
#endif
#endif
