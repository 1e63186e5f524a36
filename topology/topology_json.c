/*
 * Loading a topology from JSON (with validation that reports every problem,
 * each at its JSON path) and writing one back.
 *
 * The loader builds the slate_topology as it walks the document and keeps
 * going after a problem, so one run lists everything an author has to fix.
 * Array positions in the topology mirror the document (an element that
 * failed to parse stays as an empty slot: NULL name, index -1), which keeps
 * later diagnostics' paths right. References that cannot be resolved are
 * left at -1; the whole thing is freed if any problem was found.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "topology/topology.h"
#include "topology/topology_int.h"

#define INVALID SLATE_ERR_TOPOLOGY_INVALID

/* Walking state of one load. */
typedef struct loader {
    slate_topology *t; /* being built; owned by the load call */
    slate_diag *d;     /* may be NULL */
    slate_jpath path;  /* path of the value being read */
    size_t problems;   /* counted here because |d| may be NULL */
    /* 1 once a name list was read, so references to it can be checked; a list
     * that is missing or over its limit would make every reference look
     * unknown, which would bury the one real problem. */
    int clusters_known, services_known, classes_known;
    topo_name_index clusters_ix, services_ix, classes_ix;
    /* Per service: 1 + the class index for which "deployed nowhere" was last
     * reported, so each class names each such service once. */
    int *nowhere_reported;
} loader;

/* Call-tree builder state of one class. */
typedef struct tree_builder {
    slate_class *c;
    size_t cap; /* allocated slots in c->nodes */
    int klass;  /* index of the class, for diagnostics */
    int node_limit_reported;
} tree_builder;

