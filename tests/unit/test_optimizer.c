/*
 * Tests of the LP optimizer and the routing tables (controller/optimizer.h,
 * controller/routes.h). Small topologies are built from JSON text so every
 * number the assertions depend on is visible here.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/diag.h"
#include "common/err.h"
#include "controller/optimizer.h"
#include "controller/routes.h"
#include "profiles/profiles.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

/* ---- helpers ------------------------------------------------------------------- */

static slate_topology *load_text(const char *json)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = slate_topology_load_json(json, strlen(json), &t, &d);
    if (rv != SLATE_OK) {
        fprintf(stderr, "\n  topology: %s\n", slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    slate_diag_cleanup(&d);
    return t;
}

static slate_topology *load_example(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/examples/%s", SLATE_SOURCE_DIR, name);
    slate_topology *t = NULL;
    slate_diag d;
    slate_diag_init(&d);
    if (slate_topology_load_file(path, &t, &d) != SLATE_OK)
        slate_diag_print(&d, stderr);
    slate_diag_cleanup(&d);
    return t;
}

/* Builds and solves; prints the diagnostics on failure. */
static slate_optimizer *solve_new(const slate_topology *t, const slate_profile_set *ps,
                                  const slate_optimizer_opts *opts)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_optimizer *o = NULL;
    int rv = slate_optimizer_new(t, ps, opts, &o, &d);
    if (rv == SLATE_OK) {
        rv = slate_optimizer_solve(o, &d);
        if (rv != SLATE_OK) {
            slate_optimizer_free(o);
            o = NULL;
        }
    }
    if (rv != SLATE_OK) {
        fprintf(stderr, "\n  optimizer: %s\n", slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    slate_diag_cleanup(&d);
    return o;
}

/* The points where consecutive pieces of |p| meet, ascending: the chord
 * breakpoints b_1 .. b_{n-1} (b_0 = 0 and b_n = x_max are not returned). */
static int pwl_breakpoints(const slate_pwl *p, double *bp)
{
    for (int i = 1; i < p->n; i++)
        bp[i - 1] = (p->intercept[i - 1] - p->intercept[i]) / (p->slope[i] - p->slope[i - 1]);
    return p->n - 1;
}

/*
 * One service "svc" deployed in clusters a and b with |capacity| each; the
 * class "k" is a single call of it; |demand| req/s enter at a. RTT is
 * |local| inside a cluster and |remote| between them.
 */
static slate_topology *one_service(double local, double remote, double capacity, double demand)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"clusters\": [\"a\", \"b\"],"
             " \"network\": {\"rtt_ms\": [[%.17g, %.17g], [%.17g, %.17g]]},"
             " \"services\": [{\"name\": \"svc\", \"service_time_ms\": 1, \"deployments\": ["
             "   {\"cluster\": \"a\", \"capacity_rps\": %.17g},"
             "   {\"cluster\": \"b\", \"capacity_rps\": %.17g}]}],"
             " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"svc\"}}],"
             " \"demand\": [{\"class\": \"k\", \"cluster\": \"a\", \"rps\": %.17g}]}",
             local, remote, remote, local, capacity, capacity, demand);
    return load_text(json);
}

/* ---- the required behaviours --------------------------------------------- */

/*
 * Equal profiles, RTT 0 everywhere: both clusters cost the same, so the
 * optimum splits evenly. The LP optimises the PWL of rho*q(rho), which is
 * linear between breakpoints: with the demand at twice a breakpoint b the
 * even split is the unique optimum (moving d req/s from one side to the other
 * raises the cost at slope_i - slope_{i-1} > 0 per req/s); at other demands
 * a whole interval of splits would be optimal, and a vertex of it returned.
 */
static void test_equal_profiles_split_evenly(void)
{
    slate_topology *t = one_service(0, 0, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    slate_pwl pwl;
    CU_ASSERT_EQUAL_FATAL(
        slate_profile_pwl(slate_profile_set_get(ps, 0, 0), opts.u_max, opts.pwl_segments, &pwl),
        SLATE_OK);
    double bp[SLATE_PWL_MAX_SEGMENTS];
    int nbp = pwl_breakpoints(&pwl, bp);
    CU_ASSERT_FATAL(nbp >= 3);
    double lambda = 2 * bp[nbp / 2];
    CU_ASSERT_EQUAL_FATAL(slate_topology_set_demand(t, 0, 0, lambda), SLATE_OK);

    slate_optimizer *o = solve_new(t, ps, &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 0, 0, 0), lambda / 2, 1e-3 * lambda);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 0, 0, 1), lambda / 2, 1e-3 * lambda);
    SLATE_ASSERT_NEAR(s->utilization[0], s->utilization[1], 1e-3);
    CU_ASSERT_EQUAL(s->warm, 0);
    CU_ASSERT(s->rows > 0 && s->cols > 0 && s->nonzeros > 0);
    slate_optimizer_free(o);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/*
 * A cold remote cluster behind RTT d. Profile q = c*rho (POLY degree 1), so
 * f = c*rho^2 and the marginal queueing cost is f' = 2c*rho. Smooth closed
 * form, demand lambda at a:
 *   all local while 2c*lambda <= d (local marginal <= remote marginal at
 *   zero load, 0, plus the RTT); beyond, 2c*x_a = 2c*x_b + d, so
 *   x_b = (lambda - d/(2c)) / 2.
 * The LP uses the PWL chords of f. A chord's slope on [b_i, b_i+1] is
 * c*(b_i + b_i+1) = f' at the interval's midpoint, so at a breakpoint the
 * PWL's subdifferential [f'(b_i - h_-/2), f'(b_i + h_+/2)] contains f'(b_i).
 * Hence when x_a and x_b of the closed form are both breakpoints, the closed
 * form satisfies the LP's optimality condition, and uniquely (any move
 * strictly raises the cost, since f' is strictly increasing): the LP's
 * optimum equals the closed form exactly, and 1e-3 is a loose tolerance.
 * We pick x_a, x_b among the breakpoints the profile module returns and set
 * d and lambda from them. For all-local we need the LP's local slope at
 * lambda, at most f'(lambda + h/2) with h the widest interval, to stay
 * below d + the remote's first slope: lambda = d/(2c) - h suffices.
 */
static void test_cold_remote_closed_form(void)
{
    const double c = 0.01, mu = 1000, t0 = 1;
    slate_profile p;
    memset(&p, 0, sizeof(p));
    p.form = SLATE_PROFILE_POLY;
    p.t0_ms = t0;
    p.mu_rps = mu;
    p.degree = 1;
    p.coef[0] = c;

    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    opts.pwl_segments = 16;
    slate_pwl pwl;
    CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(&p, opts.u_max, opts.pwl_segments, &pwl), SLATE_OK);
    double bp[SLATE_PWL_MAX_SEGMENTS + 1];
    int nbp = pwl_breakpoints(&pwl, bp);
    CU_ASSERT_FATAL(nbp >= 12);
    double h = bp[0];
    for (int i = 1; i < nbp; i++)
        h = fmax(h, bp[i] - bp[i - 1]);
    h = fmax(h, pwl.x_max - bp[nbp - 1]);

    double xa = bp[10], xb = bp[3];
    double d = 2 * c * (xa - xb);
    double lambda = xa + xb;
    slate_topology *t = one_service(0, d, mu, lambda);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_put(ps, 0, 0, &p), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_put(ps, 0, 1, &p), SLATE_OK);

    slate_optimizer *o = solve_new(t, ps, &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    double closed_b = (lambda - d / (2 * c)) / 2;
    SLATE_ASSERT_NEAR(closed_b, xb, 1e-9 * lambda); /* the construction itself */
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 0, 0, 1) / lambda, closed_b / lambda, 1e-3);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 0, 0, 0) / lambda, xa / lambda, 1e-3);

    /* The prediction, by hand: each side's RTT + t0 + q(load), q = c*load. */
    double x0 = slate_solution_flow(s, 0, 0, 0, 0), x1 = slate_solution_flow(s, 0, 0, 0, 1);
    double expect = (x0 * (t0 + c * x0) + x1 * (d + t0 + c * x1)) / lambda;
    SLATE_ASSERT_NEAR(s->class_latency_ms[0], expect, 1e-6 * expect);
    SLATE_ASSERT_NEAR(s->class_latency_cp_ms[0], expect, 1e-6 * expect);
    CU_ASSERT(isnan(s->class_latency_ms[1])); /* no demand enters at b */
    SLATE_ASSERT_NEAR(s->latency_ms_rps, expect * lambda, 1e-6 * expect * lambda);

    /* Below the threshold everything stays local, exactly. */
    double low = d / (2 * c) - h;
    CU_ASSERT_FATAL(low > 0);
    CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, 0, 0, low), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    s = slate_optimizer_solution(o);
    CU_ASSERT_EQUAL(s->warm, 1);
    CU_ASSERT(slate_solution_flow(s, 0, 0, 0, 1) < 1e-9);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 0, 0, 0), low, 1e-9 * low);

    slate_optimizer_free(o);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/* A front end at a only calls "svc" (a and b, RTT 0, 1 kB each way, egress
 * priced): spreading svc's load lowers queueing but costs egress. */
