/*
 * Solutions: the slate_solution lifecycle, and reading GLPK's answer (the
 * predictions come from the fluid evaluator, evaluate.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"

void slate_solution_free(slate_solution *s)
{
    if (s == NULL)
        return;
    if (s->flows != NULL)
        for (size_t k = 0; k < s->n_classes; k++)
            free(s->flows[k]);
    free(s->flows);
    free(s->n_nodes);
    free(s->class_latency_ms);
    free(s->class_latency_cp_ms);
    free(s->load_rps);
    free(s->utilization);
    free(s->overload_rps);
    free(s);
}

/* Allocates the arrays of |s| for its n_* fields and n_nodes (already set),
 * all zero. The +1s keep every calloc non-zero-sized for an empty model. */
static int alloc_arrays(slate_solution *s)
{
    size_t kc = s->n_classes * s->n_clusters + 1, sc = s->n_services * s->n_clusters + 1;
    s->class_latency_ms = calloc(kc, sizeof(double));
    s->class_latency_cp_ms = calloc(kc, sizeof(double));
    s->load_rps = calloc(sc, sizeof(double));
    s->utilization = calloc(sc, sizeof(double));
    s->overload_rps = calloc(sc, sizeof(double));
    s->flows = calloc(s->n_classes + 1, sizeof(double *));
    if (!s->class_latency_ms || !s->class_latency_cp_ms || !s->load_rps || !s->utilization ||
        !s->overload_rps || !s->flows)
        return SLATE_ERR_NOMEM;
    for (size_t k = 0; k < s->n_classes; k++) {
        s->flows[k] = calloc(s->n_nodes[k] * s->n_clusters * s->n_clusters + 1, sizeof(double));
        if (s->flows[k] == NULL)
            return SLATE_ERR_NOMEM;
    }
    return SLATE_OK;
}

int slate_solution_new(const slate_topology *t, slate_solution **out)
{
    if (t == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_solution *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SLATE_ERR_NOMEM;
    s->n_classes = t->n_classes;
    s->n_services = t->n_services;
    s->n_clusters = t->n_clusters;
    s->n_nodes = calloc(t->n_classes + 1, sizeof(size_t));
    if (s->n_nodes == NULL)
        goto fail;
    for (size_t k = 0; k < t->n_classes; k++)
        s->n_nodes[k] = t->classes[k].n_nodes;
    if (alloc_arrays(s) != SLATE_OK)
        goto fail;
    *out = s;
    return SLATE_OK;
fail:
    slate_solution_free(s);
    return SLATE_ERR_NOMEM;
}

int slate_solution_clone(const slate_solution *s, slate_solution **out)
{
    if (s == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_solution *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SLATE_ERR_NOMEM;
    *c = *s;
    c->n_nodes = NULL;
    c->flows = NULL;
    c->class_latency_ms = c->class_latency_cp_ms = NULL;
    c->load_rps = c->utilization = c->overload_rps = NULL;
    c->n_nodes = calloc(s->n_classes + 1, sizeof(size_t));
    if (c->n_nodes == NULL || (memcpy(c->n_nodes, s->n_nodes, s->n_classes * sizeof(size_t)),
                               alloc_arrays(c) != SLATE_OK)) {
        slate_solution_free(c);
        return SLATE_ERR_NOMEM;
    }
    size_t kc = s->n_classes * s->n_clusters, sc = s->n_services * s->n_clusters;
    memcpy(c->class_latency_ms, s->class_latency_ms, kc * sizeof(double));
    memcpy(c->class_latency_cp_ms, s->class_latency_cp_ms, kc * sizeof(double));
    memcpy(c->load_rps, s->load_rps, sc * sizeof(double));
    memcpy(c->utilization, s->utilization, sc * sizeof(double));
    memcpy(c->overload_rps, s->overload_rps, sc * sizeof(double));
    for (size_t k = 0; k < s->n_classes; k++)
        memcpy(c->flows[k], s->flows[k],
               s->n_nodes[k] * s->n_clusters * s->n_clusters * sizeof(double));
    *out = c;
    return SLATE_OK;
}

/* ---- extraction ------------------------------------------------------------------- */

static double col_value(const slate_optimizer *o, int col)
{
    double v = o->last_from_ipt ? glp_ipt_col_prim(o->lp, col) : glp_get_col_prim(o->lp, col);
    /* Every column is >= 0; clip the solver's tolerance-sized negatives. */
    return v > 0 ? v : 0;
}

int slate_opt_extract_solution(const slate_optimizer *o, slate_solution **out)
{
    slate_solution *s = NULL;
    int rv = slate_solution_new(o->t, &s);
    if (rv != SLATE_OK)
        return rv;
    size_t nc = o->nc;
    if (o->decomposed) {
        /* The flows are the strategies' calls (optimizer_decomp.c). */
        rv = slate_opt_dw_extract(o, s);
        if (rv != SLATE_OK) {
            slate_solution_free(s);
            return rv;
        }
    } else {
        for (size_t k = 0; k < o->nk; k++) {
            size_t nn = o->t->classes[k].n_nodes;
            for (size_t j = 0; j < nn * nc * nc; j++)
                if (o->xcol[k][j] != 0)
                    s->flows[k][j] = col_value(o, o->xcol[k][j]);
        }
    }
    s->objective = o->last_from_ipt ? glp_ipt_obj_val(o->lp) : glp_get_obj_val(o->lp);
    s->rows = o->n_rows;
    s->cols = o->n_cols;
    s->nonzeros = o->n_nz;
    /* Loads, overload, egress and latency follow from the flows: the load rows
     * make sum_i d[s,b,i] + o[s,b] the flows' load, a minimum puts load on
     * o[s,b] only beyond u_max*mu (its cost exceeds every piece's slope), and
     * the flow rows make the flows' own call ratios the optimizer's counts
     * (see slate_solution_evaluate). So the LP's d and o columns are not read:
     * the optimizer's prediction is the one every other policy gets. */
    rv = slate_solution_evaluate(o->t, o->profiles, o->opts.u_max, s);
    if (rv != SLATE_OK) {
        slate_solution_free(s);
        return rv;
    }
    *out = s;
    return SLATE_OK;
}
