/*
 * Report aggregation (issue 4, item 2): sidecar reports in, per-period
 * observations out. Thread-safe: reports arrive on HTTP threads while the
 * control loop takes observations; one mutex inside guards everything.
 *
 * Names in a report are resolved against the topology the aggregator was
 * made for; an unknown service, cluster or class, or a (service, cluster)
 * where the service is not deployed, rejects the whole report with the JSON
 * path of the offending member. Accepted reports are summed into the current
 * period: counts, bytes and histograms add exactly (common/hist.h), so the
 * order and grouping of reports does not matter.
 *
 * Call-tree attribution: a report names services, not call-tree nodes. An
 * inbound entry (class k at service S) is attributed to the node of k's tree
 * served by S, and an outbound entry (k, S -> D) to the edge whose parent
 * node is served by S and child by D, when that node or edge is unique in
 * the tree. Where it is not (S serves two nodes of one tree), the entry
 * still counts towards load and self-time but not towards multiplicities,
 * which then keep the topology's counts.
 *
 * Instances are known by (service, cluster, instance). One that has not
 * reported for |instance_ttl_ms| ages out: its address leaves the endpoint
 * list. (Its data only ever counted in the periods it reported in.)
 */
#ifndef SLATE_CONTROLLER_AGGREGATE_H
#define SLATE_CONTROLLER_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/hist.h"
#include "common/report.h"
#include "topology/topology.h"

#define SLATE_AGG_MAX_INSTANCES 65536 /* live instances tracked */

typedef struct slate_aggregator slate_aggregator;

/* What one period's reports say. Arrays are owned. Indices as in
 * slate_solution: [k * n_clusters + a], [s * n_clusters + b]; per class
 * node arrays are [k][v]. */
typedef struct slate_observation {
    size_t n_classes, n_services, n_clusters;
    double period_s;        /* wall time the period covered */
    uint64_t reports;       /* accepted reports in the period */
    double *demand_rps;     /* nk * nc: per reporting instance, its ingress arrivals
                               over the time its reports cover, summed; NaN for a
                               cluster where an instance that takes ingress sent
                               no report this period (unknown, not 0) */
    uint64_t ingress_total; /* sum of ingress arrivals (0: no demand observed) */
    double **calls_per_req; /* nk arrays of n_nodes: measured multiplicity of the
                               edge into node v; NaN where unknown (root, no
                               parent requests, ambiguous attribution) */
    uint64_t **parent_requests; /* nk arrays of n_nodes: sample size behind it */
    double *load_work_rps;  /* ns * nc: inbound work units per second (rated as demand) */
    double *self_ms;        /* ns * nc: mean self-time per request, ms; NaN if none */
    double *mean_work;      /* ns * nc: mean work per request (for normalising) */
    uint64_t *requests;     /* ns * nc: inbound requests */
    uint64_t *errors;       /* ns * nc: inbound errors */
    slate_hist *class_latency; /* nk: root-service inbound latency, all clusters */
} slate_observation;

void slate_observation_free(slate_observation *o);

/* |t| borrowed: it must outlive the aggregator. ttl in ms (> 0). */
int slate_aggregator_new(const slate_topology *t, int64_t instance_ttl_ms,
                         slate_aggregator **out);
void slate_aggregator_free(slate_aggregator *a);

/*
 * Validates |r| against the topology and adds it to the current period.
 * SLATE_OK, SLATE_ERR_REPORT_INVALID (|d| says where), SLATE_ERR_TOO_LARGE
 * (instance table full) or NOMEM. Nothing is added on failure.
 */
int slate_aggregator_add(slate_aggregator *a, const slate_report *r, int64_t now_ms,
                         slate_diag *d);

/* Closes the period at |now_ms| and returns its observation (owned). */
int slate_aggregator_take(slate_aggregator *a, int64_t now_ms, slate_observation **out);

/*
 * The inbound addresses of live instances of (service, cluster), as an
 * owned array of owned strings (free each, then the array). |now_ms| ages
 * out silent instances first. SLATE_OK or NOMEM; *n = 0 when none.
 */
int slate_aggregator_endpoints(slate_aggregator *a, int service, int cluster, int64_t now_ms,
                               char ***out, size_t *n);

/* Live instances after aging at |now_ms|. */
size_t slate_aggregator_instances(slate_aggregator *a, int64_t now_ms);

#endif
