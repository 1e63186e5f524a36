/*
 * Fitting a profile to (load, latency, weight) samples.
 *
 * Both families are linear in their parameters, with every parameter >= 0:
 *   POLY degree d:  latency = t0 + c1 rho + ... + cd rho^d   (d = 1..max_degree)
 *   MM1:            latency = t0 + k * rho / (mu - rho)      (mu given)
 * Non-negative parameters make q increasing and convex by construction, so
 * the fit is a weighted non-negative least-squares (NNLS) problem.
 *
 * NNLS method: exact enumeration of active sets. With at most 5 unknowns
 * there are at most 32 subsets of free variables; for each the normal
 * equations restricted to the subset are solved (Cholesky), and the best
 * solution with every free variable >= 0 is kept. The NNLS optimum is the
 * unconstrained least-squares solution on its own support, so it is among
 * the candidates, and every feasible candidate is a feasible point, so the
 * best feasible one is the optimum. This is simpler to get right than
 * Lawson-Hanson (no cycling or tolerance subtleties) and cheap at this size;
 * no NNLS library is among the C packages we depend on, and GLPK solves no
 * quadratic programs.
 *
 * Conditioning: rho is divided by the largest sample load (and rho/(mu-rho)
 * by its largest value) so every column lies in [0, 1], and each column is
 * then scaled to unit weighted norm, so the Gram matrix has a unit diagonal
 * even when rho is in the thousands and rho^4 would otherwise be ~1e16.
 *
 * Samples: a sample with a NaN, infinite or negative load, latency or
 * weight, or a zero weight, is skipped (a sidecar may report an empty or
 * broken window; one bad sample must neither fail nor poison the fit). MM1
 * predicts infinite latency at rho >= mu, so samples there are skipped for
 * the MM1 form only.
 *
 * Choosing the form: each candidate is scored on the samples below mu (the
 * region the LP uses and where every form is finite; all samples when fewer
 * than two load levels lie below mu, and then MM1 is not tried) with a
 * BIC-like criterion, N ln(SSE_w / W) + p ln(N): N samples, W their total
 * weight, p parameters. The ln(N) per parameter keeps noise from choosing
 * degree 4 when a straight line or a parabola explains the data; SSE_w / W
 * is floored at 1e-12 of the mean squared latency so curves that fit
 * exactly tie and the one with fewer parameters wins. Ties keep the earlier
 * candidate: MM1 first, then degrees ascending.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "profiles/profiles.h"
#include "profiles/profiles_int.h"

#define MAX_PARAMS (SLATE_PROFILE_MAX_DEGREE + 1)
/* A Cholesky pivot below this (on a unit-diagonal Gram matrix) means the
 * free columns are numerically dependent: that subset is not identifiable. */
#define PIVOT_MIN 1e-12
/* Loads above this are no real measurement (10 x the largest mu allowed). */
#define MAX_SAMPLE_LOAD (10 * SLATE_TOPO_MAX_RPS)

typedef enum model_kind { MODEL_MM1, MODEL_POLY } model_kind;

/* The borrowed samples and what the fit needs to know about them. */
typedef struct samples {
    const double *rho, *lat, *w;
    size_t n;
    double mu;
    double rho_scale; /* largest usable load */
    double h_scale;   /* largest rho / (mu - rho) below mu */
} samples;

static int usable(const samples *s, size_t i)
{
    double r = s->rho[i], y = s->lat[i], w = s->w ? s->w[i] : 1.0;
    return isfinite(r) && r >= 0 && r <= MAX_SAMPLE_LOAD && isfinite(y) && y >= 0 &&
           y <= SLATE_PROFILE_MAX_MS && isfinite(w) && w > 0;
}

static double weight(const samples *s, size_t i)
{
    return s->w ? s->w[i] : 1.0;
}

/* Counts the distinct loads among usable samples (below mu when
 * |below_mu|), stopping at |cap|. */
static int distinct_loads(const samples *s, int below_mu, int cap)
{
    double seen[MAX_PARAMS + 1];
    int n = 0;
    for (size_t i = 0; i < s->n && n < cap; i++) {
        if (!usable(s, i) || (below_mu && !(s->rho[i] < s->mu)))
            continue;
        int dup = 0;
        for (int j = 0; j < n && !dup; j++)
            dup = seen[j] == s->rho[i];
        if (!dup)
            seen[n++] = s->rho[i];
    }
    return n;
}

