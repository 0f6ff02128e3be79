/*
 * arduino_core.cpp - the host side of the Arduino.h / WiFi.h stand-ins
 * (tests/arduino/stand-in): the port boundary between a sketch and the
 * Arduino core, over the ESP-IDF host harness of tests/esp-idf. millis()
 * reads esp_timer (which the harness moves on in vTaskDelay), delay() is
 * vTaskDelay (no waiting), Serial writes to stdout, digitalRead returns the
 * level the test set for the pin (arduino_set_pin), WiFi is the loopback
 * interface (connected once begun).
 */
#include <stdarg.h>
#include <stdio.h>
#include <Arduino.h>
#include <WiFi.h>
#include "esp_timer.h"
extern "C" { /* the harness's FreeRTOS stand-in is C without extern "C" */
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
}
#include "sketch_test.h"

HardwareSerial Serial;
WiFiClass WiFi;
static int s_pins[64];
static bool s_wifi;

void arduino_set_pin(uint8_t pin, int level)
{
    if (pin < 64)
        s_pins[pin] = level;
}

unsigned long millis(void)
{
    return (unsigned long)(esp_timer_get_time() / 1000);
}

void delay(uint32_t ms)
{
    vTaskDelay(pdMS_TO_TICKS(ms));
}

void pinMode(uint8_t pin, uint8_t mode)
{
    (void)pin;
    (void)mode;
}

int digitalRead(uint8_t pin)
{
    return pin < 64 ? s_pins[pin] : LOW;
}

void HardwareSerial::begin(unsigned long baud)
{
    (void)baud;
}

size_t HardwareSerial::print(const char *s)
{
    return (size_t)printf("%s", s);
}

size_t HardwareSerial::println(const char *s)
{
    return (size_t)printf("%s\n", s);
}

size_t HardwareSerial::printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n > 0 ? (size_t)n : 0;
}

wl_status_t WiFiClass::begin(const char *ssid, const char *passphrase)
{
    (void)ssid;
    (void)passphrase;
    s_wifi = true;
    return WL_CONNECTED;
}

wl_status_t WiFiClass::status()
{
    return s_wifi ? WL_CONNECTED : WL_DISCONNECTED;
}
