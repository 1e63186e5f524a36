/*
 * Unit tests for profiles/: evaluation of the three forms, the PWL
 * approximation for the LP, fitting from noisy samples, and profile sets
 * with their JSON form.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/json.h"
#include "profiles/profiles.h"
#include "tests/unit/test_util.h"
#include "topology/topology.h"

/* ---- helpers ---- */

static slate_profile make_poly(double t0, double mu, const double *coef, int degree)
{
    slate_profile p;
    memset(&p, 0, sizeof(p));
    p.form = SLATE_PROFILE_POLY;
    p.t0_ms = t0;
    p.mu_rps = mu;
    p.degree = degree;
    for (int i = 0; i < degree; i++)
        p.coef[i] = coef[i];
    return p;
}

static slate_profile make_points(double mu, const double *load, const double *lat, int n)
{
    slate_profile p;
    memset(&p, 0, sizeof(p));
    p.form = SLATE_PROFILE_POINTS;
    p.mu_rps = mu;
    p.n_pts = n;
    for (int i = 0; i < n; i++) {
        p.pts_load[i] = load[i];
        p.pts_latency[i] = lat[i];
    }
    return p;
}

/* f(rho) = rho * q(rho), the function the PWL approximates. */
static double f_of(const slate_profile *p, double x)
{
    return x * slate_profile_queueing(p, x);
}

/* A tiny deterministic PRNG (splitmix64) so the noisy fits are repeatable. */
typedef struct rng {
    uint64_t s;
} rng;

static double rng_uniform(rng *r) /* in (0, 1) */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_gauss(rng *r) /* standard normal, Box-Muller */
{
    double u = rng_uniform(r), v = rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- evaluation of the forms ---- */

static void test_mm1_values(void)
{
    slate_profile p;
    slate_profile_init_mm1(&p, 2.0, 3.0, 100.0);
    CU_ASSERT_EQUAL(slate_profile_validate(&p, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_latency(&p, 0), 2.0);
    CU_ASSERT_EQUAL(slate_profile_queueing(&p, 0), 0.0);
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 50), 2 + 3.0 * 50 / 50, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_queueing(&p, 75), 3.0 * 75 / 25, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 90), 2 + 3.0 * 90 / 10, 1e-12);
    CU_ASSERT(isinf(slate_profile_latency(&p, 100)));
    CU_ASSERT(isinf(slate_profile_queueing(&p, 250)));
    /* A negative load counts as 0; NaN propagates. */
    CU_ASSERT_EQUAL(slate_profile_latency(&p, -5), 2.0);
    CU_ASSERT(isnan(slate_profile_latency(&p, NAN)));
    CU_ASSERT_EQUAL(slate_profile_t0(&p), 2.0);
}

static void test_poly_values(void)
{
    const double c[] = {0.01, 0.0002};
    slate_profile p = make_poly(1.0, 1000, c, 2);
    CU_ASSERT_EQUAL(slate_profile_validate(&p, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_latency(&p, 0), 1.0);
    /* 1 + 0.01 * 100 + 0.0002 * 100^2 = 1 + 1 + 2 */
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 100), 4.0, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_queueing(&p, 300), 0.01 * 300 + 0.0002 * 90000, 1e-12);
    /* POLY stays finite past mu: mu only bounds the LP's range. */
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 2000), 1 + 20 + 800, 1e-9);
    const double c4[] = {0, 0, 0, 1e-9};
    slate_profile q = make_poly(0.5, 1000, c4, 4);
    SLATE_ASSERT_NEAR(slate_profile_latency(&q, 100), 0.5 + 1e-9 * 1e8, 1e-12);
}

static void test_points_hull(void)
{
    /* (100, 3) lies above the chord from (0, 1) to (200, 4): the hull drops it. */
    const double x[] = {0, 100, 200, 300}, y[] = {1, 3, 4, 10};
    slate_profile p = make_points(400, x, y, 4);
    CU_ASSERT_EQUAL(slate_profile_validate(&p, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_latency(&p, 0), 1.0);
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 100), 2.5, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 200), 4.0, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 250), 7.0, 1e-12);
    /* Beyond the last point: the last slope (6 ms per 100 rps) continues. */
    SLATE_ASSERT_NEAR(slate_profile_latency(&p, 400), 16.0, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_queueing(&p, 100), 1.5, 1e-12);
    CU_ASSERT_EQUAL(slate_profile_t0(&p), 1.0);

    /* A higher first point and no point at 0: flat left of the rightmost
     * minimum (100, 2), which also gives t0. The t0_ms field is ignored. */
    const double x2[] = {50, 100, 200}, y2[] = {3, 2, 4};
    slate_profile r = make_points(400, x2, y2, 3);
    r.t0_ms = 99;
    CU_ASSERT_EQUAL(slate_profile_t0(&r), 2.0);
    CU_ASSERT_EQUAL(slate_profile_latency(&r, 0), 2.0);
    CU_ASSERT_EQUAL(slate_profile_latency(&r, 75), 2.0);
    SLATE_ASSERT_NEAR(slate_profile_latency(&r, 150), 3.0, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_queueing(&r, 150), 1.0, 1e-12);
    CU_ASSERT_EQUAL(slate_profile_queueing(&r, 0), 0.0);

    /* One point: a constant curve. */
    const double x3[] = {10}, y3[] = {5};
    slate_profile s = make_points(100, x3, y3, 1);
    CU_ASSERT_EQUAL(slate_profile_latency(&s, 0), 5.0);
    CU_ASSERT_EQUAL(slate_profile_latency(&s, 1000), 5.0);

    /* Whatever the input, the hull is non-decreasing and convex. */
    const double x4[] = {0, 10, 20, 30, 40, 50, 60}, y4[] = {5, 1, 7, 2, 9, 3, 30};
    slate_profile u = make_points(100, x4, y4, 7);
    double prev = -INFINITY, prev_slope = -INFINITY;
    for (int i = 0; i <= 100; i++) {
        double v = slate_profile_latency(&u, i);
        double slope = slate_profile_latency(&u, i + 1) - v;
        CU_ASSERT(v >= prev);
        CU_ASSERT(slope >= prev_slope - 1e-12);
        prev = v;
        prev_slope = slope;
        if (i % 10 == 0 && i <= 60)
            CU_ASSERT(v <= y4[i / 10] + 1e-12); /* the hull lies below every point */
    }
    /* By hand: flat at 1 up to (10, 1), then (10, 1)-(50, 3) (passing
     * through (30, 2)), then (50, 3)-(60, 30) and on with slope 2.7. */
    CU_ASSERT_EQUAL(slate_profile_t0(&u), 1.0);
    SLATE_ASSERT_NEAR(slate_profile_latency(&u, 30), 2.0, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_latency(&u, 55), 16.5, 1e-12);
    SLATE_ASSERT_NEAR(slate_profile_latency(&u, 70), 57.0, 1e-12);
}

