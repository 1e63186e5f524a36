/*
 * libFuzzer harness for the sidecar's routing-table parser
 * (sidecar/route_table.h): any controller answer must parse or fail with a
 * diagnostic, and a parsed table must only ever pick a cluster where the
 * destination is deployed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "sidecar/route_table.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOPO[] =
    "{\"clusters\": [\"west\", \"east\", \"south\"],"
    " \"network\": {\"rtt_ms\": [[0.2, 20, 30], [20, 0.2, 10], [30, 10, 0.2]]},"
    " \"services\": ["
    "  {\"name\": \"front\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100}]},"
    "  {\"name\": \"back\", \"deployments\": [{\"cluster\": \"west\", \"capacity_rps\": 100},"
    "                                     {\"cluster\": \"east\", \"capacity_rps\": 100}]}],"
    " \"classes\": [{\"name\": \"req\", \"calls\": {\"service\": \"front\","
    "   \"children\": [{\"service\": \"back\"}]}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static slate_topology *t;
    if (!t && slate_topology_load_json(TOPO, strlen(TOPO), &t, NULL) != SLATE_OK)
        abort();
    slate_diag d;
    slate_diag_init(&d);
    slate_sc_table *rt = NULL;
    int rv = slate_sc_table_parse(t, 0, 0, (const char *)data, size, &rt, &d);
    if (rv != SLATE_OK) {
        if (rt || slate_diag_count(&d) == 0)
            abort();
    } else {
        for (int i = 0; i <= 16; i++) {
            int b = slate_sc_pick_cluster(rt, t, 0, 0, 1, i / 16.0 * 0.999999);
            if (b < 0 || !slate_topology_deployment(t, 1, b))
                abort();
        }
        const char *const *eps = NULL;
        size_t n = slate_sc_endpoints(rt, t, 1, 1, &eps);
        for (size_t i = 0; i < n; i++)
            if (!eps[i] || !strchr(eps[i], ':'))
                abort();
    }
    slate_sc_table_free(rt);
    slate_diag_cleanup(&d);
    return 0;
}
