/*
 * devcache.c - in-memory cache of authenticated devices for the hot path,
 * and the invalidating store method table in front of the real store. See
 * devcache.h for what is cached and why it cannot go stale.
 */
#include "devcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define SHARDS 64
#define BUCKETS 256 /* per shard */
#define DEPLOYED_MAX 8

struct entry {
    struct entry *next;
    char id[DEVICE_ID_MAX + 1];
    struct store_device dev;
    struct keys_mac mac;
    char token[65];
    int64_t deployed[DEPLOYED_MAX];
    unsigned ndeployed;
};

struct shard {
    pthread_mutex_t mu;
    uint64_t gen; /* bumped by every write to a device of this shard */
    unsigned count;
    struct entry *b[BUCKETS];
};

struct devcache {
    struct shard s[SHARDS];
    atomic_ullong hits, misses; /* devcache_auth answered from memory / the store */
};

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

static struct shard *shard_of(struct devcache *c, uint32_t h)
{
    return &c->s[h % SHARDS];
}

static struct entry **slot_of(struct shard *s, uint32_t h, const char *id)
{
    struct entry **p = &s->b[(h / SHARDS) % BUCKETS];
    while (*p && strcmp((*p)->id, id) != 0)
        p = &(*p)->next;
    return p;
}

static void entry_free(struct entry *e)
{
    explicit_bzero(e, sizeof *e); /* key material */
    free(e);
}

static void shard_clear(struct shard *s)
{
    for (unsigned i = 0; i < BUCKETS; i++)
        while (s->b[i]) {
            struct entry *e = s->b[i];
            s->b[i] = e->next;
            entry_free(e);
        }
    s->count = 0;
}

struct devcache *devcache_new(void)
{
    struct devcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&c->s[i].mu, NULL);
    return c;
}

void devcache_free(struct devcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard_clear(&c->s[i]);
        pthread_mutex_destroy(&c->s[i].mu);
    }
    free(c);
}

/* Drop id's entry after a write that may change its row. */
static void forget(struct devcache *c, const char *id)
{
    uint32_t h = hash_id(id);
    struct shard *s = shard_of(c, h);
    struct entry **p, *e;

    pthread_mutex_lock(&s->mu);
    s->gen++;
    p = slot_of(s, h, id);
    if ((e = *p)) {
        *p = e->next;
        s->count--;
        entry_free(e);
    }
    pthread_mutex_unlock(&s->mu);
}

/* After device_checked wrote id's row: the entry takes the same change as
 * the row (what check reported, the offer, last_seen), so a device that
 * polls keeps its entry; forgetting it made every poll derive the key and
 * read the row again. The generation still moves, so a row read before the
 * write is not cached by a racing devcache_auth. */
static void checked(struct devcache *c, const char *id, const char *running, int64_t offered,
                    int64_t now)
{
    uint32_t h = hash_id(id);
    struct shard *s = shard_of(c, h);
    struct entry *e;

    pthread_mutex_lock(&s->mu);
    s->gen++;
    if ((e = *slot_of(s, h, id))) {
        snprintf(e->dev.reported_version, sizeof e->dev.reported_version, "%s", running);
        if (offered > 0)
            e->dev.offered_release = offered;
        e->dev.last_seen = now;
    }
    pthread_mutex_unlock(&s->mu);
}

/* Constant time over the 64 hex digits; NULL or another length is wrong. */
static int token_equal(const char *want, const char *got)
{
    return got && strlen(got) == 64 && keys_ct_equal(want, got, 64);
}

int devcache_auth(struct server *srv, const char *id, const char *token,
                  struct store_device *dev, struct keys_mac *mac)
{
    struct devcache *c = srv->devcache;
    uint32_t h = hash_id(id);
    struct shard *s = shard_of(c, h);
    struct entry *e, *n;
    uint8_t key[KEY_LEN];
    uint64_t gen;
    int rc, ok;

