/*
 * slate-bench-solver: measures slate's optimizer on one generated topology
 * (bench_gen.c) and GLPK's own glpsol on the same LP, in the same run.
 *
 *   slate-bench-solver caterpillar --clusters C --classes K --depth D [--seed S] [options]
 *   slate-bench-solver random --clusters C --classes K --services N [--nodes M] [options]
 *
 * What it measures (all wall-clock, ms, on the monotonic clock):
 *   build   slate_optimizer_new (LP construction) once;
 *   cold    slate_optimizer_solve after slate_optimizer_reset_basis, median of
 *           --repeats runs at the generated demand;
 *   warm    slate_optimizer_solve after a 5% change of every (class, ingress)
 *           demand entry, alternating x1.05 and back to x1.00 so every repeat
 *           is a real change; median of --repeats runs;
 *   check   the relative objective difference between the last warm solve
 *           and a cold solve of the same changed problem (should be ~0);
 *   glpsol  the LP written by slate_optimizer_write_lp at the generated
 *           demand, solved by `glpsol --lp FILE --interior` (and, with
 *           --glpsol-simplex S, by the default simplex with --tmlim S). The
 *           time of `glpsol --lp FILE --check` (reading the file) is
 *           subtracted, since our own times exclude building the LP. The
 *           ratio printed is our cold time / glpsol's interior time.
 *
 * Output: one Markdown table row per run on stdout (--header adds the
 * header first); details on stderr. Nothing is asserted: see bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_gen.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/json.h"
#include "common/numarg.h"
#include "controller/optimizer.h"
#include "profiles/profiles.h"
#include "topology/topology.h"

extern char **environ; /* POSIX: the environment handed to glpsol */

#define MAX_REPEATS    50
#define DEMAND_STEP    1.05        /* the 5% demand change of a warm repeat */
#define GLPSOL_LOG_MAX (64u << 20) /* bytes of glpsol output we read back */

typedef struct bench_opts {
    slate_bench_params gen;
    int repeats;
    slate_lp_method method;
    const char *glpsol;         /* program name or path; NULL: skip the reference */
    int glpsol_timeout_s;       /* wall cap of the interior-point run, s */
    int glpsol_simplex_tmlim_s; /* 0: skip the simplex run */
    const char *label;          /* NULL: derived from the generator parameters */
    const char *lp_path;        /* NULL: a temporary file, removed at exit */
    double target_cold_ms;      /* 0: no target */
    double target_warm_ms;
    double time_limit_ms;  /* optimizer's per-solve limit; 0: its default */
    int column_generation; /* opts.column_generation; -1: the optimizer's default */
    int decompose;         /* opts.decompose; -1: the optimizer's default */
    int header;
} bench_opts;

/* RUN_UNSTABLE: glpsol's interior point stopped on "NUMERIC INSTABILITY"
 * and reported its best point; the time is then the time to that point and
 * is marked with '*' in the table. */
typedef enum run_status {
    RUN_SKIPPED = 0,
    RUN_OPTIMAL,
    RUN_UNSTABLE,
    RUN_TIME_LIMIT,
    RUN_FAILED
} run_status;

typedef struct glpsol_run {
    run_status status;
    double ms;        /* solve wall time minus the file-reading time, ms */
    double objective; /* last objective glpsol printed; NaN when none */
    int cap_s;        /* the limit, for "> cap" */
} glpsol_run;

typedef struct bench_result {
    char label[160];
    int rows, cols, nonzeros;
    double gen_ms, load_ms, build_ms;
    double cold_med, cold_best, warm_med, warm_best;
    int warm_not_warm;                 /* warm repeats the optimizer reported as cold */
    int cold_iterations;               /* of the last cold solve */
    int warm_iterations;               /* of the last warm solve */
    int cold_cg_rounds, cold_cg_freed; /* column generation, last cold solve */
    int warm_cg_rounds, warm_cg_freed; /* column generation, last warm solve */
    double obj_base;                   /* cold objective at the generated demand */
    double warm_vs_cold;               /* relative objective difference, changed problem */
    double read_ms;                    /* glpsol --check */
    int cold_failed;                   /* the slate_err of a failed cold solve, else 0 */
    double cold_failed_ms;
    int warm_failed; /* the slate_err of a failed warm or check solve, else 0 */
    glpsol_run interior, simplex;
} bench_result;

