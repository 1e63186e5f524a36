/*
 * Solutions: reading GLPK's answer, predicting latency from it, and the
 * slate_solution lifecycle.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

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

/* Allocates the arrays of |s| for its n_* fields and n_nodes (already set). */
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

int slate_opt_solution_alloc(const slate_optimizer *o, slate_solution **out)
{
    return slate_solution_new(o->t, out);
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

/* ---- predictions ------------------------------------------------------------------ */

/*
 * What predictions need: per deployment (s*nc+b) the profile and its PWL
 * (valid where dep), calls per parent request per class and node (NULL: the
 * topology's counts), and the demand per (class, ingress cluster). The
 * optimizer's own copies, not the topology's: set_* may have changed them.
 */
typedef struct model_view {
    const slate_topology *t;
    const slate_profile *prof;
    const slate_pwl *pwl;
    const unsigned char *dep;
    double *const *count;
    const double *lambda;
} model_view;

static double view_count(const model_view *m, size_t k, size_t v)
{
    return m->count != NULL ? m->count[k][v] : m->t->classes[k].nodes[v].count;
}

/*
 * Queueing delay in ms of one call at deployment |i| under load |rho|. The
 * profile's q is used below mu; at or above mu (where MM1's q is infinite and
 * the LP relies on its overload term) it is replaced by the PWL's average
 * pwl(rho)/rho, the LP's own model there (its last piece extended), so
 * predictions stay finite and still grow with the load.
 */
static double queueing_ms(const model_view *m, size_t i, double rho)
{
    if (rho <= 0)
        return 0;
    const slate_profile *p = &m->prof[i];
    double q = slate_profile_queueing(p, rho);
    if (rho >= p->mu_rps || !isfinite(q))
        q = slate_pwl_eval(&m->pwl[i], rho) / rho;
    return q;
}

/* Returns 1 when node |v| of class |k| can be called from cluster |a|. */
static int view_is_source(const model_view *m, size_t k, size_t v, size_t a)
{
    const slate_call_node *n = &m->t->classes[k].nodes[v];
    if (n->parent < 0)
        return 1;
    int ps = m->t->classes[k].nodes[n->parent].service;
    return m->dep[(size_t)ps * m->t->n_clusters + a];
}

/*
 * Per (class, ingress cluster) latency, from the routing fractions
 * w[v,a,b] = x[v,a,b] / sum_b x[v,a,b] (the default policy where a key
 * carries no flow, as a sidecar would route):
 *   T(v, a) = sum_b w (rtt[a][b] + work*t0[s,b] + q[s,b](rho[s,b]) + C(v, b))
 * Sum view: C = sum over children c of count_c * T(c, b): every call's
 * latency, as the objective counts it. Critical-path view: sequential
 * children add count_c * T(c, b) as well; parallel children join by the max
 * over c of count_c * T(c, b). For fractional counts that max of expected
 * values is an approximation (it is below the expected maximum).
 * The queueing term here is per call, as a FIFO wait is; the LP charges
 * rho*q per work unit, which is the same when work = 1.
 * Reads s->flows and s->load_rps; writes the class latency arrays.
 */
static int predict_latency(const model_view *m, slate_solution *s)
{
    const slate_topology *t = m->t;
    size_t nc = t->n_clusters;
    double w[SLATE_TOPO_MAX_CLUSTERS];
    double q[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        /* T(v, a) for the sum and the critical-path view. */
        double *ts = calloc(c->n_nodes * nc * 2 + 1, sizeof(double));
        if (ts == NULL)
            return SLATE_ERR_NOMEM;
        double *tc = ts + c->n_nodes * nc;
        for (size_t v = c->n_nodes; v-- > 0;) {
            const slate_call_node *n = &c->nodes[v];
            size_t base = (size_t)n->service * nc;
            for (size_t b = 0; b < nc; b++)
                q[b] = m->dep[base + b] ? queueing_ms(m, base + b, s->load_rps[base + b]) : 0;
            for (size_t a = 0; a < nc; a++) {
                if (!view_is_source(m, k, v, a))
                    continue;
                const double *x = &s->flows[k][(v * nc + a) * nc];
                double total = 0;
                for (size_t b = 0; b < nc; b++)
                    total += x[b];
                if (total < SLATE_FLOW_EPS)
                    slate_route_default_weights(t, (int)a, n->service, w);
                else
                    for (size_t b = 0; b < nc; b++)
                        w[b] = x[b] / total;
                double sum = 0, cp = 0;
                for (size_t b = 0; b < nc; b++) {
                    if (w[b] <= 0 || !m->dep[base + b])
                        continue;
                    double own = slate_topology_rtt_ms(t, (int)a, (int)b) +
                                 n->work * slate_profile_latency(&m->prof[base + b], 0.0) + q[b];
                    double kid_sum = 0, kid_cp = 0;
                    for (size_t j = 0; j < n->n_children; j++) {
                        size_t ch = (size_t)n->children[j];
                        double cnt = view_count(m, k, ch);
                        kid_sum += cnt * ts[ch * nc + b];
                        double e = cnt * tc[ch * nc + b];
                        kid_cp = n->parallel ? fmax(kid_cp, e) : kid_cp + e;
                    }
                    sum += w[b] * (own + kid_sum);
                    cp += w[b] * (own + kid_cp);
                }
                ts[v * nc + a] = sum;
                tc[v * nc + a] = cp;
            }
        }
        for (size_t a = 0; a < nc; a++) {
            int has = m->lambda[k * nc + a] > 0;
            s->class_latency_ms[k * nc + a] = has ? ts[a] : NAN;
            s->class_latency_cp_ms[k * nc + a] = has ? tc[a] : NAN;
        }
        free(ts);
    }
    /* Total latency per second: every call's latency, the sum view summed
     * over the demand (equal to sum_{k,a} lambda * class_latency_ms). */
    double total = 0;
    for (size_t i = 0; i < t->n_classes * nc; i++)
        if (m->lambda[i] > 0)
            total += m->lambda[i] * s->class_latency_ms[i];
    s->latency_ms_rps = total;
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
    int rv = slate_opt_solution_alloc(o, &s);
    if (rv != SLATE_OK)
        return rv;
    size_t nc = o->nc;
    double egress_usd_s = 0;
    for (size_t k = 0; k < o->nk; k++) {
        size_t nn = o->t->classes[k].n_nodes;
        for (size_t j = 0; j < nn * nc * nc; j++) {
            int col = o->xcol[k][j];
            if (col == 0)
                continue;
            double x = col_value(o, col);
            s->flows[k][j] = x;
            size_t v = j / (nc * nc), a = (j / nc) % nc, b = j % nc;
            egress_usd_s += x * slate_opt_egress_usd_s(o, (int)k, (int)v, (int)a, (int)b);
        }
    }
    for (size_t i = 0; i < o->ns * nc; i++) {
        if (!o->dep[i])
            continue;
        double load = 0;
        for (int p = 0; p < o->opts.pwl_segments; p++)
            load += col_value(o, o->seg_col[i] + p);
        s->overload_rps[i] = col_value(o, o->o_col[i]);
        s->load_rps[i] = load + s->overload_rps[i];
        s->utilization[i] = s->load_rps[i] / o->prof[i].mu_rps;
        s->overload_total += s->overload_rps[i];
    }
    s->egress_usd_per_hour = egress_usd_s * 3600.0;
    s->objective = o->last_from_ipt ? glp_ipt_obj_val(o->lp) : glp_get_obj_val(o->lp);
    s->rows = o->n_rows;
    s->cols = o->n_cols;
    s->nonzeros = o->n_nz;

    model_view m = {o->t, o->prof, o->pwl, o->dep, o->count, o->lambda};
    rv = predict_latency(&m, s);
    if (rv != SLATE_OK) {
        slate_solution_free(s);
        return rv;
    }
    *out = s;
    return SLATE_OK;
}
