/*
 * A starting basis for cold solves, built from the LP's structure.
 *
 * GLPK's standard basis (all slacks) starts the simplex far from anything
 * sensible: on a 10-cluster, 10-class, 19-node LP the simplex needs ~12,000
 * pivots from it. The LP's structure gives a much better one. Route every
 * (class, node, source cluster) row to one destination b(k,v,a); that fixes
 * every flow, hence every load. The basis:
 *   - per flow row (k,v,a): the column x[k,v,a,b(k,v,a)];
 *   - per load row (s,b): the piece column d[s,b,i] whose range holds the
 *     load (pieces below it non-basic at their upper bound, above it at 0),
 *     or o[s,b] when the load is beyond the PWL's range (all pieces full);
 *   - the budget row's slack.
 * That is exactly one basic variable per row, and the basis matrix is
 * nonsingular: order the flow rows in call-tree pre-order, then the load
 * rows. x[k,v,a,b] has its 1 in its own flow row and its other entries
 * (-count in the children's rows, -work in a load row, egress in the
 * budget row) in later rows only; d and o have a single 1 in their load
 * row; the budget slack is a unit column: the matrix is triangular with a
 * nonzero diagonal. It is primal feasible too (flows >= 0, pieces within
 * their bounds), except possibly the budget row, which the primal
 * simplex's phase 1 repairs.
 *
 * b(k,v,a) is the default policy's destination (local when deployed, else
 * nearest by RTT), which is what most of the flow does at the optimum of a
 * lightly loaded mesh; the primal simplex then moves what should move.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

void slate_opt_basis_all_nonbasic(slate_optimizer *o)
{
    for (int i = 1; i <= o->n_rows; i++)
        glp_set_row_stat(o->lp, i, GLP_NF);
    for (int j = 1; j <= o->n_cols; j++)
        glp_set_col_stat(o->lp, j, GLP_NL);
}

/* Defined here, used by optimizer_glpk.c. */
int slate_opt_crash_basis(slate_optimizer *o);

/* The destination of row (k, v, a) under the default policy, or -1. */
static int pick_destination(const slate_optimizer *o, int k, int v, int a, double *w)
{
    int s = o->t->classes[k].nodes[v].service;
    slate_route_default_weights(o->t, a, s, w);
    for (size_t b = 0; b < o->nc; b++)
        if (w[b] > 0)
            return (int)b;
    return -1;
}

void slate_opt_crash_load_cols(slate_optimizer *o, const double *load)
{
    size_t nc = o->nc;
    for (size_t i = 0; i < o->ns * nc; i++) {
        if (!o->dep[i])
            continue;
        double left = load[i];
        int basic = 0;
        for (int p = 0; p < o->opts.pwl_segments; p++) {
            int col = o->seg_col[i] + p;
            double len = glp_get_col_ub(o->lp, col);
            if (glp_get_col_type(o->lp, col) == GLP_FX) {
                glp_set_col_stat(o->lp, col, GLP_NS);
            } else if (basic) {
                glp_set_col_stat(o->lp, col, GLP_NL);
            } else if (left >= len) {
                glp_set_col_stat(o->lp, col, GLP_NU);
                left -= len;
            } else {
                glp_set_col_stat(o->lp, col, GLP_BS);
                basic = 1;
            }
        }
        glp_set_col_stat(o->lp, o->o_col[i], basic ? GLP_NL : GLP_BS);
    }
}

int slate_opt_crash_basis(slate_optimizer *o)
{
    size_t nc = o->nc;
    double w[SLATE_TOPO_MAX_CLUSTERS];
    size_t max_nodes = 1;
    for (size_t k = 0; k < o->nk; k++)
        if (o->t->classes[k].n_nodes > max_nodes)
            max_nodes = o->t->classes[k].n_nodes;
    /* Scratch in the optimizer's tmp fields: the guard frees them even if
     * GLPK fails fatally in between. tmp_ar: per node and source cluster,
     * the flow entering the row; then per deployment, the load. */
    free(o->tmp_ar);
    o->tmp_ar = calloc(max_nodes * nc + o->ns * nc + 1, sizeof(double));
    if (o->tmp_ar == NULL)
        return SLATE_ERR_NOMEM;
    double *in = o->tmp_ar, *load = o->tmp_ar + max_nodes * nc;

    /* Everything non-basic at its bound first; the loops below promote. */
    slate_opt_basis_all_nonbasic(o);

    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        memset(in, 0, c->n_nodes * nc * sizeof(double));
        for (size_t a = 0; a < nc; a++)
            in[a] = o->lambda[k * nc + a];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            for (size_t a = 0; a < nc; a++) {
                if (!o->flow_row[k][v * nc + a])
                    continue;
                int b = pick_destination(o, (int)k, (int)v, (int)a, w);
                int col = b < 0 ? 0 : o->xcol[k][(v * nc + a) * nc + (size_t)b];
                if (!col) {
                    /* Cannot happen for a validated topology (every
                     * service is deployed); keep the row's slack basic. */
                    glp_set_row_stat(o->lp, o->flow_row[k][v * nc + a], GLP_BS);
                    continue;
                }
                glp_set_col_stat(o->lp, col, GLP_BS);
                double f = in[v * nc + a];
                load[(size_t)n->service * nc + (size_t)b] += n->work * f;
                for (size_t j = 0; j < n->n_children; j++) {
                    size_t ch = (size_t)n->children[j];
                    in[ch * nc + (size_t)b] += o->count[k][ch] * f;
                }
            }
        }
    }
    slate_opt_crash_load_cols(o, load);
    glp_set_row_stat(o->lp, o->budget_row, GLP_BS);
    free(o->tmp_ar);
    o->tmp_ar = NULL;
    return SLATE_OK;
}