/* Asserts |p| fails validation with a diagnostic whose path is |path|. */
static void expect_invalid(const slate_profile *p, const char *path)
{
    slate_diag d;
    slate_diag_init(&d);
    CU_ASSERT_EQUAL(slate_profile_validate(p, &d), SLATE_ERR_PROFILE_INVALID);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        found |= strcmp(d.entries[i].path, path) == 0;
    if (!found) {
        fprintf(stderr, "\n  expected a problem at \"%s\", got:\n", path);
        slate_diag_print(&d, stderr);
    }
    CU_ASSERT(found);
    slate_diag_cleanup(&d);
}

static void test_validate(void)
{
    slate_profile p;
    slate_profile_init_mm1(&p, 1, 1, 0);
    expect_invalid(&p, "mu_rps");
    slate_profile_init_mm1(&p, 1, 1, NAN);
    expect_invalid(&p, "mu_rps");
    slate_profile_init_mm1(&p, -1, 1, 100);
    expect_invalid(&p, "t0_ms");
    slate_profile_init_mm1(&p, 1, INFINITY, 100);
    expect_invalid(&p, "k_ms");
    slate_profile_init_mm1(&p, 0, 0, 100); /* zeros are allowed */
    CU_ASSERT_EQUAL(slate_profile_validate(&p, NULL), SLATE_OK);

    const double c[] = {0.1, -0.2, 0.3};
    slate_profile q = make_poly(1, 100, c, 3);
    expect_invalid(&q, "coef[1]");
    q = make_poly(1, 100, c, 1);
    CU_ASSERT_EQUAL(slate_profile_validate(&q, NULL), SLATE_OK);
    q.degree = 0;
    expect_invalid(&q, "coef");
    q.degree = SLATE_PROFILE_MAX_DEGREE + 1;
    expect_invalid(&q, "coef");

    const double x[] = {0, 100, 100}, y[] = {1, 2, 3};
    slate_profile r = make_points(100, x, y, 3);
    expect_invalid(&r, "points[2]"); /* loads must strictly ascend */
    const double y2[] = {1, NAN, 3}, x2[] = {0, 50, 100};
    r = make_points(100, x2, y2, 3);
    expect_invalid(&r, "points[1]");
    r.n_pts = 0;
    expect_invalid(&r, "points");
    r.n_pts = SLATE_PROFILE_MAX_POINTS + 1;
    expect_invalid(&r, "points");

    p.form = (slate_profile_form)7;
    expect_invalid(&p, "form");
    CU_ASSERT_EQUAL(slate_profile_validate(NULL, NULL), SLATE_ERR_PROFILE_INVALID);
}

/* ---- PWL ---- */

/*
 * Checks every promise of slate_profile_pwl for |p| at (|u_max|, |segs|)
 * and returns the measured max error (ms*work/s).
 */
static double check_pwl(const slate_profile *p, double u_max, int segs)
{
    slate_pwl pwl;
    CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(p, u_max, segs, &pwl), SLATE_OK);
    double x_max = u_max * p->mu_rps, f_max = f_of(p, x_max);
    double tol = 1e-12 * (f_max > 1 ? f_max : 1);
    CU_ASSERT(pwl.n >= 1 && pwl.n <= segs);
    CU_ASSERT_EQUAL(pwl.x_max, x_max);
    CU_ASSERT(pwl.max_error <= pwl.bound);
    CU_ASSERT(pwl.max_error >= 0);
    CU_ASSERT_EQUAL(slate_pwl_eval(&pwl, 0), 0.0); /* exact at 0 */
    CU_ASSERT_EQUAL(pwl.intercept[0], 0.0);
    for (int i = 1; i < pwl.n; i++) {
        CU_ASSERT(pwl.slope[i] >= pwl.slope[i - 1]);
        CU_ASSERT(pwl.intercept[i] <= 0);
        /* Consecutive pieces meet on f: the breakpoints are exact. */
        if (pwl.slope[i] > pwl.slope[i - 1]) {
            double x =
                (pwl.intercept[i - 1] - pwl.intercept[i]) / (pwl.slope[i] - pwl.slope[i - 1]);
            CU_ASSERT(x > 0 && x < x_max * (1 + 1e-12));
            SLATE_ASSERT_NEAR(slate_pwl_eval(&pwl, x), f_of(p, x), 1e-9 * f_max + 1e-12);
        }
    }
    /* An independent dense check: pwl >= f, and never further from f than
     * the reported max_error. */
    double worst = 0;
    for (int k = 0; k <= 4000; k++) {
        double x = x_max * k / 4000.0;
        double gap = slate_pwl_eval(&pwl, x) - f_of(p, x);
        CU_ASSERT(gap >= -tol);
        worst = fabs(gap) > worst ? fabs(gap) : worst;
    }
    CU_ASSERT(worst <= pwl.max_error + tol);
    /* The last piece ends on f at x_max. */
    SLATE_ASSERT_NEAR(slate_pwl_eval(&pwl, x_max), f_max, 1e-9 * f_max + 1e-12);
    return pwl.max_error;
}

/* The max chord error of |n| equal-width chords of f on [0, x_max]. */
static double uniform_chord_error(const slate_profile *p, double x_max, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double a = x_max * i / n, b = x_max * (i + 1) / n;
        double fa = f_of(p, a), m = (f_of(p, b) - fa) / (b - a);
        for (int k = 0; k <= 200; k++) {
            double x = a + (b - a) * k / 200;
            double e = fa + m * (x - a) - f_of(p, x);
            worst = e > worst ? e : worst;
        }
    }
    return worst;
}

