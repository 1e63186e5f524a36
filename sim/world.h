/*
 * The simulated world's state over a scenario's timeline (used by the
 * runner's modes and the closed loop): demand per (class, ingress), capacity
 * factor per deployment, failed clusters and RTTs, advanced through the
 * scenario's steps and events, and the topology view of a state.
 */
#ifndef SLATE_SIM_WORLD_H
#define SLATE_SIM_WORLD_H

#include <stddef.h>

#include "common/diag.h"
#include "sim/des.h"
#include "sim/scenario.h"

typedef struct slate_world {
    size_t nk, ns, nc;
    double *lambda;               /* nk * nc, req/s */
    double *cap;                  /* ns * nc, factor of nominal capacity */
    unsigned char *failed;        /* nc */
    double *rtt;                  /* nc * nc, ms */
    size_t next_step, next_event; /* scenario cursors */
} slate_world;

/* The state at t = 0 (before any step or event). SLATE_OK or NOMEM. */
int slate_world_init(slate_world *st, const slate_scenario *sc);
void slate_world_cleanup(slate_world *st);

/* Applies every step and event at or before |t_s| not applied yet; when
 * |des| is not NULL mirrors each change into it. */
int slate_world_advance(slate_world *st, const slate_scenario *sc, double t_s, slate_des *des);

/*
 * Builds the topology of state |st| (returns owned in |*view|: failed
 * clusters' deployments removed, capacities scaled, RTTs and demand of the
 * state) and its ground truth (|*truth|, owned; borrows |*view|).
 */
int slate_world_view(const slate_scenario *sc, const slate_world *st, slate_topology **view,
                     slate_profile_set **truth, slate_diag *diag);

/* The segment boundaries: 0, every step and event time below duration_s;
 * returns how many (at most 1 + steps + events) in |times| (owned). */
int slate_world_segments(const slate_scenario *sc, double **times, size_t *n);

#endif
