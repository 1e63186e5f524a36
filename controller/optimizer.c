/*
 * The optimizer's model and the LP built from it (DESIGN.md section 5).
 *
 * LP layout (GLPK indices, all fixed at build time so that later changes
 * are bound and coefficient edits only and the basis stays meaningful):
 *
 * Columns, all >= 0:
 *   x[k,v,a,b]  flow of class k's node v from source cluster a to cluster b
 *               (req/s). Sources: every cluster for the root (demand may
 *               appear anywhere later), else the clusters where the parent's
 *               service is deployed; destinations: where v's service is.
 *   d[s,b,i]    the part of the load of service s at cluster b that lies on
 *               PWL piece i, 0 <= d <= len_i (work units/s); pwl_segments
 *               columns per deployment, those the PWL does not use fixed at 0
 *   o[s,b]      load beyond the PWL's range u_max*mu (work units/s)
 *
 * Rows:
 *   demand      sum_b x[k,root,a,b] = lambda[k,a]                  (fixed)
 *   flow        sum_b x[k,v,a,b] - count(v) sum_a' x[k,p,a',a] = 0 (fixed 0)
 *   load        sum_i d[s,b,i] + o[s,b] - sum work(k,v) x[k,v,a,b] = 0
 *   budget      sum 3600 * egress_usd_s(k,v,a,b) x[k,v,a,b] <= budget
 *               (BUDGET mode; a free row in PRICE mode)
 *
 * Objective (ms*req/s): x * share(k,v) * (work*t0[s,b] + rtt[a][b])
 *   + x * egress_usd_s / usd_per_ms (PRICE mode, usd_per_ms > 0)
 *   + sum_i slope_i d[s,b,i] + (slope_last + M) o[s,b] + sum pwl(0).
 *
 * The queueing cost is the PWL of rho*q(rho) in its "delta" form rather
 * than as an epigraph z >= slope_i rho + intercept_i: the slopes increase
 * (the PWL is convex), so a minimum fills the pieces in order and
 * sum_i slope_i d_i equals pwl(rho) - pwl(0) exactly, beyond the range the
 * last piece continues (as the epigraph's last row would) and M prices the
 * overload (as the soft capacity row rho - o <= u_max*mu would). The two
 * forms have the same optimum; this one needs one row per deployment
 * instead of pwl_segments + 2, and the simplex handles the pieces' upper
 * bounds without pivots (20,000 -> 7,000 rows on the 100-service,
 * 50-class, 10-cluster benchmark).
 *
 * With opts.decompose (the default) GLPK does not get this LP but the
 * equivalent master over routing strategies of optimizer_decomp.c, which
 * keeps the d and o columns, the load rows and the budget row and replaces
 * the x columns and flow rows by strategy columns and one demand row per
 * (class, ingress cluster).
 *
 * No arc is pruned: whether a cross-cluster arc is used depends on the load
 * (hence the queueing cost) at both ends, so no arc is dominated in general,
 * and opts.prune_arcs is accepted but currently changes nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

void slate_optimizer_opts_init(slate_optimizer_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->u_max = 0.95;
    o->pwl_segments = 12;
    o->cost_mode = SLATE_COST_PRICE;
    o->usd_per_ms = 1e-7;
    o->egress_budget_usd_per_hour = 0;
    o->overload_penalty = 1e6;
    o->time_limit_ms = 10000;
    o->iteration_limit = 1000000;
    o->critical_path = 0;
    o->prune_arcs = 1;
    o->method = SLATE_LP_AUTO;
    o->column_generation = 1;
    o->decompose = 1;
}

static int finite_nonneg(double v)
{
    return isfinite(v) && v >= 0;
}

static int validate_opts(const slate_optimizer_opts *op, slate_diag *diag)
{
    int rv = SLATE_OK;
    if (!(op->u_max > 0 && op->u_max < 1)) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.u_max", "must be in (0, 1), got %g",
                       op->u_max);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (op->pwl_segments < 1 || op->pwl_segments > SLATE_PWL_MAX_SEGMENTS) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.pwl_segments",
                       "must be in [1, %d], got %d", SLATE_PWL_MAX_SEGMENTS, op->pwl_segments);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (op->cost_mode != SLATE_COST_PRICE && op->cost_mode != SLATE_COST_BUDGET) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.cost_mode", "unknown cost mode %d",
                       (int)op->cost_mode);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (!finite_nonneg(op->usd_per_ms)) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.usd_per_ms",
                       "must be finite and >= 0, got %g", op->usd_per_ms);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (!finite_nonneg(op->egress_budget_usd_per_hour)) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.egress_budget_usd_per_hour",
                       "must be finite and >= 0, got %g", op->egress_budget_usd_per_hour);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (!(isfinite(op->overload_penalty) && op->overload_penalty > 0)) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.overload_penalty",
                       "must be finite and > 0, got %g", op->overload_penalty);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (!(isfinite(op->time_limit_ms) && op->time_limit_ms >= 1 && op->time_limit_ms <= 2e9)) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.time_limit_ms",
                       "must be in [1, 2e9] ms, got %g", op->time_limit_ms);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (op->iteration_limit < 1) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.iteration_limit", "must be >= 1, got %d",
                       op->iteration_limit);
        rv = SLATE_ERR_INVALID_ARG;
    }
    if (op->method != SLATE_LP_AUTO && op->method != SLATE_LP_SIMPLEX &&
        op->method != SLATE_LP_INTERIOR) {
        slate_diag_add(diag, SLATE_ERR_INVALID_ARG, "opts.method", "unknown method %d",
                       (int)op->method);
        rv = SLATE_ERR_INVALID_ARG;
    }
    return rv;
}

/* ---- model helpers ---------------------------------------------------------- */

