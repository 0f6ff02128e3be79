/*
 * connlimit.c - see connlimit.h. Open connections per address live in a
 * chained hash table whose entries are freed when their count drops to
 * zero, so the table holds at most one entry per open connection.
 */
#include "connlimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define NBUCKETS 1024u
#define TOP_MAX 32 /* distinct addresses kept per interval */

struct addr_count {
    struct addr_count *next;
    unsigned n;
    char key[CONNLIMIT_KEY_MAX];
};

static struct {
    pthread_mutex_t mu;
    unsigned max_total, max_per_addr, interval;
    unsigned total;
    struct addr_count *tab[NBUCKETS];
    /* refusals of the current interval */
    double since; /* monotonic seconds of its first refusal, 0: none */
    unsigned long refused, refused_addr, refused_total, refused_other;
    struct {
        char key[CONNLIMIT_KEY_MAX];
        unsigned long n;
    } top[TOP_MAX];
    int ntop, top_full;
} cl = {.mu = PTHREAD_MUTEX_INITIALIZER, .interval = 10};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

void connlimit_init(unsigned max_total, unsigned max_per_addr, unsigned interval)
{
    pthread_mutex_lock(&cl.mu);
    cl.max_total = max_total;
    cl.max_per_addr = max_per_addr;
    cl.interval = interval ? interval : 1;
    pthread_mutex_unlock(&cl.mu);
}

void connlimit_key(const struct sockaddr *sa, char key[CONNLIMIT_KEY_MAX])
{
    snprintf(key, CONNLIMIT_KEY_MAX, "?");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, key, CONNLIMIT_KEY_MAX);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(&a))
            memset(a.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a, key, CONNLIMIT_KEY_MAX);
    }
}

static struct addr_count *find(const char *key, unsigned *h)
{
    struct addr_count *e;
    *h = hash(key);
    for (e = cl.tab[*h]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void emit_locked(double now)
{
    int best = -1;
    for (int i = 0; i < cl.ntop; i++)
        if (best < 0 || cl.top[i].n > cl.top[best].n)
            best = i;
    SLOG(SLOG_WARN, "refused %lu connections from %s%d address%s in the last %u s "
         "(per-address limit %u: %lu, limit in all %u: %lu, by libmicrohttpd: %lu); "
         "most from %s (%lu)",
         cl.refused, cl.top_full ? "more than " : "", cl.ntop, cl.ntop == 1 ? "" : "es",
         (unsigned)(now - cl.since + 0.5) > cl.interval ? (unsigned)(now - cl.since + 0.5)
                                                         : cl.interval,
         cl.max_per_addr, cl.refused_addr, cl.max_total, cl.refused_total, cl.refused_other,
         best >= 0 ? cl.top[best].key : "an unknown address", best >= 0 ? cl.top[best].n : 0);
    cl.since = 0;
    cl.refused = cl.refused_addr = cl.refused_total = cl.refused_other = 0;
    cl.ntop = cl.top_full = 0;
}

/* One refusal (key NULL: address unknown); lock held. */
static void refused_locked(const char *key, unsigned long *which)
{
    double now = now_s();
    if (cl.since && now - cl.since >= cl.interval)
        emit_locked(now);
    if (!cl.since)
        cl.since = now;
    cl.refused++;
    (*which)++;
    if (!key)
        return;
    for (int i = 0; i < cl.ntop; i++)
        if (strcmp(cl.top[i].key, key) == 0) {
            cl.top[i].n++;
            return;
        }
    if (cl.ntop == TOP_MAX) {
        cl.top_full = 1;
        return;
    }
    snprintf(cl.top[cl.ntop].key, sizeof cl.top[cl.ntop].key, "%s", key);
    cl.top[cl.ntop++].n = 1;
}

int connlimit_accept(const struct sockaddr *sa)
{
    char key[CONNLIMIT_KEY_MAX];
    struct addr_count *e;
    unsigned h;
    int ok = 1;

    connlimit_key(sa, key);
    pthread_mutex_lock(&cl.mu);
    if (cl.max_total && cl.total >= cl.max_total) {
        refused_locked(key, &cl.refused_total);
        ok = 0;
    } else if (cl.max_per_addr && (e = find(key, &h)) && e->n >= cl.max_per_addr) {
        refused_locked(key, &cl.refused_addr);
        ok = 0;
    }
    pthread_mutex_unlock(&cl.mu);
    return ok;
}

void connlimit_opened(const char *key)
{
    struct addr_count *e;
    unsigned h;

    pthread_mutex_lock(&cl.mu);
    cl.total++;
    if ((e = find(key, &h))) {
        e->n++;
    } else if ((e = calloc(1, sizeof *e))) {
        snprintf(e->key, sizeof e->key, "%s", key);
        e->n = 1;
        e->next = cl.tab[h];
        cl.tab[h] = e;
    }
    pthread_mutex_unlock(&cl.mu);
}

void connlimit_closed(const char *key)
{
    struct addr_count *e, **pp;
    unsigned h = hash(key);

    pthread_mutex_lock(&cl.mu);
    if (cl.total)
        cl.total--;
    for (pp = &cl.tab[h]; (e = *pp); pp = &e->next)
        if (strcmp(e->key, key) == 0) {
            if (--e->n == 0) {
                *pp = e->next;
                free(e);
            }
            break;
        }
    pthread_mutex_unlock(&cl.mu);
}

void connlimit_refused_elsewhere(void)
{
    pthread_mutex_lock(&cl.mu);
    refused_locked(NULL, &cl.refused_other);
    pthread_mutex_unlock(&cl.mu);
}

void connlimit_tick(void)
{
    double now = now_s();
    pthread_mutex_lock(&cl.mu);
    if (cl.since && now - cl.since >= cl.interval)
        emit_locked(now);
    pthread_mutex_unlock(&cl.mu);
}