static void test_pwl_mm1(void)
{
    slate_profile p;
    slate_profile_init_mm1(&p, 1.25, 1.25, 800);
    const double us[] = {0.5, 0.8, 0.9, 0.95};
    const int segs[] = {2, 3, 4, 6, 8, 12, 16, 24, 32};
    for (size_t u = 0; u < sizeof(us) / sizeof(us[0]); u++) {
        double prev = INFINITY;
        for (size_t s = 0; s < sizeof(segs) / sizeof(segs[0]); s++) {
            double e = check_pwl(&p, us[u], segs[s]);
            CU_ASSERT(e < prev); /* more pieces, less error */
            prev = e;
        }
    }
    /* Placement matters: near mu, equal-width chords are far worse. */
    slate_pwl pwl;
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.95, 8, &pwl), SLATE_OK);
    double uniform = uniform_chord_error(&p, 0.95 * 800, 8);
    CU_ASSERT(pwl.max_error < 0.25 * uniform);
    /* The bound is a real one: not vacuously loose. */
    CU_ASSERT(pwl.bound < 4 * pwl.max_error);
    /* k = 0: f is 0, one flat piece is exact. */
    slate_profile z;
    slate_profile_init_mm1(&z, 3, 0, 800);
    CU_ASSERT_EQUAL(slate_profile_pwl(&z, 0.9, 8, &pwl), SLATE_OK);
    CU_ASSERT_EQUAL(pwl.n, 1);
    CU_ASSERT_EQUAL(pwl.slope[0], 0.0);
    CU_ASSERT_EQUAL(pwl.max_error, 0.0);
}

static void test_pwl_poly(void)
{
    const double c2[] = {0.002, 0.00001};
    slate_profile p = make_poly(1, 1000, c2, 2);
    double prev = INFINITY;
    for (int segs = 1; segs <= 32; segs *= 2) {
        double e = check_pwl(&p, 0.9, segs);
        CU_ASSERT(e < prev);
        prev = e;
    }
    const double c4[] = {0, 1e-6, 0, 1e-12};
    slate_profile q = make_poly(0, 500, c4, 4);
    prev = INFINITY;
    for (int segs = 2; segs <= 32; segs *= 2) {
        double e = check_pwl(&q, 2.0, segs);
        CU_ASSERT(e < prev);
        prev = e;
    }
    /* q linear (degree 1): f = c rho^2, whose chord error on a width-h
     * interval is exactly c h^2 / 4; equal widths are optimal, so with n
     * pieces the error is c (x_max / n)^2 / 4. */
    const double c1[] = {0.01};
    slate_profile r = make_poly(0, 100, c1, 1);
    slate_pwl pwl;
    CU_ASSERT_EQUAL(slate_profile_pwl(&r, 1.0, 4, &pwl), SLATE_OK);
    SLATE_ASSERT_NEAR(pwl.max_error, 0.01 * 25.0 * 25.0 / 4, 1e-3 * 0.01 * 625 / 4);
}

static void test_pwl_points(void)
{
    const double x[] = {0, 100, 200, 300}, y[] = {1, 3, 4, 10};
    slate_profile p = make_points(400, x, y, 4);
    double prev = INFINITY;
    for (int segs = 2; segs <= 32; segs *= 2) {
        double e = check_pwl(&p, 1.5, segs); /* past the last point too */
        CU_ASSERT(e <= prev);
        prev = e;
    }
    /* A flat start (no point at 0, first point not the minimum). */
    const double x2[] = {50, 100, 200, 350}, y2[] = {3, 2, 4, 12};
    slate_profile r = make_points(400, x2, y2, 4);
    for (int segs = 1; segs <= 16; segs *= 2)
        check_pwl(&r, 0.9, segs);
    /* Hull points are kinks of f; with enough pieces to put breakpoints
     * there the error is far below the single chord's. */
    slate_pwl one, many;
    CU_ASSERT_EQUAL(slate_profile_pwl(&r, 0.9, 1, &one), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_pwl(&r, 0.9, 16, &many), SLATE_OK);
    CU_ASSERT(many.max_error < 0.05 * one.max_error);
}

/* f scales with k * mu for MM1, so the relative error of the approximation
 * must not depend on the scale; extreme scales must neither hang nor break
 * the bound (a product of two small slopes once underflowed to 0). */
static void test_pwl_scales(void)
{
    slate_profile ref;
    slate_pwl pwl;
    slate_profile_init_mm1(&ref, 1, 1, 800);
    CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(&ref, 0.95, 8, &pwl), SLATE_OK);
    double ref_rel = pwl.max_error / f_of(&ref, 0.95 * 800);
    const double scales[][2] = {{1e-6, 1e-6}, {1e9, 1e9}, {1e-150, 1e-3}, {3, 1e-9}};
    for (size_t i = 0; i < sizeof(scales) / sizeof(scales[0]); i++) {
        slate_profile p;
        slate_profile_init_mm1(&p, 0, scales[i][0], scales[i][1]);
        CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(&p, 0.95, 8, &pwl), SLATE_OK);
        CU_ASSERT(pwl.max_error <= pwl.bound);
        SLATE_ASSERT_NEAR(pwl.max_error / f_of(&p, 0.95 * scales[i][1]), ref_rel, 1e-3 * ref_rel);
    }
    const double tiny[] = {0, 1e-300};
    slate_profile q = make_poly(4, 800, tiny, 2);
    CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(&q, 0.9, 8, &pwl), SLATE_OK);
    CU_ASSERT(pwl.max_error > 0);
    CU_ASSERT(pwl.max_error <= pwl.bound);
    const double x[] = {0, 1e-300, 1e9}, y[] = {0, 1e-300, 1e9};
    slate_profile r = make_points(1e9, x, y, 3);
    CU_ASSERT_EQUAL_FATAL(slate_profile_pwl(&r, 0.9, 8, &pwl), SLATE_OK);
    CU_ASSERT(pwl.max_error <= pwl.bound);
}

