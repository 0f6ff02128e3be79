/*
 * MigrateFromFOTAManager - a sketch of the first fleet, moved from its
 * hand-written FOTAManager to this library. Same server, same v1 endpoints
 * (/api/inverter/fota/check, /chunk, /status), same device id and key: the
 * server sees no difference, except that the device now reports
 * "confirmed" or "rolled_back" after its trial boot.
 *
 * What the old class did, and where it went (the "BEFORE" blocks are the
 * seed-style code being replaced; they are comments, not compiled):
 *
 *   BEFORE: class FOTAManager {
 *             String server, id, keyHex, token;          // token = HMAC(key, "token:" + id)
 *             bool check() {
 *               HTTPClient http;
 *               http.begin(server + "/api/inverter/fota/check?version=" + FW_VERSION);
 *               http.addHeader("X-Device-Id", id);
 *               http.addHeader("X-Device-Token", token);
 *               ... parse {"update":true,"release":..,"size":..,"total_chunks":..}
 *             }
 *             bool download() {
 *               Update.begin(size);                        // erases the whole slot at once
 *               for (n = 0; n < total_chunks; n++) {
 *                 GET /chunk?chunk=n -> {"data": base64, "hmac": ...}
 *                 decode base64 into a String-sized buffer // heap grows with the chunk
 *                 Update.write(buf, len);                  // written before the HMAC is checked
 *               }                                          // a power cut: start again from chunk 0
 *               Update.end(true);                          // sets the boot partition
 *               ESP.restart();                             // Arduino confirms the new image
 *             }                                            // in initArduino(): no trial boot
 *           };
 *
 *   AFTER:  FOTAClient does all of it: every chunk's HMAC (bound to the
 *           release's SHA-256 and the chunk index) is checked before a byte
 *           reaches flash; erases run just ahead of the writes, one block at
 *           a time, yielding; the download resumes after a power cut from
 *           the last committed sector (journal in NVS); the whole slot is
 *           read back against the release SHA-256 before the boot switch;
 *           the first boot is a trial that must pass the sketch's self-test
 *           and reach the server again, else it rolls back by itself.
 *
 * The changes in the sketch, one by one, are marked "CHANGED:" below.
 */
#include <WiFi.h>
#include <FOTA.h>   // CHANGED: was #include "FOTAManager.h" (+ HTTPClient.h, Update.h, mbedtls/md.h)

#ifndef WIFI_SSID
#define WIFI_SSID "my-network"
#define WIFI_PASS "my-password"
#endif
#ifndef FOTA_SERVER_URL
#define FOTA_SERVER_URL "http://192.168.1.10:8080"   // the same server as before
#define FOTA_DEVICE_ID "inverter-0042"                // the same id as before
#define FOTA_DEVICE_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#endif
#define FW_VERSION "1.3.2"   // unchanged: the sketch's own version

// CHANGED: was FOTAManager fotaManager(FOTA_SERVER_URL, FOTA_DEVICE_ID, FOTA_DEVICE_KEY);
FOTAClient fota;

// CHANGED: was a millis() timer around fotaManager.check()/download() in loop();
// the library keeps the interval itself.
static const uint32_t CHECK_EVERY_MS = 15u * 60u * 1000u;

static bool inverterLinkOk()
{
    // the sketch's own check, e.g. the inverter answers on RS485; here: Wi-Fi is up
    return WiFi.status() == WL_CONNECTED;
}

void setup()
{
    Serial.begin(115200);
    WiFi.begin(WIFI_SSID, WIFI_PASS);
    for (int i = 0; i < 100 && WiFi.status() != WL_CONNECTED; i++)
        delay(100);

    // CHANGED: was fotaManager.begin(); the version went into each check URL by hand
    fota.setVersion(FW_VERSION);
    fota.setCheckInterval(CHECK_EVERY_MS);
    if (!fota.begin(FOTA_SERVER_URL, FOTA_DEVICE_ID, FOTA_DEVICE_KEY)) {
        Serial.printf("fota: %s\n", fota.errorString());
        return;
    }
    // NEW: the first boot after an update is a trial; FOTAManager had none
    // (initArduino() confirmed every new image before setup()).
    if (fota.isOnTrial()) {
        if (inverterLinkOk())
            fota.confirm();
        else
            fota.rollback();
    }
}

void loop()
{
    // CHANGED: was
    //   if (millis() - lastCheck > CHECK_EVERY_MS) {
    //       lastCheck = millis();
    //       if (fotaManager.check()) fotaManager.download();   // restarts when done
    //   }
    fota.loop();

    // ... the sketch's own work: read the inverter, publish measurements ...
    delay(100);
}