    pthread_mutex_lock(&s->mu);
    e = *slot_of(s, h, id);
    if (e) {
        ok = token_equal(e->token, token);
        if (ok) {
            *dev = e->dev;
            *mac = e->mac;
        }
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
        return ok ? DEVCACHE_OK : DEVCACHE_BAD_TOKEN;
    }
    gen = s->gen;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);

    n = calloc(1, sizeof *n);
    if (!n)
        return DEVCACHE_ERR;
    snprintf(n->id, sizeof n->id, "%s", id);
    if (devcache_device_key(srv, id, key) < 0) {
        entry_free(n);
        return DEVCACHE_ERR;
    }
    keys_device_token_hex(key, id, n->token);
    keys_mac_init(&n->mac, key);
    explicit_bzero(key, sizeof key);
    if (!token_equal(n->token, token)) {
        entry_free(n);
        return DEVCACHE_BAD_TOKEN;
    }
    rc = srv->ops->device_get(srv->store, id, &n->dev);
    if (rc != STORE_OK) {
        entry_free(n);
        return rc == STORE_NOT_FOUND ? DEVCACHE_UNKNOWN : DEVCACHE_ERR;
    }
    *dev = n->dev;
    *mac = n->mac;

    pthread_mutex_lock(&s->mu);
    if (s->gen == gen && !*slot_of(s, h, id)) {
        /* no write to this shard since the row was read: it is current */
        if (s->count >= DEVCACHE_MAX / SHARDS)
            shard_clear(s);
        struct entry **p = &s->b[(h / SHARDS) % BUCKETS];
        n->next = *p;
        *p = n;
        s->count++;
        n = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (n)
        entry_free(n);
    return DEVCACHE_OK;
}

void devcache_stats(struct devcache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? atomic_load_explicit(&c->hits, memory_order_relaxed) : 0;
    *misses = c ? atomic_load_explicit(&c->misses, memory_order_relaxed) : 0;
}

int devcache_refresh(struct server *srv, const char *id, struct store_device *dev)
{
    /* Another node may have written the row (a check there offered another
     * release): on a shared store the mutable part is read where it is used */
    if (!srv->ops->shared)
        return STORE_OK;
    return srv->ops->device_get(srv->store, id, dev);
}

int devcache_device_key(struct server *srv, const char *id, uint8_t key[KEY_LEN])
{
    uint8_t wrapped[KEYS_WRAPPED_LEN];
    int rc = srv->ops->device_key_get(srv->store, id, wrapped);

    if (rc == STORE_NOT_FOUND) {
        keys_device_key(&srv->keys, id, key);
        return 0;
    }
    if (rc != STORE_OK)
        return -1;
    if (keys_unwrap(&srv->keys, id, wrapped, key) < 0) {
        SLOG(SLOG_ERROR, "device %s: its imported key does not unwrap (another master key?)", id);
        return -1;
    }
    return 0;
}

