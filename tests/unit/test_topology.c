/*
 * Unit tests of the topology module: the example files, round trips, every
 * validation rule (each asserting the JSON path and the message), limits,
 * malformed input, lookups, demand and classification.
 *
 * JSON in this file is written with single quotes for readability; sq()
 * turns them into double quotes before loading.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/diag.h"
#include "common/err.h"
#include "topology/topology.h"
#include "tests/unit/test_util.h"

/* ---- helpers ---- */

/* Returns an owned copy of |s| with every ' replaced by ". */
static char *sq(const char *s)
{
    char *c = strdup(s);
    for (char *p = c; p && *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    return c;
}

/* Sections of a small valid document; NULL keeps the default, "" omits the member. */
typedef struct parts {
    const char *clusters, *network, *services, *classes, *demand;
} parts;

#define DEF_CLUSTERS "['a', 'b']"
#define DEF_NETWORK                                                                                \
    "{'rtt_ms': [[0.5, 10], [10, 0.5]], 'egress_usd_per_gb': [[0, 0.02], [0.01, 0]]}"
#define DEF_SERVICES                                                                               \
    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 100},"                    \
    "                                   {'cluster': 'b', 'capacity_rps': 200}]},"                  \
    " {'name': 'cart', 'service_time_ms': 2,"                                                      \
    "  'deployments': [{'cluster': 'a', 'capacity_rps': 50}]},"                                    \
    " {'name': 'db', 'deployments': [{'cluster': 'b', 'capacity_rps': 400,"                        \
    "                                 'endpoints': ['10.0.0.1:6379', '10.0.0.2:6379']}]}]"
#define DEF_CLASSES                                                                                \
    "[{'name': 'home', 'match': {'method': 'GET', 'path_prefix': '/'},"                            \
    "  'calls': {'service': 'front', 'endpoint': '/', 'parallel': true, 'children': ["             \
    "    {'service': 'cart', 'endpoint': '/get', 'count': 2.5, 'request_bytes': 100,"              \
    "     'response_bytes': 1000, 'work': 3, 'children': [{'service': 'db'}]},"                    \
    "    {'service': 'db', 'endpoint': '/q'}]}}]"
#define SERVICES_IN_A                                                                              \
    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"                    \
    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"                     \
    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"
#define DEF_DEMAND "[{'class': 'home', 'cluster': 'a', 'rps': 10}]"

/* Returns an owned JSON document assembled from |p|. */
static char *build_doc(parts p)
{
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(&b, "{'name': 'test'");
    const char *keys[] = {"clusters", "network", "services", "classes", "demand"};
    const char *vals[] = {p.clusters ? p.clusters : DEF_CLUSTERS,
                          p.network ? p.network : DEF_NETWORK,
                          p.services ? p.services : DEF_SERVICES,
                          p.classes ? p.classes : DEF_CLASSES, p.demand ? p.demand : DEF_DEMAND};
    for (size_t i = 0; i < 5; i++) {
        if (vals[i][0])
            slate_buf_printf(&b, ", '%s': %s", keys[i], vals[i]);
    }
    slate_buf_printf(&b, "}");
    char *raw = slate_buf_detach(&b);
    char *doc = sq(raw);
    free(raw);
    return doc;
}

static int load_doc(const char *doc, slate_topology **t, slate_diag *d)
{
    return slate_topology_load_json(doc, strlen(doc), t, d);
}

/* Loads |p| and returns 1 when loading failed with SLATE_ERR_TOPOLOGY_INVALID
 * and an entry at exactly |path| has |needle| in its message. */
static int has_problem(parts p, const char *path, const char *needle)
{
    char *doc = build_doc(p);
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = load_doc(doc, &t, &d);
    int found = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (strcmp(d.entries[i].path, path) == 0 && strstr(d.entries[i].msg, needle))
            found = 1;
    }
    if (rv != SLATE_ERR_TOPOLOGY_INVALID || !found || t != NULL) {
        fprintf(stderr, "\n  expected \"%s: ...%s...\", got %s and:\n", path, needle,
                slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    slate_topology_free(t);
    slate_diag_cleanup(&d);
    free(doc);
    return rv == SLATE_ERR_TOPOLOGY_INVALID && found && t == NULL;
}

/* Loads |p| and returns how many diagnostics contain |needle|. */
static size_t count_problems(parts p, const char *needle)
{
    char *doc = build_doc(p);
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    load_doc(doc, &t, &d);
    size_t n = 0;
    for (size_t i = 0; i < d.n; i++)
        n += strstr(d.entries[i].msg, needle) != NULL;
    slate_topology_free(t);
    slate_diag_cleanup(&d);
    free(doc);
    return n;
}

/* Loads |p| expecting success; returns the topology (owned) or NULL. */
static slate_topology *load_parts(parts p)
{
    char *doc = build_doc(p);
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = load_doc(doc, &t, &d);
    if (rv != SLATE_OK) {
        fprintf(stderr, "\n  load failed: %s\n", slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    slate_diag_cleanup(&d);
    free(doc);
    return t;
}

static slate_topology *load_example(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/examples/%s", SLATE_SOURCE_DIR, name);
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = slate_topology_load_file(path, &t, &d);
    if (rv != SLATE_OK) {
        fprintf(stderr, "\n  %s: %s\n", path, slate_errname(rv));
        slate_diag_print(&d, stderr);
    }
    slate_diag_cleanup(&d);
    return t;
}

/* Saves |t|, loads the text again and returns 1 when the result equals |t|. */
static int round_trips(const slate_topology *t, int pretty)
{
    char *text = NULL;
    if (slate_topology_to_json(t, pretty, &text) != SLATE_OK)
        return 0;
    slate_topology *back = NULL;
    slate_diag d;
    slate_diag_init(&d);
    int rv = load_doc(text, &back, &d);
    if (rv != SLATE_OK)
        slate_diag_print(&d, stderr);
    int eq = rv == SLATE_OK && slate_topology_equal(t, back);
    slate_topology_free(back);
    slate_diag_cleanup(&d);
    free(text);
    return eq;
}

/* ---- loading valid documents ---- */

static void test_minimal_document(void)
{
    slate_topology *t = load_parts((parts){0});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->name, "test");
    CU_ASSERT_EQUAL(t->n_clusters, 2);
    CU_ASSERT_EQUAL(t->n_services, 3);
    CU_ASSERT_EQUAL(t->n_classes, 1);
    CU_ASSERT_EQUAL(t->n_demand, 1);
    SLATE_ASSERT_NEAR(slate_topology_rtt_ms(t, 0, 1), 10, 0);
    SLATE_ASSERT_NEAR(slate_topology_rtt_ms(t, 1, 1), 0.5, 0);
    /* Egress rows are the sender: b -> a costs 0.01, a -> b 0.02. */
    SLATE_ASSERT_NEAR(slate_topology_egress(t, 0, 1), 0.02, 0);
    SLATE_ASSERT_NEAR(slate_topology_egress(t, 1, 0), 0.01, 0);

    /* Default service time: 1000 ms / the largest capacity (200 RPS). */
    SLATE_ASSERT_NEAR(t->services[0].service_time_ms, 5.0, 1e-12);
    SLATE_ASSERT_NEAR(t->services[1].service_time_ms, 2.0, 0);
    CU_ASSERT_EQUAL(t->services[2].deployments[0].n_endpoints, 2);
    CU_ASSERT_STRING_EQUAL(t->services[2].deployments[0].endpoints[1], "10.0.0.2:6379");
    CU_ASSERT_EQUAL(t->services[0].deployments[0].endpoints, NULL);

    /* Pre-order: front(0) -> cart(1) -> db(2), front -> db(3). */
    const slate_class *c = &t->classes[0];
    CU_ASSERT_STRING_EQUAL(c->match_method, "GET");
    CU_ASSERT_STRING_EQUAL(c->match_path_prefix, "/");
    CU_ASSERT_EQUAL_FATAL(c->n_nodes, 4);
    CU_ASSERT_EQUAL(c->nodes[0].service, 0);
    CU_ASSERT_EQUAL(c->nodes[0].parent, -1);
    CU_ASSERT_EQUAL(c->nodes[0].depth, 0);
    CU_ASSERT_EQUAL(c->nodes[0].parallel, 1);
    CU_ASSERT_EQUAL(c->nodes[0].n_children, 2);
    CU_ASSERT_EQUAL(c->nodes[0].children[0], 1);
    CU_ASSERT_EQUAL(c->nodes[0].children[1], 3);
    CU_ASSERT_EQUAL(c->nodes[1].service, 1);
    CU_ASSERT_STRING_EQUAL(c->nodes[1].endpoint, "/get");
    SLATE_ASSERT_NEAR(c->nodes[1].count, 2.5, 0);
    SLATE_ASSERT_NEAR(c->nodes[1].work, 3, 0);
    SLATE_ASSERT_NEAR(c->nodes[1].request_bytes, 100, 0);
    SLATE_ASSERT_NEAR(c->nodes[1].response_bytes, 1000, 0);
    CU_ASSERT_EQUAL(c->nodes[1].parallel, 0);
    CU_ASSERT_EQUAL(c->nodes[2].parent, 1);
    CU_ASSERT_EQUAL(c->nodes[2].depth, 2);
    CU_ASSERT_STRING_EQUAL(c->nodes[2].endpoint, "");
    /* Defaults of an unadorned node. */
    SLATE_ASSERT_NEAR(c->nodes[2].count, 1, 0);
    SLATE_ASSERT_NEAR(c->nodes[2].work, 1, 0);
    SLATE_ASSERT_NEAR(c->nodes[2].request_bytes, 0, 0);
    CU_ASSERT_EQUAL(c->nodes[3].parent, 0);
    CU_ASSERT_EQUAL(c->nodes[3].depth, 1);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 0), 10, 0);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 1), 0, 0);
    slate_topology_free(t);
}

