/*
 * The upstream side of h2c: one multiplexed nghttp2 client session per
 * upstream endpoint, opened with prior knowledge (the client preface on a
 * plain TCP connection) the first time a stream goes there and reused by
 * every later stream until it fails or the upstream sends GOAWAY. A session
 * that fails fails each of its streams (h2_stream_upstream_failed: retry,
 * 502/504 or reset). See h2_stream.h for ownership and flow control.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "sidecar/h2_stream.h"

/* ---- the session's stream table (by stream id) ------------------------------------ */

static size_t bucket_of(int32_t id)
{
    return ((uint32_t)id >> 1) % SLATE_H2_UP_BUCKETS; /* client stream ids are odd */
}

static h2_stream *up_find(const h2_up *u, int32_t id)
{
    for (h2_stream *s = u->table[bucket_of(id)]; s; s = s->up_hnext)
        if (s->up_id == id)
            return s;
    return NULL;
}

static void up_insert(h2_up *u, h2_stream *s)
{
    size_t b = bucket_of(s->up_id);
    s->up_hnext = u->table[b];
    u->table[b] = s;
    u->n_streams++;
}

static void up_remove(h2_up *u, h2_stream *s)
{
    for (h2_stream **pp = &u->table[bucket_of(s->up_id)]; *pp; pp = &(*pp)->up_hnext)
        if (*pp == s) {
            *pp = s->up_hnext;
            s->up_hnext = NULL;
            u->n_streams--;
            return;
        }
}

static h2_stream *up_any(const h2_up *u)
{
    for (size_t b = 0; b < SLATE_H2_UP_BUCKETS; b++)
        if (u->table[b])
            return u->table[b];
    return NULL;
}

static void up_kick(h2_up *u)
{
    h2_kick(u->flush_ev);
}

/* The session takes no new streams: the next one to its endpoint opens a
 * new session. */
static void up_retire(h2_up *u)
{
    if (u->retired)
        return;
    u->retired = 1;
    if (u->ep->h2 == u)
        u->ep->h2 = NULL;
}

/* ---- lifecycle -------------------------------------------------------------------- */

void h2_up_free(h2_up *u)
{
    slate_h2 *h = u->h2;
    up_retire(u);
    for (h2_stream *s; (s = up_any(u));) {
        up_remove(u, s);
        s->up = NULL;
        s->up_id = -1;
    }
    nghttp2_session_del(u->session);
    if (u->bev)
        bufferevent_free(u->bev);
    if (u->flush_ev)
        event_free(u->flush_ev);
    if (u->prev)
        u->prev->next = u->next;
    else
        h->ups = u->next;
    if (u->next)
        u->next->prev = u->prev;
    free(u);
}

/* The session is unusable: each of its streams fails with |why| (retried
 * elsewhere when possible), then the session is freed. */
static void up_fail(h2_up *u, h2_failure why)
{
    slate_proxy *p = u->h2->p;
    up_retire(u);
    SLATE_DEBUG("event=h2_upstream_failed endpoint=%s:%u streams=%zu why=%d", u->ep->host,
                u->ep->port, u->n_streams, (int)why);
    if (u->n_streams)
        slate_px_endpoint_eject(p, u->ep);
    for (h2_stream *s; (s = up_any(u));) {
        h2_up_detach(s, 0, 0);
        h2_stream_upstream_failed(s, why);
    }
    h2_up_free(u);
}

/* Bytes that were not an HTTP/2 server's SETTINGS: not an h2c server. A
 * close without a byte is a lost connection (e.g. a listener shutting down). */
static h2_failure session_failure(const h2_up *u)
{
    return u->got_bytes && !u->got_settings ? H2_FAIL_PREFACE : H2_FAIL_LOST;
}

/* Produces output while the socket keeps up; ends the session when it is
 * done. Returns -1 when |u| was freed. */
static int up_flush(h2_up *u)
{
    struct evbuffer *out = bufferevent_get_output(u->bev);
    while (evbuffer_get_length(out) < SLATE_PROXY_HIGH_WATER) {
        const uint8_t *data = NULL;
        ssize_t n = nghttp2_session_mem_send(u->session, &data);
        if (n < 0) {
            up_fail(u, session_failure(u));
            return -1;
        }
        if (n == 0)
            break;
        evbuffer_add(out, data, (size_t)n);
    }
    if (!nghttp2_session_want_read(u->session) && !nghttp2_session_want_write(u->session)) {
        if (u->n_streams)
            up_fail(u, session_failure(u));
        else
            h2_up_free(u);
        return -1;
    }
    if (u->retired && u->n_streams == 0 && evbuffer_get_length(out) == 0) {
        h2_up_free(u);
        return -1;
    }
    return 0;
}