static const char egress_topology[] =
    "{\"clusters\": [\"a\", \"b\"],"
    " \"network\": {\"rtt_ms\": [[0, 0], [0, 0]],"
    "               \"egress_usd_per_gb\": [[0, 0.05], [0.08, 0]]},"
    " \"services\": ["
    "   {\"name\": \"front\", \"service_time_ms\": 1, \"deployments\": ["
    "     {\"cluster\": \"a\", \"capacity_rps\": 5000}]},"
    "   {\"name\": \"svc\", \"service_time_ms\": 2, \"deployments\": ["
    "     {\"cluster\": \"a\", \"capacity_rps\": 500},"
    "     {\"cluster\": \"b\", \"capacity_rps\": 500}]}],"
    " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"front\", \"children\": ["
    "   {\"service\": \"svc\", \"request_bytes\": 1000, \"response_bytes\": 3000}]}}],"
    " \"demand\": [{\"class\": \"k\", \"cluster\": \"a\", \"rps\": 400}]}";

static void test_egress_budget_zero_forces_local(void)
{
    slate_topology *t = load_text(egress_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    opts.usd_per_ms = 0; /* egress free: spreading wins */
    slate_optimizer *o = solve_new(t, NULL, &opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    double remote = slate_solution_flow(s, 0, 1, 0, 1);
    CU_ASSERT(remote > 10);
    /* USD/h = 3600 * x * (1000 B * 0.05 + 3000 B * 0.08) USD/GB / 1e9 B/GB. */
    SLATE_ASSERT_NEAR(s->egress_usd_per_hour, 3600 * remote * (1000 * 0.05 + 3000 * 0.08) / 1e9,
                      1e-12);

    CU_ASSERT_EQUAL(slate_optimizer_set_cost(o, SLATE_COST_BUDGET, 0), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    s = slate_optimizer_solution(o);
    CU_ASSERT(slate_solution_flow(s, 0, 1, 0, 1) < 1e-9);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 1, 0, 0), 400, 1e-6);
    CU_ASSERT(s->egress_usd_per_hour < 1e-12);

    /* A budget for half the free-egress flow allows about that flow. */
    double half = 3600 * (remote / 2) * (1000 * 0.05 + 3000 * 0.08) / 1e9;
    CU_ASSERT_EQUAL(slate_optimizer_set_cost(o, SLATE_COST_BUDGET, half), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    s = slate_optimizer_solution(o);
    SLATE_ASSERT_NEAR(s->egress_usd_per_hour, half, 1e-9 * half + 1e-12);
    SLATE_ASSERT_NEAR(slate_solution_flow(s, 0, 1, 0, 1), remote / 2, 1e-6 * remote);
    slate_optimizer_free(o);
    slate_topology_free(t);
}

static int weights_sum_to_one(const slate_route_table *rt)
{
    for (size_t i = 0; i < rt->n_rules; i++) {
        double sum = 0;
        for (size_t b = 0; b < rt->n_clusters; b++) {
            if (rt->rules[i].weights[b] < 0)
                return 0;
            sum += rt->rules[i].weights[b];
        }
        if (fabs(sum - 1) > 1e-9)
            return 0;
    }
    return 1;
}

static void test_overload_reported_not_failed(void)
{
    /* 500 req/s against 2 x 100 capacity: u_max = 0.95 admits 190 before the
     * penalty, whose slope (1e6) dwarfs every PWL slope, so 310 overflow. */
    slate_topology *t = one_service(0.5, 10, 100, 500);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer *o = solve_new(t, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    CU_ASSERT(s->overload_total > 0);
    SLATE_ASSERT_NEAR(s->overload_total, 310, 1e-6 * 310);
    SLATE_ASSERT_NEAR(s->overload_rps[0] + s->overload_rps[1], 310, 1e-6 * 310);
    CU_ASSERT(s->utilization[0] > 0.95 || s->utilization[1] > 0.95);
    CU_ASSERT(isfinite(s->class_latency_ms[0]));
    slate_route_table *rt = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_route_table_build(t, s, &rt), SLATE_OK);
    const slate_route_rule *r = slate_route_table_find(rt, 0, -1, 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->fallback, 0);
    SLATE_ASSERT_NEAR(r->flow_rps, 500, 1e-6);
    CU_ASSERT(weights_sum_to_one(rt));
    slate_route_table_free(rt);
    slate_optimizer_free(o);
    slate_topology_free(t);
}

/* ---- conservation on random trees --------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rng_next(void)
{
    /* xorshift64*: deterministic for a seed, good enough for test shapes. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static int rng_int(int n)
{
    return (int)(rng_next() % (uint32_t)n);
}

static double rng_unit(void)
{
    return (double)rng_next() / 4294967296.0;
}

#define RT_CLUSTERS 4
#define RT_SERVICES 6
#define RT_CLASSES  3
#define RT_NODES    9

typedef struct rnode {
    int service, parent, parallel;
    double count, req, resp;
} rnode;

static void emit_node(slate_buf *b, const rnode *nodes, int n, int v)
{
    slate_buf_printf(b, "{\"service\": \"s%d\", \"parallel\": %s", nodes[v].service,
                     nodes[v].parallel ? "true" : "false");
    if (v > 0)
        slate_buf_printf(b,
                         ", \"count\": %.17g, \"request_bytes\": %.17g, \"response_bytes\": %.17g",
                         nodes[v].count, nodes[v].req, nodes[v].resp);
    slate_buf_printf(b, ", \"children\": [");
    int first = 1;
    for (int c = 0; c < n; c++)
        if (nodes[c].parent == v) {
            if (!first)
                slate_buf_printf(b, ", ");
            first = 0;
            emit_node(b, nodes, n, c);
        }
    slate_buf_printf(b, "]}");
}

/* A random topology: 4 clusters, 6 services in random non-empty subsets,
 * 3 classes with random trees (fractional counts, mixed parallelism) and
 * random demand (some zero). */
static char *random_topology(uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(
        &b, "{\"clusters\": [\"c0\", \"c1\", \"c2\", \"c3\"], \"network\": {\"rtt_ms\": [");
    double rtt[RT_CLUSTERS][RT_CLUSTERS], eg[RT_CLUSTERS][RT_CLUSTERS];
    for (int i = 0; i < RT_CLUSTERS; i++)
        for (int j = i; j < RT_CLUSTERS; j++) {
            rtt[i][j] = rtt[j][i] = i == j ? 0.5 : 5 + 60 * rng_unit();
            eg[i][j] = i == j ? 0 : 0.05 * rng_unit();
            eg[j][i] = i == j ? 0 : 0.05 * rng_unit();
        }
    for (int i = 0; i < RT_CLUSTERS; i++) {
        slate_buf_printf(&b, "%s[", i ? ", " : "");
        for (int j = 0; j < RT_CLUSTERS; j++)
            slate_buf_printf(&b, "%s%.17g", j ? ", " : "", rtt[i][j]);
        slate_buf_printf(&b, "]");
    }
    slate_buf_printf(&b, "], \"egress_usd_per_gb\": [");
    for (int i = 0; i < RT_CLUSTERS; i++) {
        slate_buf_printf(&b, "%s[", i ? ", " : "");
        for (int j = 0; j < RT_CLUSTERS; j++)
            slate_buf_printf(&b, "%s%.17g", j ? ", " : "", eg[i][j]);
        slate_buf_printf(&b, "]");
    }
    slate_buf_printf(&b, "]}, \"services\": [");
    for (int s = 0; s < RT_SERVICES; s++) {
        int mask = 1 + rng_int((1 << RT_CLUSTERS) - 1);
        slate_buf_printf(&b, "%s{\"name\": \"s%d\", \"service_time_ms\": %.17g, \"deployments\": [",
                         s ? ", " : "", s, 0.5 + 3 * rng_unit());
        int first = 1;
        for (int c = 0; c < RT_CLUSTERS; c++)
            if (mask & (1 << c)) {
                slate_buf_printf(&b, "%s{\"cluster\": \"c%d\", \"capacity_rps\": %.17g}",
                                 first ? "" : ", ", c, 200 + 800 * rng_unit());
                first = 0;
            }
        slate_buf_printf(&b, "]}");
    }
    slate_buf_printf(&b, "], \"classes\": [");
    for (int k = 0; k < RT_CLASSES; k++) {
        rnode nodes[RT_NODES];
        int n = 1 + rng_int(RT_NODES);
        int depth[RT_NODES];
        for (int v = 0; v < n; v++) {
            /* A parent at depth < 4, and a service not on its path (the
             * topology rejects call cycles). */
            int parent = -1;
            if (v > 0)
                do
                    parent = rng_int(v);
                while (depth[parent] >= 4);
            depth[v] = parent < 0 ? 0 : depth[parent] + 1;
            int on_path;
            do {
                nodes[v].service = rng_int(RT_SERVICES);
                on_path = 0;
                for (int u = parent; u >= 0; u = nodes[u].parent)
                    on_path |= nodes[u].service == nodes[v].service;
            } while (on_path);
            nodes[v].parent = parent;
            nodes[v].parallel = rng_int(2);
            const double counts[] = {0.3, 0.5, 1, 1, 2};
            nodes[v].count = counts[rng_int(5)];
            nodes[v].req = 100 * rng_int(20);
            nodes[v].resp = 500 * rng_int(20);
        }
        slate_buf_printf(&b, "%s{\"name\": \"k%d\", \"calls\": ", k ? ", " : "", k);
        emit_node(&b, nodes, n, 0);
        slate_buf_printf(&b, "}");
    }
    slate_buf_printf(&b, "], \"demand\": [");
    int first = 1;
    for (int k = 0; k < RT_CLASSES; k++)
        for (int c = 0; c < RT_CLUSTERS; c++) {
            if (rng_int(3) == 0)
                continue;
            slate_buf_printf(&b, "%s{\"class\": \"k%d\", \"cluster\": \"c%d\", \"rps\": %.17g}",
                             first ? "" : ", ", k, c, 5 + 60 * rng_unit());
            first = 0;
        }
    slate_buf_printf(&b, "]}");
    return slate_buf_detach(&b);
}

static int deployed(const slate_topology *t, int s, int c)
{
    return slate_topology_deployment(t, s, c) != NULL;
}

static void check_conservation(const slate_topology *t, const slate_solution *s)
{
    size_t nc = t->n_clusters;
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *cl = &t->classes[k];
        for (size_t a = 0; a < nc; a++) {
            double out = 0;
            for (size_t b = 0; b < nc; b++)
                out += slate_solution_flow(s, (int)k, 0, (int)a, (int)b);
            double lambda = slate_topology_demand_rps(t, (int)k, (int)a);
            SLATE_ASSERT_NEAR(out, lambda, 1e-6 * fmax(1, lambda));
        }
        for (size_t v = 1; v < cl->n_nodes; v++) {
            const slate_call_node *n = &cl->nodes[v];
            int ps = cl->nodes[n->parent].service;
            for (size_t a = 0; a < nc; a++) {
                double into = 0, out = 0;
                for (size_t a2 = 0; a2 < nc; a2++)
                    into += slate_solution_flow(s, (int)k, n->parent, (int)a2, (int)a);
                for (size_t b = 0; b < nc; b++) {
                    double x = slate_solution_flow(s, (int)k, (int)v, (int)a, (int)b);
                    CU_ASSERT(x >= 0);
                    if (!deployed(t, n->service, (int)b))
                        CU_ASSERT(x == 0);
                    out += x;
                }
                if (!deployed(t, ps, (int)a)) {
                    CU_ASSERT(into == 0 && out == 0);
                    continue;
                }
                SLATE_ASSERT_NEAR(out, n->count * into, 1e-6 * fmax(1, n->count * into));
            }
        }
    }
    /* Load is the work-weighted flow into each deployment. */
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t b = 0; b < nc; b++) {
            double load = 0;
            for (size_t k = 0; k < t->n_classes; k++)
                for (size_t v = 0; v < t->classes[k].n_nodes; v++)
                    if (t->classes[k].nodes[v].service == (int)sv)
                        for (size_t a = 0; a < nc; a++)
                            load += t->classes[k].nodes[v].work *
                                    slate_solution_flow(s, (int)k, (int)v, (int)a, (int)b);
            SLATE_ASSERT_NEAR(s->load_rps[sv * nc + b], load, 1e-6 * fmax(1, load));
        }
}

