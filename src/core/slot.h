/*
 * slot.h - the update slot and otadata on flash (slot.c), for the engine.
 */
#ifndef FOTA_SLOT_H
#define FOTA_SLOT_H

#include "fota/fota.h"

/* Both otadata entries (first 32 bytes of each sector). */
int fota_slot_read_otadata(struct fota *f, struct fota_ota_entry e[2]);

/* Rewrite otadata sector sec with e: erase, then program 32 bytes. */
int fota_slot_write_otadata(struct fota *f, unsigned sec, const struct fota_ota_entry *e);

/* Whole-slot check before a switch (invariant 4): release SHA-256 over
 * [0, size), image structure, checksum and appended hash. */
int fota_slot_verify(struct fota *f, unsigned slot, uint32_t size, const uint8_t sha[32]);

/* Write NEW for slot into the otadata sector not in force (invariant 5). */
int fota_slot_switch(struct fota *f, unsigned slot);

/* Program len verified bytes of f->buf at off of the update slot, erasing
 * ahead as needed (invariants 1 and 3). */
int fota_slot_write(struct fota *f, uint32_t off, uint32_t len);

#endif
