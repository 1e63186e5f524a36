/*
 * The scenario runner (see runner.h): segment state, topology views, the two
 * evaluation modes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/publish_gate.h"
#include "sim/closed_loop.h"
#include "sim/runner.h"
#include "sim/world.h"

void slate_sim_opts_init(slate_sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->modes = SLATE_SIM_ANALYTIC;
    o->max_requests = 2000000;
    o->loop_period_s = 5;
    o->loop_damping_step = 0.5;
    o->loop_publish_threshold = 0.01;
    o->loop_learn = 1;
    o->loop_min_gain = SLATE_PUBLISH_MIN_GAIN_DEFAULT;
}

/* ---- one row ---------------------------------------------------------------------- */

void slate_sim_row_error(slate_sim_row *row, int status, const char *what, const slate_diag *d)
{
    row->status = status;
    const char *detail = d != NULL && d->n > 0 ? d->entries[0].msg : slate_strerror(status);
    snprintf(row->error, sizeof(row->error), "%.60s: %.190s", what, detail);
}

/* The policy's table for the view (p2c-ewma: NULL). */
static int policy_table(const slate_scenario *sc, slate_policy_kind kind,
                        const slate_topology *view, const slate_profile_set *truth,
                        const slate_world *st, slate_route_table **rt, slate_diag *diag)
{
    *rt = NULL;
    if (!slate_policy_has_table(kind))
        return SLATE_OK;
    double *health = calloc(st->ns * st->nc + 1, sizeof(double));
    if (health == NULL)
        return SLATE_ERR_NOMEM;
    for (size_t i = 0; i < st->ns * st->nc; i++)
        health[i] = fmin(1.0, st->cap[i]) * (st->failed[i % st->nc] ? 0.0 : 1.0);
    slate_policy_input in = {view, sc->slate_told_truth ? truth : NULL, health};
    int rv = slate_policy_routes(kind, &in, &sc->policy_opts, rt, diag);
    free(health);
    return rv;
}

static int run_analytic(const slate_scenario *sc, slate_policy_kind kind, slate_sim_row *row,
                        slate_diag *diag)
{
    const slate_topology *t = sc->topology;
    size_t nk = t->n_classes, nc = t->n_clusters;
    if (!slate_policy_has_table(kind)) {
        row->status = SLATE_ERR_INVALID_ARG;
        snprintf(row->error, sizeof(row->error), "%s is per request: DES mode only",
                 slate_policy_name(kind));
        return SLATE_OK;
    }
    double *times = NULL, *cls_w = calloc(nk * nc + 1, sizeof(double));
    size_t n_times = 0;
    slate_world st;
    int rv = cls_w == NULL ? SLATE_ERR_NOMEM : slate_world_segments(sc, &times, &n_times);
    if (rv == SLATE_OK)
        rv = slate_world_init(&st, sc);
    else {
        free(cls_w);
        free(times);
        return rv;
    }
    double w_total = 0, lat = 0, lat_sum = 0, egress = 0, overload = 0, span = 0;
    for (size_t i = 0; i < n_times && rv == SLATE_OK; i++) {
        double lo = fmax(times[i], sc->warmup_s);
        double hi = i + 1 < n_times ? times[i + 1] : sc->duration_s;
        slate_world_advance(&st, sc, times[i], NULL);
        if (hi <= lo)
            continue;
        double len = hi - lo;
        slate_topology *view = NULL;
        slate_profile_set *truth = NULL;
        slate_route_table *rt = NULL;
        slate_solution *sol = NULL;
        slate_diag_clear(diag);
        rv = slate_world_view(sc, &st, &view, &truth, diag);
        if (rv != SLATE_OK) {
            slate_sim_row_error(row, rv, "topology view", diag);
            break;
        }
        int prv = policy_table(sc, kind, view, truth, &st, &rt, diag);
        if (prv == SLATE_OK)
            prv = slate_solution_new(view, &sol);
        if (prv == SLATE_OK)
            prv = slate_route_table_flows(view, rt, sol);
        if (prv == SLATE_OK)
            prv = slate_solution_evaluate(view, truth, sc->policy_opts.lp.u_max, sol);
        if (prv != SLATE_OK) {
            slate_sim_row_error(row, prv, slate_policy_name(kind), diag);
        } else {
            span += len;
            egress += sol->egress_usd_per_hour * len;
            overload += sol->overload_total * len;
            for (size_t s = 0; s < view->n_services * nc; s++)
                row->max_utilization = fmax(row->max_utilization, sol->utilization[s]);
            for (size_t k = 0; k < nk; k++)
                for (size_t a = 0; a < nc; a++) {
                    double l = st.lambda[k * nc + a] * len;
                    if (!(l > 0))
                        continue;
                    double cp = sol->class_latency_cp_ms[k * nc + a];
                    w_total += l;
                    lat += l * cp;
                    lat_sum += l * sol->class_latency_ms[k * nc + a];
                    cls_w[k * nc + a] += l;
                    row->per_class[k * nc + a].mean_ms += l * cp;
                }
        }
        slate_solution_free(sol);
        slate_route_table_free(rt);
        slate_profile_set_free(truth);
        slate_topology_free(view);
        if (prv != SLATE_OK)
            break;
    }
    if (row->status == SLATE_OK && rv == SLATE_OK) {
        row->mean_ms = w_total > 0 ? lat / w_total : NAN;
        row->mean_sum_ms = w_total > 0 ? lat_sum / w_total : NAN;
        row->egress_usd_per_hour = span > 0 ? egress / span : 0;
        row->overload = span > 0 ? overload / span : 0;
        for (size_t i = 0; i < nk * nc; i++)
            row->per_class[i].mean_ms = cls_w[i] > 0 ? row->per_class[i].mean_ms / cls_w[i] : NAN;
    }
    slate_world_cleanup(&st);
    free(times);
    free(cls_w);
    return rv == SLATE_ERR_NOMEM ? rv : SLATE_OK;
}

