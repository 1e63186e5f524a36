/*
 * The decomposition by class: slate's LP (optimizer.c) solved as a master
 * over routing strategies, whose columns a call-tree DP generates
 * (Dantzig-Wolfe decomposition with the load rows as the linking rows).
 *
 * Why: the arc LP has one flow row per (class, node, source cluster) --
 * 6,000 of the 7,001 rows of the 100-service, 50-class, 10-cluster
 * benchmark -- and GLPK's simplex pays for every row at every pivot. Only
 * the load rows (and the budget row) couple the classes; the flow rows of
 * one class only say how its call tree is placed, and for given load prices
 * the best placement is a dynamic programme over the tree.
 *
 * The master. A strategy sigma of (class k, ingress cluster a) places every
 * node v of k's tree in one cluster sigma(v) where v's service is deployed
 * (the root at a where pin_ingress applies). A request of k entering at a
 * that follows sigma makes m_v = the product of the counts on the path from
 * the root to v calls of v (m_root = 1), each from sigma(parent(v)) (a for
 * the root) to sigma(v). The column y[sigma], in req/s of (k, a)'s demand
 * that follows sigma, has
 *   cost    sum_v m_v c(k, v, sigma(parent(v)), sigma(v))  (the arc LP's x cost)
 *   demand  +1 in the row of (k, a): sum over its strategies of y = lambda[k, a]
 *   load    -m_v work(v) in the load row of (service(v), sigma(v)), summed
 *           over the nodes placed on the same deployment
 *   budget  sum_v m_v 3600 e(k, v, sigma(parent(v)), sigma(v)), e = egress USD/s
 * and the master keeps the arc LP's piece columns d, overload columns o,
 * load rows and budget row as they are (optimizer.c).
 *
 * Same optimum. A master solution gives arc flows
 *   x[k, v, a', b] = sum of m_v y[sigma] over the strategies of class k with
 *                    sigma(parent(v)) = a' (the ingress for the root), sigma(v) = b,
 * which meet the arc LP's demand and flow rows (each strategy's calls do)
 * with the same loads, cost and egress. Conversely, an arc-LP flow of class
 * k is, for each ingress cluster's share of it, a tree flow with split
 * ratios r(v, a', b) = x[k, v, a', b] / sum_b x[k, v, a', b]; it equals the
 * mix of strategies in which every node independently picks b with
 * probability r(v, sigma(parent(v)), b), with y = lambda[k, a] times the
 * strategy's probability: the expected calls on every arc are the arc
 * flows, and cost, loads and egress are linear in them. So both LPs have
 * the same optimal value, and the master's optimum mapped to arcs is an
 * optimum of the arc LP.
 *
 * Column generation. The master starts with the default routing's strategy
 * of every (k, a) (local, else nearest; the crash basis below). After each
 * optimal master solve, with the row duals pi_D (demand rows), pi_L (load
 * rows) and pi_B (budget row), the reduced cost of strategy sigma of (k, a)
 * is
 *   sum_v m_v [c(v, sigma(p), sigma(v)) - pi_B 3600 e(v, sigma(p), sigma(v))
 *              + work(v) pi_L(service(v), sigma(v))] - pi_D(k, a),
 * and the m_v factor out along the tree, so its minimum over all strategies
 * is a DP from the leaves up:
 *   H(v, b)  = work(v) pi_L(service(v), b) + sum over children w of count(w) B(w, b)
 *   B(w, a') = min over b of [c(w, a', b) - pi_B 3600 e(w, a', b) + H(w, b)]
 *   min rc(k, a) = min over b of [c(root, a, b) - pi_B 3600 e(root, a, b) + H(root, b)]
 *                  - pi_D(k, a).
 * One DP per class serves all its ingress clusters, O(nodes x clusters^2).
 * Every (k, a) with demand whose minimum prices out (below -DW_PRICE_TOL
 * times the magnitude of its terms, as the arc pricing in
 * optimizer_pricing.c) gets that strategy as a new column, non-basic at 0,
 * so the basis stays primal feasible and the primal simplex continues from
 * it. When nothing prices out, the basis is optimal for the master over all
 * strategies -- every strategy's reduced cost is >= -tol -- hence for the
 * LP, with the simplex's own kind of tolerance. (k, a) without demand are
 * not priced: all their strategies are 0 in every feasible point, so the
 * LP without them has the same solutions. A strategy is never added twice
 * (a hash set), so each round adds a column from a finite set and the loop
 * ends.
 *
 * BUDGET mode. A restricted master may be infeasible where the master over
 * all strategies is not. So the least-egress strategy of every (k, a) (the
 * same DP with egress as the only cost) is kept in the master: loads are
 * soft, so the LP is feasible iff these strategies meet the budget, iff the
 * restricted master is feasible. They are re-derived at every solve (counts
 * weight them).
 *
 * The starting basis (cold): per demand row the default strategy's column,
 * per load row the piece or overload column its load falls on
 * (slate_opt_crash_load_cols), the budget row's slack. In row order demand,
 * load, budget the basis matrix is triangular with a unit diagonal (a
 * strategy has its 1 in its demand row and its other entries in later
 * rows), and it is primal feasible except possibly in the budget row, which
 * the primal simplex's phase 1 repairs.
 *
 * Warm solves keep the master's columns and basis: demand moves the demand
 * rows' bounds; profile and cost-mode changes rewrite the strategies' costs;
 * count changes rewrite their columns. A cold solve rebuilds the master
 * from the default strategies, so it does not profit from earlier solves,
 * and solves a coarser PWL first (slate_opt_dw_refine; optimizer_glpk.c
 * says why).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/optimizer_int.h"
#include "controller/routes.h"

/* A strategy prices out when its reduced cost is below -DW_PRICE_TOL times
 * (1 + the magnitude of the terms it is computed from). */
