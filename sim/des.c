/*
 * The discrete-event simulator (model and statistics in des.h).
 *
 * Times are in seconds internally; latencies are reported in ms. Calls live
 * in one growable pool addressed by index (never by pointer across an
 * allocation), linked into FIFO queues and a free list through |next|.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/hist.h"
#include "sim/des.h"

/* Histogram: bucket i holds latencies in [HIST_MIN_MS * G^i, HIST_MIN_MS * G^(i+1)). */
#define HIST_MIN_MS  1e-3
#define HIST_GROWTH  1.01
#define HIST_BUCKETS 2316 /* ceil(log(1e7 / 1e-3) / log(1.01)) + 1 */

#define BYTES_PER_GB 1e9

enum { EV_ARRIVAL = 0, EV_CALL_ARRIVE = 1, EV_SERVICE_DONE = 2, EV_RESPONSE = 3 };

typedef struct event {
    double t;     /* s */
    uint64_t seq; /* scheduling order: breaks ties reproducibly */
    uint32_t type;
    uint32_t gen; /* EV_ARRIVAL: the stream's generation when scheduled */
    uint32_t idx; /* call index, or stream index for EV_ARRIVAL */
} event;

typedef struct call {
    int k, v;                 /* class and call-tree node */
    int src, dst;             /* caller's cluster, serving cluster */
    int parent;               /* call index; -1 for a request's root call */
    int root;                 /* the request's root call */
    double t_issue;           /* s: when the caller issued it (root: ingress arrival) */
    double t_arrive;          /* s: when it reached the callee's queue */
    double t_work_done;       /* s: when the callee's own work ended */
    int pending;              /* child calls outstanding */
    int child_pos;            /* sequential children: the current child (position) */
    int reps_left;            /* sequential children: calls of it still to make */
    int next;                 /* FIFO queue / free-list link, -1 = none */
    unsigned char overloaded; /* root: met an overloaded queue */
    unsigned char measured;   /* root: entered inside the window */
} call;

typedef struct squeue {
    int deployed;
    int c, nominal_c;
    double rate;       /* work units/s per server */
    double nominal_mu; /* work units/s */
    int busy;
    int head, tail; /* waiting calls */
    size_t waiting;
    double last_t, busy_int, cap_int; /* utilization integrals over the window */
} squeue;

typedef struct stream {
    double rate; /* req/s */
    uint32_t gen;
} stream;

typedef struct hist {
    uint64_t count, overloaded;
    double sum_ms;
    uint32_t *bucket; /* HIST_BUCKETS, allocated at the first sample */
} hist;

/* What the sidecar of a deployment would count in the current window, per
 * call-tree node: inbound at the callee, outbound (per destination cluster)
 * at the caller. Histograms are allocated at their first value. */
typedef struct tel_inbound {
    uint64_t count, ingress, arrivals; /* arrivals: ingress requests counted at arrival */
    slate_hist *latency, *self_time; /* owned */
} tel_inbound;

typedef struct tel_outbound {
    uint64_t count, request_bytes, response_bytes;
    slate_hist *latency; /* owned */
} tel_outbound;

struct telemetry {
    size_t *node_base;     /* nk: index of class k's node 0 in the flat node numbering */
    size_t n_nodes;        /* all classes' nodes */
    tel_inbound *in;       /* n_nodes * nc: [node][serving cluster] */
    tel_outbound *out;     /* n_nodes * nc * nc: [node][caller cluster][callee cluster] */
    double window_start_s; /* the open window's start */
};

struct slate_des {
    const slate_topology *t; /* borrowed for call trees and names only */
    slate_des_opts opts;
    size_t nc, ns, nk;
    double *rtt_s;         /* nc * nc, one-way = half of it */
    double *egress_usd_b;  /* nc * nc, USD per byte */
    unsigned char *failed; /* nc */
    squeue *q;             /* ns * nc */
    stream *streams;       /* nk * nc */
    double **cum;          /* nk arrays of n_nodes * nc * nc cumulative weights */
    int p2c;               /* 1: route by p2c-ewma */
    double *ewma_s;        /* nc * ns * nc, allocated when p2c is first used */
    double *ewma_t;
    int *pending;

    call *calls;
    size_t n_calls_cap, in_flight;
    int free_head;

    event *heap;
    size_t heap_n, heap_cap;
    uint64_t seq;

    uint64_t rng[4];
    double now, end_eff;
    int stopped, truncated;
    uint64_t admitted, calls_total, events;
    double egress_usd;
    hist *per_class; /* nk * nc */
    hist all;
    /* Timeline (see des.h): per step of tl_step_s. */
    double tl_step_s;
    size_t tl_n;
    uint64_t *tl_count;
    double *tl_sum_ms, *tl_egress_usd;
    /* Telemetry (slate_des_telemetry_enable): NULL when off. */
    struct telemetry *tel;
};

/* ---- PRNG: xoshiro256**, seeded through splitmix64 --------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(slate_des *d)
{
    uint64_t *s = d->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(slate_des *d)
{
    return (double)(rng_next(d) >> 11) * 0x1.0p-53;
}

static double rng_exp(slate_des *d, double mean)
{
    return -mean * log1p(-rng_uniform(d));
}

/* floor(n) calls plus one with probability n - floor(n). */
static int draw_count(slate_des *d, double n)
{
    double f = floor(n);
    return (int)f + (rng_uniform(d) < n - f ? 1 : 0);
}

/* ---- event heap ------------------------------------------------------------------- */

