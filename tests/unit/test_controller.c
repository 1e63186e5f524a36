/* The controller daemon's library parts: aggregation (demand, multiplicity,
 * instance aging), the learner's rules, damping, and integer weights of the
 * exports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/report.h"
#include "controller/aggregate.h"
#include "controller/damping.h"
#include "controller/export.h"
#include "controller/learner.h"
#include "controller/routes.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

static const char TOPO[] =
    "{\"clusters\": [\"a\", \"b\"], \"network\": {\"rtt_ms\": [[0.5, 10], [10, 0.5]]},"
    " \"services\": ["
    "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"a\", \"capacity_rps\": 500}]},"
    "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"a\", \"capacity_rps\": 500},"
    "                                     {\"cluster\": \"b\", \"capacity_rps\": 500}]}],"
    " \"classes\": [{\"name\": \"req\", \"calls\": {\"service\": \"front\", \"work\": 2,"
    "   \"children\": [{\"service\": \"back\", \"count\": 3}]}}],"
    " \"demand\": [{\"class\": \"req\", \"cluster\": \"a\", \"rps\": 100}]}";

static slate_topology *load(void)
{
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL), SLATE_OK);
    return t;
}

static slate_report *report(const char *svc, const char *cluster, const char *inst,
                            uint64_t inbound, uint64_t ingress, uint64_t calls)
{
    slate_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_report_new(svc, cluster, inst, "127.0.0.1:9", 0, 1000, &r), SLATE_OK);
    slate_report_inbound *in = slate_report_inbound_get(r, "req");
    in->count = inbound;
    in->ingress = ingress;
    for (uint64_t i = 0; i < inbound; i++) {
        slate_hist_record(&in->latency, 2000);
        slate_hist_record(&in->self_time, 1000);
    }
    if (calls) {
        slate_report_outbound *o = slate_report_outbound_get(r, "req", "back", "b");
        o->count = calls;
        for (uint64_t i = 0; i < calls; i++)
            slate_hist_record(&o->latency, 500);
    }
    return r;
}

static void test_aggregate_demand_and_multiplicity(void)
{
    slate_topology *t = load();
    slate_aggregator *a = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_new(t, 10000, &a), SLATE_OK);
    slate_observation *o = NULL;
    CU_ASSERT_EQUAL(slate_aggregator_take(a, 1000, &o), SLATE_OK); /* opens the period */
    slate_observation_free(o);
    /* Two instances of front: 100 + 60 requests, 250 + 150 calls to back. */
    slate_report *r1 = report("front", "a", "f0", 100, 100, 250);
    slate_report *r2 = report("front", "a", "f1", 60, 60, 150);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r1, 1500, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r2, 1600, NULL), SLATE_OK);
    /* f0 reports a second 1 s window with 80 more requests. */
    slate_report *r3 = report("front", "a", "f0", 80, 80, 200);
    r3->start_ms = 1000;
    r3->end_ms = 2000;
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r3, 2500, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 3000, &o), SLATE_OK); /* a 2 s period */
    SLATE_ASSERT_NEAR(o->period_s, 2.0, 1e-12);
    /* Rates over the time each instance's reports cover, whatever the
     * period: f0 180 requests in 2 s, f1 60 in 1 s -> 90 + 60. */
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 0], 90 + 60, 1e-12);
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 1], 0, 0);
    SLATE_ASSERT_NEAR(o->calls_per_req[0][1], 600.0 / 240.0, 1e-12);
    CU_ASSERT_EQUAL(o->parent_requests[0][1], 240);
    CU_ASSERT(isnan(o->calls_per_req[0][0]));
    /* front has work 2: (90 + 60) requests/s = 300 work units/s. */
    SLATE_ASSERT_NEAR(o->load_work_rps[0 * 2 + 0], 300.0, 1e-12);
    SLATE_ASSERT_NEAR(o->self_ms[0], 1.0, 1e-12);
    CU_ASSERT_EQUAL(o->class_latency[0].count, 240);
    slate_observation_free(o);
    /* The next period starts empty. */
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 4000, &o), SLATE_OK);
    CU_ASSERT_EQUAL(o->ingress_total, 0);
    CU_ASSERT_EQUAL(o->requests[0], 0);
    slate_observation_free(o);
    slate_report_free(r1);
    slate_report_free(r2);
    slate_report_free(r3);
    slate_aggregator_free(a);
    slate_topology_free(t);
}

