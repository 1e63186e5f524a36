/* Per-window telemetry with self-time; see telemetry.h. */
#include "sidecar/telemetry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

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
    slate_hist latency, self_time;
    uint64_t inflight;      /* now */
    double inflight_area;   /* request-us integrated over the window */
    double last_change_us;
} class_acc;

typedef struct out_acc {
    uint64_t count, errors, req_bytes, resp_bytes;
    slate_hist latency;
} out_acc;

struct slate_sc_tel {
    const slate_topology *t;
    int service, cluster;
    char *instance, *address;
    int64_t window_start_ms;
    double window_start_us;
    class_acc *in;  /* n_classes */
    out_acc **out;  /* n_classes * n_services * n_clusters, allocated lazily */
    size_t n_out;
    slate_sc_active *active;
    size_t n_active;
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
    for (size_t i = 0; tel->out && i < tel->n_out; i++)
        free(tel->out[i]);
    free(tel->out);
    free(tel->in);
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

slate_sc_active *slate_sc_tel_inbound_begin(slate_sc_tel *tel, int klass, const char *trace_id,
                                            double now_us)
{
    if (klass < 0 || (size_t)klass >= tel->t->n_classes)
        return NULL;
    inflight_move(&tel->in[klass], now_us, +1);
    if (!trace_id || tel->n_active >= SLATE_TEL_MAX_ACTIVE) {
        tel->totals.untracked++;
        return NULL;
    }
    slate_sc_active *a = calloc(1, sizeof(*a));
    if (!a) {
        tel->totals.untracked++;
        return NULL;
    }
    memcpy(a->trace, trace_id, 32);
    a->klass = klass;
    a->start_us = now_us;
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

void slate_sc_tel_inbound_end(slate_sc_tel *tel, slate_sc_active *h, int klass, int status,
                              int ingress, double start_us, double now_us)
{
    if (h) {
        klass = h->klass;
        start_us = h->start_us;
    }
    if (klass < 0 || (size_t)klass >= tel->t->n_classes)
        return;
    class_acc *c = &tel->in[klass];
    inflight_move(c, now_us, -1);
    double dur = now_us > start_us ? now_us - start_us : 0;
    c->count++;
    tel->totals.inbound++;
    c->ingress += ingress != 0;
    if (status == 0 || status >= 500) {
        c->errors++;
        tel->totals.inbound_errors++;
    }
    slate_hist_record(&c->latency, (uint64_t)llround(dur));
    if (h) {
        double self = dur - union_us(h->iv, h->n_iv, start_us, now_us);
        slate_hist_record(&c->self_time, (uint64_t)llround(self > 0 ? self : 0));
        if (h->prev)
            h->prev->next = h->next;
        else
            tel->active = h->next;
        if (h->next)
            h->next->prev = h->prev;
        tel->n_active--;
        free(h);
    }
}

void slate_sc_tel_outbound(slate_sc_tel *tel, int klass, int dst_service, int dst_cluster,
                           int status, uint64_t request_bytes, uint64_t response_bytes,
                           const char *trace_id, double start_us, double end_us)
{
    const slate_topology *t = tel->t;
    if (klass < 0 || (size_t)klass >= t->n_classes || dst_service < 0 ||
        (size_t)dst_service >= t->n_services || dst_cluster < 0 ||
        (size_t)dst_cluster >= t->n_clusters)
        return;
    size_t i = ((size_t)klass * t->n_services + (size_t)dst_service) * t->n_clusters +
               (size_t)dst_cluster;
    if (!tel->out[i] && !(tel->out[i] = calloc(1, sizeof(out_acc))))
        return;
    out_acc *o = tel->out[i];
    o->count++;
    tel->totals.outbound++;
    if (status == 0 || status >= 500) {
        o->errors++;
        tel->totals.outbound_errors++;
    }
    o->req_bytes += request_bytes;
    o->resp_bytes += response_bytes;
    slate_hist_record(&o->latency, (uint64_t)llround(end_us > start_us ? end_us - start_us : 0));
    if (!trace_id)
        return;
    for (slate_sc_active *a = tel->active; a; a = a->next)
        if (memcmp(a->trace, trace_id, 32) == 0 && a->n_iv < SLATE_TEL_MAX_CALLS) {
            a->iv[a->n_iv][0] = start_us;
            a->iv[a->n_iv][1] = end_us;
            a->n_iv++;
            break;
        }
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
        if (c->count == 0 && c->inflight == 0)
            continue;
        slate_report_inbound *e = slate_report_inbound_get(r, t->classes[k].name);
        if (!e) {
            slate_report_free(r);
            return SLATE_ERR_NOMEM;
        }
        e->count = c->count;
        e->ingress = c->ingress;
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
