/* One emulated microservice instance; see demo_svc.h. */
#include "testbed/demo_svc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/err.h"
#include "common/rng.h"
#include "sidecar/trace.h"
#include "testbed/http_pool.h"

#define MAX_PROPAGATED_HEADER 8192 /* traceparent / baggage bytes copied per request */

typedef struct job job;

struct slate_demo_svc {
    const slate_topology *t;  /* borrowed */
    struct event_base *base;  /* borrowed */
    slate_demo_svc_opts opts;
    double mean_ms_per_work; /* service_time_ms of the service */
    int workers, busy;
    job *queue_head, *queue_tail; /* FIFO waiting for a worker */
    job *jobs;                    /* every live job (queued, working or calling) */
    uint64_t queued;
    slate_rng rng;
    struct evhttp *http;     /* owned */
    slate_http_pool *proxy;  /* owned; NULL without a proxy */
    char *filler;            /* owned: SLATE_DEMO_MAX_BODY bytes sent as bodies */
    slate_demo_svc_stats stats;
};

/* A child call to make: node index and how many calls. */
typedef struct planned_call {
    int node;
    int n;
} planned_call;

struct job {
    slate_demo_svc *svc;
    struct evhttp_request *req; /* the inbound request; answered exactly once */
    int klass, node;
    char *traceparent, *baggage; /* owned copies, may be NULL */
    job *next;                   /* queue link */
    job *live_prev, *live_next;  /* svc->jobs links */
    struct event *timer;         /* owned: the work timer */
    planned_call *plan;          /* owned */
    size_t n_plan;
    size_t next_plan; /* sequential: the next entry to start */
    int next_call;    /* calls of plan[next_plan] already started (sequential) */
    int outstanding;
    int failed;
};

static void job_free(job *j)
{
    if (!j)
        return;
    if (j->live_prev)
        j->live_prev->live_next = j->live_next;
    else
        j->svc->jobs = j->live_next;
    if (j->live_next)
        j->live_next->live_prev = j->live_prev;
    if (j->timer)
        event_free(j->timer);
    free(j->plan);
    free(j->traceparent);
    free(j->baggage);
    free(j);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add_printf(b, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

static void finish(job *j)
{
    slate_demo_svc *s = j->svc;
    const slate_call_node *n = &s->t->classes[j->klass].nodes[j->node];
    if (j->failed) {
        s->stats.errors++;
        reply_text(j->req, 502, "Bad Gateway", "a downstream call failed");
    } else {
        size_t bytes = n->response_bytes > SLATE_DEMO_MAX_BODY ? SLATE_DEMO_MAX_BODY
                                                               : (size_t)n->response_bytes;
        struct evbuffer *b = evbuffer_new();
        if (b && bytes)
            evbuffer_add_reference(b, s->filler, bytes, NULL, NULL);
        evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type",
                          "application/octet-stream");
        evhttp_send_reply(j->req, 200, "OK", b);
        if (b)
            evbuffer_free(b);
        s->stats.served++;
    }
    job_free(j);
}

static void start_calls(job *j);

static void on_child_done(int status, size_t body_bytes, void *arg)
{
    (void)body_bytes;
    job *j = arg;
    if (status == 0 || status >= 500) {
        j->failed = 1;
        j->svc->stats.child_errors++;
    }
    j->outstanding--;
    if (j->outstanding > 0)
        return;
    if (j->svc->t->classes[j->klass].nodes[j->node].parallel || j->next_plan >= j->n_plan)
        finish(j);
    else
        start_calls(j);
}

/* Starts one call of child node |ci|; returns 0, or -1 if it could not start. */
static int call_child(job *j, int ci)
{
    slate_demo_svc *s = j->svc;
    const slate_call_node *c = &s->t->classes[j->klass].nodes[ci];
    const char *svc = s->t->services[c->service].name;
    char uri[2 * SLATE_TOPO_MAX_NAME + 16];
    snprintf(uri, sizeof(uri), "http://%s%s%s", svc, c->endpoint[0] == '/' ? "" : "/", c->endpoint);
    slate_http_header h[2];
    size_t nh = 0;
    if (j->traceparent)
        h[nh++] = (slate_http_header){"traceparent", j->traceparent};
    if (j->baggage)
        h[nh++] = (slate_http_header){"baggage", j->baggage};
    size_t body = c->request_bytes > SLATE_DEMO_MAX_BODY ? SLATE_DEMO_MAX_BODY
                                                         : (size_t)c->request_bytes;
    s->stats.child_calls++;
    int rv = slate_http_pool_send(s->proxy, body ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, uri, svc, h,
                                  nh, body ? s->filler : NULL, body, on_child_done, j);
    if (rv != SLATE_OK) {
        s->stats.child_errors++;
        j->failed = 1;
        return -1;
    }
    j->outstanding++;
    return 0;
}

/* Parallel: every planned call now. Sequential: the next one. Finishes the
 * job when nothing could be started and nothing is outstanding. */
static void start_calls(job *j)
{
    int parallel = j->svc->t->classes[j->klass].nodes[j->node].parallel;
    while (j->next_plan < j->n_plan) {
        planned_call *p = &j->plan[j->next_plan];
        if (j->next_call >= p->n) {
            j->next_plan++;
            j->next_call = 0;
            continue;
        }
        j->next_call++;
        if (call_child(j, p->node) == 0 && !parallel)
            return; /* resumes from on_child_done */
        if (j->failed && !parallel)
            break; /* a sequential chain stops at the first failure */
    }
    j->next_plan = j->n_plan;
    if (j->outstanding == 0)
        finish(j);
}

static void dispatch(slate_demo_svc *s);

static void on_work_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job *j = arg;
    slate_demo_svc *s = j->svc;
    s->busy--;
    const slate_call_node *n = &s->t->classes[j->klass].nodes[j->node];
    if (n->n_children > 0 && !s->proxy) {
        s->stats.errors++;
        reply_text(j->req, 500, "Internal Server Error", "no sidecar configured for child calls");
        job_free(j);
    } else {
        j->plan = calloc(n->n_children + 1, sizeof(planned_call));
        if (!j->plan) {
            s->stats.errors++;
            reply_text(j->req, 500, "Internal Server Error", "out of memory");
            job_free(j);
        } else {
            for (size_t i = 0; i < n->n_children; i++) {
                const slate_call_node *c = &s->t->classes[j->klass].nodes[n->children[i]];
                double whole = floor(c->count);
                int calls = (int)whole + (slate_rng_uniform(&s->rng) < c->count - whole);
                if (calls > 0)
                    j->plan[j->n_plan++] = (planned_call){n->children[i], calls};
            }
            start_calls(j);
        }
    }
    dispatch(s);
}

