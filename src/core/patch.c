/*
 * patch.c - the patcher: decodes a patch stream (include/fota/patch.h) fed in
 * pieces of any size and writes the new image in order through the caller's
 * io callbacks. No heap, no globals; its RAM is struct fota_patch. Every
 * token is decoded and checked whole (lengths, references, sector bounds)
 * before it produces a byte, so a malformed token never writes one. Back
 * references read the new image back from the update slot, base copies read
 * the running slot: the window costs no RAM, and at a sector end the state
 * is the three words of struct fota_patch_point.
 */
#include "fota/patch.h"
#include "fota/error.h"
#include "le.h"

#define OP_ADDW 0x3Du /* internal op code of ADDW (its token's value) */

enum {
    ST_HDR,   /* header bytes */
    ST_TOK,   /* a token's first byte */
    ST_DIST,  /* MATCH: its second byte */
    ST_LENV,  /* length extension varint */
    ST_RELV,  /* COPY_REL: zigzag varint */
    ST_ADDV,  /* ADDW with a new add: zigzag varint */
    ST_LIT,   /* LITERAL: its bytes */
    ST_GEN,   /* MATCH or COPY: producing from the image(s) */
    ST_DONE
};

typedef char fota_patch_buf_check[(FOTA_PATCH_BUF >= 16u && FOTA_PATCH_SECTOR % FOTA_PATCH_BUF == 0 &&
                                   (FOTA_PATCH_BUF & (FOTA_PATCH_BUF - 1u)) == 0 &&
                                   FOTA_PATCH_WINDOW_LOG2 <= 12u)
                                      ? 1
                                      : -1];

void fota_patch_hdr_encode(const struct fota_patch_hdr *h, uint8_t out[FOTA_PATCH_HDR_LEN])
{
    fota_fill(out, 0, FOTA_PATCH_HDR_LEN);
    fota_put_le32(out, FOTA_PATCH_MAGIC);
    out[4] = FOTA_PATCH_VERSION;
    out[5] = h->kind;
    out[6] = h->window_log2;
    fota_put_le32(out + 8, h->new_size);
    fota_put_le32(out + 12, h->base_size);
    fota_copy(out + 16, h->base_sha256, 32);
}

int fota_patch_hdr_decode(const uint8_t in[FOTA_PATCH_HDR_LEN], struct fota_patch_hdr *h)
{
    uint8_t any = 0;
    uint32_t i;

    fota_fill(h, 0, sizeof *h);
    if (fota_le32(in) != FOTA_PATCH_MAGIC || in[4] != FOTA_PATCH_VERSION || in[7] != 0)
        return FOTA_ERR_PATCH;
    h->kind = in[5];
    h->window_log2 = in[6];
    h->new_size = fota_le32(in + 8);
    h->base_size = fota_le32(in + 12);
    fota_copy(h->base_sha256, in + 16, 32);
    for (i = 0; i < 32; i++)
        any |= h->base_sha256[i];
    if (h->window_log2 < FOTA_PATCH_WINDOW_MIN_LOG2 || h->window_log2 > 31u || h->new_size == 0)
        return FOTA_ERR_PATCH;
    if (h->kind == FOTA_PATCH_KIND_COMPRESSED)
        return h->base_size == 0 && !any ? FOTA_OK : FOTA_ERR_PATCH;
    if (h->kind == FOTA_PATCH_KIND_DELTA)
        return h->base_size > 32u ? FOTA_OK : FOTA_ERR_PATCH;
    return FOTA_ERR_PATCH;
}

/* The header against what this device accepts. */
static int hdr_fits(const struct fota_patch_hdr *h, const struct fota_patch_limits *lim)
{
    if (h->window_log2 > FOTA_PATCH_WINDOW_LOG2 || h->new_size > lim->out_max)
        return FOTA_ERR_PATCH;
    if (h->kind == FOTA_PATCH_KIND_DELTA) {
        if (h->base_size > lim->base_max)
            return FOTA_ERR_PATCH_BASE;
        if (lim->base_sha256 && fota_ct_diff(h->base_sha256, lim->base_sha256, 32))
            return FOTA_ERR_PATCH_BASE;
    }
    return FOTA_OK;
}

