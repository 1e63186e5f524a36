/*
 * slate-load: open-loop Poisson load against the ingress of each emulated
 * cluster (see testbed/load.h for what is measured and why open-loop).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/hostport.h"
#include "common/numarg.h"
#include "testbed/load.h"
#include "topology/topology.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: slate-load --topology FILE --target CLUSTER=HOST:PORT [--target ...]\n"
            "                  [--rate CLASS@CLUSTER=RPS ...] [--scale F] [--duration S]\n"
            "                  [--drain S] [--timeout S] [--seed N] [--max-conns N]\n"
            "                  [--csv FILE] [--json FILE] [--timeline FILE] [--progress]\n"
            "                  [--step AT_S=FACTOR[@CLUSTER] ...]\n"
            "Sends each class's request (method and path from its match rule, Host = its\n"
            "root service) to its ingress cluster's target as a Poisson process. Without\n"
            "--rate, the rates are the topology's demand (times --scale, default 1).\n"
            "Latency counts from the scheduled arrival time. Prints a table per stream.\n"
            "--step multiplies the rates (of one ingress cluster) from AT_S on.\n");
}

/* "CLUSTER=HOST:PORT" */
static int parse_target(const slate_topology *t, const char *arg, slate_load_target *out)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) > SLATE_TOPO_MAX_NAME)
        return -1;
    char cluster[SLATE_TOPO_MAX_NAME + 1];
    memcpy(cluster, arg, (size_t)(eq - arg));
    cluster[eq - arg] = '\0';
    memset(out, 0, sizeof(*out));
    out->cluster = slate_topology_find_cluster(t, cluster);
    if (out->cluster < 0 || slate_hostport_parse(eq + 1, out->host, sizeof(out->host), &out->port) != 0 ||
        out->port == 0)
        return -1;
    return 0;
}

/* "CLASS@CLUSTER=RPS" */
static int parse_rate(const slate_topology *t, const char *arg, int *klass, int *cluster,
                      double *rps)
{
    const char *at = strchr(arg, '@');
    const char *eq = at ? strchr(at, '=') : NULL;
    if (!at || !eq)
        return -1;
    char a[SLATE_TOPO_MAX_NAME + 1], b[SLATE_TOPO_MAX_NAME + 1];
    size_t na = (size_t)(at - arg), nb = (size_t)(eq - at - 1);
    if (na == 0 || na > SLATE_TOPO_MAX_NAME || nb == 0 || nb > SLATE_TOPO_MAX_NAME)
        return -1;
    memcpy(a, arg, na);
    a[na] = '\0';
    memcpy(b, at + 1, nb);
    b[nb] = '\0';
    *klass = slate_topology_find_class(t, a);
    *cluster = slate_topology_find_cluster(t, b);
    if (*klass < 0 || *cluster < 0 || slate_numarg_double(eq + 1, 0.001, 1e6, rps) != 0)
        return -1;
    return 0;
}

