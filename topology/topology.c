/*
 * Topology lifecycle (free, clone, equality), lookups, demand and request
 * classification. Loading and saving live in topology_json.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "topology/topology.h"
#include "topology/topology_int.h"

static void free_deployment(slate_deployment *dep)
{
    for (size_t i = 0; i < dep->n_endpoints; i++)
        free(dep->endpoints[i]);
    free(dep->endpoints);
}

static void free_class(slate_class *c)
{
    free(c->name);
    free(c->match_method);
    free(c->match_path_prefix);
    for (size_t v = 0; v < c->n_nodes; v++) {
        free(c->nodes[v].endpoint);
        free(c->nodes[v].children);
    }
    free(c->nodes);
}

/* Frees everything |t| owns, walking only the first n_* elements of each
 * array: the loader and clone set the counts so that a partly built
 * topology (zeroed slots included) frees cleanly. */
void slate_topology_free(slate_topology *t)
{
    if (t == NULL)
        return;
    free(t->name);
    for (size_t i = 0; i < t->n_clusters && t->clusters; i++)
        free(t->clusters[i]);
    free(t->clusters);
    free(t->rtt_ms);
    free(t->egress_usd_per_gb);
    for (size_t s = 0; s < t->n_services && t->services; s++) {
        slate_service *svc = &t->services[s];
        free(svc->name);
        for (size_t i = 0; i < svc->n_deployments && svc->deployments; i++)
            free_deployment(&svc->deployments[i]);
        free(svc->deployments);
    }
    free(t->services);
    for (size_t k = 0; k < t->n_classes && t->classes; k++)
        free_class(&t->classes[k]);
    free(t->classes);
    free(t->demand);
    free(t);
}

/* ---- clone ---- */

/* strdup that passes NULL through; sets |*failed| when allocation fails. */
static char *dup_or_null(const char *s, int *failed)
{
    if (s == NULL)
        return NULL;
    char *c = strdup(s);
    if (c == NULL)
        *failed = 1;
    return c;
}

/* Returns an owned copy of |n| elements of |size| bytes, NULL when n == 0. */
static void *dup_array(const void *src, size_t n, size_t size, int *failed)
{
    if (n == 0 || src == NULL)
        return NULL;
    void *p = malloc(n * size);
    if (p == NULL) {
        *failed = 1;
        return NULL;
    }
    memcpy(p, src, n * size);
    return p;
}

static int clone_services(const slate_topology *t, slate_topology *c)
{
    int failed = 0;
    if (t->n_services == 0)
        return SLATE_OK;
    c->services = calloc(t->n_services, sizeof(*c->services));
    if (c->services == NULL)
        return SLATE_ERR_NOMEM;
    c->n_services = t->n_services;
    for (size_t s = 0; s < t->n_services && !failed; s++) {
        const slate_service *src = &t->services[s];
        slate_service *dst = &c->services[s];
        dst->name = dup_or_null(src->name, &failed);
        dst->service_time_ms = src->service_time_ms;
        if (src->n_deployments == 0)
            continue;
        dst->deployments = calloc(src->n_deployments, sizeof(*dst->deployments));
        if (dst->deployments == NULL)
            return SLATE_ERR_NOMEM;
        dst->n_deployments = src->n_deployments;
        for (size_t i = 0; i < src->n_deployments && !failed; i++) {
            const slate_deployment *sd = &src->deployments[i];
            slate_deployment *dd = &dst->deployments[i];
            dd->cluster = sd->cluster;
            dd->capacity_rps = sd->capacity_rps;
            if (sd->n_endpoints == 0)
                continue;
            dd->endpoints = calloc(sd->n_endpoints, sizeof(*dd->endpoints));
            if (dd->endpoints == NULL)
                return SLATE_ERR_NOMEM;
            dd->n_endpoints = sd->n_endpoints;
            for (size_t e = 0; e < sd->n_endpoints; e++)
                dd->endpoints[e] = dup_or_null(sd->endpoints[e], &failed);
        }
    }
    return failed ? SLATE_ERR_NOMEM : SLATE_OK;
}

