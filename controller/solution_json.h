/*
 * The JSON report of one solve (GET /v1/solution, slate-solve --json):
 *   {"status": "optimal", "policy": "slate", "topology": NAME,
 *    "lp": {"rows", "cols", "nonzeros", "iterations", "solve_ms", "warm", "objective"},
 *    "latency_ms_rps", "egress_usd_per_hour", "overload_total",
 *    "classes": [{"class", "cluster", "rps", "latency_ms", "latency_cp_ms"}],
 *    "deployments": [{"service", "cluster", "load_rps", "capacity_rps",
 *                     "utilization", "overload_rps"}]}
 * Classes without demand at a cluster are omitted. Non-finite numbers are
 * written as null.
 */
#ifndef SLATE_CONTROLLER_SOLUTION_JSON_H
#define SLATE_CONTROLLER_SOLUTION_JSON_H

#include "controller/optimizer.h"
#include "topology/topology.h"

/* Returns owned text (free()). |status| and |policy| are copied into the
 * document. SLATE_OK, SLATE_ERR_INVALID_ARG or NOMEM. */
int slate_solution_to_json(const slate_topology *t, const slate_solution *s, const char *status,
                           const char *policy, int pretty, char **out);

#endif
