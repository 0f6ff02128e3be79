/*
 * manifest.h - the signed release manifest: what an operator signs offline
 * with an ECDSA P-256 key, what the server stores and serves beside the
 * release, and what a device holding the public key checks before it erases
 * anything. Declared here once; read and written byte by byte.
 *
 *   off size field
 *   0   4    magic "FOTM" (0x4D544F46 LE)
 *   4   1    format version (1)
 *   5   1    flags: bit 0 FOTA_MANIFEST_ALLOW_DOWNGRADE, the operator's
 *            signed permission to install this release over a newer
 *            version (fota-admin release add --sign KEY --allow-downgrade);
 *            other bits 0. A device holding the signing key takes its
 *            downgrade decision from this bit and the version below only,
 *            never from the unsigned offer (docs/security.md)
 *   6   2    chip_id (esp_image_header_t.chip_id)
 *   8   4    image size in bytes
 *   12  4    chunk size the release is served with
 *   16  4    secure_version (esp_app_desc_t.secure_version)
 *   20  4    reserved (0)
 *   24  32   SHA-256 of the whole image
 *   56  32   version, NUL padded (what the operator released)
 *   88  32   project name, NUL padded (esp_app_desc_t.project_name)
 *   120 8    reserved (0)
 *
 * signature = ECDSA P-256 over SHA-256(manifest[0..128)), as raw r || s
 * (64 bytes, big-endian each), so a device needs no ASN.1 parser.
 * On the wire (check answer): "manifest": base64(128 bytes),
 * "signature": base64(64 bytes).
 */
#ifndef FOTA_MANIFEST_H
#define FOTA_MANIFEST_H

#include <stdint.h>
#include "fota/version.h" /* the order of the manifest's version field */

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_MANIFEST_LEN   128u
#define FOTA_SIGNATURE_LEN  64u
#define FOTA_PUBKEY_LEN     64u   /* raw X || Y of a P-256 point */
#define FOTA_MANIFEST_MAGIC 0x4D544F46u
#define FOTA_MANIFEST_ALLOW_DOWNGRADE 0x01u /* flags bit: may replace a newer version */

struct fota_manifest {
    uint16_t chip_id;
    uint32_t size;
    uint32_t chunk_size;
    uint32_t secure_version;
    uint8_t  sha256[32];
    char     version[33];
    char     project[33];
    uint8_t  allow_downgrade;   /* flags bit 0 (1: signed to allow a downgrade) */
};

void fota_manifest_encode(const struct fota_manifest *m, uint8_t out[FOTA_MANIFEST_LEN]);

/* FOTA_OK, or FOTA_ERR_MANIFEST (magic, format, unknown flag bits, reserved
 * bytes, strings). */
int fota_manifest_decode(const uint8_t in[FOTA_MANIFEST_LEN], struct fota_manifest *m);

#ifdef __cplusplus
}
#endif
#endif
