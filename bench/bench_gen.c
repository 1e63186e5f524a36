/*
 * Synthetic topologies for SLATE's scalability experiments (NSDI 2026,
 * "solver scalability"): call trees that grow in depth or in number of
 * classes and services, on a fully replicated multi-cluster deployment.
 *
 * Shapes
 * ------
 * caterpillar (--clusters C --classes K --depth D), D >= 1:
 *   A spine of D nodes spine-0 .. spine-(D-1), spine-0 being the root (the
 *   ingress service). Every spine node calls 3 children: spine-d (d < D-1)
 *   calls leaf-d-a, leaf-d-b and spine-(d+1); the last spine node,
 *   spine-(D-1), calls the three leaves leaf-(D-1)-a, -b, -c. Leaves sit at
 *   depth d+1 under spine-d, so the deepest leaves are at depth D.
 *   Nodes per class: D spine + 2 (D-1) + 3 leaves = 3D + 1 (7 at D = 2,
 *   19 at D = 6); every node is its own service, so there are 3D + 1
 *   services. The K classes are copies of this tree over the same services,
 *   each with its own endpoint names ("/class-<k>/node-<i>").
 *
 * random (--clusters C --classes K --services N [--nodes M]):
 *   N services svc-000 .. ; every class is its own random tree of M nodes
 *   (default 12): the root's service is uniform over the N services; each
 *   further node picks its parent uniformly among the nodes above the depth
 *   limit min(4, N-1), and its service uniformly among the services not
 *   already on the root-to-parent path, so no service appears twice on a
 *   root-to-leaf path (it may appear in several branches). A node's
 *   children run in parallel with probability 1/2.
 *
 * Common rules (both shapes)
 * --------------------------
 * - Clusters cluster-00 .. ; every service is deployed in every cluster.
 * - Network: one-way delay uniform in [5, 50] ms per unordered cluster pair,
 *   RTT = 2 x one-way (symmetric), 0.5 ms RTT inside a cluster; egress
 *   0.02 USD/GB between clusters, 0 inside.
 * - Every call: count 1, work 1, request and response bytes uniform
 *   integers in [768, 1280] (~1 KB), drawn per class and edge. Each
 *   service's unloaded time (service_time_ms) is uniform in [1, 5] ms.
 * - Capacity and demand: each cluster c gets a capacity share p_c (uniform
 *   in [0.7, 1.3], normalised to sum 1) and a target local utilisation u_c.
 *   floor(C / 5) clusters, chosen at random, are "hot": u_c uniform in
 *   [1.2, 1.5], i.e. loaded above their local capacity; the others get
 *   r_c uniform in [0.5, 1.5] scaled so that sum_c u_c p_c = 0.6. (For
 *   C < 5 no cluster is deliberately hot.) Each class k has a total demand
 *   R_k = 100 * C * uniform[0.5, 1.5] RPS, split over ingress clusters as
 *   lambda[k][c] = R_k * (u_c p_c / 0.6) * uniform[0.9, 1.1]. A service s
 *   whose calls per root request in class k are m_k(s) sees total work
 *   W_s = sum_k m_k(s) sum_c lambda[k][c] and gets capacity
 *   W_s * p_c / 0.6 in cluster c. Hence total demand is 60% of total
 *   capacity for every service, and if all traffic stayed local the
 *   utilisation of every service in cluster c would be about u_c (hot
 *   clusters above 1.1 even with the per-entry jitter). A service no class
 *   calls (possible in random mode) gets the mean capacity of the others.
 *   RTTs are rounded to 0.01 ms, demand to 0.01 RPS, capacity to 0.1 RPS.
 *
 * Randomness: one splitmix64 generator per concern (network, trees,
 * capacity and demand) seeded from --seed, so the network does not change
 * when only the classes do.
 */
#include "bench/bench_gen.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"
#include "common/numarg.h"
#include "topology/topology.h"

#define NAME_LEN 32 /* bytes for a generated service, cluster or class name */

/* Parameters of the common rules above. */
#define ONE_WAY_MIN_MS     5.0
#define ONE_WAY_MAX_MS     50.0
#define IN_CLUSTER_RTT_MS  0.5
#define EGRESS_USD_PER_GB  0.02
#define BYTES_MIN          768
#define BYTES_SPAN         513 /* BYTES_MIN .. BYTES_MIN + BYTES_SPAN - 1 */
#define TARGET_UTILISATION 0.6
#define HOT_EVERY          5 /* floor(C / HOT_EVERY) hot clusters */

