/* "HOST:PORT" command-line values, parsed one way for every binary. */
#ifndef SLATE_COMMON_HOSTPORT_H
#define SLATE_COMMON_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Splits |arg| at its last ':' into |host| (copied, at most |cap| - 1
 * bytes, not empty) and |port| (0..65535; 0 lets the system choose).
 * Returns 0, or -1 when malformed or the host does not fit.
 */
int slate_hostport_parse(const char *arg, char *host, size_t cap, uint16_t *port);

#endif
