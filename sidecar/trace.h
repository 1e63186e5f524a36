/*
 * W3C trace context and baggage, the parts the sidecar and the demo
 * services need: read the trace id of a `traceparent`, start a new one, and
 * read or set the `slate-class` member of `baggage` (DESIGN.md section 6).
 * Values come from other processes: every function bounds its input and
 * rejects malformed values rather than guessing.
 */
#ifndef SLATE_SIDECAR_TRACE_H
#define SLATE_SIDECAR_TRACE_H

#include <stddef.h>

#include "common/rng.h"

#define SLATE_BAGGAGE_MAX 8192 /* bytes, as the W3C baggage spec allows at least */

/*
 * Parses a traceparent "00-<32 hex trace id>-<16 hex parent id>-<2 hex
 * flags>" (lowercase hex; ids not all zero; version ff invalid; a future
 * version may carry more fields after a '-'). Copies the trace id into
 * |trace_id| (33 bytes, NUL-terminated). Returns 0, or -1 if malformed.
 */
int slate_traceparent_parse(const char *value, char trace_id[33]);

/* Writes a new sampled traceparent (55 characters + NUL) with random ids
 * into |out| and its trace id into |trace_id|. */
void slate_traceparent_new(slate_rng *rng, char out[56], char trace_id[33]);

/*
 * Reads the trace id of B3 propagation: the single `b3` header
 * ("<trace id>-<span id>[-<sampled>[-<parent>]]", or just "0"/"1"/"d" with no
 * ids) or the `X-B3-TraceId` header; a 64-bit (16 hex) id is left-padded
 * with zeros to 128 bits. Copies 32 lowercase hex characters into
 * |trace_id|. Returns 0, or -1 when absent or malformed. Either argument may
 * be NULL.
 */
int slate_b3_trace_id(const char *b3, const char *x_b3_trace_id, char trace_id[33]);

/* Writes a traceparent (55 characters + NUL) continuing |trace_id| with a
 * new random parent id. */
void slate_traceparent_continue(slate_rng *rng, const char trace_id[33], char out[56]);

/*
 * Finds the "slate-class" member of a baggage value ("k=v;props,k2=v2")
 * and copies its value (at most |cap| - 1 bytes) into |out|. Returns 0, or
 * -1 when absent, empty, too long, or the header is over SLATE_BAGGAGE_MAX.
 */
int slate_baggage_class(const char *baggage, char *out, size_t cap);

#endif