/* ---- options ---------------------------------------------------------------- */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: slate-bench-solver caterpillar --clusters C --classes K --depth D [--seed S]"
            " [options]\n"
            "       slate-bench-solver random --clusters C --classes K --services N [--nodes M]"
            " [--seed S] [options]\n"
            "options:\n"
            "  --repeats R            cold and warm repeats, median reported (default 3)\n"
            "  --method auto|simplex|interior   optimizer LP method (default auto)\n"
            "  --glpsol PATH|none     reference solver (default glpsol; none skips it)\n"
            "  --glpsol-timeout S     wall cap of glpsol --interior, s (default 120)\n"
            "  --glpsol-simplex S     also run glpsol's simplex with --tmlim S (default 0: skip)\n"
            "  --write-lp FILE        keep the LP given to glpsol in FILE\n"
            "  --label TEXT           case name in the table\n"
            "  --target-cold-ms X --target-warm-ms Y   print met / not met\n"
            "  --time-limit-ms T      the optimizer's per-solve time limit (default: its own)\n"
            "  --column-generation on|off   the optimizer's column generation (default: its own)\n"
            "  --decompose on|off     the optimizer's decomposition by class (default: its own)\n"
            "  --header               print the Markdown table header first\n");
}

/* Returns 0, or 2 (the exit status for a usage error) after printing why. */
static int parse_opts(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    slate_bench_params_init(&o->gen);
    o->repeats = 3;
    o->method = SLATE_LP_AUTO;
    o->glpsol = "glpsol";
    o->glpsol_timeout_s = 120;
    o->column_generation = -1;
    o->decompose = -1;

    if (argc < 2 || slate_bench_params_set_shape(&o->gen, argv[1]) != 0) {
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = slate_bench_params_option(&o->gen, opt, val);
        if (used < 0)
            return 2;
        if (used > 0) {
            i++;
            continue;
        }
        if (strcmp(opt, "--header") == 0) {
            o->header = 1;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "slate-bench-solver: unknown option or missing value: %s\n", opt);
            usage(stderr);
            return 2;
        }
        int bad = 0;
        if (strcmp(opt, "--repeats") == 0) {
            bad = slate_numarg_int(val, 1, MAX_REPEATS, &o->repeats);
        } else if (strcmp(opt, "--method") == 0) {
            if (strcmp(val, "auto") == 0)
                o->method = SLATE_LP_AUTO;
            else if (strcmp(val, "simplex") == 0)
                o->method = SLATE_LP_SIMPLEX;
            else if (strcmp(val, "interior") == 0)
                o->method = SLATE_LP_INTERIOR;
            else
                bad = -1;
        } else if (strcmp(opt, "--glpsol") == 0) {
            o->glpsol = strcmp(val, "none") == 0 ? NULL : val;
        } else if (strcmp(opt, "--glpsol-timeout") == 0) {
            bad = slate_numarg_int(val, 1, 86400, &o->glpsol_timeout_s);
        } else if (strcmp(opt, "--glpsol-simplex") == 0) {
            bad = slate_numarg_int(val, 0, 86400, &o->glpsol_simplex_tmlim_s);
        } else if (strcmp(opt, "--write-lp") == 0) {
            o->lp_path = val;
        } else if (strcmp(opt, "--label") == 0) {
            o->label = val;
        } else if (strcmp(opt, "--target-cold-ms") == 0) {
            bad = slate_numarg_double(val, 0, 1e9, &o->target_cold_ms);
        } else if (strcmp(opt, "--target-warm-ms") == 0) {
            bad = slate_numarg_double(val, 0, 1e9, &o->target_warm_ms);
        } else if (strcmp(opt, "--time-limit-ms") == 0) {
            bad = slate_numarg_double(val, 0, 1e9, &o->time_limit_ms);
        } else if (strcmp(opt, "--column-generation") == 0) {
            if (strcmp(val, "on") == 0)
                o->column_generation = 1;
            else if (strcmp(val, "off") == 0)
                o->column_generation = 0;
            else
                bad = -1;
        } else if (strcmp(opt, "--decompose") == 0) {
            if (strcmp(val, "on") == 0)
                o->decompose = 1;
            else if (strcmp(val, "off") == 0)
                o->decompose = 0;
            else
                bad = -1;
        } else {
            fprintf(stderr, "slate-bench-solver: unknown option %s\n", opt);
            usage(stderr);
            return 2;
        }
        if (bad != 0) {
            fprintf(stderr, "slate-bench-solver: bad value \"%s\" for %s\n", val, opt);
            return 2;
        }
        i++;
    }
    char why[160];
    if (slate_bench_params_check(&o->gen, why, sizeof(why)) != 0) {
        fprintf(stderr, "slate-bench-solver: %s\n", why);
        return 2;
    }
    return 0;
}

