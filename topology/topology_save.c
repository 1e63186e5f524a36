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

/* Adds |item| to object |parent| under |key| (or to array |parent| when |key|
 * is NULL). Takes ownership of |item| also on failure. Returns 1, or 0 when
 * out of memory (including |item| == NULL from a failed create). */
static int attach(cJSON *parent, const char *key, cJSON *item)
{
    if (item == NULL)
        return 0;
    if (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

/*
 * Returns a number item that prints as the shortest decimal reading back as
 * exactly |v|. cJSON's own printer accepts 15 digits when they come within an
 * epsilon of the value, which would break load(to_json(t)) == t. |v| is
 * finite (the loader refuses anything else).
 */
static cJSON *exact_number(double v)
{
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(text);
}

static cJSON *matrix_to_json(const double *v, size_t n)
{
    cJSON *rows = cJSON_CreateArray();
    int ok = rows != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *row = cJSON_CreateArray();
        ok = attach(rows, NULL, row);
        for (size_t j = 0; ok && j < n; j++)
            ok = attach(row, NULL, exact_number(v[i * n + j]));
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
    int ok = attach(o, "service", cJSON_CreateString(t->services[nd->service].name));
    if (ok && nd->endpoint && nd->endpoint[0])
        ok = attach(o, "endpoint", cJSON_CreateString(nd->endpoint));
    if (ok && nd->parent >= 0)
        ok = attach(o, "count", exact_number(nd->count));
    ok = ok && attach(o, "work", exact_number(nd->work));
    ok = ok && attach(o, "request_bytes", exact_number(nd->request_bytes));
    ok = ok && attach(o, "response_bytes", exact_number(nd->response_bytes));
    if (ok && nd->parallel)
        ok = attach(o, "parallel", cJSON_CreateTrue());
    if (ok && nd->n_children > 0) {
        cJSON *kids = cJSON_CreateArray();
        ok = attach(o, "children", kids);
        for (size_t i = 0; ok && i < nd->n_children; i++)
            ok = attach(kids, NULL, node_to_json(t, c, nd->children[i]));
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
    int ok = attach(o, "name", cJSON_CreateString(s->name)) &&
             attach(o, "service_time_ms", exact_number(s->service_time_ms));
    cJSON *deps = ok ? cJSON_CreateArray() : NULL;
    ok = ok && attach(o, "deployments", deps);
    for (size_t i = 0; ok && i < s->n_deployments; i++) {
        const slate_deployment *dep = &s->deployments[i];
        cJSON *d = cJSON_CreateObject();
        ok = attach(deps, NULL, d) &&
             attach(d, "cluster", cJSON_CreateString(t->clusters[dep->cluster])) &&
             attach(d, "capacity_rps", exact_number(dep->capacity_rps));
        if (ok && dep->n_endpoints > 0) {
            cJSON *eps = cJSON_CreateArray();
            ok = attach(d, "endpoints", eps);
            for (size_t e = 0; ok && e < dep->n_endpoints; e++)
                ok = attach(eps, NULL, cJSON_CreateString(dep->endpoints[e]));
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
    int ok = attach(o, "name", cJSON_CreateString(c->name));
    if (ok && (c->match_method || c->match_path_prefix)) {
        cJSON *match = cJSON_CreateObject();
        ok = attach(o, "match", match);
        if (ok && c->match_method)
            ok = attach(match, "method", cJSON_CreateString(c->match_method));
        if (ok && c->match_path_prefix)
            ok = attach(match, "path_prefix", cJSON_CreateString(c->match_path_prefix));
    }
    if (ok && c->n_nodes > 0)
        ok = attach(o, "calls", node_to_json(t, c, 0));
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
        ok = attach(root, "name", cJSON_CreateString(t->name));
    cJSON *clusters = ok ? cJSON_CreateArray() : NULL;
    ok = ok && attach(root, "clusters", clusters);
    for (size_t i = 0; ok && i < t->n_clusters; i++)
        ok = attach(clusters, NULL, cJSON_CreateString(t->clusters[i]));
    cJSON *net = ok ? cJSON_CreateObject() : NULL;
    ok = ok && attach(root, "network", net) &&
         attach(net, "rtt_ms", matrix_to_json(t->rtt_ms, t->n_clusters)) &&
         attach(net, "egress_usd_per_gb", matrix_to_json(t->egress_usd_per_gb, t->n_clusters));
    cJSON *services = ok ? cJSON_CreateArray() : NULL;
    ok = ok && attach(root, "services", services);
    for (size_t i = 0; ok && i < t->n_services; i++)
        ok = attach(services, NULL, service_to_json(t, &t->services[i]));
    cJSON *classes = ok ? cJSON_CreateArray() : NULL;
    ok = ok && attach(root, "classes", classes);
    for (size_t i = 0; ok && i < t->n_classes; i++)
        ok = attach(classes, NULL, class_to_json(t, &t->classes[i]));
    if (ok && t->n_demand > 0) {
        cJSON *demand = cJSON_CreateArray();
        ok = attach(root, "demand", demand);
        for (size_t i = 0; ok && i < t->n_demand; i++) {
            const slate_demand *e = &t->demand[i];
            cJSON *o = cJSON_CreateObject();
            ok = attach(demand, NULL, o) &&
                 attach(o, "class", cJSON_CreateString(t->classes[e->klass].name)) &&
                 attach(o, "cluster", cJSON_CreateString(t->clusters[e->cluster])) &&
                 attach(o, "rps", exact_number(e->rps));
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
