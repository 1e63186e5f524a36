/*
 * Routing tables from a solution (see routes.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

void slate_route_default_weights(const slate_topology *t, int src_cluster, int dst_service,
                                 double *weights)
{
    size_t nc = t->n_clusters;
    for (size_t b = 0; b < nc; b++)
        weights[b] = 0;
    if (dst_service < 0 || (size_t)dst_service >= t->n_services)
        return;
    const slate_service *svc = &t->services[dst_service];
    int best = -1;
    double best_rtt = INFINITY;
    for (size_t d = 0; d < svc->n_deployments; d++) {
        int b = svc->deployments[d].cluster;
        if (b == src_cluster) {
            best = b;
            break;
        }
        double r = src_cluster >= 0 && (size_t)src_cluster < nc
                       ? slate_topology_rtt_ms(t, src_cluster, b)
                       : 0;
        /* Lowest cluster index wins a tie, whatever the deployment order. */
        if (r < best_rtt || (r == best_rtt && b < best)) {
            best = b;
            best_rtt = r;
        }
    }
    if (best >= 0)
        weights[best] = 1.0;
}

/* One (key, node) pair while collecting; merged by key after sorting. */
typedef struct key_node {
    int klass, src_service, src_cluster, dst_service;
    int node; /* the call-tree node whose flows feed the key */
} key_node;

static int cmp_key(const key_node *x, const key_node *y)
{
    if (x->klass != y->klass)
        return x->klass < y->klass ? -1 : 1;
    if (x->src_service != y->src_service)
        return x->src_service < y->src_service ? -1 : 1;
    if (x->src_cluster != y->src_cluster)
        return x->src_cluster < y->src_cluster ? -1 : 1;
    if (x->dst_service != y->dst_service)
        return x->dst_service < y->dst_service ? -1 : 1;
    return 0;
}

static int cmp_key_node(const void *a, const void *b)
{
    int c = cmp_key(a, b);
    if (c != 0)
        return c;
    const key_node *x = a, *y = b;
    return x->node < y->node ? -1 : x->node > y->node;
}

void slate_route_table_free(slate_route_table *rt)
{
    if (rt == NULL)
        return;
    for (size_t i = 0; i < rt->n_rules; i++)
        free(rt->rules[i].weights);
    free(rt->rules);
    free(rt);
}

/* Returns 1 when |sol| has the shape of |t| (same sizes and call trees). */
static int solution_fits(const slate_topology *t, const slate_solution *sol)
{
    if (sol->n_classes != t->n_classes || sol->n_clusters != t->n_clusters ||
        sol->n_services != t->n_services)
        return 0;
    for (size_t k = 0; k < t->n_classes; k++)
        if (sol->n_nodes[k] != t->classes[k].n_nodes)
            return 0;
    return 1;
}

int slate_route_table_build(const slate_topology *t, const slate_solution *sol,
                            slate_route_table **out)
{
    if (t == NULL || out == NULL || (sol != NULL && !solution_fits(t, sol)))
        return SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    int rv = SLATE_ERR_NOMEM;
    key_node *keys = NULL;
    slate_route_table *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return SLATE_ERR_NOMEM;
    rt->n_clusters = nc;

    /* Every key the trees can produce: each node from each of its sources. */
    size_t n_keys = 0;
    for (size_t k = 0; k < t->n_classes; k++)
        n_keys += t->classes[k].n_nodes * nc;
    keys = malloc((n_keys + 1) * sizeof(*keys));
    if (keys == NULL)
        goto fail;
    n_keys = 0;
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            int src_service = n->parent < 0 ? -1 : c->nodes[n->parent].service;
            for (size_t a = 0; a < nc; a++) {
                if (src_service >= 0 && slate_topology_deployment(t, src_service, (int)a) == NULL)
                    continue;
                keys[n_keys++] = (key_node){(int)k, src_service, (int)a, n->service, (int)v};
            }
        }
    }
    qsort(keys, n_keys, sizeof(*keys), cmp_key_node);

    rt->rules = calloc(n_keys + 1, sizeof(*rt->rules));
    if (rt->rules == NULL)
        goto fail;
    for (size_t i = 0; i < n_keys;) {
        size_t j = i;
        slate_route_rule *r = &rt->rules[rt->n_rules];
        r->weights = calloc(nc + 1, sizeof(double));
        if (r->weights == NULL)
            goto fail;
        rt->n_rules++;
        r->klass = keys[i].klass;
        r->src_service = keys[i].src_service;
        r->src_cluster = keys[i].src_cluster;
        r->dst_service = keys[i].dst_service;
        /* Sum the flows of every node sharing the key, then normalise. */
        for (; j < n_keys && cmp_key(&keys[i], &keys[j]) == 0; j++) {
            if (sol == NULL)
                continue;
            for (size_t b = 0; b < nc; b++) {
                double x = slate_solution_flow(sol, keys[j].klass, keys[j].node,
                                               keys[j].src_cluster, (int)b);
                r->weights[b] += x;
                r->flow_rps += x;
            }
        }
        if (r->flow_rps < SLATE_FLOW_EPS) {
            r->flow_rps = 0;
            r->fallback = 1;
            slate_route_default_weights(t, r->src_cluster, r->dst_service, r->weights);
        } else {
            for (size_t b = 0; b < nc; b++)
                r->weights[b] /= r->flow_rps;
        }
        i = j;
    }
    free(keys);
    *out = rt;
    return SLATE_OK;
fail:
    free(keys);
    slate_route_table_free(rt);
    return rv;
}

