/*
 * The control loop (issue 4, item 3): every period, on its own thread,
 *   aggregate -> learn -> warm re-solve (deadline below the period) -> damp
 *   (slate: safe damping and the publish gate, publish_gate.h) -> publish a
 *   new version (persist, wake long-polls).
 * It holds the ctl's mutex only to copy inputs out and to publish; the solve
 * runs on the loop's own copies, so the API never waits for the solver.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/aggregate.h"
#include "controller/ctl.h"
#include "controller/damping.h"
#include "controller/learner.h"
#include "controller/publish_gate.h"
#include "controller/solution_json.h"
#include "sim/policy.h"

typedef struct loop_state {
    uint64_t gen, profiles_gen;
    slate_topology *t;      /* owned; the optimizer's (never changed) */
    slate_topology *view;   /* owned; t with the observed demand (policies, JSON) */
    slate_profile_set *prof; /* owned; current (prior or learned), borrows t */
    slate_optimizer *opt;   /* owned */
    slate_optimizer_opts opts; /* the optimizer's, for the publish gate */
    slate_learner *learner; /* owned */
    slate_policy_kind policy;
} loop_state;

static void state_clear(loop_state *s)
{
    slate_optimizer_free(s->opt);
    slate_profile_set_free(s->prof);
    slate_topology_free(s->view);
    slate_topology_free(s->t);
    slate_learner_free(s->learner);
    memset(s, 0, sizeof(*s));
}

/* Copies every deployment's profile from |src| (another topology object
 * with the same shape) into |dst|. */
static int copy_profiles(const slate_topology *t, const slate_profile_set *src,
                         slate_profile_set *dst)
{
    for (size_t s = 0; s < t->n_services; s++)
        for (size_t d = 0; d < t->services[s].n_deployments; d++) {
            int b = t->services[s].deployments[d].cluster;
            const slate_profile *p = slate_profile_set_get(src, (int)s, b);
            int rv = p ? slate_profile_set_put(dst, (int)s, b, p) : SLATE_OK;
            if (rv != SLATE_OK)
                return rv;
        }
    return SLATE_OK;
}

/* Rebuilds the loop's copies from the ctl's topology. Called with mu held. */
static int rebuild(slate_ctl *c, loop_state *s)
{
    slate_policy_kind policy = s->policy;
    state_clear(s);
    s->policy = policy;
    int rv = slate_topology_clone(c->topology, &s->t);
    if (rv == SLATE_OK)
        rv = slate_topology_clone(c->topology, &s->view);
    if (rv == SLATE_OK)
        rv = slate_profile_set_new(s->t, &s->prof);
    if (rv == SLATE_OK)
        rv = copy_profiles(s->t, c->profiles, s->prof);
    if (rv == SLATE_OK)
        rv = slate_learner_new(s->t, &s->learner);
    if (rv == SLATE_OK && s->policy == SLATE_POLICY_SLATE) {
        slate_diag d;
        slate_diag_init(&d);
        slate_optimizer_opts_init(&s->opts);
        s->opts.pin_ingress = c->cfg.pin_ingress;
        rv = slate_optimizer_new(s->t, s->prof, &s->opts, &s->opt, &d);
        if (rv != SLATE_OK && d.n)
            SLATE_ERROR("event=optimizer_build_failed path=%s msg=\"%s\"", d.entries[0].path,
                        d.entries[0].msg);
        slate_diag_cleanup(&d);
    }
    if (rv != SLATE_OK) {
        state_clear(s);
        s->policy = policy;
        return rv;
    }
    s->gen = c->topology_gen;
    s->profiles_gen = c->profiles_gen;
    return SLATE_OK;
}

typedef struct fit_ctx {
    slate_ctl *c;
    uint64_t gen;
} fit_ctx;

/* Shows what was learned in GET /v1/profiles (same topology only). */
static void publish_fit(void *ctx, int sv, int b, const slate_profile *fit)
{
    fit_ctx *f = ctx;
    pthread_mutex_lock(&f->c->mu);
    if (f->c->topology_gen == f->gen)
        slate_profile_set_put(f->c->profiles, sv, b, fit);
    pthread_mutex_unlock(&f->c->mu);
}

