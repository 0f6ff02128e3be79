/*
 * loadshape.c - see loadshape.h. An open-addressing table (FNV-1a of the id,
 * linear probing) of 2 * max slots; a slot is free when empty or idle past
 * its deadline, so ended downloads need no sweeping. Admitting a device that
 * is not in the table counts the live slots (O(table)), which happens once
 * per download; every later request of that device is one probe.
 */
#include "loadshape.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"

struct slot {
    char id[DEVICE_ID_MAX + 1];
    int64_t until; /* monotonic ms; 0: empty */
};

struct loadshape {
    pthread_mutex_t mu;
    unsigned max, idle, retry;
    size_t n;
    uint32_t rng;
    struct slot s[];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

struct loadshape *loadshape_new(unsigned max, unsigned idle, unsigned retry)
{
    size_t n = 2 * (size_t)(max ? max : 1);
    struct loadshape *ls = calloc(1, sizeof *ls + n * sizeof ls->s[0]);
    if (!ls)
        return NULL;
    pthread_mutex_init(&ls->mu, NULL);
    ls->max = max ? max : 1;
    ls->idle = idle ? idle : 1;
    ls->retry = retry ? retry : 1;
    ls->n = n;
    ls->rng = (uint32_t)mono_ms() | 1u;
    return ls;
}

void loadshape_free(struct loadshape *ls)
{
    if (!ls)
        return;
    pthread_mutex_destroy(&ls->mu);
    free(ls);
}

static size_t hash(const char *id, size_t n)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h % n;
}

static unsigned live(struct loadshape *ls, int64_t now)
{
    unsigned k = 0;
    for (size_t i = 0; i < ls->n; i++)
        k += ls->s[i].until > now;
    return k;
}

unsigned loadshape_admit(struct loadshape *ls, const char *id)
{
    int64_t now = mono_ms();
    size_t i, free_at = (size_t)-1;
    unsigned ra = 0;

    pthread_mutex_lock(&ls->mu);
    for (size_t k = 0, h = hash(id, ls->n); k < ls->n; k++) {
        i = (h + k) % ls->n;
        if (ls->s[i].until > now && !strcmp(ls->s[i].id, id)) {
            ls->s[i].until = now + 1000 * (int64_t)ls->idle; /* already downloading */
            goto out;
        }
        if (ls->s[i].until <= now && free_at == (size_t)-1)
            free_at = i;
        if (ls->s[i].until == 0)
            break; /* never used: the id is not further on */
    }
    if (live(ls, now) >= ls->max || free_at == (size_t)-1) {
        ls->rng ^= ls->rng << 13, ls->rng ^= ls->rng >> 17, ls->rng ^= ls->rng << 5;
        ra = ls->retry + ls->rng % (ls->retry + 1);
        goto out;
    }
    strncpy(ls->s[free_at].id, id, DEVICE_ID_MAX);
    ls->s[free_at].id[DEVICE_ID_MAX] = '\0';
    ls->s[free_at].until = now + 1000 * (int64_t)ls->idle;
out:
    pthread_mutex_unlock(&ls->mu);
    return ra;
}

void loadshape_done(struct loadshape *ls, const char *id)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&ls->mu);
    for (size_t k = 0, h = hash(id, ls->n); k < ls->n; k++) {
        size_t i = (h + k) % ls->n;
        if (ls->s[i].until == 0)
            break;
        if (ls->s[i].until > now && !strcmp(ls->s[i].id, id)) {
            ls->s[i].until = 1; /* free, but keeps the probe chain going */
            break;
        }
    }
    pthread_mutex_unlock(&ls->mu);
}

unsigned loadshape_active(struct loadshape *ls)
{
    unsigned k;
    pthread_mutex_lock(&ls->mu);
    k = live(ls, mono_ms());
    pthread_mutex_unlock(&ls->mu);
    return k;
}

unsigned loadshape_poll_interval(unsigned base)
{
    static _Atomic uint32_t seed = 0x9e3779b9u;
    uint32_t x = seed + (uint32_t)mono_ms();
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    seed = x;
    if (base == 0)
        return 0;
    unsigned span = base / 5; /* +-20 % */
    unsigned v = base - span + (span ? x % (2 * span + 1) : 0);
    return v ? v : 1;
}