static void test_conservation_random_trees(void)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        char *json = random_topology(seed);
        CU_ASSERT_PTR_NOT_NULL_FATAL(json);
        slate_topology *t = load_text(json);
        free(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        slate_optimizer_opts opts;
        slate_optimizer_opts_init(&opts);
        opts.critical_path = (int)(seed % 2);
        slate_optimizer *o = solve_new(t, NULL, &opts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        const slate_solution *s = slate_optimizer_solution(o);
        check_conservation(t, s);
        for (size_t i = 0; i < t->n_classes * t->n_clusters; i++) {
            double l =
                slate_topology_demand_rps(t, (int)(i / t->n_clusters), (int)(i % t->n_clusters));
            CU_ASSERT(l > 0 ? isfinite(s->class_latency_ms[i]) : isnan(s->class_latency_ms[i]));
            if (l > 0)
                CU_ASSERT(s->class_latency_cp_ms[i] <= s->class_latency_ms[i] + 1e-9);
        }

        slate_route_table *rt = NULL;
        CU_ASSERT_EQUAL_FATAL(slate_route_table_build(t, s, &rt), SLATE_OK);
        CU_ASSERT(weights_sum_to_one(rt));
        for (size_t i = 0; i < rt->n_rules; i++) {
            const slate_route_rule *r = &rt->rules[i];
            for (size_t b = 0; b < rt->n_clusters; b++)
                if (r->weights[b] > 0)
                    CU_ASSERT(deployed(t, r->dst_service, (int)b));
            CU_ASSERT(r->fallback ? r->flow_rps == 0 : r->flow_rps > 0);
        }

        /* A random re-weighting of counts keeps conservation on the warm path. */
        for (size_t k = 0; k < t->n_classes; k++)
            for (size_t v = 1; v < t->classes[k].n_nodes; v++)
                CU_ASSERT_EQUAL(slate_optimizer_set_count(o, (int)k, (int)v, 1.5), SLATE_OK);
        CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
        s = slate_optimizer_solution(o);
        for (size_t k = 0; k < t->n_classes; k++)
            for (size_t v = 1; v < t->classes[k].n_nodes; v++) {
                const slate_call_node *n = &t->classes[k].nodes[v];
                for (size_t a = 0; a < t->n_clusters; a++) {
                    double into = 0, out = 0;
                    for (size_t a2 = 0; a2 < t->n_clusters; a2++)
                        into += slate_solution_flow(s, (int)k, n->parent, (int)a2, (int)a);
                    for (size_t b = 0; b < t->n_clusters; b++)
                        out += slate_solution_flow(s, (int)k, (int)v, (int)a, (int)b);
                    SLATE_ASSERT_NEAR(out, 1.5 * into, 1e-6 * fmax(1, 1.5 * into));
                }
            }
        slate_route_table_free(rt);
        slate_optimizer_free(o);
        slate_topology_free(t);
    }
}