/* Applies the observed demand and multiplicities; feeds and refits profiles. */
static void apply_observation(slate_ctl *c, loop_state *s, const slate_observation *o)
{
    fit_ctx f = {c, s->gen};
    int refits = slate_learner_apply(s->learner, o, c->cfg.learn, s->view, s->prof, s->opt,
                                     publish_fit, &f);
    double demand = 0;
    for (size_t i = 0; i < o->n_classes * o->n_clusters; i++)
        demand += isnan(o->demand_rps[i]) ? 0 : o->demand_rps[i];
    SLATE_DEBUG("event=observed reports=%llu demand_rps=%.1f refits=%d",
                (unsigned long long)o->reports, demand, refits);
}

static void record_solve(slate_ctl *c, double seconds, const slate_solution *sol, int ok)
{
    pthread_mutex_lock(&c->mu);
    if (ok) {
        c->solves_ok++;
        int b = 0;
        while (b < SLATE_CTL_SOLVE_BUCKETS && seconds > slate_ctl_solve_bounds[b])
            b++;
        c->solve_bucket[b]++;
        c->solve_seconds_sum += seconds;
        c->solve_count++;
        if (sol) {
            c->lp_rows = sol->rows;
            c->lp_cols = sol->cols;
        }
    } else {
        c->solves_failed++;
    }
    pthread_mutex_unlock(&c->mu);
}

/* One period: solve (or run the baseline), damp, publish. */
static void run_period(slate_ctl *c, loop_state *s)
{
    slate_route_table *optimum = NULL, *next = NULL;
    slate_solution *eval = NULL;
    char *json = NULL;
    const char *status = "optimal";
    slate_diag d;
    slate_diag_init(&d);
    double t0 = slate_ctl_now_ms();
    int rv;
    if (s->policy == SLATE_POLICY_SLATE) {
        slate_optimizer_set_limits(s->opt, 0.8 * c->cfg.period_ms, 1000000);
        rv = slate_optimizer_solve(s->opt, &d);
        const slate_solution *sol = slate_optimizer_solution(s->opt);
        record_solve(c, (slate_ctl_now_ms() - t0) / 1e3, sol, rv == SLATE_OK);
        if (rv != SLATE_OK) {
            SLATE_WARN("event=solve_failed err=%s msg=\"%s\"", slate_errname(rv),
                       d.n ? d.entries[0].msg : "");
            pthread_mutex_lock(&c->mu);
            /* Truncation of a long solver message is fine here. */
            snprintf(c->last_error, sizeof(c->last_error), "%.60s: %.180s", slate_strerror(rv),
                     d.n ? d.entries[0].msg : "");
            pthread_mutex_unlock(&c->mu);
            if (!sol)
                goto out; /* nothing to publish; the previous tables stay */
            status = "stale";
        }
        rv = slate_route_table_build(s->t, sol, &optimum);
        if (rv == SLATE_OK)
            rv = slate_solution_to_json(s->view, sol, status, "slate", 0, &json);
    } else {
        slate_policy_input in = {.t = s->view, .profiles = s->prof, .health = NULL};
        rv = slate_policy_routes(s->policy, &in, NULL, &optimum, &d);
        if (rv == SLATE_OK)
            rv = slate_solution_new(s->view, &eval);
        if (rv == SLATE_OK)
            rv = slate_route_table_flows(s->view, optimum, eval);
        if (rv == SLATE_OK)
            rv = slate_solution_evaluate(s->view, s->prof, 0.95, eval);
        if (rv == SLATE_OK) {
            eval->solve_ms = slate_ctl_now_ms() - t0;
            rv = slate_solution_to_json(s->view, eval, "baseline", slate_policy_name(s->policy), 0,
                                        &json);
        }
        record_solve(c, (slate_ctl_now_ms() - t0) / 1e3, eval, rv == SLATE_OK);
    }
    if (rv != SLATE_OK)
        goto out;
    /* The solve report is refreshed every period, published or not. */
    pthread_mutex_lock(&c->mu);
    free(c->solution_json);
    c->solution_json = json;
    json = NULL;
    pthread_mutex_unlock(&c->mu);

    /* Damp against what is published for the same topology. */
    slate_snapshot *pub = slate_ctl_acquire(c);
    int same_topology = pub && pub->topology_gen == s->gen &&
                        pub->table->n_clusters == optimum->n_clusters;
    double change = 1, gain = NAN;
    const slate_route_table *prev = same_topology ? pub->table : NULL;
    if (s->policy == SLATE_POLICY_SLATE) {
        /* Never hold an overload the optimum removes; publish only a
         * predicted gain (publish_gate.h). */
        rv = slate_route_table_damp_safe(s->view, s->prof, &s->opts, prev, optimum,
                                         c->cfg.damping_step, &next, &change, NULL);
        if (rv == SLATE_OK && prev)
            rv = slate_publish_gain(s->view, s->prof, &s->opts, prev, next, &gain);
    } else {
        rv = slate_route_table_damp(prev, optimum, c->cfg.damping_step, &next, &change);
    }
    int publish = rv == SLATE_OK && (!prev || (change >= c->cfg.publish_threshold &&
                                               !(gain < c->cfg.min_gain)));
    slate_ctl_release(c, pub);
    if (!publish)
        goto out;
    slate_snapshot *snap = calloc(1, sizeof(*snap));
    if (!snap || slate_topology_clone(s->view, &snap->t) != SLATE_OK) {
        free(snap);
        goto out;
    }
    snap->refs = 1;
    snap->topology_gen = s->gen;
    snap->table = next;
    next = NULL;
    pthread_mutex_lock(&c->mu);
    snap->version = c->last_version + 1;
    snap->table->version = snap->version;
    pthread_mutex_unlock(&c->mu);
    slate_ctl_publish(c, snap);
    SLATE_INFO("event=published version=%llu max_change=%.4f gain=%.4f solve_ms=%.2f",
               (unsigned long long)snap->version, change, gain, slate_ctl_now_ms() - t0);
    if (c->cfg.state_dir) {
        slate_snapshot *cur = slate_ctl_acquire(c);
        int srv = slate_ctl_store_save(c, cur);
        if (srv != SLATE_OK)
            SLATE_ERROR("event=persist_failed dir=%s err=%s", c->cfg.state_dir, slate_strerror(srv));
        slate_ctl_release(c, cur);
    }
out:
    slate_route_table_free(optimum);
    slate_route_table_free(next);
    slate_solution_free(eval);
    free(json);
    slate_diag_cleanup(&d);
}

