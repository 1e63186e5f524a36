/*
 * The profiles of every deployment of one topology, and their JSON form.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "profiles/profiles.h"
#include "profiles/profiles_int.h"

struct slate_profile_set {
    const slate_topology *topo; /* borrowed; outlives the set */
    size_t n_services, n_clusters;
    /* [service * n_clusters + cluster] -> index into |profiles|, or -1 when
     * the service is not deployed in that cluster. */
    int *slot;
    slate_profile *profiles; /* one per deployment, canonical (profile_canonical) */
    size_t n_profiles;
};

int slate_profile_set_new(const slate_topology *t, slate_profile_set **out)
{
    if (t == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    slate_profile_set *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SLATE_ERR_NOMEM;
    s->topo = t;
    s->n_services = t->n_services;
    s->n_clusters = t->n_clusters;
    size_t cells = s->n_services * s->n_clusters, n_dep = 0;
    for (size_t i = 0; i < t->n_services; i++)
        n_dep += t->services[i].n_deployments;
    /* At least one element each so a NULL return always means no memory. */
    s->slot = malloc((cells ? cells : 1) * sizeof(*s->slot));
    s->profiles = calloc(n_dep ? n_dep : 1, sizeof(*s->profiles));
    if (s->slot == NULL || s->profiles == NULL) {
        slate_profile_set_free(s);
        return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < cells; i++)
        s->slot[i] = -1;
    for (size_t i = 0; i < t->n_services; i++) {
        const slate_service *svc = &t->services[i];
        for (size_t j = 0; j < svc->n_deployments; j++) {
            const slate_deployment *dep = &svc->deployments[j];
            if (dep->cluster < 0 || (size_t)dep->cluster >= s->n_clusters)
                continue; /* a validated topology has none; a hand-built one may */
            int *cell = &s->slot[i * s->n_clusters + (size_t)dep->cluster];
            if (*cell < 0)
                *cell = (int)s->n_profiles++;
            slate_profile_init_mm1(&s->profiles[*cell], svc->service_time_ms, svc->service_time_ms,
                                   dep->capacity_rps);
        }
    }
    *out = s;
    return SLATE_OK;
}

void slate_profile_set_free(slate_profile_set *s)
{
    if (s == NULL)
        return;
    free(s->slot);
    free(s->profiles);
    free(s);
}

/* Returns the index into s->profiles of (|service|, |cluster|), or -1. */
static int find_slot(const slate_profile_set *s, int service, int cluster)
{
    if (service < 0 || cluster < 0 || (size_t)service >= s->n_services ||
        (size_t)cluster >= s->n_clusters)
        return -1;
    return s->slot[(size_t)service * s->n_clusters + (size_t)cluster];
}

const slate_profile *slate_profile_set_get(const slate_profile_set *s, int service, int cluster)
{
    if (s == NULL)
        return NULL;
    int k = find_slot(s, service, cluster);
    return k < 0 ? NULL : &s->profiles[k];
}

int slate_profile_set_put(slate_profile_set *s, int service, int cluster, const slate_profile *p)
{
    if (s == NULL)
        return SLATE_ERR_INVALID_ARG;
    int k = find_slot(s, service, cluster);
    if (k < 0)
        return SLATE_ERR_NOT_FOUND;
    if (slate_profile_validate(p, NULL) != SLATE_OK)
        return SLATE_ERR_PROFILE_INVALID;
    s->profiles[k] = profile_canonical(p);
    return SLATE_OK;
}

/* ---- load ---- */

/* The state of one load_json call. */
typedef struct loader {
    slate_profile_set *set;
    slate_diag *diag; /* may be NULL */
    slate_jpath path;
    int bad; /* problems found; counted here since |diag| may be NULL */
} loader;

/* Records a problem at the current path, or at path.|key| when |key| is set. */
__attribute__((format(printf, 3, 4))) static void problem(loader *L, const char *key,
                                                          const char *fmt, ...)
{
    size_t mark = key ? slate_jpath_push_key(&L->path, key) : L->path.len;
    char msg[SLATE_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    slate_diag_add(L->diag, SLATE_ERR_PROFILE_INVALID, L->path.buf, "%s", msg);
    slate_jpath_pop(&L->path, mark);
    L->bad++;
}

/* Reads a number member within [|min|, |max|]. */
static int get_number(loader *L, const cJSON *obj, const char *key, unsigned flags, double min,
                      double max, double *out)
{
    int rv = slate_json_get_number(obj, key, flags, min, max, out, &L->path, L->diag,
                                   SLATE_ERR_PROFILE_INVALID);
    if (rv != SLATE_OK)
        L->bad++;
    return rv == SLATE_OK;
}

/* Reads array element |v| as a number within [|min|, |max|] at path[|i|]. */
static int elem_number(loader *L, const cJSON *v, size_t i, double min, double max, double *out)
{
    size_t mark = slate_jpath_push_index(&L->path, i);
    int ok = 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        problem(L, NULL, "must be a finite number");
    else if (v->valuedouble < min || v->valuedouble > max)
        problem(L, NULL, "%g is out of range [%g, %g]", v->valuedouble, min, max);
    else {
        *out = v->valuedouble;
        ok = 1;
    }
    slate_jpath_pop(&L->path, mark);
    return ok;
}

static const char *form_name(slate_profile_form f)
{
    switch (f) {
    case SLATE_PROFILE_MM1:
        return "mm1";
    case SLATE_PROFILE_POLY:
        return "poly";
    case SLATE_PROFILE_POINTS:
        return "points";
    }
    return "?";
}

static int parse_coef(loader *L, const cJSON *obj, slate_profile *p)
{
    int bad = 0;
    const cJSON *arr = slate_json_get_array(obj, "coef", SLATE_JSON_REQUIRED, &L->path, L->diag,
                                            SLATE_ERR_PROFILE_INVALID, &bad);
    if (arr == NULL) {
        L->bad++;
        return 0;
    }
    int n = cJSON_GetArraySize(arr);
    if (n < 1 || n > SLATE_PROFILE_MAX_DEGREE) {
        problem(L, "coef", "has %d coefficients, must have 1 to %d", n, SLATE_PROFILE_MAX_DEGREE);
        return 0;
    }
    size_t mark = slate_jpath_push_key(&L->path, "coef");
    int ok = 1, i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        ok &= elem_number(L, v, (size_t)i, 0, SLATE_PROFILE_MAX_MS, &p->coef[i]);
        i++;
    }
    slate_jpath_pop(&L->path, mark);
    p->degree = n;
    return ok;
}

static int parse_points(loader *L, const cJSON *obj, slate_profile *p)
{
    int bad = 0;
    const cJSON *arr = slate_json_get_array(obj, "points", SLATE_JSON_REQUIRED, &L->path, L->diag,
                                            SLATE_ERR_PROFILE_INVALID, &bad);
    if (arr == NULL) {
        L->bad++;
        return 0;
    }
    int n = cJSON_GetArraySize(arr);
    if (n < 1 || n > SLATE_PROFILE_MAX_POINTS) {
        problem(L, "points", "has %d points, must have 1 to %d", n, SLATE_PROFILE_MAX_POINTS);
        return 0;
    }
    size_t mark = slate_jpath_push_key(&L->path, "points");
    int ok = 1, i = 0;
    const cJSON *pt;
    cJSON_ArrayForEach(pt, arr)
    {
        size_t m = slate_jpath_push_index(&L->path, (size_t)i);
        if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 2) {
            problem(L, NULL, "must be a [load_rps, latency_ms] pair");
            ok = 0;
        } else {
            ok &= elem_number(L, cJSON_GetArrayItem(pt, 0), 0, 0, SLATE_TOPO_MAX_RPS,
                              &p->pts_load[i]);
            ok &= elem_number(L, cJSON_GetArrayItem(pt, 1), 1, 0, SLATE_PROFILE_MAX_MS,
                              &p->pts_latency[i]);
        }
        slate_jpath_pop(&L->path, m);
        i++;
    }
    slate_jpath_pop(&L->path, mark);
    p->n_pts = n;
    return ok;
}