/* ---- PRNG ----------------------------------------------------------------- */

/*
 * splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a 64-bit counter passed through a mixing
 * function. Small, fast and good enough for test data; independent streams
 * come from different starting counters.
 */
typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_init(rng *r, uint64_t seed, uint64_t stream)
{
    r->state = seed ^ (stream * UINT64_C(0xd1b54a32d192ed03));
    (void)rng_next(r); /* mix the seed once so nearby seeds diverge at once */
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_uniform(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Uniform integer in [0, n), n >= 1 (bias below 2^-53, irrelevant here). */
static int rng_below(rng *r, int n)
{
    int v = (int)(rng_unit(r) * (double)n);
    return v < n ? v : n - 1;
}

/* Rounds |x| to a multiple of 1/|per_unit| (e.g. 100 for 0.01) so the JSON
 * stays readable; division keeps the result the nearest double to a short
 * decimal. */
static double round_to(double x, double per_unit)
{
    return nearbyint(x * per_unit) / per_unit;
}

/* ---- parameters ------------------------------------------------------------ */

void slate_bench_params_init(slate_bench_params *p)
{
    memset(p, 0, sizeof(*p));
    p->shape = SLATE_BENCH_CATERPILLAR;
    p->nodes = SLATE_BENCH_DEFAULT_NODES;
    p->seed = 1;
}

int slate_bench_params_set_shape(slate_bench_params *p, const char *word)
{
    if (strcmp(word, "caterpillar") == 0) {
        p->shape = SLATE_BENCH_CATERPILLAR;
        return 0;
    }
    if (strcmp(word, "random") == 0) {
        p->shape = SLATE_BENCH_RANDOM;
        return 0;
    }
    return -1;
}

int slate_bench_params_option(slate_bench_params *p, const char *opt, const char *val)
{
    int *target = NULL;
    if (strcmp(opt, "--clusters") == 0)
        target = &p->clusters;
    else if (strcmp(opt, "--classes") == 0)
        target = &p->classes;
    else if (strcmp(opt, "--depth") == 0)
        target = &p->depth;
    else if (strcmp(opt, "--services") == 0)
        target = &p->services;
    else if (strcmp(opt, "--nodes") == 0)
        target = &p->nodes;
    else if (strcmp(opt, "--seed") != 0)
        return 0;

    if (val == NULL) {
        fprintf(stderr, "option %s needs a value\n", opt);
        return -1;
    }
    if (target == NULL) { /* --seed: any unsigned 64-bit decimal */
        if (slate_numarg_uint(val, UINT64_MAX, &p->seed) != 0) {
            fprintf(stderr, "option --seed: \"%s\" is not an unsigned integer\n", val);
            return -1;
        }
        return 1;
    }
    if (slate_numarg_int(val, 0, 1000000, target) != 0) {
        fprintf(stderr, "option %s: \"%s\" is not an integer in [0, 1000000]\n", opt, val);
        return -1;
    }
    return 1;
}

int slate_bench_caterpillar_nodes(int depth)
{
    return 3 * depth + 1;
}

int slate_bench_params_check(const slate_bench_params *p, char *why, size_t why_len)
{
    const char *msg = NULL;
    char tmp[160];
    if (p->clusters < 1 || p->clusters > SLATE_TOPO_MAX_CLUSTERS) {
        snprintf(tmp, sizeof(tmp), "--clusters must be in [1, %d]", SLATE_TOPO_MAX_CLUSTERS);
        msg = tmp;
    } else if (p->classes < 1 || p->classes > SLATE_TOPO_MAX_CLASSES) {
        snprintf(tmp, sizeof(tmp), "--classes must be in [1, %d]", SLATE_TOPO_MAX_CLASSES);
        msg = tmp;
    } else if ((long)p->classes * p->clusters > SLATE_TOPO_MAX_DEMAND) {
        snprintf(tmp, sizeof(tmp), "classes x clusters must be at most %d demand entries",
                 SLATE_TOPO_MAX_DEMAND);
        msg = tmp;
    } else if (p->shape == SLATE_BENCH_CATERPILLAR) {
        if (p->depth < 1 || p->depth > SLATE_TOPO_MAX_DEPTH) {
            snprintf(tmp, sizeof(tmp), "--depth must be in [1, %d]", SLATE_TOPO_MAX_DEPTH);
            msg = tmp;
        }
    } else {
        if (p->services < 1 || p->services > SLATE_TOPO_MAX_SERVICES) {
            snprintf(tmp, sizeof(tmp), "--services must be in [1, %d]", SLATE_TOPO_MAX_SERVICES);
            msg = tmp;
        } else if (p->nodes < 1 || p->nodes > SLATE_TOPO_MAX_NODES) {
            snprintf(tmp, sizeof(tmp), "--nodes must be in [1, %d]", SLATE_TOPO_MAX_NODES);
            msg = tmp;
        } else if (p->nodes > 1 && p->services < 2) {
            msg = "a tree of more than one node needs at least 2 services";
        }
    }
    if (msg == NULL)
        return 0;
    if (why_len > 0)
        snprintf(why, why_len, "%s", msg);
    return -1;
}

void slate_bench_params_label(const slate_bench_params *p, char *buf, size_t len)
{
    if (len == 0)
        return;
    if (p->shape == SLATE_BENCH_CATERPILLAR)
        snprintf(buf, len, "caterpillar C=%d K=%d D=%d seed=%" PRIu64, p->clusters, p->classes,
                 p->depth, p->seed);
    else
        snprintf(buf, len, "random N=%d K=%d C=%d M=%d seed=%" PRIu64, p->services, p->classes,
                 p->clusters, p->nodes, p->seed);
}

/* ---- the model before it becomes JSON ------------------------------------ */

/* One class's call tree; node 0 is the root; all arrays have n entries. */
typedef struct gen_tree {
    int n;
    int *service;
    int *parent;       /* -1 for the root */
    int *depth;        /* 0 for the root */
    int *first_child;  /* -1 when none */
    int *next_sibling; /* -1 when last */
    int *parallel;     /* 1: children run concurrently */
    double *req_bytes; /* of the call parent -> node; unused for the root */
    double *resp_bytes;
} gen_tree;

typedef struct gen_model {
    int n_clusters, n_services, n_classes;
    char (*service_names)[NAME_LEN]; /* n_services */
    double *rtt_ms;                  /* n_clusters^2 */
    double *service_time_ms;         /* n_services */
    double *capacity_rps;            /* n_services * n_clusters */
    double *demand_rps;              /* n_classes * n_clusters */
    gen_tree *trees;                 /* n_classes */
} gen_model;

static void tree_cleanup(gen_tree *t)
{
    free(t->service);
    free(t->parent);
    free(t->depth);
    free(t->first_child);
    free(t->next_sibling);
    free(t->parallel);
    free(t->req_bytes);
    free(t->resp_bytes);
    memset(t, 0, sizeof(*t));
}

/* Allocates room for |cap| nodes; the tree starts empty. Returns 0 or -1. */
static int tree_init(gen_tree *t, int cap)
{
    size_t n = (size_t)cap;
    memset(t, 0, sizeof(*t));
    t->service = calloc(n, sizeof(int));
    t->parent = calloc(n, sizeof(int));
    t->depth = calloc(n, sizeof(int));
    t->first_child = calloc(n, sizeof(int));
    t->next_sibling = calloc(n, sizeof(int));
    t->parallel = calloc(n, sizeof(int));
    t->req_bytes = calloc(n, sizeof(double));
    t->resp_bytes = calloc(n, sizeof(double));
    if (!t->service || !t->parent || !t->depth || !t->first_child || !t->next_sibling ||
        !t->parallel || !t->req_bytes || !t->resp_bytes) {
        tree_cleanup(t);
        return -1;
    }
    return 0;
}

/* Appends a node calling |service| under |parent| (-1: the root) as the
 * parent's last child, with the edge's bytes drawn from |r|. Returns its
 * index. The caller guarantees capacity. */
static int tree_add(gen_tree *t, int parent, int service, rng *r)
{
    int i = t->n++;
    t->service[i] = service;
    t->parent[i] = parent;
    t->depth[i] = parent < 0 ? 0 : t->depth[parent] + 1;
    t->first_child[i] = -1;
    t->next_sibling[i] = -1;
    t->parallel[i] = 0;
    t->req_bytes[i] = parent < 0 ? 0 : (double)(BYTES_MIN + rng_below(r, BYTES_SPAN));
    t->resp_bytes[i] = parent < 0 ? 0 : (double)(BYTES_MIN + rng_below(r, BYTES_SPAN));
    if (parent >= 0) {
        int *link = &t->first_child[parent];
        while (*link >= 0)
            link = &t->next_sibling[*link];
        *link = i;
    }
    return i;
}

static void model_cleanup(gen_model *m)
{
    if (m->trees != NULL)
        for (int k = 0; k < m->n_classes; k++)
            tree_cleanup(&m->trees[k]);
    free(m->trees);
    free(m->service_names);
    free(m->rtt_ms);
    free(m->service_time_ms);
    free(m->capacity_rps);
    free(m->demand_rps);
    memset(m, 0, sizeof(*m));
}

/* Builds the caterpillar's class trees and names its services. */
static int build_caterpillar(gen_model *m, int depth, rng *r)
{
    int n = slate_bench_caterpillar_nodes(depth);
    m->n_services = n;
    m->service_names = calloc((size_t)n, sizeof(*m->service_names));
    if (m->service_names == NULL)
        return -1;
    for (int k = 0; k < m->n_classes; k++) {
        gen_tree *t = &m->trees[k];
        if (tree_init(t, n) != 0)
            return -1;
        /* Each node is its own service, numbered in creation order, which is
         * the same in every class. */
        int spine = -1;
        for (int d = 0; d < depth; d++) {
            int s = t->n;
            spine = tree_add(t, spine, s, r);
            snprintf(m->service_names[s], NAME_LEN, "spine-%d", d);
            int leaves = d == depth - 1 ? 3 : 2;
            for (int j = 0; j < leaves; j++) {
                int leaf = t->n;
                tree_add(t, spine, leaf, r);
                snprintf(m->service_names[leaf], NAME_LEN, "leaf-%d-%c", d, 'a' + j);
            }
        }
    }
    return 0;
}

/* Draws a service for a child of |parent| that is not on the root-to-parent
 * path; the caller guarantees one exists (path length < n_services). */
static int draw_service_off_path(const gen_tree *t, int parent, int n_services, rng *r)
{
    for (;;) {
        int s = rng_below(r, n_services);
        int on_path = 0;
        for (int a = parent; a >= 0 && !on_path; a = t->parent[a])
            on_path = t->service[a] == s;
        if (!on_path)
            return s;
    }
}

static int build_random(gen_model *m, int n_services, int n_nodes, rng *r)
{
    m->n_services = n_services;
    m->service_names = calloc((size_t)n_services, sizeof(*m->service_names));
    if (m->service_names == NULL)
        return -1;
    for (int s = 0; s < n_services; s++)
        snprintf(m->service_names[s], NAME_LEN, "svc-%03d", s);

    int max_depth = n_services - 1 < SLATE_BENCH_RANDOM_MAX_DEPTH ? n_services - 1
                                                                  : SLATE_BENCH_RANDOM_MAX_DEPTH;
    int *eligible = malloc((size_t)n_nodes * sizeof(int));
    if (eligible == NULL)
        return -1;
    int rv = 0;
    for (int k = 0; k < m->n_classes && rv == 0; k++) {
        gen_tree *t = &m->trees[k];
        if (tree_init(t, n_nodes) != 0) {
            rv = -1;
            break;
        }
        tree_add(t, -1, rng_below(r, n_services), r);
        int n_eligible = 0;
        if (max_depth > 0)
            eligible[n_eligible++] = 0;
        while (t->n < n_nodes) {
            int parent = eligible[rng_below(r, n_eligible)];
            int s = draw_service_off_path(t, parent, n_services, r);
            int child = tree_add(t, parent, s, r);
            if (t->depth[child] < max_depth)
                eligible[n_eligible++] = child;
        }
        for (int i = 0; i < t->n; i++)
            t->parallel[i] = t->first_child[i] >= 0 && rng_below(r, 2) == 1;
    }
    free(eligible);
    return rv;
}

static void build_network(gen_model *m, rng *r)
{
    int c = m->n_clusters;
    for (int a = 0; a < c; a++) {
        m->rtt_ms[a * c + a] = IN_CLUSTER_RTT_MS;
        for (int b = a + 1; b < c; b++) {
            double rtt = round_to(2.0 * rng_uniform(r, ONE_WAY_MIN_MS, ONE_WAY_MAX_MS), 100);
            m->rtt_ms[a * c + b] = rtt;
            m->rtt_ms[b * c + a] = rtt;
        }
    }
}

/* Capacity and demand by the rule in the header comment. Needs the trees. */
static int build_load(gen_model *m, rng *r)
{
    int nc = m->n_clusters, ns = m->n_services, nk = m->n_classes;
    int rv = -1;
    double *share = calloc((size_t)nc, sizeof(double)); /* capacity share p_c */
    double *util = calloc((size_t)nc, sizeof(double));  /* target local utilisation u_c */
    int *order = calloc((size_t)nc, sizeof(int));
    double *calls = calloc((size_t)ns, sizeof(double)); /* m_k(s) for the current class */
    double *work = calloc((size_t)ns, sizeof(double));  /* W_s */
    if (!share || !util || !order || !calls || !work)
        goto out;

    double share_sum = 0;
    for (int c = 0; c < nc; c++) {
        share[c] = rng_uniform(r, 0.7, 1.3);
        share_sum += share[c];
    }
    for (int c = 0; c < nc; c++)
        share[c] /= share_sum;

    /* The first floor(C/5) clusters of a random permutation are hot. */
    for (int c = 0; c < nc; c++)
        order[c] = c;
    for (int c = nc - 1; c > 0; c--) {
        int j = rng_below(r, c + 1);
        int tmp = order[c];
        order[c] = order[j];
        order[j] = tmp;
    }
    int n_hot = nc / HOT_EVERY;
    double hot_load = 0, cold_raw = 0;
    for (int i = 0; i < nc; i++) {
        int c = order[i];
        util[c] = i < n_hot ? rng_uniform(r, 1.2, 1.5) : rng_uniform(r, 0.5, 1.5);
        if (i < n_hot)
            hot_load += util[c] * share[c];
        else
            cold_raw += util[c] * share[c];
    }
    /* With at most C/5 hot clusters of share <= 1.3/(1.3 + 4 * 0.7) each
     * scaled, hot_load <= 0.48 < 0.6, so the scale stays positive. */
    double scale = (TARGET_UTILISATION - hot_load) / cold_raw;
    for (int i = n_hot; i < nc; i++)
        util[order[i]] *= scale;

    for (int k = 0; k < nk; k++) {
        double total = 100.0 * nc * rng_uniform(r, 0.5, 1.5);
        double class_rps = 0;
        for (int c = 0; c < nc; c++) {
            double rps =
                total * (util[c] * share[c] / TARGET_UTILISATION) * rng_uniform(r, 0.9, 1.1);
            rps = round_to(rps, 100);
            if (rps < 0.01)
                rps = 0.01;
            m->demand_rps[k * nc + c] = rps;
            class_rps += rps;
        }
        /* Count 1 and work 1 on every call: m_k(s) is the number of nodes
         * of class k that call s. */
        memset(calls, 0, (size_t)ns * sizeof(double));
        const gen_tree *t = &m->trees[k];
        for (int i = 0; i < t->n; i++)
            calls[t->service[i]] += 1.0;
        for (int s = 0; s < ns; s++)
            work[s] += calls[s] * class_rps;
    }

    double used_sum = 0;
    int n_used = 0;
    for (int s = 0; s < ns; s++)
        if (work[s] > 0) {
            used_sum += work[s];
            n_used++;
        }
    double unused_work = n_used > 0 ? used_sum / n_used : 100.0 * nc;
    for (int s = 0; s < ns; s++) {
        double w = work[s] > 0 ? work[s] : unused_work;
        for (int c = 0; c < nc; c++) {
            double cap = round_to(w * share[c] / TARGET_UTILISATION, 10);
            m->capacity_rps[s * nc + c] = cap < 0.1 ? 0.1 : cap;
        }
        m->service_time_ms[s] = round_to(rng_uniform(r, 1.0, 5.0), 100);
    }
    rv = 0;
out:
    free(share);
    free(util);
    free(order);
    free(calls);
    free(work);
    return rv;
}

/* Stream numbers for rng_init: one generator per concern. */
enum { STREAM_NETWORK = 1, STREAM_TREES = 2, STREAM_LOAD = 3 };

static int build_model(const slate_bench_params *p, gen_model *m)
{
    memset(m, 0, sizeof(*m));
    m->n_clusters = p->clusters;
    m->n_classes = p->classes;
    size_t nc = (size_t)p->clusters;
    m->rtt_ms = calloc(nc * nc, sizeof(double));
    m->demand_rps = calloc((size_t)p->classes * nc, sizeof(double));
    m->trees = calloc((size_t)p->classes, sizeof(gen_tree));
    if (!m->rtt_ms || !m->demand_rps || !m->trees)
        goto fail;

    rng r_net, r_trees, r_load;
    rng_init(&r_net, p->seed, STREAM_NETWORK);
    rng_init(&r_trees, p->seed, STREAM_TREES);
    rng_init(&r_load, p->seed, STREAM_LOAD);

    build_network(m, &r_net);
    int rv = p->shape == SLATE_BENCH_CATERPILLAR ? build_caterpillar(m, p->depth, &r_trees)
                                                 : build_random(m, p->services, p->nodes, &r_trees);
    if (rv != 0)
        goto fail;
    m->service_time_ms = calloc((size_t)m->n_services, sizeof(double));
    m->capacity_rps = calloc((size_t)m->n_services * nc, sizeof(double));
    if (!m->service_time_ms || !m->capacity_rps || build_load(m, &r_load) != 0)
        goto fail;
    return 0;
fail:
    model_cleanup(m);
    return -1;
}

/* ---- JSON ------------------------------------------------------------------ */

/* The put_* helpers accept a NULL |obj| (an earlier allocation failed) and
 * then only record the failure, so the builders below check once at the end. */
static void put_str(cJSON *obj, const char *key, const char *v, int *failed)
{
    if (cJSON_AddStringToObject(obj, key, v) == NULL)
        *failed = 1;
}

static void put_num(cJSON *obj, const char *key, double v, int *failed)
{
    if (cJSON_AddNumberToObject(obj, key, v) == NULL)
        *failed = 1;
}

/* Appends a new empty object to |arr|; returns it, or NULL (and records the
 * failure). */
static cJSON *push_object(cJSON *arr, int *failed)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || arr == NULL || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        *failed = 1;
        return NULL;
    }
    return o;
}