static void test_optional_sections_default(void)
{
    slate_topology *t =
        load_parts((parts){.network = "{'rtt_ms': [[1, 2], [2, 1]]}", .demand = ""});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int a = 0; a < 2; a++) {
        for (int b = 0; b < 2; b++)
            CU_ASSERT_EQUAL(slate_topology_egress(t, a, b), 0);
    }
    CU_ASSERT_EQUAL(t->n_demand, 0);
    CU_ASSERT_PTR_NULL(t->demand);
    slate_topology_free(t);

    /* Unknown members are ignored; a class without match accepts anything. */
    char *doc =
        sq("{'clusters': ['x'], 'network': {'rtt_ms': [[0.5]]}, 'future': [1, 2],"
           " 'services': [{'name': 's', 'deployments': [{'cluster': 'x', 'capacity_rps': 4}],"
           "   'color': 'red'}],"
           " 'classes': [{'name': 'k', 'calls': {'service': 's'}}]}");
    t = NULL;
    CU_ASSERT_EQUAL(load_doc(doc, &t, NULL), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->name, "");
    CU_ASSERT_PTR_NULL(t->classes[0].match_method);
    CU_ASSERT_PTR_NULL(t->classes[0].match_path_prefix);
    SLATE_ASSERT_NEAR(t->services[0].service_time_ms, 250, 1e-12);
    CU_ASSERT(round_trips(t, 0));
    slate_topology_free(t);
    free(doc);
}

/* One-way delays of the 4-region network the examples share (ms). */
static double one_way_ms(const char *a, const char *b)
{
    static const struct {
        const char *a, *b;
        double ms;
    } table[] = {{"us-west", "us-east", 33},  {"us-west", "us-central", 15},
                 {"us-west", "us-south", 20}, {"us-east", "us-central", 20},
                 {"us-east", "us-south", 15}, {"us-central", "us-south", 10}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if ((!strcmp(a, table[i].a) && !strcmp(b, table[i].b)) ||
            (!strcmp(a, table[i].b) && !strcmp(b, table[i].a)))
            return table[i].ms;
    }
    return -1;
}

static void check_four_region_network(const slate_topology *t)
{
    CU_ASSERT_EQUAL_FATAL(t->n_clusters, 4);
    CU_ASSERT_STRING_EQUAL(t->clusters[0], "us-west");
    CU_ASSERT_STRING_EQUAL(t->clusters[1], "us-east");
    CU_ASSERT_STRING_EQUAL(t->clusters[2], "us-central");
    CU_ASSERT_STRING_EQUAL(t->clusters[3], "us-south");
    for (int a = 0; a < 4; a++) {
        for (int b = 0; b < 4; b++) {
            if (a == b) {
                SLATE_ASSERT_NEAR(slate_topology_rtt_ms(t, a, b), 0.5, 0);
                SLATE_ASSERT_NEAR(slate_topology_egress(t, a, b), 0, 0);
            } else {
                SLATE_ASSERT_NEAR(slate_topology_rtt_ms(t, a, b),
                                  2 * one_way_ms(t->clusters[a], t->clusters[b]), 0);
                SLATE_ASSERT_NEAR(slate_topology_egress(t, a, b), 0.02, 0);
            }
        }
    }
}

/* Calls of node |v| per root request: the product of counts up to the root. */
static double calls_per_request(const slate_class *c, int v)
{
    double m = 1;
    for (; v > 0; v = c->nodes[v].parent)
        m *= c->nodes[v].count;
    return m;
}

/*
 * With every call served where its request entered, returns the load (work
 * units/s) on |service| in |cluster|; the sum over clusters when |cluster| < 0.
 */
static double local_load(const slate_topology *t, int service, int cluster)
{
    double load = 0;
    for (size_t i = 0; i < t->n_demand; i++) {
        const slate_demand *e = &t->demand[i];
        if (cluster >= 0 && e->cluster != cluster)
            continue;
        const slate_class *c = &t->classes[e->klass];
        for (size_t v = 0; v < c->n_nodes; v++) {
            if (c->nodes[v].service == service)
                load += e->rps * calls_per_request(c, (int)v) * c->nodes[v].work;
        }
    }
    return load;
}

