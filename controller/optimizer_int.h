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

    /* ---- the decomposition by class (optimizer_decomp.c) ---- */
    int pwl_group;   /* > 1 only inside a cold decomposed solve: pieces act in groups */
    int decomposed;  /* 1: |lp| is the master over routing strategies, not the arc LP */
    int *dem_row;    /* nk * nc: the master's row sum_strategies y = lambda[k,a] */
    int *dw_default; /* nk * nc: index of the default routing's strategy of (k, a) */
    int strat_col0;  /* the GLPK column of strategy 0; strategy i is strat_col0 + i */
    size_t n_strat, cap_strat;
    int *strat_k, *strat_a;    /* per strategy: class and ingress cluster */
    size_t *strat_off;         /* per strategy: offset of its destinations in strat_dest */
    unsigned char *strat_dest; /* destinations (cluster indices), one per node, pre-order */
    size_t dest_len, dest_cap;
    size_t *strat_slots; /* open-addressing set of strategies: index + 1, 0 = empty */
    size_t n_slots;      /* a power of two, > 2 * n_strat */
    /* Scratch of the column and pricing code, sized at build time (owned). */
    size_t max_nodes;
    double *dw_m;           /* max_nodes: calls per root request along a strategy */
    double *dw_h;           /* max_nodes * nc: cost to go below a node placed at b */
    double *dw_best;        /* max_nodes * nc: cheapest placement from source a */
    unsigned char *dw_pick; /* max_nodes * nc: its destination */
    double *dw_load;        /* ns * nc: a column's load entries */
    unsigned char *dw_mark; /* ns * nc */
    size_t *dw_touched;     /* max_nodes: load rows a column touches */
    int *dw_ind;            /* max_nodes + 3: glp_set_mat_col's 1-based arrays */
    double *dw_val;
    unsigned char *dw_sigma; /* max_nodes: a strategy being built */
    size_t *dw_arc_off;      /* nk: offset of class k's arcs in dw_cost and dw_egress */
    double *dw_cost;         /* per (k, v, a, b): slate_opt_x_cost, refreshed on changes */
    double *dw_egress;       /* per (k, v, a, b): slate_opt_egress_usd_s (fixed) */

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

/* optimizer.c: the objective coefficient of x[k,v,a,b], ms per req/s. */
double slate_opt_x_cost(const slate_optimizer *o, int k, int v, int a, int b);

/* optimizer.c: the shared parts of the arc LP and the master (the same
 * columns d, o and rows load, budget; see optimizer.c). */
void slate_opt_set_profile_cols(slate_optimizer *o, size_t i);
void slate_opt_set_obj_constant(slate_optimizer *o);
void slate_opt_set_budget_row(slate_optimizer *o);

/* optimizer_crash.c: makes the piece or overload column of every load row
 * basic for the load |load| (ns * nc, work units/s), the other pieces
 * non-basic at the bound the load puts them at. */
void slate_opt_crash_load_cols(slate_optimizer *o, const double *load);

/* The start of a crash basis: every row and column non-basic at a bound
 * (GLPK picks the bound of a free-status row); the caller promotes. */
void slate_opt_basis_all_nonbasic(slate_optimizer *o);

/* The row duals of the last solve, indexed by GLPK row (1-based), in
 * o->tmp_ar so the GLPK guard frees them on a fatal error; the caller frees
 * tmp_ar and sets it to NULL when done. NULL when out of memory. */
double *slate_opt_row_duals(slate_optimizer *o);

/* optimizer_decomp.c: the decomposition's counterparts of the arc LP's
 * build, changes, starting basis, pricing and extraction. All run inside
 * the GLPK guard; SLATE_OK or SLATE_ERR_NOMEM. */
int slate_opt_dw_build(slate_optimizer *o);
int slate_opt_dw_apply_changes(slate_optimizer *o);
int slate_opt_dw_crash(slate_optimizer *o);
void slate_opt_dw_refine(slate_optimizer *o, int group);
int slate_opt_dw_price(slate_optimizer *o, int *added);
int slate_opt_dw_extract(const slate_optimizer *o, slate_solution *s);
void slate_opt_dw_free(slate_optimizer *o);

/* optimizer.c: a node's source clusters: every cluster for the root, else
 * the clusters where the parent's service is deployed. */
int slate_opt_is_source(const slate_optimizer *o, int k, int v, int a);

/* optimizer_result.c: reads the optimal flows out of |o->lp| into a new
 * solution (returns owned) and fills its predictions with
 * slate_solution_evaluate against the optimizer's profiles. Called inside the
 * GLPK guard. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_opt_extract_solution(const slate_optimizer *o, slate_solution **out);

#endif
