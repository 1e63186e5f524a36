/*
 * Scenario loading and validation (format in scenario.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "sim/scenario.h"

#define BAD SLATE_ERR_SCENARIO_INVALID

void slate_scenario_free(slate_scenario *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_steps; i++)
        free(s->steps[i].demand);
    free(s->steps);
    free(s->events);
    slate_profile_set_free(s->truth);
    slate_topology_free(s->topology);
    free(s);
}

/* Copies every entry of |from| into |to| with |prefix| before its path. */
static void merge_diag(slate_diag *to, const slate_diag *from, const char *prefix)
{
    if (to == NULL)
        return;
    for (size_t i = 0; i < from->n; i++) {
        const slate_diag_entry *e = &from->entries[i];
        char path[SLATE_DIAG_PATH_MAX];
        snprintf(path, sizeof(path), "%.100s%s%.150s", prefix, e->path[0] ? ": " : "", e->path);
        slate_diag_add(to, e->code, path, "%s", e->msg);
    }
    if (from->dropped > 0)
        slate_diag_add(to, from->entries ? from->entries[0].code : BAD, prefix,
                       "%zu more problems not listed", from->dropped);
}

/*
 * Returns in |*text| (owned) the document member |key| stands for: an inline
 * object printed back to text, or the contents of the file it names
 * (relative to |base_dir|). |*label| receives the path used in messages.
 */