/* Records one problem at the current path. */
__attribute__((format(printf, 2, 3))) static void problem(loader *L, const char *fmt, ...)
{
    char msg[SLATE_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    slate_diag_add(L->d, INVALID, L->path.buf, "%s", msg);
    L->problems++;
}

/* As problem(), at the current path plus ".key". */
__attribute__((format(printf, 3, 4))) static void problem_at(loader *L, const char *key,
                                                             const char *fmt, ...)
{
    char msg[SLATE_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t m = slate_jpath_push_key(&L->path, key);
    slate_diag_add(L->d, INVALID, L->path.buf, "%s", msg);
    slate_jpath_pop(&L->path, m);
    L->problems++;
}

/* The typed getters of common/json.h, counting problems. Each returns 1 when
 * the member was absent (and optional) or valid, 0 after a problem. */
static int get_number(loader *L, const cJSON *obj, const char *key, unsigned flags, double min,
                      double max, double *out)
{
    if (slate_json_get_number(obj, key, flags, min, max, out, &L->path, L->d, INVALID) == SLATE_OK)
        return 1;
    L->problems++;
    return 0;
}

/* A number in (0, max]: the getter checks [0, max], zero is refused here. */
static int get_positive(loader *L, const cJSON *obj, const char *key, unsigned flags, double max,
                        double *out)
{
    double v = *out;
    if (!get_number(L, obj, key, flags, 0, max, &v))
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL && v <= 0) {
        problem_at(L, key, "must be greater than 0");
        return 0;
    }
    *out = v;
    return 1;
}

static int get_string(loader *L, const cJSON *obj, const char *key, unsigned flags,
                      const char **out)
{
    if (slate_json_get_string(obj, key, flags, SLATE_TOPO_MAX_NAME, out, &L->path, L->d, INVALID) ==
        SLATE_OK)
        return 1;
    L->problems++;
    return 0;
}

static int get_bool(loader *L, const cJSON *obj, const char *key, int *out)
{
    if (slate_json_get_bool(obj, key, 0, out, &L->path, L->d, INVALID) == SLATE_OK)
        return 1;
    L->problems++;
    return 0;
}

static const cJSON *get_array(loader *L, const cJSON *obj, const char *key, unsigned flags)
{
    int bad = 0;
    const cJSON *a = slate_json_get_array(obj, key, flags, &L->path, L->d, INVALID, &bad);
    if (bad)
        L->problems++;
    return a;
}

static const cJSON *get_object(loader *L, const cJSON *obj, const char *key, unsigned flags)
{
    int bad = 0;
    const cJSON *o = slate_json_get_object(obj, key, flags, &L->path, L->d, INVALID, &bad);
    if (bad)
        L->problems++;
    return o;
}

/* Array elements (the path already ends in "[i]"), checked as the getters check members. */
static int elem_string(loader *L, const cJSON *v, const char **out)
{
    if (slate_json_check_string(v, SLATE_TOPO_MAX_NAME, out, &L->path, L->d, INVALID) == SLATE_OK)
        return 1;
    L->problems++;
    return 0;
}

static int elem_number(loader *L, const cJSON *v, double min, double max, double *out)
{
    if (slate_json_check_number(v, min, max, out, &L->path, L->d, INVALID) == SLATE_OK)
        return 1;
    L->problems++;
    return 0;
}

/* Checks an array's length against its limit; reports at the current path. */
static int within_limit(loader *L, int n, int limit, const char *what)
{
    if (n <= limit)
        return 1;
    problem(L, "has %d %s, over the limit of %d", n, what, limit);
    return 0;
}

/* Duplicates |s| into |*out|; returns SLATE_OK or SLATE_ERR_NOMEM. */
static int dup_into(char **out, const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        return SLATE_ERR_NOMEM;
    *out = c;
    return SLATE_OK;
}

/* Fills |elem| (zeroed, or as |init| left it) from the array element |obj|;
 * the JSON path is at the element. */
typedef int (*elem_loader)(loader *L, const cJSON *obj, void *elem, size_t index);

/*
 * Loads |arr|, the member |key| of at most |limit| elements (|what| names them
 * in the limit's message), into a new zeroed array of |size|-byte elements
 * stored in |*items| and |*n_items| (left as they are when it is too long).
 * |init| (may be NULL) prepares every element first; with |objects|, an
 * element that is not an object is reported and keeps that state, else
 * |load| checks the element's type itself. Stops at the first element whose
 * |load| fails (NOMEM).
 */
static int load_elements(loader *L, const cJSON *arr, const char *key, int limit, const char *what,
                         size_t size, void **items, size_t *n_items, void (*init)(void *elem),
                         elem_loader load, int objects)
{
    int n = cJSON_GetArraySize(arr);
    size_t m = slate_jpath_push_key(&L->path, key);
    int rv = SLATE_OK;
    if (!within_limit(L, n, limit, what))
        goto out;
    char *elems = calloc((size_t)n, size);
    if (elems == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    *items = elems;
    *n_items = (size_t)n;
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        void *elem = elems + i * size;
        if (init != NULL)
            init(elem);
        size_t mi = slate_jpath_push_index(&L->path, i);
        if (objects && !cJSON_IsObject(item))
            problem(L, "must be an object, not %s", slate_json_type_name(item));
        else
            rv = load(L, item, elem, i);
        slate_jpath_pop(&L->path, mi);
        if (rv != SLATE_OK)
            goto out;
        i++;
    }
out:
    slate_jpath_pop(&L->path, m);
    return rv;
}

/*
 * Loads the member |key| of |root|, an array of at most |limit| objects,
 * as load_elements does (NULL and 0 when the array is absent, empty or too
 * long). |*listed| is 1 when the array was there and within its limit: only
 * then may names be looked up in it without piling errors onto the one
 * reported.
 */
static int load_object_array(loader *L, const cJSON *root, const char *key, unsigned flags,
                             int limit, const char *what, size_t size, void **items,
                             size_t *n_items, int *listed, void (*init)(void *elem),
                             elem_loader load)
{
    *items = NULL;
    *n_items = 0;
    *listed = 0;
    const cJSON *arr = get_array(L, root, key, flags);
    if (arr == NULL)
        return SLATE_OK;
    int n = cJSON_GetArraySize(arr);
    *listed = n <= limit;
    if (n == 0)
        return SLATE_OK;
    return load_elements(L, arr, key, limit, what, size, items, n_items, init, load, 1);
}

/* Resolves cluster name member |key| of |obj|; -1 when absent or unknown. */
static int resolve_cluster(loader *L, const cJSON *obj, const char *key)
{
    const char *name = NULL;
    if (!get_string(L, obj, key, SLATE_JSON_REQUIRED, &name) || !L->clusters_known)
        return -1;
    int c = topo_name_index_find(&L->clusters_ix, name);
    if (c < 0)
        problem_at(L, key, "unknown cluster \"%s\"", name);
    return c;
}

/* An element of an array of names: a string, copied. */
static int load_name_elem(loader *L, const cJSON *v, void *elem, size_t index)
{
    (void)index;
    const char *name = NULL;
    return elem_string(L, v, &name) ? dup_into(elem, name) : SLATE_OK;
}

/*
 * Copies |arr|, the member |key| (also the name in the limit's message) of a
 * non-empty array of at most |limit| names, into a new array stored in
 * |*items| and |*n_items| (left NULL and 0 when it is too long). An element
 * that is not a string is reported and left NULL; returns NOMEM or OK.
 */
static int load_string_array(loader *L, const cJSON *arr, const char *key, int limit,
                             char ***items, size_t *n_items)
{
    void *names = NULL;
    int rv = load_elements(L, arr, key, limit, key, sizeof(char *), &names, n_items, NULL,
                           load_name_elem, 0);
    *items = names;
    return rv;
}

/* ---- clusters and network ---- */

static int load_clusters(loader *L, const cJSON *root)
{
    slate_topology *t = L->t;
    const cJSON *arr = get_array(L, root, "clusters", SLATE_JSON_REQUIRED);
    if (arr == NULL)
        return SLATE_OK;
    if (cJSON_GetArraySize(arr) == 0) {
        size_t m = slate_jpath_push_key(&L->path, "clusters");
        problem(L, "must list at least one cluster");
        slate_jpath_pop(&L->path, m);
        return SLATE_OK;
    }
    int rv = load_string_array(L, arr, "clusters", SLATE_TOPO_MAX_CLUSTERS, &t->clusters,
                               &t->n_clusters);
    if (rv != SLATE_OK || t->clusters == NULL)
        return rv;
    rv = topo_name_index_build(&L->clusters_ix, t->clusters, t->n_clusters);
    if (rv == SLATE_OK)
        L->clusters_known = 1;
    return rv;
}

/*
 * Reads the n x n matrix member |key| of |net| into a new array stored in
 * |*out| (zeros where absent or invalid). Values must lie in [0, max]; an
 * egress matrix (|is_egress|) must have a zero diagonal. Sets |*complete| (may
 * be NULL) to 1 when the matrix was present with the right shape and every
 * value valid, else to 0.
 */
static int load_matrix(loader *L, const cJSON *net, const char *key, unsigned flags, double max,
                       int is_egress, double **out, int *complete)
{
    size_t n = L->t->n_clusters;
    if (complete)
        *complete = 0;
    double *v = calloc(n > 0 ? n * n : 1, sizeof(*v));
    if (v == NULL)
        return SLATE_ERR_NOMEM;
    *out = v;
    const cJSON *rows = net ? get_array(L, net, key, flags) : NULL;
    if (rows == NULL)
        return SLATE_OK;
    size_t m = slate_jpath_push_key(&L->path, key);
    int ok = 1;
    int n_rows = cJSON_GetArraySize(rows);
    if ((size_t)n_rows != n) {
        problem(L, "must have %zu rows (one per cluster), not %d", n, n_rows);
        ok = 0;
    }
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        size_t mi = slate_jpath_push_index(&L->path, i);
        if (!cJSON_IsArray(row)) {
            problem(L, "must be an array, not %s", slate_json_type_name(row));
            ok = 0;
        } else {
            int n_cols = cJSON_GetArraySize(row);
            if ((size_t)n_cols != n) {
                problem(L, "must have %zu columns (one per cluster), not %d", n, n_cols);
                ok = 0;
            }
            size_t j = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, row)
            {
                size_t mj = slate_jpath_push_index(&L->path, j);
                double val = 0;
                if (!elem_number(L, x, 0, max, &val)) {
                    ok = 0;
                } else if (is_egress && i == j && val != 0) {
                    problem(L, "must be 0: traffic inside a cluster pays no egress");
                    ok = 0;
                } else if (i < n && j < n) {
                    v[i * n + j] = val;
                }
                slate_jpath_pop(&L->path, mj);
                j++;
            }
        }
        slate_jpath_pop(&L->path, mi);
        i++;
    }
    slate_jpath_pop(&L->path, m);
    if (complete)
        *complete = ok;
    return SLATE_OK;
}

