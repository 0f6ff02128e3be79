/*
 * keys.h - secrets of the server and the formulas derived from them.
 *
 * Device keys are not stored anywhere: key = HMAC-SHA256(master, "device:"+id),
 * so a stolen database gives no device key, and the key can be shown again
 * only by whoever holds the master secret. A device proves itself with
 * token = hex(HMAC-SHA256(key, "token:"+id)). The admin token is kept only as
 * its SHA-256. All comparisons of secrets are constant time.
 */
#ifndef FOTA_SERVER_KEYS_H
#define FOTA_SERVER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define DEVICE_ID_MAX 64

#define KEYS_ADMIN_MAX 32     /* named admin tokens */
#define KEYS_ADMIN_NAME_MAX 32

struct keyring {
    uint8_t master[KEY_LEN];
    uint8_t admin_sha[32];
    int has_admin;             /* admin_sha is set (the token named "admin") */
    struct {
        char name[KEYS_ADMIN_NAME_MAX + 1];
        uint8_t sha[32];
    } named[KEYS_ADMIN_MAX];   /* --admin-tokens-file: one per operator or tool */
    int nnamed;
};

/* Load the 32-byte master secret from path, creating it (mode 0600, random
 * bytes) when missing. Refuses a file of another size. 0 or -1 (err set). */
int keys_load_master(struct keyring *k, const char *path, char *err, size_t errlen);

/* Remember the admin token (only its SHA-256). -1 if empty. */
int keys_set_admin_token(struct keyring *k, const char *token);

/* Read the first line of a token file into out. 0 or -1 (err set). */
int keys_read_token_file(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* 1 when the presented admin token is one of the configured ones. */
int keys_admin_ok(const struct keyring *k, const char *presented);
/* The name of the presented admin token ("admin" for the single token of
 * keys_set_admin_token), or NULL when it is none of them. Every configured
 * token is compared (constant time each), so the time does not tell which. */
const char *keys_admin_name(const struct keyring *k, const char *presented);
/* Load "NAME TOKEN" lines (NAME 1-32 of [A-Za-z0-9._-]; '#' comments and
 * blank lines skipped) as named admin tokens. 0 or -1 (err set). */
int keys_load_admin_tokens(struct keyring *k, const char *path, char *err, size_t errlen);

/* 1 when id is a valid device id: fota_device_id_valid (fota/device_id.h). */
int keys_valid_device_id(const char *id);

void keys_device_key(const struct keyring *k, const char *id, uint8_t key[KEY_LEN]);

/* A key a device already holds (imported, not derived) is stored only
 * wrapped: AES-256-GCM under HMAC-SHA256(master, "wrap:v1"), a random
 * 12-byte nonce, the device id as associated data (a wrapped key moved to
 * another device's row does not unwrap). wrapped = nonce || ciphertext ||
 * tag. 0 or -1. */
#define KEYS_WRAPPED_LEN (12 + KEY_LEN + 16)
int keys_wrap(const struct keyring *k, const char *id, const uint8_t key[KEY_LEN],
              uint8_t wrapped[KEYS_WRAPPED_LEN]);
int keys_unwrap(const struct keyring *k, const char *id, const uint8_t wrapped[KEYS_WRAPPED_LEN],
                uint8_t key[KEY_LEN]);
/* 1 when hex_token (lowercase hex) is the token of id. */
int keys_device_token_ok(const struct keyring *k, const char *id, const char *hex_token);

/* hmac = HMAC-SHA256(key, sha256 || be32(n) || data): the message prefix is
 * the core's (fota_chunk_mac_prefix, include/fota/wire.h), the HMAC mbedTLS's. */
int keys_chunk_hmac(const uint8_t key[KEY_LEN], const uint8_t sha256[32], uint32_t n,
                    const uint8_t *data, size_t len, uint8_t out[32]);

/* A device's key as a request carries it for its chunk HMACs (copied by
 * value from the device cache; wiped when the request ends). The server has
 * one crypto library, mbedTLS: keys_chunk_hmac_mac is keys_chunk_hmac. */
struct keys_mac {
    uint8_t key[KEY_LEN];
};
void keys_mac_init(struct keys_mac *m, const uint8_t key[KEY_LEN]);
void keys_mac_wipe(struct keys_mac *m);
int keys_chunk_hmac_mac(const struct keys_mac *m, const uint8_t sha256[32], uint32_t n,
                        const uint8_t *data, size_t len, uint8_t out[32]);
/* The device's expected token: hex(HMAC-SHA256(key, "token:" + id)), 64
 * lowercase hex digits + NUL. */
void keys_device_token_hex(const uint8_t key[KEY_LEN], const char *id, char out[65]);

int keys_hmac(const uint8_t *key, size_t keylen, const void *msg, size_t len, uint8_t out[32]);
int keys_sha256(const void *msg, size_t len, uint8_t out[32]);
void keys_hex(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */
int keys_unhex(const char *hex, uint8_t *out, size_t len); /* 0 or -1 */
int keys_ct_equal(const void *a, const void *b, size_t len);
int keys_random(void *buf, size_t len);

/* Load the operator's ECDSA P-256 public key: a PEM public key (fota-admin
 * key generate's NAME.pub) or the 128 hex digits X || Y. 0 or -1 (err set). */
int keys_load_sign_pubkey(const char *path, uint8_t pub[64], char *err, size_t errlen);
/* 1 when sig (raw r || s) is a valid ECDSA P-256 signature by pub of
 * SHA-256(msg). */
int keys_ecdsa_verify(const uint8_t pub[64], const void *msg, size_t len, const uint8_t sig[64]);

#endif
