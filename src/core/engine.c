/*
 * engine.c - the update state machine of libfota: offer, download, verify,
 * switch, confirm, and recovery after a power cut. The HTTP requests live in
 * request.c, the retry policy in retry.c, the security checks in policy.c,
 * the flash work in slot.c (engine.h tells who calls whom: always from here
 * outward). Otadata is the platform's: the engine switches, confirms and
 * asks through the port's boot_* callbacks.
 *
 * STATE DIAGRAM (f->phase; the journal phase in the state store in brackets)
 *
 *   IDLE
 *    │ fota_begin [downloading, committed = c]
 *    ▼
 *   DOWNLOADING ◀───────────────────────────┐
 *    │ v1: one chunk per step; v2: one      │
 *    │ stream per step. Fetch, parse, check │ read-back differs:
 *    │ (take_chunk), erase ahead, program,  │ [committed = 0]
 *    │ commit at sector ends                │
 *    ▼ last chunk                           │
 *   VERIFYING ──────────────────────────────┘
 *    │ read the update partition back: SHA-256 of the release, image
 *    │ structure, appended hash
 *    ▼
 *   SWITCHING ── the platform refuses (its own image or signature check):
 *    │            [rolled back], IDLE; the running image stays
 *    │ [installed] saved, then boot_set(update partition): the port writes
 *    │ otadata NEW to the sector not in force (esp_ota_set_boot_partition)
 *    ▼
 *   INSTALLED ── reboot ──▶ bootloader: NEW -> PENDING_VERIFY, boots the new
 *                           slot on trial; fota_confirm: boot_confirm (VALID),
 *                           [none] -> IDLE
 *
 *   Any other failed step keeps its phase; fota_step may be called again.
 *   At fota_init, after any reboot, the journal and boot_state decide what
 *   happened (recovery table below): resume the download, redo a boot switch
 *   that a cut undid, see a confirmed image, or see a rollback.
 *
 * INVARIANTS (numbered as in DESIGN.md; tests name the one they check)
 *
 *   1. No byte of a chunk reaches flash before its HMAC verified: the
 *      parsers (wire.c) decode a chunk into f->buf and hand it back
 *      unverified, v1 and v2 alike; take_chunk() checks its index, length
 *      and HMAC and only then calls accept_chunk(), the one caller of the
 *      slot writer.
 *   2. No allocation; RAM is struct fota (sized by FOTA_CHUNK_MAX) plus a
 *      bounded stack, whatever the image size.
 *   3. A cut anywhere leaves a bootable verified image, and the download
 *      resumes from the journal's committed offset: the running partition is
 *      never written; committed only advances after the sector it covers is
 *      fully programmed; a sector is erased right before its first write (or
 *      with its 64 KB block), so a torn sector is always at or after
 *      committed and gets erased again.
 *   4. The boot slot is switched only after the whole partition, read back
 *      through the port, matches the release SHA-256 and is a well-formed
 *      image; the journal says "installed" before boot_set, so a cut between
 *      the two leads to a re-verify and a new switch, never to a blind one.
 *   5. The switch is boot_set, which writes state NEW; the bootloader makes
 *      it PENDING_VERIFY and aborts it at the next boot unless fota_confirm()
 *      had boot_confirm write VALID.
 *   6. Bad input gets its own error code, logged once with what was expected
 *      and what came, and leaves flash and journal as they were.
 */
#include "engine.h"
#include "fmt.h"
#include "le.h"
#include "wire.h"

#define STATUS_EVERY_CHUNKS 64u
#define MAX_SWITCHES 3u

/* ---- small helpers -------------------------------------------------------- */

/* The id's length, bounded (no strlen in the core), then the one rule of
 * fota/device_id.h: charset, length and no leading dot are checked there. */