static int load_network(loader *L, const cJSON *root)
{
    slate_topology *t = L->t;
    const cJSON *net = get_object(L, root, "network", SLATE_JSON_REQUIRED);
    if (!L->clusters_known)
        return SLATE_OK; /* shapes cannot be checked without the cluster list */
    size_t m = slate_jpath_push_key(&L->path, "network");
    int rtt_complete = 0;
    int rv = load_matrix(L, net, "rtt_ms", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_RTT_MS, 0,
                         &t->rtt_ms, &rtt_complete);
    if (rv == SLATE_OK)
        rv = load_matrix(L, net, "egress_usd_per_gb", 0, TOPO_MAX_EGRESS, 1, &t->egress_usd_per_gb,
                         NULL);
    slate_jpath_pop(&L->path, m);
    if (rv != SLATE_OK || !rtt_complete)
        return rv;
    size_t n = t->n_clusters;
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            double x = t->rtt_ms[a * n + b], y = t->rtt_ms[b * n + a];
            if (fabs(x - y) <= TOPO_RTT_SYMMETRY_TOL * fmax(fabs(x), fabs(y)))
                continue;
            char path[SLATE_DIAG_PATH_MAX];
            snprintf(path, sizeof(path), "network.rtt_ms[%zu][%zu]", b, a);
            slate_diag_add(L->d, INVALID, path,
                           "is %g but rtt_ms[%zu][%zu] is %g: the matrix must be symmetric", y, a,
                           b, x);
            L->problems++;
        }
    }
    return SLATE_OK;
}

