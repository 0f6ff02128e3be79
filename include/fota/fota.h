/*
 * fota.h - libfota, the device side of the FOTA system: client API and port
 * contract.
 *
 * The platform comes in as one struct of callbacks plus a context pointer
 * (struct fota_config, as littlefs's struct lfs_config); every byte of state
 * lives in a caller-owned struct fota, sized at compile time. The library
 * allocates nothing, keeps no globals and calls nothing but these callbacks.
 *
 * A typical main loop (see src/sim/fota_device.c for a complete one):
 *
 *     struct fota f;                 // static or on a task's stack
 *     fota_init(&f, &cfg);           // reads partition table, otadata, journal
 *     fota_confirm(&f);              // after the app's own self-test passes
 *     struct fota_offer o;
 *     if (fota_check(&f, &o) == FOTA_OK && o.update)
 *         fota_run(&f, &o);          // download, verify, switch; then reboot
 *
 * Every function returns FOTA_OK or a negative code of fota/error.h, and logs
 * each failure once through cfg->log with what was expected and what came.
 */
#ifndef FOTA_FOTA_H
#define FOTA_FOTA_H

#include <stdint.h>
#include "fota/device_id.h"
#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "fota/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- compile-time limits ------------------------------------------------ */

#ifndef FOTA_CHUNK_MAX
#define FOTA_CHUNK_MAX 1024u      /* largest decoded chunk held in RAM */
#endif
#ifndef FOTA_HASH_CTX_SIZE
#define FOTA_HASH_CTX_SIZE 256u   /* bytes the port may use for one SHA/HMAC state */
#endif
#ifndef FOTA_VERSION_MAX
#define FOTA_VERSION_MAX 32u      /* as esp_app_desc_t.version */
#endif
#ifndef FOTA_ID_MAX
#define FOTA_ID_MAX 64u           /* device id length (DESIGN.md) */
#endif
#define FOTA_CHUNK_MIN 512u       /* the first chunk must hold the image head */
#define FOTA_JOURNAL_LEN 64u      /* bytes the state store keeps for us */
#define FOTA_KEY_LEN 32u
#define FOTA_SHA256_LEN 32u
#define FOTA_SLOT_FACTORY 255u    /* running_slot value for a factory app */
#define FOTA_BLOCK_SIZE 65536u    /* NOR block erase unit */
#define FOTA_PAGE_SIZE 256u       /* NOR program page */

/* Protocols (config `protocols`, offer `protocols`): bit mask. */
#define FOTA_PROTO_V1 0x1u        /* one JSON chunk per request */
#define FOTA_PROTO_V2 0x2u        /* one binary stream of HMAC'd chunks */

/* ---- port contract ------------------------------------------------------ */

struct fota_config;

/* One HTTP request header. */
struct fota_http_header {
    const char *name;
    const char *value;
};

/* Body sink: the transport hands each piece of the response body, in order,
 * as it arrives. Return FOTA_OK to go on, or an error code to stop the
 * transfer; the transport then returns that same code. */
typedef int (*fota_body_fn)(void *arg, const uint8_t *data, uint32_t len);

/* Progress after each verified chunk and each phase change. */
struct fota_progress {
    int      phase;          /* FOTA_PHASE_* */
    uint32_t release;
    uint32_t bytes_done;     /* verified bytes in the slot */
    uint32_t bytes_total;
    uint32_t chunks_done;
    uint32_t chunks_total;
    uint32_t chunks_fetched; /* chunk responses accepted in this run */
    uint32_t bytes_fetched;  /* decoded chunk bytes accepted in this run */
    uint32_t resumed_from;   /* byte offset this run started from */
    uint32_t retries;        /* failed attempts retried in this run */
};

struct fota_config {
    void *context;           /* for the callbacks; libfota never touches it */

    /* Flash, by absolute address. The core finds partitions through the
     * table at FOTA_PT_OFFSET and only erases whole sectors of sector_size,
     * right before their first write. Return FOTA_OK, FOTA_ERR_IO or
     * FOTA_ERR_POWER_LOST. */
    int (*flash_read)(const struct fota_config *c, uint32_t addr, void *buf, uint32_t len);
    int (*flash_erase)(const struct fota_config *c, uint32_t addr);
    int (*flash_program)(const struct fota_config *c, uint32_t addr, const void *buf,
                         uint32_t len);
    /* Optional: erase the FOTA_BLOCK_SIZE block at addr (block aligned) in
     * one operation, as NOR chips do in a fraction of 16 sector erases.
     * NULL: sector erases only. */
    int (*flash_erase_block)(const struct fota_config *c, uint32_t addr);
    uint32_t flash_size;
    uint32_t sector_size;    /* must be 4096, as on every ESP32 */

