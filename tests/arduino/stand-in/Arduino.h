/*
 * Arduino.h - a stand-in for Arduino-ESP32's Arduino.h, at the port
 * boundary between a sketch (and the FOTA library) and the Arduino core:
 * only what src/ports/arduino and its examples use (Serial, millis, delay,
 * pinMode/digitalRead). It lets tests/arduino compile the library and the
 * examples for esp32c3 (declarations only) and run them on the host
 * (tests/arduino/host/arduino_core.cpp implements these over the ESP-IDF
 * host harness: millis from esp_timer, delay through vTaskDelay). It is not
 * Arduino's code and does not try to be: names and signatures follow
 * Arduino's documented API.
 */
#ifndef ARDUINO_H_STAND_IN
#define ARDUINO_H_STAND_IN

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x01
#define OUTPUT 0x03
#define INPUT_PULLUP 0x05

unsigned long millis(void);
void delay(uint32_t ms);
void pinMode(uint8_t pin, uint8_t mode);
int digitalRead(uint8_t pin);

class HardwareSerial {
public:
    void begin(unsigned long baud);
    size_t print(const char *s);
    size_t println(const char *s);
    size_t printf(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};
extern HardwareSerial Serial;

#endif
