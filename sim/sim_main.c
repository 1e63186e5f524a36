/*
 * slate-sim: compares routing policies on a scenario (see sim/runner.h).
 *
 *   slate-sim SCENARIO.json [--policies local,waterfall,slate,...|all]
 *             [--mode analytic|des|closed|both|all, or a comma list]
 *             [--csv FILE] [--json FILE] [--plot DIR] [--seed N] [--max-requests N]
 *             [--waterfall-fill F] [--period S] [--damping X] [--publish-threshold X]
 *             [--min-gain G] [--no-learn]
 *
 * Exit status: 0 on success, 1 on a bad scenario or a failed run, 2 on bad
 * usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/numarg.h"
#include "sim/plot.h"
#include "sim/runner.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: slate-sim SCENARIO.json [--policies P1,P2,...|all] "
                "[--mode analytic|des|closed|both|all]\n"
                "                 [--csv FILE] [--json FILE] [--plot DIR] [--seed N] [--max-requests N]\n"
                "                 [--waterfall-fill F] [--period S] [--damping X]\n"
                "                 [--publish-threshold X] [--min-gain G] [--no-learn]\n"
                "--mode: analytic (fluid), des (discrete-event, the table recomputed with exact\n"
                "knowledge at every change), closed (discrete-event whose telemetry drives the\n"
                "controller's loop every --period S simulated seconds, default 5: learning,\n"
                "warm re-solve, damping by --damping X, default 0.5; --no-learn keeps the prior\n"
                "profiles; slate publishes only tables predicted to cost --min-gain G less,\n"
                "default 0.02); a comma list runs several; both = analytic,des; all = every mode\n"
                "--plot DIR writes SVG plots (latency CDF, latency and egress over time) of the\n"
                "discrete-event runs with gnuplot; --waterfall-fill F (0 < F <= 1) makes\n"
                "waterfall fill each cluster only to F of its capacity before spilling\n"
                "policies:");
    for (int i = 0; i < SLATE_POLICY_COUNT; i++)
        fprintf(fp, " %s", slate_policy_name((slate_policy_kind)i));
    fprintf(fp, "\n");
}

/* Parses a comma-separated list into |out| (at most SLATE_POLICY_COUNT, no
 * repeats); "all" selects every policy. Returns the count, or -1. */
static int parse_policies(const char *list, slate_policy_kind *out)
{
    if (strcmp(list, "all") == 0) {
        for (int i = 0; i < SLATE_POLICY_COUNT; i++)
            out[i] = (slate_policy_kind)i;
        return SLATE_POLICY_COUNT;
    }
    int n = 0;
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof(name)) {
            fprintf(stderr, "slate-sim: bad policy list \"%s\"\n", list);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        slate_policy_kind k;
        if (slate_policy_parse(name, &k) != SLATE_OK) {
            fprintf(stderr, "slate-sim: unknown policy \"%s\"\n", name);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= out[i] == k;
        if (!dup && n < SLATE_POLICY_COUNT)
            out[n++] = k;
        p += len + (comma ? 1 : 0);
    }
    return n;
}

/* "analytic", "des", "closed", "both" (analytic and des), "all", or a comma
 * list of the first three. Returns 0, or -1. */
static int parse_modes(const char *list, int *out)
{
    if (strcmp(list, "both") == 0) {
        *out = SLATE_SIM_ANALYTIC | SLATE_SIM_DES;
        return 0;
    }
    if (strcmp(list, "all") == 0) {
        *out = SLATE_SIM_ANALYTIC | SLATE_SIM_DES | SLATE_SIM_CLOSED;
        return 0;
    }
    int modes = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 8 && strncmp(p, "analytic", len) == 0)
            modes |= SLATE_SIM_ANALYTIC;
        else if (len == 3 && strncmp(p, "des", len) == 0)
            modes |= SLATE_SIM_DES;
        else if (len == 6 && strncmp(p, "closed", len) == 0)
            modes |= SLATE_SIM_CLOSED;
        else
            return -1;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *out = modes;
    return 0;
}