/* Members that belong to one form only; giving one to another form is
 * refused rather than ignored, since it would silently do nothing. */
static int check_members(loader *L, const cJSON *obj, slate_profile_form form)
{
    static const struct {
        const char *key;
        unsigned forms; /* bit per slate_profile_form that uses it */
    } owned[] = {
        {"t0_ms", 1u << SLATE_PROFILE_MM1 | 1u << SLATE_PROFILE_POLY},
        {"k_ms", 1u << SLATE_PROFILE_MM1},
        {"coef", 1u << SLATE_PROFILE_POLY},
        {"points", 1u << SLATE_PROFILE_POINTS},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (!(owned[i].forms & (1u << form)) &&
            cJSON_GetObjectItemCaseSensitive(obj, owned[i].key) != NULL) {
            problem(L, owned[i].key, "does not apply to form \"%s\"", form_name(form));
            ok = 0;
        }
    }
    return ok;
}

/* Parses one entry of "profiles" at the current path. On success fills
 * |*slot| and |*out|; on failure the problems are recorded. */
static int parse_entry(loader *L, const cJSON *obj, int *slot, slate_profile *out)
{
    if (!cJSON_IsObject(obj)) {
        problem(L, NULL, "must be an object");
        return 0;
    }
    const slate_topology *t = L->set->topo;
    const char *svc_name = NULL, *cl_name = NULL, *form = NULL;
    int before = L->bad, service = -1, cluster = -1;
    if (slate_json_get_string(obj, "service", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_NAME, &svc_name,
                              &L->path, L->diag, SLATE_ERR_PROFILE_INVALID) != SLATE_OK)
        L->bad++;
    else if ((service = slate_topology_find_service(t, svc_name)) < 0)
        problem(L, "service", "unknown service \"%s\"", svc_name);
    if (slate_json_get_string(obj, "cluster", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_NAME, &cl_name,
                              &L->path, L->diag, SLATE_ERR_PROFILE_INVALID) != SLATE_OK)
        L->bad++;
    else if ((cluster = slate_topology_find_cluster(t, cl_name)) < 0)
        problem(L, "cluster", "unknown cluster \"%s\"", cl_name);
    int k = -1;
    if (service >= 0 && cluster >= 0 && (k = find_slot(L->set, service, cluster)) < 0)
        problem(L, NULL, "service \"%s\" is not deployed in cluster \"%s\"", svc_name, cl_name);

    slate_profile p;
    memset(&p, 0, sizeof(p));
    if (slate_json_get_string(obj, "form", SLATE_JSON_REQUIRED, 16, &form, &L->path, L->diag,
                              SLATE_ERR_PROFILE_INVALID) != SLATE_OK) {
        L->bad++;
        return 0;
    }
    if (strcmp(form, "mm1") == 0)
        p.form = SLATE_PROFILE_MM1;
    else if (strcmp(form, "poly") == 0)
        p.form = SLATE_PROFILE_POLY;
    else if (strcmp(form, "points") == 0)
        p.form = SLATE_PROFILE_POINTS;
    else {
        problem(L, "form", "unknown form \"%s\" (mm1, poly or points)", form);
        return 0;
    }
    int ok = check_members(L, obj, p.form);
    /* mu defaults to the deployment's capacity; when the deployment is
     * unknown the entry has already failed and 1 only keeps profile_check
     * from reporting a second, spurious problem. */
    const slate_deployment *dep = k >= 0 ? slate_topology_deployment(t, service, cluster) : NULL;
    p.mu_rps = dep != NULL ? dep->capacity_rps : 1.0;
    if (get_number(L, obj, "mu_rps", 0, 0, SLATE_TOPO_MAX_RPS, &p.mu_rps) && p.mu_rps == 0) {
        problem(L, "mu_rps", "must be greater than 0");
        ok = 0;
    }
    switch (p.form) {
    case SLATE_PROFILE_MM1:
        ok &= get_number(L, obj, "t0_ms", SLATE_JSON_REQUIRED, 0, SLATE_PROFILE_MAX_MS, &p.t0_ms);
        ok &= get_number(L, obj, "k_ms", SLATE_JSON_REQUIRED, 0, SLATE_PROFILE_MAX_MS, &p.k_ms);
        break;
    case SLATE_PROFILE_POLY:
        ok &= get_number(L, obj, "t0_ms", SLATE_JSON_REQUIRED, 0, SLATE_PROFILE_MAX_MS, &p.t0_ms);
        ok &= parse_coef(L, obj, &p);
        break;
    case SLATE_PROFILE_POINTS:
        ok &= parse_points(L, obj, &p);
        break;
    }
    /* Ranges were checked while reading; this adds what spans fields (loads
     * ascending). Skipped after a read failure, which left fields unset. */
    if (ok && profile_check(&p, &L->path, L->diag) > 0)
        L->bad++;
    if (L->bad != before)
        return 0;
    *slot = k;
    *out = profile_canonical(&p);
    return 1;
}