#define DW_PRICE_TOL 1e-9

/* First size of the strategy arrays and of the hash set. */
#define DW_INITIAL_STRATEGIES 1024

void slate_opt_dw_free(slate_optimizer *o)
{
    free(o->dem_row);
    free(o->dw_default);
    free(o->strat_k);
    free(o->strat_a);
    free(o->strat_off);
    free(o->strat_dest);
    free(o->strat_slots);
    free(o->dw_m);
    free(o->dw_h);
    free(o->dw_best);
    free(o->dw_pick);
    free(o->dw_load);
    free(o->dw_mark);
    free(o->dw_touched);
    free(o->dw_ind);
    free(o->dw_val);
    free(o->dw_sigma);
    free(o->dw_arc_off);
    free(o->dw_cost);
    free(o->dw_egress);
}

/* Allocates what the decomposition needs once (sizes fixed by the topology). */
static int alloc_decomposition(slate_optimizer *o)
{
    if (o->dem_row != NULL)
        return SLATE_OK;
    size_t nc = o->nc, mn = 1;
    for (size_t k = 0; k < o->nk; k++)
        if (o->t->classes[k].n_nodes > mn)
            mn = o->t->classes[k].n_nodes;
    o->max_nodes = mn;
    o->dem_row = calloc(o->nk * nc + 1, sizeof(int));
    o->dw_default = calloc(o->nk * nc + 1, sizeof(int));
    o->dw_m = calloc(mn, sizeof(double));
    o->dw_h = calloc(mn * nc, sizeof(double));
    o->dw_best = calloc(mn * nc, sizeof(double));
    o->dw_pick = calloc(mn * nc, 1);
    o->dw_load = calloc(o->ns * nc + 1, sizeof(double));
    o->dw_mark = calloc(o->ns * nc + 1, 1);
    o->dw_touched = calloc(mn, sizeof(size_t));
    o->dw_ind = calloc(mn + 3, sizeof(int));
    o->dw_val = calloc(mn + 3, sizeof(double));
    o->dw_sigma = calloc(mn, 1);
    o->dw_arc_off = calloc(o->nk + 1, sizeof(size_t));
    if (!o->dem_row || !o->dw_default || !o->dw_m || !o->dw_h || !o->dw_best || !o->dw_pick ||
        !o->dw_load || !o->dw_mark || !o->dw_touched || !o->dw_ind || !o->dw_val || !o->dw_sigma ||
        !o->dw_arc_off)
        return SLATE_ERR_NOMEM;
    size_t arcs = 0;
    for (size_t k = 0; k < o->nk; k++) {
        o->dw_arc_off[k] = arcs;
        arcs += o->t->classes[k].n_nodes * nc * nc;
    }
    o->dw_cost = calloc(arcs + 1, sizeof(double));
    o->dw_egress = calloc(arcs + 1, sizeof(double));
    if (!o->dw_cost || !o->dw_egress)
        return SLATE_ERR_NOMEM;
    for (size_t k = 0; k < o->nk; k++)
        for (size_t v = 0; v < o->t->classes[k].n_nodes; v++)
            for (size_t a = 0; a < nc; a++)
                for (size_t b = 0; b < nc; b++)
                    o->dw_egress[o->dw_arc_off[k] + (v * nc + a) * nc + b] =
                        slate_opt_egress_usd_s(o, (int)k, (int)v, (int)a, (int)b);
    return SLATE_OK;
}