static int run_des(const slate_scenario *sc, slate_policy_kind kind, const slate_sim_opts *o,
                   slate_sim_row *row, slate_diag *diag)
{
    const slate_topology *t = sc->topology;
    size_t nk = t->n_classes, nc = t->n_clusters;
    double *times = NULL;
    size_t n_times = 0;
    slate_des *des = NULL;
    slate_des_result *res = NULL;
    slate_world st;
    int rv = slate_world_segments(sc, &times, &n_times);
    if (rv != SLATE_OK)
        return rv;
    rv = slate_world_init(&st, sc);
    if (rv != SLATE_OK) {
        free(times);
        return rv;
    }
    slate_des_opts dopts;
    slate_sim_des_opts(sc, o, &dopts);
    rv = slate_des_new(t, sc->truth, &dopts, &des);
    const char *what = "simulator";
    for (size_t i = 0; i < n_times && rv == SLATE_OK; i++) {
        rv = slate_des_run_until(des, times[i]);
        if (rv == SLATE_OK)
            rv = slate_world_advance(&st, sc, times[i], des);
        slate_topology *view = NULL;
        slate_profile_set *truth = NULL;
        slate_route_table *rt = NULL;
        slate_diag_clear(diag);
        if (rv == SLATE_OK) {
            what = "topology view";
            rv = slate_world_view(sc, &st, &view, &truth, diag);
        }
        if (rv == SLATE_OK) {
            what = slate_policy_name(kind);
            rv = policy_table(sc, kind, view, truth, &st, &rt, diag);
        }
        if (rv == SLATE_OK)
            rv = slate_des_set_routes(des, rt);
        slate_route_table_free(rt);
        slate_profile_set_free(truth);
        slate_topology_free(view);
    }
    if (rv == SLATE_OK) {
        what = "simulator";
        rv = slate_des_finish(des);
    }
    if (rv == SLATE_OK)
        rv = slate_des_result_get(des, &res);
    if (rv == SLATE_OK) {
        slate_sim_row_take_des(row, res, nk * nc);
        res = NULL;
    } else {
        slate_sim_row_error(row, rv, what, diag);
    }
    slate_des_result_free(res);
    slate_des_free(des);
    slate_world_cleanup(&st);
    free(times);
    return rv == SLATE_ERR_NOMEM ? rv : SLATE_OK;
}

void slate_sim_des_opts(const slate_scenario *sc, const slate_sim_opts *o, slate_des_opts *out)
{
    slate_des_opts_init(out);
    out->seed = o->has_seed ? o->seed : sc->seed;
    out->warmup_s = sc->warmup_s;
    out->end_s = sc->duration_s;
    out->max_requests = o->max_requests;
}