void fota_patch_start(struct fota_patch *p, const struct fota_patch_limits *lim)
{
    fota_fill(p, 0, sizeof *p);
    p->lim = *lim;
    p->stage = ST_HDR;
}

int fota_patch_resume(struct fota_patch *p, const struct fota_patch_limits *lim,
                      const struct fota_patch_hdr *h, const struct fota_patch_point *pt)
{
    uint8_t b[FOTA_PATCH_HDR_LEN];
    int rc;

    fota_patch_start(p, lim);
    fota_patch_hdr_encode(h, b);
    rc = fota_patch_hdr_decode(b, &p->hdr);
    if (!rc)
        rc = hdr_fits(&p->hdr, lim);
    if (!rc && (pt->out_off > h->new_size || pt->in_off < FOTA_PATCH_HDR_LEN ||
                (pt->out_off % FOTA_PATCH_SECTOR && pt->out_off != h->new_size)))
        rc = FOTA_ERR_PATCH;
    if (rc) {
        p->err = rc;
        return rc;
    }
    p->in_off = pt->in_off;
    p->out_off = p->flushed = pt->out_off;
    p->rel = pt->rel;
    p->add = pt->add;
    p->stage = p->out_off == h->new_size ? ST_DONE : ST_TOK;
    return FOTA_OK;
}

void fota_patch_get_point(const struct fota_patch *p, struct fota_patch_point *pt)
{
    pt->in_off = p->in_off;
    pt->out_off = p->out_off;
    pt->rel = p->rel;
    pt->add = p->add;
}

void fota_patch_point_encode(const struct fota_patch_point *pt, uint8_t out[FOTA_PATCH_POINT_LEN])
{
    fota_put_le32(out, pt->in_off);
    fota_put_le32(out + 4, pt->out_off);
    fota_put_le32(out + 8, pt->rel);
    fota_put_le32(out + 12, pt->add);
}

void fota_patch_point_decode(const uint8_t in[FOTA_PATCH_POINT_LEN], struct fota_patch_point *pt)
{
    pt->in_off = fota_le32(in);
    pt->out_off = fota_le32(in + 4);
    pt->rel = fota_le32(in + 8);
    pt->add = fota_le32(in + 12);
}

int fota_patch_finish(const struct fota_patch *p)
{
    if (p->err)
        return p->err;
    return p->stage == ST_DONE ? FOTA_OK : FOTA_ERR_TRUNCATED;
}

/* ---- tokens ---------------------------------------------------------------- */

/* One varint byte: 1 when the varint is complete (in p->v), 0 when more
 * follow, FOTA_ERR_PATCH past 5 bytes or 32 bits. */
static int varint_byte(struct fota_patch *p, uint8_t b)
{
    if (p->vn == FOTA_PATCH_VARINT_MAX - 1u && (b & 0xF0u))
        return FOTA_ERR_PATCH; /* a fifth byte carries 4 bits and ends */
    p->v |= (uint32_t)(b & 0x7Fu) << (7u * p->vn);
    p->vn++;
    return (b & 0x80u) ? 0 : 1;
}

/* The token is whole (type, len, dist, rel): check it against the image, the
 * window, the base and the sector before it produces a byte. */
static int token_ok(const struct fota_patch *p)
{
    uint32_t left = p->hdr.new_size - p->out_off;
    uint32_t to_sector = FOTA_PATCH_SECTOR - p->out_off % FOTA_PATCH_SECTOR;
    uint32_t src;

    if (p->len == 0 || p->len > left || p->len > to_sector)
        return FOTA_ERR_PATCH;
    if (p->op == FOTA_PATCH_T_MATCH)
        return p->dist <= p->out_off && p->dist <= (1u << p->hdr.window_log2) ? FOTA_OK
                                                                                : FOTA_ERR_PATCH;
    if (p->op == FOTA_PATCH_T_COPY || p->op == FOTA_PATCH_T_COPY_REL || p->op == OP_ADDW) {
        if (p->hdr.kind != FOTA_PATCH_KIND_DELTA)
            return FOTA_ERR_PATCH;
        src = p->out_off + p->rel; /* mod 2^32 */
        return src <= p->hdr.base_size && p->len <= p->hdr.base_size - src ? FOTA_OK
                                                                             : FOTA_ERR_PATCH;
    }
    return FOTA_OK;
}

