/*
 * fuzz_stream.c - libFuzzer harness for the protocol v2 stream parser and
 * frame acceptance (fota_v2_body in src/core/wire.c, fota_v2_frame and the
 * writer in src/core/engine.c), on a RAM flash.
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

static int f_erase(const struct fota_config *c, uint32_t a)
{
    (void)c;
    FUZZ_ASSERT(a % 4096 == 0 && a >= SLOT_OFF && a < SLOT_OFF + SLOT_SIZE);
    memset(flash + a, 0xFF, 4096);
    return FOTA_OK;
}

static int f_program(const struct fota_config *c, uint32_t a, const void *b, uint32_t n)
{
    const uint8_t *d = b;
    uint32_t i;
    (void)c;
    FUZZ_ASSERT(a >= SLOT_OFF && a + n <= SLOT_OFF + IMG_SIZE);
    for (i = 0; i < n; i++) {
        FUZZ_ASSERT(d[i] == ref(a - SLOT_OFF + i)); /* invariant 1 */
        flash[a + i] &= d[i];
    }
    return FOTA_OK;
}

static int f_read(const struct fota_config *c, uint32_t a, void *b, uint32_t n)
{
    (void)c;
    FUZZ_ASSERT(a + n <= sizeof flash);
    memcpy(b, flash + a, n);
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
    cfg.flash_erase = f_erase;
    cfg.flash_program = f_program;
    cfg.flash_read = f_read;
    cfg.store_save = s_save;
    f = malloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->cfg = &cfg;
    f->layout.slot_count = 2;
    f->layout.slot_offset[1] = SLOT_OFF;
    f->layout.slot_size[1] = SLOT_SIZE;
    f->target_slot = 1;
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
        rc = fota_v2_body(f, data + off, (uint32_t)n);
        off += n;
        FUZZ_ASSERT(f->next_chunk >= last && f->next_chunk <= f->offer.total_chunks);
        last = f->next_chunk;
    }
    if (rc != FOTA_OK) /* sticky */
        FUZZ_ASSERT(fota_v2_body(f, (const uint8_t *)"x", 1) == rc);
    free(f);
    return 0;
}
