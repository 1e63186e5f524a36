/*
 * Declarations shared inside the profiles module only.
 */
#ifndef SLATE_PROFILES_PROFILES_INT_H
#define SLATE_PROFILES_PROFILES_INT_H

#include "common/diag.h"
#include "common/json.h"
#include "profiles/profiles.h"

/*
 * The lower convex, non-decreasing hull of a POINTS profile, as the function
 * g(rho) it describes:
 *   rho <= x[0]:           g = y[0]   (flat: a non-decreasing function cannot
 *                                      be lower to the left of its minimum)
 *   x[j-1] <= rho <= x[j]: linear between (x[j-1], y[j-1]) and (x[j], y[j])
 *   rho >= x[n-1]:         y[n-1] + last_slope * (rho - x[n-1])
 * x[0] is the rightmost point of least latency, every slope is > 0 and
 * increasing, and last_slope is the slope of the last hull segment (0 when
 * the hull has one point). t0 of the profile is g(0) = y[0].
 */
typedef struct points_hull {
    int n;
    double x[SLATE_PROFILE_MAX_POINTS];
    double y[SLATE_PROFILE_MAX_POINTS];
    double last_slope;
} points_hull;

/* Builds the hull of |p| (form POINTS, n_pts >= 1, loads ascending). */
void points_hull_build(const slate_profile *p, points_hull *h);

/* Returns g(|rho|) for |rho| >= 0. */
double points_hull_eval(const points_hull *h, double rho);

/*
 * Checks every field of |p| and records each problem in |d| at the field's
 * path under |path| (e.g. "profiles[3].mu_rps"). Returns the number of
 * problems found (0 when valid).
 */
int profile_check(const slate_profile *p, slate_jpath *path, slate_diag *d);

/*
 * Returns a copy of |p| with every field the form does not use zeroed and,
 * for POINTS, t0_ms set to the hull's value at 0, so two profiles that
 * describe the same curve compare equal field by field.
 */
slate_profile profile_canonical(const slate_profile *p);

#endif
