/*
 * fota_esp.h - libfota on ESP-IDF: the port that binds libfota's contract
 * (fota/fota.h) to ESP-IDF v5, and a FreeRTOS task that runs updates.
 *
 * What each callback uses (one ESP-IDF call each, where it can be):
 *   flash      esp_partition_read / _erase_range / _write on the running and
 *              the next OTA partition (never raw esp_flash_*: flash
 *              encryption stays transparent), fota_esp_flash.c
 *   boot       esp_ota_set_boot_partition, esp_ota_mark_app_valid_cancel_rollback,
 *              esp_ota_get_state_partition, esp_ota_mark_app_invalid_rollback_and_reboot
 *   transport  esp_http_client: one handle kept open across requests
 *              (keep-alive), every body read as a stream, fota_esp_http.c
 *   crypto     mbedTLS 3 SHA-256; HMAC-SHA256 from two SHA-256 contexts (no
 *              heap); ECDSA P-256 verify (mbedTLS bignums DO allocate),
 *              fota_esp_crypto.c
 *   journal    an NVS blob (nvs_set_blob + nvs_commit), fota_esp_store.c
 *   clock/log  esp_timer, vTaskDelay, esp_random, ESP_LOG, fota_esp_sys.c
 *   trial      the trial boot's rules: confirm after self-test AND server
 *              contact, roll back at a deadline, retry a trial a power
 *              loss ended (esp_reset_reason), fota_esp_trial.c
 *   preflight  image fits the slot, heap for TLS, before any erase,
 *              fota_esp_preflight.c
 *
 * Provisioning: the device id and key are read from NVS (namespace
 * CONFIG_FOTA_NVS_NAMESPACE, keys "id" (string) and "key" (32-byte blob))
 * unless fota_esp_settings gives them; the server URL and the release
 * signing public key come from Kconfig unless given; the CA is a PEM
 * string the application embeds (docs/esp32.md).
 *
 * All state lives in one caller-owned struct fota_esp (about 4.5 KB with
 * the default FOTA_CHUNK_MAX); fota_esp_start_task keeps its own in .bss.
 */
#ifndef FOTA_ESP_H
#define FOTA_ESP_H

#include <stdbool.h>
#include <stdint.h>
#include "sdkconfig.h"
#include "esp_err.h"
#include "esp_partition.h"
#include "esp_http_client.h"
#include "nvs.h"
#include "fota/fota.h"
#include "fota/fstore.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Headers per request (the core sends a few), the longest header name the
 * transport remembers to delete before the next request, the base URL. */
#define FOTA_ESP_MAX_HEADERS 6
#define FOTA_ESP_HEADER_NAME_MAX 32
#define FOTA_ESP_URL_MAX 256

/* Kconfig defaults, for builds without this component's Kconfig (the
 * Arduino library, src/ports/arduino: Arduino-ESP32's sdkconfig does not
 * carry our options). Each equals the Kconfig default. */