static int ev_before(const event *a, const event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(slate_des *d, double t, uint32_t type, uint32_t idx, uint32_t gen)
{
    if (d->heap_n == d->heap_cap) {
        size_t cap = d->heap_cap ? 2 * d->heap_cap : 1024;
        event *h = realloc(d->heap, cap * sizeof(*h));
        if (h == NULL)
            return SLATE_ERR_NOMEM;
        d->heap = h;
        d->heap_cap = cap;
    }
    event e = {t, d->seq++, type, gen, idx};
    size_t i = d->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_before(&e, &d->heap[p]))
            break;
        d->heap[i] = d->heap[p];
        i = p;
    }
    d->heap[i] = e;
    return SLATE_OK;
}

static event heap_pop(slate_des *d)
{
    event top = d->heap[0], last = d->heap[--d->heap_n];
    size_t i = 0, n = d->heap_n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const event *best = &last;
        if (l < n && ev_before(&d->heap[l], best)) {
            m = l;
            best = &d->heap[l];
        }
        if (r < n && ev_before(&d->heap[r], best))
            m = r;
        if (m == i)
            break;
        d->heap[i] = d->heap[m];
        i = m;
    }
    if (n > 0)
        d->heap[i] = last;
    return top;
}

/* ---- lifecycle -------------------------------------------------------------------- */

void slate_des_opts_init(slate_des_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->warmup_s = 0;
    o->end_s = 60;
    o->max_requests = 2000000;
    o->max_calls = 1000000;
    o->ewma_decay_ms = 10000;
}

/* Sets queue |q|'s servers and rate for saturation |mu| (work units/s) with
 * |c| servers. */
static void queue_shape(squeue *q, int c, double mu)
{
    q->c = c < 1 ? 1 : c > SLATE_DES_MAX_SERVERS ? SLATE_DES_MAX_SERVERS : c;
    q->rate = mu / q->c;
}

/* Fills the cumulative weights from |rt| (NULL: the default policy). */
static void build_cum(slate_des *d, const slate_route_table *rt)
{
    const slate_topology *t = d->t;
    size_t nc = d->nc;
    double w[SLATE_TOPO_MAX_CLUSTERS];
    for (size_t k = 0; k < d->nk; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            int src_service = n->parent < 0 ? -1 : c->nodes[n->parent].service;
            for (size_t a = 0; a < nc; a++) {
                const slate_route_rule *r =
                    rt ? slate_route_table_find(rt, (int)k, src_service, (int)a, n->service) : NULL;
                double total = 0;
                for (size_t b = 0; b < nc; b++) {
                    w[b] = r != NULL && d->q[(size_t)n->service * nc + b].deployed
                               ? fmax(0.0, r->weights[b])
                               : 0;
                    total += w[b];
                }
                if (!(total > 0)) {
                    slate_route_default_weights(t, (int)a, n->service, w);
                    total = 1;
                }
                double *cum = &d->cum[k][(v * nc + a) * nc], acc = 0;
                for (size_t b = 0; b < nc; b++) {
                    acc += w[b] / total;
                    cum[b] = acc;
                }
            }
        }
    }
}

static void tel_free(struct telemetry *tel, size_t nc)
{
    if (tel == NULL)
        return;
    for (size_t i = 0; tel->in != NULL && i < tel->n_nodes * nc; i++) {
        free(tel->in[i].latency);
        free(tel->in[i].self_time);
    }
    for (size_t i = 0; tel->out != NULL && i < tel->n_nodes * nc * nc; i++)
        free(tel->out[i].latency);
    free(tel->in);
    free(tel->out);
    free(tel->node_base);
    free(tel);
}

void slate_des_free(slate_des *d)
{
    if (d == NULL)
        return;
    tel_free(d->tel, d->nc);
    if (d->cum != NULL)
        for (size_t k = 0; k < d->nk; k++)
            free(d->cum[k]);
    free(d->cum);
    if (d->per_class != NULL)
        for (size_t i = 0; i < d->nk * d->nc; i++)
            free(d->per_class[i].bucket);
    free(d->per_class);
    free(d->all.bucket);
    free(d->tl_count);
    free(d->tl_sum_ms);
    free(d->tl_egress_usd);
    free(d->rtt_s);
    free(d->egress_usd_b);
    free(d->failed);
    free(d->q);
    free(d->streams);
    free(d->ewma_s);
    free(d->ewma_t);
    free(d->pending);
    free(d->calls);
    free(d->heap);
    free(d);
}

static int schedule_arrival(slate_des *d, size_t i)
{
    stream *st = &d->streams[i];
    if (!(st->rate > 0) || d->stopped)
        return SLATE_OK;
    double t = d->now + rng_exp(d, 1.0 / st->rate);
    if (t >= d->opts.end_s)
        return SLATE_OK;
    return heap_push(d, t, EV_ARRIVAL, (uint32_t)i, st->gen);
}

