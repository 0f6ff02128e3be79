/*
 * FOTA.h - the Arduino-ESP32 face of libfota: one class, FOTAClient, over
 * the ESP-IDF port (fota_esp.h), for sketches built with Arduino-ESP32 3.x
 * (ESP-IDF 5). It speaks wire protocol v1 (and v2 when the server offers
 * it) to fota-server: the same endpoints a hand-written FOTAManager used.
 *
 *     FOTAClient fota;
 *     void setup() {
 *         WiFi.begin(ssid, pass);
 *         fota.setVersion("1.4.0");                  // the sketch's own version
 *         fota.begin("https://fota.example.com", "dongle-1", KEY_HEX);
 *         if (mySelfTest()) fota.confirm(); else fota.rollback();
 *     }
 *     void loop() { fota.loop(); ... }
 *
 * Trial boot: this library defines verifyRollbackLater() (C linkage)
 * returning true, so Arduino's initArduino() leaves a new image
 * PENDING_VERIFY instead of confirming it before setup(). The image is then
 * confirmed only when the sketch called confirm() (its self-test passed)
 * AND the server answered a check in this boot; without both by the
 * deadline (setTrialDeadline, 300 s by default) it rolls back by itself.
 * A trial ended by a power loss or brownout is tried again (twice by
 * default); one ended by a crash or watchdog is not. docs/esp32.md,
 * "Arduino library", has the whole contract.
 *
 * Set everything (setCA, setSigningKey, setVersion, ...) before begin().
 * One FOTAClient per sketch.
 */
#ifndef FOTA_ARDUINO_H
#define FOTA_ARDUINO_H

#include <Arduino.h>
#include "fota_esp.h"

/* Progress of a download: bytes written and verified, of the image size. */
typedef void (*FOTAProgressCallback)(uint32_t done, uint32_t total);

class FOTAClient {
public:
    FOTAClient();

    /* Server CA (PEM) for an https URL (https needs it); the string must
     * stay valid (a literal or a PROGMEM constant). */
    void setCA(const char *pem);
    /* Release signing public key: the PEM of `fota-admin key generate`'s
     * NAME.pub, or its 128 hex digits (X || Y). Then only releases signed
     * with the matching private key are installed. false: not a P-256 key. */
    bool setSigningKey(const char *pemOrHex);
    /* The version this sketch reports in `check` (Arduino app descriptors
     * carry the core's version, not the sketch's). Copied. */
    void setVersion(const char *version);
    /* Milliseconds between checks in loop() (default 3,600,000). While the
     * image is on trial loop() checks every 10 s until the trial is settled. */
    void setCheckInterval(uint32_t ms);
    /* Seconds after start-up by which the trial must be settled (default 300). */
    void setTrialDeadline(uint32_t seconds);
    /* Power-loss retries of a trial (default 2; 0: never retried). */
    void setPowerLossRetries(uint8_t n);
    /* Largest free heap block a download needs before it starts (default
     * 40960 for https, 8192 for http). */
    void setHeapNeed(uint32_t bytes);
    /* Restart into a new image as soon as it is installed (default true);
     * false: the sketch restarts when it likes (ESP.restart()). */
    void setAutoRestart(bool on);
    void onProgress(FOTAProgressCallback cb);

    /* Start: serverUrl like "https://fota.example.com:8443"; deviceId and
     * keyHex (64 hex digits, from `fota-admin device add`) as provisioned;
     * NULL for either reads it from NVS (namespace "fota", keys "id" and
     * "key", written at the factory). false on a bad argument or when the
     * partition table has no OTA slots (lastError() says why). */
    bool begin(const char *serverUrl, const char *deviceId = nullptr,
               const char *keyHex = nullptr);

    /* Call from the sketch's loop(): returns at once unless a check is due
     * (then one round: check, and when an update is offered the download,
     * which blocks until it is installed or fails). Keeps the trial's
     * deadline. */
    void loop();
    /* One round now, blocking: check, settle a trial, download and install.
     * true: nothing failed (lastError() is 0). After an install it restarts
     * (setAutoRestart). */
    bool checkAndUpdate();

    /* The sketch's self-test passed: confirm the image on trial once the
     * server has been reached in this boot (at once if it already was). */
    void confirm();
    /* The self-test failed: roll back to the previous image now (restarts;
     * returns only when ESP-IDF refused, see lastError()). */
    void rollback();

    /* The running image is on trial and not settled yet. */
    bool isOnTrial() const;
    /* A new image is installed and waits for a restart (setAutoRestart(false)). */
    bool isUpdateInstalled() const { return _installed; }
    /* The server answered a check since start-up. */
    bool serverReached() const;
    /* 0 or the last FOTA_ERR_* code (fota/error.h), and its text. */
    int lastError() const { return _lastError; }
    const char *errorString() const;

private:
    static void progressTrampoline(const struct fota_progress *p);
    void round();

    struct fota_esp _e;
    struct fota_esp_settings _set;
    uint8_t _key[FOTA_KEY_LEN];
    uint8_t _pubkey[64];
    char _version[FOTA_VERSION_MAX + 1];
    FOTAProgressCallback _progress;
    uint32_t _intervalMs;
    uint32_t _lastCheck;
    bool _checked;
    bool _started;
    bool _installed;
    bool _autoRestart;
    bool _hasPubkey;
    int _lastError;
};

#endif