#ifndef CONFIG_FOTA_SERVER_URL
#define CONFIG_FOTA_SERVER_URL "http://192.168.1.10:8080"
#endif
#ifndef CONFIG_FOTA_CHECK_INTERVAL_S
#define CONFIG_FOTA_CHECK_INTERVAL_S 3600
#endif
#ifndef CONFIG_FOTA_TASK_STACK_SIZE
#define CONFIG_FOTA_TASK_STACK_SIZE 8192
#endif
#ifndef CONFIG_FOTA_TASK_PRIORITY
#define CONFIG_FOTA_TASK_PRIORITY 5
#endif
#ifndef CONFIG_FOTA_HTTP_TIMEOUT_MS
#define CONFIG_FOTA_HTTP_TIMEOUT_MS 15000
#endif
#ifndef CONFIG_FOTA_HTTP_BUFFER_SIZE
#define CONFIG_FOTA_HTTP_BUFFER_SIZE 1024
#endif
#ifndef CONFIG_FOTA_MAX_ATTEMPTS
#define CONFIG_FOTA_MAX_ATTEMPTS 8
#endif
#if !defined(CONFIG_FOTA_JOURNAL_NVS) && !defined(CONFIG_FOTA_JOURNAL_PARTITION)
#define CONFIG_FOTA_JOURNAL_NVS 1
#endif
#ifndef CONFIG_FOTA_NVS_NAMESPACE
#define CONFIG_FOTA_NVS_NAMESPACE "fota"
#endif
#ifndef CONFIG_FOTA_NVS_JOURNAL_KEY
#define CONFIG_FOTA_NVS_JOURNAL_KEY "journal"
#endif
#ifndef CONFIG_FOTA_NVS_FLOOR_KEY
#define CONFIG_FOTA_NVS_FLOOR_KEY "floor"
#endif
#ifndef CONFIG_FOTA_JOURNAL_PARTITION_LABEL
#define CONFIG_FOTA_JOURNAL_PARTITION_LABEL "fota"
#endif
#ifndef CONFIG_FOTA_SIGN_PUBKEY
#define CONFIG_FOTA_SIGN_PUBKEY ""
#endif
#ifndef CONFIG_FOTA_TRIAL_DEADLINE_S
#define CONFIG_FOTA_TRIAL_DEADLINE_S 300
#endif
#ifndef CONFIG_FOTA_TRIAL_POWER_RETRIES
#define CONFIG_FOTA_TRIAL_POWER_RETRIES 2
#endif
#ifndef CONFIG_FOTA_HEAP_NEED_TLS
#define CONFIG_FOTA_HEAP_NEED_TLS 40960
#endif
#ifndef CONFIG_FOTA_HEAP_NEED_HTTP
#define CONFIG_FOTA_HEAP_NEED_HTTP 8192
#endif

/* settings.trial_power_retries: a trial ended by power loss is never tried again */
#define FOTA_ESP_NO_POWER_RETRY 0xFFu

/* What the application may set; NULL / 0 takes the Kconfig default or the
 * NVS-provisioned value. fota_esp_init copies the URL, id, key and public
 * key; ca_pem is kept by esp_http_client and must outlive the struct
 * fota_esp (an EMBED_TXTFILES symbol does). */
struct fota_esp_settings {
    const char *server_url;      /* NULL: CONFIG_FOTA_SERVER_URL */
    const char *device_id;       /* NULL: NVS <namespace>/"id" */
    const uint8_t *device_key;   /* FOTA_KEY_LEN bytes; NULL: NVS <namespace>/"key" */
    const char *ca_pem;          /* server CA for https (NUL-terminated PEM);
                                    NULL: plain http, or https with the
                                    certificate bundle when the app sets
                                    crt_bundle_attach */
    esp_err_t (*crt_bundle_attach)(void *conf); /* esp_crt_bundle_attach, or NULL */
    const uint8_t *sign_pubkey;  /* 64 bytes X||Y; NULL: CONFIG_FOTA_SIGN_PUBKEY
                                    (hex, empty = unsigned releases accepted) */
    uint32_t protocols;          /* FOTA_PROTO_*; 0: Kconfig choice */
    uint32_t secure_version_floor; /* e.g. esp_efuse_read_secure_version() */
    /* Called by the task once per boot while the running image is on trial
     * (PENDING_VERIFY), after the first successful check with the server:
     * return true to confirm it, false to roll back (reboots). NULL: confirm
     * once the server answered (the network works). */
    bool (*self_test)(void);
    void (*progress)(const struct fota_progress *p); /* NULL: log every 10 % */
    /* The version sent in `check`; NULL: the app descriptor's. Arduino
     * images carry the core's version there, so a sketch passes its own. */
    const char *running_version;
    /* Trial boot (docs/esp32.md "Trial boot"): a PENDING_VERIFY image is
     * confirmed only once its self-test passed AND the server answered a
     * check in this boot; trial_deadline_s after start-up without both it
     * rolls back by itself (0: CONFIG_FOTA_TRIAL_DEADLINE_S, 300). */
    uint32_t trial_deadline_s;
    /* A trial ended by power loss or brownout (esp_reset_reason, seen by
     * the previous image after the bootloader aborted the trial) is booted
     * again up to this many times before it counts as a rollback (0:
     * CONFIG_FOTA_TRIAL_POWER_RETRIES, 2; FOTA_ESP_NO_POWER_RETRY: never).
     * A crash or watchdog ends the trial for good. */
    uint8_t trial_power_retries;
    /* true: the application reports its self-test with
     * fota_esp_self_test_result (the Arduino class does); until it has,
     * nothing is confirmed. false: self_test above decides, or, when NULL,
     * the self-test counts as passed. */
    bool app_reports_self_test;
    /* Largest free heap block (heap_caps_get_largest_free_block) a download
     * needs before it may start (TLS buffers, esp_http_client, the ECDSA
     * check); 0: CONFIG_FOTA_HEAP_NEED_TLS (40960) for https URLs,
     * CONFIG_FOTA_HEAP_NEED_HTTP (8192) for plain http. */
    uint32_t heap_need;
};

