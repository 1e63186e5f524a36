/* The JSON report of one solve; see solution_json.h. */
#include "controller/solution_json.h"

#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"

int slate_solution_to_json(const slate_topology *t, const slate_solution *s, const char *status,
                           const char *policy, int pretty, char **out)
{
    if (!t || !s || !status || !policy || !out)
        return SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    int rv = SLATE_ERR_NOMEM;
    cJSON *root = cJSON_CreateObject(), *lp, *classes, *deps;
    if (!root)
        return SLATE_ERR_NOMEM;
    if (!cJSON_AddStringToObject(root, "status", status) ||
        !cJSON_AddStringToObject(root, "policy", policy) ||
        !cJSON_AddStringToObject(root, "topology", t->name) ||
        !(lp = cJSON_AddObjectToObject(root, "lp")) ||
        !cJSON_AddNumberToObject(lp, "rows", s->rows) ||
        !cJSON_AddNumberToObject(lp, "cols", s->cols) ||
        !cJSON_AddNumberToObject(lp, "nonzeros", s->nonzeros) ||
        !cJSON_AddNumberToObject(lp, "iterations", s->iterations) ||
        !slate_json_add_number(lp, "solve_ms", s->solve_ms) ||
        !cJSON_AddBoolToObject(lp, "warm", s->warm) ||
        !slate_json_add_number(lp, "objective", s->objective) ||
        !slate_json_add_number(root, "latency_ms_rps", s->latency_ms_rps) ||
        !slate_json_add_number(root, "egress_usd_per_hour", s->egress_usd_per_hour) ||
        !slate_json_add_number(root, "overload_total", s->overload_total) ||
        !(classes = cJSON_AddArrayToObject(root, "classes")) ||
        !(deps = cJSON_AddArrayToObject(root, "deployments")))
        goto out;
    for (size_t k = 0; k < t->n_classes; k++)
        for (size_t a = 0; a < nc; a++) {
            if (isnan(s->class_latency_ms[k * nc + a]))
                continue;
            cJSON *o = cJSON_CreateObject();
            if (!slate_json_attach(classes, NULL, o) ||
                !cJSON_AddStringToObject(o, "class", t->classes[k].name) ||
                !cJSON_AddStringToObject(o, "cluster", t->clusters[a]) ||
                !slate_json_add_number(o, "rps", slate_topology_demand_rps(t, (int)k, (int)a)) ||
                !slate_json_add_number(o, "latency_ms", s->class_latency_ms[k * nc + a]) ||
                !slate_json_add_number(o, "latency_cp_ms", s->class_latency_cp_ms[k * nc + a]))
                goto out;
        }
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t d = 0; d < t->services[sv].n_deployments; d++) {
            const slate_deployment *dp = &t->services[sv].deployments[d];
            size_t i = sv * nc + (size_t)dp->cluster;
            cJSON *o = cJSON_CreateObject();
            if (!slate_json_attach(deps, NULL, o) ||
                !cJSON_AddStringToObject(o, "service", t->services[sv].name) ||
                !cJSON_AddStringToObject(o, "cluster", t->clusters[dp->cluster]) ||
                !slate_json_add_number(o, "load_rps", s->load_rps[i]) ||
                !slate_json_add_number(o, "capacity_rps", dp->capacity_rps) ||
                !slate_json_add_number(o, "utilization", s->utilization[i]) ||
                !slate_json_add_number(o, "overload_rps", s->overload_rps[i]))
                goto out;
        }
    rv = slate_json_print(root, pretty, out);
out:
    cJSON_Delete(root);
    return rv;
}
