/*
 * Weighted routing tables (DESIGN.md sections 5 and 6).
 *
 * A rule is keyed by (class, source service, source cluster, destination
 * service) -- what a sidecar knows when it forwards a call -- and carries
 * one weight per cluster (0 where the destination service is not deployed),
 * summing to 1. Requests entering the system have source service -1 (the
 * ingress gateway) and the ingress cluster as source cluster.
 *
 * From a solution, a key's weights are x[k,v,a,b] / sum_b x[k,v,a,b] summed
 * over the call-tree nodes that share the key. A key with no predicted flow
 * gets the default policy (fallback = 1): the source cluster when the
 * destination service is deployed there, else the deployed cluster nearest by
 * RTT (lowest index on a tie).
 */
#ifndef SLATE_CONTROLLER_ROUTES_H
#define SLATE_CONTROLLER_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "controller/optimizer.h"
#include "topology/topology.h"

typedef struct slate_route_rule {
    int klass;
    int src_service; /* -1: ingress gateway */
    int src_cluster;
    int dst_service;
    double flow_rps; /* predicted calls/s under this key; 0 for fallback rules */
    int fallback;    /* 1 when the weights come from the default policy */
    double *weights; /* owned, n_clusters values summing to 1 */
} slate_route_rule;

typedef struct slate_route_table {
    uint64_t version; /* set by the publisher; 0 when unpublished */
    size_t n_clusters;
    slate_route_rule *rules; /* owned; sorted by (klass, src_service, src_cluster, dst_service) */
    size_t n_rules;
} slate_route_table;

/*
 * Builds the table for every key that the call trees of |t| can produce
 * (each class, each parent->child edge, each cluster the parent is deployed
 * in; plus ingress keys for every cluster), with weights from |sol|
 * (borrowed) or the default policy where |sol| is NULL or predicts no flow.
 * Returns owned table (free with slate_route_table_free). SLATE_OK or NOMEM.
 */
int slate_route_table_build(const slate_topology *t, const slate_solution *sol,
                            slate_route_table **out);

void slate_route_table_free(slate_route_table *rt);

/* Returns the rule for the key (returns borrowed), or NULL. Binary search. */
const slate_route_rule *slate_route_table_find(const slate_route_table *rt, int klass,
                                               int src_service, int src_cluster,
                                               int dst_service);

/* Fills |weights| (n_clusters values) with the default policy for calls from
 * |src_cluster| to |dst_service|. */
void slate_route_default_weights(const slate_topology *t, int src_cluster, int dst_service,
                                 double *weights);

/*
 * Serialises the rules whose source is |cluster| and |service| (names; NULL
 * for all; the service "" selects the ingress rules, whose src_service is
 * JSON null) as {"version": N, "rules": [{"class", "src_service",
 * "src_cluster", "dst_service", "weights": {cluster: w}, "flow_rps",
 * "fallback"}]}; weights of 0 are omitted. Returns owned text (free()).
 * SLATE_OK, SLATE_ERR_NOT_FOUND (unknown name) or SLATE_ERR_NOMEM.
 */
int slate_route_table_to_json(const slate_route_table *rt, const slate_topology *t,
                              const char *cluster, const char *service, int pretty,
                              char **out);

/*
 * Routes -> flows: propagates the demand in |t| top-down through every call
 * tree with |rt|'s weights (the default policy where |rt| has no rule for a
 * key) into |sol|'s flows (overwritten). The root's source is the ingress
 * cluster with source service -1; a node's inflow from cluster a is
 * count * the flow its parent received in a. Flow is conserved exactly.
 * |sol| must be shaped for |t| (slate_solution_new). Returns SLATE_OK or
 * SLATE_ERR_INVALID_ARG.
 */
int slate_route_table_flows(const slate_topology *t, const slate_route_table *rt,
                            slate_solution *sol);

/*
 * Requests/s that node |v| of class |k| receives from source cluster |a|:
 * the demand entering at |a| for the root, else count * the flow the parent
 * received in |a| (from any source), which must already be in |sol|.
 */
double slate_solution_node_inflow(const slate_topology *t, const slate_solution *sol, int k, int v,
                                  int a);

#endif
