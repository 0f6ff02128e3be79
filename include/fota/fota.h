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
 *     fota_init(&f, &cfg);           // partitions, boot state, journal
 *     fota_confirm(&f);              // after the app's own self-test passes
 *     struct fota_offer o;
 *     if (fota_check(&f, &o) == FOTA_OK && o.update)
 *         fota_run(&f, &o);          // download, verify, switch; then reboot
 *
 * Every function returns FOTA_OK or a negative code of fota/error.h, and logs
 * each failure once through cfg->log with what was expected and what came.
 *
 * Port contract, version 2 (struct fota_config): flash by partition (the
 * port names the running and the update partition; the core addresses bytes
 * by offset inside them), boot control through the platform (boot_set,
 * boot_confirm, boot_state, boot_rollback: the core never writes otadata),
 * an encrypted-partition mode, and a journal store the port places. On
 * ESP-IDF each callback is one esp_partition_* / esp_ota_* / nvs_* call;
 * the simulator implements the same callbacks over its NOR model
 * (src/sim/device.c). docs/core.md tells where the two depart.
 */
#ifndef FOTA_FOTA_H
#define FOTA_FOTA_H

#include <stdint.h>
#include "fota/device_id.h"
#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "fota/manifest.h"
#include "fota/patch.h"

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
#define FOTA_JOURNAL_LEN 128u     /* bytes the state store keeps for us */
#define FOTA_KEY_LEN 32u
#define FOTA_SHA256_LEN 32u
#define FOTA_SLOT_FACTORY 255u    /* fota_part.index of a factory app */
#define FOTA_SLOT_DATA 254u       /* fota_part.index of a data partition */
#define FOTA_BLOCK_SIZE 65536u    /* NOR block erase unit */
#define FOTA_PAGE_SIZE 256u       /* NOR program page */

/* Protocols (config `protocols`, offer `protocols`): bit mask. */
#define FOTA_PROTO_V1 0x1u        /* one JSON chunk per request */
#define FOTA_PROTO_V2 0x2u        /* one binary stream of HMAC'd chunks */

/* Config `encodings`: bit (1u << FOTA_ENC_*) per encoding the device takes
 * besides full images (always taken). 0: full images only. */
#define FOTA_ENCS_COMPRESSED (1u << FOTA_ENC_COMPRESSED)
#define FOTA_ENCS_DELTA (1u << FOTA_ENC_DELTA)

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

/*
 * A partition as the port names it (ESP-IDF: an esp_partition_t). The port
 * fills it in part_get; the core passes it back to the part_* and boot_*
 * callbacks unchanged and reads only size, index and encrypted. Offsets
 * given to part_* are relative to the partition's start, never absolute.
 */
struct fota_part {
    const void *handle;      /* the port's own (ESP-IDF: const esp_partition_t *) */
    uint32_t addr;           /* absolute flash offset: for logs and the port */
    uint32_t size;           /* bytes */
    uint8_t  index;          /* ota_N of an app slot, FOTA_SLOT_FACTORY for factory,
                                FOTA_SLOT_DATA for a data partition */
    uint8_t  encrypted;      /* 1: flash encryption covers it (see part_write) */
    char     label[17];      /* NUL-terminated, as in the partition table */
};

/* Which partition part_get names. */
#define FOTA_PART_RUNNING 0  /* the app that runs (esp_ota_get_running_partition) */
#define FOTA_PART_UPDATE  1  /* where the next update goes
                                (esp_ota_get_next_update_partition(NULL)) */
#define FOTA_PART_BOOT    2  /* what the bootloader will boot next, as otadata
                                says now (esp_ota_get_boot_partition) */

/* boot_state when p has no valid otadata entry (ESP-IDF: ESP_ERR_NOT_FOUND,
 * or ESP_ERR_NOT_SUPPORTED for a factory app). The other values are
 * FOTA_OTA_* of fota/esp_ota.h, equal to ESP-IDF's esp_ota_img_states_t. */
#define FOTA_OTA_NO_ENTRY 0xFFFFFFFEu

struct fota_config {
    void *context;           /* for the callbacks; libfota never touches it */

