/* Span ingest: Zipkin v2 and OTLP JSON parsing (ids, times, unknown fields,
 * every error with its path), the HTTP answers, and how ingested spans feed
 * the telemetry windows (classes, self-time, de-duplication). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/report.h"
#include "sidecar/span_ingest.h"
#include "sidecar/telemetry.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

/* Parses |json| that must be valid; returns the batch (owned). */
static slate_span_batch *parse_ok(slate_span_format f, const char *json)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    int rv = slate_spans_parse(f, json, strlen(json), &b, NULL, &d);
    if (rv != SLATE_OK) {
        fprintf(stderr, "\n  unexpected %s for %s\n", slate_errname(rv), json);
        slate_diag_print(&d, stderr);
    }
    CU_ASSERT_EQUAL(rv, SLATE_OK);
    slate_diag_cleanup(&d);
    return b;
}

/* |json| must fail with |want| and a problem at exactly |path| whose message
 * contains |msg|. */
static void expect_bad(slate_span_format f, const char *json, int want, const char *path,
                       const char *msg)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    int rv = slate_spans_parse(f, json, strlen(json), &b, NULL, &d);
    CU_ASSERT_EQUAL(rv, want);
    CU_ASSERT_PTR_NULL(b);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        found |= strcmp(d.entries[i].path, path) == 0 && strstr(d.entries[i].msg, msg) != NULL;
    if (!found) {
        fprintf(stderr, "\n  wanted \"%s: ...%s...\" (%s) for %s, got %s:\n", path, msg,
                slate_errname(want), json, slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    CU_ASSERT(found);
    slate_span_batch_free(b);
    slate_diag_cleanup(&d);
}

static void test_zipkin_valid(void)
{
    static const char J[] =
        "[{\"traceId\": \"4BF92F3577B34DA6A3CE929D0E0E4736\", \"id\": \"00f067aa0ba902b7\","
        "  \"kind\": \"SERVER\", \"name\": \"get /r\", \"timestamp\": 1700000000000000,"
        "  \"duration\": 100000, \"localEndpoint\": {\"serviceName\": \"front\", \"ipv4\": "
        "\"10.0.0.1\"},"
        "  \"remoteEndpoint\": {\"serviceName\": \"client\"}, \"annotations\": [{\"timestamp\": 1,"
        "  \"value\": \"x\"}], \"debug\": true, \"shared\": false, \"someFutureField\": {\"a\": "
        "[1]},"
        "  \"tags\": {\"slate.class\": \"req\", \"http.status_code\": \"503\", \"http.method\": "
        "\"GET\","
        "            \"http.target\": \"/r/1\", \"error\": \"\", \"other\": \"kept out\"}},"
        " {\"traceId\": \"a3ce929d0e0e4736\", \"id\": \"1111111111111111\", \"parentId\": \"\","
        "  \"kind\": \"CLIENT\", \"timestamp\": \"1700000000010000\", \"duration\": \"5\","
        "  \"remoteEndpoint\": {\"serviceName\": \"back\"},"
        "  \"tags\": {\"slate.cluster\": \"east\", \"baggage\": \"slate-class=req\"}},"
        " {\"traceId\": \"a3ce929d0e0e4736\", \"id\": \"2222222222222222\","
        "  \"parentId\": \"1111111111111111\", \"name\": \"local, untimed\"}]";
    slate_span_batch *b = parse_ok(SLATE_SPANS_ZIPKIN, J);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(slate_span_batch_count(b), 3);
    CU_ASSERT_EQUAL(slate_span_batch_rejected(b), 0);
    const slate_span *s = slate_span_batch_spans(b);
    CU_ASSERT_STRING_EQUAL(s[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736"); /* lower-cased */
    CU_ASSERT_STRING_EQUAL(s[0].span_id, "00f067aa0ba902b7");
    CU_ASSERT_STRING_EQUAL(s[0].parent_id, "");
    CU_ASSERT_EQUAL(s[0].kind, SLATE_SPAN_SERVER);
    CU_ASSERT(s[0].timed);
    CU_ASSERT_EQUAL(s[0].start_us, 1700000000000000ull);
    CU_ASSERT_EQUAL(s[0].duration_us, 100000);
    CU_ASSERT_EQUAL(s[0].http_status, 503);
    CU_ASSERT(s[0].error); /* the "error" tag's presence, even empty */
    CU_ASSERT_STRING_EQUAL(s[0].service, "front");
    CU_ASSERT_STRING_EQUAL(s[0].remote_service, "client");
    CU_ASSERT_STRING_EQUAL(s[0].klass, "req");
    CU_ASSERT_STRING_EQUAL(s[0].http_method, "GET");
    CU_ASSERT_STRING_EQUAL(s[0].http_path, "/r/1");
    CU_ASSERT_PTR_NULL(s[0].cluster);
    /* A 64-bit trace id is left-padded; times as decimal strings. */
    CU_ASSERT_STRING_EQUAL(s[1].trace_id, "0000000000000000a3ce929d0e0e4736");
    CU_ASSERT_EQUAL(s[1].kind, SLATE_SPAN_CLIENT);
    CU_ASSERT_EQUAL(s[1].start_us, 1700000000010000ull);
    CU_ASSERT_EQUAL(s[1].duration_us, 5);
    CU_ASSERT_STRING_EQUAL(s[1].remote_service, "back");
    CU_ASSERT_STRING_EQUAL(s[1].cluster, "east");
    CU_ASSERT_STRING_EQUAL(s[1].baggage, "slate-class=req");
    CU_ASSERT_PTR_NULL(s[1].service);
    CU_ASSERT_FALSE(s[1].error);
    CU_ASSERT_EQUAL(s[1].http_status, 0);
    /* No kind, no timestamp: accepted (Zipkin allows it), not timed. */
    CU_ASSERT_EQUAL(s[2].kind, SLATE_SPAN_UNSPECIFIED);
    CU_ASSERT_FALSE(s[2].timed);
    CU_ASSERT_STRING_EQUAL(s[2].parent_id, "1111111111111111");
    slate_span_batch_free(b);
    /* An empty list is a valid request. */
    b = parse_ok(SLATE_SPANS_ZIPKIN, " [ ] ");
    CU_ASSERT_EQUAL(slate_span_batch_count(b), 0);
    slate_span_batch_free(b);
}

static void test_otlp_valid(void)
{
    static const char J[] =
        "{\"resourceSpans\": [{"
        "  \"resource\": {\"attributes\": ["
        "    {\"key\": \"service.name\", \"value\": {\"stringValue\": \"front\"}},"
        "    {\"key\": \"host.name\", \"value\": {\"intValue\": 7}}], \"droppedAttributesCount\": "
        "0},"
        "  \"scopeSpans\": [{\"scope\": {\"name\": \"lib\"}, \"spans\": ["
        "    {\"traceId\": \"5b8efff798038103d269b633813fc60c\", \"spanId\": \"eee19b7ec3c1b174\","
        "     \"parentSpanId\": \"\", \"name\": \"GET /r\", \"kind\": 2,"
        "     \"startTimeUnixNano\": \"1700000000000000000\", \"endTimeUnixNano\": "
        "\"1700000000100000499\","
        "     \"attributes\": [{\"key\": \"http.response.status_code\", \"value\": {\"intValue\": "
        "\"404\"}},"
        "                    {\"key\": \"slate.class\", \"value\": {\"stringValue\": \"req\"}},"
        "                    {\"key\": \"url.path\", \"value\": {\"stringValue\": \"/r\"}},"
        "                    {\"key\": \"http.request.method\", \"value\": {\"stringValue\": "
        "\"GET\"}},"
        "                    {\"key\": \"misc\", \"value\": {\"arrayValue\": {\"values\": []}}}],"
        "     \"status\": {\"code\": 2, \"message\": \"boom\"}, \"events\": [], \"links\": []},"
        "    {\"traceId\": \"5b8efff798038103d269b633813fc60c\", \"spanId\": \"eee19b7ec3c1b175\","
        "     \"parentSpanId\": \"EEE19B7EC3C1B174\", \"kind\": \"SPAN_KIND_CLIENT\","
        "     \"startTimeUnixNano\": 1700000000010000000, \"endTimeUnixNano\": 1700000000020000000,"
        "     \"attributes\": [{\"key\": \"server.address\", \"value\": {\"stringValue\": "
        "\"back.svc\"}},"
        "                    {\"key\": \"http.status_code\", \"value\": {\"intValue\": 200}}]},"
        "    {\"traceId\": \"5b8efff798038103d269b633813fc60c\", \"spanId\": \"eee19b7ec3c1b176\","
        "     \"kind\": 3, \"startTimeUnixNano\": \"1\", \"endTimeUnixNano\": \"1\","
        "     \"attributes\": [{\"key\": \"server.address\", \"value\": {\"stringValue\": \"x\"}},"
        "                    {\"key\": \"peer.service\", \"value\": {\"stringValue\": \"back\"}}]}"
        "  ]}]},"
        " {\"scopeSpans\": [], \"schemaUrl\": \"https://opentelemetry.io/schemas/1.21.0\"}]}";
    slate_span_batch *b = parse_ok(SLATE_SPANS_OTLP, J);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(slate_span_batch_count(b), 3);
    const slate_span *s = slate_span_batch_spans(b);
    CU_ASSERT_STRING_EQUAL(s[0].service, "front"); /* from the resource */
    CU_ASSERT_EQUAL(s[0].kind, SLATE_SPAN_SERVER);
    CU_ASSERT_EQUAL(s[0].start_us, 1700000000000000ull);
    CU_ASSERT_EQUAL(s[0].duration_us, 100000); /* 100000.499 us rounds down */
    CU_ASSERT_EQUAL(s[0].http_status, 404);
    CU_ASSERT(s[0].error); /* status.code 2 */
    CU_ASSERT_STRING_EQUAL(s[0].klass, "req");
    CU_ASSERT_STRING_EQUAL(s[0].http_path, "/r");
    CU_ASSERT_STRING_EQUAL(s[0].http_method, "GET");
    CU_ASSERT_STRING_EQUAL(s[0].parent_id, "");
    /* Numbers above 2^53 are read (with the precision a double has). */
    CU_ASSERT_EQUAL(s[1].kind, SLATE_SPAN_CLIENT);
    CU_ASSERT_STRING_EQUAL(s[1].parent_id, "eee19b7ec3c1b174");
    CU_ASSERT(s[1].duration_us >= 9999 && s[1].duration_us <= 10001);
    CU_ASSERT_STRING_EQUAL(s[1].remote_service, "back.svc");
    CU_ASSERT_EQUAL(s[1].http_status, 200);
    CU_ASSERT_FALSE(s[1].error);
    /* peer.service wins over server.address; a zero-length span is fine. */
    CU_ASSERT_STRING_EQUAL(s[2].remote_service, "back");
    CU_ASSERT_EQUAL(s[2].duration_us, 0);
    CU_ASSERT(s[2].timed);
    slate_span_batch_free(b);
    b = parse_ok(SLATE_SPANS_OTLP, "{}");
    CU_ASSERT_EQUAL(slate_span_batch_count(b), 0);
    slate_span_batch_free(b);
}

#define ZSPAN(fields)                                                                              \
    "[{\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e4736\", \"id\": \"00f067aa0ba902b7\", " fields   \
    "}]"
#define OSPAN(fields)                                                                              \
    "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": "                           \
    "\"4bf92f3577b34da6a3ce929d0e0e4736\", \"spanId\": \"00f067aa0ba902b7\", " fields "}]}]}]}"
#define OT    "\"startTimeUnixNano\": \"1000\", \"endTimeUnixNano\": \"2000\""
#define OPATH "resourceSpans[0].scopeSpans[0].spans[0]"

static void test_zipkin_errors(void)
{
    const slate_span_format Z = SLATE_SPANS_ZIPKIN;
    const int BAD = SLATE_ERR_SPANS_INVALID;
    expect_bad(Z, "[{\"traceId\": \"4bf9", SLATE_ERR_PARSE, "", "malformed JSON near byte");
    expect_bad(Z, "", SLATE_ERR_PARSE, "", "empty document");
    expect_bad(Z, "[] x", SLATE_ERR_PARSE, "", "trailing data");
    expect_bad(Z, "{\"spans\": []}", BAD, "spans", "expected a JSON array of Zipkin v2 spans");
    expect_bad(Z, "[1]", BAD, "spans[0]", "a span must be an object, not number");
    /* The span that is wrong is named; the brief's example message. */
    expect_bad(Z,
               "[{\"traceId\": \"0000000000000001\", \"id\": \"0000000000000001\"},"
               " {\"traceId\": \"0000000000000001\", \"id\": \"0000000000000002\"},"
               " {\"traceId\": \"0000000000000001\", \"id\": \"0000000000000003\"},"
               " {\"traceId\": \"4bf92f35\", \"id\": \"0000000000000004\"}]",
               BAD, "spans[3].traceId", "expected 16 or 32 hex characters, got 8");
    expect_bad(Z, "[{\"id\": \"00f067aa0ba902b7\"}]", BAD, "spans[0].traceId", "is required");
    expect_bad(Z, "[{\"traceId\": 12, \"id\": \"00f067aa0ba902b7\"}]", BAD, "spans[0].traceId",
               "not number");
    expect_bad(
        Z, "[{\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e473g\", \"id\": \"00f067aa0ba902b7\"}]",
        BAD, "spans[0].traceId", "non-hex character");
    expect_bad(
        Z, "[{\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e47361\", \"id\": \"00f067aa0ba902b7\"}]",
        BAD, "spans[0].traceId", "got more than 32");
    expect_bad(
        Z, "[{\"traceId\": \"00000000000000000000000000000000\", \"id\": \"00f067aa0ba902b7\"}]",
        BAD, "spans[0].traceId", "must not be all zeros");
    expect_bad(
        Z, "[{\"traceId\": \"4bf92f3577b34da6\", \"id\": \"4bf92f3577b34da6a3ce929d0e0e4736\"}]",
        BAD, "spans[0].id", "expected 16 hex characters, got more than 16");
    expect_bad(Z, ZSPAN("\"parentId\": \"xyz\""), BAD, "spans[0].parentId", "expected 16 hex");
    expect_bad(Z, ZSPAN("\"kind\": \"server\""), BAD, "spans[0].kind",
               "expected CLIENT, SERVER, PRODUCER or CONSUMER");
    expect_bad(Z, ZSPAN("\"kind\": 2"), BAD, "spans[0].kind", "must be a string");
    expect_bad(Z, ZSPAN("\"timestamp\": -5"), BAD, "spans[0].timestamp", "out of range");
    expect_bad(Z, ZSPAN("\"timestamp\": 0"), BAD, "spans[0].timestamp", "out of range [1,");
    expect_bad(Z, ZSPAN("\"timestamp\": 1.5"), BAD, "spans[0].timestamp", "must be an integer");
    expect_bad(Z, ZSPAN("\"timestamp\": \"12a\""), BAD, "spans[0].timestamp",
               "decimal integer string");
    expect_bad(Z, ZSPAN("\"timestamp\": \"-1\""), BAD, "spans[0].timestamp",
               "decimal integer string");
    expect_bad(Z, ZSPAN("\"timestamp\": \"99999999999999999999\""), BAD, "spans[0].timestamp",
               "out of range");
    expect_bad(Z, ZSPAN("\"timestamp\": true"), BAD, "spans[0].timestamp", "not boolean");
    expect_bad(Z, ZSPAN("\"duration\": 86400000001"), BAD, "spans[0].duration", "out of range");
    expect_bad(Z, ZSPAN("\"localEndpoint\": \"front\""), BAD, "spans[0].localEndpoint",
               "must be an object, not string");
    expect_bad(Z, ZSPAN("\"remoteEndpoint\": {\"serviceName\": 5}"), BAD,
               "spans[0].remoteEndpoint.serviceName", "must be a string");
    expect_bad(Z, ZSPAN("\"tags\": [\"a\"]"), BAD, "spans[0].tags", "must be an object");
    expect_bad(Z, ZSPAN("\"tags\": {\"retries\": 3}"), BAD, "spans[0].tags.retries",
               "tag values must be strings, not number");
    expect_bad(Z, ZSPAN("\"tags\": {\"http.status_code\": \"99\"}"), BAD,
               "spans[0].tags.http.status_code", "out of range [100, 599]");
    expect_bad(Z, ZSPAN("\"tags\": {\"http.status_code\": \"ok\"}"), BAD,
               "spans[0].tags.http.status_code", "decimal integer");
    /* Every problem is listed, not only the first. */
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    static const char TWO[] = "[{\"traceId\": \"1\", \"id\": \"2\"}]";
    CU_ASSERT_EQUAL(slate_spans_parse(Z, TWO, strlen(TWO), &b, NULL, &d), BAD);
    CU_ASSERT_EQUAL(slate_diag_count(&d), 2);
    slate_diag_cleanup(&d);
    /* Long strings are bounded. */
    size_t n = SLATE_SPANS_MAX_STRING + 200;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    int len = snprintf(big, n,
                       "[{\"traceId\": \"4bf92f3577b34da6\", \"id\": \"4bf92f3577b34da6\","
                       " \"tags\": {\"x\": \"");
    memset(big + len, 'a', SLATE_SPANS_MAX_STRING + 1);
    snprintf(big + len + SLATE_SPANS_MAX_STRING + 1, 8, "\"}}]");
    expect_bad(Z, big, BAD, "spans[0].tags.x", "longer than 8192 bytes");
    free(big);
}

static void test_otlp_errors(void)
{
    const slate_span_format O = SLATE_SPANS_OTLP;
    const int BAD = SLATE_ERR_SPANS_INVALID;
    expect_bad(O, "[]", BAD, "", "expected an ExportTraceServiceRequest object");
    expect_bad(O, "{\"resourceSpans\": {}}", BAD, "resourceSpans", "must be an array");
    expect_bad(O, "{\"resourceSpans\": [3]}", BAD, "resourceSpans[0]", "must be an object");
    expect_bad(O, "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": 1}]}]}", BAD,
               "resourceSpans[0].scopeSpans[0].spans", "must be an array");
    expect_bad(O, "{\"resourceSpans\": [{\"resource\": {\"attributes\": [{\"value\": {}}]}}]}", BAD,
               "resourceSpans[0].resource.attributes[0].key", "is required");
    expect_bad(O,
               "{\"resourceSpans\": [{\"resource\": {\"attributes\": [{\"key\": \"service.name\","
               " \"value\": {\"intValue\": 1}}]}}]}",
               BAD, "resourceSpans[0].resource.attributes[0].value",
               "attribute \"service.name\" must have a stringValue");
}

