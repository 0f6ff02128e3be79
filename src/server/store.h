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


/* --- rollouts (rollout.h holds the rules; the store only keeps them) --- */

#define STORE_STAGES_MAX 16
#define STORE_TAG_MAX 32
#define STORE_REASON_MAX 255

enum store_target { STORE_TARGET_DEVICES = 0, STORE_TARGET_CHIP = 1, STORE_TARGET_TAG = 2,
                    STORE_TARGET_ALL = 3 };

struct store_rollout {
    int64_t id;
    int64_t release;
    int target;                        /* enum store_target */
    int chip;                          /* STORE_TARGET_CHIP: its chip id */
    char tag[STORE_TAG_MAX + 1];       /* STORE_TARGET_TAG: the tag */
    char stages[128];                  /* as given, canonical: "1%,10%,100%" or "5,50,all" */
    int nstages;
    uint64_t bound[STORE_STAGES_MAX];  /* stage k holds hashes < bound[k] (cumulative) */
    uint64_t salt;                     /* mixed into the cohort hash of every device */
    int min_devices;                   /* finished devices before a stage is judged */
    int max_failure_pct;               /* a stage's failure rate above this halts */
    int64_t deadline;                  /* seconds from the first offer to a confirm */
    int64_t soak;                      /* seconds a healthy stage runs before the next */
    int allow_downgrade;
    char state[STORE_STATE_MAX + 1];   /* running|paused|halted|aborted|completed */
    int stage;                         /* current stage, 0-based */
    int64_t stage_started_at;
    int64_t created_at;
    int64_t updated_at;
    char reason[STORE_REASON_MAX + 1]; /* of the last transition */
};

/* A device's place in a rollout: its cohort hash and the stage it falls in
 * (nstages: past the last stage, never offered). */
struct store_member {
    char device[65];
    uint64_t hash;
    int stage;
};

/* Counts of one stage's members. state: the last status the device
 * reported for the rollout's release; outcome: the first terminal one
 * (confirmed, failed, rolled_back) or timed_out, set once and kept. */
struct store_stage_counts {
    int64_t members, offered, downloading, installed, confirmed, failed, rolled_back, timed_out;
};

struct store_rollout_event {
    int64_t at;
    char from_state[STORE_STATE_MAX + 1];
    char to_state[STORE_STATE_MAX + 1];
    int from_stage, to_stage;
    char reason[STORE_REASON_MAX + 1];
};

/* What a rollout offers one device (rollout_for_device). */
struct store_rollout_offer {
    int64_t rollout;
    int64_t release;
    int allow_downgrade;
};

/* One admin action (audit log; append-only: the schema refuses updates and
 * deletes). */
struct store_audit {
    int64_t id;
    int64_t at;             /* unix seconds */
    char who[33];           /* admin token name, "-" when unauthenticated */
    char method[16];
    char path[161];
    char detail[401];       /* query and JSON body, cut to size */
    int status;             /* HTTP status answered */
    char result[33];        /* error code of a refusal, "" on success */
};

typedef int (*store_audit_cb)(void *ctx, const struct store_audit *a);

/* One row of a bulk registration (device_import). */
#define STORE_TAGS_MAX 8
struct store_import_row {
    char id[65];
    int chip;
    char tags[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
    int ntags;
    int has_key;            /* an imported key, stored as given (already wrapped) */
    uint8_t wrapped[60];    /* KEYS_WRAPPED_LEN */
    /* out: STORE_OK registered now, STORE_EXISTS already registered with
     * this chip (its tags are added), STORE_ERR registered with another chip
     * (existing_chip; nothing changed for it) */
    int result;
    int existing_chip;
};
typedef int (*store_tag_cb)(void *ctx, const char *tag);
typedef int (*store_rollout_cb)(void *ctx, const struct store_rollout *r);
typedef int (*store_rollout_event_cb)(void *ctx, const struct store_rollout_event *e);
typedef int (*store_target_cb)(void *ctx, const char *device_id);

struct store;

struct store_ops {
    const char *name;
    /* 1 when several server processes may share the database (PostgreSQL):
     * what a process caches from it must be checked on use (devcache.h),
     * and release bytes live in the database too (blob_put/blob_get). */
    int shared;
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
     * offered (0: nothing) and when. A change of version or offer is
     * written at once and durably; a poll that changes neither only records
     * last_seen, batched (store_seen.h: up to a second late, and a crash may
     * lose the last second of it). STORE_NOT_FOUND for an unknown device
     * (a backend may say STORE_OK when only last_seen would change). */
    int (*device_checked)(struct store *s, const char *id, const char *running_version,
                          int64_t offered_release, int64_t now);
    /* Records a status. A status with the same release and state as the
     * device's newest history row updates that row (progress collapses);
     * any other is a transition and adds a row, and the device keeps only
     * its STORE_HISTORY_KEEP newest rows. A transition is durable (fsync)
     * before it returns; a progress update survives a crash of the server
     * but may be lost to a power cut. confirmed_version: the release's
     * version when st->state is "confirmed", else NULL. In the same
     * transaction the device's membership of every rollout of st->release
     * that offered it takes the state (and a first terminal state as its
     * outcome). */
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
    /* STORE_OK when some deployment of release targets the device, or a
     * rollout of release has offered it to the device. */
    int (*release_deployed_to)(struct store *s, int64_t release, const char *id, int chip);

    /* --- rollouts ------------------------------------------------------
     * Every transition is compare-and-set on (state, stage) and appends an
     * event with its reason, in one transaction. */

