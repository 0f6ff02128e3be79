/*
 * device.h - a simulated ESP32 running libfota: the simulator's port. Flash
 * by partition over the NOR flash model (the table read at the platform's
 * partition-table offset), boot control by its otadata writer over the
 * rules of fota/esp_ota.h (as esp_ota_ops does it), the resume journal in
 * sectors 0-1 of the `fota` data partition and the anti-rollback floor
 * store (the eFuse of a real chip, kept apart from the journal) in its
 * sectors 2-3 when it has them, both through fota/fstore.h, the posix
 * port's crypto, clock and log, and either the libcurl transport (a real
 * server) or the in-process v1 source. A power-on runs the bootloader
 * model, then fota_init, as a real device would.
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
    struct sim_platform plat;    /* partition-table offset, journal partition */
    struct fota_layout layout;   /* the table, read at power-on */
    struct fota_fstore store;
    struct fota_fstore floor_store;
    struct fota_config cfg;
    struct fota fota;
    struct sim_boot_result boot;
    uint8_t key[FOTA_KEY_LEN];
    char id[FOTA_ID_MAX + 1];
    int chip;
    int no_sleep;                /* backoff without waiting (tests) */
    int no_block_erase;          /* part_erase by 4 KB sectors only (bench) */
};

/* Bind d to flash fl with identity (id, key) and chip. Set d->curl or
 * d->src before sim_device_power_on; d->curl, d->src and d->plat are kept
 * from before the call. */
int sim_device_setup(struct sim_device *d, struct nor_flash *fl, int chip, const char *id,
                     const uint8_t key[FOTA_KEY_LEN]);

/* Power on: bootloader (may rewrite otadata), journal store, fota_init,
 * then, when fota_init left work (phase RECOVERING: a pending status
 * report, a slot re-verify and boot switch), the first fota_step, as the
 * application does once its network is up. FOTA_ERR_NO_SLOT when nothing
 * boots (a brick), FOTA_ERR_PTABLE when the table has no journal partition
 * of two sectors. */
int sim_device_power_on(struct sim_device *d);

/*
 * Provision a flash: partition table from csv (NULL: the default of
 * sim_pt_default_csv) at plat's offset, blank otadata and journal
 * partition, image written to ota_0 after the same checks a device makes
 * (application image, chip, fits the slot). The table must hold a data
 * partition for the journal (label "fota", or plat->journal_label) of at
 * least two sectors that is not nvs, otadata or PHY data: the journal never
 * shares a partition. err gets one line on failure. plat may be NULL.
 * Returns FOTA_OK or the refusal's code.
 */
int sim_provision(struct nor_flash *fl, const struct sim_platform *plat, const char *csv,
                  const uint8_t *img, uint32_t len, int chip, char *err, size_t errlen);

/* Read d's partition table and open its journal store (d->store) on the
 * journal partition, and the floor store (d->floor_store, with the
 * floor_load/floor_save callbacks) when the partition has 4 sectors, as
 * power-on does, without booting: for tools and tests that look at or age
 * the journal. FOTA_ERR_PTABLE without one. */
int sim_device_open_journal(struct sim_device *d);

#endif
