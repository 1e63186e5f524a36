/* Open-loop load generation; see load.h. */
#include "testbed/load.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "common/err.h"
#include "common/rng.h"
#include "testbed/http_pool.h"

typedef struct target_rt {
    slate_load_target cfg;
    slate_http_pool *pool; /* owned */
} target_rt;

typedef struct stream_rt {
    slate_load_stream pub;
    size_t target;          /* index into targets */
    double next_arrival_us; /* scheduled time of the next request, since start */
    const char *method_name;
    enum evhttp_cmd_type method;
    const char *path; /* borrowed from the topology, or "/" */
    const char *host; /* root service name, borrowed */
} stream_rt;

struct slate_load {
    const slate_topology *t; /* borrowed */
    slate_load_opts opts;
    target_rt *targets; /* owned */
    size_t n_targets;
    stream_rt *streams; /* owned */
    size_t n_streams;
    slate_rng rng;
    struct event_base *base;
    struct event *tick;     /* next arrival */
    struct event *progress; /* once per second */
    double start_us;        /* monotonic */
    int sending;
    size_t inflight;
    struct request_ctx *pending; /* in flight */
    struct {
        double at_us;
        int cluster;
        double factor;
        int done;
    } steps[16];
    size_t n_steps;
};

/* One request in flight; listed in slate_load so that requests still
 * unanswered when the run ends are freed (the pool drops them silently). */
typedef struct request_ctx {
    slate_load *l;
    size_t stream;
    double scheduled_us; /* since start */
    struct request_ctx *prev, *next;
} request_ctx;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void slate_load_opts_init(slate_load_opts *o)
{
    *o = (slate_load_opts){.duration_s = 10,
                           .drain_s = 5,
                           .timeout_s = 10,
                           .seed = 1,
                           .max_conns = 512,
                           .progress = 0};
}

int slate_load_new(const slate_topology *t, const slate_load_target *targets, size_t n_targets,
                   const slate_load_opts *opts, slate_load **out)
{
    if (!t || !opts || !out || (n_targets && !targets) || n_targets > SLATE_TOPO_MAX_CLUSTERS)
        return SLATE_ERR_INVALID_ARG;
    if (!(opts->duration_s > 0) || opts->duration_s > SLATE_LOAD_MAX_SECONDS ||
        !(opts->drain_s >= 0) || opts->drain_s > 3600 || !(opts->timeout_s > 0) ||
        opts->max_conns == 0)
        return SLATE_ERR_INVALID_ARG;
    slate_load *l = calloc(1, sizeof(*l));
    if (!l)
        return SLATE_ERR_NOMEM;
    l->t = t;
    l->opts = *opts;
    slate_rng_seed(&l->rng, opts->seed);
    /* libevent's default clock is the coarse monotonic one (a few ms per
     * tick on this kernel), which would add milliseconds of jitter to every
     * arrival time; the precise timer keeps the Poisson schedule honest. */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        l->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    l->targets = calloc(n_targets + 1, sizeof(target_rt));
    if (!l->base || !l->targets)
        goto nomem;
    for (size_t i = 0; i < n_targets; i++) {
        if (targets[i].cluster < 0 || (size_t)targets[i].cluster >= t->n_clusters) {
            slate_load_free(l);
            return SLATE_ERR_INVALID_ARG;
        }
        l->targets[i].cfg = targets[i];
        int rv = slate_http_pool_new(l->base, targets[i].host, targets[i].port, opts->max_conns,
                                     opts->timeout_s, &l->targets[i].pool);
        l->n_targets = i + 1;
        if (rv != SLATE_OK) {
            slate_load_free(l);
            return rv;
        }
    }
    *out = l;
    return SLATE_OK;
nomem:
    slate_load_free(l);
    return SLATE_ERR_NOMEM;
}

void slate_load_free(slate_load *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_targets; i++)
        slate_http_pool_free(l->targets[i].pool);
    while (l->pending) {
        struct request_ctx *rq = l->pending;
        l->pending = rq->next;
        free(rq);
    }
    for (size_t i = 0; i < l->n_streams; i++)
        free(l->streams[i].pub.timeline);
    if (l->tick)
        event_free(l->tick);
    if (l->progress)
        event_free(l->progress);
    if (l->base)
        event_base_free(l->base);
    free(l->targets);
    free(l->streams);
    free(l);
}

