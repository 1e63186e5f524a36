/* Histograms and the sidecar report wire format (common/hist.h, common/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
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
        uint64_t v =
            (uint64_t)slate_rng_exp(&rng, 5000.0) + (slate_rng_next(&rng) & 1 ? 0 : 1u << 22);
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
    double p50 = slate_hist_quantile_ms(&h, 0.5) * 1e3;       /* rank 500 */
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
    CU_ASSERT_EQUAL_FATAL(slate_report_new("cart", "west", "cart-0", NULL, 0, 1000, &other),
                          SLATE_OK);
    CU_ASSERT_EQUAL(slate_report_merge(back, other), SLATE_ERR_INVALID_ARG);
    slate_report_free(other);
    slate_report_free(later);
    slate_report_free(back);
    slate_report_free(r);
    free(text);
    slate_diag_cleanup(&d);
}

/* Parses |text| and expects |code| with a diagnostic at exactly |path|. */
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
        found |= strcmp(d.entries[i].path, path) == 0;
    if (!found) {
        fprintf(stderr, "\nexpected a diagnostic at \"%s\" for %s; got:\n", path, text);
        slate_diag_print(&d, stderr);
    }
    CU_ASSERT(found);
    slate_report_free(r);
    slate_diag_cleanup(&d);
}

