/*
 * Writing a topology back to JSON, in the format topology.h documents, so
 * that loading the output gives an equal topology (numbers are printed with
 * as many digits as it takes to read back exactly).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "topology/topology.h"
#include "topology/topology_int.h"

static cJSON *matrix_to_json(const double *v, size_t n)
{
    cJSON *rows = cJSON_CreateArray();
    int ok = rows != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *row = cJSON_CreateArray();
        ok = slate_json_attach(rows, NULL, row);
        for (size_t j = 0; ok && j < n; j++)
            ok = slate_json_attach(row, NULL, slate_json_exact_number(v[i * n + j]));
    }
    if (!ok) {
        cJSON_Delete(rows);
        return NULL;
    }
    return rows;
}

static cJSON *node_to_json(const slate_topology *t, const slate_class *c, int v)
{
    const slate_call_node *nd = &c->nodes[v];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    int ok = slate_json_attach(o, "service", cJSON_CreateString(t->services[nd->service].name));
    if (ok && nd->endpoint && nd->endpoint[0])
        ok = slate_json_attach(o, "endpoint", cJSON_CreateString(nd->endpoint));
    if (ok && nd->parent >= 0)
        ok = slate_json_attach(o, "count", slate_json_exact_number(nd->count));
    ok = ok && slate_json_attach(o, "work", slate_json_exact_number(nd->work));
    ok = ok && slate_json_attach(o, "request_bytes", slate_json_exact_number(nd->request_bytes));
    ok = ok && slate_json_attach(o, "response_bytes", slate_json_exact_number(nd->response_bytes));
    if (ok && nd->parallel)
        ok = slate_json_attach(o, "parallel", cJSON_CreateTrue());
    if (ok && nd->n_children > 0) {
        cJSON *kids = cJSON_CreateArray();
        ok = slate_json_attach(o, "children", kids);
        for (size_t i = 0; ok && i < nd->n_children; i++)
            ok = slate_json_attach(kids, NULL, node_to_json(t, c, nd->children[i]));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *service_to_json(const slate_topology *t, const slate_service *s)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    int ok = slate_json_attach(o, "name", cJSON_CreateString(s->name)) &&
             slate_json_attach(o, "service_time_ms", slate_json_exact_number(s->service_time_ms));
    cJSON *deps = ok ? cJSON_CreateArray() : NULL;
    ok = ok && slate_json_attach(o, "deployments", deps);
    for (size_t i = 0; ok && i < s->n_deployments; i++) {
        const slate_deployment *dep = &s->deployments[i];
        cJSON *d = cJSON_CreateObject();
        ok = slate_json_attach(deps, NULL, d) &&
             slate_json_attach(d, "cluster", cJSON_CreateString(t->clusters[dep->cluster])) &&
             slate_json_attach(d, "capacity_rps", slate_json_exact_number(dep->capacity_rps));
        if (ok && dep->n_endpoints > 0) {
            cJSON *eps = cJSON_CreateArray();
            ok = slate_json_attach(d, "endpoints", eps);
            for (size_t e = 0; ok && e < dep->n_endpoints; e++)
                ok = slate_json_attach(eps, NULL, cJSON_CreateString(dep->endpoints[e]));
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *class_to_json(const slate_topology *t, const slate_class *c)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    int ok = slate_json_attach(o, "name", cJSON_CreateString(c->name));
    if (ok && (c->match_method || c->match_path_prefix)) {
        cJSON *match = cJSON_CreateObject();
        ok = slate_json_attach(o, "match", match);
        if (ok && c->match_method)
            ok = slate_json_attach(match, "method", cJSON_CreateString(c->match_method));
        if (ok && c->match_path_prefix)
            ok = slate_json_attach(match, "path_prefix", cJSON_CreateString(c->match_path_prefix));
    }
    if (ok && c->n_nodes > 0)
        ok = slate_json_attach(o, "calls", node_to_json(t, c, 0));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *topology_to_cjson(const slate_topology *t)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    int ok = 1;
    if (t->name && t->name[0])
        ok = slate_json_attach(root, "name", cJSON_CreateString(t->name));
    cJSON *clusters = ok ? cJSON_CreateArray() : NULL;
    ok = ok && slate_json_attach(root, "clusters", clusters);
    for (size_t i = 0; ok && i < t->n_clusters; i++)
        ok = slate_json_attach(clusters, NULL, cJSON_CreateString(t->clusters[i]));
    cJSON *net = ok ? cJSON_CreateObject() : NULL;
    ok = ok && slate_json_attach(root, "network", net) &&
         slate_json_attach(net, "rtt_ms", matrix_to_json(t->rtt_ms, t->n_clusters)) &&
         slate_json_attach(net, "egress_usd_per_gb", matrix_to_json(t->egress_usd_per_gb, t->n_clusters));
    cJSON *services = ok ? cJSON_CreateArray() : NULL;
    ok = ok && slate_json_attach(root, "services", services);
    for (size_t i = 0; ok && i < t->n_services; i++)
        ok = slate_json_attach(services, NULL, service_to_json(t, &t->services[i]));
    cJSON *classes = ok ? cJSON_CreateArray() : NULL;
    ok = ok && slate_json_attach(root, "classes", classes);
    for (size_t i = 0; ok && i < t->n_classes; i++)
        ok = slate_json_attach(classes, NULL, class_to_json(t, &t->classes[i]));
    if (ok && t->n_demand > 0) {
        cJSON *demand = cJSON_CreateArray();
        ok = slate_json_attach(root, "demand", demand);
        for (size_t i = 0; ok && i < t->n_demand; i++) {
            const slate_demand *e = &t->demand[i];
            cJSON *o = cJSON_CreateObject();
            ok = slate_json_attach(demand, NULL, o) &&
                 slate_json_attach(o, "class", cJSON_CreateString(t->classes[e->klass].name)) &&
                 slate_json_attach(o, "cluster", cJSON_CreateString(t->clusters[e->cluster])) &&
                 slate_json_attach(o, "rps", slate_json_exact_number(e->rps));
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int slate_topology_to_json(const slate_topology *t, int pretty, char **out)
{
    if (t == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = topology_to_cjson(t);
    if (root == NULL)
        return SLATE_ERR_NOMEM;
    int rv = slate_json_print(root, pretty, out);
    cJSON_Delete(root);
    return rv;
}