void slate_sim_row_take_des(slate_sim_row *row, slate_des_result *res, size_t n_class_clusters)
{
    row->mean_ms = res->all.mean_ms;
    row->p50_ms = res->all.p50_ms;
    row->p90_ms = res->all.p90_ms;
    row->p99_ms = res->all.p99_ms;
    row->egress_usd_per_hour = res->egress_usd_per_hour;
    row->max_utilization = res->max_utilization;
    row->requests = res->all.count;
    row->overload = res->all.count ? (double)res->all.overloaded / (double)res->all.count : 0;
    row->truncated = res->truncated;
    memcpy(row->per_class, res->per_class, n_class_clusters * sizeof(*row->per_class));
    row->des = res; /* kept for plots */
}

/* ---- the report ------------------------------------------------------------------- */

void slate_sim_report_free(slate_sim_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_rows; i++) {
        free(r->rows[i].per_class);
        free(r->rows[i].periods);
        slate_des_result_free(r->rows[i].des);
    }
    free(r->rows);
    free(r);
}

int slate_sim_run(const slate_scenario *sc, const slate_policy_kind *policies, size_t n_policies,
                  const slate_sim_opts *opts, slate_sim_report **out, slate_diag *diag)
{
    slate_sim_opts defaults;
    slate_sim_opts_init(&defaults);
    if (opts == NULL)
        opts = &defaults;
    if (sc == NULL || out == NULL || (policies == NULL && n_policies > 0) ||
        n_policies > 64 * SLATE_POLICY_COUNT ||
        (opts->modes & (SLATE_SIM_ANALYTIC | SLATE_SIM_DES | SLATE_SIM_CLOSED)) == 0 ||
        ((opts->modes & SLATE_SIM_CLOSED) &&
         (!(opts->loop_period_s > 0) || !(opts->loop_damping_step > 0) ||
          !(opts->loop_damping_step <= 1) || !(opts->loop_publish_threshold >= 0) ||
          !(opts->loop_publish_threshold <= 1) || !(opts->loop_min_gain >= 0) ||
          !(opts->loop_min_gain <= 1))))
        return SLATE_ERR_INVALID_ARG;
    const slate_topology *t = sc->topology;
    size_t nkc = t->n_classes * t->n_clusters;
    slate_sim_report *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return SLATE_ERR_NOMEM;
    r->t = t;
    r->rows = calloc(3 * n_policies + 1, sizeof(*r->rows));
    if (r->rows == NULL) {
        free(r);
        return SLATE_ERR_NOMEM;
    }
    int rv = SLATE_OK;
    for (int mode = SLATE_SIM_ANALYTIC; mode <= SLATE_SIM_CLOSED && rv == SLATE_OK; mode <<= 1) {
        if (!(opts->modes & mode))
            continue;
        for (size_t i = 0; i < n_policies && rv == SLATE_OK; i++) {
            slate_sim_row *row = &r->rows[r->n_rows++];
            row->policy = policies[i];
            row->mode = mode;
            row->mean_ms = row->p50_ms = row->p90_ms = row->p99_ms = row->mean_sum_ms = NAN;
            row->per_class = calloc(nkc + 1, sizeof(*row->per_class));
            if (row->per_class == NULL) {
                rv = SLATE_ERR_NOMEM;
                break;
            }
            for (size_t j = 0; j < nkc; j++)
                row->per_class[j].p50_ms = row->per_class[j].p90_ms = row->per_class[j].p99_ms =
                    NAN;
            if (mode == SLATE_SIM_ANALYTIC)
                rv = run_analytic(sc, policies[i], row, diag);
            else if (mode == SLATE_SIM_DES)
                rv = run_des(sc, policies[i], opts, row, diag);
            else
                rv = slate_sim_closed_loop(sc, policies[i], opts, row, diag);
        }
    }
    if (rv != SLATE_OK) {
        slate_sim_report_free(r);
        return rv;
    }
    *out = r;
    return SLATE_OK;
}