/* ---- services ---- */

static int load_deployment(loader *L, const cJSON *obj, slate_deployment *dep)
{
    dep->cluster = resolve_cluster(L, obj, "cluster");
    get_positive(L, obj, "capacity_rps", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_RPS,
                 &dep->capacity_rps);
    const cJSON *eps = get_array(L, obj, "endpoints", 0);
    if (eps == NULL || cJSON_GetArraySize(eps) == 0)
        return SLATE_OK;
    return load_string_array(L, eps, "endpoints", SLATE_TOPO_MAX_ENDPOINTS, &dep->endpoints,
                             &dep->n_endpoints);
}

static int load_service(loader *L, const cJSON *obj, slate_service *svc)
{
    const char *name = NULL;
    if (get_string(L, obj, "name", SLATE_JSON_REQUIRED, &name) &&
        dup_into(&svc->name, name) != SLATE_OK)
        return SLATE_ERR_NOMEM;
    double service_time = 0;
    get_positive(L, obj, "service_time_ms", 0, TOPO_MAX_SERVICE_TIME_MS, &service_time);

    const cJSON *deps = get_array(L, obj, "deployments", 0);
    int n = deps ? cJSON_GetArraySize(deps) : 0;
    size_t m = slate_jpath_push_key(&L->path, "deployments");
    int rv = SLATE_OK;
    /* More deployments than clusters can only hold duplicates; past the
     * limit only the first SLATE_TOPO_MAX_CLUSTERS are read, which bounds the
     * work on a hostile document. */
    if (!within_limit(L, n, SLATE_TOPO_MAX_CLUSTERS, "deployments"))
        n = SLATE_TOPO_MAX_CLUSTERS;
    if (n > 0) {
        svc->deployments = calloc((size_t)n, sizeof(*svc->deployments));
        if (svc->deployments == NULL) {
            rv = SLATE_ERR_NOMEM;
            goto out;
        }
        svc->n_deployments = (size_t)n;
        size_t i = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, deps)
        {
            slate_deployment *dep = &svc->deployments[i];
            dep->cluster = -1;
            size_t mi = slate_jpath_push_index(&L->path, i);
            if (!cJSON_IsObject(item))
                problem(L, "must be an object, not %s", slate_json_type_name(item));
            else
                rv = load_deployment(L, item, dep);
            slate_jpath_pop(&L->path, mi);
            if (rv != SLATE_OK)
                goto out;
            if (++i == (size_t)n)
                break;
        }
    }
    /* Default: one work unit takes as long as the fastest deployment's
     * saturation rate implies (1000 ms / capacity). */
    if (service_time <= 0) {
        double best = 0;
        for (size_t i = 0; i < svc->n_deployments; i++)
            best = fmax(best, svc->deployments[i].capacity_rps);
        service_time = best > 0 ? 1000.0 / best : 1.0;
    }
    svc->service_time_ms = service_time;
