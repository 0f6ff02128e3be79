/*
 * fuzz_check.c - libFuzzer harness for the v1 `check` answer parser
 * (src/core/wire.c): fota_check_begin, the body in fuzzer-chosen pieces
 * through fota_check_body, fota_check_end. Invariants: errors are sticky;
 * the version string always stays NUL-terminated within
 * FOTA_VERSION_MAX + 1 bytes and free of control characters; no write past
 * struct fota (exact-size allocation, so ASan sees it).
 *
 * Input: split header (fuzz_common.h), then the body.
 */
#include "fuzz_common.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fota_config cfg;
    struct fota *f;
    struct fuzz_split sp;
    size_t off = fuzz_split_init(&sp, data, size);
    int status = 200, rc = FOTA_OK, end;

    fuzz_config(&cfg);
    f = malloc(sizeof *f);
    memset(f, 0xA5, sizeof *f); /* no reliance on a zeroed struct */
    f->cfg = &cfg;
    f->http_status = &status;
    fota_check_begin(f, &f->offer);
    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        rc = fota_check_body(f, data + off, (uint32_t)n);
        off += n;
        FUZZ_ASSERT(memchr(f->offer.version, 0, sizeof f->offer.version) != NULL);
    }
    end = fota_check_end(f);
    if (rc != FOTA_OK)
        FUZZ_ASSERT(end == rc);
    if (end == FOTA_OK) {
        FUZZ_ASSERT(f->offer.update == 0 || f->offer.update == 1);
        size_t i, vl = strlen(f->offer.version);
        FUZZ_ASSERT(vl <= FOTA_VERSION_MAX);
        for (i = 0; i < vl; i++)
            FUZZ_ASSERT((uint8_t)f->offer.version[i] >= 0x20 && f->offer.version[i] != 0x7F);
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace check: %d\n", end);
#endif
    free(f);
    return 0;
}