/* OTLP one-span error cases, each rejecting the only span (so the request). */
static void test_otlp_span_errors(void)
{
    const slate_span_format O = SLATE_SPANS_OTLP;
    const int BAD = SLATE_ERR_SPANS_INVALID;
    expect_bad(O, OSPAN("\"endTimeUnixNano\": \"2000\""), BAD, OPATH ".startTimeUnixNano",
               "is required");
    expect_bad(O, OSPAN("\"startTimeUnixNano\": \"3000\", \"endTimeUnixNano\": \"2000\""), BAD,
               OPATH ".endTimeUnixNano", "is before startTimeUnixNano");
    expect_bad(O, OSPAN("\"startTimeUnixNano\": \"18446744073709551616\", \"endTimeUnixNano\": 1"),
               BAD, OPATH ".startTimeUnixNano", "out of range");
    expect_bad(O, OSPAN("\"startTimeUnixNano\": \"1\", \"endTimeUnixNano\": \"86400000002000\""),
               BAD, OPATH ".endTimeUnixNano", "the span lasts over");
    expect_bad(O, OSPAN(OT ", \"kind\": 9"), BAD, OPATH ".kind", "out of range [0, 5]");
    expect_bad(O, OSPAN(OT ", \"kind\": \"SERVER\""), BAD, OPATH ".kind",
               "expected an integer 0..5 or SPAN_KIND_UNSPECIFIED..SPAN_KIND_CONSUMER");
    expect_bad(O, OSPAN(OT ", \"status\": {\"code\": 3}"), BAD, OPATH ".status.code",
               "out of range [0, 2]");
    expect_bad(O, OSPAN(OT ", \"parentSpanId\": \"0000000000000000\""), BAD, OPATH ".parentSpanId",
               "all zeros");
    expect_bad(O,
               "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": "
               "\"4bf92f3577b34da6\", \"spanId\": \"00f067aa0ba902b7\", " OT "}]}]}]}",
               BAD, OPATH ".traceId", "expected 32 hex characters, got 16");
    expect_bad(O, OSPAN(OT ", \"attributes\": {}"), BAD, OPATH ".attributes", "must be an array");
    expect_bad(O, OSPAN(OT ", \"attributes\": [\"k\"]"), BAD, OPATH ".attributes[0]",
               "must be an object {\"key\", \"value\"}");
    expect_bad(O, OSPAN(OT ", \"attributes\": [{\"key\": \"a\", \"value\": 1}]"), BAD,
               OPATH ".attributes[0].value", "must be an object");
    expect_bad(O,
               OSPAN(OT ", \"attributes\": [{\"key\": \"http.status_code\", \"value\": "
                        "{\"intValue\": \"600\"}}]"),
               BAD, OPATH ".attributes[0].value.intValue", "out of range [100, 599]");
    expect_bad(O,
               OSPAN(OT ", \"attributes\": [{\"key\": \"peer.service\", \"value\": "
                        "{\"boolValue\": true}}]"),
               BAD, OPATH ".attributes[0].value", "must have a stringValue");
}

