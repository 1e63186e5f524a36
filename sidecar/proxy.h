/*
 * slate-sidecar's data plane (issue 5): an HTTP/1.1 proxy on libevent with
 * http-parser framing (no hand-written HTTP parser), and h2c (nghttp2).
 *
 * Outbound listener (app -> sidecar): works as the app's HTTP_PROXY
 * (absolute-form URIs) and with origin-form requests whose Host names the
 * destination service (its first DNS label). The class is the `baggage`
 * header's slate-class member; the cluster is drawn from the routing table's
 * weights for (class, destination); the endpoint in that cluster by
 * power-of-two-choices on outstanding requests. Inbound listener (peers ->
 * sidecar -> local app): classifies requests at an ingress service by the
 * topology's match rules and adds `baggage: slate-class=<name>`; starts a
 * `traceparent` when none came in.
 *
 * Bodies stream through both ways (Content-Length passed as is, chunked
 * bodies re-chunked; trailers are not forwarded), with backpressure: a side
 * whose peer has more than SLATE_PROXY_HIGH_WATER bytes queued stops being
 * read. Upstream connections are kept alive and reused. One request at a
 * time per client connection (pipelined requests wait in the input buffer).
 * A failed upstream gives the client a 502/503/504 with a short reason;
 * idempotent requests without a body are retried once on another endpoint,
 * and an endpoint whose connection fails is ejected for a while.
 *
 * h2c with prior knowledge on the same ports (h2_server.c, h2_upstream.c):
 * a connection whose first 24 bytes are the HTTP/2 client preface is served
 * by an nghttp2 server session instead of http-parser. Each stream is routed
 * exactly like an HTTP/1.1 request (`:authority` names the destination as
 * Host does; class, trace, telemetry, retries and ejection are shared). The
 * upstream side is h2c too: one multiplexed nghttp2 client session per
 * upstream endpoint, opened with prior knowledge, so gRPC-style traffic and
 * trailers pass through. An upstream that is not an h2c server (refuses the
 * preface) gets the stream a 502 saying so; an HTTP/1.1-only app behind the
 * inbound listener therefore needs HTTP/1.1 clients. Bodies stream under
 * HTTP/2 flow control: windows reopen only as bytes are forwarded, so each
 * stream buffers at most 256 KiB per direction and each connection 1 MiB.
 * Pseudo-headers are kept, hop-by-hop headers dropped ("te: trailers"
 * passes), trailers forwarded both ways. Invalid frames get a GOAWAY from
 * nghttp2; each stream has the request timeout as an inactivity timeout;
 * SIGTERM sends GOAWAY and lets the streams already begun finish.
 *
 * WAN emulation (testing only, --emulate-wan): a call to another cluster is
 * held back by that pair's RTT from the topology before it is sent, so one
 * machine can stand in for several regions.
 */
#ifndef SLATE_SIDECAR_PROXY_H
#define SLATE_SIDECAR_PROXY_H

#include <stdint.h>

#include <event2/event.h>

#include "common/rng.h"
#include "sidecar/route_table.h"
#include "sidecar/telemetry.h"
#include "topology/topology.h"

#define SLATE_PROXY_MAX_HEADER_BYTES (64u * 1024u)
#define SLATE_PROXY_MAX_HEADERS 128
#define SLATE_PROXY_MAX_URL 8192
#define SLATE_PROXY_HIGH_WATER (1u << 20)
#define SLATE_PROXY_EJECT_MS 5000.0

typedef struct slate_proxy_config {
    const slate_topology *t; /* borrowed */
    int service, cluster;    /* this sidecar's */
    char app_host[64];       /* inbound target */
    uint16_t app_port;
    int emulate_wan;
    double connect_timeout_s, request_timeout_s, idle_timeout_s;
    uint64_t seed;
} slate_proxy_config;

typedef struct slate_proxy_stats {
    uint64_t downstream_conns, requests_out, requests_in, responses_5xx_local, retries,
        upstream_conns_opened, upstream_reuses, ejections, bad_requests;
    uint64_t cross_cluster_bytes; /* outbound request + response bodies to other clusters */
    double egress_usd;            /* those bytes priced by the topology's egress matrix */
} slate_proxy_stats;

typedef struct slate_proxy slate_proxy;

int slate_proxy_new(struct event_base *base, const slate_proxy_config *cfg, slate_sc_tel *tel,
                    slate_proxy **out);
void slate_proxy_free(slate_proxy *p);

/* Listens; |inbound| selects the role. Port 0 = any; the bound port is returned. */
int slate_proxy_listen(slate_proxy *p, int inbound, const char *host, uint16_t port,
                       uint16_t *bound);

/* Replaces the routing table (ownership moves in; the old one is freed). */
void slate_proxy_set_table(slate_proxy *p, slate_sc_table *rt);
const slate_sc_table *slate_proxy_table(const slate_proxy *p);

/* Stops accepting and sends GOAWAY on HTTP/2 connections; returns the number
 * of requests still in flight (while draining, HTTP/2 connections not yet
 * closed count too: their last frames may still be unwritten). */
size_t slate_proxy_drain(slate_proxy *p);
size_t slate_proxy_inflight(const slate_proxy *p);
slate_proxy_stats slate_proxy_stats_get(const slate_proxy *p);

/* Monotonic microseconds (the clock telemetry is fed with). */
double slate_proxy_now_us(void);

#endif
