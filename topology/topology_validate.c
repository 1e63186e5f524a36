/*
 * Whole-topology validation (the rules that need every section loaded) and
 * the sorted name index the loader resolves references with.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "topology/topology_int.h"

/* One (name, position) pair, sorted by name then position. */
typedef struct name_pos {
    const char *name;
    int pos;
} name_pos;

static int name_pos_cmp(const void *a, const void *b)
{
    const name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Returns owned, sorted pairs for the non-NULL names, their count in |*n_out|. */
static name_pos *sorted_names(char *const *names, size_t n, size_t *n_out)
{
    name_pos *v = malloc((n ? n : 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (names[i] != NULL) {
            v[k].name = names[i];
            v[k].pos = (int)i;
            k++;
        }
    }
    qsort(v, k, sizeof(*v), name_pos_cmp);
    *n_out = k;
    return v;
}

int topo_name_index_build(topo_name_index *ix, char *const *names, size_t n)
{
    memset(ix, 0, sizeof(*ix));
    size_t k;
    name_pos *v = sorted_names(names, n, &k);
    if (v == NULL)
        return SLATE_ERR_NOMEM;
    ix->names = malloc((k ? k : 1) * sizeof(*ix->names));
    ix->idx = malloc((k ? k : 1) * sizeof(*ix->idx));
    if (ix->names == NULL || ix->idx == NULL) {
        free(v);
        topo_name_index_cleanup(ix);
        return SLATE_ERR_NOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        ix->names[i] = v[i].name;
        ix->idx[i] = v[i].pos;
    }
    ix->n = k;
    free(v);
    return SLATE_OK;
}

int topo_name_index_find(const topo_name_index *ix, const char *name)
{
    /* Lower bound, so among duplicates the first in file order wins. */
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->names[mid], name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ix->n && strcmp(ix->names[lo], name) == 0)
        return ix->idx[lo];
    return -1;
}

void topo_name_index_cleanup(topo_name_index *ix)
{
    free(ix->names);
    free(ix->idx);
    memset(ix, 0, sizeof(*ix));
}

/*
 * Reports every name in |names| that repeats an earlier one, at
 * "<section>[i]<suffix>". Returns the number reported or SLATE_ERR_NOMEM.
 */
static long check_duplicate_names(char *const *names, size_t n, const char *section,
                                  const char *suffix, const char *what, slate_diag *d)
{
    size_t k;
    name_pos *v = sorted_names(names, n, &k);
    if (v == NULL)
        return SLATE_ERR_NOMEM;
    long found = 0;
    size_t first = 0;
    for (size_t i = 1; i < k; i++) {
        if (strcmp(v[i].name, v[first].name) != 0) {
            first = i;
            continue;
        }
        char path[SLATE_DIAG_PATH_MAX];
        snprintf(path, sizeof(path), "%s[%d]%s", section, v[i].pos, suffix);
        slate_diag_add(d, SLATE_ERR_TOPOLOGY_INVALID, path,
                       "duplicate %s name \"%s\" (first at %s[%d])", what, v[i].name, section,
                       v[first].pos);
        found++;
    }
    free(v);
    return found;
}

static long check_deployments(const slate_topology *t, slate_diag *d)
{
    long found = 0;
    int *first = malloc((t->n_clusters ? t->n_clusters : 1) * sizeof(*first));
    if (first == NULL)
        return SLATE_ERR_NOMEM;
    for (size_t s = 0; s < t->n_services; s++) {
        const slate_service *svc = &t->services[s];
        char path[SLATE_DIAG_PATH_MAX];
        if (svc->name != NULL && svc->n_deployments == 0) {
            snprintf(path, sizeof(path), "services[%zu].deployments", s);
            slate_diag_add(d, SLATE_ERR_TOPOLOGY_INVALID, path, "service \"%s\" has no deployment",
                           svc->name);
            found++;
        }
        for (size_t c = 0; c < t->n_clusters; c++)
            first[c] = -1;
        for (size_t i = 0; i < svc->n_deployments; i++) {
            int c = svc->deployments[i].cluster;
            if (c < 0 || (size_t)c >= t->n_clusters)
                continue;
            if (first[c] < 0) {
                first[c] = (int)i;
                continue;
            }
            snprintf(path, sizeof(path), "services[%zu].deployments[%zu].cluster", s, i);
            slate_diag_add(d, SLATE_ERR_TOPOLOGY_INVALID, path,
                           "service \"%s\" is already deployed in cluster \"%s\" (deployments[%d])",
                           svc->name ? svc->name : "?", t->clusters[c] ? t->clusters[c] : "?",
                           first[c]);
            found++;
        }
    }
    free(first);
    return found;
}

static long check_demand(const slate_topology *t, slate_diag *d)
{
    if (t->n_demand == 0 || t->n_classes == 0 || t->n_clusters == 0)
        return 0;
    /* Both counts are bounded by the header's limits (4096 x 64 cells). */
    size_t cells = t->n_classes * t->n_clusters;
    int *first = malloc(cells * sizeof(*first));
    if (first == NULL)
        return SLATE_ERR_NOMEM;
    for (size_t i = 0; i < cells; i++)
        first[i] = -1;
    long found = 0;
    for (size_t i = 0; i < t->n_demand; i++) {
        const slate_demand *e = &t->demand[i];
        if (e->klass < 0 || (size_t)e->klass >= t->n_classes || e->cluster < 0 ||
            (size_t)e->cluster >= t->n_clusters)
            continue;
        size_t cell = (size_t)e->klass * t->n_clusters + (size_t)e->cluster;
        if (first[cell] < 0) {
            first[cell] = (int)i;
            continue;
        }
        char path[SLATE_DIAG_PATH_MAX];
        snprintf(path, sizeof(path), "demand[%zu]", i);
        const char *kname = t->classes[e->klass].name, *cname = t->clusters[e->cluster];
        slate_diag_add(d, SLATE_ERR_TOPOLOGY_INVALID, path,
                       "duplicate demand for class \"%s\" in cluster \"%s\" (first at demand[%d])",
                       kname ? kname : "?", cname ? cname : "?", first[cell]);
        found++;
    }
    free(first);
    return found;
}

long topo_validate(const slate_topology *t, slate_diag *d)
{
    long total = 0, r;

    r = check_duplicate_names(t->clusters, t->n_clusters, "clusters", "", "cluster", d);
    if (r < 0)
        return r;
    total += r;

    /* Names live inside the element structs; gather them into a flat array. */
    size_t n = t->n_services > t->n_classes ? t->n_services : t->n_classes;
    char **names = malloc((n ? n : 1) * sizeof(*names));
    if (names == NULL)
        return SLATE_ERR_NOMEM;
    for (size_t i = 0; i < t->n_services; i++)
        names[i] = t->services[i].name;
    r = check_duplicate_names(names, t->n_services, "services", ".name", "service", d);
    if (r >= 0) {
        total += r;
        for (size_t i = 0; i < t->n_classes; i++)
            names[i] = t->classes[i].name;
        r = check_duplicate_names(names, t->n_classes, "classes", ".name", "class", d);
    }
    free(names);
    if (r < 0)
        return r;
    total += r;

    r = check_deployments(t, d);
    if (r < 0)
        return r;
    total += r;

    r = check_demand(t, d);
    if (r < 0)
        return r;
    return total + r;
}