static int member_text(const cJSON *root, const char *key, const char *base_dir, char **text,
                       size_t *len, char *label, size_t label_len, slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(v)) {
        char *s = cJSON_PrintUnformatted(v);
        if (s == NULL)
            return SLATE_ERR_NOMEM;
        *text = s;
        *len = strlen(s);
        snprintf(label, label_len, "%s", key);
        return SLATE_OK;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) >= SLATE_SCENARIO_MAX_PATH) {
        slate_diag_add(d, BAD, key, "must be an object or a non-empty file path (got %s)",
                       slate_json_type_name(v));
        return BAD;
    }
    char path[2 * SLATE_SCENARIO_MAX_PATH + 2];
    if (v->valuestring[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        snprintf(path, sizeof(path), "%s", v->valuestring);
    else
        snprintf(path, sizeof(path), "%s/%s", base_dir, v->valuestring);
    snprintf(label, label_len, "%s (%s)", key, v->valuestring);
    slate_diag sub;
    slate_diag_init(&sub);
    int rv = slate_file_read(path, SLATE_SCENARIO_MAX_BYTES, text, len, &sub);
    merge_diag(d, &sub, label);
    slate_diag_cleanup(&sub);
    return rv;
}

static int load_topology(const cJSON *root, const char *base_dir, slate_scenario *s, slate_diag *d)
{
    if (cJSON_GetObjectItemCaseSensitive(root, "topology") == NULL) {
        slate_diag_add(d, BAD, "topology", "missing (an object or a file path)");
        return BAD;
    }
    char *text = NULL, label[SLATE_DIAG_PATH_MAX];
    size_t len = 0;
    int rv = member_text(root, "topology", base_dir, &text, &len, label, sizeof(label), d);
    if (rv != SLATE_OK)
        return rv;
    slate_diag sub;
    slate_diag_init(&sub);
    rv = slate_topology_load_json(text, len, &s->topology, &sub);
    merge_diag(d, &sub, label);
    slate_diag_cleanup(&sub);
    free(text);
    return rv;
}

static int load_profiles(const cJSON *root, const char *base_dir, slate_scenario *s, slate_jpath *p,
                         slate_diag *d)
{
    int rv = slate_profile_set_new(s->topology, &s->truth);
    if (rv != SLATE_OK)
        return rv;
    if (cJSON_GetObjectItemCaseSensitive(root, "profiles") != NULL) {
        char *text = NULL, label[SLATE_DIAG_PATH_MAX];
        size_t len = 0;
        rv = member_text(root, "profiles", base_dir, &text, &len, label, sizeof(label), d);
        if (rv != SLATE_OK)
            return rv;
        slate_diag sub;
        slate_diag_init(&sub);
        rv = slate_profile_set_load_json(s->truth, text, len, &sub);
        merge_diag(d, &sub, label);
        slate_diag_cleanup(&sub);
        free(text);
        if (rv != SLATE_OK)
            return rv;
    }
    const char *told = "truth";
    rv = slate_json_get_string(root, "slate_profiles", 0, 32, &told, p, d, BAD);
    if (rv != SLATE_OK)
        return rv;
    if (strcmp(told, "truth") == 0)
        s->slate_told_truth = 1;
    else if (strcmp(told, "defaults") == 0)
        s->slate_told_truth = 0;
    else {
        slate_diag_add(d, BAD, "slate_profiles", "must be \"truth\" or \"defaults\", not \"%s\"",
                       told);
        return BAD;
    }
    return SLATE_OK;
}

/* Reads a cluster name member |key| of |obj| into |*out|. */
static int get_cluster(const slate_topology *t, const cJSON *obj, const char *key, int *out,
                       slate_jpath *p, slate_diag *d)
{
    const char *name = NULL;
    int rv =
        slate_json_get_string(obj, key, SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_NAME, &name, p, d, BAD);
    if (rv != SLATE_OK)
        return rv;
    *out = slate_topology_find_cluster(t, name);
    if (*out < 0) {
        size_t m = slate_jpath_push_key(p, key);
        slate_diag_add(d, BAD, p->buf, "unknown cluster \"%s\"", name);
        slate_jpath_pop(p, m);
        return BAD;
    }
    return SLATE_OK;
}

static int load_demand_entry(const slate_topology *t, const cJSON *e, slate_scenario_demand *out,
                             slate_jpath *p, slate_diag *d)
{
    if (!cJSON_IsObject(e)) {
        slate_diag_add(d, BAD, p->buf, "must be an object");
        return BAD;
    }
    const char *cls = NULL;
    int rv = slate_json_get_string(e, "class", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_NAME, &cls, p, d,
                                   BAD);
    rv |= get_cluster(t, e, "cluster", &out->cluster, p, d);
    out->rps = 0;
    rv |= slate_json_get_number(e, "rps", SLATE_JSON_REQUIRED, 0, SLATE_TOPO_MAX_RPS, &out->rps, p,
                                d, BAD);
    if (cls != NULL) {
        out->klass = slate_topology_find_class(t, cls);
        if (out->klass < 0) {
            size_t m = slate_jpath_push_key(p, "class");
            slate_diag_add(d, BAD, p->buf, "unknown class \"%s\"", cls);
            slate_jpath_pop(p, m);
            rv = BAD;
        }
    }
    return rv != SLATE_OK ? BAD : SLATE_OK;
}

static int load_timeline(const cJSON *root, slate_scenario *s, slate_jpath *p, slate_diag *d)
{
    int bad = 0;
    const cJSON *tl = slate_json_get_array(root, "timeline", 0, p, d, BAD, &bad);
    if (bad)
        return BAD;
    if (tl == NULL)
        return SLATE_OK;
    size_t n = (size_t)cJSON_GetArraySize(tl);
    size_t m0 = slate_jpath_push_key(p, "timeline");
    if (n > SLATE_SCENARIO_MAX_STEPS) {
        slate_diag_add(d, BAD, p->buf, "%zu steps; at most %d", n, SLATE_SCENARIO_MAX_STEPS);
        slate_jpath_pop(p, m0);
        return BAD;
    }
    s->steps = calloc(n + 1, sizeof(*s->steps));
    if (s->steps == NULL)
        return SLATE_ERR_NOMEM;
    int rv = SLATE_OK;
    double prev = -1;
    const cJSON *step;
    cJSON_ArrayForEach(step, tl)
    {
        size_t i = s->n_steps++;
        slate_scenario_step *st = &s->steps[i];
        size_t m1 = slate_jpath_push_index(p, i);
        if (!cJSON_IsObject(step)) {
            slate_diag_add(d, BAD, p->buf, "must be an object");
            rv = BAD;
            slate_jpath_pop(p, m1);
            continue;
        }
        st->at_s = 0;
        if (slate_json_get_number(step, "at_s", SLATE_JSON_REQUIRED, 0, s->duration_s, &st->at_s, p,
                                  d, BAD) != SLATE_OK)
            rv = BAD;
        else if (st->at_s < prev) {
            size_t m = slate_jpath_push_key(p, "at_s");
            slate_diag_add(d, BAD, p->buf, "steps must be in ascending at_s order");
            slate_jpath_pop(p, m);
            rv = BAD;
        }
        prev = st->at_s;
        int bad2 = 0;
        const cJSON *dem =
            slate_json_get_array(step, "demand", SLATE_JSON_REQUIRED, p, d, BAD, &bad2);
        if (dem == NULL) {
            rv = BAD;
            slate_jpath_pop(p, m1);
            continue;
        }
        size_t nd = (size_t)cJSON_GetArraySize(dem);
        size_t m2 = slate_jpath_push_key(p, "demand");
        if (nd > SLATE_TOPO_MAX_DEMAND) {
            slate_diag_add(d, BAD, p->buf, "%zu entries; at most %d", nd, SLATE_TOPO_MAX_DEMAND);
            rv = BAD;
        } else {
            st->demand = calloc(nd + 1, sizeof(*st->demand));
            if (st->demand == NULL)
                return SLATE_ERR_NOMEM;
            const cJSON *e;
            cJSON_ArrayForEach(e, dem)
            {
                size_t m3 = slate_jpath_push_index(p, st->n_demand);
                if (load_demand_entry(s->topology, e, &st->demand[st->n_demand], p, d) != SLATE_OK)
                    rv = BAD;
                st->n_demand++;
                slate_jpath_pop(p, m3);
            }
        }
        slate_jpath_pop(p, m2);
        slate_jpath_pop(p, m1);
    }
    slate_jpath_pop(p, m0);
    return rv;
}

static int load_event(const slate_topology *t, double duration_s, const cJSON *e,
                      slate_scenario_event *ev, slate_jpath *p, slate_diag *d)
{
    if (!cJSON_IsObject(e)) {
        slate_diag_add(d, BAD, p->buf, "must be an object");
        return BAD;
    }
    int rv =
        slate_json_get_number(e, "at_s", SLATE_JSON_REQUIRED, 0, duration_s, &ev->at_s, p, d, BAD);
    const char *kind = NULL;
    if (slate_json_get_string(e, "kind", SLATE_JSON_REQUIRED, 32, &kind, p, d, BAD) != SLATE_OK)
        return BAD;
    ev->service = -1;
    ev->cluster_to = -1;
    if (strcmp(kind, "capacity") == 0) {
        ev->kind = SLATE_EVENT_CAPACITY;
        rv |= get_cluster(t, e, "cluster", &ev->cluster, p, d);
        ev->value = 1;
        rv |= slate_json_get_number(e, "factor", SLATE_JSON_REQUIRED, 1e-6, 10, &ev->value, p, d,
                                    BAD);
        const char *svc = NULL;
        rv |= slate_json_get_string(e, "service", 0, SLATE_TOPO_MAX_NAME, &svc, p, d, BAD);
        if (svc != NULL) {
            ev->service = slate_topology_find_service(t, svc);
            size_t m = slate_jpath_push_key(p, "service");
            if (ev->service < 0) {
                slate_diag_add(d, BAD, p->buf, "unknown service \"%s\"", svc);
                rv = BAD;
            } else if (rv == SLATE_OK &&
                       slate_topology_deployment(t, ev->service, ev->cluster) == NULL) {
                slate_diag_add(d, BAD, p->buf, "\"%s\" is not deployed in \"%s\"", svc,
                               t->clusters[ev->cluster]);
                rv = BAD;
            }
            slate_jpath_pop(p, m);
        }
    } else if (strcmp(kind, "fail") == 0) {
        ev->kind = SLATE_EVENT_FAIL;
        rv |= get_cluster(t, e, "cluster", &ev->cluster, p, d);
    } else if (strcmp(kind, "rtt") == 0) {
        ev->kind = SLATE_EVENT_RTT;
        rv |= get_cluster(t, e, "from", &ev->cluster, p, d);
        rv |= get_cluster(t, e, "to", &ev->cluster_to, p, d);
        rv |= slate_json_get_number(e, "rtt_ms", SLATE_JSON_REQUIRED, 0, SLATE_TOPO_MAX_RTT_MS,
                                    &ev->value, p, d, BAD);
    } else {
        size_t m = slate_jpath_push_key(p, "kind");
        slate_diag_add(d, BAD, p->buf, "unknown kind \"%s\" (capacity, fail or rtt)", kind);
        slate_jpath_pop(p, m);
        return BAD;
    }
    return rv != SLATE_OK ? BAD : SLATE_OK;
}

static int cmp_event(const void *pa, const void *pb)
{
    const slate_scenario_event *x = pa, *y = pb;
    if (x->at_s != y->at_s)
        return x->at_s < y->at_s ? -1 : 1;
    return 0;
}

static int load_events(const cJSON *root, slate_scenario *s, slate_jpath *p, slate_diag *d)
{
    int bad = 0;
    const cJSON *evs = slate_json_get_array(root, "events", 0, p, d, BAD, &bad);
    if (bad)
        return BAD;
    if (evs == NULL)
        return SLATE_OK;
    size_t n = (size_t)cJSON_GetArraySize(evs);
    size_t m0 = slate_jpath_push_key(p, "events");
    if (n > SLATE_SCENARIO_MAX_EVENTS) {
        slate_diag_add(d, BAD, p->buf, "%zu events; at most %d", n, SLATE_SCENARIO_MAX_EVENTS);
        slate_jpath_pop(p, m0);
        return BAD;
    }
    s->events = calloc(n + 1, sizeof(*s->events));
    if (s->events == NULL)
        return SLATE_ERR_NOMEM;
    int rv = SLATE_OK;
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        size_t m1 = slate_jpath_push_index(p, s->n_events);
        if (load_event(s->topology, s->duration_s, e, &s->events[s->n_events], p, d) != SLATE_OK)
            rv = BAD;
        /* Index order breaks at_s ties so the sort below is stable. */
        s->n_events++;
        slate_jpath_pop(p, m1);
    }
    slate_jpath_pop(p, m0);
    if (rv != SLATE_OK)
        return rv;
    /* Insertion sort keeps file order among equal times (qsort is not stable). */
    for (size_t i = 1; i < s->n_events; i++) {
        slate_scenario_event x = s->events[i];
        size_t j = i;
        while (j > 0 && cmp_event(&s->events[j - 1], &x) > 0) {
            s->events[j] = s->events[j - 1];
            j--;
        }
        s->events[j] = x;
    }
    /* Every service must keep a deployment after every failure. */
    const slate_topology *t = s->topology;
    unsigned char failed[SLATE_TOPO_MAX_CLUSTERS] = {0};
    for (size_t i = 0; i < s->n_events; i++) {
        if (s->events[i].kind != SLATE_EVENT_FAIL)
            continue;
        failed[s->events[i].cluster] = 1;
        for (size_t sv = 0; sv < t->n_services; sv++) {
            size_t alive = 0;
            for (size_t dd = 0; dd < t->services[sv].n_deployments; dd++)
                alive += !failed[t->services[sv].deployments[dd].cluster];
            if (alive == 0) {
                slate_diag_add(d, BAD, "events",
                               "after the failure of \"%s\" at %g s, service \"%s\" has no "
                               "deployment left",
                               t->clusters[s->events[i].cluster], s->events[i].at_s,
                               t->services[sv].name);
                return BAD;
            }
        }
    }
    return SLATE_OK;
}

