/*
 * fstore.h - an atomic record store on the two sectors of a dedicated data
 * partition (the simulator's `fota` partition; a bare-metal device), for
 * ports that have no key-value store of their own. On ESP-IDF a port uses
 * an NVS blob instead. The partition is reached through the port's part_*
 * callbacks and belongs to the store alone: never give it sectors of a
 * partition that holds something else (nvs: Wi-Fi credentials, PHY data).
 *
 * Records are appended into one sector; each slot holds
 *   {u32 magic "FSR1", u32 seq, FOTA_JOURNAL_LEN bytes, u32 crc32}
 * and the valid record with the highest seq wins. When the sector is full the
 * other one is erased and the next record goes to its first slot, so the
 * previous record stays intact until a newer one is complete: a cut at any
 * point leaves the old or the new record in force. Written records are read
 * back and compared. About 50 saves per sector erase.
 */
#ifndef FOTA_FSTORE_H
#define FOTA_FSTORE_H

#include "fota/fota.h"

#define FOTA_FSTORE_SLOT ((8u + FOTA_JOURNAL_LEN + 4u + 15u) & ~15u) /* 4 + 4 + record + 4, padded to 16 */

struct fota_fstore {
    const struct fota_config *cfg; /* part_* callbacks */
    struct fota_part part;         /* its first two sectors hold the store */
    uint32_t seq;                  /* seq of the record in force (0: none) */
    uint8_t  sector;               /* sector holding it */
    uint16_t next;                 /* first free slot in that sector */
};

/* Open the store on the first two sectors of partition p (copied): scans
 * both for the newest valid record. Returns FOTA_OK, FOTA_ERR_STORE when p
 * is smaller than two sectors, or a flash error. */
int fota_fstore_open(struct fota_fstore *s, const struct fota_config *cfg,
                     const struct fota_part *p);

/* Newest record into buf (FOTA_JOURNAL_LEN bytes), 0xFF-filled when none. */
int fota_fstore_load(struct fota_fstore *s, uint8_t *buf, uint32_t len);

/* Append a record. FOTA_OK, FOTA_ERR_IO (read-back differs), flash errors. */
int fota_fstore_save(struct fota_fstore *s, const uint8_t *buf, uint32_t len);

/*
 * The anti-rollback floor in a store of its own (two other sectors), for a
 * port's fota_config.floor_load / floor_save when it has no eFuse: records
 * are {u32 magic "FOTF", u32 floor, zeros} in the store's 64-byte payload.
 * load: *floor = the stored floor, 0 when none was saved; FOTA_ERR_STORE for
 * a record that is not a floor record. save: a floor not above the stored
 * one is not written (FOTA_OK): the floor never goes down.
 */
#define FOTA_FSTORE_FLOOR_MAGIC 0x46544F46u /* "FOTF" */
int fota_fstore_floor_load(struct fota_fstore *s, uint32_t *floor);
int fota_fstore_floor_save(struct fota_fstore *s, uint32_t floor);

#endif