    /* ---- Flash, by partition. -------------------------------------------
     * part_get names a partition (FOTA_PART_*): FOTA_OK, or FOTA_ERR_NO_SLOT
     * when there is none (no OTA slot to update, say). The core reads,
     * erases and programs only inside the update partition it was given
     * (and reads the running one: its app descriptor), by offset in it.
     * part_erase gets sector-aligned ranges (FOTA_SECTOR_SIZE multiples),
     * 64 KB at a time when the range is block aligned, so a port that can
     * block-erase (esp_partition_erase_range does) should. part_write
     * programs erased bytes (NOR: bits 1 -> 0 only); on an encrypted
     * partition it encrypts and part_read decrypts (esp_partition_write /
     * esp_partition_read do), and the core then writes every page, 0xFF
     * pages included, and checks only what part_read returns (encrypted
     * writes are whole chunks at multiples of chunk_size, >= 512; ESP
     * images are 16-byte multiples, as flash encryption needs). All return
     * FOTA_OK, FOTA_ERR_IO, FOTA_ERR_PARAM (out of the partition) or
     * FOTA_ERR_POWER_LOST. */
    int (*part_get)(const struct fota_config *c, int which, struct fota_part *p);
    int (*part_read)(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                     void *buf, uint32_t len);
    int (*part_erase)(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                      uint32_t len);
    int (*part_write)(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                      const void *buf, uint32_t len);

    /* ---- Boot control, through the platform. ---------------------------
     * The core never writes otadata itself: these do (ESP-IDF: esp_ota_*;
     * the simulator: its otadata writer over fota/esp_ota.h's rules).
     * boot_set: make p (an app partition the core has just read back and
     *   verified: the update partition, or in recovery the running one) the
     *   one the bootloader boots next, on trial: otadata state NEW with
     *   rollback enabled (esp_ota_set_boot_partition, which also runs
     *   esp_image_verify and the secure-boot signature check: their refusal
     *   is FOTA_ERR_IMG_FORMAT, FOTA_ERR_SIGNATURE or FOTA_ERR_SECURE_VERSION).
     *   A cut while it runs must leave the previous entry in force. Any
     *   error but FOTA_ERR_POWER_LOST and FOTA_ERR_IO is a refusal, final
     *   for that release: the engine remembers it as rolled back.
     * boot_confirm: mark the running image valid, ending its trial
     *   (esp_ota_mark_app_valid_cancel_rollback, which also advances the
     *   eFuse secure_version with anti-rollback). Idempotent.
     * boot_state: *state = the otadata state of p's entry (FOTA_OTA_*, as
     *   esp_ota_get_state_partition), FOTA_OTA_NO_ENTRY when it has none.
     * boot_rollback: mark the running image invalid and boot the previous
     *   one (esp_ota_mark_app_invalid_rollback_and_reboot: on a device it
     *   does not return on success; the simulator returns FOTA_OK and its
     *   caller powers off). May be NULL: fota_rollback is then refused.
     * All return FOTA_OK, FOTA_ERR_OTADATA, a refusal above, or a flash
     * error. */
    int (*boot_set)(const struct fota_config *c, const struct fota_part *p);
    int (*boot_confirm)(const struct fota_config *c);
    int (*boot_state)(const struct fota_config *c, const struct fota_part *p, uint32_t *state);
    int (*boot_rollback)(const struct fota_config *c);

    /* ---- Transport. -----------------------------------------------------
     * path is absolute with query ("/api/...?a=1"). *status gets
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

    /* ---- Crypto. --------------------------------------------------------
     * ctx is FOTA_HASH_CTX_SIZE bytes of 8-aligned memory inside struct
     * fota; the port keeps its whole state there (no heap: HMAC as two
     * SHA-256 states, inner and outer, is the usual way). */
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

    /* ---- State store for the resume journal. ----------------------------
     * FOTA_JOURNAL_LEN bytes. save must be atomic (after a power cut, load
     * returns the old or the new bytes, nothing else). load fills 0xFF when
     * nothing was ever saved. The port chooses where: on ESP-IDF an NVS
     * blob (nvs_set_blob + nvs_commit keeps the old or the new value across
     * a cut); elsewhere a dedicated data partition of two sectors with
     * fota/fstore.h (the simulator: the `fota` partition). Never sectors of
     * a partition that belongs to something else (nvs holds Wi-Fi
     * credentials and PHY calibration). */
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
    /* Encodings this device takes besides full images (FOTA_ENCS_*; 0: full
     * only). With FOTA_ENCS_DELTA, check reports the running image's
     * appended SHA-256 so the server can offer a delta from it. */
    uint32_t encodings;
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
    /* compressed and delta updates: the chunks carry a patch stream of
     * patch_size bytes whose SHA-256 is patch_sha256 (their HMACs bind to
     * it); size and sha256 stay the image's, checked after it is made */
    uint8_t  encoding;                     /* FOTA_ENC_* */
    uint32_t patch_size;
    uint8_t  patch_sha256[FOTA_SHA256_LEN];
};

