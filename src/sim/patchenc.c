/*
 * patchenc.c - the patch stream encoder (patchenc.h): a greedy matcher with
 * one step of lazy evaluation over three sources at every position of the
 * new image: the base image at the current COPY offset (lockstep: code that
 * did not move, or moved with everything around it), the base anywhere
 * (hash chains over 6-byte keys of every base position) and the new image's
 * own last 4096 bytes (hash chains over 3-byte keys). Each candidate is
 * scored by the bytes it saves against literals with the token costs of
 * include/fota/patch.h; tokens are cut at sector ends as the format wants.
 */
#include "patchenc.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/patch.h"

#define WIN (1u << PATCHENC_WINDOW_LOG2)
#define NEW_HASH_BITS 16u
#define BASE_HASH_BITS 20u
#define BASE_KEY 6u
#define NEW_CHAIN 48u
#define BASE_CHAIN 32u
#define NONE 0xFFFFFFFFu

struct obuf {
    uint8_t *b;
    size_t n, cap;
    int oom;
};

static void put(struct obuf *o, const uint8_t *d, size_t n)
{
    if (o->oom)
        return;
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 65536;
        uint8_t *nb;
        while (cap < o->n + n)
            cap *= 2;
        nb = realloc(o->b, cap);
        if (!nb) {
            o->oom = 1;
            return;
        }
        o->b = nb;
        o->cap = cap;
    }
    memcpy(o->b + o->n, d, n);
    o->n += n;
}

static void put1(struct obuf *o, uint8_t v)
{
    put(o, &v, 1);
}