/* ---- small helpers ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts |v| (n >= 1) in place; returns the median (mean of the middle two
 * for even n) and the minimum in |*best|. */
static double median(double *v, int n, double *best)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    *best = v[0];
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double rel_diff(double a, double b)
{
    double scale = fmax(fabs(a), fabs(b));
    return scale > 0 ? fabs(a - b) / scale : 0.0;
}

/* Times one solve; returns the slate_optimizer_solve code. */
static int timed_solve(slate_optimizer *o, double *ms, slate_diag *diag)
{
    double t0 = slate_clock_ms();
    int rv = slate_optimizer_solve(o, diag);
    *ms = slate_clock_ms() - t0;
    return rv;
}

static int set_all_demand(slate_optimizer *o, const slate_topology *t, double factor)
{
    for (size_t i = 0; i < t->n_demand; i++) {
        const slate_demand *d = &t->demand[i];
        int rv = slate_optimizer_set_demand(o, d->klass, d->cluster, d->rps * factor);
        if (rv != SLATE_OK)
            return rv;
    }
    return SLATE_OK;
}

/* ---- glpsol ------------------------------------------------------------------ */

/*
 * Runs |argv| (argv[0] looked up in PATH) with stdin from /dev/null and
 * stdout+stderr into |log_path|, killing it (by its pid; we started it) after
 * |timeout_s|. Sets |*wall_ms| and |*timed_out|. Returns 0 when it ran and
 * exited with status 0 (or was killed by our timeout), -1 otherwise.
 */
static int run_timed(char *const argv[], const char *log_path, int timeout_s, double *wall_ms,
                     int *timed_out)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    int rv = -1;
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) !=
            0 ||
        posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0)
        goto out;

    pid_t pid;
    double t0 = slate_clock_ms();
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (err != 0) {
        fprintf(stderr, "slate-bench-solver: cannot run %s: %s\n", argv[0], strerror(err));
        goto out;
    }
    /* Poll rather than block so the timeout needs no signal handling; the
     * 0.1 ms step bounds the added error, and the same error enters the
     * --check run that is subtracted. */
    const struct timespec step = {0, 100000};
    int status = 0;
    *timed_out = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            fprintf(stderr, "slate-bench-solver: waitpid: %s\n", strerror(errno));
            goto out;
        }
        if (slate_clock_ms() - t0 > 1000.0 * timeout_s) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            *timed_out = 1;
            break;
        }
        nanosleep(&step, NULL);
    }
    *wall_ms = slate_clock_ms() - t0;
    if (*timed_out || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rv = 0;
    else
        fprintf(stderr, "slate-bench-solver: %s failed (see its log)\n", argv[0]);
out:
    posix_spawn_file_actions_destroy(&fa);
    return rv;
}

/* Reads glpsol's log: the outcome and the last objective it printed. */
static void parse_glpsol_log(const char *log_path, glpsol_run *r)
{
    char *text = NULL;
    size_t len = 0;
    r->objective = NAN;
    if (slate_file_read(log_path, GLPSOL_LOG_MAX, &text, &len, NULL) != SLATE_OK) {
        r->status = RUN_FAILED;
        return;
    }
    /* Iteration lines look like "  12: obj =   3.0e+00 ..." (interior) or
     * "*  12: obj =   3.0e+00 inf = ..." (simplex). */
    for (const char *p = strstr(text, "obj ="); p != NULL; p = strstr(p + 1, "obj ="))
        r->objective = strtod(p + 5, NULL);
    /* After "NUMERIC INSTABILITY" the interior point prints "Best point
     * 8.9e+05 was reached on iteration 19": that is its answer. */
    const char *best = strstr(text, "Best point");
    if (best != NULL)
        r->objective = strtod(best + strlen("Best point"), NULL);
    if (strstr(text, "TIME LIMIT EXCEEDED") != NULL)
        r->status = RUN_TIME_LIMIT;
    else if (strstr(text, "NUMERIC INSTABILITY") != NULL && best != NULL)
        r->status = RUN_UNSTABLE;
    else if (strstr(text, "OPTIMAL") != NULL && strstr(text, "SOLUTION FOUND") != NULL)
        r->status = RUN_OPTIMAL;
    else
        r->status = RUN_FAILED;
    free(text);
}

