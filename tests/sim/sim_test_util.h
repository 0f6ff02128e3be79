/*
 * sim_test_util.h - helpers shared by the simulator tests: read a file into
 * memory, set up a blank 4 MB RAM flash with a partition table.
 */
#ifndef SIM_TEST_UTIL_H
#define SIM_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/error.h"
#include "nor.h"
#include "partcsv.h"

#define FLASH_4MB (4u * 1024u * 1024u)

/* Whole file, NUL-terminated (so text files are C strings); NULL if absent. */
static inline uint8_t *read_file(const char *path, uint32_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = 0;
        if (len)
            *len = (uint32_t)n;
    }
    return buf;
}

/* Blank RAM flash of size bytes with the partition table of csv written. */
static inline int flash_with_table(struct nor_flash *f, uint8_t *mem, uint32_t size,
                                   const char *csv)
{
    struct fota_partition p[SIM_PT_MAX_ENTRIES];
    char err[160];
    int n, rc;
    memset(mem, 0xFF, size);
    rc = nor_open_mem(f, mem, size);
    if (rc)
        return rc;
    rc = sim_pt_parse_csv_flash(csv, size, 0, p, SIM_PT_MAX_ENTRIES, &n, err, sizeof err);
    if (rc)
        return rc;
    return sim_pt_write(f, 0, p, n);
}

/* A file the test cannot do without (a real image from ../shared/firmware):
 * a missing file FAILS the test naming it, never skips it (docs/testing.md). */
#define read_required_file(path, len)                                                   \
    ({                                                                                  \
        uint8_t *rf_buf_ = read_file((path), (len));                                    \
        if (!rf_buf_)                                                                   \
            fail_msg("missing prerequisite %s (the firmware folder ../shared/firmware " \
                     "must be beside the checkout)",                                    \
                     (path));                                                           \
        rf_buf_;                                                                        \
    })

#endif