static void cluster_name(int c, char *buf)
{
    snprintf(buf, NAME_LEN, "cluster-%02d", c);
}

/* Fills |obj| with node |i| of class |k| and, recursively, its subtree
 * (depth is bounded by SLATE_TOPO_MAX_DEPTH). */
static void emit_node(const gen_model *m, int k, int i, cJSON *obj, int *failed)
{
    const gen_tree *t = &m->trees[k];
    char endpoint[NAME_LEN * 2];
    snprintf(endpoint, sizeof(endpoint), "/class-%d/node-%d", k, i);
    put_str(obj, "service", m->service_names[t->service[i]], failed);
    put_str(obj, "endpoint", endpoint, failed);
    if (t->parent[i] >= 0) {
        put_num(obj, "count", 1.0, failed);
        put_num(obj, "request_bytes", t->req_bytes[i], failed);
        put_num(obj, "response_bytes", t->resp_bytes[i], failed);
    }
    if (t->first_child[i] < 0)
        return;
    if (t->parallel[i] && cJSON_AddTrueToObject(obj, "parallel") == NULL)
        *failed = 1;
    cJSON *children = cJSON_AddArrayToObject(obj, "children");
    if (children == NULL) {
        *failed = 1;
        return;
    }
    for (int c = t->first_child[i]; c >= 0 && !*failed; c = t->next_sibling[c])
        emit_node(m, k, c, push_object(children, failed), failed);
}