/* Index of arc (v, a, b) of class |k| in dw_cost and dw_egress. */
static size_t arc(const slate_optimizer *o, int k, size_t v, size_t a, size_t b)
{
    return o->dw_arc_off[k] + (v * o->nc + a) * o->nc + b;
}

/* Re-derives every arc's objective coefficient (profiles, shares or the
 * cost mode changed). Arcs that cannot exist get a cost too; no strategy
 * uses them. */
static void refresh_arc_costs(slate_optimizer *o)
{
    size_t nc = o->nc;
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            int s = c->nodes[v].service;
            for (size_t b = 0; b < nc; b++) {
                if (!o->dep[(size_t)s * nc + b])
                    continue;
                for (size_t a = 0; a < nc; a++)
                    o->dw_cost[arc(o, (int)k, v, a, b)] =
                        slate_opt_x_cost(o, (int)k, (int)v, (int)a, (int)b);
            }
        }
    }
}

/* ---- the set of strategies ------------------------------------------------------ */

/* FNV-1a over the class, the ingress cluster and the destinations. */
static uint64_t strategy_hash(int k, int a, const unsigned char *dest, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    const uint64_t prime = UINT64_C(0x100000001b3);
    uint32_t head[2] = {(uint32_t)k, (uint32_t)a};
    const unsigned char *p = (const unsigned char *)head;
    for (size_t i = 0; i < sizeof(head); i++)
        h = (h ^ p[i]) * prime;
    for (size_t i = 0; i < n; i++)
        h = (h ^ dest[i]) * prime;
    return h;
}

static int same_strategy(const slate_optimizer *o, size_t i, int k, int a,
                         const unsigned char *dest, size_t n)
{
    return o->strat_k[i] == k && o->strat_a[i] == a &&
           memcmp(o->strat_dest + o->strat_off[i], dest, n) == 0;
}

/* Returns the slot of the strategy, or of the empty slot where it would go. */
static size_t find_slot(const slate_optimizer *o, int k, int a, const unsigned char *dest, size_t n)
{
    size_t mask = o->n_slots - 1;
    size_t s = (size_t)strategy_hash(k, a, dest, n) & mask;
    while (o->strat_slots[s] != 0 && !same_strategy(o, o->strat_slots[s] - 1, k, a, dest, n))
        s = (s + 1) & mask;
    return s;
}

/* Doubles the hash set (or creates it) and re-inserts every strategy. */
static int grow_slots(slate_optimizer *o)
{
    size_t n_slots = o->n_slots ? 2 * o->n_slots : 2 * DW_INITIAL_STRATEGIES;
    size_t *slots = calloc(n_slots, sizeof(size_t));
    if (slots == NULL)
        return SLATE_ERR_NOMEM;
    free(o->strat_slots);
    o->strat_slots = slots;
    o->n_slots = n_slots;
    for (size_t i = 0; i < o->n_strat; i++) {
        size_t n = o->t->classes[o->strat_k[i]].n_nodes;
        size_t s = find_slot(o, o->strat_k[i], o->strat_a[i], o->strat_dest + o->strat_off[i], n);
        o->strat_slots[s] = i + 1;
    }
    return SLATE_OK;
}

static int reserve_strategy(slate_optimizer *o, size_t n_nodes)
{
    if (o->n_strat == o->cap_strat) {
        size_t cap = o->cap_strat ? 2 * o->cap_strat : DW_INITIAL_STRATEGIES;
        int *k = realloc(o->strat_k, cap * sizeof(int));
        if (k == NULL)
            return SLATE_ERR_NOMEM;
        o->strat_k = k;
        int *a = realloc(o->strat_a, cap * sizeof(int));
        if (a == NULL)
            return SLATE_ERR_NOMEM;
        o->strat_a = a;
        size_t *off = realloc(o->strat_off, cap * sizeof(size_t));
        if (off == NULL)
            return SLATE_ERR_NOMEM;
        o->strat_off = off;
        o->cap_strat = cap;
    }
    if (o->dest_len + n_nodes > o->dest_cap) {
        size_t cap = o->dest_cap ? 2 * o->dest_cap : DW_INITIAL_STRATEGIES * o->max_nodes;
        while (cap < o->dest_len + n_nodes)
            cap *= 2;
        unsigned char *d = realloc(o->strat_dest, cap);
        if (d == NULL)
            return SLATE_ERR_NOMEM;
        o->strat_dest = d;
        o->dest_cap = cap;
    }
    if (2 * (o->n_strat + 1) > o->n_slots)
        return grow_slots(o);
    return SLATE_OK;
}


