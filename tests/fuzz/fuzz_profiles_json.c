/*
 * libFuzzer harness for the profile-set loader: any input must apply or fail
 * cleanly (failure changes nothing and says why), and whatever applies must
 * serialise and apply again to an equal set. A broken contract aborts, which
 * the fuzzer (or the replay main under ctest) reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed topology every input is applied to: names the corpus uses. */
static const char TOPO_JSON[] =
    "{\"clusters\": [\"us-west\", \"us-east\", \"eu\"],"
    " \"network\": {\"rtt_ms\": [[0.5, 60, 140], [60, 0.5, 80], [140, 80, 0.5]]},"
    " \"services\": ["
    "  {\"name\": \"frontend\", \"service_time_ms\": 2, \"deployments\": ["
    "    {\"cluster\": \"us-west\", \"capacity_rps\": 800},"
    "    {\"cluster\": \"us-east\", \"capacity_rps\": 400},"
    "    {\"cluster\": \"eu\", \"capacity_rps\": 600}]},"
    "  {\"name\": \"cart\", \"service_time_ms\": 1.5, \"deployments\": ["
    "    {\"cluster\": \"us-west\", \"capacity_rps\": 300}]},"
    "  {\"name\": \"search\", \"deployments\": ["
    "    {\"cluster\": \"us-east\", \"capacity_rps\": 1200},"
    "    {\"cluster\": \"eu\", \"capacity_rps\": 900}]}],"
    " \"classes\": [{\"name\": \"shop\", \"calls\": {\"service\": \"frontend\","
    "   \"children\": [{\"service\": \"cart\"}, {\"service\": \"search\"}]}}]}";

/* Loaded once and kept for the process's life (the fuzzer never exits
 * cleanly, so there is no place to free it). */
static const slate_topology *topology(void)
{
    static slate_topology *t;
    if (t == NULL && slate_topology_load_json(TOPO_JSON, strlen(TOPO_JSON), &t, NULL) != SLATE_OK)
        abort();
    return t;
}

static int same_profile(const slate_profile *a, const slate_profile *b)
{
    if (a->form != b->form || a->t0_ms != b->t0_ms || a->mu_rps != b->mu_rps ||
        a->k_ms != b->k_ms || a->degree != b->degree || a->n_pts != b->n_pts)
        return 0;
    for (int i = 0; i < SLATE_PROFILE_MAX_DEGREE; i++)
        if (a->coef[i] != b->coef[i])
            return 0;
    for (int i = 0; i < a->n_pts && i < SLATE_PROFILE_MAX_POINTS; i++)
        if (a->pts_load[i] != b->pts_load[i] || a->pts_latency[i] != b->pts_latency[i])
            return 0;
    return 1;
}

/* Every deployment's profile equal in |a| and |b|, and each one valid. */
static int same_set(const slate_topology *t, const slate_profile_set *a, const slate_profile_set *b)
{
    for (size_t s = 0; s < t->n_services; s++) {
        for (size_t c = 0; c < t->n_clusters; c++) {
            const slate_profile *pa = slate_profile_set_get(a, (int)s, (int)c);
            const slate_profile *pb = slate_profile_set_get(b, (int)s, (int)c);
            if ((pa == NULL) != (pb == NULL))
                return 0;
            if (pa && (!same_profile(pa, pb) || slate_profile_validate(pa, NULL) != SLATE_OK))
                return 0;
        }
    }
    return 1;
}

/* Whatever valid profile the input holds, its PWL approximation keeps its
 * promises: over f at the breakpoints it reports, exact at 0, convex, and
 * within its own bound. */
static void check_pwl(const slate_profile *p)
{
    slate_pwl pwl;
    if (slate_profile_pwl(p, 0.9, 8, &pwl) != SLATE_OK)
        abort();
    if (!(pwl.n >= 1 && pwl.n <= 8) || !(pwl.max_error <= pwl.bound) ||
        slate_pwl_eval(&pwl, 0) != 0)
        abort();
    for (int i = 1; i < pwl.n; i++)
        if (!(pwl.slope[i] >= pwl.slope[i - 1]))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const slate_topology *t = topology();
    slate_profile_set *set = NULL, *fresh = NULL, *again = NULL;
    char *text = NULL;
    slate_diag d;
    slate_diag_init(&d);
    if (slate_profile_set_new(t, &set) != SLATE_OK || slate_profile_set_new(t, &fresh) != SLATE_OK)
        abort();
    int rv = slate_profile_set_load_json(set, (const char *)data, size, &d);
    if (rv != SLATE_OK) {
        /* All or nothing: the set is as new, and the reason is recorded. */
        if (!same_set(t, set, fresh) || (rv != SLATE_ERR_NOMEM && slate_diag_count(&d) == 0))
            abort();
        goto out;
    }
    for (int pretty = 0; pretty <= 1; pretty++) {
        if (slate_profile_set_to_json(set, pretty, &text) != SLATE_OK ||
            slate_profile_set_new(t, &again) != SLATE_OK)
            abort();
        slate_diag_clear(&d);
        if (slate_profile_set_load_json(again, text, strlen(text), &d) != SLATE_OK ||
            !same_set(t, set, again))
            abort();
        /* Every profile also serialises on its own and evaluates without
         * trapping (the values themselves are the fuzzer's choice). */
        for (size_t s = 0; s < t->n_services; s++) {
            for (size_t c = 0; c < t->n_clusters; c++) {
                const slate_profile *p = slate_profile_set_get(again, (int)s, (int)c);
                char *one = NULL;
                if (p == NULL)
                    continue;
                if (slate_profile_to_json(p, pretty, &one) != SLATE_OK)
                    abort();
                free(one);
                (void)slate_profile_latency(p, 0.5 * p->mu_rps);
                check_pwl(p);
            }
        }
        slate_profile_set_free(again);
        again = NULL;
        free(text);
        text = NULL;
    }
out:
    slate_profile_set_free(fresh);
    slate_profile_set_free(set);
    slate_diag_cleanup(&d);
    return 0;
}
