/*
 * engine.c - the update engine of libfota: offer, download, verify, switch,
 * confirm, and recovery after a power cut.
 *
 * STATE DIAGRAM (f->phase; the journal phase in the state store in brackets)
 *
 *   IDLE
 *    │ fota_begin [downloading, committed = c]
 *    ▼
 *   DOWNLOADING ◀───────────────────────────┐
 *    │ v1: one chunk per step; v2: one      │
 *    │ stream per step. Fetch, parse, HMAC, │ read-back differs:
 *    │ erase ahead, program, commit at      │ [committed = 0]
 *    │ sector ends                          │
 *    ▼ last chunk                           │
 *   VERIFYING ──────────────────────────────┘
 *    │ read the slot back: SHA-256 of the release, image
 *    │ structure, appended hash
 *    ▼
 *   SWITCHING
 *    │ [installed] saved, then otadata NEW written to the
 *    │ sector not in force
 *    ▼
 *   INSTALLED ── reboot ──▶ bootloader: NEW -> PENDING_VERIFY, boots the new
 *                           slot on trial; fota_confirm: VALID, [none] -> IDLE
 *
 *   Any other failed step keeps its phase; fota_step may be called again.
 *   At fota_init, after any reboot, the journal and otadata decide what
 *   happened (recovery table below): resume the download, redo a boot switch
 *   that a cut undid, see a confirmed image, or see a rollback.
 *
 * INVARIANTS (numbered as in DESIGN.md; tests name the one they check)
 *
 *   1. No byte of a chunk reaches flash before its HMAC verified: chunks are
 *      decoded into f->buf, and fota_chunk_end() (v1) or fota_v2_frame()
 *      (v2) verifies the HMAC before accept_chunk() writes it; nothing else
 *      programs the slot.
 *   2. No allocation; RAM is struct fota (sized by FOTA_CHUNK_MAX) plus a
 *      bounded stack, whatever the image size.
 *   3. A cut anywhere leaves a bootable verified image, and the download
 *      resumes from the journal's committed offset: the running slot is never
 *      written; committed only advances after the sector it covers is fully
 *      programmed; a sector is erased right before its first write, so a torn
 *      sector is always at or after committed and gets erased again.
 *   4. The boot slot is switched only after the whole slot, read back from
 *      flash, matches the release SHA-256 and is a well-formed image; the
 *      journal says "installed" before otadata changes, so a cut between the
 *      two leads to a re-verify and a new switch, never to a blind one.
 *   5. The switch writes state NEW; the bootloader makes it PENDING_VERIFY and
 *      aborts it at the next boot unless fota_confirm() wrote VALID.
 *   6. Bad input gets its own error code, logged once with what was expected
 *      and what came, and leaves flash and journal as they were.
 */
#include "fota/fota.h"
#include "fmt.h"
#include "journal.h"
#include "le.h"
#include "slot.h"
#include "wire.h"

#define STATUS_EVERY_CHUNKS 64u
#define MAX_SWITCHES 3u

/* ---- small helpers -------------------------------------------------------- */

static uint32_t sector(const struct fota *f)
{
    return f->cfg->sector_size;
}

