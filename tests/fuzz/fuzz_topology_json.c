/*
 * libFuzzer harness for the topology loader: any input must load or fail
 * cleanly (with at least one diagnostic), and anything that loads must save
 * and load again to an equal topology. A broken contract aborts, which the
 * fuzzer (or the replay main under ctest) reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_topology *t = NULL;
    int rv = slate_topology_load_json((const char *)data, size, &t, &d);
    if (rv != SLATE_OK) {
        /* Failure leaves the out-parameter alone and always says why
         * (out of memory excepted: recording the reason may fail too). */
        if (t != NULL || (rv != SLATE_ERR_NOMEM && slate_diag_count(&d) == 0))
            abort();
        slate_diag_cleanup(&d);
        return 0;
    }
    char *text = NULL;
    for (int pretty = 0; pretty <= 1; pretty++) {
        if (slate_topology_to_json(t, pretty, &text) != SLATE_OK)
            abort();
        slate_topology *again = NULL;
        slate_diag_clear(&d);
        if (slate_topology_load_json(text, strlen(text), &again, &d) != SLATE_OK ||
            !slate_topology_equal(t, again))
            abort();
        slate_topology *copy = NULL;
        if (slate_topology_clone(again, &copy) != SLATE_OK || !slate_topology_equal(t, copy))
            abort();
        slate_topology_free(copy);
        slate_topology_free(again);
        free(text);
        text = NULL;
    }
    slate_topology_free(t);
    slate_diag_cleanup(&d);
    return 0;
}
