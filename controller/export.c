/* Envoy and Istio exports of routing tables; see export.h. */
#include "controller/export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

int slate_export_integer_weights(const double *w, size_t n, int total, int *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return SLATE_ERR_INVALID_ARG;
        sum += w[i];
    }
    if (!(sum > 0) || total <= 0)
        return SLATE_ERR_INVALID_ARG;
    int given = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (int)floor(w[i] / sum * total);
        given += out[i];
    }
    /* Hand out what rounding down left, largest remainder first. */
    while (given < total) {
        size_t best = n;
        double best_rem = -1;
        for (size_t i = 0; i < n; i++) {
            double rem = w[i] / sum * total - out[i];
            if (w[i] > 0 && rem > best_rem) {
                best = i;
                best_rem = rem;
            }
        }
        if (best == n)
            return SLATE_ERR_INVALID_ARG;
        out[best]++;
        given++;
    }
    return SLATE_OK;
}

/* Appends |s| as a YAML double-quoted scalar. */
static int quote(slate_buf *b, const char *s)
{
    int rv = slate_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; rv == SLATE_OK && *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            rv = slate_buf_append(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            rv = slate_buf_printf(b, "\\x%02x", *p);
        } else {
            rv = slate_buf_append(b, (const char *)p, 1);
        }
    }
    return rv == SLATE_OK ? slate_buf_append(b, "\"", 1) : rv;
}

/* Appends |s| with regex metacharacters escaped, then YAML-quoted. */
static int quote_regex_literal(slate_buf *b, const char *prefix, const char *s, const char *suffix)
{
    slate_buf tmp;
    slate_buf_init(&tmp);
    int rv = slate_buf_append(&tmp, prefix, strlen(prefix));
    for (const char *p = s; rv == SLATE_OK && *p; p++) {
        if (strchr(".^$|?*+()[]{}\\", *p))
            rv = slate_buf_append(&tmp, "\\", 1);
        if (rv == SLATE_OK)
            rv = slate_buf_append(&tmp, p, 1);
    }
    if (rv == SLATE_OK)
        rv = slate_buf_append(&tmp, suffix, strlen(suffix));
    char *text = rv == SLATE_OK ? slate_buf_detach(&tmp) : NULL;
    slate_buf_cleanup(&tmp);
    if (!text)
        return SLATE_ERR_NOMEM;
    rv = quote(b, text);
    free(text);
    return rv;
}

/* Resolves the names; -1 in |svc| for the ingress rules (service ""). */
static int resolve(const slate_topology *t, const char *cluster, const char *service, int *cl,
                   int *svc)
{
    if (!t || !cluster || !service)
        return SLATE_ERR_INVALID_ARG;
    *cl = slate_topology_find_cluster(t, cluster);
    *svc = *service ? slate_topology_find_service(t, service) : -1;
    if (*cl < 0 || (*service && *svc < 0))
        return SLATE_ERR_NOT_FOUND;
    return SLATE_OK;
}

static int selected(const slate_route_rule *r, int cl, int svc)
{
    return r->src_cluster == cl && r->src_service == svc;
}

