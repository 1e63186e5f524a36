/*
 * slate-load's engine: an open-loop load generator.
 *
 * Requests arrive as a Poisson process per stream (class, ingress cluster)
 * at a set rate, independent of how fast earlier requests complete, so
 * queueing in the system under test shows up as latency instead of as a
 * lower send rate (closed-loop tools such as wrk hide it). A request's
 * latency runs from its scheduled arrival time, not from when the generator
 * got round to sending it, so a stalled generator cannot flatter the result.
 *
 * Each stream sends its class's request (method and path from the class's
 * match rule, Host = the class's root service) to its cluster's target, an
 * ingress sidecar or the root service itself. Results: per stream sent,
 * completed, errors (status 0 = transport failure, or >= 500), refused
 * (every connection busy: the generator, not the system, was the limit;
 * reported separately and never hidden), a latency histogram of successful
 * requests, and a per-second timeline.
 */
#ifndef SLATE_TESTBED_LOAD_H
#define SLATE_TESTBED_LOAD_H

#include <stdint.h>
#include <stdio.h>

#include "common/diag.h"
#include "common/hist.h"
#include "topology/topology.h"

#define SLATE_LOAD_MAX_STREAMS 1024
#define SLATE_LOAD_MAX_SECONDS 86400

typedef struct slate_load_target {
    int cluster;
    char host[64];
    uint16_t port;
} slate_load_target;

typedef struct slate_load_second {
    uint64_t count;  /* successful completions whose arrival fell in this second */
    uint64_t sum_us; /* their latencies */
    uint64_t errors;
} slate_load_second;

typedef struct slate_load_stream {
    int klass;
    int cluster;
    double rps;
    /* results */
    uint64_t sent, completed, errors, refused;
    uint64_t status_2xx, status_4xx, status_5xx, transport_errors;
    slate_hist latency;           /* successful requests, us */
    slate_load_second *timeline;  /* owned, one entry per second of the run */
    size_t n_seconds;
} slate_load_stream;

typedef struct slate_load_opts {
    double duration_s;        /* sending time; (0, SLATE_LOAD_MAX_SECONDS] */
    double drain_s;           /* wait this long at most for in-flight requests after */
    double timeout_s;         /* per request */
    uint64_t seed;
    size_t max_conns;         /* per target */
    int progress;             /* 1: a progress line per second on stderr */
} slate_load_opts;

void slate_load_opts_init(slate_load_opts *o);

typedef struct slate_load slate_load;

/*
 * Creates a generator for |t| (borrowed; must outlive it) with |targets|
 * (copied; one per ingress cluster) and no streams.
 */
int slate_load_new(const slate_topology *t, const slate_load_target *targets, size_t n_targets,
                   const slate_load_opts *opts, slate_load **out);
void slate_load_free(slate_load *l);

/* Adds a stream (class index, ingress cluster, rps > 0). A cluster without
 * a target is SLATE_ERR_NOT_FOUND. */
int slate_load_add_stream(slate_load *l, int klass, int cluster, double rps);

/* From |at_s| seconds into the run on, multiplies the rate of every stream
 * entering at |cluster| (-1: all) by |factor| (> 0): a load step, e.g. an
 * overload starting mid-run. At most 16 steps. */
int slate_load_add_step(slate_load *l, double at_s, int cluster, double factor);

/* Runs to completion (duration plus drain). SLATE_OK or an error (IO, NOMEM). */
int slate_load_run(slate_load *l);

/* Results, valid after run. */
size_t slate_load_n_streams(const slate_load *l);
const slate_load_stream *slate_load_stream_at(const slate_load *l, size_t i);

/* The summary table (one row per stream and a total row). */
void slate_load_print_table(const slate_load *l, FILE *fp);
/* One CSV row per stream: class,cluster,rps,sent,completed,errors,refused,mean_ms,p50_ms,p90_ms,p99_ms */
void slate_load_write_csv(const slate_load *l, FILE *fp);
/* Per-second CSV: second,class,cluster,completed,mean_ms,errors */
void slate_load_write_timeline(const slate_load *l, FILE *fp);
/* JSON object with the per-stream results and the totals. Returns owned text. */
int slate_load_to_json(const slate_load *l, char **out);

#endif
