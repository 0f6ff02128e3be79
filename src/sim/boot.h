/*
 * boot.h - a model of ESP-IDF's second-stage bootloader built with
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (or, with sim_platform.no_rollback,
 * without it), run against the simulated flash.
 *
 * It reads everything from the flash (nothing cached between boots), applies
 * the same otadata rules as the real one (NEW -> PENDING_VERIFY on the trial
 * boot, PENDING_VERIFY found at boot -> ABORTED and roll back, the first
 * entry written when otadata holds none), verifies the
 * chosen image (header, chip, segments, checksum, appended SHA-256) and falls
 * back to another image when it does not verify. FOTA_ERR_NO_SLOT means no
 * image verifies: the device is bricked, which tests must be able to see.
 */
#ifndef SIM_BOOT_H
#define SIM_BOOT_H

#include <stdint.h>

#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "nor.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The simulated device's build-time settings, as an ESP-IDF app's
 * sdkconfig gives them to its bootloader and port. NULL wherever one is
 * taken means the defaults.
 */
struct sim_platform {
    uint32_t pt_offset;          /* CONFIG_PARTITION_TABLE_OFFSET; 0: 0x8000 */
    const char *journal_label;   /* data partition holding the resume journal
                                    (fota/fstore.h); NULL: "fota" */
    int flash_encryption;        /* eFuse: app partitions are encrypted (the
                                    emulation of nor.h); bootloader, port and
                                    provisioning read and write them so */
    int no_rollback;             /* a bootloader built without
                                    CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: a
                                    NEW entry boots as it is (no trial) and
                                    PENDING_VERIFY is never aborted */
};

/* pt_offset of plat, defaults applied. */
uint32_t sim_pt_offset(const struct sim_platform *plat);

struct sim_boot_result {
    int slot;              /* booted ota index, or -1 for factory */
    uint32_t offset, size; /* the booted slot's partition */
    uint32_t image_len;
    uint32_t ota_state;    /* state of the entry in force after this boot for the
                            * booted slot; FOTA_OTA_UNDEFINED when booted
                            * without an entry (blank otadata, fallback) */
    int entry;             /* otadata entry (0, 1) the slot was selected from,
                            * -1 none (blank or unbootable otadata) */
    int aborted;           /* this boot turned a valid PENDING_VERIFY entry
                            * (a trial that never confirmed) into ABORTED */
    int fell_back;         /* the selected image failed; another one booted */
    uint8_t image_sha256[32]; /* SHA-256 of the whole booted image */
    struct fota_app_info info;
    char why[160];         /* one line: what was selected and why */
};

/*
 * Boot: returns FOTA_OK with r filled, FOTA_ERR_PTABLE (bad partition table),
 * FOTA_ERR_NO_SLOT (no image verifies: brick), FOTA_ERR_POWER_LOST (the flash
 * lost power during an otadata rewrite), FOTA_ERR_PARAM. chip_id is the
 * device's chip (FOTA_CHIP_ESP32, ...).
 */
int sim_boot(struct nor_flash *f, const struct sim_platform *plat, int chip_id,
             struct sim_boot_result *r);

/* Read and check the partition table at plat's offset (MD5 entry checked
 * when present, as ESP-IDF does), finding the journal partition by plat's
 * label; FOTA_ERR_PTABLE when missing or malformed. */
int sim_read_layout(struct nor_flash *f, const struct sim_platform *plat, struct fota_layout *l);

/* Read the two otadata entries (first 32 bytes of each sector). With no
 * otadata partition both come back blank (all 0xFF). */
int sim_boot_read_otadata(struct nor_flash *f, const struct fota_layout *l,
                          struct fota_ota_entry e[2]);

/* Verify the image in the partition at [offset, offset+size) for chip_id:
 * header and app descriptor, segments and checksum, appended SHA-256, and a
 * secure boot v2 signature sector when one follows the image (its structure
 * and CRC: the core's rule, include/fota/esp_image.h; no RSA check).
 * Fills info, *image_len and sha256 (of the whole image, sector included)
 * when not NULL.
 * Returns FOTA_OK or the image error (FOTA_ERR_IMG_*, FOTA_ERR_SLOT_SIZE,
 * FOTA_ERR_TRUNCATED, ...) or FOTA_ERR_POWER_LOST. */
int sim_verify_image(struct nor_flash *f, uint32_t offset, uint32_t size, int chip_id,
                     struct fota_app_info *info, uint32_t *image_len, uint8_t sha256[32]);

/* The same through flash decryption when enc is set (nor_read_dec). */
int sim_verify_image_dec(struct nor_flash *f, int enc, uint32_t offset, uint32_t size,
                         int chip_id, struct fota_app_info *info, uint32_t *image_len,
                         uint8_t sha256[32]);

#ifdef __cplusplus
}
#endif
#endif