/* A late report: an instance that takes ingress and sent nothing this
 * period leaves its cluster's demand unknown (NaN), not 0, until the TTL
 * ages it out. */
static void test_aggregate_late_report(void)
{
    slate_topology *t = load();
    slate_aggregator *a = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_new(t, 10000, &a), SLATE_OK);
    slate_observation *o = NULL;
    CU_ASSERT_EQUAL(slate_aggregator_take(a, 0, &o), SLATE_OK);
    slate_observation_free(o);
    slate_report *f0 = report("front", "a", "f0", 100, 100, 0);
    slate_report *f1 = report("front", "a", "f1", 60, 60, 0);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f0, 900, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f1, 950, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 1000, &o), SLATE_OK);
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 0], 160, 1e-12);
    slate_observation_free(o);
    /* f0's next window arrives after the period ends. */
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f1, 1950, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 2000, &o), SLATE_OK);
    CU_ASSERT(isnan(o->demand_rps[0 * 2 + 0]));
    CU_ASSERT_EQUAL(o->ingress_total, 60);
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 1], 0, 0); /* cluster b is not affected */
    slate_observation_free(o);
    /* It lands in the next period with that period's own window: rates
     * over the time covered again. */
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f0, 2100, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f0, 2900, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f1, 2950, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 3000, &o), SLATE_OK);
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 0], 160, 1e-12);
    slate_observation_free(o);
    /* f0 stops reporting for good: unknown until the 10 s TTL, then f1 alone. */
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f1, 9000, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 9500, &o), SLATE_OK);
    CU_ASSERT(isnan(o->demand_rps[0 * 2 + 0]));
    slate_observation_free(o);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, f1, 13500, NULL), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 14000, &o), SLATE_OK);
    SLATE_ASSERT_NEAR(o->demand_rps[0 * 2 + 0], 60, 1e-12);
    slate_observation_free(o);
    slate_report_free(f0);
    slate_report_free(f1);
    slate_aggregator_free(a);
    slate_topology_free(t);
}

static void test_aggregate_rejects_unknown_names(void)
{
    slate_topology *t = load();
    slate_aggregator *a = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_new(t, 10000, &a), SLATE_OK);
    slate_diag d;
    slate_diag_init(&d);
    slate_report *r = report("front", "a", "f0", 5, 5, 0);
    slate_report_outbound *o = slate_report_outbound_get(r, "req", "back", "mars");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r, 1, &d), SLATE_ERR_REPORT_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "outbound[0].dst_cluster"));
    slate_report_free(r);
    slate_diag_clear(&d);
    r = report("back", "c", "b0", 1, 0, 0);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r, 1, &d), SLATE_ERR_REPORT_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "unknown cluster"));
    slate_report_free(r);
    slate_diag_clear(&d);
    r = report("front", "b", "f9", 1, 0, 0); /* front is not deployed in b */
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r, 1, &d), SLATE_ERR_REPORT_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "not deployed"));
    slate_report_free(r);
    /* Nothing of the rejected reports counted. */
    slate_observation *obs = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_take(a, 1000, &obs), SLATE_OK);
    CU_ASSERT_EQUAL(obs->reports, 0);
    slate_observation_free(obs);
    CU_ASSERT_EQUAL(slate_aggregator_instances(a, 1000), 0);
    slate_diag_cleanup(&d);
    slate_aggregator_free(a);
    slate_topology_free(t);
}

static void test_aggregate_instances_age_out(void)
{
    slate_topology *t = load();
    slate_aggregator *a = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_aggregator_new(t, 3000, &a), SLATE_OK);
    slate_report *r = report("back", "b", "b0", 1, 0, 0);
    CU_ASSERT_EQUAL(slate_aggregator_add(a, r, 1000, NULL), SLATE_OK);
    char **eps = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(slate_aggregator_endpoints(a, 1, 1, 2000, &eps, &n), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(eps[0], "127.0.0.1:9");
    free(eps[0]);
    free(eps);
    CU_ASSERT_EQUAL(slate_aggregator_endpoints(a, 1, 1, 4001, &eps, &n), SLATE_OK);
    CU_ASSERT_EQUAL(n, 0); /* silent for more than 3 s */
    free(eps);
    CU_ASSERT_EQUAL(slate_aggregator_instances(a, 4001), 0);
    slate_report_free(r);
    slate_aggregator_free(a);
    slate_topology_free(t);
}

