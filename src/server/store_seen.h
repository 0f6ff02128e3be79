/*
 * store_seen.h - what a poll persists, batched: the "last seen" time of
 * devices whose check changed nothing else. A store backend notes them here
 * instead of writing (and, on SQLite, fsyncing) a row per poll; a thread
 * hands them to the backend's flush every interval, the newest time per
 * device, in one transaction. Cost: last_seen is up to one interval behind,
 * and a crash loses at most the last interval's last_seen updates, never a
 * state change (those the backend writes at once, durably).
 */
#ifndef FOTA_SERVER_STORE_SEEN_H
#define FOTA_SERVER_STORE_SEEN_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SEEN_INTERVAL_MS 1000

struct store_seen_entry {
    char id[65];
    int64_t at;
};

/* Writes n entries (distinct ids) in one transaction; 0 or -1 (logged: the
 * entries are dropped, last_seen stays older). */
typedef int (*store_seen_flush_fn)(void *ctx, const struct store_seen_entry *e, size_t n);

struct store_seen;

/* NULL when out of memory or the thread cannot start. */
struct store_seen *store_seen_new(store_seen_flush_fn flush, void *ctx, unsigned interval_ms);
/* Remembers that id was seen at at (the newest time wins). */
void store_seen_note(struct store_seen *s, const char *id, int64_t at);
/* Writes what is pending now (also what _free does before it stops). */
void store_seen_flush(struct store_seen *s);
/* Stops the thread after a last flush. */
void store_seen_free(struct store_seen *s);

#endif
