/*
 * store.h - the persistent store behind the server, as a method table.
 *
 * HTTP handlers call only these methods, never SQL, so a second backend
 * (PostgreSQL for several servers behind a balancer) is one more table of
 * functions and no change to the handlers. Every method is safe to call from
 * any HTTP worker thread at once; the backend does its own locking or
 * connection pooling. Records are plain structs with fixed-size strings, so
 * nothing returned by the store needs freeing.
 *
 * Return codes: STORE_OK, STORE_NOT_FOUND, STORE_EXISTS (unique key taken),
 * STORE_ERR (anything else; already logged by the backend with its reason).
 */
#ifndef FOTA_SERVER_STORE_H
#define FOTA_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

enum { STORE_OK = 0, STORE_NOT_FOUND = 1, STORE_EXISTS = 2, STORE_ERR = -1 };

#define STORE_VERSION_MAX 64
#define STORE_STATE_MAX 16
#define STORE_ERROR_MAX 128
#define STORE_HISTORY_KEEP 200 /* status rows kept per device (docs/server.md) */

struct store_release {
    int64_t id;
    char version[STORE_VERSION_MAX + 1];
    int64_t size;
    int chip;
    char project[33];
    char idf_ver[33];
    uint32_t secure_version;
    char sha256[65]; /* lowercase hex */
    uint32_t chunk_size;
    int64_t slot_size;
    int64_t created_at; /* unix seconds */
    int is_signed;      /* manifest and signature below are set */
    uint8_t manifest[128];  /* FOTA_MANIFEST_LEN, as the operator signed it */
    uint8_t signature[64];  /* ECDSA P-256 raw r || s over SHA-256(manifest) */
};

struct store_device {
    char id[65];
    int chip;
    char current_version[STORE_VERSION_MAX + 1];  /* from the last "confirmed" */
    char reported_version[STORE_VERSION_MAX + 1]; /* what check last said it runs */
    int64_t offered_release;                       /* 0: never offered */
    char state[STORE_STATE_MAX + 1];               /* last status, "" if none */
    int64_t status_release;                        /* release of the last status */
    int64_t chunks_received;
    char last_error[STORE_ERROR_MAX + 1];
    int64_t last_seen; /* 0: never */
    int64_t created_at;
};

struct store_status {
    int64_t id;
    int64_t release;
    char state[STORE_STATE_MAX + 1];
    int64_t chunks_received;
    char error[STORE_ERROR_MAX + 1];
    int64_t at;
};

struct store_deployment {
    int64_t id;
    int64_t release;
    int chip;            /* -1 when the deployment names devices */
    int allow_downgrade; /* offer the release even to devices running a newer version */
    int64_t created_at;
    size_t ndevices;     /* devices named (filled by list) */
};

typedef int (*store_release_cb)(void *ctx, const struct store_release *r);
typedef int (*store_device_cb)(void *ctx, const struct store_device *d);
typedef int (*store_status_cb)(void *ctx, const struct store_status *s);
/* devices: the ids named by the deployment (n may be 0 for a chip one) */
typedef int (*store_deployment_cb)(void *ctx, const struct store_deployment *d,
                                   const char *const *devices, size_t n);

struct store;

struct store_ops {
    const char *name;
    /* target: a file path for SQLite; a URL for other backends. Applies
     * pending migrations before returning. */
    int (*open)(const char *target, struct store **out);
    void (*close)(struct store *s);

    /* r->id and r->created_at are set on success; STORE_EXISTS when a
     * release with the same sha256 exists. */
    int (*release_insert)(struct store *s, struct store_release *r);
    int (*release_get)(struct store *s, int64_t id, struct store_release *out);
    int (*release_by_sha256)(struct store *s, const char *sha256hex, struct store_release *out);
    int (*release_list)(struct store *s, store_release_cb cb, void *ctx);

    int (*device_insert)(struct store *s, const char *id, int chip); /* STORE_EXISTS */
    int (*device_get)(struct store *s, const char *id, struct store_device *out);
    int (*device_list)(struct store *s, store_device_cb cb, void *ctx);
    /* The device called check: remember its running version, what was
     * offered (0: nothing) and when. */
    int (*device_checked)(struct store *s, const char *id, const char *running_version,
                          int64_t offered_release, int64_t now);
    /* Records a status. A status with the same release and state as the
     * device's newest history row updates that row (progress collapses);
     * any other is a transition and adds a row, and the device keeps only
     * its STORE_HISTORY_KEEP newest rows. A transition is durable (fsync)
     * before it returns; a progress update survives a crash of the server
     * but may be lost to a power cut. confirmed_version: the release's
     * version when st->state is "confirmed", else NULL. */
    int (*status_add)(struct store *s, const char *id, const struct store_status *st,
                      const char *confirmed_version);
    /* newest first, at most limit rows */
    int (*status_history)(struct store *s, const char *id, int limit, store_status_cb cb,
                          void *ctx);

    /* chip >= 0: deploy to every device of that chip; else to devices[n].
     * STORE_NOT_FOUND if the release or a device is missing. */
    int (*deployment_create)(struct store *s, int64_t release, int chip, int allow_downgrade,
                             const char *const *devices, size_t n, struct store_deployment *out);
    int (*deployment_list)(struct store *s, store_deployment_cb cb, void *ctx);
    /* Release of the newest deployment that targets this device (by id or by
     * its chip): STORE_OK and *release (and whether that deployment allows a
     * downgrade), or STORE_NOT_FOUND. */
    int (*deployment_for_device)(struct store *s, const char *id, int chip, int64_t *release,
                                 int *allow_downgrade);
    /* STORE_OK when some deployment of release targets the device. */
    int (*release_deployed_to)(struct store *s, int64_t release, const char *id, int chip);
};

extern const struct store_ops store_sqlite_ops;

#endif