/* Reads the LP size from glpsol's "2401 rows, 10300 columns, 39800 non-zeros"
 * line, for rows where our own solve failed and reported none. */
static void parse_glpsol_size(const char *log_path, bench_result *r)
{
    char *text = NULL;
    size_t len = 0;
    if (slate_file_read(log_path, GLPSOL_LOG_MAX, &text, &len, NULL) != SLATE_OK)
        return;
    const char *p = strstr(text, " rows, ");
    if (p != NULL) {
        while (p > text && p[-1] != '\n')
            p--;
        int rows = 0, cols = 0, nnz = 0;
        if (sscanf(p, "%d row%*[s,] %d column%*[s,] %d non-zero", &rows, &cols, &nnz) == 3) {
            r->rows = rows;
            r->cols = cols;
            r->nonzeros = nnz;
        }
    }
    free(text);
}

/* Runs glpsol on |lp_path| with |extra| arguments (NULL-terminated, at most
 * 4), filling |r|. |read_ms| is subtracted from the wall time. */
static void run_glpsol(const char *glpsol, const char *lp_path, const char *log_path,
                       const char *const *extra, int timeout_s, double read_ms, glpsol_run *r)
{
    char *argv[8];
    int n = 0;
    argv[n++] = (char *)glpsol;
    argv[n++] = "--lp";
    argv[n++] = (char *)lp_path;
    for (int i = 0; extra[i] != NULL && n < 7; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;

    double wall = 0;
    int timed_out = 0;
    if (run_timed(argv, log_path, timeout_s, &wall, &timed_out) != 0) {
        r->status = RUN_FAILED;
        r->objective = NAN;
        return;
    }
    parse_glpsol_log(log_path, r);
    if (timed_out)
        r->status = RUN_TIME_LIMIT;
    r->ms = fmax(0.0, wall - read_ms);
}

/* ---- output ------------------------------------------------------------------- */

static void fmt_ms(double ms, char *buf, size_t len)
{
    if (ms < 10)
        snprintf(buf, len, "%.2f", ms);
    else if (ms < 100)
        snprintf(buf, len, "%.1f", ms);
    else
        snprintf(buf, len, "%.0f", ms);
}

static void fmt_glpsol(const glpsol_run *r, char *buf, size_t len)
{
    switch (r->status) {
    case RUN_SKIPPED:
        snprintf(buf, len, "n/a");
        break;
    case RUN_OPTIMAL:
        fmt_ms(r->ms, buf, len);
        break;
    case RUN_UNSTABLE:
        fmt_ms(r->ms, buf, len);
        snprintf(buf + strlen(buf), len - strlen(buf), "*");
        break;
    case RUN_TIME_LIMIT:
        snprintf(buf, len, "> %d s", r->cap_s);
        break;
    case RUN_FAILED:
        snprintf(buf, len, "failed");
        break;
    }
}

static void print_header(void)
{
    printf("| case | rows | cols | nonzeros | build ms | cold ms | warm ms | glpsol ipm ms "
           "| cold / glpsol ipm | glpsol simplex ms | warm-vs-cold obj | glpsol-vs-cold obj "
           "| targets |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
}

static void print_row(const bench_opts *o, const bench_result *r)
{
    char build[32], cold[64], warm[64], ipm[32], spx[32], ratio[32], gobj[32];
    fmt_ms(r->build_ms, build, sizeof(build));
    if (r->cold_failed != 0)
        snprintf(cold, sizeof(cold), "%s after %.0f ms", slate_errname(r->cold_failed),
                 r->cold_failed_ms);
    else
        fmt_ms(r->cold_med, cold, sizeof(cold));
    if (r->cold_failed != 0)
        snprintf(warm, sizeof(warm), "n/a");
    else if (r->warm_failed != 0)
        snprintf(warm, sizeof(warm), "%s", slate_errname(r->warm_failed));
    else
        fmt_ms(r->warm_med, warm, sizeof(warm));
    if (r->warm_not_warm > 0) /* say so rather than pass a cold time off as warm */
        snprintf(warm + strlen(warm), sizeof(warm) - strlen(warm), " (%d not warm)",
                 r->warm_not_warm);
    char wvc[32];
    if (r->cold_failed != 0 || r->warm_failed != 0)
        snprintf(wvc, sizeof(wvc), "n/a");
    else
        snprintf(wvc, sizeof(wvc), "%.1e", r->warm_vs_cold);
    fmt_glpsol(&r->interior, ipm, sizeof(ipm));
    fmt_glpsol(&r->simplex, spx, sizeof(spx));
    int ipm_done = r->interior.status == RUN_OPTIMAL || r->interior.status == RUN_UNSTABLE;
    if (r->cold_failed != 0)
        snprintf(ratio, sizeof(ratio), "n/a");
    else if (ipm_done && r->interior.ms > 0)
        snprintf(ratio, sizeof(ratio), "%.3f%s", r->cold_med / r->interior.ms,
                 r->interior.status == RUN_UNSTABLE ? "*" : "");
    else if (r->interior.status == RUN_TIME_LIMIT)
        snprintf(ratio, sizeof(ratio), "< %.4f", r->cold_med / (1000.0 * r->interior.cap_s));
    else
        snprintf(ratio, sizeof(ratio), "n/a");
    if (r->cold_failed == 0 && ipm_done && !isnan(r->interior.objective))
        snprintf(gobj, sizeof(gobj), "%.1e", rel_diff(r->interior.objective, r->obj_base));
    else
        snprintf(gobj, sizeof(gobj), "n/a");

    char targets[128] = "-";
    if (o->target_cold_ms > 0 || o->target_warm_ms > 0) {
        int n = 0;
        targets[0] = '\0';
        /* A failed or not-warm solve does not meet a target whatever its time. */
        int cold_ok = r->cold_failed == 0 && r->cold_med <= o->target_cold_ms;
        int warm_ok = r->cold_failed == 0 && r->warm_failed == 0 && r->warm_not_warm == 0 &&
                      r->warm_med <= o->target_warm_ms;
        if (o->target_cold_ms > 0)
            n += snprintf(targets + n, sizeof(targets) - (size_t)n, "cold <= %.0f ms: %s",
                          o->target_cold_ms, cold_ok ? "met" : "not met");
        if (o->target_warm_ms > 0 && n < (int)sizeof(targets))
            snprintf(targets + n, sizeof(targets) - (size_t)n, "%swarm <= %.0f ms: %s",
                     n > 0 ? "; " : "", o->target_warm_ms, warm_ok ? "met" : "not met");
    }
    char size[96] = "n/a | n/a | n/a"; /* unknown when our solve failed and glpsol did not run */
    if (r->rows > 0)
        snprintf(size, sizeof(size), "%d | %d | %d", r->rows, r->cols, r->nonzeros);
    printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->label, size, build,
           cold, warm, ipm, ratio, spx, wvc, gobj, targets);
    fflush(stdout);
}

/* A row that says why the case could not be measured. */
static void print_failure(const char *label, const char *what, int code)
{
    printf("| %s | %s failed: %s ||||||||||||\n", label, what, slate_errname(code));
    fflush(stdout);
}

/* ---- the measurement ----------------------------------------------------------- */

/* Solves cold |repeats| times; fills the cold fields of |r|. */
static int measure_cold(slate_optimizer *o, const bench_opts *opts, bench_result *r,
                        slate_diag *diag)
{
    double times[MAX_REPEATS];
    for (int i = 0; i < opts->repeats; i++) {
        slate_optimizer_reset_basis(o);
        int rv = timed_solve(o, &times[i], diag);
        if (rv != SLATE_OK) {
            r->cold_failed = rv;
            r->cold_failed_ms = times[i];
            return rv;
        }
    }
    const slate_solution *s = slate_optimizer_solution(o);
    r->rows = s->rows;
    r->cols = s->cols;
    r->nonzeros = s->nonzeros;
    r->obj_base = s->objective;
    r->cold_iterations = s->iterations;
    r->cold_cg_rounds = s->cg_rounds;
    r->cold_cg_freed = s->cg_arcs_freed;
    r->cold_med = median(times, opts->repeats, &r->cold_best);
    return SLATE_OK;
}

/* Warm repeats after 5% demand steps, then the cold solve of the last
 * changed problem for the objective check. */
static int measure_warm(slate_optimizer *o, const slate_topology *t, const bench_opts *opts,
                        bench_result *r, slate_diag *diag)
{
    double times[MAX_REPEATS];
    double warm_obj = 0;
    for (int i = 0; i < opts->repeats; i++) {
        int rv = set_all_demand(o, t, i % 2 == 0 ? DEMAND_STEP : 1.0);
        if (rv == SLATE_OK)
            rv = timed_solve(o, &times[i], diag);
        if (rv != SLATE_OK)
            return rv;
        const slate_solution *s = slate_optimizer_solution(o);
        if (!s->warm)
            r->warm_not_warm++;
        warm_obj = s->objective;
        r->warm_iterations = s->iterations;
        r->warm_cg_rounds = s->cg_rounds;
        r->warm_cg_freed = s->cg_arcs_freed;
    }
    r->warm_med = median(times, opts->repeats, &r->warm_best);

    double ms = 0;
    slate_optimizer_reset_basis(o);
    int rv = timed_solve(o, &ms, diag);
    if (rv != SLATE_OK)
        return rv;
    r->warm_vs_cold = rel_diff(warm_obj, slate_optimizer_solution(o)->objective);
    return SLATE_OK;
}

/* Writes the LP and runs glpsol on it (check, interior, optionally simplex). */
static void measure_glpsol(const slate_optimizer *o, const bench_opts *opts, bench_result *r)
{
    char dir[256] = "";
    char lp[300], log[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/slate-bench-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "slate-bench-solver: mkdtemp %s: %s\n", dir, strerror(errno));
        r->interior.status = RUN_FAILED;
        return;
    }
    snprintf(lp, sizeof(lp), "%s/problem.lp", dir);
    snprintf(log, sizeof(log), "%s/glpsol.log", dir);
    const char *lp_path = opts->lp_path != NULL ? opts->lp_path : lp;

    int rv = slate_optimizer_write_lp(o, lp_path);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-bench-solver: write_lp: %s\n", slate_strerror(rv));
        r->interior.status = RUN_FAILED;
        goto out;
    }

    double wall = 0;
    int timed_out = 0;
    char *argv[] = {(char *)opts->glpsol, "--lp", (char *)lp_path, "--check", NULL};
    if (run_timed(argv, log, opts->glpsol_timeout_s, &wall, &timed_out) != 0 || timed_out) {
        r->interior.status = RUN_FAILED;
        goto out;
    }
    r->read_ms = wall;
    if (r->rows == 0)
        parse_glpsol_size(log, r);

    char tmlim[32];
    snprintf(tmlim, sizeof(tmlim), "%d", opts->glpsol_timeout_s);
    const char *ipm[] = {"--interior", "--tmlim", tmlim, NULL};
    r->interior.cap_s = opts->glpsol_timeout_s;
    run_glpsol(opts->glpsol, lp_path, log, ipm, opts->glpsol_timeout_s, r->read_ms, &r->interior);

    if (opts->glpsol_simplex_tmlim_s > 0) {
        snprintf(tmlim, sizeof(tmlim), "%d", opts->glpsol_simplex_tmlim_s);
        const char *spx[] = {"--tmlim", tmlim, NULL};
        r->simplex.cap_s = opts->glpsol_simplex_tmlim_s;
        /* glpsol checks --tmlim between iterations; the wall cap is a backstop. */
        run_glpsol(opts->glpsol, lp_path, log, spx, opts->glpsol_simplex_tmlim_s + 30, r->read_ms,
                   &r->simplex);
    }