/* Basis column |j| (scaled to [0, 1]) at load |r|. */
static double basis(const samples *s, model_kind kind, int j, double r)
{
    if (j == 0)
        return 1.0;
    if (kind == MODEL_MM1)
        return r / (s->mu - r) / s->h_scale;
    return pow(r / s->rho_scale, j);
}

/* Solves the |k| x |k| SPD system A x = b in place (A row-major, |k| <= 5) by
 * Cholesky. Returns 0 when a pivot is below PIVOT_MIN. */
static int cholesky_solve(double *A, double *b, int k)
{
    for (int j = 0; j < k; j++) {
        double d = A[j * k + j];
        for (int l = 0; l < j; l++)
            d -= A[j * k + l] * A[j * k + l];
        if (!(d > PIVOT_MIN))
            return 0;
        d = sqrt(d);
        A[j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double v = A[i * k + j];
            for (int l = 0; l < j; l++)
                v -= A[i * k + l] * A[j * k + l];
            A[i * k + j] = v / d;
        }
    }
    for (int i = 0; i < k; i++) { /* L y = b */
        double v = b[i];
        for (int l = 0; l < i; l++)
            v -= A[i * k + l] * b[l];
        b[i] = v / A[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) { /* L^T x = y */
        double v = b[i];
        for (int l = i + 1; l < k; l++)
            v -= A[l * k + i] * b[l];
        b[i] = v / A[i * k + i];
    }
    return 1;
}

/*
 * Weighted NNLS for |np| basis columns of |kind| over the usable samples
 * (below mu for MM1). Writes the coefficients of the scaled basis columns
 * into |beta|; all zero when no subset with a free variable is solvable.
 */
static void nnls(const samples *s, model_kind kind, int np, double *beta)
{
    double G[MAX_PARAMS * MAX_PARAMS] = {0}, h[MAX_PARAMS] = {0}, yy = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!usable(s, i) || (kind == MODEL_MM1 && !(s->rho[i] < s->mu)))
            continue;
        double w = weight(s, i), y = s->lat[i], phi[MAX_PARAMS];
        for (int j = 0; j < np; j++)
            phi[j] = basis(s, kind, j, s->rho[i]);
        for (int j = 0; j < np; j++) {
            h[j] += w * phi[j] * y;
            for (int l = 0; l <= j; l++)
                G[j * np + l] += w * phi[j] * phi[l];
        }
        yy += w * y * y;
    }
    double scale[MAX_PARAMS];
    for (int j = 0; j < np; j++) {
        scale[j] = G[j * np + j] > 0 ? sqrt(G[j * np + j]) : 1.0;
        h[j] /= scale[j];
        for (int l = 0; l <= j; l++) {
            G[j * np + l] /= scale[j] * scale[l];
            G[l * np + j] = G[j * np + l];
        }
    }
    /* The empty subset (every parameter 0) is always feasible. */
    double best_obj = yy, best[MAX_PARAMS] = {0};
    for (unsigned mask = 1; mask < (1u << np); mask++) {
        int idx[MAX_PARAMS], k = 0;
        for (int j = 0; j < np; j++)
            if (mask & (1u << j))
                idx[k++] = j;
        double A[MAX_PARAMS * MAX_PARAMS], x[MAX_PARAMS];
        for (int a = 0; a < k; a++) {
            x[a] = h[idx[a]];
            for (int b = 0; b < k; b++)
                A[a * k + b] = G[idx[a] * np + idx[b]];
        }
        if (!cholesky_solve(A, x, k))
            continue;
        int feasible = 1;
        for (int a = 0; a < k && feasible; a++)
            feasible = x[a] >= 0 && isfinite(x[a]);
        if (!feasible)
            continue;
        /* Objective ||y - X b||_w^2 = yy - 2 b.h + b'Gb in scaled terms. */
        double full[MAX_PARAMS] = {0}, obj = yy;
        for (int a = 0; a < k; a++)
            full[idx[a]] = x[a];
        for (int j = 0; j < np; j++) {
            obj -= 2 * full[j] * h[j];
            for (int l = 0; l < np; l++)
                obj += full[j] * G[j * np + l] * full[l];
        }
        if (obj < best_obj) {
            best_obj = obj;
            memcpy(best, full, sizeof(best));
        }
    }
    for (int j = 0; j < np; j++)
        beta[j] = best[j] / scale[j];
}

