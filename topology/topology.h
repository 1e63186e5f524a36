/*
 * The model slate routes over (DESIGN.md section 3): clusters, the network
 * between them, services and where they are deployed, request classes and
 * their call trees, and optionally demand.
 *
 * A slate_topology is built by slate_topology_load_json() (which validates it)
 * and is read-only afterwards: the structs are public so the optimizer, the
 * simulator and the controller can iterate them without accessor overhead,
 * but only this module creates or changes them. Every name and array inside
 * is owned by the topology and freed by slate_topology_free().
 *
 * Indices: clusters, services and classes are referred to by their index in
 * the arrays below (int, 0-based); -1 means "none".
 *
 * JSON format (every field, with its units):
 *
 *   {
 *     "name": "hotel-reservation",                 optional
 *     "clusters": ["us-west", "us-east"],          1..SLATE_TOPO_MAX_CLUSTERS unique names
 *     "network": {
 *       "rtt_ms": [[0.5, 66], [66, 0.5]],          n x n, symmetric, finite, >= 0 (ms);
 *                                                 the diagonal is the in-cluster RTT
 *       "egress_usd_per_gb": [[0, 0.02], [0.02, 0]] n x n, >= 0, diagonal 0 (USD/GB,
 *                                                 row = sender); optional, default 0
 *     },
 *     "services": [{
 *       "name": "frontend",
 *       "service_time_ms": 2.0,                    optional, > 0: mean unloaded time of one
 *                                                 work unit; default 1000 / capacity
 *       "deployments": [{
 *         "cluster": "us-west",
 *         "capacity_rps": 800,                     > 0: work units/s at saturation
 *         "endpoints": ["10.0.0.1:8080"]           optional static addresses
 *       }]
 *     }],
 *     "classes": [{
 *       "name": "hotels",
 *       "match": {"method": "GET", "path_prefix": "/hotels"},   optional; absent = any
 *       "calls": {                                 root node = the ingress service
 *         "service": "frontend", "endpoint": "/hotels",
 *         "work": 1.0,                             optional, > 0, default 1: relative work
 *                                                 of this call at its service
 *         "parallel": false,                       optional: children run concurrently
 *         "children": [{
 *           "service": "search", "endpoint": "/nearby",
 *           "count": 1.0,                          optional, >= 0, default 1: calls per
 *                                                 parent request (may be fractional)
 *           "request_bytes": 200,                  optional, >= 0, default 0
 *           "response_bytes": 1000,                optional, >= 0, default 0
 *           "children": [...]
 *         }]
 *       }
 *     }],
 *     "demand": [{"class": "hotels", "cluster": "us-west", "rps": 500}]   optional
 *   }
 *
 * Unknown members are ignored so newer files load in older builds.
 */
#ifndef SLATE_TOPOLOGY_TOPOLOGY_H
#define SLATE_TOPOLOGY_TOPOLOGY_H

#include <stddef.h>

#include "common/diag.h"

/* Limits on one topology; a document over any of them is rejected. */
#define SLATE_TOPO_MAX_BYTES (4u * 1024u * 1024u) /* JSON text */
#define SLATE_TOPO_MAX_NAME 128                   /* bytes in a name or endpoint */
#define SLATE_TOPO_MAX_CLUSTERS 64
#define SLATE_TOPO_MAX_SERVICES 4096
#define SLATE_TOPO_MAX_CLASSES 4096
#define SLATE_TOPO_MAX_NODES 4096       /* call-tree nodes per class */
#define SLATE_TOPO_MAX_DEPTH 32         /* call-tree depth (root = 0) */
#define SLATE_TOPO_MAX_ENDPOINTS 256    /* static endpoints per deployment */
#define SLATE_TOPO_MAX_DEMAND 65536     /* demand entries */
#define SLATE_TOPO_MAX_RPS 1e9
#define SLATE_TOPO_MAX_RTT_MS 1e5
#define SLATE_TOPO_MAX_BYTES_PER_CALL 1e10

typedef struct slate_deployment {
    int cluster;          /* index into clusters */
    double capacity_rps;  /* work units per second at saturation, > 0 */
    char **endpoints;     /* owned, may be NULL when n_endpoints == 0 */
    size_t n_endpoints;
} slate_deployment;

typedef struct slate_service {
    char *name;
    double service_time_ms; /* mean unloaded time of one work unit, > 0 */
    slate_deployment *deployments;
    size_t n_deployments;
} slate_service;

/* One node of a call tree: one call of |endpoint| at |service|. */
typedef struct slate_call_node {
    int service;           /* index into services */
    char *endpoint;        /* owned; "" when the file named none */
    int parent;            /* index into the class's nodes; -1 for the root */
    int depth;             /* 0 for the root */
    double count;          /* calls per parent request; 1 for the root */
    double request_bytes;  /* per call, parent -> this node */
    double response_bytes; /* per call, this node -> parent */
    double work;           /* relative work of one call at |service| */
    int parallel;          /* 1: this node's children run concurrently */
    int *children;         /* owned; indices into the class's nodes */
    size_t n_children;
} slate_call_node;