#define HEAD                                                                                       \
    "{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,\"end_"    \
    "ms\":1000}"
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
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":5,"
               "\"end_ms\":5}}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,"
               "\"end_ms\":3600001}}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1.5,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":-1,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":\"1\",\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"errors\":2,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_"
                    "us\":5,\"buckets\":[[300,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[0]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":2,\"latency\":{\"count\":2,\"sum_"
                    "us\":5,\"buckets\":[[6,1],[5,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[1]");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_"
                    "us\":5,\"buckets\":[[5,2]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":" H1
                    ",\"self_time\":" H1 "},"
                    "{\"class\":\"k\",\"count\":1,\"latency\":" H1 ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[1]");
    expect_bad(HEAD
               ",\"outbound\":[{\"class\":\"k\",\"dst_service\":\"a\",\"count\":1,\"latency\":" H1
               "}]}",
               SLATE_ERR_REPORT_INVALID, "outbound[0].dst_cluster");
    expect_bad(HEAD ",\"outbound\":{}}", SLATE_ERR_REPORT_INVALID, "outbound");

    /* Oversized names and bodies. */
    char big[400];
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    char *doc = malloc(1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    snprintf(doc, 1024,
             "{\"service\":\"%s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0,"
             "\"end_ms\":1}}",
             big);
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

/* Sums saturate instead of wrapping; values from 2^34 us on are counted as clamped. */
static void test_hist_saturation_and_edges(void)
{
    slate_hist h;
    slate_hist_reset(&h);
    slate_hist_record(&h, UINT64_MAX);
    slate_hist_record(&h, UINT64_MAX);
    slate_hist_record(&h, (1ull << 34) - 1); /* last bucket, but not clamped */
    CU_ASSERT_EQUAL(h.count, 3);
    CU_ASSERT_EQUAL(h.sum_us, UINT64_MAX);
    CU_ASSERT_EQUAL(h.clamped, 2);
    CU_ASSERT_EQUAL(h.buckets[SLATE_HIST_BUCKETS - 1], 3);
    /* The open-ended last bucket reports its lower bound. */
    SLATE_ASSERT_NEAR(slate_hist_quantile_ms(&h, 1.0),
                      (double)slate_hist_bucket_lower_us(SLATE_HIST_BUCKETS - 1) / 1e3, 0);

    slate_hist_reset(&h);
    for (uint64_t v = 3; v <= 12; v++)
        slate_hist_record(&h, v);
    /* q = 0 is rank 1 (the smallest value); q > 1 is clamped to the largest. */
    SLATE_ASSERT_NEAR(slate_hist_quantile_ms(&h, 0.0), 0.003, 1e-12);
    SLATE_ASSERT_NEAR(slate_hist_quantile_ms(&h, 2.0), 0.012, 1e-12);
    SLATE_ASSERT_NEAR(slate_hist_quantile_ms(&h, 0.25), 0.005, 1e-12); /* rank ceil(2.5) = 3 */
    slate_hist other = h;
    CU_ASSERT(slate_hist_equal(&h, &other));
    other.buckets[200] = 1; /* a bucket alone differing is noticed */
    CU_ASSERT_FALSE(slate_hist_equal(&h, &other));
}

static void test_report_builder(void)
{
    slate_report *r = NULL;
    char long_name[SLATE_REPORT_MAX_NAME + 2];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    CU_ASSERT_EQUAL(slate_report_new("", "c", "i", NULL, 0, 1, &r), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_report_new(long_name, "c", "i", NULL, 0, 1, &r), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_report_new("s", "c", "i", NULL, 5, 5, &r), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_report_new("s", "c", "i", NULL, 0, SLATE_REPORT_MAX_WINDOW_MS + 1, &r),
                    SLATE_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(r); /* untouched on failure */
    CU_ASSERT_EQUAL_FATAL(slate_report_new("s", "c", "i", NULL, 0, SLATE_REPORT_MAX_WINDOW_MS, &r),
                          SLATE_OK);
    CU_ASSERT_PTR_NULL(r->address);

    slate_report_inbound *a = slate_report_inbound_get(r, "k");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    a->count = 7;
    CU_ASSERT_PTR_EQUAL(slate_report_inbound_get(r, "k"), a); /* found, not added again */
    CU_ASSERT_EQUAL(r->n_inbound, 1);
    CU_ASSERT_PTR_NULL(slate_report_inbound_get(r, ""));
    CU_ASSERT_PTR_NULL(slate_report_inbound_get(r, long_name));
    CU_ASSERT_PTR_NULL(slate_report_outbound_get(r, "k", "svc", ""));
    slate_report_outbound *o1 = slate_report_outbound_get(r, "k", "ab", "c");
    slate_report_outbound *o2 = slate_report_outbound_get(r, "k", "a", "bc");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o2);
    CU_ASSERT_EQUAL(r->n_outbound, 2); /* the key is the triple, not its concatenation */

    /* The entry limit holds for the builder too. */
    char name[32];
    for (int i = 1; i < SLATE_REPORT_MAX_INBOUND; i++) {
        snprintf(name, sizeof(name), "class-%d", i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(slate_report_inbound_get(r, name));
    }
    CU_ASSERT_EQUAL(r->n_inbound, SLATE_REPORT_MAX_INBOUND);
    CU_ASSERT_PTR_NULL(slate_report_inbound_get(r, "one-too-many"));
    CU_ASSERT_PTR_NOT_NULL(slate_report_inbound_get(r, "class-17")); /* existing still found */
    CU_ASSERT_EQUAL(r->inbound[0].count, 7);
    slate_report_free(r);
}

static void test_report_merge_windows(void)
{
    slate_report *a = sample_report(10000, 1), *b = sample_report(9000, 1);
    b->inbound[0].inflight_mean = 0.5;
    slate_report_inbound *only_b = slate_report_inbound_get(b, "checkout");
    CU_ASSERT_PTR_NOT_NULL_FATAL(only_b);
    only_b->count = 4;
    only_b->inflight_mean = 1.0;
    CU_ASSERT_EQUAL_FATAL(slate_report_merge(a, b), SLATE_OK);
    /* An earlier window widens the start. */
    CU_ASSERT_EQUAL(a->start_ms, 9000);
    CU_ASSERT_EQUAL(a->end_ms, 11000);
    CU_ASSERT_EQUAL_FATAL(a->n_inbound, 2);
    /* Time-weighted over two equal windows: (2.5 + 0.5) / 2; the class
     * absent from a's window counts as idle there: (0 + 1.0) / 2. */
    SLATE_ASSERT_NEAR(a->inbound[0].inflight_mean, 1.5, 1e-12);
    SLATE_ASSERT_NEAR(a->inbound[1].inflight_mean, 0.5, 1e-12);
    CU_ASSERT_EQUAL(a->inbound[0].count, 20);
    CU_ASSERT_EQUAL(a->inbound[0].errors, 2);
    CU_ASSERT_EQUAL(a->inbound[1].count, 4);
    CU_ASSERT_EQUAL(a->outbound[0].request_bytes, 2400);

    /* Merged histograms equal one histogram of both windows' values. */
    slate_report *c = sample_report(10000, 1), *d = sample_report(9000, 1);
    slate_hist both = c->inbound[0].latency;
    slate_hist_merge(&both, &d->inbound[0].latency);
    CU_ASSERT(slate_hist_equal(&a->inbound[0].latency, &both));

    /* Identity must match field by field (cluster, instance). */
    slate_report *other = NULL;
    CU_ASSERT_EQUAL_FATAL(
        slate_report_new("frontend", "east", "frontend-west-0", NULL, 0, 10, &other), SLATE_OK);
    CU_ASSERT_EQUAL(slate_report_merge(a, other), SLATE_ERR_INVALID_ARG);
    slate_report_free(other);
    CU_ASSERT_EQUAL_FATAL(
        slate_report_new("frontend", "west", "frontend-west-1", NULL, 0, 10, &other), SLATE_OK);
    CU_ASSERT_EQUAL(slate_report_merge(a, other), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(a->start_ms, 9000); /* a rejected merge changes nothing visible */
    slate_report_free(other);
    slate_report_free(a);
    slate_report_free(b);
    slate_report_free(c);
    slate_report_free(d);
}

#define ENTRY_IN(k) "{\"class\":\"" k "\",\"count\":1,\"latency\":" H1 ",\"self_time\":" H1 "}"
#define ENTRY_OUT(k, s, c)                                                                         \
    "{\"class\":\"" k "\",\"dst_service\":\"" s "\",\"dst_cluster\":\"" c "\",\"count\":1,"        \
    "\"latency\":" H1 "}"

static void test_report_validation_more(void)
{
    /* Integers: 2^53 - 1 is exact and accepted, 2^53 is not; infinities
     * (1e400) and NaN are not numbers a report may carry. */
    const char *max_ok =
        HEAD ",\"outbound\":[{\"class\":\"k\",\"dst_service\":\"a\",\"dst_cluster\":\"b\","
             "\"count\":1,\"request_bytes\":9007199254740991,\"latency\":" H1 "}]}";
    slate_report *r = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(max_ok, strlen(max_ok), &r, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(r->outbound[0].request_bytes, 9007199254740991ull);
    slate_report_free(r);
    const char *too_big =
        HEAD ",\"outbound\":[{\"class\":\"k\",\"dst_service\":\"a\",\"dst_cluster\":\"b\","
             "\"count\":1,\"request_bytes\":9007199254740992,\"latency\":" H1 "}]}";
    expect_bad(too_big, SLATE_ERR_REPORT_INVALID, "outbound[0].request_bytes");
    slate_diag d;
    slate_diag_init(&d);
    CU_ASSERT_EQUAL(slate_report_parse(too_big, strlen(too_big), &r, &d), SLATE_ERR_REPORT_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "9007199254740992 is not below 2^53"));
    slate_diag_cleanup(&d);
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1e400,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].count");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":NaN,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_PARSE, "");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"inflight_mean\":-0.5,\"latency\":" H1
               ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].inflight_mean");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0."
               "5,\"end_ms\":9}}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":-"
               "1,\"end_ms\":9}}",
               SLATE_ERR_REPORT_INVALID, "window.start_ms");
    expect_bad(
        "{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":{\"start_ms\":0}}",
        SLATE_ERR_REPORT_INVALID, "window.end_ms");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\"}", SLATE_ERR_REPORT_INVALID,
               "window");

    /* Histograms. */
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,"
               "\"buckets\":[[-1,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[0]");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,"
               "\"buckets\":[[5,0.5]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[0]");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,"
               "\"buckets\":[[5,1,2]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[0]");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":2,\"latency\":{\"count\":2,\"sum_us\":5,"
               "\"buckets\":[[5,1],[5,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[1]");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,"
               "\"buckets\":[[5,1],[6,0]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.buckets[1]");
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,\"sum_us\":5,"
               "\"clamped\":2,\"buckets\":[[5,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":{\"count\":1,"
                    "\"buckets\":[[5,1]]},\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency.sum_us");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].self_time");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":2,\"latency\":" H1
                    ",\"self_time\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0]"); /* latency.count differs from count */
    expect_bad(HEAD ",\"outbound\":[{\"class\":\"k\",\"dst_service\":\"a\",\"dst_cluster\":\"b\","
                    "\"count\":1,\"errors\":3,\"latency\":" H1 "}]}",
               SLATE_ERR_REPORT_INVALID, "outbound[0]");

    /* Wrong types. */
    expect_bad(HEAD
               ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"latency\":\"fast\",\"self_time\":" H1
               "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].latency");
    expect_bad(HEAD ",\"inbound\":[{\"class\":7,\"count\":1,\"latency\":" H1 ",\"self_time\":" H1
                    "}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].class");
    expect_bad(HEAD ",\"inbound\":[3]}", SLATE_ERR_REPORT_INVALID, "inbound[0]");
    expect_bad("{\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\",\"window\":[0,1]}",
               SLATE_ERR_REPORT_INVALID, "window");
    expect_bad("{\"service\":\"s\",\"cluster\":[\"c\"],\"instance\":\"i\",\"window\":{\"start_ms\":"
               "0,\"end_ms\":1}}",
               SLATE_ERR_REPORT_INVALID, "cluster");
    expect_bad("\"report\"", SLATE_ERR_REPORT_INVALID, "");

    /* Duplicate keys: same triple is an error at the second entry; triples
     * that only share a prefix or a concatenation are distinct. */
    expect_bad(HEAD ",\"outbound\":[" ENTRY_OUT("k", "a", "b") "," ENTRY_OUT(
                   "k", "a", "x") "," ENTRY_OUT("k", "a", "b") "]}",
               SLATE_ERR_REPORT_INVALID, "outbound[2]");
    const char *distinct = HEAD ",\"outbound\":[" ENTRY_OUT("k", "ab", "c") "," ENTRY_OUT(
        "k", "a", "bc") "," ENTRY_OUT("ka", "b", "c") "]}";
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(distinct, strlen(distinct), &r, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(r->n_outbound, 3);
    slate_report_free(r);

    /* Unknown members are ignored at every level. */
    const char *extra =
        "{\"version\":2,\"service\":\"s\",\"cluster\":\"c\",\"instance\":\"i\","
        "\"window\":{\"start_ms\":0,\"end_ms\":1000,\"tz\":\"utc\"},\"inbound\":[{\"class\":\"k\","
        "\"count\":1,\"p99\":3,\"latency\":{\"count\":1,\"sum_us\":5,\"buckets\":[[5,1]],"
        "\"scheme\":\"log8\"},\"self_time\":" H1 "}]}";
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(extra, strlen(extra), &r, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(r->inbound[0].latency.buckets[5], 1);
    CU_ASSERT_EQUAL(r->end_ms, 1000);
    slate_report_free(r);
}

/* A report with |n_in| distinct inbound classes and |n_out| distinct outbound keys. */
static char *many_entries(size_t n_in, size_t n_out)
{
    slate_buf b;
    slate_buf_init(&b);
    int rv = slate_buf_printf(&b, "%s,\"inbound\":[", HEAD);
    for (size_t i = 0; i < n_in && rv == SLATE_OK; i++)
        rv = slate_buf_printf(&b,
                              "%s{\"class\":\"c%zu\",\"count\":1,\"latency\":%s,\"self_time\":%s}",
                              i ? "," : "", i, H1, H1);
    if (rv == SLATE_OK)
        rv = slate_buf_printf(&b, "],\"outbound\":[");
    for (size_t i = 0; i < n_out && rv == SLATE_OK; i++)
        rv =
            slate_buf_printf(&b,
                             "%s{\"class\":\"c%zu\",\"dst_service\":\"s%zu\",\"dst_cluster\":\"x\","
                             "\"count\":1,\"latency\":%s}",
                             i ? "," : "", i % 7, i / 7, H1);
    if (rv == SLATE_OK)
        rv = slate_buf_printf(&b, "]}");
    char *text = rv == SLATE_OK ? slate_buf_detach(&b) : NULL;
    slate_buf_cleanup(&b);
    return text;
}

static void test_report_entry_limits(void)
{
    char *text = many_entries(SLATE_REPORT_MAX_INBOUND, SLATE_REPORT_MAX_OUTBOUND);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    slate_report *r = NULL;
    CU_ASSERT_EQUAL(slate_report_parse(text, strlen(text), &r, NULL), SLATE_OK);
    if (r) {
        CU_ASSERT_EQUAL(r->n_inbound, SLATE_REPORT_MAX_INBOUND);
        CU_ASSERT_EQUAL(r->n_outbound, SLATE_REPORT_MAX_OUTBOUND);
        CU_ASSERT_STRING_EQUAL(r->outbound[SLATE_REPORT_MAX_OUTBOUND - 1].dst_service, "s2340");
    }
    slate_report_free(r);
    free(text);

    text = many_entries(SLATE_REPORT_MAX_INBOUND + 1, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    expect_bad(text, SLATE_ERR_REPORT_INVALID, "inbound");
    free(text);
    text = many_entries(1, SLATE_REPORT_MAX_OUTBOUND + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    expect_bad(text, SLATE_ERR_REPORT_INVALID, "outbound");
    free(text);
}

/* "arrivals": optional; absent means the sender does not count them and
 * ingress stands in for the demand; present, it may exceed count (an
 * overloaded ingress completes fewer than arrive); it survives the wire
 * and merges. */
static void test_report_arrivals(void)
{
    const char *without = HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"ingress\":1,"
                               "\"latency\":" H1 ",\"self_time\":" H1 "}]}";
    const char *with = HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":1,\"ingress\":1,"
                            "\"arrivals\":5,\"latency\":" H1 ",\"self_time\":" H1 "}]}";
    slate_report *a = NULL, *b = NULL, *back = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(without, strlen(without), &a, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(a->inbound[0].arrivals_counted, 0);
    CU_ASSERT_EQUAL(slate_report_inbound_demand(&a->inbound[0]), 1);
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(with, strlen(with), &b, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(b->inbound[0].arrivals_counted, 1);
    CU_ASSERT_EQUAL(slate_report_inbound_demand(&b->inbound[0]), 5);
    char *text = NULL;
    size_t len = 0;
    /* Not counted: not sent; counted: sent. */
    CU_ASSERT_EQUAL_FATAL(slate_report_to_json(a, &text, &len), SLATE_OK);
    CU_ASSERT_PTR_NULL(strstr(text, "arrivals"));
    free(text);
    CU_ASSERT_EQUAL_FATAL(slate_report_to_json(b, &text, &len), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_report_parse(text, len, &back, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(back->inbound[0].arrivals, 5);
    CU_ASSERT_EQUAL(back->inbound[0].arrivals_counted, 1);
    free(text);
    /* Merging a counting and a non-counting window adds their demands. */
    CU_ASSERT_EQUAL(slate_report_merge(back, a), SLATE_OK);
    CU_ASSERT_EQUAL(slate_report_inbound_demand(&back->inbound[0]), 6);
    CU_ASSERT_EQUAL(back->inbound[0].ingress, 2);
    /* Type and range are checked like every count. */
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":0,\"arrivals\":-1}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].arrivals");
    expect_bad(HEAD ",\"inbound\":[{\"class\":\"k\",\"count\":0,\"arrivals\":\"3\"}]}",
               SLATE_ERR_REPORT_INVALID, "inbound[0].arrivals");
    slate_report_free(a);
    slate_report_free(b);
    slate_report_free(back);
}

static CU_TestInfo wire_tests[] = {
    {"bucket mapping and bounds", test_bucket_mapping},
    {"merge is exact, commutative and associative", test_merge_is_exact},
    {"mean and quantiles", test_mean_and_quantiles},
    {"report round trip and merge", test_report_round_trip},
    {"report validation with paths", test_report_validation},
    {"histogram saturation and quantile edges", test_hist_saturation_and_edges},
    {"report builder arguments and limits", test_report_builder},
    {"report merge widens windows, weights inflight", test_report_merge_windows},
    {"report validation: integers, histograms, types, duplicates", test_report_validation_more},
    {"report entry limits are inclusive", test_report_entry_limits},
    {"report arrivals", test_report_arrivals},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "wire",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = wire_tests},
    CU_SUITE_INFO_NULL,
};
