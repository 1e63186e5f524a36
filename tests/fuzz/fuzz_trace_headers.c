/*
 * libFuzzer harness for the trace-context and baggage readers
 * (sidecar/trace.h): any header value is accepted or rejected, never read
 * past its end; an accepted traceparent yields 32 lowercase hex characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    if (!v)
        return 0;
    memcpy(v, data, size);
    v[size] = '\0';
    char trace[33], klass[129];
    if (slate_traceparent_parse(v, trace) == 0) {
        if (strlen(trace) != 32 || strspn(trace, "0123456789abcdef") != 32)
            abort();
    }
    if (slate_baggage_class(v, klass, sizeof(klass)) == 0) {
        size_t n = strlen(klass);
        if (n == 0 || n >= sizeof(klass) || strpbrk(klass, ",; \t"))
            abort();
    }
    free(v);
    return 0;
}
