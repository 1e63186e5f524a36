/*
 * Inside the sidecar module only: what proxy.c shares with the HTTP/2 code
 * (h2_server.c, h2_upstream.c) and what the HTTP/2 code offers proxy.c. No
 * nghttp2 type appears here; see h2_stream.h for the HTTP/2 internals.
 *
 * Both protocols make the same decisions through the same functions: one
 * request's destination, class, trace and endpoint come from
 * slate_px_route_request(), and its end is recorded by slate_px_account(),
 * so telemetry, egress accounting and outlier ejection do not depend on
 * whether the request came as HTTP/1.1 or as an HTTP/2 stream.
 */
#ifndef SLATE_SIDECAR_H2_INT_H
#define SLATE_SIDECAR_H2_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "sidecar/proxy.h"
#include "sidecar/telemetry.h"
#include "topology/topology.h"

struct upstream;
struct slate_h2_upstream;

/* An upstream address the proxy sends requests to. Endpoints live in one
 * array allocated once (see slate_proxy_new), so pointers stay valid for the
 * proxy's lifetime. */
typedef struct slate_px_endpoint {
    char host[64];
    uint16_t port;
    int service, cluster;
    unsigned outstanding; /* requests sent and not finished, both protocols */
    unsigned consecutive_failures;
    unsigned ejections; /* ejected since the last success: scales the next ejection */
    double ejected_until_us;
    struct upstream *idle;        /* HTTP/1.1 kept-alive connections */
    struct slate_h2_upstream *h2; /* the multiplexed HTTP/2 session, or NULL */
} slate_px_endpoint;

/* One request's routing inputs; strings borrowed, NULL when absent. */
typedef struct slate_px_request {
    const char *method;    /* "GET", ... */
    const char *target;    /* request-target: origin form, or absolute form (HTTP_PROXY) */
    const char *authority; /* Host or :authority */
    const char *baggage, *traceparent, *b3, *x_b3_traceid;
} slate_px_request;

/* What the proxy decided for one request, whichever protocol carried it. */
typedef struct slate_px_route {
    int inbound;
    int klass; /* class index, -1 when unclassified */
    int dst_service, dst_cluster;
    int ingress; /* 1 when this sidecar classified the request */
    char trace[33];
    int has_trace;
    char add_traceparent[56]; /* to add upstream; "" = none */
    char class_baggage[SLATE_TOPO_MAX_NAME +
                       32];  /* "slate-class=x" to put first in baggage; "" = keep */
    slate_px_endpoint *ep;   /* NULL when no endpoint was found */
    slate_sc_active *active; /* inbound telemetry handle (may be NULL) */
    double start_us;         /* slate_proxy_now_us() at the decision */
} slate_px_route;

/*
 * Decides destination, class, trace and endpoint for |rq|, counts the
 * request (requests_in/out) and, inbound, starts its telemetry. Returns 0, or
 * the HTTP status to answer (502 unknown destination, 503 no healthy
 * endpoint) with |*why| a short reason; |r| is filled either way so that
 * slate_px_account() can record the failure.
 */
int slate_px_route_request(slate_proxy *p, int inbound, const slate_px_request *rq,
                           slate_px_route *r, const char **why);

/* Records the end of a routed request: telemetry (|status| 0 = failed without
 * an upstream response) and, for a completed call to another cluster, the
 * cross-cluster bytes and their egress price. Bytes are body bytes. */
void slate_px_account(slate_proxy *p, const slate_px_route *r, int status, uint64_t request_bytes,
                      uint64_t response_bytes);

/* An upstream answered |status|: 5xx count toward ejection (5 in a row),
 * anything else resets the count. */
void slate_px_endpoint_result(slate_proxy *p, slate_px_endpoint *ep, int status);
/* The connection to |ep| failed or timed out: ejected at once. */
void slate_px_endpoint_eject(slate_proxy *p, slate_px_endpoint *ep);
/* An endpoint for retrying |r| elsewhere than |avoid| (another cluster by the
 * table's weights, else any deployed one), or NULL. */
slate_px_endpoint *slate_px_retry_endpoint(slate_proxy *p, const slate_px_route *r,
                                           const slate_px_endpoint *avoid);
/* The emulated WAN delay before sending to |dst_cluster|, in ms (0 = none). */
double slate_px_wan_delay_ms(const slate_proxy *p, int dst_cluster);
/* "GET", "HEAD", "PUT", "DELETE", "OPTIONS": safe to send twice. */
int slate_px_idempotent(const char *method);
/* Hop-by-hop header names (RFC 9110 7.6.1), case-insensitive. */
int slate_px_hop_by_hop(const char *name);

struct event_base *slate_px_base(const slate_proxy *p);
const slate_proxy_config *slate_px_config(const slate_proxy *p);
slate_proxy_stats *slate_px_stats(slate_proxy *p); /* counters the HTTP/2 code adds to */
void slate_px_inflight_add(slate_proxy *p, int delta);
/* Sets TCP_NODELAY: a proxy writes heads and bodies as they come. */
void slate_px_no_delay(evutil_socket_t fd);

/* ---- offered by the HTTP/2 code ----------------------------------------------------- */

#define SLATE_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define SLATE_H2_PREFACE_LEN 24

/* The HTTP/2 state of one proxy: downstream connections and upstream
 * sessions, so that drain and free reach them all. */
typedef struct slate_h2 slate_h2;

int slate_h2_new(slate_proxy *p, slate_h2 **out); /* SLATE_OK or SLATE_ERR_NOMEM */
void slate_h2_free(slate_h2 *h);

/* 1 when |data| (|len| bytes a connection sent first) is the whole HTTP/2
 * client preface, 0 when it is a proper prefix of it (wait for more), -1 when
 * it is something else (HTTP/1.1). */
int slate_h2_preface_match(const unsigned char *data, size_t len);

/* Serves a downstream connection whose first bytes are the preface (still in
 * its input buffer) as HTTP/2. Takes ownership of |bev| (freed on failure). */
void slate_h2_serve(slate_h2 *h, struct bufferevent *bev, int inbound);

/* SIGTERM: sends GOAWAY on every downstream connection; the streams already
 * begun finish, then the connections close. */
void slate_h2_drain(slate_h2 *h);
/* Downstream HTTP/2 connections still open. While draining they count as in
 * flight: a stream ends when its last frame is queued, and the connection
 * must still write it out (and the GOAWAY) before the process may exit. */
size_t slate_h2_connections(const slate_h2 *h);

#endif
