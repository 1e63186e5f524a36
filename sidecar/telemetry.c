/* Per-window telemetry with self-time; see telemetry.h. */
#include "sidecar/telemetry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sidecar/trace.h"

#define SPARE_MAX 256

struct slate_sc_active {
    char trace[33];
    int klass;
    double start_us;
    double iv[SLATE_TEL_MAX_CALLS][2]; /* outbound intervals, us */
    int n_iv;
    slate_sc_active *prev, *next;
};

typedef struct class_acc {
    uint64_t count, ingress, errors;
    uint64_t arrivals; /* requests classified here, counted when they arrive */
    slate_hist latency, self_time;
    uint64_t inflight;      /* now */
    double inflight_area;   /* request-us integrated over the window */
    double last_change_us;
} class_acc;

typedef struct out_acc {
    uint64_t count, errors, req_bytes, resp_bytes;
    slate_hist latency;
} out_acc;

/* One generation of trace ids the proxy saw: open addressing on the low 64
 * bits of the id (random), linear probing; key 0 marks an empty slot. */
#define SEEN_INBOUND   1u
#define SEEN_OUTBOUND  2u
#define SEEN_MIN_SLOTS 1024u
#define SEEN_MAX_SLOTS (2u * SLATE_TEL_SEEN_MAX) /* load factor <= 1/2 */

typedef struct seen_gen {
    uint64_t *keys; /* owned; cap slots */
    uint8_t *flags; /* owned; SEEN_* per slot */
    size_t cap, n;  /* cap is 0 or a power of two */
} seen_gen;

struct slate_sc_tel {
    const slate_topology *t;
    int service, cluster;
    int default_class; /* the one class whose tree contains |service|, or -1 */
    seen_gen seen[2];
    int seen_cur;
    double seen_start_us; /* when seen[seen_cur] started; 0 = not yet */
    char *instance, *address;
    int64_t window_start_ms;
    double window_start_us;
    class_acc *in;  /* n_classes */
    out_acc **out;  /* n_classes * n_services * n_clusters, allocated lazily */
    size_t n_out;
    slate_sc_active *active;
    size_t n_active;
    /* Ended requests' handles (about 1 KiB each), kept for the next ones so
     * that an inbound request allocates nothing: at most SPARE_MAX. */
    slate_sc_active *spare;
    size_t n_spare;
    slate_sc_tel_totals totals;
};

int slate_sc_tel_new(const slate_topology *t, int service, int cluster, const char *instance,
                     const char *address, int64_t now_ms, slate_sc_tel **out)
{
    if (!t || !instance || !out)
        return SLATE_ERR_INVALID_ARG;
    slate_sc_tel *tel = calloc(1, sizeof(*tel));
    if (!tel)
        return SLATE_ERR_NOMEM;
    tel->t = t;
    tel->service = service;
    tel->cluster = cluster;
    tel->window_start_ms = now_ms;
    tel->default_class = -1;
    for (size_t k = 0; k < t->n_classes && service >= 0; k++) {
        size_t v = 0;
        while (v < t->classes[k].n_nodes && t->classes[k].nodes[v].service != service)
            v++;
        if (v < t->classes[k].n_nodes) {
            if (tel->default_class >= 0) {
                tel->default_class = -1; /* two classes: no default */
                break;
            }
            tel->default_class = (int)k;
        }
    }
    tel->n_out = t->n_classes * t->n_services * t->n_clusters;
    tel->in = calloc(t->n_classes + 1, sizeof(class_acc));
    tel->out = calloc(tel->n_out + 1, sizeof(out_acc *));
    tel->instance = strdup(instance);
    tel->address = address ? strdup(address) : NULL;
    if (!tel->in || !tel->out || !tel->instance || (address && !tel->address)) {
        slate_sc_tel_free(tel);
        return SLATE_ERR_NOMEM;
    }
    *out = tel;
    return SLATE_OK;
}

void slate_sc_tel_free(slate_sc_tel *tel)
{
    if (!tel)
        return;
    while (tel->active) {
        slate_sc_active *a = tel->active;
        tel->active = a->next;
        free(a);
    }
    while (tel->spare) {
        slate_sc_active *a = tel->spare;
        tel->spare = a->next;
        free(a);
    }
    for (size_t i = 0; tel->out && i < tel->n_out; i++)
        free(tel->out[i]);
    free(tel->out);
    free(tel->in);
    for (int g = 0; g < 2; g++) {
        free(tel->seen[g].keys);
        free(tel->seen[g].flags);
    }
    free(tel->instance);
    free(tel->address);
    free(tel);
}

