/* Log-bucketed histograms; the bucket formula is in hist.h. */
#include "common/hist.h"

#include <string.h>

void slate_hist_reset(slate_hist *h)
{
    memset(h, 0, sizeof(*h));
}

/* floor(log2 v) for v >= 1. */
static int ilog2(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

int slate_hist_bucket_of(uint64_t us)
{
    if (us < 16)
        return (int)us;
    int e = ilog2(us);
    if (e > 33)
        return SLATE_HIST_BUCKETS - 1;
    int sub = (int)((us >> (e - 3)) & 7);
    return 16 + 8 * (e - 4) + sub;
}

uint64_t slate_hist_bucket_lower_us(int i)
{
    if (i < 16)
        return i < 0 ? 0 : (uint64_t)i;
    if (i >= SLATE_HIST_BUCKETS)
        i = SLATE_HIST_BUCKETS - 1;
    int e = 4 + (i - 16) / 8, sub = (i - 16) % 8;
    return ((uint64_t)(8 + sub)) << (e - 3);
}

uint64_t slate_hist_bucket_upper_us(int i)
{
    if (i >= SLATE_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return slate_hist_bucket_lower_us(i + 1);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void slate_hist_record(slate_hist *h, uint64_t us)
{
    int b = slate_hist_bucket_of(us);
    h->buckets[b]++;
    h->count++;
    h->sum_us = add_sat(h->sum_us, us);
    if (us >> 34)
        h->clamped++;
}

void slate_hist_merge(slate_hist *dst, const slate_hist *src)
{
    dst->count = add_sat(dst->count, src->count);
    dst->sum_us = add_sat(dst->sum_us, src->sum_us);
    dst->clamped = add_sat(dst->clamped, src->clamped);
    for (int i = 0; i < SLATE_HIST_BUCKETS; i++)
        dst->buckets[i] = add_sat(dst->buckets[i], src->buckets[i]);
}

double slate_hist_mean_ms(const slate_hist *h)
{
    return h->count ? (double)h->sum_us / (double)h->count / 1e3 : 0.0;
}

double slate_hist_quantile_ms(const slate_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    /* Rank ceil(q * count), at least 1. */
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < SLATE_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            if (i < 16)
                return (double)i / 1e3;
            double lo = (double)slate_hist_bucket_lower_us(i);
            /* The last bucket is open-ended: report its lower bound. */
            double hi = i == SLATE_HIST_BUCKETS - 1 ? lo : (double)slate_hist_bucket_upper_us(i);
            return (lo + hi) / 2 / 1e3;
        }
    }
    return (double)slate_hist_bucket_lower_us(SLATE_HIST_BUCKETS - 1) / 1e3;
}

int slate_hist_equal(const slate_hist *a, const slate_hist *b)
{
    return a->count == b->count && a->sum_us == b->sum_us && a->clamped == b->clamped &&
           memcmp(a->buckets, b->buckets, sizeof(a->buckets)) == 0;
}
