/* The sidecar's routing table; see route_table.h. */
#include "sidecar/route_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"

typedef struct rule {
    int klass, dst;
    double *cum; /* owned; n_clusters cumulative weights, last = 1 */
} rule;

typedef struct ep_list {
    int service, cluster;
    char **addrs; /* owned */
    size_t n;
} ep_list;

struct slate_sc_table {
    uint64_t version;
    size_t nc;
    rule *rules;
    size_t n_rules;
    ep_list *eps;
    size_t n_eps;
    size_t skipped;
};

void slate_sc_table_free(slate_sc_table *rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i < rt->n_rules; i++)
        free(rt->rules[i].cum);
    for (size_t i = 0; i < rt->n_eps; i++) {
        for (size_t j = 0; j < rt->eps[i].n; j++)
            free(rt->eps[i].addrs[j]);
        free(rt->eps[i].addrs);
    }
    free(rt->rules);
    free(rt->eps);
    free(rt);
}

uint64_t slate_sc_table_version(const slate_sc_table *rt)
{
    return rt ? rt->version : 0;
}

size_t slate_sc_table_skipped(const slate_sc_table *rt)
{
    return rt ? rt->skipped : 0;
}

static int name_of(const cJSON *o, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = cJSON_IsString(v) ? v->valuestring : NULL;
    return *out != NULL;
}

int slate_sc_table_parse(const slate_topology *t, int service, int cluster, const char *text,
                         size_t len, slate_sc_table **out, slate_diag *d)
{
    if (!t || !out || cluster < 0 || (size_t)cluster >= t->n_clusters)
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_RT_MAX_BYTES, &root, d);
    if (rv != SLATE_OK)
        return rv;
    const int E = SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    slate_sc_table *rt = calloc(1, sizeof(*rt));
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "endpoints");
    if (!rt) {
        rv = SLATE_ERR_NOMEM;
        goto fail;
    }
    rt->nc = nc;
    if (!cJSON_IsNumber(ver) || ver->valuedouble < 0 || ver->valuedouble > 9e15 ||
        !cJSON_IsArray(rules)) {
        slate_diag_add(d, E, "", "expected {\"version\": N, \"rules\": [...]}");
        rv = E;
        goto fail;
    }
    rt->version = (uint64_t)ver->valuedouble;
    rt->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(rule));
    if (!rt->rules) {
        rv = SLATE_ERR_NOMEM;
        goto fail;
    }
    size_t i = 0;
    const cJSON *r;
    char path[64];
    cJSON_ArrayForEach(r, rules)
    {
        snprintf(path, sizeof(path), "rules[%zu]", i++);
        const char *k, *ss, *sc, *ds;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(r, "weights");
        int src_ingress = cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "src_service"));
        if (!name_of(r, "class", &k) || !name_of(r, "dst_service", &ds) ||
            !name_of(r, "src_cluster", &sc) || (!src_ingress && !name_of(r, "src_service", &ss)) ||
            !cJSON_IsObject(w)) {
            slate_diag_add(d, E, path, "a rule needs class, src_service, src_cluster, dst_service and weights");
            rv = E;
            goto fail;
        }
        int klass = slate_topology_find_class(t, k), dst = slate_topology_find_service(t, ds);
        int src = src_ingress ? -1 : slate_topology_find_service(t, ss);
        if (klass < 0 || dst < 0 || (!src_ingress && src < 0)) {
            rt->skipped++;
            continue;
        }
        if (src != service || slate_topology_find_cluster(t, sc) != cluster)
            continue; /* another sidecar's rule */
        double *wv = calloc(nc, sizeof(double));
        if (!wv) {
            rv = SLATE_ERR_NOMEM;
            goto fail;
        }
        double sum = 0;
        const cJSON *e;
        int bad = 0;
        cJSON_ArrayForEach(e, w)
        {
            int b = slate_topology_find_cluster(t, e->string);
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || e->valuedouble < 0) {
                bad = 1;
                break;
            }
            if (b < 0 || !slate_topology_deployment(t, dst, b)) {
                rt->skipped++;
                continue;
            }
            wv[b] = e->valuedouble;
            sum += e->valuedouble;
        }
        if (bad || !(sum > 0)) {
            free(wv);
            slate_diag_add(d, E, path, "weights must be finite, >= 0 and not all 0");
            rv = E;
            goto fail;
        }
        double acc = 0;
        for (size_t b = 0; b < nc; b++) {
            acc += wv[b] / sum;
            wv[b] = acc;
        }
        wv[nc - 1] = 1.0; /* exact top, whatever the rounding */
        rt->rules[rt->n_rules++] = (rule){.klass = klass, .dst = dst, .cum = wv};
    }
    if (cJSON_IsObject(eps)) {
        const cJSON *svc;
        size_t total = 0;
        cJSON_ArrayForEach(svc, eps) total += (size_t)cJSON_GetArraySize(svc);
        rt->eps = calloc(total + 1, sizeof(ep_list));
        if (!rt->eps) {
            rv = SLATE_ERR_NOMEM;
            goto fail;
        }
        cJSON_ArrayForEach(svc, eps)
        {
            int s = slate_topology_find_service(t, svc->string);
            const cJSON *cl;
            cJSON_ArrayForEach(cl, svc)
            {
                int b = slate_topology_find_cluster(t, cl->string);
                if (s < 0 || b < 0 || !cJSON_IsArray(cl)) {
                    rt->skipped++;
                    continue;
                }
                ep_list *l = &rt->eps[rt->n_eps];
                l->service = s;
                l->cluster = b;
                size_t n = (size_t)cJSON_GetArraySize(cl);
                if (n > SLATE_RT_MAX_ENDPOINTS)
                    n = SLATE_RT_MAX_ENDPOINTS;
                l->addrs = calloc(n + 1, sizeof(char *));
                if (!l->addrs) {
                    rv = SLATE_ERR_NOMEM;
                    goto fail;
                }
                rt->n_eps++;
                const cJSON *a;
                cJSON_ArrayForEach(a, cl)
                {
                    if (l->n == n)
                        break;
                    if (!cJSON_IsString(a) || strlen(a->valuestring) > SLATE_TOPO_MAX_NAME ||
                        !strchr(a->valuestring, ':')) {
                        rt->skipped++;
                        continue;
                    }
                    if (!(l->addrs[l->n] = strdup(a->valuestring))) {
                        rv = SLATE_ERR_NOMEM;
                        goto fail;
                    }
                    l->n++;
                }
            }
        }
    }
    cJSON_Delete(root);
    *out = rt;
    return SLATE_OK;
