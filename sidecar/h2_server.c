/*
 * The downstream side of h2c: a connection whose first bytes were the HTTP/2
 * client preface is served by an nghttp2 server session. Each stream is one
 * request, routed like an HTTP/1.1 request (slate_px_route_request) and
 * forwarded on an upstream HTTP/2 session (h2_upstream.c). See h2_stream.h
 * for ownership, flow control and re-entrancy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "sidecar/h2_stream.h"

/* ---- header fields ---------------------------------------------------------------- */

void h2_fields_clear(h2_fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].name); /* the value lives in the same allocation */
    free(f->v);
    memset(f, 0, sizeof(*f));
}

int h2_fields_add(h2_fields *f, const uint8_t *name, size_t namelen, const uint8_t *value,
                  size_t valuelen)
{
    f->bytes += namelen + valuelen;
    if (f->overflow || f->n == SLATE_PROXY_MAX_HEADERS || f->bytes > SLATE_PROXY_MAX_HEADER_BYTES) {
        f->overflow = 1;
        return 0;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        nghttp2_nv *v = realloc(f->v, cap * sizeof(*v));
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    uint8_t *mem = malloc(namelen + valuelen + 2);
    if (!mem)
        return -1;
    memcpy(mem, name, namelen);
    mem[namelen] = '\0';
    memcpy(mem + namelen + 1, value, valuelen);
    mem[namelen + 1 + valuelen] = '\0';
    f->v[f->n++] = (nghttp2_nv){.name = mem,
                                .value = mem + namelen + 1,
                                .namelen = namelen,
                                .valuelen = valuelen,
                                .flags = NGHTTP2_NV_FLAG_NONE};
    return 0;
}

const char *h2_fields_get(const h2_fields *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp((const char *)f->v[i].name, name) == 0)
            return (const char *)f->v[i].value;
    return NULL;
}

int h2_field_hop(const nghttp2_nv *nv)
{
    const char *name = (const char *)nv->name;
    if (strcmp(name, "te") == 0)
        return strcmp((const char *)nv->value, "trailers") != 0;
    return slate_px_hop_by_hop(name);
}

size_t h2_fields_forward(const h2_fields *f, nghttp2_nv *out, int trailers)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        if (!(trailers && f->v[i].name[0] == ':') && !h2_field_hop(&f->v[i]))
            out[n++] = f->v[i];
    return n;
}

void h2_end_body(nghttp2_session *session, int32_t stream_id, const h2_fields *trailers,
                 uint32_t *data_flags)
{
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!trailers->n)
        return;
    nghttp2_nv *nv = malloc(trailers->n * sizeof(*nv));
    size_t k = nv ? h2_fields_forward(trailers, nv, 1) : 0;
    if (k && nghttp2_submit_trailer(session, stream_id, nv, k) == 0)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    free(nv);
}

void h2_kick(struct event *flush_ev)
{
    event_active(flush_ev, EV_TIMEOUT, 1); /* once per loop turn however often kicked */
}

int slate_h2_preface_match(const unsigned char *data, size_t len)
{
    size_t n = len < SLATE_H2_PREFACE_LEN ? len : SLATE_H2_PREFACE_LEN;
    if (memcmp(data, SLATE_H2_PREFACE, n) != 0)
        return -1;
    return n == SLATE_H2_PREFACE_LEN ? 1 : 0;
}

/* ---- streams ---------------------------------------------------------------------- */

static void down_kick(h2_down *c)
{
    h2_kick(c->flush_ev);
}

static void on_stream_timer(evutil_socket_t fd, short what, void *arg);

static h2_stream *stream_new(h2_down *c, int32_t id)
{
    slate_proxy *p = c->h2->p;
    h2_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->p = p;
    s->down = c;
    s->down_id = id;
    s->up_id = -1;
    s->req_body = evbuffer_new();
    s->resp_body = evbuffer_new();
    s->timer = evtimer_new(slate_px_base(p), on_stream_timer, s);
    if (!s->req_body || !s->resp_body || !s->timer) {
        if (s->req_body)
            evbuffer_free(s->req_body);
        if (s->resp_body)
            evbuffer_free(s->resp_body);
        if (s->timer)
            event_free(s->timer);
        free(s);
        return NULL;
    }
    s->next = c->streams;
    if (c->streams)
        c->streams->prev = s;
    c->streams = s;
    slate_px_inflight_add(p, 1);
    return s;
}