/* ---- warm starts and limits ----------------------------------------------------------- */

static void test_warm_matches_cold(void)
{
    slate_topology *t = load_example("hotel-reservation.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_optimizer *o = solve_new(t, ps, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(slate_optimizer_solution(o)->warm, 0);
    double before = slate_optimizer_solution(o)->objective;

    /* +5% demand everywhere, and a slower frontend at the first cluster. */
    for (size_t i = 0; i < t->n_demand; i++) {
        slate_demand *d = &t->demand[i];
        CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, d->klass, d->cluster, d->rps * 1.05),
                        SLATE_OK);
    }
    int fe = slate_topology_find_service(t, "frontend");
    int west = slate_topology_find_cluster(t, "us-west");
    CU_ASSERT_FATAL(fe >= 0 && west >= 0);
    slate_profile p;
    slate_profile_init_mm1(&p, 3.0, 4.0, 700);
    CU_ASSERT_EQUAL(slate_optimizer_set_profile(o, fe, west, &p), SLATE_OK);

    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    const slate_solution *s = slate_optimizer_solution(o);
    CU_ASSERT_EQUAL(s->warm, 1);
    double warm = s->objective;
    CU_ASSERT(fabs(warm - before) > 1e-6 * before); /* the change mattered */

    slate_optimizer_reset_basis(o);
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    s = slate_optimizer_solution(o);
    CU_ASSERT_EQUAL(s->warm, 0);
    SLATE_ASSERT_NEAR(s->objective, warm, 1e-6 * fabs(warm));

    /* A fresh build of the changed problem agrees too (build vs. edits). */
    for (size_t i = 0; i < t->n_demand; i++)
        t->demand[i].rps *= 1.05;
    CU_ASSERT_EQUAL(slate_profile_set_put(ps, fe, west, &p), SLATE_OK);
    slate_optimizer *fresh = solve_new(t, ps, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
    SLATE_ASSERT_NEAR(slate_optimizer_solution(fresh)->objective, warm, 1e-6 * fabs(warm));
    slate_optimizer_free(fresh);
    slate_optimizer_free(o);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

static void test_iteration_limit_keeps_previous(void)
{
    slate_topology *t = load_example("hotel-reservation.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer *o = solve_new(t, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *prev = slate_optimizer_solution(o);
    double obj = prev->objective;
    double flow = slate_solution_flow(prev, 0, 0, 0, 0);

    for (size_t i = 0; i < t->n_demand; i++)
        CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, t->demand[i].klass, t->demand[i].cluster,
                                                   t->demand[i].rps * (i % 2 ? 0.5 : 1.6)),
                        SLATE_OK);
    CU_ASSERT_EQUAL(slate_optimizer_set_limits(o, 10000, 1), SLATE_OK);

    /* Capture stdout: GLPK must print nothing. */
    char path[] = "/tmp/slate-test-stdout-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    CU_ASSERT_FATAL(saved >= 0);
    dup2(fd, STDOUT_FILENO);
    slate_diag d;
    slate_diag_init(&d);
    int rv = slate_optimizer_solve(o, &d);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    struct stat st;
    CU_ASSERT_EQUAL(fstat(fd, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 0);
    close(fd);
    unlink(path);

    CU_ASSERT_EQUAL(rv, SLATE_ERR_SOLVE_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "limit"));
    CU_ASSERT_PTR_EQUAL(slate_optimizer_solution(o), prev);
    CU_ASSERT_EQUAL(slate_optimizer_solution(o)->objective, obj);
    CU_ASSERT_EQUAL(slate_solution_flow(slate_optimizer_solution(o), 0, 0, 0, 0), flow);
    slate_diag_cleanup(&d);

    /* With the limit lifted the same change solves. */
    CU_ASSERT_EQUAL(slate_optimizer_set_limits(o, 10000, 1000000), SLATE_OK);
    CU_ASSERT_EQUAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    CU_ASSERT(slate_optimizer_solution(o)->objective != obj);
    slate_optimizer_free(o);

    /* A cold solve that hits the limit leaves no solution at all. */
    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    opts.iteration_limit = 1;
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &o, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_optimizer_solve(o, NULL), SLATE_ERR_SOLVE_LIMIT);
    CU_ASSERT_PTR_NULL(slate_optimizer_solution(o));
    slate_optimizer_free(o);
    slate_topology_free(t);
}

/* ---- predictions ------------------------------------------------------------------------ */

/* One cluster, root A fans out in parallel to B (once) and C (twice). */
static const char fan_out_topology[] =
    "{\"clusters\": [\"only\"], \"network\": {\"rtt_ms\": [[0.5]]},"
    " \"services\": ["
    "  {\"name\": \"A\", \"service_time_ms\": 1, \"deployments\": "
    "[{\"cluster\": \"only\", \"capacity_rps\": 1000}]},"
    "  {\"name\": \"B\", \"service_time_ms\": 2, \"deployments\": "
    "[{\"cluster\": \"only\", \"capacity_rps\": 1000}]},"
    "  {\"name\": \"C\", \"service_time_ms\": 3, \"deployments\": "
    "[{\"cluster\": \"only\", \"capacity_rps\": 1000}]}],"
    " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"A\", "
    "\"parallel\": true, \"children\": ["
    "   {\"service\": \"B\"}, {\"service\": \"C\", \"count\": 2}]}}],"
    " \"demand\": [{\"class\": \"k\", \"cluster\": \"only\", \"rps\": 100}]}";