static void test_pwl_args(void)
{
    slate_profile p;
    slate_pwl pwl;
    slate_profile_init_mm1(&p, 1, 1, 100);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 1.0, 8, &pwl), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.0, 8, &pwl), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, NAN, 8, &pwl), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.9, 0, &pwl), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.9, SLATE_PWL_MAX_SEGMENTS + 1, &pwl),
                    SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(NULL, 0.9, 8, &pwl), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.9, 8, NULL), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.9, SLATE_PWL_MAX_SEGMENTS, &pwl), SLATE_OK);
    p.k_ms = -1;
    CU_ASSERT_EQUAL(slate_profile_pwl(&p, 0.9, 8, &pwl), SLATE_ERR_INVALID_ARG);
    const double c[] = {0.01};
    slate_profile q = make_poly(1, 100, c, 1);
    CU_ASSERT_EQUAL(slate_profile_pwl(&q, 10.0, 8, &pwl), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_pwl(&q, 10.5, 8, &pwl), SLATE_ERR_INVALID_ARG);
}

/* ---- fitting ---- */

/* Asserts |p| is a valid fit: non-negative parameters, latency monotone and
 * convex on [0, x_to]. */
static void check_fit_shape(const slate_profile *p, double x_to)
{
    CU_ASSERT_EQUAL(slate_profile_validate(p, NULL), SLATE_OK);
    CU_ASSERT(p->form == SLATE_PROFILE_MM1 || p->form == SLATE_PROFILE_POLY);
    CU_ASSERT(p->t0_ms >= 0);
    if (p->form == SLATE_PROFILE_MM1)
        CU_ASSERT(p->k_ms >= 0);
    for (int i = 0; p->form == SLATE_PROFILE_POLY && i < p->degree; i++)
        CU_ASSERT(p->coef[i] >= 0);
    double h = x_to / 200, prev = slate_profile_latency(p, 0), prev_d = -INFINITY;
    for (int k = 1; k <= 200; k++) {
        double v = slate_profile_latency(p, k * h), d = v - prev;
        CU_ASSERT(d >= 0);
        CU_ASSERT(d >= prev_d - 1e-9 * (fabs(d) + 1));
        prev = v;
        prev_d = d;
    }
}

/* Max relative deviation of |fit| from |truth| over [lo, hi]. */
static double max_rel_dev(const slate_profile *fit, const slate_profile *truth, double lo,
                          double hi)
{
    double worst = 0;
    for (int k = 0; k <= 100; k++) {
        double x = lo + (hi - lo) * k / 100;
        double t = slate_profile_latency(truth, x);
        double e = fabs(slate_profile_latency(fit, x) - t) / t;
        worst = e > worst ? e : worst;
    }
    return worst;
}

#define N_NOISY 60

static void test_fit_mm1_noisy(void)
{
    slate_profile truth;
    slate_profile_init_mm1(&truth, 2.0, 1.5, 1000);
    rng r = {42};
    double rho[N_NOISY], lat[N_NOISY];
    for (int i = 0; i < N_NOISY; i++) {
        rho[i] = 30 + 870.0 * i / (N_NOISY - 1); /* up to 90 % of mu */
        /* 3 % multiplicative noise, as a window mean would show */
        lat[i] = slate_profile_latency(&truth, rho[i]) * (1 + 0.03 * rng_gauss(&r));
    }
    slate_profile fit;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, N_NOISY, 1000, 4, &fit), SLATE_OK);
    check_fit_shape(&fit, 950);
    CU_ASSERT_EQUAL(fit.mu_rps, 1000);
    double dev = max_rel_dev(&fit, &truth, 30, 900);
    if (dev >= 0.03)
        fprintf(stderr, "\n  MM1 fit deviates %.3g (form %d)\n", dev, (int)fit.form);
    CU_ASSERT(dev < 0.03); /* tolerance: the noise level, averaged over 60 samples */
    CU_ASSERT_EQUAL(fit.form, SLATE_PROFILE_MM1);
    SLATE_ASSERT_NEAR(fit.t0_ms, 2.0, 0.1);
    SLATE_ASSERT_NEAR(fit.k_ms, 1.5, 0.1);
}

static void test_fit_poly_noisy(void)
{
    const double c[] = {0.002, 0.00001};
    slate_profile truth = make_poly(1.0, 1000, c, 2);
    rng r = {7};
    double rho[N_NOISY], lat[N_NOISY];
    for (int i = 0; i < N_NOISY; i++) {
        rho[i] = 800.0 * i / (N_NOISY - 1);
        lat[i] = slate_profile_latency(&truth, rho[i]) * (1 + 0.03 * rng_gauss(&r));
    }
    slate_profile fit;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, N_NOISY, 1000, 4, &fit), SLATE_OK);
    check_fit_shape(&fit, 1000);
    double dev = max_rel_dev(&fit, &truth, 0, 800);
    if (dev >= 0.03)
        fprintf(stderr, "\n  POLY fit deviates %.3g (form %d)\n", dev, (int)fit.form);
    CU_ASSERT(dev < 0.03);
    /* The per-parameter penalty keeps noise from choosing degree 3 or 4. */
    CU_ASSERT_EQUAL(fit.form, SLATE_PROFILE_POLY);
    CU_ASSERT_EQUAL(fit.degree, 2);
}

static void test_fit_exact(void)
{
    /* Noise-free samples give back the curve that made them. */
    slate_profile truth;
    slate_profile_init_mm1(&truth, 0.8, 2.5, 5000);
    double rho[20], lat[20];
    for (int i = 0; i < 20; i++) {
        rho[i] = 4500.0 * i / 19;
        lat[i] = slate_profile_latency(&truth, rho[i]);
    }
    slate_profile fit;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 20, 5000, 4, &fit), SLATE_OK);
    CU_ASSERT_EQUAL(fit.form, SLATE_PROFILE_MM1);
    SLATE_ASSERT_NEAR(fit.t0_ms, 0.8, 1e-8);
    SLATE_ASSERT_NEAR(fit.k_ms, 2.5, 1e-8);

    /* Loads in the thousands with a cubic: column scaling keeps it exact. */
    const double c[] = {0, 2e-4, 3e-8};
    slate_profile cubic = make_poly(3.0, 8000, c, 3);
    for (int i = 0; i < 20; i++) {
        rho[i] = 7000.0 * i / 19;
        lat[i] = slate_profile_latency(&cubic, rho[i]);
    }
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 20, 8000, 4, &fit), SLATE_OK);
    CU_ASSERT_EQUAL(fit.form, SLATE_PROFILE_POLY);
    CU_ASSERT_EQUAL(fit.degree, 3);
    SLATE_ASSERT_NEAR(fit.t0_ms, 3.0, 1e-7);
    SLATE_ASSERT_NEAR(fit.coef[0], 0, 1e-9);
    SLATE_ASSERT_NEAR(fit.coef[1], 2e-4, 1e-9);
    SLATE_ASSERT_NEAR(fit.coef[2], 3e-8, 1e-12);
}