/* Ends |s|: detaches the upstream side, records telemetry, gives unread
 * request bytes back to the connection window (unless the session is being
 * deleted) and frees it. */
static void stream_free(h2_stream *s, int session_alive)
{
    h2_down *c = s->down;
    slate_proxy *p = s->p;
    h2_up_detach(s, 1, NGHTTP2_CANCEL);
    if (s->routed) {
        int ok = s->resp_eof && !s->local_reply;
        slate_px_account(p, &s->route, ok ? s->status : 0, s->req_bytes, s->resp_bytes);
    }
    size_t unread = evbuffer_get_length(s->req_body);
    if (session_alive && unread)
        nghttp2_session_consume_connection(c->session, unread);
    event_free(s->timer);
    evbuffer_free(s->req_body);
    evbuffer_free(s->resp_body);
    h2_fields_clear(&s->req);
    h2_fields_clear(&s->req_trailers);
    h2_fields_clear(&s->resp);
    h2_fields_clear(&s->resp_trailers);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    slate_px_inflight_add(p, -1);
    free(s);
}

void h2_stream_touch(h2_stream *s)
{
    double t = slate_px_config(s->p)->request_timeout_s;
    struct timeval tv = {.tv_sec = (time_t)t, .tv_usec = (suseconds_t)(fmod(t, 1) * 1e6)};
    evtimer_add(s->timer, &tv);
}

void h2_stream_untouch(h2_stream *s)
{
    evtimer_del(s->timer);
}

/* The downstream provider: response body bytes as the upstream delivered
 * them, then the end of the stream or the trailers. */
static ssize_t response_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                             size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                             void *user_data)
{
    (void)source;
    (void)user_data;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t have = evbuffer_get_length(s->resp_body);
    size_t n = have < length ? have : length;
    if (n) {
        evbuffer_remove(s->resp_body, buf, n);
        if (!s->local_reply)
            h2_up_response_consumed(s, n);
    }
    if (n == have && s->resp_eof) {
        h2_end_body(session, stream_id, &s->resp_trailers, data_flags);
        return (ssize_t)n;
    }
    if (n == 0)
        return NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

/* Submits s->resp (and s->resp_body as it fills) on the downstream stream. */
static void submit_response(h2_stream *s)
{
    h2_down *c = s->down;
    nghttp2_nv *nv = malloc((s->resp.n + 1) * sizeof(*nv));
    int rv = NGHTTP2_ERR_NOMEM;
    if (nv) {
        size_t n = h2_fields_forward(&s->resp, nv, 0);
        nghttp2_data_provider body = {.read_callback = response_read};
        int no_body =
            s->resp_eof && evbuffer_get_length(s->resp_body) == 0 && s->resp_trailers.n == 0;
        rv = nghttp2_submit_response(c->session, s->down_id, nv, n, no_body ? NULL : &body);
        free(nv);
    }
    s->resp_submitted = 1;
    if (rv != 0)
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->down_id,
                                  NGHTTP2_INTERNAL_ERROR);
    down_kick(c);
}

/* Answers the stream here (before any response byte went downstream). */
static void local_reply(h2_stream *s, int code, const char *text)
{
    char status[8], length[24];
    s->local_reply = 1;
    s->req_discard = 1;
    s->status = code;
    h2_fields_clear(&s->resp);
    h2_fields_clear(&s->resp_trailers);
    evbuffer_drain(s->resp_body, evbuffer_get_length(s->resp_body));
    evbuffer_add_printf(s->resp_body, "%s\n", text);
    snprintf(status, sizeof(status), "%d", code);
    snprintf(length, sizeof(length), "%zu", evbuffer_get_length(s->resp_body));
    if (h2_fields_add(&s->resp, (const uint8_t *)":status", 7, (const uint8_t *)status,
                      strlen(status)) != 0 ||
        h2_fields_add(&s->resp, (const uint8_t *)"content-type", 12, (const uint8_t *)"text/plain",
                      10) != 0 ||
        h2_fields_add(&s->resp, (const uint8_t *)"content-length", 14, (const uint8_t *)length,
                      strlen(length)) != 0) {
        nghttp2_submit_rst_stream(s->down->session, NGHTTP2_FLAG_NONE, s->down_id,
                                  NGHTTP2_INTERNAL_ERROR);
        down_kick(s->down);
        return;
    }
    s->resp_eof = 1;
    slate_px_stats(s->p)->responses_5xx_local += code >= 500;
    /* Bytes of a request body still buffered will not be forwarded. */
    size_t unread = evbuffer_get_length(s->req_body);
    if (unread) {
        evbuffer_drain(s->req_body, unread);
        nghttp2_session_consume(s->down->session, s->down_id, unread);
    }
    submit_response(s);
}

