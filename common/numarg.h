/*
 * Numbers in command-line values, parsed one way for every binary: the
 * whole string must be the number (no sign where none is allowed, no spaces,
 * nothing after it), or the value is rejected. strtod and strtoull alone
 * accept "" as 0 and wrap "-1" to a huge unsigned value.
 */
#ifndef SLATE_COMMON_NUMARG_H
#define SLATE_COMMON_NUMARG_H

#include <stdint.h>

/* A finite decimal number (strtod's syntax, e.g. "0.5", "1e3") in [lo, hi].
 * Returns 0 and sets |*out|, or -1. */
int slate_numarg_double(const char *s, double lo, double hi, double *out);

/* Unsigned decimal digits only, at most |max|. Returns 0 and sets |*out|, or -1. */
int slate_numarg_uint(const char *s, uint64_t max, uint64_t *out);

/* slate_numarg_uint in [lo, hi] as an int (hi <= INT_MAX). */
int slate_numarg_int(const char *s, int lo, int hi, int *out);

#endif
