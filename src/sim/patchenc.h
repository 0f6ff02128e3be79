/*
 * patchenc.h - the host-side encoder of patch streams (include/fota/patch.h):
 * compressed full images and deltas from a base image. Used by the server
 * (it makes the streams it offers), fota-patch, the tests and the benchmarks.
 * Host code: it allocates; the device side is the core's patcher.
 */
#ifndef SIM_PATCHENC_H
#define SIM_PATCHENC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Window the encoder uses (2^12 = 4096 bytes: what every device accepts). */
#define PATCHENC_WINDOW_LOG2 12u

/*
 * Encode img (img_len bytes, > 0) as a patch stream into a malloc'ed buffer
 * (*out, *out_len; the caller frees it). base NULL (or base_len 0): a
 * compressed image (kind 1); otherwise a delta from base (kind 2, base_len
 * > 32) whose header carries base_len and the SHA-256 of base[0, base_len -
 * 32): an app image's appended hash, which names it (fota/patch.h). The output always
 * decodes to exactly img. Returns 0, or -1 when memory or crypto fails.
 */
int patchenc_make(const uint8_t *base, uint32_t base_len, const uint8_t *img, uint32_t img_len,
                  uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