static enum evhttp_cmd_type method_of(const char *name)
{
    if (!name)
        return EVHTTP_REQ_GET;
    static const struct {
        const char *name;
        enum evhttp_cmd_type cmd;
    } methods[] = {{"GET", EVHTTP_REQ_GET},   {"POST", EVHTTP_REQ_POST},
                   {"PUT", EVHTTP_REQ_PUT},   {"DELETE", EVHTTP_REQ_DELETE},
                   {"HEAD", EVHTTP_REQ_HEAD}, {"PATCH", EVHTTP_REQ_PATCH},
                   {"OPTIONS", EVHTTP_REQ_OPTIONS}};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, name) == 0)
            return methods[i].cmd;
    return EVHTTP_REQ_GET;
}

int slate_load_add_stream(slate_load *l, int klass, int cluster, double rps)
{
    if (!l || klass < 0 || (size_t)klass >= l->t->n_classes || cluster < 0 ||
        (size_t)cluster >= l->t->n_clusters || !(rps > 0) || rps > 1e6)
        return SLATE_ERR_INVALID_ARG;
    if (l->n_streams == SLATE_LOAD_MAX_STREAMS)
        return SLATE_ERR_TOO_LARGE;
    size_t target = l->n_targets;
    for (size_t i = 0; i < l->n_targets; i++)
        if (l->targets[i].cfg.cluster == cluster)
            target = i;
    if (target == l->n_targets)
        return SLATE_ERR_NOT_FOUND;
    size_t n_seconds = (size_t)ceil(l->opts.duration_s) + 1;
    slate_load_second *timeline = calloc(n_seconds, sizeof(*timeline));
    stream_rt *grown = realloc(l->streams, (l->n_streams + 1) * sizeof(*grown));
    if (!timeline || !grown) {
        free(timeline);
        if (grown)
            l->streams = grown;
        return SLATE_ERR_NOMEM;
    }
    l->streams = grown;
    const slate_class *c = &l->t->classes[klass];
    stream_rt *s = &l->streams[l->n_streams++];
    memset(s, 0, sizeof(*s));
    s->pub.klass = klass;
    s->pub.cluster = cluster;
    s->pub.rps = rps;
    slate_hist_reset(&s->pub.latency);
    s->pub.timeline = timeline;
    s->pub.n_seconds = n_seconds;
    s->target = target;
    s->method_name = c->match_method ? c->match_method : "GET";
    s->method = method_of(c->match_method);
    s->path = c->match_path_prefix && c->match_path_prefix[0] == '/'
                  ? c->match_path_prefix
                  : (c->nodes[0].endpoint[0] == '/' ? c->nodes[0].endpoint : "/");
    s->host = l->t->services[c->nodes[0].service].name;
    return SLATE_OK;
}

int slate_load_add_step(slate_load *l, double at_s, int cluster, double factor)
{
    if (!l || !(at_s >= 0) || !(factor > 0) || factor > 1e3 || cluster < -1 ||
        cluster >= (int)l->t->n_clusters)
        return SLATE_ERR_INVALID_ARG;
    if (l->n_steps == sizeof(l->steps) / sizeof(l->steps[0]))
        return SLATE_ERR_TOO_LARGE;
    l->steps[l->n_steps].at_us = at_s * 1e6;
    l->steps[l->n_steps].cluster = cluster;
    l->steps[l->n_steps].factor = factor;
    l->steps[l->n_steps].done = 0;
    l->n_steps++;
    return SLATE_OK;
}

/* Applies the steps whose time has come; a stream's next arrival, drawn at
 * the old rate, stays, later ones use the new rate. */
static void apply_steps(slate_load *l, double elapsed_us)
{
    for (size_t i = 0; i < l->n_steps; i++) {
        if (l->steps[i].done || elapsed_us < l->steps[i].at_us)
            continue;
        l->steps[i].done = 1;
        for (size_t j = 0; j < l->n_streams; j++)
            if (l->steps[i].cluster < 0 || l->streams[j].pub.cluster == l->steps[i].cluster)
                l->streams[j].pub.rps *= l->steps[i].factor;
    }
}

