/*
 * Convex piecewise-linear over-approximation of f(rho) = rho * q(rho), the
 * queueing delay per second that the LP's epigraph constraints model.
 *
 * The pieces are the chords (secants) of f between breakpoints
 * 0 = b_0 < b_1 < ... < b_n = x_max. Because f is convex, the chord of
 * [b_i, b_i+1] lies on or above f inside its interval and on or below f
 * outside it, so the max of all chords equals the own chord on every
 * interval: it is exact at the breakpoints, never below f on [0, x_max], and
 * the chord slopes increase. f(0) = 0, so the first chord passes through the
 * origin and every other chord's intercept is <= 0.
 *
 * Breakpoints: the chord error of one interval, e(a, b) = max over [a, b] of
 * chord - f, grows with b. For a target error E a greedy pass takes from
 * each a the largest b with e(a, b) <= E; a bisection on E (geometric, as E
 * spans orders of magnitude) finds the smallest E for which the greedy pass
 * needs at most n_segments intervals. Every interval but the last then has
 * the same error, which is what the minimax placement needs. Uniform spacing
 * would waste pieces for M/M/1, whose f bends ever faster towards mu.
 *
 * e(a, b) is computed exactly rather than sampled: chord - f is concave on
 * the interval, so its maximum is where f' equals the chord slope m, which
 * has a closed form for M/M/1 and for POINTS (f is piecewise quadratic
 * there), and is found by safeguarded Newton for POLY.
 *
 * The a-priori bound, per interval [a, b] with alpha = f'(a+), beta = f'(b-):
 *  - any convex f: chord - f <= (m - alpha)(x - a) and <= (beta - m)(b - x)
 *    (f lies above its tangents at a and b), so the error is at most
 *    (b - a)(m - alpha)(beta - m) / (beta - alpha) <= (b - a)(beta - alpha)/4;
 *  - f twice differentiable on [a, b] (M/M/1, POLY, and POINTS inside one
 *    hull segment): at most (b - a)^2 / 8 * max f'' on [a, b], and f'' is
 *    increasing for M/M/1 (2 k mu^2 / (mu - x)^3) and POLY (non-negative
 *    coefficients), so the max is f''(b).
 * The smaller of the two applies; the overall bound is the largest over the
 * intervals plus an allowance for floating-point rounding in evaluating the
 * pieces. max_error is measured on the finished pieces (through
 * slate_pwl_eval) at the maximiser of each interval and on a dense grid.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "profiles/profiles.h"
#include "profiles/profiles_int.h"

/* Grid points per interval at which max_error is also sampled. */
#define SAMPLES_PER_SEGMENT 32
/* Bisection on E stops when hi / lo is below this. */
#define TARGET_RATIO 1.0005
/* Bisection on a breakpoint stops at this fraction of x_max. */
#define BREAKPOINT_TOL 1e-10

/* f and its derivatives for one profile, with the POINTS hull built once. */
typedef struct curve {
    const slate_profile *p;
    points_hull hull; /* POINTS only */
    double t0;        /* POINTS: g(0) */
} curve;

/*
 * POINTS: piece |j| of g, for j in 0..hull.n: piece 0 is the flat part
 * [0, x[0]], piece j the hull segment [x[j-1], x[j]], piece n the extension
 * [x[n-1], inf). On a piece g = A + s * rho, so f = (A - t0) rho + s rho^2.
 */
static void points_piece(const curve *c, int j, double *lo, double *hi, double *A, double *s)
{
    const points_hull *h = &c->hull;
    if (j == 0) {
        *lo = 0;
        *hi = h->x[0];
        *s = 0;
        *A = h->y[0];
    } else if (j < h->n) {
        *lo = h->x[j - 1];
        *hi = h->x[j];
        *s = (h->y[j] - h->y[j - 1]) / (h->x[j] - h->x[j - 1]);
        *A = h->y[j - 1] - *s * h->x[j - 1];
    } else {
        *lo = h->x[h->n - 1];
        *hi = INFINITY;
        *s = h->last_slope;
        *A = h->y[h->n - 1] - *s * h->x[h->n - 1];
    }
}