/* Every example must fit in aggregate but overload us-west if kept local. */
static void check_feasible_not_locally(const slate_topology *t)
{
    int overloaded = 0;
    int west = slate_topology_find_cluster(t, "us-west");
    for (size_t s = 0; s < t->n_services; s++) {
        double cap = 0;
        for (size_t i = 0; i < t->services[s].n_deployments; i++)
            cap += t->services[s].deployments[i].capacity_rps;
        double total = local_load(t, (int)s, -1);
        if (total >= 0.8 * cap)
            fprintf(stderr, "\n  %s: load %g of capacity %g\n", t->services[s].name, total, cap);
        CU_ASSERT(total < 0.8 * cap);
        const slate_deployment *dep = slate_topology_deployment(t, (int)s, west);
        if (dep && local_load(t, (int)s, west) > dep->capacity_rps)
            overloaded++;
    }
    CU_ASSERT(overloaded > 0);
}

static void test_example_online_boutique(void)
{
    slate_topology *t = load_example("online-boutique.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->name, "online-boutique");
    check_four_region_network(t);
    CU_ASSERT_EQUAL(t->n_services, 11);
    CU_ASSERT_EQUAL(t->n_classes, 4);
    CU_ASSERT_EQUAL(slate_topology_find_service(t, "loadgenerator"), -1);
    const char *names[] = {"frontend",        "cartservice",     "productcatalogservice",
                           "currencyservice", "paymentservice",  "shippingservice",
                           "emailservice",    "checkoutservice", "recommendationservice",
                           "adservice",       "redis-cart"};
    int south = slate_topology_find_cluster(t, "us-south");
    for (size_t i = 0; i < 11; i++) {
        int s = slate_topology_find_service(t, names[i]);
        CU_ASSERT(s >= 0);
        if (s < 0)
            continue;
        CU_ASSERT_EQUAL(t->services[s].n_deployments, 3);
        CU_ASSERT_PTR_NULL(slate_topology_deployment(t, s, south));
    }
    int frontend = slate_topology_find_service(t, "frontend");
    const char *classes[] = {"home", "product", "cart", "checkout"};
    for (size_t k = 0; k < 4; k++) {
        int c = slate_topology_find_class(t, classes[k]);
        CU_ASSERT_FATAL(c >= 0);
        CU_ASSERT_EQUAL(t->classes[c].nodes[0].service, frontend);
    }
    /* Home converts the prices of several products. */
    const slate_class *home = &t->classes[slate_topology_find_class(t, "home")];
    int currency = slate_topology_find_service(t, "currencyservice");
    double converts = 0;
    for (size_t v = 0; v < home->n_nodes; v++) {
        if (home->nodes[v].service == currency)
            converts += calls_per_request(home, (int)v);
    }
    CU_ASSERT(converts > 1);
    int product = slate_topology_find_class(t, "product");
    int west = slate_topology_find_cluster(t, "us-west");
    CU_ASSERT(slate_topology_demand_rps(t, product, west) > 0);
    check_feasible_not_locally(t);
    slate_topology_free(t);
}

static void test_example_hotel_reservation(void)
{
    slate_topology *t = load_example("hotel-reservation.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    check_four_region_network(t);
    CU_ASSERT_EQUAL(t->n_services, 17);
    CU_ASSERT_EQUAL(t->n_classes, 4);
    int hotels = slate_topology_find_class(t, "hotels");
    CU_ASSERT_FATAL(hotels >= 0);
    const slate_class *c = &t->classes[hotels];
    /* frontend -> search -> {geo, rate}: search is the first child. */
    CU_ASSERT_EQUAL(c->nodes[0].service, slate_topology_find_service(t, "frontend"));
    CU_ASSERT_EQUAL(c->nodes[1].service, slate_topology_find_service(t, "search"));
    CU_ASSERT_EQUAL(c->nodes[2].service, slate_topology_find_service(t, "geo"));
    CU_ASSERT_EQUAL(c->nodes[2].parent, 1);
    CU_ASSERT_EQUAL(c->nodes[3].service, slate_topology_find_service(t, "rate"));
    CU_ASSERT_EQUAL(c->nodes[3].parent, 1);
    CU_ASSERT(slate_topology_find_class(t, "recommendations") >= 0);
    CU_ASSERT(slate_topology_find_class(t, "user") >= 0);
    CU_ASSERT(slate_topology_find_class(t, "reservation") >= 0);
    /* Deployed in 3 regions, us-west overloaded for /hotels at the frontend. */
    int fe = slate_topology_find_service(t, "frontend");
    int west = slate_topology_find_cluster(t, "us-west");
    CU_ASSERT_EQUAL(t->services[fe].n_deployments, 3);
    CU_ASSERT(slate_topology_demand_rps(t, hotels, west) >
              slate_topology_deployment(t, fe, west)->capacity_rps);
    check_feasible_not_locally(t);
    slate_topology_free(t);
}

static void test_example_alibaba_fanout(void)
{
    slate_topology *t = load_example("alibaba-fanout.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    check_four_region_network(t);
    CU_ASSERT(t->n_services >= 18 && t->n_services <= 24);
    int light = slate_topology_find_class(t, "light");
    int heavy = slate_topology_find_class(t, "heavy");
    CU_ASSERT_FATAL(light >= 0 && heavy >= 0);
    const slate_class *l = &t->classes[light], *h = &t->classes[heavy];
    CU_ASSERT_EQUAL_FATAL(l->n_nodes, h->n_nodes);
    CU_ASSERT_EQUAL(l->n_nodes, t->n_services);
    int max_depth = 0;
    for (size_t v = 0; v < l->n_nodes; v++) {
        CU_ASSERT_EQUAL(l->nodes[v].service, h->nodes[v].service);
        CU_ASSERT_EQUAL(l->nodes[v].parent, h->nodes[v].parent);
        SLATE_ASSERT_NEAR(h->nodes[v].work, 10 * l->nodes[v].work, 1e-12);
        if (l->nodes[v].depth > max_depth)
            max_depth = l->nodes[v].depth;
    }
    CU_ASSERT_EQUAL(max_depth, 2);
    CU_ASSERT_EQUAL(l->nodes[0].service, slate_topology_find_service(t, "gateway"));
    for (size_t s = 0; s < t->n_services; s++) {
        CU_ASSERT_EQUAL(t->services[s].n_deployments, 4);
        for (size_t i = 0; i < t->services[s].n_deployments; i++)
            SLATE_ASSERT_NEAR(t->services[s].deployments[i].capacity_rps, 800, 0);
    }
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, light, 0), 1900, 0);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, heavy, 0), 100, 0);
    for (int c = 1; c < 4; c++) {
        SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, light, c), 300, 0);
        SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, heavy, c), 0, 0);
    }
    check_feasible_not_locally(t);
    slate_topology_free(t);
}

