/* The sidecar's library parts: trace context, baggage, the routing table
 * (parse, weighted picks, default routing) and telemetry's self-time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/rng.h"
#include "sidecar/route_table.h"
#include "sidecar/telemetry.h"
#include "sidecar/trace.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

static void test_traceparent(void)
{
    char id[33];
    CU_ASSERT_EQUAL(slate_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id), 0);
    CU_ASSERT_STRING_EQUAL(id, "4bf92f3577b34da6a3ce929d0e0e4736");
    /* A later version may append fields. */
    CU_ASSERT_EQUAL(slate_traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz", id), 0);
    static const char *const bad[] = {
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* 00 is exactly 55 */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  /* short id */
        "",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(slate_traceparent_parse(bad[i], id), -1);
    CU_ASSERT_EQUAL(slate_traceparent_parse(NULL, id), -1);
    slate_rng rng;
    slate_rng_seed(&rng, 3);
    char tp[56], tid[33];
    slate_traceparent_new(&rng, tp, tid);
    CU_ASSERT_EQUAL(strlen(tp), 55);
    CU_ASSERT_EQUAL(slate_traceparent_parse(tp, id), 0);
    CU_ASSERT_STRING_EQUAL(id, tid);
}

static void test_b3(void)
{
    char id[33];
    CU_ASSERT_EQUAL(slate_b3_trace_id("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", NULL, id), 0);
    CU_ASSERT_STRING_EQUAL(id, "80f198ee56343ba864fe8b2a57d3eff7");
    CU_ASSERT_EQUAL(slate_b3_trace_id(NULL, "463AC35C9F6413AD", id), 0); /* 64-bit, uppercase */
    CU_ASSERT_STRING_EQUAL(id, "0000000000000000463ac35c9f6413ad");
    CU_ASSERT_EQUAL(slate_b3_trace_id("1", NULL, id), -1); /* sampling only */
    CU_ASSERT_EQUAL(slate_b3_trace_id("xyz-abc", NULL, id), -1);
    CU_ASSERT_EQUAL(slate_b3_trace_id(NULL, "0000000000000000", id), -1);
    CU_ASSERT_EQUAL(slate_b3_trace_id("1", "463ac35c9f6413ad", id), 0); /* falls back to X-B3 */
    slate_rng rng;
    slate_rng_seed(&rng, 1);
    char tp[56], back[33];
    slate_traceparent_continue(&rng, id, tp);
    CU_ASSERT_EQUAL(slate_traceparent_parse(tp, back), 0);
    CU_ASSERT_STRING_EQUAL(back, id);
}

static void test_baggage(void)
{
    char k[32];
    CU_ASSERT_EQUAL(slate_baggage_class("slate-class=home", k, sizeof(k)), 0);
    CU_ASSERT_STRING_EQUAL(k, "home");
    CU_ASSERT_EQUAL(slate_baggage_class("user=a, slate-class = cart ;p=1,x=y", k, sizeof(k)), 0);
    CU_ASSERT_STRING_EQUAL(k, "cart");
    CU_ASSERT_EQUAL(slate_baggage_class("slate-classic=home", k, sizeof(k)), -1);
    CU_ASSERT_EQUAL(slate_baggage_class("slate-class=", k, sizeof(k)), -1);
    CU_ASSERT_EQUAL(slate_baggage_class("a=b", k, sizeof(k)), -1);
    CU_ASSERT_EQUAL(slate_baggage_class("slate-class=waytoolongforthebuffer", k, 8), -1);
    char *big = malloc(SLATE_BAGGAGE_MAX + 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', SLATE_BAGGAGE_MAX + 19);
    big[SLATE_BAGGAGE_MAX + 19] = '\0';
    memcpy(big, "slate-class=x,", 14);
    CU_ASSERT_EQUAL(slate_baggage_class(big, k, sizeof(k)), -1); /* over the size limit */
    free(big);
}

static const char TOPO[] =
    "{\"clusters\": [\"west\", \"east\", \"south\"],"
    " \"network\": {\"rtt_ms\": [[0.2, 20, 30], [20, 0.2, 10], [30, 10, 0.2]]},"
    " \"services\": ["
    "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100}]},"
    "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100,"
    "      \"endpoints\": [\"10.0.0.1:80\"]}, {\"cluster\": \"east\", \"capacity_rps\": 100}]},"
    "  {\"name\": \"far\", \"deployments\": [{\"cluster\": \"south\", \"capacity_rps\": 100},"
    "                                    {\"cluster\": \"east\", \"capacity_rps\": 100}]}],"
    " \"classes\": [{\"name\": \"req\", \"calls\": {\"service\": \"front\","
    "   \"children\": [{\"service\": \"back\"}, {\"service\": \"far\"}]}}]}";

static void test_route_table(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    static const char RT[] =
        "{\"version\": 9, \"rules\": ["
        " {\"class\": \"req\", \"src_service\": \"front\", \"src_cluster\": \"west\","
        "  \"dst_service\": \"back\", \"weights\": {\"west\": 0.7, \"east\": 0.3}},"
        " {\"class\": \"nope\", \"src_service\": \"front\", \"src_cluster\": \"west\","
        "  \"dst_service\": \"back\", \"weights\": {\"west\": 1}},"
        " {\"class\": \"req\", \"src_service\": \"back\", \"src_cluster\": \"east\","
        "  \"dst_service\": \"far\", \"weights\": {\"south\": 1}}],"
        " \"endpoints\": {\"back\": {\"east\": [\"127.0.0.1:7\", \"127.0.0.1:8\"]}}}";
    slate_sc_table *rt = NULL;
    slate_diag d;
    slate_diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(slate_sc_table_parse(t, 0, 0, RT, strlen(RT), &rt, &d), SLATE_OK);
    CU_ASSERT_EQUAL(slate_sc_table_version(rt), 9);
    CU_ASSERT_EQUAL(slate_sc_table_skipped(rt), 1); /* the unknown class */
    /* Weighted picks: 100,000 uniform draws land within 5 sd of 0.7. */
    slate_rng rng;
    slate_rng_seed(&rng, 11);
    int west = 0, n = 100000;
    for (int i = 0; i < n; i++) {
        int b = slate_sc_pick_cluster(rt, t, 0, 0, 1, slate_rng_uniform(&rng));
        CU_ASSERT(b == 0 || b == 1);
        west += b == 0;
    }
    CU_ASSERT(fabs(west - 0.7 * n) < 5 * sqrt(n * 0.21));
    /* No rule: local when deployed, else the nearest by RTT (east, 20 ms). */
    CU_ASSERT_EQUAL(slate_sc_pick_cluster(rt, t, 0, 0, 2, 0.5), 1);
    CU_ASSERT_EQUAL(slate_sc_pick_cluster(NULL, t, 0, 0, 1, 0.99), 0);
    CU_ASSERT_EQUAL(slate_sc_pick_cluster(NULL, t, 2, 0, 1, 0.5), 1);
    /* Endpoints: the table's list, else the topology's static ones. */
    const char *const *eps = NULL;
    CU_ASSERT_EQUAL(slate_sc_endpoints(rt, t, 1, 1, &eps), 2);
    CU_ASSERT_STRING_EQUAL(eps[1], "127.0.0.1:8");
    CU_ASSERT_EQUAL(slate_sc_endpoints(rt, t, 1, 0, &eps), 1);
    CU_ASSERT_STRING_EQUAL(eps[0], "10.0.0.1:80");
    CU_ASSERT_EQUAL(slate_sc_endpoints(rt, t, 2, 2, &eps), 0);
    slate_sc_table_free(rt);
    /* Bad tables are rejected with a path. */
    static const char BAD[] = "{\"version\": 1, \"rules\": [{\"class\": \"req\", \"src_service\": \"front\","
                              " \"src_cluster\": \"west\", \"dst_service\": \"back\", \"weights\": {\"west\": -1}}]}";
    rt = NULL;
    CU_ASSERT_EQUAL(slate_sc_table_parse(t, 0, 0, BAD, strlen(BAD), &rt, &d), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(rt);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "rules[0]"));
    slate_diag_cleanup(&d);
    slate_topology_free(t);
}

/* An inbound request of 100 ms that makes two sequential calls (10-20 ms,
 * 25-40 ms) and two overlapping parallel ones (50-80 ms, 60-90 ms): the
 * union of the calls is 10 + 15 + 40 = 65 ms, so the self-time is 35 ms. */
static void test_self_time(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    slate_sc_tel *tel = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_new(t, 0, 0, "f0", "127.0.0.1:1", 1000, &tel), SLATE_OK);
    const char *trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    double t0 = 1e9;
    slate_sc_tel_ingress_arrival(tel, 0);
    slate_sc_active *h = slate_sc_tel_inbound_begin(tel, 0, trace, t0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    double calls[4][2] = {{10, 20}, {25, 40}, {50, 80}, {60, 90}};
    for (int i = 0; i < 4; i++)
        slate_sc_tel_outbound(tel, 0, 1, i % 2, 200, 100, 1000, trace, t0 + calls[i][0] * 1e3,
                              t0 + calls[i][1] * 1e3);
    /* A call of another trace does not count. */
    slate_sc_tel_outbound(tel, 0, 1, 0, 200, 0, 0, "00000000000000000000000000000001", t0,
                          t0 + 99e3);
    slate_sc_tel_inbound_end(tel, h, 0, 200, 1, 0, t0 + 100e3);
    slate_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_flush(tel, 2000, &r), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_inbound, 1);
    CU_ASSERT_EQUAL(r->inbound[0].count, 1);
    CU_ASSERT_EQUAL(r->inbound[0].ingress, 1);
    CU_ASSERT_EQUAL(r->inbound[0].arrivals, 1);
    CU_ASSERT_EQUAL(r->inbound[0].arrivals_counted, 1);
    CU_ASSERT_EQUAL(r->inbound[0].self_time.sum_us, 35000);
    CU_ASSERT_EQUAL(r->inbound[0].latency.sum_us, 100000);
    CU_ASSERT_EQUAL(r->n_outbound, 2); /* (req, back, west) and (req, back, east) */
    uint64_t calls_total = 0, bytes = 0;
    for (size_t i = 0; i < r->n_outbound; i++) {
        calls_total += r->outbound[i].count;
        bytes += r->outbound[i].response_bytes;
    }
    CU_ASSERT_EQUAL(calls_total, 5);
    CU_ASSERT_EQUAL(bytes, 4000);
    slate_report_free(r);
    /* An empty window gives no report. */
    CU_ASSERT_EQUAL(slate_sc_tel_flush(tel, 3000, &r), SLATE_OK);
    CU_ASSERT_PTR_NULL(r);
    /* Arrivals count before the requests complete: a window where two
     * arrived and none finished still reports them (the offered load). */
    slate_sc_tel_ingress_arrival(tel, 0);
    slate_sc_tel_ingress_arrival(tel, 0);
    CU_ASSERT_EQUAL_FATAL(slate_sc_tel_flush(tel, 4000, &r), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->inbound[0].count, 0);
    CU_ASSERT_EQUAL(r->inbound[0].arrivals, 2);
    slate_report_free(r);
    slate_sc_tel_free(tel);
    slate_topology_free(t);
}

static CU_TestInfo sidecar_tests[] = {
    {"traceparent parse and create", test_traceparent},
    {"baggage slate-class", test_baggage},
    {"B3 trace ids", test_b3},
    {"routing table: parse, weighted picks, defaults", test_route_table},
    {"telemetry: self-time is the duration minus the union of calls", test_self_time},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "sidecar", .pInitFunc = NULL, .pCleanupFunc = NULL, .pSetUpFunc = NULL,
     .pTearDownFunc = NULL, .pTests = sidecar_tests},
    CU_SUITE_INFO_NULL,
};
