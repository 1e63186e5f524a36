/*
 * Simulation scenarios: a topology, ground-truth latency profiles, and a
 * workload timeline with events, read from one JSON document.
 *
 * Format (every member, with an example):
 *
 *   {
 *     "topology": "alibaba-fanout.json",   required: a topology object inline
 *                                          (topology.h's format) or the path
 *                                          of one, relative to the scenario
 *                                          file's folder. Its "demand" is the
 *                                          demand at t = 0.
 *     "profiles": "truth-profiles.json",   optional: the ground truth, a
 *                                          profile-set document inline
 *                                          ({"profiles": [...]}) or a path;
 *                                          deployments it does not name keep
 *                                          the topology's MM1 default
 *                                          (profiles.h)
 *     "slate_profiles": "truth",           optional: what slate's LP is told:
 *                                          "truth" (default: the ground
 *                                          truth) or "defaults" (the
 *                                          topology's MM1 defaults, i.e. a
 *                                          controller that learned nothing)
 *     "duration_s": 60,                    optional, (0, 604800], default 60:
 *                                          simulated time with arrivals
 *     "warmup_s": 5,                       optional, [0, duration_s), default
 *                                          10% of duration_s: excluded from
 *                                          every statistic
 *     "seed": 42,                          optional, integer in [0, 2^53],
 *                                          default 1: the DES's PRNG seed
 *     "timeline": [                        optional, at most
 *                                          SLATE_SCENARIO_MAX_STEPS steps,
 *                                          at_s ascending
 *       {"at_s": 30,                       [0, duration_s]
 *        "demand": [{"class": "light", "cluster": "us-west", "rps": 900}]}
 *                                          sets the listed (class, ingress)
 *                                          demands (req/s, [0, 1e9]); the
 *                                          others keep their value
 *     ],
 *     "events": [                          optional, at most
 *                                          SLATE_SCENARIO_MAX_EVENTS, in any
 *                                          order (applied by at_s, then file
 *                                          order)
 *       {"at_s": 20, "kind": "capacity", "cluster": "us-west",
 *        "service": "ms-a", "factor": 0.5},
 *                                          the capacity of the deployment(s)
 *                                          becomes factor x nominal, factor in
 *                                          (0, 10]; "service" optional (absent
 *                                          = every service in the cluster)
 *       {"at_s": 60, "kind": "fail", "cluster": "us-east"},
 *                                          the cluster's deployments are gone
 *                                          from then on (every service must
 *                                          keep a deployment elsewhere)
 *       {"at_s": 40, "kind": "rtt", "from": "us-west", "to": "us-east",
 *        "rtt_ms": 120}                    the RTT between the two clusters,
 *                                          both directions, [0, 1e5] ms
 *     ],
 *     "policy_options": {                  optional
 *       "envoy_overprovisioning": 1.4,     (0, 100]
 *       "ring_bounds_ms": [2, 35, 70],     ascending, at most SLATE_RINGS_MAX
 *       "ring_threshold": 0.8,             (0, 1]
 *       "u_max": 0.95,                     (0, 1): slate's LP and the analytic
 *                                          evaluator's PWL range
 *       "usd_per_ms": 1e-7,                [0, 1]: slate's price of latency
 *       "critical_path": false             slate weighs parallel fan-outs by
 *                                          their critical-path share
 *     }
 *   }
 *
 * Unknown members are ignored. Every problem is reported with its JSON path.
 */
#ifndef SLATE_SIM_SCENARIO_H
#define SLATE_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "profiles/profiles.h"
#include "sim/policy.h"
#include "topology/topology.h"

#define SLATE_SCENARIO_MAX_BYTES      (4u * 1024u * 1024u)
#define SLATE_SCENARIO_MAX_STEPS      10000
#define SLATE_SCENARIO_MAX_EVENTS     10000
#define SLATE_SCENARIO_MAX_DURATION_S 604800.0 /* one week */
#define SLATE_SCENARIO_MAX_PATH       4096

typedef struct slate_scenario_demand {
    int klass, cluster;
    double rps;
} slate_scenario_demand;

typedef struct slate_scenario_step {
    double at_s;
    slate_scenario_demand *demand; /* owned */
    size_t n_demand;
} slate_scenario_step;

typedef enum slate_event_kind {
    SLATE_EVENT_CAPACITY = 0,
    SLATE_EVENT_FAIL = 1,
    SLATE_EVENT_RTT = 2
} slate_event_kind;

typedef struct slate_scenario_event {
    double at_s;
    slate_event_kind kind;
    int cluster;    /* capacity, fail; rtt: "from" */
    int service;    /* capacity: -1 = every service in the cluster */
    int cluster_to; /* rtt: "to" */
    double value;   /* capacity: factor of nominal; rtt: ms */
} slate_scenario_event;

typedef struct slate_scenario {
    slate_topology *topology; /* owned; demand = the demand at t = 0 */
    slate_profile_set *truth; /* owned; ground truth */
    int slate_told_truth;     /* 1: slate sees |truth|; 0: topology defaults */
    double duration_s, warmup_s;
    uint64_t seed;
    slate_scenario_step *steps; /* owned, at_s ascending */
    size_t n_steps;
    slate_scenario_event *events; /* owned, sorted by at_s (stable) */
    size_t n_events;
    slate_policy_opts policy_opts;
} slate_scenario;

/*
 * Parses |len| bytes of |text| (borrowed). Relative paths inside are resolved
 * against |base_dir| (NULL: the working directory). Returns owned scenario in
 * |*out| (free with slate_scenario_free); on failure |*out| is untouched and
 * |diag| lists every problem with its JSON path (a referenced file's own
 * problems are prefixed with the member that names it). Returns SLATE_OK,
 * SLATE_ERR_TOO_LARGE, SLATE_ERR_PARSE, SLATE_ERR_IO, SLATE_ERR_SCENARIO_INVALID,
 * SLATE_ERR_TOPOLOGY_INVALID, SLATE_ERR_PROFILE_INVALID or SLATE_ERR_NOMEM.
 */
int slate_scenario_load_json(const char *text, size_t len, const char *base_dir,
                             slate_scenario **out, slate_diag *diag);

/* As slate_scenario_load_json, reading |path|; relative paths inside resolve
 * against |path|'s folder. */
int slate_scenario_load_file(const char *path, slate_scenario **out, slate_diag *diag);

void slate_scenario_free(slate_scenario *s);

#endif
