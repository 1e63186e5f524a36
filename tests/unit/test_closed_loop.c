/*
 * Unit tests for the simulator's telemetry (des.h) and the closed-loop mode
 * (sim/closed_loop.h): the reports carry what a sidecar would measure
 * (counts, arrivals per ingress cluster, self-time, multiplicities), they
 * pass the wire format's validation, and the loop driven by them routes as
 * well as the idealised DES mode, follows a demand step and learns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/report.h"
#include "sim/des.h"
#include "sim/runner.h"
#include "sim/scenario.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

/* ---- telemetry ---- */

/*
 * fe (cluster A, 5 ms, 100 servers: no queueing) calls b (cluster B, 1 ms)
 * 2.5 times on average, sequentially, across an RTT of 20 ms; 200 req/s
 * enter at A.
 */
static slate_topology *fanout_topology(void)
{
    const char *json =
        "{\"clusters\": [\"A\", \"B\"], \"network\": {\"rtt_ms\": [[0, 20], [20, 0]]},"
        " \"services\": ["
        "  {\"name\": \"fe\", \"service_time_ms\": 5,"
        "   \"deployments\": [{\"cluster\": \"A\", \"capacity_rps\": 20000}]},"
        "  {\"name\": \"b\", \"service_time_ms\": 1,"
        "   \"deployments\": [{\"cluster\": \"B\", \"capacity_rps\": 100000}]}],"
        " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"fe\","
        "   \"children\": [{\"service\": \"b\", \"count\": 2.5, \"request_bytes\": 100,"
        "                   \"response_bytes\": 300}]}}],"
        " \"demand\": [{\"class\": \"k\", \"cluster\": \"A\", \"rps\": 200}]}";
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(json, strlen(json), &t, NULL), SLATE_OK);
    return t;
}

static const slate_report *find_report(slate_report **rs, size_t n, const char *service)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rs[i]->service, service) == 0)
            return rs[i];
    return NULL;
}

/* The report survives the wire: serialised and parsed back, it validates. */
static void assert_wire_valid(const slate_report *r)
{
    char *text = NULL;
    size_t len = 0;
    slate_report *back = NULL;
    slate_diag d;
    slate_diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(slate_report_to_json(r, &text, &len), SLATE_OK);
    int rv = slate_report_parse(text, len, &back, &d);
    if (rv != SLATE_OK)
        slate_diag_print(&d, stderr);
    CU_ASSERT_EQUAL(rv, SLATE_OK);
    if (back != NULL)
        CU_ASSERT_EQUAL(back->inbound[0].arrivals, r->inbound[0].arrivals);
    slate_report_free(back);
    slate_diag_cleanup(&d);
    free(text);
}