static void test_partial_and_limits(void)
{
    /* OTLP keeps the valid spans and counts the rest. */
    static const char MIXED[] =
        "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": ["
        " {\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e4736\", \"spanId\": \"00f067aa0ba902b7\", " OT
        "},"
        " {\"traceId\": \"4bf92f3577b34da6a3ce929d0e0e4736\", \"spanId\": \"00f067aa0ba902b8\"},"
        " {\"traceId\": \"zz\", \"spanId\": \"00f067aa0ba902b9\", " OT "}]}]}]}";
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    size_t in_request = 0;
    CU_ASSERT_EQUAL_FATAL(
        slate_spans_parse(SLATE_SPANS_OTLP, MIXED, strlen(MIXED), &b, &in_request, &d), SLATE_OK);
    CU_ASSERT_EQUAL(in_request, 3);
    CU_ASSERT_EQUAL(slate_span_batch_count(b), 1);
    CU_ASSERT_EQUAL(slate_span_batch_rejected(b), 2);
    int status = 0;
    char *body = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_spans_response(SLATE_SPANS_OTLP, SLATE_OK, b, &d, &status, &body),
                          SLATE_OK);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"partialSuccess\":{\"rejectedSpans\":\"2\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(body, "resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano: is required"));
    free(body);
    slate_span_batch_free(b);
    slate_diag_cleanup(&d);

    /* Bytes: over SLATE_SPANS_MAX_BYTES is 413 before any parsing. */
    size_t n = SLATE_SPANS_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', n);
    big[0] = '[';
    big[n - 1] = ']';
    big[n] = '\0';
    expect_bad(SLATE_SPANS_ZIPKIN, big, SLATE_ERR_TOO_LARGE, "", "over the 1048576-byte limit");
    free(big);

    /* Count: SLATE_SPANS_MAX_COUNT + 1 spans (small ones) is too many. */
    const char one[] = "{},";
    size_t cap = (SLATE_SPANS_MAX_COUNT + 1) * (sizeof(one) - 1) + 3;
    char *many = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    size_t len = 0;
    many[len++] = '[';
    for (int i = 0; i <= SLATE_SPANS_MAX_COUNT; i++, len += sizeof(one) - 1)
        memcpy(many + len, one, sizeof(one) - 1);
    many[len - 1] = ']';
    many[len] = '\0';
    expect_bad(SLATE_SPANS_ZIPKIN, many, SLATE_ERR_TOO_LARGE, "spans",
               "10001 spans, over the limit of 10000 per request");
    free(many);
    static const char OTLP_MANY_HEAD[] = "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": ";
    static const char OTLP_MANY_TAIL[] = "}, {\"spans\": [{}]}]}]}";
    /* 10000 in one scope + 1 in another. */
    many = malloc(cap + sizeof(OTLP_MANY_HEAD) + sizeof(OTLP_MANY_TAIL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    len = 0;
    memcpy(many, OTLP_MANY_HEAD, sizeof(OTLP_MANY_HEAD) - 1);
    len += sizeof(OTLP_MANY_HEAD) - 1;
    many[len++] = '[';
    for (int i = 0; i < SLATE_SPANS_MAX_COUNT; i++, len += sizeof(one) - 1)
        memcpy(many + len, one, sizeof(one) - 1);
    many[len - 1] = ']';
    memcpy(many + len, OTLP_MANY_TAIL, sizeof(OTLP_MANY_TAIL));
    expect_bad(SLATE_SPANS_OTLP, many, SLATE_ERR_TOO_LARGE, "resourceSpans",
               "10001 spans, over the limit");
    free(many);
}

/* Status and body of the answer to |json| in |f|. */
static int answer(slate_span_format f, const char *json, char **body)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_span_batch *b = NULL;
    int rv = slate_spans_parse(f, json, strlen(json), &b, NULL, &d);
    int status = 0;
    CU_ASSERT_EQUAL(slate_spans_response(f, rv, b, &d, &status, body), SLATE_OK);
    slate_span_batch_free(b);
    slate_diag_cleanup(&d);
    return status;
}

static void test_responses(void)
{
    char *body = NULL;
    CU_ASSERT_EQUAL(answer(SLATE_SPANS_ZIPKIN, ZSPAN("\"kind\": \"CLIENT\""), &body), 202);
    CU_ASSERT_STRING_EQUAL(body, ""); /* as Zipkin: 202, empty body */
    free(body);
    CU_ASSERT_EQUAL(answer(SLATE_SPANS_ZIPKIN, ZSPAN("\"kind\": 1"), &body), 400);
    CU_ASSERT_STRING_EQUAL(body,
                           "{\"error\":\"span payload is invalid\",\"path\":\"spans[0].kind\","
                           "\"problems\":[{\"path\":\"spans[0].kind\","
                           "\"message\":\"must be a string, not number\"}]}");
    free(body);
    CU_ASSERT_EQUAL(answer(SLATE_SPANS_ZIPKIN, "[", &body), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"error\":\"malformed JSON\""));
    free(body);
    CU_ASSERT_EQUAL(answer(SLATE_SPANS_OTLP, OSPAN(OT), &body), 200);
    CU_ASSERT_STRING_EQUAL(body, "{}"); /* an ExportTraceServiceResponse */
    free(body);
    CU_ASSERT_EQUAL(answer(SLATE_SPANS_OTLP, OSPAN("\"kind\": 7"), &body), 400);
    /* google.rpc.Status with INVALID_ARGUMENT. */
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "{\"code\":3,\"message\":\"span payload is invalid: " OPATH
                                        ".kind: 7 is out of range [0, 5]; "));
    free(body);
    int status = 0;
    CU_ASSERT_EQUAL(
        slate_spans_response(SLATE_SPANS_OTLP, SLATE_ERR_TOO_LARGE, NULL, NULL, &status, &body),
        SLATE_OK);
    CU_ASSERT_EQUAL(status, 413);
    CU_ASSERT_STRING_EQUAL(body, "{\"code\":8,\"message\":\"span payload over a size limit\"}");
    free(body);
}

