/*
 * The discrete-event simulator: the ground truth policies are compared on.
 *
 * Model:
 *   - Requests of class k enter at cluster a as a Poisson process of the
 *     current demand (req/s); a demand change redraws the next arrival
 *     (exact, the process is memoryless).
 *   - Each deployment (service s, cluster b) is a FIFO queue with c servers.
 *     From its ground-truth profile (saturation mu_rps, unloaded time
 *     t0 = slate_profile_t0, ms per work unit):
 *         c = max(1, round(mu * t0 / 1000))      servers (at most 100000)
 *         per-server rate = mu / c               work units/s
 *     so the queue saturates at exactly mu, and a call of relative work w
 *     takes an exponential time of mean w * 1000 * c / mu ms (equal to
 *     w * t0 when mu * t0 / 1000 is a whole number; the rounding of c is the
 *     only departure from the profile's t0). A capacity event with factor f
 *     makes c' = max(1, round(f * c)) servers of rate f * mu / c'; calls in
 *     service finish at their drawn time.
 *   - A call does its own work first, then makes its child calls, and
 *     answers when they are done; it holds no server while it waits
 *     (asynchronous servers). A child with expected count n makes floor(n)
 *     calls plus one more with probability n - floor(n). Parallel children
 *     (the parent's "parallel") are all issued at once and joined by the
 *     last answer; sequential ones are issued one after another, in order.
 *   - Network: RTT/2 from caller to callee and RTT/2 back. Bytes crossing
 *     clusters are priced at the topology's egress prices.
 *   - Routing per call by the installed routing table's weights for
 *     (class, caller service, caller cluster, callee service) -- the node's
 *     weights, as slate_route_table_flows uses them -- or, in p2c-ewma mode, per
 *     call by Linkerd's rule: two distinct random candidates among the
 *     callee's deployments in clusters that have not failed, the one with
 *     the lower peak-EWMA latency x (pending + 1) wins. EWMA and pending are
 *     kept per (caller cluster, service, callee cluster) -- the sidecars of
 *     one cluster pooled; a sample above the EWMA replaces it (peak), else
 *     it decays toward the sample with time constant ewma_decay_ms; an
 *     endpoint never measured has cost 0, so it is tried.
 *   - A failed cluster receives no new calls from p2c-ewma, and a table
 *     computed after the failure sends it none; calls already there finish.
 *
 * Statistics cover requests that enter in [warmup_s, end_s); those are
 * followed to completion (slate_des_finish drains the system). Latency
 * quantiles come from a log-bucketed histogram (buckets 1% wide from 1 us to
 * 1e7 ms, the geometric middle reported), so a quantile is within 0.5% of
 * the exact sample quantile; means are exact. Utilization is busy server
 * time / (servers x time) over [warmup_s, end_s); egress counts the bytes
 * sent in that window. A request "met overload" when one of its calls
 * arrived at a queue with more than SLATE_DES_OVERLOAD_WAIT_PER_SERVER x c
 * calls waiting.
 *
 * Bounds: the event queue is a binary heap; at most max_requests requests
 * are admitted and at most max_calls calls are in flight -- past either,
 * arrivals stop and the result says truncated (statistics then cover the
 * shorter window). Reproducible: one seeded PRNG (xoshiro256**), events at
 * equal times in scheduling order.
 */
#ifndef SLATE_SIM_DES_H
#define SLATE_SIM_DES_H

#include <stddef.h>
#include <stdint.h>

#include "common/report.h"
#include "controller/routes.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

#define SLATE_DES_OVERLOAD_WAIT_PER_SERVER 20
#define SLATE_DES_MAX_SERVERS              100000

typedef struct slate_des_opts {
    uint64_t seed;
    double warmup_s;       /* statistics start */
    double end_s;          /* arrivals stop */
    uint64_t max_requests; /* default 2,000,000 */
    size_t max_calls;      /* in flight; default 1,000,000 */
    double ewma_decay_ms;  /* p2c-ewma; default 10000 (Linkerd's 10 s) */
} slate_des_opts;

void slate_des_opts_init(slate_des_opts *o);

/* Latency statistics of one (class, ingress) or of all requests. */
typedef struct slate_des_stats {
    uint64_t count;                         /* requests measured */
    uint64_t overloaded;                    /* of which met an overloaded queue */
    double mean_ms, p50_ms, p90_ms, p99_ms; /* NaN when count == 0 */
} slate_des_stats;

