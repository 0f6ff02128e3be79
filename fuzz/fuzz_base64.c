/*
 * fuzz_base64.c - libFuzzer harness for the strict streaming base64 decoder
 * (src/core/base64.c), cross-checked against mbedTLS:
 *  - whenever ours accepts (every feed and finish FOTA_OK), mbedtls_base64_decode
 *    accepts too and yields the same bytes;
 *  - whenever the input is the canonical encoding of what mbedTLS decodes
 *    (re-encoding gives the input back) and fits, ours must accept it;
 *  - ours never writes past out_cap (the output buffer is exactly out_cap).
 *
 * Input: split header (fuzz_common.h), one byte choosing out_cap (255: large
 * enough for everything, else that many bytes), then the text.
 */
#include <mbedtls/base64.h>
#include "fuzz_common.h"
#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split sp;
    struct fota_b64_state b;
    size_t off = fuzz_split_init(&sp, data, size), tlen, olen = 0, i;
    const uint8_t *text;
    uint32_t cap, outn = 0;
    uint8_t *out, *ref, *enc;
    int rc = FOTA_OK, ok, mrc;

    if (off >= size)
        return 0;
    cap = data[off++];
    text = data + off;
    tlen = size - off;
    if (cap == 255)
        cap = (uint32_t)(tlen / 4 * 3 + 3);
    out = malloc(cap ? cap : 1);

    fota_b64_init(&b);
    while (off < size && rc == FOTA_OK) {
        size_t n = fuzz_split_next(&sp, size - off);
        uint32_t before = outn;
        rc = fota_b64_feed(&b, data + off, (uint32_t)n, out, &outn, cap);
        FUZZ_ASSERT(outn <= cap && outn >= before);
        off += n;
    }
    ok = rc == FOTA_OK && fota_b64_finish(&b) == FOTA_OK;
    if (ok)
        FUZZ_ASSERT(outn == tlen / 4 * 3 - (tlen && text[tlen - 1] == '=') -
                                (tlen > 1 && text[tlen - 2] == '='));

    ref = malloc(tlen + 1);
    mrc = mbedtls_base64_decode(ref, tlen + 1, &olen, text, tlen);
    if (ok) {
        FUZZ_ASSERT(mrc == 0);
        FUZZ_ASSERT(olen == outn);
        FUZZ_ASSERT(memcmp(ref, out, olen) == 0);
    } else if (mrc == 0 && olen <= cap) {
        size_t elen = 0;
        enc = malloc(tlen + 8);
        if (mbedtls_base64_encode(enc, tlen + 8, &elen, ref, olen) == 0 && elen == tlen &&
            memcmp(enc, text, tlen) == 0) {
            fprintf(stderr, "canonical base64 refused (rc %d), %zu chars:", rc, tlen);
            for (i = 0; i < tlen && i < 64; i++)
                fputc(text[i], stderr);
            fputc('\n', stderr);
            FUZZ_ASSERT(0);
        }
        free(enc);
    }
#ifdef FUZZ_TRACE
    fprintf(stderr, "trace base64: %d\n", ok);
#endif
    free(ref);
    free(out);
    return 0;
}
