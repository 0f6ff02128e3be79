/*
 * server.h - state shared by every part of fota-server: the store (through
 * its method table), the secrets, the data folder and the limits. One
 * instance, built by server_main.c and handed to every request.
 */
#ifndef FOTA_SERVER_SERVER_H
#define FOTA_SERVER_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "keys.h"
#include "store.h"

struct devcache;
struct image_cache;
struct ratelimit;
struct rollouts;
struct metrics;
struct loadshape;

struct server {
    const struct store_ops *ops;
    struct store *store;
    struct keyring keys;
    const char *data_dir;       /* holds images/ and tmp/ */
    uint64_t max_upload;        /* bytes, largest accepted release upload */
    unsigned max_inflight;      /* requests at once before answering 429 */
    atomic_uint inflight;
    struct image_cache *images; /* release bytes mapped once, see release.h */
    struct patch_cache *patches; /* compressed images and deltas, see patches.h */
    struct devcache *devcache;  /* authenticated devices, see devcache.h */

    /* signed releases */
    int require_signed;         /* refuse uploads without a manifest + signature */
    int has_sign_pubkey;        /* verify signatures at upload with sign_pubkey */
    uint8_t sign_pubkey[64];    /* raw X || Y of the operator's P-256 key */

    /* abuse limits (see ratelimit.h); NULL: off */
    struct ratelimit *rate_device;
    struct ratelimit *rate_addr;
    unsigned max_query;         /* longest query string, bytes */
    unsigned max_device_body;   /* largest device request body (status), bytes */

    struct rollouts *rollouts;  /* the rollout evaluator, see rollout.h */
    struct metrics *metrics;    /* request counters (made by http_start), see metrics.h */
    struct loadshape *loadshape; /* downloads at once, see loadshape.h; NULL: no cap */
    unsigned poll_interval;     /* seconds (+-20 %) a check answer tells the device; 0: none */

    /* several nodes on one database (docs/operations.md) */
    char node_id[64];           /* --node-id: names this node's temp files */
    unsigned download_idle;     /* seconds of silence that end a download (--download-idle) */
    unsigned max_downloads;     /* --max-downloads; fleet-wide on a shared store (dlslots.h) */
    unsigned download_retry;    /* base Retry-After of a refused download (--download-retry) */
};

#define DEFAULT_SLOT_SIZE 1310720u /* Arduino-ESP32 default.csv app slot */
#define DEFAULT_CHUNK_SIZE 1024u
#define JSON_BODY_MAX (64u * 1024u)
#define IMPORT_BODY_MAX (16u * 1024u * 1024u) /* a bulk registration: 100,000 devices */
#define DEVICE_BODY_MAX 4096u
#define QUERY_LEN_MAX 1024u

#endif
