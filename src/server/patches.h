/*
 * patches.h - the patch streams the server offers besides a release's full
 * image (include/fota/patch.h, docs/delta.md): the release compressed, and
 * deltas to it from the releases devices run. Made on demand with the host
 * encoder (src/sim/patchenc.c) the first time a device asks, then kept in
 * memory for every later request; a patch not smaller than the full image
 * is remembered as such and never offered.
 */
#ifndef SRV_PATCHES_H
#define SRV_PATCHES_H

#include <stdint.h>

#include "release.h"
#include "server.h"

struct patch_cache;

struct patch_cache *patches_new(void);
void patches_free(struct patch_cache *c);

/*
 * The patch of encoding enc (FOTA_ENC_COMPRESSED, or FOTA_ENC_DELTA from the
 * release of the same chip whose appended SHA-256 is base) that makes
 * target, served like a release: *out->data is the stream, out->sha its
 * SHA-256, out->rel the target's row (chunk size and all). STORE_OK,
 * STORE_NOT_FOUND (no release with that base, or the patch would not be
 * smaller than the full image) or STORE_ERR (logged).
 */
int patches_get(struct server *srv, const struct image *target, int enc, const uint8_t base[32],
                const struct image **out);

#endif