int slate_sc_tel_set_identity(slate_sc_tel *tel, const char *instance, const char *address)
{
    char *i = strdup(instance), *a = address ? strdup(address) : NULL;
    if (!i || (address && !a)) {
        free(i);
        free(a);
        return SLATE_ERR_NOMEM;
    }
    free(tel->instance);
    free(tel->address);
    tel->instance = i;
    tel->address = a;
    return SLATE_OK;
}

static void inflight_move(class_acc *c, double now_us, int delta)
{
    if (c->last_change_us > 0 && now_us > c->last_change_us)
        c->inflight_area += (double)c->inflight * (now_us - c->last_change_us);
    c->last_change_us = now_us;
    if (delta < 0 && c->inflight == 0)
        return;
    c->inflight = (uint64_t)((int64_t)c->inflight + delta);
}

/* ---- trace ids the proxy saw (span de-duplication) ---------------------------------- */

static uint64_t trace_key(const char *trace_id)
{
    uint64_t key = 0;
    for (int i = 16; i < 32; i++) {
        char c = trace_id[i];
        unsigned v = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 0;
        key = key << 4 | v;
    }
    return key ? key : 1; /* 0 marks an empty slot */
}

static size_t seen_slot(const seen_gen *g, uint64_t key)
{
    /* Fibonacci hashing spreads ids that are not random (tests, 64-bit B3). */
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (g->cap - 1);
    while (g->keys[i] && g->keys[i] != key)
        i = (i + 1) & (g->cap - 1);
    return i;
}

/* Doubles |g| (to SEEN_MIN_SLOTS when empty). 0 at SEEN_MAX_SLOTS or NOMEM. */
static int seen_grow(seen_gen *g)
{
    size_t cap = g->cap ? g->cap * 2 : SEEN_MIN_SLOTS;
    if (cap > SEEN_MAX_SLOTS)
        return 0;
    seen_gen ng = {.keys = calloc(cap, sizeof(uint64_t)), .flags = calloc(cap, 1), .cap = cap};
    if (!ng.keys || !ng.flags) {
        free(ng.keys);
        free(ng.flags);
        return 0;
    }
    for (size_t i = 0; i < g->cap; i++)
        if (g->keys[i]) {
            size_t j = seen_slot(&ng, g->keys[i]);
            ng.keys[j] = g->keys[i];
            ng.flags[j] = g->flags[i];
            ng.n++;
        }
    free(g->keys);
    free(g->flags);
    *g = ng;
    return 1;
}

/* The current generation becomes the previous one; the new one is empty. */
static void seen_rotate(slate_sc_tel *tel, double now_us)
{
    tel->seen_cur ^= 1;
    seen_gen *g = &tel->seen[tel->seen_cur];
    if (g->cap) {
        memset(g->keys, 0, g->cap * sizeof(uint64_t));
        memset(g->flags, 0, g->cap);
    }
    g->n = 0;
    tel->seen_start_us = now_us;
}

static void seen_age(slate_sc_tel *tel, double now_us)
{
    if (tel->seen_start_us == 0)
        tel->seen_start_us = now_us;
    else if (now_us - tel->seen_start_us >= SLATE_TEL_SEEN_GEN_US)
        seen_rotate(tel, now_us);
}

/* Remembers that the proxy carried a request of |trace_id| (may be NULL). */
static void seen_mark(slate_sc_tel *tel, const char *trace_id, unsigned flag, double now_us)
{
    if (!trace_id)
        return;
    seen_age(tel, now_us);
    seen_gen *g = &tel->seen[tel->seen_cur];
    if ((g->n + 1) * 2 > g->cap && !seen_grow(g)) {
        /* Full (or out of memory): start a new generation early. */
        seen_rotate(tel, now_us);
        g = &tel->seen[tel->seen_cur];
        if (!g->cap && !seen_grow(g))
            return;
    }
    uint64_t key = trace_key(trace_id);
    size_t i = seen_slot(g, key);
    if (!g->keys[i]) {
        g->keys[i] = key;
        g->n++;
    }
    g->flags[i] |= (uint8_t)flag;
}

