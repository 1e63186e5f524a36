/*
 * A small, fast, seedable pseudo-random generator (xoshiro256**, seeded
 * through splitmix64) for load generation and emulated service times, where
 * runs must be reproducible from a seed. Not cryptographic: never use it for
 * tokens or anything an attacker must not predict.
 *
 * Header-only (static inline) so the hot paths that draw one number per
 * request pay no call. One slate_rng per thread; it has no locking.
 */
#ifndef SLATE_COMMON_RNG_H
#define SLATE_COMMON_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct slate_rng {
    uint64_t s[4];
} slate_rng;

static inline uint64_t slate_rng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds the four words from |seed|; any seed (0 too) gives a valid state. */
static inline void slate_rng_seed(slate_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = slate_rng_splitmix64(&seed);
}

static inline uint64_t slate_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t slate_rng_next(slate_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = slate_rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = slate_rng_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double slate_rng_uniform(slate_rng *r)
{
    return (double)(slate_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Exponential with the given mean (same unit as |mean|); 0 when mean <= 0. */
static inline double slate_rng_exp(slate_rng *r, double mean)
{
    if (!(mean > 0))
        return 0;
    /* 1 - u is in (0, 1], so the log is finite. */
    return -mean * log(1.0 - slate_rng_uniform(r));
}

#endif