    /* Transport. path is absolute with query ("/api/...?a=1"). *status gets
     * the HTTP status, set before the first on_body call (the core reads
     * it there to ignore error bodies). Return FOTA_OK when an HTTP answer
     * came (any status),
     * FOTA_ERR_NET when none did (connect, reset, timeout), or the code
     * on_body returned. A GET delivers the body through on_body only. */
    int (*http_get)(const struct fota_config *c, const char *path,
                    const struct fota_http_header *hdrs, unsigned nhdrs,
                    fota_body_fn on_body, void *arg, int *status);
    int (*http_post)(const struct fota_config *c, const char *path,
                     const struct fota_http_header *hdrs, unsigned nhdrs,
                     const char *body, uint32_t len, int *status);

    /* Crypto. ctx is FOTA_HASH_CTX_SIZE bytes of 8-aligned memory inside
     * struct fota; the port keeps its whole state there (no heap). */
    int (*sha256_start)(const struct fota_config *c, void *ctx);
    int (*sha256_update)(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n);
    int (*sha256_finish)(const struct fota_config *c, void *ctx, uint8_t out[32]);
    int (*hmac_start)(const struct fota_config *c, void *ctx, const uint8_t *key, uint32_t n);
    int (*hmac_update)(const struct fota_config *c, void *ctx, const uint8_t *d, uint32_t n);
    int (*hmac_finish)(const struct fota_config *c, void *ctx, uint8_t out[32]);
    /* ECDSA P-256 verification of sig (raw r || s) over hash with pubkey
     * (raw X || Y): FOTA_OK or FOTA_ERR_SIGNATURE. Needed only when
     * sign_pubkey is set. */
    int (*ecdsa_p256_verify)(const struct fota_config *c, const uint8_t pubkey[64],
                             const uint8_t hash[32], const uint8_t sig[64]);

    /* State store for the resume journal: FOTA_JOURNAL_LEN bytes. save must
     * be atomic (after a power cut, load returns the old or the new bytes,
     * nothing else). load fills 0xFF when nothing was ever saved. */
    int (*store_load)(const struct fota_config *c, uint8_t *buf, uint32_t len);
    int (*store_save)(const struct fota_config *c, const uint8_t *buf, uint32_t len);
    /* Anti-rollback floor store, apart from the journal (both may be NULL:
     * then the floor rides in the journal only, and a journal erased or
     * corrupt lowers it to secure_version_floor). floor_load gives the
     * highest secure_version saved (0 when none); floor_save stores a
     * higher one atomically and must never lower it. ESP-IDF with
     * CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK: the eFuse secure_version; the
     * simulator: its own fota_fstore (fstore.h). */
    int (*floor_load)(const struct fota_config *c, uint32_t *secure_version);
    int (*floor_save)(const struct fota_config *c, uint32_t secure_version);

    /* Clock, for backoff: milliseconds, a sleep, and a random word for
     * jitter. sleep_ms may be NULL (no waiting: tests). */
    uint32_t (*now_ms)(const struct fota_config *c);
    void (*sleep_ms)(const struct fota_config *c, uint32_t ms);
    uint32_t (*random)(const struct fota_config *c);

    /* Log: one line without newline. level is FOTA_LOG_*. May be NULL. */
    void (*log)(const struct fota_config *c, int level, const char *msg);

    /* Progress, after every accepted chunk and phase change. May be NULL. */
    void (*progress)(const struct fota_config *c, const struct fota_progress *p);

    /* Identity and policy. */
    const char *device_id;            /* fota_device_id_valid (fota/device_id.h) */
    const uint8_t *device_key;        /* FOTA_KEY_LEN bytes, never sent */
    int chip_id;                      /* FOTA_CHIP_* of this device */
    unsigned running_slot;            /* ota index the bootloader booted, or FOTA_SLOT_FACTORY */
    uint32_t max_attempts;            /* per step before FOTA_ERR_RETRIES; 0 = 8 */
    uint32_t backoff_base_ms;         /* first retry delay; 0 = 500 */
    uint32_t backoff_max_ms;          /* cap; 0 = 30000 */
    /* Security. With sign_pubkey set, only releases whose manifest is signed
     * by that key are installed (checked before anything is erased). The
     * device never installs a release whose secure_version is below the
     * larger of secure_version_floor (e.g. from eFuse) and the highest
     * secure_version it has confirmed. */
    const uint8_t *sign_pubkey;       /* FOTA_PUBKEY_LEN bytes, or NULL */
    uint32_t secure_version_floor;
    /* Protocols this device may use (FOTA_PROTO_*); 0 = all. v2 is used when
     * the server offers it, with v1 as the fallback. */
    uint32_t protocols;
};

