/*
 * libFuzzer harness for span ingest (sidecar/span_ingest.h): every input is
 * read as Zipkin v2 and as OTLP JSON. Each must parse or fail cleanly with a
 * diagnostic; what parses must satisfy the record's contract (ids in
 * lower-case hex, ranges), feed the telemetry windows (slate_sc_tel_spans)
 * with every span accounted for, and give a report that serialises and
 * parses back; the HTTP answer must be JSON (or Zipkin's empty 202). A
 * broken contract aborts, which the fuzzer (or the replay main) reports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/report.h"
#include "sidecar/span_ingest.h"
#include "sidecar/telemetry.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOPO[] =
    "{\"clusters\": [\"west\", \"east\"],"
    " \"network\": {\"rtt_ms\": [[0.2, 20], [20, 0.2]]},"
    " \"services\": ["
    "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100}]},"
    "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100},"
    "                                     {\"cluster\": \"east\", \"capacity_rps\": 100}]}],"
    " \"classes\": [{\"name\": \"req\", \"match\": {\"path_prefix\": \"/r\"},"
    "   \"calls\": {\"service\": \"front\", \"children\": [{\"service\": \"back\"}]}},"
    "  {\"name\": \"other\", \"calls\": {\"service\": \"back\"}}]}";

static int is_lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void check_string(const char *s)
{
    if (s && (s[0] == '\0' || strlen(s) > SLATE_SPANS_MAX_STRING))
        abort();
}

static void check_span(const slate_span *s)
{
    if (!is_lower_hex(s->trace_id, 32) || !is_lower_hex(s->span_id, 16) ||
        (s->parent_id[0] && !is_lower_hex(s->parent_id, 16)))
        abort();
    if ((int)s->kind < 0 || s->kind > SLATE_SPAN_CONSUMER)
        abort();
    if (s->duration_us > SLATE_SPANS_MAX_DURATION_US ||
        (!s->timed && (s->start_us || s->duration_us)))
        abort();
    if (s->http_status != 0 && (s->http_status < 100 || s->http_status > 599))
        abort();
    check_string(s->service);
    check_string(s->remote_service);
    check_string(s->klass);
    check_string(s->baggage);
    check_string(s->cluster);
    check_string(s->http_method);
    check_string(s->http_path);
}

static void run(slate_span_format format, const char *text, size_t size, const slate_topology *t)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    size_t in_request = 0;
    int rv = slate_spans_parse(format, text, size, &b, &in_request, &d);
    if (rv != SLATE_OK && (b || slate_diag_count(&d) == 0))
        abort(); /* failure must leave nothing behind and say why */
    if (rv == SLATE_OK) {
        size_t n = slate_span_batch_count(b);
        if (n + slate_span_batch_rejected(b) != in_request)
            abort();
        if (format == SLATE_SPANS_ZIPKIN && slate_span_batch_rejected(b))
            abort();
        for (size_t i = 0; i < n; i++)
            check_span(&slate_span_batch_spans(b)[i]);
        slate_sc_tel *tel = NULL;
        if (slate_sc_tel_new(t, 0, 0, "f0", "127.0.0.1:1", 1000, &tel) != SLATE_OK)
            abort();
        slate_sc_span_outcome o;
        if (slate_sc_tel_spans(tel, slate_span_batch_spans(b), n, 0, 1e6, &o) != SLATE_OK ||
            o.inbound + o.outbound + o.deduplicated + o.ignored != n)
            abort();
        slate_report *r = NULL;
        char *json = NULL;
        size_t len = 0;
        if (slate_sc_tel_flush(tel, 2000, &r) != SLATE_OK)
            abort();
        if (r) {
            slate_report *back = NULL;
            if (slate_report_to_json(r, &json, &len) != SLATE_OK ||
                slate_report_parse(json, len, &back, NULL) != SLATE_OK)
                abort();
            slate_report_free(back);
        }
        free(json);
        slate_report_free(r);
        slate_sc_tel_free(tel);
    }
    int status = 0;
    char *body = NULL;
    if (slate_spans_response(format, rv, b, &d, &status, &body) != SLATE_OK)
        abort();
    if (body[0]) {
        cJSON *j = cJSON_Parse(body);
        if (!j)
            abort();
        cJSON_Delete(j);
    } else if (!(format == SLATE_SPANS_ZIPKIN && status == 202)) {
        abort();
    }
    free(body);
    slate_span_batch_free(b);
    slate_diag_cleanup(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static slate_topology *t;
    if (!t && slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL) != SLATE_OK)
        abort();
    run(SLATE_SPANS_ZIPKIN, (const char *)data, size, t);
    run(SLATE_SPANS_OTLP, (const char *)data, size, t);
    return 0;
}
