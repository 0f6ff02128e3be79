/*
 * base64.h - strict, streaming RFC 4648 base64 decoding (standard alphabet,
 * padded). Written here rather than taken from mbedTLS because the core must
 * decode a string that arrives in pieces straight into the chunk buffer,
 * without holding the encoded text, and must not depend on a crypto library.
 *
 * Strict: only the 64 alphabet characters and '=' as the last one or two
 * characters of the final quad; total length a multiple of 4; the unused bits
 * before padding must be zero (so every byte string has one encoding).
 */
#ifndef FOTA_BASE64_H
#define FOTA_BASE64_H

#include "fota/fota.h"

void fota_b64_init(struct fota_b64_state *b);

/*
 * Decode the next n characters into out + *outn, never past out_cap.
 * Returns FOTA_OK, FOTA_ERR_BASE64 (bad character or padding), or
 * FOTA_ERR_CHUNK_LEN when the decoded bytes would exceed out_cap.
 */
int fota_b64_feed(struct fota_b64_state *b, const uint8_t *in, uint32_t n,
                  uint8_t *out, uint32_t *outn, uint32_t out_cap);

/* End of input: FOTA_OK when the text ended on a whole quad. */
int fota_b64_finish(const struct fota_b64_state *b);

#endif