int slate_export_envoy(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out)
{
    int cl, svc;
    int rv = resolve(t, cluster, service, &cl, &svc);
    if (rv != SLATE_OK || !rt || !out)
        return rv != SLATE_OK ? rv : SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    int *iw = calloc(nc + 1, sizeof(int));
    if (!iw)
        return SLATE_ERR_NOMEM;
    slate_buf b;
    slate_buf_init(&b);
    rv = slate_buf_printf(&b, "# slate routing for service %s in cluster %s, version %llu\nname: ",
                          *service ? service : "(ingress)", cluster,
                          (unsigned long long)rt->version);
    slate_buf name;
    slate_buf_init(&name);
    if (rv == SLATE_OK)
        rv = slate_buf_printf(&name, "slate.%s.%s", *service ? service : "ingress", cluster);
    char *nm = rv == SLATE_OK ? slate_buf_detach(&name) : NULL;
    slate_buf_cleanup(&name);
    rv = nm ? quote(&b, nm) : SLATE_ERR_NOMEM;
    free(nm);
    if (rv == SLATE_OK)
        rv = slate_buf_printf(&b, "\nvirtual_hosts:\n");
    /* One virtual host per destination service, in table order. */
    for (size_t dst = 0; rv == SLATE_OK && dst < t->n_services; dst++) {
        const slate_route_rule *first = NULL;
        for (size_t i = 0; i < rt->n_rules && !first; i++)
            if (selected(&rt->rules[i], cl, svc) && rt->rules[i].dst_service == (int)dst)
                first = &rt->rules[i];
        if (!first)
            continue;
        const char *dname = t->services[dst].name;
        rv = slate_buf_printf(&b, "- name: ");
        if (rv == SLATE_OK)
            rv = quote(&b, dname);
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\n  domains:\n  - ");
        if (rv == SLATE_OK)
            rv = quote(&b, dname);
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\n  - ");
        if (rv == SLATE_OK) {
            slate_buf tmp;
            slate_buf_init(&tmp);
            rv = slate_buf_printf(&tmp, "%s:*", dname);
            char *x = rv == SLATE_OK ? slate_buf_detach(&tmp) : NULL;
            slate_buf_cleanup(&tmp);
            rv = x ? quote(&b, x) : SLATE_ERR_NOMEM;
            free(x);
        }
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\n  routes:\n");
        /* Per class, then the catch-all with the first rule's weights. */
        for (size_t i = 0; rv == SLATE_OK && i <= rt->n_rules; i++) {
            const slate_route_rule *r = i < rt->n_rules ? &rt->rules[i] : first;
            int catch_all = i == rt->n_rules;
            if (!catch_all && !(selected(r, cl, svc) && r->dst_service == (int)dst))
                continue;
            if (slate_export_integer_weights(r->weights, nc, 10000, iw) != SLATE_OK)
                continue;
            rv = slate_buf_printf(&b, "  - match:\n      prefix: \"/\"\n");
            if (rv == SLATE_OK && !catch_all) {
                rv = slate_buf_printf(&b, "      headers:\n      - name: \"baggage\"\n"
                                          "        string_match:\n          contains: ");
                if (rv == SLATE_OK) {
                    slate_buf tmp;
                    slate_buf_init(&tmp);
                    rv = slate_buf_printf(&tmp, "slate-class=%s", t->classes[r->klass].name);
                    char *x = rv == SLATE_OK ? slate_buf_detach(&tmp) : NULL;
                    slate_buf_cleanup(&tmp);
                    rv = x ? quote(&b, x) : SLATE_ERR_NOMEM;
                    free(x);
                }
                if (rv == SLATE_OK)
                    rv = slate_buf_printf(&b, "\n");
            }
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "    route:\n      weighted_clusters:\n        clusters:\n");
            for (size_t c = 0; rv == SLATE_OK && c < nc; c++) {
                if (iw[c] == 0)
                    continue;
                slate_buf tmp;
                slate_buf_init(&tmp);
                rv = slate_buf_printf(&tmp, "%s.%s", dname, t->clusters[c]);
                char *x = rv == SLATE_OK ? slate_buf_detach(&tmp) : NULL;
                slate_buf_cleanup(&tmp);
                rv = x ? slate_buf_printf(&b, "        - name: ") : SLATE_ERR_NOMEM;
                if (rv == SLATE_OK)
                    rv = quote(&b, x);
                free(x);
                if (rv == SLATE_OK)
                    rv = slate_buf_printf(&b, "\n          weight: %d\n", iw[c]);
            }
        }
    }
    free(iw);
    char *text = rv == SLATE_OK ? slate_buf_detach(&b) : NULL;
    slate_buf_cleanup(&b);
    if (!text)
        return rv != SLATE_OK ? rv : SLATE_ERR_NOMEM;
    *out = text;
    return SLATE_OK;
}

