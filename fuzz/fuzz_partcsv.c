/*
 * fuzz_partcsv.c - libFuzzer harness for the simulator's ESP-IDF partition
 * CSV parser (src/sim/partcsv.c, sim_pt_parse_csv) on NUL-terminated input.
 * Invariants: count within [0, max]; the error text is NUL-terminated within
 * its buffer; accepted partitions have NUL-terminated labels and lie inside
 * the default 4 MB flash without wrapping.
 */
#include "fuzz_common.h"
#include "partcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fota_partition parts[SIM_PT_MAX_ENTRIES];
    char err[128];
    char *text = malloc(size + 1);
    int count = -1, rc, i;

    memcpy(text, data, size);
    text[size] = '\0';
    memset(err, 0x5A, sizeof err);
    rc = sim_pt_parse_csv(text, parts, SIM_PT_MAX_ENTRIES, &count, err, sizeof err);
    if (rc == 0) {
        FUZZ_ASSERT(count >= 0 && count <= SIM_PT_MAX_ENTRIES);
        for (i = 0; i < count; i++) {
            FUZZ_ASSERT(memchr(parts[i].label, 0, sizeof parts[i].label));
            FUZZ_ASSERT((uint64_t)parts[i].offset + parts[i].size <= SIM_PT_DEFAULT_FLASH);
        }
    } else {
        FUZZ_ASSERT(memchr(err, 0, sizeof err));
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace partcsv: %d\n", rc);
#endif
    free(text);
    return 0;
}