static void send_upstream(h2_stream *s)
{
    h2_failure why = H2_FAIL_SUBMIT;
    if (h2_up_submit(s, &why) != 0) {
        if (why == H2_FAIL_CONNECT)
            slate_px_endpoint_eject(s->p, s->route.ep);
        h2_stream_upstream_failed(s, why);
    }
}

/* Sends the request upstream now, or after the emulated WAN delay. */
static void start_upstream(h2_stream *s)
{
    double rtt = slate_px_wan_delay_ms(s->p, s->route.dst_cluster);
    if (rtt > 0) {
        /* EMULATION ONLY: both directions' one-way delay, before the send. */
        struct timeval tv = {.tv_sec = (time_t)(rtt / 1e3),
                             .tv_usec = (suseconds_t)(fmod(rtt, 1e3) * 1e3)};
        s->waiting_wan = 1;
        evtimer_add(s->timer, &tv);
        return;
    }
    send_upstream(s);
}

static void on_stream_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    h2_stream *s = arg;
    if (s->waiting_wan) {
        s->waiting_wan = 0;
        send_upstream(s);
        return;
    }
    if (!s->up)
        return;
    /* No upstream activity on this stream for the request timeout. */
    slate_px_endpoint *ep = s->route.ep;
    h2_up_detach(s, 1, NGHTTP2_CANCEL);
    if (!s->resp_final)
        slate_px_endpoint_eject(s->p, ep);
    h2_stream_upstream_failed(s, H2_FAIL_TIMEOUT);
    down_kick(s->down);
}

void h2_stream_upstream_failed(h2_stream *s, h2_failure why)
{
    h2_up_detach(s, 1, NGHTTP2_CANCEL);
    h2_stream_untouch(s);
    s->req_discard = 1;
    if (s->resp_submitted || s->resp_final) {
        /* Part of the response went out: the client must see the failure. */
        nghttp2_submit_rst_stream(s->down->session, NGHTTP2_FLAG_NONE, s->down_id,
                                  NGHTTP2_INTERNAL_ERROR);
        down_kick(s->down);
        return;
    }
    const char *method = h2_fields_get(&s->req, ":method");
    if (!s->retried && slate_px_idempotent(method) && s->req_eof && s->req_bytes == 0) {
        s->retried = 1;
        slate_px_stats(s->p)->retries++;
        slate_px_endpoint *next = slate_px_retry_endpoint(s->p, &s->route, s->route.ep);
        if (next) {
            s->route.ep = next;
            s->route.dst_cluster = next->cluster;
            s->req_discard = 0;
            start_upstream(s);
            return;
        }
    }
    switch (why) {
    case H2_FAIL_TIMEOUT:
        local_reply(s, 504, "upstream timed out");
        break;
    case H2_FAIL_PREFACE:
        local_reply(s, 502, "upstream refused the HTTP/2 preface (not an h2c server)");
        break;
    case H2_FAIL_RESET:
        local_reply(s, 502, "upstream reset the stream");
        break;
    case H2_FAIL_LOST:
        local_reply(s, 502, "upstream HTTP/2 connection lost");
        break;
    case H2_FAIL_BAD:
        local_reply(s, 502, "upstream response head too large");
        break;
    case H2_FAIL_SUBMIT:
        local_reply(s, 502, "request could not be sent upstream");
        break;
    case H2_FAIL_CONNECT:
    default:
        local_reply(s, 502, "upstream connection failed");
        break;
    }
}

void h2_stream_resend(h2_stream *s)
{
    s->resent = 1;
    start_upstream(s);
}

void h2_stream_response_head(h2_stream *s)
{
    submit_response(s);
}

void h2_stream_response_interim(h2_stream *s)
{
    nghttp2_nv *nv = malloc((s->resp.n + 1) * sizeof(*nv));
    if (!nv)
        return; /* an interim response is advisory */
    size_t n = h2_fields_forward(&s->resp, nv, 0);
    nghttp2_submit_headers(s->down->session, NGHTTP2_FLAG_NONE, s->down_id, NULL, nv, n, NULL);
    free(nv);
    down_kick(s->down);
}