static int clone_class(const slate_class *src, slate_class *dst)
{
    int failed = 0;
    dst->name = dup_or_null(src->name, &failed);
    dst->match_method = dup_or_null(src->match_method, &failed);
    dst->match_path_prefix = dup_or_null(src->match_path_prefix, &failed);
    if (failed)
        return SLATE_ERR_NOMEM;
    if (src->n_nodes == 0)
        return SLATE_OK;
    dst->nodes = calloc(src->n_nodes, sizeof(*dst->nodes));
    if (dst->nodes == NULL)
        return SLATE_ERR_NOMEM;
    dst->n_nodes = src->n_nodes;
    for (size_t v = 0; v < src->n_nodes && !failed; v++) {
        slate_call_node *d = &dst->nodes[v];
        *d = src->nodes[v];
        /* The struct copy aliased the owned members; replace them. */
        d->endpoint = NULL;
        d->children = NULL;
        d->endpoint = dup_or_null(src->nodes[v].endpoint, &failed);
        d->children = dup_array(src->nodes[v].children, src->nodes[v].n_children,
                                sizeof(*d->children), &failed);
        if (d->children == NULL)
            d->n_children = 0;
    }
    return failed ? SLATE_ERR_NOMEM : SLATE_OK;
}

int slate_topology_clone(const slate_topology *t, slate_topology **out)
{
    if (t == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    int failed = 0, rv = SLATE_ERR_NOMEM;
    size_t cells = t->n_clusters * t->n_clusters;
    slate_topology *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SLATE_ERR_NOMEM;
    c->name = dup_or_null(t->name, &failed);
    if (t->n_clusters > 0) {
        c->clusters = calloc(t->n_clusters, sizeof(*c->clusters));
        if (c->clusters == NULL)
            goto fail;
        c->n_clusters = t->n_clusters;
        for (size_t i = 0; i < t->n_clusters; i++)
            c->clusters[i] = dup_or_null(t->clusters[i], &failed);
    }
    c->rtt_ms = dup_array(t->rtt_ms, cells, sizeof(double), &failed);
    c->egress_usd_per_gb = dup_array(t->egress_usd_per_gb, cells, sizeof(double), &failed);
    if (failed)
        goto fail;
    rv = clone_services(t, c);
    if (rv != SLATE_OK)
        goto fail;
    rv = SLATE_ERR_NOMEM;
    if (t->n_classes > 0) {
        c->classes = calloc(t->n_classes, sizeof(*c->classes));
        if (c->classes == NULL)
            goto fail;
        c->n_classes = t->n_classes;
        for (size_t k = 0; k < t->n_classes; k++) {
            rv = clone_class(&t->classes[k], &c->classes[k]);
            if (rv != SLATE_OK)
                goto fail;
        }
    }
    c->demand = dup_array(t->demand, t->n_demand, sizeof(*t->demand), &failed);
    if (failed) {
        rv = SLATE_ERR_NOMEM;
        goto fail;
    }
    c->n_demand = t->n_demand;
    *out = c;
    return SLATE_OK;
fail:
    slate_topology_free(c);
    return rv;
}

/* ---- equality ---- */

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int doubles_eq(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return 0;
    }
    return 1;
}

static int services_eq(const slate_service *a, const slate_service *b)
{
    if (!str_eq(a->name, b->name) || a->service_time_ms != b->service_time_ms ||
        a->n_deployments != b->n_deployments)
        return 0;
    for (size_t i = 0; i < a->n_deployments; i++) {
        const slate_deployment *x = &a->deployments[i], *y = &b->deployments[i];
        if (x->cluster != y->cluster || x->capacity_rps != y->capacity_rps ||
            x->n_endpoints != y->n_endpoints)
            return 0;
        for (size_t e = 0; e < x->n_endpoints; e++) {
            if (!str_eq(x->endpoints[e], y->endpoints[e]))
                return 0;
        }
    }
    return 1;
}

static int classes_eq(const slate_class *a, const slate_class *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->match_method, b->match_method) ||
        !str_eq(a->match_path_prefix, b->match_path_prefix) || a->n_nodes != b->n_nodes)
        return 0;
    for (size_t v = 0; v < a->n_nodes; v++) {
        const slate_call_node *x = &a->nodes[v], *y = &b->nodes[v];
        if (x->service != y->service || !str_eq(x->endpoint, y->endpoint) ||
            x->parent != y->parent || x->depth != y->depth || x->count != y->count ||
            x->request_bytes != y->request_bytes || x->response_bytes != y->response_bytes ||
            x->work != y->work || x->parallel != y->parallel || x->n_children != y->n_children)
            return 0;
        for (size_t i = 0; i < x->n_children; i++) {
            if (x->children[i] != y->children[i])
                return 0;
        }
    }
    return 1;
}