/* Builds the whole document; returns owned cJSON or NULL when out of memory. */
static cJSON *model_to_json(const gen_model *m, const char *label)
{
    int failed = 0;
    int nc = m->n_clusters;
    char name[NAME_LEN], other[NAME_LEN];
    cJSON *root = cJSON_CreateObject();
    put_str(root, "name", label, &failed);

    cJSON *clusters = cJSON_AddArrayToObject(root, "clusters");
    for (int c = 0; c < nc && !failed; c++) {
        cluster_name(c, name);
        cJSON *s = cJSON_CreateString(name);
        if (s == NULL || clusters == NULL || !cJSON_AddItemToArray(clusters, s)) {
            cJSON_Delete(s);
            failed = 1;
        }
    }

    cJSON *network = cJSON_AddObjectToObject(root, "network");
    cJSON *rtt = cJSON_AddArrayToObject(network, "rtt_ms");
    cJSON *egress = cJSON_AddArrayToObject(network, "egress_usd_per_gb");
    double *row = malloc((size_t)nc * sizeof(double));
    if (row == NULL)
        failed = 1;
    for (int a = 0; a < nc && !failed; a++) {
        cJSON *r1 = cJSON_CreateDoubleArray(&m->rtt_ms[a * nc], nc);
        for (int b = 0; b < nc; b++)
            row[b] = a == b ? 0.0 : EGRESS_USD_PER_GB;
        cJSON *r2 = cJSON_CreateDoubleArray(row, nc);
        if (r1 == NULL || rtt == NULL || !cJSON_AddItemToArray(rtt, r1)) {
            cJSON_Delete(r1);
            failed = 1;
        }
        if (r2 == NULL || egress == NULL || !cJSON_AddItemToArray(egress, r2)) {
            cJSON_Delete(r2);
            failed = 1;
        }
    }
    free(row);

    cJSON *services = cJSON_AddArrayToObject(root, "services");
    for (int s = 0; s < m->n_services && !failed; s++) {
        cJSON *so = push_object(services, &failed);
        put_str(so, "name", m->service_names[s], &failed);
        put_num(so, "service_time_ms", m->service_time_ms[s], &failed);
        cJSON *deps = cJSON_AddArrayToObject(so, "deployments");
        for (int c = 0; c < nc && !failed; c++) {
            cJSON *d = push_object(deps, &failed);
            cluster_name(c, name);
            put_str(d, "cluster", name, &failed);
            put_num(d, "capacity_rps", m->capacity_rps[s * nc + c], &failed);
        }
    }

    cJSON *classes = cJSON_AddArrayToObject(root, "classes");
    for (int k = 0; k < m->n_classes && !failed; k++) {
        cJSON *ko = push_object(classes, &failed);
        snprintf(name, sizeof(name), "class-%d", k);
        put_str(ko, "name", name, &failed);
        cJSON *calls = cJSON_AddObjectToObject(ko, "calls");
        if (calls == NULL)
            failed = 1;
        else
            emit_node(m, k, 0, calls, &failed);
    }

    cJSON *demand = cJSON_AddArrayToObject(root, "demand");
    for (int k = 0; k < m->n_classes && !failed; k++) {
        snprintf(name, sizeof(name), "class-%d", k);
        for (int c = 0; c < nc && !failed; c++) {
            cJSON *d = push_object(demand, &failed);
            cluster_name(c, other);
            put_str(d, "class", name, &failed);
            put_str(d, "cluster", other, &failed);
            put_num(d, "rps", m->demand_rps[k * nc + c], &failed);
        }
    }

    if (failed || root == NULL || clusters == NULL || rtt == NULL || egress == NULL ||
        services == NULL || classes == NULL || demand == NULL) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int slate_bench_gen_json(const slate_bench_params *p, int pretty, char **out, size_t *out_len)
{
    if (slate_bench_params_check(p, NULL, 0) != 0)
        return SLATE_ERR_INVALID_ARG;

    gen_model m;
    if (build_model(p, &m) != 0)
        return SLATE_ERR_NOMEM;
    char label[128];
    slate_bench_params_label(p, label, sizeof(label));
    cJSON *doc = model_to_json(&m, label);
    model_cleanup(&m);
    if (doc == NULL)
        return SLATE_ERR_NOMEM;

    char *text = NULL;
    int rv = slate_json_print(doc, pretty, &text);
    cJSON_Delete(doc);
    if (rv != SLATE_OK)
        return rv;
    size_t len = strlen(text);
    if (len > SLATE_TOPO_MAX_BYTES) {
        free(text);
        return SLATE_ERR_TOO_LARGE;
    }
    *out = text;
    if (out_len != NULL)
        *out_len = len;
    return SLATE_OK;
}