int slate_des_new(const slate_topology *t, const slate_profile_set *truth,
                  const slate_des_opts *opts, slate_des **out)
{
    if (t == NULL || truth == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_des_opts defaults;
    slate_des_opts_init(&defaults);
    if (opts == NULL)
        opts = &defaults;
    if (!(opts->end_s > 0) || !(opts->warmup_s >= 0) || opts->warmup_s >= opts->end_s ||
        opts->max_calls == 0 || opts->max_calls > (size_t)INT32_MAX / 2 ||
        !(opts->ewma_decay_ms > 0))
        return SLATE_ERR_INVALID_ARG;
    slate_des *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return SLATE_ERR_NOMEM;
    d->t = t;
    d->opts = *opts;
    d->nc = t->n_clusters;
    d->ns = t->n_services;
    d->nk = t->n_classes;
    d->free_head = -1;
    d->end_eff = opts->end_s;
    size_t nc = d->nc;
    d->rtt_s = calloc(nc * nc, sizeof(double));
    d->egress_usd_b = calloc(nc * nc, sizeof(double));
    d->failed = calloc(nc, 1);
    d->q = calloc(d->ns * nc + 1, sizeof(squeue));
    d->streams = calloc(d->nk * nc + 1, sizeof(stream));
    d->cum = calloc(d->nk + 1, sizeof(double *));
    d->per_class = calloc(d->nk * nc + 1, sizeof(hist));
    /* About 100 timeline steps, at least 1 s each. */
    d->tl_step_s = fmax(1.0, opts->end_s / 100.0);
    d->tl_n = (size_t)ceil(opts->end_s / d->tl_step_s) + 1;
    d->tl_count = calloc(d->tl_n, sizeof(uint64_t));
    d->tl_sum_ms = calloc(d->tl_n, sizeof(double));
    d->tl_egress_usd = calloc(d->tl_n, sizeof(double));
    if (!d->rtt_s || !d->egress_usd_b || !d->failed || !d->q || !d->streams || !d->cum ||
        !d->per_class || !d->tl_count || !d->tl_sum_ms || !d->tl_egress_usd)
        goto nomem;
    for (size_t k = 0; k < d->nk; k++) {
        d->cum[k] = calloc(t->classes[k].n_nodes * nc * nc + 1, sizeof(double));
        if (d->cum[k] == NULL)
            goto nomem;
    }
    for (size_t a = 0; a < nc; a++)
        for (size_t b = 0; b < nc; b++) {
            d->rtt_s[a * nc + b] = slate_topology_rtt_ms(t, (int)a, (int)b) / 1000.0;
            d->egress_usd_b[a * nc + b] = slate_topology_egress(t, (int)a, (int)b) / BYTES_PER_GB;
        }
    for (size_t s = 0; s < d->ns; s++)
        for (size_t b = 0; b < nc; b++) {
            const slate_profile *p = slate_profile_set_get(truth, (int)s, (int)b);
            squeue *q = &d->q[s * nc + b];
            q->head = q->tail = -1;
            if (p == NULL)
                continue;
            q->deployed = 1;
            q->nominal_mu = p->mu_rps;
            double c = round(p->mu_rps * slate_profile_t0(p) / 1000.0);
            q->nominal_c = c < 1 ? 1 : c > SLATE_DES_MAX_SERVERS ? SLATE_DES_MAX_SERVERS : (int)c;
            queue_shape(q, q->nominal_c, p->mu_rps);
        }
    uint64_t x = opts->seed;
    for (int i = 0; i < 4; i++)
        d->rng[i] = splitmix64(&x);
    build_cum(d, NULL);
    for (size_t i = 0; i < t->n_demand; i++) {
        const slate_demand *dm = &t->demand[i];
        d->streams[(size_t)dm->klass * nc + (size_t)dm->cluster].rate = dm->rps;
    }
    for (size_t i = 0; i < d->nk * nc; i++)
        if (schedule_arrival(d, i) != SLATE_OK)
            goto nomem;
    *out = d;
    return SLATE_OK;
nomem:
    slate_des_free(d);
    return SLATE_ERR_NOMEM;
}

/* ---- setters ---------------------------------------------------------------------- */

int slate_des_set_routes(slate_des *d, const slate_route_table *rt)
{
    if (d == NULL || (rt != NULL && rt->n_clusters != d->nc))
        return SLATE_ERR_INVALID_ARG;
    if (rt != NULL) {
        build_cum(d, rt);
        d->p2c = 0;
        return SLATE_OK;
    }
    if (d->ewma_s == NULL) {
        size_t n = d->nc * d->ns * d->nc + 1;
        d->ewma_s = calloc(n, sizeof(double));
        d->ewma_t = calloc(n, sizeof(double));
        d->pending = calloc(n, sizeof(int));
        if (!d->ewma_s || !d->ewma_t || !d->pending) {
            free(d->ewma_s);
            free(d->ewma_t);
            free(d->pending);
            d->ewma_s = d->ewma_t = NULL;
            d->pending = NULL;
            return SLATE_ERR_NOMEM;
        }
    }
    d->p2c = 1;
    return SLATE_OK;
}

int slate_des_set_demand(slate_des *d, int k, int a, double rps)
{
    if (d == NULL || k < 0 || (size_t)k >= d->nk || a < 0 || (size_t)a >= d->nc || !(rps >= 0) ||
        !isfinite(rps))
        return SLATE_ERR_INVALID_ARG;
    size_t i = (size_t)k * d->nc + (size_t)a;
    d->streams[i].rate = rps;
    d->streams[i].gen++; /* the pending arrival is stale: redraw from now */
    return schedule_arrival(d, i);
}

/* Adds queue |q|'s busy and capacity time up to |now| inside the window. */
static void account(slate_des *d, squeue *q, double now)
{
    double lo = fmax(q->last_t, d->opts.warmup_s), hi = fmin(now, d->end_eff);
    if (hi > lo) {
        q->busy_int += q->busy * (hi - lo);
        q->cap_int += q->c * (hi - lo);
    }
    q->last_t = now;
}

static int start_service(slate_des *d, size_t qi, int ci);

int slate_des_set_capacity(slate_des *d, int s, int b, double factor)
{
    if (d == NULL || s < 0 || (size_t)s >= d->ns || b < 0 || (size_t)b >= d->nc || !(factor > 0) ||
        !isfinite(factor))
        return SLATE_ERR_INVALID_ARG;
    size_t qi = (size_t)s * d->nc + (size_t)b;
    squeue *q = &d->q[qi];
    if (!q->deployed)
        return SLATE_ERR_NOT_FOUND;
    account(d, q, d->now);
    queue_shape(q, (int)round(factor * q->nominal_c), factor * q->nominal_mu);
    /* More servers: start waiting calls at once. */
    while (d->q[qi].busy < d->q[qi].c && d->q[qi].head >= 0) {
        int ci = d->q[qi].head;
        d->q[qi].head = d->calls[ci].next;
        if (d->q[qi].head < 0)
            d->q[qi].tail = -1;
        d->q[qi].waiting--;
        int rv = start_service(d, qi, ci);
        if (rv != SLATE_OK)
            return rv;
    }
    return SLATE_OK;
}

int slate_des_set_failed(slate_des *d, int b)
{
    if (d == NULL || b < 0 || (size_t)b >= d->nc)
        return SLATE_ERR_INVALID_ARG;
    d->failed[b] = 1;
    return SLATE_OK;
}

int slate_des_set_rtt(slate_des *d, int a, int b, double rtt_ms)
{
    if (d == NULL || a < 0 || (size_t)a >= d->nc || b < 0 || (size_t)b >= d->nc || !(rtt_ms >= 0) ||
        !isfinite(rtt_ms))
        return SLATE_ERR_INVALID_ARG;
    d->rtt_s[(size_t)a * d->nc + (size_t)b] = rtt_ms / 1000.0;
    d->rtt_s[(size_t)b * d->nc + (size_t)a] = rtt_ms / 1000.0;
    return SLATE_OK;
}

double slate_des_now(const slate_des *d)
{
    return d->now;
}

/* ---- calls ------------------------------------------------------------------------ */

static int call_alloc(slate_des *d)
{
    if (d->free_head < 0) {
        size_t cap = d->n_calls_cap ? 2 * d->n_calls_cap : 4096;
        call *c = realloc(d->calls, cap * sizeof(*c));
        if (c == NULL)
            return -1;
        d->calls = c;
        for (size_t i = cap; i-- > d->n_calls_cap;) {
            c[i].next = d->free_head;
            d->free_head = (int)i;
        }
        d->n_calls_cap = cap;
    }
    int i = d->free_head;
    d->free_head = d->calls[i].next;
    d->in_flight++;
    return i;
}

static void call_free(slate_des *d, int i)
{
    d->calls[i].next = d->free_head;
    d->free_head = i;
    d->in_flight--;
}

static int in_window(const slate_des *d)
{
    return !d->stopped && d->now >= d->opts.warmup_s && d->now < d->end_eff;
}

static size_t p2c_index(const slate_des *d, int a, int s, int b)
{
    return ((size_t)a * d->ns + (size_t)s) * d->nc + (size_t)b;
}

/* Linkerd's choice for a call from |a| to service |s|: see des.h. */
static int p2c_choose(slate_des *d, int a, int s)
{
    int cand[SLATE_TOPO_MAX_CLUSTERS];
    int n = 0;
    for (size_t b = 0; b < d->nc; b++)
        if (d->q[(size_t)s * d->nc + b].deployed && !d->failed[b])
            cand[n++] = (int)b;
    if (n == 0) /* everything failed: the call still goes somewhere */
        for (size_t b = 0; b < d->nc; b++)
            if (d->q[(size_t)s * d->nc + b].deployed)
                cand[n++] = (int)b;
    if (n == 1)
        return cand[0];
    int i = (int)(rng_uniform(d) * n);
    int j = (int)(rng_uniform(d) * (n - 1));
    if (j >= i)
        j++;
    double tau = d->opts.ewma_decay_ms / 1000.0, cost[2];
    int pick[2] = {cand[i], cand[j]};
    for (int x = 0; x < 2; x++) {
        size_t pi = p2c_index(d, a, s, pick[x]);
        /* The EWMA decays toward 0 while idle, so a slow endpoint is retried. */
        double age = d->now - d->ewma_t[pi];
        cost[x] = d->ewma_s[pi] * exp(-age / tau) * (d->pending[pi] + 1);
    }
    return cost[1] < cost[0] ? pick[1] : pick[0];
}

static int route(slate_des *d, int k, int v, int a)
{
    int s = d->t->classes[k].nodes[v].service;
    if (d->p2c)
        return p2c_choose(d, a, s);
    size_t nc = d->nc;
    const double *cum = &d->cum[k][((size_t)v * nc + (size_t)a) * nc];
    double u = rng_uniform(d);
    int last = -1;
    for (size_t b = 0; b < nc; b++) {
        double w = cum[b] - (b > 0 ? cum[b - 1] : 0);
        if (w > 0)
            last = (int)b;
        if (u < cum[b] && w > 0)
            return (int)b;
    }
    return last; /* rounding: u above the last cumulative weight */
}

/* The timeline step of simulated time |t_s| (the last step takes the rest). */
static size_t tl_index(const slate_des *d, double t_s)
{
    double i = floor(t_s / d->tl_step_s);
    return i < 0 ? 0 : (i >= (double)d->tl_n - 1 ? d->tl_n - 1 : (size_t)i);
}

/* Issues a call of node |v| of class |k| from cluster |a|. Returns the call
 * index, or a negative slate_err. */
static int issue_call(slate_des *d, int parent, int root, int k, int v, int a)
{
    int ci = call_alloc(d);
    if (ci < 0)
        return SLATE_ERR_NOMEM;
    int b = route(d, k, v, a);
    call *c = &d->calls[ci];
    const slate_call_node *n = &d->t->classes[k].nodes[v];
    *c = (call){.k = k,
                .v = v,
                .src = a,
                .dst = b,
                .parent = parent,
                .root = root < 0 ? ci : root,
                .t_issue = d->now,
                .next = -1};
    d->calls_total++;
    if (in_window(d))
        d->egress_usd += n->request_bytes * d->egress_usd_b[(size_t)a * d->nc + (size_t)b];
    d->tl_egress_usd[tl_index(d, d->now)] +=
        n->request_bytes * d->egress_usd_b[(size_t)a * d->nc + (size_t)b];
    if (d->pending != NULL)
        d->pending[p2c_index(d, a, n->service, b)]++;
    int rv = heap_push(d, d->now + d->rtt_s[(size_t)a * d->nc + (size_t)b] / 2, EV_CALL_ARRIVE,
                       (uint32_t)ci, 0);
    return rv != SLATE_OK ? rv : ci;
}

/* ---- telemetry -------------------------------------------------------------------- */

static uint64_t to_us(double s)
{
    double us = s * 1e6;
    return us > 0 ? (uint64_t)llround(us) : 0;
}

static int tel_hist_record(slate_hist **h, double s)
{
    if (*h == NULL && (*h = calloc(1, sizeof(**h))) == NULL)
        return SLATE_ERR_NOMEM;
    slate_hist_record(*h, to_us(s));
    return SLATE_OK;
}

static tel_inbound *tel_in(slate_des *d, const call *c, int cluster)
{
    struct telemetry *tel = d->tel;
    return &tel->in[(tel->node_base[c->k] + (size_t)c->v) * d->nc + (size_t)cluster];
}

/* A request entered the system at cluster c->src: the sidecar that sees it
 * there is the root service's in that cluster (else, where none is
 * deployed, the one that serves it), so demand is per ingress cluster
 * whatever the ingress rule's weights. */
static void tel_arrival(slate_des *d, const call *c)
{
    int s = d->t->classes[c->k].nodes[0].service;
    int at = d->q[(size_t)s * d->nc + (size_t)c->src].deployed ? c->src : c->dst;
    tel_in(d, c, at)->arrivals++;
}

/* The callee's sidecar: one inbound request, answered now. Its self-time is
 * the time to the end of its own work: the child calls come after it. */
static int tel_inbound_record(slate_des *d, const call *c)
{
    tel_inbound *e = tel_in(d, c, c->dst);
    e->count++;
    /* Completed where they entered (arrivals above count every entry). */
    e->ingress += c->parent < 0 && c->src == c->dst ? 1 : 0;
    int rv = tel_hist_record(&e->latency, d->now - c->t_arrive);
    return rv != SLATE_OK ? rv : tel_hist_record(&e->self_time, c->t_work_done - c->t_arrive);
}

/* The caller's sidecar: one outbound call, its answer received now. */
static int tel_outbound_record(slate_des *d, const call *c)
{
    struct telemetry *tel = d->tel;
    const slate_call_node *n = &d->t->classes[c->k].nodes[c->v];
    size_t i = ((tel->node_base[c->k] + (size_t)c->v) * d->nc + (size_t)c->src) * d->nc +
               (size_t)c->dst;
    tel_outbound *e = &tel->out[i];
    e->count++;
    e->request_bytes += (uint64_t)llround(n->request_bytes);
    e->response_bytes += (uint64_t)llround(n->response_bytes);
    return tel_hist_record(&e->latency, d->now - c->t_issue);
}

/* The call's own work and children are done: the answer travels back. */
static int complete_call(slate_des *d, int ci)
{
    call *c = &d->calls[ci];
    const slate_call_node *n = &d->t->classes[c->k].nodes[c->v];
    if (d->tel != NULL) {
        int rv = tel_inbound_record(d, c);
        if (rv != SLATE_OK)
            return rv;
    }
    if (in_window(d))
        d->egress_usd +=
            n->response_bytes * d->egress_usd_b[(size_t)c->dst * d->nc + (size_t)c->src];
    d->tl_egress_usd[tl_index(d, d->now)] +=
        n->response_bytes * d->egress_usd_b[(size_t)c->dst * d->nc + (size_t)c->src];
    return heap_push(d, d->now + d->rtt_s[(size_t)c->src * d->nc + (size_t)c->dst] / 2, EV_RESPONSE,
                     (uint32_t)ci, 0);
}

/* Sequential children: issues the next call, or completes |ci| after the last. */
static int advance_sequential(slate_des *d, int ci)
{
    const slate_call_node *n = &d->t->classes[d->calls[ci].k].nodes[d->calls[ci].v];
    for (;;) {
        call *c = &d->calls[ci];
        if (c->reps_left > 0) {
            c->reps_left--;
            c->pending = 1;
            int child = n->children[c->child_pos];
            int rv = issue_call(d, ci, c->root, c->k, child, c->dst);
            return rv < 0 ? rv : SLATE_OK;
        }
        if ((size_t)(c->child_pos + 1) >= n->n_children)
            return complete_call(d, ci);
        c->child_pos++;
        c->reps_left = draw_count(d, d->t->classes[c->k].nodes[n->children[c->child_pos]].count);
    }
}

/* The call's own work is done: make its child calls. */
static int start_children(slate_des *d, int ci)
{
    const slate_class *cls = &d->t->classes[d->calls[ci].k];
    const slate_call_node *n = &cls->nodes[d->calls[ci].v];
    if (n->n_children == 0)
        return complete_call(d, ci);
    if (!n->parallel) {
        d->calls[ci].child_pos = -1;
        d->calls[ci].reps_left = 0;
        return advance_sequential(d, ci);
    }
    /* Answers arrive as later events, so none can complete |ci| while the
     * loop below issues its calls. */
    int total = 0;
    for (size_t j = 0; j < n->n_children; j++) {
        int child = n->children[j];
        int reps = draw_count(d, cls->nodes[child].count);
        for (int r = 0; r < reps; r++) {
            int rv = issue_call(d, ci, d->calls[ci].root, d->calls[ci].k, child, d->calls[ci].dst);
            if (rv < 0)
                return rv;
            total++;
        }
    }
    d->calls[ci].pending = total;
    return total == 0 ? complete_call(d, ci) : SLATE_OK;
}

static int start_service(slate_des *d, size_t qi, int ci)
{
    squeue *q = &d->q[qi];
    account(d, q, d->now);
    q->busy++;
    const slate_call_node *n = &d->t->classes[d->calls[ci].k].nodes[d->calls[ci].v];
    double dt = rng_exp(d, n->work / q->rate);
    return heap_push(d, d->now + dt, EV_SERVICE_DONE, (uint32_t)ci, 0);
}

static size_t hist_bucket(double ms)
{
    if (!(ms > HIST_MIN_MS))
        return 0;
    double i = floor(log(ms / HIST_MIN_MS) / log(HIST_GROWTH));
    return i >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : (size_t)i;
}

static int hist_add(hist *h, double ms, int overloaded)
{
    if (h->bucket == NULL) {
        h->bucket = calloc(HIST_BUCKETS, sizeof(uint32_t));
        if (h->bucket == NULL)
            return SLATE_ERR_NOMEM;
    }
    h->bucket[hist_bucket(ms)]++;
    h->count++;
    h->overloaded += overloaded ? 1 : 0;
    h->sum_ms += ms;
    return SLATE_OK;
}

/* ---- event handlers --------------------------------------------------------------- */

static int on_arrival(slate_des *d, const event *e)
{
    stream *st = &d->streams[e->idx];
    if (e->gen != st->gen || d->stopped)
        return SLATE_OK; /* superseded by a demand change */
    if (d->admitted >= d->opts.max_requests || d->in_flight >= d->opts.max_calls) {
        d->truncated = 1;
        d->stopped = 1;
        d->end_eff = fmax(d->now, d->opts.warmup_s);
        return SLATE_OK;
    }
    d->admitted++;
    int k = (int)(e->idx / d->nc), a = (int)(e->idx % d->nc);
    int measured = d->now >= d->opts.warmup_s;
    int ci = issue_call(d, -1, -1, k, 0, a);
    if (ci < 0)
        return ci;
    d->calls[ci].measured = (unsigned char)measured;
    if (d->tel != NULL)
        tel_arrival(d, &d->calls[ci]);
    return schedule_arrival(d, e->idx);
}

static int on_call_arrive(slate_des *d, int ci)
{
    d->calls[ci].t_arrive = d->now;
    const call *c = &d->calls[ci];
    size_t qi = (size_t)d->t->classes[c->k].nodes[c->v].service * d->nc + (size_t)c->dst;
    squeue *q = &d->q[qi];
    if (q->busy < q->c)
        return start_service(d, qi, ci);
    d->calls[ci].next = -1;
    if (q->tail >= 0)
        d->calls[q->tail].next = ci;
    else
        q->head = ci;
    q->tail = ci;
    q->waiting++;
    if (q->waiting > (size_t)SLATE_DES_OVERLOAD_WAIT_PER_SERVER * (size_t)q->c)
        d->calls[c->root].overloaded = 1;
    return SLATE_OK;
}

static int on_service_done(slate_des *d, int ci)
{
    d->calls[ci].t_work_done = d->now;
    const call *c = &d->calls[ci];
    size_t qi = (size_t)d->t->classes[c->k].nodes[c->v].service * d->nc + (size_t)c->dst;
    squeue *q = &d->q[qi];
    account(d, q, d->now);
    q->busy--;
    if (q->head >= 0 && q->busy < q->c) {
        int next = q->head;
        q->head = d->calls[next].next;
        if (q->head < 0)
            q->tail = -1;
        q->waiting--;
        int rv = start_service(d, qi, next);
        if (rv != SLATE_OK)
            return rv;
    }
    return start_children(d, ci);
}

static int on_response(slate_des *d, int ci)
{
    call c = d->calls[ci];
    int s = d->t->classes[c.k].nodes[c.v].service;
    if (d->pending != NULL) {
        size_t pi = p2c_index(d, c.src, s, c.dst);
        d->pending[pi]--;
        double sample = d->now - c.t_issue, tau = d->opts.ewma_decay_ms / 1000.0;
        double age = d->now - d->ewma_t[pi];
        double cur = d->ewma_s[pi];
        if (sample > cur)
            d->ewma_s[pi] = sample; /* peak: jump up at once */
        else {
            double keep = exp(-age / tau);
            d->ewma_s[pi] = cur * keep + sample * (1 - keep);
        }
        d->ewma_t[pi] = d->now;
    }
    call_free(d, ci);
    if (d->tel != NULL && c.parent >= 0) {
        int rv = tel_outbound_record(d, &c);
        if (rv != SLATE_OK)
            return rv;
    }
    if (c.parent < 0) {
        double ms = (d->now - c.t_issue) * 1000.0;
        size_t ti = tl_index(d, c.t_issue);
        d->tl_count[ti]++;
        d->tl_sum_ms[ti] += ms;
        if (!c.measured)
            return SLATE_OK;
        int rv = hist_add(&d->per_class[(size_t)c.k * d->nc + (size_t)c.src], ms, c.overloaded);
        return rv != SLATE_OK ? rv : hist_add(&d->all, ms, c.overloaded);
    }
    call *p = &d->calls[c.parent];
    if (--p->pending > 0)
        return SLATE_OK;
    if (d->t->classes[p->k].nodes[p->v].parallel)
        return complete_call(d, c.parent);
    return advance_sequential(d, c.parent);
}

int slate_des_run_until(slate_des *d, double t_s)
{
    if (d == NULL || !(t_s >= 0))
        return SLATE_ERR_INVALID_ARG;
    while (d->heap_n > 0 && d->heap[0].t <= t_s) {
        event e = heap_pop(d);
        d->now = e.t;
        d->events++;
        int rv;
        switch (e.type) {
        case EV_ARRIVAL:
            rv = on_arrival(d, &e);
            break;
        case EV_CALL_ARRIVE:
            rv = on_call_arrive(d, (int)e.idx);
            break;
        case EV_SERVICE_DONE:
            rv = on_service_done(d, (int)e.idx);
            break;
        default:
            rv = on_response(d, (int)e.idx);
            break;
        }
        if (rv != SLATE_OK)
            return rv;
    }
    if (t_s > d->now && isfinite(t_s))
        d->now = t_s;
    return SLATE_OK;
}

int slate_des_finish(slate_des *d)
{
    if (d == NULL)
        return SLATE_ERR_INVALID_ARG;
    int rv = slate_des_run_until(d, d->opts.end_s);
    if (rv != SLATE_OK)
        return rv;
    for (size_t i = 0; i < d->ns * d->nc; i++)
        if (d->q[i].deployed)
            account(d, &d->q[i], d->now);
    if (!d->truncated)
        d->end_eff = d->opts.end_s;
    d->stopped = 1;
    return slate_des_run_until(d, INFINITY);
}

/* ---- results ---------------------------------------------------------------------- */

static double hist_quantile(const hist *h, double q)
{
    if (h->count == 0)
        return NAN;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), acc = 0;
    if (rank < 1)
        rank = 1;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        acc += h->bucket[i];
        if (acc >= rank)
            return HIST_MIN_MS * pow(HIST_GROWTH, (double)i + 0.5);
    }
    return HIST_MIN_MS * pow(HIST_GROWTH, HIST_BUCKETS);
}

