/*
 * Latency profiles: validation and evaluation of the three forms.
 *
 * POINTS input need not be convex: the curve used is the lower convex,
 * non-decreasing hull of the points (the largest convex, non-decreasing
 * function that lies on or below every point). It is flat to the left of
 * the rightmost point of least latency, because a non-decreasing curve
 * cannot be lower there, which also gives its value at load 0 (the t0 of
 * the profile) when no point sits at 0. Beyond the last hull point it
 * continues with the last hull slope. Loads must be strictly ascending in
 * the input: a duplicate load is more likely a mistake than a measurement,
 * and refusing it keeps the hull well defined.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "profiles/profiles.h"
#include "profiles/profiles_int.h"

void slate_profile_init_mm1(slate_profile *p, double t0_ms, double k_ms, double mu_rps)
{
    memset(p, 0, sizeof(*p));
    p->form = SLATE_PROFILE_MM1;
    p->t0_ms = t0_ms;
    p->k_ms = k_ms;
    p->mu_rps = mu_rps;
}

/* ---- validation ---- */

/* Records a problem at |path|.|key| (or at |path| when |key| is NULL). */
__attribute__((format(printf, 4, 5))) static void problem(slate_jpath *path, slate_diag *d,
                                                          const char *key, const char *fmt, ...)
{
    size_t mark = key ? slate_jpath_push_key(path, key) : path->len;
    char msg[SLATE_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    slate_diag_add(d, SLATE_ERR_PROFILE_INVALID, path->buf, "%s", msg);
    slate_jpath_pop(path, mark);
}

/* Returns 1 when |v| is finite and within [lo, hi]. */
static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

static int check_ms(slate_jpath *path, slate_diag *d, const char *key, double v)
{
    if (in_range(v, 0, SLATE_PROFILE_MAX_MS))
        return 0;
    problem(path, d, key, "%g ms must be finite and in [0, %g]", v, SLATE_PROFILE_MAX_MS);
    return 1;
}

static int check_poly(const slate_profile *p, slate_jpath *path, slate_diag *d)
{
    int bad = check_ms(path, d, "t0_ms", p->t0_ms);
    if (p->degree < 1 || p->degree > SLATE_PROFILE_MAX_DEGREE) {
        problem(path, d, "coef", "degree %d is out of range [1, %d]", p->degree,
                SLATE_PROFILE_MAX_DEGREE);
        return bad + 1;
    }
    size_t mark = slate_jpath_push_key(path, "coef");
    for (int i = 0; i < p->degree; i++) {
        size_t m = slate_jpath_push_index(path, (size_t)i);
        if (!in_range(p->coef[i], 0, SLATE_PROFILE_MAX_MS)) {
            problem(path, d, NULL, "coefficient %g must be finite and in [0, %g]", p->coef[i],
                    SLATE_PROFILE_MAX_MS);
            bad++;
        }
        slate_jpath_pop(path, m);
    }
    slate_jpath_pop(path, mark);
    return bad;
}

static int check_points(const slate_profile *p, slate_jpath *path, slate_diag *d)
{
    if (p->n_pts < 1 || p->n_pts > SLATE_PROFILE_MAX_POINTS) {
        problem(path, d, "points", "has %d points, must have 1 to %d", p->n_pts,
                SLATE_PROFILE_MAX_POINTS);
        return 1;
    }
    int bad = 0;
    size_t mark = slate_jpath_push_key(path, "points");
    for (int i = 0; i < p->n_pts; i++) {
        size_t m = slate_jpath_push_index(path, (size_t)i);
        double x = p->pts_load[i], y = p->pts_latency[i];
        if (!in_range(x, 0, SLATE_TOPO_MAX_RPS)) {
            problem(path, d, NULL, "load %g must be finite and in [0, %g]", x, SLATE_TOPO_MAX_RPS);
            bad++;
        } else if (i > 0 && !(x > p->pts_load[i - 1])) {
            problem(path, d, NULL, "load %g must be greater than the previous load %g", x,
                    p->pts_load[i - 1]);
            bad++;
        }
        if (!in_range(y, 0, SLATE_PROFILE_MAX_MS)) {
            problem(path, d, NULL, "latency %g ms must be finite and in [0, %g]", y,
                    SLATE_PROFILE_MAX_MS);
            bad++;
        }
        slate_jpath_pop(path, m);
    }
    slate_jpath_pop(path, mark);
    return bad;
}

int profile_check(const slate_profile *p, slate_jpath *path, slate_diag *d)
{
    int bad = 0;
    if (!(p->mu_rps > 0 && p->mu_rps <= SLATE_TOPO_MAX_RPS)) { /* also refuses NaN */
        problem(path, d, "mu_rps", "%g must be finite and in (0, %g]", p->mu_rps,
                SLATE_TOPO_MAX_RPS);
        bad++;
    }
    switch (p->form) {
    case SLATE_PROFILE_MM1:
        bad += check_ms(path, d, "t0_ms", p->t0_ms);
        bad += check_ms(path, d, "k_ms", p->k_ms);
        break;
    case SLATE_PROFILE_POLY:
        bad += check_poly(p, path, d);
        break;
    case SLATE_PROFILE_POINTS:
        bad += check_points(p, path, d);
        break;
    default:
        problem(path, d, "form", "unknown form %d", (int)p->form);
        bad++;
    }
    return bad;
}

int slate_profile_validate(const slate_profile *p, slate_diag *diag)
{
    if (p == NULL) {
        slate_diag_add(diag, SLATE_ERR_PROFILE_INVALID, NULL, "no profile");
        return SLATE_ERR_PROFILE_INVALID;
    }
    slate_jpath path;
    slate_jpath_init(&path);
    return profile_check(p, &path, diag) ? SLATE_ERR_PROFILE_INVALID : SLATE_OK;
}

/* ---- the POINTS hull ---- */

void points_hull_build(const slate_profile *p, points_hull *h)
{
    int n = p->n_pts;
    /* Start at the rightmost point of least latency: every point before it
     * is at or above it and so cannot lower a non-decreasing curve. */
    int first = 0;
    for (int i = 1; i < n; i++)
        if (p->pts_latency[i] <= p->pts_latency[first])
            first = i;
    /* Andrew's monotone chain, lower half: pop the last hull point while it
     * lies on or above the segment from its predecessor to the new point. */
    h->n = 0;
    for (int i = first; i < n; i++) {
        double x = p->pts_load[i], y = p->pts_latency[i];
        while (h->n >= 2) {
            double x1 = h->x[h->n - 2], y1 = h->y[h->n - 2];
            double x2 = h->x[h->n - 1], y2 = h->y[h->n - 1];
            /* Cross product of (p2 - p1) and (p - p1) <= 0: p2 is not below. */
            if ((x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) > 0)
                break;
            h->n--;
        }
        h->x[h->n] = x;
        h->y[h->n] = y;
        h->n++;
    }
    h->last_slope = 0;
    if (h->n >= 2)
        h->last_slope = (h->y[h->n - 1] - h->y[h->n - 2]) / (h->x[h->n - 1] - h->x[h->n - 2]);
}

double points_hull_eval(const points_hull *h, double rho)
{
    if (rho <= h->x[0])
        return h->y[0];
    if (rho >= h->x[h->n - 1])
        return h->y[h->n - 1] + h->last_slope * (rho - h->x[h->n - 1]);
    /* Binary search for the segment: x[lo] < rho <= x[hi], hi = lo + 1. */
    int lo = 0, hi = h->n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (rho <= h->x[mid])
            hi = mid;
        else
            lo = mid;
    }
    double s = (h->y[hi] - h->y[lo]) / (h->x[hi] - h->x[lo]);
    return h->y[lo] + s * (rho - h->x[lo]);
}

