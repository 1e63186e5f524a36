/*
 * Routing tables as mesh configuration (issue 4): what one sidecar, i.e. one
 * (cluster, service), should do, in Envoy's and Istio's own formats, so a
 * mesh without slate's sidecar can apply slate's decisions.
 *
 * Envoy: one RouteConfiguration; a virtual host per destination service
 * (domains: the service name, with and without a port); per class a route
 * matching the `baggage` header containing `slate-class=<class>` whose
 * action is `weighted_clusters` over clusters named `<dst_service>.<cluster>`
 * with integer weights summing to exactly 10000; last, a catch-all route
 * with the class-independent default (the first class's weights).
 *
 * Istio (networking.istio.io/v1beta1): per destination service a
 * VirtualService (hosts: the service) whose http routes match the source
 * workload (sourceLabels app=<service>, topology.kubernetes.io/region=
 * <cluster>) and the baggage header by regex, with destinations subset=
 * <cluster> and integer weights summing to exactly 100; and a
 * DestinationRule with one subset per cluster where the service is
 * deployed (labels topology.kubernetes.io/region: <cluster>). Documents
 * are separated by "---".
 *
 * Every string scalar is double-quoted and escaped, so no topology name can
 * change the document's structure. Zero weights are left out. Integer
 * weights come from the largest-remainder method: floor(w * total) each,
 * then one unit more to the largest remainders (lowest index on a tie).
 */
#ifndef SLATE_CONTROLLER_EXPORT_H
#define SLATE_CONTROLLER_EXPORT_H

#include <stddef.h>

#include "controller/routes.h"
#include "topology/topology.h"

/* Fills |out| (n values) with integers summing to |total| proportional to
 * |w| (n values >= 0, not all 0). Returns SLATE_OK or INVALID_ARG. */
int slate_export_integer_weights(const double *w, size_t n, int total, int *out);

/* Returns owned YAML text. SLATE_OK, SLATE_ERR_NOT_FOUND (unknown cluster or
 * service name) or NOMEM. */
int slate_export_envoy(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out);
int slate_export_istio(const slate_route_table *rt, const slate_topology *t, const char *cluster,
                       const char *service, char **out);

#endif
