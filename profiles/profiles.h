/*
 * Load -> latency profiles per (service, cluster) (DESIGN.md section 4).
 *
 * latency(rho) = t0 + q(rho), in ms, where rho is the load in work units per
 * second (RPS weighted by each call's relative work), t0 the unloaded time of
 * one work unit and q a convex, non-decreasing queueing term with q(0) = 0.
 *
 * Forms:
 *   SLATE_PROFILE_MM1     q = k * rho / (mu - rho); +inf at rho >= mu
 *   SLATE_PROFILE_POLY    q = sum_{i=1..degree} coef[i-1] * rho^i, coef >= 0
 *   SLATE_PROFILE_POINTS  explicit (load, latency) points; the lower convex,
 *                         non-decreasing hull is taken; linear between hull
 *                         points, extended with the last slope beyond them
 *
 * For the LP, slate_profile_pwl() returns a convex piecewise-linear
 * over-approximation of f(rho) = rho * q(rho) (total queueing delay per
 * second, ms*work/s) on [0, u_max * mu] as the max of affine pieces, with the
 * measured maximum approximation error.
 *
 * JSON form of one profile (used by slate_profile_set_load_json/to_json):
 *   {"service": "cart", "cluster": "us-west", "form": "mm1",
 *    "t0_ms": 1.25, "k_ms": 1.25, "mu_rps": 800}
 *   {"service": ..., "cluster": ..., "form": "poly", "t0_ms": 1.0,
 *    "mu_rps": 800, "coef": [0.001, 0.00002]}
 *   {"service": ..., "cluster": ..., "form": "points", "mu_rps": 800,
 *    "points": [[0, 1.0], [400, 1.5], [700, 4.0]]}
 * A profile-set document is {"profiles": [ ... ]}. "mu_rps" may be omitted
 * and then defaults to the deployment's capacity_rps. For "points" the loads
 * must be strictly ascending and t0 is not given: it is the hull's value at 0.
 */
#ifndef SLATE_PROFILES_PROFILES_H
#define SLATE_PROFILES_PROFILES_H

#include <stddef.h>

#include "common/diag.h"
#include "topology/topology.h"

#define SLATE_PROFILE_MAX_DEGREE 4  /* poly: highest power of rho */
#define SLATE_PROFILE_MAX_POINTS 64 /* points form */
#define SLATE_PWL_MAX_SEGMENTS   64
#define SLATE_PROFILE_MAX_MS     1e9 /* bound on t0_ms, k_ms, coef[] and point latencies */
/* mu_rps and point loads are bounded by SLATE_TOPO_MAX_RPS. */

typedef enum slate_profile_form {
    SLATE_PROFILE_MM1 = 0,
    SLATE_PROFILE_POLY = 1,
    SLATE_PROFILE_POINTS = 2
} slate_profile_form;

/* A value type: copy it freely, it owns no memory. */
typedef struct slate_profile {
    slate_profile_form form;
    double t0_ms;  /* unloaded latency of one work unit, ms, >= 0 */
    double mu_rps; /* saturation load, work units/s, > 0 (all forms) */
    double k_ms;   /* MM1: scale of the queueing term, ms, >= 0 */
    double coef[SLATE_PROFILE_MAX_DEGREE]; /* POLY: coef[i] multiplies rho^(i+1) */
    int degree;                            /* POLY: 1..SLATE_PROFILE_MAX_DEGREE */
    /* POINTS: loads strictly ascending. t0_ms is derived (the hull's value at
     * load 0): slate_profile_set_put() and the JSON loader store it, and
     * slate_profile_latency() ignores the field. */
    double pts_load[SLATE_PROFILE_MAX_POINTS];   /* POINTS: work units/s, ascending */
    double pts_latency[SLATE_PROFILE_MAX_POINTS]; /* POINTS: ms */
    int n_pts;
} slate_profile;

/*
 * Fills |p| with the M/M/1-like default for a deployment of |capacity_rps|
 * and unloaded time |service_time_ms|: t0 = k = service_time_ms,
 * mu = capacity_rps.
 */
void slate_profile_init_mm1(slate_profile *p, double t0_ms, double k_ms, double mu_rps);

/* Checks |p|'s fields (ranges, convexity of POINTS input is not required).
 * Returns SLATE_OK or SLATE_ERR_PROFILE_INVALID with a message in |diag|. */
int slate_profile_validate(const slate_profile *p, slate_diag *diag);

/* Returns latency in ms at load |rho| (work units/s, >= 0; a negative load
 * counts as 0, NaN gives NaN); may be +inf. */
double slate_profile_latency(const slate_profile *p, double rho);

/* Returns the queueing term q(rho) in ms; 0 at rho = 0; may be +inf. */
double slate_profile_queueing(const slate_profile *p, double rho);

/* Returns the unloaded latency latency(0) in ms: t0_ms, or for POINTS the
 * hull's value at load 0 whatever the t0_ms field holds. */
double slate_profile_t0(const slate_profile *p);

