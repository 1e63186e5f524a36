/*
 * Generators of the synthetic topologies used in SLATE's scalability
 * experiments, shared by slate-bench-gen (which prints them) and
 * slate-bench-solver (which solves them). The shapes, the network, the
 * capacity and the demand rules are documented at the top of bench_gen.c.
 *
 * Output is deterministic for a given slate_bench_params (including the
 * seed): the generator uses its own PRNG, never rand().
 */
#ifndef SLATE_BENCH_BENCH_GEN_H
#define SLATE_BENCH_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef enum slate_bench_shape {
    SLATE_BENCH_CATERPILLAR = 0, /* every class is the same caterpillar call tree */
    SLATE_BENCH_RANDOM = 1       /* every class is its own random call tree */
} slate_bench_shape;

#define SLATE_BENCH_DEFAULT_NODES    12 /* random: call-tree nodes per class */
#define SLATE_BENCH_RANDOM_MAX_DEPTH 4

typedef struct slate_bench_params {
    slate_bench_shape shape;
    int clusters;  /* 1..SLATE_TOPO_MAX_CLUSTERS */
    int classes;   /* 1..SLATE_TOPO_MAX_CLASSES; classes * clusters <= SLATE_TOPO_MAX_DEMAND */
    int depth;     /* caterpillar: depth of the leaves (root = 0), 1..SLATE_TOPO_MAX_DEPTH */
    int services;  /* random: number of services, 1..SLATE_TOPO_MAX_SERVICES */
    int nodes;     /* random: nodes per class tree, 1..SLATE_TOPO_MAX_NODES */
    uint64_t seed; /* any value; default 1 */
} slate_bench_params;

/* Fills |p| with the defaults: caterpillar, 0 clusters/classes/depth/services
 * (which the caller must set), nodes = SLATE_BENCH_DEFAULT_NODES, seed = 1. */
void slate_bench_params_init(slate_bench_params *p);

/*
 * Parses the shape word "caterpillar" or "random" into |p|. Returns 0, or -1
 * for any other word.
 */
int slate_bench_params_set_shape(slate_bench_params *p, const char *word);

/*
 * Applies one command-line option |opt| ("--clusters", "--classes",
 * "--depth", "--services", "--nodes", "--seed") with value |val| (borrowed;
 * may be NULL when the option was last on the line). Returns 1 when |opt|
 * was consumed, 0 when it is not a generator option (the caller may know
 * it), -1 when the value is missing or not a valid integer (a message is
 * printed to stderr).
 */
int slate_bench_params_option(slate_bench_params *p, const char *opt, const char *val);

/*
 * Checks |p| against the shape's needs and the topology limits. On failure
 * writes a one-line reason into |why| (|why_len| bytes, may be 0) and returns
 * -1; returns 0 when |p| can be generated.
 */
int slate_bench_params_check(const slate_bench_params *p, char *why, size_t why_len);

/* Writes a short label for |p| ("caterpillar C=10 K=10 D=6 seed=1") into
 * |buf| (|len| bytes, always NUL-terminated when len > 0). */
void slate_bench_params_label(const slate_bench_params *p, char *buf, size_t len);

/* Number of call-tree nodes of one class of a caterpillar of |depth|: 3 * depth + 1. */
int slate_bench_caterpillar_nodes(int depth);

/*
 * Generates the topology JSON for |p| (borrowed; must pass
 * slate_bench_params_check). Returns owned NUL-terminated text in |*out|
 * (free with free()) and its length in |*out_len| (may be NULL), compact or
 * indented by |pretty|. Returns SLATE_OK, SLATE_ERR_INVALID_ARG (|p| fails
 * the check), SLATE_ERR_TOO_LARGE (the text would exceed
 * SLATE_TOPO_MAX_BYTES, so no loader would accept it) or SLATE_ERR_NOMEM;
 * |*out| and |*out_len| are untouched on failure.
 */
int slate_bench_gen_json(const slate_bench_params *p, int pretty, char **out, size_t *out_len);

#endif
