/* Envoy and Istio exports of routing tables; see export.h. */
#include "controller/export.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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

/*
 * The YAML writers below append without checking each call: slate_buf is
 * sticky on failure (common/buf.h), so one check of the detached text at
 * the end (finish) catches a failed allocation anywhere.
 */

/* Appends |s| as a YAML double-quoted scalar. */
static void quote(slate_buf *b, const char *s)
{
    slate_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            slate_buf_append(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            slate_buf_printf(b, "\\x%02x", *p);
        } else {
            slate_buf_append(b, (const char *)p, 1);
        }
    }
    slate_buf_append(b, "\"", 1);
}

/* Appends the formatted text as one YAML double-quoted scalar. */
static void quotef(slate_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void quotef(slate_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text == NULL) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    quote(b, text);
    free(text);
}

/* Appends |prefix|, then |s| YAML-quoted, then |suffix|. */
static void field(slate_buf *b, const char *prefix, const char *s, const char *suffix)
{
    slate_buf_append(b, prefix, strlen(prefix));
    quote(b, s);
    slate_buf_append(b, suffix, strlen(suffix));
}

/* Appends |s| with regex metacharacters escaped, between |prefix| and
 * |suffix| (both literal regex), YAML-quoted. */
static void quote_regex_literal(slate_buf *b, const char *prefix, const char *s, const char *suffix)
{
    slate_buf tmp;
    slate_buf_init(&tmp);
    slate_buf_append(&tmp, prefix, strlen(prefix));
    for (const char *p = s; *p; p++) {
        if (strchr(".^$|?*+()[]{}\\", *p))
            slate_buf_append(&tmp, "\\", 1);
        slate_buf_append(&tmp, p, 1);
    }
    slate_buf_append(&tmp, suffix, strlen(suffix));
    char *text = slate_buf_detach(&tmp);
    if (text == NULL) {
        b->failed = 1;
        return;
    }
    quote(b, text);
    free(text);
}

/* Resolves the names (-1 in |svc| for the ingress rules, service "") and
 * allocates |*iw|, the integer weights of one rule. */
static int begin(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                 const char *service, char **out, int *cl, int *svc, int **iw)
{
    if (!rt || !t || !cluster || !service || !out)
        return SLATE_ERR_INVALID_ARG;
    *cl = slate_topology_find_cluster(t, cluster);
    *svc = *service ? slate_topology_find_service(t, service) : -1;
    if (*cl < 0 || (*service && *svc < 0))
        return SLATE_ERR_NOT_FOUND;
    *iw = calloc(t->n_clusters + 1, sizeof(int));
    return *iw ? SLATE_OK : SLATE_ERR_NOMEM;
}

/* Hands |b|'s text to |*out|; NOMEM when any append failed. */
static int finish(slate_buf *b, int *iw, char **out)
{
    free(iw);
    char *text = slate_buf_detach(b);
    if (text == NULL)
        return SLATE_ERR_NOMEM;
    *out = text;
    return SLATE_OK;
}

/* Does rule |r| apply to calls from |svc| in |cl| to |dst|? */
static int selected(const slate_route_rule *r, int cl, int svc, size_t dst)
{
    return r->src_cluster == cl && r->src_service == svc && r->dst_service == (int)dst;
}

