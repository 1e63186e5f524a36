/*
 * The simulated world's state over a scenario's timeline (see world.h).
 */
#include "sim/world.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"

void slate_world_cleanup(slate_world *st)
{
    free(st->lambda);
    free(st->cap);
    free(st->failed);
    free(st->rtt);
}

int slate_world_init(slate_world *st, const slate_scenario *sc)
{
    const slate_topology *t = sc->topology;
    memset(st, 0, sizeof(*st));
    st->nk = t->n_classes;
    st->ns = t->n_services;
    st->nc = t->n_clusters;
    st->lambda = calloc(st->nk * st->nc + 1, sizeof(double));
    st->cap = calloc(st->ns * st->nc + 1, sizeof(double));
    st->failed = calloc(st->nc + 1, 1);
    st->rtt = calloc(st->nc * st->nc + 1, sizeof(double));
    if (!st->lambda || !st->cap || !st->failed || !st->rtt) {
        slate_world_cleanup(st);
        return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->n_demand; i++)
        st->lambda[(size_t)t->demand[i].klass * st->nc + (size_t)t->demand[i].cluster] =
            t->demand[i].rps;
    for (size_t i = 0; i < st->ns * st->nc; i++)
        st->cap[i] = 1;
    memcpy(st->rtt, t->rtt_ms, st->nc * st->nc * sizeof(double));
    return SLATE_OK;
}

/* Applies every step and event at or before |t_s| not applied yet; when
 * |des| is not NULL mirrors each change into it. */
int slate_world_advance(slate_world *st, const slate_scenario *sc, double t_s, slate_des *des)
{
    int rv = SLATE_OK;
    for (; st->next_step < sc->n_steps && sc->steps[st->next_step].at_s <= t_s; st->next_step++) {
        const slate_scenario_step *s = &sc->steps[st->next_step];
        for (size_t i = 0; i < s->n_demand; i++) {
            const slate_scenario_demand *dm = &s->demand[i];
            st->lambda[(size_t)dm->klass * st->nc + (size_t)dm->cluster] = dm->rps;
            if (des != NULL && rv == SLATE_OK)
                rv = slate_des_set_demand(des, dm->klass, dm->cluster, dm->rps);
        }
    }
    for (; st->next_event < sc->n_events && sc->events[st->next_event].at_s <= t_s;
         st->next_event++) {
        const slate_scenario_event *e = &sc->events[st->next_event];
        switch (e->kind) {
        case SLATE_EVENT_CAPACITY:
            for (size_t s = 0; s < st->ns; s++) {
                if (e->service >= 0 && (size_t)e->service != s)
                    continue;
                if (slate_topology_deployment(sc->topology, (int)s, e->cluster) == NULL)
                    continue;
                st->cap[s * st->nc + (size_t)e->cluster] = e->value;
                if (des != NULL && rv == SLATE_OK)
                    rv = slate_des_set_capacity(des, (int)s, e->cluster, e->value);
            }
            break;
        case SLATE_EVENT_FAIL:
            st->failed[e->cluster] = 1;
            if (des != NULL && rv == SLATE_OK)
                rv = slate_des_set_failed(des, e->cluster);
            break;
        case SLATE_EVENT_RTT:
            st->rtt[(size_t)e->cluster * st->nc + (size_t)e->cluster_to] = e->value;
            st->rtt[(size_t)e->cluster_to * st->nc + (size_t)e->cluster] = e->value;
            if (des != NULL && rv == SLATE_OK)
                rv = slate_des_set_rtt(des, e->cluster, e->cluster_to, e->value);
            break;
        }
    }
    return rv;
}

/* ---- topology views --------------------------------------------------------------- */

