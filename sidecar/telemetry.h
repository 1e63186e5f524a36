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
 * Single-threaded: the sidecar's event loop calls everything. Memory is
 * bounded: at most SLATE_TEL_MAX_ACTIVE inbound requests are tracked for
 * self-time (beyond that their self-time is not recorded, counted in
 * untracked), SLATE_TEL_MAX_CALLS intervals per request.
 */
#ifndef SLATE_SIDECAR_TELEMETRY_H
#define SLATE_SIDECAR_TELEMETRY_H

#include <stdint.h>

#include "common/report.h"
#include "topology/topology.h"

#define SLATE_TEL_MAX_ACTIVE 8192
#define SLATE_TEL_MAX_CALLS 64

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
/* It ends with |status| (0 = failed without a response); |ingress| 1 when
 * this sidecar classified it. |h| may be NULL (then |klass| and |start_us|
 * are used). */
void slate_sc_tel_inbound_end(slate_sc_tel *tel, slate_sc_active *h, int klass, int status,
                              int ingress, double start_us, double now_us);
/* One outbound call completed. */
void slate_sc_tel_outbound(slate_sc_tel *tel, int klass, int dst_service, int dst_cluster,
                           int status, uint64_t request_bytes, uint64_t response_bytes,
                           const char *trace_id, double start_us, double end_us);

/* Closes the window at |now_ms|: returns its report (owned; NULL in *out if
 * nothing happened) and starts the next. SLATE_OK or NOMEM. */
int slate_sc_tel_flush(slate_sc_tel *tel, int64_t now_ms, slate_report **out);

/* Totals since start, for /stats and /metrics. */
typedef struct slate_sc_tel_totals {
    uint64_t inbound, inbound_errors, outbound, outbound_errors, untracked;
} slate_sc_tel_totals;
slate_sc_tel_totals slate_sc_tel_totals_get(const slate_sc_tel *tel);

#endif