/* A one-rule table over two clusters with weights (wa, wb). */
static slate_route_table *table(double wa, double wb)
{
    slate_route_table *rt = calloc(1, sizeof(*rt));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    rt->n_clusters = 2;
    rt->n_rules = 1;
    rt->rules = calloc(1, sizeof(slate_route_rule));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt->rules);
    rt->rules[0] = (slate_route_rule){.klass = 0, .src_service = 0, .src_cluster = 0,
                                      .dst_service = 1, .weights = malloc(2 * sizeof(double))};
    rt->rules[0].weights[0] = wa;
    rt->rules[0].weights[1] = wb;
    return rt;
}

static void test_damping_steps(void)
{
    slate_route_table *pub = table(1, 0), *opt = table(0.2, 0.8), *next = NULL;
    double change = 0;
    CU_ASSERT_EQUAL_FATAL(slate_route_table_damp(pub, opt, 0.5, &next, &change), SLATE_OK);
    SLATE_ASSERT_NEAR(next->rules[0].weights[0], 0.6, 1e-12);
    SLATE_ASSERT_NEAR(next->rules[0].weights[1], 0.4, 1e-12);
    SLATE_ASSERT_NEAR(change, 0.4, 1e-12);
    /* Converges geometrically: distance halves each step. */
    int steps = 0;
    while (change >= 0.01 && steps < 100) {
        slate_route_table *n2 = NULL;
        CU_ASSERT_EQUAL_FATAL(slate_route_table_damp(next, opt, 0.5, &n2, &change), SLATE_OK);
        slate_route_table_free(next);
        next = n2;
        steps++;
        SLATE_ASSERT_NEAR(next->rules[0].weights[0] + next->rules[0].weights[1], 1, 1e-12);
    }
    /* 0.8 * 0.5^k: change 0.4, 0.2, 0.1, ... drops below 0.01 at the 6th. */
    CU_ASSERT_EQUAL(steps, 6);
    slate_route_table_free(next);
    /* Nothing published yet: the optimum whole. */
    CU_ASSERT_EQUAL_FATAL(slate_route_table_damp(NULL, opt, 0.1, &next, &change), SLATE_OK);
    SLATE_ASSERT_NEAR(next->rules[0].weights[1], 0.8, 0);
    SLATE_ASSERT_NEAR(change, 1, 0);
    slate_route_table_free(next);
    CU_ASSERT_EQUAL(slate_route_table_damp(pub, opt, 0, &next, &change), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_route_table_damp(pub, opt, 1.5, &next, &change), SLATE_ERR_INVALID_ARG);
    slate_route_table_free(pub);
    slate_route_table_free(opt);
}

