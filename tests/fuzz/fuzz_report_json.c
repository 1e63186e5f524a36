/*
 * libFuzzer harness for the sidecar report parser (common/report.h): any
 * input must parse or fail cleanly with a diagnostic, and whatever parses
 * must serialise and parse again to the same counts and histograms. A broken
 * contract aborts, which the fuzzer (or the replay main under ctest) reports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_report *r = NULL;
    int rv = slate_report_parse((const char *)data, size, &r, &d);
    if (rv != SLATE_OK) {
        if (r || slate_diag_count(&d) == 0)
            abort(); /* failure must leave nothing behind and say why */
        slate_diag_cleanup(&d);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    slate_report *back = NULL;
    if (slate_report_to_json(r, &text, &len) != SLATE_OK ||
        slate_report_parse(text, len, &back, NULL) != SLATE_OK)
        abort();
    if (back->n_inbound != r->n_inbound || back->n_outbound != r->n_outbound)
        abort();
    for (size_t i = 0; i < r->n_inbound; i++)
        if (back->inbound[i].count != r->inbound[i].count ||
            !slate_hist_equal(&back->inbound[i].latency, &r->inbound[i].latency))
            abort();
    for (size_t i = 0; i < r->n_outbound; i++)
        if (back->outbound[i].count != r->outbound[i].count ||
            !slate_hist_equal(&back->outbound[i].latency, &r->outbound[i].latency))
            abort();
    free(text);
    slate_report_free(back);
    slate_report_free(r);
    slate_diag_cleanup(&d);
    return 0;
}
