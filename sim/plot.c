/* SVG plots through gnuplot; see plot.h. */
#include "sim/plot.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/err.h"

extern char **environ;

/* Closed-loop rows get their own files next to the DES rows of the same
 * policy. */
static const char *loop_suffix(const slate_sim_row *row)
{
    return row->mode == SLATE_SIM_CLOSED ? "-loop" : "";
}

static int write_data(const char *dir, const char *kind, const slate_sim_row *row, char *err,
                      size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%s%s.dat", dir, kind, slate_policy_name(row->policy),
             loop_suffix(row));
    FILE *fp = fopen(path, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return SLATE_ERR_IO;
    }
    const slate_des_result *d = row->des;
    if (strcmp(kind, "cdf") == 0) {
        fprintf(fp, "# latency_ms fraction_at_or_below\n");
        for (size_t i = 0; i < d->n_cdf; i++)
            fprintf(fp, "%.6g %.6g\n", d->cdf_ms[i], d->cdf_frac[i]);
    } else {
        fprintf(fp, "# time_s mean_latency_ms egress_usd_per_hour\n");
        for (size_t i = 0; i < d->n_timeline; i++) {
            if (isnan(d->timeline_mean_ms[i]))
                fprintf(fp, "%.6g ? %.6g\n", (double)i * d->timeline_step_s,
                        d->timeline_egress_usd_per_hour[i]);
            else
                fprintf(fp, "%.6g %.6g %.6g\n", (double)i * d->timeline_step_s,
                        d->timeline_mean_ms[i], d->timeline_egress_usd_per_hour[i]);
        }
    }
    if (fclose(fp) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return SLATE_ERR_IO;
    }
    return SLATE_OK;
}

/* Appends "plot" clauses of |kind| for every DES row, column |col|. */
static void plot_series(FILE *fp, const slate_sim_report *r, const char *dir, const char *kind,
                        int col, const char *style)
{
    int first = 1;
    for (size_t i = 0; i < r->n_rows; i++) {
        const slate_sim_row *row = &r->rows[i];
        if (!row->des)
            continue;
        fprintf(fp, "%s'%s/%s-%s%s.dat' using 1:%d with %s title '%s%s'",
                first ? "plot " : ", \\\n  ", dir, kind, slate_policy_name(row->policy),
                loop_suffix(row), col, style, slate_policy_name(row->policy),
                row->mode == SLATE_SIM_CLOSED ? " (closed loop)" : "");
        first = 0;
    }
    fprintf(fp, "\n");
}

int slate_sim_plot(const slate_sim_report *r, const char *dir, char *err, size_t errlen)
{
    size_t n_des = 0;
    for (size_t i = 0; r && i < r->n_rows; i++)
        n_des += r->rows[i].des != NULL;
    if (!r || !dir || n_des == 0) {
        snprintf(err, errlen, "nothing to plot: run with --mode des, closed or both");
        return SLATE_ERR_INVALID_ARG;
    }
    if (strpbrk(dir, "'\"\n\r") || strlen(dir) > 2000) {
        snprintf(err, errlen, "the plot directory's name cannot contain quotes or newlines");
        return SLATE_ERR_INVALID_ARG;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return SLATE_ERR_IO;
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        if (!r->rows[i].des)
            continue;
        int rv = write_data(dir, "cdf", &r->rows[i], err, errlen);
        if (rv == SLATE_OK)
            rv = write_data(dir, "timeline", &r->rows[i], err, errlen);
        if (rv != SLATE_OK)
            return rv;
    }
    char script[4096];
    snprintf(script, sizeof(script), "%s/plots.gp", dir);
    FILE *fp = fopen(script, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot write %s: %s", script, strerror(errno));
        return SLATE_ERR_IO;
    }
    fprintf(fp, "# Drawn by slate-sim --plot; run again with: gnuplot plots.gp\n"
                "set terminal svg size 900,500 dynamic\nset grid\nset key bottom right\n"
                "set output '%s/latency-cdf.svg'\nset title 'End-to-end latency (discrete-event)'\n"
                "set logscale x\nset xlabel 'latency (ms)'\nset ylabel 'fraction of requests'\n"
                "set yrange [0:1]\n",
            dir);
    plot_series(fp, r, dir, "cdf", 2, "lines lw 2");
    fprintf(fp, "unset logscale x\nset yrange [*:*]\nset key top right\n"
                "set output '%s/timeline.svg'\nset terminal svg size 900,700 dynamic\n"
                "set multiplot layout 2,1\nset title 'Mean latency over time'\n"
                "set xlabel 'simulated time (s)'\nset ylabel 'mean latency (ms)'\n",
            dir);
    plot_series(fp, r, dir, "timeline", 2, "linespoints");
    fprintf(fp, "set title 'Egress over time'\nset ylabel 'egress (USD/hour)'\n");
    plot_series(fp, r, dir, "timeline", 3, "lines lw 2");
    fprintf(fp, "unset multiplot\n");
    if (fclose(fp) != 0) {
        snprintf(err, errlen, "cannot write %s", script);
        return SLATE_ERR_IO;
    }
    /* No shell: gnuplot gets the script's path as its only argument. */
    char *argv[] = {"gnuplot", script, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
        snprintf(err, errlen, "gnuplot is not installed (Debian: gnuplot-nox); data and %s written",
                 script);
        return SLATE_ERR_NOT_FOUND;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot failed on %s (exit status %d)", script,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return SLATE_ERR_NOT_FOUND;
    }
    return SLATE_OK;
}