static void test_fit_nonnegative(void)
{
    /* A concave, saturating curve: unconstrained least squares would give a
     * negative quadratic term; NNLS keeps every coefficient >= 0 and the
     * curve monotone and convex. */
    double rho[30], lat[30];
    for (int i = 0; i < 30; i++) {
        rho[i] = 10.0 * i;
        lat[i] = 1 + 3 * sqrt(rho[i]);
    }
    slate_profile fit;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 30, 1000, 4, &fit), SLATE_OK);
    check_fit_shape(&fit, 1000);
    /* Decreasing data: the best non-decreasing curve is flat at the mean. */
    for (int i = 0; i < 30; i++)
        lat[i] = 10 - 0.01 * rho[i];
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 30, 1000, 2, &fit), SLATE_OK);
    check_fit_shape(&fit, 1000);
    SLATE_ASSERT_NEAR(slate_profile_latency(&fit, 0), 10 - 0.01 * 145, 1e-9);
    SLATE_ASSERT_NEAR(slate_profile_latency(&fit, 290), 10 - 0.01 * 145, 1e-9);
}

static void test_fit_weights(void)
{
    /* A straight line plus one sample far above it at load 300. */
    double rho[11], lat[11], w[11];
    for (int i = 0; i < 10; i++) {
        rho[i] = 50.0 * (i + 1);
        lat[i] = 1 + 0.01 * rho[i];
        w[i] = 1;
    }
    rho[10] = 300;
    lat[10] = 10; /* the line says 4 */
    slate_profile light, heavy;
    w[10] = 1;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, w, 11, 1e6, 1, &light), SLATE_OK);
    w[10] = 1000;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, w, 11, 1e6, 1, &heavy), SLATE_OK);
    double l = slate_profile_latency(&light, 300), h = slate_profile_latency(&heavy, 300);
    CU_ASSERT(l < 5.5); /* one sample among eleven moves the line a little */
    CU_ASSERT(h > 9.5); /* a thousand requests behind it pull the fit there */
    /* NULL weights equal all-ones weights. */
    slate_profile ones;
    w[10] = 1;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 11, 1e6, 1, &ones), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_latency(&ones, 300), l);
}

static void test_fit_bad_samples(void)
{
    const double c[] = {0.002, 0.00001};
    slate_profile truth = make_poly(1.0, 1000, c, 2);
    double rho[24], lat[24], w[24];
    for (int i = 0; i < 20; i++) {
        rho[i] = 40.0 * i;
        lat[i] = slate_profile_latency(&truth, rho[i]) + 0.05 * ((i % 3) - 1);
        w[i] = 1 + i % 4;
    }
    slate_profile clean, dirty;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, w, 20, 1000, 4, &clean), SLATE_OK);
    /* Broken samples are skipped: the fit is bit-for-bit the same. */
    rho[20] = 100;
    lat[20] = NAN;
    w[20] = 1;
    rho[21] = NAN;
    lat[21] = 3;
    w[21] = 1;
    rho[22] = 200;
    lat[22] = 1e6;
    w[22] = -5;
    rho[23] = -10;
    lat[23] = INFINITY;
    w[23] = NAN;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, w, 24, 1000, 4, &dirty), SLATE_OK);
    CU_ASSERT_EQUAL(dirty.form, clean.form);
    CU_ASSERT_EQUAL(dirty.t0_ms, clean.t0_ms);
    CU_ASSERT_EQUAL(dirty.k_ms, clean.k_ms);
    CU_ASSERT_EQUAL(dirty.degree, clean.degree);
    for (int i = 0; i < SLATE_PROFILE_MAX_DEGREE; i++)
        CU_ASSERT_EQUAL(dirty.coef[i], clean.coef[i]);
    check_fit_shape(&dirty, 1000);
}

static void test_fit_insufficient(void)
{
    double rho[5] = {100, 100, 100, 100, 100}, lat[5] = {1, 2, 3, 4, 5};
    slate_profile out, before;
    memset(&out, 0xA5, sizeof(out));
    before = out;
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 0, 1000, 2, &out),
                    SLATE_ERR_FIT_INSUFFICIENT);
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 1, 1000, 2, &out),
                    SLATE_ERR_FIT_INSUFFICIENT);
    /* Five samples, one load level: no slope can be told. */
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, 2, &out),
                    SLATE_ERR_FIT_INSUFFICIENT);
    /* Two levels, but one only through a NaN latency. */
    rho[4] = 200;
    lat[4] = NAN;
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, 2, &out),
                    SLATE_ERR_FIT_INSUFFICIENT);
    /* ...or a zero weight. */
    lat[4] = 5;
    double w[5] = {1, 1, 1, 1, 0};
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, w, 5, 1000, 2, &out), SLATE_ERR_FIT_INSUFFICIENT);
    CU_ASSERT_EQUAL(memcmp(&out, &before, sizeof(out)), 0); /* untouched */
    /* Bad arguments. */
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 0, 2, &out), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, NAN, 2, &out), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, 0, &out), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, SLATE_PROFILE_MAX_DEGREE + 1, &out),
                    SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_fit(NULL, lat, NULL, 5, 1000, 2, &out), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, 2, NULL), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(memcmp(&out, &before, sizeof(out)), 0);
    /* Two levels is enough. */
    CU_ASSERT_EQUAL(slate_profile_fit(rho, lat, NULL, 5, 1000, 2, &out), SLATE_OK);
}