/* Calls of node |v| of class |k|'s tree per request at the root, along a
 * pre-order walk: reads the parent's from o->dw_m and stores |v|'s there
 * (o->dw_m is scratch, written even through a const optimizer). */
static double node_mult(const slate_optimizer *o, size_t k, size_t v)
{
    const slate_call_node *n = &o->t->classes[k].nodes[v];
    double m = v == 0 ? 1.0 : o->dw_m[n->parent] * o->count[k][v];
    o->dw_m[v] = m;
    return m;
}
/*
 * Writes strategy |i|'s objective coefficient and, when |matrix|, its
 * column (see the header comment) into the master.
 */
static void write_column(slate_optimizer *o, size_t i, int matrix)
{
    size_t nc = o->nc;
    int k = o->strat_k[i], a = o->strat_a[i];
    int col = o->strat_col0 + (int)i;
    const unsigned char *dest = o->strat_dest + o->strat_off[i];
    const slate_class *c = &o->t->classes[k];
    double cost = 0, egress = 0;
    size_t n_touched = 0;
    for (size_t v = 0; v < c->n_nodes; v++) {
        const slate_call_node *n = &c->nodes[v];
        double m = node_mult(o, k, v);
        if (m == 0)
            continue;
        int src = v == 0 ? a : dest[n->parent], b = dest[v];
        size_t ai = arc(o, k, v, (size_t)src, (size_t)b);
        cost += m * o->dw_cost[ai];
        if (!matrix)
            continue;
        egress += m * 3600.0 * o->dw_egress[ai];
        size_t li = (size_t)n->service * nc + (size_t)b;
        if (!o->dw_mark[li]) {
            o->dw_mark[li] = 1;
            o->dw_load[li] = 0;
            o->dw_touched[n_touched++] = li;
        }
        o->dw_load[li] += m * n->work;
    }
    glp_set_obj_coef(o->lp, col, cost);
    if (!matrix)
        return;
    int len = 1;
    o->dw_ind[1] = o->dem_row[(size_t)k * nc + (size_t)a];
    o->dw_val[1] = 1.0;
    for (size_t j = 0; j < n_touched; j++) {
        size_t li = o->dw_touched[j];
        o->dw_mark[li] = 0;
        if (o->dw_load[li] != 0) {
            len++;
            o->dw_ind[len] = o->load_row[li];
            o->dw_val[len] = -o->dw_load[li];
        }
    }
    /* The budget row only binds in BUDGET mode; in PRICE mode it is free
     * and left empty: a row every strategy touches densifies the basis. */
    if (egress != 0 && o->cost_mode == SLATE_COST_BUDGET) {
        len++;
        o->dw_ind[len] = o->budget_row;
        o->dw_val[len] = egress;
    }
    glp_set_mat_col(o->lp, col, len, o->dw_ind, o->dw_val);
}

/*
 * Adds strategy |dest| of (k, a) as a new master column (>= 0, non-basic at
 * 0) unless it is there already. |*index| is its index either way; |*added|
 * (may be NULL) says which. SLATE_OK or SLATE_ERR_NOMEM.
 */
static int add_strategy(slate_optimizer *o, int k, int a, const unsigned char *dest, size_t *index,
                        int *added)
{
    size_t n = o->t->classes[k].n_nodes;
    if (added != NULL)
        *added = 0;
    int rv = reserve_strategy(o, n);
    if (rv != SLATE_OK)
        return rv;
    size_t s = find_slot(o, k, a, dest, n);
    if (o->strat_slots[s] != 0) {
        *index = o->strat_slots[s] - 1;
        return SLATE_OK;
    }
    size_t i = o->n_strat++;
    o->strat_k[i] = k;
    o->strat_a[i] = a;
    o->strat_off[i] = o->dest_len;
    memcpy(o->strat_dest + o->dest_len, dest, n);
    o->dest_len += n;
    o->strat_slots[s] = i + 1;
    int col = glp_add_cols(o->lp, 1);
    /* Strategies are the last columns, added in order. */
    if (col != o->strat_col0 + (int)i)
        return SLATE_ERR_SOLVE_FAILED;
    glp_set_col_bnds(o->lp, col, GLP_LO, 0.0, 0.0);
    glp_set_col_stat(o->lp, col, GLP_NL);
    write_column(o, i, 1);
    *index = i;
    if (added != NULL)
        *added = 1;
    return SLATE_OK;
}