int slate_opt_is_source(const slate_optimizer *o, int k, int v, int a)
{
    const slate_call_node *n = &o->t->classes[k].nodes[v];
    if (n->parent < 0)
        return 1;
    int ps = o->t->classes[k].nodes[n->parent].service;
    return o->dep[(size_t)ps * o->nc + (size_t)a];
}

double slate_opt_egress_usd_s(const slate_optimizer *o, int k, int v, int a, int b)
{
    const slate_call_node *n = &o->t->classes[k].nodes[v];
    double usd_per_gb = n->request_bytes * slate_topology_egress(o->t, a, b) +
                        n->response_bytes * slate_topology_egress(o->t, b, a);
    return usd_per_gb / SLATE_BYTES_PER_GB;
}

/* Unloaded latency of one work unit of service |s| at |b|, ms. */
static double t0_ms(const slate_optimizer *o, int s, int b)
{
    return slate_profile_t0(slate_profile_set_get(o->profiles, s, b));
}

double slate_opt_x_cost(const slate_optimizer *o, int k, int v, int a, int b)
{
    const slate_call_node *n = &o->t->classes[k].nodes[v];
    double c =
        o->share[k][v] * (n->work * t0_ms(o, n->service, b) + slate_topology_rtt_ms(o->t, a, b));
    if (o->cost_mode == SLATE_COST_PRICE && o->cost_value > 0)
        c += slate_opt_egress_usd_s(o, k, v, a, b) / o->cost_value;
    return c;
}

/*
 * Objective weights of class |k|'s nodes. Without critical_path every node
 * counts fully (the objective is total latency). With it, the latency terms
 * of parallel siblings are scaled by max/sum of their static estimates
 * (count * unloaded subtree time with the fastest deployment and the
 * in-cluster RTT), so at that estimate the weighted sum of a parallel
 * fan-out equals its critical path (the max); descendants inherit their
 * ancestors' factor. Queueing (z) is per deployment, shared by classes, and
 * is not weighted.
 */