static void test_latency_sum_and_critical_path(void)
{
    slate_topology *t = load_text(fan_out_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_optimizer *o = solve_new(t, ps, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    SLATE_ASSERT_NEAR(s->load_rps[0], 100, 1e-6);
    SLATE_ASSERT_NEAR(s->load_rps[1], 100, 1e-6);
    SLATE_ASSERT_NEAR(s->load_rps[2], 200, 1e-6);
    double qa = slate_profile_queueing(slate_profile_set_get(ps, 0, 0), 100);
    double qb = slate_profile_queueing(slate_profile_set_get(ps, 1, 0), 100);
    double qc = slate_profile_queueing(slate_profile_set_get(ps, 2, 0), 200);
    double ta = 0.5 + 1 + qa, tb = 0.5 + 2 + qb, tc = 0.5 + 3 + qc;
    SLATE_ASSERT_NEAR(s->class_latency_ms[0], ta + tb + 2 * tc, 1e-9);
    SLATE_ASSERT_NEAR(s->class_latency_cp_ms[0], ta + fmax(tb, 2 * tc), 1e-9);
    SLATE_ASSERT_NEAR(s->latency_ms_rps, 100 * (ta + tb + 2 * tc), 1e-6);
    slate_optimizer_free(o);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/* ---- routing tables ------------------------------------------------------------------------ */

/* "front" in a and b; "db" only in c (nearest to a is c... by RTT); class
 * "busy" has demand at a, class "idle" none. */
static const char routes_topology[] =
    "{\"clusters\": [\"a\", \"b\", \"c\"],"
    " \"network\": {\"rtt_ms\": [[0.5, 30, 10], [30, 0.5, 10], [10, 10, 0.5]]},"
    " \"services\": ["
    "   {\"name\": \"front\", \"deployments\": [{\"cluster\": \"a\", \"capacity_rps\": 1000},"
    "                                      {\"cluster\": \"b\", \"capacity_rps\": 1000}]},"
    "   {\"name\": \"db\", \"deployments\": [{\"cluster\": \"b\", \"capacity_rps\": 1000},"
    "                                   {\"cluster\": \"c\", \"capacity_rps\": 1000}]}],"
    " \"classes\": ["
    "   {\"name\": \"busy\", \"calls\": {\"service\": \"front\", \"children\": ["
    "     {\"service\": \"db\"}, {\"service\": \"db\", \"count\": 0.5}]}},"
    "   {\"name\": \"idle\", \"calls\": {\"service\": \"front\", \"children\": [{\"service\": "
    "\"db\"}]}}],"
    " \"demand\": [{\"class\": \"busy\", \"cluster\": \"a\", \"rps\": 100}]}";

static void test_routes_fallback_find_json(void)
{
    slate_topology *t = load_text(routes_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    enum { A = 0, B = 1, C = 2, FRONT = 0, DB = 1, BUSY = 0, IDLE = 1 };

    /* Default policy: local when deployed, else nearest by RTT. */
    double w[3];
    slate_route_default_weights(t, A, FRONT, w);
    CU_ASSERT(w[A] == 1 && w[B] == 0 && w[C] == 0);
    slate_route_default_weights(t, A, DB, w);
    CU_ASSERT(w[C] == 1 && w[A] == 0 && w[B] == 0);

    /* Without a solution every rule is a fallback. Keys: ingress at each of
     * the 3 clusters, and front -> db from a and b (two nodes share it). */
    slate_route_table *rt = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_route_table_build(t, NULL, &rt), SLATE_OK);
    CU_ASSERT_EQUAL(rt->n_rules, 2 * (3 + 2));
    for (size_t i = 0; i < rt->n_rules; i++)
        CU_ASSERT(rt->rules[i].fallback == 1);
    CU_ASSERT(weights_sum_to_one(rt));
    slate_route_table_free(rt);

    slate_optimizer *o = solve_new(t, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    CU_ASSERT_EQUAL_FATAL(slate_route_table_build(t, s, &rt), SLATE_OK);
    CU_ASSERT_EQUAL(rt->n_rules, 10);
    CU_ASSERT(weights_sum_to_one(rt));
    for (size_t i = 1; i < rt->n_rules; i++) {
        const slate_route_rule *p = &rt->rules[i - 1], *r = &rt->rules[i];
        CU_ASSERT(p->klass < r->klass ||
                  (p->klass == r->klass &&
                   (p->src_service < r->src_service ||
                    (p->src_service == r->src_service && p->src_cluster < r->src_cluster))));
    }

    const slate_route_rule *r = slate_route_table_find(rt, BUSY, -1, A, FRONT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->fallback, 0);
    SLATE_ASSERT_NEAR(r->flow_rps, 100, 1e-6);
    /* front -> db from wherever front runs: both db nodes (1 + 0.5 calls). */
    double from_a = 0, from_b = 0;
    const slate_route_rule *ra = slate_route_table_find(rt, BUSY, FRONT, A, DB);
    const slate_route_rule *rb = slate_route_table_find(rt, BUSY, FRONT, B, DB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ra);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
    from_a = ra->flow_rps;
    from_b = rb->flow_rps;
    SLATE_ASSERT_NEAR(from_a + from_b, 150, 1e-6);
    if (!ra->fallback) {
        double x = 0;
        for (int v = 1; v <= 2; v++)
            x += slate_solution_flow(s, BUSY, v, A, C);
        SLATE_ASSERT_NEAR(ra->weights[C], x / from_a, 1e-9);
    }
    /* The idle class has no flow: default policy, flagged. */
    r = slate_route_table_find(rt, IDLE, FRONT, A, DB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->fallback, 1);
    CU_ASSERT_EQUAL(r->flow_rps, 0);
    CU_ASSERT(r->weights[C] == 1);
    r = slate_route_table_find(rt, BUSY, -1, C, FRONT); /* no demand at c: nearest front */
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(r->fallback == 1 && r->weights[A] == 1); /* a and b tie at 10 ms: lowest index */
    /* Keys the trees cannot produce. */
    CU_ASSERT_PTR_NULL(slate_route_table_find(rt, BUSY, FRONT, C, DB)); /* front not at c */
    CU_ASSERT_PTR_NULL(slate_route_table_find(rt, BUSY, DB, A, FRONT));
    CU_ASSERT_PTR_NULL(slate_route_table_find(rt, 7, -1, A, FRONT));

    /* JSON: all rules; filtered by source cluster and service. */
    rt->version = 42;
    char *text = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_route_table_to_json(rt, t, NULL, NULL, 0, &text), SLATE_OK);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(doc, "version")->valuedouble, 42);
    cJSON *rules = cJSON_GetObjectItem(doc, "rules");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(rules), 10);
    cJSON *first = cJSON_GetArrayItem(rules, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "class")->valuestring, "busy");
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(first, "src_service")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "src_cluster")->valuestring, "a");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "dst_service")->valuestring, "front");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(first, "fallback")));
    cJSON *rule;
    cJSON_ArrayForEach(rule, rules)
    {
        double sum = 0;
        cJSON *wt;
        cJSON_ArrayForEach(wt, cJSON_GetObjectItem(rule, "weights"))
        {
            CU_ASSERT(wt->valuedouble > 0); /* zeros are omitted */
            sum += wt->valuedouble;
        }
        SLATE_ASSERT_NEAR(sum, 1, 1e-9);
    }
    cJSON_Delete(doc);

    CU_ASSERT_EQUAL_FATAL(slate_route_table_to_json(rt, t, "b", "front", 1, &text), SLATE_OK);
    doc = cJSON_Parse(text);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    rules = cJSON_GetObjectItem(doc, "rules");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(rules), 2); /* busy and idle: front@b -> db */
    cJSON_ArrayForEach(rule, rules)
    {
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(rule, "src_service")->valuestring, "front");
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(rule, "src_cluster")->valuestring, "b");
    }
    cJSON_Delete(doc);

    CU_ASSERT_EQUAL_FATAL(slate_route_table_to_json(rt, t, "c", "", 0, &text), SLATE_OK);
    doc = cJSON_Parse(text);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "rules")), 2); /* ingress at c */
    cJSON_Delete(doc);

    text = NULL;
    CU_ASSERT_EQUAL(slate_route_table_to_json(rt, t, "nowhere", NULL, 0, &text),
                    SLATE_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(slate_route_table_to_json(rt, t, NULL, "nothing", 0, &text),
                    SLATE_ERR_NOT_FOUND);
    CU_ASSERT_PTR_NULL(text);
    slate_route_table_free(rt);
    slate_optimizer_free(o);
    slate_topology_free(t);
}

/* ---- argument checks ------------------------------------------------------------------------ */