static void *loop_main(void *arg)
{
    slate_ctl *c = arg;
    loop_state s;
    memset(&s, 0, sizeof(s));
    if (slate_policy_parse(c->cfg.policy, &s.policy) != SLATE_OK)
        s.policy = SLATE_POLICY_SLATE;
    double next_period = slate_ctl_now_ms() + c->cfg.period_ms;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        double now = slate_ctl_now_ms();
        slate_ctl_wake_waiters(c, 0);
        if (!c->solve_requested && now < next_period) {
            /* Wake at least every 100 ms to time out long-polls. */
            double wait = next_period - now;
            if (wait > 100)
                wait = 100;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            long ns = ts.tv_nsec + (long)(wait * 1e6);
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&c->wake, &c->mu, &ts);
            continue;
        }
        c->solve_requested = 0;
        next_period = now + c->cfg.period_ms;
        if (!c->topology)
            continue;
        if (s.gen != c->topology_gen && rebuild(c, &s) != SLATE_OK) {
            SLATE_ERROR("event=rebuild_failed");
            continue;
        }
        if (s.profiles_gen != c->profiles_gen) {
            /* PUT /v1/profiles: new priors replace what was learned. */
            if (copy_profiles(s.t, c->profiles, s.prof) == SLATE_OK) {
                for (size_t sv = 0; s.opt && sv < s.t->n_services; sv++)
                    for (size_t d = 0; d < s.t->services[sv].n_deployments; d++) {
                        int b = s.t->services[sv].deployments[d].cluster;
                        slate_optimizer_set_profile(s.opt, (int)sv, b,
                                                    slate_profile_set_get(s.prof, (int)sv, b));
                    }
                slate_learner_reset(s.learner);
            }
            s.profiles_gen = c->profiles_gen;
        }
        slate_observation *obs = NULL;
        int rv = slate_aggregator_take(c->agg, slate_ctl_wall_ms(), &obs);
        pthread_mutex_unlock(&c->mu);
        if (rv == SLATE_OK)
            apply_observation(c, &s, obs);
        slate_observation_free(obs);
        run_period(c, &s);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    state_clear(&s);
    return NULL;
}

int slate_ctl_loop_start(slate_ctl *c)
{
    if (pthread_create(&c->loop_thread, NULL, loop_main, c) != 0)
        return SLATE_ERR_NOMEM;
    c->loop_started = 1;
    return SLATE_OK;
}

void slate_ctl_loop_stop(slate_ctl *c)
{
    if (!c->loop_started)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->loop_thread, NULL);
    c->loop_started = 0;
}
