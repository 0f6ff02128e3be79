/*
 * WiFi.h - a stand-in for Arduino-ESP32's WiFi library (port boundary, see
 * Arduino.h here): begin() and status() as the examples use them. On the
 * host the network is the loopback interface, so status() is connected
 * once begin() was called.
 */
#ifndef WIFI_H_STAND_IN
#define WIFI_H_STAND_IN

#include <Arduino.h>

typedef enum {
    WL_IDLE_STATUS = 0,
    WL_CONNECTED = 3,
    WL_DISCONNECTED = 6,
} wl_status_t;

class WiFiClass {
public:
    wl_status_t begin(const char *ssid, const char *passphrase = nullptr);
    wl_status_t status();
};
extern WiFiClass WiFi;

#endif
