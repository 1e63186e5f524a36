/*
 * HTTP/2 internals shared by h2_server.c (downstream: clients that sent the
 * h2c preface, served by an nghttp2 server session) and h2_upstream.c (one
 * multiplexed nghttp2 client session per upstream endpoint). Only these two
 * files include it.
 *
 * One h2_stream is one request/response pair: a downstream stream and, while
 * the request is being forwarded, a stream on an upstream session. The
 * downstream connection owns it (freed when the downstream stream closes or
 * the connection ends); an upstream session only finds it by stream id in
 * its own table (never through nghttp2's stream user data), so cancelling
 * one side never leaves the other with a dangling pointer.
 *
 * Flow control is what bounds memory. Both sessions run without automatic
 * WINDOW_UPDATE: bytes received on one side are consumed (the window
 * reopened) only when the other side's data provider has taken them. A peer
 * can therefore have at most SLATE_H2_STREAM_WINDOW bytes per stream and
 * SLATE_H2_CONN_WINDOW per connection waiting here, and a session only
 * produces frames while its socket's output holds less than
 * SLATE_PROXY_HIGH_WATER bytes.
 *
 * Re-entrancy: nghttp2 callbacks of one session may change the other session
 * (submit, resume, consume) but never run its I/O; they kick it (an event
 * made active), and its output is produced from the event loop.
 */
#ifndef SLATE_SIDECAR_H2_STREAM_H
#define SLATE_SIDECAR_H2_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "sidecar/h2_int.h"

#define SLATE_H2_STREAM_WINDOW (256 * 1024)  /* bytes, advertised per stream, both sides */
#define SLATE_H2_CONN_WINDOW   (1024 * 1024) /* bytes, advertised per connection */
#define SLATE_H2_MAX_STREAMS   256           /* concurrent streams a client may open */
#define SLATE_H2_UP_BUCKETS    256           /* stream table of an upstream session */

/* Header fields of one header block: name and value NUL-terminated, in one
 * allocation per field owned here; at most SLATE_PROXY_MAX_HEADERS fields and
 * SLATE_PROXY_MAX_HEADER_BYTES bytes (beyond: |overflow|, the rest dropped). */
typedef struct h2_fields {
    nghttp2_nv *v;
    size_t n, cap, bytes;
    int overflow;
} h2_fields;

void h2_fields_clear(h2_fields *f);
/* Copies the field in. 0, or -1 when out of memory. */
int h2_fields_add(h2_fields *f, const uint8_t *name, size_t namelen, const uint8_t *value,
                  size_t valuelen);
/* The first value of |name| (lowercase), borrowed, or NULL. */
const char *h2_fields_get(const h2_fields *f, const char *name);

typedef struct h2_down h2_down;
typedef struct slate_h2_upstream h2_up;
typedef struct h2_stream h2_stream;

/* Why forwarding a stream failed before its response began. */
typedef enum h2_failure {
    H2_FAIL_CONNECT, /* connection refused or failed */
    H2_FAIL_TIMEOUT, /* connect or stream inactivity timeout */
    H2_FAIL_PREFACE, /* the upstream answered something that is not HTTP/2 */
    H2_FAIL_LOST,    /* the session ended (EOF, GOAWAY, protocol error) */
    H2_FAIL_RESET,   /* the upstream reset the stream */
    H2_FAIL_BAD,     /* the upstream's response head was over the limits */
    H2_FAIL_SUBMIT   /* the request could not be submitted */
} h2_failure;

struct h2_stream {
    slate_proxy *p;
    h2_down *down; /* owner */
    int32_t down_id;
    h2_up *up; /* the upstream session carrying it now, or NULL */
    int32_t up_id;
    h2_stream *up_hnext; /* chain in up's stream table */
    slate_px_route route;
    int routed; /* route decided: telemetry must be ended */
    h2_fields req, req_trailers, resp, resp_trailers;
    struct evbuffer *req_body, *resp_body; /* not yet taken by the other side */
    int req_eof;                           /* the client ended the request */
    int req_discard; /* no upstream will take more request bytes: consume and drop */
    int resp_final;  /* the final (non-1xx) response head arrived */
    int resp_eof;    /* the response is complete (upstream END_STREAM or a local reply) */
    int resp_submitted;
    int local_reply; /* answered here, not by an upstream */
    int retried, waiting_wan;
    int resent; /* sent again after the upstream refused it unprocessed */
    int status;
    uint64_t req_bytes, resp_bytes; /* body bytes received from each side */
    uint64_t req_sent;              /* request body bytes taken by an upstream */
    struct event *timer;            /* WAN emulation delay, then per-stream inactivity timeout */
    h2_stream *prev, *next;         /* in down's list */
};

