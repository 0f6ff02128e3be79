/*
 * test_rollout_rules.c - server_rollout_rules: the pure rules of rollout.h
 * as tables, without a server: the stage list parser, the cohort hash and
 * stage bounds, the health rule's verdict on a stage's counts, and the
 * operator's actions from each state. (The black-box scenarios over a real
 * server are test_rollouts.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

static int failures;

#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static void stages(void)
{
    static const struct {
        const char *spec;
        int ok, n;
        const char *canon;
        uint64_t v0, vlast;
        int count0;
    } t[] = {
        {"1%,10%,50%,100%", 1, 4, "1%,10%,50%,100%", 100, 10000, 0},
        {"0.5%, 5% ,100%", 1, 3, "0.5%,5%,100%", 50, 10000, 0},
        {"0.25%,all", 1, 2, "0.25%,all", 25, 10000, 0},
        {"5,50,all", 1, 3, "5,50,all", 5, 10000, 1},
        {"100%", 1, 1, "100%", 10000, 10000, 0},
        {"3", 1, 1, "3", 3, 3, 1},
        {"", 0, 0, NULL, 0, 0, 0},
        {"10%,5%", 0, 0, NULL, 0, 0, 0},
        {"10%,10%", 0, 0, NULL, 0, 0, 0},
        {"0%", 0, 0, NULL, 0, 0, 0},
        {"101%", 0, 0, NULL, 0, 0, 0},
        {"1.234%", 0, 0, NULL, 0, 0, 0},
        {"1.%", 0, 0, NULL, 0, 0, 0},
        {"5,10%", 0, 0, NULL, 0, 0, 0},
        {"1%,", 0, 0, NULL, 0, 0, 0},
        {",1%", 0, 0, NULL, 0, 0, 0},
        {"all,5", 0, 0, NULL, 0, 0, 0},
        {"100%,all", 0, 0, NULL, 0, 0, 0},
        {"0", 0, 0, NULL, 0, 0, 0},
        {"-5", 0, 0, NULL, 0, 0, 0},
        {"5x", 0, 0, NULL, 0, 0, 0},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", 1, 16, NULL, 1, 16, 1},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 0, 0, NULL, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct rollout_stage st[STORE_STAGES_MAX];
        char canon[128], err[200] = "";
        int n = -1, rc = rollout_parse_stages(t[i].spec, st, &n, canon, sizeof canon, err,
                                              sizeof err);
        EXPECT((rc == 0) == t[i].ok, "\"%s\": rc %d (%s)", t[i].spec, rc, err);
        if (rc != 0) {
            EXPECT(err[0] != '\0', "\"%s\": a refusal without a message", t[i].spec);
            continue;
        }
        EXPECT(n == t[i].n, "\"%s\": %d stages, expected %d", t[i].spec, n, t[i].n);
        if (t[i].canon)
            EXPECT(!strcmp(canon, t[i].canon), "\"%s\": canonical \"%s\"", t[i].spec, canon);
        EXPECT(st[0].value == t[i].v0 && st[n - 1].value == t[i].vlast &&
               st[0].is_count == t[i].count0, "\"%s\": values %llu..%llu", t[i].spec,
               (unsigned long long)st[0].value, (unsigned long long)st[n - 1].value);
    }
}

static void cohorts(void)
{
    struct rollout_stage st[STORE_STAGES_MAX];
    struct store_rollout r;
    uint64_t sorted[10];
    char canon[64], err[100];
    int n;

    /* the hash: stable, and another salt draws other canaries */
    EXPECT(rollout_hash(1, "dongle-1") == rollout_hash(1, "dongle-1"), "hash is stable");
    EXPECT(rollout_hash(1, "dongle-1") != rollout_hash(2, "dongle-1"), "salt changes it");

    /* percentages */
    memset(&r, 0, sizeof r);
    rollout_parse_stages("1%,50%,100%", st, &n, canon, sizeof canon, err, sizeof err);
    r.nstages = n;
    rollout_bounds(st, n, NULL, 0, r.bound);
    EXPECT(r.bound[0] == ROLLOUT_HASH_SPACE / 100 && r.bound[1] == ROLLOUT_HASH_SPACE / 2 &&
           r.bound[2] == ROLLOUT_HASH_SPACE, "percentage bounds");
    EXPECT(rollout_stage_of(&r, 0) == 0, "hash 0 is in stage 1");
    EXPECT(rollout_stage_of(&r, ROLLOUT_HASH_SPACE / 100) == 1, "the bound is the next stage");
    EXPECT(rollout_stage_of(&r, ROLLOUT_HASH_SPACE - 1) == 2, "the top hash is in 100%%");

    /* counts on the sorted hashes of the target at creation */
    for (int i = 0; i < 10; i++)
        sorted[i] = (uint64_t)(i + 1) * 1000;
    rollout_parse_stages("2,5", st, &n, canon, sizeof canon, err, sizeof err);
    r.nstages = n;
    rollout_bounds(st, n, sorted, 10, r.bound);
    int per[3] = {0, 0, 0};
    for (int i = 0; i < 10; i++)
        per[rollout_stage_of(&r, sorted[i])]++;
    EXPECT(per[0] == 2 && per[1] == 3 && per[2] == 5, "counts 2,5 of 10: %d/%d/%d past", per[0],
           per[1], per[2]);
    rollout_parse_stages("2,all", st, &n, canon, sizeof canon, err, sizeof err);
    r.nstages = n;
    rollout_bounds(st, n, sorted, 10, r.bound);
    EXPECT(rollout_stage_of(&r, ROLLOUT_HASH_SPACE - 1) == 1, "a late joiner falls in \"all\"");
    rollout_parse_stages("20", st, &n, canon, sizeof canon, err, sizeof err);
    r.nstages = n;
    rollout_bounds(st, n, sorted, 10, r.bound);
    EXPECT(r.bound[0] == ROLLOUT_HASH_SPACE, "a count over the target takes everything");
}

