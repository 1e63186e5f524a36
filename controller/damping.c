/* Damping of routing tables; see damping.h. */
#include "controller/damping.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int slate_route_table_damp(const slate_route_table *published, const slate_route_table *optimum,
                           double step, slate_route_table **out, double *max_change)
{
    if (!optimum || !out || !max_change || !(step > 0 && step <= 1) ||
        (published && published->n_clusters != optimum->n_clusters))
        return SLATE_ERR_INVALID_ARG;
    size_t nc = optimum->n_clusters;
    slate_route_table *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return SLATE_ERR_NOMEM;
    rt->n_clusters = nc;
    rt->rules = calloc(optimum->n_rules + 1, sizeof(slate_route_rule));
    if (!rt->rules) {
        free(rt);
        return SLATE_ERR_NOMEM;
    }
    double worst = published ? 0 : 1;
    for (size_t i = 0; i < optimum->n_rules; i++) {
        const slate_route_rule *o = &optimum->rules[i];
        slate_route_rule *r = &rt->rules[i];
        *r = *o;
        r->weights = malloc(nc * sizeof(double));
        if (!r->weights) {
            rt->n_rules = i;
            slate_route_table_free(rt);
            return SLATE_ERR_NOMEM;
        }
        rt->n_rules = i + 1;
        const slate_route_rule *p =
            published ? slate_route_table_find(published, o->klass, o->src_service, o->src_cluster,
                                               o->dst_service)
                      : NULL;
        if (!p) {
            memcpy(r->weights, o->weights, nc * sizeof(double));
            continue;
        }
        double sum = 0;
        for (size_t b = 0; b < nc; b++) {
            double w = p->weights[b] + step * (o->weights[b] - p->weights[b]);
            r->weights[b] = w > 0 ? w : 0;
            sum += r->weights[b];
        }
        for (size_t b = 0; b < nc; b++) {
            r->weights[b] = sum > 0 ? r->weights[b] / sum : o->weights[b];
            double change = fabs(r->weights[b] - p->weights[b]);
            if (change > worst)
                worst = change;
        }
        /* The damped rule is no longer the optimum's fallback when it
         * still carries published (non-fallback) weights. */
        r->fallback = o->fallback && p->fallback;
    }
    *out = rt;
    *max_change = worst;
    return SLATE_OK;
}
