/* Histograms and the sidecar report wire format (common/hist.h, common/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/hist.h"
#include "common/report.h"
#include "common/rng.h"
#include "tests/unit/test_util.h"

static void test_bucket_mapping(void)
{
    for (uint64_t v = 0; v < 16; v++)
        CU_ASSERT_EQUAL(slate_hist_bucket_of(v), (int)v);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(16), 16);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(17), 16); /* 16..17 share a 2-us bucket */
    CU_ASSERT_EQUAL(slate_hist_bucket_of(18), 17);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(31), 23);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(32), 24);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(1u << 20), 16 + 8 * 16);
    CU_ASSERT_EQUAL(slate_hist_bucket_of((1ull << 34) - 1), SLATE_HIST_BUCKETS - 1);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(1ull << 34), SLATE_HIST_BUCKETS - 1);
    CU_ASSERT_EQUAL(slate_hist_bucket_of(UINT64_MAX), SLATE_HIST_BUCKETS - 1);
    for (int i = 0; i < SLATE_HIST_BUCKETS; i++) {
        uint64_t lo = slate_hist_bucket_lower_us(i), hi = slate_hist_bucket_upper_us(i);
        CU_ASSERT_EQUAL(slate_hist_bucket_of(lo), i);
        CU_ASSERT(hi > lo);
        if (i < SLATE_HIST_BUCKETS - 1) {
            CU_ASSERT_EQUAL(slate_hist_bucket_of(hi - 1), i);
            CU_ASSERT_EQUAL(slate_hist_bucket_of(hi), i + 1);
        }
        if (i >= 16 && i < SLATE_HIST_BUCKETS - 1)
            CU_ASSERT(8 * (hi - lo) <= lo); /* width <= 12.5 % of the lower bound */
    }
}

static void test_merge_is_exact(void)
{
    slate_rng rng;
    slate_rng_seed(&rng, 42);
    static slate_hist all, a, b, c, ab_c, a_bc, bc;
    slate_hist_reset(&all);
    slate_hist_reset(&a);
    slate_hist_reset(&b);
    slate_hist_reset(&c);
    for (int i = 0; i < 30000; i++) {
        uint64_t v = (uint64_t)slate_rng_exp(&rng, 5000.0) + (slate_rng_next(&rng) & 1 ? 0 : 1u << 22);
        slate_hist_record(&all, v);
        slate_hist_record(i % 3 == 0 ? &a : i % 3 == 1 ? &b : &c, v);
    }
    ab_c = a;
    slate_hist_merge(&ab_c, &b);
    slate_hist_merge(&ab_c, &c);
    CU_ASSERT(slate_hist_equal(&ab_c, &all));
    bc = b;
    slate_hist_merge(&bc, &c);
    a_bc = bc;
    slate_hist_merge(&a_bc, &a); /* other order, other grouping */
    CU_ASSERT(slate_hist_equal(&a_bc, &all));
    CU_ASSERT_EQUAL(all.count, 30000);
}

static void test_mean_and_quantiles(void)
{
    slate_hist h;
    slate_hist_reset(&h);
    CU_ASSERT_EQUAL(slate_hist_mean_ms(&h), 0);
    CU_ASSERT_EQUAL(slate_hist_quantile_ms(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        slate_hist_record(&h, v);
    SLATE_ASSERT_NEAR(slate_hist_mean_ms(&h), 0.5005, 1e-12); /* exact sum */
    double p50 = slate_hist_quantile_ms(&h, 0.5) * 1e3;     /* rank 500 */
    int b = slate_hist_bucket_of(500);
    CU_ASSERT(p50 >= (double)slate_hist_bucket_lower_us(b));
    CU_ASSERT(p50 < (double)slate_hist_bucket_upper_us(b));
    SLATE_ASSERT_NEAR(slate_hist_quantile_ms(&h, 0.005), 0.005, 1e-12); /* rank 5, exact */
    double p100 = slate_hist_quantile_ms(&h, 1.0) * 1e3;
    CU_ASSERT(p100 >= 960 && p100 < 1024);
}

static slate_report *sample_report(int64_t start, uint64_t scale)
{
    slate_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_report_new("frontend", "west", "frontend-west-0", "127.0.0.1:15006",
                                           start, start + 1000, &r),
                          SLATE_OK);
    slate_report_inbound *in = slate_report_inbound_get(r, "home");
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    in->count = 10 * scale;
    in->ingress = 10 * scale;
    in->errors = scale;
    in->inflight_mean = 2.5;
    for (uint64_t i = 0; i < in->count; i++) {
        slate_hist_record(&in->latency, 1000 + 37 * i);
        slate_hist_record(&in->self_time, 200 + i);
    }
    slate_report_outbound *out = slate_report_outbound_get(r, "home", "cart", "east");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    out->count = 3 * scale;
    out->request_bytes = 1200 * scale;
    out->response_bytes = 4800 * scale;
    for (uint64_t i = 0; i < out->count; i++)
        slate_hist_record(&out->latency, 700 + 1000 * i);
    return r;
}

static void test_report_round_trip(void)
{
    slate_report *r = sample_report(1763800000000, 2);
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(slate_report_to_json(r, &text, &len), SLATE_OK);
    slate_report *back = NULL;
    slate_diag d;
    slate_diag_init(&d);
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(text, len, &back, &d), SLATE_OK);
    CU_ASSERT_STRING_EQUAL(back->service, "frontend");
    CU_ASSERT_STRING_EQUAL(back->address, "127.0.0.1:15006");
    CU_ASSERT_EQUAL(back->start_ms, 1763800000000);
    CU_ASSERT_EQUAL(back->end_ms, 1763800001000);
    CU_ASSERT_EQUAL_FATAL(back->n_inbound, 1);
    CU_ASSERT_EQUAL(back->inbound[0].count, 20);
    CU_ASSERT_EQUAL(back->inbound[0].errors, 2);
    SLATE_ASSERT_NEAR(back->inbound[0].inflight_mean, 2.5, 0);
    CU_ASSERT(slate_hist_equal(&back->inbound[0].latency, &r->inbound[0].latency));
    CU_ASSERT(slate_hist_equal(&back->inbound[0].self_time, &r->inbound[0].self_time));
    CU_ASSERT_EQUAL_FATAL(back->n_outbound, 1);
    CU_ASSERT_STRING_EQUAL(back->outbound[0].dst_cluster, "east");
    CU_ASSERT_EQUAL(back->outbound[0].response_bytes, 9600);
    CU_ASSERT(slate_hist_equal(&back->outbound[0].latency, &r->outbound[0].latency));

    /* Merging a second window: counts add, the window widens. */
    slate_report *later = sample_report(1763800001000, 1);
    CU_ASSERT_EQUAL(slate_report_merge(back, later), SLATE_OK);
    CU_ASSERT_EQUAL(back->inbound[0].count, 30);
    CU_ASSERT_EQUAL(back->outbound[0].count, 9);
    CU_ASSERT_EQUAL(back->inbound[0].latency.count, 30);
    CU_ASSERT_EQUAL(back->end_ms, 1763800002000);
    slate_report *other = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_report_new("cart", "west", "cart-0", NULL, 0, 1000, &other), SLATE_OK);
    CU_ASSERT_EQUAL(slate_report_merge(back, other), SLATE_ERR_INVALID_ARG);
    slate_report_free(other);
    slate_report_free(later);
    slate_report_free(back);
    slate_report_free(r);
    free(text);
    slate_diag_cleanup(&d);
}

