/*
 * The sidecar -> controller report (DESIGN.md section 6): what one sidecar
 * instance saw in one window. The sidecar builds and serialises it; the
 * controller parses, validates and merges it. Both sides use this module so
 * the wire format has exactly one definition.
 *
 * Wire form (POST /v1/reports body, JSON; an example per field):
 *   {
 *     "service": "frontend",            sidecar's service (topology name)
 *     "cluster": "west",                sidecar's cluster (topology name)
 *     "instance": "frontend-west-0",    unique per sidecar process
 *     "address": "127.0.0.1:15006",     inbound listener, host:port
 *     "window": {"start_ms": 1763800000000, "end_ms": 1763800001000},
 *                                       unix ms; end > start, <= 1 hour long
 *     "inbound": [                      one entry per class served
 *       {"class": "home",
 *        "count": 120,                  requests completed in the window
 *        "ingress": 120,                of them, requests that entered the
 *                                       system here (classified by this
 *                                       sidecar, no slate-class baggage came
 *                                       in): demand per (class, cluster)
 *        "arrivals": 131,               optional (absent: the sender does not
 *                                       count them; ingress stands in): requests
 *                                       that entered the system here and
 *                                       ARRIVED in the window, counted at
 *                                       arrival (completed or not), so an
 *                                       overloaded ingress shows its offered
 *                                       load, not its throughput; may exceed
 *                                       count
 *        "errors": 1,                   5xx or failed, included in count
 *        "inflight_mean": 2.5,          time-averaged requests in progress
 *        "latency": HIST,               inbound duration per request
 *        "self_time": HIST}             duration minus the union of the
 *                                       outbound calls made under the trace
 *     ],
 *     "outbound": [                     one entry per (class, dst service,
 *                                       dst cluster) called
 *       {"class": "home", "dst_service": "cart", "dst_cluster": "east",
 *        "count": 60, "errors": 0,
 *        "latency": HIST,
 *        "request_bytes": 12000,        bodies sent, bytes
 *        "response_bytes": 48000}       bodies received, bytes
 *     ]
 *   }
 * HIST is the histogram wire form of common/hist.h. Unknown members are
 * ignored (forward compatibility); every known member is type- and
 * range-checked. Counts are integers in [0, 2^53); errors <= count; a
 * histogram's count equals the entry's count (latency) or is <= it
 * (self_time); names are 1..SLATE_REPORT_MAX_NAME bytes; at most one entry
 * per key (a duplicate is an error, not a silent merge).
 *
 * Names are not resolved here: the report module knows no topology. The
 * controller resolves them and rejects unknown services or clusters with
 * the JSON path of the entry.
 */
#ifndef SLATE_COMMON_REPORT_H
#define SLATE_COMMON_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/hist.h"

/* Limits on one report (a sidecar with more keys sends several reports). */
#define SLATE_REPORT_MAX_BYTES (4u * 1024u * 1024u)
#define SLATE_REPORT_MAX_NAME 128
#define SLATE_REPORT_MAX_INBOUND 4096
#define SLATE_REPORT_MAX_OUTBOUND 16384
#define SLATE_REPORT_MAX_WINDOW_MS 3600000

typedef struct slate_report_inbound {
    char *klass; /* owned */
    uint64_t count;
    uint64_t ingress;
    uint64_t arrivals;    /* see the wire form; valid when arrivals_counted */
    int arrivals_counted; /* 1: the sender counts arrivals (sent on the wire) */
    uint64_t errors;
    double inflight_mean;
    slate_hist latency;
    slate_hist self_time;
} slate_report_inbound;

typedef struct slate_report_outbound {
    char *klass;       /* owned */
    char *dst_service; /* owned */
    char *dst_cluster; /* owned */
    uint64_t count;
    uint64_t errors;
    slate_hist latency;
    uint64_t request_bytes;
    uint64_t response_bytes;
} slate_report_outbound;

typedef struct slate_report {
    char *service;  /* owned */
    char *cluster;  /* owned */
    char *instance; /* owned */
    char *address;  /* owned; may be NULL (optional on the wire) */
    int64_t start_ms, end_ms;
    slate_report_inbound *inbound; /* owned array */
    size_t n_inbound, cap_inbound;
    slate_report_outbound *outbound; /* owned array */
    size_t n_outbound, cap_outbound;
} slate_report;

/*
 * Creates an empty report for (service, cluster, instance, address) and the
 * window [start_ms, end_ms). Strings are copied. |address| may be NULL.
 * Returns owned report (free with slate_report_free). SLATE_OK,
 * SLATE_ERR_INVALID_ARG (empty or too long names, bad window) or NOMEM.
 */
int slate_report_new(const char *service, const char *cluster, const char *instance,
                     const char *address, int64_t start_ms, int64_t end_ms, slate_report **out);

void slate_report_free(slate_report *r);

/*
 * Returns the inbound entry for |klass| (returns borrowed; valid until the
 * next call that adds an entry), adding a zeroed one if absent. NULL on
 * NOMEM, an invalid name or the entry limit.
 */
slate_report_inbound *slate_report_inbound_get(slate_report *r, const char *klass);

/* Same for the outbound entry of (klass, dst_service, dst_cluster). */
slate_report_outbound *slate_report_outbound_get(slate_report *r, const char *klass,
                                                 const char *dst_service,
                                                 const char *dst_cluster);

/*
 * Merges |src| into |dst| entry by entry (counts, bytes and histograms add;
 * inflight_mean is combined weighted by window length) and widens dst's
 * window to cover both. Used by a sidecar to fold windows it could not
 * deliver into one (bounded) backlog report. Identity fields must match
 * (SLATE_ERR_INVALID_ARG otherwise). SLATE_OK or NOMEM (dst unchanged then
 * is not guaranteed; callers drop it).
 */
int slate_report_merge(slate_report *dst, const slate_report *src);

/* Serialises |r| to the wire form (compact JSON). Returns owned text (free()). */
int slate_report_to_json(const slate_report *r, char **out, size_t *out_len);

/*
 * Parses and validates |len| bytes of |text| (borrowed) as one report.
 * Every problem is recorded in |d| with its JSON path
 * ("outbound[3].latency.buckets[2]: index 300 out of range [0, 255]").
 * Returns owned report in |*out|. SLATE_OK, SLATE_ERR_TOO_LARGE,
 * SLATE_ERR_PARSE, SLATE_ERR_REPORT_INVALID or SLATE_ERR_NOMEM; |*out|
 * untouched on failure.
 */
int slate_report_parse(const char *text, size_t len, slate_report **out, slate_diag *d);

/* The demand an inbound entry shows: its arrivals when counted, else its
 * ingress completions. */
static inline uint64_t slate_report_inbound_demand(const slate_report_inbound *e)
{
    return e->arrivals_counted ? e->arrivals : e->ingress;
}

#endif