static double f_eval(const curve *c, double x)
{
    if (c->p->form == SLATE_PROFILE_POINTS)
        return x * (points_hull_eval(&c->hull, x) - c->t0);
    return x * slate_profile_queueing(c->p, x);
}

/* f' for MM1 and POLY (differentiable on [0, mu) and everywhere). */
static double f_prime_smooth(const slate_profile *p, double x)
{
    if (p->form == SLATE_PROFILE_MM1) {
        double r = p->mu_rps / (p->mu_rps - x);
        return p->k_ms * (r * r - 1);
    }
    /* f = sum coef[i] x^(i+2), f' = sum (i+2) coef[i] x^(i+1) */
    double acc = 0;
    for (int i = p->degree - 1; i >= 0; i--)
        acc = acc * x + (i + 2) * p->coef[i];
    return acc * x;
}

/* f'' for MM1 and POLY; both increase with x. */
static double f_second_smooth(const slate_profile *p, double x)
{
    if (p->form == SLATE_PROFILE_MM1) {
        double d = p->mu_rps - x;
        return 2 * p->k_ms * p->mu_rps * p->mu_rps / (d * d * d);
    }
    double acc = 0;
    for (int i = p->degree - 1; i >= 0; i--)
        acc = acc * x + (double)((i + 2) * (i + 1)) * p->coef[i];
    return acc;
}

/* One-sided derivative of f at |x|: from the right when |right|, else left. */
static double f_prime(const curve *c, double x, int right)
{
    if (c->p->form != SLATE_PROFILE_POINTS)
        return f_prime_smooth(c->p, x);
    for (int j = 0; j <= c->hull.n; j++) {
        double lo, hi, A, s;
        points_piece(c, j, &lo, &hi, &A, &s);
        if (right ? (x >= lo && x < hi) : (x > lo && x <= hi))
            return (A - c->t0) + 2 * s * x;
    }
    return 0; /* x = 0 from the left: f is 0 there */
}

/* The chord of f over [a, b]. */
typedef struct chord {
    double a, fa, m;
} chord;

static chord chord_of(const curve *c, double a, double b)
{
    chord ch = {a, f_eval(c, a), 0};
    ch.m = (f_eval(c, b) - ch.fa) / (b - a);
    return ch;
}

