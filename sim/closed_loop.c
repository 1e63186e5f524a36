/*
 * The closed-loop mode (see closed_loop.h): a discrete-event simulation
 * whose telemetry drives the controller's own aggregation, learning,
 * solving and damping code every period of simulated time.
 */
#include "sim/closed_loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "controller/aggregate.h"
#include "controller/learner.h"
#include "controller/publish_gate.h"
#include "sim/world.h"

/* The daemon's defaults: a solve may take 80% of a 5 s period. */
#define LOOP_SOLVE_LIMIT_MS   4000.0
#define LOOP_SOLVE_ITERATIONS 1000000

/* The loop's controller: what it knows and has learned. */
typedef struct controller {
    const slate_scenario *sc;
    slate_policy_kind kind;
    slate_topology *model;        /* owned: topology minus failed clusters' deployments */
    slate_profile_set *prof;      /* owned, borrows model: prior, then learned */
    slate_optimizer *opt;         /* owned; slate only */
    slate_aggregator *agg;        /* owned, borrows sc->topology */
    slate_learner *learner;       /* owned, borrows sc->topology */
    slate_route_table *published; /* owned; NULL before the first publication */
    unsigned char *failed;        /* nc: the failures the model reflects */
} controller;

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void controller_cleanup(controller *c)
{
    slate_route_table_free(c->published);
    slate_learner_free(c->learner);
    slate_aggregator_free(c->agg);
    slate_optimizer_free(c->opt);
    slate_profile_set_free(c->prof);
    slate_topology_free(c->model);
    free(c->failed);
}

/*
 * (Re)builds the model for the failures in |failed|: the topology without
 * those clusters' deployments (nominal capacities, the loop's current
 * demand), profiles carried over from the previous model (else the prior),
 * a new optimizer (the next solve is cold).
 */
static int controller_model(controller *c, const unsigned char *failed, slate_diag *diag)
{
    const slate_scenario *sc = c->sc;
    const slate_topology *t = sc->topology;
    slate_world w;
    int rv = slate_world_init(&w, sc);
    if (rv != SLATE_OK)
        return rv;
    memcpy(w.failed, failed, t->n_clusters);
    if (c->model != NULL) /* keep the demand learned so far */
        for (size_t i = 0; i < c->model->n_demand; i++)
            w.lambda[(size_t)c->model->demand[i].klass * w.nc +
                     (size_t)c->model->demand[i].cluster] = c->model->demand[i].rps;
    slate_topology *model = NULL;
    slate_profile_set *truth = NULL, *prof = NULL;
    slate_optimizer *opt = NULL;
    rv = slate_world_view(sc, &w, &model, &truth, diag);
    slate_world_cleanup(&w);
    if (rv == SLATE_OK)
        rv = slate_profile_set_new(model, &prof);
    for (size_t s = 0; s < t->n_services && rv == SLATE_OK; s++)
        for (size_t d = 0; d < model->services[s].n_deployments && rv == SLATE_OK; d++) {
            int b = model->services[s].deployments[d].cluster;
            const slate_profile *p =
                c->prof != NULL ? slate_profile_set_get(c->prof, (int)s, b) : NULL;
            if (p == NULL && sc->slate_told_truth)
                p = slate_profile_set_get(truth, (int)s, b);
            if (p != NULL)
                rv = slate_profile_set_put(prof, (int)s, b, p);
        }
    if (rv == SLATE_OK && c->kind == SLATE_POLICY_SLATE)
        rv = slate_optimizer_new(model, prof, &sc->policy_opts.lp, &opt, diag);
    slate_profile_set_free(truth);
    if (rv != SLATE_OK) {
        slate_optimizer_free(opt);
        slate_profile_set_free(prof);
        slate_topology_free(model);
        return rv;
    }
    slate_optimizer_free(c->opt);
    slate_profile_set_free(c->prof);
    slate_topology_free(c->model);
    c->model = model;
    c->prof = prof;
    c->opt = opt;
    memcpy(c->failed, failed, t->n_clusters);
    return SLATE_OK;
}

static int controller_init(controller *c, const slate_scenario *sc, slate_policy_kind kind,
                           double period_s, slate_diag *diag)
{
    memset(c, 0, sizeof(*c));
    c->sc = sc;
    c->kind = kind;
    const slate_topology *t = sc->topology;
    c->failed = calloc(t->n_clusters + 1, 1);
    if (c->failed == NULL)
        return SLATE_ERR_NOMEM;
    /* Instances age out after three periods, as in the daemon. */
    int rv = slate_aggregator_new(t, (int64_t)llround(3 * period_s * 1000.0), &c->agg);
    if (rv == SLATE_OK)
        rv = slate_learner_new(t, &c->learner);
    if (rv == SLATE_OK)
        rv = controller_model(c, c->failed, diag);
    return rv;
}