/* ---- feeding the windows ------------------------------------------------------------ */

static const char TOPO[] =
    "{\"clusters\": [\"west\", \"east\"],"
    " \"network\": {\"rtt_ms\": [[0.2, 20], [20, 0.2]]},"
    " \"services\": ["
    "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100}]},"
    "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100},"
    "                                     {\"cluster\": \"east\", \"capacity_rps\": 100}]}],"
    " \"classes\": [{\"name\": \"req\", \"match\": {\"path_prefix\": \"/r\"},"
    "   \"calls\": {\"service\": \"front\", \"children\": [{\"service\": \"back\"}]}},"
    "  {\"name\": \"other\", \"match\": {\"path_prefix\": \"/o\"},"
    "   \"calls\": {\"service\": \"back\"}}]}";

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define T0    1700000000000000ull

/* A Zipkin span of front starting (10 + |at|) ms after the epoch (|at| one
 * digit) and lasting |ms| ms. */
#define Z(id, parent, kind, at, ms, extra)                                                         \
    "{\"traceId\": \"" TRACE "\", \"id\": \"" id "\", \"parentId\": \"" parent "\", "              \
    "\"kind\": \"" kind "\", \"timestamp\": 1" #at "000, \"duration\": " #ms "000, "               \
    "\"localEndpoint\": {\"serviceName\": \"front\"}" extra "}"

