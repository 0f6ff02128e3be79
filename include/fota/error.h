/*
 * error.h - the one error enum of libfota.
 *
 * Every function of the device library, and every port callback, returns one
 * of these codes: FOTA_OK (0) on success, a negative code on failure. Nothing
 * in the library returns -1, errno or a bool. fota_strerror() gives a short
 * English sentence for logs and CLIs; fota_errname() gives the snake_case name
 * that a device sends to the server in its status report ("error" field).
 */
#ifndef FOTA_ERROR_H
#define FOTA_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum fota_err {
    FOTA_OK = 0,

    /* our caller or our own state */
    FOTA_ERR_PARAM = -1,         /* invalid argument */
    FOTA_ERR_STATE = -2,         /* call not valid in the current state */

    /* platform */
    FOTA_ERR_IO = -3,            /* flash read, erase or program failed */
    FOTA_ERR_POWER_LOST = -4,    /* power was cut (simulated flash is dead) */
    FOTA_ERR_STORE = -5,         /* state store failed */
    FOTA_ERR_CRYPTO = -6,        /* crypto backend failed */
    FOTA_ERR_NO_MEM = -7,        /* too little free heap to start (port check) */

    /* network and HTTP */
    FOTA_ERR_NET = -10,          /* connect, reset, timeout: retryable */
    FOTA_ERR_HTTP_RETRY = -11,   /* 5xx or 429: retryable */
    FOTA_ERR_HTTP = -12,         /* other 4xx (or unexpected status): final */
    FOTA_ERR_AUTH = -13,         /* 401: the server refused our credentials */
    FOTA_ERR_NOT_FOUND = -14,    /* 404: unknown release or chunk */
    FOTA_ERR_RETRIES = -15,      /* gave up after the configured attempts */
    FOTA_ERR_TLS = -16,          /* server certificate did not verify (CA), or no
                                    usable CA file: final, retrying cannot help */

    /* wire format (v1 JSON bodies) */
    FOTA_ERR_JSON = -20,         /* malformed JSON */
    FOTA_ERR_FIELD_MISSING = -21,
    FOTA_ERR_FIELD_UNKNOWN = -22,
    FOTA_ERR_FIELD_DUP = -23,
    FOTA_ERR_FIELD_TYPE = -24,   /* wrong JSON type or out-of-range value */
    FOTA_ERR_TOO_LARGE = -25,    /* body or field over its compile-time limit */
    FOTA_ERR_TRUNCATED = -26,    /* body ended before the object did */
    FOTA_ERR_BASE64 = -27,       /* bad base64 (alphabet, padding, length) */
    FOTA_ERR_CHUNK_INDEX = -28,  /* chunk_number is not the one requested */
    FOTA_ERR_CHUNK_LEN = -29,    /* decoded data has the wrong length */
    FOTA_ERR_HMAC = -30,         /* chunk HMAC does not verify */
    FOTA_ERR_OFFER = -31,        /* check answer is inconsistent */
    FOTA_ERR_CHUNK_SIZE = -32,   /* chunk_size not supported by this build */

    /* images and partitions */
    FOTA_ERR_SLOT_SIZE = -40,    /* image larger than the target slot */
    FOTA_ERR_IMG_MAGIC = -41,    /* not an ESP image (magic byte) */
    FOTA_ERR_IMG_CHIP = -42,     /* image built for another chip */
    FOTA_ERR_IMG_NOT_APP = -43,  /* ESP image without an app descriptor */
    FOTA_ERR_IMG_FORMAT = -44,   /* segments malformed or truncated */
    FOTA_ERR_IMG_CHECKSUM = -45, /* XOR checksum of the segments differs */
    FOTA_ERR_IMG_HASH = -46,     /* appended SHA-256 differs */
    FOTA_ERR_SHA256 = -47,       /* slot read back differs from the release */
    FOTA_ERR_PTABLE = -48,       /* partition table missing or malformed */
    FOTA_ERR_NO_SLOT = -49,      /* no OTA slot to write to */
    FOTA_ERR_OTADATA = -50,      /* otadata partition malformed */
    FOTA_ERR_JOURNAL = -51,      /* resume journal corrupt */
    FOTA_ERR_ROLLED_BACK = -52,  /* the new image did not confirm */
    FOTA_ERR_NOTHING_PENDING = -53, /* confirm with no image on trial */
    FOTA_ERR_IMG_SIG_SECTOR = -55, /* secure boot v2 signature sector malformed */
    FOTA_ERR_NO_ROLLBACK = -56,  /* the new image booted without a trial: the
                                    bootloader has no rollback (reported once,
                                    as "installed" with this error) */

    /* signed releases and anti-rollback */
    FOTA_ERR_UNSIGNED = -60,     /* device requires a signed manifest; none came */
    FOTA_ERR_SIGNATURE = -61,    /* manifest signature does not verify */
    FOTA_ERR_MANIFEST = -62,     /* manifest malformed or not matching the offer/image */
    FOTA_ERR_SECURE_VERSION = -63, /* secure_version below the device's minimum */
    FOTA_ERR_DOWNGRADE = -64,    /* older version, downgrade not allowed */

    /* versions (include/fota/version.h) */
    FOTA_ERR_VERSION_UNORDERED = -70, /* the two versions have no order */

    /* compressed and delta updates (include/fota/patch.h) */
    FOTA_ERR_PATCH = -80,        /* patch stream malformed (header or token) */
    FOTA_ERR_PATCH_BASE = -81    /* the patch's base is not the running image */
};

/* Short English description of code; never NULL (unknown codes included). */
const char *fota_strerror(int code);

/* snake_case name of code ("hmac_mismatch"), for status reports; never NULL. */
const char *fota_errname(int code);

/* Nonzero when code is worth retrying after a backoff (network, 5xx, 429). */
int fota_err_retryable(int code);

#ifdef __cplusplus
}
#endif
#endif
