/*
 * The scenario runner: evaluates each requested policy on one scenario in
 * the analytic (fluid) mode, the discrete-event mode, or both, and reports
 * one row per (policy, mode).
 *
 * The scenario's timeline and events cut [0, duration_s] into segments of
 * constant state (demand, capacities, failed clusters, RTTs). At the start
 * of each segment the runner builds the topology view of that state (failed
 * clusters' deployments removed, capacities scaled, RTTs changed, the
 * segment's demand), scales the ground-truth profiles to it (a capacity
 * factor f gives the same latency at f times the load), and asks the policy
 * for a routing table from that view. So load-aware policies (waterfall,
 * rings, slate) re-route at every step, instantly and with exact knowledge
 * of the new demand: an idealised controller with no measurement lag (the
 * closed-loop mode, where slate learns from telemetry, is not built yet).
 *
 *   analytic  per segment: table -> flows (slate_policy_flows) ->
 *             slate_solution_evaluate against the ground truth; results are
 *             averaged over [warmup_s, duration_s] weighted by segment length
 *             (latency also by demand). Quantiles are not available (NaN);
 *             "overload" is the mean load above u_max x capacity, work
 *             units/s. p2c-ewma has no table: its analytic row is an error.
 *   des       one simulation over the whole timeline (des.h), the table
 *             replaced at each segment start; "overload" is the fraction of
 *             measured requests that met an overloaded queue.
 *
 * Latency in both modes is end to end: the critical path, parallel
 * siblings joined by max (analytic: class_latency_cp_ms).
 */
#ifndef SLATE_SIM_RUNNER_H
#define SLATE_SIM_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/diag.h"
#include "sim/des.h"
#include "sim/policy.h"
#include "sim/scenario.h"

#define SLATE_SIM_ANALYTIC 1
#define SLATE_SIM_DES      2

typedef struct slate_sim_opts {
    int modes;    /* SLATE_SIM_ANALYTIC | SLATE_SIM_DES; default analytic */
    int has_seed; /* 1: |seed| replaces the scenario's */
    uint64_t seed;
    uint64_t max_requests; /* DES bound; default 2,000,000 */
} slate_sim_opts;

void slate_sim_opts_init(slate_sim_opts *o);

typedef struct slate_sim_row {
    slate_policy_kind policy;
    int mode;   /* SLATE_SIM_ANALYTIC or SLATE_SIM_DES */
    int status; /* SLATE_OK, or why this row has no numbers */
    char error[256];
    double mean_ms, p50_ms, p90_ms, p99_ms; /* end to end; quantiles NaN in analytic */
    double mean_sum_ms; /* analytic: the sum view (every call's latency); NaN in DES */
    double egress_usd_per_hour;
    double max_utilization;
    double overload;            /* see the file comment: per mode */
    uint64_t requests;          /* DES: measured requests */
    int truncated;              /* DES: a bound stopped arrivals early */
    slate_des_stats *per_class; /* n_classes * n_clusters, [k * nc + a]; owned */
    slate_des_result *des;      /* DES rows: the simulator's full result (CDF,
                                   timeline); owned, NULL otherwise */
} slate_sim_row;

typedef struct slate_sim_report {
    const slate_topology *t; /* borrowed from the scenario */
    slate_sim_row *rows;     /* owned */
    size_t n_rows;
} slate_sim_report;

/*
 * Runs |n_policies| policies of |policies| on |sc| (borrowed) in |opts|'s
 * modes (NULL: analytic). A policy that fails in one mode gets a row with
 * its status and message; the run goes on. Returns owned report in |*out|
 * (free with slate_sim_report_free). SLATE_OK, SLATE_ERR_INVALID_ARG or
 * SLATE_ERR_NOMEM.
 */
int slate_sim_run(const slate_scenario *sc, const slate_policy_kind *policies, size_t n_policies,
                  const slate_sim_opts *opts, slate_sim_report **out, slate_diag *diag);

void slate_sim_report_free(slate_sim_report *r);

/* Returns the row of |policy| in |mode|, or NULL. */
const slate_sim_row *slate_sim_report_find(const slate_sim_report *r, slate_policy_kind policy,
                                           int mode);

/* Prints the side-by-side table, per mode, with ratios against waterfall
 * (when it ran) to |fp|. */
void slate_sim_report_print(const slate_sim_report *r, FILE *fp);

/* Writes one CSV line per row (with a header). SLATE_OK or SLATE_ERR_IO. */
int slate_sim_report_write_csv(const slate_sim_report *r, FILE *fp);

/* Returns the report as JSON (owned text, free()), per-class rows included.
 * SLATE_OK or SLATE_ERR_NOMEM. */
int slate_sim_report_to_json(const slate_sim_report *r, char **out);

#endif