static void test_invalid_arguments(void)
{
    slate_topology *t = load_text(routes_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    opts.u_max = 1.5;
    opts.pwl_segments = 0;
    slate_diag d;
    slate_diag_init(&d);
    slate_optimizer *o = NULL;
    CU_ASSERT_EQUAL(slate_optimizer_new(t, NULL, &opts, &o, &d), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "opts.u_max"));
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "opts.pwl_segments"));
    slate_diag_cleanup(&d);

    CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, NULL, &o, NULL), SLATE_OK);
    CU_ASSERT_PTR_NULL(slate_optimizer_solution(o)); /* nothing solved yet */
    CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, 0, 0, -1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, 0, 0, NAN), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, 2, 0, 1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, 0, 3, 1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_count(o, 0, 0, 2), SLATE_ERR_INVALID_ARG); /* root */
    CU_ASSERT_EQUAL(slate_optimizer_set_count(o, 0, 3, 2), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_count(o, 0, 1, -0.5), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_cost(o, SLATE_COST_BUDGET, -1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_optimizer_set_limits(o, 0, 10), SLATE_ERR_INVALID_ARG);
    slate_profile p;
    slate_profile_init_mm1(&p, 1, 1, 100);
    CU_ASSERT_EQUAL(slate_optimizer_set_profile(o, 0, 2, &p), SLATE_ERR_NOT_FOUND); /* front@c */
    CU_ASSERT_EQUAL(slate_optimizer_set_profile(o, 9, 0, &p), SLATE_ERR_NOT_FOUND);
    p.mu_rps = -1;
    CU_ASSERT_EQUAL(slate_optimizer_set_profile(o, 0, 0, &p), SLATE_ERR_PROFILE_INVALID);
    CU_ASSERT_EQUAL(slate_optimizer_write_lp(o, "/nonexistent-dir/x.lp"), SLATE_ERR_IO);
    slate_optimizer_free(o);
    slate_optimizer_free(NULL);
    slate_solution_free(NULL);
    slate_route_table_free(NULL);
    slate_topology_free(t);
}

static void test_solution_clone(void)
{
    slate_topology *t = load_text(routes_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer *o = solve_new(t, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const slate_solution *s = slate_optimizer_solution(o);
    slate_solution *c = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_solution_clone(s, &c), SLATE_OK);
    CU_ASSERT_PTR_NOT_EQUAL(c->flows, s->flows);
    CU_ASSERT_EQUAL(c->objective, s->objective);
    for (size_t k = 0; k < s->n_classes; k++)
        CU_ASSERT(memcmp(c->flows[k], s->flows[k],
                         s->n_nodes[k] * s->n_clusters * s->n_clusters * sizeof(double)) == 0);
    CU_ASSERT(memcmp(c->load_rps, s->load_rps, s->n_services * s->n_clusters * sizeof(double)) ==
              0);
    slate_solution_free(c);
    slate_optimizer_free(o);
    slate_topology_free(t);
}

/*
 * The optimizer predicts with its own model, not the topology's: after
 * set_count and set_profile the class latency is the one computed by hand
 * from the new count and profile (the topology still says count 2 and an
 * M/M/1 profile for B).
 */
static void test_predictions_follow_optimizer_model(void)
{
    slate_topology *t = load_text(fan_out_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer *o = solve_new(t, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    /* C is called 3 times per request (node 2); B becomes q = 0.01 * rho
     * with t0 5 ms. */
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_set_count(o, 0, 2, 3.0), SLATE_OK);
    slate_profile pb;
    memset(&pb, 0, sizeof(pb));
    pb.form = SLATE_PROFILE_POLY;
    pb.t0_ms = 5;
    pb.mu_rps = 1000;
    pb.degree = 1;
    pb.coef[0] = 0.01;
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_set_profile(o, 1, 0, &pb), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
    const slate_solution *s = slate_optimizer_solution(o);
    SLATE_ASSERT_NEAR(s->load_rps[2], 300, 1e-6);
    /* M/M/1 q = k rho / (mu - rho) with k = service_time_ms, mu = 1000:
     * A at 100: 100/900 ms; C at 300: 3 * 300/700 ms. B at 100: 1 ms. */
    double ta = 0.5 + 1 + 100.0 / 900, tb = 0.5 + 5 + 0.01 * 100, tc = 0.5 + 3 + 3 * 300.0 / 700;
    SLATE_ASSERT_NEAR(s->class_latency_ms[0], ta + tb + 3 * tc, 1e-9);
    SLATE_ASSERT_NEAR(s->class_latency_cp_ms[0], ta + fmax(tb, 3 * tc), 1e-9);
    SLATE_ASSERT_NEAR(s->latency_ms_rps, 100 * (ta + tb + 3 * tc), 1e-6);
    slate_optimizer_free(o);
    slate_topology_free(t);
}

/*
 * The near-capacity rule of slate_solution_evaluate (optimizer.h) on one
 * M/M/1 deployment, t0 = k = 1 ms, mu = 100, u_max = 0.95, so x_max = 95:
 *   q(95) = 95 / 5 = 19 ms; f = rho q = rho^2 / (mu - rho): f(95) = 1805,
 *   f'(x) = x (2 mu - x) / (mu - x)^2: f'(95) = 95 * 105 / 25 = 399.
 * Beyond 95: q(rho) = (1805 + 399 (rho - 95)) / rho. The evaluator's slope
 * is a backward difference over h = 95e-6, below f' by about
 * h/2 * f''(95) = h/2 * 2 mu^2 / 5^3 = 7.6e-3, so q is low by at most
 * 7.6e-3 * 55 / 150 < 3e-3 ms at 150: the tolerance below.
 * A call's latency is local RTT 0.5 + t0 1 + q.
 */
static void test_evaluate_near_and_above_capacity(void)
{
    slate_topology *t = one_service(0.5, 10, 100, 50);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_solution *e = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_solution_new(t, &e), SLATE_OK);
    const double load[] = {50, 95, 98, 100, 150};
    const double want_q[] = {1, 19, (1805 + 399 * 3) / 98.0, (1805 + 399 * 5) / 100.0,
                             (1805 + 399 * 55) / 150.0};
    double prev = 0;
    for (size_t i = 0; i < sizeof(load) / sizeof(load[0]); i++) {
        e->flows[0][0] = load[i]; /* root, a -> a */
        CU_ASSERT_EQUAL_FATAL(slate_solution_evaluate(t, ps, 0.95, e), SLATE_OK);
        double lat = e->class_latency_ms[0];
        SLATE_ASSERT_NEAR(lat, 0.5 + 1 + want_q[i], 3e-3);
        CU_ASSERT(lat > prev); /* finite and increasing, also across mu */
        prev = lat;
        SLATE_ASSERT_NEAR(e->utilization[0], load[i] / 100, 1e-12);
        SLATE_ASSERT_NEAR(e->overload_rps[0], fmax(0, load[i] - 95), 1e-9);
        SLATE_ASSERT_NEAR(e->overload_total, fmax(0, load[i] - 95), 1e-9);
        SLATE_ASSERT_NEAR(e->latency_ms_rps, load[i] * lat, 1e-9 * load[i] * lat);
        CU_ASSERT(isnan(e->class_latency_ms[1])); /* no demand at b */
    }
    /* Between x_max and mu the rule is below the profile (q(98) = 49 ms):
     * the overload is reported in overload_rps, not as latency. */
    CU_ASSERT(want_q[2] < slate_profile_queueing(slate_profile_set_get(ps, 0, 0), 98));

    CU_ASSERT_EQUAL(slate_solution_evaluate(t, ps, 1.5, e), SLATE_ERR_INVALID_ARG);
    e->n_clusters++; /* shape mismatch */
    CU_ASSERT_EQUAL(slate_solution_evaluate(t, ps, 0.95, e), SLATE_ERR_INVALID_ARG);
    e->n_clusters--;
    slate_solution_free(e);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/*
 * Calls per request come from the flows where they carry any: flows built
 * with 1.5 calls of "db" per "front" request are evaluated with 1.5 calls
 * although the topology says 1, and a node without any flow is called 0
 * times (its parent's flow says so).
 */
static void test_evaluate_counts_from_flows(void)
{
    slate_topology *t = load_text(routes_topology);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_solution *e = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_solution_new(t, &e), SLATE_OK);
    /* Class busy: front at a (100), node 1 (db, count 1) 150 from a to c,
     * node 2 (db, count 0.5) nothing. */
    size_t nc = t->n_clusters;
    e->flows[0][(0 * nc + 0) * nc + 0] = 100;
    e->flows[0][(1 * nc + 0) * nc + 2] = 150;
    CU_ASSERT_EQUAL_FATAL(slate_solution_evaluate(t, ps, 0.95, e), SLATE_OK);
    /* Default MM1 profiles: t0 = k = service_time_ms, mu = 1000. */
    const slate_profile *pf = slate_profile_set_get(ps, 0, 0);
    const slate_profile *pd = slate_profile_set_get(ps, 1, 2);
    double tf = 0.5 + slate_profile_latency(pf, 100);
    double td = 10 + slate_profile_latency(pd, 150);
    SLATE_ASSERT_NEAR(e->class_latency_ms[0], tf + 1.5 * td, 1e-9);
    slate_solution_free(e);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/* Solves |o| and returns its objective, or NAN when the solve fails. */
static double solve_objective(slate_optimizer *o)
{
    if (slate_optimizer_solve(o, NULL) != SLATE_OK)
        return NAN;
    return slate_optimizer_solution(o)->objective;
}

/*
 * Column generation solves over a subset of the arcs and frees the others
 * as they price out: its optimum must be the full LP's, cold, warm after
 * demand and count changes, and in budget mode (where the restricted LP can
 * be infeasible while the full one is not). Compared with the same
 * optimizer built without it.
 */
static void test_column_generation_matches_full_lp(void)
{
    int budget_solved = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        char *json = random_topology(seed);
        CU_ASSERT_PTR_NOT_NULL_FATAL(json);
        slate_topology *t = load_text(json);
        free(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        slate_optimizer *opt[2];
        for (int cg = 0; cg < 2; cg++) {
            slate_optimizer_opts opts;
            slate_optimizer_opts_init(&opts);
            opts.column_generation = cg;
            opts.usd_per_ms = 1e-9;
            CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &opt[cg], NULL), SLATE_OK);
        }
        double full = solve_objective(opt[0]), cg = solve_objective(opt[1]);
        CU_ASSERT_FATAL(isfinite(full) && isfinite(cg));
        SLATE_ASSERT_NEAR(cg, full, 1e-9 * fabs(full));

        /* Warm: demand moves (some up 80%, some down), counts change. */
        for (int i = 0; i < 2; i++) {
            for (size_t j = 0; j < t->n_demand; j++)
                CU_ASSERT_EQUAL(slate_optimizer_set_demand(opt[i], t->demand[j].klass,
                                                           t->demand[j].cluster,
                                                           t->demand[j].rps * (j % 2 ? 0.4 : 1.8)),
                                SLATE_OK);
            CU_ASSERT_EQUAL(
                slate_optimizer_set_count(opt[i], 0, (int)t->classes[0].n_nodes - 1, 2.5),
                SLATE_OK);
        }
        full = solve_objective(opt[0]);
        cg = solve_objective(opt[1]);
        CU_ASSERT_FATAL(isfinite(full) && isfinite(cg));
        CU_ASSERT_EQUAL(slate_optimizer_solution(opt[1])->warm, 1);
        SLATE_ASSERT_NEAR(cg, full, 1e-9 * fabs(full));
        double egress = slate_optimizer_solution(opt[0])->egress_usd_per_hour;

        /* Budget mode below the priced optimum's egress (binding, or
         * infeasible where egress is unavoidable), warm and cold: same
         * optimum, or infeasible for both. */
        const double fractions[] = {0.97, 0.8};
        for (size_t f = 0; f < sizeof(fractions) / sizeof(fractions[0]); f++) {
            for (int i = 0; i < 2; i++)
                CU_ASSERT_EQUAL(
                    slate_optimizer_set_cost(opt[i], SLATE_COST_BUDGET, fractions[f] * egress),
                    SLATE_OK);
            for (int cold = 0; cold < 2; cold++) {
                if (cold) {
                    slate_optimizer_reset_basis(opt[0]);
                    slate_optimizer_reset_basis(opt[1]);
                }
                full = solve_objective(opt[0]);
                cg = solve_objective(opt[1]);
                CU_ASSERT_EQUAL(isnan(full), isnan(cg));
                if (isfinite(full) && isfinite(cg)) {
                    SLATE_ASSERT_NEAR(cg, full, 1e-9 * fabs(full));
                    budget_solved++;
                }
            }
        }
        slate_optimizer_free(opt[0]);
        slate_optimizer_free(opt[1]);
        slate_topology_free(t);
    }
    CU_ASSERT(budget_solved > 0); /* the budget comparison was not vacuous */
}