/* The token's length is known: check it, then produce. */
static int token_go(struct fota_patch *p)
{
    int rc = token_ok(p);
    if (rc)
        return rc;
    p->stage = p->op == FOTA_PATCH_T_LIT ? ST_LIT : ST_GEN;
    return FOTA_OK;
}

/* A length extension: len = base + v, refused past 2^32 - 1. */
static int len_ext(struct fota_patch *p)
{
    if (p->v > 0xFFFFFFFFu - p->len)
        return FOTA_ERR_PATCH;
    p->len += p->v;
    return FOTA_OK;
}

/* ---- output ---------------------------------------------------------------- */

static int flush(struct fota_patch *p, const struct fota_patch_io *io)
{
    uint32_t n = p->out_off - p->flushed;
    int rc;
    if (!n)
        return FOTA_OK;
    rc = io->out_write(io->ctx, p->flushed, p->buf, n);
    if (!rc)
        p->flushed = p->out_off;
    return rc;
}

/* k output bytes were placed at the staging position: advance, flush a
 * full buffer. */
static int produced(struct fota_patch *p, const struct fota_patch_io *io, uint32_t k)
{
    p->out_off += k;
    p->len -= k;
    return p->out_off - p->flushed == FOTA_PATCH_BUF ? flush(p, io) : FOTA_OK;
}

/* MATCH or COPY: produce the whole token from the images. */
static int generate(struct fota_patch *p, const struct fota_patch_io *io)
{
    uint32_t pos, k, src, i;
    int rc = FOTA_OK;

    while (p->len && !rc) {
        pos = p->out_off - p->flushed;
        k = FOTA_PATCH_BUF - pos;
        k = k < p->len ? k : p->len;
        if (p->op == FOTA_PATCH_T_MATCH) {
            src = p->out_off - p->dist;
            if (src >= p->flushed) {
                for (i = 0; i < k; i++) /* byte by byte: the source may overlap */
                    p->buf[pos + i] = p->buf[pos + i - p->dist];
            } else {
                k = k < p->flushed - src ? k : p->flushed - src;
                rc = io->out_read(io->ctx, src, p->buf + pos, k);
            }
        } else if (p->op == OP_ADDW) {
            if (p->len == 4) { /* the word, once */
                rc = io->base_read ? io->base_read(io->ctx, p->out_off + p->rel, p->w, 4)
                                   : FOTA_ERR_PATCH;
                if (rc)
                    break;
                fota_put_le32(p->w, fota_le32(p->w) + p->add);
            }
            for (i = 0; i < k; i++)
                p->buf[pos + i] = p->w[4 - p->len + i];
        } else {
            rc = io->base_read ? io->base_read(io->ctx, p->out_off + p->rel, p->buf + pos, k)
                               : FOTA_ERR_PATCH;
        }
        if (!rc)
            rc = produced(p, io, k);
    }
    return rc;
}

/* After a token: at a sector end or the end, write what is staged. */
static int token_done(struct fota_patch *p, const struct fota_patch_io *io)
{
    int rc;
    p->stage = ST_TOK;
    if (p->out_off != p->hdr.new_size && p->out_off % FOTA_PATCH_SECTOR)
        return FOTA_OK;
    rc = flush(p, io);
    if (rc)
        return rc;
    if (p->out_off == p->hdr.new_size) {
        p->stage = ST_DONE;
        return FOTA_PATCH_DONE;
    }
    return FOTA_PATCH_POINT;
}

