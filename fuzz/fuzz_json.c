/*
 * fuzz_json.c - libFuzzer harness for the v1 JSON push parser
 * (src/core/json.c), fed in fuzzer-chosen pieces. The member callback checks
 * what every handler relies on: the key is NUL-terminated within 16 bytes,
 * ev is a known event, string pieces are no longer than the piece being fed
 * times the 4 bytes a \u escape may expand to, s is readable for len bytes,
 * final is 0 or 1, only strings come in more than one call and the pieces
 * of one string all carry the same key; a body that finishes cleanly leaves
 * no string open. With a handler that never fails, feed fails only with
 * FOTA_ERR_JSON.
 *
 * Input: split header (fuzz_common.h), then the body.
 */
#include "fuzz_common.h"
#include "json.h"

struct ctx {
    size_t piece;        /* length of the piece being fed */
    int in_str;          /* a string value is open (non-final piece seen) */
    char key[16];
    volatile uint8_t sink;
    unsigned calls;
};

static int member(void *arg, const char *key, int ev, const uint8_t *s, uint32_t len, int final,
                  uint32_t num)
{
    struct ctx *c = (struct ctx *)arg;
    size_t kl = strnlen(key, 16), i;
    (void)num;
    c->calls++;
    FUZZ_ASSERT(kl < 16);
    FUZZ_ASSERT(ev >= FOTA_JSON_STR && ev <= FOTA_JSON_BADNUM);
    FUZZ_ASSERT(final == 0 || final == 1);
    if (ev == FOTA_JSON_STR) {
        FUZZ_ASSERT(len == 0 || s != NULL);
        FUZZ_ASSERT(len <= c->piece * 4 + 4);
        for (i = 0; i < len; i++)
            c->sink ^= s[i];
        if (c->in_str)
            FUZZ_ASSERT(strcmp(c->key, key) == 0); /* pieces of one value stay together */
        c->in_str = !final;
        memcpy(c->key, key, kl + 1);
    } else {
        FUZZ_ASSERT(!c->in_str);
        FUZZ_ASSERT(final == 1);
    }
    return FOTA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split sp;
    struct fota_json_state j;
    struct ctx c;
    size_t off = fuzz_split_init(&sp, data, size);
    int rc = FOTA_OK;

    memset(&c, 0, sizeof c);
    fota_json_init(&j);
    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        c.piece = n;
        rc = fota_json_feed(&j, data + off, (uint32_t)n, member, &c);
        off += n;
    }
    if (rc == FOTA_OK && fota_json_finish(&j) == FOTA_OK)
        FUZZ_ASSERT(!c.in_str);
    if (rc != FOTA_OK)
        FUZZ_ASSERT(rc == FOTA_ERR_JSON);
    return 0;
}
