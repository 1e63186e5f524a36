/*
 * slate-solve: solves one topology's LP and prints the predictions and the
 * routing table. Thin by design: options in, library calls, output.
 *
 * Exit status: 0 solved, 1 bad input (usage, topology, profiles, demand),
 * 2 the solve failed (limit, infeasible, solver error).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/json.h"
#include "common/numarg.h"
#include "controller/optimizer.h"
#include "controller/routes.h"
#include "controller/solution_json.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

/* examples/hotel-reservation.json, embedded by the build (CMakeLists.txt). */
extern const unsigned char slate_default_topology[];
extern const size_t slate_default_topology_len;

#define EXIT_BAD_INPUT    1
#define EXIT_SOLVE_FAILED 2
#define MAX_DEMAND_ARGS   1024

static const char usage[] =
    "usage: slate-solve [options] [TOPOLOGY.json]\n"
    "\n"
    "Solves slate's routing LP for a topology (default: the embedded\n"
    "examples/hotel-reservation.json) and prints the predicted latency per class\n"
    "and ingress cluster, egress cost, utilization, and the routing table.\n"
    "\n"
    "  --profiles FILE        latency profiles ({\"profiles\": [...]}); default: the\n"
    "                         M/M/1 profile of every deployment's capacity\n"
    "  --demand C@CL=RPS      set class C's demand entering at cluster CL (repeatable)\n"
    "  --usd-per-ms X         price egress against latency: USD one ms is worth\n"
    "                         (default 1e-7; 0 ignores egress)\n"
    "  --egress-budget USD    bound egress instead, in USD per hour\n"
    "  --u-max X              capacity fraction the PWL covers, (0, 1) (default 0.95)\n"
    "  --segments N           PWL pieces per profile, 1..64 (default 12)\n"
    "  --method M             auto, simplex or interior (default auto)\n"
    "  --critical-path        weight parallel branches by their critical-path share\n"
    "  --json                 print one JSON document instead of tables\n"
    "  --all                  list every routing rule, not only the interesting ones\n"
    "  --help                 this text\n"
    "\n"
    "Exit status: 0 solved, 1 bad input, 2 the solve failed.\n";

typedef struct cli {
    const char *topology_path; /* NULL: the embedded default */
    const char *profiles_path;
    const char *demand[MAX_DEMAND_ARGS];
    int n_demand;
    int json, all;
    slate_optimizer_opts opts;
} cli;

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "slate-solve: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see slate-solve --help)\n");
    return EXIT_BAD_INPUT;
}

/* Returns -1 to continue, else the exit status. */
static int parse_args(int argc, char **argv, cli *c)
{
    int have_price = 0, have_budget = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--all") == 0) {
            c->all = 1;
        } else if (strcmp(a, "--critical-path") == 0) {
            c->opts.critical_path = 1;
        } else if (a[0] == '-' && a[1] == '-' && val == NULL) {
            return bad_usage("%s needs a value", a);
        } else if (strcmp(a, "--profiles") == 0) {
            c->profiles_path = argv[++i];
        } else if (strcmp(a, "--demand") == 0) {
            if (c->n_demand == MAX_DEMAND_ARGS)
                return bad_usage("too many --demand options (limit %s)", "1024");
            c->demand[c->n_demand++] = argv[++i];
        } else if (strcmp(a, "--usd-per-ms") == 0) {
            if (slate_numarg_double(val, 0, 1e6, &d) != 0)
                return bad_usage("--usd-per-ms: not a number in [0, 1e6]: %s", val);
            c->opts.cost_mode = SLATE_COST_PRICE;
            c->opts.usd_per_ms = d;
            have_price = 1;
            i++;
        } else if (strcmp(a, "--egress-budget") == 0) {
            if (slate_numarg_double(val, 0, 1e12, &d) != 0)
                return bad_usage("--egress-budget: not a number in [0, 1e12]: %s", val);
            c->opts.cost_mode = SLATE_COST_BUDGET;
            c->opts.egress_budget_usd_per_hour = d;
            have_budget = 1;
            i++;
        } else if (strcmp(a, "--u-max") == 0) {
            if (slate_numarg_double(val, 1e-6, 1 - 1e-9, &d) != 0)
                return bad_usage("--u-max: not a number in (0, 1): %s", val);
            c->opts.u_max = d;
            i++;
        } else if (strcmp(a, "--segments") == 0) {
            if (slate_numarg_int(val, 1, SLATE_PWL_MAX_SEGMENTS, &c->opts.pwl_segments) != 0)
                return bad_usage("--segments: not an integer in [1, 64]: %s", val);
            i++;
        } else if (strcmp(a, "--method") == 0) {
            if (strcmp(val, "auto") == 0)
                c->opts.method = SLATE_LP_AUTO;
            else if (strcmp(val, "simplex") == 0)
                c->opts.method = SLATE_LP_SIMPLEX;
            else if (strcmp(val, "interior") == 0)
                c->opts.method = SLATE_LP_INTERIOR;
            else
                return bad_usage("--method: expected auto, simplex or interior, got %s", val);
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            return bad_usage("unknown option %s", a);
        } else if (c->topology_path != NULL) {
            return bad_usage("more than one topology file (%s)", a);
        } else {
            c->topology_path = a;
        }
    }
    if (have_price && have_budget)
        return bad_usage("%s", "--usd-per-ms and --egress-budget exclude each other");
    return -1;
}

