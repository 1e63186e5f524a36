/*
 * Declarations shared by the topology module's source files only: the bounds
 * on numbers the JSON format leaves open, the sorted name index used while
 * loading, and the whole-topology validation pass.
 */
#ifndef SLATE_TOPOLOGY_TOPOLOGY_INT_H
#define SLATE_TOPOLOGY_TOPOLOGY_INT_H

#include <stddef.h>

#include "common/diag.h"
#include "topology/topology.h"

/*
 * Upper bounds for numbers the header documents only as "> 0" or ">= 0".
 * They are far beyond any real value and exist so a hostile file cannot put
 * 1e300 into the LP's coefficients.
 */
#define TOPO_MAX_SERVICE_TIME_MS 1e6 /* ms per work unit */
#define TOPO_MAX_WORK            1e6 /* relative work of one call */
#define TOPO_MAX_COUNT           1e6 /* calls per parent request */
#define TOPO_MAX_EGRESS          1e6 /* USD per GB */

/* Relative tolerance of the RTT matrix's symmetry check. */
#define TOPO_RTT_SYMMETRY_TOL 1e-9

/*
 * A sorted view of a name array for O(log n) lookups while loading, where a
 * hostile document may hold thousands of names and hundreds of thousands of
 * references. Borrows the names (they must outlive the index); NULL names
 * (entries that failed to parse) are left out.
 */
typedef struct topo_name_index {
    const char **names; /* owned array of borrowed strings, sorted */
    int *idx;           /* owned; idx[i] is the position of names[i] in the source array */
    size_t n;
} topo_name_index;

/* Builds |ix| over |names[0..n)| (borrowed). Returns SLATE_OK or SLATE_ERR_NOMEM. */
int topo_name_index_build(topo_name_index *ix, char *const *names, size_t n);
/* Returns the lowest source position holding |name|, or -1. */
int topo_name_index_find(const topo_name_index *ix, const char *name);
void topo_name_index_cleanup(topo_name_index *ix);

/*
 * Checks the whole-topology rules that need every section loaded: duplicate
 * names, duplicate deployments, services without deployment, duplicate
 * demand. (The network matrices are checked while they are read, where their
 * shape is known.) Entries with unresolved references (index -1,
 * NULL name) are skipped: the loader has already reported them. Records each
 * problem in |d| (may be NULL) with its JSON path and returns how many were
 * found, or SLATE_ERR_NOMEM (negative) if scratch memory ran out.
 */
long topo_validate(const slate_topology *t, slate_diag *d);

#endif