typedef struct slate_class {
    char *name;
    char *match_method;      /* owned; NULL = any method */
    char *match_path_prefix; /* owned; NULL = any path */
    slate_call_node *nodes;  /* pre-order; nodes[0] is the root (the ingress service) */
    size_t n_nodes;
} slate_class;

typedef struct slate_demand {
    int klass;   /* index into classes */
    int cluster; /* ingress cluster */
    double rps;
} slate_demand;

typedef struct slate_topology {
    char *name; /* owned; "" when unnamed */
    char **clusters;
    size_t n_clusters;
    double *rtt_ms;            /* n_clusters^2, row-major: rtt_ms[a * n + b] */
    double *egress_usd_per_gb; /* n_clusters^2, row = sending cluster */
    slate_service *services;
    size_t n_services;
    slate_class *classes;
    size_t n_classes;
    slate_demand *demand;
    size_t n_demand;
} slate_topology;

/*
 * Parses and validates |len| bytes of JSON |text| (borrowed). On success
 * returns owned topology in |*out| (free with slate_topology_free). On
 * failure |*out| is untouched and |diag| (may be NULL) lists every problem
 * found, each with its JSON path.
 * Returns SLATE_OK, SLATE_ERR_TOO_LARGE, SLATE_ERR_PARSE,
 * SLATE_ERR_TOPOLOGY_INVALID, SLATE_ERR_NOMEM, or SLATE_ERR_INVALID_ARG
 * (|out| NULL, or |text| NULL with |len| > 0).
 */
int slate_topology_load_json(const char *text, size_t len, slate_topology **out,
                             slate_diag *diag);

/* As slate_topology_load_json, reading the file at |path|. Adds SLATE_ERR_IO. */
int slate_topology_load_file(const char *path, slate_topology **out, slate_diag *diag);

/*
 * For the command-line tools: loads the file at |path| and returns the
 * topology (owned by the caller), or prints "|prog|: |path|: <error>" and
 * every problem with its JSON path to stderr and returns NULL.
 */
slate_topology *slate_topology_load_or_report(const char *prog, const char *path);

/*
 * Serialises |t| (borrowed) to JSON in the format above; loading the result
 * gives an equal topology (numbers are printed with as many digits as they
 * need to read back exactly). Returns owned text in |*out| (free with free()).
 * Returns SLATE_OK, SLATE_ERR_NOMEM or SLATE_ERR_INVALID_ARG (NULL argument).
 */
int slate_topology_to_json(const slate_topology *t, int pretty, char **out);

/* Returns an owned deep copy of |t| in |*out|. SLATE_OK, SLATE_ERR_NOMEM or
 * SLATE_ERR_INVALID_ARG (NULL argument). */
int slate_topology_clone(const slate_topology *t, slate_topology **out);

/* Frees |t| and everything it owns; NULL is a no-op. */
void slate_topology_free(slate_topology *t);

/*
 * Returns 1 when |a| and |b| (borrowed) hold the same names, numbers (compared
 * exactly), deployments, call trees and demand in the same order, else 0.
 * Two NULLs are equal.
 */
int slate_topology_equal(const slate_topology *a, const slate_topology *b);

/* Lookups by name; each returns the index or -1. */
int slate_topology_find_cluster(const slate_topology *t, const char *name);
int slate_topology_find_service(const slate_topology *t, const char *name);
int slate_topology_find_class(const slate_topology *t, const char *name);

/* Returns the deployment of |service| in |cluster| (returns borrowed), or NULL. */
const slate_deployment *slate_topology_deployment(const slate_topology *t, int service,
                                                  int cluster);

/* RTT between clusters |a| and |b| in ms. */
static inline double slate_topology_rtt_ms(const slate_topology *t, int a, int b)
{
    return t->rtt_ms[(size_t)a * t->n_clusters + (size_t)b];
}

/* Egress price from |from| to |to| in USD per GB. */
static inline double slate_topology_egress(const slate_topology *t, int from, int to)
{
    return t->egress_usd_per_gb[(size_t)from * t->n_clusters + (size_t)to];
}

/* Returns the demand in RPS of |klass| entering at |cluster| (0 when none). */
double slate_topology_demand_rps(const slate_topology *t, int klass, int cluster);

/*
 * Sets the demand of |klass| at |cluster| to |rps| (>= 0, finite, at most
 * SLATE_TOPO_MAX_RPS), adding or replacing the entry. This is the one
 * mutation allowed after load, for tests, the simulator and the CLI. Adding
 * past SLATE_TOPO_MAX_DEMAND entries is refused so the topology still saves
 * and loads. Returns SLATE_OK, SLATE_ERR_INVALID_ARG or SLATE_ERR_NOMEM.
 */
int slate_topology_set_demand(slate_topology *t, int klass, int cluster, double rps);

/*
 * Returns the class whose root service is |ingress_service| (or any, when
 * -1) and whose match rule accepts (|method|, |path|): the one with the
 * longest matching path prefix, the first in file order on a tie; -1 if none.
 */
int slate_topology_classify(const slate_topology *t, int ingress_service, const char *method,
                            const char *path);

#endif