static void print_diag(const char *source, const char *what, int code, const slate_diag *d)
{
    fprintf(stderr, "slate-solve: %s: %s (%s)\n", source, what, slate_strerror(code));
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "  %s: %s%s%s\n", source, d->entries[i].path,
                d->entries[i].path[0] ? ": " : "", d->entries[i].msg);
    if (d->dropped > 0)
        fprintf(stderr, "  %s: ... and %zu more\n", source, d->dropped);
}

/* Applies "CLASS@CLUSTER=RPS". */
static int apply_demand(slate_topology *t, const char *spec)
{
    char buf[2 * SLATE_TOPO_MAX_NAME + 64];
    if (strlen(spec) >= sizeof(buf)) {
        fprintf(stderr, "slate-solve: --demand %.40s...: too long\n", spec);
        return -1;
    }
    strcpy(buf, spec);
    char *at = strchr(buf, '@');
    char *eq = at != NULL ? strchr(at, '=') : NULL;
    if (at == NULL || eq == NULL) {
        fprintf(stderr, "slate-solve: --demand %s: expected CLASS@CLUSTER=RPS\n", spec);
        return -1;
    }
    *at = '\0';
    *eq = '\0';
    int k = slate_topology_find_class(t, buf);
    int a = slate_topology_find_cluster(t, at + 1);
    double rps;
    if (k < 0 || a < 0) {
        fprintf(stderr, "slate-solve: --demand %s: unknown %s \"%s\"\n", spec,
                k < 0 ? "class" : "cluster", k < 0 ? buf : at + 1);
        return -1;
    }
    if (slate_numarg_double(eq + 1, 0, SLATE_TOPO_MAX_RPS, &rps) != 0 ||
        slate_topology_set_demand(t, k, a, rps) != SLATE_OK) {
        fprintf(stderr, "slate-solve: --demand %s: RPS must be a number in [0, %g]\n", spec,
                SLATE_TOPO_MAX_RPS);
        return -1;
    }
    return 0;
}

/* A rule worth showing by default: carries flow and does not simply stay local. */
static int interesting(const slate_route_rule *r)
{
    return !r->fallback && r->weights[r->src_cluster] < 1 - 1e-6;
}

static void print_text(const slate_topology *t, const slate_solution *s,
                       const slate_route_table *rt, const slate_optimizer_opts *opts, int all)
{
    size_t nc = t->n_clusters;
    printf("topology %s: %zu clusters, %zu services, %zu classes\n", t->name[0] ? t->name : "-", nc,
           t->n_services, t->n_classes);
    printf("LP: %d rows, %d columns, %d nonzeros; solved %s in %.2f ms, %d iterations\n", s->rows,
           s->cols, s->nonzeros, s->warm ? "warm" : "cold", s->solve_ms, s->iterations);
    printf("objective %.6g ms*req/s; predicted latency %.6g ms*req/s; egress %.6g USD/h",
           s->objective, s->latency_ms_rps, s->egress_usd_per_hour);
    if (opts->cost_mode == SLATE_COST_BUDGET)
        printf(" (budget %.6g USD/h)", opts->egress_budget_usd_per_hour);
    printf("\n\n");

    printf("%-24s %-16s %10s %12s %14s\n", "class", "ingress", "rps", "latency ms", "crit-path ms");
    for (size_t k = 0; k < t->n_classes; k++)
        for (size_t a = 0; a < nc; a++) {
            double l = s->class_latency_ms[k * nc + a];
            if (isnan(l))
                continue;
            printf("%-24s %-16s %10.2f %12.3f %14.3f\n", t->classes[k].name, t->clusters[a],
                   slate_topology_demand_rps(t, (int)k, (int)a), l,
                   s->class_latency_cp_ms[k * nc + a]);
        }

    printf("\n%-24s %-16s %10s %10s %8s %10s\n", "service", "cluster", "load", "capacity", "util",
           "overload");
    for (size_t sv = 0; sv < t->n_services; sv++)
        for (size_t d = 0; d < t->services[sv].n_deployments; d++) {
            const slate_deployment *dp = &t->services[sv].deployments[d];
            size_t i = sv * nc + (size_t)dp->cluster;
            printf("%-24s %-16s %10.2f %10.2f %7.1f%% %10.2f\n", t->services[sv].name,
                   t->clusters[dp->cluster], s->load_rps[i], dp->capacity_rps,
                   100 * s->utilization[i], s->overload_rps[i]);
        }
    if (s->overload_total > 0)
        printf("OVERLOAD: %.2f work units/s above u_max * capacity\n", s->overload_total);

    size_t shown = 0;
    printf("\nrouting rules (%s)\n",
           all ? "all" : "those that split or leave the cluster; --all for every rule");
    for (size_t i = 0; i < rt->n_rules; i++) {
        const slate_route_rule *r = &rt->rules[i];
        if (!all && !interesting(r))
            continue;
        shown++;
        printf("  %s: %s@%s -> %s:", t->classes[r->klass].name,
               r->src_service < 0 ? "(ingress)" : t->services[r->src_service].name,
               t->clusters[r->src_cluster], t->services[r->dst_service].name);
        for (size_t b = 0; b < nc; b++)
            if (r->weights[b] > 0)
                printf(" %s=%.4f", t->clusters[b], r->weights[b]);
        if (r->fallback)
            printf(" (default policy)");
        else
            printf(" (%.2f calls/s)", r->flow_rps);
        printf("\n");
    }
    if (shown == 0)
        printf("  (none: every call stays in its cluster)\n");
}