static int compute_shares(slate_optimizer *o, int k)
{
    const slate_class *c = &o->t->classes[k];
    double *share = o->share[k];
    if (!o->opts.critical_path) {
        for (size_t v = 0; v < c->n_nodes; v++)
            share[v] = 1.0;
        return SLATE_OK;
    }
    double *est = calloc(c->n_nodes, sizeof(*est));
    if (est == NULL)
        return SLATE_ERR_NOMEM;
    /* Pre-order: children come after their parent, so walk backwards. */
    for (size_t i = c->n_nodes; i-- > 0;) {
        const slate_call_node *n = &c->nodes[i];
        double best = INFINITY;
        const slate_service *svc = &o->t->services[n->service];
        for (size_t d = 0; d < svc->n_deployments; d++) {
            int b = svc->deployments[d].cluster;
            double own = n->work * t0_ms(o, n->service, b) + slate_topology_rtt_ms(o->t, b, b);
            if (own < best)
                best = own;
        }
        double kids = 0;
        for (size_t j = 0; j < n->n_children; j++) {
            int ch = n->children[j];
            double e = o->count[k][ch] * est[ch];
            kids = n->parallel ? fmax(kids, e) : kids + e;
        }
        est[i] = (isfinite(best) ? best : 0) + kids;
    }
    share[0] = 1.0;
    for (size_t i = 0; i < c->n_nodes; i++) {
        const slate_call_node *n = &c->nodes[i];
        double factor = 1.0;
        if (n->parallel && n->n_children > 1) {
            double sum = 0, mx = 0;
            for (size_t j = 0; j < n->n_children; j++) {
                double e = o->count[k][n->children[j]] * est[n->children[j]];
                sum += e;
                mx = fmax(mx, e);
            }
            factor = sum > 0 ? mx / sum : 1.0;
        }
        for (size_t j = 0; j < n->n_children; j++)
            share[n->children[j]] = share[i] * factor;
    }
    free(est);
    return SLATE_OK;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void free_class_arrays(void **arr, size_t n)
{
    if (arr == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(arr[i]);
    free(arr);
}

/* Releases everything but the GLPK objects (see slate_optimizer_free). */
void slate_opt_free_model(slate_optimizer *o);

void slate_opt_free_model(slate_optimizer *o)
{
    free(o->lambda);
    free_class_arrays((void **)o->count, o->nk);
    free_class_arrays((void **)o->share, o->nk);
    free_class_arrays((void **)o->count_dirty, o->nk);
    free_class_arrays((void **)o->xcol, o->nk);
    free_class_arrays((void **)o->flow_row, o->nk);
    free(o->dep);
    slate_profile_set_free(o->profiles);
    free(o->pwl);
    free(o->prof_dirty);
    free(o->seg_col);
    free(o->o_col);
    free(o->load_row);
    slate_opt_dw_free(o);
    slate_solution_free(o->sol);
    free(o);
}

static int alloc_model(slate_optimizer *o)
{
    size_t nc = o->nc, ns = o->ns, nk = o->nk;
    o->lambda = calloc(nk * nc + 1, sizeof(double));
    o->count = calloc(nk + 1, sizeof(double *));
    o->share = calloc(nk + 1, sizeof(double *));
    o->count_dirty = calloc(nk + 1, sizeof(unsigned char *));
    o->xcol = calloc(nk + 1, sizeof(int *));
    o->flow_row = calloc(nk + 1, sizeof(int *));
    o->dep = calloc(ns * nc + 1, 1);
    int rv = slate_profile_set_new(o->t, &o->profiles);
    if (rv != SLATE_OK)
        return rv;
    o->pwl = calloc(ns * nc + 1, sizeof(slate_pwl));
    o->prof_dirty = calloc(ns * nc + 1, 1);
    o->seg_col = calloc(ns * nc + 1, sizeof(int));
    o->o_col = calloc(ns * nc + 1, sizeof(int));
    o->load_row = calloc(ns * nc + 1, sizeof(int));
    if (!o->lambda || !o->count || !o->share || !o->count_dirty || !o->xcol || !o->flow_row ||
        !o->dep || !o->pwl || !o->prof_dirty || !o->seg_col || !o->o_col || !o->load_row)
        return SLATE_ERR_NOMEM;
    for (size_t k = 0; k < nk; k++) {
        size_t nn = o->t->classes[k].n_nodes;
        o->count[k] = calloc(nn, sizeof(double));
        o->share[k] = calloc(nn, sizeof(double));
        o->count_dirty[k] = calloc(nn, 1);
        o->xcol[k] = calloc(nn * nc * nc, sizeof(int));
        o->flow_row[k] = calloc(nn * nc, sizeof(int));
        if (!o->count[k] || !o->share[k] || !o->count_dirty[k] || !o->xcol[k] || !o->flow_row[k])
            return SLATE_ERR_NOMEM;
    }
    return SLATE_OK;
}

/* Copies the profile of one deployment into o->profiles and derives its PWL
 * pieces; on failure neither changes. */
static int load_profile(slate_optimizer *o, int s, int b, const slate_profile *p)
{
    slate_pwl pwl;
    if (slate_profile_validate(p, NULL) != SLATE_OK)
        return SLATE_ERR_PROFILE_INVALID;
    if (slate_profile_pwl(p, o->opts.u_max, o->opts.pwl_segments, &pwl) != SLATE_OK || pwl.n < 1 ||
        pwl.n > o->opts.pwl_segments)
        return SLATE_ERR_PROFILE_INVALID;
    int rv = slate_profile_set_put(o->profiles, s, b, p);
    if (rv != SLATE_OK)
        return rv;
    o->pwl[(size_t)s * o->nc + (size_t)b] = pwl;
    return SLATE_OK;
}

/* Defined in optimizer_glpk.c. */
int slate_opt_build_guarded(slate_optimizer *o, slate_diag *diag);
void slate_opt_register(void);
void slate_opt_unregister(slate_optimizer *o);

int slate_optimizer_new(const slate_topology *t, const slate_profile_set *profiles,
                        const slate_optimizer_opts *opts, slate_optimizer **out, slate_diag *diag)
{
    if (t == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_optimizer_opts defaults;
    slate_optimizer_opts_init(&defaults);
    if (opts == NULL)
        opts = &defaults;
    int rv = validate_opts(opts, diag);
    if (rv != SLATE_OK)
        return rv;

    slate_optimizer *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return SLATE_ERR_NOMEM;
    o->t = t;
    o->opts = *opts;
    o->nc = t->n_clusters;
    o->ns = t->n_services;
    o->nk = t->n_classes;
    o->cost_mode = opts->cost_mode;
    o->decomposed = opts->method == SLATE_LP_AUTO && opts->column_generation && opts->decompose;
    o->cost_value =
        opts->cost_mode == SLATE_COST_PRICE ? opts->usd_per_ms : opts->egress_budget_usd_per_hour;
    rv = alloc_model(o);
    if (rv != SLATE_OK)
        goto fail;

    for (size_t s = 0; s < o->ns; s++) {
        const slate_service *svc = &t->services[s];
        for (size_t d = 0; d < svc->n_deployments; d++) {
            const slate_deployment *dp = &svc->deployments[d];
            const slate_profile *p = NULL;
            slate_profile def;
            if (profiles != NULL)
                p = slate_profile_set_get(profiles, (int)s, dp->cluster);
            if (p == NULL) {
                /* No set (or no entry): the module's documented MM1 default. */
                slate_profile_init_mm1(&def, svc->service_time_ms, svc->service_time_ms,
                                       dp->capacity_rps);
                p = &def;
            }
            o->dep[s * o->nc + (size_t)dp->cluster] = 1;
            rv = load_profile(o, (int)s, dp->cluster, p);
            if (rv != SLATE_OK) {
                slate_diag_add(diag, SLATE_ERR_INVALID_ARG, NULL,
                               "profile of service \"%s\" at cluster \"%s\" is invalid or has "
                               "no PWL approximation with u_max %g",
                               svc->name, t->clusters[dp->cluster], opts->u_max);
                rv = SLATE_ERR_INVALID_ARG;
                goto fail;
            }
        }
    }
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++)
            o->count[k][v] = v == 0 ? 1.0 : c->nodes[v].count;
        rv = compute_shares(o, (int)k);
        if (rv != SLATE_OK)
            goto fail;
    }
    for (size_t i = 0; i < t->n_demand; i++) {
        const slate_demand *d = &t->demand[i];
        o->lambda[(size_t)d->klass * o->nc + (size_t)d->cluster] = d->rps;
    }

    slate_opt_register();
    rv = slate_opt_build_guarded(o, diag);
    if (rv != SLATE_OK) {
        slate_optimizer_free(o);
        return rv;
    }
    *out = o;
    return SLATE_OK;
fail:
    slate_opt_free_model(o);
    return rv;
}

/* ---- setters: record the change; solve() applies it ---------------------------- */

int slate_optimizer_set_demand(slate_optimizer *o, int k, int a, double rps)
{
    if (o == NULL || k < 0 || (size_t)k >= o->nk || a < 0 || (size_t)a >= o->nc ||
        !finite_nonneg(rps) || rps > SLATE_TOPO_MAX_RPS)
        return SLATE_ERR_INVALID_ARG;
    o->lambda[(size_t)k * o->nc + (size_t)a] = rps;
    o->demand_dirty = 1;
    return SLATE_OK;
}

int slate_optimizer_set_profile(slate_optimizer *o, int service, int cluster,
                                const slate_profile *p)
{
    if (o == NULL || p == NULL || service < 0 || (size_t)service >= o->ns || cluster < 0 ||
        (size_t)cluster >= o->nc)
        return SLATE_ERR_NOT_FOUND;
    size_t i = (size_t)service * o->nc + (size_t)cluster;
    if (!o->dep[i])
        return SLATE_ERR_NOT_FOUND;
    int rv = load_profile(o, service, cluster, p);
    if (rv != SLATE_OK)
        return rv;
    o->prof_dirty[i] = 1;
    if (o->opts.critical_path) {
        /* Shares depend on t0; recompute them for every class. */
        for (size_t k = 0; k < o->nk; k++) {
            if (compute_shares(o, (int)k) != SLATE_OK)
                return SLATE_ERR_NOMEM;
            memset(o->count_dirty[k], 1, o->t->classes[k].n_nodes);
        }
    }
    return SLATE_OK;
}

int slate_optimizer_set_count(slate_optimizer *o, int k, int v, double count)
{
    if (o == NULL || k < 0 || (size_t)k >= o->nk || v <= 0 ||
        (size_t)v >= o->t->classes[k].n_nodes || !finite_nonneg(count) || count > 1e6)
        return SLATE_ERR_INVALID_ARG;
    double old = o->count[k][v];
    o->count[k][v] = count;
    if (o->opts.critical_path) {
        if (compute_shares(o, k) != SLATE_OK) {
            o->count[k][v] = old;
            return SLATE_ERR_NOMEM;
        }
        memset(o->count_dirty[k], 1, o->t->classes[k].n_nodes);
    }
    o->count_dirty[k][v] = 1;
    return SLATE_OK;
}

int slate_optimizer_set_cost(slate_optimizer *o, slate_cost_mode mode, double value)
{
    if (o == NULL || (mode != SLATE_COST_PRICE && mode != SLATE_COST_BUDGET) ||
        !finite_nonneg(value))
        return SLATE_ERR_INVALID_ARG;
    o->cost_mode = mode;
    o->cost_value = value;
    o->cost_dirty = 1;
    return SLATE_OK;
}

const slate_solution *slate_optimizer_solution(const slate_optimizer *o)
{
    return o != NULL ? o->sol : NULL;
}

/* ---- the LP -------------------------------------------------------------------- */

/* Triplet storage for glp_load_matrix, kept in o->tmp_* so the guard frees it
 * if GLPK fails fatally in between. Index 0 is unused (GLPK is 1-based). */
typedef struct triplets {
    size_t n, cap;
} triplets;

static int trip_add(slate_optimizer *o, triplets *tr, int row, int col, double val)
{
    if (val == 0)
        return SLATE_OK;
    if (tr->n + 1 >= tr->cap) {
        size_t cap = tr->cap ? tr->cap * 2 : 1024;
        int *ia = realloc(o->tmp_ia, cap * sizeof(int));
        if (ia == NULL)
            return SLATE_ERR_NOMEM;
        o->tmp_ia = ia;
        int *ja = realloc(o->tmp_ja, cap * sizeof(int));
        if (ja == NULL)
            return SLATE_ERR_NOMEM;
        o->tmp_ja = ja;
        double *ar = realloc(o->tmp_ar, cap * sizeof(double));
        if (ar == NULL)
            return SLATE_ERR_NOMEM;
        o->tmp_ar = ar;
        tr->cap = cap;
    }
    tr->n++;
    o->tmp_ia[tr->n] = row;
    o->tmp_ja[tr->n] = col;
    o->tmp_ar[tr->n] = val;
    return SLATE_OK;
}

static size_t xidx(const slate_optimizer *o, int v, int a, int b)
{
    return ((size_t)v * o->nc + (size_t)a) * o->nc + (size_t)b;
}

/* The piece columns' bounds and costs, and the overload cost, of
 * deployment |i| = s*nc+b. Piece i covers [bp_i, bp_i+1] where consecutive
 * pieces meet (bp_0 = 0, bp_n = x_max); unused columns are fixed at 0. */
void slate_opt_set_profile_cols(slate_optimizer *o, size_t i)
{
    const slate_pwl *pwl = &o->pwl[i];
    /* bp[p] .. bp[p+1]: the range of piece p (consecutive pieces meet). */
    double bp[SLATE_PWL_MAX_SEGMENTS + 1];
    bp[0] = 0;
    for (int p = 0; p < pwl->n; p++) {
        double lo = bp[p], hi = pwl->x_max;
        if (p + 1 < pwl->n && pwl->slope[p + 1] > pwl->slope[p]) {
            double meet =
                (pwl->intercept[p] - pwl->intercept[p + 1]) / (pwl->slope[p + 1] - pwl->slope[p]);
            hi = fmin(fmax(meet, lo), pwl->x_max);
        } else if (p + 1 < pwl->n) {
            hi = lo; /* equal slopes: the next piece takes over at once */
        }
        bp[p + 1] = hi;
    }
    /* pwl_group > 1 (a cold solve's first stage, optimizer_decomp.c): groups
     * of that many pieces act as one, the chord of the PWL over the group's
     * range, on the group's first column; the others stay at 0. */
    int group = o->pwl_group > 1 ? o->pwl_group : 1;
    for (int p = 0; p < o->opts.pwl_segments; p++) {
        int col = o->seg_col[i] + p;
        if (p >= pwl->n || p % group != 0) {
            glp_set_col_bnds(o->lp, col, GLP_FX, 0.0, 0.0);
            glp_set_obj_coef(o->lp, col, p < pwl->n ? pwl->slope[p] : 0.0);
            continue;
        }
        int end = p + group < pwl->n ? p + group : pwl->n;
        double len = bp[end] - bp[p], slope = pwl->slope[p];
        if (group > 1 && len > 0)
            slope = (slate_pwl_eval(pwl, bp[end]) - slate_pwl_eval(pwl, bp[p])) / len;
        if (len > 0)
            glp_set_col_bnds(o->lp, col, GLP_DB, 0.0, len);
        else
            glp_set_col_bnds(o->lp, col, GLP_FX, 0.0, 0.0);
        glp_set_obj_coef(o->lp, col, slope);
    }
    glp_set_obj_coef(o->lp, o->o_col[i], pwl->slope[pwl->n - 1] + o->opts.overload_penalty);
}

/* The objective's constant: sum of pwl(0) (0 for chords through f(0) = 0,
 * kept so the objective is the PWL's value whatever the profile module does). */
void slate_opt_set_obj_constant(slate_optimizer *o)
{
    double c = 0;
    for (size_t i = 0; i < o->ns * o->nc; i++)
        if (o->dep[i])
            c += slate_pwl_eval(&o->pwl[i], 0.0);
    glp_set_obj_coef(o->lp, 0, c);
}

/* Objective coefficients of node (k, v)'s columns; only those into cluster
 * |only_b| when it is >= 0. */
static void set_node_costs(slate_optimizer *o, int k, int v, int only_b)
{
    for (size_t a = 0; a < o->nc; a++)
        for (size_t b = 0; b < o->nc; b++) {
            if (only_b >= 0 && (int)b != only_b)
                continue;
            int col = o->xcol[k][xidx(o, v, (int)a, (int)b)];
            if (col)
                glp_set_obj_coef(o->lp, col, slate_opt_x_cost(o, k, v, (int)a, (int)b));
        }
}

/* Rewrites the flow-conservation rows of node (k, v), v > 0. */
static void set_flow_rows(slate_optimizer *o, int k, int v)
{
    int ind[2 * SLATE_TOPO_MAX_CLUSTERS + 1];
    double val[2 * SLATE_TOPO_MAX_CLUSTERS + 1];
    int parent = o->t->classes[k].nodes[v].parent;
    double cnt = o->count[k][v];
    for (size_t a = 0; a < o->nc; a++) {
        int row = o->flow_row[k][(size_t)v * o->nc + a];
        if (!row)
            continue;
        int len = 0;
        for (size_t b = 0; b < o->nc; b++) {
            int col = o->xcol[k][xidx(o, v, (int)a, (int)b)];
            if (col) {
                len++;
                ind[len] = col;
                val[len] = 1.0;
            }
        }
        if (cnt != 0)
            for (size_t a2 = 0; a2 < o->nc; a2++) {
                int col = o->xcol[k][xidx(o, parent, (int)a2, (int)a)];
                if (col) {
                    len++;
                    ind[len] = col;
                    val[len] = -cnt;
                }
            }
        glp_set_mat_row(o->lp, row, len, ind, val);
    }
}

void slate_opt_set_budget_row(slate_optimizer *o)
{
    if (o->cost_mode == SLATE_COST_BUDGET)
        glp_set_row_bnds(o->lp, o->budget_row, GLP_UP, 0.0, o->cost_value);
    else
        glp_set_row_bnds(o->lp, o->budget_row, GLP_FR, 0.0, 0.0);
}

static void set_demand_rows(slate_optimizer *o)
{
    for (size_t k = 0; k < o->nk; k++)
        for (size_t a = 0; a < o->nc; a++) {
            double l = o->lambda[k * o->nc + a];
            glp_set_row_bnds(o->lp, o->flow_row[k][a], GLP_FX, l, l);
        }
}

int slate_opt_build_lp(slate_optimizer *o)
{
    if (o->decomposed)
        return slate_opt_dw_build(o);
    size_t nc = o->nc;
    const slate_topology *t = o->t;
    int segs = o->opts.pwl_segments;
    int ncol = 0, nrow = 0;

    /* Number columns and rows. */
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &t->classes[k];
        memset(o->xcol[k], 0, c->n_nodes * nc * nc * sizeof(int));
        memset(o->flow_row[k], 0, c->n_nodes * nc * sizeof(int));
        for (size_t v = 0; v < c->n_nodes; v++) {
            int s = c->nodes[v].service;
            for (size_t a = 0; a < nc; a++) {
                if (!slate_opt_is_source(o, (int)k, (int)v, (int)a))
                    continue;
                o->flow_row[k][v * nc + a] = ++nrow;
                /* Pinned ingress: the root stays where the request entered. */
                int pinned = o->opts.pin_ingress && v == 0 && o->dep[(size_t)s * nc + a];
                for (size_t b = 0; b < nc; b++)
                    if (o->dep[(size_t)s * nc + b] && !(pinned && b != a))
                        o->xcol[k][xidx(o, (int)v, (int)a, (int)b)] = ++ncol;
            }
        }
    }
    for (size_t i = 0; i < o->ns * nc; i++) {
        if (!o->dep[i])
            continue;
        o->seg_col[i] = ncol + 1;
        ncol += segs;
        o->o_col[i] = ++ncol;
        o->load_row[i] = ++nrow;
    }
    o->budget_row = ++nrow;

    o->lp = glp_create_prob();
    glp_set_obj_dir(o->lp, GLP_MIN);
    glp_add_cols(o->lp, ncol);
    glp_add_rows(o->lp, nrow);
    for (int j = 1; j <= ncol; j++)
        glp_set_col_bnds(o->lp, j, GLP_LO, 0.0, 0.0);

    /* The matrix, column by column. */
    triplets tr = {0, 0};
    int rv = SLATE_OK;
    for (size_t k = 0; k < o->nk && rv == SLATE_OK; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t v = 0; v < c->n_nodes && rv == SLATE_OK; v++) {
            const slate_call_node *n = &c->nodes[v];
            for (size_t a = 0; a < nc; a++)
                for (size_t b = 0; b < nc; b++) {
                    int col = o->xcol[k][xidx(o, (int)v, (int)a, (int)b)];
                    if (!col)
                        continue;
                    rv |= trip_add(o, &tr, o->flow_row[k][v * nc + a], col, 1.0);
                    for (size_t j = 0; j < n->n_children; j++) {
                        int ch = n->children[j];
                        rv |= trip_add(o, &tr, o->flow_row[k][(size_t)ch * nc + b], col,
                                       -o->count[k][ch]);
                    }
                    rv |= trip_add(o, &tr, o->load_row[(size_t)n->service * nc + b], col, -n->work);
                    rv |= trip_add(o, &tr, o->budget_row, col,
                                   3600.0 *
                                       slate_opt_egress_usd_s(o, (int)k, (int)v, (int)a, (int)b));
                    glp_set_obj_coef(o->lp, col,
                                     slate_opt_x_cost(o, (int)k, (int)v, (int)a, (int)b));
                }
        }
    }
    for (size_t i = 0; i < o->ns * nc && rv == SLATE_OK; i++) {
        if (!o->dep[i])
            continue;
        for (int p = 0; p < segs; p++)
            rv |= trip_add(o, &tr, o->load_row[i], o->seg_col[i] + p, 1.0);
        rv |= trip_add(o, &tr, o->load_row[i], o->o_col[i], 1.0);
        glp_set_row_bnds(o->lp, o->load_row[i], GLP_FX, 0.0, 0.0);
    }
    if (rv != SLATE_OK) {
        glp_delete_prob(o->lp);
        o->lp = NULL;
        return SLATE_ERR_NOMEM;
    }
    glp_load_matrix(o->lp, (int)tr.n, o->tmp_ia, o->tmp_ja, o->tmp_ar);

    /* Row bounds: flow rows are = 0, demand rows = lambda. */
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &t->classes[k];
        for (size_t j = nc; j < c->n_nodes * nc; j++)
            if (o->flow_row[k][j])
                glp_set_row_bnds(o->lp, o->flow_row[k][j], GLP_FX, 0.0, 0.0);
        memset(o->count_dirty[k], 0, c->n_nodes);
    }
    set_demand_rows(o);
    for (size_t i = 0; i < o->ns * nc; i++)
        if (o->dep[i])
            slate_opt_set_profile_cols(o, i);
    slate_opt_set_obj_constant(o);
    slate_opt_set_budget_row(o);
    memset(o->prof_dirty, 0, o->ns * nc);
    o->demand_dirty = 0;
    o->cost_dirty = 0;

    /* Scale once: work, counts and budget coefficients span decades; later
     * coefficient edits keep these factors, which is fine. */
    glp_scale_prob(o->lp, GLP_SF_AUTO);
    o->n_rows = nrow;
    o->n_cols = ncol;
    o->n_nz = glp_get_num_nz(o->lp);
    o->has_basis = 0;
    return SLATE_OK;
}