static void test_fit_above_mu(void)
{
    /* Load went past the nominal mu: MM1 cannot describe those samples, the
     * fit still succeeds and stays finite. */
    const double c[] = {0.001, 0.00002};
    slate_profile truth = make_poly(1.0, 500, c, 2);
    double rho[30], lat[30];
    for (int i = 0; i < 30; i++) {
        rho[i] = 25.0 * i; /* up to 725 > mu = 500 */
        lat[i] = slate_profile_latency(&truth, rho[i]);
    }
    slate_profile fit;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 30, 500, 4, &fit), SLATE_OK);
    check_fit_shape(&fit, 450);
    CU_ASSERT(max_rel_dev(&fit, &truth, 0, 450) < 1e-6);
    /* Every sample above mu: MM1 is not tried at all, POLY still fits. */
    for (int i = 0; i < 30; i++)
        rho[i] = 600.0 + 10 * i;
    CU_ASSERT_EQUAL_FATAL(slate_profile_fit(rho, lat, NULL, 30, 500, 2, &fit), SLATE_OK);
    CU_ASSERT_EQUAL(fit.form, SLATE_PROFILE_POLY);
}

/* ---- profile sets ---- */

static const char TOPO_JSON[] =
    "{\"clusters\": [\"us-west\", \"us-east\"],"
    " \"network\": {\"rtt_ms\": [[0.5, 60], [60, 0.5]]},"
    " \"services\": ["
    "  {\"name\": \"frontend\", \"service_time_ms\": 2, \"deployments\": ["
    "    {\"cluster\": \"us-west\", \"capacity_rps\": 800},"
    "    {\"cluster\": \"us-east\", \"capacity_rps\": 400}]},"
    "  {\"name\": \"cart\", \"service_time_ms\": 1.5, \"deployments\": ["
    "    {\"cluster\": \"us-west\", \"capacity_rps\": 300}]}],"
    " \"classes\": [{\"name\": \"shop\", \"calls\": {\"service\": \"frontend\","
    "   \"children\": [{\"service\": \"cart\"}]}}]}";

static slate_topology *load_topo(void)
{
    slate_topology *t = NULL;
    slate_diag d;
    slate_diag_init(&d);
    int rv = slate_topology_load_json(TOPO_JSON, strlen(TOPO_JSON), &t, &d);
    if (rv != SLATE_OK)
        slate_diag_print(&d, stderr);
    slate_diag_cleanup(&d);
    CU_ASSERT_EQUAL_FATAL(rv, SLATE_OK);
    return t;
}

/* Field-by-field equality of two canonical profiles. */
static int profile_equal(const slate_profile *a, const slate_profile *b)
{
    if (a->form != b->form || a->t0_ms != b->t0_ms || a->mu_rps != b->mu_rps ||
        a->k_ms != b->k_ms || a->degree != b->degree || a->n_pts != b->n_pts)
        return 0;
    for (int i = 0; i < SLATE_PROFILE_MAX_DEGREE; i++)
        if (a->coef[i] != b->coef[i])
            return 0;
    for (int i = 0; i < a->n_pts && i < SLATE_PROFILE_MAX_POINTS; i++)
        if (a->pts_load[i] != b->pts_load[i] || a->pts_latency[i] != b->pts_latency[i])
            return 0;
    return 1;
}

static void test_set_defaults(void)
{
    slate_topology *t = load_topo();
    slate_profile_set *s = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &s), SLATE_OK);
    int fe = slate_topology_find_service(t, "frontend"),
        cart = slate_topology_find_service(t, "cart");
    int west = slate_topology_find_cluster(t, "us-west"),
        east = slate_topology_find_cluster(t, "us-east");
    const slate_profile *p = slate_profile_set_get(s, fe, east);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->form, SLATE_PROFILE_MM1);
    CU_ASSERT_EQUAL(p->t0_ms, 2.0);
    CU_ASSERT_EQUAL(p->k_ms, 2.0);
    CU_ASSERT_EQUAL(p->mu_rps, 400.0);
    p = slate_profile_set_get(s, cart, west);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->t0_ms, 1.5);
    CU_ASSERT_EQUAL(p->mu_rps, 300.0);
    /* Not deployed, or out of range. */
    CU_ASSERT_PTR_NULL(slate_profile_set_get(s, cart, east));
    CU_ASSERT_PTR_NULL(slate_profile_set_get(s, 5, west));
    CU_ASSERT_PTR_NULL(slate_profile_set_get(s, -1, west));
    CU_ASSERT_PTR_NULL(slate_profile_set_get(s, fe, 2));
    CU_ASSERT_PTR_NULL(slate_profile_set_get(NULL, fe, west));
    slate_profile_set_free(s);
    slate_profile_set_free(NULL);
    slate_topology_free(t);
}

static void test_set_put_get(void)
{
    slate_topology *t = load_topo();
    slate_profile_set *s = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &s), SLATE_OK);
    const slate_profile *before = slate_profile_set_get(s, 0, 0);
    const double c[] = {0.01, 0.001};
    slate_profile q = make_poly(1.5, 800, c, 2);
    q.k_ms = 42; /* not used by POLY: dropped on the way in */
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 0, 0, &q), SLATE_OK);
    const slate_profile *got = slate_profile_set_get(s, 0, 0);
    CU_ASSERT_PTR_EQUAL(got, before); /* stable storage */
    CU_ASSERT_EQUAL(got->form, SLATE_PROFILE_POLY);
    CU_ASSERT_EQUAL(got->coef[1], 0.001);
    CU_ASSERT_EQUAL(got->k_ms, 0.0);
    /* POINTS: t0_ms is stored as the hull's value at 0. */
    const double x[] = {100, 200, 300}, y[] = {2, 3, 5};
    slate_profile r = make_points(400, x, y, 3);
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 0, 1, &r), SLATE_OK);
    CU_ASSERT_EQUAL(slate_profile_set_get(s, 0, 1)->t0_ms, 2.0);
    /* Refusals leave the stored profile alone. */
    q.coef[0] = -1;
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 0, 0, &q), SLATE_ERR_PROFILE_INVALID);
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 0, 0, NULL), SLATE_ERR_PROFILE_INVALID);
    CU_ASSERT_EQUAL(slate_profile_set_get(s, 0, 0)->coef[0], 0.01);
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 1, 1, &r), SLATE_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(slate_profile_set_put(s, 9, 0, &r), SLATE_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(slate_profile_set_put(NULL, 0, 0, &r), SLATE_ERR_INVALID_ARG);
    slate_profile_set_free(s);
    slate_topology_free(t);
}