static void test_round_trip(void)
{
    const char *files[] = {"online-boutique.json", "hotel-reservation.json", "alibaba-fanout.json"};
    for (size_t i = 0; i < 3; i++) {
        slate_topology *t = load_example(files[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT(round_trips(t, 0));
        CU_ASSERT(round_trips(t, 1));
        /* Saving is deterministic. */
        char *a = NULL, *b = NULL;
        CU_ASSERT_EQUAL(slate_topology_to_json(t, 1, &a), SLATE_OK);
        CU_ASSERT_EQUAL(slate_topology_to_json(t, 1, &b), SLATE_OK);
        CU_ASSERT(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
        slate_topology_free(t);
    }
    /* Numbers that need all 17 digits survive too. */
    slate_topology *t = load_parts(
        (parts){.network = "{'rtt_ms': [[0.1, 33.333333333333336], [33.333333333333336, 1e-300]]}",
                .demand = "[{'class': 'home', 'cluster': 'b', 'rps': 0.30000000000000004}]"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT(round_trips(t, 0));
    slate_topology_free(t);
}

static void test_clone_and_equal(void)
{
    slate_topology *t = load_example("online-boutique.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    slate_topology *c = NULL;
    CU_ASSERT_EQUAL_FATAL(slate_topology_clone(t, &c), SLATE_OK);
    CU_ASSERT(slate_topology_equal(t, c));
    CU_ASSERT(c->services != t->services);
    CU_ASSERT(c->classes[0].nodes != t->classes[0].nodes);
    /* A deep copy: changing the copy leaves the original alone. */
    CU_ASSERT_EQUAL(slate_topology_set_demand(c, 0, 0, 12345), SLATE_OK);
    CU_ASSERT(!slate_topology_equal(t, c));
    CU_ASSERT(slate_topology_demand_rps(t, 0, 0) != 12345);
    slate_topology_free(c);

    CU_ASSERT_EQUAL_FATAL(slate_topology_clone(t, &c), SLATE_OK);
    c->classes[1].nodes[2].count += 1;
    CU_ASSERT(!slate_topology_equal(t, c));
    c->classes[1].nodes[2].count -= 1;
    CU_ASSERT(slate_topology_equal(t, c));
    c->rtt_ms[1] = 67;
    CU_ASSERT(!slate_topology_equal(t, c));
    slate_topology_free(c);
    CU_ASSERT(slate_topology_equal(NULL, NULL));
    CU_ASSERT(!slate_topology_equal(t, NULL));
    slate_topology_free(t);
    slate_topology_free(NULL);
}

/* ---- validation: one test per kind of problem ---- */

static void test_unknown_names(void)
{
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'cartt'}]}}]"},
        "classes[0].calls.children[0].service", "unknown service \"cartt\""));
    CU_ASSERT(has_problem((parts){.classes = "[{'name': 'home', 'calls': {'service': 'nope'}}]"},
                          "classes[0].calls.service", "unknown service \"nope\""));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1},"
                    " {'cluster': 'c', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[0].deployments[1].cluster", "unknown cluster \"c\""));
    CU_ASSERT(has_problem((parts){.demand = "[{'class': 'hom', 'cluster': 'a', 'rps': 1}]"},
                          "demand[0].class", "unknown class \"hom\""));
    CU_ASSERT(has_problem((parts){.demand = "[{'class': 'home', 'cluster': 'z', 'rps': 1}]"},
                          "demand[0].cluster", "unknown cluster \"z\""));
}

static void test_duplicate_names(void)
{
    CU_ASSERT(has_problem(
        (parts){.clusters = "['a', 'b', 'a']", .network = "{'rtt_ms': [[1,1,1],[1,1,1],[1,1,1]]}"},
        "clusters[2]", "duplicate cluster name \"a\" (first at clusters[0])"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'b', 'capacity_rps': 1}]}]"},
        "services[3].name", "duplicate service name \"cart\" (first at services[1])"));
    CU_ASSERT(has_problem((parts){.classes = "[{'name': 'k', 'calls': {'service': 'front'}},"
                                             " {'name': 'home', 'calls': {'service': 'front'}},"
                                             " {'name': 'k', 'calls': {'service': 'cart'}}]"},
                          "classes[2].name", "duplicate class name \"k\" (first at classes[0])"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1},"
                    " {'cluster': 'b', 'capacity_rps': 1}, {'cluster': 'a', 'capacity_rps': 2}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[0].deployments[2].cluster",
        "service \"front\" is already deployed in cluster \"a\" (deployments[0])"));
    CU_ASSERT(has_problem(
        (parts){.demand = "[{'class': 'home', 'cluster': 'a', 'rps': 1},"
                          " {'class': 'home', 'cluster': 'b', 'rps': 1},"
                          " {'class': 'home', 'cluster': 'a', 'rps': 2}]"},
        "demand[2]", "duplicate demand for class \"home\" in cluster \"a\" (first at demand[0])"));
}

static void test_call_cycles(void)
{
    /* front -> cart -> front */
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'cart', 'children': [{'service': 'front'}]}]}}]"},
        "classes[0].calls.children[0].children[0].service",
        "call cycle: \"front\" already appears on this path (front -> cart -> front)"));
    /* cart -> db -> cart below the root */
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'db'}, {'service': 'cart', 'children': [{'service': 'db',"
                           "   'children': [{'service': 'cart'}]}]}]}}]"},
        "classes[0].calls.children[1].children[0].children[0].service", "call cycle"));
    /* Self-call. */
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'front'}]}}]"},
        "classes[0].calls.children[0].service", "(front -> front)"));
    /* The same service on different branches, or twice under one parent, is no cycle. */
    slate_topology *t = load_parts(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'cart', 'children': [{'service': 'db'}]},"
                           "  {'service': 'cart'}, {'service': 'db'}]}}]"});
    CU_ASSERT_PTR_NOT_NULL(t);
    slate_topology_free(t);
}

static void test_undeployed_services(void)
{
    parts p = {.services =
                   "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                   " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                   " {'name': 'db', 'deployments': []}]"};
    CU_ASSERT(has_problem(p, "services[2].deployments", "service \"db\" has no deployment"));
    CU_ASSERT(has_problem(p, "classes[0].calls.children[0].children[0].service",
                          "service \"db\" is deployed nowhere"));
    /* Reported once per class, not again at the second node using db. */
    CU_ASSERT_EQUAL(count_problems(p, "deployed nowhere"), 1);
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db'}]"},
        "services[2].deployments", "has no deployment"));
}

static void test_bad_numbers(void)
{
    /* 1e999 parses as infinity. */
    CU_ASSERT(has_problem((parts){.demand = "[{'class': 'home', 'cluster': 'a', 'rps': 1e999}]"},
                          "demand[0].rps", "must be a finite number"));
    CU_ASSERT(has_problem((parts){.demand = "[{'class': 'home', 'cluster': 'a', 'rps': -1}]"},
                          "demand[0].rps", "out of range"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': -5}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 0}]},"
                    " {'name': 'db', 'service_time_ms': -1e999,"
                    "  'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[0].deployments[0].capacity_rps", "-5 is out of range"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 0}]},"
                    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[1].deployments[0].capacity_rps", "must be greater than 0"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db', 'service_time_ms': -1e999,"
                    "  'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[2].service_time_ms", "must be a finite number"));
    const char *node_fields[][2] = {{"'count': -0.5", "count"},
                                    {"'work': 0", "work"},
                                    {"'request_bytes': -1", "request_bytes"},
                                    {"'response_bytes': 1e11", "response_bytes"}};
    for (size_t i = 0; i < 4; i++) {
        char classes[512], path[128];
        snprintf(classes, sizeof(classes),
                 "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                 "  {'service': 'cart', %s}]}}]",
                 node_fields[i][0]);
        snprintf(path, sizeof(path), "classes[0].calls.children[0].%s", node_fields[i][1]);
        CU_ASSERT(has_problem((parts){.classes = classes}, path,
                              i == 1 ? "must be greater than 0" : "out of range"));
    }
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'count': 2}}]"},
        "classes[0].calls.count", "must be 1 at the root"));
}