/* ---- evaluation ---- */

/* q for POLY by Horner's rule: rho * (c0 + rho * (c1 + ...)). */
static double poly_queueing(const slate_profile *p, double rho)
{
    int deg = p->degree;
    if (deg < 1 || deg > SLATE_PROFILE_MAX_DEGREE)
        return NAN;
    double acc = 0;
    for (int i = deg - 1; i >= 0; i--)
        acc = acc * rho + p->coef[i];
    return acc * rho;
}

double slate_profile_queueing(const slate_profile *p, double rho)
{
    if (isnan(rho))
        return NAN;
    if (rho < 0)
        rho = 0;
    switch (p->form) {
    case SLATE_PROFILE_MM1:
        if (rho >= p->mu_rps)
            return INFINITY;
        return p->k_ms * rho / (p->mu_rps - rho);
    case SLATE_PROFILE_POLY:
        return poly_queueing(p, rho);
    case SLATE_PROFILE_POINTS: {
        if (p->n_pts < 1 || p->n_pts > SLATE_PROFILE_MAX_POINTS)
            return NAN;
        points_hull h;
        points_hull_build(p, &h);
        return points_hull_eval(&h, rho) - h.y[0];
    }
    }
    return NAN;
}

double slate_profile_t0(const slate_profile *p)
{
    if (p->form != SLATE_PROFILE_POINTS)
        return p->t0_ms;
    if (p->n_pts < 1 || p->n_pts > SLATE_PROFILE_MAX_POINTS)
        return NAN;
    points_hull h;
    points_hull_build(p, &h);
    return h.y[0];
}

double slate_profile_latency(const slate_profile *p, double rho)
{
    if (p->form == SLATE_PROFILE_POINTS) {
        /* One hull build: g(rho) itself, not t0 + (g(rho) - g(0)). */
        if (isnan(rho) || p->n_pts < 1 || p->n_pts > SLATE_PROFILE_MAX_POINTS)
            return NAN;
        points_hull h;
        points_hull_build(p, &h);
        return points_hull_eval(&h, rho < 0 ? 0 : rho);
    }
    return p->t0_ms + slate_profile_queueing(p, rho);
}

/* |p| has passed profile_check, so degree and n_pts are in range. */
slate_profile profile_canonical(const slate_profile *p)
{
    slate_profile c;
    memset(&c, 0, sizeof(c));
    c.form = p->form;
    c.mu_rps = p->mu_rps;
    switch (p->form) {
    case SLATE_PROFILE_MM1:
        c.t0_ms = p->t0_ms;
        c.k_ms = p->k_ms;
        break;
    case SLATE_PROFILE_POLY:
        c.t0_ms = p->t0_ms;
        c.degree = p->degree;
        memcpy(c.coef, p->coef, (size_t)p->degree * sizeof(c.coef[0]));
        break;
    case SLATE_PROFILE_POINTS:
        c.n_pts = p->n_pts;
        memcpy(c.pts_load, p->pts_load, (size_t)p->n_pts * sizeof(c.pts_load[0]));
        memcpy(c.pts_latency, p->pts_latency, (size_t)p->n_pts * sizeof(c.pts_latency[0]));
        c.t0_ms = slate_profile_t0(p);
        break;
    }
    return c;
}