const slate_sim_row *slate_sim_report_find(const slate_sim_report *r, slate_policy_kind policy,
                                           int mode)
{
    for (size_t i = 0; r != NULL && i < r->n_rows; i++)
        if (r->rows[i].policy == policy && r->rows[i].mode == mode)
            return &r->rows[i];
    return NULL;
}

static const char *mode_name(int mode)
{
    return mode == SLATE_SIM_CLOSED ? "closed-loop" : mode == SLATE_SIM_DES ? "des" : "analytic";
}

/* |x| / the waterfall row's |x| in the same mode, NaN without one. */
static double vs_waterfall(const slate_sim_report *r, const slate_sim_row *row, int egress)
{
    const slate_sim_row *w = slate_sim_report_find(r, SLATE_POLICY_WATERFALL, row->mode);
    if (w == NULL || w->status != SLATE_OK || row->status != SLATE_OK)
        return NAN;
    return egress ? row->egress_usd_per_hour / w->egress_usd_per_hour : row->mean_ms / w->mean_ms;
}

void slate_sim_report_print(const slate_sim_report *r, FILE *fp)
{
    for (int mode = SLATE_SIM_ANALYTIC; mode <= SLATE_SIM_CLOSED; mode <<= 1) {
        int header = 0;
        for (size_t i = 0; i < r->n_rows; i++) {
            const slate_sim_row *row = &r->rows[i];
            if (row->mode != mode)
                continue;
            if (!header) {
                fprintf(fp, "\n%s mode%s\n", mode_name(mode),
                        mode != SLATE_SIM_ANALYTIC ? " (overload: share of requests that met an "
                                                     "overloaded queue)"
                                                   : " (overload: work units/s above u_max x "
                                                     "capacity)");
                fprintf(fp, "%-15s %9s %9s %9s %12s %8s %9s %8s %9s\n", "policy", "mean_ms",
                        "p50_ms", "p99_ms", "egress_usd/h", "max_util", "overload", "mean/wf",
                        "egress/wf");
                header = 1;
            }
            if (row->status != SLATE_OK) {
                fprintf(fp, "%-15s error: %s\n", slate_policy_name(row->policy), row->error);
                continue;
            }
            fprintf(fp, "%-15s %9.2f %9.2f %9.2f %12.4f %8.3f %9.4g %8.3f %9.3f%s\n",
                    slate_policy_name(row->policy), row->mean_ms, row->p50_ms, row->p99_ms,
                    row->egress_usd_per_hour, row->max_utilization, row->overload,
                    vs_waterfall(r, row, 0), vs_waterfall(r, row, 1),
                    row->truncated ? "  (truncated)" : "");
        }
    }
}

int slate_sim_report_write_csv(const slate_sim_report *r, FILE *fp)
{
    fprintf(fp, "policy,mode,status,mean_ms,p50_ms,p90_ms,p99_ms,mean_sum_ms,"
                "egress_usd_per_hour,max_utilization,overload,requests,truncated,"
                "mean_vs_waterfall,egress_vs_waterfall\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const slate_sim_row *row = &r->rows[i];
        fprintf(fp, "%s,%s,%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%llu,%d,%.9g,%.9g\n",
                slate_policy_name(row->policy), mode_name(row->mode),
                row->status == SLATE_OK ? "ok" : slate_errname(row->status), row->mean_ms,
                row->p50_ms, row->p90_ms, row->p99_ms, row->mean_sum_ms, row->egress_usd_per_hour,
                row->max_utilization, row->overload, (unsigned long long)row->requests,
                row->truncated, vs_waterfall(r, row, 0), vs_waterfall(r, row, 1));
    }
    return ferror(fp) ? SLATE_ERR_IO : SLATE_OK;
}