static void test_rtt_matrix(void)
{
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 10]]}"}, "network.rtt_ms",
                          "must have 2 rows (one per cluster), not 1"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 10], [10]]}"}, "network.rtt_ms[1]",
                          "must have 2 columns (one per cluster), not 1"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 10], [10, 0.5, 3]]}"},
                          "network.rtt_ms[1]", "not 3"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 10], [12, 0.5]]}"},
                          "network.rtt_ms[1][0]", "must be symmetric"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, -10], [-10, 0.5]]}"},
                          "network.rtt_ms[0][1]", "out of range"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 'x'], [10, 0.5]]}"},
                          "network.rtt_ms[0][1]", "must be a number, not string"));
    CU_ASSERT(has_problem((parts){.network = "{'rtt_ms': [[0.5, 10], 7]}"}, "network.rtt_ms[1]",
                          "must be an array, not number"));
    CU_ASSERT(has_problem((parts){.network = "{}"}, "network.rtt_ms", "is required"));
    CU_ASSERT(has_problem((parts){.network = ""}, "network", "is required"));
    /* Within the relative tolerance of 1e-9: accepted. */
    slate_topology *t =
        load_parts((parts){.network = "{'rtt_ms': [[0.5, 100], [100.0000000000001, 0.5]]}"});
    CU_ASSERT_PTR_NOT_NULL(t);
    slate_topology_free(t);
}

static void test_egress_matrix(void)
{
    CU_ASSERT(has_problem(
        (parts){.network = "{'rtt_ms': [[1, 1], [1, 1]], 'egress_usd_per_gb': [[0, 1]]}"},
        "network.egress_usd_per_gb", "must have 2 rows"));
    CU_ASSERT(has_problem(
        (parts){.network = "{'rtt_ms': [[1, 1], [1, 1]], 'egress_usd_per_gb': [[0, -1], [1, 0]]}"},
        "network.egress_usd_per_gb[0][1]", "out of range"));
    CU_ASSERT(has_problem(
        (parts){.network = "{'rtt_ms': [[1, 1], [1, 1]], 'egress_usd_per_gb': [[0, 1], [1, 0.5]]}"},
        "network.egress_usd_per_gb[1][1]", "must be 0"));
}

static void test_names(void)
{
    char long_name[SLATE_TOPO_MAX_NAME + 2];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    char clusters[512];
    snprintf(clusters, sizeof(clusters), "['a', '%s']", long_name);
    CU_ASSERT(
        has_problem((parts){.clusters = clusters}, "clusters[1]", "is longer than 128 bytes"));
    /* Exactly the limit is fine. */
    long_name[SLATE_TOPO_MAX_NAME] = '\0';
    snprintf(clusters, sizeof(clusters), "['a', '%s']", long_name);
    char services[1024];
    snprintf(services, sizeof(services),
             "[{'name': 'front', 'deployments': [{'cluster': '%s', 'capacity_rps': 1}]},"
             " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
             " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]",
             long_name);
    slate_topology *t =
        load_parts((parts){.clusters = clusters, .services = services, .demand = ""});
    CU_ASSERT_PTR_NOT_NULL(t);
    slate_topology_free(t);

    CU_ASSERT(has_problem((parts){.clusters = "['a', '']"}, "clusters[1]", "must not be empty"));
    CU_ASSERT(has_problem((parts){.classes = "[{'name': '', 'calls': {'service': 'front'}}]"},
                          "classes[0].name", "must not be empty"));
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'endpoint': ''}}]"},
        "classes[0].calls.endpoint", "must not be empty"));
    CU_ASSERT(has_problem((parts){.clusters = "[]"}, "clusters", "at least one cluster"));
    /* Unicode names are bytes like any other. */
    t = load_parts((parts){.clusters = "['a', 'b\\u00e9\\u4e2d']",
                           .network = "{'rtt_ms': [[1, 2], [2, 1]]}",
                           .services = SERVICES_IN_A});
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t) {
        CU_ASSERT_STRING_EQUAL(t->clusters[1], "b\xc3\xa9\xe4\xb8\xad");
    }
    slate_topology_free(t);
}

static void test_wrong_types(void)
{
    CU_ASSERT(has_problem((parts){.clusters = "'a'"}, "clusters", "must be an array, not string"));
    CU_ASSERT(has_problem((parts){.clusters = "['a', 3]"}, "clusters[1]",
                          "must be a string, not number"));
    CU_ASSERT(has_problem(
        (parts){.services =
                    "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': '1'}]},"
                    " {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                    " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]"},
        "services[0].deployments[0].capacity_rps", "must be a number, not string"));
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'parallel': 1}}]"},
        "classes[0].calls.parallel", "must be true or false, not number"));
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': [3]}}]"},
        "classes[0].calls.children[0]", "must be an object, not number"));
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': {}}}]"},
        "classes[0].calls.children", "must be an array, not object"));
    CU_ASSERT(
        has_problem((parts){.classes = "[{'name': 'home'}]"}, "classes[0].calls", "is required"));
    CU_ASSERT(has_problem((parts){.classes = "[{'name': 'home', 'calls': {'service': 7}}]"},
                          "classes[0].calls.service", "must be a string, not number"));
    CU_ASSERT(has_problem((parts){.demand = "[null]"}, "demand[0]", "must be an object, not null"));
    CU_ASSERT(has_problem(
        (parts){.classes = "[{'name': 'home', 'match': 'GET', 'calls': {'service': 'front'}}]"},
        "classes[0].match", "must be an object, not string"));

    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL(load_doc("[1, 2]", &t, &d), SLATE_ERR_TOPOLOGY_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "must be an object, not array"));
    slate_diag_clear(&d);
    CU_ASSERT_EQUAL(load_doc("{\"clusters\": [", &t, &d), SLATE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "malformed JSON"));
    CU_ASSERT_PTR_NULL(t);
    slate_diag_cleanup(&d);
}

