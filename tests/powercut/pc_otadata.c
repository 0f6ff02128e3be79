/*
 * pc_otadata.c - records the otadata states the power-cut campaign meets at
 * its power-ons (see pc_otadata_dump_open in pc_harness.h), for the
 * bootloader oracle of tests/oracle, which replays each of them through the
 * simulator's bootloader and ESP-IDF's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_harness.h"

#define REC_LEN (2 * FOTA_OTA_ENTRY_LEN)

static FILE *dump_fp;
static uint8_t (*seen)[REC_LEN];
static size_t nseen, capseen;
static int dump_err;

int pc_otadata_dump_open(const char *path)
{
    dump_fp = fopen(path, "wb");
    nseen = 0;
    dump_err = 0;
    return dump_fp ? 0 : -1;
}

void pc_otadata_dump_hook(void *arg, const uint8_t *otadata, uint32_t len)
{
    uint8_t rec[REC_LEN];
    size_t i;

    (void)arg;
    if (!dump_fp || len < 2 * FOTA_SECTOR_SIZE)
        return;
    memcpy(rec, otadata, FOTA_OTA_ENTRY_LEN);
    memcpy(rec + FOTA_OTA_ENTRY_LEN, otadata + FOTA_SECTOR_SIZE, FOTA_OTA_ENTRY_LEN);
    for (i = 0; i < nseen; i++)
        if (!memcmp(seen[i], rec, REC_LEN))
            return;
    if (nseen == capseen) {
        void *p = realloc(seen, (capseen ? 2 * capseen : 256) * REC_LEN);
        if (!p) {
            dump_err = 1;
            return;
        }
        seen = p;
        capseen = capseen ? 2 * capseen : 256;
    }
    memcpy(seen[nseen++], rec, REC_LEN);
    if (fwrite(rec, 1, REC_LEN, dump_fp) != REC_LEN)
        dump_err = 1;
}

long pc_otadata_dump_close(void)
{
    long n = (long)nseen;
    if (!dump_fp)
        return -1;
    if (fclose(dump_fp) || dump_err)
        n = -1;
    dump_fp = NULL;
    free(seen);
    seen = NULL;
    nseen = capseen = 0;
    return n;
}
