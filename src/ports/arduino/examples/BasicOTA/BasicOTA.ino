/*
 * BasicOTA - the smallest sketch that keeps itself up to date from a
 * fota-server: joins Wi-Fi, checks once an hour, downloads a release
 * deployed to this device chunk by chunk into the other OTA slot (resuming
 * after a power cut), and restarts into it.
 *
 * The first boot of a new image is a trial: this sketch's "self-test" is
 * that setup() got as far as Wi-Fi, so it calls confirm() there; the
 * image is confirmed once the server has also answered a check, and rolls
 * back by itself if that has not happened within 300 s.
 *
 * Provisioning: register the device with `fota-admin device add dongle-1`
 * and paste the key it prints below (or leave FOTA_DEVICE_KEY nullptr and
 * write id and key into NVS at the factory: docs/esp32.md).
 */
#include <WiFi.h>
#include <FOTA.h>

#ifndef WIFI_SSID
#define WIFI_SSID "my-network"
#define WIFI_PASS "my-password"
#endif
#ifndef FOTA_SERVER_URL
#define FOTA_SERVER_URL "http://192.168.1.10:8080"
#define FOTA_DEVICE_ID "dongle-1"
#define FOTA_DEVICE_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#endif

FOTAClient fota;

static void progress(uint32_t done, uint32_t total)
{
    Serial.printf("update: %u of %u bytes\n", (unsigned)done, (unsigned)total);
}

void setup()
{
    Serial.begin(115200);
    WiFi.begin(WIFI_SSID, WIFI_PASS);
    while (WiFi.status() != WL_CONNECTED)
        delay(100);

    fota.setVersion("1.0.0"); /* this sketch's version, sent in every check */
    fota.onProgress(progress);
    if (!fota.begin(FOTA_SERVER_URL, FOTA_DEVICE_ID, FOTA_DEVICE_KEY)) {
        Serial.printf("fota: %s\n", fota.errorString());
        return;
    }
    if (fota.isOnTrial())
        Serial.println("fota: new image on trial");
    fota.confirm(); /* we got this far: kept once the server answers */
}

void loop()
{
    fota.loop(); /* returns at once unless a check is due */
    delay(100);
}