static void on_done(int status, size_t body_bytes, void *arg)
{
    (void)body_bytes;
    request_ctx *rq = arg;
    slate_load *l = rq->l;
    stream_rt *s = &l->streams[rq->stream];
    double latency_us = now_us() - l->start_us - rq->scheduled_us;
    if (latency_us < 0)
        latency_us = 0;
    size_t second = (size_t)(rq->scheduled_us / 1e6);
    if (second >= s->pub.n_seconds)
        second = s->pub.n_seconds - 1;
    s->pub.completed++;
    if (status == 0)
        s->pub.transport_errors++;
    else if (status >= 500)
        s->pub.status_5xx++;
    else if (status >= 400)
        s->pub.status_4xx++;
    else
        s->pub.status_2xx++;
    /* 4xx is the client's fault, not an overload symptom, but a request
     * that did not get its answer still failed: count it as an error. */
    if (status == 0 || status >= 400) {
        s->pub.errors++;
        s->pub.timeline[second].errors++;
    } else {
        uint64_t us = (uint64_t)llround(latency_us);
        slate_hist_record(&s->pub.latency, us);
        s->pub.timeline[second].count++;
        s->pub.timeline[second].sum_us += us;
    }
    l->inflight--;
    if (rq->prev)
        rq->prev->next = rq->next;
    else
        l->pending = rq->next;
    if (rq->next)
        rq->next->prev = rq->prev;
    free(rq);
    if (!l->sending && l->inflight == 0)
        event_base_loopbreak(l->base);
}

static void send_one(slate_load *l, size_t si, double scheduled_us)
{
    stream_rt *s = &l->streams[si];
    s->pub.sent++;
    request_ctx *rq = malloc(sizeof(*rq));
    if (!rq) {
        s->pub.refused++;
        return;
    }
    *rq = (request_ctx){.l = l, .stream = si, .scheduled_us = scheduled_us, .next = l->pending};
    int rv = slate_http_pool_send(l->targets[s->target].pool, s->method, s->path, s->host, NULL, 0,
                                  NULL, 0, on_done, rq);
    if (rv != SLATE_OK) {
        free(rq);
        s->pub.refused++;
        return;
    }
    if (l->pending)
        l->pending->prev = rq;
    l->pending = rq;
    l->inflight++;
}

static void arm_tick(slate_load *l, double elapsed_us)
{
    double next = INFINITY;
    for (size_t i = 0; i < l->n_streams; i++)
        if (l->streams[i].next_arrival_us < next)
            next = l->streams[i].next_arrival_us;
    double delay = next - elapsed_us;
    if (delay < 0)
        delay = 0;
    struct timeval tv = {.tv_sec = (time_t)(delay / 1e6),
                         .tv_usec = (suseconds_t)fmod(delay, 1e6)};
    evtimer_add(l->tick, &tv);
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((slate_load *)arg)->base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    slate_load *l = arg;
    double elapsed = now_us() - l->start_us;
    double end = l->opts.duration_s * 1e6;
    apply_steps(l, elapsed);
    for (size_t i = 0; i < l->n_streams; i++) {
        stream_rt *s = &l->streams[i];
        /* Bounded per tick so one late wake-up cannot spin forever. */
        for (int burst = 0; burst < 100000 && s->next_arrival_us <= elapsed &&
                            s->next_arrival_us < end;
             burst++) {
            send_one(l, i, s->next_arrival_us);
            s->next_arrival_us += slate_rng_exp(&l->rng, 1e6 / s->pub.rps);
        }
    }
    int more = 0;
    for (size_t i = 0; i < l->n_streams; i++)
        more |= l->streams[i].next_arrival_us < end;
    if (more) {
        arm_tick(l, elapsed);
        return;
    }
    l->sending = 0;
    if (l->inflight == 0) {
        event_base_loopbreak(l->base);
        return;
    }
    /* Reuse the tick event as the drain deadline. */
    event_free(l->tick);
    l->tick = evtimer_new(l->base, on_drain_deadline, l);
    struct timeval tv = {.tv_sec = (time_t)l->opts.drain_s,
                         .tv_usec = (suseconds_t)fmod(l->opts.drain_s * 1e6, 1e6)};
    if (l->tick)
        evtimer_add(l->tick, &tv);
    else
        event_base_loopbreak(l->base);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    slate_load *l = arg;
    uint64_t sent = 0, ok = 0, err = 0, refused = 0;
    slate_hist all;
    slate_hist_reset(&all);
    for (size_t i = 0; i < l->n_streams; i++) {
        sent += l->streams[i].pub.sent;
        ok += l->streams[i].pub.status_2xx;
        err += l->streams[i].pub.errors;
        refused += l->streams[i].pub.refused;
        slate_hist_merge(&all, &l->streams[i].pub.latency);
    }
    fprintf(stderr,
            "\rt=%5.1fs sent=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64 " refused=%" PRIu64
            " in-flight=%zu mean=%.2fms p99=%.2fms   ",
            (now_us() - l->start_us) / 1e6, sent, ok, err, refused, l->inflight,
            slate_hist_mean_ms(&all), slate_hist_quantile_ms(&all, 0.99));
    fflush(stderr);
}