int slate_export_istio(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out)
{
    int cl, svc;
    int rv = resolve(t, cluster, service, &cl, &svc);
    if (rv != SLATE_OK || !rt || !out)
        return rv != SLATE_OK ? rv : SLATE_ERR_INVALID_ARG;
    size_t nc = t->n_clusters;
    int *iw = calloc(nc + 1, sizeof(int));
    if (!iw)
        return SLATE_ERR_NOMEM;
    slate_buf b;
    slate_buf_init(&b);
    int docs = 0;
    for (size_t dst = 0; rv == SLATE_OK && dst < t->n_services; dst++) {
        int any = 0;
        for (size_t i = 0; i < rt->n_rules && !any; i++)
            any = selected(&rt->rules[i], cl, svc) && rt->rules[i].dst_service == (int)dst;
        if (!any)
            continue;
        const slate_service *ds = &t->services[dst];
        if (docs++)
            rv = slate_buf_printf(&b, "---\n");
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "apiVersion: \"networking.istio.io/v1beta1\"\n"
                                      "kind: \"VirtualService\"\nmetadata:\n  name: ");
        if (rv == SLATE_OK) {
            slate_buf tmp;
            slate_buf_init(&tmp);
            rv = slate_buf_printf(&tmp, "%s-from-%s-%s", ds->name, *service ? service : "ingress",
                                  cluster);
            char *x = rv == SLATE_OK ? slate_buf_detach(&tmp) : NULL;
            slate_buf_cleanup(&tmp);
            rv = x ? quote(&b, x) : SLATE_ERR_NOMEM;
            free(x);
        }
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\nspec:\n  hosts:\n  - ");
        if (rv == SLATE_OK)
            rv = quote(&b, ds->name);
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\n  http:\n");
        for (size_t i = 0; rv == SLATE_OK && i < rt->n_rules; i++) {
            const slate_route_rule *r = &rt->rules[i];
            if (!selected(r, cl, svc) || r->dst_service != (int)dst ||
                slate_export_integer_weights(r->weights, nc, 100, iw) != SLATE_OK)
                continue;
            rv = slate_buf_printf(&b, "  - match:\n    - sourceLabels:\n");
            if (rv == SLATE_OK && *service) {
                rv = slate_buf_printf(&b, "        app: ");
                if (rv == SLATE_OK)
                    rv = quote(&b, service);
                if (rv == SLATE_OK)
                    rv = slate_buf_printf(&b, "\n");
            }
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "        topology.kubernetes.io/region: ");
            if (rv == SLATE_OK)
                rv = quote(&b, cluster);
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\n      headers:\n        baggage:\n          regex: ");
            if (rv == SLATE_OK)
                rv = quote_regex_literal(&b, "(.*[,; ])?slate-class=", t->classes[r->klass].name,
                                         "([,; ].*)?");
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\n    route:\n");
            for (size_t c = 0; rv == SLATE_OK && c < nc; c++) {
                if (iw[c] == 0)
                    continue;
                rv = slate_buf_printf(&b, "    - destination:\n        host: ");
                if (rv == SLATE_OK)
                    rv = quote(&b, ds->name);
                if (rv == SLATE_OK)
                    rv = slate_buf_printf(&b, "\n        subset: ");
                if (rv == SLATE_OK)
                    rv = quote(&b, t->clusters[c]);
                if (rv == SLATE_OK)
                    rv = slate_buf_printf(&b, "\n      weight: %d\n", iw[c]);
            }
        }
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "---\napiVersion: \"networking.istio.io/v1beta1\"\n"
                                      "kind: \"DestinationRule\"\nmetadata:\n  name: ");
        if (rv == SLATE_OK)
            rv = quote(&b, ds->name);
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\nspec:\n  host: ");
        if (rv == SLATE_OK)
            rv = quote(&b, ds->name);
        if (rv == SLATE_OK)
            rv = slate_buf_printf(&b, "\n  subsets:\n");
        for (size_t d = 0; rv == SLATE_OK && d < ds->n_deployments; d++) {
            const char *cn = t->clusters[ds->deployments[d].cluster];
            rv = slate_buf_printf(&b, "  - name: ");
            if (rv == SLATE_OK)
                rv = quote(&b, cn);
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\n    labels:\n      topology.kubernetes.io/region: ");
            if (rv == SLATE_OK)
                rv = quote(&b, cn);
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\n");
        }
    }
    free(iw);
    char *text = rv == SLATE_OK ? slate_buf_detach(&b) : NULL;
    slate_buf_cleanup(&b);
    if (!text)
        return rv != SLATE_OK ? rv : SLATE_ERR_NOMEM;
    *out = text;
    return SLATE_OK;
}
