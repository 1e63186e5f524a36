/*
 * slate-controller's shared state (issue 4): the daemon object that the
 * HTTP handlers (server.c, api.c, metrics.c), the control loop (loop.c) and
 * the state store (store.c) share.
 *
 * Threads: libmicrohttpd's threads run the handlers; one control-loop
 * thread aggregates, learns, solves and publishes. Everything mutable below
 * "guarded by mu" is read and written with |mu| held, and never across a
 * solve: the loop copies its inputs out, solves on its own copies without
 * the lock, and publishes an immutable snapshot by swapping one pointer.
 * Readers take a reference to the snapshot under |mu| and use it after
 * unlocking, so a reader never sees a half-built table and a slow client
 * never blocks the loop.
 */
#ifndef SLATE_CONTROLLER_CTL_H
#define SLATE_CONTROLLER_CTL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "controller/aggregate.h"
#include "controller/optimizer.h"
#include "controller/routes.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

#define SLATE_CTL_MAX_BODY_DEFAULT (4u * 1024u * 1024u)
#define SLATE_CTL_MAX_WAIT_S 60 /* long-poll wait bound */
#define SLATE_CTL_SOLVE_BUCKETS 12

typedef struct slate_ctl_config {
    char listen_host[64];      /* default 127.0.0.1 */
    uint16_t listen_port;      /* 0 = any free port */
    char *port_file;           /* owned; where the bound port is written, or NULL */
    char *token;               /* owned bearer token, or NULL */
    int insecure_no_auth;      /* 1: accept mutations without a token */
    char *topology_path;       /* owned; loaded at start and on SIGHUP, or NULL */
    char *state_dir;           /* owned, or NULL: no persistence */
    double period_ms;          /* control period, default 5000 */
    double damping_step;       /* (0, 1], default 0.5 */
    double publish_threshold;  /* min weight change to publish, default 0.01 */
    double min_gain;           /* slate: min predicted relative gain to publish
                                  (publish_gate.h), default 0.02 */
    double instance_ttl_ms;    /* default 3 periods */
    int learn;                 /* 1: refit profiles from reports (default) */
    int pin_ingress;           /* 1 (default): the LP keeps each request's root service
                                  in the cluster it entered, as sidecars have no gateway
                                  to move it (--route-ingress: 0) */
    size_t max_body;           /* request body bytes, default 4 MiB */
    unsigned conn_limit;       /* default 8192 */
    unsigned conn_timeout_s;   /* idle / slow clients, default 15 */
    unsigned threads;          /* MHD thread pool, default 2 */
    char policy[32];           /* "slate" (default) or a simulator baseline */
} slate_ctl_config;

void slate_ctl_config_init(slate_ctl_config *c);
void slate_ctl_config_cleanup(slate_ctl_config *c);
/* Reads a JSON config file into |c| (fields as the flags, see --help).
 * Problems go to |d| with paths; SLATE_OK or SLATE_ERR_CONFIG_INVALID / IO. */
int slate_ctl_config_load(slate_ctl_config *c, const char *path, slate_diag *d);

/* A published version: immutable once visible; freed when the last reference goes. */
typedef struct slate_snapshot {
    int refs;                 /* guarded by the ctl's mu */
    uint64_t version;
    uint64_t topology_gen;    /* the ctl's topology_gen the table was built for */
    slate_topology *t;        /* owned copy the table's indices refer to */
    slate_route_table *table; /* owned */
} slate_snapshot;

/* A long-poll request waiting for a newer version (server.c owns these). */
typedef struct slate_waiter {
    struct MHD_Connection *conn;
    double deadline_ms; /* monotonic */
    int resumed;
    struct slate_waiter *prev, *next;
} slate_waiter;

typedef struct slate_ctl {
    slate_ctl_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the loop waits on it */
    pthread_t loop_thread;
    int loop_started;
    struct MHD_Daemon *mhd;
    uint16_t bound_port;

    /* ---- guarded by mu ---- */
    slate_topology *topology;    /* owned, current; NULL until loaded */
    uint64_t topology_gen;       /* bumped on every replacement */
    slate_profile_set *profiles; /* owned; borrows |topology| */
    uint64_t profiles_gen;       /* bumped on PUT /v1/profiles */
    slate_aggregator *agg;       /* owned; borrows |topology| */
    slate_snapshot *snap;        /* published; NULL until the first solve */
    char *solution_json;         /* owned; the last period's solve report */
    uint64_t last_version;       /* highest version ever published (survives topology changes) */
    int solve_requested, stopping, reload_requested;
    slate_waiter *waiters;       /* suspended long-polls */
    size_t n_waiters;
    /* counters for /metrics */
    uint64_t reports_received, reports_rejected, solves_ok, solves_failed, publishes;
    uint64_t solve_bucket[SLATE_CTL_SOLVE_BUCKETS + 1]; /* cumulative at export */
    double solve_seconds_sum;
    uint64_t solve_count;
    int lp_rows, lp_cols;
    char last_error[256];
} slate_ctl;

/* Upper bounds (seconds) of the solve-time histogram buckets. */
extern const double slate_ctl_solve_bounds[SLATE_CTL_SOLVE_BUCKETS];

/* ---- ctl.c ---- */
int slate_ctl_init(slate_ctl *c, slate_ctl_config *cfg_moved);
void slate_ctl_cleanup(slate_ctl *c);
/* Validates and installs a topology from JSON text (replaces profiles,
 * aggregator; requests a solve). Problems go to |d|. Takes |mu|. */
int slate_ctl_set_topology(slate_ctl *c, const char *text, size_t len, slate_diag *d);
/* Takes a reference to the current snapshot (NULL if none); release with
 * slate_ctl_release. */
slate_snapshot *slate_ctl_acquire(slate_ctl *c);
void slate_ctl_release(slate_ctl *c, slate_snapshot *s);
/* Installs |s| (one reference moved in) as the current version and wakes
 * every long-poll. Caller must NOT hold mu. */
void slate_ctl_publish(slate_ctl *c, slate_snapshot *s);
/* Monotonic ms. */
double slate_ctl_now_ms(void);
/* Unix time in ms. */
int64_t slate_ctl_wall_ms(void);

/* ---- loop.c ---- */
int slate_ctl_loop_start(slate_ctl *c);
void slate_ctl_loop_stop(slate_ctl *c);

/* ---- server.c ---- */
int slate_ctl_server_start(slate_ctl *c);
void slate_ctl_server_stop(slate_ctl *c);
/* Resumes waiters whose deadline passed (all of them when |all|). Caller holds mu. */
void slate_ctl_wake_waiters(slate_ctl *c, int all);

/* ---- store.c ---- */
/* Writes topology, profiles and the snapshot to the state dir atomically. */
int slate_ctl_store_save(slate_ctl *c, const slate_snapshot *s);
/* Loads the state dir if present (topology, profiles, last version and
 * table). A corrupt file is reported and its .prev copy used. */
int slate_ctl_store_load(slate_ctl *c);

#endif