/* Turns scaled-basis coefficients into a profile. */
static slate_profile to_profile(const samples *s, model_kind kind, int np, const double *beta)
{
    slate_profile p;
    memset(&p, 0, sizeof(p));
    p.mu_rps = s->mu;
    p.t0_ms = beta[0];
    if (kind == MODEL_MM1) {
        p.form = SLATE_PROFILE_MM1;
        p.k_ms = beta[1] / s->h_scale;
        return p;
    }
    p.form = SLATE_PROFILE_POLY;
    for (int i = 1; i < np; i++)
        p.coef[i - 1] = beta[i] / pow(s->rho_scale, i);
    /* Drop trailing zero coefficients: the same curve, said more simply. */
    p.degree = np - 1;
    while (p.degree > 1 && p.coef[p.degree - 1] == 0)
        p.degree--;
    return p;
}

/* The criterion in the file comment, on the scoring samples (below mu when
 * |below_mu|). Lower is better. */
static double score(const samples *s, const slate_profile *p, int np, int below_mu)
{
    double sse = 0, W = 0, yy = 0, N = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!usable(s, i) || (below_mu && !(s->rho[i] < s->mu)))
            continue;
        double w = weight(s, i), r = s->lat[i] - slate_profile_latency(p, s->rho[i]);
        sse += w * r * r;
        yy += w * s->lat[i] * s->lat[i];
        W += w;
        N += 1;
    }
    double mse = sse / W, floor = 1e-12 * yy / W + DBL_MIN;
    if (!(mse > floor)) /* also catches NaN */
        mse = floor;
    return N * log(mse) + np * log(N);
}

int slate_profile_fit(const double *rho, const double *lat, const double *w, size_t n,
                      double mu_rps, int max_degree, slate_profile *out)
{
    if ((n > 0 && (rho == NULL || lat == NULL)) || out == NULL || !isfinite(mu_rps) ||
        !(mu_rps > 0 && mu_rps <= SLATE_TOPO_MAX_RPS) || max_degree < 1 ||
        max_degree > SLATE_PROFILE_MAX_DEGREE)
        return SLATE_ERR_INVALID_ARG;
    samples s = {rho, lat, w, n, mu_rps, 0, 0};
    if (distinct_loads(&s, 0, 2) < 2)
        return SLATE_ERR_FIT_INSUFFICIENT;
    for (size_t i = 0; i < n; i++) {
        if (!usable(&s, i))
            continue;
        if (rho[i] > s.rho_scale)
            s.rho_scale = rho[i];
        if (rho[i] < mu_rps) {
            double hv = rho[i] / (mu_rps - rho[i]);
            s.h_scale = hv > s.h_scale ? hv : s.h_scale;
        }
    }
    int levels = distinct_loads(&s, 0, MAX_PARAMS);
    int below_mu = distinct_loads(&s, 1, 2) >= 2;

    slate_profile best;
    memset(&best, 0, sizeof(best));
    double best_score = INFINITY;
    for (int cand = 0; cand <= max_degree; cand++) {
        /* cand 0 is MM1, cand d >= 1 is POLY of degree d. */
        model_kind kind = cand == 0 ? MODEL_MM1 : MODEL_POLY;
        int np = cand == 0 ? 2 : cand + 1;
        if (kind == MODEL_MM1 ? !below_mu || !(s.h_scale > 0) : levels < np)
            continue;
        double beta[MAX_PARAMS];
        nnls(&s, kind, np, beta);
        slate_profile p = to_profile(&s, kind, np, beta);
        /* Extreme data can ask for coefficients past the validated ranges. */
        if (slate_profile_validate(&p, NULL) != SLATE_OK)
            continue;
        double sc = score(&s, &p, np, below_mu);
        if (sc < best_score) {
            best_score = sc;
            best = p;
        }
    }
    if (!(best_score < INFINITY))
        return SLATE_ERR_FIT_INSUFFICIENT;
    *out = best;
    return SLATE_OK;
}
