/*
 * Column generation over the arcs x[k,v,a,b], inside the one GLPK problem.
 *
 * Most cross-cluster arcs carry no flow at the optimum, yet every one of
 * them is a column the simplex prices at every pivot. So every x column
 * stays in the problem, but the arcs outside a candidate set are fixed at 0
 * (GLP_FX, non-basic GLP_NS): GLPK's simplex leaves fixed non-basic columns
 * out of its working LP (glp_smcp.excl, on by default), so the restricted
 * LP it solves is smaller and its pivots are cheaper and fewer.
 *
 * The candidate set of a cold solve is, per flow row (k, v, a), the default
 * routing's destination (the one the crash basis routes through, so the
 * crash basis stays valid) and the CANDIDATES_NEAREST nearest other
 * deployed destinations by RTT. After every optimal solve of the restricted
 * LP, pricing computes the reduced cost of every fixed arc from the row
 * duals and frees (GLP_LO, non-basic at 0) those that price out; the primal
 * simplex then continues from the same basis, which is still primal
 * feasible (the freed columns are non-basic at 0, so no basic value moves).
 * Arcs stay free across solves: a warm solve re-optimises the current
 * restricted LP with the dual simplex and then prices the same way.
 *
 * Why the result is optimal for the full LP: the final basis B is optimal
 * for the restricted LP, so it is primal feasible and every free non-basic
 * column has a reduced cost of the right sign under the duals pi of B.
 * Primal feasibility does not depend on the fixed columns (they are 0 in
 * both LPs). The fixed arcs are, in the full LP, non-basic at their lower
 * bound 0, and pricing found d_j = c_j - pi^T A_j >= -tol for each of them:
 * B, with those arcs at their lower bound, satisfies the full LP's
 * optimality conditions (primal feasible, dual feasible, complementary),
 * within the same kind of tolerance the simplex itself uses. Each round
 * frees at least one arc and none is ever fixed again in a solve, so the
 * loop ends after at most as many rounds as there are arcs. A restricted
 * LP that is infeasible (an egress budget the candidate arcs cannot meet)
 * says nothing about the full LP, so then every arc is freed and the
 * simplex decides on the full LP (optimizer_glpk.c).
 *
 * The reduced costs are computed here from the column's known structure
 * (see slate_opt_build_lp in optimizer.c) rather than read with
 * glp_get_col_dual, so the argument above does not rest on what GLPK
 * stores for the columns it left out of its working LP (GLPK 5.0's values
 * agreed with these to 1e-6 relative on the unit tests' LPs and the
 * 10-cluster caterpillar benchmark, but that is not documented):
 *   x[k,v,a,b]: +1 in the flow row (k,v,a), -count(c) in the flow row
 *   (k,c,b) of every child c, -work(v) in the load row of (service(v), b),
 *   and 3600 * egress USD/s in the budget row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

/* Besides the default routing's destination, this many nearest (by RTT)
 * other deployed destinations start free per flow row. Measured (Release,
 * random 10 clusters x 20 classes x 100 services, 37,000 columns): cold
 * 5.7 s with 0, 8.9 s with 1, 10.9 s with 2 (26 s without column
 * generation); warm 0.21, 0.22, 0.24 s. With 0 the crash basis is optimal
 * for the first restricted LP and pricing at its duals picks the arcs. */
#define CANDIDATES_NEAREST 0

/* An arc prices out when its reduced cost is below -PRICE_TOL times the
 * magnitude of the terms it is computed from (its cost and each
 * pi_i * a_ij), so the test is relative to the objective's scale and
 * rounding in the duals cannot free arcs endlessly. */
#define PRICE_TOL 1e-9

int slate_opt_cg_active(const slate_optimizer *o);
int slate_opt_cg_restrict(slate_optimizer *o);
int slate_opt_cg_price(slate_optimizer *o, int *freed);
int slate_opt_cg_free_all(slate_optimizer *o);

int slate_opt_cg_active(const slate_optimizer *o)
{
    return o->opts.column_generation && o->opts.method == SLATE_LP_AUTO;
}

static size_t xidx(const slate_optimizer *o, size_t v, size_t a, size_t b)
{
    return (v * o->nc + a) * o->nc + b;
}