static slate_report *feed(slate_sc_tel *tel, const char *json, slate_sc_span_outcome *o,
                          int64_t flush_ms)
{
    slate_span_batch *b = parse_ok(SLATE_SPANS_ZIPKIN, json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(
        slate_sc_tel_spans(tel, slate_span_batch_spans(b), slate_span_batch_count(b), 0, 5e9, o),
        SLATE_OK);
    slate_span_batch_free(b);
    slate_report *r = NULL;
    CU_ASSERT_EQUAL(slate_sc_tel_flush(tel, flush_ms, &r), SLATE_OK);
    return r;
}

/* The batch of test_feed_windows (owned), built with printf for its times. */
static char *zipkin_batch(void)
{
    /* A SERVER span of 100 ms; under it two sequential calls (10-20, 25-40
     * ms), and two overlapping parallel ones (50-80, 60-90 ms) made under an
     * INTERNAL span; a call to a database (not a topology service) at 0-95
     * ms that stays in the self-time; a library's inner CLIENT span under
     * the first call (not counted again); a span of another service. The
     * union of the calls is 10 + 15 + 40 = 65 ms: self-time 35 ms. */
    static const struct {
        const char *id, *parent, *kind;
        int at, ms;
        const char *extra;
    } S[] = {
        {"0000000000000001", "", "SERVER", 0, 100, ", \"tags\": {\"http.target\": \"/r/x\"}"},
        {"0000000000000002", "0000000000000001", "CLIENT", 10, 10,
         ", \"remoteEndpoint\": {\"serviceName\": \"back\"}"},
        {"0000000000000003", "0000000000000001", "CLIENT", 25, 15,
         ", \"remoteEndpoint\": {\"serviceName\": \"back\"}, \"tags\": {\"http.status_code\": "
         "\"502\"}"},
        {"0000000000000004", "0000000000000001", "", 45, 50, ""},
        {"0000000000000005", "0000000000000004", "CLIENT", 50, 30,
         ", \"remoteEndpoint\": {\"serviceName\": \"back\"}, \"tags\": {\"slate.cluster\": "
         "\"east\"}"},
        {"0000000000000006", "0000000000000004", "CLIENT", 60, 30,
         ", \"remoteEndpoint\": {\"serviceName\": \"back.ns.svc:8080\"}, \"tags\": "
         "{\"slate.cluster\": \"east\"}"},
        {"0000000000000007", "0000000000000001", "CLIENT", 0, 95,
         ", \"remoteEndpoint\": {\"serviceName\": \"postgres\"}"},
        {"0000000000000008", "0000000000000002", "CLIENT", 11, 5,
         ", \"remoteEndpoint\": {\"serviceName\": \"back\"}"},
    };
    size_t cap = 8192, len = 0;
    char *out = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    len += (size_t)snprintf(out + len, cap - len, "[");
    for (size_t i = 0; i < sizeof(S) / sizeof(S[0]); i++)
        len += (size_t)snprintf(
            out + len, cap - len,
            "%s{\"traceId\": \"%s\", \"id\": \"%s\", \"parentId\": \"%s\", %s%s%s"
            "\"timestamp\": %llu, \"duration\": %d, "
            "\"localEndpoint\": {\"serviceName\": \"front\"}%s}",
            i ? ", " : "", TRACE, S[i].id, S[i].parent, S[i].kind[0] ? "\"kind\": \"" : "",
            S[i].kind, S[i].kind[0] ? "\", " : "", T0 + (unsigned long long)S[i].at * 1000,
            S[i].ms * 1000, S[i].extra);
    len += (size_t)snprintf(
        out + len, cap - len,
        ", {\"traceId\": \"%s\", \"id\": \"0000000000000009\", \"kind\": \"SERVER\","
        " \"timestamp\": %llu, \"duration\": 7, \"localEndpoint\": "
        "{\"serviceName\": \"back\"}}]",
        TRACE, T0);
    CU_ASSERT(len < cap);
    return out;
}

static const slate_report_outbound *find_out(const slate_report *r, const char *cluster)
{
    for (size_t i = 0; i < r->n_outbound; i++)
        if (strcmp(r->outbound[i].dst_cluster, cluster) == 0)
            return &r->outbound[i];
    return NULL;
}

static void test_feed_windows(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    slate_sc_tel *tel = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 0, 0, "f0", "127.0.0.1:1", 1000, &tel), SLATE_OK);
    char *json = zipkin_batch();
    slate_sc_span_outcome o;
    slate_report *r = feed(tel, json, &o, 2000);
    free(json);
    CU_ASSERT_EQUAL(o.inbound, 1);
    CU_ASSERT_EQUAL(o.outbound, 4);
    CU_ASSERT_EQUAL(o.deduplicated, 0);
    CU_ASSERT_EQUAL(o.ignored, 4); /* INTERNAL, postgres, the inner call, back's span */
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_inbound, 1);
    CU_ASSERT_STRING_EQUAL(r->inbound[0].klass, "req"); /* match rules on http.target */
    CU_ASSERT_EQUAL(r->inbound[0].count, 1);
    CU_ASSERT_EQUAL(r->inbound[0].ingress, 1); /* a root span at the class's root service */
    CU_ASSERT_EQUAL(r->inbound[0].errors, 0);
    CU_ASSERT_EQUAL(r->inbound[0].latency.sum_us, 100000);
    CU_ASSERT_EQUAL(r->inbound[0].self_time.count, 1);
    CU_ASSERT_EQUAL(r->inbound[0].self_time.sum_us, 35000);
    CU_ASSERT_EQUAL_FATAL(r->n_outbound, 2);
    const slate_report_outbound *west = find_out(r, "west"), *east = find_out(r, "east");
    CU_ASSERT_PTR_NOT_NULL_FATAL(west);
    CU_ASSERT_PTR_NOT_NULL_FATAL(east);
    CU_ASSERT_STRING_EQUAL(west->dst_service, "back");
    CU_ASSERT_STRING_EQUAL(west->klass, "req"); /* inherited from the SERVER span */
    CU_ASSERT_EQUAL(west->count, 2);
    CU_ASSERT_EQUAL(west->errors, 1); /* the 502 */
    CU_ASSERT_EQUAL(west->latency.sum_us, 25000);
    CU_ASSERT_EQUAL(east->count, 2); /* slate.cluster; "back.ns.svc:8080" is back */
    CU_ASSERT_EQUAL(east->latency.sum_us, 60000);
    slate_report_free(r);
    slate_sc_tel_totals tt = slate_sc_tel_totals_get(tel);
    CU_ASSERT_EQUAL(tt.spans_accepted, 9);
    CU_ASSERT_EQUAL(tt.span_inbound, 1);
    CU_ASSERT_EQUAL(tt.span_outbound, 4);
    CU_ASSERT_EQUAL(tt.spans_ignored, 4);
    CU_ASSERT_EQUAL(tt.inbound, 1);
    CU_ASSERT_EQUAL(tt.outbound, 4);
    slate_sc_tel_free(tel);
    slate_topology_free(t);
}