/* The trial boot of the running image, as the port settles it. */
struct fota_esp_trial {
    int64_t start_us;            /* esp_timer_get_time() at fota_esp_init */
    uint8_t pending;             /* running image is PENDING_VERIFY */
    uint8_t self_test;           /* FOTA_ESP_SELF_TEST_* */
    uint8_t reached;             /* the server answered a check since start-up */
};
#define FOTA_ESP_SELF_TEST_UNKNOWN 0
#define FOTA_ESP_SELF_TEST_PASSED 1
#define FOTA_ESP_SELF_TEST_FAILED 2

/* The transport's state: one esp_http_client handle for all requests. */
struct fota_esp_http {
    esp_http_client_handle_t client;
    char base_url[FOTA_ESP_URL_MAX];       /* no trailing slash */
    char url[FOTA_ESP_URL_MAX + 160];      /* base + path of the request */
    char hdr_names[FOTA_ESP_MAX_HEADERS][FOTA_ESP_HEADER_NAME_MAX]; /* set last time */
    unsigned nhdr;
    char rx[CONFIG_FOTA_HTTP_BUFFER_SIZE]; /* one read; body handed to the core from here */
    uint32_t requests;                     /* requests sent (for logs and tests) */
};

struct fota_esp {
    struct fota_config cfg;      /* cfg.context points back here */
    struct fota fota;
    struct fota_offer offer;     /* the last check's answer */
    struct fota_esp_settings set;
    struct fota_esp_http http;
    nvs_handle_t nvs;            /* journal and identity namespace */
#if CONFIG_FOTA_JOURNAL_PARTITION
    struct fota_fstore fstore;   /* the journal on its own data partition */
    struct fota_fstore floor_store; /* its sectors 2-3: anti-rollback floor */
#endif
    int has_floor_store;         /* floor_load/floor_save are bound */
    char id[FOTA_ID_MAX + 1];
    uint8_t key[FOTA_KEY_LEN];
    uint8_t pubkey[64];
    struct fota_esp_trial trial;
    uint32_t last_pct;           /* progress logging */
    int initialised;
};

/*
 * Bind the port and start libfota (fota_init) on a device that has just
 * booted. nvs_flash_init() must have run; the network need not be up yet.
 * Returns ESP_OK, ESP_ERR_INVALID_ARG (no or malformed id/key/URL/pubkey),
 * ESP_ERR_NVS_* from reading the identity, ESP_ERR_NO_MEM (HTTP client), or
 * ESP_FAIL when fota_init refused (the log says why: no OTA slot, ...).
 */
esp_err_t fota_esp_init(struct fota_esp *e, const struct fota_esp_settings *s);

/* Close the HTTP client and the NVS handle. */
void fota_esp_deinit(struct fota_esp *e);

/*
 * One round: ask the server (fota_check); once it answered, settle a trial
 * boot (confirm, or roll back when settings.self_test says no); when an
 * update is offered,
 * download, verify and switch (fota_run). *installed is set when the new
 * image is installed: restart (esp_restart) to boot it on trial.
 * Returns FOTA_OK or a FOTA_ERR_* code (fota_strerror).
 */
int fota_esp_check_and_update(struct fota_esp *e, bool *installed);

/* Confirm the running image (fota_confirm) / roll it back (fota_rollback:
 * reboots into the previous image, returns only on failure). Both end the
 * trial at once, whatever the trial rules below would decide. */
int fota_esp_confirm(struct fota_esp *e);
int fota_esp_rollback(struct fota_esp *e);