static void test_telemetry_reports(void)
{
    slate_topology *t = fanout_topology();
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    slate_des_opts o;
    slate_des_opts_init(&o);
    o.end_s = 30;
    o.seed = 5;
    slate_des *d = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_des_new(t, ps, &o, &d), SLATE_OK);
    slate_report **rs = NULL;
    size_t n = 0;
    /* Not enabled yet: no reports to take. */
    CU_ASSERT_EQUAL(slate_des_telemetry_take(d, &rs, &n), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL_FATAL(slate_des_telemetry_enable(d), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_des_run_until(d, 20), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_des_telemetry_take(d, &rs, &n), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    const slate_report *fe = find_report(rs, n, "fe"), *b = find_report(rs, n, "b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(fe->cluster, "A");
    CU_ASSERT_STRING_EQUAL(b->cluster, "B");
    CU_ASSERT_EQUAL(fe->start_ms, 0);
    CU_ASSERT_EQUAL(fe->end_ms, 20000);
    CU_ASSERT_EQUAL_FATAL(fe->n_inbound, 1);
    CU_ASSERT_EQUAL_FATAL(fe->n_outbound, 1);
    const slate_report_inbound *in = &fe->inbound[0];
    /* 4000 Poisson arrivals expected: sd 63, 5 sd = 316. */
    SLATE_ASSERT_NEAR((double)in->arrivals, 4000, 316);
    /* Requests still in flight at 20 s (~60 ms worth) have arrived but not
     * completed. */
    CU_ASSERT(in->count <= in->arrivals && in->arrivals - in->count < 60);
    CU_ASSERT_EQUAL(in->ingress, in->count); /* all enter and are served at A */
    /* Self-time: fe's own 5 ms (exponential: sd of the mean 5 / sqrt(4000)
     * = 0.08 ms; the histogram's sum is exact). */
    SLATE_ASSERT_NEAR(slate_hist_mean_ms(&in->self_time), 5.0, 0.5);
    /* Latency: 5 ms + 2.5 sequential calls of 20 ms RTT + 1 ms each. */
    SLATE_ASSERT_NEAR(slate_hist_mean_ms(&in->latency), 5 + 2.5 * 21, 2.0);
    const slate_report_outbound *out = &fe->outbound[0];
    CU_ASSERT_STRING_EQUAL(out->dst_service, "b");
    CU_ASSERT_STRING_EQUAL(out->dst_cluster, "B");
    SLATE_ASSERT_NEAR((double)out->count / (double)in->count, 2.5, 0.05);
    SLATE_ASSERT_NEAR(slate_hist_mean_ms(&out->latency), 21.0, 0.5);
    CU_ASSERT_EQUAL(out->request_bytes, 100 * out->count);
    CU_ASSERT_EQUAL(out->response_bytes, 300 * out->count);
    /* b serves what fe called: no ingress there. */
    CU_ASSERT_EQUAL_FATAL(b->n_inbound, 1);
    CU_ASSERT_EQUAL(b->n_outbound, 0);
    CU_ASSERT_EQUAL(b->inbound[0].ingress, 0);
    CU_ASSERT_EQUAL(b->inbound[0].arrivals, 0);
    CU_ASSERT(llabs((long long)b->inbound[0].count - (long long)out->count) < 10);
    SLATE_ASSERT_NEAR(slate_hist_mean_ms(&b->inbound[0].self_time), 1.0, 0.1);
    assert_wire_valid(fe);
    assert_wire_valid(b);
    slate_des_reports_free(rs, n);
    /* The window restarted: nothing happened since. */
    rs = NULL;
    CU_ASSERT_EQUAL(slate_des_telemetry_take(d, &rs, &n), SLATE_OK);
    CU_ASSERT_EQUAL(n, 0);
    slate_des_reports_free(rs, n);
    slate_des_free(d);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/*
 * Arrivals count where requests enter, not where they are served: with the
 * ingress rule of A sending everything to fe's deployment in B, fe's
 * sidecar in A counts the arrivals and B serves them.
 */
static void test_telemetry_arrivals_at_ingress(void)
{
    const char *json =
        "{\"clusters\": [\"A\", \"B\"], \"network\": {\"rtt_ms\": [[0, 10], [10, 0]]},"
        " \"services\": [{\"name\": \"fe\", \"service_time_ms\": 1,"
        "   \"deployments\": [{\"cluster\": \"A\", \"capacity_rps\": 10000},"
        "                     {\"cluster\": \"B\", \"capacity_rps\": 10000}]}],"
        " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"fe\"}}],"
        " \"demand\": [{\"class\": \"k\", \"cluster\": \"A\", \"rps\": 100}]}";
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(json, strlen(json), &t, NULL), SLATE_OK);
    slate_profile_set *ps = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &ps), SLATE_OK);
    /* The ingress rule of (k, A) -> fe sends everything to B. */
    slate_route_table rt = {.n_clusters = 2};
    double w[2] = {0, 1};
    slate_route_rule rule = {
        .klass = 0, .src_service = -1, .src_cluster = 0, .dst_service = 0, .weights = w};
    rt.rules = &rule;
    rt.n_rules = 1;
    slate_des *d = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_des_new(t, ps, NULL, &d), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_des_set_routes(d, &rt), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_des_telemetry_enable(d), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_des_run_until(d, 10), SLATE_OK);
    slate_report **rs = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(slate_des_telemetry_take(d, &rs, &n), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    const slate_report *a = strcmp(rs[0]->cluster, "A") == 0 ? rs[0] : rs[1];
    const slate_report *b = a == rs[0] ? rs[1] : rs[0];
    /* A's sidecar saw every request enter (1000 expected, 5 sd = 158) and
     * served none; B served them all, none of which entered there. */
    SLATE_ASSERT_NEAR((double)a->inbound[0].arrivals, 1000, 158);
    CU_ASSERT_EQUAL(a->inbound[0].count, 0);
    CU_ASSERT_EQUAL(b->inbound[0].arrivals, 0);
    CU_ASSERT_EQUAL(b->inbound[0].ingress, 0);
    CU_ASSERT(b->inbound[0].count + 5 >= a->inbound[0].arrivals);
    assert_wire_valid(a);
    slate_des_reports_free(rs, n);
    slate_des_free(d);
    slate_profile_set_free(ps);
    slate_topology_free(t);
}

/* ---- the closed loop ---- */

static slate_scenario *load_scenario(const char *json)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/examples", SLATE_SOURCE_DIR);
    slate_scenario *sc = NULL;
    slate_diag d;
    slate_diag_init(&d);
    int rv = slate_scenario_load_json(json, strlen(json), dir, &sc, &d);
    if (rv != SLATE_OK)
        slate_diag_print(&d, stderr);
    slate_diag_cleanup(&d);
    CU_ASSERT_EQUAL_FATAL(rv, SLATE_OK);
    return sc;
}