int slate_profile_set_load_json(slate_profile_set *s, const char *text, size_t len,
                                slate_diag *diag)
{
    if (s == NULL)
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_JSON_MAX_BYTES, &root, diag);
    if (rv != SLATE_OK)
        return rv;
    loader L = {.set = s, .diag = diag, .bad = 0};
    slate_jpath_init(&L.path);
    /* Staged in a copy so that a failure changes nothing; |seen| holds the
     * entry index + 1 that set each deployment, to name duplicates. */
    slate_profile *staged = NULL;
    int *seen = NULL;
    rv = SLATE_ERR_PROFILE_INVALID;
    if (!cJSON_IsObject(root)) {
        problem(&L, NULL, "a profile set must be an object {\"profiles\": [...]}");
        goto out;
    }
    int badarr = 0;
    const cJSON *arr = slate_json_get_array(root, "profiles", SLATE_JSON_REQUIRED, &L.path, diag,
                                            SLATE_ERR_PROFILE_INVALID, &badarr);
    if (arr == NULL)
        goto out;
    int n = cJSON_GetArraySize(arr);
    size_t limit = s->n_services * s->n_clusters;
    if ((size_t)n > limit) {
        /* Each deployment may appear once, so a longer list cannot be valid;
         * refusing it unread bounds the work a hostile document causes. */
        problem(&L, "profiles", "has %d entries, more than the %zu services x clusters", n, limit);
        goto out;
    }
    size_t np = s->n_profiles ? s->n_profiles : 1;
    staged = malloc(np * sizeof(*staged));
    seen = calloc(np, sizeof(*seen));
    if (staged == NULL || seen == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    memcpy(staged, s->profiles, s->n_profiles * sizeof(*staged));
    size_t mark = slate_jpath_push_key(&L.path, "profiles");
    int i = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, arr)
    {
        size_t m = slate_jpath_push_index(&L.path, (size_t)i);
        int k;
        slate_profile p;
        if (parse_entry(&L, entry, &k, &p)) {
            if (seen[k]) {
                const cJSON *svc = cJSON_GetObjectItemCaseSensitive(entry, "service");
                const cJSON *cl = cJSON_GetObjectItemCaseSensitive(entry, "cluster");
                problem(&L, NULL, "duplicate: profiles[%d] already sets \"%s\" at \"%s\"",
                        seen[k] - 1, svc->valuestring, cl->valuestring);
            } else {
                seen[k] = i + 1;
                staged[k] = p;
            }
        }
        slate_jpath_pop(&L.path, m);
        i++;
    }
    slate_jpath_pop(&L.path, mark);
    if (L.bad == 0) {
        /* Copied in place, not swapped, so pointers from get() stay valid. */
        memcpy(s->profiles, staged, s->n_profiles * sizeof(*staged));
        rv = SLATE_OK;
    }
