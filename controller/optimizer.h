/*
 * slate's optimizer: the linear program of DESIGN.md section 5, on GLPK.
 *
 * Variables x[k,v,a,b] >= 0 are flows in requests/s of class k's call-tree
 * node v from the cluster a where v's parent runs (the ingress cluster for
 * the root) to a cluster b where v's service is deployed. The LP is pure
 * (no integers): the convex queueing cost enters through an epigraph over the
 * profiles' piecewise-linear approximation, and capacity is soft (penalised
 * overload), so every instance is feasible and overload is reported, not
 * failed on.
 *
 * Objective, in ms*req/s (total latency per second of wall time):
 *   sum x*(work*t0 + rtt[a][b]) + sum z[s,b] + egress term + M * sum o[s,b]
 * where the egress term is, in SLATE_COST_PRICE mode, egress USD/s divided
 * by |usd_per_ms| (the price of one ms of one request's latency), and in
 * SLATE_COST_BUDGET mode a hard constraint egress USD/h <= budget.
 *
 * The GLPK problem object lives as long as the optimizer: changing demand or
 * profiles changes bounds and coefficients only, and the next solve starts
 * from the previous basis (warm). GLPK never prints and never aborts the
 * process; every solve has a time and iteration limit; a failed solve keeps
 * the previous solution.
 *
 * Thread rules: one optimizer is used by one thread at a time.
 */
#ifndef SLATE_CONTROLLER_OPTIMIZER_H
#define SLATE_CONTROLLER_OPTIMIZER_H

#include <stddef.h>

#include "common/diag.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

typedef enum slate_cost_mode {
    SLATE_COST_PRICE = 0,  /* egress priced against latency by usd_per_ms */
    SLATE_COST_BUDGET = 1  /* egress USD/h bounded by egress_budget_usd_per_hour */
} slate_cost_mode;

typedef enum slate_lp_method {
    SLATE_LP_AUTO = 0,     /* with opts.decompose (the default): the LP decomposed
                              by class (optimizer_decomp.c), primal simplex cold
                              (a coarse-PWL stage first), dual simplex warm, with
                              strategy pricing; without it: the arc LP, primal
                              simplex from a basis built from the default routing
                              cold, dual simplex warm, with arc pricing (measured
                              fastest; see optimizer_glpk.c) */
    SLATE_LP_SIMPLEX = 1,  /* primal simplex cold, dual simplex warm */
    SLATE_LP_INTERIOR = 2  /* interior point every time (no warm start) */
} slate_lp_method;

typedef struct slate_optimizer_opts {
    double u_max;            /* PWL range as a fraction of capacity; (0,1); default 0.95 */
    int pwl_segments;        /* pieces per profile; default 12 */
    slate_cost_mode cost_mode;
    double usd_per_ms;       /* PRICE: USD one ms of one request's latency is worth;
                                0 = egress not priced; default 1e-7 */
    double egress_budget_usd_per_hour; /* BUDGET: >= 0 */
    double overload_penalty; /* M, ms per (work unit/s) of overload; default 1e6 */
    double time_limit_ms;    /* per solve; default 10000 */
    int iteration_limit;     /* per solve; default 1000000 */
    int critical_path;       /* 1: weight node terms by critical-path share; default 0 */
    int prune_arcs;          /* 1: drop provably dominated cross-cluster arcs; default 1 */
    slate_lp_method method;
    int column_generation;   /* 1 (with SLATE_LP_AUTO): solve over a candidate set
                                of arcs (the default routing's), the others fixed
                                at 0, and free every fixed arc whose reduced cost
                                prices out until none does; the result is optimal
                                for the full LP (see optimizer_pricing.c); default 1 */
    int decompose;           /* 1 (with SLATE_LP_AUTO and column_generation): solve the
                                LP decomposed by class, as a master over routing
                                strategies whose columns a call-tree DP generates
                                (see optimizer_decomp.c); same optimum, far smaller
                                basis; default 1 */
    int pin_ingress;         /* 1: requests are served by the class's root service in the
                                cluster they enter (no global gateway routes them): the
                                root's cross-cluster arcs are left out wherever the root
                                is deployed in the ingress cluster; default 0 */
} slate_optimizer_opts;

