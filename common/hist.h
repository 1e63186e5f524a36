/*
 * Log-bucketed latency histograms that merge exactly (DESIGN.md section 6).
 *
 * Sidecars record one value per request; the controller adds histograms of
 * many instances and windows. Percentiles cannot be merged, bucket counts
 * can: merging is per-bucket addition, so the controller's histogram of a
 * (class, service, cluster) is bit-for-bit what one sidecar would have seen
 * serving all of that traffic.
 *
 * Values are microseconds (uint64). The bucket of a value is computed with
 * integer arithmetic only, so every machine buckets the same way:
 *   - v < 16 us: bucket v (exact);
 *   - v >= 16 us: with e = floor(log2 v) (e >= 4) and the three bits below
 *     the leading one, sub = (v >> (e - 3)) & 7, the bucket is
 *     16 + 8 * (e - 4) + sub.
 * Each doubling is split into 8 linear sub-buckets, so a bucket's width is at
 * most 1/8 of its lower bound (12.5 %). SLATE_HIST_BUCKETS buckets cover
 * 0 .. 2^34 us (about 4.8 hours); values from 2^34 us on land in the last
 * bucket and are also counted in |clamped|.
 *
 * Hot path: slate_hist_record is a few integer operations and one add, no
 * allocation, no locking (a sidecar records from its single event-loop
 * thread; the controller merges under its own lock).
 */
#ifndef SLATE_COMMON_HIST_H
#define SLATE_COMMON_HIST_H

#include <stddef.h>
#include <stdint.h>

#define SLATE_HIST_BUCKETS 256

typedef struct slate_hist {
    uint64_t count;   /* values recorded */
    uint64_t sum_us;  /* exact sum of the values, us (saturates at UINT64_MAX) */
    uint64_t clamped; /* values >= 2^34 us, recorded in the last bucket */
    uint64_t buckets[SLATE_HIST_BUCKETS];
} slate_hist;

void slate_hist_reset(slate_hist *h);

/* Bucket index of |us| (formula above). */
int slate_hist_bucket_of(uint64_t us);
/* Smallest value in bucket |i|, us. */
uint64_t slate_hist_bucket_lower_us(int i);
/* One past the largest value in bucket |i|, us (UINT64_MAX for the last). */
uint64_t slate_hist_bucket_upper_us(int i);

void slate_hist_record(slate_hist *h, uint64_t us);

/* dst += src, exactly (counts and sums add; saturating). */
void slate_hist_merge(slate_hist *dst, const slate_hist *src);

/* Mean in milliseconds from the exact sum; 0 for an empty histogram. */
double slate_hist_mean_ms(const slate_hist *h);

/*
 * The |q|-quantile (0 <= q <= 1) in milliseconds: the value of rank
 * ceil(q * count) taken as its bucket's midpoint (the exact value for the
 * 16 one-microsecond buckets). 0 for an empty histogram.
 */
double slate_hist_quantile_ms(const slate_hist *h, double q);

/* 1 when every field equals. */
int slate_hist_equal(const slate_hist *a, const slate_hist *b);

/*
 * Wire form (inside reports): a JSON object
 *   {"count": 12, "sum_us": 48213, "buckets": [[17, 3], [20, 9]]}
 * with "buckets" a sparse list of [index, count] pairs in strictly increasing
 * index order, every count >= 1, and the counts summing to "count";
 * "clamped" (optional, default 0) <= "count". Readers validate all of that
 * (integers exactly representable, below 2^53) and report the JSON path of
 * any problem; see common/report.h for the functions that read and write it.
 */

#endif