const slate_route_rule *slate_route_table_find(const slate_route_table *rt, int klass,
                                               int src_service, int src_cluster, int dst_service)
{
    if (rt == NULL)
        return NULL;
    key_node want = {klass, src_service, src_cluster, dst_service, 0};
    size_t lo = 0, hi = rt->n_rules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const slate_route_rule *r = &rt->rules[mid];
        key_node have = {r->klass, r->src_service, r->src_cluster, r->dst_service, 0};
        int c = cmp_key(&have, &want);
        if (c == 0)
            return r;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int slate_route_table_to_json(const slate_route_table *rt, const slate_topology *t,
                              const char *cluster, const char *service, int pretty, char **out)
{
    if (rt == NULL || t == NULL || out == NULL || rt->n_clusters != t->n_clusters)
        return SLATE_ERR_INVALID_ARG;
    int want_cluster = -1, want_service = -2; /* -2: any source service */
    if (cluster != NULL) {
        want_cluster = slate_topology_find_cluster(t, cluster);
        if (want_cluster < 0)
            return SLATE_ERR_NOT_FOUND;
    }
    if (service != NULL) {
        /* "" names the ingress gateway (src_service -1). */
        want_service = service[0] == '\0' ? -1 : slate_topology_find_service(t, service);
        if (want_service == -1 && service[0] != '\0')
            return SLATE_ERR_NOT_FOUND;
    }
    int rv = SLATE_ERR_NOMEM;
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return SLATE_ERR_NOMEM;
    cJSON *rules = NULL;
    if (cJSON_AddNumberToObject(root, "version", (double)rt->version) == NULL ||
        (rules = cJSON_AddArrayToObject(root, "rules")) == NULL)
        goto out;
    for (size_t i = 0; i < rt->n_rules; i++) {
        const slate_route_rule *r = &rt->rules[i];
        if (want_cluster >= 0 && r->src_cluster != want_cluster)
            continue;
        if (want_service != -2 && r->src_service != want_service)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            goto out;
        cJSON_AddItemToArray(rules, o);
        cJSON *w = NULL;
        if (cJSON_AddStringToObject(o, "class", t->classes[r->klass].name) == NULL ||
            (r->src_service < 0
                 ? cJSON_AddNullToObject(o, "src_service")
                 : cJSON_AddStringToObject(o, "src_service", t->services[r->src_service].name)) ==
                NULL ||
            cJSON_AddStringToObject(o, "src_cluster", t->clusters[r->src_cluster]) == NULL ||
            cJSON_AddStringToObject(o, "dst_service", t->services[r->dst_service].name) == NULL ||
            (w = cJSON_AddObjectToObject(o, "weights")) == NULL)
            goto out;
        for (size_t b = 0; b < rt->n_clusters; b++)
            if (r->weights[b] > 0 &&
                slate_json_add_number(w, t->clusters[b], r->weights[b]) == NULL)
                goto out;
        if (slate_json_add_number(o, "flow_rps", r->flow_rps) == NULL ||
            cJSON_AddBoolToObject(o, "fallback", r->fallback) == NULL)
            goto out;
    }
    rv = slate_json_print(root, pretty, out);
out:
    cJSON_Delete(root);
    return rv;
}

double slate_solution_node_inflow(const slate_topology *t, const slate_solution *sol, int k, int v, int a)
{
    const slate_call_node *n = &t->classes[k].nodes[v];
    if (n->parent < 0)
        return slate_topology_demand_rps(t, k, a);
    size_t nc = t->n_clusters;
    double in = 0;
    for (size_t src = 0; src < nc; src++)
        in += sol->flows[k][((size_t)n->parent * nc + src) * nc + (size_t)a];
    return n->count * in;
}

int slate_route_table_flows(const slate_topology *t, const slate_route_table *rt, slate_solution *sol)
{
    if (t == NULL || sol == NULL || sol->n_classes != t->n_classes ||
        sol->n_clusters != t->n_clusters || sol->n_services != t->n_services ||
        (rt != NULL && rt->n_clusters != t->n_clusters))
        return SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    for (size_t k = 0; k < t->n_classes; k++)
        if (sol->n_nodes[k] != t->classes[k].n_nodes)
            return SLATE_ERR_INVALID_ARG;
    double w[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        memset(sol->flows[k], 0, c->n_nodes * nc * nc * sizeof(double));
        /* Pre-order: a parent's flows are complete before its children's. */
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            int src_service = n->parent < 0 ? -1 : c->nodes[n->parent].service;
            for (size_t a = 0; a < nc; a++) {
                double f = slate_solution_node_inflow(t, sol, (int)k, (int)v, (int)a);
                if (!(f > 0))
                    continue;
                const slate_route_rule *r =
                    slate_route_table_find(rt, (int)k, src_service, (int)a, n->service);
                /* Only weights on deployed clusters count; a rule that has
                 * none there routes by the default policy. */
                double total = 0;
                for (size_t b = 0; b < nc; b++) {
                    w[b] = r != NULL && slate_topology_deployment(t, n->service, (int)b) != NULL
                               ? fmax(0.0, r->weights[b])
                               : 0;
                    total += w[b];
                }
                if (!(total > 0)) {
                    slate_route_default_weights(t, (int)a, n->service, w);
                    total = 1;
                }
                for (size_t b = 0; b < nc; b++)
                    sol->flows[k][(v * nc + a) * nc + b] = f * w[b] / total;
            }
        }
    }
    return SLATE_OK;
}