    /* Inserts r (state, stage 0, times set by the caller; r->id set on
     * success), its members and its "created" event. STORE_NOT_FOUND if
     * the release or a device is missing. */
    int (*rollout_create)(struct store *s, struct store_rollout *r,
                          const struct store_member *members, size_t n);
    int (*rollout_get)(struct store *s, int64_t id, struct store_rollout *out);
    int (*rollout_list)(struct store *s, store_rollout_cb cb, void *ctx);
    /* From (from_state, from_stage) to (to_state, to_stage) at now, with
     * reason; STORE_NOT_FOUND when the rollout is not (or no longer) in the
     * from state and stage. */
    int (*rollout_transition)(struct store *s, int64_t id, const char *from_state,
                              int from_stage, const char *to_state, int to_stage, int64_t now,
                              const char *reason);
    int (*rollout_events)(struct store *s, int64_t id, store_rollout_event_cb cb, void *ctx);
    /* counts[k] for stages 0..n-1 (members past the last stage are not
     * counted). */
    int (*rollout_progress)(struct store *s, int64_t id, struct store_stage_counts *counts,
                            int n);
    /* Devices of r's target that are not members yet (devices that joined
     * the target after the rollout began); with device non-NULL, only that
     * device. */
    int (*rollout_missing)(struct store *s, const struct store_rollout *r, const char *device,
                           store_target_cb cb, void *ctx);
    /* Adds members (already members are left as they are). */
    int (*rollout_add_members)(struct store *s, int64_t id, const struct store_member *m,
                               size_t n);
    /* Rollouts in one of the states (NULL-terminated) whose target takes the
     * device (id, chip) but that do not count it as a member yet. */
    int (*rollout_joinable)(struct store *s, const char *device, int chip,
                            const char *const *states, store_rollout_cb cb, void *ctx);
    /* Members offered at or before cutoff with no outcome get "timed_out"
     * (finished at now); *n: how many. */
    int (*rollout_expire)(struct store *s, int64_t id, int64_t cutoff, int64_t now, int *n);
    /* The newest rollout that offers its release to the device (id, chip)
     * now: running or completed with the device's stage reached, or paused
     * with the device already offered; a deployment to the device made
     * after the rollout takes over from it. STORE_NOT_FOUND when none. */
    int (*rollout_for_device)(struct store *s, const char *device, int chip,
                              struct store_rollout_offer *out);
    /* What a poll needs of rollouts, in one read where the backend can:
     * *joinable = whether rollout_joinable(states) would name a rollout for
     * the device; when it would not, the answer of rollout_for_device
     * (*out, STORE_OK, or STORE_NOT_FOUND). When *joinable is set, *out is
     * not filled and the caller joins, then asks rollout_for_device. */
    int (*rollout_lookup)(struct store *s, const char *device, int chip,
                          const char *const *states, int *joinable,
                          struct store_rollout_offer *out);
    /* The rollout offered its release to the device at now (the first offer
     * is kept: the deadline runs from it). */
    int (*rollout_offered)(struct store *s, int64_t rollout, const char *device, int64_t now);

    /* --- audit log ------------------------------------------------------ */
    /* Appends a (a->id set on success). */
    int (*audit_add)(struct store *s, struct store_audit *a);
    /* Newest first: at most limit entries with id < before (0: from the
     * newest). */
    int (*audit_list)(struct store *s, int64_t before, int limit, store_audit_cb cb, void *ctx);

    /* --- fleet onboarding ----------------------------------------------- */
    /* Registers rows[n] in one transaction (idempotent: see result). A row
     * with has_key stores its wrapped key for a device it creates (an
     * existing device keeps its key: result STORE_EXISTS says so). */
    int (*device_import)(struct store *s, struct store_import_row *rows, size_t n);
    /* Adds and removes tags of a device; STORE_NOT_FOUND for an unknown one. */
    int (*device_tag)(struct store *s, const char *id, const char *const *add, size_t nadd,
                      const char *const *remove, size_t nremove);
    int (*device_tags)(struct store *s, const char *id, store_tag_cb cb, void *ctx);
    /* The wrapped key of a device registered with its own key, or
     * STORE_NOT_FOUND (its key is derived). */
    int (*device_key_get)(struct store *s, const char *id, uint8_t wrapped[60]);

    /* --- release bytes (shared stores; NULL when the data folder is the
     * only copy, as with SQLite) ---------------------------------------- */
    /* Stores len bytes under their SHA-256 (lowercase hex), in one
     * transaction; bytes already stored under sha256hex are kept (content-
     * addressed: the same name is the same bytes). */
    int (*blob_put)(struct store *s, const char *sha256hex, const uint8_t *data, size_t len);
    /* Writes the bytes stored under sha256hex to fd (from its current
     * offset); STORE_NOT_FOUND when none are. The caller checks the hash. */
    int (*blob_get)(struct store *s, const char *sha256hex, int fd);

    /* --- fleet-wide download slots (shared stores; NULL: per process) ---
     * The device may download now: STORE_OK (it holds one of max slots,
     * refreshed at now), or STORE_EXISTS when all max slots are held by
     * others (a slot not refreshed for idle seconds is free again). */
    int (*download_admit)(struct store *s, const char *id, unsigned max, int64_t now,
                          unsigned idle);
    /* The device's download ended: its slot is free. */
    int (*download_done)(struct store *s, const char *id);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops; /* store_pg.c */

/* Whether --db's value names a PostgreSQL database (postgresql:// or
 * postgres:// URL, or a libpq "host=..."/"dbname=..." string) rather than a
 * SQLite file. */
int store_pg_target(const char *target);

#endif
