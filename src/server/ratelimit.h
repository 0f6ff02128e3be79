/*
 * ratelimit.h - token buckets keyed by a string (a device id, a source
 * address), for the per-device and per-address request limits.
 *
 * Each key owns a bucket of `burst` tokens refilled at `rate` per second; a
 * request takes one token or is refused with the seconds until one is back
 * (the Retry-After of the 429). Memory is bounded: at most max_keys buckets;
 * full (idle) buckets are dropped first, and when every bucket is busy the
 * newcomers share one overflow bucket, so a flood of fresh keys cannot grow
 * the table or escape the limit. Thread-safe (one mutex; O(1) per call).
 */
#ifndef FOTA_SERVER_RATELIMIT_H
#define FOTA_SERVER_RATELIMIT_H

#include <stddef.h>

struct ratelimit;

/* rate: tokens per second (> 0); burst: bucket size (>= 1). */
struct ratelimit *ratelimit_new(double rate, double burst, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);

/* 0 when the request may go on (a token was taken), else the seconds (>= 1)
 * until the key has a token again. */
unsigned ratelimit_take(struct ratelimit *rl, const char *key);

#endif
