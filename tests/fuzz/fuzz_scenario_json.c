/*
 * libFuzzer harness for the scenario loader (sim/scenario.h): any input must
 * load or fail cleanly, with at least one diagnostic and nothing returned.
 * Referenced files resolve against the repository's examples/ folder, so
 * the corpus can name the example topologies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/diag.h"
#include "common/err.h"
#include "sim/scenario.h"

#ifndef SLATE_SOURCE_DIR
#define SLATE_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_scenario *s = NULL;
    int rv = slate_scenario_load_json((const char *)data, size, SLATE_SOURCE_DIR "/examples", &s,
                                      &d);
    if (rv != SLATE_OK && (s || slate_diag_count(&d) == 0))
        abort(); /* a failure leaves nothing behind and says why */
    if (rv == SLATE_OK && !s)
        abort();
    slate_scenario_free(s);
    slate_diag_cleanup(&d);
    return 0;
}
