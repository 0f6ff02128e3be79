/*
 * FOTA.cpp - FOTAClient, the Arduino class over libfota's ESP-IDF port
 * (FOTA.h tells the sketch's side), and the verifyRollbackLater() hook that
 * keeps a new image on trial through Arduino's start-up.
 *
 * Everything that decides lives in the port (fota_esp_*.c) and the core:
 * this file turns the Arduino calls into port settings and calls, and keeps
 * the check interval with millis().
 */
#include <string.h>
#include "FOTA.h"
#include "esp_system.h"
#include "mbedtls/pk.h"

/*
 * Arduino-ESP32's initArduino() (esp32-hal-misc.c) marks a PENDING_VERIFY
 * image valid before setup() runs unless verifyRollbackLater(), declared
 * weak there with C linkage, returns true. Defined here, unmangled: the
 * first boot of a new image stays a trial until FOTAClient settles it.
 * (tests/arduino checks with nm that the symbol is `T verifyRollbackLater`,
 * and runs a start-up that calls it the way initArduino does.)
 */
extern "C" bool verifyRollbackLater()
{
    return true;
}

/* One FOTAClient per sketch: the port's progress callback has no context. */
static FOTAProgressCallback s_progress;

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* exactly 2 * n hex digits -> n bytes; false otherwise */
static bool unhex(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A PEM P-256 public key (SubjectPublicKeyInfo, as fota-admin writes
 * NAME.pub) -> X || Y. Its DER is 91 bytes ending in 0x04 || X || Y. */
static bool pem_pubkey(const char *pem, uint8_t out[64])
{
    mbedtls_pk_context pk;
    unsigned char der[160];
    bool ok = false;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, (const unsigned char *)pem, strlen(pem) + 1) == 0 &&
        mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
        int n = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
        if (n == 91 && der[sizeof der - 65] == 0x04) {
            memcpy(out, der + sizeof der - 64, 64);
            ok = true;
        }
    }
    mbedtls_pk_free(&pk);
    return ok;
}

FOTAClient::FOTAClient()
    : _progress(nullptr), _intervalMs(3600000u), _lastCheck(0), _checked(false),
      _started(false), _installed(false), _autoRestart(true), _hasPubkey(false), _lastError(0)
{
    memset(&_e, 0, sizeof _e);
    memset(&_set, 0, sizeof _set);
    memset(_key, 0, sizeof _key);
    memset(_pubkey, 0, sizeof _pubkey);
    _version[0] = 0;
}

void FOTAClient::setCA(const char *pem)
{
    _set.ca_pem = pem;
}

bool FOTAClient::setSigningKey(const char *pemOrHex)
{
    _hasPubkey = pemOrHex && (unhex(pemOrHex, _pubkey, sizeof _pubkey) ||
                              (strstr(pemOrHex, "-----BEGIN") && pem_pubkey(pemOrHex, _pubkey)));
    if (!_hasPubkey)
        _lastError = FOTA_ERR_PARAM;
    return _hasPubkey;
}

void FOTAClient::setVersion(const char *version)
{
    size_t n = version ? strlen(version) : 0;
    if (n > FOTA_VERSION_MAX)
        n = FOTA_VERSION_MAX;
    memcpy(_version, version ? version : "", n);
    _version[n] = 0;
}

void FOTAClient::setCheckInterval(uint32_t ms)
{
    _intervalMs = ms ? ms : 1;
}

void FOTAClient::setTrialDeadline(uint32_t seconds)
{
    _set.trial_deadline_s = seconds;
}

void FOTAClient::setPowerLossRetries(uint8_t n)
{
    _set.trial_power_retries = n ? n : FOTA_ESP_NO_POWER_RETRY;
}

void FOTAClient::setHeapNeed(uint32_t bytes)
{
    _set.heap_need = bytes;
}

void FOTAClient::setAutoRestart(bool on)
{
    _autoRestart = on;
}

void FOTAClient::onProgress(FOTAProgressCallback cb)
{
    _progress = cb;
}

void FOTAClient::progressTrampoline(const struct fota_progress *p)
{
    /* each change of the bytes in the slot (the last chunk is reported in
     * the phase that follows the download) */
    static uint32_t last = UINT32_MAX;
    if (s_progress && p->bytes_total && p->bytes_done != last) {
        last = p->bytes_done;
        s_progress(p->bytes_done, p->bytes_total);
    }
}

bool FOTAClient::begin(const char *serverUrl, const char *deviceId, const char *keyHex)
{
    if (_started)
        return true;
    if (!serverUrl || (keyHex && !unhex(keyHex, _key, sizeof _key))) {
        _lastError = FOTA_ERR_PARAM;
        return false;
    }
    _set.server_url = serverUrl;
    _set.device_id = deviceId;
    _set.device_key = keyHex ? _key : nullptr;
    _set.sign_pubkey = _hasPubkey ? _pubkey : nullptr;
    _set.running_version = _version[0] ? _version : nullptr;
    _set.app_reports_self_test = true; /* confirm() / rollback() from the sketch */
    s_progress = _progress;
    _set.progress = _progress ? progressTrampoline : nullptr;
    /* may restart into a trial that a power loss ended (fota_esp_trial.c) */
    if (fota_esp_init(&_e, &_set) != ESP_OK) {
        _lastError = FOTA_ERR_PARAM;
        return false;
    }
    _started = true;
    _lastError = 0;
    return true;
}

void FOTAClient::round()
{
    bool installed = false;
    _lastCheck = millis();
    _checked = true;
    _lastError = fota_esp_check_and_update(&_e, &installed);
    if (installed) {
        _installed = true;
        if (_autoRestart)
            esp_restart(); /* the new image boots on trial */
    }
}

void FOTAClient::loop()
{
    if (!_started)
        return;
    fota_esp_trial_poll(&_e); /* the deadline; confirms once both conditions hold */
    uint32_t every = isOnTrial() ? 10000u : _intervalMs;
    if (_installed || (_checked && (uint32_t)(millis() - _lastCheck) < every))
        return;
    round();
}

bool FOTAClient::checkAndUpdate()
{
    if (!_started) {
        _lastError = FOTA_ERR_STATE;
        return false;
    }
    round();
    return _lastError == FOTA_OK;
}

void FOTAClient::confirm()
{
    if (!_started)
        return;
    fota_esp_self_test_result(&_e, true);
    _lastError = fota_esp_trial_poll(&_e); /* confirms now if the server was reached */
}

void FOTAClient::rollback()
{
    if (!_started)
        return;
    fota_esp_self_test_result(&_e, false);
    if (isOnTrial())
        _lastError = fota_esp_trial_poll(&_e); /* restarts into the previous image */
    else
        _lastError = fota_esp_rollback(&_e);
}

bool FOTAClient::isOnTrial() const
{
    return fota_esp_on_trial(&_e);
}

bool FOTAClient::serverReached() const
{
    return _e.trial.reached != 0;
}

const char *FOTAClient::errorString() const
{
    return fota_strerror(_lastError);
}