/* SEEN_* flags the proxy recorded for |trace_id| in either generation. */
static unsigned seen_flags(slate_sc_tel *tel, const char *trace_id, double now_us)
{
    seen_age(tel, now_us);
    uint64_t key = trace_key(trace_id);
    unsigned flags = 0;
    for (int gi = 0; gi < 2; gi++) {
        const seen_gen *g = &tel->seen[gi];
        if (g->n) {
            size_t i = seen_slot(g, key);
            if (g->keys[i] == key)
                flags |= g->flags[i];
        }
    }
    return flags;
}

slate_sc_active *slate_sc_tel_inbound_begin(slate_sc_tel *tel, int klass, const char *trace_id,
                                            double now_us)
{
    /* Every inbound request's trace, classified or not: the application's
     * own span of it must not count a second time. */
    seen_mark(tel, trace_id, SEEN_INBOUND, now_us);
    if (klass < 0 || (size_t)klass >= tel->t->n_classes)
        return NULL;
    inflight_move(&tel->in[klass], now_us, +1);
    if (!trace_id || tel->n_active >= SLATE_TEL_MAX_ACTIVE) {
        tel->totals.untracked++;
        return NULL;
    }
    slate_sc_active *a = tel->spare;
    if (a) {
        tel->spare = a->next;
        tel->n_spare--;
    } else if (!(a = malloc(sizeof(*a)))) {
        tel->totals.untracked++;
        return NULL;
    }
    memcpy(a->trace, trace_id, 32);
    a->trace[32] = '\0';
    a->klass = klass;
    a->start_us = now_us;
    a->n_iv = 0; /* iv[] is written before it is read */
    a->prev = NULL;
    a->next = tel->active;
    if (tel->active)
        tel->active->prev = a;
    tel->active = a;
    tel->n_active++;
    return a;
}