/* Classes from tags and baggage, the default class, unknown names, errors. */
static void test_feed_classes(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    slate_sc_tel *tel = NULL;
    /* front: only "req" contains it, so it is the default class. */
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 0, 0, "f0", NULL, 1000, &tel), SLATE_OK);
    slate_sc_span_outcome o;
    slate_report *r = feed(
        tel,
        "[" Z("0000000000000001", "000000000000000a", "SERVER", 0, 4,
              ", \"tags\": {\"error\": \"timeout\"}") ","
        /* an unknown class name is not guessed */
        Z("0000000000000002", "", "SERVER", 0, 4, ", \"tags\": {\"slate.class\": \"nope\"}") ","
        /* baggage names the class; another service's span */
        Z("0000000000000003", "", "CLIENT", 0, 4,
          ", \"remoteEndpoint\": {\"serviceName\": \"back\"}, "
          "\"tags\": {\"baggage\": \"k=v,slate-class=other\"}") ","
                                                                "{\"traceId\": \"" TRACE
                                                                "\", \"id\": \"0000000000000004\", "
                                                                "\"kind\": \"SERVER\", "
                                                                "\"timestamp\": 5, \"duration\": "
                                                                "5, "
                                                                "\"localEndpoint\": "
                                                                "{\"serviceName\": \"back\"}},"
        /* an unknown cluster */
        Z("0000000000000005", "", "CLIENT", 0, 4,
          ", \"remoteEndpoint\": {\"serviceName\": \"back\"}, "
          "\"tags\": {\"slate.cluster\": \"mars\"}") "]",
        &o, 2000);
    CU_ASSERT_EQUAL(o.inbound, 1);
    CU_ASSERT_EQUAL(o.outbound, 1);
    CU_ASSERT_EQUAL(o.ignored, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_inbound, 1);
    CU_ASSERT_STRING_EQUAL(r->inbound[0].klass, "req");
    CU_ASSERT_EQUAL(r->inbound[0].errors, 1);  /* the error tag */
    CU_ASSERT_EQUAL(r->inbound[0].ingress, 0); /* it has a parent */
    CU_ASSERT_EQUAL_FATAL(r->n_outbound, 1);
    CU_ASSERT_STRING_EQUAL(r->outbound[0].klass, "other");
    CU_ASSERT_STRING_EQUAL(r->outbound[0].dst_cluster, "west"); /* this sidecar's */
    slate_report_free(r);
    slate_sc_tel_free(tel);
    /* back: in two classes' trees, so no default; match rules only apply to
     * classes rooted at back ("/o" is, "/r" is not). */
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 1, 1, "b0", NULL, 1000, &tel), SLATE_OK);
    r = feed(tel,
             "[{\"traceId\": \"" TRACE "\", \"id\": \"0000000000000001\", \"kind\": \"SERVER\","
             " \"timestamp\": 5, \"duration\": 5, \"localEndpoint\": {\"serviceName\": \"back\"}},"
             " {\"traceId\": \"" TRACE "\", \"id\": \"0000000000000002\", \"kind\": \"SERVER\","
             " \"timestamp\": 5, \"duration\": 5, \"tags\": {\"http.target\": \"/r\"}},"
             " {\"traceId\": \"" TRACE "\", \"id\": \"0000000000000003\", \"kind\": \"SERVER\","
             " \"timestamp\": 5, \"duration\": 6, \"tags\": {\"http.target\": \"/o/1\","
             " \"http.status_code\": \"500\"}}]",
             &o, 2000);
    CU_ASSERT_EQUAL(o.inbound, 1);
    CU_ASSERT_EQUAL(o.ignored, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_inbound, 1);
    CU_ASSERT_STRING_EQUAL(r->inbound[0].klass, "other");
    CU_ASSERT_EQUAL(r->inbound[0].errors, 1);
    CU_ASSERT_EQUAL(r->inbound[0].ingress, 1);
    CU_ASSERT_EQUAL(r->inbound[0].latency.sum_us, 6);
    slate_report_free(r);
    slate_sc_tel_free(tel);
    slate_topology_free(t);
}