/* Rewrites the saved JSON of the base topology |doc| for state |st|. */
static int edit_view_json(cJSON *doc, const slate_topology *t, const slate_world *st)
{
    size_t nc = st->nc;
    cJSON *rtt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "network"),
                                                  "rtt_ms");
    for (size_t a = 0; a < nc; a++) {
        cJSON *row = cJSON_GetArrayItem(rtt, (int)a);
        for (size_t b = 0; b < nc; b++) {
            cJSON *v = slate_json_exact_number(st->rtt[a * nc + b]);
            if (v == NULL || row == NULL || !cJSON_ReplaceItemInArray(row, (int)b, v)) {
                cJSON_Delete(v);
                return SLATE_ERR_NOMEM;
            }
        }
    }
    cJSON *svcs = cJSON_GetObjectItemCaseSensitive(doc, "services");
    for (size_t s = 0; s < st->ns; s++) {
        cJSON *deps =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(svcs, (int)s), "deployments");
        /* Deployments are saved in the topology's order; walk backwards so
         * deleting one does not shift the ones still to visit. */
        for (size_t d = t->services[s].n_deployments; d-- > 0;) {
            int b = t->services[s].deployments[d].cluster;
            if (st->failed[b]) {
                cJSON_DeleteItemFromArray(deps, (int)d);
                continue;
            }
            cJSON *dep = cJSON_GetArrayItem(deps, (int)d);
            cJSON *cap = slate_json_exact_number(t->services[s].deployments[d].capacity_rps *
                                                 st->cap[s * nc + (size_t)b]);
            if (cap == NULL || dep == NULL ||
                !cJSON_ReplaceItemInObjectCaseSensitive(dep, "capacity_rps", cap)) {
                cJSON_Delete(cap);
                return SLATE_ERR_NOMEM;
            }
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "demand");
    cJSON *dem = cJSON_AddArrayToObject(doc, "demand");
    if (dem == NULL)
        return SLATE_ERR_NOMEM;
    for (size_t k = 0; k < st->nk; k++)
        for (size_t a = 0; a < nc; a++) {
            double rps = st->lambda[k * nc + a];
            if (!(rps > 0))
                continue;
            cJSON *e = cJSON_CreateObject();
            if (e == NULL || !slate_json_attach(dem, NULL, e) ||
                cJSON_AddStringToObject(e, "class", t->classes[k].name) == NULL ||
                cJSON_AddStringToObject(e, "cluster", t->clusters[a]) == NULL ||
                !slate_json_attach(e, "rps", slate_json_exact_number(rps)))
                return SLATE_ERR_NOMEM;
        }
    return SLATE_OK;
}

/* Scales |p| to a capacity |f| times its own: the same latency at f times
 * the load. */
static void scale_profile(slate_profile *p, double f)
{
    p->mu_rps *= f;
    if (p->form == SLATE_PROFILE_POLY)
        for (int i = 0; i < p->degree; i++)
            p->coef[i] /= pow(f, i + 1);
    else if (p->form == SLATE_PROFILE_POINTS)
        for (int i = 0; i < p->n_pts; i++)
            p->pts_load[i] *= f;
}

/*
 * Builds the topology of state |st| (returns owned in |*view|) and its
 * ground truth (|*truth|, owned; borrows |*view|).
 */
int slate_world_view(const slate_scenario *sc, const slate_world *st, slate_topology **view,
                     slate_profile_set **truth, slate_diag *diag)
{
    const slate_topology *t = sc->topology;
    char *text = NULL;
    cJSON *doc = NULL;
    slate_topology *v = NULL;
    slate_profile_set *ps = NULL;
    int rv = slate_topology_to_json(t, 0, &text);
    if (rv != SLATE_OK)
        return rv;
    doc = cJSON_Parse(text);
    free(text);
    text = NULL;
    rv = doc == NULL ? SLATE_ERR_NOMEM : edit_view_json(doc, t, st);
    if (rv == SLATE_OK)
        rv = slate_json_print(doc, 0, &text);
    cJSON_Delete(doc);
    if (rv == SLATE_OK)
        rv = slate_topology_load_json(text, strlen(text), &v, diag);
    free(text);
    if (rv == SLATE_OK)
        rv = slate_profile_set_new(v, &ps);
    for (size_t s = 0; s < st->ns && rv == SLATE_OK; s++)
        for (size_t d = 0; d < v->services[s].n_deployments && rv == SLATE_OK; d++) {
            int b = v->services[s].deployments[d].cluster;
            slate_profile p = *slate_profile_set_get(sc->truth, (int)s, b);
            scale_profile(&p, st->cap[s * st->nc + (size_t)b]);
            rv = slate_profile_set_put(ps, (int)s, b, &p);
        }
    if (rv != SLATE_OK) {
        slate_profile_set_free(ps);
        slate_topology_free(v);
        return rv;
    }
    *view = v;
    *truth = ps;
    return SLATE_OK;
}

/* The segment boundaries: 0, every step and event time below duration_s;
 * returns how many (at most 1 + steps + events) in |times| (owned). */
int slate_world_segments(const slate_scenario *sc, double **times, size_t *n)
{
    double *ts = malloc((1 + sc->n_steps + sc->n_events) * sizeof(double));
    if (ts == NULL)
        return SLATE_ERR_NOMEM;
    size_t m = 0;
    ts[m++] = 0;
    size_t i = 0, j = 0;
    while (i < sc->n_steps || j < sc->n_events) {
        double next;
        if (j >= sc->n_events || (i < sc->n_steps && sc->steps[i].at_s <= sc->events[j].at_s))
            next = sc->steps[i++].at_s;
        else
            next = sc->events[j++].at_s;
        if (next > ts[m - 1] && next < sc->duration_s)
            ts[m++] = next;
    }
    *times = ts;
    *n = m;
    return SLATE_OK;
}