static void up_read(struct bufferevent *bev, void *arg)
{
    h2_up *u = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    u->got_bytes |= evbuffer_get_length(in) > 0;
    while (evbuffer_get_length(in) > 0) {
        size_t n = evbuffer_get_contiguous_space(in);
        const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
        ssize_t used = nghttp2_session_mem_recv(u->session, data, n);
        if (used < 0) {
            SLATE_DEBUG("event=h2_upstream_recv_failed error=\"%s\"", nghttp2_strerror((int)used));
            up_fail(u, session_failure(u));
            return;
        }
        evbuffer_drain(in, (size_t)used);
    }
    up_flush(u);
}

static void up_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    up_flush(arg);
}

static void up_event(struct bufferevent *bev, short what, void *arg)
{
    h2_up *u = arg;
    if (what & BEV_EVENT_CONNECTED) {
        u->connected = 1;
        bufferevent_set_timeouts(bev, NULL, NULL); /* streams time out on their own */
        slate_px_no_delay(bufferevent_getfd(bev));
        up_flush(u);
        return;
    }
    if (!u->connected) {
        up_fail(u, (what & BEV_EVENT_TIMEOUT) ? H2_FAIL_TIMEOUT : H2_FAIL_CONNECT);
        return;
    }
    if (u->n_streams == 0) {
        h2_up_free(u); /* an idle session closed by the upstream */
        return;
    }
    up_fail(u, session_failure(u));
}

static void on_up_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    up_flush(arg);
}

static h2_up *up_new(slate_h2 *h, slate_px_endpoint *ep)
{
    slate_proxy *p = h->p;
    const slate_proxy_config *cfg = slate_px_config(p);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(ep->port)};
    if (inet_pton(AF_INET, ep->host, &sa.sin_addr) != 1)
        return NULL;
    h2_up *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->h2 = h;
    u->ep = ep;
    u->next = h->ups;
    if (h->ups)
        h->ups->prev = u;
    h->ups = u;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SLATE_H2_STREAM_WINDOW}};
    double ct = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : cfg->request_timeout_s;
    struct timeval connect_tv = {.tv_sec = (time_t)ct, .tv_usec = (suseconds_t)(fmod(ct, 1) * 1e6)};
    u->flush_ev = event_new(slate_px_base(p), -1, 0, on_up_flush, u);
    u->bev = bufferevent_socket_new(slate_px_base(p), -1, BEV_OPT_CLOSE_ON_FREE);
    if (!u->flush_ev || !u->bev ||
        nghttp2_session_client_new2(&u->session, h->client_cbs, u, h->opt) != 0 ||
        nghttp2_submit_settings(u->session, NGHTTP2_FLAG_NONE, settings,
                                sizeof(settings) / sizeof(settings[0])) != 0 ||
        nghttp2_session_set_local_window_size(u->session, NGHTTP2_FLAG_NONE, 0,
                                              SLATE_H2_CONN_WINDOW) != 0) {
        h2_up_free(u);
        return NULL;
    }
    bufferevent_setcb(u->bev, up_read, up_write, up_event, u);
    bufferevent_set_timeouts(u->bev, NULL, &connect_tv); /* the write timeout bounds connect */
    bufferevent_setwatermark(u->bev, EV_WRITE, SLATE_PROXY_HIGH_WATER / 2, 0);
    bufferevent_enable(u->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        h2_up_free(u);
        return NULL;
    }
    ep->h2 = u;
    slate_px_stats(p)->upstream_conns_opened++;
    return u;
}

/* ---- streams ---------------------------------------------------------------------- */

/* The upstream provider: request body bytes as the client sent them, then
 * the end of the stream or the trailers. */
static ssize_t request_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)source;
    h2_up *u = user_data;
    h2_stream *s = up_find(u, stream_id);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t have = evbuffer_get_length(s->req_body);
    size_t n = have < length ? have : length;
    if (n) {
        evbuffer_remove(s->req_body, buf, n);
        s->req_sent += n;
        h2_stream_request_consumed(s, n);
        h2_stream_touch(s);
    }
    if (n == have && s->req_eof) {
        h2_end_body(session, stream_id, &s->req_trailers, data_flags);
        return (ssize_t)n;
    }
    if (n == 0)
        return NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