static int row_json(const slate_sim_report *r, const slate_sim_row *row, cJSON *o)
{
    const slate_topology *t = r->t;
    if (cJSON_AddStringToObject(o, "policy", slate_policy_name(row->policy)) == NULL ||
        cJSON_AddStringToObject(o, "mode", mode_name(row->mode)) == NULL)
        return SLATE_ERR_NOMEM;
    if (row->status != SLATE_OK)
        return cJSON_AddStringToObject(o, "error", row->error) ? SLATE_OK : SLATE_ERR_NOMEM;
    if (!slate_json_add_number(o, "mean_ms", row->mean_ms) ||
        !slate_json_add_number(o, "p50_ms", row->p50_ms) ||
        !slate_json_add_number(o, "p90_ms", row->p90_ms) ||
        !slate_json_add_number(o, "p99_ms", row->p99_ms) ||
        !slate_json_add_number(o, "mean_sum_ms", row->mean_sum_ms) ||
        !slate_json_add_number(o, "egress_usd_per_hour", row->egress_usd_per_hour) ||
        !slate_json_add_number(o, "max_utilization", row->max_utilization) ||
        !slate_json_add_number(o, "overload", row->overload) ||
        !slate_json_add_number(o, "requests", (double)row->requests) ||
        !cJSON_AddBoolToObject(o, "truncated", row->truncated) ||
        !slate_json_add_number(o, "mean_vs_waterfall", vs_waterfall(r, row, 0)) ||
        !slate_json_add_number(o, "egress_vs_waterfall", vs_waterfall(r, row, 1)))
        return SLATE_ERR_NOMEM;
    /* DES work done, for throughput measurements (bench/bench_sim.sh). */
    if (row->des && (!slate_json_add_number(o, "simulated_calls", (double)row->des->calls) ||
                     !slate_json_add_number(o, "simulated_events", (double)row->des->events)))
        return SLATE_ERR_NOMEM;
    if (row->periods != NULL) {
        cJSON *ps = cJSON_AddArrayToObject(o, "periods");
        if (ps == NULL)
            return SLATE_ERR_NOMEM;
        for (size_t i = 0; i < row->n_periods; i++) {
            const slate_loop_period *pr = &row->periods[i];
            cJSON *e = cJSON_CreateObject();
            if (e == NULL || !slate_json_attach(ps, NULL, e) ||
                !slate_json_add_number(e, "t_s", pr->t_s) ||
                !slate_json_add_number(e, "ingress_rps", pr->ingress_rps) ||
                !slate_json_add_number(e, "refits", pr->refits) ||
                !cJSON_AddBoolToObject(e, "published", pr->published) ||
                !cJSON_AddBoolToObject(e, "solve_failed", pr->solve_failed) ||
                !slate_json_add_number(e, "max_change", pr->max_change) ||
                !slate_json_add_number(e, "gain", pr->gain) ||
                !slate_json_add_number(e, "solve_ms", pr->solve_ms))
                return SLATE_ERR_NOMEM;
        }
    }
    cJSON *pc = cJSON_AddArrayToObject(o, "per_class");
    if (pc == NULL)
        return SLATE_ERR_NOMEM;
    size_t nc = t->n_clusters;
    for (size_t k = 0; k < t->n_classes; k++)
        for (size_t a = 0; a < nc; a++) {
            const slate_des_stats *s = &row->per_class[k * nc + a];
            if (isnan(s->mean_ms))
                continue;
            cJSON *e = cJSON_CreateObject();
            if (e == NULL || !slate_json_attach(pc, NULL, e) ||
                !cJSON_AddStringToObject(e, "class", t->classes[k].name) ||
                !cJSON_AddStringToObject(e, "cluster", t->clusters[a]) ||
                !slate_json_add_number(e, "count", (double)s->count) ||
                !slate_json_add_number(e, "mean_ms", s->mean_ms) ||
                !slate_json_add_number(e, "p50_ms", s->p50_ms) ||
                !slate_json_add_number(e, "p90_ms", s->p90_ms) ||
                !slate_json_add_number(e, "p99_ms", s->p99_ms) ||
                !slate_json_add_number(e, "overloaded", (double)s->overloaded))
                return SLATE_ERR_NOMEM;
        }
    return SLATE_OK;
}

int slate_sim_report_to_json(const slate_sim_report *r, char **out)
{
    if (r == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = cJSON_CreateObject(), *rows = NULL;
    int rv = SLATE_ERR_NOMEM;
    if (root == NULL || cJSON_AddStringToObject(root, "topology", r->t->name) == NULL ||
        (rows = cJSON_AddArrayToObject(root, "rows")) == NULL)
        goto out;
    for (size_t i = 0; i < r->n_rows; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !slate_json_attach(rows, NULL, o) ||
            row_json(r, &r->rows[i], o) != SLATE_OK)
            goto out;
    }
    rv = slate_json_print(root, 1, out);
out:
    cJSON_Delete(root);
    return rv;
}
