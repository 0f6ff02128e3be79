/*
 * fuzz_chunk.c - libFuzzer harness for the v1 `chunk` answer parser
 * (src/core/wire.c): the body arrives in fuzzer-chosen pieces through
 * fota_chunk_body, fota_chunk_end checks the object, then the engine's
 * fota_chunk_check verifies index, length and HMAC.
 * Invariants: FOTA_OK only when data_len == expect_len and the HMAC over
 * image sha256 || be32(index) || data matches the reference; no byte is ever
 * written past expect_len in f->buf (the tail is ASan-poisoned) nor past
 * struct fota.
 *
 * Input: split header (fuzz_common.h), expect_len (le16, mod
 * FOTA_CHUNK_MAX + 1), index (le16), then the body.
 */
#include <sanitizer/asan_interface.h>
#include "fuzz_common.h"
#include "engine.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fota_config cfg;
    struct fota *f;
    struct fuzz_split sp;
    size_t used = fuzz_split_init(&sp, data, size), off;
    uint32_t expect, index;
    int status = 200, rc = FOTA_OK, end;

    if (size < used + 4)
        return 0;
    expect = (uint32_t)(data[used] | data[used + 1] << 8) % (FOTA_CHUNK_MAX + 1u);
    index = (uint32_t)(data[used + 2] | data[used + 3] << 8);
    off = used + 4;

    fuzz_config(&cfg);
    f = malloc(sizeof *f); /* exact size: ASan sees any write past the struct */
    memset(f, 0, sizeof *f);
    f->cfg = &cfg;
    memcpy(f->offer.sha256, fuzz_image_sha, 32);
    f->http_status = &status;
    fota_chunk_begin(&f->p.chunk, expect);
    ASAN_POISON_MEMORY_REGION(f->buf + expect, FOTA_CHUNK_MAX - expect);

    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        rc = fota_chunk_body(f, data + off, (uint32_t)n);
        off += n;
        FUZZ_ASSERT(f->p.chunk.data_len <= expect);
    }
    end = fota_chunk_end(f);
    if (end == FOTA_OK) {
        /* an offer whose chunk `index` is expect bytes long, awaited next */
        f->offer.chunk_size = expect;
        f->offer.size = (index + 1u) * expect;
        f->offer.total_chunks = index + 1u;
        f->next_chunk = index;
        end = fota_chunk_check(f, f->p.chunk.number, f->p.chunk.data_len, f->p.chunk.hmac);
    }
    if (rc != FOTA_OK)
        FUZZ_ASSERT(end == rc); /* sticky */
    if (end == FOTA_OK) {
        uint8_t msg[FOTA_CHUNK_MAC_PREFIX_LEN], mac[32];
        FUZZ_ASSERT(f->p.chunk.data_len == expect);
        FUZZ_ASSERT(f->p.chunk.number == index);
        fota_chunk_mac_prefix(msg, fuzz_image_sha, index); /* the rule's one definition */
        fuzz_ref_hmac(fuzz_key, msg, sizeof msg, f->buf, expect, mac);
        FUZZ_ASSERT(memcmp(mac, f->p.chunk.hmac, 32) == 0);
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace chunk: %d\n", end);
#endif
    ASAN_UNPOISON_MEMORY_REGION(f->buf + expect, FOTA_CHUNK_MAX - expect);
    free(f);
    return 0;
}
