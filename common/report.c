/* The sidecar report: builder, merge, JSON write and validated parse. */
#include "common/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53: larger integers lose precision in JSON */
#define E         SLATE_ERR_REPORT_INVALID

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= SLATE_REPORT_MAX_NAME;
}

int slate_report_new(const char *service, const char *cluster, const char *instance,
                     const char *address, int64_t start_ms, int64_t end_ms, slate_report **out)
{
    if (!out || !name_ok(service) || !name_ok(cluster) || !name_ok(instance) ||
        (address && !name_ok(address)) || start_ms < 0 || end_ms <= start_ms ||
        end_ms - start_ms > SLATE_REPORT_MAX_WINDOW_MS)
        return SLATE_ERR_INVALID_ARG;
    slate_report *r = calloc(1, sizeof(*r));
    if (!r)
        return SLATE_ERR_NOMEM;
    r->service = strdup(service);
    r->cluster = strdup(cluster);
    r->instance = strdup(instance);
    r->address = address ? strdup(address) : NULL;
    r->start_ms = start_ms;
    r->end_ms = end_ms;
    if (!r->service || !r->cluster || !r->instance || (address && !r->address)) {
        slate_report_free(r);
        return SLATE_ERR_NOMEM;
    }
    *out = r;
    return SLATE_OK;
}

void slate_report_free(slate_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_inbound; i++)
        free(r->inbound[i].klass);
    for (size_t i = 0; i < r->n_outbound; i++) {
        free(r->outbound[i].klass);
        free(r->outbound[i].dst_service);
        free(r->outbound[i].dst_cluster);
    }
    free(r->inbound);
    free(r->outbound);
    free(r->service);
    free(r->cluster);
    free(r->instance);
    free(r->address);
    free(r);
}

static slate_report_inbound *append_inbound(slate_report *r, const char *klass);
static slate_report_outbound *append_outbound(slate_report *r, const char *klass,
                                              const char *dst_service, const char *dst_cluster);

slate_report_inbound *slate_report_inbound_get(slate_report *r, const char *klass)
{
    if (!r || !name_ok(klass))
        return NULL;
    for (size_t i = 0; i < r->n_inbound; i++)
        if (strcmp(r->inbound[i].klass, klass) == 0)
            return &r->inbound[i];
    return append_inbound(r, klass);
}

/* Adds a zeroed entry for |klass| without looking for an existing one. */
static slate_report_inbound *append_inbound(slate_report *r, const char *klass)
{
    if (r->n_inbound == SLATE_REPORT_MAX_INBOUND)
        return NULL;
    if (r->n_inbound == r->cap_inbound) {
        size_t cap = r->cap_inbound ? 2 * r->cap_inbound : 4;
        slate_report_inbound *g = realloc(r->inbound, cap * sizeof(*g));
        if (!g)
            return NULL;
        r->inbound = g;
        r->cap_inbound = cap;
    }
    slate_report_inbound *e = &r->inbound[r->n_inbound];
    memset(e, 0, sizeof(*e));
    if (!(e->klass = strdup(klass)))
        return NULL;
    r->n_inbound++;
    return e;
}

slate_report_outbound *slate_report_outbound_get(slate_report *r, const char *klass,
                                                 const char *dst_service, const char *dst_cluster)
{
    if (!r || !name_ok(klass) || !name_ok(dst_service) || !name_ok(dst_cluster))
        return NULL;
    for (size_t i = 0; i < r->n_outbound; i++) {
        slate_report_outbound *e = &r->outbound[i];
        if (strcmp(e->klass, klass) == 0 && strcmp(e->dst_service, dst_service) == 0 &&
            strcmp(e->dst_cluster, dst_cluster) == 0)
            return e;
    }
    return append_outbound(r, klass, dst_service, dst_cluster);
}

