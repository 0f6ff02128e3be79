/*
 * pc_harness.h - the power-cut campaign driver (issue "Prove it survives",
 * part 1): runs a whole update scenario on a RAM-backed simulated ESP32
 * (NOR model + bootloader model + libfota + in-process v1 source), cuts
 * power after (or inside) a chosen flash operation, keeps rebooting from
 * whatever the flash holds until the scenario completes, and checks the
 * invariants of DESIGN.md after every power-on. See docs/powercut.md.
 *
 * Operations are numbered globally across the boots of a run, from 1, in
 * the order of the cut-free reference run: the replay of a case is the
 * reference run up to operation k, so "k" names the same operation in both.
 */
#ifndef PC_HARNESS_H
#define PC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

enum pc_scenario { PC_CONFIRM = 0, PC_ROLLBACK = 1 };
enum pc_cut_kind { PC_CUT_NONE = 0, PC_CUT_AFTER = 1, PC_CUT_INSIDE = 2 };

#define PC_FLASH_SIZE (4u << 20)

/* Under AddressSanitizer (make test's second pass) the default campaigns
 * are lighter: fewer double cuts and download samples. */
#if defined(__SANITIZE_ADDRESS__)
#define PC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PC_SANITIZED 1
#endif
#endif
#ifndef PC_SANITIZED
#define PC_SANITIZED 0
#endif
#define PC_MAX_BOOTS 40
#define PC_K_LAST UINT64_MAX      /* --k last: the reference run's last operation */
#define PC_REFETCH_LIMIT (4096u + 1024u) /* one sector + one chunk */

struct pc_ctx {
    const uint8_t *a, *b;
    uint32_t alen, blen;
    uint8_t sha_a[32], sha_b[32];
    uint8_t *tmpl;            /* provisioned flash: table, A in ota_0 */
    uint8_t *work;            /* the flash of the run in progress */
    struct fota_layout layout;
    struct v1_source src_tmpl;
    uint8_t key[FOTA_KEY_LEN];
    int verbose;              /* print a trace of every boot */
    int strict_status;        /* a status report lost across a cut fails */
    int age;                  /* saves made by pc_age_store (for replay lines) */
    int flash_encryption;     /* app partitions encrypted (sim_platform): the
                                 bootloader, port and checks read through
                                 decryption (pc_init_enc) */
    const char *replay_args;  /* printed after the program name in replay lines */
    /* optional: called at every power-on, before the bootloader runs, with
     * the two otadata sectors as the flash holds them (len bytes) */
    void (*on_power_on)(void *arg, const uint8_t *otadata, uint32_t len);
    void *on_power_on_arg;
};

/* One case: a scenario, a first cut at global operation k (kind1), and an
 * optional second cut at the j-th operation after the first one (kind2). */
struct pc_case {
    int scenario;
    int kind1, kind2;
    uint64_t k, j;
    uint32_t seed;            /* NOR garbage / tear points */
};

struct pc_boot_rec {
    uint64_t g_start, g_action, g_end; /* global ops before power-on, before the
                                          app's action, after the boot */
    int slot;                          /* booted slot, -1 none */
    const char *action;
};

struct pc_result {
    int ok;
    char why[600];
    uint64_t ops_total;       /* global flash operations of the whole run */
    uint64_t dl_end;          /* global index of the last download operation */
    uint64_t ops_after_cut1;  /* operations after the first cut (range of j) */
    int cuts_fired;
    int brick;
    int rolled_back;          /* the run ended in a rollback */
    uint32_t max_refetch;     /* bytes fetched again after a cut, worst boot */
    char status_lost[320];    /* "": the server got the final status report */
    int nboot;
    struct pc_boot_rec boot[PC_MAX_BOOTS];
};

/* Provision the template flash (A in ota_0) and the v1 source (B). */
int pc_init(struct pc_ctx *c, const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen,
            char *err, size_t errlen);
/* The same on a device with flash encryption on (enc set): A provisioned
 * encrypted, the whole update, cuts and resumes through the encrypted-partition
 * mode of the port contract; the slots are checked decrypted. */
int pc_init_enc(struct pc_ctx *c, const uint8_t *a, uint32_t alen, const uint8_t *b,
                uint32_t blen, int enc, char *err, size_t errlen);
void pc_free(struct pc_ctx *c);

/* Age the template's journal store by n saves of an empty record, so that a
 * run's own saves cross the store's sector switch (erase of the other
 * sector) at a chosen point. */
int pc_age_store(struct pc_ctx *c, unsigned n);

/* Run one case from a fresh copy of the template. r->ok says if it passed. */
void pc_run(struct pc_ctx *c, const struct pc_case *cs, struct pc_result *r);

/* Where global operation k falls in reference run ref ("boot 1 download"). */
void pc_where(const struct pc_result *ref, uint64_t k, char *buf, size_t n);

const char *pc_scenario_name(int s);
const char *pc_kind_name(const struct pc_case *cs);

/* ---- campaign driver shared by the test programs ------------------------ */

struct pc_opts {
    int full;                 /* exhaustive (--full or POWERCUT_FULL=1) */
    uint32_t seed;            /* --seed: NOR seed and sample seed */
    int replay;               /* --k given: run one case only */
    uint64_t k, j;
    int scenario;             /* -1: both */
    int kind;                 /* 0 after, 1 inside, 2 double (after, after),
                                 3 double-inside (inside, inside) */
    int verbose;
    int strict_status;        /* --strict-status */
    int age;                  /* --age N: journal store aged by N saves (-1: default) */
    uint32_t sample;          /* download cut points sampled (large) */
    int flash_encryption;     /* --flash-encryption: the campaign on an
                                 encrypted device (small: sampled unless --full) */
    const char *dump_otadata; /* --dump-otadata FILE: see pc_otadata_dump_open */
    const char *arg;          /* first non-option argument */
};

struct pc_stats {
    uint64_t after, inside, dbl;
    uint64_t bricks, fails, rb_confirm, status_lost;
    uint32_t max_refetch;
};

/* Parse the common options; returns 0, or 1 on bad usage (message printed). */
int pc_parse_opts(int argc, char **argv, struct pc_opts *o);

/* Run one case, count it in st, print a FAIL line (with the replay command)
 * when it fails. Returns 1 when it passed. */
int pc_case_run(struct pc_ctx *c, const char *prog, const struct pc_case *cs,
                const struct pc_result *ref, struct pc_stats *st, struct pc_result *out);

/* Replay the single case of o (--k), with a trace. Returns the exit code. */
int pc_replay(struct pc_ctx *c, const char *prog, const struct pc_opts *o);

/* The otadata states the campaign meets, for the bootloader oracle
 * (tests/oracle): pc_otadata_dump_open truncates path and makes
 * pc_otadata_dump_hook (an on_power_on hook) append each distinct state once,
 * as 64 bytes: the first 32 bytes of otadata sector 0, then of sector 1.
 * pc_otadata_dump_close returns the number of distinct states, or -1 when
 * the file could not be written. */
int pc_otadata_dump_open(const char *path);
void pc_otadata_dump_hook(void *arg, const uint8_t *otadata, uint32_t len);
long pc_otadata_dump_close(void);

double pc_now(void);
uint32_t pc_rand(uint32_t *s);
uint8_t *pc_read_file(const char *path, uint32_t *len);

#endif