void h2_stream_response_data(h2_stream *s)
{
    if (!s->resp_submitted)
        return;
    nghttp2_session_resume_data(s->down->session, s->down_id);
    down_kick(s->down);
}

void h2_stream_request_consumed(h2_stream *s, size_t n)
{
    nghttp2_session_consume(s->down->session, s->down_id, n);
    down_kick(s->down);
}

/* The request head is complete: route it and send it on. */
static void start_request(h2_stream *s)
{
    h2_down *c = s->down;
    if (s->req.overflow) {
        local_reply(s, 431, "request headers too large");
        return;
    }
    const char *method = h2_fields_get(&s->req, ":method");
    const char *path = h2_fields_get(&s->req, ":path");
    const char *authority = h2_fields_get(&s->req, ":authority");
    if (!authority)
        authority = h2_fields_get(&s->req, "host");
    if (!method || !path || strcmp(method, "CONNECT") == 0) {
        slate_px_stats(s->p)->bad_requests++;
        local_reply(s, 501, "CONNECT and requests without :path are not proxied");
        return;
    }
    slate_px_request rq = {.method = method,
                           .target = path,
                           .authority = authority,
                           .baggage = h2_fields_get(&s->req, "baggage"),
                           .traceparent = h2_fields_get(&s->req, "traceparent"),
                           .b3 = h2_fields_get(&s->req, "b3"),
                           .x_b3_traceid = h2_fields_get(&s->req, "x-b3-traceid")};
    const char *why = NULL;
    int code = slate_px_route_request(s->p, c->inbound, &rq, &s->route, &why);
    s->routed = 1;
    if (code != 0) {
        local_reply(s, code, why);
        return;
    }
    start_upstream(s);
}

/* ---- server session callbacks ----------------------------------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2_down *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *s = stream_new(c, frame->hd.stream_id);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream */
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    h2_fields *f = frame->headers.cat == NGHTTP2_HCAT_REQUEST ? &s->req : &s->req_trailers;
    if (h2_fields_add(f, name, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        s->req_eof = 1;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        start_request(s);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_HEADERS && s->req_trailers.overflow) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->down_id,
                                  NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
    }
    h2_up_request_data(s);
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s || s->req_discard) {
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    if (evbuffer_add(s->req_body, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->req_bytes += len;
    h2_up_request_data(s);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)error_code;
    (void)user_data;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s)
        stream_free(s, 1);
    return 0;
}

/* ---- downstream connections ------------------------------------------------------- */

static void down_free(h2_down *c)
{
    slate_h2 *h = c->h2;
    while (c->streams)
        stream_free(c->streams, 0);
    nghttp2_session_del(c->session);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->flush_ev)
        event_free(c->flush_ev);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->downs = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

static void linger_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    SLATE_DEBUG("event=h2_down_closed what=0x%x", (unsigned)what);
    down_free(arg); /* the client closed too, or the linger time is up */
}

/* Everything is written: half-close, then wait for the client to close
 * (reading and discarding, at most the idle timeout between reads). Closing
 * while the client still sends (WINDOW_UPDATEs as it reads) would make the
 * kernel answer with a reset, and a reset makes the client's kernel drop the
 * response bytes the client has not read yet. */
static void down_linger(h2_down *c)
{
    while (c->streams)
        stream_free(c->streams, 1);
    c->lingering = 1;
    struct timeval tv = {.tv_sec = (time_t)slate_px_config(c->h2->p)->idle_timeout_s};
    bufferevent_setcb(c->bev, linger_read, NULL, linger_event, c);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
}

/* Produces output while the socket keeps up; once the session is done and
 * its output written, closes the connection (lingering). */
static void down_flush(h2_down *c)
{
    if (c->lingering)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < SLATE_PROXY_HIGH_WATER) {
        const uint8_t *data = NULL;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            SLATE_DEBUG("event=h2_down_send_failed error=\"%s\"", nghttp2_strerror((int)n));
            down_free(c);
            return;
        }
        if (n == 0)
            break;
        evbuffer_add(out, data, (size_t)n);
    }
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
        /* GOAWAY exchanged and no stream left (or a protocol error). */
        c->closing = 1;
        if (evbuffer_get_length(out) == 0)
            down_linger(c);
    }
}