static void test_every_problem_reported(void)
{
    char *doc = build_doc(
        (parts){.clusters = "['a', 'b', 'a']",
                .network = "{'rtt_ms': [[1, 2, 3], [2, 1, -3], [3, 3, 1]]}",
                .classes = "[{'name': 'home', 'calls': {'service': 'front', 'children': ["
                           "  {'service': 'cartt'}, {'service': 'cart', 'count': 'x'}]}}]",
                .demand = "[{'class': 'nope', 'cluster': 'a', 'rps': 1}]"});
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL(load_doc(doc, &t, &d), SLATE_ERR_TOPOLOGY_INVALID);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "duplicate cluster name \"a\""));
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "network.rtt_ms[1][2]"));
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "unknown service \"cartt\""));
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "classes[0].calls.children[1].count"));
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "unknown class \"nope\""));
    CU_ASSERT_EQUAL(slate_diag_count(&d), 5);
    for (size_t i = 0; i < d.n; i++)
        CU_ASSERT_EQUAL(d.entries[i].code, SLATE_ERR_TOPOLOGY_INVALID);
    slate_diag_cleanup(&d);
    free(doc);
}

/* ---- limits ---- */

/* Returns an owned document with |n| clusters and an n x n RTT matrix. */
static char *doc_with_clusters(int n)
{
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(&b, "{\"clusters\": [");
    for (int i = 0; i < n; i++)
        slate_buf_printf(&b, "%s\"c%d\"", i ? ", " : "", i);
    slate_buf_printf(&b, "], \"network\": {\"rtt_ms\": [");
    for (int i = 0; i < n; i++) {
        slate_buf_printf(&b, "%s[", i ? ", " : "");
        for (int j = 0; j < n; j++)
            slate_buf_printf(&b, "%s%d", j ? ", " : "", i == j ? 1 : 5);
        slate_buf_printf(&b, "]");
    }
    slate_buf_printf(&b, "]}, \"services\": [{\"name\": \"s\", \"deployments\": "
                         "[{\"cluster\": \"c0\", \"capacity_rps\": 9}]}],"
                         " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"s\"}}]}");
    return slate_buf_detach(&b);
}

/* Returns owned classes JSON: a chain of |depth| + 1 nodes alternating a/b
 * services would be a cycle, so each level uses its own service s<depth>. */
static char *doc_with_chain(int depth)
{
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(&b,
                     "{\"clusters\": [\"x\"], \"network\": {\"rtt_ms\": [[1]]}, \"services\": [");
    for (int i = 0; i <= depth; i++)
        slate_buf_printf(&b,
                         "%s{\"name\": \"s%d\", \"deployments\": [{\"cluster\": \"x\", "
                         "\"capacity_rps\": 5}]}",
                         i ? ", " : "", i);
    slate_buf_printf(&b, "], \"classes\": [{\"name\": \"k\", \"calls\": ");
    for (int i = 0; i <= depth; i++)
        slate_buf_printf(&b, "{\"service\": \"s%d\"%s", i, i < depth ? ", \"children\": [" : "");
    for (int i = 0; i < depth; i++)
        slate_buf_printf(&b, "}]");
    slate_buf_printf(&b, "}}]}");
    return slate_buf_detach(&b);
}

/* Returns an owned document whose one class has a root with |n| - 1 children. */
static char *doc_with_nodes(int n)
{
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(&b, "{\"clusters\": [\"x\"], \"network\": {\"rtt_ms\": [[1]]},"
                         " \"services\": [{\"name\": \"r\", \"deployments\": [{\"cluster\": \"x\","
                         " \"capacity_rps\": 5}]}, {\"name\": \"l\", \"deployments\": "
                         "[{\"cluster\": \"x\", \"capacity_rps\": 5}]}],"
                         " \"classes\": [{\"name\": \"k\", \"calls\": {\"service\": \"r\","
                         " \"children\": [");
    for (int i = 1; i < n; i++)
        slate_buf_printf(&b, "%s{\"service\": \"l\"}", i > 1 ? "," : "");
    slate_buf_printf(&b, "]}}]}");
    return slate_buf_detach(&b);
}

/* Loads |doc| (owned, freed here) and returns the return code; on failure
 * requires a diagnostic at |path| containing |needle|. */
static int load_expect(char *doc, const char *path, const char *needle)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = load_doc(doc, &t, &d);
    if (rv != SLATE_OK && needle) {
        const slate_diag_entry *e = slate_diag_find(&d, needle);
        CU_ASSERT_PTR_NOT_NULL(e);
        if (e) {
            CU_ASSERT_STRING_EQUAL(e->path, path);
        } else {
            slate_diag_print(&d, stderr);
        }
    }
    slate_topology_free(t);
    slate_diag_cleanup(&d);
    free(doc);
    return rv;
}