static int valid_id(const char *id)
{
    uint32_t n = 0;
    if (!id)
        return 0;
    while (n <= FOTA_ID_MAX && id[n])
        n++;
    return fota_device_id_valid(id, n);
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

static void progress(struct fota *f)
{
    f->prog.phase = f->phase;
    if (f->cfg->progress)
        f->cfg->progress(f->cfg, &f->prog);
}

/* What the chunks carry: the image, or a patch stream that makes it. */
static uint32_t xfer_size(const struct fota *f)
{
    return f->offer.encoding != FOTA_ENC_FULL ? f->offer.patch_size : f->offer.size;
}

static const uint8_t *xfer_sha(const struct fota *f)
{
    return f->offer.encoding != FOTA_ENC_FULL ? f->offer.patch_sha256 : f->offer.sha256;
}

static uint32_t xfer_chunks(const struct fota *f)
{
    uint32_t cs = f->offer.chunk_size;
    return xfer_size(f) / cs + (xfer_size(f) % cs != 0);
}

static uint32_t chunk_len(const struct fota *f, uint32_t n)
{
    uint32_t off = n * f->offer.chunk_size, size = xfer_size(f);
    return size - off < f->offer.chunk_size ? size - off : f->offer.chunk_size;
}

/* The running image is the one otadata selects and has an entry for: *st
 * gets its state. FOTA_ERR_NOTHING_PENDING when it is not (nothing on
 * trial, nothing to confirm or roll back). */
static int running_selected(struct fota *f, uint32_t *st)
{
    const struct fota_config *c = f->cfg;
    struct fota_part b;
    int rc = c->part_get(c, FOTA_PART_BOOT, &b);
    if (!rc)
        rc = c->boot_state(c, &f->running, st);
    if (rc)
        return rc;
    if (b.index != f->running.index || *st == FOTA_OTA_NO_ENTRY) {
        fota_log(f, FOTA_LOG_WARN, "boot: the running slot ota_%u is not the one otadata selects",
                 (uint32_t)f->running.index);
        return FOTA_ERR_NOTHING_PENDING;
    }
    return FOTA_OK;
}

/* The running image's otadata state when otadata selects it, without the
 * warning of running_selected (at init nothing is asked of it). */
static int running_selected_quiet(struct fota *f, uint32_t *st)
{
    const struct fota_config *c = f->cfg;
    struct fota_part b;
    int rc = c->part_get(c, FOTA_PART_BOOT, &b);
    if (!rc)
        rc = c->boot_state(c, &f->running, st);
    if (!rc && (b.index != f->running.index || *st == FOTA_OTA_NO_ENTRY))
        rc = FOTA_ERR_NOTHING_PENDING;
    return rc;
}

/* ---- recovery at init ---------------------------------------------------- */

/*
 * What a reboot finds, as a table (journal phase x what booted x what
 * boot_state says of the target slot) -> action.
 */
/* SEEN_UNTRIED: NEW or UNDEFINED. A bootloader with rollback turns NEW
 * into PENDING_VERIFY before the app runs, so the app that finds its own
 * fresh entry still NEW (or UNDEFINED, what esp_ota_set_boot_partition
 * writes in an app built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE)
 * was booted without a trial: nothing will roll it back (invariant 5 is
 * off on this device). ACT_UNTRIED says so, once, to the server. */
enum rec_seen { SEEN_NONE, SEEN_TRIAL, SEEN_VALID, SEEN_ABORTED, SEEN_UNTRIED };
enum rec_act {
    ACT_KEEP, ACT_DROP, ACT_ON_TRIAL, ACT_CONFIRMED, ACT_ROLLED_BACK, ACT_RESWITCH, ACT_UNTRIED
};

static const uint8_t rec_table[2][2][5] = {
    /* journal downloading */
    {/* running != target */ {ACT_KEEP, ACT_KEEP, ACT_KEEP, ACT_KEEP, ACT_KEEP},
     /* running == target: we never write the running slot; stale */
     {ACT_DROP, ACT_DROP, ACT_DROP, ACT_DROP, ACT_DROP}},
    /* journal installed */
    {/* running != target: the switch did not take, or it was rolled back */
     {ACT_RESWITCH, ACT_RESWITCH, ACT_RESWITCH, ACT_ROLLED_BACK, ACT_RESWITCH},
     /* running == target */
     {ACT_RESWITCH, ACT_ON_TRIAL, ACT_CONFIRMED, ACT_RESWITCH, ACT_UNTRIED}},
};

static enum rec_seen seen_of(uint32_t state)
{
    switch (state) {
    case FOTA_OTA_NO_ENTRY:
        return SEEN_NONE;
    case FOTA_OTA_PENDING_VERIFY:
        return SEEN_TRIAL;
    case FOTA_OTA_NEW:
    case FOTA_OTA_UNDEFINED:
        return SEEN_UNTRIED;
    case FOTA_OTA_INVALID:
    case FOTA_OTA_ABORTED:
        return SEEN_ABORTED;
    default: /* VALID: the image runs as a good one */
        return SEEN_VALID;
    }
}

/* The new image runs without a trial (ACT_UNTRIED): tell the server once
 * per update ("installed" with no_rollback_bootloader), remembered in the
 * journal once delivered, so neither a later boot nor the confirm sends it
 * again; undelivered (no network yet at init), fota_confirm tries again. */
static int report_untried(struct fota *f, struct fota_jrec *r)
{
    if (r->untried_reported || fota_report(f, "installed", FOTA_ERR_NO_ROLLBACK) != FOTA_OK)
        return FOTA_OK;
    r->untried_reported = 1;
    return jsave(f, r);
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

/*
 * boot_set(p) for the release in r, whose journal record already says
 * installed. A refusal by the platform (esp_ota_set_boot_partition's own
 * image verification or secure-boot signature check, an anti-rollback
 * floor) is final for this release: remembered as rolled back so it is not
 * installed again by itself, and the running image stays. A lost power or
 * I/O error is not a refusal: recovery switches again.
 */
static int switch_to(struct fota *f, struct fota_jrec *r, const struct fota_part *p)
{
    int rc = f->cfg->boot_set(f->cfg, p);
    if (rc == FOTA_OK || rc == FOTA_ERR_POWER_LOST || rc == FOTA_ERR_IO)
        return rc;
    fota_log(f, FOTA_LOG_ERROR, "boot: the platform refused to boot ota_%u: %s",
             (uint32_t)p->index, fota_strerror(rc));
    r->phase = FOTA_J_ROLLED_BACK;
    jsave(f, r);
    f->phase = FOTA_PHASE_IDLE;
    return rc;
}

static int recover(struct fota *f)
{
    const struct fota_config *c = f->cfg;
    const struct fota_part *tp;
    struct fota_jrec r;
    uint32_t state;
    int rc, act;

    jload(f, &r);
    if (r.phase == FOTA_J_NONE || r.phase == FOTA_J_ROLLED_BACK)
        return FOTA_OK;
    tp = r.target == f->running.index ? &f->running
         : r.target == f->update.index ? &f->update : 0;
    if (!tp || r.size > tp->size) {
        fota_log(f, FOTA_LOG_WARN, "journal: target ota_%u does not fit this table; dropped",
                 (uint32_t)r.target);
        r.phase = FOTA_J_NONE;
        return jsave(f, &r);
    }
    rc = c->boot_state(c, tp, &state);
    if (rc)
        return rc;
    act = rec_table[r.phase == FOTA_J_INSTALLED][tp == &f->running][seen_of(state)];
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
    case ACT_UNTRIED:
        f->phase = FOTA_PHASE_INSTALLED;
        f->untried = 1;
        fota_log(f, FOTA_LOG_WARN, "release %u boots in ota_%u without a trial (otadata %s): the "
                 "bootloader has no rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), trial boots "
                 "are off and nothing rolls this image back; confirm it after your self-test",
                 r.release, (uint32_t)r.target, fota_ota_state_name(state));
        return report_untried(f, &r);
    case ACT_ROLLED_BACK:
        fota_log(f, FOTA_LOG_WARN, "release %u never confirmed in ota_%u: rolled back",
                 r.release, (uint32_t)r.target);
        return mark_rolled_back(f, &r);
    default: /* ACT_RESWITCH */
        break;
    }
    /* The image was verified and the switch asked for, but otadata does not
     * show it (a cut in an otadata rewrite) or the app is running it without
     * a trial entry. Verify again and switch again, a bounded number of
     * times. */
    if (r.switches >= MAX_SWITCHES) {
        fota_log(f, FOTA_LOG_WARN, "release %u: %u boot switches did not take; giving up",
                 r.release, (uint32_t)r.switches);
        return mark_rolled_back(f, &r);
    }
    if (tp == &f->running) {
        /* running it already: make the next boot a trial again */
        fota_log(f, FOTA_LOG_WARN, "ota_%u runs without a trial entry; re-arming trial",
                 (uint32_t)r.target);
    }
    rc = fota_slot_verify(f, tp, r.size, r.sha256);
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
        rc = switch_to(f, &r, tp);
    if (!rc)
        f->phase = FOTA_PHASE_INSTALLED;
    return rc;
}

/* ---- API: start ----------------------------------------------------------- */

int fota_init(struct fota *f, const struct fota_config *c)
{
    int rc;
    uint8_t mac[32];
    static const char pfx[] = "token:";

    if (!f || !c)
        return FOTA_ERR_PARAM;
    fota_fill(f, 0, sizeof *f);
    f->cfg = c;
    if (!c->part_get || !c->part_read || !c->part_erase || !c->part_write || !c->boot_set ||
        !c->boot_confirm || !c->boot_state || !c->http_get || !c->http_post ||
        !c->sha256_start || !c->sha256_update || !c->sha256_finish || !c->hmac_start ||
        !c->hmac_update || !c->hmac_finish || !c->store_load || !c->store_save ||
        !c->device_key) {
        fota_log(f, FOTA_LOG_ERROR, "init: incomplete config (a callback or the key)");
        return FOTA_ERR_PARAM;
    }
    if (!valid_id(c->device_id)) {
        fota_log(f, FOTA_LOG_ERROR, "init: device id must be 1-64 of [A-Za-z0-9._-], not starting with '.'");
        return FOTA_ERR_PARAM;
    }

    /* the two partitions the engine works with, as the platform names them */
    rc = c->part_get(c, FOTA_PART_RUNNING, &f->running);
    if (!rc)
        rc = c->part_get(c, FOTA_PART_UPDATE, &f->update);
    if (!rc && (f->update.index == f->running.index || f->update.index >= FOTA_SLOT_DATA ||
                f->update.size < FOTA_SECTOR_SIZE || f->update.size % FOTA_SECTOR_SIZE))
        rc = FOTA_ERR_NO_SLOT;
    if (rc) {
        fota_log(f, FOTA_LOG_ERROR, "init: expected an OTA slot to update besides the running "
                 "one: %s", fota_strerror(rc));
        return rc;
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
        uint32_t st;
        uint8_t sv[4];
        jload(f, &r);
        f->min_secure = fota_j_floor_load(c, r.min_secure); /* journal, floor store, config */
        /* a confirmed running image was at or below the floor when it was
         * confirmed: its secure_version bounds the floor from below, so a
         * floor store wiped with the journal (nvs_flash_erase() with both
         * in NVS) does not fall below what runs */
        if (running_selected_quiet(f, &st) == FOTA_OK && st == FOTA_OTA_VALID &&
            c->part_read(c, &f->running, FOTA_APP_DESC_OFFSET + 4, sv, 4) == FOTA_OK &&
            fota_le32(sv) > f->min_secure && fota_le32(sv) != 0xFFFFFFFFu) {
            f->min_secure = fota_le32(sv);
            fota_log(f, FOTA_LOG_WARN, "floor: the store held less than the confirmed running "
                     "image's secure_version %u; raised to it", f->min_secure);
            fota_j_floor_save(c, f->min_secure); /* a failure: raised again next boot */
        }
    }
    f->phase = FOTA_PHASE_IDLE;
    return recover(f);
}

/* What a patch header may ask on this device: the update slot, and (for a
 * delta) the running image as fota_slot_base found it. */
static void patch_limits(const struct fota *f, struct fota_patch_limits *lim)
{
    lim->out_max = f->update.size;
    lim->base_max = f->base_size;
    lim->base_sha256 = f->base_size ? f->base_sha256 : NULL;
}

/* The patcher at the journal's point (a sector end of the image), its
 * header rebuilt from the offer and the journal; at point 0, from the
 * stream's start. */
static int patch_resume(struct fota *f, const struct fota_jrec *r)
{
    struct fota_patch_limits lim;
    struct fota_patch_hdr h;
    struct fota_patch_point pt;

    patch_limits(f, &lim);
    if (r->in_off == 0) {
        fota_patch_start(&f->patch, &lim);
        return r->committed == 0 ? FOTA_OK : FOTA_ERR_JOURNAL;
    }
    fota_fill(&h, 0, sizeof h);
    h.kind = r->encoding;
    h.window_log2 = r->window_log2;
    h.new_size = r->size;
    h.base_size = r->base_size;
    if (r->encoding == FOTA_ENC_DELTA)
        fota_copy(h.base_sha256, f->base_sha256, 32);
    pt.in_off = r->in_off;
    pt.out_off = r->committed;
    pt.rel = r->rel;
    pt.add = r->add;
    return fota_patch_resume(&f->patch, &lim, &h, &pt);
}

int fota_begin(struct fota *f, const struct fota_offer *o)
{
    struct fota_patch_limits lim;
    struct fota_jrec r;
    uint32_t cs, slot;
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
    if (cs < FOTA_CHUNK_MIN || cs > FOTA_CHUNK_MAX || FOTA_SECTOR_SIZE % cs) {
        fota_log(f, FOTA_LOG_ERROR,
                 "offer: chunk_size %u unsupported: expected %u..%u dividing %u", cs,
                 FOTA_CHUNK_MIN, FOTA_CHUNK_MAX, FOTA_SECTOR_SIZE);
        return FOTA_ERR_CHUNK_SIZE;
    }
    if (o->encoding != FOTA_ENC_FULL &&
        (o->encoding > FOTA_ENC_DELTA || !(f->cfg->encodings & (1u << o->encoding)) ||
         o->patch_size == 0 || (o->encoding == FOTA_ENC_DELTA && !f->base_size))) {
        fota_log(f, FOTA_LOG_ERROR, "offer: encoding %u (patch of %u bytes) not taken by this "
                 "device (encodings 0x%x, base %u bytes)", (uint32_t)o->encoding, o->patch_size,
                 f->cfg->encodings, f->base_size);
        return FOTA_ERR_OFFER;
    }
    rc = fota_policy_offer(f, o);
    if (rc)
        return rc;
    slot = f->update.index;
    if (o->size > f->update.size) {
        fota_log(f, FOTA_LOG_ERROR, "offer: image is %u bytes, slot ota_%u holds %u", o->size,
                 slot, f->update.size);
        return FOTA_ERR_SLOT_SIZE;
    }
    jload(f, &r);
    if (r.phase == FOTA_J_ROLLED_BACK && !fota_ct_diff(r.sha256, o->sha256, 32)) {
        fota_log(f, FOTA_LOG_WARN, "offer: release %u was rolled back on this device; refused",
                 o->release);
        return FOTA_ERR_ROLLED_BACK;
    }
    f->offer = *o;
    fota_fill(&f->prog, 0, sizeof f->prog);
    f->prog.release = o->release;
    f->prog.bytes_total = o->size;
    f->prog.chunks_total = xfer_chunks(f);
    if (r.phase == FOTA_J_DOWNLOADING && r.release == o->release && r.size == o->size &&
        r.chunk_size == cs && r.target == slot && !fota_ct_diff(r.sha256, o->sha256, 32) &&
        (r.committed % FOTA_SECTOR_SIZE == 0 || r.committed == r.size) &&
        r.encoding == o->encoding &&
        (o->encoding == FOTA_ENC_FULL ||
         (r.patch_size == o->patch_size && !fota_ct_diff(r.patch_sha256, o->patch_sha256, 32) &&
          patch_resume(f, &r) == FOTA_OK))) {
        f->next_chunk = (o->encoding != FOTA_ENC_FULL ? r.in_off : r.committed) / cs;
        f->patch_skip = o->encoding != FOTA_ENC_FULL ? r.in_off % cs : 0;
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
        r.encoding = o->encoding;
        r.patch_size = o->encoding != FOTA_ENC_FULL ? o->patch_size : 0;
        fota_copy(r.patch_sha256, o->patch_sha256, 32);
        f->next_chunk = 0;
        f->patch_skip = 0;
        patch_limits(f, &lim);
        fota_patch_start(&f->patch, &lim);
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

/* ---- DOWNLOADING ---------------------------------------------------------- */

/* ---- compressed and delta updates: the patcher's io ----------------------- */

static int patch_base_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct fota *f = (struct fota *)ctx;
    return f->cfg->part_read(f->cfg, &f->running, off, buf, n);
}

static int patch_out_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct fota *f = (struct fota *)ctx;
    return f->cfg->part_read(f->cfg, &f->update, off, buf, n);
}

/* Output made from verified chunks: the image head is checked before its
 * first write, as chunk 0 of a full image is (FOTA_PATCH_BUF >= the head). */
static int patch_out_write(void *ctx, uint32_t off, const uint8_t *buf, uint32_t n)
{
    struct fota *f = (struct fota *)ctx;
    int rc;
    if (off == 0) {
        rc = fota_policy_head_at(f, buf, n);
        if (rc)
            return rc;
    }
    return fota_slot_program(f, off, buf, n);
}

typedef char fota_patch_head_fits[(FOTA_PATCH_BUF >= FOTA_IMG_HEAD_LEN) ? 1 : -1];

/* The patch does not make the image (malformed, another base, or a result
 * whose SHA-256 differs): download the full image instead, from chunk 0. */
static void fall_back_full(struct fota *f, int why)
{
    struct fota_jrec r;
    fota_log(f, FOTA_LOG_WARN, "patch: %s; falling back to the full image", fota_strerror(why));
    jload(f, &r);
    r.encoding = FOTA_ENC_FULL;
    r.committed = r.patch_size = r.in_off = r.rel = r.base_size = r.add = 0;
    r.window_log2 = 0;
    fota_fill(r.patch_sha256, 0, 32);
    f->offer.encoding = FOTA_ENC_FULL;
    f->offer.patch_size = 0;
    f->next_chunk = 0;
    f->patch_skip = 0;
    f->erased_until = 0;
    f->prog.bytes_done = f->prog.chunks_done = 0;
    f->prog.chunks_total = xfer_chunks(f);
    f->phase = FOTA_PHASE_DOWNLOADING;
    jsave(f, &r); /* a cut before it: the journal's patch point is still good */
}

static int patch_failure(int rc)
{
    return rc == FOTA_ERR_PATCH || rc == FOTA_ERR_PATCH_BASE || rc == FOTA_ERR_TRUNCATED;
}

/*
 * Chunk n of a patch stream (len verified bytes in f->buf): feed it to the
 * patcher, which writes the image it makes; at each sector end of the image
 * the journal records the point (image bytes, stream bytes, COPY offset),
 * so a cut resumes there with the window already in the slot.
 */
static int accept_patch(struct fota *f, uint32_t n, uint32_t len)
{
    struct fota_patch_io io = {f, patch_base_read, patch_out_read, patch_out_write};
    const uint8_t *d = f->buf + f->patch_skip;
    uint32_t left = len - f->patch_skip, used;
    int rc, jrc;

    do {
        rc = fota_patch_feed(&f->patch, &io, d, left, &used);
        d += used;
        left -= used;
        if (rc == FOTA_PATCH_POINT || rc == FOTA_PATCH_DONE) {
            /* the record in force is this download's: its point, in place */
            fota_j_set_point(f->journal, f->patch.out_off, f->patch.in_off, f->patch.rel,
                             f->patch.add, f->patch.hdr.window_log2, f->patch.hdr.base_size);
            jrc = f->cfg->store_save(f->cfg, f->journal, FOTA_JOURNAL_LEN);
            if (jrc)
                return jrc;
            f->prog.bytes_done = f->patch.out_off;
        }
    } while (rc == FOTA_PATCH_POINT);
    if (rc == FOTA_PATCH_DONE && (left || n + 1 != xfer_chunks(f)))
        rc = FOTA_ERR_PATCH; /* the image is made but the stream goes on */
    if (rc == FOTA_OK && n + 1 == xfer_chunks(f))
        rc = fota_patch_finish(&f->patch); /* the stream ended before the image */
    if (rc < 0) {
        if (patch_failure(rc))
            f->patch_failed = rc; /* fota_step falls back, off the chunk path */
        return rc; /* flash and policy errors as for a full image */
    }
    f->patch_skip = 0;
    f->next_chunk = n + 1;
    f->prog.chunks_done = n + 1;
    f->prog.chunks_fetched++;
    f->prog.bytes_fetched += len;
    if (rc == FOTA_PATCH_DONE)
        f->phase = FOTA_PHASE_VERIFYING;
    progress(f);
    return FOTA_OK;
}

/*
 * Chunk n (len bytes in f->buf) has verified: check the image head (chunk
 * 0), write it, commit at sector ends, report progress. The only way bytes
 * reach the update slot; only take_chunk calls it (invariant 1).
 */
static int accept_chunk(struct fota *f, uint32_t n, uint32_t len)
{
    uint32_t end = n * f->offer.chunk_size + len;
    struct fota_jrec r;
    int rc;

    if (f->offer.encoding != FOTA_ENC_FULL)
        return accept_patch(f, n, len);

    if (n == 0) {
        rc = fota_policy_head(f, len);
        if (rc)
            return rc;
    }
    rc = fota_slot_write(f, n * f->offer.chunk_size, len);
    if (rc)
        return rc;
    f->next_chunk = n + 1;
    f->prog.chunks_done = n + 1;
    f->prog.bytes_done = end;
    f->prog.chunks_fetched++;
    f->prog.bytes_fetched += len;
    if (end % FOTA_SECTOR_SIZE == 0 || end == f->offer.size) {
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

/*
 * A chunk the parsers handed back (index and len as received, data in
 * f->buf, hmac as received): it must be the next one, of its length, and
 * its HMAC must verify with the device key over the release SHA-256, the
 * index and the data.
 */
int fota_chunk_check(struct fota *f, uint32_t index, uint32_t len, const uint8_t hmac[32])
{
    uint8_t mac[32];
    int rc;

    if (index != f->next_chunk) {
        fota_log(f, FOTA_LOG_WARN, "chunk: expected chunk %u, got %u", f->next_chunk, index);
        return FOTA_ERR_CHUNK_INDEX;
    }
    if (index >= xfer_chunks(f) || len != chunk_len(f, index)) {
        fota_log(f, FOTA_LOG_WARN, "chunk %u: expected %u bytes, got %u", index,
                 index < xfer_chunks(f) ? chunk_len(f, index) : 0u, len);
        return FOTA_ERR_CHUNK_LEN;
    }
    rc = fota_chunk_hmac(f, xfer_sha(f), index, f->buf, len, mac);
    if (rc)
        return rc;
    if (fota_ct_diff(mac, hmac, 32)) {
        fota_log(f, FOTA_LOG_WARN, "chunk %u: HMAC does not verify", index);
        return FOTA_ERR_HMAC;
    }
    return FOTA_OK;
}

/* Check, then accept: the only path from the wire to the slot (invariant
 * 1). v1 and v2 both come through here. */
static int take_chunk(struct fota *f, uint32_t index, uint32_t len, const uint8_t hmac[32])
{
    int rc = fota_chunk_check(f, index, len, hmac);
    if (rc)
        return rc;
    return accept_chunk(f, index, len); /* verified: may reach flash */
}

/* v1: one request per chunk. */
static int step_chunk(struct fota *f)
{
    int rc = fota_req_chunk(f, f->next_chunk, chunk_len(f, f->next_chunk));
    if (rc)
        return rc;
    return take_chunk(f, f->p.chunk.number, f->p.chunk.data_len, f->p.chunk.hmac);
}

int fota_stream_body(void *arg, const uint8_t *d, uint32_t n)
{
    struct fota *f = (struct fota *)arg;
    struct fota_v2_state *s = &f->p.v2;
    uint32_t used;
    int rc;

    if (s->err)
        return s->err;
    if (f->http_status && *f->http_status != 200)
        return FOTA_OK; /* an error body: the status decides, not its text */
    do {
        rc = fota_v2_feed(f, d, n, &used);
        d += used;
        n -= used;
        if (rc == FOTA_V2_FRAME)
            rc = take_chunk(f, s->index, s->len, s->hmac);
    } while (rc == FOTA_OK && n);
    if (rc) {
        s->err = rc;
        if (rc != FOTA_ERR_POWER_LOST)
            fota_log(f, FOTA_LOG_WARN, "stream: stopped at chunk %u: %s", f->next_chunk,
                     fota_strerror(rc));
    }
    return rc;
}

/* v2: one request streams the rest of the image from next_chunk. */
static int step_stream(struct fota *f)
{
    int rc = fota_req_stream(f, fota_stream_body);

    if (rc == FOTA_REQ_NO_V2) {
        f->use_v2 = 0; /* v1 from here on, no attempt lost */
        return FOTA_OK;
    }
    if (rc == FOTA_OK && f->phase == FOTA_PHASE_DOWNLOADING) {
        fota_log(f, FOTA_LOG_WARN, "stream: ended at chunk %u of %u", f->next_chunk,
                 xfer_chunks(f));
        return FOTA_ERR_TRUNCATED;
    }
    return rc;
}

/* ---- VERIFYING, SWITCHING ------------------------------------------------- */

static int step_verify(struct fota *f)
{
    struct fota_jrec r;
    int rc = fota_slot_verify(f, &f->update, f->offer.size, f->offer.sha256);

    if (rc == FOTA_ERR_POWER_LOST || rc == FOTA_ERR_IO)
        return rc;
    if (rc && f->offer.encoding != FOTA_ENC_FULL) {
        fall_back_full(f, rc); /* the patch made another image */
        return rc;
    }
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
        rc = switch_to(f, &r, &f->update);
    if (rc)
        return rc;
    fota_log(f, FOTA_LOG_INFO, "boot: ota_%u boots next, on trial", (uint32_t)f->update.index);
    f->phase = FOTA_PHASE_INSTALLED;
    progress(f);
    return FOTA_OK;
}

int fota_step(struct fota *f)
{
    int enc, rc;
    if (!f || !f->cfg)
        return FOTA_ERR_PARAM;
    switch (f->phase) {
    case FOTA_PHASE_DOWNLOADING:
    case FOTA_PHASE_VERIFYING:
        enc = f->offer.encoding;
        f->patch_failed = 0;
        if (f->phase == FOTA_PHASE_VERIFYING)
            rc = step_verify(f);
        else
            rc = f->use_v2 ? step_stream(f) : step_chunk(f);
        if (f->patch_failed)
            fall_back_full(f, f->patch_failed);
        /* a patch that did not make the image fell back to the full one:
         * that is progress, not a failed attempt */
        return rc && enc != FOTA_ENC_FULL && f->offer.encoding == FOTA_ENC_FULL ? FOTA_OK : rc;
    case FOTA_PHASE_SWITCHING:
        return step_switch(f);
    case FOTA_PHASE_INSTALLED:
        return FOTA_OK;
    default:
        return FOTA_ERR_STATE;
    }
}

int fota_run(struct fota *f, const struct fota_offer *o)
{
    uint32_t attempts = 0, max, last_report = 0, redownloads = 0;
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
        /* a read-back that differs sends the download back to chunk 0; the
         * chunks that then arrive reset attempts, so these are counted on
         * their own, or flash that never reads back right loops forever */
        if (rc && before == FOTA_PHASE_VERIFYING && f->phase == FOTA_PHASE_DOWNLOADING &&
            ++redownloads >= max) {
            fota_log(f, FOTA_LOG_ERROR, "update: slot read back wrong %u times: %s",
                     redownloads, fota_strerror(rc));
            rc = FOTA_ERR_RETRIES;
            fota_report(f, "failed", rc);
            return rc;
        }
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
        if (!fota_retry_worthy(rc) || ++attempts >= max) {
            if (fota_retry_worthy(rc)) {
                fota_log(f, FOTA_LOG_ERROR, "update: gave up after %u attempts: %s", attempts,
                         fota_strerror(rc));
                rc = FOTA_ERR_RETRIES;
            }
            if (rc != FOTA_ERR_POWER_LOST)
                fota_report(f, "failed", rc);
            return rc;
        }
        f->prog.retries++;
        fota_retry_backoff(f, attempts);
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

/* ---- after the reboot: confirm, roll back, ask ---------------------------- */

int fota_confirm(struct fota *f)
{
    const struct fota_config *c;
    struct fota_jrec r;
    uint32_t st;
    uint8_t sv[4];
    int rc;

    if (!f || !f->cfg)
        return FOTA_ERR_PARAM;
    c = f->cfg;
    rc = running_selected(f, &st);
    if (rc)
        return rc;
    if (st != FOTA_OTA_VALID) {
        /* esp_ota_mark_app_valid_cancel_rollback(): VALID in place; a cut
         * here leaves the other entry in force and recovery re-switches */
        rc = c->boot_confirm(c);
        if (rc)
            return rc;
        fota_log(f, FOTA_LOG_INFO, "confirm: ota_%u marked VALID", (uint32_t)f->running.index);
    }
    /* anti-rollback: a confirmed image raises the floor to its
     * secure_version, as ESP-IDF burns it into eFuse on confirm */
    rc = c->part_read(c, &f->running, FOTA_APP_DESC_OFFSET + 4, sv, 4);
    if (rc)
        return rc;
    if (fota_le32(sv) > f->min_secure && fota_le32(sv) != 0xFFFFFFFFu) {
        f->min_secure = fota_le32(sv);
        rc = fota_j_floor_save(c, f->min_secure); /* apart from the journal */
        jload(f, &r);
        if (!rc)
            rc = jsave(f, &r);
        if (rc)
            return rc;
        fota_log(f, FOTA_LOG_INFO, "confirm: secure_version floor is now %u", f->min_secure);
    }
    jload(f, &r);
    if (r.phase == FOTA_J_INSTALLED && r.target == f->running.index) {
        f->offer.release = r.release;
        if (f->untried) {
            rc = report_untried(f, &r);
            if (rc)
                return rc;
            f->untried = 0; /* confirmed: nothing runs untried any more */
        }
        if (r.chunk_size)
            f->prog.chunks_done = r.size / r.chunk_size + (r.size % r.chunk_size != 0);
        f->phase = FOTA_PHASE_IDLE;
        return report_confirmed(f, &r);
    }
    return FOTA_OK;
}

int fota_rollback(struct fota *f)
{
    struct fota_jrec r;
    uint32_t st;
    int rc;

    if (!f || !f->cfg)
        return FOTA_ERR_PARAM;
    if (!f->cfg->boot_rollback) {
        fota_log(f, FOTA_LOG_ERROR, "rollback: this port has no boot_rollback");
        return FOTA_ERR_PARAM;
    }
    rc = running_selected(f, &st);
    if (rc)
        return rc;
    jload(f, &r);
    if (r.phase == FOTA_J_INSTALLED && r.target == f->running.index) {
        f->offer.release = r.release;
        rc = mark_rolled_back(f, &r); /* before: on a device the next call reboots */
        if (rc)
            return rc;
    }
    fota_log(f, FOTA_LOG_WARN, "rollback: ota_%u marked invalid", (uint32_t)f->running.index);
    f->phase = FOTA_PHASE_IDLE;
    return f->cfg->boot_rollback(f->cfg);
}

int fota_boot_info(struct fota *f, struct fota_boot_info *bi)
{
    const struct fota_config *c;
    struct fota_part b;
    uint32_t st;
    int rc;

    if (!f || !f->cfg || !bi)
        return FOTA_ERR_PARAM;
    c = f->cfg;
    rc = c->part_get(c, FOTA_PART_BOOT, &b);
    if (!rc)
        rc = c->boot_state(c, &f->running, &st);
    if (rc)
        return rc;
    fota_fill(bi, 0, sizeof *bi);
    bi->running_slot = f->running.index;
    bi->next_slot = b.index;
    bi->running_state = FOTA_OTA_UNDEFINED;
    if (b.index == f->running.index && st != FOTA_OTA_NO_ENTRY)
        bi->running_state = st;
    bi->pending = bi->running_state == FOTA_OTA_PENDING_VERIFY;
    bi->untried = f->untried;
    bi->update_slot = f->update.index;
    bi->update_slot_size = f->update.size;
    return FOTA_OK;
}
