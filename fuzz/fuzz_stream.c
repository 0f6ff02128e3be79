/*
 * fuzz_stream.c - libFuzzer harness for the protocol v2 stream parser and
 * frame acceptance (fota_stream_body and take_chunk in src/core/engine.c,
 * fota_v2_feed in src/core/wire.c, the writer in src/core/slot.c), on a RAM
 * flash reached by partition as the port contract gives it.
 * Invariants: every byte programmed into the update slot equals the release
 * at that offset (no unverified byte reaches flash: invariant 1); nothing is
 * written outside the slot and the journal store; chunks are accepted in
 * order only; a sticky error stays.
 *
 * The release: 3996 bytes in 512-byte chunks whose byte at offset o is
 * (o * 31 + 7) & 0xFF, bound to fuzz_image_sha and fuzz_key; the stream
 * starts at chunk 1 (chunk 0 would also need an ESP image head).
 * Input: split header (fuzz_common.h), then the stream body.
 */
#include "fuzz_common.h"
#include "engine.h"
#include "wire.h"

#define SLOT_OFF 0x20000u
#define SLOT_SIZE 0x10000u
#define IMG_SIZE 3996u
#define CHUNK 512u

static uint8_t flash[0x30000];

static uint8_t ref(uint32_t o)
{
    return (uint8_t)(o * 31u + 7u);
}

static int f_erase(const struct fota_config *c, const struct fota_part *p, uint32_t o,
                   uint32_t n)
{
    (void)c;
    FUZZ_ASSERT(p->addr == SLOT_OFF && o % 4096 == 0 && n % 4096 == 0 && n &&
                o + n <= SLOT_SIZE);
    memset(flash + SLOT_OFF + o, 0xFF, n);
    return FOTA_OK;
}

static int f_program(const struct fota_config *c, const struct fota_part *p, uint32_t o,
                     const void *b, uint32_t n)
{
    const uint8_t *d = b;
    uint32_t i;
    (void)c;
    FUZZ_ASSERT(p->addr == SLOT_OFF && o + n <= IMG_SIZE);
    for (i = 0; i < n; i++) {
        FUZZ_ASSERT(d[i] == ref(o + i)); /* invariant 1 */
        flash[SLOT_OFF + o + i] &= d[i];
    }
    return FOTA_OK;
}

static int f_read(const struct fota_config *c, const struct fota_part *p, uint32_t o, void *b,
                  uint32_t n)
{
    (void)c;
    FUZZ_ASSERT(p->addr == SLOT_OFF && o + n <= SLOT_SIZE);
    memcpy(b, flash + SLOT_OFF + o, n);
    return FOTA_OK;
}

static uint8_t store[FOTA_JOURNAL_LEN];
static int s_save(const struct fota_config *c, const uint8_t *b, uint32_t n)
{
    (void)c;
    memcpy(store, b, n);
    return FOTA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fota_config cfg;
    struct fota *f;
    struct fuzz_split sp;
    size_t off = fuzz_split_init(&sp, data, size);
    uint32_t last = 1;
    int status = 200, rc = FOTA_OK;

    fuzz_config(&cfg);
    cfg.part_erase = f_erase;
    cfg.part_write = f_program;
    cfg.part_read = f_read;
    cfg.store_save = s_save;
    f = malloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->cfg = &cfg;
    f->update.addr = SLOT_OFF;
    f->update.size = SLOT_SIZE;
    f->update.index = 1;
    f->offer.release = 1;
    f->offer.size = IMG_SIZE;
    f->offer.chunk_size = CHUNK;
    f->offer.total_chunks = (IMG_SIZE + CHUNK - 1) / CHUNK;
    memcpy(f->offer.sha256, fuzz_image_sha, 32);
    f->phase = FOTA_PHASE_DOWNLOADING;
    f->next_chunk = 1;
    f->erased_until = 0; /* nothing erased yet in this run */
    f->http_status = &status;
    fota_v2_begin(&f->p.v2);

    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        rc = fota_stream_body(f, data + off, (uint32_t)n);
        off += n;
        FUZZ_ASSERT(f->next_chunk >= last && f->next_chunk <= f->offer.total_chunks);
        last = f->next_chunk;
    }
    if (rc != FOTA_OK) /* sticky */
        FUZZ_ASSERT(fota_stream_body(f, (const uint8_t *)"x", 1) == rc);
    free(f);
    return 0;
}