/* The convex piecewise-linear over-approximation of rho * q(rho). */
typedef struct slate_pwl {
    int n;                                /* pieces, 1..SLATE_PWL_MAX_SEGMENTS */
    double slope[SLATE_PWL_MAX_SEGMENTS]; /* ms per (work/s), non-decreasing */
    double intercept[SLATE_PWL_MAX_SEGMENTS];
    double x_max;     /* the range covered: [0, x_max] work units/s */
    double max_error; /* measured max |pwl - f| on [0, x_max], ms*work/s */
    double bound;     /* the a-priori bound max_error is guaranteed not to exceed */
} slate_pwl;

/*
 * Approximates f(rho) = rho * q(rho) on [0, u_max * mu] with at most
 * |n_segments| affine pieces whose max is >= f (exact at the breakpoints).
 * Breakpoints are placed where f bends most, so error is spread evenly.
 * |u_max| is in (0, 1) for MM1 (f is unbounded at mu), (0, 10] otherwise.
 * Returns SLATE_OK or SLATE_ERR_INVALID_ARG.
 */
int slate_profile_pwl(const slate_profile *p, double u_max, int n_segments, slate_pwl *out);

/* Evaluates max_i(slope_i * x + intercept_i). */
double slate_pwl_eval(const slate_pwl *pwl, double x);

/*
 * Fits a profile to |n| samples (load |rho| in work units/s, mean latency
 * |lat| in ms, weight |w| >= 0 such as the number of requests behind the
 * sample; |w| may be NULL for equal weights). Tries the POLY form (degree 1..
 * |max_degree|) and the MM1 form (with the given |mu_rps|) by non-negative
 * least squares, so the result is monotone and convex by construction, and
 * keeps the one with the least weighted squared error. |mu_rps| is kept in
 * the result. The least squared error is penalised per parameter (BIC-like)
 * so noise does not pick a higher degree; samples with a NaN, infinite or
 * negative value or a zero weight are skipped, as are samples at rho >= mu
 * for the MM1 form (profile_fit.c says why). Returns SLATE_OK,
 * SLATE_ERR_INVALID_ARG (NULL arrays, out NULL, mu_rps not in
 * (0, SLATE_TOPO_MAX_RPS], max_degree not in 1..SLATE_PROFILE_MAX_DEGREE) or
 * SLATE_ERR_FIT_INSUFFICIENT (fewer than 2 usable samples or a single load
 * level); |*out| is untouched on failure.
 */
int slate_profile_fit(const double *rho, const double *lat, const double *w, size_t n,
                      double mu_rps, int max_degree, slate_profile *out);

/*
 * The profiles of every (service, cluster) deployment of one topology.
 * Owns its storage; borrows the topology, which must outlive it.
 */
typedef struct slate_profile_set slate_profile_set;

/*
 * Creates a set with the MM1 default for every deployment of |t|:
 * t0 = k = service_time_ms, mu = capacity_rps. Returns SLATE_OK,
 * SLATE_ERR_NOMEM or SLATE_ERR_INVALID_ARG (NULL argument).
 */
int slate_profile_set_new(const slate_topology *t, slate_profile_set **out);
void slate_profile_set_free(slate_profile_set *s);

/* Returns the profile of |service| at |cluster| (returns borrowed, valid until the
 * next put or free), or NULL if the service is not deployed there. */
const slate_profile *slate_profile_set_get(const slate_profile_set *s, int service,
                                           int cluster);

/* Replaces the profile (copied) of a deployment. Returns SLATE_OK,
 * SLATE_ERR_NOT_FOUND (not deployed, or indices out of range),
 * SLATE_ERR_PROFILE_INVALID, or SLATE_ERR_INVALID_ARG (|s| NULL). */
int slate_profile_set_put(slate_profile_set *s, int service, int cluster,
                          const slate_profile *p);

/*
 * Applies a {"profiles": [...]} document: each entry replaces one
 * deployment's profile. All-or-nothing: on any problem nothing changes and
 * |diag| lists every problem with its JSON path. Returns SLATE_OK,
 * SLATE_ERR_TOO_LARGE, SLATE_ERR_PARSE, SLATE_ERR_PROFILE_INVALID or
 * SLATE_ERR_NOMEM.
 */
int slate_profile_set_load_json(slate_profile_set *s, const char *text, size_t len,
                                slate_diag *diag);

/* Serialises every profile of |s|, services in topology order, then clusters
 * in topology order. Returns owned text (free()). SLATE_OK, SLATE_ERR_NOMEM or
 * SLATE_ERR_INVALID_ARG (NULL argument). */
int slate_profile_set_to_json(const slate_profile_set *s, int pretty, char **out);

/* Serialises one profile as a JSON object (no service/cluster members).
 * Returns owned text (free()). SLATE_OK, SLATE_ERR_NOMEM or
 * SLATE_ERR_INVALID_ARG (NULL argument or a profile that does not validate). */
int slate_profile_to_json(const slate_profile *p, int pretty, char **out);

#endif
