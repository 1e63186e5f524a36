/*
 * Routing policies (see policy.h for each algorithm).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sim/policy.h"

/* Loads (work units/s or req/s) below this count as nothing left to place. */
#define POLICY_EPS 1e-9

static const char *const policy_names[SLATE_POLICY_COUNT] = {
    [SLATE_POLICY_LOCAL] = "local",
    [SLATE_POLICY_EQUAL] = "equal",
    [SLATE_POLICY_SPRAY] = "spray",
    [SLATE_POLICY_WATERFALL] = "waterfall",
    [SLATE_POLICY_ENVOY_LOCALITY] = "envoy-locality",
    [SLATE_POLICY_RINGS] = "rings",
    [SLATE_POLICY_SLATE] = "slate",
    [SLATE_POLICY_P2C_EWMA] = "p2c-ewma",
};

void slate_policy_opts_init(slate_policy_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->envoy_overprovisioning = 1.4;
    o->ring_bounds_ms[0] = 2;
    o->ring_bounds_ms[1] = 35;
    o->ring_bounds_ms[2] = 70;
    o->n_ring_bounds = 3;
    o->ring_threshold = 0.8;
    o->waterfall_fill = 1.0;
    slate_optimizer_opts_init(&o->lp);
}

const char *slate_policy_name(slate_policy_kind kind)
{
    if ((int)kind < 0 || kind >= SLATE_POLICY_COUNT)
        return "unknown";
    return policy_names[kind];
}