static void dispatch(slate_demo_svc *s)
{
    while (s->busy < s->workers && s->queue_head) {
        job *j = s->queue_head;
        s->queue_head = j->next;
        if (!s->queue_head)
            s->queue_tail = NULL;
        s->queued--;
        const slate_call_node *n = &s->t->classes[j->klass].nodes[j->node];
        double ms = slate_rng_exp(&s->rng, s->mean_ms_per_work * n->work);
        struct timeval tv = {.tv_sec = (time_t)(ms / 1e3),
                             .tv_usec = (suseconds_t)fmod(ms * 1e3, 1e6)};
        j->timer = evtimer_new(s->base, on_work_done, j);
        if (!j->timer || evtimer_add(j->timer, &tv) != 0) {
            s->stats.errors++;
            reply_text(j->req, 500, "Internal Server Error", "out of memory");
            job_free(j);
            continue;
        }
        s->busy++;
    }
}

/* The node of class |k| this service serves at |path|; -1 if none. */
static int find_node(const slate_demo_svc *s, int k, const char *path)
{
    const slate_class *c = &s->t->classes[k];
    int any = -1;
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (c->nodes[i].service != s->opts.service)
            continue;
        if (strcmp(c->nodes[i].endpoint, path) == 0)
            return (int)i;
        if (any < 0)
            any = (int)i;
    }
    return any;
}

