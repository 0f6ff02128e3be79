/*
 * pc_harness.c - the power-cut campaign driver (see pc_harness.h and
 * docs/powercut.md).
 *
 * A run is a sequence of power-ons of one simulated device. Each power-on is
 * nor_rearm (same bytes, power back) + sim_device_setup + sim_device_power_on
 * (bootloader, then fota_init with its recovery) + what the application
 * running at that moment does:
 *
 *   image A runs: unless libfota already holds an installed image waiting for
 *     a reboot, fota_check + fota_run (download, read-back check, switch);
 *     FOTA_ERR_ROLLED_BACK from fota_run means the release was rolled back on
 *     this device and is refused: the rollback is complete.
 *   image B runs: in the confirm scenario fota_confirm (B's self-test
 *     passes); in the rollback scenario nothing (B never confirms).
 *   once the scenario reached its end (B confirmed / release refused after a
 *     rollback), one more power-on must boot the expected image without
 *     writing a byte; then the final state of the flash is checked.
 *
 * So a run "continues from the step that was interrupted" because what the
 * device does depends only on what booted and what libfota recovered.
 */
#define _GNU_SOURCE
#include "pc_harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mkimage.h"
#include "posix_port.h"

/* ---- small helpers -------------------------------------------------------- */

double pc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint32_t pc_rand(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

uint8_t *pc_read_file(const char *path, uint32_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;

    if (!fp)
        return NULL;
    if (fstat(fileno(fp), &st) || st.st_size <= 0 || st.st_size > 16 * 1024 * 1024) {
        fclose(fp);
        return NULL;
    }
    buf = malloc((size_t)st.st_size);
    if (buf && fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf)
        *len = (uint32_t)st.st_size;
    return buf;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static uint32_t le32(const uint8_t *b)
{
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

const char *pc_scenario_name(int s)
{
    return s == PC_ROLLBACK ? "rollback" : "confirm";
}

const char *pc_kind_name(const struct pc_case *cs)
{
    if (cs->kind1 == PC_CUT_NONE)
        return "none";
    if (cs->kind2 != PC_CUT_NONE)
        return cs->kind1 == PC_CUT_INSIDE ? "double-inside" : "double";
    return cs->kind1 == PC_CUT_INSIDE ? "inside" : "after";
}

/* ---- context ------------------------------------------------------------- */

int pc_init(struct pc_ctx *c, const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen,
            char *err, size_t errlen)
{
    return pc_init_enc(c, a, alen, b, blen, 0, err, errlen);
}

int pc_init_enc(struct pc_ctx *c, const uint8_t *a, uint32_t alen, const uint8_t *b,
                uint32_t blen, int enc, char *err, size_t errlen)
{
    struct nor_flash fl;
    struct sim_platform plat;
    unsigned i;
    int rc;

    memset(c, 0, sizeof *c);
    memset(&plat, 0, sizeof plat);
    plat.flash_encryption = enc;
    c->flash_encryption = enc;
    c->replay_args = "";
    c->a = a;
    c->alen = alen;
    c->b = b;
    c->blen = blen;
    for (i = 0; i < FOTA_KEY_LEN; i++)
        c->key[i] = (uint8_t)(0xA5 ^ (i * 7));
    fota_posix_sha256(a, alen, c->sha_a);
    fota_posix_sha256(b, blen, c->sha_b);
    c->tmpl = malloc(PC_FLASH_SIZE);
    c->work = malloc(PC_FLASH_SIZE);
    if (!c->tmpl || !c->work) {
        snprintf(err, errlen, "out of memory");
        return FOTA_ERR_PARAM;
    }
    memset(c->tmpl, 0xFF, PC_FLASH_SIZE);
    nor_open_mem(&fl, c->tmpl, PC_FLASH_SIZE);
    rc = sim_provision(&fl, &plat, NULL, a, alen, FOTA_CHIP_ESP32, err, errlen);
    if (!rc)
        rc = sim_read_layout(&fl, NULL, &c->layout);
    nor_close(&fl);
    if (rc)
        return rc;
    if (c->layout.slot_count < 2 || blen > c->layout.slot_size[1]) {
        snprintf(err, errlen, "layout: expected 2 slots holding %u bytes", blen);
        return FOTA_ERR_PTABLE;
    }
    v1_source_init(&c->src_tmpl, b, blen, 1, "2.0.0", "pc-dev", c->key);
    return FOTA_OK;
}

int pc_age_store(struct pc_ctx *c, unsigned n)
{
    static struct sim_device s;
    struct nor_flash fl;
    uint8_t blank[FOTA_JOURNAL_LEN];
    unsigned i;
    int rc;

    memset(blank, 0xFF, sizeof blank); /* decodes as "no update" */
    nor_open_mem(&fl, c->tmpl, PC_FLASH_SIZE);
    sim_device_setup(&s, &fl, FOTA_CHIP_ESP32, "pc-dev", c->key);
    rc = sim_device_open_journal(&s);
    for (i = 0; !rc && i < n; i++)
        rc = fota_fstore_save(&s.store, blank, sizeof blank);
    c->age = (int)n;
    nor_close(&fl);
    return rc;
}

void pc_free(struct pc_ctx *c)
{
    free(c->tmpl);
    free(c->work);
    c->tmpl = c->work = NULL;
}

/* ---- one run ------------------------------------------------------------- */

struct pc_run {
    struct sim_device d; /* first: cfg.context points here and at the run */
    struct pc_ctx *c;
    const struct pc_case *cs;
    struct pc_result *r;
    struct nor_flash fl;
    struct v1_source src;
    uint64_t G;            /* global operations before the current boot */
    /* download tracking (v1 source's mutate hook) */
    long first_chunk;      /* first chunk requested in this boot, -1 none */
    uint64_t max_end;      /* highest byte end served in any earlier boot */
    uint64_t max_end_boot; /* the same, this boot */
    /* invariant 1 (on_program) */
    int prog_bad;
    char prog_msg[200];
    int failed;
};

static void fail(struct pc_run *x, const char *fmt, ...)
{
    va_list ap;
    if (x->failed)
        return;
    x->failed = 1;
    va_start(ap, fmt);
    vsnprintf(x->r->why, sizeof x->r->why, fmt, ap);
    va_end(ap);
}

static void on_program(void *arg, uint32_t addr, const uint8_t *data, uint32_t len)
{
    struct pc_run *x = arg;
    const struct fota_layout *l = &x->c->layout;
    uint32_t s1 = l->slot_offset[1], end = addr + len;

    if (x->prog_bad)
        return;
    if (addr >= s1 && addr < s1 + l->slot_size[1]) {
        uint32_t off = addr - s1;
        static uint8_t plain[4096]; /* an encrypted program: the chip decrypts it so */
        if (x->c->flash_encryption && len <= sizeof plain) {
            memcpy(plain, data, len);
            nor_crypt(addr, plain, len);
            data = plain;
        }
        if (end > s1 + x->c->blen || memcmp(data, x->c->b + off, len) != 0) {
            x->prog_bad = 1;
            snprintf(x->prog_msg, sizeof x->prog_msg,
                     "invariant 1: program of %u bytes at ota_1+0x%x is not image B's bytes",
                     len, off);
        }
        return;
    }
    if (addr >= l->otadata_offset && end <= l->otadata_offset + 2 * FOTA_SECTOR_SIZE)
        return;
    /* the journal (fota sectors 0-1) and the anti-rollback floor store (2-3) */
    if (addr >= l->journal_offset && end <= l->journal_offset + 4 * FOTA_SECTOR_SIZE)
        return;
    x->prog_bad = 1;
    snprintf(x->prog_msg, sizeof x->prog_msg,
             "program of %u bytes at 0x%x: outside ota_1, otadata, the journal and floor store "
             "sectors", len, addr);
}

static void on_mutate(void *arg, long chunk, char *body, size_t *len, size_t cap, int *status)
{
    struct pc_run *x = arg;
    uint64_t end;
    (void)body, (void)len, (void)cap;
    if (chunk < 0 || *status != 200)
        return;
    if (x->first_chunk < 0)
        x->first_chunk = chunk;
    end = (uint64_t)(chunk + 1) * x->src.chunk_size;
    if (end > x->c->blen)
        end = x->c->blen;
    if (end > x->max_end_boot)
        x->max_end_boot = end;
}

static void on_progress(const struct fota_config *cfg, const struct fota_progress *p)
{
    struct pc_run *x = (struct pc_run *)cfg->context;
    if (p->phase == FOTA_PHASE_VERIFYING && x->r->dl_end == 0)
        x->r->dl_end = x->G + x->fl.ops;
}

/* len bytes at flash offset off hold img as the chip reads them: through
 * flash decryption on an encrypted campaign (the raw bytes are then
 * ciphertext, never img itself). */
static int flash_holds(const struct pc_ctx *c, uint32_t off, const uint8_t *img, uint32_t len)
{
    struct nor_flash fl;
    uint8_t *buf;
    int same;
    if (!c->flash_encryption)
        return memcmp(c->work + off, img, len) == 0;
    if (memcmp(c->work + off, img, len) == 0 || !(buf = malloc(len)))
        return 0;
    nor_open_mem(&fl, c->work, PC_FLASH_SIZE);
    same = nor_read_dec(&fl, 1, off, buf, len) == FOTA_OK && memcmp(buf, img, len) == 0;
    nor_close(&fl);
    free(buf);
    return same;
}

/* The journal record in force (64 bytes, 0xFF when none). */
static int read_journal(struct pc_run *x, uint8_t j[FOTA_JOURNAL_LEN])
{
    static struct sim_device s;
    int rc;
    sim_device_setup(&s, &x->fl, FOTA_CHIP_ESP32, "pc-dev", x->c->key);
    rc = sim_device_open_journal(&s);
    if (!rc)
        rc = fota_fstore_load(&s.store, j, FOTA_JOURNAL_LEN);
    return rc;
}

static int journal_phase(const uint8_t j[FOTA_JOURNAL_LEN])
{
    if (le32(j) != 0x4A544F46u)
        return 0;
    return j[5];
}

/* Power-on trace line (verbose). */
static void trace(struct pc_run *x, int boot, int rc, const char *what, int arc)
{
    struct fota_ota_entry e[2];
    uint8_t j[FOTA_JOURNAL_LEN];
    int jp;
    int dead = x->fl.dead;
    if (!x->c->verbose)
        return;
    x->fl.dead = 0; /* a look at the bytes, not a power-on */
    sim_boot_read_otadata(&x->fl, &x->c->layout, e);
    memset(j, 0xFF, sizeof j);
    read_journal(x, j);
    x->fl.dead = dead;
    jp = journal_phase(j);
    printf("  boot %d: ops %llu+%llu%s power_on=%s slot=%d state=%s action=%s -> %s | "
           "otadata[0] seq=%u %s%s [1] seq=%u %s%s | journal phase=%d committed=%u\n",
           boot, (unsigned long long)x->G, (unsigned long long)x->fl.ops,
           x->fl.dead ? " CUT" : "", fota_errname(rc), x->d.boot.slot,
           fota_ota_state_name(x->d.boot.ota_state), what, fota_errname(arc), e[0].seq,
           fota_ota_state_name(e[0].state), fota_ota_valid(&e[0]) ? "" : "(invalid)", e[1].seq,
           fota_ota_state_name(e[1].state), fota_ota_valid(&e[1]) ? "" : "(invalid)", jp,
           jp ? le32(j + 20) : 0);
    printf("          bootloader: %s\n          server's last status: %s\n", x->d.boot.why,
           x->src.last_status);
}

/* Every otadata sector is blank or a valid entry. */
static int otadata_clean(struct pc_run *x, char *msg, size_t n)
{
    unsigned i, k;
    for (i = 0; i < 2; i++) {
        const uint8_t *p = x->c->work + x->c->layout.otadata_offset + i * FOTA_SECTOR_SIZE;
        struct fota_ota_entry e;
        int blank = 1;
        for (k = 0; k < FOTA_OTA_ENTRY_LEN; k++)
            if (p[k] != 0xFF)
                blank = 0;
        fota_ota_decode(p, &e);
        if (!blank && !fota_ota_valid(&e)) {
            snprintf(msg, n, "otadata sector %u is neither blank nor a valid entry (seq %u crc %08x)",
                     i, e.seq, e.crc);
            return 0;
        }
    }
    return 1;
}

void pc_run(struct pc_ctx *c, const struct pc_case *cs, struct pc_result *r)
{
    static struct pc_run x;
    const struct fota_layout *l = &c->layout;
    uint64_t cut_at[2];
    int ncut = 0, next_cut = 0, boot, goal = 0, confirmed = 0, trial_seen = 0;
    int trial_interrupted = 0, saw_rb = 0, saw_confirmed = 0, finished = 0;
    char sha[65], msg[200];

    memset(r, 0, sizeof *r);
    memset(&x, 0, sizeof x);
    x.c = c;
    x.cs = cs;
    x.r = r;
    memcpy(c->work, c->tmpl, PC_FLASH_SIZE);
    nor_open_mem(&x.fl, c->work, PC_FLASH_SIZE);
    x.fl.seed = cs->seed;
    x.fl.on_program = on_program;
    x.fl.on_program_arg = &x;
    x.src = c->src_tmpl;
    x.src.mutate = on_mutate;
    x.src.mutate_arg = &x;
    x.d.src = &x.src;
    if (cs->kind1 != PC_CUT_NONE && cs->k) {
        cut_at[ncut++] = cs->k;
        if (cs->kind2 != PC_CUT_NONE && cs->j)
            cut_at[ncut++] = cs->k + cs->j;
    }

    for (boot = 1; boot <= PC_MAX_BOOTS && !finished && !x.failed; boot++) {
        struct pc_boot_rec *br = &r->boot[boot - 1];
        uint8_t j[FOTA_JOURNAL_LEN];
        int jphase, rc, arc = FOTA_OK, booted, fired;
        uint32_t jcommitted;
        const char *what = "-";

        nor_rearm(&x.fl);
        memset(j, 0xFF, sizeof j);
        if (read_journal(&x, j)) {
            fail(&x, "boot %d: the journal store cannot be read", boot);
            break;
        }
        jphase = journal_phase(j);
        jcommitted = le32(j + 20);
        if (next_cut < ncut) {
            int kind = next_cut == 0 ? cs->kind1 : cs->kind2;
            if (kind == PC_CUT_INSIDE)
                x.fl.cut_inside = cut_at[next_cut] - x.G;
            else
                x.fl.cut_after = cut_at[next_cut] - x.G;
        }
        x.first_chunk = -1;
        x.max_end_boot = 0;
        x.d.plat.flash_encryption = c->flash_encryption;
        sim_device_setup(&x.d, &x.fl, FOTA_CHIP_ESP32, "pc-dev", c->key);
        x.d.no_sleep = 1;
        x.d.cfg.progress = on_progress;
        br->g_start = x.G;
        if (c->on_power_on)
            c->on_power_on(c->on_power_on_arg, c->work + l->otadata_offset, l->otadata_size);
        rc = sim_device_power_on(&x.d);
        br->g_action = x.G + x.fl.ops;
        booted = x.d.boot.slot >= 0 && x.d.boot.image_len > 0;
        br->slot = booted ? x.d.boot.slot : -1;

        /* invariants 3/4: something verified always boots, and it is A or B */
        if (rc == FOTA_ERR_NO_SLOT) {
            r->brick = 1;
            fail(&x, "boot %d: BRICK: no bootable image: %s", boot, x.d.boot.why);
            break;
        }
        if (booted && memcmp(x.d.boot.image_sha256, c->sha_a, 32) != 0 &&
            memcmp(x.d.boot.image_sha256, c->sha_b, 32) != 0) {
            hex(x.d.boot.image_sha256, 32, sha);
            fail(&x, "boot %d: booted sha=%s (slot %d): neither image A nor image B", boot, sha,
                 x.d.boot.slot);
            break;
        }
        if (rc && rc != FOTA_ERR_POWER_LOST) {
            fail(&x, "boot %d: power-on failed: %s (%s) [bootloader: %s]", boot,
                 fota_errname(rc), fota_strerror(rc), x.d.boot.why);
            break;
        }
        if (booted && x.d.boot.aborted && cs->scenario == PC_CONFIRM && !trial_interrupted) {
            fail(&x, "boot %d: bootloader aborted B though no cut hit its trial boot", boot);
            break;
        }
        if (booted && (x.d.boot.slot == 1) != (memcmp(x.d.boot.image_sha256, c->sha_b, 32) == 0)) {
            fail(&x, "boot %d: slot %d booted the other slot's image", boot, x.d.boot.slot);
            break;
        }
        if (strstr(x.src.last_status, "\"state\": \"rolled_back\""))
            saw_rb = 1;

        if (rc == FOTA_OK && goal) {
            /* the final plain boot: expected image, nothing written */
            what = "final";
            if (cs->scenario == PC_CONFIRM && !r->rolled_back) {
                if (x.d.boot.slot != 1 || x.d.boot.ota_state != FOTA_OTA_VALID)
                    fail(&x, "boot %d: final boot: expected B (ota_1) VALID, got slot %d %s", boot,
                         x.d.boot.slot, fota_ota_state_name(x.d.boot.ota_state));
            } else if (x.d.boot.slot != 0) {
                fail(&x, "boot %d: final boot after rollback: expected A (ota_0), got slot %d",
                     boot, x.d.boot.slot);
            }
            if (!x.failed && x.fl.ops != 0)
                fail(&x, "boot %d: final boot wrote flash (%llu operations)", boot,
                     (unsigned long long)x.fl.ops);
            finished = 1;
        } else if (rc == FOTA_OK && x.d.boot.slot == 0) {
            struct fota_offer offer;
            if (confirmed) {
                fail(&x, "boot %d: B was confirmed, yet A booted (%s)", boot, x.d.boot.why);
                break;
            }
            if (fota_phase(&x.d.fota) == FOTA_PHASE_INSTALLED) {
                what = "reboot-to-try";
            } else {
                what = "check+run";
                arc = fota_check(&x.d.fota, x.d.boot.info.version, &offer);
                if (arc == FOTA_OK && !offer.update)
                    arc = FOTA_ERR_STATE;
                if (arc == FOTA_OK)
                    arc = fota_run(&x.d.fota, &offer);
                if (arc != FOTA_OK && x.fl.dead)
                    arc = FOTA_ERR_POWER_LOST; /* the CPU is off: the code is moot */
                if (arc == FOTA_ERR_ROLLED_BACK) {
                    if (cs->scenario == PC_CONFIRM && !trial_interrupted) {
                        fail(&x, "boot %d: confirm scenario rolled back with no cut in B's trial",
                             boot);
                        break;
                    }
                    r->rolled_back = 1;
                    goal = 1;
                } else if (arc != FOTA_OK && arc != FOTA_ERR_POWER_LOST) {
                    fail(&x, "boot %d: A's update failed: %s (%s)", boot, fota_errname(arc),
                         fota_strerror(arc));
                    break;
                }
            }
        } else if (rc == FOTA_OK && x.d.boot.slot == 1) {
            if (r->rolled_back) {
                fail(&x, "boot %d: B booted after the rollback completed", boot);
                break;
            }
            if (cs->scenario == PC_ROLLBACK) {
                what = "no-confirm";
                if (x.d.boot.ota_state != FOTA_OTA_PENDING_VERIFY) {
                    fail(&x, "boot %d: B booted %s, never confirmed: expected PENDING_VERIFY", boot,
                         fota_ota_state_name(x.d.boot.ota_state));
                    break;
                }
                trial_seen = 1;
            } else {
                what = "confirm";
                arc = fota_confirm(&x.d.fota);
                if (arc != FOTA_OK && x.fl.dead)
                    arc = FOTA_ERR_POWER_LOST;
                if (arc == FOTA_OK) {
                    confirmed = 1;
                    goal = 1;
                    if (strstr(x.src.last_status, "\"state\": \"confirmed\""))
                        saw_confirmed = 1;
                } else if (arc != FOTA_ERR_POWER_LOST) {
                    fail(&x, "boot %d: fota_confirm: %s (%s)", boot, fota_errname(arc),
                         fota_strerror(arc));
                    break;
                }
            }
        }
        if (strstr(x.src.last_status, "\"state\": \"confirmed\""))
            saw_confirmed = 1;
        if (strstr(x.src.last_status, "\"state\": \"rolled_back\""))
            saw_rb = 1;

        fired = x.fl.dead && next_cut < ncut && cut_at[next_cut] <= x.G + x.fl.ops;
        trace(&x, boot, rc, what, arc);
        br->action = what;
        x.G += x.fl.ops;
        br->g_end = x.G;
        r->nboot = boot;
        if (x.fl.dead && !fired) {
            fail(&x, "boot %d: flash lost power with no cut planned", boot);
            break;
        }
        if (fired) {
            if (next_cut == 0)
                r->ops_after_cut1 = 0;
            next_cut++;
            r->cuts_fired = next_cut;
            /* a cut with B's trial entry in force: the design says roll back */
            {
                struct fota_ota_entry e[2];
                int a;
                x.fl.dead = 0; /* a look at the bytes, not a power-on */
                sim_boot_read_otadata(&x.fl, l, e);
                x.fl.dead = 1;
                a = fota_ota_active(e);
                if (a >= 0 && fota_ota_slot(e[a].seq, l->slot_count) == 1 &&
                    e[a].state == FOTA_OTA_PENDING_VERIFY)
                    trial_interrupted = 1;
            }
        }

        /* invariant 1 and the running slot */
        if (x.prog_bad) {
            fail(&x, "boot %d: %s", boot, x.prog_msg);
            break;
        }
        if (!flash_holds(c, l->slot_offset[0], c->a, c->alen)) {
            fail(&x, "boot %d: ota_0 no longer holds image A", boot);
            break;
        }
        if (memcmp(c->work + FOTA_PT_OFFSET_DEFAULT, c->tmpl + FOTA_PT_OFFSET_DEFAULT, FOTA_SECTOR_SIZE) != 0) {
            fail(&x, "boot %d: the partition table changed", boot);
            break;
        }
        /* resume: from the journal's committed point, at most a sector and a
         * chunk fetched again */
        if (x.first_chunk >= 0) {
            uint64_t first = (uint64_t)x.first_chunk * x.src.chunk_size;
            if (jphase == 2 || jphase == 3) {
                fail(&x, "boot %d: journal phase %d (installed/rolled back), yet chunk %ld was "
                         "fetched again", boot, jphase, x.first_chunk);
                break;
            }
            if (jphase == 1 && le32(j + 8) == x.src.release && first != jcommitted) {
                fail(&x, "boot %d: resumed from byte %llu, the journal had committed %u", boot,
                     (unsigned long long)first, jcommitted);
                break;
            }
            if (x.max_end > first) {
                uint64_t re = x.max_end - first;
                if (re > r->max_refetch)
                    r->max_refetch = (uint32_t)re;
                if (re > PC_REFETCH_LIMIT) {
                    fail(&x, "boot %d: fetched %llu bytes again (from byte %llu; %llu were "
                             "fetched before; limit %u)", boot, (unsigned long long)re,
                         (unsigned long long)first, (unsigned long long)x.max_end,
                         PC_REFETCH_LIMIT);
                    break;
                }
            }
        }
        if (x.max_end_boot > x.max_end)
            x.max_end = x.max_end_boot;
        if (r->cuts_fired)
            r->ops_after_cut1 = x.G - cs->k;
    }
    r->ops_total = x.G;
    if (!x.failed && !finished)
        fail(&x, "no end after %d power-ons", PC_MAX_BOOTS);
    if (!x.failed && r->cuts_fired != ncut)
        fail(&x, "cut %d of %d never fired (the run has %llu operations)", r->cuts_fired + 1, ncut,
             (unsigned long long)x.G);

    /* final state of the flash */
    if (!x.failed && !flash_holds(c, l->slot_offset[1], c->b, c->blen))
        fail(&x, "end: ota_1 does not hold image B%s",
             c->flash_encryption ? " (decrypted; raw: its ciphertext)" : "");
    if (!x.failed && !otadata_clean(&x, msg, sizeof msg))
        fail(&x, "end: %s", msg);
    if (!x.failed) {
        struct fota_ota_entry e[2];
        uint8_t j[FOTA_JOURNAL_LEN];
        int a, jp;
        sim_boot_read_otadata(&x.fl, l, e);
        a = fota_ota_active(e);
        memset(j, 0xFF, sizeof j);
        read_journal(&x, j);
        jp = journal_phase(j);
        if (!r->rolled_back) {
            if (a < 0 || fota_ota_slot(e[a].seq, l->slot_count) != 1 ||
                e[a].state != FOTA_OTA_VALID)
                fail(&x, "end: otadata in force does not select ota_1 VALID");
            else if (jp != 0)
                fail(&x, "end: journal phase %d after confirm, expected none", jp);
            else if (!saw_confirmed)
                snprintf(r->status_lost, sizeof r->status_lost,
                         "the server never got a 'confirmed' status (last: %s)",
                         x.src.last_status);
        } else {
            if (a >= 0 && fota_ota_slot(e[a].seq, l->slot_count) != 0)
                fail(&x, "end: after rollback otadata in force selects ota_%u",
                     fota_ota_slot(e[a].seq, l->slot_count));
            else if (jp != 3)
                fail(&x, "end: journal phase %d after rollback, expected 3 (rolled back)", jp);
            else if (cs->scenario == PC_ROLLBACK && !trial_seen && !trial_interrupted)
                fail(&x, "end: rolled back though B never booted on trial");
            else if (!saw_rb)
                snprintf(r->status_lost, sizeof r->status_lost,
                         "the server never got a 'rolled_back' status (last: %s)",
                         x.src.last_status);
        }
    }
    if (!x.failed && r->status_lost[0] && c->strict_status)
        fail(&x, "end: %s", r->status_lost);
    r->ok = !x.failed;
}

void pc_where(const struct pc_result *ref, uint64_t k, char *buf, size_t n)
{
    int i;
    for (i = 0; i < ref->nboot; i++) {
        const struct pc_boot_rec *b = &ref->boot[i];
        if (k > b->g_start && k <= b->g_end) {
            if (k <= b->g_action)
                snprintf(buf, n, "boot %d power-on (bootloader, recovery)", i + 1);
            else if (ref->dl_end && k <= ref->dl_end)
                snprintf(buf, n, "boot %d download", i + 1);
            else
                snprintf(buf, n, "boot %d %s", i + 1,
                         !strcmp(b->action, "check+run") ? "verify+switch" : b->action);
            return;
        }
    }
    snprintf(buf, n, "beyond the reference run");
}

/* ---- campaign driver ------------------------------------------------------ */

int pc_parse_opts(int argc, char **argv, struct pc_opts *o)
{
    const char *env = getenv("POWERCUT_FULL");
    int i;

    if (!o->seed)
        o->seed = 1;
    o->scenario = -1;
    o->age = -1;
    if (env && *env && strcmp(env, "0"))
        o->full = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--strict-status")) {
            o->strict_status = 1;
        } else if (!strcmp(a, "--full")) {
            o->full = 1;
        } else if (!strcmp(a, "--flash-encryption")) {
            o->flash_encryption = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = 1;
        } else if (!strcmp(a, "--seed") && v) {
            o->seed = (uint32_t)strtoul(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--k") && v) {
            o->k = strcmp(v, "last") ? strtoull(v, NULL, 0) : PC_K_LAST;
            o->replay = 1;
            i++;
        } else if (!strcmp(a, "--j") && v) {
            o->j = strtoull(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--age") && v) {
            o->age = (int)strtol(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--dump-otadata") && v) {
            o->dump_otadata = v;
            i++;
        } else if (!strcmp(a, "--sample") && v) {
            o->sample = (uint32_t)strtoul(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--scenario") && v) {
            if (!strcmp(v, "confirm"))
                o->scenario = PC_CONFIRM;
            else if (!strcmp(v, "rollback"))
                o->scenario = PC_ROLLBACK;
            else
                goto bad;
            i++;
        } else if (!strcmp(a, "--kind") && v) {
            if (!strcmp(v, "after"))
                o->kind = 0;
            else if (!strcmp(v, "inside"))
                o->kind = 1;
            else if (!strcmp(v, "double"))
                o->kind = 2;
            else if (!strcmp(v, "double-inside"))
                o->kind = 3;
            else
                goto bad;
            i++;
        } else if (a[0] != '-' && !o->arg) {
            o->arg = a;
        } else {
            goto bad;
        }
    }
    if (o->replay && o->kind >= 2 && !o->j) {
        fprintf(stderr, "%s: --kind double needs --j J\n", argv[0]);
        return 1;
    }
    return 0;
bad:
    fprintf(stderr,
            "usage: %s [FIRMWARE_DIR] [--full] [--seed S] [--sample N] [--dump-otadata FILE] [-v]\n"
            "       %s [FIRMWARE_DIR] --k K|last [--j J] [--kind after|inside|double|double-inside]\n"
            "          [--scenario confirm|rollback] [--seed S]   (replay one case with a trace)\n",
            argv[0], argv[0]);
    return 1;
}

static void fill_case(struct pc_case *cs, int scenario, int kind, uint64_t k, uint64_t j,
                      uint32_t seed)
{
    memset(cs, 0, sizeof *cs);
    cs->scenario = scenario;
    cs->k = k;
    cs->j = j;
    cs->seed = seed;
    cs->kind1 = kind == 1 || kind == 3 ? PC_CUT_INSIDE : PC_CUT_AFTER;
    cs->kind2 = kind == 2 ? PC_CUT_AFTER : kind == 3 ? PC_CUT_INSIDE : PC_CUT_NONE;
}

int pc_case_run(struct pc_ctx *c, const char *prog, const struct pc_case *cs,
                const struct pc_result *ref, struct pc_stats *st, struct pc_result *out)
{
    static struct pc_result tmp;
    struct pc_result *r = out ? out : &tmp;
    char where[80] = "", jpart[32] = "";
    int kind = cs->kind2 ? (cs->kind1 == PC_CUT_INSIDE ? 3 : 2) : cs->kind1 == PC_CUT_INSIDE;

    pc_run(c, cs, r);
    if (cs->kind2)
        st->dbl++;
    else if (cs->kind1 == PC_CUT_INSIDE)
        st->inside++;
    else
        st->after++;
    if (r->max_refetch > st->max_refetch)
        st->max_refetch = r->max_refetch;
    if (r->brick)
        st->bricks++;
    if (r->ok && r->rolled_back && cs->scenario == PC_CONFIRM)
        st->rb_confirm++;
    if (r->ok && r->status_lost[0]) {
        st->status_lost++;
        if (st->status_lost <= 2 || c->verbose) {
            printf("NOTE %s %s %s k=%llu", prog, pc_scenario_name(cs->scenario), pc_kind_name(cs),
                   (unsigned long long)cs->k);
            if (cs->kind2)
                printf(" j=%llu", (unsigned long long)cs->j);
            printf(" seed=%u age=%d: status report lost across the cut: %s\n", cs->seed, c->age,
                   r->status_lost);
        }
    }
    if (r->ok)
        return 1;
    st->fails++;
    if (ref)
        pc_where(ref, cs->k, where, sizeof where);
    if (cs->kind2)
        snprintf(jpart, sizeof jpart, " j=%llu", (unsigned long long)cs->j);
    printf("FAIL %s %s %s k=%llu%s seed=%u age=%d (%s): %s\n", prog,
           pc_scenario_name(cs->scenario), pc_kind_name(cs), (unsigned long long)cs->k, jpart,
           cs->seed, c->age, where, r->why);
    printf("     replay: %s%s --scenario %s --kind %s --k %llu%s%s --seed %u --age %d%s\n", prog,
           c->replay_args, pc_scenario_name(cs->scenario), pc_kind_name(cs),
           (unsigned long long)cs->k, cs->kind2 ? " --j " : "", cs->kind2 ? jpart + 3 : "",
           cs->seed, c->age, c->strict_status ? " --strict-status" : "");
    (void)kind;
    fflush(stdout);
    return 0;
}

int pc_replay(struct pc_ctx *c, const char *prog, const struct pc_opts *o)
{
    static struct pc_result ref, r;
    struct pc_case cs;
    struct pc_stats st;
    int s, ok = 1;
    char where[80];

    memset(&st, 0, sizeof st);
    for (s = 0; s < 2; s++) {
        if (o->scenario >= 0 && o->scenario != s)
            continue;
        memset(&cs, 0, sizeof cs);
        cs.scenario = s;
        cs.seed = o->seed;
        c->verbose = 0;
        pc_run(c, &cs, &ref);
        fill_case(&cs, s, o->kind, o->k == PC_K_LAST ? ref.ops_total : o->k, o->j, o->seed);
        pc_where(&ref, cs.k, where, sizeof where);
        printf("%s %s %s k=%llu", prog, pc_scenario_name(s), pc_kind_name(&cs),
               (unsigned long long)cs.k);
        if (cs.kind2)
            printf(" j=%llu", (unsigned long long)o->j);
        printf(" seed=%u: reference run has %llu operations (download ends at %llu); k is in %s\n",
               o->seed, (unsigned long long)ref.ops_total, (unsigned long long)ref.dl_end, where);
        c->verbose = 1;
        if (pc_case_run(c, prog, &cs, &ref, &st, &r))
            printf("PASS (%d power-ons, refetch %u bytes%s)\n", r.nboot, r.max_refetch,
                   r.rolled_back ? ", ended in a rollback" : "");
        else
            ok = 0;
        c->verbose = 0;
    }
    return ok ? 0 : 1;
}
