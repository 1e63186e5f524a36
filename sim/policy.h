/*
 * Routing policies: slate's LP and the baselines the mesh products use
 * (DESIGN.md section 7), each producing a slate_route_table from what that
 * policy can know. The same tables drive the analytic evaluator, the
 * discrete-event simulator and (later) the controller serving a baseline
 * live, so this is a library API with no simulator state in it.
 *
 * What each policy knows, through slate_policy_input:
 *   local, equal, spray   the deployments (and their capacity, for spray)
 *   envoy-locality        the deployments and their health (fraction of
 *                         nominal capacity up); load-blind
 *   waterfall, rings      deployments, capacities, RTTs and the demand
 *                         (the load reports a global balancer receives)
 *   slate                 all of the above and a latency profile set, either
 *                         the ground truth or one learned from telemetry
 *   p2c-ewma              per request, from its own measurements: it has no
 *                         table and exists only in the discrete-event mode
 *
 * Every policy sends nothing to a cluster where the destination service is
 * not deployed, and treats the topology it is given as the current truth: the
 * simulator removes a failed cluster's deployments and scales capacities in
 * the topology view it passes (health checking is universal in meshes, so
 * every baseline avoids a failed cluster).
 *
 * Waterfall (Traffic Director WATERFALL_BY_REGION), as computed here:
 *   1. Capacity is shared by every source and class: remaining[s,b] starts
 *      at capacity_rps (work units/s) of each deployment.
 *   2. The call trees are walked top-down by depth (all classes' nodes at
 *      depth 0, then depth 1, ...), so each service sees exactly the load its
 *      callers send under this policy; a node's inflow from cluster a is
 *      the demand (root) or count * the flow its parent received in a.
 *   3. At one depth, per service s, the inflow per source cluster a (in work
 *      units/s) is placed in rounds r = 0, 1, ...: each source asks its r-th
 *      nearest deployed cluster (by RTT, lowest index on a tie) for all of
 *      its unplaced load; a cluster grants min(asked, remaining) and, when
 *      asked for more than it has, shares what remains among its askers in
 *      proportion to what they asked. So no source's order matters.
 *   4. Load left after the last round (demand above total capacity) is
 *      spread over all deployments in proportion to capacity: every cluster
 *      is then overloaded by the same factor.
 *   Every class and node of a service from one source cluster gets the same
 *   split. With one source of 1000 RPS, local capacity 800 and a remote one
 *   of 800, the local cluster receives 800 and the nearest remote 200.
 *
 * Rings (Meta ServiceRouter locality rings): the same walk and rounds as
 * waterfall, but round r offers ring r: the deployed clusters whose RTT from
 * the source is within ring_bounds_ms[r] and that are not in an inner ring
 * (the last ring is unbounded: the whole world). Within a ring a source's
 * load is split across the ring's clusters in proportion to their remaining
 * headroom, and a ring only takes load up to ring_threshold * capacity of
 * each cluster (ServiceRouter spills before a ring saturates). Up to
 * SLATE_RINGS_PASSES passes per round let load refused by one cluster of a
 * ring use another's headroom. Load past every ring is spread over all
 * deployments by capacity, as in waterfall. Defaults: bounds 2 ms (the
 * cluster itself: in-cluster RTTs are ~0.5 ms), 35 ms (nearby regions),
 * 70 ms (the continent), then the world; threshold 0.8.
 *
 * Envoy locality priorities: priority i is the i-th nearest deployed cluster
 * by RTT from the source (the source itself first when deployed). Each
 * priority's health h (fraction of its nominal capacity that is up) is
 * multiplied by the overprovisioning factor 1.4 and capped at 1: that is the
 * share of the load it takes; the rest spills to the next priorities in
 * order (Envoy's priority load). When the priorities' shares sum to less
 * than 1, Envoy normalises them to sum to 1; when every share is 0 (all
 * down, Envoy's panic mode) the load is split equally. Load-blind: a
 * healthy local cluster takes everything however loaded it is.
 */
#ifndef SLATE_SIM_POLICY_H
#define SLATE_SIM_POLICY_H

#include <stddef.h>

#include "common/diag.h"
#include "controller/optimizer.h"
#include "controller/routes.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

typedef enum slate_policy_kind {
    SLATE_POLICY_LOCAL = 0,
    SLATE_POLICY_EQUAL,
    SLATE_POLICY_SPRAY,
    SLATE_POLICY_WATERFALL,
    SLATE_POLICY_ENVOY_LOCALITY,
    SLATE_POLICY_RINGS,
    SLATE_POLICY_SLATE,
    SLATE_POLICY_P2C_EWMA,
    SLATE_POLICY_COUNT
} slate_policy_kind;

#define SLATE_RINGS_MAX    8 /* ring bounds, the unbounded last ring excluded */
#define SLATE_RINGS_PASSES 8

typedef struct slate_policy_opts {
    double envoy_overprovisioning;          /* default 1.4 (Envoy's default) */
    double ring_bounds_ms[SLATE_RINGS_MAX]; /* ascending RTT bounds, ms */
    size_t n_ring_bounds;                   /* default 3: {2, 35, 70} */
    double ring_threshold;                  /* utilization a ring fills to; default 0.8 */
    double waterfall_fill;                  /* utilization waterfall fills a cluster to
                                               before spilling, (0, 1]; default 1 (the
                                               papers' baseline; Traffic Director's
                                               capacity scaler lowers it) */
    slate_optimizer_opts lp;                /* for the slate policy */
} slate_policy_opts;

/* Fills |o| with the defaults above (and slate_optimizer_opts_init). */
void slate_policy_opts_init(slate_policy_opts *o);

/* Returns the policy's name ("waterfall", "envoy-locality", "p2c-ewma"...). */
const char *slate_policy_name(slate_policy_kind kind);

/* Finds a policy by |name|. SLATE_OK or SLATE_ERR_NOT_FOUND. */
int slate_policy_parse(const char *name, slate_policy_kind *out);

/* Returns 1 when |kind| produces a routing table (every policy but p2c-ewma). */
int slate_policy_has_table(slate_policy_kind kind);

typedef struct slate_policy_input {
    const slate_topology *t; /* borrowed: the current view (deployments,
                                capacities, RTTs, demand) */
    /* borrowed, may be NULL: the profiles slate is told (ground truth or
     * learned); NULL = the topology's MM1 defaults. Used by slate only. */
    const slate_profile_set *profiles;
    /* borrowed, may be NULL (all healthy): n_services * n_clusters fractions
     * in [0, 1] of each deployment's nominal capacity that is up. Used by
     * envoy-locality only. */
    const double *health;
} slate_policy_input;

/*
 * Computes |kind|'s routing table for |in| (options |opts|, NULL for the
 * defaults). Returns owned table in |*out| (free with
 * slate_route_table_free); rules carry fallback = 1 only where the policy
 * had nothing to say (a key with no flow under waterfall, rings and slate).
 * Returns SLATE_OK, SLATE_ERR_INVALID_ARG (NULL argument, p2c-ewma),
 * SLATE_ERR_NOMEM, or for slate the optimizer's errors (with |diag|).
 */
int slate_policy_routes(slate_policy_kind kind, const slate_policy_input *in,
                        const slate_policy_opts *opts, slate_route_table **out, slate_diag *diag);


#endif