out:
    slate_jpath_pop(&L->path, m);
    return rv;
}

static int load_service_elem(loader *L, const cJSON *obj, void *elem, size_t index)
{
    (void)index;
    return load_service(L, obj, elem);
}

static int load_services(loader *L, const cJSON *root)
{
    slate_topology *t = L->t;
    void *items;
    int listed;
    int rv = load_object_array(L, root, "services", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_SERVICES,
                               "services", sizeof(*t->services), &items, &t->n_services, &listed,
                               NULL, load_service_elem);
    t->services = items;
    char **names = NULL;
    if (rv != SLATE_OK || !listed)
        goto out;
    names = malloc((t->n_services ? t->n_services : 1) * sizeof(*names));
    L->nowhere_reported = calloc(t->n_services ? t->n_services : 1, sizeof(int));
    if (names == NULL || L->nowhere_reported == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < t->n_services; i++)
        names[i] = t->services[i].name;
    rv = topo_name_index_build(&L->services_ix, names, t->n_services);
    if (rv == SLATE_OK)
        L->services_known = 1;
out:
    free(names);
    return rv;
}

/* ---- classes and their call trees ---- */

/*
 * Reports a call cycle if service |s| of node |v| already appears among v's
 * ancestors, naming the path from the root ("frontend -> a -> b -> a").
 */
