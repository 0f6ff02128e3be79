/*
 * loadshape.h - load shaping for large fleets: how many devices may
 * download at once, and the poll interval (with jitter) a check answer
 * hands each device.
 *
 * A device is "downloading" from its first chunk or stream request until it
 * posts a terminal status (installed, failed, rolled_back, confirmed) or
 * stays silent for `idle` seconds. While `max` devices download, a chunk or
 * stream request from any other device is answered 503 with a Retry-After
 * of base..2*base seconds (jittered, so the refused do not come back
 * together); devices already downloading are never refused, so an update
 * under way always finishes. v1 and v2 devices both back off on a 503.
 * Memory: a table of 2 * max entries; thread-safe (one mutex).
 */
#ifndef FOTA_SERVER_LOADSHAPE_H
#define FOTA_SERVER_LOADSHAPE_H

#include <stdint.h>

struct loadshape;

/* max: downloads at once (>= 1); idle: seconds of silence that end one;
 * retry: the base Retry-After in seconds. NULL when out of memory. */
struct loadshape *loadshape_new(unsigned max, unsigned idle, unsigned retry);
void loadshape_free(struct loadshape *ls);

/* A chunk or stream request of device id: 0 when it may go on, else the
 * Retry-After in seconds of the 503. */
unsigned loadshape_admit(struct loadshape *ls, const char *id);

/* The device's download ended (a terminal status). */
void loadshape_done(struct loadshape *ls, const char *id);

/* Downloads counted now (for logs and tests). */
unsigned loadshape_active(struct loadshape *ls);

/* The poll interval for one check answer: base seconds +-20 %, never 0. */
unsigned loadshape_poll_interval(unsigned base);

#endif
