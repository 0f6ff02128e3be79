/*
 * metrics.h - Prometheus metrics of fota-server (GET /metrics, text
 * exposition format 0.0.4, admin-authenticated like the rest of the admin
 * API).
 *
 * Request metrics are counted in memory as requests end (lock-free atomic
 * counters per route, status and latency bucket): requests by route and
 * status, a latency histogram and the bytes answered per route. Fleet
 * metrics are read from the store when scraped: devices by state and by
 * running version, rollouts by state, and each active rollout's devices per
 * stage and outcome.
 */
#ifndef FOTA_SERVER_METRICS_H
#define FOTA_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct server;

/* routes: the route paths (kept, not copied); a request of no route counts
 * as "other". NULL when out of memory. */
struct metrics *metrics_new(const char *const *routes, int nroutes);
void metrics_free(struct metrics *m);

/* One request ended: route index (-1: none), status, microseconds, bytes. */
void metrics_request(struct metrics *m, int route, unsigned status, uint64_t us, uint64_t bytes);

/* The exposition text (malloc'd, *len set), or NULL (out of memory). */
char *metrics_render(struct server *srv, size_t *len);

#endif
