/*
 * powercut_small.c - exhaustive power-cut campaign on a small synthetic
 * image pair (A and B of 40,960 bytes, sim_mkimage, chip ESP32): for both
 * scenarios (confirm, rollback), a cut after every flash operation k, a
 * torn operation at every k, and double cuts (after k, then after the j-th
 * operation of the recovery) for every pair (k, j) (a sample of k unless
 * --full when the pairs would take too long). See docs/powercut.md.
 *
 *   powercut_small [--full] [--seed S] [--flash-encryption] [-v]
 *
 * --flash-encryption runs the campaign on an encrypted device (the
 * simulator's flash encryption, nor.h): A provisioned encrypted, every
 * write of the update, the journal's resumes and the bootloader's checks
 * through the encrypted-partition mode; at the end ota_1 decrypts to B and
 * holds ciphertext. Every k is cut after and torn; double cuts at every
 * 8th k; the fresh journal store only (with --full, `make soak`: both
 * stores, every k).
 *   powercut_small --k K [--j J] [--kind after|inside|double|double-inside]
 *                  [--scenario confirm|rollback] [--seed S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkimage.h"
#include "pc_harness.h"
#include "posix_port.h"

#define IMG_SIZE 40960u
#define PROG "powercut_small"

/* Every k after and inside; double cuts for every j of every k (all_k) or
 * of every 4th download k plus every k after the download. */
static void sweep(struct pc_ctx *c, const struct pc_opts *o, struct pc_stats *st, int all_k)
{
    static struct pc_result ref, r;
    struct pc_case cs;
    uint64_t k, j, *m;
    int s;

    for (s = 0; s < 2; s++) {
        uint64_t n, dstep, pairs = 0;
        if (o->scenario >= 0 && o->scenario != s)
            continue;
        memset(&cs, 0, sizeof cs);
        cs.scenario = s;
        cs.seed = o->seed;
        pc_run(c, &cs, &ref);
        if (!ref.ok) {
            printf("FAIL " PROG " %s reference run (no cut), age %d: %s\n", pc_scenario_name(s),
                   c->age, ref.why);
            st->fails++;
            continue;
        }
        n = ref.ops_total;
        printf(PROG ": %s, journal store aged %d: %llu flash operations in %d power-ons "
               "(download ends at %llu)\n",
               pc_scenario_name(s), c->age, (unsigned long long)n, ref.nboot,
               (unsigned long long)ref.dl_end);
        fflush(stdout);
        m = calloc(n + 1, sizeof *m);
        if (!m)
            exit(2);
        /* cut after every k, torn operation at every k */
        for (k = 1; k <= n; k++) {
            cs.kind1 = PC_CUT_AFTER;
            cs.kind2 = PC_CUT_NONE;
            cs.k = k;
            cs.j = 0;
            pc_case_run(c, PROG, &cs, &ref, st, &r);
            m[k] = r.ok ? r.ops_after_cut1 : 0;
            cs.kind1 = PC_CUT_INSIDE;
            pc_case_run(c, PROG, &cs, &ref, st, NULL);
        }
        /* double cuts: after k, then after the j-th operation since */
        dstep = all_k ? 1 : 4;
        for (k = 1; k <= n; k++) {
            if (k % dstep && k <= ref.dl_end)
                continue;
            /* encrypted in make test: double cuts at every 8th k only */
            if (o->flash_encryption && !o->full && k % 8)
                continue;
            for (j = 1; j <= m[k]; j++) {
                cs.kind1 = PC_CUT_AFTER;
                cs.kind2 = PC_CUT_AFTER;
                cs.k = k;
                cs.j = j;
                pc_case_run(c, PROG, &cs, &ref, st, NULL);
                pairs++;
                if (o->full) { /* and the torn variant of the same pair */
                    cs.kind1 = cs.kind2 = PC_CUT_INSIDE;
                    pc_case_run(c, PROG, &cs, &ref, st, NULL);
                }
            }
        }
        free(m);
        printf(PROG ": %s, journal store aged %d: double cuts over %llu (k, j) pairs%s\n",
               pc_scenario_name(s), c->age, (unsigned long long)pairs,
               o->full ? " (after/after and inside/inside)" : "");
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    static uint8_t a[IMG_SIZE], b[IMG_SIZE];
    static struct pc_ctx c;
    /* fresh journal store, and one aged so that the run's saves cross the
     * store's sector switch during the download */
    static const int ages[2] = {0, 45};
    struct sim_mkimage_opts oa = {FOTA_CHIP_ESP32, "1.0.0", "pc-small", 0, 11, 0};
    struct sim_mkimage_opts ob = {FOTA_CHIP_ESP32, "2.0.0", "pc-small", 0, 22, 0};
    struct pc_opts o;
    struct pc_stats st;
    char err[256] = "";
    double t0 = pc_now();
    int v, rc;

    memset(&o, 0, sizeof o);
    if (pc_parse_opts(argc, argv, &o))
        return 2;
    if (o.dump_otadata && pc_otadata_dump_open(o.dump_otadata)) {
        fprintf(stderr, PROG ": cannot write %s\n", o.dump_otadata);
        return 2;
    }
    fota_posix_log_level = -1;
    /* encrypted: images with 0xFF pages, which a writer that skips them
     * (right on plain flash) leaves erased, not decrypting to 0xFF */
    if (o.flash_encryption)
        oa.ff_every = ob.ff_every = 5;
    if (sim_mkimage(a, IMG_SIZE, &oa) || sim_mkimage(b, IMG_SIZE, &ob)) {
        fprintf(stderr, PROG ": sim_mkimage failed\n");
        return 2;
    }
    memset(&st, 0, sizeof st);
    for (v = 0; v < 2; v++) {
        int age = o.age >= 0 ? o.age : o.replay ? 0 : ages[v];
        if (v && (o.age >= 0 || o.replay || (o.flash_encryption && !o.full)))
            break; /* encrypted in make test: the fresh store only */
        if ((rc = pc_init_enc(&c, a, IMG_SIZE, b, IMG_SIZE, o.flash_encryption, err,
                              sizeof err)) ||
            (rc = pc_age_store(&c, (unsigned)age))) {
            fprintf(stderr, PROG ": %s\n", err[0] ? err : "cannot age the journal store");
            return 2;
        }
        c.strict_status = o.strict_status;
        if (o.flash_encryption)
            c.replay_args = "--flash-encryption ";
        if (o.dump_otadata)
            c.on_power_on = pc_otadata_dump_hook;
        if (o.replay)
            return pc_replay(&c, PROG, &o);
        sweep(&c, &o, &st, o.full || (v == 0 && !PC_SANITIZED));
        pc_free(&c);
    }
    printf(PROG ": cuts after=%llu inside=%llu double=%llu bricks=%llu fails=%llu "
           "confirm_rolled_back=%llu status_lost=%llu max_refetch=%u %s (%.1f s)\n",
           (unsigned long long)st.after, (unsigned long long)st.inside,
           (unsigned long long)st.dbl, (unsigned long long)st.bricks,
           (unsigned long long)st.fails, (unsigned long long)st.rb_confirm,
           (unsigned long long)st.status_lost, st.max_refetch,
           st.fails ? "FAILED" : "ok", pc_now() - t0);
    if (o.dump_otadata) {
        long n = pc_otadata_dump_close();
        if (n < 0) {
            printf("FAIL " PROG ": cannot write %s\n", o.dump_otadata);
            return 1;
        }
        printf(PROG ": %ld distinct otadata states at power-ons written to %s\n", n,
               o.dump_otadata);
    }
    return st.fails ? 1 : 0;
}