/* What the proxy measured is not counted again; ids are forgotten after the
 * horizon. */
static void test_feed_dedup(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    slate_sc_tel *tel = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 0, 0, "f0", NULL, 1000, &tel), SLATE_OK);
    /* The proxy carries an inbound request of TRACE (at 5 s on its clock). */
    slate_sc_active *h = slate_sc_tel_inbound_begin(tel, 0, TRACE, 5e9 - 1e6);
    slate_sc_tel_inbound_end(tel, h, 0, 200, 1, 0, 5e9 - 0.5e6);
    static const char BATCH[] = "[" Z("0000000000000001", "", "SERVER", 0, 10, "") "," Z(
        "0000000000000002", "0000000000000001", "CLIENT", 2, 5,
        ", \"remoteEndpoint\": {\"serviceName\": \"back\"}") "]";
    slate_sc_span_outcome o;
    slate_report *r = feed(tel, BATCH, &o, 2000);
    /* The SERVER span is the proxy's inbound request; its call was not seen
     * by the proxy (the app did not send it through), so it counts. */
    CU_ASSERT_EQUAL(o.deduplicated, 1);
    CU_ASSERT_EQUAL(o.outbound, 1);
    CU_ASSERT_EQUAL(o.inbound, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_inbound, 1);
    CU_ASSERT_EQUAL(r->inbound[0].count, 1); /* the proxy's, once */
    slate_report_free(r);
    /* Now the proxy carries the call too: both spans are duplicates. */
    slate_sc_tel_outbound(tel, 0, 1, 0, 200, 0, 0, TRACE, 5e9 - 0.9e6, 5e9 - 0.8e6);
    r = feed(tel, BATCH, &o, 3000);
    CU_ASSERT_EQUAL(o.deduplicated, 2);
    CU_ASSERT_EQUAL(o.outbound + o.inbound + o.ignored, 0);
    slate_report_free(r);
    /* Other traces are not affected. */
    slate_sc_tel_inbound_begin(tel, 0, "00000000000000000000000000000001", 5e9);
    slate_sc_tel_inbound_end(tel, NULL, 0, 200, 0, 5e9, 5e9);
    /* Past the horizon (two generations) the proxy's ids are forgotten. */
    slate_span_batch *b = parse_ok(SLATE_SPANS_ZIPKIN, BATCH);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(
        slate_sc_tel_spans(tel, slate_span_batch_spans(b), 2, 3, 5e9 + SLATE_TEL_SEEN_GEN_US, &o),
        SLATE_OK);
    CU_ASSERT_EQUAL(o.deduplicated, 2); /* one generation later: still known */
    CU_ASSERT_EQUAL(slate_sc_tel_spans(tel, slate_span_batch_spans(b), 2, 0,
                                       5e9 + 2.5 * SLATE_TEL_SEEN_GEN_US, &o),
                    SLATE_OK);
    CU_ASSERT_EQUAL(o.deduplicated, 0);
    CU_ASSERT_EQUAL(o.inbound, 1);
    CU_ASSERT_EQUAL(o.outbound, 1);
    slate_span_batch_free(b);
    slate_sc_tel_totals tt = slate_sc_tel_totals_get(tel);
    CU_ASSERT_EQUAL(tt.spans_accepted, 8);
    CU_ASSERT_EQUAL(tt.spans_rejected, 3);
    CU_ASSERT_EQUAL(tt.spans_deduplicated, 5);
    slate_sc_tel_free(tel);
    slate_topology_free(t);
}

