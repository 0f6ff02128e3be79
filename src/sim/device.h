/*
 * device.h - a simulated ESP32 running libfota: the NOR flash model as its
 * flash, the first two sectors of its nvs partition as the journal store, the
 * next two as the anti-rollback floor store (the eFuse of a real chip, kept
 * apart from the journal; only when nvs has 4 sectors), the
 * posix port's crypto, clock and log, and either the libcurl transport (a
 * real server) or the in-process v1 source. A power-on runs the bootloader
 * model, then fota_init with the slot that booted, as a real device would.
 */
#ifndef SIM_DEVICE_H
#define SIM_DEVICE_H

#include "fota/fota.h"
#include "fota/fstore.h"
#include "boot.h"
#include "nor.h"
#include "posix_port.h"
#include "v1source.h"

struct sim_device {
    struct fota_curl *curl;      /* first member: the curl transport finds it here */
    struct v1_source *src;       /* used when curl is NULL */
    struct nor_flash *flash;
    struct fota_fstore store;
    struct fota_fstore floor_store;
    struct fota_config cfg;
    struct fota fota;
    struct sim_boot_result boot;
    uint8_t key[FOTA_KEY_LEN];
    char id[FOTA_ID_MAX + 1];
    int chip;
    int no_sleep;                /* backoff without waiting (tests) */
};

/* Bind d to flash fl with identity (id, key) and chip. Set d->curl or
 * d->src before sim_device_power_on. */
int sim_device_setup(struct sim_device *d, struct nor_flash *fl, int chip, const char *id,
                     const uint8_t key[FOTA_KEY_LEN]);

/* Power on: bootloader (may rewrite otadata), journal store, fota_init.
 * FOTA_ERR_NO_SLOT when nothing boots (a brick). */
int sim_device_power_on(struct sim_device *d);

/*
 * Provision a flash: partition table from csv (NULL: Arduino default), blank
 * otadata and nvs, image written to ota_0 after the same checks a device
 * makes (application image, chip, fits the slot). err gets one line on
 * failure. Returns FOTA_OK or the refusal's code.
 */
int sim_provision(struct nor_flash *fl, const char *csv, const uint8_t *img, uint32_t len,
                  int chip, char *err, size_t errlen);

#endif