int slate_load_run(slate_load *l)
{
    if (!l || l->n_streams == 0)
        return SLATE_ERR_INVALID_ARG;
    l->tick = evtimer_new(l->base, on_tick, l);
    if (!l->tick)
        return SLATE_ERR_NOMEM;
    if (l->opts.progress) {
        l->progress = event_new(l->base, -1, EV_PERSIST, on_progress, l);
        struct timeval one = {.tv_sec = 1};
        if (!l->progress || event_add(l->progress, &one) != 0)
            return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < l->n_streams; i++)
        l->streams[i].next_arrival_us = slate_rng_exp(&l->rng, 1e6 / l->streams[i].pub.rps);
    l->sending = 1;
    l->start_us = now_us();
    arm_tick(l, 0);
    if (event_base_dispatch(l->base) < 0)
        return SLATE_ERR_IO;
    if (l->opts.progress) {
        on_progress(-1, 0, l);
        fputc('\n', stderr);
    }
    /* Requests still in flight after the drain are failures the run saw. */
    return SLATE_OK;
}

size_t slate_load_n_streams(const slate_load *l)
{
    return l ? l->n_streams : 0;
}

const slate_load_stream *slate_load_stream_at(const slate_load *l, size_t i)
{
    return l && i < l->n_streams ? &l->streams[i].pub : NULL;
}

/* Requests sent but never answered (still in flight at the end). */
static uint64_t unanswered(const slate_load_stream *s)
{
    return s->sent - s->refused - s->completed;
}

void slate_load_print_table(const slate_load *l, FILE *fp)
{
    fprintf(fp, "%-16s %-10s %8s %8s %8s %7s %8s %9s %9s %9s %9s\n", "class", "cluster", "rps",
            "sent", "ok", "errors", "refused", "mean_ms", "p50_ms", "p90_ms", "p99_ms");
    slate_hist all;
    slate_hist_reset(&all);
    uint64_t sent = 0, ok = 0, err = 0, refused = 0;
    double rps = 0;
    for (size_t i = 0; i < l->n_streams; i++) {
        const slate_load_stream *s = &l->streams[i].pub;
        uint64_t errors = s->errors + unanswered(s);
        fprintf(fp, "%-16s %-10s %8.1f %8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %8" PRIu64
                    " %9.2f %9.2f %9.2f %9.2f\n",
                l->t->classes[s->klass].name, l->t->clusters[s->cluster], s->rps, s->sent,
                s->status_2xx, errors, s->refused, slate_hist_mean_ms(&s->latency),
                slate_hist_quantile_ms(&s->latency, 0.5), slate_hist_quantile_ms(&s->latency, 0.9),
                slate_hist_quantile_ms(&s->latency, 0.99));
        slate_hist_merge(&all, &s->latency);
        sent += s->sent;
        ok += s->status_2xx;
        err += errors;
        refused += s->refused;
        rps += s->rps;
    }
    fprintf(fp, "%-16s %-10s %8.1f %8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %8" PRIu64
                " %9.2f %9.2f %9.2f %9.2f\n",
            "total", "-", rps, sent, ok, err, refused, slate_hist_mean_ms(&all),
            slate_hist_quantile_ms(&all, 0.5), slate_hist_quantile_ms(&all, 0.9),
            slate_hist_quantile_ms(&all, 0.99));
}

void slate_load_write_csv(const slate_load *l, FILE *fp)
{
    fprintf(fp, "class,cluster,rps,sent,ok,errors,refused,mean_ms,p50_ms,p90_ms,p99_ms\n");
    for (size_t i = 0; i < l->n_streams; i++) {
        const slate_load_stream *s = &l->streams[i].pub;
        fprintf(fp, "%s,%s,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.4f,%.4f,%.4f,%.4f\n",
                l->t->classes[s->klass].name, l->t->clusters[s->cluster], s->rps, s->sent,
                s->status_2xx, s->errors + unanswered(s), s->refused,
                slate_hist_mean_ms(&s->latency), slate_hist_quantile_ms(&s->latency, 0.5),
                slate_hist_quantile_ms(&s->latency, 0.9), slate_hist_quantile_ms(&s->latency, 0.99));
    }
}