out:
    unlink(log);
    if (opts->lp_path == NULL)
        unlink(lp);
    rmdir(dir);
}

static const char *status_name(run_status s)
{
    switch (s) {
    case RUN_SKIPPED:
        return "skipped";
    case RUN_OPTIMAL:
        return "optimal";
    case RUN_UNSTABLE:
        return "numeric instability (best point)";
    case RUN_TIME_LIMIT:
        return "time limit";
    case RUN_FAILED:
        break;
    }
    return "failed";
}

static void print_details(const bench_opts *o, const bench_result *r)
{
    if (r->cold_failed != 0)
        fprintf(
            stderr,
            "%s: gen %.1f ms load %.1f ms build %.1f ms | cold solve failed: %s after %.1f ms\n",
            r->label, r->gen_ms, r->load_ms, r->build_ms, slate_errname(r->cold_failed),
            r->cold_failed_ms);
    else
        fprintf(
            stderr,
            "%s: rows %d cols %d nnz %d | gen %.1f ms load %.1f ms build %.1f ms | "
            "cold median %.2f best %.2f ms (%d it) | warm median %.2f best %.2f ms (%d it)%s%s | "
            "objective %.6e, warm-vs-cold %.1e | column generation: cold %d rounds %d arcs "
            "freed, warm %d rounds %d freed\n",
            r->label, r->rows, r->cols, r->nonzeros, r->gen_ms, r->load_ms, r->build_ms,
            r->cold_med, r->cold_best, r->cold_iterations, r->warm_med, r->warm_best,
            r->warm_iterations, r->warm_not_warm > 0 ? " SOME NOT WARM" : "",
            r->warm_failed != 0 ? " WARM OR CHECK SOLVE FAILED" : "", r->obj_base, r->warm_vs_cold,
            r->cold_cg_rounds, r->cold_cg_freed, r->warm_cg_rounds, r->warm_cg_freed);
    if (o->glpsol != NULL)
        fprintf(stderr,
                "%s: glpsol read %.1f ms | interior %.1f ms %s obj %.9e | "
                "simplex %.1f ms %s obj %.9e\n",
                r->label, r->read_ms, r->interior.ms, status_name(r->interior.status),
                r->interior.objective, r->simplex.ms, status_name(r->simplex.status),
                r->simplex.objective);
}