static char *copy_header(struct evkeyvalq *in, const char *name)
{
    const char *v = evhttp_find_header(in, name);
    if (!v || strlen(v) > MAX_PROPAGATED_HEADER)
        return NULL;
    return strdup(v);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    default: return "";
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    slate_demo_svc *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    if (strcmp(path, "/healthz") == 0) {
        reply_text(req, 200, "OK", "ok");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    int k = -1;
    char klass[SLATE_TOPO_MAX_NAME + 1];
    const char *baggage = evhttp_find_header(in, "baggage");
    if (baggage && slate_baggage_class(baggage, klass, sizeof(klass)) == 0)
        k = slate_topology_find_class(s->t, klass);
    if (k < 0)
        k = slate_topology_classify(s->t, s->opts.service,
                                    method_name(evhttp_request_get_command(req)), path);
    int node = k >= 0 ? find_node(s, k, path) : -1;
    if (node < 0) {
        s->stats.not_found++;
        reply_text(req, 404, "Not Found", "no call-tree node of this service serves that request");
        return;
    }
    if (s->queued >= SLATE_DEMO_MAX_QUEUE) {
        s->stats.rejected++;
        reply_text(req, 503, "Service Unavailable", "queue full");
        return;
    }
    job *j = calloc(1, sizeof(*j));
    if (!j) {
        reply_text(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    j->svc = s;
    j->req = req;
    j->klass = k;
    j->node = node;
    j->traceparent = copy_header(in, "traceparent");
    j->baggage = copy_header(in, "baggage");
    j->live_next = s->jobs;
    if (s->jobs)
        s->jobs->live_prev = j;
    s->jobs = j;
    if (s->queue_tail)
        s->queue_tail->next = j;
    else
        s->queue_head = j;
    s->queue_tail = j;
    s->queued++;
    if (s->queued > s->stats.queue_peak)
        s->stats.queue_peak = s->queued;
    dispatch(s);
}

int slate_demo_svc_new(const slate_topology *t, struct event_base *base,
                       const slate_demo_svc_opts *opts, slate_demo_svc **out)
{
    if (!t || !base || !opts || !out || opts->service < 0 ||
        (size_t)opts->service >= t->n_services || opts->cluster < 0 ||
        (size_t)opts->cluster >= t->n_clusters || opts->workers < 0 || opts->workers > 100000 ||
        !(opts->timeout_s > 0))
        return SLATE_ERR_INVALID_ARG;
    const slate_deployment *dep = slate_topology_deployment(t, opts->service, opts->cluster);
    if (!dep)
        return SLATE_ERR_NOT_FOUND;
    slate_demo_svc *s = calloc(1, sizeof(*s));
    if (!s)
        return SLATE_ERR_NOMEM;
    s->t = t;
    s->base = base;
    s->opts = *opts;
    s->mean_ms_per_work = t->services[opts->service].service_time_ms;
    s->workers = opts->workers;
    if (s->workers == 0) {
        double w = dep->capacity_rps * s->mean_ms_per_work / 1000.0;
        s->workers = w < 1 ? 1 : (int)lround(w);
        /* The simulator's rule (sim/des.h): the worker count is rounded,
         * the service time follows, so the instance saturates at exactly
         * the topology's capacity -- what the controller's model says. */
        s->mean_ms_per_work = s->workers * 1000.0 / dep->capacity_rps;
    }
    slate_rng_seed(&s->rng, opts->seed);
    s->filler = malloc(SLATE_DEMO_MAX_BODY);
    s->http = evhttp_new(base);
    if (!s->filler || !s->http)
        goto nomem;
    memset(s->filler, 'x', SLATE_DEMO_MAX_BODY);
    evhttp_set_max_headers_size(s->http, 64 * 1024);
    evhttp_set_max_body_size(s->http, SLATE_DEMO_MAX_BODY);
    evhttp_set_timeout(s->http, 60);
    evhttp_set_gencb(s->http, on_request, s);
    if (opts->proxy_host[0]) {
        int rv = slate_http_pool_new(base, opts->proxy_host, opts->proxy_port, 4096,
                                     opts->timeout_s, &s->proxy);
        if (rv != SLATE_OK) {
            slate_demo_svc_free(s);
            return rv;
        }
    }
    *out = s;
    return SLATE_OK;
nomem:
    slate_demo_svc_free(s);
    return SLATE_ERR_NOMEM;
}

void slate_demo_svc_free(slate_demo_svc *s)
{
    if (!s)
        return;
    /* Child calls in flight are dropped without callbacks first, then the
     * jobs; their inbound requests belong to evhttp and go with the server. */
    slate_http_pool_free(s->proxy);
    while (s->jobs)
        job_free(s->jobs);
    if (s->http)
        evhttp_free(s->http);
    free(s->filler);
    free(s);
}

int slate_demo_svc_listen(slate_demo_svc *s, const char *host, uint16_t port, uint16_t *bound_port)
{
    if (!s || !host)
        return SLATE_ERR_INVALID_ARG;
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, host, port);
    if (!bs)
        return SLATE_ERR_IO;
    if (bound_port) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) != 0)
            return SLATE_ERR_IO;
        if (ss.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            return SLATE_ERR_IO;
    }
    return SLATE_OK;
}

int slate_demo_svc_workers(const slate_demo_svc *s)
{
    return s ? s->workers : 0;
}

const slate_demo_svc_stats *slate_demo_svc_stats_get(const slate_demo_svc *s)
{
    return s ? &s->stats : NULL;
}
