/*
 * ratelimit.c - see ratelimit.h. Buckets live in a chained hash table;
 * a bucket that has refilled completely is the same as no bucket, so sweeps
 * drop those (every few seconds, and whenever the table is full).
 */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 4096u
#define KEY_MAX 72
#define SWEEP_EVERY 10.0 /* seconds */

struct bucket {
    struct bucket *next;
    double tokens;
    double last;
    char key[KEY_MAX];
};

struct ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    size_t max_keys, n;
    double last_sweep;
    struct bucket overflow;
    struct bucket *tab[NBUCKETS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

struct ratelimit *ratelimit_new(double rate, double burst, size_t max_keys)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->max_keys = max_keys;
    rl->last_sweep = now_s();
    rl->overflow.tokens = rl->burst;
    rl->overflow.last = rl->last_sweep;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (struct bucket *b = rl->tab[i], *nx; b; b = nx) {
            nx = b->next;
            free(b);
        }
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static void refill(struct ratelimit *rl, struct bucket *b, double t)
{
    if (t > b->last) {
        b->tokens += (t - b->last) * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last = t;
    }
}

/* Drop the buckets that are full again (no different from absent ones). */
static void sweep(struct ratelimit *rl, double t)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct bucket **pp = &rl->tab[i];
        while (*pp) {
            struct bucket *b = *pp;
            refill(rl, b, t);
            if (b->tokens >= rl->burst) {
                *pp = b->next;
                free(b);
                rl->n--;
            } else {
                pp = &b->next;
            }
        }
    }
    rl->last_sweep = t;
}

unsigned ratelimit_take(struct ratelimit *rl, const char *key)
{
    double t = now_s(), wait;
    struct bucket *b;
    uint32_t h = hash(key) % NBUCKETS;
    unsigned ret = 0;

    pthread_mutex_lock(&rl->mu);
    if (t - rl->last_sweep > SWEEP_EVERY)
        sweep(rl, t);
    for (b = rl->tab[h]; b && strncmp(b->key, key, KEY_MAX - 1) != 0; b = b->next)
        ;
    if (!b) {
        if (rl->n >= rl->max_keys)
            sweep(rl, t);
        if (rl->n < rl->max_keys && (b = calloc(1, sizeof *b))) {
            strncpy(b->key, key, KEY_MAX - 1);
            b->tokens = rl->burst;
            b->last = t;
            b->next = rl->tab[h];
            rl->tab[h] = b;
            rl->n++;
        } else {
            b = &rl->overflow;
        }
    }
    refill(rl, b, t);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = ceil((1.0 - b->tokens) / rl->rate);
        ret = wait < 1 ? 1 : wait > 3600 ? 3600 : (unsigned)wait;
    }
    pthread_mutex_unlock(&rl->mu);
    return ret;
}