static const char GOOD_PROFILES[] =
    "{\"profiles\": ["
    " {\"service\": \"frontend\", \"cluster\": \"us-west\", \"form\": \"mm1\","
    "  \"t0_ms\": 1.25, \"k_ms\": 0.75, \"mu_rps\": 900},"
    " {\"service\": \"frontend\", \"cluster\": \"us-east\", \"form\": \"poly\","
    "  \"t0_ms\": 1.0, \"coef\": [0.001, 0.00002, 0.1e-9]},"
    " {\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"points\", \"mu_rps\": 280,"
    "  \"points\": [[0, 1.0], [100, 2.5], [200, 3.0], [270, 9.75]], \"note\": \"ignored\"}]}";

static void test_set_load_json(void)
{
    slate_topology *t = load_topo();
    slate_profile_set *s = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &s), SLATE_OK);
    slate_diag d;
    slate_diag_init(&d);
    int rv = slate_profile_set_load_json(s, GOOD_PROFILES, strlen(GOOD_PROFILES), &d);
    if (rv != SLATE_OK)
        slate_diag_print(&d, stderr);
    CU_ASSERT_EQUAL_FATAL(rv, SLATE_OK);
    CU_ASSERT_EQUAL(slate_diag_count(&d), 0);
    const slate_profile *p = slate_profile_set_get(s, 0, 0);
    CU_ASSERT_EQUAL(p->form, SLATE_PROFILE_MM1);
    CU_ASSERT_EQUAL(p->k_ms, 0.75);
    CU_ASSERT_EQUAL(p->mu_rps, 900);
    p = slate_profile_set_get(s, 0, 1);
    CU_ASSERT_EQUAL(p->form, SLATE_PROFILE_POLY);
    CU_ASSERT_EQUAL(p->degree, 3);
    CU_ASSERT_EQUAL(p->coef[2], 0.1e-9);
    CU_ASSERT_EQUAL(p->mu_rps, 400); /* omitted: the deployment's capacity */
    p = slate_profile_set_get(s, 1, 0);
    CU_ASSERT_EQUAL(p->form, SLATE_PROFILE_POINTS);
    CU_ASSERT_EQUAL(p->n_pts, 4);
    CU_ASSERT_EQUAL(p->pts_latency[3], 9.75);
    /* (100, 2.5) is above the chord (0, 1)-(200, 3): the hull skips it. */
    SLATE_ASSERT_NEAR(slate_profile_latency(p, 100), 2.0, 1e-12);
    slate_diag_cleanup(&d);
    slate_profile_set_free(s);
    slate_topology_free(t);
}

/* Asserts |d| holds a problem at exactly |path|. */
static void expect_path(const slate_diag *d, const char *path)
{
    int found = 0;
    for (size_t i = 0; i < d->n; i++)
        found |= strcmp(d->entries[i].path, path) == 0;
    if (!found) {
        fprintf(stderr, "\n  expected a problem at \"%s\", got:\n", path);
        slate_diag_print(d, stderr);
    }
    CU_ASSERT(found);
}

static void test_set_load_errors(void)
{
    slate_topology *t = load_topo();
    slate_profile_set *s = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &s), SLATE_OK);
    char *orig = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_to_json(s, 0, &orig), SLATE_OK);
    slate_diag d;
    slate_diag_init(&d);
    /* The first entry is fine; every other has problems. All are reported,
     * and nothing is applied. */
    const char *bad = "{\"profiles\": ["
                      " {\"service\": \"frontend\", \"cluster\": \"us-west\", \"form\": \"mm1\","
                      "  \"t0_ms\": 1, \"k_ms\": 1, \"mu_rps\": 900},"
                      " {\"service\": \"cartt\", \"cluster\": \"us-west\", \"form\": \"mm1\","
                      "  \"t0_ms\": 1, \"k_ms\": 1},"
                      " {\"service\": \"cart\", \"cluster\": \"us-east\", \"form\": \"mm1\","
                      "  \"t0_ms\": -1, \"k_ms\": \"x\", \"mu_rps\": 0},"
                      " {\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"points\","
                      "  \"points\": [[0, 1], [0, 2], [5], [7, null]], \"t0_ms\": 3}]}";
    CU_ASSERT_EQUAL(slate_profile_set_load_json(s, bad, strlen(bad), &d),
                    SLATE_ERR_PROFILE_INVALID);
    expect_path(&d, "profiles[1].service");
    expect_path(&d, "profiles[2]"); /* cart is not deployed in us-east */
    expect_path(&d, "profiles[2].t0_ms");
    expect_path(&d, "profiles[2].k_ms");
    expect_path(&d, "profiles[2].mu_rps");
    expect_path(&d, "profiles[3].points[2]");
    expect_path(&d, "profiles[3].points[3][1]");
    expect_path(&d, "profiles[3].t0_ms"); /* derived for points: refused */
    char *after = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_to_json(s, 0, &after), SLATE_OK);
    CU_ASSERT_STRING_EQUAL(after, orig); /* all or nothing */
    free(after);

    /* A deployment given twice. */
    slate_diag_clear(&d);
    const char *dup = "{\"profiles\": ["
                      " {\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"mm1\","
                      "  \"t0_ms\": 1, \"k_ms\": 1},"
                      " {\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"mm1\","
                      "  \"t0_ms\": 2, \"k_ms\": 1}]}";
    CU_ASSERT_EQUAL(slate_profile_set_load_json(s, dup, strlen(dup), &d),
                    SLATE_ERR_PROFILE_INVALID);
    expect_path(&d, "profiles[1]");
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "duplicate"));

    /* Semantic range problems after the fields parse. */
    slate_diag_clear(&d);
    const char *ranges =
        "{\"profiles\": [{\"service\": \"frontend\", \"cluster\": \"us-east\", \"form\": \"poly\","
        " \"t0_ms\": 1, \"mu_rps\": 0, \"coef\": [0.1, -2]},"
        " {\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"points\","
        "  \"points\": [[0, 1], [0, 2]]}]}";
    CU_ASSERT_EQUAL(slate_profile_set_load_json(s, ranges, strlen(ranges), &d),
                    SLATE_ERR_PROFILE_INVALID);
    expect_path(&d, "profiles[0].mu_rps");
    expect_path(&d, "profiles[0].coef[1]");
    expect_path(&d, "profiles[1].points[1]");

    /* Document-level problems. */
    struct {
        const char *text;
        int rv;
        const char *path;
    } cases[] = {
        {"[1, 2]", SLATE_ERR_PROFILE_INVALID, ""},
        {"{}", SLATE_ERR_PROFILE_INVALID, "profiles"},
        {"{\"profiles\": {}}", SLATE_ERR_PROFILE_INVALID, "profiles"},
        {"{\"profiles\": [1]}", SLATE_ERR_PROFILE_INVALID, "profiles[0]"},
        {"{\"profiles\": [{}, {}, {}, {}, {}]}", SLATE_ERR_PROFILE_INVALID, "profiles"},
        {"{\"profiles\": [{\"service\": \"cart\", \"cluster\": \"us-west\", \"form\": \"mm2\"}]}",
         SLATE_ERR_PROFILE_INVALID, "profiles[0].form"},
        {"{\"profiles\": [{\"service\": \"cart\", \"cluster\": \"eu\", \"form\": \"poly\", "
         "\"t0_ms\": 1, \"coef\": []}]}",
         SLATE_ERR_PROFILE_INVALID, "profiles[0].coef"},
        {"{\"profiles\": [", SLATE_ERR_PARSE, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        slate_diag_clear(&d);
        CU_ASSERT_EQUAL(slate_profile_set_load_json(s, cases[i].text, strlen(cases[i].text), &d),
                        cases[i].rv);
        expect_path(&d, cases[i].path);
    }
    CU_ASSERT_EQUAL(slate_profile_set_load_json(s, "{\"profiles\": []}", 16, NULL), SLATE_OK);
    /* The size limit is checked before parsing. */
    CU_ASSERT_EQUAL(slate_profile_set_load_json(s, "{}", (size_t)SLATE_JSON_MAX_BYTES + 1, &d),
                    SLATE_ERR_TOO_LARGE);
    CU_ASSERT_EQUAL(slate_profile_set_load_json(NULL, "{}", 2, &d), SLATE_ERR_INVALID_ARG);
    char *final = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_to_json(s, 0, &final), SLATE_OK);
    CU_ASSERT_STRING_EQUAL(final, orig);
    free(final);
    free(orig);
    slate_diag_cleanup(&d);
    slate_profile_set_free(s);
    slate_topology_free(t);
}