out:
    free(seen);
    free(staged);
    cJSON_Delete(root);
    return rv;
}

/* ---- save ---- */

/* Adds the members of |p| (validated) to object |obj|. Returns 0 on NOMEM. */
static int add_profile_members(cJSON *obj, const slate_profile *p)
{
    int ok = slate_json_attach(obj, "form", cJSON_CreateString(form_name(p->form)));
    switch (p->form) {
    case SLATE_PROFILE_MM1:
        ok = ok && slate_json_attach(obj, "t0_ms", slate_json_exact_number(p->t0_ms));
        ok = ok && slate_json_attach(obj, "k_ms", slate_json_exact_number(p->k_ms));
        ok = ok && slate_json_attach(obj, "mu_rps", slate_json_exact_number(p->mu_rps));
        break;
    case SLATE_PROFILE_POLY: {
        ok = ok && slate_json_attach(obj, "t0_ms", slate_json_exact_number(p->t0_ms));
        ok = ok && slate_json_attach(obj, "mu_rps", slate_json_exact_number(p->mu_rps));
        cJSON *coef = cJSON_CreateArray();
        ok = ok && slate_json_attach(obj, "coef", coef);
        for (int i = 0; ok && i < p->degree; i++)
            ok = slate_json_attach(coef, NULL, slate_json_exact_number(p->coef[i]));
        break;
    }
    case SLATE_PROFILE_POINTS: {
        ok = ok && slate_json_attach(obj, "mu_rps", slate_json_exact_number(p->mu_rps));
        cJSON *pts = cJSON_CreateArray();
        ok = ok && slate_json_attach(obj, "points", pts);
        for (int i = 0; ok && i < p->n_pts; i++) {
            cJSON *pair = cJSON_CreateArray();
            ok = slate_json_attach(pts, NULL, pair) && slate_json_attach(pair, NULL, slate_json_exact_number(p->pts_load[i])) &&
                 slate_json_attach(pair, NULL, slate_json_exact_number(p->pts_latency[i]));
        }
        break;
    }
    }
    return ok;
}