/* Fills |o| with the defaults above. */
void slate_optimizer_opts_init(slate_optimizer_opts *o);

/*
 * The result of one successful solve. Arrays are owned by the solution.
 * Index helpers: per (class k, ingress cluster a): [k * n_clusters + a];
 * per (service s, cluster b): [s * n_clusters + b].
 */
typedef struct slate_solution {
    size_t n_classes, n_services, n_clusters;
    int warm;                /* 1 if the solve started from a previous basis */
    double solve_ms;         /* wall time of the solve, ms */
    int iterations;          /* simplex + interior-point iterations */
    int cg_rounds;           /* column generation: pricing rounds (0 without it) */
    int cg_arcs_freed;       /* column generation: arcs this solve freed */
    int rows, cols, nonzeros;/* size of the LP GLPK solved: the arc LP, or with
                                opts.decompose the master (its generated strategies
                                included) */
    double objective;        /* the LP objective, ms*req/s (+ penalties) */
    double latency_ms_rps;   /* predicted total latency per second, ms*req/s */
    double egress_usd_per_hour;
    double overload_total;   /* sum of overload, work units/s */
    double *class_latency_ms;    /* mean per-request sum of all calls' latency
                                    (network + service); NaN without demand */
    double *class_latency_cp_ms; /* mean end-to-end latency along the critical path
                                    (parallel siblings joined by max) */
    double *load_rps;        /* work units/s */
    double *utilization;     /* load / capacity */
    double *overload_rps;    /* work units/s above u_max * capacity */
    /* flows[k] holds class k's x[v][a][b], n_nodes * n_clusters^2 values. */
    double **flows;
    size_t *n_nodes;         /* per class */
} slate_solution;

/* Returns x[k,v,a,b] in req/s. */
static inline double slate_solution_flow(const slate_solution *s, int k, int v, int a, int b)
{
    size_t n = s->n_clusters;
    return s->flows[k][((size_t)v * n + (size_t)a) * n + (size_t)b];
}

/* Returns an owned deep copy of |s|. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_solution_clone(const slate_solution *s, slate_solution **out);
void slate_solution_free(slate_solution *s);

/*
 * Allocates a solution shaped for |t| with every flow, load and result 0
 * (returns owned, free with slate_solution_free). For evaluating flows that
 * did not come from the LP (baseline policies, the simulator).
 * SLATE_OK or SLATE_ERR_NOMEM.
 */
int slate_solution_new(const slate_topology *t, slate_solution **out);

/*
 * The fluid evaluator: the one model of predicted latency, with which the
 * optimizer fills its own solutions (against its current profiles) and the
 * simulator scores every policy. Evaluates the flows already in |s|
 * (x[k,v,a,b], req/s) against |profiles| (borrowed; the latency model to
 * predict with): fills load_rps, utilization, overload_rps,
 * egress_usd_per_hour, latency_ms_rps, class_latency_ms and
 * class_latency_cp_ms (see the struct); the other fields are left alone.
 *
 * Calls per request: the expected calls of child c per request of its parent
 * at cluster b are read from the flows themselves,
 * sum_b' x[k,c,b,b'] / sum_a x[k,parent,a,b], wherever the parent has flow
 * into b, and are the topology's count only where it has none. For flows
 * that conserve calls (the LP's flow rows, the simulator's policies) that is
 * exactly the count they were built with, so |t|'s counts need not be the
 * current ones (slate_optimizer_set_count); a latency reported for demand
 * never depends on the fallback, which only reaches subtrees no flow enters.
 *
 * Near capacity, with x_max = u_max * mu of the deployment's profile:
 *  - load <= x_max: the profile's own q (not the LP's PWL, which
 *    over-approximates it by up to its max_error);
 *  - load > x_max: f(rho) = rho * q(rho) continues linearly along its tangent
 *    at x_max, and the per-call delay is f(rho) / rho.
 * This is finite (an M/M/1's q is infinite from mu on, and any finite number
 * there is a convention, not a prediction), continuous at x_max and
 * non-decreasing in the load. It is the LP's own model beyond its range (the
 * PWL's last piece extended) in the limit of fine pieces, without depending
 * on the number of pieces, and for a convex f it is a lower bound there: the
 * overload itself is reported, not hidden in the latency, as overload_rps =
 * max(0, load - x_max) (what the LP's overload columns carry) and
 * utilization = load / mu.
 *
 * SLATE_OK, SLATE_ERR_INVALID_ARG (NULL argument, u_max not in (0, 1),
 * shapes that do not match |t|, or a deployment without a profile) or
 * SLATE_ERR_NOMEM.
 */
