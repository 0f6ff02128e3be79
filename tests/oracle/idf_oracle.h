/*
 * idf_oracle.h - ESP-IDF's own second-stage bootloader decision, compiled
 * on the host (see idf_host.c), behind a plain C interface so the driver
 * (oracle_boot.c) never mixes ESP-IDF's headers with ours.
 */
#ifndef ORACLE_IDF_ORACLE_H
#define ORACLE_IDF_ORACLE_H

#include <stdint.h>

#define IDF_ORACLE_NONE (-99)    /* no image loaded: the bootloader reset */
#define IDF_ORACLE_FACTORY (-1)  /* ESP-IDF's FACTORY_INDEX */
#define IDF_ORACLE_MAX_GOOD 20

struct idf_oracle_in {
    uint8_t *flash;              /* the whole flash, read and written in place */
    uint32_t flash_size;
    /* partition offsets whose image "verifies": the fake behind
     * bootloader_load_image (image checks are not what the oracle judges) */
    uint32_t good[IDF_ORACLE_MAX_GOOD];
    unsigned ngood;
};

struct idf_oracle_out {
    int start;                   /* bootloader_utility_get_selected_boot_partition() */
    int entry;                   /* otadata entry in force (0, 1) or -1 */
    int loaded;                  /* index of the image loaded, IDF_ORACLE_NONE */
    unsigned ops;                /* flash erases + writes */
    char err[160];               /* "" or what went wrong in the harness */
};

/* Run ESP-IDF's bootloader over in->flash: load the partition table, select
 * the boot partition (with its otadata rewrites), note the entry in force,
 * then load_boot_image with its fallback order. Returns 0, or -1 with
 * out->err set when the harness itself failed. */
int idf_oracle_boot(const struct idf_oracle_in *in, struct idf_oracle_out *out);

#endif
