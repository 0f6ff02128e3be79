/*
 * devcache.h - what the device hot path (authentication, chunk, stream)
 * needs from the store, kept in memory so a chunk request costs no SQL.
 *
 * Per registered device that has authenticated: its row (struct
 * store_device), its derived key made ready for chunk HMACs, its expected
 * X-Device-Token (hex), and the releases found deployed to it. Unknown ids
 * and wrong tokens are never cached (a flood of made-up ids cannot fill it).
 *
 * Correctness: on a shared store (store_ops.shared: several nodes on one
 * PostgreSQL database) another process may write a device's row at any
 * time: what never changes (the key, the token, the chip, positive
 * deployment answers) is served from memory, and a handler that reads a
 * mutable field of the row (the offer, the release of the last status)
 * calls devcache_refresh() first, which reads the row again. So a chunk
 * naming its release costs no SQL on any store. Otherwise the server
 * process is the only writer of its database, and every write goes through
 * the store's method table. devcache_wrap_store()
 * puts a table in front of the real one whose writes (device_insert,
 * status_add) drop the device's entry after the write, and whose
 * device_checked applies the same change to the entry as to the row (a
 * polling device keeps its entry); a reader that loaded a row while a write to the same
 * shard was under way does not cache it (a per-shard write generation), so
 * a stale row is never kept. Deployments are only ever added, so a release
 * once found deployed to a device stays deployed; "not deployed" is never
 * cached. Memory is bounded: at most DEVCACHE_MAX entries (a full shard is
 * emptied and refilled by the devices that come back).
 */
#ifndef FOTA_SERVER_DEVCACHE_H
#define FOTA_SERVER_DEVCACHE_H

#include <stdint.h>

#include "keys.h"
#include "store.h"

#define DEVCACHE_MAX 65536

struct devcache;
struct server;

struct devcache *devcache_new(void);
void devcache_free(struct devcache *c);

/* Puts the cache's invalidating method table in front of srv->ops/store
 * (call once, after the store is open and srv->devcache is set). */
void devcache_wrap_store(struct server *srv);

enum { DEVCACHE_OK = 0, DEVCACHE_BAD_TOKEN = 1, DEVCACHE_UNKNOWN = 2, DEVCACHE_ERR = -1 };

/* Authenticates id (already a valid id) with token (may be NULL). On
 * DEVCACHE_OK fills *dev and *mac (the device key ready for chunk HMACs). */
int devcache_auth(struct server *srv, const char *id, const char *token,
                  struct store_device *dev, struct keys_mac *mac);

/* How many devcache_auth calls were answered from memory (hits) and how
 * many read the store (misses), since start (GET /metrics). */
void devcache_stats(struct devcache *c, uint64_t *hits, uint64_t *misses);

/* Before a handler reads a mutable field of dev (offered_release,
 * status_release, state): on a shared store, dev read again from the store
 * (STORE_OK, or its error); otherwise STORE_OK and dev as it is. */
int devcache_refresh(struct server *srv, const char *id, struct store_device *dev);

/* The device's key: its imported key (unwrapped) when it was registered
 * with one, else the one derived from the master secret. 0 or -1 (store
 * failure, or a wrapped key that does not unwrap: logged). */
int devcache_device_key(struct server *srv, const char *id, uint8_t key[KEY_LEN]);

/* STORE_OK when release is deployed to the device (id, chip), STORE_NOT_FOUND
 * or STORE_ERR: release_deployed_to, cached when positive. */
int devcache_deployed_to(struct server *srv, int64_t release, const char *id, int chip);

#endif
