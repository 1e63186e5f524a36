/*
 * slate-bench-gen: prints one of SLATE's scalability topologies as topology
 * JSON (topology/topology.h). The shapes and the network, capacity and
 * demand rules are documented in bench_gen.c.
 *
 *   slate-bench-gen caterpillar --clusters C --classes K --depth D [--seed S]
 *   slate-bench-gen random --clusters C --classes K --services N [--nodes M] [--seed S]
 *   common options: [--pretty] [--out FILE] [--no-validate]
 *
 * The output is loaded back with slate_topology_load_json before it is
 * written (unless --no-validate), so a file this prints always loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_gen.h"
#include "common/diag.h"
#include "common/err.h"
#include "topology/topology.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: slate-bench-gen caterpillar --clusters C --classes K --depth D [--seed S]\n"
                "       slate-bench-gen random --clusters C --classes K --services N [--nodes M]"
                " [--seed S]\n"
                "options: --pretty (indented JSON), --out FILE (default stdout),\n"
                "         --no-validate (skip loading the result back)\n");
}

static int validate(const char *text, size_t len)
{
    slate_diag diag;
    slate_diag_init(&diag);
    slate_topology *t = NULL;
    int rv = slate_topology_load_json(text, len, &t, &diag);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-bench-gen: generated topology does not load: %s\n",
                slate_strerror(rv));
        slate_diag_print(&diag, stderr);
    }
    slate_topology_free(t);
    slate_diag_cleanup(&diag);
    return rv;
}

static int write_all(const char *path, const char *text, size_t len)
{
    FILE *fp = path != NULL ? fopen(path, "w") : stdout;
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    int bad = fwrite(text, 1, len, fp) != len || fputc('\n', fp) == EOF;
    if (path != NULL)
        bad |= fclose(fp) != 0;
    else
        bad |= fflush(fp) != 0;
    if (bad) {
        fprintf(stderr, "slate-bench-gen: cannot write %s\n", path != NULL ? path : "stdout");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    slate_bench_params p;
    slate_bench_params_init(&p);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (slate_bench_params_set_shape(&p, argv[1]) != 0) {
        fprintf(stderr, "slate-bench-gen: unknown shape \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
    }

    int pretty = 0, check = 1;
    const char *out_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = slate_bench_params_option(&p, argv[i], val);
        if (used < 0)
            return 2;
        if (used > 0) {
            i++;
        } else if (strcmp(argv[i], "--pretty") == 0) {
            pretty = 1;
        } else if (strcmp(argv[i], "--no-validate") == 0) {
            check = 0;
        } else if (strcmp(argv[i], "--out") == 0 && val != NULL) {
            out_path = val;
            i++;
        } else {
            fprintf(stderr, "slate-bench-gen: unknown option \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char why[160];
    if (slate_bench_params_check(&p, why, sizeof(why)) != 0) {
        fprintf(stderr, "slate-bench-gen: %s\n", why);
        return 2;
    }

    char *text = NULL;
    size_t len = 0;
    int rv = slate_bench_gen_json(&p, pretty, &text, &len);
    if (rv != SLATE_OK) {
        if (rv == SLATE_ERR_TOO_LARGE)
            fprintf(stderr,
                    "slate-bench-gen: the topology would exceed the loader's limit of %u bytes\n",
                    SLATE_TOPO_MAX_BYTES);
        else
            fprintf(stderr, "slate-bench-gen: %s\n", slate_strerror(rv));
        return 1;
    }
    int status = 0;
    if (check && validate(text, len) != SLATE_OK)
        status = 1;
    else if (write_all(out_path, text, len) != 0)
        status = 1;
    free(text);
    return status;
}