static void down_read(struct bufferevent *bev, void *arg)
{
    h2_down *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->closing) {
        evbuffer_drain(in, evbuffer_get_length(in)); /* the session reads no more */
        return;
    }
    while (!c->closing && evbuffer_get_length(in) > 0) {
        size_t n = evbuffer_get_contiguous_space(in);
        const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
        ssize_t used = nghttp2_session_mem_recv(c->session, data, n);
        if (used < 0) {
            /* Fatal for the session (flooding, out of memory): say so and
             * close once that is written. */
            SLATE_DEBUG("event=h2_down_recv_failed error=\"%s\"", nghttp2_strerror((int)used));
            slate_px_stats(c->h2->p)->bad_requests++;
            nghttp2_session_terminate_session(c->session, NGHTTP2_PROTOCOL_ERROR);
            evbuffer_drain(in, evbuffer_get_length(in));
            break;
        }
        evbuffer_drain(in, (size_t)used);
    }
    down_flush(c);
}

static void down_write(struct bufferevent *bev, void *arg)
{
    h2_down *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        down_linger(c);
        return;
    }
    down_flush(c);
}

static void down_event(struct bufferevent *bev, short what, void *arg)
{
    h2_down *c = arg;
    if ((what & BEV_EVENT_TIMEOUT) && !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        if (c->streams) {
            /* Idle only in reading: streams are still being answered. */
            bufferevent_enable(bev, EV_READ);
            return;
        }
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        down_flush(c);
        return;
    }
    down_free(c);
}

static void on_down_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    down_flush(arg);
}

void slate_h2_serve(slate_h2 *h, struct bufferevent *bev, int inbound)
{
    slate_proxy *p = h->p;
    h2_down *c = calloc(1, sizeof(*c));
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    c->h2 = h;
    c->bev = bev;
    c->inbound = inbound;
    c->next = h->downs;
    if (h->downs)
        h->downs->prev = c;
    h->downs = c;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, SLATE_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SLATE_H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, SLATE_PROXY_MAX_HEADER_BYTES}};
    c->flush_ev = event_new(slate_px_base(p), -1, 0, on_down_flush, c);
    if (!c->flush_ev || nghttp2_session_server_new2(&c->session, h->server_cbs, c, h->opt) != 0) {
        down_free(c);
        return;
    }
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
                                sizeof(settings) / sizeof(settings[0])) != 0 ||
        nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                              SLATE_H2_CONN_WINDOW) != 0) {
        down_free(c);
        return;
    }
    bufferevent_setcb(bev, down_read, down_write, down_event, c);
    bufferevent_setwatermark(bev, EV_WRITE, SLATE_PROXY_HIGH_WATER / 2, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    /* The preface and whatever followed it are already in the input. */
    down_read(bev, c);
}

/* ---- the proxy's HTTP/2 state ----------------------------------------------------- */

int slate_h2_new(slate_proxy *p, slate_h2 **out)
{
    slate_h2 *h = calloc(1, sizeof(*h));
    if (!h)
        return SLATE_ERR_NOMEM;
    h->p = p;
    if (nghttp2_session_callbacks_new(&h->server_cbs) != 0 ||
        nghttp2_session_callbacks_new(&h->client_cbs) != 0 || nghttp2_option_new(&h->opt) != 0) {
        slate_h2_free(h);
        return SLATE_ERR_NOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(h->server_cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(h->server_cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h->server_cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h->server_cbs, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(h->server_cbs, on_stream_close);
    h2_up_init_callbacks(h->client_cbs);
    /* Windows reopen only as bytes are forwarded (see h2_stream.h). */
    nghttp2_option_set_no_auto_window_update(h->opt, 1);
    *out = h;
    return SLATE_OK;
}

void slate_h2_free(slate_h2 *h)
{
    if (!h)
        return;
    while (h->downs)
        down_free(h->downs);
    while (h->ups)
        h2_up_free(h->ups);
    nghttp2_session_callbacks_del(h->server_cbs);
    nghttp2_session_callbacks_del(h->client_cbs);
    nghttp2_option_del(h->opt);
    free(h);
}

size_t slate_h2_connections(const slate_h2 *h)
{
    size_t n = 0;
    for (const h2_down *c = h->downs; c; c = c->next)
        n++;
    return n;
}

void slate_h2_drain(slate_h2 *h)
{
    for (h2_down *c = h->downs; c; c = c->next) {
        /* Streams up to the last one begun are still answered; the client
         * opens new ones elsewhere. */
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                              NULL, 0);
        down_kick(c);
    }
}