int devcache_deployed_to(struct server *srv, int64_t release, const char *id, int chip)
{
    struct devcache *c = srv->devcache;
    uint32_t h = hash_id(id);
    struct shard *s = shard_of(c, h);
    struct entry *e;
    int rc;

    pthread_mutex_lock(&s->mu);
    e = *slot_of(s, h, id);
    for (unsigned i = 0; e && i < e->ndeployed; i++)
        if (e->deployed[i] == release) {
            pthread_mutex_unlock(&s->mu);
            return STORE_OK;
        }
    pthread_mutex_unlock(&s->mu);

    rc = srv->ops->release_deployed_to(srv->store, release, id, chip);
    if (rc != STORE_OK)
        return rc;
    /* deployments are only ever added: a positive answer stays true */
    pthread_mutex_lock(&s->mu);
    e = *slot_of(s, h, id);
    if (e) {
        if (e->ndeployed == DEPLOYED_MAX) {
            memmove(e->deployed, e->deployed + 1, (DEPLOYED_MAX - 1) * sizeof e->deployed[0]);
            e->ndeployed--;
        }
        e->deployed[e->ndeployed++] = release;
    }
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

/* --- the invalidating store in front of the real one ---------------------- */

struct wrapped {
    const struct store_ops *ops;
    struct store *inner;
    struct devcache *dc;
};

#define W(s) ((struct wrapped *)(void *)(s))
#define INNER(s) W(s)->ops
#define IS(s) W(s)->inner

static int w_open(const char *target, struct store **out)
{
    (void)target;
    (void)out;
    return STORE_ERR; /* made by devcache_wrap_store only */
}

static void w_close(struct store *s)
{
    INNER(s)->close(IS(s));
    free(W(s));
}

static int w_release_insert(struct store *s, struct store_release *r)
{
    return INNER(s)->release_insert(IS(s), r);
}

static int w_release_get(struct store *s, int64_t id, struct store_release *out)
{
    return INNER(s)->release_get(IS(s), id, out);
}

static int w_release_by_sha256(struct store *s, const char *sha, struct store_release *out)
{
    return INNER(s)->release_by_sha256(IS(s), sha, out);
}

static int w_release_list(struct store *s, store_release_cb cb, void *ctx)
{
    return INNER(s)->release_list(IS(s), cb, ctx);
}

static int w_device_insert(struct store *s, const char *id, int chip)
{
    int rc = INNER(s)->device_insert(IS(s), id, chip);
    forget(W(s)->dc, id);
    return rc;
}

static int w_device_get(struct store *s, const char *id, struct store_device *out)
{
    return INNER(s)->device_get(IS(s), id, out);
}

static int w_device_list(struct store *s, store_device_cb cb, void *ctx)
{
    return INNER(s)->device_list(IS(s), cb, ctx);
}

static int w_device_checked(struct store *s, const char *id, const char *running_version,
                            int64_t offered_release, int64_t now)
{
    int rc = INNER(s)->device_checked(IS(s), id, running_version, offered_release, now);
    if (rc == STORE_OK)
        checked(W(s)->dc, id, running_version, offered_release, now);
    else
        forget(W(s)->dc, id);
    return rc;
}

static int w_status_add(struct store *s, const char *id, const struct store_status *st,
                        const char *confirmed_version)
{
    int rc = INNER(s)->status_add(IS(s), id, st, confirmed_version);
    forget(W(s)->dc, id);
    return rc;
}

static int w_status_history(struct store *s, const char *id, int limit, store_status_cb cb,
                            void *ctx)
{
    return INNER(s)->status_history(IS(s), id, limit, cb, ctx);
}

static int w_deployment_create(struct store *s, int64_t release, int chip, int allow_downgrade,
                               const char *const *devices, size_t n,
                               struct store_deployment *out)
{
    /* adds deployments only: no cached answer ("deployed") becomes false,
     * and "not deployed" is never cached */
    return INNER(s)->deployment_create(IS(s), release, chip, allow_downgrade, devices, n, out);
}

static int w_deployment_list(struct store *s, store_deployment_cb cb, void *ctx)
{
    return INNER(s)->deployment_list(IS(s), cb, ctx);
}

static int w_deployment_for_device(struct store *s, const char *id, int chip, int64_t *release,
                                   int *allow_downgrade)
{
    return INNER(s)->deployment_for_device(IS(s), id, chip, release, allow_downgrade);
}

static int w_release_deployed_to(struct store *s, int64_t release, const char *id, int chip)
{
    return INNER(s)->release_deployed_to(IS(s), release, id, chip);
}

/* Rollouts touch no cached row (devices are read through device_get; a
 * rollout's offer is recorded by device_checked, which forgets the entry);
 * "offered by a rollout" only ever becomes true, like "deployed". */
static int w_rollout_create(struct store *s, struct store_rollout *r,
                            const struct store_member *m, size_t n)
{
    return INNER(s)->rollout_create(IS(s), r, m, n);
}

static int w_rollout_get(struct store *s, int64_t id, struct store_rollout *out)
{
    return INNER(s)->rollout_get(IS(s), id, out);
}

static int w_rollout_list(struct store *s, store_rollout_cb cb, void *ctx)
{
    return INNER(s)->rollout_list(IS(s), cb, ctx);
}

static int w_rollout_transition(struct store *s, int64_t id, const char *from_state,
                                int from_stage, const char *to_state, int to_stage, int64_t now,
                                const char *reason)
{
    return INNER(s)->rollout_transition(IS(s), id, from_state, from_stage, to_state, to_stage,
                                        now, reason);
}

static int w_rollout_events(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx)
{
    return INNER(s)->rollout_events(IS(s), id, cb, ctx);
}

static int w_rollout_progress(struct store *s, int64_t id, struct store_stage_counts *c, int n)
{
    return INNER(s)->rollout_progress(IS(s), id, c, n);
}

static int w_rollout_missing(struct store *s, const struct store_rollout *r, const char *device,
                             store_target_cb cb, void *ctx)
{
    return INNER(s)->rollout_missing(IS(s), r, device, cb, ctx);
}

static int w_rollout_add_members(struct store *s, int64_t id, const struct store_member *m,
                                 size_t n)
{
    return INNER(s)->rollout_add_members(IS(s), id, m, n);
}

static int w_rollout_joinable(struct store *s, const char *device, int chip,
                              const char *const *states, store_rollout_cb cb, void *ctx)
{
    return INNER(s)->rollout_joinable(IS(s), device, chip, states, cb, ctx);
}

static int w_rollout_expire(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n)
{
    return INNER(s)->rollout_expire(IS(s), id, cutoff, now, n);
}

static int w_rollout_lookup(struct store *s, const char *device, int chip,
                            const char *const *states, int *joinable,
                            struct store_rollout_offer *out)
{
    return INNER(s)->rollout_lookup(IS(s), device, chip, states, joinable, out);
}

static int w_rollout_for_device(struct store *s, const char *device, int chip,
                                struct store_rollout_offer *out)
{
    return INNER(s)->rollout_for_device(IS(s), device, chip, out);
}

static int w_rollout_offered(struct store *s, int64_t rollout, const char *device, int64_t now)
{
    return INNER(s)->rollout_offered(IS(s), rollout, device, now);
}

static int w_audit_add(struct store *s, struct store_audit *a)
{
    return INNER(s)->audit_add(IS(s), a);
}

static int w_audit_list(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx)
{
    return INNER(s)->audit_list(IS(s), before, limit, cb, ctx);
}

/* A bulk registration only adds devices, and unknown ids are never cached;
 * still, forget each id it names (cheap, and safe whatever it did). */
static int w_device_import(struct store *s, struct store_import_row *rows, size_t n)
{
    int rc = INNER(s)->device_import(IS(s), rows, n);
    for (size_t i = 0; i < n; i++)
        forget(W(s)->dc, rows[i].id);
    return rc;
}

static int w_device_tag(struct store *s, const char *id, const char *const *add, size_t nadd,
                        const char *const *remove, size_t nremove)
{
    return INNER(s)->device_tag(IS(s), id, add, nadd, remove, nremove);
}

static int w_device_tags(struct store *s, const char *id, store_tag_cb cb, void *ctx)
{
    return INNER(s)->device_tags(IS(s), id, cb, ctx);
}

static int w_device_key_get(struct store *s, const char *id, uint8_t wrapped[60])
{
    return INNER(s)->device_key_get(IS(s), id, wrapped);
}

static int w_blob_put(struct store *s, const char *sha, const uint8_t *data, size_t len)
{
    return INNER(s)->blob_put(IS(s), sha, data, len);
}

static int w_blob_get(struct store *s, const char *sha, int fd)
{
    return INNER(s)->blob_get(IS(s), sha, fd);
}

static int w_download_admit(struct store *s, const char *id, unsigned max, int64_t now,
                            unsigned idle)
{
    return INNER(s)->download_admit(IS(s), id, max, now, idle);
}

static int w_download_done(struct store *s, const char *id)
{
    return INNER(s)->download_done(IS(s), id);
}

static struct store_ops wrapped_ops = {
    .open = w_open,
    .close = w_close,
    .release_insert = w_release_insert,
    .release_get = w_release_get,
    .release_by_sha256 = w_release_by_sha256,
    .release_list = w_release_list,
    .device_insert = w_device_insert,
    .device_get = w_device_get,
    .device_list = w_device_list,
    .device_checked = w_device_checked,
    .status_add = w_status_add,
    .status_history = w_status_history,
    .deployment_create = w_deployment_create,
    .deployment_list = w_deployment_list,
    .deployment_for_device = w_deployment_for_device,
    .release_deployed_to = w_release_deployed_to,
    .rollout_create = w_rollout_create,
    .rollout_get = w_rollout_get,
    .rollout_list = w_rollout_list,
    .rollout_transition = w_rollout_transition,
    .rollout_events = w_rollout_events,
    .rollout_progress = w_rollout_progress,
    .rollout_missing = w_rollout_missing,
    .rollout_add_members = w_rollout_add_members,
    .rollout_joinable = w_rollout_joinable,
    .rollout_expire = w_rollout_expire,
    .rollout_for_device = w_rollout_for_device,
    .rollout_lookup = w_rollout_lookup,
    .rollout_offered = w_rollout_offered,
    .audit_add = w_audit_add,
    .audit_list = w_audit_list,
    .device_import = w_device_import,
    .device_tag = w_device_tag,
    .device_tags = w_device_tags,
    .device_key_get = w_device_key_get,
};

void devcache_wrap_store(struct server *srv)
{
    struct wrapped *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->ops = srv->ops;
    w->inner = srv->store;
    w->dc = srv->devcache;
    wrapped_ops.name = srv->ops->name;
    wrapped_ops.shared = srv->ops->shared;
    wrapped_ops.blob_put = srv->ops->blob_put ? w_blob_put : NULL;
    wrapped_ops.blob_get = srv->ops->blob_get ? w_blob_get : NULL;
    wrapped_ops.download_admit = srv->ops->download_admit ? w_download_admit : NULL;
    wrapped_ops.download_done = srv->ops->download_done ? w_download_done : NULL;
    srv->ops = &wrapped_ops;
    srv->store = (struct store *)(void *)w;
}