int slate_topology_equal(const slate_topology *a, const slate_topology *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (!str_eq(a->name, b->name) || a->n_clusters != b->n_clusters ||
        a->n_services != b->n_services || a->n_classes != b->n_classes ||
        a->n_demand != b->n_demand)
        return 0;
    size_t cells = a->n_clusters * a->n_clusters;
    for (size_t i = 0; i < a->n_clusters; i++) {
        if (!str_eq(a->clusters[i], b->clusters[i]))
            return 0;
    }
    if (!doubles_eq(a->rtt_ms, b->rtt_ms, cells) ||
        !doubles_eq(a->egress_usd_per_gb, b->egress_usd_per_gb, cells))
        return 0;
    for (size_t s = 0; s < a->n_services; s++) {
        if (!services_eq(&a->services[s], &b->services[s]))
            return 0;
    }
    for (size_t k = 0; k < a->n_classes; k++) {
        if (!classes_eq(&a->classes[k], &b->classes[k]))
            return 0;
    }
    for (size_t i = 0; i < a->n_demand; i++) {
        const slate_demand *x = &a->demand[i], *y = &b->demand[i];
        if (x->klass != y->klass || x->cluster != y->cluster || x->rps != y->rps)
            return 0;
    }
    return 1;
}

/* ---- lookups ---- */

int slate_topology_find_cluster(const slate_topology *t, const char *name)
{
    if (t == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < t->n_clusters; i++) {
        if (str_eq(t->clusters[i], name))
            return (int)i;
    }
    return -1;
}

int slate_topology_find_service(const slate_topology *t, const char *name)
{
    if (t == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < t->n_services; i++) {
        if (str_eq(t->services[i].name, name))
            return (int)i;
    }
    return -1;
}

int slate_topology_find_class(const slate_topology *t, const char *name)
{
    if (t == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < t->n_classes; i++) {
        if (str_eq(t->classes[i].name, name))
            return (int)i;
    }
    return -1;
}

const slate_deployment *slate_topology_deployment(const slate_topology *t, int service, int cluster)
{
    if (t == NULL || service < 0 || (size_t)service >= t->n_services)
        return NULL;
    const slate_service *s = &t->services[service];
    for (size_t i = 0; i < s->n_deployments; i++) {
        if (s->deployments[i].cluster == cluster)
            return &s->deployments[i];
    }
    return NULL;
}

/* ---- demand ---- */

double slate_topology_demand_rps(const slate_topology *t, int klass, int cluster)
{
    if (t == NULL)
        return 0;
    for (size_t i = 0; i < t->n_demand; i++) {
        if (t->demand[i].klass == klass && t->demand[i].cluster == cluster)
            return t->demand[i].rps;
    }
    return 0;
}

int slate_topology_set_demand(slate_topology *t, int klass, int cluster, double rps)
{
    if (t == NULL || klass < 0 || (size_t)klass >= t->n_classes || cluster < 0 ||
        (size_t)cluster >= t->n_clusters || !isfinite(rps) || rps < 0 || rps > SLATE_TOPO_MAX_RPS)
        return SLATE_ERR_INVALID_ARG;
    for (size_t i = 0; i < t->n_demand; i++) {
        if (t->demand[i].klass == klass && t->demand[i].cluster == cluster) {
            t->demand[i].rps = rps;
            return SLATE_OK;
        }
    }
    /* A topology past the limit could not be saved and loaded again. */
    if (t->n_demand >= SLATE_TOPO_MAX_DEMAND)
        return SLATE_ERR_INVALID_ARG;
    slate_demand *d = realloc(t->demand, (t->n_demand + 1) * sizeof(*d));
    if (d == NULL)
        return SLATE_ERR_NOMEM;
    d[t->n_demand] = (slate_demand){.klass = klass, .cluster = cluster, .rps = rps};
    t->demand = d;
    t->n_demand++;
    return SLATE_OK;
}

/* ---- classification ---- */

int slate_topology_classify(const slate_topology *t, int ingress_service, const char *method,
                            const char *path)
{
    if (t == NULL)
        return -1;
    int best = -1;
    size_t best_len = 0;
    for (size_t k = 0; k < t->n_classes; k++) {
        const slate_class *c = &t->classes[k];
        if (c->n_nodes == 0)
            continue;
        if (ingress_service >= 0 && c->nodes[0].service != ingress_service)
            continue;
        /* HTTP methods are case-sensitive (RFC 9110 section 9.1). */
        if (c->match_method && (method == NULL || strcmp(c->match_method, method) != 0))
            continue;
        size_t len = 0;
        if (c->match_path_prefix) {
            len = strlen(c->match_path_prefix);
            if (path == NULL || strncmp(path, c->match_path_prefix, len) != 0)
                continue;
        }
        if (best < 0 || len > best_len) {
            best = (int)k;
            best_len = len;
        }
    }
    return best;
}