#define FOTA_LOG_ERROR 0
#define FOTA_LOG_WARN  1
#define FOTA_LOG_INFO  2
#define FOTA_LOG_DEBUG 3

/* Update phases, as the engine's state diagram in src/core/engine.c. */
#define FOTA_PHASE_IDLE        0
#define FOTA_PHASE_DOWNLOADING 1
#define FOTA_PHASE_VERIFYING   2
#define FOTA_PHASE_SWITCHING   3
#define FOTA_PHASE_INSTALLED   4  /* boot slot switched: reboot to try it */
/* A failed step leaves the phase as it was; fota_step may be called again. */

/* What the server offers (the `check` answer). */
struct fota_offer {
    int      update;                       /* 0: nothing to do */
    uint32_t release;
    uint32_t size;
    uint32_t chunk_size;
    uint32_t total_chunks;
    uint8_t  sha256[FOTA_SHA256_LEN];
    char     version[FOTA_VERSION_MAX + 1];
    /* additions after v1 (absent from old servers' answers) */
    uint32_t secure_version;               /* as the server states it */
    uint32_t protocols;                    /* FOTA_PROTO_* the server offers */
    uint8_t  allow_downgrade;              /* the deployment allows an older version */
    uint8_t  has_manifest, has_signature;
    uint8_t  manifest[FOTA_MANIFEST_LEN];  /* signed release manifest */
    uint8_t  signature[FOTA_SIGNATURE_LEN];
};

/* What the device booted and what it will boot next. */
struct fota_boot_info {
    unsigned running_slot;     /* from the config */
    unsigned next_slot;        /* the slot otadata selects now */
    uint32_t running_state;    /* otadata state of the running slot's entry,
                                  FOTA_OTA_UNDEFINED when it has none */
    uint32_t update_slot;      /* slot the next update will be written to */
    uint32_t update_slot_size;
    int      pending;          /* running image is on trial (PENDING_VERIFY) */
};

/* ---- state ---------------------------------------------------------------- */

/* Streaming parser state for one v1 JSON body (see src/core/json.h). Opaque:
 * sized here only so the caller can own it. */
struct fota_json_state {
    uint8_t  st, depth, flags, keylen, esc, lit, nd, pad;
    uint32_t num, ucode;
    char     key[16];
};
struct fota_b64_state {
    uint8_t  quad[4];
    uint8_t  n, pad, done;
    int8_t   err;          /* sticky error (codes fit in 8 bits) */
};
struct fota_chunk_state {
    struct fota_json_state json;
    struct fota_b64_state  b64;
    uint32_t body_len;     /* body bytes seen */
    uint32_t data_len;     /* decoded bytes in fota.chunk */
    uint32_t expect_len;   /* bytes chunk n must hold */
    uint32_t number;       /* chunk_number as received */
    uint8_t  hmac[32];     /* as received */
    uint8_t  seen;         /* bit per field */
    uint8_t  hexn;
    int      err;          /* first error, sticky */
};

