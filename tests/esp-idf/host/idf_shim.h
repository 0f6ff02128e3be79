/*
 * idf_shim.h - the host test's stand-ins for the chip and the bootloader
 * around ESP-IDF's own code (idf_shim.c tells what is real and what is not).
 */
#ifndef IDF_SHIM_H
#define IDF_SHIM_H
#include <stddef.h>
#include "esp_partition.h"
#include "esp_system.h"

#define SHIM_EXIT_CUT 4      /* the process ended at an armed power cut */
#define SHIM_EXIT_RESTART 5  /* esp_restart() was called */

/* The bootloader's step at power-on: otadata rules of
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, then the slot to run. 0, or -1 with
 * why filled when nothing boots. */
int shim_power_on(char *why, size_t whylen);

/* The bootloader was built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
 * (set before shim_power_on): NEW entries boot as they are, no trial, and
 * PENDING_VERIFY is never aborted. */
void shim_set_no_rollback(int on);

/* esp_flash_encryption_enabled() answers on (set before the partition
 * table is first read). */
void shim_set_flash_encryption(int on);

/* The anti-rollback build's fake eFuse (efuse_fake.c) lives beside this
 * flash file. */
void shim_efuse_open(const char *flash_file);

/* The partition the bootloader chose (what esp_ota_get_running_partition finds). */
const esp_partition_t *shim_booted(void);

/* Cut power inside the flash operation that reaches `cycles` of
 * esp_partition_fail_after's cycles (4 bytes written, or one 4 KB sector
 * erased, each count one), from now on. */
void shim_arm_cut(size_t cycles);

/* fail_after cycles spent since shim_reset_cycles (the start of the command). */
size_t shim_cycles(void);
void shim_reset_cycles(void);

/* Tear the K-th (from 0) write to the nvs partition from now on: its
 * first half is programmed, then power goes. */
void shim_arm_nvs_tear(unsigned k);

/* What esp_reset_reason() says ended the previous boot (default power-on). */
void shim_set_reset_reason(esp_reset_reason_t r);

/* What heap_caps_get_largest_free_block reports (0: ESP-IDF's own value). */
void shim_set_largest_free_block(size_t n);

/* Erases of app partitions since start: how many, the largest, and how many
 * followed another erase without a yield (vTaskDelay) in between. */
void shim_erase_stats(size_t *count, size_t *max, size_t *unyielded);

#endif