static void test_integer_weights_sum_exactly(void)
{
    int out[4];
    double thirds[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    CU_ASSERT_EQUAL(slate_export_integer_weights(thirds, 3, 100, out), SLATE_OK);
    CU_ASSERT_EQUAL(out[0] + out[1] + out[2], 100);
    CU_ASSERT_EQUAL(out[0], 34); /* the tie goes to the lowest index */
    double tiny[4] = {0.999997, 0.000001, 0.000001, 0.000001};
    CU_ASSERT_EQUAL(slate_export_integer_weights(tiny, 4, 10000, out), SLATE_OK);
    CU_ASSERT_EQUAL(out[0] + out[1] + out[2] + out[3], 10000);
    CU_ASSERT_EQUAL(out[0], 10000);
    double mixed[3] = {0.7, 0, 0.3};
    CU_ASSERT_EQUAL(slate_export_integer_weights(mixed, 3, 10000, out), SLATE_OK);
    CU_ASSERT_EQUAL(out[0], 7000);
    CU_ASSERT_EQUAL(out[1], 0);
    CU_ASSERT_EQUAL(out[2], 3000);
    double zero[2] = {0, 0}, bad[2] = {-1, 2};
    CU_ASSERT_EQUAL(slate_export_integer_weights(zero, 2, 100, out), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_export_integer_weights(bad, 2, 100, out), SLATE_ERR_INVALID_ARG);
}

static void test_export_quotes_names(void)
{
    /* A class name that would break unquoted YAML. */
    static const char T[] =
        "{\"clusters\": [\"a\", \"b\"], \"network\": {\"rtt_ms\": [[0.5, 10], [10, 0.5]]},"
        " \"services\": ["
        "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"a\", \"capacity_rps\": 500}]},"
        "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"a\", \"capacity_rps\": 500},"
        "                                     {\"cluster\": \"b\", \"capacity_rps\": 500}]}],"
        " \"classes\": [{\"name\": \"x\\\": [y]\", \"calls\": {\"service\": \"front\","
        "   \"children\": [{\"service\": \"back\"}]}}]}";
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_load_json(T, strlen(T), &t, NULL), SLATE_OK);
    slate_route_table *rt = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_route_table_build(t, NULL, &rt), SLATE_OK);
    char *y = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_export_envoy(rt, t, "a", "front", &y), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(y, "contains: \"slate-class=x\\\": [y]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(y, "- name: \"back.a\"\n          weight: 10000"));
    free(y);
    CU_ASSERT_EQUAL_FATAL(slate_export_istio(rt, t, "a", "front", &y), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(y, "slate-class=x\\\": \\\\[y\\\\]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(y, "subset: \"a\"\n      weight: 100"));
    free(y);
    CU_ASSERT_EQUAL(slate_export_envoy(rt, t, "mars", "front", &y), SLATE_ERR_NOT_FOUND);
    slate_route_table_free(rt);
    slate_topology_free(t);
}

/* One period's observation for TOPO, built by hand: |rps| requests/s of
 * "req" entering at a; at back@a |rho| work units/s served with self-time
 * |self_ms| per request (20 requests). */
typedef struct fake_obs {
    slate_observation o;
    double demand[2], cpr[2], load[4], self[4], work[4];
    uint64_t parents[2], requests[4], errors[4];
    double *cpr_rows[1];
    uint64_t *parent_rows[1];
} fake_obs;

static void fake_obs_fill(fake_obs *f, double rps, double rho, double self_ms)
{
    memset(f, 0, sizeof(*f));
    f->o.n_classes = 1;
    f->o.n_services = 2;
    f->o.n_clusters = 2;
    f->o.period_s = 1;
    f->o.reports = 2;
    f->demand[0] = rps;
    f->o.demand_rps = f->demand;
    f->o.ingress_total = (uint64_t)rps;
    f->cpr[0] = f->cpr[1] = NAN;
    f->cpr_rows[0] = f->cpr;
    f->parent_rows[0] = f->parents;
    f->o.calls_per_req = f->cpr_rows;
    f->o.parent_requests = f->parent_rows;
    for (int i = 0; i < 4; i++)
        f->self[i] = NAN;
    f->load[1 * 2 + 0] = rho;
    f->self[1 * 2 + 0] = self_ms;
    f->work[1 * 2 + 0] = 1;
    f->requests[1 * 2 + 0] = 20;
    f->o.load_work_rps = f->load;
    f->o.self_ms = f->self;
    f->o.mean_work = f->work;
    f->o.requests = f->requests;
    f->o.errors = f->errors;
}