/* Zeroes the weights to failed clusters (the model has no deployment there)
 * and renormalises; a rule left with nothing keeps |optimum|'s weights. */
static void drop_failed(slate_route_table *rt, const slate_route_table *optimum,
                        const unsigned char *failed)
{
    size_t nc = rt->n_clusters;
    for (size_t i = 0; i < rt->n_rules; i++) {
        slate_route_rule *r = &rt->rules[i];
        double sum = 0;
        for (size_t b = 0; b < nc; b++) {
            if (failed[b])
                r->weights[b] = 0;
            sum += r->weights[b];
        }
        if (sum > 0) {
            for (size_t b = 0; b < nc; b++)
                r->weights[b] /= sum;
            continue;
        }
        const slate_route_rule *o = slate_route_table_find(optimum, r->klass, r->src_service,
                                                           r->src_cluster, r->dst_service);
        if (o != NULL)
            memcpy(r->weights, o->weights, nc * sizeof(double));
    }
}

/* The policy's table for what the controller knows now (owned), or NULL
 * with |*failed| set when the solve failed. */
static int controller_table(controller *c, slate_route_table **out, int *failed, slate_diag *diag)
{
    *out = NULL;
    *failed = 0;
    if (c->kind == SLATE_POLICY_SLATE) {
        slate_optimizer_set_limits(c->opt, LOOP_SOLVE_LIMIT_MS, LOOP_SOLVE_ITERATIONS);
        int rv = slate_optimizer_solve(c->opt, diag);
        if (rv == SLATE_ERR_NOMEM)
            return rv;
        const slate_solution *sol = slate_optimizer_solution(c->opt);
        *failed = rv != SLATE_OK;
        /* A failed solve leaves the previous solution: the table stays. */
        return rv == SLATE_OK && sol != NULL ? slate_route_table_build(c->model, sol, out)
                                             : SLATE_OK;
    }
    slate_policy_input in = {.t = c->model, .profiles = c->prof, .health = NULL};
    int rv = slate_policy_routes(c->kind, &in, &c->sc->policy_opts, out, diag);
    if (rv != SLATE_OK && rv != SLATE_ERR_NOMEM) {
        *failed = 1;
        rv = SLATE_OK;
    }
    return rv;
}

/* Solves (or runs the baseline), damps and publishes into |des|. */
static int controller_publish(controller *c, slate_des *des, const slate_sim_opts *o,
                              slate_loop_period *pr, slate_diag *diag)
{
    slate_route_table *optimum = NULL, *next = NULL;
    double t0 = wall_ms();
    slate_diag_clear(diag);
    int rv = controller_table(c, &optimum, &pr->solve_failed, diag);
    pr->solve_ms = wall_ms() - t0;
    if (rv != SLATE_OK || optimum == NULL)
        return rv;
    double change = 1;
    rv = slate_route_table_damp_safe(c->model, c->prof, &c->sc->policy_opts.lp, c->published,
                                     optimum, o->loop_damping_step, &next, &change, NULL);
    if (rv == SLATE_OK)
        drop_failed(next, optimum, c->failed);
    pr->max_change = change;
    pr->gain = NAN;
    int worth = c->published == NULL || change >= o->loop_publish_threshold;
    if (rv == SLATE_OK && worth && c->published != NULL && c->kind == SLATE_POLICY_SLATE) {
        rv = slate_publish_gain(c->model, c->prof, &c->sc->policy_opts.lp, c->published, next,
                                &pr->gain);
        worth = rv == SLATE_OK && pr->gain >= o->loop_min_gain;
    }
    if (rv == SLATE_OK && worth) {
        rv = slate_des_set_routes(des, next);
        if (rv == SLATE_OK) {
            slate_route_table_free(c->published);
            c->published = next;
            next = NULL;
            pr->published = 1;
        }
    }
    slate_route_table_free(next);
    slate_route_table_free(optimum);
    return rv;
}

/* One period, closing at the simulator's current time: observe, learn,
 * publish. */