int slate_opt_apply_changes(slate_optimizer *o)
{
    if (o->decomposed)
        return slate_opt_dw_apply_changes(o);
    if (o->demand_dirty) {
        set_demand_rows(o);
        o->demand_dirty = 0;
    }
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            if (!o->count_dirty[k][v])
                continue;
            if (v > 0)
                set_flow_rows(o, (int)k, (int)v);
            /* Critical-path shares may have moved with the count. */
            set_node_costs(o, (int)k, (int)v, -1);
            o->count_dirty[k][v] = 0;
        }
    }
    int any_profile = 0;
    for (size_t i = 0; i < o->ns * o->nc; i++) {
        if (!o->prof_dirty[i])
            continue;
        any_profile = 1;
        slate_opt_set_profile_cols(o, i);
        /* t0 enters the cost of every flow into this deployment. */
        int s = (int)(i / o->nc), b = (int)(i % o->nc);
        if (!o->cost_dirty)
            for (size_t k = 0; k < o->nk; k++)
                for (size_t v = 0; v < o->t->classes[k].n_nodes; v++)
                    if (o->t->classes[k].nodes[v].service == s)
                        set_node_costs(o, (int)k, (int)v, b);
        o->prof_dirty[i] = 0;
    }
    if (any_profile)
        slate_opt_set_obj_constant(o);
    if (o->cost_dirty) {
        slate_opt_set_budget_row(o);
        for (size_t k = 0; k < o->nk; k++)
            for (size_t v = 0; v < o->t->classes[k].n_nodes; v++)
                set_node_costs(o, (int)k, (int)v, -1);
        o->cost_dirty = 0;
    }
    o->n_nz = glp_get_num_nz(o->lp);
    return SLATE_OK;
}

int slate_optimizer_set_limits(slate_optimizer *o, double time_limit_ms, int iteration_limit)
{
    if (o == NULL || !(isfinite(time_limit_ms) && time_limit_ms >= 1 && time_limit_ms <= 2e9) ||
        iteration_limit < 1)
        return SLATE_ERR_INVALID_ARG;
    o->opts.time_limit_ms = time_limit_ms;
    o->opts.iteration_limit = iteration_limit;
    return SLATE_OK;
}