/* Adds a zeroed entry for the key without looking for an existing one. */
static slate_report_outbound *append_outbound(slate_report *r, const char *klass,
                                              const char *dst_service, const char *dst_cluster)
{
    if (r->n_outbound == SLATE_REPORT_MAX_OUTBOUND)
        return NULL;
    if (r->n_outbound == r->cap_outbound) {
        size_t cap = r->cap_outbound ? 2 * r->cap_outbound : 4;
        slate_report_outbound *g = realloc(r->outbound, cap * sizeof(*g));
        if (!g)
            return NULL;
        r->outbound = g;
        r->cap_outbound = cap;
    }
    slate_report_outbound *e = &r->outbound[r->n_outbound];
    memset(e, 0, sizeof(*e));
    e->klass = strdup(klass);
    e->dst_service = strdup(dst_service);
    e->dst_cluster = strdup(dst_cluster);
    if (!e->klass || !e->dst_service || !e->dst_cluster) {
        free(e->klass);
        free(e->dst_service);
        free(e->dst_cluster);
        return NULL;
    }
    r->n_outbound++;
    return e;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int slate_report_merge(slate_report *dst, const slate_report *src)
{
    if (!dst || !src || !same(dst->service, src->service) || !same(dst->cluster, src->cluster) ||
        !same(dst->instance, src->instance))
        return SLATE_ERR_INVALID_ARG;
    double dlen = (double)(dst->end_ms - dst->start_ms),
           slen = (double)(src->end_ms - src->start_ms);
    for (size_t i = 0; i < src->n_inbound; i++) {
        const slate_report_inbound *s = &src->inbound[i];
        size_t before = dst->n_inbound;
        slate_report_inbound *d = slate_report_inbound_get(dst, s->klass);
        if (!d)
            return SLATE_ERR_NOMEM;
        /* A class new to dst was idle for dst's window. */
        double d_inflight = dst->n_inbound > before ? 0 : d->inflight_mean;
        /* Merged: counted from here on, each side's estimate added (taken
         * before ingress changes). */
        d->arrivals = slate_report_inbound_demand(d) + slate_report_inbound_demand(s);
        d->arrivals_counted = 1;
        d->count += s->count;
        d->ingress += s->ingress;
        d->errors += s->errors;
        d->inflight_mean = (d_inflight * dlen + s->inflight_mean * slen) / (dlen + slen);
        slate_hist_merge(&d->latency, &s->latency);
        slate_hist_merge(&d->self_time, &s->self_time);
    }
    for (size_t i = 0; i < dst->n_inbound; i++) {
        /* Classes only in dst were idle during src's window. */
        int in_src = 0;
        for (size_t j = 0; j < src->n_inbound && !in_src; j++)
            in_src = strcmp(dst->inbound[i].klass, src->inbound[j].klass) == 0;
        if (!in_src)
            dst->inbound[i].inflight_mean *= dlen / (dlen + slen);
    }
    for (size_t i = 0; i < src->n_outbound; i++) {
        const slate_report_outbound *s = &src->outbound[i];
        slate_report_outbound *d =
            slate_report_outbound_get(dst, s->klass, s->dst_service, s->dst_cluster);
        if (!d)
            return SLATE_ERR_NOMEM;
        d->count += s->count;
        d->errors += s->errors;
        d->request_bytes += s->request_bytes;
        d->response_bytes += s->response_bytes;
        slate_hist_merge(&d->latency, &s->latency);
    }
    if (src->start_ms < dst->start_ms)
        dst->start_ms = src->start_ms;
    if (src->end_ms > dst->end_ms)
        dst->end_ms = src->end_ms;
    return SLATE_OK;
}

/* ---- writing ---------------------------------------------------------------------- */

static cJSON *hist_json(const slate_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *b = cJSON_CreateArray();
    int ok = o && b && slate_json_attach(o, "count", cJSON_CreateNumber((double)h->count)) &&
             slate_json_attach(o, "sum_us", cJSON_CreateNumber((double)h->sum_us));
    if (ok && h->clamped)
        ok = slate_json_attach(o, "clamped", cJSON_CreateNumber((double)h->clamped));
    for (int i = 0; ok && i < SLATE_HIST_BUCKETS; i++) {
        if (!h->buckets[i])
            continue;
        /* Attached first so |b| owns it whatever fails next. */
        cJSON *pair = cJSON_CreateArray();
        ok = slate_json_attach(b, NULL, pair) &&
             slate_json_attach(pair, NULL, cJSON_CreateNumber(i)) &&
             slate_json_attach(pair, NULL, cJSON_CreateNumber((double)h->buckets[i]));
    }
    if (!ok) {
        cJSON_Delete(o);
        cJSON_Delete(b);
        return NULL;
    }
    if (!slate_json_attach(o, "buckets", b)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int slate_report_to_json(const slate_report *r, char **out, size_t *out_len)
{
    if (!r || !out)
        return SLATE_ERR_INVALID_ARG;
    /* Containers are attached to |root| as soon as they exist, so deleting
     * |root| frees everything on any failure. */
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return SLATE_ERR_NOMEM;
    cJSON *win = cJSON_CreateObject(), *in = cJSON_CreateArray(), *outb = cJSON_CreateArray();
    int ok = slate_json_attach(root, "window", win) & slate_json_attach(root, "inbound", in) &
             slate_json_attach(root, "outbound", outb);
    ok = ok && slate_json_attach(root, "service", cJSON_CreateString(r->service)) &&
         slate_json_attach(root, "cluster", cJSON_CreateString(r->cluster)) &&
         slate_json_attach(root, "instance", cJSON_CreateString(r->instance)) &&
         (!r->address || slate_json_attach(root, "address", cJSON_CreateString(r->address))) &&
         slate_json_attach(win, "start_ms", cJSON_CreateNumber((double)r->start_ms)) &&
         slate_json_attach(win, "end_ms", cJSON_CreateNumber((double)r->end_ms));
    for (size_t i = 0; ok && i < r->n_inbound; i++) {
        const slate_report_inbound *e = &r->inbound[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && slate_json_attach(in, NULL, o) &&
             slate_json_attach(o, "class", cJSON_CreateString(e->klass)) &&
             slate_json_attach(o, "count", cJSON_CreateNumber((double)e->count)) &&
             slate_json_attach(o, "ingress", cJSON_CreateNumber((double)e->ingress)) &&
             (!e->arrivals_counted ||
              slate_json_attach(o, "arrivals", cJSON_CreateNumber((double)e->arrivals))) &&
             slate_json_attach(o, "errors", cJSON_CreateNumber((double)e->errors)) &&
             slate_json_attach(
                 o, "inflight_mean",
                 cJSON_CreateNumber(isfinite(e->inflight_mean) ? e->inflight_mean : 0)) &&
             slate_json_attach(o, "latency", hist_json(&e->latency)) &&
             slate_json_attach(o, "self_time", hist_json(&e->self_time));
    }
    for (size_t i = 0; ok && i < r->n_outbound; i++) {
        const slate_report_outbound *e = &r->outbound[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && slate_json_attach(outb, NULL, o) &&
             slate_json_attach(o, "class", cJSON_CreateString(e->klass)) &&
             slate_json_attach(o, "dst_service", cJSON_CreateString(e->dst_service)) &&
             slate_json_attach(o, "dst_cluster", cJSON_CreateString(e->dst_cluster)) &&
             slate_json_attach(o, "count", cJSON_CreateNumber((double)e->count)) &&
             slate_json_attach(o, "errors", cJSON_CreateNumber((double)e->errors)) &&
             slate_json_attach(o, "latency", hist_json(&e->latency)) &&
             slate_json_attach(o, "request_bytes", cJSON_CreateNumber((double)e->request_bytes)) &&
             slate_json_attach(o, "response_bytes", cJSON_CreateNumber((double)e->response_bytes));
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return SLATE_ERR_NOMEM;
    *out = text;
    if (out_len)
        *out_len = strlen(text);
    return SLATE_OK;
}

/* ---- parsing ---------------------------------------------------------------------- */

/* An exact non-negative integer below 2^53 at |v| (path names it). */
static int check_count(const cJSON *v, uint64_t *out, const slate_jpath *p, slate_diag *d)
{
    double x;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= MAX_EXACT) {
        /* Said here: the generic range message prints both numbers as 9.0072e+15. */
        if (v->valuedouble < 1e16)
            slate_diag_add(d, E, p->buf, "%.0f is not below 2^53 (not exact in JSON)",
                           v->valuedouble);
        else
            slate_diag_add(d, E, p->buf, "%g is not below 2^53 (not exact in JSON)",
                           v->valuedouble);
        return E;
    }
    if (slate_json_check_number(v, 0, MAX_EXACT - 1, &x, p, d, E) != SLATE_OK)
        return E;
    if (x != floor(x)) {
        slate_diag_add(d, E, p->buf, "%.17g is not an integer", x);
        return E;
    }
    *out = (uint64_t)x;
    return SLATE_OK;
}

/* Member |key| of |obj| as a count; absent = 0 unless required. */
static int get_count(const cJSON *obj, const char *key, int required, uint64_t *out, slate_jpath *p,
                     slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t m = slate_jpath_push_key(p, key);
    int rv = SLATE_OK;
    if (!v) {
        if (required) {
            slate_diag_add(d, E, p->buf, "missing");
            rv = E;
        } else {
            *out = 0;
        }
    } else {
        rv = check_count(v, out, p, d);
    }
    slate_jpath_pop(p, m);
    return rv;
}

static int parse_hist(const cJSON *obj, const char *key, slate_hist *h, slate_jpath *p,
                      slate_diag *d)
{
    slate_hist_reset(h);
    size_t m = slate_jpath_push_key(p, key);
    int rv = SLATE_OK;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!o) {
        slate_diag_add(d, E, p->buf, "missing");
        rv = E;
        goto out;
    }
    if (!cJSON_IsObject(o)) {
        slate_diag_add(d, E, p->buf, "expected an object, got %s", slate_json_type_name(o));
        rv = E;
        goto out;
    }
    uint64_t count = 0, sum = 0, clamped = 0;
    if (get_count(o, "count", 1, &count, p, d) || get_count(o, "sum_us", 1, &sum, p, d) ||
        get_count(o, "clamped", 0, &clamped, p, d)) {
        rv = E;
        goto out;
    }
    int bad = 0;
    const cJSON *b = slate_json_get_array(o, "buckets", SLATE_JSON_REQUIRED, p, d, E, &bad);
    if (!b) {
        if (!bad)
            slate_diag_add(d, E, p->buf, "missing member \"buckets\"");
        rv = E;
        goto out;
    }
    size_t mb = slate_jpath_push_key(p, "buckets");
    long prev = -1;
    uint64_t total = 0;
    size_t i = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, b)
    {
        size_t mi = slate_jpath_push_index(p, i++);
        uint64_t idx = 0, n = 0;
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2) {
            slate_diag_add(d, E, p->buf, "expected an [index, count] pair");
            rv = E;
        } else if (check_count(cJSON_GetArrayItem(pair, 0), &idx, p, d) ||
                   check_count(cJSON_GetArrayItem(pair, 1), &n, p, d)) {
            rv = E;
        } else if (idx >= SLATE_HIST_BUCKETS) {
            slate_diag_add(d, E, p->buf, "index %llu out of range [0, %d]", (unsigned long long)idx,
                           SLATE_HIST_BUCKETS - 1);
            rv = E;
        } else if ((long)idx <= prev) {
            slate_diag_add(d, E, p->buf, "indices must be strictly increasing");
            rv = E;
        } else if (n == 0) {
            slate_diag_add(d, E, p->buf, "a listed bucket must have a count >= 1");
            rv = E;
        } else {
            prev = (long)idx;
            h->buckets[idx] = n;
            total += n;
        }
        slate_jpath_pop(p, mi);
        if (rv != SLATE_OK)
            break;
    }
    slate_jpath_pop(p, mb);
    if (rv == SLATE_OK && total != count) {
        slate_diag_add(d, E, p->buf, "bucket counts sum to %llu, \"count\" says %llu",
                       (unsigned long long)total, (unsigned long long)count);
        rv = E;
    }
    if (rv == SLATE_OK && clamped > count) {
        slate_diag_add(d, E, p->buf, "\"clamped\" exceeds \"count\"");
        rv = E;
    }
    h->count = count;
    h->sum_us = sum;
    h->clamped = clamped;
out:
    slate_jpath_pop(p, m);
    return rv;
}

/*
 * The entry keys of one array seen so far while parsing, so that finding
 * duplicates stays linear in the number of entries (a scan per entry made a
 * report at the entry limits cost seconds of controller CPU). Open
 * addressing, kept at most half full; a slot holds an entry index + 1, 0 is
 * empty. The keys themselves are the entries' owned names in the report.
 */
typedef struct key_index {
    uint64_t *hashes; /* owned; hash of the key in the same slot */
    size_t *slots;    /* owned */
    size_t mask;
} key_index;

static int key_index_init(key_index *ix, size_t n_entries)
{
    size_t cap = 8;
    while (cap < 2 * n_entries)
        cap *= 2;
    ix->hashes = calloc(cap, sizeof(*ix->hashes));
    ix->slots = calloc(cap, sizeof(*ix->slots));
    ix->mask = cap - 1;
    if (!ix->hashes || !ix->slots) {
        free(ix->hashes);
        free(ix->slots);
        return SLATE_ERR_NOMEM;
    }
    return SLATE_OK;
}

static void key_index_cleanup(key_index *ix)
{
    free(ix->hashes);
    free(ix->slots);
}

/* FNV-1a over the names with their terminating 0 bytes, so that ("ab", "c")
 * and ("a", "bc") hash apart. */
static uint64_t key_hash(const char *const *names, int n_names)
{
    uint64_t h = 14695981039346656037ull;
    for (int k = 0; k < n_names; k++) {
        const unsigned char *c = (const unsigned char *)names[k];
        do {
            h ^= *c;
            h *= 1099511628211ull;
        } while (*c++);
    }
    return h;
}

/* The key names of inbound (|outbound| 0, one name) or outbound entry |i|. */
static int entry_key(const slate_report *r, int outbound, size_t i, const char *names[3])
{
    if (!outbound) {
        names[0] = r->inbound[i].klass;
        return 1;
    }
    names[0] = r->outbound[i].klass;
    names[1] = r->outbound[i].dst_service;
    names[2] = r->outbound[i].dst_cluster;
    return 3;
}

/*
 * Records that entry |next| (about to be appended) has key |names|; returns
 * 0, or 1 without recording when an earlier entry has the same key. The
 * table cannot fill: it has twice as many slots as the array has entries.
 */
static int key_index_claim(key_index *ix, const slate_report *r, int outbound,
                           const char *const *names, int n_names, size_t next)
{
    uint64_t h = key_hash(names, n_names);
    for (size_t s = (size_t)h & ix->mask;; s = (s + 1) & ix->mask) {
        if (!ix->slots[s]) {
            ix->slots[s] = next + 1;
            ix->hashes[s] = h;
            return 0;
        }
        if (ix->hashes[s] != h)
            continue;
        const char *other[3];
        entry_key(r, outbound, ix->slots[s] - 1, other);
        int same_key = 1;
        for (int k = 0; k < n_names && same_key; k++)
            same_key = strcmp(names[k], other[k]) == 0;
        if (same_key)
            return 1;
    }
}

static int get_name(const cJSON *obj, const char *key, int required, const char **out,
                    slate_jpath *p, slate_diag *d)
{
    *out = NULL;
    return slate_json_get_string(obj, key, required ? SLATE_JSON_REQUIRED : 0,
                                 SLATE_REPORT_MAX_NAME, out, p, d, E);
}

static int parse_inbound(slate_report *r, const cJSON *o, key_index *ix, slate_jpath *p,
                         slate_diag *d)
{
    if (!cJSON_IsObject(o)) {
        slate_diag_add(d, E, p->buf, "expected an object, got %s", slate_json_type_name(o));
        return E;
    }
    const char *klass;
    if (get_name(o, "class", 1, &klass, p, d) != SLATE_OK)
        return E;
    if (key_index_claim(ix, r, 0, &klass, 1, r->n_inbound)) {
        slate_diag_add(d, E, p->buf, "duplicate inbound entry for class \"%s\"", klass);
        return E;
    }
    /* Parsed in place (histograms are 2 KB each: no temporary copies);
     * the entry is taken back out if anything is wrong. */
    slate_report_inbound *e = append_inbound(r, klass);
    if (!e)
        return SLATE_ERR_NOMEM;
    double inflight = 0;
    int rv = SLATE_OK;
    if (get_count(o, "count", 1, &e->count, p, d) ||
        get_count(o, "ingress", 0, &e->ingress, p, d) ||
        get_count(o, "arrivals", 0, &e->arrivals, p, d) ||
        get_count(o, "errors", 0, &e->errors, p, d) ||
        slate_json_get_number(o, "inflight_mean", 0, 0, 1e9, &inflight, p, d, E) ||
        parse_hist(o, "latency", &e->latency, p, d) ||
        parse_hist(o, "self_time", &e->self_time, p, d))
        rv = E;
    if (rv == SLATE_OK && e->errors > e->count) {
        slate_diag_add(d, E, p->buf, "errors (%llu) exceed count (%llu)",
                       (unsigned long long)e->errors, (unsigned long long)e->count);
        rv = E;
    }
    if (rv == SLATE_OK && e->ingress > e->count) {
        slate_diag_add(d, E, p->buf, "ingress (%llu) exceeds count (%llu)",
                       (unsigned long long)e->ingress, (unsigned long long)e->count);
        rv = E;
    }
    e->arrivals_counted = cJSON_GetObjectItemCaseSensitive(o, "arrivals") != NULL;
    if (rv == SLATE_OK && e->latency.count != e->count) {
        slate_diag_add(d, E, p->buf, "latency.count (%llu) differs from count (%llu)",
                       (unsigned long long)e->latency.count, (unsigned long long)e->count);
        rv = E;
    }
    if (rv == SLATE_OK && e->self_time.count > e->count) {
        slate_diag_add(d, E, p->buf, "self_time.count exceeds count");
        rv = E;
    }
    if (rv != SLATE_OK) {
        free(e->klass);
        r->n_inbound--; /* it was the last entry */
        return rv;
    }
    e->inflight_mean = inflight;
    return SLATE_OK;
}

static int parse_outbound(slate_report *r, const cJSON *o, key_index *ix, slate_jpath *p,
                          slate_diag *d)
{
    if (!cJSON_IsObject(o)) {
        slate_diag_add(d, E, p->buf, "expected an object, got %s", slate_json_type_name(o));
        return E;
    }
    const char *klass, *svc, *cl;
    if (get_name(o, "class", 1, &klass, p, d) | get_name(o, "dst_service", 1, &svc, p, d) |
        get_name(o, "dst_cluster", 1, &cl, p, d))
        return E;
    const char *key[3] = {klass, svc, cl};
    if (key_index_claim(ix, r, 1, key, 3, r->n_outbound)) {
        slate_diag_add(d, E, p->buf, "duplicate outbound entry for (%s, %s, %s)", klass, svc, cl);
        return E;
    }
    slate_report_outbound *e = append_outbound(r, klass, svc, cl);
    if (!e)
        return SLATE_ERR_NOMEM;
    int rv = SLATE_OK;
    if (get_count(o, "count", 1, &e->count, p, d) || get_count(o, "errors", 0, &e->errors, p, d) ||
        get_count(o, "request_bytes", 0, &e->request_bytes, p, d) ||
        get_count(o, "response_bytes", 0, &e->response_bytes, p, d) ||
        parse_hist(o, "latency", &e->latency, p, d))
        rv = E;
    if (rv == SLATE_OK && e->errors > e->count) {
        slate_diag_add(d, E, p->buf, "errors (%llu) exceed count (%llu)",
                       (unsigned long long)e->errors, (unsigned long long)e->count);
        rv = E;
    }
    if (rv == SLATE_OK && e->latency.count != e->count) {
        slate_diag_add(d, E, p->buf, "latency.count (%llu) differs from count (%llu)",
                       (unsigned long long)e->latency.count, (unsigned long long)e->count);
        rv = E;
    }
    if (rv != SLATE_OK) {
        free(e->klass);
        free(e->dst_service);
        free(e->dst_cluster);
        r->n_outbound--; /* it was the last entry */
        return rv;
    }
    return SLATE_OK;
}

/* Parses the entries of array member |key| with |fn|, at most |max|. */
static int parse_entries(slate_report *r, const cJSON *root, const char *key, size_t max,
                         int (*fn)(slate_report *, const cJSON *, key_index *, slate_jpath *,
                                   slate_diag *),
                         slate_jpath *p, slate_diag *d)
{
    int bad = 0;
    const cJSON *arr = slate_json_get_array(root, key, 0, p, d, E, &bad);
    if (bad)
        return E;
    if (!arr)
        return SLATE_OK;
    size_t m = slate_jpath_push_key(p, key);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    key_index ix = {0};
    int rv = SLATE_OK;
    if (n > max) {
        slate_diag_add(d, E, p->buf, "more than %zu entries", max);
        rv = E;
    } else {
        rv = key_index_init(&ix, n);
    }
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        if (rv != SLATE_OK)
            break;
        size_t mi = slate_jpath_push_index(p, i++);
        rv = fn(r, o, &ix, p, d);
        slate_jpath_pop(p, mi);
    }
    key_index_cleanup(&ix);
    slate_jpath_pop(p, m);
    return rv;
}

int slate_report_parse(const char *text, size_t len, slate_report **out, slate_diag *d)
{
    if (!out || (!text && len))
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_REPORT_MAX_BYTES, &root, d);
    if (rv != SLATE_OK)
        return rv;
    slate_report *r = NULL;
    slate_jpath p;
    slate_jpath_init(&p);
    if (!cJSON_IsObject(root)) {
        slate_diag_add(d, E, "", "a report must be a JSON object, got %s",
                       slate_json_type_name(root));
        rv = E;
        goto out;
    }
    const char *service, *cluster, *instance, *address;
    double start = 0, end = 0;
    int bad = 0;
    rv = get_name(root, "service", 1, &service, &p, d) |
         get_name(root, "cluster", 1, &cluster, &p, d) |
         get_name(root, "instance", 1, &instance, &p, d) |
         get_name(root, "address", 0, &address, &p, d);
    const cJSON *win = slate_json_get_object(root, "window", SLATE_JSON_REQUIRED, &p, d, E, &bad);
    if (!win) {
        if (!bad)
            slate_diag_add(d, E, "window", "missing");
        rv = E;
    } else {
        size_t m = slate_jpath_push_key(&p, "window");
        rv |= slate_json_get_number(win, "start_ms", SLATE_JSON_REQUIRED, 0, MAX_EXACT - 1, &start,
                                    &p, d, E) |
              slate_json_get_number(win, "end_ms", SLATE_JSON_REQUIRED, 0, MAX_EXACT - 1, &end, &p,
                                    d, E);
        if (rv == SLATE_OK && (start != floor(start) || end != floor(end))) {
            slate_diag_add(d, E, p.buf, "start_ms and end_ms must be integers");
            rv = E;
        } else if (rv == SLATE_OK && !(end > start)) {
            slate_diag_add(d, E, p.buf, "end_ms must be after start_ms");
            rv = E;
        } else if (rv == SLATE_OK && end - start > SLATE_REPORT_MAX_WINDOW_MS) {
            slate_diag_add(d, E, p.buf, "window longer than %d ms", SLATE_REPORT_MAX_WINDOW_MS);
            rv = E;
        }
        slate_jpath_pop(&p, m);
    }
    if (rv != SLATE_OK) {
        rv = E;
        goto out;
    }
    rv = slate_report_new(service, cluster, instance, address, (int64_t)start, (int64_t)end, &r);
    if (rv != SLATE_OK) {
        rv = rv == SLATE_ERR_NOMEM ? rv : E;
        goto out;
    }
    rv = parse_entries(r, root, "inbound", SLATE_REPORT_MAX_INBOUND, parse_inbound, &p, d);
    if (rv == SLATE_OK)
        rv = parse_entries(r, root, "outbound", SLATE_REPORT_MAX_OUTBOUND, parse_outbound, &p, d);
out:
    cJSON_Delete(root);
    if (rv != SLATE_OK) {
        slate_report_free(r);
        return rv;
    }
    *out = r;
    return SLATE_OK;
}
