/*
 * oracle_boot.c - the simulator's bootloader judged by ESP-IDF's own code.
 *
 * For every otadata state (the two 32-byte entries at the start of the two
 * otadata sectors), every layout (2, 3 and 16 OTA slots, with and without a
 * factory app) and a set of "which app partitions hold an image that
 * verifies", it boots the same flash twice:
 *   - sim_boot (src/sim/boot.c, deciding with src/core/ota.c), on the NOR
 *     model, with real synthetic images in the good partitions;
 *   - ESP-IDF v5.4.4's bootloader_utility_load_partition_table,
 *     bootloader_utility_get_selected_boot_partition and
 *     bootloader_utility_load_boot_image, compiled from ../shared/esp-idf
 *     (idf_host.c), with the same partition table and otadata;
 * and requires the same otadata entry in force, the same bytes in both
 * otadata sectors afterwards (what was written back: PENDING_VERIFY ->
 * ABORTED, NEW -> PENDING_VERIFY, the first ota_seq), the same number of
 * flash operations, and the same image booted (or none).
 *
 * The states: an exhaustive generated set (each sector blank, torn or
 * garbage, or a valid entry with a seq from an edge set in every state) and
 * every state the power-cut campaigns met at a power-on (files written by
 * powercut_small/powercut_large --dump-otadata, given with --campaign FILE).
 * Any disagreement fails and prints the otadata bytes.
 *
 *   oracle_boot [--campaign FILE]... [--min-campaign N] [-v]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "fota/error.h"
#include "fota/esp_ota.h"
#include "idf_oracle.h"
#include "mkimage.h"
#include "nor.h"

#define FLASH_SIZE (2u << 20)
#define OTADATA_OFF 0xE000u
#define APP_BASE 0x10000u
#define APP_SIZE 0x10000u
#define IMG_SIZE 4096u
#define STATE_LEN (2 * FOTA_OTA_ENTRY_LEN)
#define FACTORY_BIT (1u << 16)
#define MAX_PRINT 12

struct layout {
    const char *name;
    unsigned nslots;
    int factory;
};

static const struct layout layouts[] = {
    {"2 OTA slots", 2, 0},
    {"2 OTA slots + factory", 2, 1},
    {"3 OTA slots", 3, 0},
    {"3 OTA slots + factory", 3, 1},
    {"16 OTA slots", 16, 0},
};

/* ---- a set of distinct states ------------------------------------------- */

struct stateset {
    uint8_t (*v)[STATE_LEN];
    size_t n, cap;      /* states, in insertion order */
    size_t *slot;       /* open addressing: index + 1, 0 empty */
    size_t nslot;
};