static void update_size(slate_optimizer *o)
{
    o->n_rows = glp_get_num_rows(o->lp);
    o->n_cols = glp_get_num_cols(o->lp);
    o->n_nz = glp_get_num_nz(o->lp);
}

/* ---- strategies from the tree ------------------------------------------------------ */

/* The default routing's strategy of (k, a): every call to the local
 * deployment, else the nearest (slate_route_default_weights). */
static void default_strategy(const slate_optimizer *o, int k, int a, unsigned char *dest)
{
    double w[SLATE_TOPO_MAX_CLUSTERS];
    const slate_class *c = &o->t->classes[k];
    for (size_t v = 0; v < c->n_nodes; v++) {
        int src = v == 0 ? a : dest[c->nodes[v].parent];
        int s = c->nodes[v].service;
        slate_route_default_weights(o->t, src, s, w);
        int pick = -1;
        for (size_t b = 0; b < o->nc && pick < 0; b++)
            if (w[b] > 0 && o->dep[(size_t)s * o->nc + b])
                pick = (int)b;
        for (size_t b = 0; b < o->nc && pick < 0; b++) /* not reached for a valid topology */
            if (o->dep[(size_t)s * o->nc + b])
                pick = (int)b;
        dest[v] = (unsigned char)(pick < 0 ? 0 : pick);
    }
}

/* The cost the DP gives one call of node |v| from |a| to |b|: its reduced
 * cost terms under the duals (|pi| non-NULL), or its egress alone. */
static double arc_price(const slate_optimizer *o, int k, int v, int a, int b, const double *pi,
                        double pi_budget)
{
    size_t ai = arc(o, k, (size_t)v, (size_t)a, (size_t)b);
    if (pi == NULL)
        return o->dw_egress[ai];
    return o->dw_cost[ai] - pi_budget * 3600.0 * o->dw_egress[ai];
}

/*
 * The DP of class |k| below the root (see the header): fills dw_h for every
 * node and dw_best / dw_pick for every non-root node, under the duals |pi|
 * (1-based by row), or with egress as the only cost when |pi| is NULL.
 */
static void class_dp(slate_optimizer *o, int k, const double *pi, double pi_budget)
{
    size_t nc = o->nc;
    const slate_class *c = &o->t->classes[k];
    /* Pre-order: children come after their parent, so walk backwards. */
    for (size_t v = c->n_nodes; v-- > 0;) {
        const slate_call_node *n = &c->nodes[v];
        double *h = o->dw_h + v * nc;
        for (size_t b = 0; b < nc; b++) {
            size_t li = (size_t)n->service * nc + b;
            if (!o->dep[li]) {
                h[b] = INFINITY;
                continue;
            }
            double x = pi != NULL ? n->work * pi[o->load_row[li]] : 0;
            for (size_t j = 0; j < n->n_children; j++) {
                size_t ch = (size_t)n->children[j];
                if (o->count[k][ch] != 0)
                    x += o->count[k][ch] * o->dw_best[ch * nc + b];
            }
            h[b] = x;
        }
        if (v == 0)
            continue;
        int ps = c->nodes[n->parent].service;
        for (size_t a = 0; a < nc; a++) {
            double best = INFINITY;
            int pick = 0;
            if (o->dep[(size_t)ps * nc + a])
                for (size_t b = 0; b < nc; b++) {
                    if (!isfinite(h[b]))
                        continue;
                    double x = arc_price(o, k, (int)v, (int)a, (int)b, pi, pi_budget) + h[b];
                    if (x < best) {
                        best = x;
                        pick = (int)b;
                    }
                }
            o->dw_best[v * nc + a] = best;
            o->dw_pick[v * nc + a] = (unsigned char)pick;
        }
    }
}

/* After class_dp: the best strategy of (k, a) into dw_sigma; returns its
 * DP value (the reduced cost before pi_D). */