static void test_limits(void)
{
    CU_ASSERT_EQUAL(load_expect(doc_with_clusters(SLATE_TOPO_MAX_CLUSTERS), NULL, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(load_expect(doc_with_clusters(SLATE_TOPO_MAX_CLUSTERS + 1), "clusters",
                                "has 65 clusters, over the limit of 64"),
                    SLATE_ERR_TOPOLOGY_INVALID);

    CU_ASSERT_EQUAL(load_expect(doc_with_chain(SLATE_TOPO_MAX_DEPTH), NULL, NULL), SLATE_OK);
    /* The deepest node's path is classes[0].calls then 32 x ".children[0]";
     * diagnostics keep its first SLATE_DIAG_PATH_MAX - 1 bytes. */
    char path[1024] = "classes[0].calls";
    for (int i = 0; i < SLATE_TOPO_MAX_DEPTH; i++)
        strcat(path, ".children[0]");
    strcat(path, ".children");
    path[SLATE_DIAG_PATH_MAX - 1] = '\0';
    CU_ASSERT_EQUAL(load_expect(doc_with_chain(SLATE_TOPO_MAX_DEPTH + 1), path,
                                "call tree is deeper than 32 levels"),
                    SLATE_ERR_TOPOLOGY_INVALID);

    CU_ASSERT_EQUAL(load_expect(doc_with_nodes(SLATE_TOPO_MAX_NODES), NULL, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(load_expect(doc_with_nodes(SLATE_TOPO_MAX_NODES + 1),
                                "classes[0].calls.children[4095]",
                                "call tree has more than 4096 nodes"),
                    SLATE_ERR_TOPOLOGY_INVALID);

    /* Endpoints per deployment. */
    slate_buf b;
    slate_buf_init(&b);
    slate_buf_printf(&b, "[{'name': 'front', 'deployments': [{'cluster': 'a', 'capacity_rps': 1,"
                         " 'endpoints': [");
    for (int i = 0; i <= SLATE_TOPO_MAX_ENDPOINTS; i++)
        slate_buf_printf(&b, "%s'10.0.0.%d:80'", i ? ", " : "", i);
    slate_buf_printf(&b,
                     "]}]}, {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                     " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]");
    char *services = slate_buf_detach(&b);
    CU_ASSERT(has_problem((parts){.services = services}, "services[0].deployments[0].endpoints",
                          "has 257 endpoints, over the limit of 256"));
    free(services);

    /* Services. */
    slate_buf_init(&b);
    slate_buf_printf(&b, "[");
    for (int i = 0; i <= SLATE_TOPO_MAX_SERVICES; i++)
        slate_buf_printf(&b, "%s{'name': 's%d'}", i ? ", " : "", i);
    slate_buf_printf(&b, "]");
    services = slate_buf_detach(&b);
    CU_ASSERT(has_problem((parts){.services = services}, "services",
                          "has 4097 services, over the limit of 4096"));
    free(services);

    /* Classes. */
    slate_buf_init(&b);
    slate_buf_printf(&b, "[");
    for (int i = 0; i <= SLATE_TOPO_MAX_CLASSES; i++)
        slate_buf_printf(&b, "%s{'name': 'k%d', 'calls': {'service': 'front'}}", i ? ", " : "", i);
    slate_buf_printf(&b, "]");
    char *classes = slate_buf_detach(&b);
    CU_ASSERT(has_problem((parts){.classes = classes, .demand = ""}, "classes",
                          "has 4097 classes, over the limit of 4096"));
    free(classes);

    /* Demand entries (about 3 MB of text, still under the byte limit). */
    slate_buf_init(&b);
    slate_buf_printf(&b, "[");
    for (int i = 0; i <= SLATE_TOPO_MAX_DEMAND; i++)
        slate_buf_printf(&b, "%s{'class':'home','cluster':'a','rps':1}", i ? "," : "");
    slate_buf_printf(&b, "]");
    char *demand = slate_buf_detach(&b);
    CU_ASSERT(has_problem((parts){.demand = demand}, "demand",
                          "has 65537 entries, over the limit of 65536"));
    free(demand);

    /* Deployments: more than there are clusters allowed in a topology. */
    slate_buf_init(&b);
    slate_buf_printf(&b, "[{'name': 'front', 'deployments': [");
    for (int i = 0; i <= SLATE_TOPO_MAX_CLUSTERS; i++)
        slate_buf_printf(&b, "%s{'cluster': 'a', 'capacity_rps': 1}", i ? ", " : "");
    slate_buf_printf(&b,
                     "]}, {'name': 'cart', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]},"
                     " {'name': 'db', 'deployments': [{'cluster': 'a', 'capacity_rps': 1}]}]");
    services = slate_buf_detach(&b);
    CU_ASSERT(has_problem((parts){.services = services}, "services[0].deployments",
                          "has 65 deployments, over the limit of 64"));
    free(services);

    /* Text over SLATE_TOPO_MAX_BYTES is refused before parsing. */
    size_t big = SLATE_TOPO_MAX_BYTES + 1;
    char *text = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, ' ', big);
    text[0] = '{';
    text[big - 1] = '}';
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL(slate_topology_load_json(text, big, &t, &d), SLATE_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT(slate_diag_count(&d) >= 1);
    free(text);
    slate_diag_cleanup(&d);
}

static void test_hostile_nesting(void)
{
    /* 450 levels (900 JSON nesting levels): within cJSON's limit of 1000,
     * far past ours; the walk stops at depth 32 instead of recursing 450
     * frames. */
    char *doc = doc_with_chain(450);
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL(load_doc(doc, &t, &d), SLATE_ERR_TOPOLOGY_INVALID);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "deeper than 32"));
    CU_ASSERT_EQUAL(slate_diag_count(&d), 1);
    free(doc);
    /* 5000 levels of arrays: cJSON refuses, as a parse error. */
    size_t n = 5000;
    char *deep = malloc(2 * n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    slate_diag_clear(&d);
    CU_ASSERT_EQUAL(load_doc(deep, &t, &d), SLATE_ERR_PARSE);
    CU_ASSERT(slate_diag_count(&d) >= 1);
    free(deep);
    slate_diag_cleanup(&d);
}

/* ---- malformed input never crashes ---- */

/* Loads |len| bytes; asserts the contract: success with a topology that
 * round-trips, or an error with at least one diagnostic and |*out| untouched. */
static void load_must_behave(const char *text, size_t len)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = slate_topology_load_json(text, len, &t, &d);
    if (rv == SLATE_OK) {
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT(round_trips(t, 0));
    } else {
        CU_ASSERT_PTR_NULL(t);
        CU_ASSERT(slate_diag_count(&d) >= 1);
    }
    slate_topology_free(t);
    slate_diag_cleanup(&d);
}

static void test_truncations(void)
{
    char *doc = build_doc((parts){0});
    size_t len = strlen(doc);
    for (size_t i = 0; i <= len; i++) {
        /* An exact-size copy so ASan sees any read past |i|. */
        char *cut = malloc(i ? i : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
        memcpy(cut, doc, i);
        load_must_behave(cut, i);
        free(cut);
    }
    slate_topology *t = NULL;
    CU_ASSERT_EQUAL(slate_topology_load_json(doc, len - 1, &t, NULL), SLATE_ERR_PARSE);
    CU_ASSERT_EQUAL(slate_topology_load_json(doc, len, &t, NULL), SLATE_OK);
    slate_topology_free(t);
    free(doc);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_byte_flips(void)
{
    char *doc = build_doc((parts){0});
    size_t len = strlen(doc);
    uint64_t seed = 0x5eed5eedULL;
    /* Bytes that keep the text JSON-like more often than random ones do. */
    static const char alphabet[] = "{}[]\":,0123456789-.eE tfn\\u";
    for (int round = 0; round < 3000; round++) {
        char *m = malloc(len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        memcpy(m, doc, len);
        int flips = 1 + (int)(xorshift(&seed) % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(xorshift(&seed) % len);
            uint64_t r = xorshift(&seed);
            m[at] = (r & 1) ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
        }
        load_must_behave(m, len);
        free(m);
    }
    free(doc);
}

/* Appends every value of |node|'s subtree to |out| in a fixed order. */
static void collect_values(cJSON *node, cJSON **out, size_t *n, size_t cap)
{
    cJSON *c;
    cJSON_ArrayForEach(c, node)
    {
        if (*n < cap)
            out[(*n)++] = c;
        collect_values(c, out, n, cap);
    }
}

static void test_wrong_types_everywhere(void)
{
    char *doc = build_doc((parts){0});
    cJSON *base = cJSON_Parse(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    cJSON *values[512];
    size_t n_values = 0;
    collect_values(base, values, &n_values, 512);
    CU_ASSERT(n_values > 50);
    const char *replacements[] = {"\"s\"", "7",  "-1",  "null",     "true",
                                  "[]",    "{}", "[1]", "{\"a\":1}"};
    size_t tried = 0, refused = 0;
    for (size_t i = 0; i < n_values; i++) {
        for (size_t r = 0; r < sizeof(replacements) / sizeof(replacements[0]); r++) {
            cJSON *copy = cJSON_Duplicate(base, 1);
            cJSON *vals[512];
            size_t n = 0;
            collect_values(copy, vals, &n, 512);
            cJSON *parent = NULL, *target = vals[i];
            /* Find |target|'s parent: the root or an earlier value. */
            cJSON *c;
            cJSON_ArrayForEach(c, copy)
            {
                if (c == target)
                    parent = copy;
            }
            for (size_t j = 0; j < i && parent == NULL; j++) {
                cJSON_ArrayForEach(c, vals[j])
                {
                    if (c == target)
                        parent = vals[j];
                }
            }
            CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
            cJSON *rep = cJSON_Parse(replacements[r]);
            cJSON_ReplaceItemViaPointer(parent, target, rep);
            char *text = cJSON_PrintUnformatted(copy);
            slate_diag d;
            slate_diag_init(&d);
            slate_topology *t = NULL;
            int rv = load_doc(text, &t, &d);
            tried++;
            if (rv != SLATE_OK) {
                refused++;
                CU_ASSERT(slate_diag_count(&d) >= 1);
                CU_ASSERT_PTR_NULL(t);
            }
            slate_topology_free(t);
            slate_diag_cleanup(&d);
            free(text);
            cJSON_Delete(copy);
        }
    }
    /* Most replacements break the document; the few that do not are values
     * where another type is still valid (e.g. 7 for a number). */
    CU_ASSERT(refused > tried / 2);
    cJSON_Delete(base);
    free(doc);
}

/* ---- lookups, demand, classification ---- */

static void test_lookups(void)
{
    slate_topology *t = load_parts((parts){0});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(slate_topology_find_cluster(t, "b"), 1);
    CU_ASSERT_EQUAL(slate_topology_find_cluster(t, "B"), -1);
    CU_ASSERT_EQUAL(slate_topology_find_cluster(t, NULL), -1);
    CU_ASSERT_EQUAL(slate_topology_find_service(t, "db"), 2);
    CU_ASSERT_EQUAL(slate_topology_find_service(t, "dbx"), -1);
    CU_ASSERT_EQUAL(slate_topology_find_class(t, "home"), 0);
    CU_ASSERT_EQUAL(slate_topology_find_class(t, "away"), -1);
    const slate_deployment *dep = slate_topology_deployment(t, 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dep);
    SLATE_ASSERT_NEAR(dep->capacity_rps, 200, 0);
    CU_ASSERT_PTR_NULL(slate_topology_deployment(t, 1, 1)); /* cart only in a */
    CU_ASSERT_PTR_NULL(slate_topology_deployment(t, 9, 0));
    CU_ASSERT_PTR_NULL(slate_topology_deployment(t, -1, 0));

    slate_diag d;
    slate_diag_init(&d);
    slate_topology *none = NULL;
    CU_ASSERT_EQUAL(slate_topology_load_file("/nonexistent/topology.json", &none, &d),
                    SLATE_ERR_IO);
    CU_ASSERT_PTR_NULL(none);
    CU_ASSERT(slate_diag_count(&d) == 1);
    slate_diag_cleanup(&d);
    slate_topology_free(t);
}

static void test_set_demand(void)
{
    slate_topology *t = load_parts((parts){0});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* Replace the existing entry, then add one. */
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 0, 42.5), SLATE_OK);
    CU_ASSERT_EQUAL(t->n_demand, 1);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 0), 42.5, 0);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 1, 7), SLATE_OK);
    CU_ASSERT_EQUAL(t->n_demand, 2);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 1), 7, 0);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 1, 0), SLATE_OK);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 1), 0, 0);
    /* Refused: nothing changes. */
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 0, -1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 0, NAN), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 0, INFINITY), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 0, 2 * SLATE_TOPO_MAX_RPS),
                    SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 1, 0, 1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, 0, 2, 1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(slate_topology_set_demand(t, -1, 0, 1), SLATE_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(t->n_demand, 2);
    SLATE_ASSERT_NEAR(slate_topology_demand_rps(t, 0, 0), 42.5, 0);
    /* The changed topology still saves and loads. */
    CU_ASSERT(round_trips(t, 1));
    slate_topology_free(t);
}