/* Sets every demand entry of |t| to |factor| times its value in |t|. */
static void scale_demand(slate_optimizer *o, const slate_topology *t, double factor)
{
    for (size_t j = 0; j < t->n_demand; j++)
        CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, t->demand[j].klass, t->demand[j].cluster,
                                                   t->demand[j].rps * factor),
                        SLATE_OK);
}

/*
 * The decomposition by class (opts.decompose: a master over routing
 * strategies, columns from a call-tree DP, a coarse-PWL first stage in cold
 * solves) must reach the arc LP's optimum: the same objective as the full
 * arc LP and as the arc LP with arc pricing, with flows that conserve calls,
 * cold and warm after demand, count and profile changes, with critical-path
 * weights, pinned ingress, egress priced or not, and under demand that
 * overloads clusters (loads across many PWL breakpoints, overload columns
 * in use). Its warm re-solve must equal a cold solve of the changed problem.
 */
static void test_decomposition_matches_arc_lp(void)
{
    enum { FULL = 0, ARC_CG = 1, DECOMPOSED = 2, N_FORMS = 3 };
    int overloaded = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        char *json = random_topology(seed);
        CU_ASSERT_PTR_NOT_NULL_FATAL(json);
        slate_topology *t = load_text(json);
        free(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        slate_optimizer *opt[N_FORMS];
        for (int f = 0; f < N_FORMS; f++) {
            slate_optimizer_opts opts;
            slate_optimizer_opts_init(&opts);
            opts.column_generation = f != FULL;
            opts.decompose = f == DECOMPOSED;
            opts.critical_path = (int)(seed % 2);
            opts.pin_ingress = (int)((seed / 2) % 2);
            opts.usd_per_ms = seed % 3 == 0 ? 0 : 1e-7;
            CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &opt[f], NULL), SLATE_OK);
        }
        /* Light demand as generated, then 12x: clusters overload. */
        const double factors[] = {1.0, 12.0};
        for (size_t i = 0; i < sizeof(factors) / sizeof(factors[0]); i++) {
            double obj[N_FORMS];
            for (int f = 0; f < N_FORMS; f++) {
                scale_demand(opt[f], t, factors[i]);
                slate_optimizer_reset_basis(opt[f]);
                obj[f] = solve_objective(opt[f]);
                CU_ASSERT_FATAL(isfinite(obj[f]));
            }
            SLATE_ASSERT_NEAR(obj[ARC_CG], obj[FULL], 1e-9 * fabs(obj[FULL]));
            SLATE_ASSERT_NEAR(obj[DECOMPOSED], obj[FULL], 1e-9 * fabs(obj[FULL]));
            const slate_solution *s = slate_optimizer_solution(opt[DECOMPOSED]);
            CU_ASSERT_EQUAL(s->warm, 0);
            CU_ASSERT(s->cg_rounds >= 1);
            /* The master is a different, smaller LP than the arc LP. */
            CU_ASSERT(s->rows < slate_optimizer_solution(opt[FULL])->rows);
            if (factors[i] == 1.0)
                check_conservation(t, s);
            if (s->overload_total > 0)
                overloaded++;
        }

        /* Warm: demand up and down, a count, a slower deployment. */
        int svc = t->classes[0].nodes[0].service;
        int where = t->services[svc].deployments[0].cluster;
        slate_profile p;
        slate_profile_init_mm1(&p, 2.5, 3.0, 300);
        double obj[N_FORMS];
        for (int f = 0; f < N_FORMS; f++) {
            for (size_t j = 0; j < t->n_demand; j++)
                CU_ASSERT_EQUAL(slate_optimizer_set_demand(opt[f], t->demand[j].klass,
                                                           t->demand[j].cluster,
                                                           t->demand[j].rps * (j % 2 ? 3 : 9)),
                                SLATE_OK);
            if (t->classes[0].n_nodes > 1)
                CU_ASSERT_EQUAL(
                    slate_optimizer_set_count(opt[f], 0, (int)t->classes[0].n_nodes - 1, 1.7),
                    SLATE_OK);
            CU_ASSERT_EQUAL(slate_optimizer_set_profile(opt[f], svc, where, &p), SLATE_OK);
            obj[f] = solve_objective(opt[f]);
            CU_ASSERT_FATAL(isfinite(obj[f]));
        }
        CU_ASSERT_EQUAL(slate_optimizer_solution(opt[DECOMPOSED])->warm, 1);
        SLATE_ASSERT_NEAR(obj[ARC_CG], obj[FULL], 1e-9 * fabs(obj[FULL]));
        SLATE_ASSERT_NEAR(obj[DECOMPOSED], obj[FULL], 1e-9 * fabs(obj[FULL]));
        slate_optimizer_reset_basis(opt[DECOMPOSED]);
        double cold = solve_objective(opt[DECOMPOSED]);
        CU_ASSERT_EQUAL(slate_optimizer_solution(opt[DECOMPOSED])->warm, 0);
        SLATE_ASSERT_NEAR(cold, obj[DECOMPOSED], 1e-9 * fabs(obj[DECOMPOSED]));
        for (int f = 0; f < N_FORMS; f++)
            slate_optimizer_free(opt[f]);
        slate_topology_free(t);
    }
    CU_ASSERT(overloaded > 0); /* the overloaded comparisons were not vacuous */
}

