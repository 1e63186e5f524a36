/*
 * Damping of published routing tables (DESIGN.md section 5, "Stability").
 *
 * The control loop does not jump to each new optimum: every rule's weights
 * move from the published ones toward the optimum by a step s in (0, 1],
 *   w' = w + s * (w* - w),
 * and a new version is published only if some weight moved by at least a
 * threshold. With s = 1 the optimum is published as is; with s < 1 the
 * distance to a fixed optimum shrinks by (1 - s) per period, so noise in
 * the measurements is smoothed instead of chased.
 */
#ifndef SLATE_CONTROLLER_DAMPING_H
#define SLATE_CONTROLLER_DAMPING_H

#include "controller/routes.h"

/*
 * Builds the next table from |published| (may be NULL: nothing published
 * yet, the optimum is taken whole) and |optimum| (borrowed; same topology).
 * Rules are matched by key (class, src service, src cluster, dst service);
 * a rule only in |optimum| takes its weights. Weights stay >= 0, keep
 * zeros where the optimum and the published table both have them (so
 * undeployed clusters stay at 0), and sum to 1. |*max_change| receives the
 * largest absolute weight change against |published| (1 when it is NULL).
 * Returns owned table in |*out| (version 0: the caller sets it).
 * SLATE_OK, SLATE_ERR_INVALID_ARG (step not in (0, 1], cluster counts that
 * differ) or NOMEM.
 */
int slate_route_table_damp(const slate_route_table *published, const slate_route_table *optimum,
                           double step, slate_route_table **out, double *max_change);

#endif