/* The solve report (controller/solution_json.h, shared with the daemon's
 * GET /v1/solution) plus the full routing table. */
static int print_json(const slate_topology *t, const slate_solution *s, const slate_route_table *rt)
{
    char *report = NULL, *routes = NULL, *text = NULL;
    int rv = slate_solution_to_json(t, s, "optimal", "slate", 0, &report);
    if (rv == SLATE_OK)
        rv = slate_route_table_to_json(rt, t, NULL, NULL, 0, &routes);
    cJSON *root = rv == SLATE_OK ? cJSON_Parse(report) : NULL;
    cJSON *rj = root ? cJSON_Parse(routes) : NULL;
    if (rv == SLATE_OK && (!rj || !slate_json_attach(root, "routes", rj)))
        rv = SLATE_ERR_NOMEM;
    if (rv == SLATE_OK)
        rv = slate_json_print(root, 1, &text);
    if (rv == SLATE_OK)
        printf("%s\n", text);
    cJSON_Delete(root);
    free(text);
    free(routes);
    free(report);
    return rv;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof(c));
    slate_optimizer_opts_init(&c.opts);
    int status = parse_args(argc, argv, &c);
    if (status >= 0)
        return status;

    status = EXIT_BAD_INPUT;
    slate_topology *t = NULL;
    slate_profile_set *profiles = NULL;
    slate_optimizer *o = NULL;
    slate_route_table *rt = NULL;
    char *text = NULL;
    size_t len = 0;
    slate_diag diag;
    slate_diag_init(&diag);

    const char *source = c.topology_path ? c.topology_path : "(embedded hotel-reservation.json)";
    int rv = c.topology_path ? slate_topology_load_file(c.topology_path, &t, &diag)
                             : slate_topology_load_json((const char *)slate_default_topology,
                                                        slate_default_topology_len, &t, &diag);
    if (rv != SLATE_OK) {
        print_diag(source, "cannot load topology", rv, &diag);
        goto out;
    }
    for (int i = 0; i < c.n_demand; i++)
        if (apply_demand(t, c.demand[i]) != 0)
            goto out;
    rv = slate_profile_set_new(t, &profiles);
    if (rv != SLATE_OK) {
        print_diag(source, "cannot create profiles", rv, &diag);
        goto out;
    }
    if (c.profiles_path != NULL) {
        rv = slate_file_read(c.profiles_path, SLATE_JSON_MAX_BYTES, &text, &len, &diag);
        if (rv == SLATE_OK)
            rv = slate_profile_set_load_json(profiles, text, len, &diag);
        if (rv != SLATE_OK) {
            print_diag(c.profiles_path, "cannot load profiles", rv, &diag);
            goto out;
        }
    }
    rv = slate_optimizer_new(t, profiles, &c.opts, &o, &diag);
    if (rv != SLATE_OK) {
        print_diag(source, "cannot build the LP", rv, &diag);
        goto out;
    }
    rv = slate_optimizer_solve(o, &diag);
    if (rv != SLATE_OK) {
        print_diag(source, "solve failed", rv, &diag);
        status = EXIT_SOLVE_FAILED;
        goto out;
    }
    const slate_solution *s = slate_optimizer_solution(o);
    rv = slate_route_table_build(t, s, &rt);
    if (rv == SLATE_OK) {
        if (c.json)
            rv = print_json(t, s, rt);
        else
            print_text(t, s, rt, &c.opts, c.all);
    }
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-solve: %s\n", slate_strerror(rv));
        status = EXIT_SOLVE_FAILED;
        goto out;
    }
    status = fflush(stdout) == 0 ? 0 : EXIT_SOLVE_FAILED;
out:
    slate_route_table_free(rt);
    slate_optimizer_free(o);
    slate_profile_set_free(profiles);
    slate_topology_free(t);
    free(text);
    slate_diag_cleanup(&diag);
    return status;
}
