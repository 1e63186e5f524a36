/* Monotonic time for measuring durations (solve times, windows). */
#ifndef SLATE_COMMON_CLOCK_H
#define SLATE_COMMON_CLOCK_H

/* Returns milliseconds on the monotonic clock; only differences mean anything. */
double slate_clock_ms(void);

#endif