int slate_profile_to_json(const slate_profile *p, int pretty, char **out)
{
    if (out == NULL || slate_profile_validate(p, NULL) != SLATE_OK)
        return SLATE_ERR_INVALID_ARG;
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL || !add_profile_members(obj, p)) {
        cJSON_Delete(obj);
        return SLATE_ERR_NOMEM;
    }
    int rv = slate_json_print(obj, pretty, out);
    cJSON_Delete(obj);
    return rv;
}

int slate_profile_set_to_json(const slate_profile_set *s, int pretty, char **out)
{
    if (s == NULL || out == NULL)
        return SLATE_ERR_INVALID_ARG;
    const slate_topology *t = s->topo;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    int ok = root != NULL && slate_json_attach(root, "profiles", arr);
    for (size_t i = 0; ok && i < s->n_services; i++) {
        for (size_t c = 0; ok && c < s->n_clusters; c++) {
            int k = s->slot[i * s->n_clusters + c];
            if (k < 0)
                continue;
            cJSON *obj = cJSON_CreateObject();
            ok = slate_json_attach(arr, NULL, obj) &&
                 slate_json_attach(obj, "service", cJSON_CreateString(t->services[i].name)) &&
                 slate_json_attach(obj, "cluster", cJSON_CreateString(t->clusters[c])) &&
                 add_profile_members(obj, &s->profiles[k]);
        }
    }
    int rv = ok ? slate_json_print(root, pretty, out) : SLATE_ERR_NOMEM;
    if (root == NULL)
        cJSON_Delete(arr);
    cJSON_Delete(root);
    return rv;
}