static double best_strategy(slate_optimizer *o, int k, int a, const double *pi, double pi_budget)
{
    size_t nc = o->nc;
    const slate_class *c = &o->t->classes[k];
    int s = c->nodes[0].service;
    int pinned = o->opts.pin_ingress && o->dep[(size_t)s * nc + (size_t)a];
    double best = INFINITY;
    int pick = 0;
    for (size_t b = 0; b < nc; b++) {
        if (!isfinite(o->dw_h[b]) || (pinned && (int)b != a))
            continue;
        double x = arc_price(o, k, 0, a, (int)b, pi, pi_budget) + o->dw_h[b];
        if (x < best) {
            best = x;
            pick = (int)b;
        }
    }
    o->dw_sigma[0] = (unsigned char)pick;
    for (size_t v = 1; v < c->n_nodes; v++)
        o->dw_sigma[v] = o->dw_pick[v * nc + o->dw_sigma[c->nodes[v].parent]];
    return best;
}

/* Adds the least-egress strategy of every (k, a) (BUDGET mode; see the header). */
static int seed_least_egress(slate_optimizer *o)
{
    for (size_t k = 0; k < o->nk; k++) {
        class_dp(o, (int)k, NULL, 0);
        for (size_t a = 0; a < o->nc; a++) {
            size_t index;
            best_strategy(o, (int)k, (int)a, NULL, 0);
            int rv = add_strategy(o, (int)k, (int)a, o->dw_sigma, &index, NULL);
            if (rv != SLATE_OK)
                return rv;
        }
    }
    return SLATE_OK;
}

/* ---- coarse to fine -------------------------------------------------------------- */

/*
 * Ends a cold solve's coarse stage: the master's pieces become the PWL's own
 * again (pwl_group 1) and every load row keeps its load. The strategies'
 * statuses stay; per load row the pieces below the load are non-basic at
 * their upper bound, those above at 0, and the piece holding the load (or
 * the overload column beyond x_max) is basic where the coarse basis had a
 * basic piece or overload column in that row -- where it had none the
 * load sits on a coarse breakpoint, which is a breakpoint of the PWL too.
 * So the basis keeps its size and its columns' pattern (nonsingular as
 * before) and stays primal feasible up to rounding, and the primal simplex
 * continues on the exact LP from the coarse optimum.
 */
void slate_opt_dw_refine(slate_optimizer *o, int group)
{
    int segs = o->opts.pwl_segments;
    o->pwl_group = group;
    for (size_t i = 0; i < o->ns * o->nc; i++) {
        if (!o->dep[i])
            continue;
        double load = glp_get_col_prim(o->lp, o->o_col[i]);
        int basic = glp_get_col_stat(o->lp, o->o_col[i]) == GLP_BS;
        for (int p = 0; p < segs; p++) {
            load += glp_get_col_prim(o->lp, o->seg_col[i] + p);
            basic |= glp_get_col_stat(o->lp, o->seg_col[i] + p) == GLP_BS;
        }
        slate_opt_set_profile_cols(o, i);
        double left = load;
        int placed = 0;
        for (int p = 0; p < segs; p++) {
            int col = o->seg_col[i] + p;
            double len = glp_get_col_ub(o->lp, col);
            if (glp_get_col_type(o->lp, col) == GLP_FX) {
                glp_set_col_stat(o->lp, col, GLP_NS);
            } else if (placed) {
                glp_set_col_stat(o->lp, col, GLP_NL);
            } else if (left >= len - 1e-9 * (1.0 + len) && !(basic && left < len)) {
                glp_set_col_stat(o->lp, col, GLP_NU);
                left -= len;
            } else if (basic) {
                glp_set_col_stat(o->lp, col, GLP_BS);
                placed = 1;
            } else {
                glp_set_col_stat(o->lp, col, GLP_NL);
                placed = 1;
            }
        }
        glp_set_col_stat(o->lp, o->o_col[i], basic && !placed ? GLP_BS : GLP_NL);
    }
}

/* ---- the master ------------------------------------------------------------------ */