void slate_load_write_timeline(const slate_load *l, FILE *fp)
{
    fprintf(fp, "second,class,cluster,ok,mean_ms,errors\n");
    for (size_t i = 0; i < l->n_streams; i++) {
        const slate_load_stream *s = &l->streams[i].pub;
        for (size_t sec = 0; sec < s->n_seconds; sec++) {
            const slate_load_second *b = &s->timeline[sec];
            fprintf(fp, "%zu,%s,%s,%" PRIu64 ",%.4f,%" PRIu64 "\n", sec,
                    l->t->classes[s->klass].name, l->t->clusters[s->cluster], b->count,
                    b->count ? (double)b->sum_us / (double)b->count / 1e3 : 0.0, b->errors);
        }
    }
}

static cJSON *stream_json(const slate_load *l, const slate_load_stream *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "class", l->t->classes[s->klass].name);
    cJSON_AddStringToObject(o, "cluster", l->t->clusters[s->cluster]);
    cJSON_AddNumberToObject(o, "rps", s->rps);
    cJSON_AddNumberToObject(o, "sent", (double)s->sent);
    cJSON_AddNumberToObject(o, "ok", (double)s->status_2xx);
    cJSON_AddNumberToObject(o, "errors", (double)(s->errors + unanswered(s)));
    cJSON_AddNumberToObject(o, "status_4xx", (double)s->status_4xx);
    cJSON_AddNumberToObject(o, "status_5xx", (double)s->status_5xx);
    cJSON_AddNumberToObject(o, "transport_errors", (double)s->transport_errors);
    cJSON_AddNumberToObject(o, "unanswered", (double)unanswered(s));
    cJSON_AddNumberToObject(o, "refused", (double)s->refused);
    cJSON_AddNumberToObject(o, "mean_ms", slate_hist_mean_ms(&s->latency));
    cJSON_AddNumberToObject(o, "p50_ms", slate_hist_quantile_ms(&s->latency, 0.5));
    cJSON_AddNumberToObject(o, "p90_ms", slate_hist_quantile_ms(&s->latency, 0.9));
    cJSON_AddNumberToObject(o, "p99_ms", slate_hist_quantile_ms(&s->latency, 0.99));
    return o;
}

int slate_load_to_json(const slate_load *l, char **out)
{
    if (!l || !out)
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "streams") : NULL;
    if (!arr)
        goto nomem;
    slate_hist all;
    slate_hist_reset(&all);
    uint64_t sent = 0, ok = 0, err = 0, refused = 0;
    for (size_t i = 0; i < l->n_streams; i++) {
        const slate_load_stream *s = &l->streams[i].pub;
        cJSON *o = stream_json(l, s);
        if (!o)
            goto nomem;
        cJSON_AddItemToArray(arr, o);
        slate_hist_merge(&all, &s->latency);
        sent += s->sent;
        ok += s->status_2xx;
        err += s->errors + unanswered(s);
        refused += s->refused;
    }
    cJSON *tot = cJSON_AddObjectToObject(root, "total");
    if (!tot)
        goto nomem;
    cJSON_AddNumberToObject(tot, "sent", (double)sent);
    cJSON_AddNumberToObject(tot, "ok", (double)ok);
    cJSON_AddNumberToObject(tot, "errors", (double)err);
    cJSON_AddNumberToObject(tot, "refused", (double)refused);
    cJSON_AddNumberToObject(tot, "mean_ms", slate_hist_mean_ms(&all));
    cJSON_AddNumberToObject(tot, "p50_ms", slate_hist_quantile_ms(&all, 0.5));
    cJSON_AddNumberToObject(tot, "p90_ms", slate_hist_quantile_ms(&all, 0.9));
    cJSON_AddNumberToObject(tot, "p99_ms", slate_hist_quantile_ms(&all, 0.99));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return SLATE_ERR_NOMEM;
    *out = text;
    return SLATE_OK;
nomem:
    cJSON_Delete(root);
    return SLATE_ERR_NOMEM;
}