static nghttp2_nv make_nv(const char *name, const char *value)
{
    return (nghttp2_nv){.name = (uint8_t *)(uintptr_t)name,
                        .value = (uint8_t *)(uintptr_t)value,
                        .namelen = strlen(name),
                        .valuelen = strlen(value),
                        .flags = NGHTTP2_NV_FLAG_NONE};
}

int h2_up_submit(h2_stream *s, h2_failure *why)
{
    slate_h2 *h = s->down->h2;
    slate_px_endpoint *ep = s->route.ep;
    const slate_px_route *r = &s->route;
    h2_up *u = ep->h2;
    if (u && !nghttp2_session_check_request_allowed(u->session)) {
        up_retire(u); /* GOAWAY went either way: finish its streams, take no more */
        up_kick(u);
        u = NULL;
    }
    if (u) {
        slate_px_stats(h->p)->upstream_reuses++;
    } else if (!(u = up_new(h, ep))) {
        *why = H2_FAIL_CONNECT;
        return -1;
    }
    /* Pseudo-headers first, as received; :authority from Host when the
     * client sent only that; baggage carries the class when classified here. */
    const char *authority = h2_fields_get(&s->req, ":authority");
    const char *host = h2_fields_get(&s->req, "host");
    const char *bag = h2_fields_get(&s->req, "baggage");
    char *class_bag = NULL;
    nghttp2_nv *nv = malloc((s->req.n + 3) * sizeof(*nv));
    if (!nv) {
        *why = H2_FAIL_SUBMIT;
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->req.n; i++)
        if (s->req.v[i].name[0] == ':')
            nv[n++] = s->req.v[i];
    if (!authority && host)
        nv[n++] = make_nv(":authority", host);
    for (size_t i = 0; i < s->req.n; i++) {
        const nghttp2_nv *f = &s->req.v[i];
        const char *name = (const char *)f->name;
        if (name[0] == ':' || h2_field_hop(f) || strcmp(name, "host") == 0 ||
            (r->class_baggage[0] && strcmp(name, "baggage") == 0))
            continue;
        nv[n++] = *f;
    }
    if (r->class_baggage[0]) {
        size_t len = strlen(r->class_baggage) + (bag ? strlen(bag) + 1 : 0) + 1;
        class_bag = malloc(len);
        if (class_bag) {
            snprintf(class_bag, len, "%s%s%s", r->class_baggage, bag ? "," : "", bag ? bag : "");
            nv[n++] = make_nv("baggage", class_bag);
        }
    }
    if (r->add_traceparent[0])
        nv[n++] = make_nv("traceparent", r->add_traceparent);
    nghttp2_data_provider body = {.read_callback = request_read};
    int no_body = s->req_eof && evbuffer_get_length(s->req_body) == 0 && s->req_trailers.n == 0;
    int32_t id = nghttp2_submit_request(u->session, NULL, nv, n, no_body ? NULL : &body, NULL);
    free(nv);
    free(class_bag);
    if (id < 0) {
        SLATE_DEBUG("event=h2_submit_failed error=\"%s\"", nghttp2_strerror(id));
        *why = H2_FAIL_SUBMIT;
        up_kick(u);
        return -1;
    }
    s->up = u;
    s->up_id = id;
    up_insert(u, s);
    ep->outstanding++;
    h2_stream_touch(s);
    up_kick(u);
    return 0;
}

void h2_up_request_data(h2_stream *s)
{
    if (!s->up)
        return;
    nghttp2_session_resume_data(s->up->session, s->up_id); /* fails harmlessly if not deferred */
    up_kick(s->up);
}

void h2_up_response_consumed(h2_stream *s, size_t n)
{
    if (!s->up)
        return; /* released to the connection window when it was detached */
    nghttp2_session_consume(s->up->session, s->up_id, n);
    up_kick(s->up);
}

void h2_up_detach(h2_stream *s, int rst, uint32_t rst_code)
{
    h2_up *u = s->up;
    if (!u)
        return;
    if (rst)
        nghttp2_submit_rst_stream(u->session, NGHTTP2_FLAG_NONE, s->up_id, rst_code);
    /* Response bytes still buffered here no longer hold the connection window
     * (the stream window they came through bounds them). */
    size_t unread = evbuffer_get_length(s->resp_body);
    if (unread)
        nghttp2_session_consume_connection(u->session, unread);
    up_remove(u, s);
    s->up = NULL;
    s->up_id = -1;
    u->ep->outstanding--;
    up_kick(u);
}

