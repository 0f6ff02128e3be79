/*
 * error.c - names and descriptions of the error codes in fota/error.h.
 * One table, so a new code cannot get a description without a name.
 */
#include "fota/error.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} errs[] = {
    {FOTA_OK, "ok", "success"},
    {FOTA_ERR_PARAM, "invalid_argument", "invalid argument"},
    {FOTA_ERR_STATE, "invalid_state", "operation not valid in the current state"},
    {FOTA_ERR_IO, "flash_io", "flash read, erase or program failed"},
    {FOTA_ERR_POWER_LOST, "power_lost", "power lost"},
    {FOTA_ERR_STORE, "state_store", "state store failed"},
    {FOTA_ERR_CRYPTO, "crypto", "crypto backend failed"},
    {FOTA_ERR_NO_MEM, "no_memory", "not enough free heap to start the download"},
    {FOTA_ERR_NET, "network", "network error (connect, reset or timeout)"},
    {FOTA_ERR_HTTP_RETRY, "server_busy", "server answered 5xx or 429"},
    {FOTA_ERR_HTTP, "http_status", "server answered an unexpected HTTP status"},
    {FOTA_ERR_AUTH, "unauthorized", "server refused the device credentials (401)"},
    {FOTA_ERR_NOT_FOUND, "not_found", "server does not know that release or chunk (404)"},
    {FOTA_ERR_RETRIES, "retries_exhausted", "gave up after the configured number of attempts"},
    {FOTA_ERR_TLS, "tls_certificate",
     "TLS: the server's certificate does not verify against the CA (--ca-file), or the CA "
     "file is missing or unreadable"},
    {FOTA_ERR_JSON, "malformed_json", "malformed JSON body"},
    {FOTA_ERR_FIELD_MISSING, "missing_field", "a required field is missing"},
    {FOTA_ERR_FIELD_UNKNOWN, "unknown_field", "an unexpected field is present"},
    {FOTA_ERR_FIELD_DUP, "duplicate_field", "a field appears twice"},
    {FOTA_ERR_FIELD_TYPE, "bad_field", "a field has the wrong type or value"},
    {FOTA_ERR_TOO_LARGE, "too_large", "body or field larger than allowed"},
    {FOTA_ERR_TRUNCATED, "truncated", "body ended early"},
    {FOTA_ERR_BASE64, "bad_base64", "malformed base64 data"},
    {FOTA_ERR_CHUNK_INDEX, "wrong_chunk_index", "chunk_number is not the chunk requested"},
    {FOTA_ERR_CHUNK_LEN, "wrong_chunk_length", "chunk data has the wrong length"},
    {FOTA_ERR_HMAC, "hmac_mismatch", "chunk HMAC does not verify"},
    {FOTA_ERR_OFFER, "bad_offer", "update offer is inconsistent"},
    {FOTA_ERR_CHUNK_SIZE, "unsupported_chunk_size", "chunk size not supported"},
    {FOTA_ERR_SLOT_SIZE, "image_too_large", "image larger than the OTA slot"},
    {FOTA_ERR_IMG_MAGIC, "not_an_image", "not an ESP image (bad magic byte)"},
    {FOTA_ERR_IMG_CHIP, "wrong_chip", "image built for another chip"},
    {FOTA_ERR_IMG_NOT_APP, "not_an_app", "ESP image is not an application (no app descriptor)"},
    {FOTA_ERR_IMG_FORMAT, "bad_image_format", "image segments malformed or truncated"},
    {FOTA_ERR_IMG_CHECKSUM, "bad_image_checksum", "image checksum does not match"},
    {FOTA_ERR_IMG_HASH, "bad_image_hash", "image appended SHA-256 does not match"},
    {FOTA_ERR_SHA256, "sha256_mismatch", "slot contents differ from the release SHA-256"},
    {FOTA_ERR_PTABLE, "bad_partition_table", "partition table missing or malformed"},
    {FOTA_ERR_NO_SLOT, "no_ota_slot", "no OTA slot available"},
    {FOTA_ERR_OTADATA, "bad_otadata", "otadata partition malformed"},
    {FOTA_ERR_JOURNAL, "bad_journal", "resume journal corrupt"},
    {FOTA_ERR_ROLLED_BACK, "rolled_back", "new image did not confirm; rolled back"},
    {FOTA_ERR_NOTHING_PENDING, "nothing_pending", "no image is on trial"},
    {FOTA_ERR_IMG_SIG_SECTOR, "bad_signature_sector",
     "secure boot v2 signature sector malformed (magic, version, CRC or padding)"},
    {FOTA_ERR_NO_ROLLBACK, "no_rollback_bootloader",
     "the image booted without a trial: the bootloader has no rollback "
     "(CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE off); trial boots are off"},
    {FOTA_ERR_UNSIGNED, "unsigned_release", "release is not signed; this device requires a signature"},
    {FOTA_ERR_SIGNATURE, "bad_signature", "release signature does not verify"},
    {FOTA_ERR_MANIFEST, "manifest_mismatch", "release manifest malformed or not matching"},
    {FOTA_ERR_SECURE_VERSION, "secure_version_too_low", "secure_version below the device's minimum"},
    {FOTA_ERR_DOWNGRADE, "downgrade_refused", "older version and downgrade not allowed"},
    {FOTA_ERR_VERSION_UNORDERED, "versions_unordered", "the versions have no order"},
    {FOTA_ERR_PATCH, "bad_patch", "patch stream malformed (header or token)"},
    {FOTA_ERR_PATCH_BASE, "patch_base_mismatch", "the patch's base is not the running image"},
};
#define NERRS (sizeof errs / sizeof errs[0])

const char *fota_strerror(int code)
{
    unsigned i;
    for (i = 0; i < NERRS; i++)
        if (errs[i].code == code)
            return errs[i].text;
    return "unknown error";
}

const char *fota_errname(int code)
{
    unsigned i;
    for (i = 0; i < NERRS; i++)
        if (errs[i].code == code)
            return errs[i].name;
    return "unknown_error";
}

int fota_err_retryable(int code)
{
    return code == FOTA_ERR_NET || code == FOTA_ERR_HTTP_RETRY;
}
