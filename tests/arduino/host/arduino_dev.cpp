/*
 * arduino_dev.cpp - one power-on of an emulated ESP32 running an Arduino
 * sketch (an example of src/ports/arduino, linked with the FOTA library),
 * for tests/arduino/host_test.sh. The device is tests/esp-idf's host
 * harness: ESP-IDF's own esp_partition emulation, nvs_flash and
 * esp_ota_ops.c on a flash file, the bootloader step and the chip stand-ins
 * of idf_shim.c, esp_http_client over libcurl to a real fota-server. What
 * Arduino-ESP32 does around the sketch is restated at the boundary:
 * nvs_flash_init and initArduino() (init_arduino.c) before setup(), then
 * loop() again and again; here for --run-s seconds of the device's clock
 * (delay() moves it on; nothing waits).
 *
 * usage: arduino_dev_<Sketch> --flash FILE --server URL [--reset-reason R]
 *          [--pin N=high|low] [--run-s S]
 * prints "arduino: state at setup(): <otadata state of the running slot>"
 * and, when loop() ran its time, "arduino: end: slot=<label> state=<...>".
 * exit: 0 ran its time, 1 usage/setup, 3 nothing boots, 4 power cut,
 * 5 esp_restart() (an install, or a rollback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esp_partition.h"
#include "esp_private/partition_linux.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "nvs_flash.h"
#include "fota/esp_ota.h"
extern "C" {
#include "idf_shim.h" /* C, without extern "C" of its own */
}
#include "sketch_test.h"

extern "C" void initArduino(void);
void setup();
void loop();

static const char *s_server = "http://127.0.0.1:1";

const char *arduino_test_server_url(void)
{
    return s_server;
}

static const char *state_name(const esp_partition_t *p)
{
    esp_ota_img_states_t st;
    if (esp_ota_get_state_partition(p, &st) != ESP_OK)
        return "none";
    return fota_ota_state_name((uint32_t)st);
}

static int usage(void)
{
    fprintf(stderr, "usage: arduino_dev --flash FILE --server URL [--reset-reason poweron|brownout|panic|sw] "
                    "[--pin N=high|low] [--run-s S]\n");
    return 1;
}

int main(int argc, char **argv)
{
    const char *flash = NULL;
    long run_s = 60;
    esp_partition_file_mmap_ctrl_t *in = esp_partition_get_file_mmap_ctrl_input();
    char why[128];
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--flash"))
            flash = argv[i + 1];
        else if (!strcmp(argv[i], "--server"))
            s_server = argv[i + 1];
        else if (!strcmp(argv[i], "--run-s"))
            run_s = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--pin")) {
            int pin = atoi(argv[i + 1]);
            const char *eq = strchr(argv[i + 1], '=');
            if (!eq)
                return usage();
            arduino_set_pin((uint8_t)pin, !strcmp(eq + 1, "high"));
        } else if (!strcmp(argv[i], "--reset-reason")) {
            const char *r = argv[i + 1];
            shim_set_reset_reason(!strcmp(r, "brownout") ? ESP_RST_BROWNOUT
                                  : !strcmp(r, "panic")  ? ESP_RST_PANIC
                                  : !strcmp(r, "sw")     ? ESP_RST_SW
                                                         : ESP_RST_POWERON);
        } else
            return usage();
    }
    if (!flash || i != argc)
        return usage();

    /* power on: the same flash file, the bootloader's step */
    memset(in, 0, sizeof *in);
    strncpy(in->flash_file_name, flash, sizeof in->flash_file_name - 1);
    if (!esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL)) {
        fprintf(stderr, "cannot map %s\n", flash);
        return 1;
    }
    if (shim_power_on(why, sizeof why)) {
        printf("boot: %s\n", why);
        return 3;
    }
    /* what Arduino-ESP32 does before setup() */
    if (nvs_flash_init() != ESP_OK) {
        printf("nvs_flash_init failed\n");
        return 1;
    }
    initArduino();
    printf("arduino: state at setup(): %s\n", state_name(esp_ota_get_running_partition()));
    setup();
    int64_t t0 = esp_timer_get_time();
    while (esp_timer_get_time() - t0 < (int64_t)run_s * 1000000)
        loop();
    const esp_partition_t *p = esp_ota_get_running_partition();
    printf("arduino: end: slot=%s state=%s\n", p->label, state_name(p));
    return 0;
}
