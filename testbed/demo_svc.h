/*
 * slate-demo-svc's engine: one emulated microservice instance, i.e. one
 * (service, cluster) of a topology, for the end-to-end testbed.
 *
 * For each request it finds the call-tree node it serves (class from the
 * `baggage` header's slate-class member, or the topology's match rules when
 * it is the root and none came in; node by service and endpoint path),
 * queues the request for one of a fixed pool of workers, holds the worker
 * for a service time drawn from an exponential distribution with mean
 * m x work, then makes the node's child calls through
 * its sidecar (HTTP_PROXY-style absolute-form requests), sequentially or in
 * parallel as the tree says, fractional counts honoured in expectation
 * (floor(count) calls plus one more with probability frac(count)), copying
 * `traceparent` and `baggage` from the request it serves. It answers with
 * the node's response_bytes, 200, or 502 if a child call failed.
 *
 * By default the worker count is round(capacity_rps x service_time_ms /
 * 1000), at least 1, and m = workers x 1000 / capacity_rps ms: the
 * instance saturates at exactly the topology's capacity (m equals
 * service_time_ms when the product is a whole number), as the simulator's
 * queues do (sim/des.h), so the live system and slate-sim model the same
 * thing. With --workers N, m = service_time_ms.
 *
 * Workers are slots, not threads: a worker "works" by waiting on a timer,
 * so many emulated services fit on a 2-core machine while their queues
 * behave like real ones.
 */
#ifndef SLATE_TESTBED_DEMO_SVC_H
#define SLATE_TESTBED_DEMO_SVC_H

#include <stdint.h>

#include <event2/event.h>

#include "topology/topology.h"

#define SLATE_DEMO_MAX_BODY (16u * 1024u * 1024u) /* bytes sent or read per message */
#define SLATE_DEMO_MAX_QUEUE 100000               /* queued requests before 503 */

typedef struct slate_demo_svc_opts {
    int service; /* index in the topology */
    int cluster;
    int workers;          /* 0: round(capacity_rps * service_time_ms / 1000), at least 1 */
    char proxy_host[64];  /* the sidecar's outbound listener; "" = none (leaf only) */
    uint16_t proxy_port;
    double timeout_s;     /* per child call */
    uint64_t seed;
} slate_demo_svc_opts;

typedef struct slate_demo_svc_stats {
    uint64_t served, errors, not_found, rejected, child_calls, child_errors;
    uint64_t queue_peak;
} slate_demo_svc_stats;

typedef struct slate_demo_svc slate_demo_svc;

/* |t| borrowed (must outlive the service), |base| borrowed. */
int slate_demo_svc_new(const slate_topology *t, struct event_base *base,
                       const slate_demo_svc_opts *opts, slate_demo_svc **out);
void slate_demo_svc_free(slate_demo_svc *s);

/* Listens on |host|:|port| (0 = any free port; the bound one is returned). */
int slate_demo_svc_listen(slate_demo_svc *s, const char *host, uint16_t port,
                          uint16_t *bound_port);

int slate_demo_svc_workers(const slate_demo_svc *s);
const slate_demo_svc_stats *slate_demo_svc_stats_get(const slate_demo_svc *s);

#endif
