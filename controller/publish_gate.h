/*
 * The publish gate (DESIGN.md section 5, "Stability"), for slate's LP.
 *
 * Damping (damping.h) slows the move toward each period's optimum but does
 * not stop the loop from chasing noise: an LP's optimum is a vertex, and
 * when two routings cost nearly the same under the model, noise in the
 * observed demand or in refitted profiles flips the solver from one to the
 * other, so the published weights churn by large steps for no predicted
 * benefit. The gate publishes a candidate table only when, under the
 * current model (observed demand, current profiles), it is predicted to
 * cost at least |min_gain| (a fraction) less than the published one. A real
 * change -- a demand step, a capacity loss the profiles learned -- makes
 * the published table expensive under the new model and passes at once.
 *
 * Cost = the LP objective's terms for the flows the table induces
 * (slate_route_table_flows, then the fluid evaluator): total latency
 * (ms*req/s) + egress priced at |usd_per_ms| (price mode) + the overload
 * penalty times the overload.
 *
 * Safe damping: a damped step toward a new optimum can leave a deployment
 * overloaded for several periods after a demand step (half the way there
 * is not enough when the step was large). slate_route_table_damp_safe
 * doubles the step (up to 1) until the damped table is predicted to
 * overload no more than the optimum does, so damping smooths noise but
 * never holds an overload the optimum would remove.
 */
#ifndef SLATE_CONTROLLER_PUBLISH_GATE_H
#define SLATE_CONTROLLER_PUBLISH_GATE_H

#include "controller/optimizer.h"
#include "controller/routes.h"

/* The default |min_gain| of the daemon and the simulator's closed loop. */
#define SLATE_PUBLISH_MIN_GAIN_DEFAULT 0.02

/* The cost of routing |t|'s demand by |rt| under |profiles|. SLATE_OK,
 * SLATE_ERR_INVALID_ARG (shapes) or NOMEM. */
int slate_route_table_cost(const slate_topology *t, const slate_profile_set *profiles,
                           const slate_optimizer_opts *o, const slate_route_table *rt,
                           double *cost);

/*
 * The predicted relative gain of |candidate| over |published|:
 * (cost(published) - cost(candidate)) / cost(published); 1 when
 * |published| is NULL or costs nothing while the candidate costs less, 0
 * when both cost nothing. SLATE_OK, INVALID_ARG or NOMEM.
 */
int slate_publish_gain(const slate_topology *t, const slate_profile_set *profiles,
                       const slate_optimizer_opts *o, const slate_route_table *published,
                       const slate_route_table *candidate, double *gain);

/*
 * As slate_route_table_damp with |step|, doubled until the result's
 * predicted overload (under |t|'s demand and |profiles|) is within 1% of
 * the optimum's own (or the step is 1). |*step_used| receives the step
 * taken (may be NULL). Same returns as slate_route_table_damp.
 */
int slate_route_table_damp_safe(const slate_topology *t, const slate_profile_set *profiles,
                                const slate_optimizer_opts *o, const slate_route_table *published,
                                const slate_route_table *optimum, double step,
                                slate_route_table **out, double *max_change, double *step_used);

#endif