static void test_classify(void)
{
    slate_topology *t = load_example("online-boutique.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    int fe = slate_topology_find_service(t, "frontend");
    int home = slate_topology_find_class(t, "home");
    int product = slate_topology_find_class(t, "product");
    int cart = slate_topology_find_class(t, "cart");
    int checkout = slate_topology_find_class(t, "checkout");
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "GET", "/"), home);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "GET", "/product/OLJCESPC7Z"), product);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "GET", "/cart"), cart);
    /* Longest prefix wins over "/". */
    CU_ASSERT_EQUAL(slate_topology_classify(t, -1, "POST", "/cart/checkout"), checkout);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "GET", "/cart/checkout"), cart);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "POST", "/cart"), -1);
    /* Methods are case-sensitive; a NULL method matches only method-less rules. */
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "get", "/"), -1);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, NULL, "/"), -1);
    CU_ASSERT_EQUAL(slate_topology_classify(t, fe, "GET", NULL), -1);
    /* Another ingress service has no classes. */
    CU_ASSERT_EQUAL(
        slate_topology_classify(t, slate_topology_find_service(t, "cartservice"), "GET", "/"), -1);
    slate_topology_free(t);

    /* Rules without method or prefix; ties go to the first in file order. */
    t = load_parts((parts){.classes = "[{'name': 'any', 'calls': {'service': 'front'}},"
                                      " {'name': 'api1', 'match': {'path_prefix': '/api'},"
                                      "  'calls': {'service': 'front'}},"
                                      " {'name': 'api2', 'match': {'path_prefix': '/api'},"
                                      "  'calls': {'service': 'front'}},"
                                      " {'name': 'cart', 'match': {'method': 'PUT'},"
                                      "  'calls': {'service': 'cart'}}]",
                           .demand = ""});
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(slate_topology_classify(t, 0, "DELETE", "/x"), 0);
    CU_ASSERT_EQUAL(slate_topology_classify(t, 0, NULL, NULL), 0);
    CU_ASSERT_EQUAL(slate_topology_classify(t, 0, "GET", "/api/v1"), 1);
    CU_ASSERT_EQUAL(slate_topology_classify(t, 1, "PUT", "/api"), 3);
    CU_ASSERT_EQUAL(slate_topology_classify(t, 1, "GET", "/api"), -1);
    CU_ASSERT_EQUAL(slate_topology_classify(t, -1, "PUT", "/x"), 0); /* tie at length 0 */
    slate_topology_free(t);
}

static CU_TestInfo topology_tests[] = {
    {"minimal document", test_minimal_document},
    {"optional sections default", test_optional_sections_default},
    {"example: online boutique", test_example_online_boutique},
    {"example: hotel reservation", test_example_hotel_reservation},
    {"example: alibaba fan-out", test_example_alibaba_fanout},
    {"round trip", test_round_trip},
    {"clone and equal", test_clone_and_equal},
    {"unknown names", test_unknown_names},
    {"duplicate names", test_duplicate_names},
    {"call cycles", test_call_cycles},
    {"undeployed services", test_undeployed_services},
    {"bad numbers", test_bad_numbers},
    {"rtt matrix", test_rtt_matrix},
    {"egress matrix", test_egress_matrix},
    {"names", test_names},
    {"wrong types", test_wrong_types},
    {"every problem reported", test_every_problem_reported},
    {"limits", test_limits},
    {"hostile nesting", test_hostile_nesting},
    {"truncations", test_truncations},
    {"byte flips", test_byte_flips},
    {"wrong types everywhere", test_wrong_types_everywhere},
    {"lookups", test_lookups},
    {"set demand", test_set_demand},
    {"classify", test_classify},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "topology",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = topology_tests},
    CU_SUITE_INFO_NULL,
};
