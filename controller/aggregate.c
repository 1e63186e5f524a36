/* Report aggregation; see aggregate.h. */
#include "controller/aggregate.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

typedef struct instance {
    int service, cluster;
    char *name;    /* owned */
    char *address; /* owned, may be NULL */
    int64_t last_ms;
    /* This period's reports of the instance: rates come from the time its
     * own windows cover, not from the period's length, which a window may
     * straddle (one more or one fewer report per period would otherwise
     * swing every rate by a whole window). */
    double window_s;
    double work;     /* sum of count * work */
    double *ingress; /* owned, n_classes counts */
    int takes_ingress; /* has reported ingress arrivals (serves its cluster's ingress) */
} instance;

struct slate_aggregator {
    const slate_topology *t; /* borrowed */
    int64_t ttl_ms;
    pthread_mutex_t mu;
    size_t nk, ns, nc;
    /* ---- the current period, guarded by mu ---- */
    int64_t period_start_ms; /* -1 until the first take or add */
    uint64_t reports;
    uint64_t *ingress;     /* nk * nc */
    uint64_t **node_in;    /* nk arrays of n_nodes */
    uint64_t **edge_out;   /* nk arrays of n_nodes: calls into node v */
    double *work_sum;      /* ns * nc: sum of count * work */
    uint64_t *self_sum_us; /* ns * nc */
    uint64_t *self_n;      /* ns * nc */
    uint64_t *req, *err;   /* ns * nc */
    slate_hist *class_lat; /* nk */
    /* ---- instances, guarded by mu ---- */
    instance *inst;
    size_t n_inst, cap_inst;
};

static void free_rows(void **rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
}

void slate_observation_free(slate_observation *o)
{
    if (!o)
        return;
    free(o->demand_rps);
    free_rows((void **)o->calls_per_req, o->n_classes);
    free_rows((void **)o->parent_requests, o->n_classes);
    free(o->load_work_rps);
    free(o->self_ms);
    free(o->mean_work);
    free(o->requests);
    free(o->errors);
    free(o->class_latency);
    free(o);
}

/* Allocates nk per-node arrays of |size|-byte elements. */
static void **node_rows(const slate_topology *t, size_t size)
{
    void **rows = calloc(t->n_classes + 1, sizeof(void *));
    if (!rows)
        return NULL;
    for (size_t k = 0; k < t->n_classes; k++) {
        rows[k] = calloc(t->classes[k].n_nodes + 1, size);
        if (!rows[k]) {
            free_rows(rows, t->n_classes);
            return NULL;
        }
    }
    return rows;
}

static int alloc_period(slate_aggregator *a)
{
    size_t nsc = a->ns * a->nc + 1;
    a->ingress = calloc(a->nk * a->nc + 1, sizeof(uint64_t));
    a->node_in = (uint64_t **)node_rows(a->t, sizeof(uint64_t));
    a->edge_out = (uint64_t **)node_rows(a->t, sizeof(uint64_t));
    a->work_sum = calloc(nsc, sizeof(double));
    a->self_sum_us = calloc(nsc, sizeof(uint64_t));
    a->self_n = calloc(nsc, sizeof(uint64_t));
    a->req = calloc(nsc, sizeof(uint64_t));
    a->err = calloc(nsc, sizeof(uint64_t));
    a->class_lat = calloc(a->nk + 1, sizeof(slate_hist));
    return a->ingress && a->node_in && a->edge_out && a->work_sum && a->self_sum_us &&
                   a->self_n && a->req && a->err && a->class_lat
               ? SLATE_OK
               : SLATE_ERR_NOMEM;
}

static void free_period(slate_aggregator *a)
{
    free(a->ingress);
    free_rows((void **)a->node_in, a->nk);
    free_rows((void **)a->edge_out, a->nk);
    free(a->work_sum);
    free(a->self_sum_us);
    free(a->self_n);
    free(a->req);
    free(a->err);
    free(a->class_lat);
    a->ingress = NULL;
    a->node_in = a->edge_out = NULL;
    a->work_sum = NULL;
    a->self_sum_us = a->self_n = a->req = a->err = NULL;
    a->class_lat = NULL;
}

