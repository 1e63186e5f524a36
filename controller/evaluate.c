/*
 * The fluid evaluator: predictions for a given set of flows (see
 * slate_solution_evaluate in optimizer.h).
 *
 * This is the one place that turns flows x[k,v,a,b] into loads, utilization,
 * egress and per-class latency. The optimizer predicts its own result with
 * it, and the simulator's analytic mode evaluates every baseline policy with
 * it, so a comparison between them never depends on two copies of the model
 * drifting apart.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer.h"
#include "controller/routes.h"

/* Flows below this (req/s) count as "no flow": the key routes by the default
 * policy and a (class, ingress) below it has no demand (NaN latency). */
#define EVAL_FLOW_EPS 1e-9

/* bytes -> GB for egress prices in USD/GB. */
#define EVAL_BYTES_PER_GB 1e9

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
    size_t nc = t->n_clusters;
    size_t kc = t->n_classes * nc + 1, sc = t->n_services * nc + 1;
    /* The +1s keep every calloc non-zero-sized for an empty model. */
    s->n_nodes = calloc(t->n_classes + 1, sizeof(size_t));
    s->flows = calloc(t->n_classes + 1, sizeof(double *));
    s->class_latency_ms = calloc(kc, sizeof(double));
    s->class_latency_cp_ms = calloc(kc, sizeof(double));
    s->load_rps = calloc(sc, sizeof(double));
    s->utilization = calloc(sc, sizeof(double));
    s->overload_rps = calloc(sc, sizeof(double));
    if (!s->n_nodes || !s->flows || !s->class_latency_ms || !s->class_latency_cp_ms ||
        !s->load_rps || !s->utilization || !s->overload_rps)
        goto fail;
    for (size_t k = 0; k < t->n_classes; k++) {
        s->n_nodes[k] = t->classes[k].n_nodes;
        s->flows[k] = calloc(s->n_nodes[k] * nc * nc + 1, sizeof(double));
        if (s->flows[k] == NULL)
            goto fail;
    }
    *out = s;
    return SLATE_OK;
fail:
    slate_solution_free(s);
    return SLATE_ERR_NOMEM;
}

/* Returns 1 when |s| is shaped for |t| (sizes and call trees). */
static int shape_matches(const slate_topology *t, const slate_solution *s)
{
    if (s->n_classes != t->n_classes || s->n_services != t->n_services ||
        s->n_clusters != t->n_clusters || s->flows == NULL || s->n_nodes == NULL)
        return 0;
    for (size_t k = 0; k < t->n_classes; k++)
        if (s->n_nodes[k] != t->classes[k].n_nodes || s->flows[k] == NULL)
            return 0;
    return 1;
}

/*
 * Queueing delay in ms of one call at a deployment with profile |p| under
 * load |rho| (work units/s). Up to the edge of the LP's PWL range,
 * x_max = u_max * mu, it is the profile's q. Beyond it, where an M/M/1 q
 * tends to infinity, f(rho) = rho * q(rho) continues along its tangent at
 * x_max, as the LP's last piece continues, and the per-call delay is
 * f(rho) / rho: finite, increasing, and the overload itself is reported in
 * overload_rps. For a convex f the tangent is below f, so beyond the range
 * this is an optimistic (lower) estimate.
 */
static double queueing_ms(const slate_profile *p, double rho, double u_max)
{
    if (!(rho > 0))
        return 0;
    double x_max = u_max * p->mu_rps;
    if (rho <= x_max)
        return slate_profile_queueing(p, rho);
    double h = x_max * 1e-6;
    double f_max = x_max * slate_profile_queueing(p, x_max);
    double f_low = (x_max - h) * slate_profile_queueing(p, x_max - h);
    double slope = (f_max - f_low) / h; /* a convex f: at most f'(x_max) */
    if (!isfinite(f_max) || !isfinite(slope))
        return INFINITY;
    return (f_max + slope * (rho - x_max)) / rho;
}

/*
 * Fills T(v, a) for every node v of class |k| and every source cluster a,
 * in the sum view (|ts|) and the critical-path view (|tc|), each
 * n_nodes * nc values, children before parents (nodes are in pre-order, so a
 * reverse scan sees every child first):
 *   w[b] = x[k,v,a,b] / sum_b x   (the default policy when no flow)
 *   T(v, a) = sum_b w[b] (rtt[a][b] + work * t0[s,b] + q[s,b] + C(v, b))
 * Sum view: C = sum_c count_c * T(c, b). Critical path: sequential children
 * add count_c * T(c, b); parallel ones join by max_c count_c * T(c, b) (for a
 * fractional count a max of expectations, below the expected maximum).
 */