int slate_solution_evaluate(const slate_topology *t, const slate_profile_set *profiles,
                            double u_max, slate_solution *s);

typedef struct slate_optimizer slate_optimizer;

/*
 * Builds the LP for |t| (borrowed; must outlive the optimizer and stay
 * unchanged) with the demand in |t| and the profiles in |profiles|
 * (copied). |opts| may be NULL for the defaults. Returns SLATE_OK,
 * SLATE_ERR_INVALID_ARG (with |diag|) or SLATE_ERR_NOMEM.
 */
int slate_optimizer_new(const slate_topology *t, const slate_profile_set *profiles,
                        const slate_optimizer_opts *opts, slate_optimizer **out,
                        slate_diag *diag);
void slate_optimizer_free(slate_optimizer *o);

/* Sets the demand of class |k| entering at cluster |a| (req/s, finite, >= 0).
 * Takes effect at the next solve. SLATE_OK or SLATE_ERR_INVALID_ARG. */
int slate_optimizer_set_demand(slate_optimizer *o, int k, int a, double rps);

/* Replaces the profile (copied) of |service| at |cluster|; re-derives its PWL
 * pieces. SLATE_OK, SLATE_ERR_NOT_FOUND or SLATE_ERR_PROFILE_INVALID. */
int slate_optimizer_set_profile(slate_optimizer *o, int service, int cluster,
                                const slate_profile *p);

/* Replaces the expected calls per parent request of node |v| of class |k|
 * (as learned from traces). SLATE_OK or SLATE_ERR_INVALID_ARG. */
int slate_optimizer_set_count(slate_optimizer *o, int k, int v, double count);

/* Switches cost mode and its parameter for the next solve. */
int slate_optimizer_set_cost(slate_optimizer *o, slate_cost_mode mode, double value);

/* Replaces the per-solve limits (opts.time_limit_ms in [1, 2e9], and
 * opts.iteration_limit >= 1) from the next solve on.
 * SLATE_OK or SLATE_ERR_INVALID_ARG. */
int slate_optimizer_set_limits(slate_optimizer *o, double time_limit_ms, int iteration_limit);

/*
 * Solves (warm when a previous basis exists). On success the new solution
 * replaces the previous one; on failure the previous one stays and |diag|
 * says why. Returns SLATE_OK, SLATE_ERR_SOLVE_LIMIT, SLATE_ERR_SOLVE_FAILED,
 * SLATE_ERR_INFEASIBLE (only in SLATE_COST_BUDGET mode: the budget cannot
 * carry the demand) or SLATE_ERR_NOMEM.
 */
int slate_optimizer_solve(slate_optimizer *o, slate_diag *diag);

/* Forgets the basis so the next solve is cold (for tests and benchmarks). */
void slate_optimizer_reset_basis(slate_optimizer *o);

/* Writes the current LP in CPLEX LP format to |path| (for debugging and for
 * benchmarking against glpsol): the arc LP, or with opts.decompose the master
 * with the strategies generated so far (whose optimum is the LP's after a
 * solve). SLATE_OK or SLATE_ERR_IO. */
int slate_optimizer_write_lp(const slate_optimizer *o, const char *path);

/* Returns the last successful solution (returns borrowed: valid until the
 * next successful solve or free), or NULL before the first one. */
const slate_solution *slate_optimizer_solution(const slate_optimizer *o);

#endif
