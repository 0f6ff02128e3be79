/*
 * SelfTestConfirm - a new image proves itself before it is kept.
 *
 * After an update the first boot is a trial (the library's
 * verifyRollbackLater() stops Arduino from confirming it before setup()).
 * setup() runs the sketch's own self-test:
 *   - it fails: rollback() returns to the previous image at once;
 *   - it passes: confirm(); the image is kept once the server has answered
 *     a check in this boot (loop() asks every 10 s while on trial);
 *   - neither within the deadline (here 120 s): the library rolls back by
 *     itself, and the previous image reports the rollback to the server.
 * A trial cut short by a power loss or brownout is tried again (up to 2
 * times); one that crashed or hit a watchdog is not.
 *
 * The self-test here reads a "sensor ready" line on SELF_TEST_PIN (high =
 * ready); put your own checks in selfTest(): the inverter's RS485 link
 * answers, the configuration loads, the sensors give plausible values.
 */
#include <WiFi.h>
#include <FOTA.h>

#ifndef WIFI_SSID
#define WIFI_SSID "my-network"
#define WIFI_PASS "my-password"
#endif
#ifndef FOTA_SERVER_URL
#define FOTA_SERVER_URL "http://192.168.1.10:8080"
#define FOTA_DEVICE_ID nullptr  /* id and key provisioned in NVS at the factory */
#define FOTA_DEVICE_KEY nullptr
#endif
#ifndef SELF_TEST_PIN
#define SELF_TEST_PIN 4
#endif

FOTAClient fota;

static bool selfTest()
{
    pinMode(SELF_TEST_PIN, INPUT_PULLUP);
    delay(50);
    return digitalRead(SELF_TEST_PIN) == HIGH;
}

void setup()
{
    Serial.begin(115200);
    WiFi.begin(WIFI_SSID, WIFI_PASS);

    fota.setVersion("2.0.0");
    fota.setTrialDeadline(120);
    if (!fota.begin(FOTA_SERVER_URL, FOTA_DEVICE_ID, FOTA_DEVICE_KEY)) {
        Serial.printf("fota: %s\n", fota.errorString());
        return;
    }
    if (!fota.isOnTrial())
        return; /* a normal boot: nothing to prove */
    if (selfTest()) {
        Serial.println("self-test passed: confirming once the server answers");
        fota.confirm();
    } else {
        Serial.println("self-test failed: back to the previous image");
        fota.rollback(); /* restarts */
        Serial.printf("rollback refused: %s\n", fota.errorString());
    }
}

void loop()
{
    fota.loop();
    delay(100);
}