static void put_varint(struct obuf *o, uint32_t v)
{
    while (v >= 0x80) {
        put1(o, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put1(o, (uint8_t)v);
}

static uint32_t varint_len(uint32_t v)
{
    uint32_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint32_t zigzag(uint32_t d)
{
    return (d << 1) ^ (uint32_t)-(int32_t)(d >> 31);
}

/* ---- token costs and emitters (the layout in fota/patch.h) --------------- */

static uint32_t cost_match(uint32_t len)
{
    return 2 + (len >= FOTA_PATCH_MATCH_EXT + FOTA_PATCH_MATCH_MIN
                    ? varint_len(len - FOTA_PATCH_MATCH_EXT - FOTA_PATCH_MATCH_MIN)
                    : 0);
}

static uint32_t cost_copy(uint32_t len, uint32_t d)
{
    return 1 + (len > FOTA_PATCH_COPY_EXT ? varint_len(len - FOTA_PATCH_COPY_EXT - 1) : 0) +
           (d ? varint_len(zigzag(d)) : 0);
}

static void emit_lit(struct obuf *o, const uint8_t *s, uint32_t len)
{
    if (!len)
        return;
    if (len > FOTA_PATCH_LIT_SHORT) {
        put1(o, FOTA_PATCH_T_LIT | FOTA_PATCH_LIT_EXT);
        put_varint(o, len - FOTA_PATCH_LIT_SHORT - 1);
    } else {
        put1(o, (uint8_t)(FOTA_PATCH_T_LIT | (len - 1)));
    }
    put(o, s, len);
}

static void emit_match(struct obuf *o, uint32_t dist, uint32_t len)
{
    uint32_t l = len - FOTA_PATCH_MATCH_MIN, d = dist - 1;
    if (l > FOTA_PATCH_MATCH_EXT)
        l = FOTA_PATCH_MATCH_EXT;
    put1(o, (uint8_t)(FOTA_PATCH_T_MATCH | (l << 4) | (d >> 8)));
    put1(o, (uint8_t)d);
    if (l == FOTA_PATCH_MATCH_EXT)
        put_varint(o, len - FOTA_PATCH_MATCH_EXT - FOTA_PATCH_MATCH_MIN);
}

static void emit_copy(struct obuf *o, uint32_t d, uint32_t len)
{
    uint8_t t = d ? FOTA_PATCH_T_COPY_REL : FOTA_PATCH_T_COPY;
    if (len > FOTA_PATCH_COPY_EXT) {
        put1(o, (uint8_t)(t | FOTA_PATCH_COPY_EXT));
        put_varint(o, len - FOTA_PATCH_COPY_EXT - 1);
    } else {
        put1(o, (uint8_t)(t | (len - 1)));
    }
    if (d)
        put_varint(o, zigzag(d));
}

static void emit_addw(struct obuf *o, uint32_t d)
{
    if (d) {
        put1(o, FOTA_PATCH_T_LIT | FOTA_PATCH_ADDW_NEW);
        put_varint(o, zigzag(d));
    } else {
        put1(o, FOTA_PATCH_T_LIT | FOTA_PATCH_ADDW);
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- matching ------------------------------------------------------------ */

struct enc {
    const uint8_t *base, *img;
    uint32_t bn, n;
    uint32_t *nhead, *nprev; /* new image: 3-byte keys */
    uint32_t *bhead, *bprev; /* base: 6-byte keys */
    uint32_t inserted;       /* new positions in the chains: [0, inserted) */
};

struct cand {
    int type; /* 0 none, 1 match, 2 copy, 3 addw */
    uint32_t len, dist, rel, gain, add;
};

static uint32_t hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - NEW_HASH_BITS);
}

static uint32_t hash6(const uint8_t *p)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < BASE_KEY; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> (64 - BASE_HASH_BITS));
}

static uint32_t common(const uint8_t *a, const uint8_t *b, uint32_t max)
{
    uint32_t k = 0;
    while (k < max && a[k] == b[k])
        k++;
    return k;
}

static void insert_upto(struct enc *e, uint32_t upto)
{
    for (; e->inserted < upto; e->inserted++) {
        uint32_t i = e->inserted, h;
        if (i + 3 > e->n)
            continue;
        h = hash3(e->img + i);
        e->nprev[i] = e->nhead[h];
        e->nhead[h] = i;
    }
}

static void consider(struct cand *best, int type, uint32_t len, uint32_t cost, uint32_t dist,
                     uint32_t rel)
{
    if (len > cost && len - cost > best->gain) {
        best->type = type;
        best->len = len;
        best->gain = len - cost;
        best->dist = dist;
        best->rel = rel;
    }
}

/* ADDW at i: the word there is the base's word at i + rel plus an addend
 * (an address that moved with what it points to). */
static void consider_addw(struct cand *b, const struct enc *e, uint32_t i, uint32_t limit,
                          uint32_t rel, uint32_t add)
{
    uint32_t s = i + rel, d;
    if (limit < 4 || s > e->bn || e->bn - s < 4)
        return;
    d = le32(e->img + i) - le32(e->base + s);
    /* a word that differs only slightly, in its low bytes: an address */
    if (d + 0x10000u > 0x20000u)
        return;
    consider(b, 3, 4, 1 + (d != add ? varint_len(zigzag(d - add)) : 0), 0, rel);
    if (b->type == 3)
        b->add = d;
}

/* The best token at i (limit: bytes to the sector end or image end). */
static struct cand best_at(struct enc *e, uint32_t i, uint32_t limit, uint32_t rel, uint32_t add)
{
    struct cand b = {0, 0, 0, 0, 0, 0};
    const uint8_t *p = e->img + i;
    uint32_t c, k, steps;

    insert_upto(e, i);
    if (e->base) {
        uint32_t s = i + rel;
        if (s < e->bn) {
            k = common(e->base + s, p, limit < e->bn - s ? limit : e->bn - s);
            if (k)
                consider(&b, 2, k, cost_copy(k, 0), 0, rel);
        }
        consider_addw(&b, e, i, limit, rel, add);
        if (limit >= BASE_KEY) {
            for (c = e->bhead[hash6(p)], steps = 0; c != NONE && steps < BASE_CHAIN;
                 c = e->bprev[c], steps++) {
                uint32_t r = c - i;
                k = common(e->base + c, p, limit < e->bn - c ? limit : e->bn - c);
                if (k >= BASE_KEY)
                    consider(&b, 2, k, cost_copy(k, r - rel), 0, r);
            }
        }
    }
    if (limit >= FOTA_PATCH_MATCH_MIN && i + 3 <= e->n) {
        for (c = e->nhead[hash3(p)], steps = 0; c != NONE && steps < NEW_CHAIN && i - c <= WIN;
             c = e->nprev[c], steps++) {
            k = common(e->img + c, p, limit);
            if (k >= FOTA_PATCH_MATCH_MIN)
                consider(&b, 1, k, cost_match(k), i - c, 0);
        }
    }
    return b;
}

int patchenc_make(const uint8_t *base, uint32_t base_len, const uint8_t *img, uint32_t img_len,
                  uint8_t **out, size_t *out_len)
{
    struct enc e;
    struct obuf o = {0};
    struct fota_patch_hdr h;
    uint8_t hb[FOTA_PATCH_HDR_LEN];
    uint32_t i, lit = 0, rel = 0, add = 0, limit;
    int rc = -1;

    if (!img || !img_len)
        return -1;
    memset(&e, 0, sizeof e);
    memset(&h, 0, sizeof h);
    e.img = img;
    e.n = img_len;
    e.base = base_len ? base : NULL;
    e.bn = e.base ? base_len : 0;
    h.kind = e.base ? FOTA_PATCH_KIND_DELTA : FOTA_PATCH_KIND_COMPRESSED;
    h.window_log2 = PATCHENC_WINDOW_LOG2;
    h.new_size = img_len;
    h.base_size = e.bn;
    if (e.base && (base_len <= 32 || mbedtls_sha256_ret(base, base_len - 32, h.base_sha256, 0) != 0))
        return -1; /* the base's name: SHA-256 of all but its last 32 bytes */
    e.nhead = malloc(sizeof(uint32_t) << NEW_HASH_BITS);
    e.nprev = malloc(sizeof(uint32_t) * (size_t)img_len);
    if (e.base) {
        e.bhead = malloc(sizeof(uint32_t) << BASE_HASH_BITS);
        e.bprev = malloc(sizeof(uint32_t) * (size_t)e.bn);
    }
    if (!e.nhead || !e.nprev || (e.base && (!e.bhead || !e.bprev)))
        goto out;
    memset(e.nhead, 0xFF, sizeof(uint32_t) << NEW_HASH_BITS);
    if (e.base) {
        memset(e.bhead, 0xFF, sizeof(uint32_t) << BASE_HASH_BITS);
        for (i = 0; i + BASE_KEY <= e.bn; i++) {
            uint32_t hh = hash6(base + i);
            e.bprev[i] = e.bhead[hh];
            e.bhead[hh] = i;
        }
    }
    fota_patch_hdr_encode(&h, hb);
    put(&o, hb, sizeof hb);

    for (i = 0; i < img_len;) {
        struct cand b, nx;
        if (i % FOTA_PATCH_SECTOR == 0 && lit < i) {
            emit_lit(&o, img + lit, i - lit); /* literals never cross a sector end */
            lit = i;
        }
        limit = FOTA_PATCH_SECTOR - i % FOTA_PATCH_SECTOR;
        if (limit > img_len - i)
            limit = img_len - i;
        b = best_at(&e, i, limit, rel, add);
        if ((b.type == 1 || (b.type == 2 && b.rel != rel)) && limit > 1) {
            /* lazy: a literal here and a better token at i + 1? (not after
             * a lockstep COPY or an ADDW: the lockstep goes on after them) */
            nx = best_at(&e, i + 1, limit - 1, b.type == 2 ? b.rel : rel, add);
            if (nx.gain > b.gain + 1)
                b.type = 0;
        }
        if (!b.type) {
            i++;
            continue;
        }
        emit_lit(&o, img + lit, i - lit);
        if (b.type == 1) {
            emit_match(&o, b.dist, b.len);
        } else if (b.type == 3) {
            emit_addw(&o, b.add - add);
            add = b.add;
        } else {
            emit_copy(&o, b.rel - rel, b.len);
            rel = b.rel;
        }
        i += b.len;
        lit = i;
    }
    emit_lit(&o, img + lit, img_len - lit);
    if (!o.oom) {
        *out = o.b;
        *out_len = o.n;
        o.b = NULL;
        rc = 0;
    }
out:
    free(o.b);
    free(e.nhead);
    free(e.nprev);
    free(e.bhead);
    free(e.bprev);
    return rc;
}
