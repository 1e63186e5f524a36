/*
 * The sidecar's view of the controller's routing table (DESIGN.md section
 * 6; the wire format is GET /v1/routes, see controller/routes.h and the
 * README): for this sidecar's (service, cluster), per (class, destination
 * service) the weights over clusters, plus the endpoints per (destination
 * service, cluster). Names are resolved against the sidecar's topology;
 * rules or endpoints that name something it does not know are skipped and
 * counted. Immutable once built: the control client swaps the pointer
 * between events of the single-threaded loop.
 */
#ifndef SLATE_SIDECAR_ROUTE_TABLE_H
#define SLATE_SIDECAR_ROUTE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "topology/topology.h"

#define SLATE_RT_MAX_BYTES (8u * 1024u * 1024u)
#define SLATE_RT_MAX_ENDPOINTS 256 /* per (service, cluster) */

typedef struct slate_sc_table slate_sc_table;

/*
 * Parses a GET /v1/routes body for the sidecar of |service| (index; -1 for
 * an ingress gateway) in |cluster|. Weights must be finite and >= 0; each
 * rule's are renormalised to sum 1 (a rule summing to 0 is an error).
 * Returns owned table. SLATE_OK, TOO_LARGE, PARSE, SLATE_ERR_INVALID_ARG
 * (not a routing table; |d| says where) or NOMEM.
 */
int slate_sc_table_parse(const slate_topology *t, int service, int cluster, const char *text,
                         size_t len, slate_sc_table **out, slate_diag *d);
void slate_sc_table_free(slate_sc_table *rt);
uint64_t slate_sc_table_version(const slate_sc_table *rt);
/* Entries skipped because they named unknown classes, services or clusters. */
size_t slate_sc_table_skipped(const slate_sc_table *rt);

/*
 * The cluster for a call of class |klass| to |dst_service|, drawn with the
 * uniform |u01| in [0, 1) from the rule's weights; when |rt| is NULL or has
 * no rule: the default policy (this cluster when |dst_service| is deployed
 * here, else the deployed cluster nearest by RTT). -1 if the service is
 * deployed nowhere.
 */
int slate_sc_pick_cluster(const slate_sc_table *rt, const slate_topology *t, int cluster,
                          int klass, int dst_service, double u01);

/*
 * Endpoints ("host:port", borrowed) of |dst_service| in |cluster|: the
 * table's list when it has one, else the topology's static endpoints.
 */
size_t slate_sc_endpoints(const slate_sc_table *rt, const slate_topology *t, int dst_service,
                          int cluster, const char *const **out);

#endif
