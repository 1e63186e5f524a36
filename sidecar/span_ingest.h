/*
 * Span ingest (issue 5, item 5): the bodies of POST /api/v2/spans (Zipkin v2
 * JSON) and POST /v1/traces (OTLP/HTTP JSON, an ExportTraceServiceRequest)
 * turned into neutral span records. Pure: text in, records and a diagnostic
 * out; no topology, no clock. telemetry.h feeds the records into the
 * windows, admin.c answers the HTTP requests.
 *
 * Limits (a body over them is refused, see the return codes):
 *   - SLATE_SPANS_MAX_BYTES of JSON per request (the admin port's body limit
 *     too, so larger bodies get 413 before they are read whole);
 *   - SLATE_SPANS_MAX_COUNT spans per request;
 *   - SLATE_SPANS_MAX_STRING bytes in any string the sidecar reads (names,
 *     tag and attribute values).
 *
 * What is read, and checked (everything else is ignored, so a payload with
 * fields this reader does not know is accepted):
 *   Zipkin v2: a JSON array of spans; per span "traceId" (16 or 32 hex),
 *     "id" (16 hex), "parentId" (16 hex, optional), "kind" ("CLIENT",
 *     "SERVER", "PRODUCER", "CONSUMER", optional), "timestamp" and
 *     "duration" (microseconds; optional as in Zipkin, a span without them
 *     is accepted but feeds nothing), "localEndpoint"/"remoteEndpoint"
 *     {"serviceName"}, "tags" (an object whose values must all be strings).
 *   OTLP: {"resourceSpans": [{"resource": {"attributes": [...]},
 *     "scopeSpans": [{"spans": [...]}]}]}; the resource attribute
 *     "service.name"; per span "traceId" (32 hex), "spanId" (16 hex),
 *     "parentSpanId" (16 hex or ""), "kind" (0..5, or the enum name),
 *     "startTimeUnixNano" and "endTimeUnixNano" (required, end >= start),
 *     "attributes" ([{"key", "value": {"stringValue" | "intValue" | ...}}]),
 *     "status" {"code": 0..2}.
 * Hex ids may be upper or lower case (stored lower case) and must not be all
 * zeros. Integers (times, durations, status codes) may be JSON numbers or
 * decimal strings, as proto3's JSON mapping writes 64-bit integers; a JSON
 * number above 2^53 has lost precision on the way (about 0.1 us for today's
 * Unix time in ns), which is below what the windows resolve. A duration
 * over SLATE_SPANS_MAX_DURATION_US is rejected as implausible.
 *
 * Tags (Zipkin) and attributes (OTLP) the sidecar uses: "slate.class",
 * "baggage" (a W3C baggage value; its slate-class member), "slate.cluster",
 * "http.status_code" / "http.response.status_code" (100..599),
 * "http.method" / "http.request.method", "http.target" / "url.path"
 * (classification by the topology's match rules), "error" (Zipkin: any
 * value marks the span failed), "peer.service", else "server.address" or
 * "net.peer.name" (OTLP: the remote service of a CLIENT span).
 */
#ifndef SLATE_SIDECAR_SPAN_INGEST_H
#define SLATE_SIDECAR_SPAN_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

#define SLATE_SPANS_MAX_BYTES       (1024u * 1024u) /* 1 MiB of JSON per request */
#define SLATE_SPANS_MAX_COUNT       10000           /* spans per request */
#define SLATE_SPANS_MAX_STRING      8192            /* bytes per string read */
#define SLATE_SPANS_MAX_DURATION_US 86400000000ull  /* one day */

typedef enum slate_span_format {
    SLATE_SPANS_ZIPKIN, /* Zipkin v2 JSON */
    SLATE_SPANS_OTLP,   /* OTLP/HTTP JSON */
} slate_span_format;

/* The OTLP SpanKind numbering (Zipkin's kinds map onto it). */
typedef enum slate_span_kind {
    SLATE_SPAN_UNSPECIFIED = 0,
    SLATE_SPAN_INTERNAL = 1,
    SLATE_SPAN_SERVER = 2,
    SLATE_SPAN_CLIENT = 3,
    SLATE_SPAN_PRODUCER = 4,
    SLATE_SPAN_CONSUMER = 5,
} slate_span_kind;

