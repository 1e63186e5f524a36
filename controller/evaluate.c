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
 * load |rho| (work units/s); the near-capacity rule of
 * slate_solution_evaluate (optimizer.h says why). Up to x_max = u_max * mu it
 * is the profile's q. Beyond, f(rho) = rho * q(rho) continues along its
 * tangent at x_max and the delay is f(rho) / rho. The slope is a backward
 * difference (a profile's f need not be defined beyond x_max: an M/M/1's is
 * infinite from mu on), for a convex f at most f'(x_max) and at least the
 * secant f(x_max) / x_max from the origin; the clamp to the latter keeps
 * rounding from making the delay decrease with the load.
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
    double slope = fmax((f_max - f_low) / h, f_max / x_max);
    if (!isfinite(f_max) || !isfinite(slope))
        return INFINITY;
    return (f_max + slope * (rho - x_max)) / rho;
}

/*
 * The calls of node |ch| (a child) per request of its parent at cluster |b|:
 * the flows' own ratio, out(ch, b) / in(parent, b), where the parent has
 * flow into b, else the topology's count. |in| and |out| are the class's
 * per-node sums n_nodes * nc: in[v*nc+b] = sum_a x[v,a,b] (calls v serves at
 * b) and out[v*nc+a] = sum_b x[v,a,b] (calls v gets from callers at a).
 */
static double call_count(const slate_class *c, const double *in, const double *out, size_t nc,
                         size_t ch, size_t b)
{
    double served = in[(size_t)c->nodes[ch].parent * nc + b];
    return served >= EVAL_FLOW_EPS ? out[ch * nc + b] / served : c->nodes[ch].count;
}

/*
 * Fills T(v, a) for every node v of class |k| and every source cluster a,
 * in the sum view (|ts|) and the critical-path view (|tc|), each
 * n_nodes * nc values, children before parents (nodes are in pre-order, so a
 * reverse scan sees every child first):
 *   w[b] = x[k,v,a,b] / sum_b x   (the default policy when no flow)
 *   T(v, a) = sum_b w[b] (rtt[a][b] + work * t0[s,b] + q[s,b] + C(v, b))
 * Sum view: C = sum_c n_c(b) * T(c, b), n_c(b) from call_count. Critical
 * path: sequential children add n_c(b) * T(c, b); parallel ones join by
 * max_c n_c(b) * T(c, b) (for a fractional count a max of expectations,
 * below the expected maximum). |in| and |out| are scratch of n_nodes * nc.
 */
static void class_latency(const slate_topology *t, const slate_profile_set *profiles,
                          const slate_solution *s, const double *q, size_t k, double *ts,
                          double *tc, double *in, double *out)
{
    size_t nc = t->n_clusters;
    const slate_class *c = &t->classes[k];
    memset(in, 0, c->n_nodes * nc * sizeof(double));
    for (size_t v = 0; v < c->n_nodes; v++)
        for (size_t a = 0; a < nc; a++) {
            const double *x = &s->flows[k][(v * nc + a) * nc];
            double total = 0;
            for (size_t b = 0; b < nc; b++) {
                total += x[b];
                in[v * nc + b] += x[b];
            }
            out[v * nc + a] = total;
        }
    double w[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t v = c->n_nodes; v-- > 0;) {
        const slate_call_node *n = &c->nodes[v];
        size_t base = (size_t)n->service * nc;
        for (size_t a = 0; a < nc; a++) {
            const double *x = &s->flows[k][(v * nc + a) * nc];
            double total = out[v * nc + a];
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
                    double cnt = call_count(c, in, out, nc, ch, b);
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
    /* One block for T (sum and critical path) and the per-node flow sums. */
    double *ts = calloc(4 * max_nodes * nc + 1, sizeof(double));
    if (q == NULL || ts == NULL) {
        free(q);
        free(ts);
        return SLATE_ERR_NOMEM;
    }
    double *tc = ts + max_nodes * nc;
    double *in = tc + max_nodes * nc;
    double *out = in + max_nodes * nc;

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
        class_latency(t, profiles, s, q, k, ts, tc, in, out);
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
