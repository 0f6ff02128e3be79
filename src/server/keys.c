/*
 * keys.c - master secret file, admin token, device key and token derivation,
 * chunk HMAC. mbedTLS does the hashing; randomness comes from getrandom(2).
 */
#include "keys.h"

#include "fota/device_id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/bignum.h>
#include <mbedtls/gcm.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include "fota/wire.h"
#include "log.h"

static const mbedtls_md_info_t *sha256_info(void)
{
    return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

int keys_sha256(const void *msg, size_t len, uint8_t out[32])
{
    return mbedtls_md(sha256_info(), msg, len, out) == 0 ? 0 : -1;
}

int keys_hmac(const uint8_t *key, size_t keylen, const void *msg, size_t len, uint8_t out[32])
{
    return mbedtls_md_hmac(sha256_info(), key, keylen, msg, len, out) == 0 ? 0 : -1;
}

int keys_chunk_hmac(const uint8_t key[KEY_LEN], const uint8_t sha256[32], uint32_t n,
                    const uint8_t *data, size_t len, uint8_t out[32])
{
    mbedtls_md_context_t c;
    uint8_t pfx[FOTA_CHUNK_MAC_PREFIX_LEN];
    int rc;

    fota_chunk_mac_prefix(pfx, sha256, n);
    mbedtls_md_init(&c);
    rc = mbedtls_md_setup(&c, sha256_info(), 1);
    if (!rc)
        rc = mbedtls_md_hmac_starts(&c, key, KEY_LEN);
    if (!rc)
        rc = mbedtls_md_hmac_update(&c, pfx, sizeof pfx);
    if (!rc)
        rc = mbedtls_md_hmac_update(&c, data, len);
    if (!rc)
        rc = mbedtls_md_hmac_finish(&c, out);
    mbedtls_md_free(&c);
    return rc ? -1 : 0;
}

void keys_mac_init(struct keys_mac *m, const uint8_t key[KEY_LEN])
{
    memcpy(m->key, key, KEY_LEN);
}

void keys_mac_wipe(struct keys_mac *m)
{
    explicit_bzero(m, sizeof *m);
}

int keys_chunk_hmac_mac(const struct keys_mac *m, const uint8_t sha256[32], uint32_t n,
                        const uint8_t *data, size_t len, uint8_t out[32])
{
    return keys_chunk_hmac(m->key, sha256, n, data, len, out);
}

void keys_device_token_hex(const uint8_t key[KEY_LEN], const char *id, char out[65])
{
    uint8_t mac[32];
    char msg[8 + DEVICE_ID_MAX];
    int n = snprintf(msg, sizeof msg, "token:%s", id);
    keys_hmac(key, KEY_LEN, msg, (size_t)n, mac);
    keys_hex(mac, 32, out);
}

void keys_hex(const uint8_t *in, size_t len, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* lowercase only: the wire format says so */
}

int keys_unhex(const char *hex, uint8_t *out, size_t len)
{
    if (strlen(hex) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

int keys_ct_equal(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= x[i] ^ y[i];
    return acc == 0;
}

int keys_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = getrandom(p, len, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int keys_load_master(struct keyring *k, const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT) {
        /* First start: make a new secret. O_EXCL so two servers racing on
         * the same path cannot both write one. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "cannot create master key file %s: %s", path, strerror(errno));
            return -1;
        }
        if (keys_random(k->master, KEY_LEN) < 0 || write(fd, k->master, KEY_LEN) != KEY_LEN ||
            fsync(fd) < 0) {
            snprintf(err, errlen, "cannot write master key file %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        close(fd);
        SLOG(SLOG_INFO, "created a new master key file %s (mode 0600)", path);
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot open master key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || st.st_size != KEY_LEN) {
        snprintf(err, errlen, "master key file %s is %lld bytes, expected exactly %d", path,
                 (long long)st.st_size, KEY_LEN);
        close(fd);
        return -1;
    }
    if (read_full(fd, k->master, KEY_LEN) < 0) {
        snprintf(err, errlen, "cannot read master key file %s", path);
        close(fd);
        return -1;
    }
    close(fd);
    if (st.st_mode & 077)
        SLOG(SLOG_WARN, "master key file %s is readable by group or others (mode %03o)", path,
             (unsigned)(st.st_mode & 0777));
    return 0;
}

int keys_read_token_file(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot open token file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(out, (int)outlen, f)) {
        snprintf(err, errlen, "token file %s is empty", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    if (!out[0]) {
        snprintf(err, errlen, "token file %s has an empty first line", path);
        return -1;
    }
    return 0;
}

int keys_set_admin_token(struct keyring *k, const char *token)
{
    if (!token || !token[0])
        return -1;
    k->has_admin = 1;
    return keys_sha256(token, strlen(token), k->admin_sha);
}

int keys_admin_ok(const struct keyring *k, const char *presented)
{
    return keys_admin_name(k, presented) != NULL;
}

const char *keys_admin_name(const struct keyring *k, const char *presented)
{
    const char *name = NULL;
    uint8_t h[32];
    /* Hashing first makes the comparison independent of the token length. */
    if (!presented || keys_sha256(presented, strlen(presented), h) < 0)
        return NULL;
    if (k->has_admin && keys_ct_equal(h, k->admin_sha, 32))
        name = "admin";
    for (int i = 0; i < k->nnamed; i++)
        if (keys_ct_equal(h, k->named[i].sha, 32) && !name)
            name = k->named[i].name;
    return name;
}

int keys_load_admin_tokens(struct keyring *k, const char *path, char *err, size_t errlen)
{
    char line[600];
    int lineno = 0;
    FILE *f = fopen(path, "re");

    if (!f) {
        snprintf(err, errlen, "cannot open admin tokens file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *name, *tok, *save = NULL;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        name = strtok_r(line, " \t", &save);
        if (!name || name[0] == '#')
            continue;
        tok = strtok_r(NULL, " \t", &save);
        if (!tok || strtok_r(NULL, " \t", &save) || strlen(name) > KEYS_ADMIN_NAME_MAX ||
            !keys_valid_device_id(name) || strlen(tok) < 16) {
            snprintf(err, errlen, "%s line %d: expected \"NAME TOKEN\" (NAME 1-%d of "
                     "[A-Za-z0-9._-], TOKEN at least 16 characters)", path, lineno,
                     KEYS_ADMIN_NAME_MAX);
            fclose(f);
            return -1;
        }
        if (k->nnamed == KEYS_ADMIN_MAX) {
            snprintf(err, errlen, "%s: more than %d tokens", path, KEYS_ADMIN_MAX);
            fclose(f);
            return -1;
        }
        snprintf(k->named[k->nnamed].name, sizeof k->named[0].name, "%s", name);
        keys_sha256(tok, strlen(tok), k->named[k->nnamed].sha);
        k->nnamed++;
        explicit_bzero(line, sizeof line);
    }
    fclose(f);
    if (k->nnamed == 0) {
        snprintf(err, errlen, "admin tokens file %s holds no token", path);
        return -1;
    }
    return 0;
}

int keys_valid_device_id(const char *id)
{
    return id && fota_device_id_valid(id, strnlen(id, DEVICE_ID_MAX + 1));
}

void keys_device_key(const struct keyring *k, const char *id, uint8_t key[KEY_LEN])
{
    char msg[8 + DEVICE_ID_MAX];
    int n = snprintf(msg, sizeof msg, "device:%s", id);
    keys_hmac(k->master, KEY_LEN, msg, (size_t)n, key);
}

int keys_device_token_ok(const struct keyring *k, const char *id, const char *hex_token)
{
    uint8_t key[KEY_LEN], want[32], got[32];
    char msg[8 + DEVICE_ID_MAX];
    int n, ok;

    if (!hex_token || keys_unhex(hex_token, got, 32) < 0)
        return 0;
    keys_device_key(k, id, key);
    n = snprintf(msg, sizeof msg, "token:%s", id);
    keys_hmac(key, KEY_LEN, msg, (size_t)n, want);
    ok = keys_ct_equal(want, got, 32);
    memset(key, 0, sizeof key);
    return ok;
}

int keys_load_sign_pubkey(const char *path, uint8_t pub[64], char *err, size_t errlen)
{
    mbedtls_pk_context pk;
    char text[300];
    size_t n = 0;
    FILE *f = fopen(path, "re");

    if (!f) {
        snprintf(err, errlen, "cannot open signing public key %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    if (strlen(text) == 128) {
        for (size_t i = 0; i < 128; i++)
            if (text[i] >= 'A' && text[i] <= 'F')
                text[i] = (char)(text[i] - 'A' + 'a');
        if (keys_unhex(text, pub, 64) == 0)
            return 0;
    }
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_keyfile(&pk, path) != 0 ||
        mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1 ||
        mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->Q.X, pub, 32) != 0 ||
        mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->Q.Y, pub + 32, 32) != 0) {
        mbedtls_pk_free(&pk);
        snprintf(err, errlen,
                 "%s is neither a PEM EC P-256 public key nor 128 hex digits (X || Y)", path);
        return -1;
    }
    mbedtls_pk_free(&pk);
    return 0;
}

int keys_ecdsa_verify(const uint8_t pub[64], const void *msg, size_t len, const uint8_t sig[64])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    uint8_t h[32], pt[65];
    int ok = 0;

    if (keys_sha256(msg, len, h) < 0)
        return 0;
    pt[0] = 0x04;
    memcpy(pt + 1, pub, 64);
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
        mbedtls_ecp_point_read_binary(&grp, &q, pt, sizeof pt) == 0 &&
        mbedtls_ecp_check_pubkey(&grp, &q) == 0 &&
        mbedtls_mpi_read_binary(&r, sig, 32) == 0 && mbedtls_mpi_read_binary(&s, sig + 32, 32) == 0)
        ok = mbedtls_ecdsa_verify(&grp, h, 32, &q, &r, &s) == 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return ok;
}

static int wrap_key(const struct keyring *k, uint8_t out[32])
{
    static const char label[] = "wrap:v1";
    return keys_hmac(k->master, KEY_LEN, label, sizeof label - 1, out);
}

int keys_wrap(const struct keyring *k, const char *id, const uint8_t key[KEY_LEN],
              uint8_t wrapped[KEYS_WRAPPED_LEN])
{
    mbedtls_gcm_context g;
    uint8_t kek[32];
    int rc;

    if (wrap_key(k, kek) < 0 || keys_random(wrapped, 12) < 0)
        return -1;
    mbedtls_gcm_init(&g);
    rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, kek, 256);
    if (!rc)
        rc = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, KEY_LEN, wrapped, 12,
                                       (const unsigned char *)id, strlen(id), key, wrapped + 12,
                                       16, wrapped + 12 + KEY_LEN);
    mbedtls_gcm_free(&g);
    explicit_bzero(kek, sizeof kek);
    return rc ? -1 : 0;
}

int keys_unwrap(const struct keyring *k, const char *id, const uint8_t wrapped[KEYS_WRAPPED_LEN],
                uint8_t key[KEY_LEN])
{
    mbedtls_gcm_context g;
    uint8_t kek[32];
    int rc;

    if (wrap_key(k, kek) < 0)
        return -1;
    mbedtls_gcm_init(&g);
    rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, kek, 256);
    if (!rc)
        rc = mbedtls_gcm_auth_decrypt(&g, KEY_LEN, wrapped, 12, (const unsigned char *)id,
                                      strlen(id), wrapped + 12 + KEY_LEN, 16, wrapped + 12, key);
    mbedtls_gcm_free(&g);
    explicit_bzero(kek, sizeof kek);
    if (rc)
        explicit_bzero(key, KEY_LEN);
    return rc ? -1 : 0;
}
