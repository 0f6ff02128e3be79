/*
 * rollout.h - staged rollouts: a release offered to a target (a device
 * list, a chip, a tag, the whole fleet of the release's chip) in stages, a
 * health rule that halts a bad release by itself, and the operator's pause,
 * resume and abort. docs/fleet.md describes the rules for operators.
 *
 * Cohorts: a device's place is h = first 32 bits (big-endian) of
 * SHA-256(hex(salt) ":" device id), with a random salt per rollout (so each
 * rollout has other canaries). Stage k holds the devices with h < bound[k]
 * (cumulative): a percentage p gives bound p * 2^32 / 100; a count c gives
 * the hash of the (c+1)-th device of the target at creation, sorted by h.
 * A device's stage is fixed when it becomes a member and never changes; a
 * device that joins the target later falls by the same hash against the
 * same bounds.
 *
 * Health rule, per stage, over its members that have finished:
 *   success  = the device posted "confirmed" for the release (a confirmed
 *              boot at the new version; "installed" is not success);
 *   failure  = "failed", "rolled_back", or no outcome `deadline` seconds
 *              after the first offer ("timed_out").
 * The first outcome of a member counts and is kept. With m = min(min_devices,
 * members of the stage): once at least m have finished, a failure rate above
 * max_failure_pct in any stage reached so far HALTS the rollout (nothing more
 * is offered, to anyone). The current stage passes when at least m have
 * finished, every member offered so far has finished, the rate is within the
 * threshold, and the stage has run for `soak` seconds; the next stage then
 * opens. The last stage passes only when every one of its members has
 * finished: the rollout is then completed (it keeps offering to late
 * joiners, without a verdict); until then the health rule keeps guarding.
 *
 * Offers: running or completed, to members whose stage is open; paused, only
 * to members already offered (so their update can finish); halted and
 * aborted, to nobody (devices keep what they confirmed). A deployment made
 * after the rollout takes over for the devices it names.
 *
 * Evaluation runs after every terminal status of a member (so a halt takes
 * effect before the next check is answered), on every admin read of a
 * rollout, and on a tick (--rollout-tick) that also applies deadlines and
 * adds late joiners. Evaluations are serialized by a mutex, and every
 * transition is compare-and-set in the store.
 */
#ifndef FOTA_SERVER_ROLLOUT_H
#define FOTA_SERVER_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct server;

#define ROLLOUT_HASH_SPACE ((uint64_t)1 << 32)

/* --- pure rules (unit-tested without a server) ---------------------------- */

struct rollout_stage {
    int is_count;    /* 1: a device count; 0: a percentage */
    uint64_t value;  /* count, or hundredths of a percent (0 < v <= 10000) */
};

/* Parse "1%,10%,50%,100%", "5,50,all" or a mix ("all" is 100%): 1 to
 * STORE_STAGES_MAX stages, strictly growing within each kind. 0 and the
 * canonical text in canon, or -1 and a message in err. */
int rollout_parse_stages(const char *spec, struct rollout_stage *st, int *n, char *canon,
                         size_t canon_len, char *err, size_t err_len);

uint32_t rollout_hash(uint64_t salt, const char *device);

/* bound[k] of each stage, given the target's hashes at creation, sorted
 * ascending (counts are measured on them). */
void rollout_bounds(const struct rollout_stage *st, int n, const uint64_t *sorted, size_t ndev,
                    uint64_t *bound);

/* The stage of hash h (0..nstages-1), or nstages: past the last stage. */
int rollout_stage_of(const struct store_rollout *r, uint64_t h);

enum rollout_verdict { ROLLOUT_WAIT = 0, ROLLOUT_PASS = 1, ROLLOUT_HALT = 2 };

/* The health rule on one stage's counts (see above): HALT, PASS (only
 * meaningful for the current stage, soak included) or WAIT; why says it in
 * words. */
enum rollout_verdict rollout_judge(const struct store_rollout *r, int stage,
                                   const struct store_stage_counts *c, int64_t now, char *why,
                                   size_t n);

enum rollout_action { ROLLOUT_PAUSE = 0, ROLLOUT_RESUME = 1, ROLLOUT_ABORT = 2 };

/* The operator's actions as a table: the state an action leads to from
 * state, or NULL when it is not allowed there. */
const char *rollout_after_action(const char *state, enum rollout_action a);
/* "pause", "resume", "abort" -> action, or -1. */
int rollout_action_from_name(const char *name);

/* --- on the server --------------------------------------------------------- */

/* Start the evaluator (its mutex, and a tick every tick_seconds; 0: no
 * tick). Kept in srv->rollouts. 0 or -1. */
int rollouts_start(struct server *srv, unsigned tick_seconds);
void rollouts_stop(struct server *srv);

/* Create r (release, target, stages, health fields filled by the caller)
 * for devices[n] (a list target) or the devices its target takes now:
 * salt, members, bounds, state "running". STORE_* codes; on STORE_OK r is
 * the stored rollout. */
int rollout_create(struct server *srv, struct store_rollout *r, const struct rollout_stage *st,
                   const char *const *devices, size_t n);

/* Evaluate one rollout now (deadlines, health, stage advance); sync: also
 * add the target's late joiners. STORE_* code. */
int rollout_evaluate(struct server *srv, int64_t id, int sync);
/* Every running or paused rollout. */
void rollout_evaluate_all(struct server *srv, int sync);

/* The operator's action with its reason. STORE_OK, STORE_NOT_FOUND (no such
 * rollout), STORE_EXISTS (not allowed in its state: *state says which),
 * STORE_ERR. */
int rollout_act(struct server *srv, int64_t id, enum rollout_action a, const char *reason,
                char state[STORE_STATE_MAX + 1]);

/* For check: the rollout offer for the device (joining it to rollouts whose
 * target took it after they began). STORE_OK with *out, STORE_NOT_FOUND, or
 * STORE_ERR. */
int rollout_offer(struct server *srv, const char *device, int chip,
                  struct store_rollout_offer *out);

/* After a status was stored: a terminal state re-evaluates the rollouts of
 * the release at once. */
void rollout_after_status(struct server *srv, int64_t release, const char *state);

#endif
