/* Command-line numbers; see numarg.h. */
#include "common/numarg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int slate_numarg_double(const char *s, double lo, double hi, double *out)
{
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t')
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int slate_numarg_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return -1; /* v * 10 + d would pass max (or overflow) */
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int slate_numarg_int(const char *s, int lo, int hi, int *out)
{
    uint64_t v;
    if (lo < 0 || hi < lo || slate_numarg_uint(s, (uint64_t)hi, &v) != 0 || v < (uint64_t)lo)
        return -1;
    *out = (int)v;
    return 0;
}
