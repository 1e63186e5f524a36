/* "HOST:PORT" parsing; see hostport.h. */
#include "common/hostport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int slate_hostport_parse(const char *arg, char *host, size_t cap, uint16_t *port)
{
    const char *colon = arg ? strrchr(arg, ':') : NULL;
    if (!colon || colon == arg || (size_t)(colon - arg) >= cap)
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
        return -1;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    *port = (uint16_t)p;
    return 0;
}