/* Under a load that fills a generation, the newest ids are still known. */
static void test_dedup_bounded(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    slate_sc_tel *tel = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 0, 0, "f0", NULL, 1000, &tel), SLATE_OK);
    char id[33];
    int n = 3 * SLATE_TEL_SEEN_MAX;
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "%032x", i);
        slate_sc_active *h = slate_sc_tel_inbound_begin(tel, 0, id, 1e6);
        slate_sc_tel_inbound_end(tel, h, 0, 200, 0, 0, 1e6);
    }
    char json[512];
    slate_sc_span_outcome o;
    for (int i = n; i >= n - SLATE_TEL_SEEN_MAX + 1; i -= SLATE_TEL_SEEN_MAX / 4) {
        snprintf(json, sizeof(json),
                 "[{\"traceId\": \"%032x\", \"id\": \"0000000000000001\", \"kind\": \"SERVER\","
                 " \"timestamp\": 1, \"duration\": 1}]",
                 i);
        slate_span_batch *b = parse_ok(SLATE_SPANS_ZIPKIN, json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(slate_sc_tel_spans(tel, slate_span_batch_spans(b), 1, 0, 1e6, &o),
                        SLATE_OK);
        CU_ASSERT_EQUAL(o.deduplicated, 1);
        slate_span_batch_free(b);
    }
    slate_sc_tel_free(tel);
    slate_topology_free(t);
}

static CU_TestInfo span_tests[] = {
    {"Zipkin v2: ids, kinds, times as numbers and strings, unknown fields", test_zipkin_valid},
    {"OTLP: resource service, kinds, nano times as strings and numbers", test_otlp_valid},
    {"Zipkin: every error class with its path", test_zipkin_errors},
    {"OTLP: document shape errors", test_otlp_errors},
    {"OTLP: span errors", test_otlp_span_errors},
    {"OTLP partial success; byte and span-count limits", test_partial_and_limits},
    {"answers as Zipkin and OTLP receivers give them", test_responses},
    {"spans feed the windows: self-time, calls, classes inherited", test_feed_windows},
    {"spans feed the windows: class sources, errors, ignored spans", test_feed_classes},
    {"spans the proxy measured are de-duplicated", test_feed_dedup},
    {"de-duplication memory is bounded, newest ids kept", test_dedup_bounded},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "span_ingest",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = span_tests},
    CU_SUITE_INFO_NULL,
};