int main(int argc, char **argv)
{
    const char *scenario_path = NULL, *policy_list = NULL, *csv_path = NULL, *json_path = NULL,
               *plot_dir = NULL;
    double waterfall_fill = 0; /* 0: the scenario's (default 1) */
    slate_sim_opts opts;
    slate_sim_opts_init(&opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--no-learn") == 0) {
            opts.loop_learn = 0;
            continue;
        } else if (a[0] != '-') {
            if (scenario_path != NULL) {
                usage(stderr);
                return 2;
            }
            scenario_path = a;
            continue;
        } else if (val == NULL) {
            fprintf(stderr, "slate-sim: %s needs a value\n", a);
            return 2;
        } else if (strcmp(a, "--policies") == 0 || strcmp(a, "--policy") == 0) {
            policy_list = val;
        } else if (strcmp(a, "--mode") == 0) {
            if (parse_modes(val, &opts.modes) != 0) {
                fprintf(stderr, "slate-sim: --mode is analytic, des, closed, both, all or a "
                                "comma list of them\n");
                return 2;
            }
        } else if (strcmp(a, "--period") == 0 || strcmp(a, "--damping") == 0 ||
                   strcmp(a, "--publish-threshold") == 0 || strcmp(a, "--min-gain") == 0) {
            double x = 0;
            int period = strcmp(a, "--period") == 0, damping = strcmp(a, "--damping") == 0;
            int ok = slate_numarg_double(val, period ? 0.01 : 0, period ? 3600 : 1, &x) == 0 &&
                     (!damping || x > 0);
            if (!ok) {
                fprintf(stderr, "slate-sim: %s needs a number in %s\n", a,
                        period ? "[0.01, 3600] (s)" : damping ? "(0, 1]" : "[0, 1]");
                return 2;
            }
            if (period)
                opts.loop_period_s = x;
            else if (damping)
                opts.loop_damping_step = x;
            else if (strcmp(a, "--min-gain") == 0)
                opts.loop_min_gain = x;
            else
                opts.loop_publish_threshold = x;
        } else if (strcmp(a, "--csv") == 0) {
            csv_path = val;
        } else if (strcmp(a, "--json") == 0) {
            json_path = val;
        } else if (strcmp(a, "--plot") == 0) {
            plot_dir = val;
        } else if (strcmp(a, "--waterfall-fill") == 0) {
            if (slate_numarg_double(val, 0, 1, &waterfall_fill) != 0 || !(waterfall_fill > 0)) {
                fprintf(stderr, "slate-sim: --waterfall-fill needs a number in (0, 1]\n");
                return 2;
            }
        } else if (strcmp(a, "--seed") == 0) {
            if (slate_numarg_uint(val, UINT64_MAX, &opts.seed) != 0) {
                fprintf(stderr, "slate-sim: --seed needs a non-negative integer\n");
                return 2;
            }
            opts.has_seed = 1;
        } else if (strcmp(a, "--max-requests") == 0) {
            if (slate_numarg_uint(val, UINT64_MAX, &opts.max_requests) != 0 ||
                opts.max_requests == 0) {
                fprintf(stderr, "slate-sim: --max-requests needs a positive integer\n");
                return 2;
            }
        } else {
            fprintf(stderr, "slate-sim: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (scenario_path == NULL) {
        usage(stderr);
        return 2;
    }
    slate_policy_kind policies[SLATE_POLICY_COUNT];
    int n_policies;
    if (policy_list != NULL) {
        n_policies = parse_policies(policy_list, policies);
        if (n_policies <= 0)
            return 2;
    } else {
        /* Every policy; p2c-ewma only where it exists (DES). */
        n_policies = 0;
        for (int i = 0; i < SLATE_POLICY_COUNT; i++)
            if (slate_policy_has_table((slate_policy_kind)i) || (opts.modes & SLATE_SIM_DES))
                policies[n_policies++] = (slate_policy_kind)i;
    }

    int status = 1;
    slate_diag diag;
    slate_diag_init(&diag);
    slate_scenario *sc = NULL;
    slate_sim_report *rep = NULL;
    int rv = slate_scenario_load_file(scenario_path, &sc, &diag);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-sim: %s: %s\n", scenario_path, slate_strerror(rv));
        slate_diag_print(&diag, stderr);
        goto out;
    }
    slate_diag_clear(&diag);
    if (waterfall_fill > 0)
        sc->policy_opts.waterfall_fill = waterfall_fill;
    rv = slate_sim_run(sc, policies, (size_t)n_policies, &opts, &rep, &diag);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-sim: run failed: %s\n", slate_strerror(rv));
        goto out;
    }
    printf("scenario %s: topology \"%s\", %g s (warm-up %g s)\n", scenario_path, sc->topology->name,
           sc->duration_s, sc->warmup_s);
    slate_sim_report_print(rep, stdout);
    if (csv_path != NULL) {
        FILE *fp = fopen(csv_path, "w");
        if (fp == NULL || slate_sim_report_write_csv(rep, fp) != SLATE_OK) {
            fprintf(stderr, "slate-sim: cannot write %s: %s\n", csv_path, strerror(errno));
            if (fp != NULL)
                fclose(fp);
            goto out;
        }
        if (fclose(fp) != 0) {
            fprintf(stderr, "slate-sim: cannot write %s: %s\n", csv_path, strerror(errno));
            goto out;
        }
    }
    if (json_path != NULL) {
        char *text = NULL;
        if (slate_sim_report_to_json(rep, &text) != SLATE_OK) {
            fprintf(stderr, "slate-sim: out of memory\n");
            goto out;
        }
        FILE *fp = fopen(json_path, "w");
        int ok = fp != NULL && fputs(text, fp) >= 0 && fputc('\n', fp) != EOF;
        if (fp != NULL && fclose(fp) != 0)
            ok = 0;
        free(text);
        if (!ok) {
            fprintf(stderr, "slate-sim: cannot write %s: %s\n", json_path, strerror(errno));
            goto out;
        }
    }
    if (plot_dir != NULL) {
        char err[512];
        if (slate_sim_plot(rep, plot_dir, err, sizeof(err)) != SLATE_OK) {
            fprintf(stderr, "slate-sim: --plot: %s\n", err);
            goto out;
        }
        printf("plots: %s/latency-cdf.svg, %s/timeline.svg\n", plot_dir, plot_dir);
    }
    status = 0;
    /* A row that failed makes the run fail too, after the table is out. */
    for (size_t i = 0; i < rep->n_rows; i++)
        if (rep->rows[i].status != SLATE_OK && !(rep->rows[i].mode != SLATE_SIM_DES &&
                                                 !slate_policy_has_table(rep->rows[i].policy)))
            status = 1;
out:
    slate_sim_report_free(rep);
    slate_scenario_free(sc);
    slate_diag_cleanup(&diag);
    return status;
}
