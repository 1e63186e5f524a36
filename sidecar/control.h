/*
 * The sidecar's link to the controller (issue 5, item 6), on libevent's
 * evhttp client:
 *  - reporter: every window, the telemetry's report is POSTed to
 *    /v1/reports with the bearer token. A report that cannot be delivered
 *    is kept and later windows are merged into it (slate_report_merge), so
 *    nothing is dropped while the controller is away; the backlog is
 *    bounded (SLATE_CONTROL_MAX_BACKLOG_WINDOWS windows; beyond that the
 *    oldest backlog is dropped and counted in reports_dropped, never
 *    silently). Retries back off exponentially (with jitter) up to 10 s.
 *  - route client: long-polls GET /v1/routes?cluster=&service=&version=N&
 *    wait_s=30; a new table replaces the proxy's; a 304 polls again; an
 *    error keeps the last table (fail static) and retries with backoff.
 */
#ifndef SLATE_SIDECAR_CONTROL_H
#define SLATE_SIDECAR_CONTROL_H

#include <stdint.h>

#include <event2/event.h>

#include "sidecar/proxy.h"
#include "sidecar/telemetry.h"
#include "topology/topology.h"

#define SLATE_CONTROL_MAX_BACKLOG_WINDOWS 600

typedef struct slate_control_stats {
    uint64_t reports_sent, reports_failed, reports_dropped, windows_merged;
    uint64_t tables_received, tables_rejected, polls_not_modified, poll_errors;
    uint64_t backlog_windows;
} slate_control_stats;

typedef struct slate_control slate_control;

/* |host|:|port| is the controller; |token| may be NULL. All borrowed
 * objects must outlive the control client. */
int slate_control_new(struct event_base *base, const slate_topology *t, int service, int cluster,
                      const char *host, uint16_t port, const char *token, double window_ms,
                      slate_sc_tel *tel, slate_proxy *proxy, slate_control **out);
/* Sends what is left (one last window) without waiting for the answer. */
void slate_control_free(slate_control *c);
slate_control_stats slate_control_stats_get(const slate_control *c);
/* The last routing-table body received (borrowed), or NULL. */
const char *slate_control_table_json(const slate_control *c);

#endif
