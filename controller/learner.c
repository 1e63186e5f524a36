/*
 * The learning rules of the control loop (see learner.h).
 */
#include "controller/learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* One deployment's recent samples, a ring of SLATE_LEARN_WINDOWS. */
typedef struct samples {
    double rho[SLATE_LEARN_WINDOWS], lat[SLATE_LEARN_WINDOWS], w[SLATE_LEARN_WINDOWS];
    int n, head;
} samples;

struct slate_learner {
    const slate_topology *t; /* borrowed */
    samples *learn;          /* n_services * n_clusters, owned */
    double *demand;          /* n_classes * n_clusters: the estimate, req/s; owned */
};

int slate_learner_new(const slate_topology *t, slate_learner **out)
{
    if (!t || !out)
        return SLATE_ERR_INVALID_ARG;
    slate_learner *l = calloc(1, sizeof(*l));
    if (!l)
        return SLATE_ERR_NOMEM;
    l->t = t;
    l->learn = calloc(t->n_services * t->n_clusters + 1, sizeof(samples));
    l->demand = calloc(t->n_classes * t->n_clusters + 1, sizeof(double));
    if (!l->learn || !l->demand) {
        free(l->learn);
        free(l->demand);
        free(l);
        return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->n_classes * t->n_clusters; i++)
        l->demand[i] = NAN; /* no estimate yet */
    *out = l;
    return SLATE_OK;
}

void slate_learner_free(slate_learner *l)
{
    if (!l)
        return;
    free(l->learn);
    free(l->demand);
    free(l);
}

void slate_learner_reset(slate_learner *l)
{
    memset(l->learn, 0, l->t->n_services * l->t->n_clusters * sizeof(samples));
}

/* The demand estimate after observing |rps| over |period_s| (see learner.h). */
static double demand_update(double est, double rps, double period_s)
{
    double expected = est * period_s, seen = rps * period_s;
    if (fabs(seen - expected) > SLATE_LEARN_DEMAND_SIGMAS * sqrt(expected) + 1)
        return rps; /* a change */
    return est + SLATE_LEARN_DEMAND_ALPHA * (rps - est);
}

/* max - min of the samples' loads, work units/s. */
static double load_spread(const samples *h)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < h->n; i++) {
        lo = fmin(lo, h->rho[i]);
        hi = fmax(hi, h->rho[i]);
    }
    return h->n > 0 ? hi - lo : 0;
}

/* How far |p| is off the samples: sum w (lat - p(rho)) / sum w p(rho), a
 * relative bias; +inf when it predicts no finite latency where samples
 * were taken. */
static double bias(const slate_profile *p, const samples *h)
{
    double diff = 0, base = 0;
    for (int i = 0; i < h->n; i++) {
        double pred = slate_profile_latency(p, h->rho[i]);
        if (!isfinite(pred))
            return INFINITY;
        diff += h->w[i] * (h->lat[i] - pred);
        base += h->w[i] * pred;
    }
    return base > 0 ? diff / base : INFINITY;
}

int slate_learner_apply(slate_learner *l, const slate_observation *o, int learn,
                        slate_topology *view, slate_profile_set *prof, slate_optimizer *opt,
                        slate_learner_fit_cb on_fit, void *ctx)
{
    const slate_topology *t = l->t;
    size_t nc = t->n_clusters;
    if (o->n_classes != t->n_classes || o->n_services != t->n_services || o->n_clusters != nc)
        return 0;
    if (o->ingress_total > 0) {
        for (size_t k = 0; k < t->n_classes; k++)
            for (size_t a = 0; a < nc; a++) {
                double rps = o->demand_rps[k * nc + a], *est = &l->demand[k * nc + a];
                /* NaN observed: a late report, the estimate stays; NaN
                 * estimate: none yet, the first observation is taken as is. */
                if (!isnan(rps))
                    *est = !isnan(*est) && o->period_s > 0 ? demand_update(*est, rps, o->period_s)
                                                           : rps;
                if (isnan(*est))
                    continue; /* nothing observed yet: the topology's demand stays */
                rps = *est;
                if (view)
                    slate_topology_set_demand(view, (int)k, (int)a, rps);
                if (opt)
                    slate_optimizer_set_demand(opt, (int)k, (int)a, rps);
            }
    }
    for (size_t k = 0; opt && k < t->n_classes; k++)
        for (size_t v = 1; v < t->classes[k].n_nodes; v++)
            if (o->parent_requests[k][v] >= SLATE_LEARN_MULT_MIN_PARENTS &&
                isfinite(o->calls_per_req[k][v]))
                slate_optimizer_set_count(opt, (int)k, (int)v, o->calls_per_req[k][v]);
    if (!learn || !prof)
        return 0;
    int refits = 0;
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t d = 0; d < t->services[sv].n_deployments; d++) {
            size_t b = (size_t)t->services[sv].deployments[d].cluster, i = sv * nc + b;
            if (o->requests[i] < SLATE_LEARN_MIN_REQUESTS || !isfinite(o->self_ms[i]))
                continue;
            samples *h = &l->learn[i];
            /* Latency per work unit: the profiles describe one unit of work. */
            double work = o->mean_work[i] > 0 ? o->mean_work[i] : 1;
            h->rho[h->head] = o->load_work_rps[i];
            h->lat[h->head] = o->self_ms[i] / work;
            h->w[h->head] = (double)o->requests[i];
            h->head = (h->head + 1) % SLATE_LEARN_WINDOWS;
            if (h->n < SLATE_LEARN_WINDOWS)
                h->n++;
            if (h->n < SLATE_LEARN_MIN_SAMPLES)
                continue;
            const slate_profile *prior = slate_profile_set_get(prof, (int)sv, (int)b);
            if (!prior || load_spread(h) < SLATE_LEARN_MIN_SPREAD * prior->mu_rps ||
                fabs(bias(prior, h)) < SLATE_LEARN_MIN_BIAS)
                continue;
            slate_profile fit;
            if (!prior ||
                slate_profile_fit(h->rho, h->lat, h->w, (size_t)h->n, prior->mu_rps, 3, &fit) !=
                    SLATE_OK ||
                slate_profile_validate(&fit, NULL) != SLATE_OK)
                continue;
            if (slate_profile_set_put(prof, (int)sv, (int)b, &fit) != SLATE_OK)
                continue;
            if (opt)
                slate_optimizer_set_profile(opt, (int)sv, (int)b, &fit);
            if (on_fit)
                on_fit(ctx, (int)sv, (int)b, &fit);
            refits++;
        }
    return refits;
}