static int load_policy_options(const cJSON *root, slate_scenario *s, slate_jpath *p, slate_diag *d)
{
    slate_policy_opts_init(&s->policy_opts);
    int bad = 0;
    const cJSON *po = slate_json_get_object(root, "policy_options", 0, p, d, BAD, &bad);
    if (bad)
        return BAD;
    if (po == NULL)
        return SLATE_OK;
    slate_policy_opts *o = &s->policy_opts;
    size_t m0 = slate_jpath_push_key(p, "policy_options");
    int rv = slate_json_get_number(po, "envoy_overprovisioning", 0, 1e-6, 100,
                                   &o->envoy_overprovisioning, p, d, BAD);
    rv |= slate_json_get_number(po, "ring_threshold", 0, 1e-6, 1, &o->ring_threshold, p, d, BAD);
    rv |= slate_json_get_number(po, "waterfall_fill", 0, 1e-6, 1, &o->waterfall_fill, p, d, BAD);
    rv |= slate_json_get_number(po, "u_max", 0, 1e-3, 0.999, &o->lp.u_max, p, d, BAD);
    rv |= slate_json_get_number(po, "usd_per_ms", 0, 0, 1, &o->lp.usd_per_ms, p, d, BAD);
    rv |= slate_json_get_bool(po, "critical_path", 0, &o->lp.critical_path, p, d, BAD);
    const cJSON *rb = slate_json_get_array(po, "ring_bounds_ms", 0, p, d, BAD, &bad);
    if (bad)
        rv = BAD;
    if (rb != NULL) {
        size_t m1 = slate_jpath_push_key(p, "ring_bounds_ms");
        size_t n = (size_t)cJSON_GetArraySize(rb);
        if (n > SLATE_RINGS_MAX) {
            slate_diag_add(d, BAD, p->buf, "%zu bounds; at most %d", n, SLATE_RINGS_MAX);
            rv = BAD;
        } else {
            o->n_ring_bounds = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, rb)
            {
                size_t i = o->n_ring_bounds;
                size_t m2 = slate_jpath_push_index(p, i);
                double lo = i == 0 ? 0 : o->ring_bounds_ms[i - 1];
                if (slate_json_check_number(v, lo, SLATE_TOPO_MAX_RTT_MS, &o->ring_bounds_ms[i], p,
                                            d, BAD) != SLATE_OK)
                    rv = BAD;
                o->n_ring_bounds++;
                slate_jpath_pop(p, m2);
            }
        }
        slate_jpath_pop(p, m1);
    }
    slate_jpath_pop(p, m0);
    return rv != SLATE_OK ? BAD : SLATE_OK;
}