/* ---- client session callbacks ----------------------------------------------------- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2_stream *s = up_find(user_data, frame->hd.stream_id);
    if (!s)
        return 0;
    h2_fields *f = s->resp_final ? &s->resp_trailers : &s->resp;
    if (h2_fields_add(f, name, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static void response_head(h2_up *u, h2_stream *s, const nghttp2_frame *frame)
{
    if (s->resp.overflow) {
        slate_px_endpoint_result(u->h2->p, u->ep, 502);
        h2_up_detach(s, 1, NGHTTP2_INTERNAL_ERROR);
        h2_stream_upstream_failed(s, H2_FAIL_BAD);
        return;
    }
    const char *status = h2_fields_get(&s->resp, ":status");
    int code = status ? atoi(status) : 0; /* nghttp2 checked: 3 digits */
    if (code >= 100 && code < 200) {
        h2_stream_response_interim(s);
        h2_fields_clear(&s->resp);
        return;
    }
    s->resp_final = 1;
    s->status = code;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        s->resp_eof = 1;
    h2_stream_response_head(s);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    h2_up *u = user_data;
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        u->got_settings = 1;
        return 0;
    }
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        up_retire(u); /* nghttp2 closes the streams it will not answer */
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    h2_stream *s = up_find(u, frame->hd.stream_id);
    if (!s)
        return 0;
    h2_stream_touch(s);
    if (frame->hd.type == NGHTTP2_HEADERS && !s->resp_final) {
        response_head(u, s, frame);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_HEADERS && s->resp_trailers.overflow)
        h2_fields_clear(&s->resp_trailers); /* over the limits: dropped */
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        s->resp_eof = 1;
    if (s->resp_eof)
        h2_stream_untouch(s);
    h2_stream_response_data(s);
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    h2_stream *s = up_find(user_data, stream_id);
    if (!s) {
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    if (evbuffer_add(s->resp_body, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->resp_bytes += len;
    h2_stream_response_data(s);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    h2_up *u = user_data;
    h2_stream *s = up_find(u, stream_id);
    if (!s)
        return 0;
    slate_proxy *p = u->h2->p;
    slate_px_endpoint *ep = u->ep;
    h2_up_detach(s, 0, 0);
    h2_stream_untouch(s);
    if (s->resp_eof) {
        slate_px_endpoint_result(p, ep, s->status);
        if (!s->req_eof) {
            /* Answered before the request ended: the rest of it goes nowhere. */
            s->req_discard = 1;
            size_t unread = evbuffer_get_length(s->req_body);
            evbuffer_drain(s->req_body, unread);
            if (unread)
                h2_stream_request_consumed(s, unread);
        }
        return 0;
    }
    if (error_code == NGHTTP2_REFUSED_STREAM && !s->resp_final && s->req_sent == 0 && !s->resent) {
        /* Not processed (an idle session's GOAWAY crossed it): safe to send
         * again whatever the method, once. */
        h2_stream_resend(s);
        return 0;
    }
    SLATE_DEBUG("event=h2_upstream_stream_reset endpoint=%s:%u error=%u", ep->host, ep->port,
                error_code);
    slate_px_endpoint_result(p, ep, 502);
    h2_stream_upstream_failed(s, H2_FAIL_RESET);
    return 0;
}

/* A request nghttp2 did not send (the session got or sent GOAWAY first): it
 * never opened a stream, so on_stream_close will not come. */
static int on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame,
                             int lib_error_code, void *user_data)
{
    (void)session;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *s = up_find(user_data, frame->hd.stream_id);
    if (!s)
        return 0;
    SLATE_DEBUG("event=h2_request_not_sent error=\"%s\"", nghttp2_strerror(lib_error_code));
    h2_up_detach(s, 0, 0);
    h2_stream_untouch(s);
    if (!s->resent && s->req_sent == 0)
        h2_stream_resend(s);
    else
        h2_stream_upstream_failed(s, H2_FAIL_LOST);
    return 0;
}

void h2_up_init_callbacks(nghttp2_session_callbacks *cbs)
{
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
}