/*
 * Trial boot (fota_esp_trial.c). While the running image is on trial
 * (PENDING_VERIFY), the port decides by a table over three facts: the
 * self-test (unknown / passed / failed), whether the server answered a check
 * since start-up, and whether settings.trial_deadline_s has passed:
 * failed -> roll back; passed and server reached -> confirm; deadline passed
 * otherwise -> roll back (esp_ota_mark_app_invalid_rollback_and_reboot);
 * else wait. The rollback is reported to the server by the previous image
 * on its next contact (libfota's journal remembers it, and the release is
 * not installed again by itself).
 */
/* The application's self-test verdict (settings.app_reports_self_test). */
void fota_esp_self_test_result(struct fota_esp *e, bool passed);
/* Apply the table now: FOTA_OK when nothing is on trial or it is still
 * waiting or it was confirmed; on a rollback the device restarts (returns
 * only when the rollback failed). Cheap when nothing is on trial: call it
 * from the application's loop (the deadline needs it). */
int fota_esp_trial_poll(struct fota_esp *e);
/* The running image is on trial and not settled yet. */
bool fota_esp_on_trial(const struct fota_esp *e);

/*
 * Called by fota_esp_init before libfota starts: when the previous boot was
 * a trial of the other image that the bootloader aborted, and it ended by
 * power loss or brownout (esp_reset_reason() ESP_RST_POWERON or
 * ESP_RST_BROWNOUT), boot that image on trial again (esp_ota_set_boot_partition,
 * esp_restart: does not return), at most settings.trial_power_retries times
 * per release; the count lives in NVS (<namespace>/"trial"). Otherwise it
 * forgets the trial, and libfota's start-up reports the rollback.
 */
void fota_esp_trial_boot(struct fota_esp *e);
/* Remember that target, about to become the boot partition, boots on trial
 * next (the NVS record fota_esp_trial_boot reads; the port's boot_set calls
 * it before esp_ota_set_boot_partition). */
void fota_esp_trial_installed(struct fota_esp *e, const esp_partition_t *target);

/*
 * Before a download starts (fota_esp_preflight.c): the offered image fits
 * the update slot (FOTA_ERR_SLOT_SIZE), and the largest free heap block
 * (heap_caps_get_largest_free_block(MALLOC_CAP_8BIT)) is at least
 * settings.heap_need (FOTA_ERR_NO_MEM). Nothing is erased when it refuses;
 * the log says what was needed and what was there.
 */
int fota_esp_preflight(struct fota_esp *e, const struct fota_offer *o);

/*
 * Start the update task: fota_esp_init, then every CONFIG_FOTA_CHECK_INTERVAL_S
 * seconds fota_esp_check_and_update, esp_restart() after an install. While
 * the running image is on trial it confirms or rolls back after the first
 * answer from the server (settings.self_test). The task's stack is
 * CONFIG_FOTA_TASK_STACK_SIZE bytes (default 8192: our frames take under
 * 1.5 KB, measured by tests/esp-idf/cross.sh; the rest is esp_http_client,
 * esp-tls and mbedTLS during a TLS handshake, which ESP-IDF's own HTTPS OTA
 * examples size at 8 KB). settings is copied (its pointers must outlive the
 * task). One task per device: a second call returns ESP_ERR_INVALID_STATE.
 */
esp_err_t fota_esp_start_task(const struct fota_esp_settings *s);

/* Fill the individual callback groups (fota_esp_init does all of it; these
 * are for applications that assemble their own struct fota_config). */
void fota_esp_bind_flash(struct fota_config *c);   /* part_* and boot_* */
void fota_esp_bind_crypto(struct fota_config *c);  /* sha256_*, hmac_*, ecdsa */
void fota_esp_bind_sys(struct fota_config *c);     /* clock, random, log */
/* Transport and store need their state: c->context must be a struct fota_esp. */
void fota_esp_bind_http(struct fota_config *c);
void fota_esp_bind_store(struct fota_config *c);
/* Open the journal store chosen in Kconfig (after the callbacks are bound). */
esp_err_t fota_esp_store_open(struct fota_esp *e);
/* Describe an ESP-IDF partition as libfota's struct fota_part. */
int fota_esp_part_of(const esp_partition_t *ep, struct fota_part *p);
esp_err_t fota_esp_http_open(struct fota_esp_http *h, const char *base_url, const char *ca_pem,
                             esp_err_t (*crt_bundle_attach)(void *conf));
void fota_esp_http_close(struct fota_esp_http *h);

#ifdef __cplusplus
}
#endif
#endif