int main(int argc, char **argv)
{
    bench_opts opts;
    int rv = parse_opts(argc, argv, &opts);
    if (rv != 0)
        return rv;

    bench_result r;
    memset(&r, 0, sizeof(r));
    r.interior.objective = r.simplex.objective = NAN;
    if (opts.label != NULL)
        snprintf(r.label, sizeof(r.label), "%s", opts.label);
    else
        slate_bench_params_label(&opts.gen, r.label, sizeof(r.label));
    if (opts.header)
        print_header();

    int status = 1;
    char *text = NULL;
    size_t len = 0;
    slate_topology *t = NULL;
    slate_profile_set *profiles = NULL;
    slate_optimizer *o = NULL;
    slate_diag diag;
    slate_diag_init(&diag);

    double t0 = slate_clock_ms();
    rv = slate_bench_gen_json(&opts.gen, 0, &text, &len);
    r.gen_ms = slate_clock_ms() - t0;
    if (rv != SLATE_OK) {
        print_failure(r.label, "generate", rv);
        goto out;
    }
    t0 = slate_clock_ms();
    rv = slate_topology_load_json(text, len, &t, &diag);
    r.load_ms = slate_clock_ms() - t0;
    if (rv != SLATE_OK) {
        print_failure(r.label, "load", rv);
        goto out;
    }
    rv = slate_profile_set_new(t, &profiles);
    if (rv != SLATE_OK) {
        print_failure(r.label, "profiles", rv);
        goto out;
    }
    slate_optimizer_opts oo;
    slate_optimizer_opts_init(&oo);
    oo.method = opts.method;
    if (opts.time_limit_ms > 0)
        oo.time_limit_ms = opts.time_limit_ms;
    if (opts.column_generation >= 0)
        oo.column_generation = opts.column_generation;
    if (opts.decompose >= 0)
        oo.decompose = opts.decompose;
    t0 = slate_clock_ms();
    rv = slate_optimizer_new(t, profiles, &oo, &o, &diag);
    r.build_ms = slate_clock_ms() - t0;
    if (rv != SLATE_OK) {
        print_failure(r.label, "optimizer_new", rv);
        goto out;
    }

    /* A failed cold solve still gets its row: the LP exists, so glpsol's
     * time on it says how hard the instance is. */
    rv = measure_cold(o, &opts, &r, &diag);
    /* The LP glpsol gets is the one just solved cold: the generated demand. */
    if (opts.glpsol != NULL)
        measure_glpsol(o, &opts, &r);
    if (rv == SLATE_OK) {
        rv = measure_warm(o, t, &opts, &r, &diag);
        if (rv != SLATE_OK)
            r.warm_failed = rv;
    }
    print_row(&opts, &r);
    print_details(&opts, &r);
    status = rv == SLATE_OK ? 0 : 1;
out:
    if (slate_diag_count(&diag) > 0)
        slate_diag_print(&diag, stderr);
    slate_optimizer_free(o);
    slate_profile_set_free(profiles);
    slate_topology_free(t);
    free(text);
    slate_diag_cleanup(&diag);
    return status;
}
