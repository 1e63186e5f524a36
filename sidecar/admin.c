/* The sidecar's admin port; see admin.h. */
#include "sidecar/admin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/diag.h"
#include "common/err.h"
#include "sidecar/span_ingest.h"

struct slate_admin {
    struct evhttp *http;
    slate_proxy *proxy;
    slate_sc_tel *tel;
    slate_control *control;
    /* Span-ingest requests: answered 2xx / turned away (4xx, 5xx). */
    uint64_t span_requests, span_requests_rejected;
};

static const char *status_text(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void reply(struct evhttp_request *req, int code, const char *type, struct evbuffer *b)
{
    if (type)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, code, status_text(code), b);
}

/* 1 when |type| (a Content-Type value) is application/json, parameters such
 * as charset allowed. */
static int is_json_type(const char *type)
{
    while (*type == ' ' || *type == '\t')
        type++;
    size_t n = strcspn(type, "; \t");
    return n == 16 && strncasecmp(type, "application/json", 16) == 0;
}

/*
 * POST /api/v2/spans (Zipkin v2) and POST /v1/traces (OTLP/HTTP JSON):
 * parse (span_ingest.h), feed the windows (slate_sc_tel_spans), answer as a
 * Zipkin server or an OTLP receiver does. Bodies are JSON only: protobuf or
 * a compressed body is answered 415; the body limit is the server's (413
 * from libevent before the body is read whole).
 */