/*
 * The SLATE benchmark shape for 20 s: the loop starts from the topology's
 * demand (the truth at t = 0), re-solves every 5 s from what telemetry
 * shows. It must route as well as the DES mode's controller that knows the
 * demand exactly: within 20% of its mean (the two runs draw different
 * random streams once tables differ; the benchmark's per-seed spread of the
 * slate mean is a few percent), and far below waterfall in the same loop.
 */
static void test_closed_loop_matches_ideal(void)
{
    slate_scenario *sc = load_scenario("{\"topology\": \"alibaba-fanout.json\", \"duration_s\": 20,"
                                       " \"warmup_s\": 4, \"seed\": 7}");
    slate_policy_kind pol[] = {SLATE_POLICY_WATERFALL, SLATE_POLICY_SLATE};
    slate_sim_opts o;
    slate_sim_opts_init(&o);
    o.modes = SLATE_SIM_DES | SLATE_SIM_CLOSED;
    slate_sim_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, pol, 2, &o, &r, NULL), SLATE_OK);
    const slate_sim_row *ideal = slate_sim_report_find(r, SLATE_POLICY_SLATE, SLATE_SIM_DES);
    const slate_sim_row *loop = slate_sim_report_find(r, SLATE_POLICY_SLATE, SLATE_SIM_CLOSED);
    const slate_sim_row *wf = slate_sim_report_find(r, SLATE_POLICY_WATERFALL, SLATE_SIM_CLOSED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loop);
    CU_ASSERT_EQUAL_FATAL(loop->status, SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(wf->status, SLATE_OK);
    SLATE_ASSERT_NEAR(loop->mean_ms / ideal->mean_ms, 1.0, 0.2);
    CU_ASSERT(loop->mean_ms < 0.25 * wf->mean_ms);
    /* Periods at 0 (the prior), 5, 10, 15 s; the first publishes. */
    CU_ASSERT_EQUAL_FATAL(loop->n_periods, 4);
    CU_ASSERT(loop->periods[0].published);
    for (size_t i = 0; i < loop->n_periods; i++) {
        SLATE_ASSERT_NEAR(loop->periods[i].t_s, 5.0 * (double)i, 1e-9);
        CU_ASSERT_FALSE(loop->periods[i].solve_failed);
    }
    /* Observed demand: 2900 req/s (5-s windows: ~14,500 arrivals, sd 120). */
    for (size_t i = 1; i < loop->n_periods; i++)
        SLATE_ASSERT_NEAR(loop->periods[i].ingress_rps, 2900, 150);
    /* The table of the prior was right: later optima differ only by noise
     * and alternative optima, and damping halves what they change. */
    slate_sim_report_free(r);

    /* Same seed, same run. */
    slate_policy_kind only[] = {SLATE_POLICY_SLATE};
    o.modes = SLATE_SIM_CLOSED;
    slate_sim_report *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, only, 1, &o, &a, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, only, 1, &o, &b, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(a->rows[0].requests, b->rows[0].requests);
    CU_ASSERT_EQUAL(a->rows[0].mean_ms, b->rows[0].mean_ms);
    slate_sim_report_free(a);
    slate_sim_report_free(b);
    slate_scenario_free(sc);
}

/*
 * A demand step the controller is not told about: us-west's light demand
 * drops from 1900 to 900 req/s at 10 s. The loop (1-s periods) sees it in
 * the first period wholly after the step and re-routes: the period's
 * observed demand is the new one, and a new table is published -- while
 * before the step, with steady demand, the table stays put.
 */
static void test_closed_loop_follows_step(void)
{
    slate_scenario *sc =
        load_scenario("{\"topology\": \"alibaba-fanout.json\", \"duration_s\": 14, \"warmup_s\": 2,"
                      " \"timeline\": [{\"at_s\": 10, \"demand\": [{\"class\": \"light\","
                      "   \"cluster\": \"us-west\", \"rps\": 900}]}]}");
    slate_policy_kind pol[] = {SLATE_POLICY_SLATE};
    slate_sim_opts o;
    slate_sim_opts_init(&o);
    o.modes = SLATE_SIM_CLOSED;
    o.loop_period_s = 1;
    slate_sim_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, pol, 1, &o, &r, NULL), SLATE_OK);
    const slate_sim_row *row = &r->rows[0];
    CU_ASSERT_EQUAL_FATAL(row->status, SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(row->n_periods, 14); /* 0, 1, ..., 13 s */
    /* 1-s windows: 2900 arrivals, sd 54; after the step 1900, sd 44. */
    SLATE_ASSERT_NEAR(row->periods[9].ingress_rps, 2900, 270);
    SLATE_ASSERT_NEAR(row->periods[11].ingress_rps, 1900, 220);
    SLATE_ASSERT_NEAR(row->periods[12].ingress_rps, 1900, 220);
    /* Before the step the optimum moves only by noise and alternative
     * optima: the publish gate holds the table (at most one publication
     * slips through in periods 2..9, against 8 without the gate). With 1000
     * req/s less at us-west the published table is predicted to cost far
     * more than the new optimum: the first period after the step publishes. */
    int published_before = 0;
    for (size_t i = 2; i <= 9; i++)
        published_before += row->periods[i].published;
    CU_ASSERT(published_before <= 1);
    CU_ASSERT(row->periods[11].published);
    CU_ASSERT(row->periods[11].gain > 0.05);
    slate_sim_report_free(r);
    slate_scenario_free(sc);
}