/* One byte of a token's head (ST_TOK, ST_DIST, ST_LENV, ST_RELV). */
static int head_byte(struct fota_patch *p, uint8_t b)
{
    int rc;

    switch (p->stage) {
    case ST_TOK:
        p->v = 0;
        p->vn = 0;
        if (b & FOTA_PATCH_T_MATCH) {
            p->op = FOTA_PATCH_T_MATCH;
            p->len = ((b >> 4) & 7u) + FOTA_PATCH_MATCH_MIN;
            p->dist = (uint32_t)(b & 0x0Fu) << 8;
            p->stage = ST_DIST;
            return FOTA_OK;
        }
        if (!(b & 0x40u)) {
            p->op = FOTA_PATCH_T_LIT;
            p->len = (b & 0x3Fu) + 1u;
            if ((b & 0x3Fu) == FOTA_PATCH_ADDW || (b & 0x3Fu) == FOTA_PATCH_ADDW_NEW) {
                p->op = OP_ADDW;
                p->len = 4;
                if ((b & 0x3Fu) == FOTA_PATCH_ADDW_NEW) {
                    p->stage = ST_ADDV;
                    return FOTA_OK;
                }
            } else if ((b & 0x3Fu) == FOTA_PATCH_LIT_EXT) {
                p->len = FOTA_PATCH_LIT_SHORT + 1u;
                p->stage = ST_LENV;
                return FOTA_OK;
            }
            return token_go(p);
        }
        p->op = b & 0x60u;
        p->len = (b & 0x1Fu) + 1u;
        if ((b & 0x1Fu) == FOTA_PATCH_COPY_EXT)
            p->stage = ST_LENV;
        else if (p->op == FOTA_PATCH_T_COPY_REL)
            p->stage = ST_RELV;
        else
            return token_go(p);
        return FOTA_OK;
    case ST_DIST:
        p->dist = (p->dist | b) + 1u;
        if (p->len == FOTA_PATCH_MATCH_EXT + FOTA_PATCH_MATCH_MIN) {
            p->stage = ST_LENV;
            return FOTA_OK;
        }
        return token_go(p);
    case ST_LENV:
        rc = varint_byte(p, b);
        if (rc <= 0)
            return rc;
        rc = len_ext(p);
        if (rc)
            return rc;
        p->v = 0;
        p->vn = 0;
        if (p->op == FOTA_PATCH_T_COPY_REL) {
            p->stage = ST_RELV;
            return FOTA_OK;
        }
        return token_go(p);
    case ST_RELV:
        rc = varint_byte(p, b);
        if (rc <= 0)
            return rc;
        p->rel += (p->v >> 1) ^ (0u - (p->v & 1u)); /* zigzag, mod 2^32 */
        return token_go(p);
    case ST_ADDV:
        rc = varint_byte(p, b);
        if (rc <= 0)
            return rc;
        p->add += (p->v >> 1) ^ (0u - (p->v & 1u));
        return token_go(p);
    default:
        return FOTA_ERR_PATCH;
    }
}

int fota_patch_feed(struct fota_patch *p, const struct fota_patch_io *io, const uint8_t *d,
                    uint32_t n, uint32_t *used)
{
    uint32_t i = 0, k, pos;
    int rc = FOTA_OK;

    *used = 0;
    if (p->err)
        return p->err;
    for (;;) {
        if (p->stage == ST_GEN) {
            rc = generate(p, io);
            if (!rc)
                rc = token_done(p, io);
        } else if (p->stage == ST_LIT && i < n) {
            pos = p->out_off - p->flushed;
            k = FOTA_PATCH_BUF - pos;
            k = k < p->len ? k : p->len;
            k = k < n - i ? k : n - i;
            fota_copy(p->buf + pos, d + i, k);
            i += k;
            p->in_off += k;
            rc = produced(p, io, k);
            if (!rc && !p->len)
                rc = token_done(p, io);
        } else if (i == n) {
            break;
        } else if (p->stage == ST_HDR) {
            k = FOTA_PATCH_HDR_LEN - p->hn;
            k = k < n - i ? k : n - i;
            fota_copy(p->buf + p->hn, d + i, k);
            p->hn = (uint8_t)(p->hn + k);
            i += k;
            p->in_off += k;
            if (p->hn == FOTA_PATCH_HDR_LEN) {
                rc = fota_patch_hdr_decode(p->buf, &p->hdr);
                if (!rc)
                    rc = hdr_fits(&p->hdr, &p->lim);
                p->stage = ST_TOK;
            }
        } else if (p->stage == ST_DONE) {
            rc = FOTA_ERR_PATCH; /* bytes after the end */
        } else {
            rc = head_byte(p, d[i]);
            i++;
            p->in_off++;
        }
        if (rc)
            break;
    }
    *used = i;
    if (rc < 0)
        p->err = rc;
    return rc;
}