static int controller_period(controller *c, slate_des *des, const slate_world *world,
                             const slate_sim_opts *o, slate_loop_period *pr, slate_diag *diag)
{
    const slate_topology *t = c->sc->topology;
    int64_t now_ms = llround(slate_des_now(des) * 1000.0);
    memset(pr, 0, sizeof(*pr));
    pr->t_s = slate_des_now(des);
    int rv;
    if (memcmp(world->failed, c->failed, t->n_clusters) != 0 &&
        (rv = controller_model(c, world->failed, diag)) != SLATE_OK)
        return rv;
    slate_report **reports = NULL;
    size_t n_reports = 0;
    rv = slate_des_telemetry_take(des, &reports, &n_reports);
    for (size_t i = 0; i < n_reports && rv == SLATE_OK; i++) {
        slate_diag_clear(diag);
        rv = slate_aggregator_add(c->agg, reports[i], now_ms, diag);
    }
    slate_des_reports_free(reports, n_reports);
    slate_observation *obs = NULL;
    if (rv == SLATE_OK)
        rv = slate_aggregator_take(c->agg, now_ms, &obs);
    if (rv != SLATE_OK)
        return rv;
    for (size_t i = 0; i < t->n_classes * t->n_clusters; i++)
        pr->ingress_rps += isnan(obs->demand_rps[i]) ? 0 : obs->demand_rps[i];
    pr->refits =
        slate_learner_apply(c->learner, obs, o->loop_learn, c->model, c->prof, c->opt, NULL, NULL);
    slate_observation_free(obs);
    return controller_publish(c, des, o, pr, diag);
}

int slate_sim_closed_loop(const slate_scenario *sc, slate_policy_kind kind, const slate_sim_opts *o,
                          slate_sim_row *row, slate_diag *diag)
{
    if (!slate_policy_has_table(kind)) {
        row->status = SLATE_ERR_INVALID_ARG;
        snprintf(row->error, sizeof(row->error), "%s is per request: DES mode only",
                 slate_policy_name(kind));
        return SLATE_OK;
    }
    const slate_topology *t = sc->topology;
    double period = o->loop_period_s;
    size_t max_periods = (size_t)ceil(sc->duration_s / period) + 2;
    double *times = NULL;
    size_t n_times = 0, next_time = 0;
    slate_des *des = NULL;
    slate_des_result *res = NULL;
    slate_world world;
    controller ctl;
    const char *what = "controller";
    int world_ok = 0, ctl_ok = 0;
    row->periods = calloc(max_periods, sizeof(*row->periods));
    int rv = row->periods == NULL ? SLATE_ERR_NOMEM : slate_world_segments(sc, &times, &n_times);
    if (rv == SLATE_OK && (rv = slate_world_init(&world, sc)) == SLATE_OK)
        world_ok = 1;
    if (rv == SLATE_OK) {
        rv = controller_init(&ctl, sc, kind, period, diag);
        ctl_ok = 1;
    }
    if (rv == SLATE_OK) {
        what = "simulator";
        slate_des_opts dopts;
        slate_sim_des_opts(sc, o, &dopts);
        rv = slate_des_new(t, sc->truth, &dopts, &des);
    }
    if (rv == SLATE_OK)
        rv = slate_des_telemetry_enable(des);
    /* t = 0: the first table, from the prior (the topology's demand). */
    if (rv == SLATE_OK) {
        what = slate_policy_name(kind);
        rv = controller_publish(&ctl, des, o, &row->periods[0], diag);
        if (rv == SLATE_OK)
            row->n_periods++;
    }
    /* Walk simulated time through the world's changes and the periods. */
    double next_period = period;
    while (rv == SLATE_OK) {
        double seg = next_time < n_times ? times[next_time] : INFINITY;
        double at = fmin(seg, next_period);
        if (!(at < sc->duration_s)) /* segments all start below it */
            break;
        what = "simulator";
        rv = slate_des_run_until(des, at);
        if (rv != SLATE_OK)
            break;
        if (seg <= at) {
            rv = slate_world_advance(&world, sc, seg, des);
            next_time++;
            continue;
        }
        what = slate_policy_name(kind);
        rv = controller_period(&ctl, des, &world, o, &row->periods[row->n_periods], diag);
        if (rv == SLATE_OK)
            row->n_periods++;
        next_period += period;
    }
    if (rv == SLATE_OK) {
        what = "simulator";
        rv = slate_des_finish(des);
    }
    if (rv == SLATE_OK)
        rv = slate_des_result_get(des, &res);
    if (rv == SLATE_OK) {
        slate_sim_row_take_des(row, res, t->n_classes * t->n_clusters);
        res = NULL;
    } else {
        slate_sim_row_error(row, rv, what, diag);
    }
    slate_des_result_free(res);
    slate_des_free(des);
    if (ctl_ok)
        controller_cleanup(&ctl);
    if (world_ok)
        slate_world_cleanup(&world);
    free(times);
    return rv == SLATE_ERR_NOMEM ? rv : SLATE_OK;
}