static void health(void)
{
    /* min 5, above 20 % halts, soak 0 (or 60 where said); stage 1 of 2 */
    static const struct {
        int64_t members, offered, confirmed, failed, rolled_back, timed_out;
        int64_t soak, age; /* seconds the stage has run */
        int last;           /* judge the last stage */
        enum rollout_verdict want;
        const char *why;
    } t[] = {
        {100, 0, 0, 0, 0, 0, 0, 0, 0, ROLLOUT_WAIT, "nobody finished"},
        {100, 10, 4, 0, 0, 0, 0, 0, 0, ROLLOUT_WAIT, "4 of at least 5"},
        {100, 10, 0, 4, 0, 0, 0, 0, 0, ROLLOUT_WAIT, "4 failures, below the minimum"},
        {100, 10, 0, 3, 1, 1, 0, 0, 0, ROLLOUT_HALT, "5 of 5 failed"},
        {100, 10, 4, 0, 0, 1, 0, 0, 0, ROLLOUT_WAIT, "1 of 5 = 20 %: not above, 5 to go"},
        {100, 10, 3, 1, 1, 0, 0, 0, 0, ROLLOUT_HALT, "2 of 5 = 40 %"},
        {100, 5, 4, 0, 0, 1, 0, 0, 0, ROLLOUT_PASS, "20 %, every offered finished"},
        {100, 6, 5, 0, 0, 0, 0, 0, 0, ROLLOUT_WAIT, "one offered still under way"},
        {100, 5, 5, 0, 0, 0, 60, 10, 0, ROLLOUT_WAIT, "soaking"},
        {100, 5, 5, 0, 0, 0, 60, 60, 0, ROLLOUT_PASS, "soaked"},
        {2, 2, 1, 1, 0, 0, 0, 0, 0, ROLLOUT_HALT, "a small stage: 1 of 2 = 50 %"},
        {2, 2, 2, 0, 0, 0, 0, 0, 0, ROLLOUT_PASS, "a small stage judged on its 2"},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, ROLLOUT_PASS, "an empty stage"},
        {10, 5, 5, 0, 0, 0, 0, 0, 1, ROLLOUT_WAIT, "the last stage waits for all 10"},
        {10, 10, 10, 0, 0, 0, 0, 0, 1, ROLLOUT_PASS, "the last stage, all finished"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct store_rollout r;
        struct store_stage_counts c;
        char why[256];
        memset(&r, 0, sizeof r);
        memset(&c, 0, sizeof c);
        r.nstages = 2;
        r.min_devices = 5;
        r.max_failure_pct = 20;
        r.soak = t[i].soak;
        r.stage_started_at = 1000;
        c.members = t[i].members;
        c.offered = t[i].offered;
        c.confirmed = t[i].confirmed;
        c.failed = t[i].failed;
        c.rolled_back = t[i].rolled_back;
        c.timed_out = t[i].timed_out;
        enum rollout_verdict v = rollout_judge(&r, t[i].last ? 1 : 0, &c, 1000 + t[i].age, why,
                                               sizeof why);
        EXPECT(v == t[i].want, "%s: verdict %d, expected %d (%s)", t[i].why, v, t[i].want, why);
        EXPECT(why[0] != '\0', "%s: no reason", t[i].why);
    }
}

static void actions(void)
{
    static const struct {
        const char *state;
        const char *to[3]; /* pause, resume, abort */
    } t[] = {
        {"running", {"paused", NULL, "aborted"}},   {"paused", {NULL, "running", "aborted"}},
        {"halted", {NULL, NULL, "aborted"}},        {"completed", {NULL, NULL, "aborted"}},
        {"aborted", {NULL, NULL, NULL}},            {"bogus", {NULL, NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        for (int a = 0; a < 3; a++) {
            const char *got = rollout_after_action(t[i].state, (enum rollout_action)a);
            EXPECT((!got && !t[i].to[a]) || (got && t[i].to[a] && !strcmp(got, t[i].to[a])),
                   "%s + action %d: %s", t[i].state, a, got ? got : "(refused)");
        }
    EXPECT(rollout_action_from_name("pause") == ROLLOUT_PAUSE &&
           rollout_action_from_name("resume") == ROLLOUT_RESUME &&
           rollout_action_from_name("abort") == ROLLOUT_ABORT &&
           rollout_action_from_name("halt") < 0 && rollout_action_from_name(NULL) < 0,
           "action names");
}

int main(void)
{
    stages();
    cohorts();
    health();
    actions();
    if (failures) {
        fprintf(stderr, "server_rollout_rules: %d check(s) failed\n", failures);
        return 1;
    }
    printf("ok: rollout rules: stage lists, cohorts and bounds, the health rule, the actions\n");
    return 0;
}
