/*
 * The closed-loop mode (issue 3): the simulated system's telemetry drives a
 * controller loop in simulated time, so learning and stability are
 * exercised without any network.
 *
 * One discrete-event simulation (des.h) runs the scenario's timeline with
 * telemetry on. Every period P of simulated time the loop does what the
 * controller daemon does each period (controller/loop.c), with the same
 * code:
 *   reports of the period (one per deployment, as its sidecars would send)
 *   -> aggregator (controller/aggregate.h) -> observation
 *   -> learner (controller/learner.h): observed demand and multiplicities,
 *      profile refits from (load, self-time) samples when learning is on
 *   -> the policy's table: slate re-solves its LP warm (the optimizer kept
 *      across periods); a baseline recomputes from the observed demand
 *   -> damping (controller/damping.h) against the published table; publish
 *      when some weight moved by the threshold, the simulator then routes
 *      new calls by it.
 * Until the first publication calls follow the default policy (local when
 * deployed, else nearest), as sidecars without a table do.
 *
 * What the loop's controller knows: the scenario's topology (RTTs,
 * deployments, nominal capacities) and its prior profiles (the ground truth
 * or the topology's defaults, per "slate_profiles"); the topology's demand
 * is not used, the first table waits for the first observation. It learns
 * everything else from telemetry: demand changes, capacity drops (as higher
 * latency at the same load), multiplicities. Two things it is told, as a
 * mesh's health checking would tell it: a failed cluster's deployments are
 * removed from its model at the next period (published weights to that
 * cluster are zeroed, the rest renormalised). RTT changes are not told: it
 * keeps the topology's RTTs. Calls routed to a cluster before it failed are
 * still served there (the simulator models no errors).
 *
 * Solve limits: each solve has a wall-clock limit of 80% of a period of
 * real time at the controller's default (4 s) and an iteration limit, as
 * in the daemon; a failed solve keeps the previous table.
 */
#ifndef SLATE_SIM_CLOSED_LOOP_H
#define SLATE_SIM_CLOSED_LOOP_H

#include "common/diag.h"
#include "sim/runner.h"
#include "sim/scenario.h"

/*
 * Runs |kind| (a policy with a table) on |sc| in closed loop with |o|'s
 * seed, bounds and loop settings; fills |row| like the DES mode does, plus
 * its per-period trace. A policy or simulator failure is reported in the
 * row (status, error); returns SLATE_OK then, or NOMEM.
 */
int slate_sim_closed_loop(const slate_scenario *sc, slate_policy_kind kind, const slate_sim_opts *o,
                          slate_sim_row *row, slate_diag *diag);

#endif