static int write_file(const char *path, void (*fn)(const slate_load *, FILE *), const slate_load *l)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "slate-load: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fn(l, fp);
    if (fclose(fp) != 0) {
        fprintf(stderr, "slate-load: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *topo_path = NULL, *csv = NULL, *json = NULL, *timeline = NULL;
    slate_load_opts opts;
    slate_load_opts_init(&opts);
    opts.progress = isatty(STDERR_FILENO);
    double scale = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        double v;
        uint64_t u;
        int n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--topology") == 0 && has) {
            topo_path = argv[++i];
        } else if ((strcmp(a, "--target") == 0 || strcmp(a, "--rate") == 0 ||
                    strcmp(a, "--step") == 0) && has) {
            i++; /* read after the topology is loaded */
        } else if (strcmp(a, "--scale") == 0 && has &&
                   slate_numarg_double(argv[i + 1], 0, 1e6, &v) == 0) {
            scale = v;
            i++;
        } else if (strcmp(a, "--duration") == 0 && has &&
                   slate_numarg_double(argv[i + 1], 0.001, SLATE_LOAD_MAX_SECONDS, &v) == 0) {
            opts.duration_s = v;
            i++;
        } else if (strcmp(a, "--drain") == 0 && has &&
                   slate_numarg_double(argv[i + 1], 0, 3600, &v) == 0) {
            opts.drain_s = v;
            i++;
        } else if (strcmp(a, "--timeout") == 0 && has &&
                   slate_numarg_double(argv[i + 1], 0.001, 3600, &v) == 0) {
            opts.timeout_s = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && has &&
                   slate_numarg_uint(argv[i + 1], UINT64_MAX, &u) == 0) {
            opts.seed = u;
            i++;
        } else if (strcmp(a, "--max-conns") == 0 && has &&
                   slate_numarg_int(argv[i + 1], 1, 65536, &n) == 0) {
            opts.max_conns = (size_t)n;
            i++;
        } else if (strcmp(a, "--csv") == 0 && has) {
            csv = argv[++i];
        } else if (strcmp(a, "--json") == 0 && has) {
            json = argv[++i];
        } else if (strcmp(a, "--timeline") == 0 && has) {
            timeline = argv[++i];
        } else if (strcmp(a, "--progress") == 0) {
            opts.progress = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            opts.progress = 0;
        } else {
            fprintf(stderr, "slate-load: bad or incomplete option \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!topo_path) {
        usage(stderr);
        return 2;
    }
    slate_topology *t = slate_topology_load_or_report("slate-load", topo_path);
    if (t == NULL)
        return 1;
    int rv;

    int status = 1;
    slate_load *l = NULL;
    slate_load_target targets[SLATE_TOPO_MAX_CLUSTERS];
    size_t n_targets = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--target") != 0)
            continue;
        if (n_targets == SLATE_TOPO_MAX_CLUSTERS ||
            parse_target(t, argv[i + 1], &targets[n_targets]) != 0) {
            fprintf(stderr, "slate-load: bad --target \"%s\" (want CLUSTER=HOST:PORT)\n", argv[i + 1]);
            goto out;
        }
        n_targets++;
        i++;
    }
    rv = slate_load_new(t, targets, n_targets, &opts, &l);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-load: %s\n", slate_strerror(rv));
        goto out;
    }
    int explicit_rates = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--rate") != 0)
            continue;
        int k, c;
        double rps;
        if (parse_rate(t, argv[i + 1], &k, &c, &rps) != 0) {
            fprintf(stderr, "slate-load: bad --rate \"%s\" (want CLASS@CLUSTER=RPS)\n", argv[i + 1]);
            goto out;
        }
        if ((rv = slate_load_add_stream(l, k, c, rps * scale)) != SLATE_OK) {
            fprintf(stderr, "slate-load: --rate %s: %s\n", argv[i + 1],
                    rv == SLATE_ERR_NOT_FOUND ? "no --target for that cluster" : slate_strerror(rv));
            goto out;
        }
        explicit_rates = 1;
        i++;
    }
    if (!explicit_rates) {
        for (size_t i = 0; i < t->n_demand; i++) {
            double rps = t->demand[i].rps * scale;
            if (!(rps > 0))
                continue;
            rv = slate_load_add_stream(l, t->demand[i].klass, t->demand[i].cluster, rps);
            if (rv != SLATE_OK) {
                fprintf(stderr, "slate-load: demand of %s at %s: %s\n",
                        t->classes[t->demand[i].klass].name, t->clusters[t->demand[i].cluster],
                        rv == SLATE_ERR_NOT_FOUND ? "no --target for that cluster" : slate_strerror(rv));
                goto out;
            }
        }
    }
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--step") != 0)
            continue;
        /* AT_S=FACTOR[@CLUSTER] */
        char spec[SLATE_TOPO_MAX_NAME + 64];
        snprintf(spec, sizeof(spec), "%s", argv[i + 1]);
        char *eq = strchr(spec, '='), *at = strchr(spec, '@');
        double at_s, factor;
        int cluster = -1;
        if (at) {
            *at = '\0';
            cluster = slate_topology_find_cluster(t, at + 1);
        }
        if (!eq || (at && cluster < 0)) {
            fprintf(stderr, "slate-load: bad --step \"%s\" (want AT_S=FACTOR[@CLUSTER])\n", argv[i + 1]);
            goto out;
        }
        *eq = '\0';
        if (slate_numarg_double(spec, 0, SLATE_LOAD_MAX_SECONDS, &at_s) != 0 ||
            slate_numarg_double(eq + 1, 1e-3, 1e3, &factor) != 0 ||
            slate_load_add_step(l, at_s, cluster, factor) != SLATE_OK) {
            fprintf(stderr, "slate-load: bad --step \"%s\"\n", argv[i + 1]);
            goto out;
        }
        i++;
    }
    if (slate_load_n_streams(l) == 0) {
        fprintf(stderr, "slate-load: nothing to send (no --rate and no demand in the topology)\n");
        goto out;
    }
    if ((rv = slate_load_run(l)) != SLATE_OK) {
        fprintf(stderr, "slate-load: %s\n", slate_strerror(rv));
        goto out;
    }
    slate_load_print_table(l, stdout);
    if (csv && write_file(csv, slate_load_write_csv, l) != 0)
        goto out;
    if (timeline && write_file(timeline, slate_load_write_timeline, l) != 0)
        goto out;
    if (json) {
        char *text = NULL;
        FILE *fp = NULL;
        int ok = slate_load_to_json(l, &text) == SLATE_OK && (fp = fopen(json, "w")) != NULL;
        ok = ok && fputs(text, fp) >= 0;
        if (fp && fclose(fp) != 0)
            ok = 0;
        free(text);
        if (!ok) {
            fprintf(stderr, "slate-load: cannot write %s\n", json);
            goto out;
        }
    }
    status = 0;
out:
    slate_load_free(l);
    slate_topology_free(t);
    return status;
}
