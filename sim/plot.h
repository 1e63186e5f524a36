/*
 * slate-sim --plot DIR: SVG plots of a report's discrete-event rows, drawn by
 * gnuplot (run as a child process; nothing is rendered here):
 *   DIR/latency-cdf.svg   end-to-end latency CDF per policy (log x axis)
 *   DIR/timeline.svg      mean latency and egress USD/hour over simulated
 *                         time per policy (the scenario's timeline steps)
 * plus the data files (cdf-<policy>.dat, timeline-<policy>.dat) and the
 * gnuplot script (plots.gp) they were drawn from.
 */
#ifndef SLATE_SIM_PLOT_H
#define SLATE_SIM_PLOT_H

#include <stddef.h>

#include "sim/runner.h"

/*
 * Writes the files into |dir| (created if missing) and runs gnuplot.
 * SLATE_OK; SLATE_ERR_INVALID_ARG (no DES rows, or |dir| contains a quote or
 * a newline, which gnuplot's strings cannot carry), SLATE_ERR_IO (a file
 * could not be written) or SLATE_ERR_NOT_FOUND (gnuplot is not installed or
 * failed); |err| (|errlen| bytes) says which.
 */
int slate_sim_plot(const slate_sim_report *r, const char *dir, char *err, size_t errlen);

#endif