static void on_spans(slate_admin *a, struct evhttp_request *req, slate_span_format format,
                     struct evbuffer *b)
{
    struct evkeyvalq *in_headers = evhttp_request_get_input_headers(req);
    const char *type = evhttp_find_header(in_headers, "Content-Type");
    const char *encoding = evhttp_find_header(in_headers, "Content-Encoding");
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    int code = 0;
    if (encoding && strcasecmp(encoding, "identity") != 0) {
        code = 415;
        evbuffer_add_printf(b, "{\"error\":\"Content-Encoding is not supported: send "
                               "uncompressed JSON\",\"path\":\"\"}");
    } else if (type && !is_json_type(type)) {
        code = 415;
        evbuffer_add_printf(b,
                            "{\"error\":\"Content-Type must be application/json (%s)\","
                            "\"path\":\"\"}",
                            format == SLATE_SPANS_OTLP ? "OTLP protobuf is not supported"
                                                       : "Zipkin JSON v2");
    } else if (len > SLATE_SPANS_MAX_BYTES) {
        code = 413; /* libevent refuses these first; kept for a changed limit */
        evbuffer_add_printf(b, "{\"error\":\"body over %u bytes\",\"path\":\"\"}",
                            SLATE_SPANS_MAX_BYTES);
    }
    if (code) {
        a->span_requests_rejected++;
        reply(req, code, "application/json", b);
        return;
    }
    const char *text = len ? (const char *)evbuffer_pullup(body, -1) : "";
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *batch = NULL;
    size_t in_request = 0;
    int rv = text ? slate_spans_parse(format, text, len, &batch, &in_request, &d) : SLATE_ERR_NOMEM;
    if (rv == SLATE_OK)
        rv =
            slate_sc_tel_spans(a->tel, slate_span_batch_spans(batch), slate_span_batch_count(batch),
                               slate_span_batch_rejected(batch), slate_proxy_now_us(), NULL);
    else
        slate_sc_tel_spans(a->tel, NULL, 0, in_request, slate_proxy_now_us(), NULL);
    char *answer = NULL;
    if (slate_spans_response(format, rv, batch, &d, &code, &answer) != SLATE_OK) {
        code = 500;
        evbuffer_add_printf(b, "{\"error\":\"out of memory\",\"path\":\"\"}");
    } else {
        evbuffer_add(b, answer, strlen(answer));
    }
    if (code >= 200 && code < 300)
        a->span_requests++;
    else
        a->span_requests_rejected++;
    reply(req, code, evbuffer_get_length(b) ? "application/json" : NULL, b);
    free(answer);
    slate_span_batch_free(batch);
    slate_diag_cleanup(&d);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    slate_admin *a = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *b = evbuffer_new();
    if (!b || !path) {
        evhttp_send_error(req, 500, "out of memory");
        if (b)
            evbuffer_free(b);
        return;
    }
    int zipkin = strcmp(path, "/api/v2/spans") == 0, otlp = strcmp(path, "/v1/traces") == 0;
    if (zipkin || otlp) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            on_spans(a, req, zipkin ? SLATE_SPANS_ZIPKIN : SLATE_SPANS_OTLP, b);
        } else {
            evbuffer_add_printf(b, "{\"error\":\"method not allowed\",\"path\":\"\"}");
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            reply(req, 405, "application/json", b);
        }
        evbuffer_free(b);
        return;
    }
    slate_proxy_stats ps = slate_proxy_stats_get(a->proxy);
    slate_sc_tel_totals tt = slate_sc_tel_totals_get(a->tel);
    slate_control_stats cs = {0};
    if (a->control)
        cs = slate_control_stats_get(a->control);
    uint64_t version = slate_sc_table_version(slate_proxy_table(a->proxy));
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evbuffer_add_printf(b, "{\"error\":\"method not allowed\",\"path\":\"\"}");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        evhttp_send_reply(req, 405, "Method Not Allowed", b);
    } else if (strcmp(path, "/healthz") == 0) {
        evbuffer_add_printf(b, "{\"status\":\"ok\"}");
        reply(req, 200, "application/json", b);
    } else if (strcmp(path, "/stats") == 0) {
        evbuffer_add_printf(
            b,
            "{\"proxy\":{\"downstream_conns\":%llu,\"requests_out\":%llu,\"requests_in\":%llu,"
            "\"local_5xx\":%llu,\"retries\":%llu,\"upstream_conns_opened\":%llu,"
            "\"upstream_reuses\":%llu,\"ejections\":%llu,\"bad_requests\":%llu,\"inflight\":%zu},"
            "\"telemetry\":{\"inbound\":%llu,\"inbound_errors\":%llu,\"outbound\":%llu,"
            "\"outbound_errors\":%llu,\"untracked\":%llu},"
            "\"spans\":{\"requests\":%llu,\"requests_rejected\":%llu,\"accepted\":%llu,"
            "\"rejected\":%llu,\"deduplicated\":%llu,\"ignored\":%llu,\"inbound\":%llu,"
            "\"outbound\":%llu},"
            "\"control\":{\"reports_sent\":%llu,\"reports_failed\":%llu,\"reports_dropped\":%llu,"
            "\"windows_merged\":%llu,\"backlog_windows\":%llu,\"tables_received\":%llu,"
            "\"tables_rejected\":%llu,\"poll_errors\":%llu},\"routes_version\":%llu,"
            "\"cross_cluster_bytes\":%llu,\"egress_usd\":%.9g}",
            (unsigned long long)ps.downstream_conns, (unsigned long long)ps.requests_out,
            (unsigned long long)ps.requests_in, (unsigned long long)ps.responses_5xx_local,
            (unsigned long long)ps.retries, (unsigned long long)ps.upstream_conns_opened,
            (unsigned long long)ps.upstream_reuses, (unsigned long long)ps.ejections,
            (unsigned long long)ps.bad_requests, slate_proxy_inflight(a->proxy),
            (unsigned long long)tt.inbound, (unsigned long long)tt.inbound_errors,
            (unsigned long long)tt.outbound, (unsigned long long)tt.outbound_errors,
            (unsigned long long)tt.untracked, (unsigned long long)a->span_requests,
            (unsigned long long)a->span_requests_rejected, (unsigned long long)tt.spans_accepted,
            (unsigned long long)tt.spans_rejected, (unsigned long long)tt.spans_deduplicated,
            (unsigned long long)tt.spans_ignored, (unsigned long long)tt.span_inbound,
            (unsigned long long)tt.span_outbound, (unsigned long long)cs.reports_sent,
            (unsigned long long)cs.reports_failed, (unsigned long long)cs.reports_dropped,
            (unsigned long long)cs.windows_merged, (unsigned long long)cs.backlog_windows,
            (unsigned long long)cs.tables_received, (unsigned long long)cs.tables_rejected,
            (unsigned long long)cs.poll_errors, (unsigned long long)version,
            (unsigned long long)ps.cross_cluster_bytes, ps.egress_usd);
        reply(req, 200, "application/json", b);
    } else if (strcmp(path, "/routes") == 0) {
        const char *json = a->control ? slate_control_table_json(a->control) : NULL;
        if (json)
            evbuffer_add_printf(b, "%s", json);
        else
            evbuffer_add_printf(b, "{\"version\":0,\"note\":\"no table received: calls go to the "
                                   "local cluster when deployed there, else the nearest\"}");
        reply(req, 200, "application/json", b);
    } else if (strcmp(path, "/metrics") == 0) {
        evbuffer_add_printf(
            b,
            "# HELP slate_sidecar_requests_total Requests proxied, by direction.\n"
            "# TYPE slate_sidecar_requests_total counter\n"
            "slate_sidecar_requests_total{direction=\"outbound\"} %llu\n"
            "slate_sidecar_requests_total{direction=\"inbound\"} %llu\n"
            "# HELP slate_sidecar_local_errors_total 5xx answered by the sidecar itself.\n"
            "# TYPE slate_sidecar_local_errors_total counter\n"
            "slate_sidecar_local_errors_total %llu\n"
            "# HELP slate_sidecar_retries_total Requests retried on another endpoint.\n"
            "# TYPE slate_sidecar_retries_total counter\n"
            "slate_sidecar_retries_total %llu\n"
            "# HELP slate_sidecar_ejections_total Endpoint ejections.\n"
            "# TYPE slate_sidecar_ejections_total counter\n"
            "slate_sidecar_ejections_total %llu\n"
            "# HELP slate_sidecar_reports_total Reports to the controller, by result.\n"
            "# TYPE slate_sidecar_reports_total counter\n"
            "slate_sidecar_reports_total{result=\"sent\"} %llu\n"
            "slate_sidecar_reports_total{result=\"failed\"} %llu\n"
            "# HELP slate_sidecar_report_windows_dropped_total Windows dropped past the backlog bound.\n"
            "# TYPE slate_sidecar_report_windows_dropped_total counter\n"
            "slate_sidecar_report_windows_dropped_total %llu\n"
            "# HELP slate_sidecar_routes_version Version of the routing table in use.\n"
            "# TYPE slate_sidecar_routes_version gauge\n"
            "slate_sidecar_routes_version %llu\n"
            "# HELP slate_sidecar_inflight Requests in flight.\n"
            "# TYPE slate_sidecar_inflight gauge\n"
            "slate_sidecar_inflight %zu\n"
            "# HELP slate_sidecar_spans_received_total Spans posted to /api/v2/spans and "
            "/v1/traces, by result.\n"
            "# TYPE slate_sidecar_spans_received_total counter\n"
            "slate_sidecar_spans_received_total{result=\"accepted\"} %llu\n"
            "slate_sidecar_spans_received_total{result=\"rejected\"} %llu\n"
            "# HELP slate_sidecar_spans_deduplicated_total Accepted spans skipped because the "
            "proxy measured their request.\n"
            "# TYPE slate_sidecar_spans_deduplicated_total counter\n"
            "slate_sidecar_spans_deduplicated_total %llu\n"
            "# HELP slate_sidecar_spans_ignored_total Accepted spans that fed no window (other "
            "service, kind, unknown peer or class, untimed).\n"
            "# TYPE slate_sidecar_spans_ignored_total counter\n"
            "slate_sidecar_spans_ignored_total %llu\n"
            "# HELP slate_sidecar_span_requests_total Span-ingest requests, by result.\n"
            "# TYPE slate_sidecar_span_requests_total counter\n"
            "slate_sidecar_span_requests_total{result=\"accepted\"} %llu\n"
            "slate_sidecar_span_requests_total{result=\"rejected\"} %llu\n",
            (unsigned long long)ps.requests_out, (unsigned long long)ps.requests_in,
            (unsigned long long)ps.responses_5xx_local, (unsigned long long)ps.retries,
            (unsigned long long)ps.ejections, (unsigned long long)cs.reports_sent,
            (unsigned long long)cs.reports_failed, (unsigned long long)cs.reports_dropped,
            (unsigned long long)version, slate_proxy_inflight(a->proxy),
            (unsigned long long)tt.spans_accepted, (unsigned long long)tt.spans_rejected,
            (unsigned long long)tt.spans_deduplicated, (unsigned long long)tt.spans_ignored,
            (unsigned long long)a->span_requests, (unsigned long long)a->span_requests_rejected);
        reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
    } else {
        evbuffer_add_printf(b, "{\"error\":\"no such endpoint\",\"path\":\"\"}");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, 404, "Not Found", b);
    }
    evbuffer_free(b);
}

