/*
 * The optimizer's internals, shared by controller/optimizer*.c only.
 *
 * The optimizer keeps the model it solves (demand, call counts, profiles and
 * their PWL pieces, cost mode) in its own arrays: that is the source of truth.
 * The GLPK problem object is a cache of it that set_* calls update lazily:
 * they record the change and mark it dirty, and solve() applies the dirty
 * parts as bound/coefficient changes under the GLPK error guard. When GLPK
 * fails fatally (its environment is then freed, see optimizer_solve.c) the
 * problem object is rebuilt from these arrays at the next solve.
 */
#ifndef SLATE_CONTROLLER_OPTIMIZER_INT_H
#define SLATE_CONTROLLER_OPTIMIZER_INT_H

#include <glpk.h>

#include "controller/optimizer.h"

/* Flows below this (req/s) count as "no flow" for weights and predictions. */
#define SLATE_FLOW_EPS 1e-9

/* bytes -> GB for egress prices in USD/GB. */
#define SLATE_BYTES_PER_GB 1e9

struct slate_optimizer {
    const slate_topology *t; /* borrowed */
    slate_optimizer_opts opts;
    size_t nc, ns, nk; /* clusters, services, classes */

    /* ---- the model (source of truth) ---- */
    double *lambda;              /* nk * nc: demand per (class, ingress cluster), req/s */
    double **count;              /* nk arrays of n_nodes: calls per parent request */
    double **share;              /* nk arrays of n_nodes: objective weight of the node's
                                    latency terms (1, or its critical-path share) */
    unsigned char *dep;          /* ns * nc: 1 where the service is deployed */
    slate_profile_set *profiles; /* owned: one profile per deployment, what
                                    predictions (slate_solution_evaluate) read */
    slate_pwl *pwl;              /* ns * nc, valid where dep: derived from |profiles| */
    slate_cost_mode cost_mode;
    double cost_value; /* usd_per_ms (PRICE) or USD/h budget (BUDGET) */

    /* ---- dirty marks (set by set_*, cleared when applied to the LP) ---- */
    int demand_dirty;
    unsigned char **count_dirty; /* nk arrays of n_nodes */
    unsigned char *prof_dirty;   /* ns * nc */
    int cost_dirty;

    /* ---- the LP's index maps (GLPK indices are 1-based; 0 = none) ---- */
    int **xcol;     /* nk arrays of n_nodes * nc * nc: column of x[k,v,a,b] */
    int **flow_row; /* nk arrays of n_nodes * nc: the demand row (root) or the
                       conservation row of (v, a) */
    int *seg_col;   /* ns * nc: the first of pwl_segments consecutive columns
                       d[s,b,i], the load on PWL piece i */
    int *o_col;     /* ns * nc: overload beyond the PWL's range */
    int *load_row;  /* ns * nc */
    int budget_row;
    int n_rows, n_cols, n_nz;

    /* ---- GLPK state ---- */
    glp_prob *lp;          /* NULL until built, or after a GLPK fatal error */
    unsigned lp_env_epoch; /* the environment epoch |lp| was created in */
    int has_basis;         /* 1: |lp| holds a basis from a previous solve */

    int last_from_ipt; /* 1: the last solve ended with glp_interior's solution */

    /* Scratch owned across one guarded GLPK call, freed by the guard on both
     * paths (a GLPK fatal error longjmps past the code that would free it). */
    int *tmp_ia, *tmp_ja;
    double *tmp_ar;
    slate_solution *pending; /* a solution being extracted */

    slate_solution *sol; /* last successful solution, owned; NULL before */
};

/* optimizer.c: builds |o->lp| from the model (all dirty marks cleared).
 * Called inside the GLPK guard. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_opt_build_lp(slate_optimizer *o);

/* optimizer.c: applies the dirty parts of the model to |o->lp|. Called inside
 * the GLPK guard. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_opt_apply_changes(slate_optimizer *o);

/* optimizer.c: the egress price in USD/s of one req/s of x[k,v,a,b]. */
double slate_opt_egress_usd_s(const slate_optimizer *o, int k, int v, int a, int b);

/* optimizer.c: a node's source clusters: every cluster for the root, else
 * the clusters where the parent's service is deployed. */
int slate_opt_is_source(const slate_optimizer *o, int k, int v, int a);

/* optimizer_result.c: reads the optimal flows out of |o->lp| into a new
 * solution (returns owned) and fills its predictions with
 * slate_solution_evaluate against the optimizer's profiles. Called inside the
 * GLPK guard. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_opt_extract_solution(const slate_optimizer *o, slate_solution **out);

#endif
