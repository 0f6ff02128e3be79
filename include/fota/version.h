/*
 * version.h - the one order of version strings, used by the device (no
 * downgrade unless the deployment allows it) and by the server (which
 * release to offer) alike. Freestanding: no heap, no libc.
 *
 * THE ORDER
 *
 * 1. SemVer 2.0.0 (https://semver.org, section 11): MAJOR.MINOR.PATCH, then
 *    an optional pre-release "-ident(.ident)*", then optional build metadata
 *    "+ident(.ident)*"; identifiers are [0-9A-Za-z-]+; numeric parts and
 *    numeric pre-release identifiers have no leading zeros (build metadata
 *    may). An optional leading 'v' or 'V' is skipped ("v5.4.4" = "5.4.4").
 *    Precedence: MAJOR, MINOR, PATCH numerically (any number of digits); a
 *    pre-release is below its release; pre-release identifiers left to
 *    right: numeric ones numerically, numeric below alphanumeric,
 *    alphanumeric ones in ASCII order, a shorter list below a longer one
 *    when all before are equal. Build metadata is ignored:
 *    1.0.0+a and 1.0.0+b are equal.
 *
 * 2. `git describe` forms: TAG-N-gHASH and any of the above with "-dirty"
 *    at the end, where TAG is a version of form 1, N a decimal commit count
 *    and HASH 4-64 lowercase hex digits. Ordered by TAG first (so
 *    v1.2.3-14-gabc1234 > v1.2.3 and < v1.2.4-rc.1), then by N (N commits
 *    after the tag: v1.2.3-2-gX < v1.2.3-14-gY; TAG = TAG-0-gHASH). At the
 *    same TAG and N, two different HASHes (one not a prefix of the other)
 *    are unordered: two branches, neither is older. "-dirty" (a build with
 *    uncommitted changes) is unordered against any version at the same
 *    TAG, N and HASH, itself included: its changes are unknown; against
 *    every other version it takes the place of its commit. The describe
 *    suffix is recognised before SemVer: "1.2.3-14-gabc1234" is the 14th
 *    commit after 1.2.3 (above it), not the pre-release "14-gabc1234".
 *
 * 3. Anything else has NO order: "9036908-dirty" (a bare commit),
 *    "esp-idf: v4.4.4 e8bdaf9198" (Arduino-ESP32's descriptor), "v5.4" and
 *    "v5.1-rc2" (two parts), "14.2.0.3" (four parts), "2024.05.01" (leading
 *    zeros), "20240115". An unordered version is never older than another:
 *    a device running one is offered any release, and the downgrade
 *    refusal never fires on it.
 *
 * The order is partial but consistent: if a < b and b < c then a < c, and
 * cmp(a, b) is always -cmp(b, a). tests/core/version_vectors.h holds the
 * vectors that pin it down, with their sources.
 */
#ifndef FOTA_VERSION_H
#define FOTA_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* Longest version a device accepts in an offer (the check answer's parser
 * refuses FOTA_VERSION_MAX bytes or more, include/fota/fota.h), and longest
 * running version it reports (esp_app_desc_t.version, 32 bytes, may lack a
 * NUL). The server refuses longer ones: a release it could never offer, a
 * check no device sends. version.c asserts they agree with fota.h. */
#define FOTA_VERSION_OFFER_MAX   31u
#define FOTA_VERSION_RUNNING_MAX 32u

/*
 * Compare versions a and b by the order above.
 * Returns FOTA_OK with *cmp = -1 (a older), 0 (same precedence) or 1 (a
 * newer); FOTA_ERR_VERSION_UNORDERED when they have no order (either is not
 * of a form above, or they differ only where no order is defined);
 * FOTA_ERR_PARAM for a NULL argument.
 */
int fota_version_cmp(const char *a, const char *b, int *cmp);

/* Whether v is of form 1 or 2 above (has a place in the order): 1 or 0. */
int fota_version_ordered(const char *v);

#ifdef __cplusplus
}
#endif
#endif