fail:
    cJSON_Delete(root);
    slate_sc_table_free(rt);
    return rv;
}

/* Local when deployed here, else the nearest deployed cluster by RTT. */
static int default_cluster(const slate_topology *t, int cluster, int dst)
{
    if (slate_topology_deployment(t, dst, cluster))
        return cluster;
    int best = -1;
    double best_rtt = INFINITY;
    const slate_service *s = &t->services[dst];
    for (size_t i = 0; i < s->n_deployments; i++) {
        int b = s->deployments[i].cluster;
        double rtt = slate_topology_rtt_ms(t, cluster, b);
        if (rtt < best_rtt || (rtt == best_rtt && b < best)) {
            best = b;
            best_rtt = rtt;
        }
    }
    return best;
}

int slate_sc_pick_cluster(const slate_sc_table *rt, const slate_topology *t, int cluster,
                          int klass, int dst_service, double u01)
{
    if (dst_service < 0 || (size_t)dst_service >= t->n_services)
        return -1;
    for (size_t i = 0; rt && i < rt->n_rules; i++) {
        const rule *r = &rt->rules[i];
        if (r->klass != klass || r->dst != dst_service)
            continue;
        for (size_t b = 0; b < rt->nc; b++)
            if (u01 < r->cum[b] && (b == 0 || r->cum[b] > r->cum[b - 1]))
                return (int)b;
        return (int)rt->nc - 1;
    }
    return default_cluster(t, cluster, dst_service);
}

size_t slate_sc_endpoints(const slate_sc_table *rt, const slate_topology *t, int dst_service,
                          int cluster, const char *const **out)
{
    for (size_t i = 0; rt && i < rt->n_eps; i++)
        if (rt->eps[i].service == dst_service && rt->eps[i].cluster == cluster && rt->eps[i].n) {
            *out = (const char *const *)rt->eps[i].addrs;
            return rt->eps[i].n;
        }
    const slate_deployment *dep = slate_topology_deployment(t, dst_service, cluster);
    if (!dep || !dep->n_endpoints)
        return 0;
    *out = (const char *const *)dep->endpoints;
    return dep->n_endpoints;
}