static void class_latency(const slate_topology *t, const slate_profile_set *profiles,
                          const slate_solution *s, const double *q, size_t k, double *ts,
                          double *tc)
{
    size_t nc = t->n_clusters;
    const slate_class *c = &t->classes[k];
    double w[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t v = c->n_nodes; v-- > 0;) {
        const slate_call_node *n = &c->nodes[v];
        size_t base = (size_t)n->service * nc;
        for (size_t a = 0; a < nc; a++) {
            const double *x = &s->flows[k][(v * nc + a) * nc];
            double total = 0;
            for (size_t b = 0; b < nc; b++)
                total += x[b];
            if (total < EVAL_FLOW_EPS)
                slate_route_default_weights(t, (int)a, n->service, w);
            else
                for (size_t b = 0; b < nc; b++)
                    w[b] = x[b] / total;
            double sum = 0, cp = 0;
            for (size_t b = 0; b < nc; b++) {
                const slate_profile *p = slate_profile_set_get(profiles, n->service, (int)b);
                if (w[b] <= 0 || p == NULL)
                    continue;
                double own = slate_topology_rtt_ms(t, (int)a, (int)b) +
                             n->work * slate_profile_t0(p) + q[base + b];
                double kid_sum = 0, kid_cp = 0;
                for (size_t j = 0; j < n->n_children; j++) {
                    size_t ch = (size_t)n->children[j];
                    double cnt = c->nodes[ch].count;
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
}

int slate_solution_evaluate(const slate_topology *t, const slate_profile_set *profiles,
                            double u_max, slate_solution *s)
{
    if (t == NULL || profiles == NULL || s == NULL || !shape_matches(t, s) ||
        !(u_max > 0 && u_max < 1))
        return SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    /* Every deployment must have a profile, or the set is for another model. */
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t d = 0; d < t->services[sv].n_deployments; d++)
            if (slate_profile_set_get(profiles, (int)sv, t->services[sv].deployments[d].cluster) ==
                NULL)
                return SLATE_ERR_INVALID_ARG;

    size_t max_nodes = 0;
    for (size_t k = 0; k < t->n_classes; k++)
        if (t->classes[k].n_nodes > max_nodes)
            max_nodes = t->classes[k].n_nodes;
    double *q = calloc(t->n_services * nc + 1, sizeof(double));
    double *ts = calloc(2 * max_nodes * nc + 1, sizeof(double));
    if (q == NULL || ts == NULL) {
        free(q);
        free(ts);
        return SLATE_ERR_NOMEM;
    }
    double *tc = ts + max_nodes * nc;

    /* Loads and egress. Flows into a cluster where the service is not
     * deployed have no server to load and are ignored. */
    memset(s->load_rps, 0, t->n_services * nc * sizeof(double));
    double egress_usd_s = 0;
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            for (size_t a = 0; a < nc; a++)
                for (size_t b = 0; b < nc; b++) {
                    double x = s->flows[k][(v * nc + a) * nc + b];
                    if (!(x > 0) || slate_profile_set_get(profiles, n->service, (int)b) == NULL)
                        continue;
                    s->load_rps[(size_t)n->service * nc + b] += n->work * x;
                    egress_usd_s += x *
                                    (n->request_bytes * slate_topology_egress(t, (int)a, (int)b) +
                                     n->response_bytes * slate_topology_egress(t, (int)b, (int)a)) /
                                    EVAL_BYTES_PER_GB;
                }
        }
    }
    s->egress_usd_per_hour = egress_usd_s * 3600.0;

    /* Per deployment: utilization and overload against the profile's
     * saturation load mu (the model's capacity), and the queueing delay. */
    s->overload_total = 0;
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t b = 0; b < nc; b++) {
            size_t i = sv * nc + b;
            const slate_profile *p = slate_profile_set_get(profiles, (int)sv, (int)b);
            if (p == NULL) {
                s->utilization[i] = s->overload_rps[i] = q[i] = 0;
                continue;
            }
            s->utilization[i] = s->load_rps[i] / p->mu_rps;
            s->overload_rps[i] = fmax(0.0, s->load_rps[i] - u_max * p->mu_rps);
            s->overload_total += s->overload_rps[i];
            q[i] = queueing_ms(p, s->load_rps[i], u_max);
        }

    /* Per class and ingress cluster: the latency recursion; demand is the
     * root's flow out of the ingress cluster. */
    double total = 0;
    for (size_t k = 0; k < t->n_classes; k++) {
        class_latency(t, profiles, s, q, k, ts, tc);
        for (size_t a = 0; a < nc; a++) {
            double lambda = 0;
            for (size_t b = 0; b < nc; b++)
                lambda += s->flows[k][a * nc + b];
            int has = lambda >= EVAL_FLOW_EPS;
            s->class_latency_ms[k * nc + a] = has ? ts[a] : NAN;
            s->class_latency_cp_ms[k * nc + a] = has ? tc[a] : NAN;
            if (has)
                total += lambda * ts[a];
        }
    }
    s->latency_ms_rps = total;
    free(q);
    free(ts);
    return SLATE_OK;
}
