/*
 * signed_sketch.cpp - a test sketch (not an example) for FOTAClient's
 * setSigningKey with a PEM public key as `fota-admin key generate` writes
 * NAME.pub: setup() reads the PEM from the file named by FOTA_TEST_PEM,
 * hands it to setSigningKey, prints whether it was taken, then begin();
 * loop() installs a release signed with the matching private key (and
 * restarts), or refuses one signed by another key before anything is
 * erased. Built like the examples (sketch_test.h first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <Arduino.h>
#include <FOTA.h>

FOTAClient fota;
static char pem[2048];

void setup()
{
    const char *path = getenv("FOTA_TEST_PEM");
    FILE *f = path ? fopen(path, "r") : NULL;
    size_t n = f ? fread(pem, 1, sizeof pem - 1, f) : 0;
    if (f)
        fclose(f);
    pem[n] = 0;
    Serial.printf("sketch: setSigningKey(PEM of %u bytes): %s\n", (unsigned)n,
                  fota.setSigningKey(pem) ? "taken" : "refused");
    fota.setVersion("1.0.0");
    if (!fota.begin(FOTA_SERVER_URL, FOTA_DEVICE_ID, FOTA_DEVICE_KEY))
        Serial.printf("sketch: begin: %s\n", fota.errorString());
}

void loop()
{
    fota.loop();
    if (fota.lastError())
        Serial.printf("sketch: round: %s\n", fota.errorString());
    delay(1000);
}
