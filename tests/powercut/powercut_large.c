/*
 * powercut_large.c - power-cut campaign at real size: A =
 * esp32-arduino-a.bin in ota_0, B = esp32-arduino-b.bin offered by the
 * in-process v1 source (both read from FIRMWARE_DIR, never committed).
 *
 * Default (ctest): for both scenarios, a cut after and a torn operation at
 * every operation after the last download operation (read-back check, boot
 * switch, trial boot, confirm, rollback), a seeded sample of download
 * operations (--sample N, default 60, always including the first and the
 * last), and a seeded sample of double cuts. --full (or POWERCUT_FULL=1):
 * every operation of both scenarios, after and inside, and more double cuts.
 *
 *   powercut_large FIRMWARE_DIR [--full] [--seed S] [--sample N] [-v]
 *   powercut_large FIRMWARE_DIR --k K [--j J] [--kind ...] [--scenario ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_harness.h"
#include "posix_port.h"

#define PROG "powercut_large"

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    static struct pc_ctx c;
    static struct pc_result ref, r;
    struct pc_opts o;
    struct pc_stats st;
    struct pc_case cs;
    static char c_args[1100];
    char path[1024], err[256];
    uint8_t *a, *b;
    uint32_t alen, blen, rnd;
    double t0 = pc_now();
    uint64_t k, *ks;
    int s, rc;

    memset(&o, 0, sizeof o);
    if (pc_parse_opts(argc, argv, &o))
        return 2;
    if (o.dump_otadata && pc_otadata_dump_open(o.dump_otadata)) {
        fprintf(stderr, PROG ": cannot write %s\n", o.dump_otadata);
        return 2;
    }
    if (!o.arg) {
        fprintf(stderr, "usage: " PROG " FIRMWARE_DIR [options] (see --help)\n");
        return 2;
    }
    if (!o.sample)
        o.sample = PC_SANITIZED ? 20 : 60;
    fota_posix_log_level = -1;
    snprintf(path, sizeof path, "%s/esp32-arduino-a.bin", o.arg);
    a = pc_read_file(path, &alen);
    snprintf(path, sizeof path, "%s/esp32-arduino-b.bin", o.arg);
    b = pc_read_file(path, &blen);
    if (!a || !b) {
        fprintf(stderr, PROG ": cannot read esp32-arduino-a.bin / -b.bin in %s\n", o.arg);
        return 2;
    }
    if ((rc = pc_init(&c, a, alen, b, blen, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    c.strict_status = o.strict_status;
    if (o.dump_otadata)
        c.on_power_on = pc_otadata_dump_hook;
    snprintf(c_args, sizeof c_args, " %s", o.arg);
    c.replay_args = c_args;
    if (o.age > 0 && pc_age_store(&c, (unsigned)o.age)) {
        fprintf(stderr, PROG ": cannot age the journal store\n");
        return 2;
    }
    if (o.replay)
        return pc_replay(&c, PROG, &o);

    memset(&st, 0, sizeof st);
    for (s = 0; s < 2; s++) {
        uint64_t n, nk = 0, i, ndouble;
        if (o.scenario >= 0 && o.scenario != s)
            continue;
        memset(&cs, 0, sizeof cs);
        cs.scenario = s;
        cs.seed = o.seed;
        pc_run(&c, &cs, &ref);
        if (!ref.ok) {
            printf("FAIL " PROG " %s reference run (no cut): %s\n", pc_scenario_name(s), ref.why);
            st.fails++;
            continue;
        }
        n = ref.ops_total;
        printf(PROG ": %s: A %u bytes, B %u bytes: %llu flash operations in %d power-ons, "
               "download ends at %llu\n",
               pc_scenario_name(s), alen, blen, (unsigned long long)n, ref.nboot,
               (unsigned long long)ref.dl_end);
        fflush(stdout);
        ks = malloc((n + o.sample + 2) * sizeof *ks);
        if (!ks)
            return 2;
        if (o.full) {
            for (k = 1; k <= n; k++)
                ks[nk++] = k;
        } else {
            rnd = o.seed * 2654435761u + (uint32_t)s + 1u;
            ks[nk++] = 1;
            ks[nk++] = ref.dl_end;
            for (i = 2; i < o.sample && ref.dl_end > 1; i++)
                ks[nk++] = 1 + pc_rand(&rnd) % ref.dl_end;
            for (k = ref.dl_end + 1; k <= n; k++)
                ks[nk++] = k;
            qsort(ks, nk, sizeof *ks, cmp_u64);
        }
        for (i = 0; i < nk; i++) {
            if (i && ks[i] == ks[i - 1])
                continue;
            cs.kind2 = PC_CUT_NONE;
            cs.j = 0;
            cs.k = ks[i];
            cs.kind1 = PC_CUT_AFTER;
            pc_case_run(&c, PROG, &cs, &ref, &st, NULL);
            cs.kind1 = PC_CUT_INSIDE;
            pc_case_run(&c, PROG, &cs, &ref, &st, NULL);
        }
        free(ks);
        /* double cuts: seeded (k, j), half of them with k after the download */
        ndouble = o.full ? 400 : PC_SANITIZED ? 6 : 20;
        rnd = o.seed * 40503u + 7u * (uint32_t)s + 3u;
        for (i = 0; i < ndouble; i++) {
            uint64_t m;
            cs.kind1 = PC_CUT_AFTER;
            cs.kind2 = PC_CUT_NONE;
            cs.j = 0;
            cs.k = i % 2 ? ref.dl_end + 1 + pc_rand(&rnd) % (n - ref.dl_end)
                         : 1 + pc_rand(&rnd) % n;
            pc_run(&c, &cs, &r);
            m = r.ops_after_cut1;
            if (!r.ok || m == 0)
                continue; /* a failure here is reported by the single-cut sweep */
            cs.kind2 = PC_CUT_AFTER;
            cs.j = 1 + pc_rand(&rnd) % m;
            pc_case_run(&c, PROG, &cs, &ref, &st, NULL);
        }
        printf(PROG ": %s: done (%.1f s so far)\n", pc_scenario_name(s), pc_now() - t0);
        fflush(stdout);
    }
    printf(PROG ": cuts after=%llu inside=%llu double=%llu bricks=%llu fails=%llu "
           "confirm_rolled_back=%llu status_lost=%llu max_refetch=%u %s (%.1f s)\n",
           (unsigned long long)st.after, (unsigned long long)st.inside,
           (unsigned long long)st.dbl, (unsigned long long)st.bricks,
           (unsigned long long)st.fails, (unsigned long long)st.rb_confirm,
           (unsigned long long)st.status_lost, st.max_refetch,
           st.fails ? "FAILED" : "ok", pc_now() - t0);
    pc_free(&c);
    free(a);
    free(b);
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