/*
 * A decomposed cold solve stopped by its limit (inside the coarse first
 * stage) leaves no trace: the next solve, and a warm one after it, reach
 * the arc LP's optimum (no coarse chord of the PWL left behind).
 */
static void test_decomposition_limit_then_solve(void)
{
    slate_topology *t = load_example("hotel-reservation.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_optimizer *full = NULL, *o = NULL;
    slate_optimizer_opts opts;
    slate_optimizer_opts_init(&opts);
    opts.column_generation = 0;
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &full, NULL), SLATE_OK);
    double want = solve_objective(full);
    CU_ASSERT_FATAL(isfinite(want));

    slate_optimizer_opts_init(&opts);
    opts.iteration_limit = 1;
    CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &o, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_optimizer_solve(o, NULL), SLATE_ERR_SOLVE_LIMIT);
    CU_ASSERT_EQUAL(slate_optimizer_set_limits(o, 10000, 1000000), SLATE_OK);
    double got = solve_objective(o);
    SLATE_ASSERT_NEAR(got, want, 1e-9 * fabs(want));

    /* And warm from there, after a demand change, as the arc LP. */
    for (size_t j = 0; j < t->n_demand; j++) {
        const slate_demand *d = &t->demand[j];
        CU_ASSERT_EQUAL(slate_optimizer_set_demand(o, d->klass, d->cluster, d->rps * 1.3),
                        SLATE_OK);
        CU_ASSERT_EQUAL(slate_optimizer_set_demand(full, d->klass, d->cluster, d->rps * 1.3),
                        SLATE_OK);
    }
    want = solve_objective(full);
    got = solve_objective(o);
    CU_ASSERT_EQUAL(slate_optimizer_solution(o)->warm, 1);
    SLATE_ASSERT_NEAR(got, want, 1e-9 * fabs(want));
    slate_optimizer_free(o);
    slate_optimizer_free(full);
    slate_topology_free(t);
}

/* With pin_ingress the root stays in the ingress cluster, while the
 * unpinned LP moves some of an overloaded region's root load away; pinning
 * can only cost objective (it removes columns), and downstream still moves. */
static void test_pin_ingress_keeps_root_local(void)
{
    slate_topology *t = load_example("hotel-reservation.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* Make the root the bottleneck in us-west so the free LP wants to move it. */
    int fe = slate_topology_find_service(t, "frontend"), west = slate_topology_find_cluster(t, "us-west");
    CU_ASSERT_FATAL(fe >= 0 && west >= 0);
    double obj[2] = {0, 0}, root_remote[2] = {0, 0}, downstream_remote = 0;
    for (int pin = 0; pin < 2; pin++) {
        slate_optimizer_opts opts;
        slate_optimizer_opts_init(&opts);
        opts.pin_ingress = pin;
        slate_optimizer *o = NULL;
        CU_ASSERT_EQUAL_FATAL(slate_optimizer_new(t, NULL, &opts, &o, NULL), SLATE_OK);
        CU_ASSERT_EQUAL_FATAL(slate_optimizer_solve(o, NULL), SLATE_OK);
        const slate_solution *s = slate_optimizer_solution(o);
        obj[pin] = s->objective;
        for (size_t k = 0; k < t->n_classes; k++)
            for (size_t a = 0; a < t->n_clusters; a++)
                for (size_t b = 0; b < t->n_clusters; b++) {
                    if (a == b)
                        continue;
                    root_remote[pin] += slate_solution_flow(s, (int)k, 0, (int)a, (int)b);
                    if (pin)
                        for (size_t v = 1; v < t->classes[k].n_nodes; v++)
                            downstream_remote += slate_solution_flow(s, (int)k, (int)v, (int)a, (int)b);
                }
        slate_optimizer_free(o);
    }
    CU_ASSERT(root_remote[0] > 1.0);  /* the example overloads us-west: the free LP moves roots */
    CU_ASSERT_EQUAL(root_remote[1], 0.0);
    CU_ASSERT(downstream_remote > 1.0); /* pinned: the spill happens one hop later */
    CU_ASSERT(obj[1] >= obj[0] - 1e-6 * fabs(obj[0]));
    slate_topology_free(t);
}

static CU_TestInfo optimizer_tests[] = {
    {"pin_ingress keeps the root in the ingress cluster", test_pin_ingress_keeps_root_local},
    {"equal profiles, RTT 0: even split", test_equal_profiles_split_evenly},
    {"cold remote: closed-form split", test_cold_remote_closed_form},
    {"egress budget 0 forces local", test_egress_budget_zero_forces_local},
    {"overload is reported, not failed", test_overload_reported_not_failed},
    {"conservation on random trees", test_conservation_random_trees},
    {"warm re-solve matches cold", test_warm_matches_cold},
    {"column generation matches the full LP", test_column_generation_matches_full_lp},
    {"decomposition matches the arc LP", test_decomposition_matches_arc_lp},
    {"decomposition: limit, then solve", test_decomposition_limit_then_solve},
    {"iteration limit keeps the previous solution", test_iteration_limit_keeps_previous},
    {"latency: sum and critical path", test_latency_sum_and_critical_path},
    {"invalid arguments", test_invalid_arguments},
    {"solution clone", test_solution_clone},
    {"predictions follow the optimizer's model", test_predictions_follow_optimizer_model},
    {"evaluate near and above capacity", test_evaluate_near_and_above_capacity},
    {"evaluate: calls per request from the flows", test_evaluate_counts_from_flows},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo routes_tests[] = {
    {"fallback, find, JSON", test_routes_fallback_find_json},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "optimizer",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = optimizer_tests},
    {.pName = "routes",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = routes_tests},
    CU_SUITE_INFO_NULL,
};
