/*
 * The sidecar's per-window telemetry (issue 5, item 4), in the shape of the
 * controller's report (common/report.h): per class, inbound count, errors,
 * ingress (requests classified here), time-averaged in-flight, latency and
 * self-time histograms; per (class, destination service, destination
 * cluster), outbound count, errors, latency and body bytes.
 *
 * Self-time of an inbound request = its duration minus the union of the
 * intervals of the outbound calls made under the same trace while it ran
 * (overlapping parallel calls count once). The proxy matches calls to the
 * request by the W3C trace id the application propagated.
 *
 * Spans that applications send to the admin port (span_ingest.h) feed the
 * same windows through slate_sc_tel_spans(); the rules are stated there.
 *
 * Single-threaded: the sidecar's event loop calls everything. Memory is
 * bounded: at most SLATE_TEL_MAX_ACTIVE inbound requests are tracked for
 * self-time (beyond that their self-time is not recorded, counted in
 * untracked), SLATE_TEL_MAX_CALLS intervals per request.
 */
#ifndef SLATE_SIDECAR_TELEMETRY_H
#define SLATE_SIDECAR_TELEMETRY_H

#include <stdint.h>

#include "common/report.h"
#include "sidecar/span_ingest.h"
#include "topology/topology.h"

#define SLATE_TEL_MAX_ACTIVE 8192
#define SLATE_TEL_MAX_CALLS 64

/* Trace ids the proxy saw are remembered in two generations of at most
 * SLATE_TEL_SEEN_MAX ids each; the current one becomes the previous one
 * after SLATE_TEL_SEEN_GEN_US or when it is full. So an id is remembered for
 * 10 to 20 s, or for at least the last SLATE_TEL_SEEN_MAX traces under a
 * load that fills a generation sooner (~1.2 MB at most). */
#define SLATE_TEL_SEEN_GEN_US 10e6
#define SLATE_TEL_SEEN_MAX    32768

typedef struct slate_sc_tel slate_sc_tel;
typedef struct slate_sc_active slate_sc_active; /* one inbound request in progress */

/* |t| borrowed. Names copied. */
int slate_sc_tel_new(const slate_topology *t, int service, int cluster, const char *instance,
                     const char *address, int64_t now_ms, slate_sc_tel **out);
void slate_sc_tel_free(slate_sc_tel *tel);
/* Replaces the identity the reports carry (once the listeners are bound and
 * the inbound address is known). SLATE_OK or NOMEM (identity unchanged). */
int slate_sc_tel_set_identity(slate_sc_tel *tel, const char *instance, const char *address);

/* An inbound request of |klass| (index) starts; |trace_id| is 32 hex
 * characters or NULL. Returns a handle (NULL when untracked: the request
 * still counts at its end). */
slate_sc_active *slate_sc_tel_inbound_begin(slate_sc_tel *tel, int klass, const char *trace_id,
                                            double now_us);
/* A request of |klass| entered the system here (this sidecar classified
 * it): counted at once, so a window shows the offered load even when the
 * application completes fewer (common/report.h, "arrivals"). */
void slate_sc_tel_ingress_arrival(slate_sc_tel *tel, int klass);

/* It ends with |status| (0 = failed without a response); |ingress| 1 when
 * this sidecar classified it. |h| may be NULL (then |klass| and |start_us|
 * are used). */
void slate_sc_tel_inbound_end(slate_sc_tel *tel, slate_sc_active *h, int klass, int status,
                              int ingress, double start_us, double now_us);
/* One outbound call completed. */
void slate_sc_tel_outbound(slate_sc_tel *tel, int klass, int dst_service, int dst_cluster,
                           int status, uint64_t request_bytes, uint64_t response_bytes,
                           const char *trace_id, double start_us, double end_us);

/*
 * Ingested spans (|spans|, |n| of them, borrowed) feed the current window;
 * |rejected| spans of the same request were invalid (counted only). |now_us|
 * is the proxy's clock (slate_proxy_now_us). The rules:
 *
 * - A span is this sidecar's when its service name equals the sidecar's
 *   service, or it names none. Spans of other services, spans without
 *   timestamp and duration, and kinds other than SERVER and CLIENT feed
 *   nothing (counted as ignored; INTERNAL spans still link parents).
 * - A SERVER span counts as an inbound request: latency = its duration;
 *   status from http.status_code (200 when absent), failed when the span
 *   says error; ingress when it is a root span (no parent) of a class whose
 *   call tree starts at this service. In-flight is not affected (the
 *   request is over when its span arrives).
 * - A CLIENT span whose remote service is a topology service (the name as
 *   given, else its first DNS label, as the proxy reads a Host) counts as
 *   an outbound call of (class, that service, slate.cluster or this
 *   sidecar's cluster); bytes are not known (0). A CLIENT span nested under
 *   another CLIENT span (a library's inner attempt) is not counted again.
 * - Class: the span's slate.class, else the slate-class member of its
 *   baggage tag, else (CLIENT) the class of its SERVER ancestor, else
 *   (SERVER) the topology's match rules on http.method and http.target /
 *   url.path, else the default class: the one class whose call tree
 *   contains this service, when exactly one does. A class or cluster name
 *   the topology does not know makes the span ignored.
 * - Self-time of a SERVER span = duration minus the union of the CLIENT
 *   spans counted above (calls to topology services; a call the proxy also
 *   measured still counts here) of the same request whose nearest SERVER
 *   ancestor, by parent ids within this request, is that span, clipped to
 *   it. Calls to anything else (a database) stay in the self-time, as they
 *   do for requests the proxy measures. Calls sent in a later request
 *   cannot be subtracted.
 * - No double counting: a SERVER span whose trace id the proxy saw on an
 *   inbound request, or a CLIENT span whose trace id it saw on an outbound
 *   call, within the remembered horizon (SLATE_TEL_SEEN_GEN_US) is
 *   skipped and counted as deduplicated: the proxy measured it already.
 *
 * |out| (may be NULL) receives this request's outcome. SLATE_OK or NOMEM
 * (nothing counted).
 */
typedef struct slate_sc_span_outcome {
    uint64_t inbound, outbound, deduplicated, ignored; /* sum = n */
} slate_sc_span_outcome;
int slate_sc_tel_spans(slate_sc_tel *tel, const slate_span *spans, size_t n, size_t rejected,
                       double now_us, slate_sc_span_outcome *out);

/* Closes the window at |now_ms|: returns its report (owned; NULL in *out if
 * nothing happened) and starts the next. SLATE_OK or NOMEM. */
int slate_sc_tel_flush(slate_sc_tel *tel, int64_t now_ms, slate_report **out);

/* Totals since start, for /stats and /metrics. */
typedef struct slate_sc_tel_totals {
    uint64_t inbound, inbound_errors, outbound, outbound_errors, untracked;
    /* Ingested spans: accepted = span_inbound + span_outbound + deduplicated
     * + ignored; rejected ones were invalid. */
    uint64_t spans_accepted, spans_rejected, spans_deduplicated, spans_ignored;
    uint64_t span_inbound, span_outbound; /* included in inbound / outbound */
} slate_sc_tel_totals;
slate_sc_tel_totals slate_sc_tel_totals_get(const slate_sc_tel *tel);

#endif
