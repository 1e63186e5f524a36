/*
 * The publish gate (see publish_gate.h).
 */
#include "controller/publish_gate.h"

#include <math.h>

#include "common/err.h"
#include "controller/damping.h"

/* Evaluates |rt|: the LP cost and the overload (work units/s). */
static int evaluate(const slate_topology *t, const slate_profile_set *profiles,
                    const slate_optimizer_opts *o, const slate_route_table *rt, double *cost,
                    double *overload)
{
    if (!t || !profiles || !o || !rt)
        return SLATE_ERR_INVALID_ARG;
    slate_solution *sol = NULL;
    int rv = slate_solution_new(t, &sol);
    if (rv == SLATE_OK)
        rv = slate_route_table_flows(t, rt, sol);
    if (rv == SLATE_OK)
        rv = slate_solution_evaluate(t, profiles, o->u_max, sol);
    if (rv == SLATE_OK) {
        double c = sol->latency_ms_rps + o->overload_penalty * sol->overload_total;
        if (o->cost_mode == SLATE_COST_PRICE && o->usd_per_ms > 0)
            c += sol->egress_usd_per_hour / 3600.0 / o->usd_per_ms;
        if (cost)
            *cost = c;
        if (overload)
            *overload = sol->overload_total;
    }
    slate_solution_free(sol);
    return rv;
}

int slate_route_table_cost(const slate_topology *t, const slate_profile_set *profiles,
                           const slate_optimizer_opts *o, const slate_route_table *rt, double *cost)
{
    return cost ? evaluate(t, profiles, o, rt, cost, NULL) : SLATE_ERR_INVALID_ARG;
}

int slate_publish_gain(const slate_topology *t, const slate_profile_set *profiles,
                       const slate_optimizer_opts *o, const slate_route_table *published,
                       const slate_route_table *candidate, double *gain)
{
    if (!gain)
        return SLATE_ERR_INVALID_ARG;
    if (!published) {
        *gain = 1;
        return SLATE_OK;
    }
    double old_cost = 0, new_cost = 0;
    int rv = slate_route_table_cost(t, profiles, o, published, &old_cost);
    if (rv == SLATE_OK)
        rv = slate_route_table_cost(t, profiles, o, candidate, &new_cost);
    if (rv != SLATE_OK)
        return rv;
    if (old_cost > 0)
        *gain = (old_cost - new_cost) / old_cost;
    else
        *gain = new_cost < old_cost ? 1 : 0;
    return SLATE_OK;
}

int slate_route_table_damp_safe(const slate_topology *t, const slate_profile_set *profiles,
                                const slate_optimizer_opts *o, const slate_route_table *published,
                                const slate_route_table *optimum, double step,
                                slate_route_table **out, double *max_change, double *step_used)
{
    double target = 0;
    int rv = published ? evaluate(t, profiles, o, optimum, NULL, &target) : SLATE_OK;
    for (;;) {
        slate_route_table *next = NULL;
        double over = 0;
        rv = rv == SLATE_OK ? slate_route_table_damp(published, optimum, step, &next, max_change)
                            : rv;
        if (rv == SLATE_OK && published && step < 1)
            rv = evaluate(t, profiles, o, next, NULL, &over);
        if (rv != SLATE_OK) {
            slate_route_table_free(next);
            return rv;
        }
        /* 1% of the optimum's overload, and at least 1e-6 work units/s. */
        if (!published || step >= 1 || over <= target * 1.01 + 1e-6) {
            *out = next;
            if (step_used)
                *step_used = step;
            return SLATE_OK;
        }
        slate_route_table_free(next);
        step = step * 2 < 1 ? step * 2 : 1;
    }
}
