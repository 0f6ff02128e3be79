/*
 * policy.c - the security policy of an update: the checks of an offer
 * before anything is erased (signed manifest, anti-rollback floor, no
 * downgrade unless the deployment allows it) and of the image head (chunk
 * 0) before it is written. Split from engine.c, which calls them at
 * fota_begin and for chunk 0; nothing here writes flash or the journal.
 */
#include "engine.h"
#include "fmt.h"
#include "le.h"

/* Two NUL-terminated version strings (at most FOTA_VERSION_MAX) are equal. */
static int same_version(const char *a, const char *b)
{
    uint32_t i;
    for (i = 0; i <= FOTA_VERSION_MAX; i++) {
        if (a[i] != b[i])
            return 0;
        if (!a[i])
            return 1;
    }
    return 1;
}

/*
 * Security checks of an offer, before anything is erased: the signed
 * manifest (when this device holds a public key), the anti-rollback floor,
 * and the version order (no downgrade unless allowed).
 *
 * Which fields decide: a device without a key has only the offer (its
 * version, secure_version and allow_downgrade, as the server states them).
 * A device with a key decides on the signed manifest only: its version
 * (the offer's must be the same string, else the offer is refused: a
 * relabelled offer is an attack, not a typo), its secure_version, and its
 * FOTA_MANIFEST_ALLOW_DOWNGRADE flag; the offer's allow_downgrade and
 * secure_version are ignored. A compromised server or an on-path proxy can
 * then replay an old genuine manifest but cannot make it a downgrade the
 * operator did not sign (docs/security.md, "Downgrades").
 */
int fota_policy_offer(struct fota *f, const struct fota_offer *o)
{
    const struct fota_config *c = f->cfg;
    struct fota_manifest m;
    const char *version = o->version;
    uint32_t sv = o->secure_version;
    int may_downgrade = o->allow_downgrade != 0;
    uint8_t h[32];
    int rc, cmp;

    if (c->sign_pubkey) {
        if (!o->has_manifest || !o->has_signature) {
            fota_log(f, FOTA_LOG_ERROR, "offer: release %u is not signed; this device requires "
                     "a manifest signed by its release key", o->release);
            return FOTA_ERR_UNSIGNED;
        }
        if (!c->ecdsa_p256_verify)
            return FOTA_ERR_PARAM;
        rc = c->sha256_start(c, f->hash.bytes);
        if (!rc)
            rc = c->sha256_update(c, f->hash.bytes, o->manifest, FOTA_MANIFEST_LEN);
        if (!rc)
            rc = c->sha256_finish(c, f->hash.bytes, h);
        if (!rc)
            rc = c->ecdsa_p256_verify(c, c->sign_pubkey, h, o->signature);
        if (rc) {
            fota_log(f, FOTA_LOG_ERROR, "offer: release %u: manifest signature does not verify "
                     "with this device's release key", o->release);
            return rc == FOTA_ERR_CRYPTO ? rc : FOTA_ERR_SIGNATURE;
        }
        rc = fota_manifest_decode(o->manifest, &m);
        if (!rc && (fota_ct_diff(m.sha256, o->sha256, 32) || m.size != o->size ||
                    m.chunk_size != o->chunk_size))
            rc = FOTA_ERR_MANIFEST;
        if (rc) {
            fota_log(f, FOTA_LOG_ERROR, "offer: release %u: signed manifest (size %u, chunk %u) "
                     "does not match the offer (size %u, chunk %u) or its SHA-256",
                     o->release, m.size, m.chunk_size, o->size, o->chunk_size);
            return FOTA_ERR_MANIFEST;
        }
        if (m.chip_id != (uint16_t)c->chip_id) {
            fota_log(f, FOTA_LOG_ERROR, "offer: signed for %s, this is %s",
                     fota_chip_name(m.chip_id), fota_chip_name(c->chip_id));
            return FOTA_ERR_IMG_CHIP;
        }
        if (!same_version(o->version, m.version)) {
            fota_log(f, FOTA_LOG_ERROR, "offer: release %u is offered as version \"%s\" but its "
                     "signed manifest says \"%s\"; refused", o->release, o->version, m.version);
            return FOTA_ERR_MANIFEST;
        }
        version = o->version; /* == m.version */
        sv = m.secure_version;
        may_downgrade = m.allow_downgrade != 0;
    }
    if (sv < f->min_secure) {
        fota_log(f, FOTA_LOG_ERROR, "offer: secure_version %u below this device's %u", sv,
                 f->min_secure);
        return FOTA_ERR_SECURE_VERSION;
    }
    if (!may_downgrade && f->running_version[0] &&
        fota_version_cmp(version, f->running_version, &cmp) == FOTA_OK && cmp < 0) {
        if (c->sign_pubkey)
            fota_log(f, FOTA_LOG_ERROR, "offer: version %s is older than the running %s and its "
                     "signed manifest does not allow a downgrade%s", version,
                     f->running_version, o->allow_downgrade ? " (the offer's unsigned "
                     "allow_downgrade is ignored)" : "");
        else
            fota_log(f, FOTA_LOG_ERROR, "offer: version %s is older than the running %s and the "
                     "deployment does not allow a downgrade", version, f->running_version);
        return FOTA_ERR_DOWNGRADE;
    }
    return FOTA_OK;
}

/* The image's own app descriptor (in chunk 0, in f->buf) against the floor
 * and the signed manifest: the manifest binds the bytes by SHA-256 anyway,
 * but an early, named refusal beats a late SHA mismatch. Fields are read in
 * place, not copied to the stack: this is on the deepest call chain. */
static int check_app_desc(struct fota *f, const uint8_t *b)
{
    const uint8_t *d = b + FOTA_APP_DESC_OFFSET;
    uint32_t sv = fota_le32(d + 4), i;
    const uint8_t *m = f->offer.manifest;

    if (sv < f->min_secure) {
        fota_log(f, FOTA_LOG_ERROR, "image: secure_version %u below this device's %u", sv,
                 f->min_secure);
        return FOTA_ERR_SECURE_VERSION;
    }
    if (!f->cfg->sign_pubkey)
        return FOTA_OK;
    /* manifest (decoded in fota_policy_offer): secure_version @16, project @88 */
    for (i = 0; i < 32 && m[88 + i] == d[48 + i] && d[48 + i]; i++)
        ;
    if (fota_le32(m + 16) != sv || (i < 32 && m[88 + i] != d[48 + i])) {
        fota_log(f, FOTA_LOG_ERROR, "image: app descriptor (secure_version %u) differs from "
                 "the signed manifest (%u) or its project", sv, fota_le32(m + 16));
        return FOTA_ERR_MANIFEST;
    }
    return FOTA_OK;
}

int fota_policy_head(struct fota *f, uint32_t len)
{
    return fota_policy_head_at(f, f->buf, len);
}

int fota_policy_head_at(struct fota *f, const uint8_t *b, uint32_t len)
{
    const struct fota_config *c = f->cfg;
    int rc = fota_img_check_head(b, len, c->chip_id, 0);

    if (rc) {
        if (rc == FOTA_ERR_IMG_CHIP)
            fota_log(f, FOTA_LOG_ERROR, "image: built for %s (chip id %u), this is %s",
                     fota_chip_name(fota_le16(b + 12)), (uint32_t)fota_le16(b + 12),
                     fota_chip_name(c->chip_id));
        else
            fota_log(f, FOTA_LOG_ERROR, "image: refused before erasing: %s", fota_strerror(rc));
        return rc;
    }
    return check_app_desc(f, b);
}