static void check_cycle(loader *L, const slate_class *c, int v, int s)
{
    int p = c->nodes[v].parent;
    while (p >= 0 && c->nodes[p].service != s)
        p = c->nodes[p].parent;
    if (p < 0)
        return;
    int chain[SLATE_TOPO_MAX_DEPTH + 1];
    int len = 0;
    for (int u = v; u >= 0 && len <= SLATE_TOPO_MAX_DEPTH; u = c->nodes[u].parent)
        chain[len++] = c->nodes[u].service;
    char route[160];
    size_t used = 0;
    route[0] = '\0';
    for (int i = len - 1; i >= 0 && used < sizeof(route); i--) {
        int sv = chain[i];
        const char *name = sv >= 0 && L->t->services[sv].name ? L->t->services[sv].name : "?";
        int w = snprintf(route + used, sizeof(route) - used, "%s%s", name, i ? " -> " : "");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    problem_at(L, "service", "call cycle: \"%s\" already appears on this path (%s)",
               L->t->services[s].name, route);
}

static int grow_nodes(tree_builder *b)
{
    if (b->c->n_nodes < b->cap)
        return SLATE_OK;
    size_t cap = b->cap ? b->cap * 2 : 8;
    if (cap > SLATE_TOPO_MAX_NODES)
        cap = SLATE_TOPO_MAX_NODES;
    slate_call_node *nodes = realloc(b->c->nodes, cap * sizeof(*nodes));
    if (nodes == NULL)
        return SLATE_ERR_NOMEM;
    b->c->nodes = nodes;
    b->cap = cap;
    return SLATE_OK;
}

/*
 * Appends the node described by |obj| (child of |parent|, at |depth|) and,
 * recursively, its subtree, in pre-order. |*out| receives the node's index,
 * or -1 when the node limit stopped the walk before it. Depth is checked
 * before recursing, so the C stack holds at most SLATE_TOPO_MAX_DEPTH + 1
 * frames whatever the document's nesting.
 */
static int build_node(loader *L, tree_builder *b, const cJSON *obj, int parent, int depth, int *out)
{
    slate_class *c = b->c;
    *out = -1;
    if (c->n_nodes >= SLATE_TOPO_MAX_NODES) {
        if (!b->node_limit_reported)
            problem(L, "call tree has more than %d nodes", SLATE_TOPO_MAX_NODES);
        b->node_limit_reported = 1;
        return SLATE_OK;
    }
    if (grow_nodes(b) != SLATE_OK)
        return SLATE_ERR_NOMEM;
    int v = (int)c->n_nodes++;
    slate_call_node *nd = &c->nodes[v];
    memset(nd, 0, sizeof(*nd));
    nd->service = -1;
    nd->parent = parent;
    nd->depth = depth;
    nd->count = 1;
    nd->work = 1;

    const char *sname = NULL;
    if (get_string(L, obj, "service", SLATE_JSON_REQUIRED, &sname) && L->services_known) {
        int s = topo_name_index_find(&L->services_ix, sname);
        if (s < 0) {
            problem_at(L, "service", "unknown service \"%s\"", sname);
        } else {
            nd->service = s;
            check_cycle(L, c, v, s);
            if (L->t->services[s].n_deployments == 0 && L->nowhere_reported[s] != b->klass + 1) {
                L->nowhere_reported[s] = b->klass + 1;
                problem_at(L, "service", "service \"%s\" is deployed nowhere", sname);
            }
        }
    }
    const char *endpoint = NULL;
    get_string(L, obj, "endpoint", 0, &endpoint);
    if (dup_into(&nd->endpoint, endpoint ? endpoint : "") != SLATE_OK)
        return SLATE_ERR_NOMEM;
    get_positive(L, obj, "work", 0, TOPO_MAX_WORK, &nd->work);
    if (parent >= 0) {
        get_number(L, obj, "count", 0, 0, TOPO_MAX_COUNT, &nd->count);
    } else {
        double root_count = 1;
        if (get_number(L, obj, "count", 0, 0, TOPO_MAX_COUNT, &root_count) && root_count != 1)
            problem_at(L, "count", "must be 1 at the root: the root is the request itself");
    }
    get_number(L, obj, "request_bytes", 0, 0, SLATE_TOPO_MAX_BYTES_PER_CALL, &nd->request_bytes);
    get_number(L, obj, "response_bytes", 0, 0, SLATE_TOPO_MAX_BYTES_PER_CALL, &nd->response_bytes);
    get_bool(L, obj, "parallel", &nd->parallel);
    *out = v;

    const cJSON *kids = get_array(L, obj, "children", 0);
    int n = kids ? cJSON_GetArraySize(kids) : 0;
    if (n == 0)
        return SLATE_OK;
    size_t m = slate_jpath_push_key(&L->path, "children");
    int rv = SLATE_OK;
    if (depth + 1 > SLATE_TOPO_MAX_DEPTH) {
        problem(L, "call tree is deeper than %d levels", SLATE_TOPO_MAX_DEPTH);
        goto out;
    }
    size_t cap = n < SLATE_TOPO_MAX_NODES ? (size_t)n : SLATE_TOPO_MAX_NODES;
    nd->children = malloc(cap * sizeof(*nd->children));
    if (nd->children == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    size_t i = 0;
    const cJSON *kid;
    cJSON_ArrayForEach(kid, kids)
    {
        size_t mi = slate_jpath_push_index(&L->path, i);
        int k = -1;
        if (!cJSON_IsObject(kid))
            problem(L, "must be an object, not %s", slate_json_type_name(kid));
        else
            rv = build_node(L, b, kid, v, depth + 1, &k);
        slate_jpath_pop(&L->path, mi);
        if (rv != SLATE_OK)
            goto out;
        /* c->nodes may have moved: index, never keep |nd| across the call. */
        slate_call_node *self = &c->nodes[v];
        if (k >= 0 && self->n_children < cap)
            self->children[self->n_children++] = k;
        if (b->node_limit_reported)
            break;
        i++;
    }
out:
    slate_jpath_pop(&L->path, m);
    return rv;
}

static int load_class(loader *L, const cJSON *obj, slate_class *cls, int klass)
{
    const char *name = NULL;
    if (get_string(L, obj, "name", SLATE_JSON_REQUIRED, &name) &&
        dup_into(&cls->name, name) != SLATE_OK)
        return SLATE_ERR_NOMEM;
    const cJSON *match = get_object(L, obj, "match", 0);
    if (match != NULL) {
        size_t m = slate_jpath_push_key(&L->path, "match");
        const char *method = NULL, *prefix = NULL;
        get_string(L, match, "method", 0, &method);
        get_string(L, match, "path_prefix", 0, &prefix);
        slate_jpath_pop(&L->path, m);
        if ((method && dup_into(&cls->match_method, method) != SLATE_OK) ||
            (prefix && dup_into(&cls->match_path_prefix, prefix) != SLATE_OK))
            return SLATE_ERR_NOMEM;
    }
    const cJSON *calls = get_object(L, obj, "calls", SLATE_JSON_REQUIRED);
    if (calls == NULL)
        return SLATE_OK;
    tree_builder b = {.c = cls, .cap = 0, .klass = klass, .node_limit_reported = 0};
    size_t m = slate_jpath_push_key(&L->path, "calls");
    int root;
    int rv = build_node(L, &b, calls, -1, 0, &root);
    slate_jpath_pop(&L->path, m);
    return rv;
}

static int load_class_elem(loader *L, const cJSON *obj, void *elem, size_t index)
{
    return load_class(L, obj, elem, (int)index);
}

static int load_classes(loader *L, const cJSON *root)
{
    slate_topology *t = L->t;
    void *items;
    int listed;
    int rv = load_object_array(L, root, "classes", SLATE_JSON_REQUIRED, SLATE_TOPO_MAX_CLASSES,
                               "classes", sizeof(*t->classes), &items, &t->n_classes, &listed,
                               NULL, load_class_elem);
    t->classes = items;
    char **names = NULL;
    if (rv != SLATE_OK || !listed)
        goto out;
    names = malloc((t->n_classes ? t->n_classes : 1) * sizeof(*names));
    if (names == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < t->n_classes; i++)
        names[i] = t->classes[i].name;
    rv = topo_name_index_build(&L->classes_ix, names, t->n_classes);
    if (rv == SLATE_OK)
        L->classes_known = 1;
out:
    free(names);
    return rv;
}

/* ---- demand ---- */

static int load_demand_entry(loader *L, const cJSON *obj, void *elem, size_t index)
{
    (void)index;
    slate_demand *e = elem;
    const char *kname = NULL;
    if (get_string(L, obj, "class", SLATE_JSON_REQUIRED, &kname) && L->classes_known) {
        e->klass = topo_name_index_find(&L->classes_ix, kname);
        if (e->klass < 0)
            problem_at(L, "class", "unknown class \"%s\"", kname);
    }
    e->cluster = resolve_cluster(L, obj, "cluster");
    get_number(L, obj, "rps", SLATE_JSON_REQUIRED, 0, SLATE_TOPO_MAX_RPS, &e->rps);
    return SLATE_OK;
}

/* Unknown until read: an entry that is not an object stays so. */
static void init_demand_entry(void *elem)
{
    slate_demand *e = elem;
    e->klass = -1;
    e->cluster = -1;
}

static int load_demand(loader *L, const cJSON *root)
{
    slate_topology *t = L->t;
    void *items;
    int listed;
    int rv = load_object_array(L, root, "demand", 0, SLATE_TOPO_MAX_DEMAND, "entries",
                               sizeof(*t->demand), &items, &t->n_demand, &listed,
                               init_demand_entry, load_demand_entry);
    t->demand = items;
    return rv;
}

/* ---- load ---- */

static int load_document(loader *L, const cJSON *root)
{
    if (!cJSON_IsObject(root)) {
        problem(L, "the document must be an object, not %s", slate_json_type_name(root));
        return SLATE_OK;
    }
    const char *name = NULL;
    get_string(L, root, "name", 0, &name);
    int rv = dup_into(&L->t->name, name ? name : "");
    if (rv == SLATE_OK)
        rv = load_clusters(L, root);
    if (rv == SLATE_OK)
        rv = load_network(L, root);
    if (rv == SLATE_OK)
        rv = load_services(L, root);
    if (rv == SLATE_OK)
        rv = load_classes(L, root);
    if (rv == SLATE_OK)
        rv = load_demand(L, root);
    if (rv != SLATE_OK)
        return rv;
    long found = topo_validate(L->t, L->d);
    if (found < 0)
        return (int)found;
    L->problems += (size_t)found;
    return SLATE_OK;
}

int slate_topology_load_json(const char *text, size_t len, slate_topology **out, slate_diag *diag)
{
    if (out == NULL || (text == NULL && len > 0))
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_TOPO_MAX_BYTES, &root, diag);
    if (rv != SLATE_OK)
        return rv;
    loader L;
    memset(&L, 0, sizeof(L));
    L.d = diag;
    slate_jpath_init(&L.path);
    L.t = calloc(1, sizeof(*L.t));
    if (L.t == NULL) {
        rv = SLATE_ERR_NOMEM;
        goto out;
    }
    rv = load_document(&L, root);
    if (rv == SLATE_OK && L.problems > 0)
        rv = SLATE_ERR_TOPOLOGY_INVALID;
    if (rv == SLATE_OK) {
        *out = L.t;
        L.t = NULL;
    }
out:
    if (rv == SLATE_ERR_NOMEM)
        slate_diag_add(diag, SLATE_ERR_NOMEM, NULL, "out of memory while loading the topology");
    slate_topology_free(L.t);
    free(L.nowhere_reported);
    topo_name_index_cleanup(&L.clusters_ix);
    topo_name_index_cleanup(&L.services_ix);
    topo_name_index_cleanup(&L.classes_ix);
    cJSON_Delete(root);
    return rv;
}

int slate_topology_load_file(const char *path, slate_topology **out, slate_diag *diag)
{
    char *text = NULL;
    size_t len = 0;
    int rv = slate_file_read(path, SLATE_TOPO_MAX_BYTES, &text, &len, diag);
    if (rv != SLATE_OK)
        return rv;
    rv = slate_topology_load_json(text, len, out, diag);
    free(text);
    return rv;
}

slate_topology *slate_topology_load_or_report(const char *prog, const char *path)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = slate_topology_load_file(path, &t, &d);
    if (rv != SLATE_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, slate_strerror(rv));
        slate_diag_print(&d, stderr);
        t = NULL;
    }
    slate_diag_cleanup(&d);
    return t;
}

/* ---- save ---- */