int slate_opt_dw_build(slate_optimizer *o)
{
    int rv = alloc_decomposition(o);
    if (rv != SLATE_OK)
        return rv;
    size_t nc = o->nc;
    int segs = o->opts.pwl_segments;
    o->n_strat = 0;
    o->dest_len = 0;
    if (o->strat_slots != NULL)
        memset(o->strat_slots, 0, o->n_slots * sizeof(size_t));

    int nrow = 0, ncol = 0;
    for (size_t i = 0; i < o->nk * nc; i++)
        o->dem_row[i] = ++nrow;
    for (size_t i = 0; i < o->ns * nc; i++) {
        o->seg_col[i] = o->o_col[i] = o->load_row[i] = 0;
        if (!o->dep[i])
            continue;
        o->load_row[i] = ++nrow;
        o->seg_col[i] = ncol + 1;
        ncol += segs;
        o->o_col[i] = ++ncol;
    }
    o->budget_row = ++nrow;
    o->strat_col0 = ncol + 1;
    refresh_arc_costs(o);

    o->lp = glp_create_prob();
    glp_set_obj_dir(o->lp, GLP_MIN);
    glp_add_rows(o->lp, nrow);
    if (ncol > 0)
        glp_add_cols(o->lp, ncol);
    int ind[2] = {0, 0};
    double one[2] = {0, 1.0};
    for (size_t i = 0; i < o->ns * nc; i++) {
        if (!o->dep[i])
            continue;
        ind[1] = o->load_row[i];
        for (int p = 0; p <= segs; p++) {
            int col = p < segs ? o->seg_col[i] + p : o->o_col[i];
            glp_set_col_bnds(o->lp, col, GLP_LO, 0.0, 0.0);
            glp_set_mat_col(o->lp, col, 1, ind, one);
        }
        glp_set_row_bnds(o->lp, o->load_row[i], GLP_FX, 0.0, 0.0);
        slate_opt_set_profile_cols(o, i);
    }
    for (size_t i = 0; i < o->nk * nc; i++)
        glp_set_row_bnds(o->lp, o->dem_row[i], GLP_FX, o->lambda[i], o->lambda[i]);
    slate_opt_set_obj_constant(o);
    slate_opt_set_budget_row(o);

    for (size_t k = 0; k < o->nk; k++)
        for (size_t a = 0; a < nc; a++) {
            size_t index;
            default_strategy(o, (int)k, (int)a, o->dw_sigma);
            rv = add_strategy(o, (int)k, (int)a, o->dw_sigma, &index, NULL);
            if (rv != SLATE_OK)
                return rv;
            o->dw_default[k * nc + a] = (int)index;
        }
    if (o->cost_mode == SLATE_COST_BUDGET) {
        rv = seed_least_egress(o);
        if (rv != SLATE_OK)
            return rv;
    }
    for (size_t k = 0; k < o->nk; k++)
        memset(o->count_dirty[k], 0, o->t->classes[k].n_nodes);
    memset(o->prof_dirty, 0, o->ns * nc);
    o->demand_dirty = 0;
    o->cost_dirty = 0;
    glp_scale_prob(o->lp, GLP_SF_AUTO);
    update_size(o);
    o->has_basis = 0;
    return SLATE_OK;
}

int slate_opt_dw_apply_changes(slate_optimizer *o)
{
    size_t nc = o->nc;
    if (o->demand_dirty) {
        for (size_t i = 0; i < o->nk * nc; i++)
            glp_set_row_bnds(o->lp, o->dem_row[i], GLP_FX, o->lambda[i], o->lambda[i]);
        o->demand_dirty = 0;
    }
    /* Classes whose counts (or critical-path shares) moved: whole columns. */
    free(o->tmp_ia);
    o->tmp_ia = calloc(o->nk + 1, sizeof(int));
    if (o->tmp_ia == NULL)
        return SLATE_ERR_NOMEM;
    int *class_dirty = o->tmp_ia, any_class = 0;
    for (size_t k = 0; k < o->nk; k++)
        for (size_t v = 0; v < o->t->classes[k].n_nodes; v++)
            if (o->count_dirty[k][v]) {
                class_dirty[k] = any_class = 1;
                o->count_dirty[k][v] = 0;
            }
    int all_costs = 0;
    for (size_t i = 0; i < o->ns * nc; i++) {
        if (!o->prof_dirty[i])
            continue;
        slate_opt_set_profile_cols(o, i);
        o->prof_dirty[i] = 0;
        all_costs = 1;
    }
    if (all_costs)
        slate_opt_set_obj_constant(o);
    if (o->cost_dirty) {
        /* The mode decides whether the columns have budget entries. */
        slate_opt_set_budget_row(o);
        o->cost_dirty = 0;
        all_costs = 1;
        for (size_t k = 0; k < o->nk; k++)
            class_dirty[k] = any_class = 1;
    }
    if (any_class || all_costs) {
        /* Shares follow counts under critical_path; t0 and the cost mode
         * enter every arc's cost. */
        refresh_arc_costs(o);
        for (size_t i = 0; i < o->n_strat; i++)
            if (class_dirty[o->strat_k[i]] || all_costs)
                write_column(o, i, class_dirty[o->strat_k[i]]);
    }
    free(o->tmp_ia);
    o->tmp_ia = NULL;
    if (o->cost_mode == SLATE_COST_BUDGET) {
        int rv = seed_least_egress(o);
        if (rv != SLATE_OK)
            return rv;
    }
    update_size(o);
    return SLATE_OK;
}