int slate_admin_new(struct event_base *base, const char *host, uint16_t port, slate_proxy *proxy,
                    slate_sc_tel *tel, slate_control *control, slate_admin **out,
                    uint16_t *bound)
{
    slate_admin *a = calloc(1, sizeof(*a));
    if (!a)
        return SLATE_ERR_NOMEM;
    a->proxy = proxy;
    a->tel = tel;
    a->control = control;
    a->http = evhttp_new(base);
    if (!a->http) {
        free(a);
        return SLATE_ERR_NOMEM;
    }
    evhttp_set_max_headers_size(a->http, 16 * 1024);
    /* The largest body is a span payload; a larger one is answered 413 (after
     * reading the rest of it, so the client sees the answer, not a reset). */
    evhttp_set_max_body_size(a->http, SLATE_SPANS_MAX_BYTES);
    evhttp_set_flags(a->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_timeout(a->http, 30);
    evhttp_set_gencb(a->http, on_request, a);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(a->http, host, port);
    if (!bs) {
        slate_admin_free(a);
        return SLATE_ERR_IO;
    }
    if (bound) {
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len) == 0)
            *bound = ntohs(sa.sin_port);
    }
    *out = a;
    return SLATE_OK;
}

void slate_admin_free(slate_admin *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http);
    free(a);
}
