/*
 * partcsv.h - ESP-IDF partition table CSV for the simulator: parse the text
 * as gen_esp32part.py does (same keywords, number forms, auto-placement and
 * checks), and write the binary table at the partition-table offset
 * (CONFIG_PARTITION_TABLE_OFFSET, 0x8000 by default) with its MD5 entry, so the
 * simulated device is provisioned exactly like a real one.
 */
#ifndef SIM_PARTCSV_H
#define SIM_PARTCSV_H

#include <stddef.h>
#include <stdint.h>

#include "fota/esp_ota.h"
#include "nor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_PT_FLAG_ENCRYPTED 0x1u
#define SIM_PT_FLAG_READONLY  0x2u
#define SIM_PT_MAX_ENTRIES    95   /* 0xC00 bytes: 95 entries + the MD5 entry */
#define SIM_PT_DEFAULT_FLASH  (4u * 1024u * 1024u)

/*
 * Parse CSV text into out[0..*count). Checks against a 4 MB flash.
 * Returns FOTA_OK, FOTA_ERR_PARAM (NULL arguments) or FOTA_ERR_PTABLE with
 * err set to one line: "line N: <what was expected>, found '<what came>'".
 */
int sim_pt_parse_csv(const char *text, struct fota_partition *out, int max, int *count,
                     char *err, size_t errlen);

/* The same against a flash of flash_size bytes, with the table at pt_offset
 * (0: 0x8000; auto-placement starts after its sector, as with
 * gen_esp32part.py --offset). */
int sim_pt_parse_csv_flash(const char *text, uint32_t flash_size, uint32_t pt_offset,
                           struct fota_partition *out, int max, int *count, char *err,
                           size_t errlen);

/* Write the binary table of p[0..n) at pt_offset (0: 0x8000): erase the sector, then one
 * program of the entries and the MD5 entry (0xEBEB, 14 x 0xFF, MD5 of the
 * entries), as gen_esp32part.py lays it out. Exactly 2 flash operations. */
int sim_pt_write(struct nor_flash *f, uint32_t pt_offset, const struct fota_partition *p, int n);

/* Arduino-ESP32's 4 MB default.csv, app0 and app1 where they are, with a
 * `fota` data partition for the resume journal carved from the end of
 * spiffs (16 KB: the journal in sectors 0-1, the anti-rollback floor store
 * in 2-3). */
const char *sim_pt_default_csv(void);

#ifdef __cplusplus
}
#endif
#endif