int slate_aggregator_new(const slate_topology *t, int64_t instance_ttl_ms, slate_aggregator **out)
{
    if (!t || !out || instance_ttl_ms <= 0)
        return SLATE_ERR_INVALID_ARG;
    slate_aggregator *a = calloc(1, sizeof(*a));
    if (!a)
        return SLATE_ERR_NOMEM;
    a->t = t;
    a->ttl_ms = instance_ttl_ms;
    a->nk = t->n_classes;
    a->ns = t->n_services;
    a->nc = t->n_clusters;
    a->period_start_ms = -1;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return SLATE_ERR_NOMEM;
    }
    if (alloc_period(a) != SLATE_OK) {
        slate_aggregator_free(a);
        return SLATE_ERR_NOMEM;
    }
    *out = a;
    return SLATE_OK;
}

void slate_aggregator_free(slate_aggregator *a)
{
    if (!a)
        return;
    free_period(a);
    for (size_t i = 0; i < a->n_inst; i++) {
        free(a->inst[i].name);
        free(a->inst[i].address);
        free(a->inst[i].ingress);
    }
    free(a->inst);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* The node of class |k| served by |s|: its index, -1 if none, -2 if several. */
static int unique_node(const slate_class *c, int s)
{
    int found = -1;
    for (size_t v = 0; v < c->n_nodes; v++)
        if (c->nodes[v].service == s) {
            if (found >= 0)
                return -2;
            found = (int)v;
        }
    return found;
}

/* The node whose parent is served by |s| and itself by |d|; -1 / -2 as above. */
static int unique_edge(const slate_class *c, int s, int d)
{
    int found = -1;
    for (size_t v = 1; v < c->n_nodes; v++) {
        const slate_call_node *n = &c->nodes[v];
        if (n->service == d && n->parent >= 0 && c->nodes[n->parent].service == s) {
            if (found >= 0)
                return -2;
            found = (int)v;
        }
    }
    return found;
}

/* Work per request of service |s| in class |k|: the node's work when
 * unique, the mean over its nodes otherwise, 1 if it serves none. */
static double work_of(const slate_class *c, int s)
{
    double sum = 0;
    int n = 0;
    for (size_t v = 0; v < c->n_nodes; v++)
        if (c->nodes[v].service == s) {
            sum += c->nodes[v].work;
            n++;
        }
    return n ? sum / n : 1.0;
}

/* Checks every name in |r|; records each problem. Returns SLATE_OK or E. */
static int validate(const slate_topology *t, const slate_report *r, int *svc, int *cl,
                    slate_diag *d)
{
    int rv = SLATE_OK;
    *svc = slate_topology_find_service(t, r->service);
    *cl = slate_topology_find_cluster(t, r->cluster);
    if (*svc < 0) {
        slate_diag_add(d, SLATE_ERR_REPORT_INVALID, "service", "unknown service \"%s\"", r->service);
        rv = SLATE_ERR_REPORT_INVALID;
    }
    if (*cl < 0) {
        slate_diag_add(d, SLATE_ERR_REPORT_INVALID, "cluster", "unknown cluster \"%s\"", r->cluster);
        rv = SLATE_ERR_REPORT_INVALID;
    }
    if (rv == SLATE_OK && !slate_topology_deployment(t, *svc, *cl)) {
        slate_diag_add(d, SLATE_ERR_REPORT_INVALID, "cluster",
                       "service \"%s\" is not deployed in cluster \"%s\"", r->service, r->cluster);
        rv = SLATE_ERR_REPORT_INVALID;
    }
    char path[64];
    for (size_t i = 0; i < r->n_inbound; i++)
        if (slate_topology_find_class(t, r->inbound[i].klass) < 0) {
            snprintf(path, sizeof(path), "inbound[%zu].class", i);
            slate_diag_add(d, SLATE_ERR_REPORT_INVALID, path, "unknown class \"%s\"",
                           r->inbound[i].klass);
            rv = SLATE_ERR_REPORT_INVALID;
        }
    for (size_t i = 0; i < r->n_outbound; i++) {
        const slate_report_outbound *o = &r->outbound[i];
        struct {
            const char *member, *kind, *name;
            int ok;
        } checks[] = {
            {"class", "class", o->klass, slate_topology_find_class(t, o->klass) >= 0},
            {"dst_service", "service", o->dst_service,
             slate_topology_find_service(t, o->dst_service) >= 0},
            {"dst_cluster", "cluster", o->dst_cluster,
             slate_topology_find_cluster(t, o->dst_cluster) >= 0},
        };
        for (size_t c = 0; c < 3; c++)
            if (!checks[c].ok) {
                snprintf(path, sizeof(path), "outbound[%zu].%s", i, checks[c].member);
                slate_diag_add(d, SLATE_ERR_REPORT_INVALID, path, "unknown %s \"%s\"",
                               checks[c].kind, checks[c].name);
                rv = SLATE_ERR_REPORT_INVALID;
            }
    }
    return rv;
}

/* Records the instance as alive and returns it in |*out|; SLATE_OK,
 * TOO_LARGE or NOMEM. */
static int touch_instance(slate_aggregator *a, const slate_report *r, int svc, int cl,
                          int64_t now_ms, instance **out)
{
    for (size_t i = 0; i < a->n_inst; i++) {
        instance *x = &a->inst[i];
        if (x->service == svc && x->cluster == cl && strcmp(x->name, r->instance) == 0) {
            x->last_ms = now_ms;
            *out = x;
            if (r->address && (!x->address || strcmp(x->address, r->address) != 0)) {
                char *addr = strdup(r->address);
                if (!addr)
                    return SLATE_ERR_NOMEM;
                free(x->address);
                x->address = addr;
            }
            return SLATE_OK;
        }
    }
    if (a->n_inst == SLATE_AGG_MAX_INSTANCES)
        return SLATE_ERR_TOO_LARGE;
    if (a->n_inst == a->cap_inst) {
        size_t cap = a->cap_inst ? 2 * a->cap_inst : 16;
        instance *g = realloc(a->inst, cap * sizeof(*g));
        if (!g)
            return SLATE_ERR_NOMEM;
        a->inst = g;
        a->cap_inst = cap;
    }
    instance *x = &a->inst[a->n_inst];
    memset(x, 0, sizeof(*x));
    x->service = svc;
    x->cluster = cl;
    x->last_ms = now_ms;
    x->name = strdup(r->instance);
    x->address = r->address ? strdup(r->address) : NULL;
    x->ingress = calloc(a->nk + 1, sizeof(double));
    if (!x->name || (r->address && !x->address) || !x->ingress) {
        free(x->name);
        free(x->address);
        free(x->ingress);
        return SLATE_ERR_NOMEM;
    }
    a->n_inst++;
    *out = x;
    return SLATE_OK;
}

static void age_out(slate_aggregator *a, int64_t now_ms)
{
    size_t w = 0;
    for (size_t i = 0; i < a->n_inst; i++) {
        if (now_ms - a->inst[i].last_ms > a->ttl_ms) {
            free(a->inst[i].name);
            free(a->inst[i].address);
            free(a->inst[i].ingress);
        } else {
            a->inst[w++] = a->inst[i];
        }
    }
    a->n_inst = w;
}

int slate_aggregator_add(slate_aggregator *a, const slate_report *r, int64_t now_ms,
                         slate_diag *d)
{
    if (!a || !r)
        return SLATE_ERR_INVALID_ARG;
    int svc, cl;
    int rv = validate(a->t, r, &svc, &cl, d);
    if (rv != SLATE_OK)
        return rv;
    const slate_topology *t = a->t;
    size_t nc = a->nc, sc = (size_t)svc * nc + (size_t)cl;
    pthread_mutex_lock(&a->mu);
    instance *inst = NULL;
    rv = touch_instance(a, r, svc, cl, now_ms, &inst);
    if (rv != SLATE_OK)
        goto out;
    inst->window_s += (double)(r->end_ms - r->start_ms) / 1e3;
    if (a->period_start_ms < 0)
        a->period_start_ms = now_ms;
    a->reports++;
    for (size_t i = 0; i < r->n_inbound; i++) {
        const slate_report_inbound *e = &r->inbound[i];
        int k = slate_topology_find_class(t, e->klass);
        const slate_class *c = &t->classes[k];
        /* Demand from arrivals: completions alone cap an overloaded
         * ingress at its throughput. */
        a->ingress[(size_t)k * nc + (size_t)cl] += slate_report_inbound_demand(e);
        inst->ingress[k] += (double)slate_report_inbound_demand(e);
        if (slate_report_inbound_demand(e) > 0)
            inst->takes_ingress = 1;
        inst->work += (double)e->count * work_of(c, svc);
        int v = unique_node(c, svc);
        if (v >= 0)
            a->node_in[k][v] += e->count;
        a->work_sum[sc] += (double)e->count * work_of(c, svc);
        a->self_sum_us[sc] += e->self_time.sum_us;
        a->self_n[sc] += e->self_time.count;
        a->req[sc] += e->count;
        a->err[sc] += e->errors;
        if (c->nodes[0].service == svc)
            slate_hist_merge(&a->class_lat[k], &e->latency);
    }
    for (size_t i = 0; i < r->n_outbound; i++) {
        const slate_report_outbound *e = &r->outbound[i];
        int k = slate_topology_find_class(t, e->klass);
        int dst = slate_topology_find_service(t, e->dst_service);
        int v = unique_edge(&t->classes[k], svc, dst);
        if (v >= 0)
            a->edge_out[k][v] += e->count;
    }
out:
    pthread_mutex_unlock(&a->mu);
    return rv;
}

int slate_aggregator_take(slate_aggregator *a, int64_t now_ms, slate_observation **out)
{
    if (!a || !out)
        return SLATE_ERR_INVALID_ARG;
    const slate_topology *t = a->t;
    size_t nk = a->nk, ns = a->ns, nc = a->nc;
    slate_observation *o = calloc(1, sizeof(*o));
    if (!o)
        return SLATE_ERR_NOMEM;
    o->n_classes = nk;
    o->n_services = ns;
    o->n_clusters = nc;
    o->demand_rps = calloc(nk * nc + 1, sizeof(double));
    o->calls_per_req = (double **)node_rows(t, sizeof(double));
    o->parent_requests = (uint64_t **)node_rows(t, sizeof(uint64_t));
    o->load_work_rps = calloc(ns * nc + 1, sizeof(double));
    o->self_ms = calloc(ns * nc + 1, sizeof(double));
    o->mean_work = calloc(ns * nc + 1, sizeof(double));
    o->requests = calloc(ns * nc + 1, sizeof(uint64_t));
    o->errors = calloc(ns * nc + 1, sizeof(uint64_t));
    o->class_latency = calloc(nk + 1, sizeof(slate_hist));
    if (!o->demand_rps || !o->calls_per_req || !o->parent_requests || !o->load_work_rps ||
        !o->self_ms || !o->mean_work || !o->requests || !o->errors || !o->class_latency) {
        slate_observation_free(o);
        return SLATE_ERR_NOMEM;
    }
    pthread_mutex_lock(&a->mu);
    double period_s = a->period_start_ms < 0 ? 0 : (double)(now_ms - a->period_start_ms) / 1e3;
    /* A period shorter than 1 ms cannot give a rate; count it as 1 ms. */
    double denom = period_s > 1e-3 ? period_s : 1e-3;
    o->period_s = period_s;
    o->reports = a->reports;
    for (size_t i = 0; i < nk * nc; i++)
        o->ingress_total += a->ingress[i];
    /* A cluster where an instance that takes ingress sent no report this
     * period (late: it lands in the next one) has no rate this period, not
     * a rate of 0: its demand is NaN and the learner keeps its estimate.
     * Instances gone for good age out after the TTL. */
    unsigned char late[SLATE_TOPO_MAX_CLUSTERS] = {0};
    for (size_t i = 0; i < a->n_inst; i++)
        if (a->inst[i].takes_ingress && a->inst[i].window_s <= 0 &&
            now_ms - a->inst[i].last_ms <= a->ttl_ms)
            late[a->inst[i].cluster] = 1;
    /* Rates per instance over the time its own reports cover, summed. */
    for (size_t i = 0; i < a->n_inst; i++) {
        instance *x = &a->inst[i];
        if (x->window_s > 0) {
            for (size_t k = 0; k < nk; k++)
                o->demand_rps[k * nc + (size_t)x->cluster] += x->ingress[k] / x->window_s;
            o->load_work_rps[(size_t)x->service * nc + (size_t)x->cluster] += x->work / x->window_s;
        }
        x->window_s = 0;
        x->work = 0;
        memset(x->ingress, 0, nk * sizeof(double));
    }
    for (size_t c = 0; c < nc; c++)
        for (size_t k = 0; late[c] && k < nk; k++)
            o->demand_rps[k * nc + c] = NAN;
    (void)denom;
    for (size_t k = 0; k < nk; k++) {
        const slate_class *c = &t->classes[k];
        o->calls_per_req[k][0] = NAN;
        for (size_t v = 1; v < c->n_nodes; v++) {
            int p = c->nodes[v].parent;
            uint64_t parents = a->node_in[k][p];
            o->parent_requests[k][v] = parents;
            /* Both ends must be attributable: the parent's inbound (unique
             * node) and the edge (unique edge). */
            int ok = parents > 0 && unique_node(c, c->nodes[p].service) == p &&
                     unique_edge(c, c->nodes[p].service, c->nodes[v].service) == (int)v;
            o->calls_per_req[k][v] = ok ? (double)a->edge_out[k][v] / (double)parents : NAN;
        }
        o->class_latency[k] = a->class_lat[k];
    }
    for (size_t i = 0; i < ns * nc; i++) {
        o->self_ms[i] = a->self_n[i] ? (double)a->self_sum_us[i] / (double)a->self_n[i] / 1e3 : NAN;
        o->mean_work[i] = a->req[i] ? a->work_sum[i] / (double)a->req[i] : 1.0;
        o->requests[i] = a->req[i];
        o->errors[i] = a->err[i];
    }
    /* Start the next period. */
    memset(a->ingress, 0, nk * nc * sizeof(uint64_t));
    for (size_t k = 0; k < nk; k++) {
        memset(a->node_in[k], 0, t->classes[k].n_nodes * sizeof(uint64_t));
        memset(a->edge_out[k], 0, t->classes[k].n_nodes * sizeof(uint64_t));
    }
    memset(a->work_sum, 0, ns * nc * sizeof(double));
    memset(a->self_sum_us, 0, ns * nc * sizeof(uint64_t));
    memset(a->self_n, 0, ns * nc * sizeof(uint64_t));
    memset(a->req, 0, ns * nc * sizeof(uint64_t));
    memset(a->err, 0, ns * nc * sizeof(uint64_t));
    memset(a->class_lat, 0, nk * sizeof(slate_hist));
    a->reports = 0;
    a->period_start_ms = now_ms;
    age_out(a, now_ms);
    pthread_mutex_unlock(&a->mu);
    *out = o;
    return SLATE_OK;
}

int slate_aggregator_endpoints(slate_aggregator *a, int service, int cluster, int64_t now_ms,
                               char ***out, size_t *n)
{
    if (!a || !out || !n)
        return SLATE_ERR_INVALID_ARG;
    pthread_mutex_lock(&a->mu);
    age_out(a, now_ms);
    size_t count = 0;
    for (size_t i = 0; i < a->n_inst; i++)
        count += a->inst[i].service == service && a->inst[i].cluster == cluster &&
                 a->inst[i].address;
    char **list = calloc(count + 1, sizeof(char *));
    int rv = list ? SLATE_OK : SLATE_ERR_NOMEM;
    size_t w = 0;
    for (size_t i = 0; rv == SLATE_OK && i < a->n_inst; i++) {
        const instance *x = &a->inst[i];
        if (x->service != service || x->cluster != cluster || !x->address)
            continue;
        if (!(list[w++] = strdup(x->address)))
            rv = SLATE_ERR_NOMEM;
    }
    pthread_mutex_unlock(&a->mu);
    if (rv != SLATE_OK) {
        for (size_t i = 0; list && i < w; i++)
            free(list[i]);
        free(list);
        return rv;
    }
    *out = list;
    *n = w;
    return SLATE_OK;
}

size_t slate_aggregator_instances(slate_aggregator *a, int64_t now_ms)
{
    if (!a)
        return 0;
    pthread_mutex_lock(&a->mu);
    age_out(a, now_ms);
    size_t n = a->n_inst;
    pthread_mutex_unlock(&a->mu);
    return n;
}