struct fota {
    const struct fota_config *cfg;
    struct fota_layout layout;
    struct fota_offer  offer;
    struct fota_progress prog;
    uint8_t  journal[FOTA_JOURNAL_LEN];   /* last saved record */
    char     token[65];                   /* hex HMAC(key, "token:" + id) */
    uint8_t  target_slot;
    uint8_t  phase;
    uint32_t next_chunk;
    uint32_t min_secure;                  /* highest secure_version confirmed */
    uint32_t erased_until;                /* slot bytes erased in this run */
    uint8_t  use_v2;                      /* stream with v2 while it works */
    char     running_version[FOTA_VERSION_MAX + 1];
    int     *http_status;                 /* status of the request in flight */
    union {                               /* one parse in flight at a time */
        struct fota_chunk_state chunk;
        struct fota_v2_state {
            uint8_t  hdr[8];       /* stream header, then each frame header */
            uint8_t  stage;        /* 0 stream header, 1 frame header, 2 data, 3 hmac */
            uint8_t  pos8;
            uint16_t pad;
            uint32_t pos;          /* bytes of the current element */
            uint32_t index, len;   /* current frame */
            uint8_t  hmac[32];
            int      err;
        } v2;
        struct {
            struct fota_json_state json;
            struct fota_b64_state  b64;
            uint32_t body_len;
            uint32_t b64_len;
            uint16_t seen;
            uint8_t  hexn;
            uint8_t  vlen2;        /* protocols: previous char was 'v' */
            int      err;
            uint32_t vlen;
        } check;
    } p;
    union {
        uint64_t align;
        uint8_t  bytes[FOTA_HASH_CTX_SIZE];
    } hash;
    uint8_t  buf[FOTA_CHUNK_MAX];         /* one decoded chunk; read-back block */
};

/* ---- API ------------------------------------------------------------------ */

/*
 * Start libfota on a device that has just booted. Reads the partition table
 * and otadata, loads the resume journal, computes the device token, and
 * finishes what a power cut interrupted: a verified image whose boot switch
 * did not take is switched again; a trial image that was rolled back is
 * reported. cfg must outlive f.
 * Returns FOTA_OK, FOTA_ERR_PARAM (missing callback or bad identity),
 * FOTA_ERR_PTABLE, FOTA_ERR_OTADATA, or a port error.
 */
int fota_init(struct fota *f, const struct fota_config *cfg);

/*
 * Ask the server whether an update is waiting (GET check with the running
 * version). offer->update is 0 when there is none. Unknown fields in the
 * answer are ignored (newer servers may add some); known ones are checked.
 * Returns FOTA_OK, a transport/HTTP error, or FOTA_ERR_JSON / FIELD_* /
 * FOTA_ERR_OFFER for a malformed answer.
 */
int fota_check(struct fota *f, const char *running_version, struct fota_offer *offer);

/*
 * Prepare to install offer: checks it (chunk size this build supports, size
 * against the update slot, consistent totals) before anything is erased, and
 * resumes from the journal's last committed sector when the journal holds the
 * same release and SHA-256. Returns FOTA_OK, FOTA_ERR_OFFER,
 * FOTA_ERR_CHUNK_SIZE, FOTA_ERR_SLOT_SIZE, FOTA_ERR_NO_SLOT, FOTA_ERR_STORE.
 */
int fota_begin(struct fota *f, const struct fota_offer *offer);

/*
 * Do one step of the update begun with fota_begin: fetch, verify and write
 * one chunk; or read the slot back and check it; or switch the boot slot.
 * After the last step fota_phase() is FOTA_PHASE_INSTALLED. A failed step
 * changes nothing that a later step relies on, so it may be called again.
 */
int fota_step(struct fota *f);

/*
 * fota_begin, then fota_step until installed, retrying retryable failures
 * (network, 5xx, 429, and chunks that fail to verify) with exponential backoff
 * and jitter, at most cfg->max_attempts times in a row. Reports progress to
 * the server (status) at start, every 64 chunks, and at the end.
 * Returns FOTA_OK once installed (reboot to boot the new image), or the
 * error that stopped it (FOTA_ERR_RETRIES after too many attempts).
 */
int fota_run(struct fota *f, const struct fota_offer *offer);

/* Current phase (FOTA_PHASE_*). */
int fota_phase(const struct fota *f);

/* Copy of the progress counters. */
void fota_get_progress(const struct fota *f, struct fota_progress *p);

/*
 * Mark the running image good (otadata state VALID), so the bootloader keeps
 * booting it. Call after the application's own checks pass. Idempotent:
 * FOTA_OK when already VALID. FOTA_ERR_NOTHING_PENDING when the running slot
 * is not the one otadata selects (nothing on trial).
 */
int fota_confirm(struct fota *f);

/* What booted and what will boot next (reads otadata). */
int fota_boot_info(struct fota *f, struct fota_boot_info *bi);

/*
 * Send a status report (POST status) for the current release: state is one
 * of "downloading", "verifying", "installed", "confirmed", "failed",
 * "rolled_back"; err is a FOTA_ERR_* code or FOTA_OK. Failures to report are
 * returned but never change the update.
 */
int fota_report(struct fota *f, const char *state, int err);

#ifdef __cplusplus
}
#endif
#endif