int slate_policy_parse(const char *name, slate_policy_kind *out)
{
    if (name == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    for (int i = 0; i < SLATE_POLICY_COUNT; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (slate_policy_kind)i;
            return SLATE_OK;
        }
    return SLATE_ERR_NOT_FOUND;
}

int slate_policy_has_table(slate_policy_kind kind)
{
    return kind >= 0 && kind < SLATE_POLICY_COUNT && kind != SLATE_POLICY_P2C_EWMA;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* Fills |order| with the clusters where |svc| is deployed, nearest to |src|
 * first (RTT, then lowest index); returns how many. */
static size_t deployments_by_rtt(const slate_topology *t, const slate_service *svc, int src,
                                 int *order)
{
    size_t n = 0;
    for (size_t d = 0; d < svc->n_deployments; d++) {
        int b = svc->deployments[d].cluster;
        size_t i = n++;
        /* insertion sort: at most SLATE_TOPO_MAX_CLUSTERS entries */
        while (i > 0) {
            int p = order[i - 1];
            double rp = slate_topology_rtt_ms(t, src, p), rb = slate_topology_rtt_ms(t, src, b);
            if (rp < rb || (rp == rb && p < b))
                break;
            order[i] = p;
            i--;
        }
        order[i] = b;
    }
    return n;
}

/* Capacity of |svc| at cluster |b| (work units/s), 0 when not deployed. */
static double capacity_at(const slate_service *svc, int b)
{
    for (size_t d = 0; d < svc->n_deployments; d++)
        if (svc->deployments[d].cluster == b)
            return svc->deployments[d].capacity_rps;
    return 0;
}

/* ---- load-blind policies: weights per (source cluster, destination service) ------- */

static void envoy_weights(const slate_policy_input *in, const slate_policy_opts *o, int a, int s,
                          double *w)
{
    const slate_topology *t = in->t;
    const slate_service *svc = &t->services[s];
    int order[SLATE_TOPO_MAX_CLUSTERS];
    size_t n = deployments_by_rtt(t, svc, a, order);
    double share[SLATE_TOPO_MAX_CLUSTERS];
    double left = 1, total = 0;
    for (size_t i = 0; i < n; i++) {
        double h = in->health ? in->health[(size_t)s * t->n_clusters + (size_t)order[i]] : 1.0;
        double avail = fmin(1.0, fmax(0.0, h) * o->envoy_overprovisioning);
        share[i] = fmin(left, avail);
        left -= share[i];
        total += avail;
    }
    if (left > POLICY_EPS && total > 0) {
        /* Not enough healthy priorities to carry it all: Envoy normalises
         * the available shares to sum to 1. */
        for (size_t i = 0; i < n; i++) {
            double h = in->health ? in->health[(size_t)s * t->n_clusters + (size_t)order[i]] : 1.0;
            share[i] = fmin(1.0, fmax(0.0, h) * o->envoy_overprovisioning) / total;
        }
    } else if (total <= 0) {
        for (size_t i = 0; i < n; i++) /* panic mode: every host alike */
            share[i] = 1.0 / (double)n;
    }
    for (size_t i = 0; i < n; i++)
        w[order[i]] = share[i];
}

static void simple_weights(slate_policy_kind kind, const slate_policy_input *in,
                           const slate_policy_opts *o, int a, int s, double *w)
{
    const slate_topology *t = in->t;
    const slate_service *svc = &t->services[s];
    for (size_t b = 0; b < t->n_clusters; b++)
        w[b] = 0;
    if (svc->n_deployments == 0)
        return;
    switch (kind) {
    case SLATE_POLICY_EQUAL:
        for (size_t d = 0; d < svc->n_deployments; d++)
            w[svc->deployments[d].cluster] = 1.0 / (double)svc->n_deployments;
        break;
    case SLATE_POLICY_SPRAY: {
        double total = 0;
        for (size_t d = 0; d < svc->n_deployments; d++)
            total += svc->deployments[d].capacity_rps;
        for (size_t d = 0; d < svc->n_deployments; d++)
            w[svc->deployments[d].cluster] = svc->deployments[d].capacity_rps / total;
        break;
    }
    case SLATE_POLICY_ENVOY_LOCALITY:
        envoy_weights(in, o, a, s, w);
        break;
    default: /* local */
        slate_route_default_weights(t, a, s, w);
        break;
    }
}

static int simple_table(slate_policy_kind kind, const slate_policy_input *in,
                        const slate_policy_opts *o, slate_route_table **out)
{
    slate_route_table *rt = NULL;
    int rv = slate_route_table_build(in->t, NULL, &rt);
    if (rv != SLATE_OK)
        return rv;
    for (size_t i = 0; i < rt->n_rules; i++) {
        slate_route_rule *r = &rt->rules[i];
        simple_weights(kind, in, o, r->src_cluster, r->dst_service, r->weights);
        r->fallback = 0;
    }
    *out = rt;
    return SLATE_OK;
}

/* ---- load-aware fill: waterfall and rings ----------------------------------------- */

/* One call-tree node, for walking every class's nodes by depth then service. */
typedef struct node_ref {
    int depth, service, klass, node;
} node_ref;

static int cmp_node_ref(const void *pa, const void *pb)
{
    const node_ref *x = pa, *y = pb;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    if (x->service != y->service)
        return x->service < y->service ? -1 : 1;
    if (x->klass != y->klass)
        return x->klass < y->klass ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

typedef struct fill_ctx {
    const slate_topology *t;
    int rings;        /* 0: waterfall (tiers of one cluster), 1: rings */
    double threshold; /* fraction of capacity a tier fills to */
    const double *bounds;
    size_t n_bounds;
    double *used; /* ns * nc: work units/s placed so far */
} fill_ctx;

/*
 * Fills |tier| with the clusters source |a| is offered in round |r| for
 * service |svc|; returns how many (0 when the round does not exist for this
 * source, -1 past the last round).
 */
static int tier_of(const fill_ctx *c, const slate_service *svc, int a, size_t r, int *tier)
{
    const slate_topology *t = c->t;
    if (!c->rings) {
        int order[SLATE_TOPO_MAX_CLUSTERS];
        size_t n = deployments_by_rtt(t, svc, a, order);
        if (r >= n)
            return -1;
        tier[0] = order[r];
        return 1;
    }
    if (r > c->n_bounds)
        return -1;
    double lo = r == 0 ? -INFINITY : c->bounds[r - 1];
    double hi = r == c->n_bounds ? INFINITY : c->bounds[r];
    int n = 0;
    for (size_t d = 0; d < svc->n_deployments; d++) {
        int b = svc->deployments[d].cluster;
        double rtt = slate_topology_rtt_ms(t, a, b);
        if (rtt > lo && rtt <= hi)
            tier[n++] = b;
    }
    return n;
}

/*
 * Places |want[a]| work units/s from each source cluster a on service |s|'s
 * deployments (see policy.h), writing the fractions frac[a * nc + b].
 */
static void fill_service(fill_ctx *c, int s, const double *want, double *frac)
{
    const slate_topology *t = c->t;
    size_t nc = t->n_clusters;
    const slate_service *svc = &t->services[s];
    double *used = &c->used[(size_t)s * nc];
    double left[SLATE_TOPO_MAX_CLUSTERS], asked_b[SLATE_TOPO_MAX_CLUSTERS];
    double ask[SLATE_TOPO_MAX_CLUSTERS][SLATE_TOPO_MAX_CLUSTERS];
    int tier[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t a = 0; a < nc; a++) {
        left[a] = want[a];
        for (size_t b = 0; b < nc; b++)
            frac[a * nc + b] = 0;
    }
    int passes = c->rings ? SLATE_RINGS_PASSES : 1;
    for (size_t r = 0;; r++) {
        int any_round = 0;
        for (int pass = 0; pass < passes; pass++) {
            int any_ask = 0;
            memset(asked_b, 0, sizeof(asked_b));
            for (size_t a = 0; a < nc; a++) {
                for (size_t b = 0; b < nc; b++)
                    ask[a][b] = 0;
                int n = tier_of(c, svc, (int)a, r, tier);
                if (n >= 0)
                    any_round = 1;
                if (n <= 0 || left[a] <= POLICY_EPS)
                    continue;
                /* Split this source's remaining load over the tier by headroom. */
                double room_total = 0;
                for (int i = 0; i < n; i++)
                    room_total +=
                        fmax(0.0, c->threshold * capacity_at(svc, tier[i]) - used[tier[i]]);
                if (room_total <= POLICY_EPS)
                    continue;
                for (int i = 0; i < n; i++) {
                    double room =
                        fmax(0.0, c->threshold * capacity_at(svc, tier[i]) - used[tier[i]]);
                    ask[a][tier[i]] = left[a] * room / room_total;
                    asked_b[tier[i]] += ask[a][tier[i]];
                    any_ask = 1;
                }
            }
            if (!any_ask)
                break;
            /* Each cluster grants min(asked, headroom), shared by what was asked. */
            double grant[SLATE_TOPO_MAX_CLUSTERS];
            for (size_t b = 0; b < nc; b++) {
                double room = fmax(0.0, c->threshold * capacity_at(svc, (int)b) - used[b]);
                grant[b] = asked_b[b] > room ? room / asked_b[b] : 1.0;
            }
            for (size_t a = 0; a < nc; a++)
                for (size_t b = 0; b < nc; b++) {
                    double got = ask[a][b] * grant[b];
                    if (got <= 0)
                        continue;
                    frac[a * nc + b] += got;
                    left[a] -= got;
                    used[b] += got;
                }
        }
        if (!any_round)
            break;
    }
    /* Past every tier: spread by capacity, overloading every cluster alike. */
    double cap_total = 0;
    for (size_t d = 0; d < svc->n_deployments; d++)
        cap_total += svc->deployments[d].capacity_rps;
    for (size_t a = 0; a < nc; a++) {
        if (left[a] > POLICY_EPS && cap_total > 0)
            for (size_t d = 0; d < svc->n_deployments; d++) {
                const slate_deployment *dep = &svc->deployments[d];
                double got = left[a] * dep->capacity_rps / cap_total;
                frac[a * nc + (size_t)dep->cluster] += got;
                used[dep->cluster] += got;
            }
        for (size_t b = 0; b < nc; b++)
            frac[a * nc + b] = want[a] > POLICY_EPS ? frac[a * nc + b] / want[a] : 0;
    }
}

/* Computes the waterfall or rings flows for the demand in |in->t| into |sol|. */
static int fill_flows(const slate_policy_input *in, const slate_policy_opts *o, int rings,
                      slate_solution *sol)
{
    const slate_topology *t = in->t;
    size_t nc = t->n_clusters, n_refs = 0;
    for (size_t k = 0; k < t->n_classes; k++)
        n_refs += t->classes[k].n_nodes;
    int rv = SLATE_ERR_NOMEM;
    node_ref *refs = malloc((n_refs + 1) * sizeof(*refs));
    double *used = calloc(t->n_services * nc + 1, sizeof(double));
    double *want = calloc(nc, sizeof(double));
    double *frac = calloc(nc * nc, sizeof(double));
    if (refs == NULL || used == NULL || want == NULL || frac == NULL)
        goto out;
    n_refs = 0;
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++)
            refs[n_refs++] = (node_ref){c->nodes[v].depth, c->nodes[v].service, (int)k, (int)v};
        memset(sol->flows[k], 0, c->n_nodes * nc * nc * sizeof(double));
    }
    qsort(refs, n_refs, sizeof(*refs), cmp_node_ref);
    fill_ctx ctx = {
        t, rings, rings ? o->ring_threshold : o->waterfall_fill, o->ring_bounds_ms, o->n_ring_bounds, used};

    for (size_t i = 0; i < n_refs;) {
        size_t j = i;
        for (size_t a = 0; a < nc; a++)
            want[a] = 0;
        /* A group: every node of one service at one depth. Its inflow from
         * each source is known: parents sit one level up, already placed. */
        for (; j < n_refs && refs[j].depth == refs[i].depth && refs[j].service == refs[i].service;
             j++) {
            const slate_class *c = &t->classes[refs[j].klass];
            const slate_call_node *n = &c->nodes[refs[j].node];
            for (size_t a = 0; a < nc; a++)
                want[a] += n->work * slate_solution_node_inflow(t, sol, refs[j].klass, refs[j].node, (int)a);
        }
        fill_service(&ctx, refs[i].service, want, frac);
        for (size_t g = i; g < j; g++) {
            double *x = sol->flows[refs[g].klass];
            for (size_t a = 0; a < nc; a++) {
                double f = slate_solution_node_inflow(t, sol, refs[g].klass, refs[g].node, (int)a);
                for (size_t b = 0; b < nc; b++)
                    x[((size_t)refs[g].node * nc + a) * nc + b] = f * frac[a * nc + b];
            }
        }
        i = j;
    }
    rv = SLATE_OK;
out:
    free(refs);
    free(used);
    free(want);
    free(frac);
    return rv;
}

/* ---- slate: the LP ----------------------------------------------------------------- */

static int slate_table(const slate_policy_input *in, const slate_policy_opts *o,
                       slate_route_table **out, slate_diag *diag)
{
    slate_profile_set *defaults = NULL;
    slate_optimizer *opt = NULL;
    const slate_profile_set *prof = in->profiles;
    int rv;
    if (prof == NULL) {
        rv = slate_profile_set_new(in->t, &defaults);
        if (rv != SLATE_OK)
            return rv;
        prof = defaults;
    }
    rv = slate_optimizer_new(in->t, prof, &o->lp, &opt, diag);
    if (rv == SLATE_OK)
        rv = slate_optimizer_solve(opt, diag);
    if (rv == SLATE_OK)
        rv = slate_route_table_build(in->t, slate_optimizer_solution(opt), out);
    slate_optimizer_free(opt);
    slate_profile_set_free(defaults);
    return rv;
}

/* ---- public ------------------------------------------------------------------------ */

int slate_policy_routes(slate_policy_kind kind, const slate_policy_input *in,
                        const slate_policy_opts *opts, slate_route_table **out, slate_diag *diag)
{
    if (in == NULL || in->t == NULL || out == NULL || !slate_policy_has_table(kind))
        return SLATE_ERR_INVALID_ARG;
    slate_policy_opts defaults;
    slate_policy_opts_init(&defaults);
    if (opts == NULL)
        opts = &defaults;
    if (opts->n_ring_bounds > SLATE_RINGS_MAX || !(opts->ring_threshold > 0) ||
        !(opts->waterfall_fill > 0 && opts->waterfall_fill <= 1) ||
        !(opts->envoy_overprovisioning > 0))
        return SLATE_ERR_INVALID_ARG;
    switch (kind) {
    case SLATE_POLICY_LOCAL:
    case SLATE_POLICY_EQUAL:
    case SLATE_POLICY_SPRAY:
    case SLATE_POLICY_ENVOY_LOCALITY:
        return simple_table(kind, in, opts, out);
    case SLATE_POLICY_WATERFALL:
    case SLATE_POLICY_RINGS: {
        slate_solution *sol = NULL;
        int rv = slate_solution_new(in->t, &sol);
        if (rv == SLATE_OK)
            rv = fill_flows(in, opts, kind == SLATE_POLICY_RINGS, sol);
        if (rv == SLATE_OK)
            rv = slate_route_table_build(in->t, sol, out);
        slate_solution_free(sol);
        return rv;
    }
    case SLATE_POLICY_SLATE:
        return slate_table(in, opts, out, diag);
    default:
        return SLATE_ERR_INVALID_ARG;
    }
}