/* What the device booted and what it will boot next. */
struct fota_boot_info {
    unsigned running_slot;     /* index of FOTA_PART_RUNNING */
    unsigned next_slot;        /* index of FOTA_PART_BOOT: what otadata selects now */
    uint32_t running_state;    /* otadata state of the running slot's entry when
                                  it is the one selected, else FOTA_OTA_UNDEFINED */
    uint32_t update_slot;      /* slot the next update will be written to */
    uint32_t update_slot_size;
    int      pending;          /* running image is on trial (PENDING_VERIFY) */
    int      untried;          /* the new image runs without a trial (its entry
                                  stayed NEW: a bootloader without rollback);
                                  it waits for fota_confirm all the same */
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
    struct fota_part   running;               /* FOTA_PART_RUNNING, from fota_init */
    struct fota_part   update;                /* FOTA_PART_UPDATE, from fota_init */
    struct fota_offer  offer;
    struct fota_progress prog;
    uint8_t  journal[FOTA_JOURNAL_LEN];   /* last saved record */
    char     token[65];                   /* hex HMAC(key, "token:" + id) */
    uint8_t  phase;
    uint32_t next_chunk;
    uint32_t min_secure;                  /* highest secure_version confirmed */
    uint32_t erased_until;                /* slot bytes erased in this run */
    uint8_t  use_v2;                      /* stream with v2 while it works */
    uint8_t  untried;                     /* this boot runs the new image without a
                                             trial (no rollback bootloader) */
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
            uint8_t  hexn2;        /* patch_sha256 digits */
            uint8_t  seen2;        /* encoding, patch_size, patch_sha256 */
            uint8_t  encn;         /* encoding characters held */
            char     enc[11];
        } check;
    } p;
    union {
        uint64_t align;
        uint8_t  bytes[FOTA_HASH_CTX_SIZE];
    } hash;
    uint8_t  buf[FOTA_CHUNK_MAX];         /* one decoded chunk; read-back block */
    /* compressed and delta updates */
    struct fota_patch patch;              /* the patcher (fota/patch.h) */
    uint32_t patch_skip;                  /* bytes of the next chunk already fed
                                             (a resume inside a chunk) */
    uint32_t base_size;                   /* running image's length, 0: unknown */
    int      patch_failed;                /* the patch did not make the image */
    uint8_t  base_sha256[FOTA_SHA256_LEN]; /* its appended SHA-256 */
};

/* ---- API ------------------------------------------------------------------ */

/*
 * Start libfota on a device that has just booted. Asks the port for the
 * running and the update partition, loads the resume journal, computes the
 * device token, and finishes what a power cut interrupted (through
 * boot_state and boot_set): a verified image whose boot switch did not take
 * is switched again; a trial image that was rolled back is reported. cfg
 * must outlive f.
 * Returns FOTA_OK, FOTA_ERR_PARAM (missing callback or bad identity),
 * FOTA_ERR_NO_SLOT (no update partition, or it is the running one),
 * FOTA_ERR_OTADATA, or a port error.
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
 * Mark the running image good (boot_confirm: otadata state VALID), so the
 * bootloader keeps booting it, and raise the anti-rollback floor to its
 * secure_version. Call after the application's own checks pass.
 * Idempotent: FOTA_OK when already VALID. FOTA_ERR_NOTHING_PENDING when the
 * running slot is not the one otadata selects (nothing on trial).
 */
int fota_confirm(struct fota *f);

/*
 * Give up on the running image (boot_rollback): mark it invalid so the
 * bootloader boots the previous one. On a device this reboots and does not
 * return; the simulator returns FOTA_OK and the caller powers off. The
 * release is remembered as rolled back (not installed again by itself).
 * FOTA_ERR_PARAM when the port has no boot_rollback,
 * FOTA_ERR_NOTHING_PENDING when the running image is not the selected one.
 */
int fota_rollback(struct fota *f);

/* What booted and what will boot next (part_get, boot_state). */
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