int slate_export_envoy(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out)
{
    int cl, svc, *iw;
    int rv = begin(rt, t, cluster, service, out, &cl, &svc, &iw);
    if (rv != SLATE_OK)
        return rv;
    size_t nc = t->n_clusters;
    slate_buf b;
    slate_buf_init(&b);
    const char *who = *service ? service : "ingress";
    slate_buf_printf(&b, "# slate routing for service %s in cluster %s, version %llu\nname: ",
                     *service ? service : "(ingress)", cluster, (unsigned long long)rt->version);
    quotef(&b, "slate.%s.%s", who, cluster);
    slate_buf_printf(&b, "\nvirtual_hosts:\n");
    /* One virtual host per destination service, in table order. */
    for (size_t dst = 0; dst < t->n_services; dst++) {
        const slate_route_rule *first = NULL;
        for (size_t i = 0; i < rt->n_rules && !first; i++)
            if (selected(&rt->rules[i], cl, svc, dst))
                first = &rt->rules[i];
        if (!first)
            continue;
        const char *dname = t->services[dst].name;
        field(&b, "- name: ", dname, "\n  domains:\n");
        field(&b, "  - ", dname, "\n  - ");
        quotef(&b, "%s:*", dname);
        slate_buf_printf(&b, "\n  routes:\n");
        /* Per class, then the catch-all with the first rule's weights. */
        for (size_t i = 0; i <= rt->n_rules; i++) {
            const slate_route_rule *r = i < rt->n_rules ? &rt->rules[i] : first;
            int catch_all = i == rt->n_rules;
            if (!catch_all && !selected(r, cl, svc, dst))
                continue;
            if (slate_export_integer_weights(r->weights, nc, 10000, iw) != SLATE_OK)
                continue;
            slate_buf_printf(&b, "  - match:\n      prefix: \"/\"\n");
            if (!catch_all) {
                slate_buf_printf(&b, "      headers:\n      - name: \"baggage\"\n"
                                     "        string_match:\n          contains: ");
                quotef(&b, "slate-class=%s", t->classes[r->klass].name);
                slate_buf_printf(&b, "\n");
            }
            slate_buf_printf(&b, "    route:\n      weighted_clusters:\n        clusters:\n");
            for (size_t c = 0; c < nc; c++) {
                if (iw[c] == 0)
                    continue;
                slate_buf_printf(&b, "        - name: ");
                quotef(&b, "%s.%s", dname, t->clusters[c]);
                slate_buf_printf(&b, "\n          weight: %d\n", iw[c]);
            }
        }
    }
    return finish(&b, iw, out);
}

int slate_export_istio(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out)
{
    int cl, svc, *iw;
    int rv = begin(rt, t, cluster, service, out, &cl, &svc, &iw);
    if (rv != SLATE_OK)
        return rv;
    size_t nc = t->n_clusters;
    slate_buf b;
    slate_buf_init(&b);
    int docs = 0;
    for (size_t dst = 0; dst < t->n_services; dst++) {
        int any = 0;
        for (size_t i = 0; i < rt->n_rules && !any; i++)
            any = selected(&rt->rules[i], cl, svc, dst);
        if (!any)
            continue;
        const slate_service *ds = &t->services[dst];
        if (docs++)
            slate_buf_printf(&b, "---\n");
        slate_buf_printf(&b, "apiVersion: \"networking.istio.io/v1beta1\"\n"
                             "kind: \"VirtualService\"\nmetadata:\n  name: ");
        quotef(&b, "%s-from-%s-%s", ds->name, *service ? service : "ingress", cluster);
        field(&b, "\nspec:\n  hosts:\n  - ", ds->name, "\n  http:\n");
        for (size_t i = 0; i < rt->n_rules; i++) {
            const slate_route_rule *r = &rt->rules[i];
            if (!selected(r, cl, svc, dst) ||
                slate_export_integer_weights(r->weights, nc, 100, iw) != SLATE_OK)
                continue;
            slate_buf_printf(&b, "  - match:\n    - sourceLabels:\n");
            if (*service)
                field(&b, "        app: ", service, "\n");
            field(&b, "        topology.kubernetes.io/region: ", cluster,
                  "\n      headers:\n        baggage:\n          regex: ");
            quote_regex_literal(&b, "(.*[,; ])?slate-class=", t->classes[r->klass].name,
                                "([,; ].*)?");
            slate_buf_printf(&b, "\n    route:\n");
            for (size_t c = 0; c < nc; c++) {
                if (iw[c] == 0)
                    continue;
                field(&b, "    - destination:\n        host: ", ds->name, "\n");
                field(&b, "        subset: ", t->clusters[c], "\n");
                slate_buf_printf(&b, "      weight: %d\n", iw[c]);
            }
        }
        slate_buf_printf(&b, "---\napiVersion: \"networking.istio.io/v1beta1\"\n"
                             "kind: \"DestinationRule\"\nmetadata:\n");
        field(&b, "  name: ", ds->name, "\n");
        field(&b, "spec:\n  host: ", ds->name, "\n  subsets:\n");
        for (size_t d = 0; d < ds->n_deployments; d++) {
            const char *cn = t->clusters[ds->deployments[d].cluster];
            field(&b, "  - name: ", cn, "\n");
            field(&b, "    labels:\n      topology.kubernetes.io/region: ", cn, "\n");
        }
    }
    return finish(&b, iw, out);
}