static int valid_id(const char *id)
{
    uint32_t n;
    if (!id)
        return 0;
    for (n = 0; id[n]; n++) {
        char c = id[n];
        if (n >= FOTA_ID_MAX ||
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return fota_device_id_valid(id, n); /* the rule: fota/device_id.h */
}

static int jload(struct fota *f, struct fota_jrec *r)
{
    int rc = fota_j_decode(f->journal, r);
    if (rc) {
        fota_log(f, FOTA_LOG_WARN, "journal: corrupt record (bad magic, version or CRC); starting over");
        fota_fill(r, 0, sizeof *r);
    }
    return FOTA_OK;
}

static int jsave(struct fota *f, struct fota_jrec *r)
{
    int rc;
    r->min_secure = f->min_secure; /* the anti-rollback floor rides along */
    fota_j_encode(r, f->journal);
    rc = f->cfg->store_save(f->cfg, f->journal, FOTA_JOURNAL_LEN);
    if (rc)
        fota_log(f, FOTA_LOG_ERROR, "journal: save failed: %s", fota_strerror(rc));
    return rc;
}

static unsigned update_slot(const struct fota *f)
{
    unsigned run = f->cfg->running_slot;
    if (run == FOTA_SLOT_FACTORY)
        return 0;
    return (run + 1u) % f->layout.slot_count;
}

static void progress(struct fota *f)
{
    f->prog.phase = f->phase;
    if (f->cfg->progress)
        f->cfg->progress(f->cfg, &f->prog);
}

static int http_error(struct fota *f, int status, const char *what)
{
    int rc;
    if (status == 401 || status == 403)
        rc = FOTA_ERR_AUTH;
    else if (status == 404)
        rc = FOTA_ERR_NOT_FOUND;
    else if (status == 429 || status >= 500)
        rc = FOTA_ERR_HTTP_RETRY;
    else if (status < 400)
        /* not an error status, but not the answer either: a stale response
         * left on a keep-alive connection, say. A broken exchange: retry.
         * (found by the link-fault campaign: a duplicated 204) */
        rc = FOTA_ERR_NET;
    else
        rc = FOTA_ERR_HTTP;
    fota_log(f, FOTA_LOG_WARN, "%s: expected HTTP 200, got %d (%s)", what, status,
             fota_errname(rc));
    return rc;
}

/* Auth headers of every device request. */
static void auth_headers(const struct fota *f, struct fota_http_header h[2])
{
    h[0].name = "X-Device-Id";
    h[0].value = f->cfg->device_id;
    h[1].name = "X-Device-Token";
    h[1].value = f->token;
}

/* ---- recovery at init ---------------------------------------------------- */

/*
 * What a reboot finds, as a table (journal phase x what booted x what
 * otadata says of the target slot) -> action. "target entry" is the valid
 * otadata entry with the highest seq, when it selects the target slot.
 */
enum rec_seen { SEEN_NONE, SEEN_TRIAL, SEEN_VALID, SEEN_ABORTED };
enum rec_act { ACT_KEEP, ACT_DROP, ACT_ON_TRIAL, ACT_CONFIRMED, ACT_ROLLED_BACK, ACT_RESWITCH };

static const uint8_t rec_table[2][2][4] = {
    /* journal downloading */
    {/* running != target */ {ACT_KEEP, ACT_KEEP, ACT_KEEP, ACT_KEEP},
     /* running == target: we never write the running slot; stale */
     {ACT_DROP, ACT_DROP, ACT_DROP, ACT_DROP}},
    /* journal installed */
    {/* running != target: the switch did not take, or it was rolled back */
     {ACT_RESWITCH, ACT_RESWITCH, ACT_RESWITCH, ACT_ROLLED_BACK},
     /* running == target */
     {ACT_RESWITCH, ACT_ON_TRIAL, ACT_CONFIRMED, ACT_RESWITCH}},
};

static enum rec_seen target_seen(const struct fota_ota_entry e[2], unsigned target,
                                 unsigned slot_count)
{
    int top = -1;
    unsigned i;
    for (i = 0; i < 2; i++)
        if (fota_ota_valid(&e[i]) && (top < 0 || e[i].seq > e[top].seq))
            top = (int)i;
    if (top < 0 || fota_ota_slot(e[top].seq, slot_count) != target)
        return SEEN_NONE;
    switch (e[top].state) {
    case FOTA_OTA_NEW:
    case FOTA_OTA_PENDING_VERIFY:
        return SEEN_TRIAL;
    case FOTA_OTA_INVALID:
    case FOTA_OTA_ABORTED:
        return SEEN_ABORTED;
    default: /* VALID, UNDEFINED: the image runs as a good one */
        return SEEN_VALID;
    }
}

/* Tell the server the running image is confirmed, then forget the update.
 * In that order: the journal stays "installed" until the report is
 * delivered, so a cut or a lost link before it makes the next boot's
 * recovery (ACT_CONFIRMED) report again; at worst the server hears it twice.
 * (A cut between forgetting and reporting lost it for good: found by the
 * power-cut campaign.) */
static int report_confirmed(struct fota *f, struct fota_jrec *r)
{
    if (fota_report(f, "confirmed", FOTA_OK) != FOTA_OK) {
        fota_log(f, FOTA_LOG_INFO, "confirm: status not delivered; reported at next boot");
        return FOTA_OK;
    }
    r->phase = FOTA_J_NONE;
    return jsave(f, r);
}

/* Remember the release as rolled back (it is not installed again by
 * itself) and tell the server. */
static int mark_rolled_back(struct fota *f, struct fota_jrec *r)
{
    int rc;
    r->phase = FOTA_J_ROLLED_BACK;
    rc = jsave(f, r);
    if (!rc)
        fota_report(f, "rolled_back", FOTA_ERR_ROLLED_BACK);
    return rc;
}

static int recover(struct fota *f)
{
    struct fota_jrec r;
    struct fota_ota_entry e[2];
    enum rec_seen seen;
    int rc, act;

    jload(f, &r);
    if (r.phase == FOTA_J_NONE || r.phase == FOTA_J_ROLLED_BACK)
        return FOTA_OK;
    if (r.target >= f->layout.slot_count || r.size > f->layout.slot_size[r.target]) {
        fota_log(f, FOTA_LOG_WARN, "journal: target ota_%u does not fit this table; dropped",
                 (uint32_t)r.target);
        r.phase = FOTA_J_NONE;
        return jsave(f, &r);
    }
    rc = fota_slot_read_otadata(f, e);
    if (rc)
        return rc;
    seen = target_seen(e, r.target, f->layout.slot_count);
    act = rec_table[r.phase == FOTA_J_INSTALLED][f->cfg->running_slot == r.target][seen];
    f->offer.release = r.release;
    f->offer.size = r.size;
    f->offer.chunk_size = r.chunk_size;
    fota_copy(f->offer.sha256, r.sha256, 32);
    f->prog.release = r.release;
    f->prog.bytes_total = r.size;
    f->prog.bytes_done = r.committed;
    if (r.chunk_size) {
        f->prog.chunks_total = r.size / r.chunk_size + (r.size % r.chunk_size != 0);
        f->prog.chunks_done = r.committed / r.chunk_size + (r.committed % r.chunk_size != 0);
    }

    switch (act) {
    case ACT_KEEP:
        return FOTA_OK;
    case ACT_DROP:
        r.phase = FOTA_J_NONE;
        return jsave(f, &r);
    case ACT_ON_TRIAL:
        f->phase = FOTA_PHASE_INSTALLED;
        fota_log(f, FOTA_LOG_INFO, "release %u runs on trial in ota_%u: confirm to keep it",
                 r.release, (uint32_t)r.target);
        return FOTA_OK;
    case ACT_CONFIRMED:
        return report_confirmed(f, &r);
    case ACT_ROLLED_BACK:
        fota_log(f, FOTA_LOG_WARN, "release %u never confirmed in ota_%u: rolled back",
                 r.release, (uint32_t)r.target);
        return mark_rolled_back(f, &r);
    default: /* ACT_RESWITCH */
        break;
    }
    /* The image was verified and the switch written, but otadata does not
     * show it (a cut in an in-place otadata rewrite) or the app is running
     * it without a trial entry. Verify again and switch again, a bounded
     * number of times. */
    if (r.switches >= MAX_SWITCHES) {
        fota_log(f, FOTA_LOG_WARN, "release %u: %u boot switches did not take; giving up",
                 r.release, (uint32_t)r.switches);
        return mark_rolled_back(f, &r);
    }
    if (f->cfg->running_slot == r.target) {
        /* running it already: make the next boot a trial again */
        fota_log(f, FOTA_LOG_WARN, "ota_%u runs without a trial entry; re-arming trial",
                 (uint32_t)r.target);
    }
    rc = fota_slot_verify(f, r.target, r.size, r.sha256);
    if (rc == FOTA_ERR_POWER_LOST || rc == FOTA_ERR_IO)
        return rc;
    if (rc) {
        r.phase = FOTA_J_DOWNLOADING; /* bytes are bad: download again */
        r.committed = 0;
        return jsave(f, &r);
    }
    r.switches++;
    rc = jsave(f, &r);
    if (!rc)
        rc = fota_slot_switch(f, r.target);
    if (!rc)
        f->phase = FOTA_PHASE_INSTALLED;
    return rc;
}

/* ---- API ------------------------------------------------------------------ */

int fota_init(struct fota *f, const struct fota_config *c)
{
    uint32_t i;
    int rc, done = 0;
    uint8_t mac[32];
    static const char pfx[] = "token:";

    if (!f || !c)
        return FOTA_ERR_PARAM;
    fota_fill(f, 0, sizeof *f);
    f->cfg = c;
    if (!c->flash_read || !c->flash_erase || !c->flash_program || !c->http_get ||
        !c->http_post || !c->sha256_start || !c->sha256_update || !c->sha256_finish ||
        !c->hmac_start || !c->hmac_update || !c->hmac_finish || !c->store_load ||
        !c->store_save || !c->device_key || c->sector_size != FOTA_SECTOR_SIZE) {
        fota_log(f, FOTA_LOG_ERROR, "init: incomplete config (a callback, key or sector size)");
        return FOTA_ERR_PARAM;
    }
    if (!valid_id(c->device_id)) {
        fota_log(f, FOTA_LOG_ERROR, "init: device id must be 1-64 of [A-Za-z0-9._-]");
        return FOTA_ERR_PARAM;
    }

    /* partition table, one entry at a time */
    fota_layout_init(&f->layout);
    for (i = 0; !done && i < FOTA_PT_MAX_LEN / FOTA_PT_ENTRY_LEN; i++) {
        rc = c->flash_read(c, FOTA_PT_OFFSET + i * FOTA_PT_ENTRY_LEN, f->buf, FOTA_PT_ENTRY_LEN);
        if (rc)
            return rc;
        rc = fota_layout_add(&f->layout, f->buf, &done);
        if (rc) {
            fota_log(f, FOTA_LOG_ERROR, "partition table: entry %u is malformed", i);
            return rc;
        }
    }
    rc = fota_layout_finish(&f->layout, c->flash_size);
    if (rc || f->layout.slot_count < 2) {
        fota_log(f, FOTA_LOG_ERROR,
                 "partition table: expected otadata and at least 2 OTA slots within %u bytes, "
                 "found %u slots", c->flash_size, (uint32_t)f->layout.slot_count);
        return rc ? rc : FOTA_ERR_NO_SLOT;
    }
    if (c->running_slot != FOTA_SLOT_FACTORY && c->running_slot >= f->layout.slot_count) {
        fota_log(f, FOTA_LOG_ERROR, "init: running slot %u is not an OTA slot",
                 (uint32_t)c->running_slot);
        return FOTA_ERR_PARAM;
    }

    /* device token: hex(HMAC(key, "token:" + id)) */
    rc = c->hmac_start(c, f->hash.bytes, c->device_key, FOTA_KEY_LEN);
    if (!rc)
        rc = c->hmac_update(c, f->hash.bytes, (const uint8_t *)pfx, sizeof pfx - 1);
    if (!rc)
        rc = c->hmac_update(c, f->hash.bytes, (const uint8_t *)c->device_id,
                            (uint32_t)fota_strnlen(c->device_id, FOTA_ID_MAX));
    if (!rc)
        rc = c->hmac_finish(c, f->hash.bytes, mac);
    if (rc)
        return rc;
    fota_hex(mac, 32, f->token);

    rc = c->store_load(c, f->journal, FOTA_JOURNAL_LEN);
    if (rc)
        return rc;
    {
        struct fota_jrec r;
        jload(f, &r);
        f->min_secure = fota_j_floor_load(c, r.min_secure); /* journal, floor store, config */
    }
    f->phase = FOTA_PHASE_IDLE;
    return recover(f);
}

int fota_check(struct fota *f, const char *running_version, struct fota_offer *offer)
{
    struct fota_http_header h[2];
    char path[48 + 3 * FOTA_VERSION_MAX];
    uint32_t len;
    int rc, status = 0;

    if (!f || !f->cfg || !offer)
        return FOTA_ERR_PARAM;
    len = fota_fmt(path, sizeof path, "%s?version=", FOTA_PATH_CHECK);
    fota_urlenc(path, sizeof path, &len, running_version ? running_version : "");
    /* the anti-rollback floor, so the server offers nothing below it; old
     * servers never see the parameter from a device without a floor */
    if (f->min_secure && len < sizeof path)
        len += fota_fmt(path + len, sizeof path - len, "&secure_version=%u", f->min_secure);
    if (len >= sizeof path)
        return FOTA_ERR_PARAM;
    fota_fill(f->running_version, 0, sizeof f->running_version);
    fota_copy(f->running_version, running_version ? running_version : "",
              fota_strnlen(running_version ? running_version : "", FOTA_VERSION_MAX));
    auth_headers(f, h);
    fota_check_begin(f);
    f->http_status = &status;
    rc = f->cfg->http_get(f->cfg, path, h, 2, fota_check_body, f, &status);
    f->http_status = 0;
    if (rc == FOTA_OK && status != 200)
        return http_error(f, status, "check");
    if (rc == FOTA_OK)
        rc = fota_check_end(f);
    if (rc) {
        fota_log(f, FOTA_LOG_WARN, "check: refused the answer: %s", fota_strerror(rc));
        return rc;
    }
    *offer = f->offer;
    return FOTA_OK;
}

/*
 * Security checks of an offer, before anything is erased: the signed
 * manifest (when this device holds a public key), the anti-rollback floor,
 * and the version order (no downgrade unless the deployment allows it).
 */
static int check_release(struct fota *f, const struct fota_offer *o)
{
    const struct fota_config *c = f->cfg;
    struct fota_manifest m;
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
        if (m.secure_version < f->min_secure) {
            fota_log(f, FOTA_LOG_ERROR, "offer: secure_version %u below this device's %u",
                     m.secure_version, f->min_secure);
            return FOTA_ERR_SECURE_VERSION;
        }
    }
    if (o->secure_version < f->min_secure) {
        fota_log(f, FOTA_LOG_ERROR, "offer: secure_version %u below this device's %u",
                 o->secure_version, f->min_secure);
        return FOTA_ERR_SECURE_VERSION;
    }
    if (!o->allow_downgrade && f->running_version[0] &&
        fota_version_cmp(o->version, f->running_version, &cmp) == FOTA_OK && cmp < 0) {
        fota_log(f, FOTA_LOG_ERROR, "offer: version %s is older than the running %s and the "
                 "deployment does not allow a downgrade", o->version, f->running_version);
        return FOTA_ERR_DOWNGRADE;
    }
    return FOTA_OK;
}

int fota_begin(struct fota *f, const struct fota_offer *o)
{
    struct fota_jrec r;
    unsigned slot;
    uint32_t cs;
    int rc;

    if (!f || !f->cfg || !o)
        return FOTA_ERR_PARAM;
    if (f->phase == FOTA_PHASE_INSTALLED) {
        fota_log(f, FOTA_LOG_WARN, "begin: an installed image waits for reboot or confirm");
        return FOTA_ERR_STATE;
    }
    cs = o->chunk_size;
    if (!o->update || o->size < FOTA_IMG_HEAD_LEN || cs == 0 ||
        o->total_chunks != o->size / cs + (o->size % cs != 0)) {
        fota_log(f, FOTA_LOG_ERROR,
                 "offer: inconsistent (size %u, chunk_size %u, total_chunks %u)", o->size, cs,
                 o->total_chunks);
        return FOTA_ERR_OFFER;
    }
    if (cs < FOTA_CHUNK_MIN || cs > FOTA_CHUNK_MAX || sector(f) % cs) {
        fota_log(f, FOTA_LOG_ERROR,
                 "offer: chunk_size %u unsupported: expected %u..%u dividing %u", cs,
                 FOTA_CHUNK_MIN, FOTA_CHUNK_MAX, sector(f));
        return FOTA_ERR_CHUNK_SIZE;
    }
    rc = check_release(f, o);
    if (rc)
        return rc;
    slot = update_slot(f);
    if (o->size > f->layout.slot_size[slot]) {
        fota_log(f, FOTA_LOG_ERROR, "offer: image is %u bytes, slot ota_%u holds %u", o->size,
                 (uint32_t)slot, f->layout.slot_size[slot]);
        return FOTA_ERR_SLOT_SIZE;
    }
    jload(f, &r);
    if (r.phase == FOTA_J_ROLLED_BACK && !fota_ct_diff(r.sha256, o->sha256, 32)) {
        fota_log(f, FOTA_LOG_WARN, "offer: release %u was rolled back on this device; refused",
                 o->release);
        return FOTA_ERR_ROLLED_BACK;
    }
    f->offer = *o;
    f->target_slot = (uint8_t)slot;
    fota_fill(&f->prog, 0, sizeof f->prog);
    f->prog.release = o->release;
    f->prog.bytes_total = o->size;
    f->prog.chunks_total = o->total_chunks;
    if (r.phase == FOTA_J_DOWNLOADING && r.release == o->release && r.size == o->size &&
        r.chunk_size == cs && r.target == slot && !fota_ct_diff(r.sha256, o->sha256, 32) &&
        (r.committed % sector(f) == 0 || r.committed == r.size)) {
        f->next_chunk = r.committed / cs;
        fota_log(f, FOTA_LOG_INFO, "resume: release %u from byte %u of %u", o->release,
                 r.committed, o->size);
    } else {
        fota_fill(&r, 0, sizeof r);
        r.phase = FOTA_J_DOWNLOADING;
        r.target = (uint8_t)slot;
        r.release = o->release;
        r.size = o->size;
        r.chunk_size = cs;
        fota_copy(r.sha256, o->sha256, 32);
        f->next_chunk = 0;
        rc = jsave(f, &r);
        if (rc)
            return rc; /* FOTA_ERR_POWER_LOST or the store's own error */
    }
    f->prog.resumed_from = r.committed;
    f->erased_until = r.committed;
    {
        uint32_t mine = f->cfg->protocols ? f->cfg->protocols : FOTA_PROTO_V1 | FOTA_PROTO_V2;
        f->use_v2 = (mine & o->protocols & FOTA_PROTO_V2) != 0;
        if (!(mine & FOTA_PROTO_V1) && !f->use_v2) {
            fota_log(f, FOTA_LOG_ERROR, "offer: no protocol in common with the server");
            return FOTA_ERR_OFFER;
        }
    }
    f->prog.bytes_done = r.committed;
    f->prog.chunks_done = f->next_chunk;
    f->phase = r.committed == o->size ? FOTA_PHASE_VERIFYING : FOTA_PHASE_DOWNLOADING;
    progress(f);
    return FOTA_OK;
}

/* The image's own app descriptor (in chunk 0, in f->buf) against the floor
 * and the signed manifest: the manifest binds the bytes by SHA-256 anyway,
 * but an early, named refusal beats a late SHA mismatch. Fields are read in
 * place, not copied to the stack: this is on the deepest call chain. */
static int check_app_desc(struct fota *f)
{
    const uint8_t *d = f->buf + FOTA_APP_DESC_OFFSET;
    uint32_t sv = fota_le32(d + 4), i;
    const uint8_t *m = f->offer.manifest;

    if (sv < f->min_secure) {
        fota_log(f, FOTA_LOG_ERROR, "image: secure_version %u below this device's %u", sv,
                 f->min_secure);
        return FOTA_ERR_SECURE_VERSION;
    }
    if (!f->cfg->sign_pubkey)
        return FOTA_OK;
    /* manifest (decoded in check_release): secure_version @16, project @88 */
    for (i = 0; i < 32 && m[88 + i] == d[48 + i] && d[48 + i]; i++)
        ;
    if (fota_le32(m + 16) != sv || (i < 32 && m[88 + i] != d[48 + i])) {
        fota_log(f, FOTA_LOG_ERROR, "image: app descriptor (secure_version %u) differs from "
                 "the signed manifest (%u) or its project", sv, fota_le32(m + 16));
        return FOTA_ERR_MANIFEST;
    }
    return FOTA_OK;
}

/*
 * Chunk n (len bytes in f->buf) has verified: check the image head (chunk
 * 0), write it, commit at sector ends, report progress. The only way bytes
 * reach the update slot; callers call it only after the chunk's HMAC
 * verified (invariant 1).
 */
static int accept_chunk(struct fota *f, uint32_t n, uint32_t len)
{
    const struct fota_config *c = f->cfg;
    uint32_t off = n * f->offer.chunk_size, end = off + len;
    struct fota_jrec r;
    int rc;

    if (n == 0) {
        rc = fota_img_check_head(f->buf, len, c->chip_id, 0);
        if (rc) {
            if (rc == FOTA_ERR_IMG_CHIP)
                fota_log(f, FOTA_LOG_ERROR, "image: built for %s (chip id %u), this is %s",
                         fota_chip_name(fota_le16(f->buf + 12)), (uint32_t)fota_le16(f->buf + 12),
                         fota_chip_name(c->chip_id));
            else
                fota_log(f, FOTA_LOG_ERROR, "image: refused before erasing: %s",
                         fota_strerror(rc));
            return rc;
        }
        rc = check_app_desc(f);
        if (rc)
            return rc;
    }
    rc = fota_slot_write(f, off, len);
    if (rc)
        return rc;
    f->next_chunk = n + 1;
    f->prog.chunks_done = n + 1;
    f->prog.bytes_done = end;
    f->prog.chunks_fetched++;
    f->prog.bytes_fetched += len;
    if (end % sector(f) == 0 || end == f->offer.size) {
        jload(f, &r);
        r.committed = end;
        rc = jsave(f, &r);
        if (rc)
            return rc;
    }
    if (end == f->offer.size)
        f->phase = FOTA_PHASE_VERIFYING;
    progress(f);
    return FOTA_OK;
}

static uint32_t chunk_len(const struct fota *f, uint32_t n)
{
    uint32_t off = n * f->offer.chunk_size;
    return f->offer.size - off < f->offer.chunk_size ? f->offer.size - off : f->offer.chunk_size;
}

/* v1: one request per chunk. */
static int step_chunk(struct fota *f)
{
    const struct fota_config *c = f->cfg;
    struct fota_http_header h[2];
    uint32_t n = f->next_chunk, len = chunk_len(f, n);
    char path[64];
    int rc, status = 0;

    fota_fmt(path, sizeof path, "%s?chunk=%u&release=%u", FOTA_PATH_CHUNK, n, f->offer.release);
    auth_headers(f, h);
    fota_chunk_begin(&f->p.chunk, len);
    f->http_status = &status;
    rc = c->http_get(c, path, h, 2, fota_chunk_body, f, &status);
    f->http_status = 0;
    if (rc == FOTA_OK && status != 200)
        return http_error(f, status, "chunk");
    if (rc == FOTA_OK)
        rc = fota_chunk_end(f, n);
    if (rc) {
        if (rc == FOTA_ERR_CHUNK_INDEX)
            fota_log(f, FOTA_LOG_WARN, "chunk %u: refused: chunk_number is %u", n,
                     f->p.chunk.number);
        else if (rc == FOTA_ERR_CHUNK_LEN)
            fota_log(f, FOTA_LOG_WARN, "chunk %u: refused: expected %u bytes, got %u", n, len,
                     f->p.chunk.data_len);
        else
            fota_log(f, FOTA_LOG_WARN, "chunk %u: refused: %s", n, fota_strerror(rc));
        return rc;
    }
    return accept_chunk(f, n, len); /* verified: may reach flash */
}

/* v2: a frame of the stream is complete in f->buf. */
int fota_v2_frame(struct fota *f, uint32_t index, uint32_t len, const uint8_t hmac[32])
{
    uint8_t mac[32];
    int rc;

    if (index != f->next_chunk) {
        fota_log(f, FOTA_LOG_WARN, "stream: expected chunk %u, got %u", f->next_chunk, index);
        return FOTA_ERR_CHUNK_INDEX;
    }
    if (f->next_chunk >= f->offer.total_chunks || len != chunk_len(f, index)) {
        fota_log(f, FOTA_LOG_WARN, "stream: chunk %u: expected %u bytes, got %u", index,
                 f->next_chunk < f->offer.total_chunks ? chunk_len(f, index) : 0u, len);
        return FOTA_ERR_CHUNK_LEN;
    }
    rc = fota_chunk_hmac(f, f->offer.sha256, index, f->buf, len, mac);
    if (rc)
        return rc;
    if (fota_ct_diff(mac, hmac, 32)) {
        fota_log(f, FOTA_LOG_WARN, "stream: chunk %u: HMAC does not verify", index);
        return FOTA_ERR_HMAC;
    }
    return accept_chunk(f, index, len); /* verified: may reach flash */
}

/* v2: one request streams the rest of the image from next_chunk. */
static int step_stream(struct fota *f)
{
    const struct fota_config *c = f->cfg;
    struct fota_http_header h[2];
    char path[80];
    int rc, status = 0;

    fota_fmt(path, sizeof path, "%s?release=%u&from=%u", FOTA_PATH_STREAM, f->offer.release,
             f->next_chunk);
    auth_headers(f, h);
    fota_v2_begin(&f->p.v2);
    f->http_status = &status;
    rc = c->http_get(c, path, h, 2, fota_v2_body, f, &status);
    f->http_status = 0;
    if (rc == FOTA_OK && (status == 404 || status == 400 || status == 405 || status == 501)) {
        /* a server without v2 at this path: v1 from here on, no attempt lost */
        fota_log(f, FOTA_LOG_INFO, "stream: HTTP %d; falling back to protocol v1", status);
        f->use_v2 = 0;
        return FOTA_OK;
    }
    if (rc == FOTA_OK && status != 200)
        return http_error(f, status, "stream");
    if (rc == FOTA_OK && f->phase == FOTA_PHASE_DOWNLOADING) {
        fota_log(f, FOTA_LOG_WARN, "stream: ended at chunk %u of %u", f->next_chunk,
                 f->offer.total_chunks);
        return FOTA_ERR_TRUNCATED;
    }
    if (rc && rc != FOTA_ERR_POWER_LOST && rc != FOTA_ERR_NET)
        fota_log(f, FOTA_LOG_WARN, "stream: stopped at chunk %u: %s", f->next_chunk,
                 fota_strerror(rc));
    return rc;
}

static int step_verify(struct fota *f)
{
    struct fota_jrec r;
    int rc = fota_slot_verify(f, f->target_slot, f->offer.size, f->offer.sha256);

    if (rc == FOTA_ERR_POWER_LOST || rc == FOTA_ERR_IO)
        return rc;
    if (rc) {
        /* the slot does not hold the release: download it again */
        jload(f, &r);
        r.committed = 0;
        f->next_chunk = 0;
        f->erased_until = 0;
        f->phase = FOTA_PHASE_DOWNLOADING;
        jsave(f, &r);
        return rc;
    }
    f->phase = FOTA_PHASE_SWITCHING;
    progress(f);
    return FOTA_OK;
}

static int step_switch(struct fota *f)
{
    struct fota_jrec r;
    int rc;

    jload(f, &r);
    r.phase = FOTA_J_INSTALLED; /* before otadata: invariant 4 */
    r.committed = f->offer.size;
    r.switches = 1;
    rc = jsave(f, &r);
    if (!rc)
        rc = fota_slot_switch(f, f->target_slot);
    if (rc)
        return rc;
    f->phase = FOTA_PHASE_INSTALLED;
    progress(f);
    return FOTA_OK;
}

int fota_step(struct fota *f)
{
    if (!f || !f->cfg)
        return FOTA_ERR_PARAM;
    switch (f->phase) {
    case FOTA_PHASE_DOWNLOADING:
        return f->use_v2 ? step_stream(f) : step_chunk(f);
    case FOTA_PHASE_VERIFYING:
        return step_verify(f);
    case FOTA_PHASE_SWITCHING:
        return step_switch(f);
    case FOTA_PHASE_INSTALLED:
        return FOTA_OK;
    default:
        return FOTA_ERR_STATE;
    }
}

/* Errors worth another attempt: the link, the server's load, and anything a
 * corrupted transfer produces. Everything else is final. */
static int retry_worthy(int rc)
{
    switch (rc) {
    case FOTA_ERR_NET: case FOTA_ERR_HTTP_RETRY: case FOTA_ERR_JSON:
    case FOTA_ERR_FIELD_MISSING: case FOTA_ERR_FIELD_UNKNOWN: case FOTA_ERR_FIELD_DUP:
    case FOTA_ERR_FIELD_TYPE: case FOTA_ERR_TOO_LARGE: case FOTA_ERR_TRUNCATED:
    case FOTA_ERR_BASE64: case FOTA_ERR_CHUNK_INDEX: case FOTA_ERR_CHUNK_LEN:
    case FOTA_ERR_HMAC: case FOTA_ERR_SHA256:
        return 1;
    default:
        return 0;
    }
}

/* Exponential backoff with "equal jitter": half the delay fixed, half random,
 * so a fleet that lost its server at once does not come back at once. */
static void backoff(struct fota *f, uint32_t attempt)
{
    const struct fota_config *c = f->cfg;
    uint32_t base = c->backoff_base_ms ? c->backoff_base_ms : 500u;
    uint32_t cap = c->backoff_max_ms ? c->backoff_max_ms : 30000u;
    uint32_t d = base, i, r;

    for (i = 1; i < attempt && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2u;
    if (d > cap)
        d = cap;
    r = c->random ? c->random(c) : 0u;
    d = d / 2u + (d / 2u ? r % (d / 2u + 1u) : 0u);
    if (c->sleep_ms)
        c->sleep_ms(c, d);
}

int fota_run(struct fota *f, const struct fota_offer *o)
{
    uint32_t attempts = 0, max, last_report = 0;
    int rc;

    if (!f || !f->cfg || !o)
        return FOTA_ERR_PARAM;
    max = f->cfg->max_attempts ? f->cfg->max_attempts : 8u;
    rc = fota_begin(f, o);
    if (rc) {
        /* a rolled-back release is reported as such again: the report at
         * the rollback itself may not have reached the server */
        f->offer.release = o->release; /* the report names the refused release */
        fota_report(f, rc == FOTA_ERR_ROLLED_BACK ? "rolled_back" : "failed", rc);
        return rc;
    }
    /* v2: the stream request itself tells the server the device is
     * downloading (and from where), so the round trip is saved; v1 reports
     * here and every STATUS_EVERY_CHUNKS chunks */
    if (!f->use_v2)
        fota_report(f, "downloading", FOTA_OK);
    while (f->phase != FOTA_PHASE_INSTALLED) {
        int before = f->phase;
        uint32_t done_before = f->prog.chunks_done;
        rc = fota_step(f);
        if (rc && f->prog.chunks_done > done_before)
            attempts = 0; /* a v2 stream that broke after progress: not a failed attempt */
        if (rc == FOTA_OK) {
            attempts = 0;
            if (f->phase == FOTA_PHASE_DOWNLOADING &&
                f->prog.chunks_done - last_report >= STATUS_EVERY_CHUNKS) {
                last_report = f->prog.chunks_done;
                fota_report(f, "downloading", FOTA_OK);
            }
            if (before == FOTA_PHASE_DOWNLOADING && f->phase == FOTA_PHASE_VERIFYING &&
                !f->use_v2)
                fota_report(f, "verifying", FOTA_OK); /* v2: "installed" follows in ms */
            continue;
        }
        if (!retry_worthy(rc) || ++attempts >= max) {
            if (retry_worthy(rc)) {
                fota_log(f, FOTA_LOG_ERROR, "update: gave up after %u attempts: %s", attempts,
                         fota_strerror(rc));
                rc = FOTA_ERR_RETRIES;
            }
            if (rc != FOTA_ERR_POWER_LOST)
                fota_report(f, "failed", rc);
            return rc;
        }
        f->prog.retries++;
        backoff(f, attempts);
    }
    fota_report(f, "installed", FOTA_OK);
    return FOTA_OK;
}

int fota_phase(const struct fota *f)
{
    return f ? f->phase : FOTA_PHASE_IDLE;
}

void fota_get_progress(const struct fota *f, struct fota_progress *p)
{
    *p = f->prog;
    p->phase = f->phase;
}

int fota_confirm(struct fota *f)
{
    struct fota_ota_entry e[2];
    struct fota_jrec r;
    int a, rc;

    if (!f || !f->cfg)
        return FOTA_ERR_PARAM;
    rc = fota_slot_read_otadata(f, e);
    if (rc)
        return rc;
    a = fota_ota_active(e);
    if (a < 0 || fota_ota_slot(e[a].seq, f->layout.slot_count) != f->cfg->running_slot) {
        fota_log(f, FOTA_LOG_WARN, "confirm: the running slot ota_%u is not the one otadata selects",
                 (uint32_t)f->cfg->running_slot);
        return FOTA_ERR_NOTHING_PENDING;
    }
    if (e[a].state != FOTA_OTA_VALID) {
        /* in place, as esp_ota_mark_app_valid_cancel_rollback() does; a cut
         * here leaves the other entry in force and recovery re-switches */
        e[a].state = FOTA_OTA_VALID;
        rc = fota_slot_write_otadata(f, (unsigned)a, &e[a]);
        if (rc)
            return rc;
        fota_log(f, FOTA_LOG_INFO, "confirm: ota_%u marked VALID", (uint32_t)f->cfg->running_slot);
    }
    /* anti-rollback: a confirmed image raises the floor to its
     * secure_version, as ESP-IDF burns it into eFuse on confirm */
    if (f->cfg->running_slot < f->layout.slot_count) {
        uint8_t sv[4];
        rc = f->cfg->flash_read(f->cfg, f->layout.slot_offset[f->cfg->running_slot] +
                                            FOTA_APP_DESC_OFFSET + 4, sv, 4);
        if (rc)
            return rc;
        if (fota_le32(sv) > f->min_secure && fota_le32(sv) != 0xFFFFFFFFu) {
            f->min_secure = fota_le32(sv);
            rc = fota_j_floor_save(f->cfg, f->min_secure); /* apart from the journal */
            jload(f, &r);
            if (!rc)
                rc = jsave(f, &r);
            if (rc)
                return rc;
            fota_log(f, FOTA_LOG_INFO, "confirm: secure_version floor is now %u", f->min_secure);
        }
    }
    jload(f, &r);
    if (r.phase == FOTA_J_INSTALLED && r.target == f->cfg->running_slot) {
        f->offer.release = r.release;
        if (r.chunk_size)
            f->prog.chunks_done = r.size / r.chunk_size + (r.size % r.chunk_size != 0);
        f->phase = FOTA_PHASE_IDLE;
        return report_confirmed(f, &r);
    }
    return FOTA_OK;
}

int fota_boot_info(struct fota *f, struct fota_boot_info *bi)
{
    struct fota_ota_entry e[2];
    int a, rc;
    unsigned slot;

    if (!f || !f->cfg || !bi)
        return FOTA_ERR_PARAM;
    rc = fota_slot_read_otadata(f, e);
    if (rc)
        return rc;
    a = fota_ota_active(e);
    fota_fill(bi, 0, sizeof *bi);
    bi->running_slot = f->cfg->running_slot;
    bi->next_slot = a < 0 ? 0u : fota_ota_slot(e[a].seq, f->layout.slot_count);
    bi->running_state = FOTA_OTA_UNDEFINED;
    if (a >= 0 && bi->next_slot == bi->running_slot)
        bi->running_state = e[a].state;
    bi->pending = bi->running_state == FOTA_OTA_PENDING_VERIFY;
    slot = update_slot(f);
    bi->update_slot = slot;
    bi->update_slot_size = f->layout.slot_size[slot];
    return FOTA_OK;
}

int fota_report(struct fota *f, const char *state, int err)
{
    struct fota_http_header h[3];
    char body[160];
    uint32_t len;
    int rc, status = 0;

    if (!f || !f->cfg || !state)
        return FOTA_ERR_PARAM;
    len = fota_fmt(body, sizeof body,
                   "{\"release\": %u, \"state\": \"%s\", \"chunks_received\": %u, \"error\": \"%s\"}",
                   f->offer.release, state, f->prog.chunks_done, err ? fota_errname(err) : "");
    auth_headers(f, h);
    h[2].name = "Content-Type";
    h[2].value = "application/json";
    rc = f->cfg->http_post(f->cfg, FOTA_PATH_STATUS, h, 3, body, len, &status);
    if (rc == FOTA_OK && status != 204 && status != 200)
        rc = http_error(f, status, "status");
    if (rc)
        fota_log(f, FOTA_LOG_WARN, "status '%s' not delivered: %s", state, fota_strerror(rc));
    return rc;
}