struct h2_down {
    slate_h2 *h2;
    struct bufferevent *bev;
    nghttp2_session *session;
    int inbound;
    int closing;   /* the session is done: linger once the output is written */
    int lingering; /* half-closed, discarding input until the client closes */
    h2_stream *streams;
    struct event *flush_ev;
    h2_down *prev, *next;
};

struct slate_h2_upstream {
    slate_h2 *h2;
    slate_px_endpoint *ep;
    int retired; /* no longer ep->h2: takes no new streams */
    struct bufferevent *bev;
    nghttp2_session *session;
    int connected, got_bytes, got_settings;
    size_t n_streams;
    h2_stream *table[SLATE_H2_UP_BUCKETS];
    struct event *flush_ev;
    h2_up *prev, *next;
};

struct slate_h2 {
    slate_proxy *p;
    h2_down *downs;
    h2_up *ups;
    nghttp2_session_callbacks *server_cbs, *client_cbs;
    nghttp2_option *opt;
};

/* ---- h2_server.c, called by h2_upstream.c ---- */
/* The upstream's response head (s->resp) is complete: send it downstream. */
void h2_stream_response_head(h2_stream *s);
/* A 1xx interim head (s->resp) arrived: pass it on. */
void h2_stream_response_interim(h2_stream *s);
/* Response bytes or its end arrived: let the downstream provider run. */
void h2_stream_response_data(h2_stream *s);
/* |n| request body bytes were taken by the upstream: reopen the window. */
void h2_stream_request_consumed(h2_stream *s, size_t n);
/* Forwarding failed: retry, answer 502/504, or reset the downstream stream
 * when the response had begun. |s| is detached from any upstream. */
void h2_stream_upstream_failed(h2_stream *s, h2_failure why);
/* The upstream refused the stream unprocessed (REFUSED_STREAM, or above a
 * GOAWAY's last stream id) before any body byte went: send it again to the
 * same endpoint, on a new session when that one is going away. */
void h2_stream_resend(h2_stream *s);
/* (Re)arms the per-stream inactivity timeout. */
void h2_stream_touch(h2_stream *s);
void h2_stream_untouch(h2_stream *s);

/* ---- h2_upstream.c, called by h2_server.c ---- */
void h2_up_init_callbacks(nghttp2_session_callbacks *cbs);
/* Sends |s| to s->route.ep on its session (opening one). 0, or -1 (|s| is
 * untouched; the caller fails it with H2_FAIL_SUBMIT or H2_FAIL_CONNECT). */
int h2_up_submit(h2_stream *s, h2_failure *why);
/* Request bytes or the request's end arrived: let the upstream provider run. */
void h2_up_request_data(h2_stream *s);
/* |n| response bytes were taken downstream: reopen the upstream window. */
void h2_up_response_consumed(h2_stream *s, size_t n);
/* Detaches |s| from its upstream stream; resets that stream with |rst_code|
 * when |rst| is set. No-op when not attached. */
void h2_up_detach(h2_stream *s, int rst, uint32_t rst_code);
/* Frees a session and its socket; its streams must be detached already
 * (proxy teardown). */
void h2_up_free(h2_up *u);

/* Makes a session's flush event active (output is produced from the loop). */
void h2_kick(struct event *flush_ev);
/* 1 when the field must not be forwarded: hop-by-hop ("te" passes only as
 * "trailers", which gRPC sends). */
int h2_field_hop(const nghttp2_nv *nv);
/* Copies the fields of |f| fit to forward (no hop-by-hop headers; "te" only
 * as "trailers"; no pseudo-headers when |trailers|) into |out| (capacity
 * f->n + |extra|). Returns the count. */
size_t h2_fields_forward(const h2_fields *f, nghttp2_nv *out, int trailers);
/* At the end of a body (a data source's last read): submits |trailers|
 * (when any survive h2_fields_forward) on |stream_id|, and then the trailers'
 * HEADERS frame ends the stream instead of the DATA frame (|*data_flags|). */
void h2_end_body(nghttp2_session *session, int32_t stream_id, const h2_fields *trailers,
                 uint32_t *data_flags);

#endif