/* Parses |text| and expects |code| with a diagnostic mentioning |path|. */
static void expect_bad(const char *text, int code, const char *path)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_report *r = NULL;
    int rv = slate_report_parse(text, strlen(text), &r, &d);
    CU_ASSERT_EQUAL(rv, code);
    CU_ASSERT_PTR_NULL(r);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        found |= strstr(d.entries[i].path, path) != NULL;
    if (!found) {
        fprintf(stderr, "\nexpected a diagnostic at \"%s\" for %s; got:\n", path, text);
        slate_diag_print(&d, stderr);
    }
    CU_ASSERT(found);
    slate_report_free(r);
    slate_diag_cleanup(&d);
}

#define HEAD "{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,\"end_ms\":1000}"
#define H1 "{\"count\":1,\"sum_us\":5,\"buckets\":[[5,1]]}"

static void test_report_validation(void)
{
    const char *good = HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":" H1
                            ",\"self_time\":" H1 ",\"future_field\":7}]}";
    slate_report *r = NULL;
    CU_ASSERT_EQUAL(slate_report_parse(good, strlen(good), &r, NULL), SLATE_OK);
    slate_report_free(r);

    expect_bad("[1,2]", SLATE_ERR_REPORT_INVALID, "");
    expect_bad("{\"service\":", SLATE_ERR_PARSE, "");
    expect_bad("{\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,\"end_ms\":1}}",
               SLATE_ERR_REPORT_INVALID, "service");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":5,\"end_ms\":5}}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,\"end_ms\":3600001}}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1.5,\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":-1,\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":\"1\",\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"errors\":2,\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,\"buckets\":[[300,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[0]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":2,\"latency\":{\"count\":2,\"sum_us\":5,\"buckets\":[[6,1],[5,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[1]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,\"buckets\":[[5,2]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":" H1 ",\"self_time\":" H1 "},"
                    "{\"class\":\"k\",\"count\":1,\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[1]");
    expect_bad(HEAD ",\"outbound\":[{\"class\":\"k\",\"dst_service\":\"a\",\"count\":1,\"latency\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "outbound[0].dst_cluster");
    expect_bad(HEAD ",\"outbound\":{}}", SLATE_ERR_REPORT_INVALID, "outbound");

    /* Oversized names and bodies. */
    char big[400];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    char *doc = malloc(1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    snprintf(doc, 1024, "{\"service\":\"%s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,\"end_ms\":1}}", big);
    expect_bad(doc, SLATE_ERR_REPORT_INVALID, "service");
    free(doc);
    size_t n = SLATE_REPORT_MAX_BYTES + 10;
    char *huge = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, ' ', n);
    huge[n] = '\0';
    CU_ASSERT_EQUAL(slate_report_parse(huge, n, &r, NULL), SLATE_ERR_TOO_LARGE);
    free(huge);
}

static CU_TestInfo wire_tests[] = {
    {"bucket mapping and bounds", test_bucket_mapping},
    {"merge is exact, commutative and associative", test_merge_is_exact},
    {"mean and quantiles", test_mean_and_quantiles},
    {"report round trip and merge", test_report_round_trip},
    {"report validation with paths", test_report_validation},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "wire", .pInitFunc = NULL, .pCleanupFunc = NULL, .pSetUpFunc = NULL,
     .pTearDownFunc = NULL, .pTests = wire_tests},
    CU_SUITE_INFO_NULL,
};