int slate_opt_cg_restrict(slate_optimizer *o)
{
    size_t nc = o->nc;
    double w[SLATE_TOPO_MAX_CLUSTERS];
    unsigned char keep[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            int s = c->nodes[v].service;
            for (size_t a = 0; a < nc; a++) {
                if (!o->flow_row[k][v * nc + a])
                    continue;
                /* The default routing's destinations: the crash basis
                 * (optimizer_crash.c) makes the first of them basic. */
                slate_route_default_weights(o->t, (int)a, s, w);
                for (size_t b = 0; b < nc; b++)
                    keep[b] = w[b] > 0;
                for (int r = 0; r < CANDIDATES_NEAREST; r++) {
                    int best = -1;
                    double best_rtt = INFINITY;
                    for (size_t b = 0; b < nc; b++) {
                        if (keep[b] || !o->xcol[k][xidx(o, v, a, b)])
                            continue;
                        double rtt = slate_topology_rtt_ms(o->t, (int)a, (int)b);
                        if (rtt < best_rtt) {
                            best_rtt = rtt;
                            best = (int)b;
                        }
                    }
                    if (best < 0)
                        break;
                    keep[best] = 1;
                }
                for (size_t b = 0; b < nc; b++) {
                    int col = o->xcol[k][xidx(o, v, a, b)];
                    if (!col)
                        continue;
                    if (keep[b])
                        glp_set_col_bnds(o->lp, col, GLP_LO, 0.0, 0.0);
                    else
                        glp_set_col_bnds(o->lp, col, GLP_FX, 0.0, 0.0);
                }
            }
        }
    }
    return SLATE_OK;
}

double *slate_opt_row_duals(slate_optimizer *o)
{
    free(o->tmp_ar);
    o->tmp_ar = malloc(((size_t)o->n_rows + 1) * sizeof(double));
    if (o->tmp_ar != NULL)
        for (int i = 1; i <= o->n_rows; i++)
            o->tmp_ar[i] = glp_get_row_dual(o->lp, i);
    return o->tmp_ar;
}

int slate_opt_cg_price(slate_optimizer *o, int *freed)
{
    size_t nc = o->nc;
    double *pi = slate_opt_row_duals(o);
    if (pi == NULL)
        return SLATE_ERR_NOMEM;
    double pi_budget = pi[o->budget_row];

    int n = 0;
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *node = &c->nodes[v];
            for (size_t a = 0; a < nc; a++) {
                int row = o->flow_row[k][v * nc + a];
                if (!row)
                    continue;
                for (size_t b = 0; b < nc; b++) {
                    int col = o->xcol[k][xidx(o, v, a, b)];
                    if (!col || glp_get_col_type(o->lp, col) != GLP_FX)
                        continue;
                    double cost = glp_get_obj_coef(o->lp, col);
                    double term = pi[row];
                    double d = cost - term;
                    double mag = fabs(cost) + fabs(term);
                    for (size_t j = 0; j < node->n_children; j++) {
                        size_t ch = (size_t)node->children[j];
                        term = o->count[k][ch] * pi[o->flow_row[k][ch * nc + b]];
                        d += term;
                        mag += fabs(term);
                    }
                    term = node->work * pi[o->load_row[(size_t)node->service * nc + b]];
                    d += term;
                    mag += fabs(term);
                    if (pi_budget != 0) {
                        term = 3600.0 * slate_opt_egress_usd_s(o, (int)k, (int)v, (int)a, (int)b) *
                               pi_budget;
                        d -= term;
                        mag += fabs(term);
                    }
                    if (d < -PRICE_TOL * (1.0 + mag)) {
                        /* Non-basic at its new lower bound 0: the basis
                         * and every basic value stay as they are. */
                        glp_set_col_bnds(o->lp, col, GLP_LO, 0.0, 0.0);
                        glp_set_col_stat(o->lp, col, GLP_NL);
                        n++;
                    }
                }
            }
        }
    }
    free(o->tmp_ar);
    o->tmp_ar = NULL;
    *freed = n;
    return SLATE_OK;
}

int slate_opt_cg_free_all(slate_optimizer *o)
{
    int n = 0;
    for (size_t k = 0; k < o->nk; k++) {
        size_t cells = o->t->classes[k].n_nodes * o->nc * o->nc;
        for (size_t i = 0; i < cells; i++) {
            int col = o->xcol[k][i];
            if (col && glp_get_col_type(o->lp, col) == GLP_FX) {
                glp_set_col_bnds(o->lp, col, GLP_LO, 0.0, 0.0);
                glp_set_col_stat(o->lp, col, GLP_NL);
                n++;
            }
        }
    }
    return n;
}