int slate_scenario_load_json(const char *text, size_t len, const char *base_dir,
                             slate_scenario **out, slate_diag *diag)
{
    if (out == NULL || (text == NULL && len > 0))
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_SCENARIO_MAX_BYTES, &root, diag);
    if (rv != SLATE_OK)
        return rv;
    slate_scenario *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cJSON_Delete(root);
        return SLATE_ERR_NOMEM;
    }
    slate_jpath p;
    slate_jpath_init(&p);
    if (!cJSON_IsObject(root)) {
        slate_diag_add(diag, BAD, NULL, "a scenario must be a JSON object");
        rv = BAD;
        goto fail;
    }
    rv = load_topology(root, base_dir, s, diag);
    if (rv != SLATE_OK)
        goto fail;
    rv = load_profiles(root, base_dir, s, &p, diag);
    if (rv != SLATE_OK)
        goto fail;
    s->duration_s = 60;
    rv = slate_json_get_number(root, "duration_s", 0, 1e-3, SLATE_SCENARIO_MAX_DURATION_S,
                               &s->duration_s, &p, diag, BAD);
    s->warmup_s = 0.1 * s->duration_s;
    if (rv == SLATE_OK)
        rv = slate_json_get_number(root, "warmup_s", 0, 0, s->duration_s, &s->warmup_s, &p, diag,
                                   BAD);
    if (rv == SLATE_OK && s->warmup_s >= s->duration_s) {
        slate_diag_add(diag, BAD, "warmup_s", "must be below duration_s (%g)", s->duration_s);
        rv = BAD;
    }
    double seed = 1;
    int rv2 = slate_json_get_number(root, "seed", 0, 0, 9007199254740992.0, &seed, &p, diag, BAD);
    if (rv2 == SLATE_OK && seed != floor(seed)) {
        slate_diag_add(diag, BAD, "seed", "must be an integer");
        rv2 = BAD;
    }
    s->seed = (uint64_t)seed;
    int rv3 = load_timeline(root, s, &p, diag);
    int rv4 = load_events(root, s, &p, diag);
    int rv5 = load_policy_options(root, s, &p, diag);
    if (rv == SLATE_OK)
        rv = rv2 != SLATE_OK ? rv2 : rv3 != SLATE_OK ? rv3 : rv4 != SLATE_OK ? rv4 : rv5;
    if (rv != SLATE_OK)
        goto fail;
    cJSON_Delete(root);
    *out = s;
    return SLATE_OK;
fail:
    cJSON_Delete(root);
    slate_scenario_free(s);
    return rv;
}

int slate_scenario_load_file(const char *path, slate_scenario **out, slate_diag *diag)
{
    if (path == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    char *text = NULL;
    size_t len = 0;
    int rv = slate_file_read(path, SLATE_SCENARIO_MAX_BYTES, &text, &len, diag);
    if (rv != SLATE_OK)
        return rv;
    char dir[SLATE_SCENARIO_MAX_PATH];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    rv = slate_scenario_load_json(text, len, dir, out, diag);
    free(text);
    return rv;
}