typedef struct slate_des_result {
    size_t n_classes, n_services, n_clusters;
    slate_des_stats *per_class; /* n_classes * n_clusters, [k * nc + a] */
    slate_des_stats all;
    double *utilization; /* n_services * n_clusters; 0 where not deployed */
    double max_utilization;
    double egress_usd_per_hour;
    double window_s; /* the measured window */
    uint64_t calls;  /* calls simulated (all, warm-up included) */
    uint64_t events;
    int truncated; /* 1: a bound stopped arrivals early */
    /* The latency CDF of all measured requests: one point per non-empty
     * histogram bucket (the bucket's geometric middle, ms; the fraction of
     * requests at or below it). Owned. */
    double *cdf_ms, *cdf_frac;
    size_t n_cdf;
    /* Over simulated time, in steps of timeline_step_s from 0 (requests by
     * the time they entered, warm-up included; egress by when bytes were
     * sent): mean end-to-end latency (NaN for a step without requests) and
     * egress in USD/hour. Owned, n_timeline values each. */
    double timeline_step_s;
    double *timeline_mean_ms, *timeline_egress_usd_per_hour;
    size_t n_timeline;
} slate_des_result;

void slate_des_result_free(slate_des_result *r);

typedef struct slate_des slate_des;

/*
 * Creates a simulator of |t| (borrowed; its deployments, RTTs and egress
 * prices are copied, its demand is the initial demand) with ground truth
 * |truth| (borrowed during the call). |opts| NULL: defaults (then end_s =
 * 60). Routes: the default policy until slate_des_set_routes.
 * SLATE_OK, SLATE_ERR_INVALID_ARG or SLATE_ERR_NOMEM.
 */
int slate_des_new(const slate_topology *t, const slate_profile_set *truth,
                  const slate_des_opts *opts, slate_des **out);
void slate_des_free(slate_des *d);

/* Installs |rt|'s weights (copied) for the calls issued from now on; NULL
 * switches to p2c-ewma. SLATE_OK, SLATE_ERR_INVALID_ARG or SLATE_ERR_NOMEM. */
int slate_des_set_routes(slate_des *d, const slate_route_table *rt);

/* Changes the demand of class |k| at cluster |a| (req/s) from now on. */
int slate_des_set_demand(slate_des *d, int k, int a, double rps);

/* Sets the capacity of deployment (|s|, |b|) to |factor| x its nominal one
 * (SLATE_ERR_NOT_FOUND when not deployed). */
int slate_des_set_capacity(slate_des *d, int s, int b, double factor);

/* Marks cluster |b| failed: p2c-ewma stops choosing it. */
int slate_des_set_failed(slate_des *d, int b);

/* Sets the RTT between |a| and |b| (both directions), ms. */
int slate_des_set_rtt(slate_des *d, int a, int b, double rtt_ms);

/* Runs every event up to simulated time |t_s| (s). */
int slate_des_run_until(slate_des *d, double t_s);

/* Runs to end_s, stops arrivals and drains every call in flight. */
int slate_des_finish(slate_des *d);

/* Returns owned results (free with slate_des_result_free), normally after
 * slate_des_finish. SLATE_OK or SLATE_ERR_NOMEM. */
int slate_des_result_get(const slate_des *d, slate_des_result **out);

/* Returns the current simulated time, s. */
double slate_des_now(const slate_des *d);

/*
 * Telemetry like the sidecars' (common/report.h), for the closed-loop mode.
 * Once enabled, every deployment (service, cluster) counts, per window, what
 * its sidecar would: per class, inbound requests (ingress = requests that
 * entered the system there), latency from the call's arrival to its answer
 * and self-time from its arrival to the end of its own work (its child
 * calls all come after its own work, so this equals the sidecar's rule:
 * duration minus the union of the calls made under it); per (class,
 * destination service, destination cluster), outbound calls, latency from
 * issue to answer (network included) and bytes. A call counts in the
 * window its answer falls in. Errors are never counted: the model has none.
 */
int slate_des_telemetry_enable(slate_des *d);

/*
 * Closes the window at the current simulated time and returns one report per
 * deployment that saw anything (service and cluster names of the topology,
 * instance "sim", window start/end in simulated ms), owned, in |*out|
 * (free with slate_des_reports_free); the next window starts now.
 * SLATE_OK, SLATE_ERR_INVALID_ARG (telemetry not enabled) or NOMEM.
 */
int slate_des_telemetry_take(slate_des *d, slate_report ***out, size_t *n);
void slate_des_reports_free(slate_report **reports, size_t n);

#endif