static int cmp_iv(const void *x, const void *y)
{
    const double *a = x, *b = y;
    return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* Length of the union of the intervals, clipped to [lo, hi]. */
static double union_us(double (*iv)[2], int n, double lo, double hi)
{
    qsort(iv, (size_t)n, sizeof(iv[0]), cmp_iv);
    double total = 0, cur_lo = 0, cur_hi = -1;
    for (int i = 0; i < n; i++) {
        double a = fmax(iv[i][0], lo), b = fmin(iv[i][1], hi);
        if (b <= a)
            continue;
        if (a > cur_hi) {
            if (cur_hi > cur_lo)
                total += cur_hi - cur_lo;
            cur_lo = a;
            cur_hi = b;
        } else if (b > cur_hi) {
            cur_hi = b;
        }
    }
    if (cur_hi > cur_lo)
        total += cur_hi - cur_lo;
    return total;
}

void slate_sc_tel_ingress_arrival(slate_sc_tel *tel, int klass)
{
    if (klass >= 0 && (size_t)klass < tel->t->n_classes)
        tel->in[klass].arrivals++;
}

/* One completed inbound request of class |klass| (valid) lasting |dur| us;
 * |self| < 0 when its self-time is unknown. */
static void record_inbound(slate_sc_tel *tel, int klass, int status, int ingress, double dur,
                           double self)
{
    class_acc *c = &tel->in[klass];
    c->count++;
    tel->totals.inbound++;
    c->ingress += ingress != 0;
    if (status == 0 || status >= 500) {
        c->errors++;
        tel->totals.inbound_errors++;
    }
    slate_hist_record(&c->latency, (uint64_t)llround(dur));
    if (self >= 0)
        slate_hist_record(&c->self_time, (uint64_t)llround(self));
}

void slate_sc_tel_inbound_end(slate_sc_tel *tel, slate_sc_active *h, int klass, int status,
                              int ingress, double start_us, double now_us)
{
    if (h) {
        klass = h->klass;
        start_us = h->start_us;
    }
    if (klass < 0 || (size_t)klass >= tel->t->n_classes)
        return;
    inflight_move(&tel->in[klass], now_us, -1);
    double dur = now_us > start_us ? now_us - start_us : 0;
    double self = -1;
    if (h) {
        self = dur - union_us(h->iv, h->n_iv, start_us, now_us);
        if (self < 0)
            self = 0;
    }
    record_inbound(tel, klass, status, ingress, dur, self);
    if (h) {
        if (h->prev)
            h->prev->next = h->next;
        else
            tel->active = h->next;
        if (h->next)
            h->next->prev = h->prev;
        tel->n_active--;
        if (tel->n_spare < SPARE_MAX) {
            h->next = tel->spare;
            tel->spare = h;
            tel->n_spare++;
        } else {
            free(h);
        }
    }
}

/* One completed outbound call; 0 when the key is invalid or out of memory. */
static int record_outbound(slate_sc_tel *tel, int klass, int dst_service, int dst_cluster,
                           int status, uint64_t request_bytes, uint64_t response_bytes, double dur)
{
    const slate_topology *t = tel->t;
    if (klass < 0 || (size_t)klass >= t->n_classes || dst_service < 0 ||
        (size_t)dst_service >= t->n_services || dst_cluster < 0 ||
        (size_t)dst_cluster >= t->n_clusters)
        return 0;
    size_t i =
        ((size_t)klass * t->n_services + (size_t)dst_service) * t->n_clusters + (size_t)dst_cluster;
    if (!tel->out[i] && !(tel->out[i] = calloc(1, sizeof(out_acc))))
        return 0;
    out_acc *o = tel->out[i];
    o->count++;
    tel->totals.outbound++;
    if (status == 0 || status >= 500) {
        o->errors++;
        tel->totals.outbound_errors++;
    }
    o->req_bytes += request_bytes;
    o->resp_bytes += response_bytes;
    slate_hist_record(&o->latency, (uint64_t)llround(dur));
    return 1;
}

void slate_sc_tel_outbound(slate_sc_tel *tel, int klass, int dst_service, int dst_cluster,
                           int status, uint64_t request_bytes, uint64_t response_bytes,
                           const char *trace_id, double start_us, double end_us)
{
    seen_mark(tel, trace_id, SEEN_OUTBOUND, end_us);
    if (!record_outbound(tel, klass, dst_service, dst_cluster, status, request_bytes,
                         response_bytes, end_us > start_us ? end_us - start_us : 0) ||
        !trace_id)
        return;
    for (slate_sc_active *a = tel->active; a; a = a->next)
        if (memcmp(a->trace, trace_id, 32) == 0 && a->n_iv < SLATE_TEL_MAX_CALLS) {
            a->iv[a->n_iv][0] = start_us;
            a->iv[a->n_iv][1] = end_us;
            a->n_iv++;
            break;
        }
}

/* ---- ingested spans (rules in telemetry.h) ------------------------------------------ */

/* Orders spans by (trace id, span id), a SERVER span first among equal ids
 * (Zipkin's shared spans give a CLIENT and a SERVER span one id; a child
 * names the SERVER one as its parent). */
static int cmp_span_id(const void *x, const void *y)
{
    const slate_span *a = *(const slate_span *const *)x, *b = *(const slate_span *const *)y;
    int c = memcmp(a->trace_id, b->trace_id, 32);
    if (!c)
        c = memcmp(a->span_id, b->span_id, 16);
    if (!c)
        c = (a->kind != SLATE_SPAN_SERVER) - (b->kind != SLATE_SPAN_SERVER);
    return c;
}

/* The parent of |s| among |by_id| (|n| sorted spans), or NULL. */
static const slate_span *span_parent(const slate_span *const *by_id, size_t n, const slate_span *s)
{
    if (!s->parent_id[0])
        return NULL;
    size_t lo = 0, hi = n; /* first span >= (trace, parent) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(by_id[mid]->trace_id, s->trace_id, 32);
        if (!c)
            c = memcmp(by_id[mid]->span_id, s->parent_id, 16);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && memcmp(by_id[lo]->trace_id, s->trace_id, 32) == 0 &&
        memcmp(by_id[lo]->span_id, s->parent_id, 16) == 0 && by_id[lo] != s)
        return by_id[lo];
    return NULL;
}

/* A topology service named |name| as given, else by its first DNS label (as
 * the proxy reads a Host: "back.svc:8080" is back). -1 when unknown. */
static int service_by_name(const slate_topology *t, const char *name)
{
    if (!name)
        return -1;
    int s = slate_topology_find_service(t, name);
    size_t label = strcspn(name, ".:");
    if (s < 0 && label > 0 && label <= SLATE_TOPO_MAX_NAME && name[label]) {
        char head[SLATE_TOPO_MAX_NAME + 1];
        memcpy(head, name, label);
        head[label] = '\0';
        s = slate_topology_find_service(t, head);
    }
    return s;
}

/* The class of span |s|; |inherited| is its SERVER ancestor's (or -1). */
static int span_class(const slate_sc_tel *tel, const slate_span *s, int inherited)
{
    const slate_topology *t = tel->t;
    if (s->klass)
        return slate_topology_find_class(t, s->klass); /* unknown: -1, ignored */
    char name[SLATE_TOPO_MAX_NAME + 1];
    if (s->baggage && slate_baggage_class(s->baggage, name, sizeof(name)) == 0)
        return slate_topology_find_class(t, name);
    if (inherited >= 0)
        return inherited;
    if (s->kind == SLATE_SPAN_SERVER && s->http_path && tel->service >= 0) {
        int k = slate_topology_classify(t, tel->service, s->http_method, s->http_path);
        if (k >= 0)
            return k;
    }
    return tel->default_class;
}

typedef struct span_call {
    size_t server; /* index of the SERVER span the call was made under */
    double lo, hi; /* us */
} span_call;

static int cmp_call(const void *x, const void *y)
{
    const span_call *a = x, *b = y;
    return a->server < b->server ? -1 : a->server > b->server;
}

int slate_sc_tel_spans(slate_sc_tel *tel, const slate_span *spans, size_t n, size_t rejected,
                       double now_us, slate_sc_span_outcome *out)
{
    const slate_topology *t = tel->t;
    slate_sc_span_outcome res = {0};
    const slate_span **by_id = calloc(n + 1, sizeof(*by_id));
    int *klass = calloc(n + 1, sizeof(int)); /* resolved class of SERVER spans */
    span_call *calls = calloc(n + 1, sizeof(*calls));
    double(*iv)[2] = calloc(n + 1, sizeof(*iv));
    if (!by_id || !klass || !calls || !iv) {
        free(by_id);
        free(klass);
        free(calls);
        free(iv);
        return SLATE_ERR_NOMEM;
    }
    const char *own = tel->service >= 0 ? t->services[tel->service].name : NULL;
    for (size_t i = 0; i < n; i++)
        by_id[i] = &spans[i];
    qsort(by_id, n, sizeof(*by_id), cmp_span_id);
    /* SERVER spans first: their classes are inherited by the calls below them. */
    for (size_t i = 0; i < n; i++) {
        const slate_span *s = &spans[i];
        int ours = !s->service || (own && strcmp(s->service, own) == 0);
        klass[i] = ours && s->timed && s->kind == SLATE_SPAN_SERVER ? span_class(tel, s, -1) : -1;
    }
    size_t n_calls = 0;
    for (size_t i = 0; i < n; i++) {
        const slate_span *s = &spans[i];
        int ours = !s->service || (own && strcmp(s->service, own) == 0);
        if (s->kind == SLATE_SPAN_SERVER) {
            if (seen_flags(tel, s->trace_id, now_us) & SEEN_INBOUND)
                res.deduplicated++;
            else if (klass[i] < 0)
                res.ignored++;
            continue; /* counted below, once its calls are known */
        }
        int dst = service_by_name(t, s->remote_service);
        if (s->kind != SLATE_SPAN_CLIENT || !ours || !s->timed || dst < 0) {
            res.ignored++;
            continue;
        }
        /* Up the parent chain to the nearest SERVER span (bounded: a cycle
         * or a deep chain ends the walk). */
        const slate_span *server = NULL;
        int nested = 0;
        const slate_span *p = span_parent(by_id, n, s);
        for (int depth = 0; p && depth < 64; depth++) {
            if (p->kind == SLATE_SPAN_SERVER) {
                server = p;
                break;
            }
            if (p->kind == SLATE_SPAN_CLIENT) {
                nested = 1;
                break;
            }
            p = span_parent(by_id, n, p);
        }
        size_t si = server ? (size_t)(server - spans) : 0;
        int k = span_class(tel, s, server ? klass[si] : -1);
        int b = s->cluster ? slate_topology_find_cluster(t, s->cluster) : tel->cluster;
        if (nested || k < 0 || b < 0) {
            res.ignored++;
            continue;
        }
        double lo = (double)s->start_us, hi = lo + (double)s->duration_us;
        if (server && klass[si] >= 0)
            calls[n_calls++] = (span_call){.server = si, .lo = lo, .hi = hi};
        if (seen_flags(tel, s->trace_id, now_us) & SEEN_OUTBOUND) {
            res.deduplicated++;
            continue;
        }
        int status = s->error ? 0 : s->http_status ? s->http_status : 200;
        if (record_outbound(tel, k, dst, b, status, 0, 0, (double)s->duration_us))
            res.outbound++;
        else
            res.ignored++;
    }
    /* Now the SERVER spans, each with the union of its calls. */
    qsort(calls, n_calls, sizeof(*calls), cmp_call);
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const slate_span *s = &spans[i];
        if (s->kind != SLATE_SPAN_SERVER || klass[i] < 0 ||
            (seen_flags(tel, s->trace_id, now_us) & SEEN_INBOUND))
            continue;
        while (c < n_calls && calls[c].server < i)
            c++;
        int m = 0;
        for (; c < n_calls && calls[c].server == i; c++, m++) {
            iv[m][0] = calls[c].lo;
            iv[m][1] = calls[c].hi;
        }
        double lo = (double)s->start_us, dur = (double)s->duration_us;
        double self = dur - union_us(iv, m, lo, lo + dur);
        int status = s->error ? 0 : s->http_status ? s->http_status : 200;
        int ingress = !s->parent_id[0] && t->classes[klass[i]].nodes[0].service == tel->service;
        record_inbound(tel, klass[i], status, ingress, dur, self > 0 ? self : 0);
        if (ingress) /* a span arrives after the fact: arrival and completion at once */
            tel->in[klass[i]].arrivals++;
        res.inbound++;
    }
    free(by_id);
    free(klass);
    free(calls);
    free(iv);
    tel->totals.spans_accepted += n;
    tel->totals.spans_rejected += rejected;
    tel->totals.spans_deduplicated += res.deduplicated;
    tel->totals.spans_ignored += res.ignored;
    tel->totals.span_inbound += res.inbound;
    tel->totals.span_outbound += res.outbound;
    if (out)
        *out = res;
    return SLATE_OK;
}

int slate_sc_tel_flush(slate_sc_tel *tel, int64_t now_ms, slate_report **out)
{
    const slate_topology *t = tel->t;
    *out = NULL;
    int64_t start = tel->window_start_ms;
    if (now_ms <= start)
        return SLATE_OK;
    double window_us = (double)(now_ms - start) * 1e3;
    slate_report *r = NULL;
    int rv = slate_report_new(tel->service >= 0 ? t->services[tel->service].name : "ingress",
                              t->clusters[tel->cluster], tel->instance, tel->address, start,
                              now_ms, &r);
    if (rv != SLATE_OK)
        return rv;
    int any = 0;
    /* The in-flight integral up to now, as of the monotonic clock that the
     * proxy passes: approximate the window's end with the last change. */
    for (size_t k = 0; k < t->n_classes; k++) {
        class_acc *c = &tel->in[k];
        if (c->count == 0 && c->inflight == 0 && c->arrivals == 0)
            continue;
        slate_report_inbound *e = slate_report_inbound_get(r, t->classes[k].name);
        if (!e) {
            slate_report_free(r);
            return SLATE_ERR_NOMEM;
        }
        e->count = c->count;
        e->ingress = c->ingress;
        e->arrivals = c->arrivals;
        e->arrivals_counted = 1;
        e->errors = c->errors;
        e->inflight_mean = c->inflight_area / window_us;
        e->latency = c->latency;
        e->self_time = c->self_time;
        uint64_t keep = c->inflight;
        double last = c->last_change_us;
        memset(c, 0, sizeof(*c));
        c->inflight = keep;
        c->last_change_us = last;
        any = 1;
    }
    for (size_t i = 0; i < tel->n_out; i++) {
        out_acc *o = tel->out[i];
        if (!o || o->count == 0)
            continue;
        size_t b = i % t->n_clusters, s = (i / t->n_clusters) % t->n_services,
               k = i / (t->n_clusters * t->n_services);
        slate_report_outbound *e = slate_report_outbound_get(r, t->classes[k].name,
                                                             t->services[s].name, t->clusters[b]);
        if (!e) {
            slate_report_free(r);
            return SLATE_ERR_NOMEM;
        }
        e->count = o->count;
        e->errors = o->errors;
        e->latency = o->latency;
        e->request_bytes = o->req_bytes;
        e->response_bytes = o->resp_bytes;
        memset(o, 0, sizeof(*o));
        any = 1;
    }
    tel->window_start_ms = now_ms;
    if (!any) {
        slate_report_free(r);
        return SLATE_OK;
    }
    *out = r;
    return SLATE_OK;
}

slate_sc_tel_totals slate_sc_tel_totals_get(const slate_sc_tel *tel)
{
    return tel->totals;
}