static double chord_gap(const curve *c, const chord *ch, double x)
{
    return ch->fa + ch->m * (x - ch->a) - f_eval(c, x);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* POLY: the x in [a, b] where f'(x) = m, by Newton kept inside a shrinking
 * bracket (f' is increasing, f'(a) <= m <= f'(b) by the mean value theorem). */
static double poly_crossing(const slate_profile *p, double a, double b, double m)
{
    double lo = a, hi = b, x = 0.5 * (a + b);
    for (int it = 0; it < 100 && hi - lo > 1e-14 * b; it++) {
        double g = f_prime_smooth(p, x) - m;
        if (g == 0)
            return x;
        if (g < 0)
            lo = x;
        else
            hi = x;
        double d2 = f_second_smooth(p, x);
        double nx = d2 > 0 ? x - g / d2 : 0.5 * (lo + hi);
        if (!(nx > lo && nx < hi)) /* Newton left the bracket: bisect */
            nx = 0.5 * (lo + hi);
        x = nx;
    }
    return x;
}

/* Returns e(a, b) = max over [a, b] of chord - f (>= 0), and the maximiser
 * in |*where| when not NULL. */
static double seg_error(const curve *c, double a, double b, double *where)
{
    chord ch = chord_of(c, a, b);
    const slate_profile *p = c->p;
    double best_x = a, best = 0;
    if (p->form == SLATE_PROFILE_MM1) {
        if (p->k_ms > 0) {
            /* k (mu^2 / (mu - x)^2 - 1) = m */
            double x = p->mu_rps * (1 - sqrt(p->k_ms / (ch.m + p->k_ms)));
            best_x = clamp(x, a, b);
            best = chord_gap(c, &ch, best_x);
        }
    } else if (p->form == SLATE_PROFILE_POLY) {
        best_x = poly_crossing(p, a, b, ch.m);
        best = chord_gap(c, &ch, best_x);
    } else {
        /* On each hull piece f is quadratic: its stationary point of
         * chord - f, or an end of the piece, is the piece's maximiser. */
        for (int j = 0; j <= c->hull.n; j++) {
            double lo, hi, A, s;
            points_piece(c, j, &lo, &hi, &A, &s);
            if (hi <= a || lo >= b)
                continue;
            lo = lo < a ? a : lo;
            hi = hi > b ? b : hi;
            double cand[3] = {lo, hi, s > 0 ? clamp((ch.m - (A - c->t0)) / (2 * s), lo, hi) : lo};
            for (int k = 0; k < 3; k++) {
                double e = chord_gap(c, &ch, cand[k]);
                if (e > best) {
                    best = e;
                    best_x = cand[k];
                }
            }
        }
    }
    if (where)
        *where = best_x;
    return best > 0 ? best : 0;
}

/* The a-priori bound on e(a, b) described in the file comment. */
static double seg_bound(const curve *c, double a, double b)
{
    chord ch = chord_of(c, a, b);
    double alpha = f_prime(c, a, 1), beta = f_prime(c, b, 0);
    double bound = 0;
    if (beta > alpha) {
        double u = ch.m - alpha, v = beta - ch.m;
        u = u > 0 ? u : 0;
        v = v > 0 ? v : 0;
        bound = (b - a) * u * (v / (beta - alpha)); /* v/(beta-alpha) <= 1: no underflow */
    }
    double f2 = NAN;
    if (c->p->form != SLATE_PROFILE_POINTS) {
        f2 = f_second_smooth(c->p, b);
    } else {
        /* Only inside one hull piece (no kink in (a, b)) is f smooth. */
        for (int j = 0; j <= c->hull.n; j++) {
            double lo, hi, A, s;
            points_piece(c, j, &lo, &hi, &A, &s);
            if (lo <= a && b <= hi)
                f2 = 2 * s;
        }
    }
    if (isfinite(f2)) {
        double smooth = (b - a) * (b - a) / 8 * f2;
        if (smooth < bound)
            bound = smooth;
    }
    return bound;
}

/*
 * The greedy pass for target error |E|: fills |bp| with the breakpoints
 * (bp[0] = 0, bp[n] = x_max) and returns n, or -1 when more than |max_n|
 * intervals would be needed (or E is below what rounding can resolve).
 */
static int place_breakpoints(const curve *c, double x_max, double E, int max_n, double *bp)
{
    int n = 0;
    double a = 0;
    bp[0] = 0;
    while (a < x_max) {
        if (n == max_n)
            return -1;
        double b;
        if (seg_error(c, a, x_max, NULL) <= E) {
            b = x_max;
        } else {
            double lo = a, hi = x_max;
            /* Bounded also by count: at subnormal scales the tolerance
             * underflows to 0 and the midpoint stops moving. */
            for (int it = 0; it < 200 && hi - lo > BREAKPOINT_TOL * x_max; it++) {
                double mid = 0.5 * (lo + hi);
                if (!(mid > lo && mid < hi))
                    break;
                if (seg_error(c, a, mid, NULL) <= E)
                    lo = mid;
                else
                    hi = mid;
            }
            b = lo;
            if (!(b > a))
                return -1;
        }
        bp[++n] = b;
        a = b;
    }
    return n;
}

/* Fills |out| with the chords over the breakpoints |bp|[0..n]. */
static void build_pieces(const curve *c, const double *bp, int n, double x_max, slate_pwl *out)
{
    memset(out, 0, sizeof(*out));
    out->n = n;
    out->x_max = x_max;
    for (int i = 0; i < n; i++) {
        chord ch = chord_of(c, bp[i], bp[i + 1]);
        double slope = ch.m;
        /* Rounding may break the exact facts (increasing slopes, intercepts
         * <= 0 after the first); restore them, moving by a few ulps at most. */
        if (i > 0 && slope < out->slope[i - 1])
            slope = out->slope[i - 1];
        double icpt = ch.fa - slope * ch.a;
        if (i == 0 || icpt > 0)
            icpt = 0;
        out->slope[i] = slope;
        out->intercept[i] = icpt;
    }
}

double slate_pwl_eval(const slate_pwl *pwl, double x)
{
    double v = -INFINITY;
    for (int i = 0; i < pwl->n; i++) {
        double y = pwl->slope[i] * x + pwl->intercept[i];
        if (y > v)
            v = y;
    }
    return v;
}

/* Measures max |pwl - f| over each interval's maximiser and a dense grid. */
static double measure_error(const curve *c, const double *bp, const slate_pwl *pwl)
{
    double worst = 0;
    for (int i = 0; i < pwl->n; i++) {
        double a = bp[i], b = bp[i + 1], at;
        seg_error(c, a, b, &at);
        double e = fabs(slate_pwl_eval(pwl, at) - f_eval(c, at));
        worst = e > worst ? e : worst;
        for (int k = 0; k <= SAMPLES_PER_SEGMENT; k++) {
            double x = a + (b - a) * k / SAMPLES_PER_SEGMENT;
            e = fabs(slate_pwl_eval(pwl, x) - f_eval(c, x));
            worst = e > worst ? e : worst;
        }
    }
    return worst;
}

int slate_profile_pwl(const slate_profile *p, double u_max, int n_segments, slate_pwl *out)
{
    if (p == NULL || out == NULL || slate_profile_validate(p, NULL) != SLATE_OK)
        return SLATE_ERR_INVALID_ARG;
    int u_ok = p->form == SLATE_PROFILE_MM1 ? (u_max > 0 && u_max < 1) : (u_max > 0 && u_max <= 10);
    if (!u_ok || n_segments < 1 || n_segments > SLATE_PWL_MAX_SEGMENTS)
        return SLATE_ERR_INVALID_ARG;

    curve c;
    c.p = p;
    c.t0 = 0;
    if (p->form == SLATE_PROFILE_POINTS) {
        points_hull_build(p, &c.hull);
        c.t0 = c.hull.y[0];
    }
    double x_max = u_max * p->mu_rps;
    double bp[SLATE_PWL_MAX_SEGMENTS + 1];
    int n;

    double e1 = seg_error(&c, 0, x_max, NULL);
    double f_max = f_eval(&c, x_max);
    if (n_segments == 1 || !(e1 > 1e-15 * f_max)) {
        /* One chord is enough (or all that was asked for). */
        bp[0] = 0;
        bp[1] = x_max;
        n = 1;
    } else {
        /* Bracket the smallest feasible E, starting from the n^-2 law that
         * chord errors follow for smooth f, then bisect geometrically. */
        double hi = e1, lo = e1 / ((double)n_segments * n_segments);
        while (lo > 1e-14 * e1 && place_breakpoints(&c, x_max, lo, n_segments, bp) > 0) {
            hi = lo;
            lo /= 4;
        }
        for (int it = 0; it < 100 && lo > 0 && hi / lo > TARGET_RATIO; it++) {
            double mid = sqrt(lo) * sqrt(hi); /* no under- or overflow */
            if (place_breakpoints(&c, x_max, mid, n_segments, bp) > 0)
                hi = mid;
            else
                lo = mid;
        }
        n = place_breakpoints(&c, x_max, hi, n_segments, bp);
        if (n < 1) { /* cannot happen for hi feasible; stay safe */
            bp[0] = 0;
            bp[1] = x_max;
            n = 1;
        }
    }

    slate_pwl pwl;
    build_pieces(&c, bp, n, x_max, &pwl);
    double bound = 0, slope_max = 0;
    for (int i = 0; i < n; i++) {
        double b = seg_bound(&c, bp[i], bp[i + 1]);
        bound = b > bound ? b : bound;
        slope_max = fabs(pwl.slope[i]) > slope_max ? fabs(pwl.slope[i]) : slope_max;
    }
    /* Evaluating slope * x + intercept and f itself rounds at the scale of
     * the largest terms involved. */
    bound += 64 * DBL_EPSILON * (fabs(f_max) + slope_max * x_max);
    pwl.bound = bound;
    pwl.max_error = measure_error(&c, bp, &pwl);
    *out = pwl;
    return SLATE_OK;
}
