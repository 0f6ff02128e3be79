/*
 * patches.c - the server's patch cache (patches.h). A patch is made with
 * the host encoder outside the lock (a 1 MB delta takes about a second) and
 * inserted afterwards; two threads asking for the same new patch at once
 * both make it and the second copy is dropped. Entries live as long as the
 * server (a release's bytes never change: they are content addressed).
 */
#include "patches.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fota/patch.h"
#include "keys.h"
#include "log.h"
#include "patchenc.h"
#include "store.h"

struct patch_entry {
    int64_t target;
    int enc;
    uint8_t base[32];
    int none;          /* made, but not smaller than the full image */
    struct image img;  /* data malloc'ed */
};

struct patch_cache {
    pthread_mutex_t mu;
    struct patch_entry **v;
    size_t n, cap;
};

struct patch_cache *patches_new(void)
{
    struct patch_cache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_free(struct patch_entry *e)
{
    free((void *)e->img.data);
    free(e->img.b64);
    free(e->img.b64_off);
    free(e);
}

void patches_free(struct patch_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_free(c->v[i]);
    free(c->v);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct patch_entry *find(struct patch_cache *c, int64_t target, int enc,
                                const uint8_t base[32])
{
    for (size_t i = 0; i < c->n; i++) {
        struct patch_entry *e = c->v[i];
        if (e->target == target && e->enc == enc &&
            (enc != FOTA_ENC_DELTA || !memcmp(e->base, base, 32)))
            return e;
    }
    return NULL;
}

/* The release of chip whose image ends with the appended SHA-256 base. */
struct base_search {
    int chip;
    int64_t ids[256];
    size_t n;
};

static int collect(void *ctx, const struct store_release *r)
{
    struct base_search *s = ctx;
    if (r->chip == s->chip && s->n < sizeof s->ids / sizeof s->ids[0])
        s->ids[s->n++] = r->id;
    return 0;
}

static const struct image *find_base(struct server *srv, int chip, const uint8_t base[32])
{
    struct base_search s;
    const struct image *img;
    memset(&s, 0, sizeof s);
    s.chip = chip;
    if (srv->ops->release_list(srv->store, collect, &s) != STORE_OK)
        return NULL;
    for (size_t i = 0; i < s.n; i++)
        if (images_get(srv, s.ids[i], &img) == STORE_OK && img->size > 32 &&
            !memcmp(img->data + img->size - 32, base, 32))
            return img;
    return NULL;
}

int patches_get(struct server *srv, const struct image *target, int enc, const uint8_t base[32],
                const struct image **out)
{
    struct patch_cache *c = srv->patches;
    struct patch_entry *e, *other;
    const struct image *b = NULL;
    uint8_t *p = NULL;
    size_t pn = 0;

    pthread_mutex_lock(&c->mu);
    e = find(c, target->rel.id, enc, base);
    pthread_mutex_unlock(&c->mu);
    if (e) {
        *out = &e->img;
        return e->none ? STORE_NOT_FOUND : STORE_OK;
    }
    if (enc == FOTA_ENC_DELTA) {
        b = find_base(srv, target->rel.chip, base);
        if (!b || b->rel.id == target->rel.id)
            return STORE_NOT_FOUND; /* nothing known to make a delta from */
    } else if (enc != FOTA_ENC_COMPRESSED) {
        return STORE_NOT_FOUND;
    }
    if (target->size > UINT32_MAX ||
        patchenc_make(b ? b->data : NULL, b ? (uint32_t)b->size : 0, target->data,
                      (uint32_t)target->size, &p, &pn) != 0) {
        SLOG(SLOG_ERROR, "release %lld: cannot make its %s patch", (long long)target->rel.id,
             enc == FOTA_ENC_DELTA ? "delta" : "compressed");
        return STORE_ERR;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        free(p);
        return STORE_ERR;
    }
    e->target = target->rel.id;
    e->enc = enc;
    if (enc == FOTA_ENC_DELTA)
        memcpy(e->base, base, 32);
    e->img.rel = target->rel;
    e->img.data = p;
    e->img.size = pn;
    e->none = pn >= target->size; /* never larger than the full image */
    keys_sha256(p, pn, e->img.sha);
    if (images_b64(&e->img) < 0) {
        entry_free(e);
        return STORE_ERR;
    }
    if (enc == FOTA_ENC_DELTA)
        SLOG(SLOG_INFO, "release %lld: delta from release %lld is %zu bytes (full image %zu)%s",
             (long long)target->rel.id, (long long)b->rel.id, pn, target->size,
             e->none ? ": not offered" : "");
    else
        SLOG(SLOG_INFO, "release %lld: compressed to %zu bytes of %zu%s",
             (long long)target->rel.id, pn, target->size, e->none ? ": not offered" : "");
    pthread_mutex_lock(&c->mu);
    other = find(c, target->rel.id, enc, base);
    if (!other && c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct patch_entry **v = realloc(c->v, cap * sizeof *v);
        if (v) {
            c->v = v;
            c->cap = cap;
        }
    }
    if (!other && c->n < c->cap) {
        c->v[c->n++] = e;
        other = e;
    }
    pthread_mutex_unlock(&c->mu);
    if (other != e)
        entry_free(e);
    if (!other)
        return STORE_ERR;
    *out = &other->img;
    return other->none ? STORE_NOT_FOUND : STORE_OK;
}