static void fill_stats(const hist *h, slate_des_stats *s)
{
    s->count = h->count;
    s->overloaded = h->overloaded;
    s->mean_ms = h->count ? h->sum_ms / (double)h->count : NAN;
    s->p50_ms = hist_quantile(h, 0.50);
    s->p90_ms = hist_quantile(h, 0.90);
    s->p99_ms = hist_quantile(h, 0.99);
}

void slate_des_result_free(slate_des_result *r)
{
    if (r == NULL)
        return;
    free(r->per_class);
    free(r->utilization);
    free(r->cdf_ms);
    free(r->cdf_frac);
    free(r->timeline_mean_ms);
    free(r->timeline_egress_usd_per_hour);
    free(r);
}

int slate_des_result_get(const slate_des *d, slate_des_result **out)
{
    if (d == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_des_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return SLATE_ERR_NOMEM;
    size_t nc = d->nc;
    r->n_classes = d->nk;
    r->n_services = d->ns;
    r->n_clusters = nc;
    r->per_class = calloc(d->nk * nc + 1, sizeof(*r->per_class));
    r->utilization = calloc(d->ns * nc + 1, sizeof(double));
    if (r->per_class == NULL || r->utilization == NULL) {
        slate_des_result_free(r);
        return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->nk * nc; i++)
        fill_stats(&d->per_class[i], &r->per_class[i]);
    fill_stats(&d->all, &r->all);
    for (size_t i = 0; i < d->ns * nc; i++) {
        const squeue *q = &d->q[i];
        r->utilization[i] = q->deployed && q->cap_int > 0 ? q->busy_int / q->cap_int : 0;
        if (r->utilization[i] > r->max_utilization)
            r->max_utilization = r->utilization[i];
    }
    r->window_s = d->end_eff - d->opts.warmup_s;
    r->egress_usd_per_hour = r->window_s > 0 ? d->egress_usd / r->window_s * 3600.0 : 0;
    r->calls = d->calls_total;
    r->events = d->events;
    r->truncated = d->truncated;
    /* The CDF from the histogram of all measured requests. */
    size_t nb = 0;
    for (size_t i = 0; d->all.bucket && i < HIST_BUCKETS; i++)
        nb += d->all.bucket[i] != 0;
    r->cdf_ms = calloc(nb + 1, sizeof(double));
    r->cdf_frac = calloc(nb + 1, sizeof(double));
    r->timeline_mean_ms = calloc(d->tl_n, sizeof(double));
    r->timeline_egress_usd_per_hour = calloc(d->tl_n, sizeof(double));
    if (!r->cdf_ms || !r->cdf_frac || !r->timeline_mean_ms || !r->timeline_egress_usd_per_hour) {
        slate_des_result_free(r);
        return SLATE_ERR_NOMEM;
    }
    uint64_t acc = 0;
    for (size_t i = 0; d->all.bucket && i < HIST_BUCKETS; i++) {
        if (!d->all.bucket[i])
            continue;
        acc += d->all.bucket[i];
        r->cdf_ms[r->n_cdf] = HIST_MIN_MS * pow(HIST_GROWTH, (double)i + 0.5);
        r->cdf_frac[r->n_cdf] = (double)acc / (double)d->all.count;
        r->n_cdf++;
    }
    r->timeline_step_s = d->tl_step_s;
    r->n_timeline = d->tl_n;
    for (size_t i = 0; i < d->tl_n; i++) {
        r->timeline_mean_ms[i] = d->tl_count[i] ? d->tl_sum_ms[i] / (double)d->tl_count[i] : NAN;
        r->timeline_egress_usd_per_hour[i] = d->tl_egress_usd[i] / d->tl_step_s * 3600.0;
    }
    *out = r;
    return SLATE_OK;
}

/* ---- telemetry windows ------------------------------------------------------------ */

int slate_des_telemetry_enable(slate_des *d)
{
    if (d == NULL)
        return SLATE_ERR_INVALID_ARG;
    if (d->tel != NULL)
        return SLATE_OK;
    struct telemetry *tel = calloc(1, sizeof(*tel));
    if (tel == NULL)
        return SLATE_ERR_NOMEM;
    tel->node_base = calloc(d->nk + 1, sizeof(size_t));
    if (tel->node_base != NULL) {
        for (size_t k = 0; k < d->nk; k++) {
            tel->node_base[k] = tel->n_nodes;
            tel->n_nodes += d->t->classes[k].n_nodes;
        }
        tel->in = calloc(tel->n_nodes * d->nc + 1, sizeof(tel_inbound));
        tel->out = calloc(tel->n_nodes * d->nc * d->nc + 1, sizeof(tel_outbound));
    }
    if (tel->node_base == NULL || tel->in == NULL || tel->out == NULL) {
        tel_free(tel, d->nc);
        return SLATE_ERR_NOMEM;
    }
    tel->window_start_s = d->now;
    d->tel = tel;
    return SLATE_OK;
}

/* Adds node |v| of class |k|'s inbound counts at cluster |b| to |r|. */
static int tel_put_inbound(slate_report *r, const char *klass, tel_inbound *e)
{
    slate_report_inbound *x = slate_report_inbound_get(r, klass);
    if (x == NULL)
        return SLATE_ERR_NOMEM;
    x->count += e->count;
    x->ingress += e->ingress;
    x->arrivals += e->arrivals;
    x->arrivals_counted = 1;
    if (e->latency != NULL) { /* NULL until a request completed */
        slate_hist_merge(&x->latency, e->latency);
        slate_hist_merge(&x->self_time, e->self_time);
    }
    return SLATE_OK;
}

static int tel_put_outbound(slate_report *r, const char *klass, const char *dst_service,
                            const char *dst_cluster, tel_outbound *e)
{
    slate_report_outbound *x = slate_report_outbound_get(r, klass, dst_service, dst_cluster);
    if (x == NULL)
        return SLATE_ERR_NOMEM;
    x->count += e->count;
    x->request_bytes += e->request_bytes;
    x->response_bytes += e->response_bytes;
    slate_hist_merge(&x->latency, e->latency);
    return SLATE_OK;
}

/* The report of deployment (|s|, |b|) for the window, or NULL in |*out| when
 * it saw nothing; empties the counters it took. */
static int tel_report(slate_des *d, int s, int b, int64_t start_ms, int64_t end_ms,
                      slate_report **out)
{
    struct telemetry *tel = d->tel;
    const slate_topology *t = d->t;
    size_t nc = d->nc;
    slate_report *r = NULL;
    int rv = SLATE_OK;
    *out = NULL;
    for (size_t k = 0; k < d->nk && rv == SLATE_OK; k++) {
        const slate_class *cls = &t->classes[k];
        for (size_t v = 0; v < cls->n_nodes && rv == SLATE_OK; v++) {
            size_t node = tel->node_base[k] + v;
            tel_inbound *in = &tel->in[node * nc + (size_t)b];
            int parent = cls->nodes[v].parent;
            int serves = cls->nodes[v].service == s && (in->count > 0 || in->arrivals > 0);
            int calls = 0;
            for (size_t c = 0; parent >= 0 && cls->nodes[parent].service == s && c < nc; c++)
                calls |= tel->out[(node * nc + (size_t)b) * nc + c].count > 0;
            if (!serves && !calls)
                continue;
            if (r == NULL && (rv = slate_report_new(t->services[s].name, t->clusters[b], "sim",
                                                    NULL, start_ms, end_ms, &r)) != SLATE_OK)
                break;
            if (serves) {
                rv = tel_put_inbound(r, cls->name, in);
                in->count = in->ingress = in->arrivals = 0;
                if (in->latency != NULL) {
                    slate_hist_reset(in->latency);
                    slate_hist_reset(in->self_time);
                }
            }
            for (size_t c = 0; calls && c < nc && rv == SLATE_OK; c++) {
                tel_outbound *e = &tel->out[(node * nc + (size_t)b) * nc + c];
                if (e->count == 0)
                    continue;
                rv = tel_put_outbound(r, cls->name, t->services[cls->nodes[v].service].name,
                                      t->clusters[c], e);
                e->count = e->request_bytes = e->response_bytes = 0;
                slate_hist_reset(e->latency);
            }
        }
    }
    if (rv != SLATE_OK) {
        slate_report_free(r);
        return rv;
    }
    *out = r;
    return SLATE_OK;
}

int slate_des_telemetry_take(slate_des *d, slate_report ***out, size_t *n)
{
    if (d == NULL || d->tel == NULL || out == NULL || n == NULL)
        return SLATE_ERR_INVALID_ARG;
    int64_t start_ms = llround(d->tel->window_start_s * 1000.0);
    int64_t end_ms = llround(d->now * 1000.0);
    slate_report **reports = calloc(d->ns * d->nc + 1, sizeof(*reports));
    if (reports == NULL)
        return SLATE_ERR_NOMEM;
    size_t m = 0;
    int rv = SLATE_OK;
    for (size_t s = 0; s < d->ns && rv == SLATE_OK; s++)
        for (size_t b = 0; b < d->nc && rv == SLATE_OK; b++) {
            if (!d->q[s * d->nc + b].deployed)
                continue;
            rv = tel_report(d, (int)s, (int)b, start_ms, end_ms, &reports[m]);
            if (rv == SLATE_OK && reports[m] != NULL)
                m++;
        }
    if (rv != SLATE_OK) {
        slate_des_reports_free(reports, m);
        return rv;
    }
    d->tel->window_start_s = d->now;
    *out = reports;
    *n = m;
    return SLATE_OK;
}

void slate_des_reports_free(slate_report **reports, size_t n)
{
    if (reports == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        slate_report_free(reports[i]);
    free(reports);
}
