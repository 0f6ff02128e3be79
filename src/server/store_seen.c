/*
 * store_seen.c - the batched last_seen times (store_seen.h): an open
 * addressing table of pending ids (the newest time each), swapped out under
 * the mutex and flushed outside it, so a poll never waits for a write.
 */
#include "store_seen.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define SLOTS 32768 /* pending ids at most; a full table is flushed at once */

struct table {
    struct store_seen_entry *e; /* SLOTS slots; id[0] == 0: empty */
    size_t n;
};

struct store_seen {
    pthread_mutex_t mu;      /* the pending table */
    pthread_mutex_t flush_mu; /* one flush at a time */
    pthread_cond_t cv;
    pthread_t th;
    int stop;
    unsigned interval_ms;
    struct table pending, spare;
    store_seen_flush_fn flush;
    void *ctx;
};

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

/* Writes out t (then empties it); with flush_mu held. */
static void write_table(struct store_seen *s, struct table *t)
{
    size_t k = 0;
    if (!t->n)
        return;
    for (size_t i = 0; i < SLOTS; i++)
        if (t->e[i].id[0])
            t->e[k++] = t->e[i]; /* packed at the front, k <= i */
    if (s->flush(s->ctx, t->e, k) < 0)
        SLOG(SLOG_WARN, "last_seen of %zu devices not written (see above)", k);
    memset(t->e, 0, SLOTS * sizeof *t->e);
    t->n = 0;
}

void store_seen_flush(struct store_seen *s)
{
    struct table t;
    pthread_mutex_lock(&s->flush_mu);
    pthread_mutex_lock(&s->mu);
    t = s->pending;
    s->pending = s->spare;
    s->spare = t;
    pthread_mutex_unlock(&s->mu);
    write_table(s, &s->spare);
    pthread_mutex_unlock(&s->flush_mu);
}

static void *run(void *arg)
{
    struct store_seen *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->interval_ms / 1000;
        ts.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        pthread_mutex_unlock(&s->mu);
        store_seen_flush(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct store_seen *store_seen_new(store_seen_flush_fn flush, void *ctx, unsigned interval_ms)
{
    struct store_seen *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pending.e = calloc(SLOTS, sizeof *s->pending.e);
    s->spare.e = calloc(SLOTS, sizeof *s->spare.e);
    s->flush = flush;
    s->ctx = ctx;
    s->interval_ms = interval_ms ? interval_ms : STORE_SEEN_INTERVAL_MS;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (!s->pending.e || !s->spare.e || pthread_create(&s->th, NULL, run, s) != 0) {
        free(s->pending.e);
        free(s->spare.e);
        free(s);
        return NULL;
    }
    return s;
}

void store_seen_note(struct store_seen *s, const char *id, int64_t at)
{
    uint32_t i = hash_id(id) % SLOTS;
    int full;

    pthread_mutex_lock(&s->mu);
    while (s->pending.e[i].id[0] && strcmp(s->pending.e[i].id, id) != 0)
        i = (i + 1) % SLOTS;
    if (!s->pending.e[i].id[0]) {
        strncpy(s->pending.e[i].id, id, sizeof s->pending.e[i].id - 1);
        s->pending.n++;
    }
    if (at > s->pending.e[i].at)
        s->pending.e[i].at = at;
    full = s->pending.n >= SLOTS * 3 / 4; /* keep probes short: flush now */
    pthread_mutex_unlock(&s->mu);
    if (full)
        store_seen_flush(s);
}

void store_seen_free(struct store_seen *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    store_seen_flush(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->flush_mu);
    free(s->pending.e);
    free(s->spare.e);
    free(s);
}
