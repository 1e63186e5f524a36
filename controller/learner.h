/*
 * What the control loop learns from one period's observation (DESIGN.md
 * sections 4 and 6), shared by the controller daemon's loop and the
 * simulator's closed-loop mode so both run the same rules:
 *
 *   - demand: per (class, ingress cluster), when the period saw any ingress
 *     request at all (a silent period keeps the last demand rather than
 *     routing for zero load; so does a cluster whose rate the period
 *     cannot tell, NaN in the observation: a late report, see
 *     aggregate.h), a Poisson change test on the period's count:
 *     a count further than SLATE_LEARN_DEMAND_SIGMAS standard deviations
 *     (sqrt of the expected count, +1) from what the estimate expects is a
 *     change, and the estimate jumps to the observed rate at once; a count
 *     within is noise, and the estimate moves SLATE_LEARN_DEMAND_ALPHA of
 *     the way toward it. At low rates a 1 s period's count varies by tens
 *     of percent; fed raw to the LP, that noise made it re-route every
 *     period, while a real step is many deviations wide and passes at once;
 *   - multiplicities: an edge's calls per parent request, when backed by
 *     SLATE_LEARN_MULT_MIN_PARENTS parent requests;
 *   - profiles (when learning is on): per deployment the last
 *     SLATE_LEARN_WINDOWS (load, self-time per work unit, requests) samples;
 *     a sample needs SLATE_LEARN_MIN_REQUESTS requests, a refit needs
 *     SLATE_LEARN_MIN_SAMPLES samples whose loads span at least
 *     SLATE_LEARN_MIN_SPREAD x mu (samples bunched at one load cannot tell
 *     the unloaded time from the queueing: a fit through them is noise, and
 *     the LP chases noise in its inputs; see publish_gate.h), on which the
 *     current profile is off by at least SLATE_LEARN_MIN_BIAS (relative,
 *     weighted by requests: a profile that already explains the samples is
 *     kept rather than replaced by a fit of their noise), and
 *     slate_profile_fit's own condition; the saturation point mu stays the
 *     prior's.
 *
 * Not thread-safe: one owner (the loop thread, or the simulator).
 */
#ifndef SLATE_CONTROLLER_LEARNER_H
#define SLATE_CONTROLLER_LEARNER_H

#include "controller/aggregate.h"
#include "controller/optimizer.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

#define SLATE_LEARN_WINDOWS          32
#define SLATE_LEARN_MIN_SAMPLES      4
#define SLATE_LEARN_MIN_REQUESTS     10
#define SLATE_LEARN_MULT_MIN_PARENTS 20
#define SLATE_LEARN_MIN_SPREAD       0.1
#define SLATE_LEARN_MIN_BIAS         0.1
#define SLATE_LEARN_DEMAND_SIGMAS    3.0
#define SLATE_LEARN_DEMAND_ALPHA     0.3

typedef struct slate_learner slate_learner;

/* Called for every refitted deployment (service |s|, cluster |b|). */
typedef void (*slate_learner_fit_cb)(void *ctx, int s, int b, const slate_profile *fit);

/* |t| borrowed; it must outlive the learner. SLATE_OK or NOMEM. */
int slate_learner_new(const slate_topology *t, slate_learner **out);
void slate_learner_free(slate_learner *l);

/* Forgets every sample (new priors were given). */
void slate_learner_reset(slate_learner *l);

/*
 * Applies |o| (same topology shape as the learner's): demand into |view|
 * (may be NULL) and |opt| (may be NULL), multiplicities into |opt|, and,
 * when |learn| is 1, refits into |prof| and |opt| (|on_fit| may be NULL).
 * Returns how many deployments were refitted.
 */
int slate_learner_apply(slate_learner *l, const slate_observation *o, int learn,
                        slate_topology *view, slate_profile_set *prof, slate_optimizer *opt,
                        slate_learner_fit_cb on_fit, void *ctx);

#endif
