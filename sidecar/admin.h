/*
 * The sidecar's admin port (issue 5, item 8), on libevent's evhttp server,
 * loopback by default: GET /healthz, /stats (JSON counters), /routes (the
 * current table and version), /metrics (Prometheus text 0.0.4); span ingest
 * (item 5): POST /api/v2/spans (Zipkin v2 JSON, 202) and POST /v1/traces
 * (OTLP/HTTP JSON, 200), see span_ingest.h and slate_sc_tel_spans().
 */
#ifndef SLATE_SIDECAR_ADMIN_H
#define SLATE_SIDECAR_ADMIN_H

#include <stdint.h>

#include <event2/event.h>

#include "sidecar/control.h"
#include "sidecar/proxy.h"
#include "sidecar/telemetry.h"

typedef struct slate_admin slate_admin;

/* |control| may be NULL (no controller configured). Others borrowed. */
int slate_admin_new(struct event_base *base, const char *host, uint16_t port, slate_proxy *proxy,
                    slate_sc_tel *tel, slate_control *control, slate_admin **out,
                    uint16_t *bound);
void slate_admin_free(slate_admin *a);

#endif