/* One span, format-neutral. Strings are borrowed from the batch (valid until
 * slate_span_batch_free) and NULL when the span did not give them. */
typedef struct slate_span {
    char trace_id[33];  /* 32 lower-case hex; a 64-bit Zipkin id is left-padded with zeros */
    char span_id[17];   /* 16 lower-case hex */
    char parent_id[17]; /* 16 lower-case hex, "" for a root span */
    slate_span_kind kind;
    int timed;                  /* 1 when start and duration are known */
    uint64_t start_us;          /* Unix time, us (0 when not timed) */
    uint64_t duration_us;       /* <= SLATE_SPANS_MAX_DURATION_US (0 when not timed) */
    int http_status;            /* 100..599, 0 when no tag or attribute gave one */
    int error;                  /* 1: Zipkin "error" tag, OTLP status.code 2 */
    const char *service;        /* the span's own service */
    const char *remote_service; /* the peer, as the span names it */
    const char *klass;          /* "slate.class" */
    const char *baggage;        /* "baggage" */
    const char *cluster;        /* "slate.cluster" */
    const char *http_method;
    const char *http_path;
} slate_span;

typedef struct slate_span_batch slate_span_batch;

/*
 * Parses |len| bytes of |text| (borrowed; need not be NUL-terminated) in
 * |format|. Every problem is recorded in |d| (may be NULL) with its JSON
 * path: "spans[3].traceId" for Zipkin (the root array is called "spans"),
 * "resourceSpans[0].scopeSpans[1].spans[2].traceId" for OTLP.
 *
 * Zipkin is all or nothing, as a Zipkin server answers: one invalid span
 * fails the request. OTLP keeps the valid spans and counts the others in
 * slate_span_batch_rejected() (the receiver's partialSuccess); it fails only
 * when the document's shape is wrong or every span is invalid.
 *
 * |*n_in_request| (may be NULL) receives the number of span entries the
 * request held, also on failure (0 when it is not JSON or not shaped as the
 * format says), so a caller can count the spans it turned away.
 *
 * Returns owned batch in |*out| (free with slate_span_batch_free; an empty
 * request gives an empty batch). Returns SLATE_OK, SLATE_ERR_TOO_LARGE (over
 * SLATE_SPANS_MAX_BYTES or SLATE_SPANS_MAX_COUNT), SLATE_ERR_PARSE (not
 * JSON), SLATE_ERR_SPANS_INVALID, SLATE_ERR_NOMEM or SLATE_ERR_INVALID_ARG;
 * |*out| is untouched on failure.
 */
int slate_spans_parse(slate_span_format format, const char *text, size_t len,
                      slate_span_batch **out, size_t *n_in_request, slate_diag *d);

/* Frees |b| and the strings its spans borrow; NULL is a no-op. */
void slate_span_batch_free(slate_span_batch *b);

/* The valid spans (returns borrowed, valid until slate_span_batch_free). */
const slate_span *slate_span_batch_spans(const slate_span_batch *b);
size_t slate_span_batch_count(const slate_span_batch *b);
/* OTLP spans dropped as invalid (always 0 for Zipkin, which fails instead). */
size_t slate_span_batch_rejected(const slate_span_batch *b);

/*
 * The HTTP answer for a request that slate_spans_parse answered with |rv|
 * (and |b| on success, |d| the problems): the status a Zipkin server or an
 * OTLP receiver gives (202 / 200 on success; 400, 413, 500 otherwise), and
 * the body, returned owned in |*body| (free with free(); "" for Zipkin's
 * 202): OTLP success is an ExportTraceServiceResponse ("{}", or
 * {"partialSuccess": {"rejectedSpans": "N", "errorMessage": ...}}); an OTLP
 * failure is a google.rpc.Status {"code", "message"}; a Zipkin failure is
 * the sidecar's error object {"error", "path", "problems": [{"path",
 * "message"}]} (the first SLATE_SPANS_MAX_PROBLEMS problems).
 * Returns SLATE_OK or SLATE_ERR_NOMEM (|*body| untouched).
 */
#define SLATE_SPANS_MAX_PROBLEMS 20
int slate_spans_response(slate_span_format format, int rv, const slate_span_batch *b,
                         const slate_diag *d, int *status, char **body);

#endif