int slate_opt_dw_crash(slate_optimizer *o)
{
    size_t nc = o->nc;
    free(o->tmp_ar);
    o->tmp_ar = calloc(o->ns * nc + 1, sizeof(double));
    if (o->tmp_ar == NULL)
        return SLATE_ERR_NOMEM;
    double *load = o->tmp_ar;
    slate_opt_basis_all_nonbasic(o);
    for (size_t k = 0; k < o->nk; k++) {
        const slate_class *c = &o->t->classes[k];
        for (size_t a = 0; a < nc; a++) {
            size_t i = (size_t)o->dw_default[k * nc + a];
            glp_set_col_stat(o->lp, o->strat_col0 + (int)i, GLP_BS);
            const unsigned char *dest = o->strat_dest + o->strat_off[i];
            double lambda = o->lambda[k * nc + a];
            for (size_t v = 0; v < c->n_nodes; v++) {
                const slate_call_node *n = &c->nodes[v];
                double m = node_mult(o, k, v);
                load[(size_t)n->service * nc + dest[v]] += lambda * m * n->work;
            }
        }
    }
    slate_opt_crash_load_cols(o, load);
    glp_set_row_stat(o->lp, o->budget_row, GLP_BS);
    free(o->tmp_ar);
    o->tmp_ar = NULL;
    return SLATE_OK;
}

int slate_opt_dw_price(slate_optimizer *o, int *added)
{
    size_t nc = o->nc;
    double *pi = slate_opt_row_duals(o);
    if (pi == NULL)
        return SLATE_ERR_NOMEM;
    double pi_budget = pi[o->budget_row];

    int n = 0, rv = SLATE_OK;
    for (size_t k = 0; k < o->nk && rv == SLATE_OK; k++) {
        const slate_class *c = &o->t->classes[k];
        int dp_done = 0;
        for (size_t a = 0; a < nc; a++) {
            if (o->lambda[k * nc + a] <= 0)
                continue;
            if (!dp_done) {
                class_dp(o, (int)k, pi, pi_budget);
                dp_done = 1;
            }
            double pi_d = pi[o->dem_row[k * nc + a]];
            double rc = best_strategy(o, (int)k, (int)a, pi, pi_budget) - pi_d;
            if (!(rc < 0))
                continue;
            /* The magnitude of the terms, along the chosen strategy. */
            double mag = fabs(pi_d);
            for (size_t v = 0; v < c->n_nodes; v++) {
                const slate_call_node *nd = &c->nodes[v];
                double m = node_mult(o, k, v);
                int src = v == 0 ? (int)a : o->dw_sigma[nd->parent], b = o->dw_sigma[v];
                size_t li = (size_t)nd->service * nc + (size_t)b;
                size_t ai = arc(o, (int)k, v, (size_t)src, (size_t)b);
                mag += m * (fabs(o->dw_cost[ai]) + fabs(nd->work * pi[o->load_row[li]]) +
                            fabs(pi_budget * 3600.0 * o->dw_egress[ai]));
            }
            if (rc >= -DW_PRICE_TOL * (1.0 + mag))
                continue;
            size_t index;
            int was_added = 0;
            rv = add_strategy(o, (int)k, (int)a, o->dw_sigma, &index, &was_added);
            if (rv != SLATE_OK)
                break;
            n += was_added;
        }
    }
    free(o->tmp_ar);
    o->tmp_ar = NULL;
    update_size(o);
    *added = n;
    return rv;
}

int slate_opt_dw_extract(const slate_optimizer *o, slate_solution *s)
{
    size_t nc = o->nc;
    for (size_t i = 0; i < o->n_strat; i++) {
        double y = glp_get_col_prim(o->lp, o->strat_col0 + (int)i);
        if (!(y > 0))
            continue;
        int k = o->strat_k[i], a = o->strat_a[i];
        const slate_class *c = &o->t->classes[k];
        const unsigned char *dest = o->strat_dest + o->strat_off[i];
        double *flows = s->flows[k];
        for (size_t v = 0; v < c->n_nodes; v++) {
            const slate_call_node *n = &c->nodes[v];
            double m = node_mult(o, k, v);
            if (m == 0)
                continue;
            size_t src = v == 0 ? (size_t)a : dest[n->parent];
            flows[(v * nc + src) * nc + dest[v]] += y * m;
        }
    }
    return SLATE_OK;
}