static void test_set_round_trip(void)
{
    slate_topology *t = load_topo();
    slate_profile_set *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &a), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(slate_profile_set_new(t, &b), SLATE_OK);
    CU_ASSERT_EQUAL_FATAL(
        slate_profile_set_load_json(a, GOOD_PROFILES, strlen(GOOD_PROFILES), NULL), SLATE_OK);
    /* Numbers that need all 17 digits survive. */
    slate_profile odd;
    slate_profile_init_mm1(&odd, 0.1 + 0.2, 1.0 / 3.0, 800 * (1 - 1e-15));
    CU_ASSERT_EQUAL(slate_profile_set_put(a, 0, 0, &odd), SLATE_OK);
    for (int pretty = 0; pretty <= 1; pretty++) {
        char *text = NULL;
        CU_ASSERT_EQUAL_FATAL(slate_profile_set_to_json(a, pretty, &text), SLATE_OK);
        slate_diag d;
        slate_diag_init(&d);
        int rv = slate_profile_set_load_json(b, text, strlen(text), &d);
        if (rv != SLATE_OK)
            slate_diag_print(&d, stderr);
        CU_ASSERT_EQUAL(rv, SLATE_OK);
        slate_diag_cleanup(&d);
        for (int sv = 0; sv < 2; sv++)
            for (int c = 0; c < 2; c++) {
                const slate_profile *pa = slate_profile_set_get(a, sv, c);
                const slate_profile *pb = slate_profile_set_get(b, sv, c);
                CU_ASSERT((pa == NULL) == (pb == NULL));
                if (pa && pb)
                    CU_ASSERT(profile_equal(pa, pb));
            }
        free(text);
    }
    /* One profile on its own. */
    char *one = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_profile_to_json(slate_profile_set_get(a, 1, 0), 0, &one), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "\"form\":\"points\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(one, "[270,9.75]"));
    CU_ASSERT_PTR_NULL(strstr(one, "t0_ms")); /* derived for points */
    free(one);
    odd.mu_rps = -1;
    CU_ASSERT_EQUAL(slate_profile_to_json(&odd, 0, &one), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_profile_set_to_json(NULL, 0, &one), SLATE_ERR_INVALID_ARG);
    slate_profile_set_free(a);
    slate_profile_set_free(b);
    slate_topology_free(t);
}

/* One test per line reads better than clang-format's bin-packed pairs. */
/* clang-format off */
static CU_TestInfo profile_tests[] = {
    {"mm1 values", test_mm1_values},
    {"poly values", test_poly_values},
    {"points hull", test_points_hull},
    {"validate", test_validate},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo pwl_tests[] = {
    {"mm1", test_pwl_mm1},
    {"poly", test_pwl_poly},
    {"points", test_pwl_points},
    {"extreme scales", test_pwl_scales},
    {"arguments", test_pwl_args},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fit_tests[] = {
    {"mm1 from noisy samples", test_fit_mm1_noisy},
    {"poly from noisy samples", test_fit_poly_noisy},
    {"exact recovery", test_fit_exact},
    {"non-negative", test_fit_nonnegative},
    {"weights", test_fit_weights},
    {"bad samples skipped", test_fit_bad_samples},
    {"insufficient", test_fit_insufficient},
    {"samples above mu", test_fit_above_mu},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo set_tests[] = {
    {"defaults", test_set_defaults},
    {"put and get", test_set_put_get},
    {"load json", test_set_load_json},
    {"load errors", test_set_load_errors},
    {"round trip", test_set_round_trip},
    CU_TEST_INFO_NULL,
};
/* clang-format on */

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "profile",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = profile_tests},
    {.pName = "pwl",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = pwl_tests},
    {.pName = "fit",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = fit_tests},
    {.pName = "set",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = set_tests},
    CU_SUITE_INFO_NULL,
};
