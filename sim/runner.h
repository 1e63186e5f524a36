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
 *   analytic  per segment: table -> flows (slate_route_table_flows) ->
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
#define SLATE_SIM_CLOSED   4 /* closed loop: sim/closed_loop.h */

typedef struct slate_sim_opts {
    int modes;    /* SLATE_SIM_ANALYTIC | SLATE_SIM_DES; default analytic */
    int has_seed; /* 1: |seed| replaces the scenario's */
    uint64_t seed;
    uint64_t max_requests; /* DES bound; default 2,000,000 */
    /* Closed loop (the controller daemon's defaults). */
    double loop_period_s;          /* simulated s between periods; default 5 */
    double loop_damping_step;      /* (0, 1]; default 0.5 */
    double loop_publish_threshold; /* [0, 1]; default 0.01 */
    int loop_learn;                /* 1: refit profiles from telemetry; default 1 */
    double loop_min_gain;          /* slate: publish gate (controller/publish_gate.h),
                                      [0, 1]; default SLATE_PUBLISH_MIN_GAIN_DEFAULT */
} slate_sim_opts;

/* One period of the closed loop. */
typedef struct slate_loop_period {
    double t_s;          /* simulated time the period closed */
    double ingress_rps;  /* demand the reports showed, all classes and clusters */
    int refits;          /* deployments whose profile was refitted */
    int published;       /* 1: a new table was installed */
    int solve_failed;    /* 1: the solve failed; the previous table stayed */
    double max_change;   /* largest weight change against the published table */
    double gain;         /* slate: predicted relative gain over the published
                            table (publish_gate.h); NaN for baselines */
    double solve_ms;     /* wall-clock time of the solve or baseline, ms */
} slate_loop_period;

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
    slate_loop_period *periods; /* closed-loop rows: one per period; owned */
    size_t n_periods;
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

/* The simulator options of |sc| under |o| (seed, warm-up, duration, bound). */
void slate_sim_des_opts(const slate_scenario *sc, const slate_sim_opts *o, slate_des_opts *out);

/* Fills |row|'s numbers from a DES result and keeps |res| (owned by the row
 * from then on). For the modes that simulate. */
/* Marks |row| failed with |status| and "what: detail" (|d|'s first message). */
void slate_sim_row_error(slate_sim_row *row, int status, const char *what, const slate_diag *d);

void slate_sim_row_take_des(slate_sim_row *row, slate_des_result *res, size_t n_class_clusters);

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