/*
 * Learning: the prior is the topology's default profile while us-west's
 * services run at half their nominal capacity from the start (a capacity
 * event at 0). With learning on, the loop refits profiles once it has
 * enough samples; with it off, it never does.
 */
static void test_closed_loop_learns(void)
{
    slate_scenario *sc = load_scenario(
        "{\"topology\": \"alibaba-fanout.json\", \"duration_s\": 12, \"warmup_s\": 2,"
        " \"slate_profiles\": \"defaults\","
        " \"events\": [{\"at_s\": 0, \"kind\": \"capacity\", \"cluster\": \"us-west\","
        "   \"factor\": 0.6}]}");
    slate_policy_kind pol[] = {SLATE_POLICY_SLATE};
    slate_sim_opts o;
    slate_sim_opts_init(&o);
    o.modes = SLATE_SIM_CLOSED;
    o.loop_period_s = 1;
    for (int learn = 0; learn < 2; learn++) {
        o.loop_learn = learn;
        slate_sim_report *r = NULL;
        CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, pol, 1, &o, &r, NULL), SLATE_OK);
        const slate_sim_row *row = &r->rows[0];
        CU_ASSERT_EQUAL_FATAL(row->status, SLATE_OK);
        int refits = 0, first = -1;
        for (size_t i = 0; i < row->n_periods; i++) {
            refits += row->periods[i].refits;
            if (row->periods[i].refits > 0 && first < 0)
                first = (int)i;
        }
        if (!learn) {
            CU_ASSERT_EQUAL(refits, 0);
        } else {
            /* The fourth sample of a deployment allows its first refit. */
            CU_ASSERT(refits > 0);
            CU_ASSERT_EQUAL(first, 4);
        }
        slate_sim_report_free(r);
    }
    slate_scenario_free(sc);
}

static void test_closed_loop_rejects(void)
{
    slate_scenario *sc = load_scenario("{\"topology\": \"alibaba-fanout.json\","
                                       " \"duration_s\": 2}");
    slate_policy_kind pol[] = {SLATE_POLICY_P2C_EWMA};
    slate_sim_opts o;
    slate_sim_opts_init(&o);
    o.modes = SLATE_SIM_CLOSED;
    slate_sim_report *r = NULL;
    /* p2c-ewma has no table: a row with the reason, not a failed run. */
    CU_ASSERT_EQUAL_FATAL(slate_sim_run(sc, pol, 1, &o, &r, NULL), SLATE_OK);
    CU_ASSERT_NOT_EQUAL(r->rows[0].status, SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->rows[0].error, "DES mode only"));
    slate_sim_report_free(r);
    /* Bad loop settings. */
    o.loop_period_s = 0;
    CU_ASSERT_EQUAL(slate_sim_run(sc, pol, 1, &o, &r, NULL), SLATE_ERR_INVALID_ARG);
    o.loop_period_s = 5;
    o.loop_damping_step = 1.5;
    CU_ASSERT_EQUAL(slate_sim_run(sc, pol, 1, &o, &r, NULL), SLATE_ERR_INVALID_ARG);
    slate_scenario_free(sc);
}

/* clang-format off */
static CU_TestInfo telemetry_tests[] = {
    {"reports like a sidecar's", test_telemetry_reports},
    {"arrivals at the ingress cluster", test_telemetry_arrivals_at_ingress},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo loop_tests[] = {
    {"matches the ideal controller", test_closed_loop_matches_ideal},
    {"follows a demand step", test_closed_loop_follows_step},
    {"learns only when asked", test_closed_loop_learns},
    {"rejections", test_closed_loop_rejects},
    CU_TEST_INFO_NULL,
};
/* clang-format on */

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "des telemetry",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = telemetry_tests},
    {.pName = "closed loop",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = loop_tests},
    CU_SUITE_INFO_NULL,
};