static uint64_t hash(const uint8_t *b)
{
    uint64_t h = 1469598103934665603ull;
    unsigned i;
    for (i = 0; i < STATE_LEN; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Add a state; returns 1 when it was new. */
static int set_add(struct stateset *s, const uint8_t st[STATE_LEN])
{
    size_t i;
    if (2 * (s->n + 1) > s->nslot) {
        size_t k, ns = s->nslot ? 2 * s->nslot : 4096;
        free(s->slot);
        s->slot = calloc(ns, sizeof *s->slot);
        if (!s->slot)
            exit(2);
        s->nslot = ns;
        for (k = 0; k < s->n; k++) {
            for (i = hash(s->v[k]) % ns; s->slot[i]; i = (i + 1) % ns)
                ;
            s->slot[i] = k + 1;
        }
    }
    for (i = hash(st) % s->nslot; s->slot[i]; i = (i + 1) % s->nslot)
        if (!memcmp(s->v[s->slot[i] - 1], st, STATE_LEN))
            return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            exit(2);
    }
    memcpy(s->v[s->n], st, STATE_LEN);
    s->slot[i] = ++s->n;
    return 1;
}

static void set_free(struct stateset *s)
{
    free(s->v);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- the generated set ---------------------------------------------------- */

static void put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* An entry as esp_ota_set_boot_partition writes it (label all 0xFF). */
static void entry(uint8_t e[FOTA_OTA_ENTRY_LEN], uint32_t seq, uint32_t state, uint32_t crc)
{
    memset(e, 0xFF, FOTA_OTA_ENTRY_LEN);
    put_le32(e, seq);
    put_le32(e + 24, state);
    put_le32(e + 28, crc);
}

/* Every variant one sector can hold; returns how many (at most max). */
static unsigned sector_variants(uint8_t (*out)[FOTA_OTA_ENTRY_LEN], unsigned max)
{
    static const uint32_t seqs[] = {0, 1, 2, 3, 4, 5, 16, 17, 0x7FFFFFFFu, 0x80000000u,
                                    0xFFFFFFFEu};
    static const uint32_t states[] = {FOTA_OTA_NEW, FOTA_OTA_PENDING_VERIFY, FOTA_OTA_VALID,
                                      FOTA_OTA_INVALID, FOTA_OTA_ABORTED, 5u,
                                      FOTA_OTA_UNDEFINED};
    const unsigned ns = sizeof seqs / sizeof seqs[0], nst = sizeof states / sizeof states[0];
    unsigned n = 0, i, k;
    uint32_t rnd = 0x1234567u;

#define ADD(...) do { if (n < max) entry(out[n++], __VA_ARGS__); } while (0)
    memset(out[n++], 0xFF, FOTA_OTA_ENTRY_LEN); /* blank (erased) */
    for (i = 0; i < ns; i++)                      /* valid, every state */
        for (k = 0; k < nst; k++)
            ADD(seqs[i], states[k], fota_ota_seq_crc(seqs[i]));
    for (k = 0; k < nst; k++) {
        /* blank seq with the CRC of 0xFFFFFFFF; bad CRC (a torn write) */
        ADD(0xFFFFFFFFu, states[k], fota_ota_seq_crc(0xFFFFFFFFu));
        ADD(1u, states[k], fota_ota_seq_crc(1u) ^ 1u);
        ADD(2u, states[k], 0xFFFFFFFFu);
        ADD(0xFFFFFFFFu, states[k], 0xFFFFFFFFu); /* only the state programmed */
    }
    if (n < max) /* all zero */
        memset(out[n++], 0, FOTA_OTA_ENTRY_LEN);
    for (i = 0; i < 4 && n < max; i++, n++) { /* garbage */
        for (k = 0; k < FOTA_OTA_ENTRY_LEN; k++) {
            rnd = rnd * 1103515245u + 12345u;
            out[n][k] = (uint8_t)(rnd >> 16);
        }
    }
#undef ADD
    return n;
}

/* ---- the two bootloaders on one flash -------------------------------------- */

struct bench {
    const struct layout *lay;
    uint32_t good;              /* bit i: ota_i verifies; FACTORY_BIT: factory */
    uint8_t *sim, *idf, *tmpl;  /* flash of each side; the template */
    uint32_t slot_off[16], factory_off;
};

static uint8_t images[17][IMG_SIZE];

static void pt_add(uint8_t *pt, unsigned *i, uint8_t type, uint8_t sub, uint32_t off, uint32_t size,
                   const char *label)
{
    struct fota_partition p;
    memset(&p, 0, sizeof p);
    p.type = type;
    p.subtype = sub;
    p.offset = off;
    p.size = size;
    snprintf(p.label, sizeof p.label, "%s", label);
    fota_pt_encode(&p, pt + (*i)++ * FOTA_PT_ENTRY_LEN);
}

/* The template flash of a layout with the good images in place. */
static void bench_setup(struct bench *b, const struct layout *lay, uint32_t good)
{
    uint8_t *pt = b->tmpl + FOTA_PT_OFFSET_DEFAULT;
    uint32_t off = APP_BASE;
    unsigned i = 0, s;
    char label[16];

    b->lay = lay;
    b->good = good;
    memset(b->tmpl, 0xFF, FLASH_SIZE);
    pt_add(pt, &i, FOTA_PT_TYPE_DATA, FOTA_PT_SUB_NVS, 0x9000, 0x5000, "nvs");
    pt_add(pt, &i, FOTA_PT_TYPE_DATA, FOTA_PT_SUB_OTADATA, OTADATA_OFF, 0x2000, "otadata");
    b->factory_off = 0;
    if (lay->factory) {
        b->factory_off = off;
        pt_add(pt, &i, FOTA_PT_TYPE_APP, FOTA_PT_SUB_FACTORY, off, APP_SIZE, "factory");
        if (good & FACTORY_BIT)
            memcpy(b->tmpl + off, images[16], IMG_SIZE);
        off += APP_SIZE;
    }
    for (s = 0; s < lay->nslots; s++, off += APP_SIZE) {
        b->slot_off[s] = off;
        snprintf(label, sizeof label, "ota_%u", s);
        pt_add(pt, &i, FOTA_PT_TYPE_APP, (uint8_t)(FOTA_PT_SUB_OTA_0 + s), off, APP_SIZE, label);
        if (good & (1u << s))
            memcpy(b->tmpl + off, images[s], IMG_SIZE);
    }
    memcpy(b->sim, b->tmpl, FLASH_SIZE);
    memcpy(b->idf, b->tmpl, FLASH_SIZE);
}

/* 1 when the flash outside otadata is still the template's */
static int bench_untouched(const struct bench *b, const uint8_t *f)
{
    return !memcmp(f, b->tmpl, OTADATA_OFF) &&
           !memcmp(f + OTADATA_OFF + 0x2000, b->tmpl + OTADATA_OFF + 0x2000,
                   FLASH_SIZE - OTADATA_OFF - 0x2000);
}

static const char *idx_name(int i, char *buf, size_t n)
{
    if (i == IDF_ORACLE_NONE)
        snprintf(buf, n, "nothing (reset)");
    else if (i == IDF_ORACLE_FACTORY)
        snprintf(buf, n, "factory");
    else
        snprintf(buf, n, "ota_%d", i);
    return buf;
}

static void print_entry(const char *who, const uint8_t *e)
{
    struct fota_ota_entry d;
    unsigned k;
    fota_ota_decode(e, &d);
    printf("      %s", who);
    for (k = 0; k < FOTA_OTA_ENTRY_LEN; k++)
        printf("%s%02x", k % 4 ? "" : " ", e[k]);
    printf("  (seq %u state %s crc %s)\n", (unsigned)d.seq, fota_ota_state_name(d.state),
           d.crc == fota_ota_seq_crc(d.seq) ? "ok" : "bad");
}

struct stats {
    unsigned long compared, disagreements;
    unsigned long by_entry, by_bytes, by_ops, by_slot;
};

/* Boot one state on both sides; 1 when they agree. */
static int compare(struct bench *b, const uint8_t st[STATE_LEN], const char *origin,
                   struct stats *s, int verbose)
{
    struct idf_oracle_in in;
    struct idf_oracle_out out;
    struct sim_boot_result r;
    struct nor_flash fl;
    char why[300] = "", n1[24], n2[24];
    int rc, sim_loaded, i, ok;

    for (i = 0; i < 2; i++) {
        uint8_t *sec = b->sim + OTADATA_OFF + (uint32_t)i * FOTA_SECTOR_SIZE;
        memset(sec, 0xFF, FOTA_SECTOR_SIZE);
        memcpy(sec, st + i * FOTA_OTA_ENTRY_LEN, FOTA_OTA_ENTRY_LEN);
        memcpy(b->idf + OTADATA_OFF + (uint32_t)i * FOTA_SECTOR_SIZE, sec, FOTA_SECTOR_SIZE);
    }
    memset(&in, 0, sizeof in);
    in.flash = b->idf;
    in.flash_size = FLASH_SIZE;
    if (b->lay->factory && (b->good & FACTORY_BIT))
        in.good[in.ngood++] = b->factory_off;
    for (i = 0; i < (int)b->lay->nslots; i++)
        if (b->good & (1u << i))
            in.good[in.ngood++] = b->slot_off[i];
    if (idf_oracle_boot(&in, &out)) {
        printf("FAIL oracle harness (%s, %s): %s\n", b->lay->name, origin, out.err);
        exit(1);
    }

    nor_open_mem(&fl, b->sim, FLASH_SIZE);
    rc = sim_boot(&fl, NULL, FOTA_CHIP_ESP32, &r);
    if (rc == FOTA_OK)
        sim_loaded = r.slot;
    else if (rc == FOTA_ERR_NO_SLOT)
        sim_loaded = IDF_ORACLE_NONE;
    else {
        printf("FAIL sim_boot (%s, %s): %s: %s\n", b->lay->name, origin, fota_errname(rc), r.why);
        exit(1);
    }

    s->compared++;
    if (out.entry != r.entry) {
        s->by_entry++;
        snprintf(why + strlen(why), sizeof why - strlen(why),
                 " entry in force: ESP-IDF %d, sim %d;", out.entry, r.entry);
    }
    if (memcmp(b->idf + OTADATA_OFF, b->sim + OTADATA_OFF, 2 * FOTA_SECTOR_SIZE)) {
        s->by_bytes++;
        snprintf(why + strlen(why), sizeof why - strlen(why), " otadata written back differs;");
    }
    if (out.ops != fl.ops) {
        s->by_ops++;
        snprintf(why + strlen(why), sizeof why - strlen(why),
                 " flash operations: ESP-IDF %u, sim %llu;", out.ops, (unsigned long long)fl.ops);
    }
    if (out.loaded != sim_loaded) {
        s->by_slot++;
        snprintf(why + strlen(why), sizeof why - strlen(why), " booted: ESP-IDF %s, sim %s;",
                 idx_name(out.loaded, n1, sizeof n1), idx_name(sim_loaded, n2, sizeof n2));
    }
    ok = why[0] == 0;
    if (!ok) {
        s->disagreements++;
        if (s->disagreements <= MAX_PRINT || verbose) {
            printf("DISAGREE %s, images good 0x%05x, state from %s:%s\n", b->lay->name,
                   (unsigned)b->good, origin, why);
            print_entry("otadata[0] before:", st);
            print_entry("otadata[1] before:", st + FOTA_OTA_ENTRY_LEN);
            for (i = 0; i < 2; i++) {
                char w[40];
                snprintf(w, sizeof w, "otadata[%d] ESP-IDF:", i);
                print_entry(w, b->idf + OTADATA_OFF + (uint32_t)i * FOTA_SECTOR_SIZE);
                snprintf(w, sizeof w, "otadata[%d] sim:    ", i);
                print_entry(w, b->sim + OTADATA_OFF + (uint32_t)i * FOTA_SECTOR_SIZE);
            }
            printf("      sim: %s\n", r.why);
        }
    }
    return ok;
}

/* The "which images verify" sets of a layout: all, none, all but one, only
 * one (the factory counted as an app partition); with many slots, "one" is
 * ota_0, ota_1 or the last slot only. */
static unsigned good_sets(const struct layout *lay, uint32_t *out)
{
    uint32_t all = (1u << lay->nslots) - 1u, one;
    unsigned n = 0, i, k, parts = lay->nslots + (lay->factory ? 1u : 0u);
    if (lay->factory)
        all |= FACTORY_BIT;
    out[n++] = all;
    out[n++] = 0;
    for (i = 0; i < parts; i++) {
        uint32_t cand[2];
        if (lay->nslots > 3 && i > 1 && i + 1 < lay->nslots)
            continue;
        one = i < lay->nslots ? 1u << i : FACTORY_BIT;
        cand[0] = all & ~one;
        cand[1] = one;
        for (k = 0; k < 2; k++) {
            unsigned j;
            for (j = 0; j < n && out[j] != cand[k]; j++)
                ;
            if (j == n)
                out[n++] = cand[k];
        }
    }
    return n;
}

static int load_campaign(const char *path, struct stateset *all, struct stateset *camp)
{
    FILE *fp = fopen(path, "rb");
    uint8_t st[STATE_LEN];
    size_t n = 0;
    if (!fp) {
        printf("FAIL oracle_boot: cannot open the power-cut campaign's otadata dump %s "
               "(written by powercut_small/powercut_large --dump-otadata)\n", path);
        return -1;
    }
    while (fread(st, 1, sizeof st, fp) == sizeof st) {
        set_add(camp, st);
        set_add(all, st);
        n++;
    }
    fclose(fp);
    printf("oracle_boot: %s: %zu otadata states seen at power-ons\n", path, n);
    return 0;
}

int main(int argc, char **argv)
{
    static struct stateset all, camp;
    static uint8_t var[200][FOTA_OTA_ENTRY_LEN];
    struct bench b;
    struct stats s;
    unsigned nv, i, k, L, g, ng;
    unsigned long min_campaign = 0, gen_states;
    uint32_t goods[40];
    int verbose = 0, bad_args = 0;

    for (i = 1; i < (unsigned)argc; i++) {
        if (!strcmp(argv[i], "--campaign") && i + 1 < (unsigned)argc) {
            if (load_campaign(argv[++i], &all, &camp))
                return 1;
        } else if (!strcmp(argv[i], "--min-campaign") && i + 1 < (unsigned)argc) {
            min_campaign = strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "-v")) {
            verbose = 1;
        } else {
            bad_args = 1;
        }
    }
    if (bad_args) {
        fprintf(stderr, "usage: %s [--campaign FILE]... [--min-campaign N] [-v]\n", argv[0]);
        return 2;
    }
    if (camp.n < min_campaign) {
        printf("FAIL oracle_boot: %zu distinct otadata states from the power-cut campaign, "
               "expected at least %lu\n", camp.n, min_campaign);
        return 1;
    }

    /* the generated set: every pair of sector variants */
    nv = sector_variants(var, sizeof var / sizeof var[0]);
    gen_states = 0;
    for (i = 0; i < nv; i++)
        for (k = 0; k < nv; k++) {
            uint8_t st[STATE_LEN];
            memcpy(st, var[i], FOTA_OTA_ENTRY_LEN);
            memcpy(st + FOTA_OTA_ENTRY_LEN, var[k], FOTA_OTA_ENTRY_LEN);
            gen_states += (unsigned long)set_add(&all, st);
        }

    for (i = 0; i < 17; i++) {
        struct sim_mkimage_opts o;
        memset(&o, 0, sizeof o);
        o.chip_id = FOTA_CHIP_ESP32;
        o.version = "1.0.0";
        o.project = "oracle";
        o.seed = i + 1;
        if (sim_mkimage(images[i], IMG_SIZE, &o)) {
            printf("FAIL oracle_boot: sim_mkimage\n");
            return 1;
        }
    }
    b.sim = malloc(FLASH_SIZE);
    b.idf = malloc(FLASH_SIZE);
    b.tmpl = malloc(FLASH_SIZE);
    if (!b.sim || !b.idf || !b.tmpl)
        return 2;
    memset(&s, 0, sizeof s);
    for (L = 0; L < sizeof layouts / sizeof layouts[0]; L++) {
        ng = good_sets(&layouts[L], goods);
        for (g = 0; g < ng; g++) {
            size_t j;
            bench_setup(&b, &layouts[L], goods[g]);
            for (j = 0; j < all.n; j++)
                compare(&b, all.v[j], j >= camp.n ? "the generated set" : "the power-cut campaign",
                        &s, verbose);
            if (!bench_untouched(&b, b.sim) || !bench_untouched(&b, b.idf)) {
                printf("FAIL oracle_boot: %s: a bootloader wrote outside otadata\n",
                       layouts[L].name);
                return 1;
            }
        }
    }
    printf("oracle_boot: %zu distinct otadata states (%zu from the power-cut campaign, %lu more "
           "generated from %u sector variants) x %zu layouts x image sets = %lu boots compared "
           "with ESP-IDF v5.4.4's bootloader: %lu disagreements (entry %lu, bytes written back "
           "%lu, flash operations %lu, image booted %lu)\n",
           all.n, camp.n, gen_states, nv, sizeof layouts / sizeof layouts[0], s.compared,
           s.disagreements, s.by_entry, s.by_bytes, s.by_ops, s.by_slot);
    free(b.sim);
    free(b.idf);
    free(b.tmpl);
    set_free(&all);
    set_free(&camp);
    return s.disagreements ? 1 : 0;
}
