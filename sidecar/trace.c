/* W3C trace context and baggage; see trace.h. */
#include "sidecar/trace.h"

#include <string.h>

static int lowhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* |n| lowercase hex characters, not all '0'. */
static int hex_id(const char *s, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!lowhex(s[i]))
            return 0;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

int slate_traceparent_parse(const char *v, char trace_id[33])
{
    if (!v)
        return -1;
    size_t n = strnlen(v, 256);
    if (n < 55 || !lowhex(v[0]) || !lowhex(v[1]) || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
        !lowhex(v[53]) || !lowhex(v[54]))
        return -1;
    if (v[0] == 'f' && v[1] == 'f')
        return -1;
    /* Version 00 is exactly 55 characters; later versions may append "-...". */
    if ((v[0] == '0' && v[1] == '0' && n != 55) || (n > 55 && v[55] != '-'))
        return -1;
    if (!hex_id(v + 3, 32) || !hex_id(v + 36, 16))
        return -1;
    memcpy(trace_id, v + 3, 32);
    trace_id[32] = '\0';
    return 0;
}

/* |v| as 16 lowercase hex digits (no NUL): every new trace formats three
 * ids, a hot path where snprintf would be most of the cost. */
static void hex16(char *out, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
}

/* "00-<trace>-<span>-01" into |out| (56 bytes with the NUL). */
static void traceparent_format(char out[56], const char trace_id[32], uint64_t span)
{
    memcpy(out, "00-", 3);
    memcpy(out + 3, trace_id, 32);
    out[35] = '-';
    hex16(out + 36, span);
    memcpy(out + 52, "-01", 4); /* with the NUL */
}

void slate_traceparent_new(slate_rng *rng, char out[56], char trace_id[33])
{
    uint64_t a = slate_rng_next(rng), b = slate_rng_next(rng), c = slate_rng_next(rng);
    if (a == 0 && b == 0)
        a = 1;
    if (c == 0)
        c = 1;
    hex16(trace_id, a);
    hex16(trace_id + 16, b);
    trace_id[32] = '\0';
    traceparent_format(out, trace_id, c);
}

int slate_baggage_class(const char *baggage, char *out, size_t cap)
{
    if (!baggage || strnlen(baggage, SLATE_BAGGAGE_MAX + 1) > SLATE_BAGGAGE_MAX)
        return -1;
    static const char key[] = "slate-class";
    const size_t klen = sizeof(key) - 1;
    const char *p = baggage;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *q = p + klen;
        if (len > klen && strncmp(p, key, klen) == 0) {
            const char *stop = p + len;
            while (q < stop && (*q == ' ' || *q == '\t'))
                q++;
            if (q < stop && *q == '=') {
                q++;
                while (q < stop && (*q == ' ' || *q == '\t'))
                    q++;
                size_t n = 0;
                while (q + n < stop && q[n] != ';' && q[n] != ' ' && q[n] != '\t')
                    n++;
                if (n == 0 || n >= cap)
                    return -1;
                memcpy(out, q, n);
                out[n] = '\0';
                return 0;
            }
        }
        p += len;
    }
    return -1;
}

/* |n| hex characters (either case) into lowercase |out|, zero-padded on the
 * left to 32; the id must not be all zeros. */
static int b3_id(const char *s, size_t n, char out[33])
{
    if (n != 16 && n != 32)
        return -1;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!lowhex(c))
            return -1;
        nonzero |= c != '0';
        out[32 - n + i] = c;
    }
    if (!nonzero)
        return -1;
    memset(out, '0', 32 - n);
    out[32] = '\0';
    return 0;
}

int slate_b3_trace_id(const char *b3, const char *x_b3_trace_id, char trace_id[33])
{
    if (b3) {
        size_t n = strnlen(b3, 256);
        const char *dash = memchr(b3, '-', n);
        if (dash && b3_id(b3, (size_t)(dash - b3), trace_id) == 0)
            return 0;
    }
    if (x_b3_trace_id)
        return b3_id(x_b3_trace_id, strnlen(x_b3_trace_id, 64), trace_id);
    return -1;
}

void slate_traceparent_continue(slate_rng *rng, const char trace_id[33], char out[56])
{
    uint64_t c = slate_rng_next(rng);
    if (c == 0)
        c = 1;
    traceparent_format(out, trace_id, c);
}