static void test_learner_rules(void)
{
    slate_topology *t = load(), *view = load();
    slate_profile_set *prof = NULL;
    slate_learner *l = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &prof), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_learner_new(t, &l), SLATE_OK);
    fake_obs f;
    /* Demand: the first observation is taken as is; a count within 3 sd of
     * the estimate is noise (30% of the way); beyond, a change (at once). */
    fake_obs_fill(&f, 100, 100, 1);
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 100, 1e-9);
    fake_obs_fill(&f, 110, 100, 1);
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 103, 1e-9);
    fake_obs_fill(&f, 200, 100, 1);
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 200, 1e-9);
    /* A silent period keeps the estimate. */
    fake_obs_fill(&f, 0, 100, 1);
    f.o.ingress_total = 0;
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 200, 1e-9);
    /* So does a cluster whose rate is unknown this period (NaN: a late
     * report) while other reports came in. */
    fake_obs_fill(&f, 0, 100, 1);
    f.demand[0] = NAN;
    f.o.ingress_total = 40;
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 200, 1e-9);
    fake_obs_fill(&f, 210, 100, 1); /* and the estimate goes on from 200 */
    slate_learner_apply(l, &f.o, 0, view, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view, 0, 0), 203, 1e-9);
    fake_obs_fill(&f, 0, 100, 1);
    f.demand[0] = NAN;
    f.o.ingress_total = 40;
    /* A learner that has seen nothing yet leaves the topology's demand. */
    slate_learner *fresh = NULL;
    slate_topology *view2 = load();
    double topo_rps = slate_topology_demand_rps(view2, 0, 0);
    CU_ASSERT_EQUAL_FATAL(slate_learner_new(t, &fresh), SLATE_OK);
    slate_learner_apply(fresh, &f.o, 0, view2, NULL, NULL, NULL, NULL);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(view2, 0, 0), topo_rps, 0);
    slate_learner_free(fresh);
    slate_topology_free(view2);

    /* Profiles: samples over a wide load range that the current profile
     * already explains are never refitted... */
    const slate_profile *prior = slate_profile_set_get(prof, 1, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prior);
    slate_profile before = *prior;
    double loads[6] = {50, 150, 250, 350, 100, 300};
    int refits = 0;
    for (int i = 0; i < 6; i++) {
        fake_obs_fill(&f, 100, loads[i], slate_profile_latency(&before, loads[i]));
        refits += slate_learner_apply(l, &f.o, 1, NULL, prof, NULL, NULL, NULL);
    }
    CU_ASSERT_EQUAL(refits, 0);
    /* ...while latencies twice the profile's are, from the fourth such
     * sample on (the window holds the earlier ones too: the bias is
     * weighed over all). */
    slate_learner *l2 = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_learner_new(t, &l2), SLATE_OK);
    int first = -1;
    for (int i = 0; i < 6; i++) {
        fake_obs_fill(&f, 100, loads[i], 2 * slate_profile_latency(&before, loads[i]));
        if (slate_learner_apply(l2, &f.o, 1, NULL, prof, NULL, NULL, NULL) > 0 && first < 0)
            first = i;
    }
    CU_ASSERT_EQUAL(first, 3);
    double fitted = slate_profile_latency(slate_profile_set_get(prof, 1, 0), 200);
    CU_ASSERT(fitted > 1.5 * slate_profile_latency(&before, 200));
    /* Samples bunched at one load (spread below 10% of capacity) are not
     * fitted, however far off. */
    slate_learner *l3 = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_learner_new(t, &l3), SLATE_OK);
    refits = 0;
    for (int i = 0; i < 6; i++) {
        fake_obs_fill(&f, 100, 200 + i, 5 * slate_profile_latency(&before, 200));
        refits += slate_learner_apply(l3, &f.o, 1, NULL, prof, NULL, NULL, NULL);
    }
    CU_ASSERT_EQUAL(refits, 0);
    slate_learner_free(l);
    slate_learner_free(l2);
    slate_learner_free(l3);
    slate_profile_set_free(prof);
    slate_topology_free(view);
    slate_topology_free(t);
}

static CU_TestInfo controller_tests[] = {
    {"aggregate: demand, multiplicity, load", test_aggregate_demand_and_multiplicity},
    {"aggregate: a late report is unknown demand, not 0", test_aggregate_late_report},
    {"aggregate: unknown names rejected with paths", test_aggregate_rejects_unknown_names},
    {"aggregate: instances age out", test_aggregate_instances_age_out},
    {"learner: demand change test, refit rules", test_learner_rules},
    {"damping: steps, convergence, bounds", test_damping_steps},
    {"export: integer weights sum exactly", test_integer_weights_sum_exactly},
    {"export: names quoted", test_export_quotes_names},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "controller", .pInitFunc = NULL, .pCleanupFunc = NULL, .pSetUpFunc = NULL,
     .pTearDownFunc = NULL, .pTests = controller_tests},
    CU_SUITE_INFO_NULL,
};
