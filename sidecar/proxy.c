/* The HTTP/1.1 proxy, and the parts HTTP/2 shares with it (h2_int.h); see
 * proxy.h for what it does. */
#include "sidecar/proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <http_parser.h>

#include "common/err.h"
#include "common/log.h"
#include "sidecar/h2_int.h"
#include "sidecar/trace.h"

/* ---- message buffers and headers -------------------------------------------------- */

/* Capacity a msgbuf keeps between messages; a larger one (a rare huge head)
 * is freed when the message is done. */
#define MSGBUF_KEEP 8192u

/* A growable byte string whose capacity is reused from one message to the
 * next, so the steady state allocates nothing per request. NUL-terminated
 * after |len| once anything was added. */
typedef struct msgbuf {
    char *p; /* owned */
    size_t len, cap;
} msgbuf;

static int msgbuf_add(msgbuf *t, const void *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *g = realloc(t->p, cap);
        if (!g)
            return -1;
        t->p = g;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static int msgbuf_adds(msgbuf *t, const char *s)
{
    return msgbuf_add(t, s, strlen(s));
}

/* Appends |v| in decimal. */
static int msgbuf_add_uint(msgbuf *t, unsigned v)
{
    char digits[16];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return msgbuf_add(t, digits + i, sizeof(digits) - i);
}

static void msgbuf_reset(msgbuf *t)
{
    t->len = 0;
    if (t->cap > MSGBUF_KEEP) {
        free(t->p);
        t->p = NULL;
        t->cap = 0;
    } else if (t->p) {
        t->p[0] = '\0';
    }
}

static void msgbuf_cleanup(msgbuf *t)
{
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

#define HEADER_NONE UINT32_MAX

/* One header: offsets into its message's buffer (names and values there are
 * NUL-terminated once headers_end ran). */
typedef struct header {
    uint32_t name, name_len;
    uint32_t value, value_len; /* HEADER_NONE: no value piece came */
} header;

/* Headers of one message as http_parser delivers them (possibly in pieces),
 * copied into one msgbuf kept across the messages of a connection. */
typedef struct headers {
    header v[SLATE_PROXY_MAX_HEADERS];
    msgbuf buf;
    size_t n;
    size_t bytes; /* of names and values, bounded by SLATE_PROXY_MAX_HEADER_BYTES */
    int in_value; /* the last piece was a value */
    int overflow; /* too many or too large */
} headers;

/* Ready for the next message (keeps the buffer's capacity). */
static void headers_clear(headers *h)
{
    h->n = 0;
    h->bytes = 0;
    h->in_value = 0;
    h->overflow = 0;
    msgbuf_reset(&h->buf);
}

static void headers_cleanup(headers *h)
{
    msgbuf_cleanup(&h->buf);
}

static int headers_field(headers *h, const char *at, size_t len)
{
    h->bytes += len;
    if (h->bytes > SLATE_PROXY_MAX_HEADER_BYTES)
        h->overflow = 1;
    if (h->overflow)
        return 0;
    if (h->in_value || h->n == 0) {
        if (h->n == SLATE_PROXY_MAX_HEADERS) {
            h->overflow = 1;
            return 0;
        }
        if (h->n && msgbuf_add(&h->buf, "", 1) != 0) /* ends the previous value */
            return -1;
        header *f = &h->v[h->n++];
        f->name = (uint32_t)h->buf.len;
        f->name_len = 0;
        f->value = HEADER_NONE;
        f->value_len = 0;
        h->in_value = 0;
    }
    h->v[h->n - 1].name_len += (uint32_t)len;
    return msgbuf_add(&h->buf, at, len);
}

static int headers_value(headers *h, const char *at, size_t len)
{
    h->bytes += len;
    if (h->bytes > SLATE_PROXY_MAX_HEADER_BYTES)
        h->overflow = 1;
    if (h->overflow || h->n == 0)
        return 0;
    header *f = &h->v[h->n - 1];
    if (!h->in_value) {
        if (msgbuf_add(&h->buf, "", 1) != 0) /* ends the name */
            return -1;
        f->value = (uint32_t)h->buf.len;
        h->in_value = 1;
    }
    f->value_len += (uint32_t)len;
    return msgbuf_add(&h->buf, at, len);
}

/* All headers came: ends the last one. 0, or -1 when out of memory. */
static int headers_end(headers *h)
{
    return h->n ? msgbuf_add(&h->buf, "", 1) : 0;
}

static const char *header_name(const headers *h, size_t i)
{
    return h->buf.p + h->v[i].name;
}

static const char *header_value(const headers *h, size_t i)
{
    return h->v[i].value == HEADER_NONE ? "" : h->buf.p + h->v[i].value;
}

static size_t header_value_len(const headers *h, size_t i)
{
    return h->v[i].value == HEADER_NONE ? 0 : h->v[i].value_len;
}

/* Header |i| is named |lit| (a string literal), in any case. */
#define HEADER_IS(h, i, lit)                                                                       \
    ((h)->v[i].name_len == sizeof(lit) - 1 &&                                                      \
     strncasecmp(header_name(h, i), lit, sizeof(lit) - 1) == 0)

/* Hop-by-hop headers are the connection's, not the message's (RFC 9110
 * 7.6.1). |len| bytes of |name|; the length picks the candidates. */
static int hop_by_hop_n(const char *name, size_t len)
{
    switch (len) {
    case 2:
        return strncasecmp(name, "te", 2) == 0;
    case 7:
        return strncasecmp(name, "upgrade", 7) == 0 || strncasecmp(name, "trailer", 7) == 0;
    case 10:
        return strncasecmp(name, "connection", 10) == 0 || strncasecmp(name, "keep-alive", 10) == 0;
    case 16:
        return strncasecmp(name, "proxy-connection", 16) == 0;
    case 17:
        return strncasecmp(name, "transfer-encoding", 17) == 0;
    case 19:
        return strncasecmp(name, "proxy-authorization", 19) == 0;
    default:
        return 0;
    }
}

static int hop_by_hop(const char *name)
{
    return hop_by_hop_n(name, strlen(name));
}

/* ---- reading ---------------------------------------------------------------------- */

/* Bytes one read takes from a socket at most. */
#define READ_CHUNK (64u * 1024u)

/*
 * The HTTP/1.1 connections read with an event of their own instead of the
 * bufferevent's read path: libevent 2.1 asks the socket for FIONREAD (an
 * ioctl) before every read and then reads at most 4 KiB, so a small request
 * cost two syscalls and a large body one wakeup per 4 KiB. Here one recv of
 * up to READ_CHUNK bytes goes into the bufferevent's input buffer; the
 * bufferevent still owns the socket and does the writing (write_now) and
 * the connect. Its own EV_READ stays disabled.
 */
typedef struct reader {
    struct event *ev;       /* owned; EV_READ | EV_PERSIST; NULL until connected */
    struct timeval timeout; /* inactivity while reading (idle / request timeout); 0 = none */
    int on;                 /* reading is wanted (applied once |ev| exists) */
} reader;

static void reader_enable(reader *r)
{
    r->on = 1;
    /* As bufferevent_enable does, (re)arms the inactivity timeout. */
    if (r->ev)
        event_add(r->ev, r->timeout.tv_sec || r->timeout.tv_usec ? &r->timeout : NULL);
}

static void reader_disable(reader *r)
{
    r->on = 0;
    if (r->ev)
        event_del(r->ev);
}

/* The socket |fd| is connected: start reading if wanted. 0, or -1 when out
 * of memory. */
static int reader_start(reader *r, struct event_base *base, evutil_socket_t fd,
                        event_callback_fn cb, void *arg)
{
    r->ev = event_new(base, fd, EV_READ | EV_PERSIST, cb, arg);
    if (!r->ev)
        return -1;
    if (r->on)
        reader_enable(r);
    return 0;
}

static void reader_cleanup(reader *r)
{
    if (r->ev)
        event_free(r->ev);
    r->ev = NULL;
}

/* ---- the proxy's objects ---------------------------------------------------------- */

typedef struct upstream upstream;
typedef struct exchange exchange;
typedef struct downstream downstream;

typedef slate_px_endpoint endpoint;

#define SLATE_PROXY_EP_CACHE 256 /* address strings remembered by endpoint_of */

struct upstream {
    slate_proxy *p;
    endpoint *ep;
    struct bufferevent *bev;
    reader rd;
    http_parser parser;
    headers hdrs;
    char reason[64];
    exchange *ex; /* NULL while idle */
    upstream *next_idle;
    int done;    /* response complete (parser paused) */
    int interim; /* a 1xx interim response ended (parser paused) */
    int keepalive;
    int connected; /* the TCP connection was established (pooled ones are) */
};

struct exchange {
    downstream *d;
    upstream *u;
    slate_px_route route; /* destination, class, trace, endpoint (route.ep) */
    enum http_method method;
    msgbuf head; /* the request head as sent upstream (kept for a retry) */
    int req_chunked, req_complete;
    uint64_t req_body_bytes;
    int retried;
    int resp_started, resp_chunked_out, resp_no_body;
    int status;
    uint64_t resp_body_bytes;
    struct event *delay; /* WAN emulation */
    endpoint *failed;    /* the endpoint a retry must avoid */
};

struct downstream {
    slate_proxy *p;
    struct bufferevent *bev;
    reader rd;
    int inbound;
    http_parser parser;
    headers hdrs;
    msgbuf url;
    exchange *ex;      /* &exchange while a request is in progress, else NULL */
    exchange exchange; /* one request at a time: its storage is reused */
    int keepalive;
    int protocol_known; /* the first bytes were checked for the HTTP/2 preface */
    int closing;   /* close once the output is flushed */
    int in_parse;  /* inside http_parser_execute: do not free */
    int dead;      /* freed when in_parse drops */
    downstream *prev, *next;
};

struct slate_proxy {
    struct event_base *base;
    slate_proxy_config cfg;
    slate_sc_tel *tel; /* borrowed */
    slate_sc_table *table;
    slate_rng rng;
    endpoint *eps;
    size_t n_eps, cap_eps;
    struct evconnlistener *listeners[2];
    downstream *downs;
    size_t inflight;
    int draining;
    slate_proxy_stats stats;
    http_parser_settings req_settings, resp_settings;
    slate_h2 *h2;   /* downstream connections that began with the HTTP/2 preface */
    endpoint *app;  /* the inbound target (--app), once known */
    msgbuf scratch; /* response heads are built here, then copied out at once */
    char *rbuf;     /* READ_CHUNK bytes: each read lands here first */
    struct {
        const char *addr; /* borrowed from the topology or the table; NULL = empty */
        endpoint *ep;
    } ep_cache[SLATE_PROXY_EP_CACHE]; /* see endpoint_of */
};

double slate_proxy_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A proxy writes a response head and body as they come: without this,
 * Nagle's algorithm holds the second small write for the peer's delayed
 * ACK (40 ms on Linux). */
void slate_px_no_delay(evutil_socket_t fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * Writes what |bev|'s output holds now, in one writev, instead of asking
 * epoll for EPOLLOUT and writing on the next loop iteration: a socket that
 * is not full takes a small head and body at once, and the wait for
 * writability costs two epoll_ctl calls and a loop iteration per message.
 * So the HTTP/1.1 bufferevents keep EV_WRITE disabled while their output is
 * empty; only what the socket does not take (or an error) is left to
 * libevent, by enabling EV_WRITE until the output drains (the write
 * callbacks disable it again). While EV_WRITE is enabled (a connect in
 * progress, a slow peer) libevent keeps writing and this does nothing.
 * Returns 1 when the output is empty.
 */
static int write_now(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return 1;
    if (bufferevent_get_enabled(bev) & EV_WRITE)
        return 0;
    /* A bufferevent keeps its output frozen at the front so that only its
     * own write callback drains it; thaw it for this write, as that
     * callback does. */
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) == 0)
        return 1;
    /* Partly written, EAGAIN, or an error: libevent's write callback
     * finishes the job or reports the error to the event callback. */
    bufferevent_enable(bev, EV_WRITE);
    return 0;
}

/* One recv into |bev|'s input buffer (through p->rbuf). Returns the byte
 * count, 0 at EOF, -1 on an error, -2 when the socket has nothing yet. */
static ev_ssize_t read_some(slate_proxy *p, struct bufferevent *bev, evutil_socket_t fd)
{
    ssize_t n = recv(fd, p->rbuf, READ_CHUNK, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1;
    if (n == 0)
        return 0;
    /* The bufferevent keeps its input frozen at the end so that only its
     * own read callback adds; thaw it for this add, as that callback does. */
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_unfreeze(in, 0);
    int rv = evbuffer_add(in, p->rbuf, (size_t)n);
    evbuffer_freeze(in, 0);
    return rv == 0 ? (ev_ssize_t)n : -1;
}

/*
 * The body of a connection's read event: on the read timeout or at EOF or
 * an error, stops reading and hands the condition to |on_event| (the
 * connection's bufferevent event callback, with |arg|) as libevent would.
 * Returns 1 when bytes were added to |bev|'s input for the caller to process.
 */
static int read_event(slate_proxy *p, struct bufferevent *bev, reader *rd, evutil_socket_t fd,
                      short what, bufferevent_event_cb on_event, void *arg)
{
    if (what == EV_TIMEOUT) {
        reader_disable(rd);
        on_event(bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, arg);
        return 0;
    }
    ev_ssize_t n = read_some(p, bev, fd);
    if (n == -2)
        return 0;
    if (n <= 0) {
        reader_disable(rd);
        on_event(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), arg);
        return 0;
    }
    return 1;
}

/* From a write callback: the output drained, stop watching writability. */
static void write_idle(struct bufferevent *bev)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
}

/* ---- endpoints -------------------------------------------------------------------- */

static endpoint *endpoint_get(slate_proxy *p, const char *addr, int service, int cluster)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(((endpoint *)0)->host))
        return NULL;
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535)
        return NULL;
    size_t hl = (size_t)(colon - addr);
    for (size_t i = 0; i < p->n_eps; i++)
        if (p->eps[i].port == port && strlen(p->eps[i].host) == hl &&
            memcmp(p->eps[i].host, addr, hl) == 0)
            return &p->eps[i];
    if (p->n_eps == p->cap_eps) {
        /* Endpoints are referenced by pointer: allocate once, generously. */
        return NULL;
    }
    endpoint *e = &p->eps[p->n_eps++];
    memset(e, 0, sizeof(*e));
    memcpy(e->host, addr, hl);
    e->port = (uint16_t)port;
    e->service = service;
    e->cluster = cluster;
    return e;
}

/* endpoint_get() for an address string of the topology or of the current
 * table, remembered by the string's address: both keep their strings until
 * slate_proxy_set_table() replaces the table, which clears this cache. It
 * spares each draw parsing "host:port" and scanning every endpoint. */
static endpoint *endpoint_of(slate_proxy *p, const char *addr, int service, int cluster)
{
    size_t i = (size_t)(((uint64_t)(uintptr_t)addr * 0x9e3779b97f4a7c15ull) >> 56) %
               SLATE_PROXY_EP_CACHE;
    if (p->ep_cache[i].addr == addr)
        return p->ep_cache[i].ep;
    endpoint *e = endpoint_get(p, addr, service, cluster);
    if (e) {
        p->ep_cache[i].addr = addr;
        p->ep_cache[i].ep = e;
    }
    return e;
}

static int ejected(const endpoint *e, double now)
{
    return e->ejected_until_us > now;
}

/* Power of two choices on outstanding requests among the non-ejected
 * endpoints of (service, cluster), avoiding |avoid|. */
static endpoint *choose_endpoint(slate_proxy *p, int service, int cluster, const endpoint *avoid)
{
    const char *const *addrs = NULL;
    size_t n = slate_sc_endpoints(p->table, p->cfg.t, service, cluster, &addrs);
    if (n == 0)
        return NULL;
    double now = slate_proxy_now_us();
    if (n == 1) { /* no choice to make: skip the draws looking for a second one */
        endpoint *e = endpoint_of(p, addrs[0], service, cluster);
        return e && e != avoid && !ejected(e, now) ? e : NULL;
    }
    endpoint *a = NULL, *b = NULL;
    for (int tries = 0; tries < 8 && (!a || !b); tries++) {
        endpoint *e = endpoint_of(p, addrs[slate_rng_next(&p->rng) % n], service, cluster);
        if (!e || e == avoid || ejected(e, now))
            continue;
        if (!a)
            a = e;
        else if (e != a)
            b = e;
    }
    if (!a) /* random draws missed: scan */
        for (size_t i = 0; i < n && !a; i++) {
            endpoint *e = endpoint_of(p, addrs[i], service, cluster);
            if (e && e != avoid && !ejected(e, now))
                a = e;
        }
    if (a && b && b->outstanding < a->outstanding)
        return b;
    return a;
}

/* ---- teardown --------------------------------------------------------------------- */

static void upstream_free(upstream *u)
{
    if (!u)
        return;
    reader_cleanup(&u->rd);
    if (u->bev)
        bufferevent_free(u->bev);
    headers_cleanup(&u->hdrs);
    free(u);
}

/* The request is over. Its storage stays in the downstream for the next
 * one, zeroed but for the head's buffer, whose capacity is reused. */
static void exchange_end(exchange *x)
{
    if (x->delay)
        event_free(x->delay);
    msgbuf head = x->head;
    msgbuf_reset(&head);
    memset(x, 0, sizeof(*x));
    x->head = head;
}

static void downstream_free(downstream *d)
{
    if (d->in_parse) {
        d->dead = 1;
        return;
    }
    slate_proxy *p = d->p;
    if (d->ex) {
        exchange *x = d->ex;
        if (x->u) {
            x->u->ex = NULL;
            x->route.ep->outstanding--;
            upstream_free(x->u); /* mid-response: the connection is unusable */
        }
        if (x->route.inbound)
            slate_px_account(p, &x->route, 0, 0, 0);
        p->inflight--;
        exchange_end(x);
    }
    reader_cleanup(&d->rd);
    if (d->bev)
        bufferevent_free(d->bev);
    msgbuf_cleanup(&d->exchange.head);
    headers_cleanup(&d->hdrs);
    msgbuf_cleanup(&d->url);
    if (d->prev)
        d->prev->next = d->next;
    else
        p->downs = d->next;
    if (d->next)
        d->next->prev = d->prev;
    free(d);
}

/* ---- replies made here ------------------------------------------------------------ */

static void local_reply(downstream *d, int code, const char *reason, const char *text)
{
    struct evbuffer *out = bufferevent_get_output(d->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n%s\n",
                        code, reason, strlen(text) + 1, text);
    d->p->stats.responses_5xx_local += code >= 500;
    d->closing = 1;
    reader_disable(&d->rd);
    /* libevent writes it and down_write closes the connection once written
     * (a reply made here is no hot path). */
    bufferevent_enable(d->bev, EV_WRITE);
}

/* The exchange failed before any response byte reached the client. */
static void fail_exchange(exchange *x, int code, const char *reason, const char *text)
{
    downstream *d = x->d;
    slate_proxy *p = d->p;
    slate_px_account(p, &x->route, 0, x->req_body_bytes, 0);
    if (x->u) {
        x->u->ex = NULL;
        upstream_free(x->u);
        x->u = NULL;
        x->route.ep->outstanding--;
    }
    d->ex = NULL;
    p->inflight--;
    exchange_end(x);
    local_reply(d, code, reason, text);
}

/* ---- upstream side ---------------------------------------------------------------- */

static void start_upstream(exchange *x);
static void down_process(downstream *d);

static int idempotent(enum http_method m)
{
    return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT || m == HTTP_DELETE ||
           m == HTTP_OPTIONS;
}

/* Istio's outlier detection: the base ejection time times the number of
 * ejections since the endpoint last answered, here capped at 12 (one
 * minute), so a dead endpoint is probed less and less often. */
static void eject(slate_proxy *p, endpoint *ep)
{
    if (ep->ejections < 12)
        ep->ejections++;
    ep->ejected_until_us = slate_proxy_now_us() + SLATE_PROXY_EJECT_MS * 1e3 * ep->ejections;
    p->stats.ejections++;
}

void slate_px_endpoint_eject(slate_proxy *p, endpoint *ep)
{
    ep->consecutive_failures++;
    /* A refused or reset connection ejects at once; the Istio-like count of
     * 5 consecutive errors applies to error responses (see
     * slate_px_endpoint_result). */
    eject(p, ep);
}

void slate_px_endpoint_result(slate_proxy *p, endpoint *ep, int status)
{
    if (status >= 500) {
        if (++ep->consecutive_failures >= 5)
            eject(p, ep);
    } else {
        ep->consecutive_failures = 0;
        ep->ejections = 0;
    }
}

endpoint *slate_px_retry_endpoint(slate_proxy *p, const slate_px_route *r, const endpoint *avoid)
{
    if (r->inbound)
        return NULL; /* one local app: nowhere else to go */
    /* Another cluster by the table's weights, or another endpoint. */
    int cluster = slate_sc_pick_cluster(p->table, p->cfg.t, p->cfg.cluster, r->klass,
                                        r->dst_service, slate_rng_uniform(&p->rng));
    endpoint *next = choose_endpoint(p, r->dst_service, cluster, avoid);
    for (size_t b = 0; !next && b < p->cfg.t->n_clusters; b++)
        if (slate_topology_deployment(p->cfg.t, r->dst_service, (int)b))
            next = choose_endpoint(p, r->dst_service, (int)b, avoid);
    return next;
}

int slate_px_idempotent(const char *method)
{
    static const char *const names[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; method && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(method, names[i]) == 0)
            return 1;
    return 0;
}

/* The upstream failed before a response started: retry or 502/504. */
static void upstream_failed(exchange *x, int timeout)
{
    slate_proxy *p = x->d->p;
    endpoint *ep = x->route.ep;
    slate_px_endpoint_eject(p, ep);
    /* A connection that never opened sent nothing: the request, whatever
     * its method and body, can go elsewhere (Envoy's connect-failure
     * retry). Its unsent output -- the head and the body bytes forwarded so
     * far -- becomes the head of the retry. */
    int nothing_sent = x->u && !x->u->connected;
    if (nothing_sent) {
        struct evbuffer *out = bufferevent_get_output(x->u->bev);
        size_t n = evbuffer_get_length(out);
        if (n > 0) {
            msgbuf_reset(&x->head);
            if (msgbuf_add(&x->head, evbuffer_pullup(out, -1), n) != 0)
                nothing_sent = 0; /* out of memory: no retry */
        }
    }
    if (x->u) {
        x->u->ex = NULL;
        upstream_free(x->u);
        x->u = NULL;
        ep->outstanding--;
    }
    if (!x->retried &&
        (nothing_sent || (idempotent(x->method) && x->req_complete && x->req_body_bytes == 0))) {
        x->retried = 1;
        x->failed = ep;
        p->stats.retries++;
        endpoint *next = slate_px_retry_endpoint(p, &x->route, ep);
        if (next) {
            x->route.ep = next;
            x->route.dst_cluster = next->cluster;
            start_upstream(x);
            return;
        }
    }
    fail_exchange(x, timeout ? 504 : 502, timeout ? "Gateway Timeout" : "Bad Gateway",
                  timeout ? "upstream timed out" : "upstream connection failed");
}

static int resp_on_status(http_parser *hp, const char *at, size_t len)
{
    upstream *u = hp->data;
    size_t have = strlen(u->reason);
    if (have + len < sizeof(u->reason)) {
        memcpy(u->reason + have, at, len);
        u->reason[have + len] = '\0';
    }
    return 0;
}

static int resp_on_field(http_parser *hp, const char *at, size_t len)
{
    upstream *u = hp->data;
    return headers_field(&u->hdrs, at, len);
}

static int resp_on_value(http_parser *hp, const char *at, size_t len)
{
    upstream *u = hp->data;
    return headers_value(&u->hdrs, at, len);
}

static int resp_on_headers_complete(http_parser *hp)
{
    upstream *u = hp->data;
    exchange *x = u->ex;
    if (!x || u->hdrs.overflow || headers_end(&u->hdrs) != 0)
        return -1;
    downstream *d = x->d;
    struct evbuffer *out = bufferevent_get_output(d->bev);
    if (hp->status_code / 100 == 1 && hp->status_code != 101) {
        /* An interim response (100 Continue for Expect: 100-continue):
         * pass it on; the final response follows on the same parser. */
        evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n\r\n", hp->status_code, u->reason);
        return 1;
    }
    x->status = hp->status_code;
    x->resp_started = 1;
    x->resp_no_body = x->method == HTTP_HEAD || hp->status_code == 204 ||
                      hp->status_code == 304 || hp->status_code / 100 == 1;
    /* The head is built in one buffer and copied out at once: one
     * evbuffer_add instead of a formatted add per header. */
    const headers *h = &u->hdrs;
    msgbuf *o = &u->p->scratch;
    o->len = 0;
    int rv = msgbuf_add(o, "HTTP/1.1 ", 9);
    rv |= msgbuf_add_uint(o, hp->status_code);
    rv |= msgbuf_add(o, " ", 1);
    rv |= msgbuf_adds(o, u->reason);
    rv |= msgbuf_add(o, "\r\n", 2);
    int has_length = 0;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = header_name(h, i);
        if (hop_by_hop_n(name, h->v[i].name_len))
            continue;
        has_length |= HEADER_IS(h, i, "content-length");
        rv |= msgbuf_add(o, name, h->v[i].name_len);
        rv |= msgbuf_add(o, ": ", 2);
        rv |= msgbuf_add(o, header_value(h, i), header_value_len(h, i));
        rv |= msgbuf_add(o, "\r\n", 2);
    }
    has_length = has_length && !(hp->flags & F_CHUNKED);
    x->resp_chunked_out = !x->resp_no_body && !has_length;
    if (x->resp_chunked_out)
        rv |= msgbuf_adds(o, "Transfer-Encoding: chunked\r\n");
    rv |= msgbuf_adds(o, d->keepalive ? "Connection: keep-alive\r\n\r\n"
                                      : "Connection: close\r\n\r\n");
    if (rv != 0)
        return -1; /* out of memory: the client sees a 502 */
    evbuffer_add(out, o->p, o->len);
    msgbuf_reset(o);
    u->keepalive = http_should_keep_alive(hp);
    return x->resp_no_body ? 1 : 0; /* 1: no body follows (HEAD, 204, 304) */
}

static int resp_on_body(http_parser *hp, const char *at, size_t len)
{
    upstream *u = hp->data;
    exchange *x = u->ex;
    if (!x)
        return -1;
    struct evbuffer *out = bufferevent_get_output(x->d->bev);
    if (x->resp_chunked_out)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, at, len);
    if (x->resp_chunked_out)
        evbuffer_add(out, "\r\n", 2);
    x->resp_body_bytes += len;
    /* Backpressure: stop reading the upstream while the client is slow. */
    if (evbuffer_get_length(out) > SLATE_PROXY_HIGH_WATER)
        reader_disable(&u->rd);
    return 0;
}

static int resp_on_complete(http_parser *hp)
{
    upstream *u = hp->data;
    if (hp->status_code / 100 == 1 && hp->status_code != 101)
        u->interim = 1;
    else
        u->done = 1;
    http_parser_pause(hp, 1);
    return 0;
}

/* The response is complete: account, recycle the upstream, next request. */
static void finish(exchange *x)
{
    downstream *d = x->d;
    slate_proxy *p = d->p;
    upstream *u = x->u;
    if (x->resp_chunked_out)
        evbuffer_add(bufferevent_get_output(d->bev), "0\r\n\r\n", 5);
    slate_px_account(p, &x->route, x->status, x->req_body_bytes, x->resp_body_bytes);
    endpoint *ep = x->route.ep;
    ep->outstanding--;
    slate_px_endpoint_result(p, ep, x->status);
    u->ex = NULL;
    if (u->keepalive && x->req_complete) {
        /* Back to the pool, ready for the next request. */
        headers_clear(&u->hdrs);
        u->reason[0] = '\0';
        u->done = 0;
        http_parser_init(&u->parser, HTTP_RESPONSE);
        u->parser.data = u;
        u->next_idle = ep->idle;
        ep->idle = u;
        reader_enable(&u->rd); /* an idle connection closes after the request timeout */
    } else {
        upstream_free(u);
    }
    x->u = NULL;
    d->ex = NULL;
    p->inflight--;
    exchange_end(x);
    if (!d->keepalive) {
        d->closing = 1;
        reader_disable(&d->rd);
        if (write_now(d->bev))
            downstream_free(d);
        return;
    }
    headers_clear(&d->hdrs);
    msgbuf_reset(&d->url);
    http_parser_pause(&d->parser, 0);
    reader_enable(&d->rd);
    down_process(d); /* writes the response; a pipelined request may be waiting */
}

static void up_read(upstream *u)
{
    struct evbuffer *in = bufferevent_get_input(u->bev);
    if (!u->ex) {
        /* Data on an idle connection is a protocol error: drop it. */
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    exchange *x = u->ex;
    while (evbuffer_get_length(in) > 0 && !u->done) {
        size_t n = evbuffer_get_contiguous_space(in);
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        size_t used = http_parser_execute(&u->parser, &u->p->resp_settings, data, n);
        evbuffer_drain(in, used);
        enum http_errno err = HTTP_PARSER_ERRNO(&u->parser);
        if (u->interim) {
            /* Ready for the final response. */
            u->interim = 0;
            headers_clear(&u->hdrs);
            u->reason[0] = '\0';
            http_parser_init(&u->parser, HTTP_RESPONSE);
            u->parser.data = u;
            continue;
        }
        if (err != HPE_OK && err != HPE_PAUSED) {
            if (!x->resp_started)
                fail_exchange(x, 502, "Bad Gateway", "malformed upstream response");
            else
                downstream_free(x->d);
            return;
        }
        if (used < n && !u->done)
            break;
    }
    if (u->done)
        finish(x); /* writes the response out (and may free the client) */
    else
        write_now(x->d->bev); /* the part of the response that came so far */
}

static void up_readable(evutil_socket_t fd, short what, void *arg);

static void up_event(struct bufferevent *bev, short what, void *arg)
{
    upstream *u = arg;
    exchange *x = u->ex;
    if (what & BEV_EVENT_CONNECTED) {
        /* Only now: a connect in progress reports its failure to the
         * bufferevent's write path, and must not be reported twice. */
        if (reader_start(&u->rd, u->p->base, bufferevent_getfd(bev), up_readable, u) == 0) {
            u->connected = 1;
            return;
        }
        what = BEV_EVENT_ERROR;
    }
    if (!x) {
        /* An idle pooled connection closed: unlink and free it. */
        endpoint *ep = u->ep;
        for (upstream **pp = &ep->idle; *pp; pp = &(*pp)->next_idle)
            if (*pp == u) {
                *pp = u->next_idle;
                break;
            }
        upstream_free(u);
        return;
    }
    if ((what & BEV_EVENT_EOF) && x->resp_started) {
        /* A body delimited by the close: tell the parser, then finish. */
        http_parser_execute(&u->parser, &u->p->resp_settings, NULL, 0);
        if (u->done || HTTP_PARSER_ERRNO(&u->parser) == HPE_OK) {
            u->keepalive = 0;
            finish(x);
        } else {
            downstream_free(x->d); /* truncated response: the client sees the close */
        }
        return;
    }
    if (x->resp_started) {
        downstream_free(x->d);
        return;
    }
    upstream_failed(x, (what & BEV_EVENT_TIMEOUT) != 0);
}

static void up_readable(evutil_socket_t fd, short what, void *arg)
{
    upstream *u = arg;
    if (read_event(u->p, u->bev, &u->rd, fd, what, up_event, u))
        up_read(u);
}

static void up_write(struct bufferevent *bev, void *arg)
{
    upstream *u = arg;
    write_idle(bev);
    /* The upstream drained what the client sent: read the client again. */
    if (u->ex && u->ex->d && !u->ex->req_complete)
        reader_enable(&u->ex->d->rd);
}

static void send_head(exchange *x)
{
    upstream *u = x->u;
    struct evbuffer *out = bufferevent_get_output(u->bev);
    if (x->head.len)
        evbuffer_add(out, x->head.p, x->head.len);
    /* Body bytes already parsed while connecting were queued in the head. */
}

static void connect_upstream(exchange *x)
{
    slate_proxy *p = x->d->p;
    endpoint *ep = x->route.ep;
    ep->outstanding++;
    upstream *u = ep->idle;
    if (u) {
        ep->idle = u->next_idle;
        u->next_idle = NULL;
        p->stats.upstream_reuses++;
    } else {
        u = calloc(1, sizeof(*u));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(ep->port)};
        if (!u || inet_pton(AF_INET, ep->host, &sa.sin_addr) != 1 ||
            !(u->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
            free(u);
            x->u = NULL;
            ep->outstanding--;
            upstream_failed(x, 0);
            return;
        }
        u->p = p;
        u->ep = ep;
        http_parser_init(&u->parser, HTTP_RESPONSE);
        u->parser.data = u;
        bufferevent_setcb(u->bev, NULL, up_write, up_event, u);
        struct timeval rt = {.tv_sec = (time_t)p->cfg.request_timeout_s,
                             .tv_usec = (suseconds_t)(fmod(p->cfg.request_timeout_s, 1) * 1e6)};
        bufferevent_set_timeouts(u->bev, NULL, &rt); /* the write timeout bounds the connect */
        u->rd.timeout = rt;
        bufferevent_setwatermark(u->bev, EV_WRITE, SLATE_PROXY_HIGH_WATER / 2, 0);
        p->stats.upstream_conns_opened++;
        if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            x->u = u;
            u->ex = x;
            upstream_failed(x, 0);
            return;
        }
        slate_px_no_delay(bufferevent_getfd(u->bev));
        /* EV_WRITE while connecting: libevent reports the connect and
         * writes the head; up_write disables it once the output drained. */
        bufferevent_enable(u->bev, EV_WRITE);
    }
    u->ex = x;
    x->u = u;
    reader_enable(&u->rd); /* from now the response has the request timeout */
    send_head(x);
    /* Inside the client's parse, down_process writes the head together
     * with the body bytes parsed after it. */
    if (!x->d->in_parse)
        write_now(u->bev);
}

static void on_wan_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    exchange *x = arg;
    event_free(x->delay);
    x->delay = NULL;
    connect_upstream(x);
}

/* Sends the exchange upstream now, or after the emulated WAN delay. */
static void start_upstream(exchange *x)
{
    slate_proxy *p = x->d->p;
    double rtt = slate_px_wan_delay_ms(p, x->route.dst_cluster);
    if (rtt > 0 && !x->delay) {
        /* EMULATION ONLY: both directions' one-way delay, before the send. */
        x->delay = evtimer_new(p->base, on_wan_delay, x);
        struct timeval tv = {.tv_sec = (time_t)(rtt / 1e3),
                             .tv_usec = (suseconds_t)(fmod(rtt, 1e3) * 1e3)};
        if (x->delay && evtimer_add(x->delay, &tv) == 0)
            return;
    }
    connect_upstream(x);
}

/* ---- downstream side -------------------------------------------------------------- */

static int req_on_url(http_parser *hp, const char *at, size_t len)
{
    downstream *d = hp->data;
    if (d->url.len + len > SLATE_PROXY_MAX_URL)
        return -1;
    return msgbuf_add(&d->url, at, len);
}

static int req_on_field(http_parser *hp, const char *at, size_t len)
{
    downstream *d = hp->data;
    return headers_field(&d->hdrs, at, len);
}

static int req_on_value(http_parser *hp, const char *at, size_t len)
{
    downstream *d = hp->data;
    return headers_value(&d->hdrs, at, len);
}

/* Splits a request-target: the host it names (absolute form, as an
 * HTTP_PROXY client sends it; "" for origin form) goes to |host| (may be
 * NULL), and the origin-form path is returned (borrowed from |url|, or "/"). */
static const char *split_target(const char *url, char *host, size_t host_cap)
{
    if (host)
        host[0] = '\0';
    if (url[0] == '/')
        return url;
    struct http_parser_url pu;
    http_parser_url_init(&pu);
    if (http_parser_parse_url(url, strlen(url), 0, &pu) != 0 || !(pu.field_set & (1 << UF_HOST)))
        return url;
    if (host) {
        size_t n = pu.field_data[UF_HOST].len < host_cap - 1 ? pu.field_data[UF_HOST].len
                                                             : host_cap - 1;
        memcpy(host, url + pu.field_data[UF_HOST].off, n);
        host[n] = '\0';
    }
    return (pu.field_set & (1 << UF_PATH)) ? url + pu.field_data[UF_PATH].off : "/";
}

/* The destination service of an outbound request: the URL's host (proxy
 * form) or Host/:authority, its first DNS label, without a port. */
static int dst_service_of(const slate_proxy *p, const char *url, const char *authority)
{
    char host[SLATE_TOPO_MAX_NAME + 1];
    split_target(url, host, sizeof(host));
    const char *name = host[0] ? host : authority ? authority : "";
    size_t n = strcspn(name, ".:");
    if (n == 0 || n > SLATE_TOPO_MAX_NAME)
        return -1;
    char label[SLATE_TOPO_MAX_NAME + 1];
    memcpy(label, name, n);
    label[n] = '\0';
    return slate_topology_find_service(p->cfg.t, label);
}

int slate_px_route_request(slate_proxy *p, int inbound, const slate_px_request *rq,
                           slate_px_route *r, const char **why)
{
    memset(r, 0, sizeof(*r));
    r->inbound = inbound;
    r->klass = -1;
    r->dst_service = r->dst_cluster = -1;
    r->start_us = slate_proxy_now_us();
    const char *target = rq->target ? rq->target : "/";
    char klass[SLATE_TOPO_MAX_NAME + 1];
    if (rq->baggage && slate_baggage_class(rq->baggage, klass, sizeof(klass)) == 0)
        r->klass = slate_topology_find_class(p->cfg.t, klass);
    r->has_trace = rq->traceparent && slate_traceparent_parse(rq->traceparent, r->trace) == 0;
    if (inbound) {
        p->stats.requests_in++;
        if (r->klass < 0 && p->cfg.service >= 0) {
            r->klass = slate_topology_classify(p->cfg.t, p->cfg.service,
                                               rq->method ? rq->method : "GET", target);
            int root =
                r->klass >= 0 && p->cfg.t->classes[r->klass].nodes[0].service == p->cfg.service;
            if (root) {
                r->ingress = 1;
                slate_sc_tel_ingress_arrival(p->tel, r->klass);
                static const char member[] = "slate-class=";
                const char *name = p->cfg.t->classes[r->klass].name;
                size_t n = strnlen(name, sizeof(r->class_baggage) - sizeof(member));
                memcpy(r->class_baggage, member, sizeof(member) - 1);
                memcpy(r->class_baggage + sizeof(member) - 1, name, n);
                r->class_baggage[sizeof(member) - 1 + n] = '\0';
            }
        }
        if (!r->has_trace) {
            /* Continue a B3 trace when one came in, else start one. */
            if (slate_b3_trace_id(rq->b3, rq->x_b3_traceid, r->trace) == 0)
                slate_traceparent_continue(&p->rng, r->trace, r->add_traceparent);
            else
                slate_traceparent_new(&p->rng, r->add_traceparent, r->trace);
            r->has_trace = 1;
        }
        r->dst_service = p->cfg.service;
        r->dst_cluster = p->cfg.cluster;
        if (!p->app) { /* looked up once: the address does not change */
            char app[96];
            snprintf(app, sizeof(app), "%s:%u", p->cfg.app_host, p->cfg.app_port);
            p->app = endpoint_get(p, app, p->cfg.service, p->cfg.cluster);
        }
        r->ep = p->app;
        r->active = slate_sc_tel_inbound_begin(p->tel, r->klass, r->trace, r->start_us);
    } else {
        p->stats.requests_out++;
        r->dst_service = dst_service_of(p, target, rq->authority);
        if (r->dst_service < 0) {
            *why = "unknown destination service";
            return 502;
        }
        r->dst_cluster = slate_sc_pick_cluster(p->table, p->cfg.t, p->cfg.cluster, r->klass,
                                               r->dst_service, slate_rng_uniform(&p->rng));
        r->ep = r->dst_cluster >= 0 ? choose_endpoint(p, r->dst_service, r->dst_cluster, NULL)
                                    : NULL;
        if (!r->ep) {
            /* The chosen cluster has nothing healthy: any deployed one. */
            for (size_t b = 0; !r->ep && b < p->cfg.t->n_clusters; b++)
                if (slate_topology_deployment(p->cfg.t, r->dst_service, (int)b))
                    r->ep = choose_endpoint(p, r->dst_service, (int)b, NULL);
            if (r->ep)
                r->dst_cluster = r->ep->cluster;
        }
    }
    if (!r->ep) {
        *why = "no healthy endpoint for the destination";
        return 503;
    }
    return 0;
}

void slate_px_account(slate_proxy *p, const slate_px_route *r, int status, uint64_t request_bytes,
                      uint64_t response_bytes)
{
    double now = slate_proxy_now_us();
    if (r->inbound) {
        slate_sc_tel_inbound_end(p->tel, r->active, r->klass, status, r->ingress, r->start_us,
                                 now);
        return;
    }
    slate_sc_tel_outbound(p->tel, r->klass, r->dst_service, r->dst_cluster, status, request_bytes,
                          response_bytes, r->has_trace ? r->trace : NULL, r->start_us, now);
    if (status > 0 && r->dst_cluster >= 0 && r->dst_cluster != p->cfg.cluster) {
        p->stats.cross_cluster_bytes += request_bytes + response_bytes;
        /* Both directions priced from this cluster's side, as the egress
         * matrix's rows are senders: requests leave here, responses leave there. */
        p->stats.egress_usd +=
            ((double)request_bytes * slate_topology_egress(p->cfg.t, p->cfg.cluster, r->dst_cluster) +
             (double)response_bytes *
                 slate_topology_egress(p->cfg.t, r->dst_cluster, p->cfg.cluster)) /
            1e9;
    }
}

static int req_on_headers_complete(http_parser *hp)
{
    downstream *d = hp->data;
    slate_proxy *p = d->p;
    if (d->hdrs.overflow) {
        local_reply(d, 431, "Request Header Fields Too Large", "request headers too large");
        return -1;
    }
    const headers *h = &d->hdrs;
    if (headers_end(&d->hdrs) != 0)
        return -1;
    exchange *x = &d->exchange; /* zeroed by exchange_end (or calloc) */
    x->d = d;
    x->method = (enum http_method)hp->method;
    x->req_chunked = (hp->flags & F_CHUNKED) != 0;
    d->keepalive = http_should_keep_alive(hp);
    d->ex = x;
    p->inflight++;
    const char *url = d->url.len ? d->url.p : "/";
    /* The headers routing reads, in one pass (the first of each name). */
    slate_px_request rq = {.method = http_method_str(x->method), .target = url};
    for (size_t i = 0; i < h->n; i++) {
        const char **slot = NULL;
        switch (h->v[i].name_len) {
        case 2: slot = HEADER_IS(h, i, "b3") ? &rq.b3 : NULL; break;
        case 4: slot = HEADER_IS(h, i, "host") ? &rq.authority : NULL; break;
        case 7: slot = HEADER_IS(h, i, "baggage") ? &rq.baggage : NULL; break;
        case 11: slot = HEADER_IS(h, i, "traceparent") ? &rq.traceparent : NULL; break;
        case 12: slot = HEADER_IS(h, i, "x-b3-traceid") ? &rq.x_b3_traceid : NULL; break;
        default: break;
        }
        if (slot && !*slot)
            *slot = header_value(h, i);
    }
    const char *why = NULL;
    int code = slate_px_route_request(p, d->inbound, &rq, &x->route, &why);
    if (code != 0) {
        fail_exchange(x, code, code == 503 ? "Service Unavailable" : "Bad Gateway", why);
        return -1;
    }
    const slate_px_route *r = &x->route;
    const char *path = d->inbound ? url : split_target(url, NULL, 0);
    /* The request head, origin-form, hop-by-hop headers replaced. */
    msgbuf *o = &x->head;
    int rv = msgbuf_adds(o, rq.method);
    rv |= msgbuf_add(o, " ", 1);
    rv |= msgbuf_adds(o, path);
    rv |= msgbuf_add(o, " HTTP/1.1\r\n", 11);
    for (size_t i = 0; i < h->n; i++) {
        const char *name = header_name(h, i);
        if (hop_by_hop_n(name, h->v[i].name_len))
            continue;
        if (r->class_baggage[0] && HEADER_IS(h, i, "baggage"))
            continue; /* re-added below with the class */
        rv |= msgbuf_add(o, name, h->v[i].name_len);
        rv |= msgbuf_add(o, ": ", 2);
        rv |= msgbuf_add(o, header_value(h, i), header_value_len(h, i));
        rv |= msgbuf_add(o, "\r\n", 2);
    }
    if (r->class_baggage[0]) {
        rv |= msgbuf_add(o, "baggage: ", 9);
        rv |= msgbuf_adds(o, r->class_baggage);
        if (rq.baggage) {
            rv |= msgbuf_add(o, ",", 1);
            rv |= msgbuf_adds(o, rq.baggage);
        }
        rv |= msgbuf_add(o, "\r\n", 2);
    }
    if (r->add_traceparent[0]) {
        rv |= msgbuf_add(o, "traceparent: ", 13);
        rv |= msgbuf_adds(o, r->add_traceparent);
        rv |= msgbuf_add(o, "\r\n", 2);
    }
    if (x->req_chunked)
        rv |= msgbuf_adds(o, "Transfer-Encoding: chunked\r\n");
    rv |= msgbuf_adds(o, "Connection: keep-alive\r\n\r\n");
    if (rv != 0) {
        fail_exchange(x, 500, "Internal Server Error", "out of memory");
        return -1;
    }
    start_upstream(x);
    return 0;
}

/* Request body bytes: to the upstream, or queued in the head while the
 * upstream is not connected yet (a WAN delay). */
static void forward_body(exchange *x, const char *at, size_t len, int last)
{
    struct evbuffer *out = x->u ? bufferevent_get_output(x->u->bev) : NULL;
    char line[32];
    if (x->req_chunked && len) {
        int n = snprintf(line, sizeof(line), "%zx\r\n", len);
        if (out)
            evbuffer_add(out, line, (size_t)n);
        else
            msgbuf_add(&x->head, line, (size_t)n);
    }
    if (len) {
        if (out)
            evbuffer_add(out, at, len);
        else
            msgbuf_add(&x->head, at, len);
    }
    if (x->req_chunked && len) {
        if (out)
            evbuffer_add(out, "\r\n", 2);
        else
            msgbuf_add(&x->head, "\r\n", 2);
    }
    if (x->req_chunked && last) {
        if (out)
            evbuffer_add(out, "0\r\n\r\n", 5);
        else
            msgbuf_add(&x->head, "0\r\n\r\n", 5);
    }
    /* Backpressure: stop reading the client while the upstream is slow. */
    if (out && evbuffer_get_length(out) > SLATE_PROXY_HIGH_WATER)
        reader_disable(&x->d->rd);
}

static int req_on_body(http_parser *hp, const char *at, size_t len)
{
    downstream *d = hp->data;
    exchange *x = d->ex;
    if (!x)
        return -1;
    x->req_body_bytes += len;
    forward_body(x, at, len, 0);
    return 0;
}

static int req_on_complete(http_parser *hp)
{
    downstream *d = hp->data;
    exchange *x = d->ex;
    if (x) {
        x->req_complete = 1;
        forward_body(x, NULL, 0, 1);
    }
    /* One request at a time: hold the rest until this response is done. */
    http_parser_pause(hp, 1);
    return 0;
}

/* A connection's first bytes choose its protocol: the HTTP/2 client preface
 * (h2c with prior knowledge) hands the connection to the HTTP/2 server, as
 * is; anything else is HTTP/1.1. Returns 1 when |d| was handed over (and
 * freed) or must wait for more bytes. */
static int dispatch_protocol(downstream *d)
{
    struct evbuffer *in = bufferevent_get_input(d->bev);
    size_t have = evbuffer_get_length(in);
    size_t peek = have < SLATE_H2_PREFACE_LEN ? have : SLATE_H2_PREFACE_LEN;
    int h2 = slate_h2_preface_match(evbuffer_pullup(in, (ev_ssize_t)peek), peek);
    if (h2 == 0)
        return 1; /* a prefix of the preface so far; the idle timeout bounds the wait */
    d->protocol_known = 1;
    if (h2 < 0)
        return 0;
    slate_proxy *p = d->p;
    struct bufferevent *bev = d->bev;
    int inbound = d->inbound;
    d->bev = NULL;
    downstream_free(d);
    slate_h2_serve(p->h2, bev, inbound);
    return 1;
}

static void down_process(downstream *d)
{
    slate_proxy *p = d->p;
    struct evbuffer *in = bufferevent_get_input(d->bev);
    if (!d->protocol_known && evbuffer_get_length(in) > 0 && dispatch_protocol(d))
        return;
    d->in_parse = 1;
    while (!d->closing && !d->dead && evbuffer_get_length(in) > 0 &&
           HTTP_PARSER_ERRNO(&d->parser) == HPE_OK) {
        size_t n = evbuffer_get_contiguous_space(in);
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        size_t used = http_parser_execute(&d->parser, &p->req_settings, data, n);
        evbuffer_drain(in, used);
        enum http_errno err = HTTP_PARSER_ERRNO(&d->parser);
        if (err == HPE_PAUSED)
            break;
        if (err != HPE_OK) {
            if (!d->closing && !d->ex) {
                p->stats.bad_requests++;
                int big = err == HPE_HEADER_OVERFLOW;
                local_reply(d, big ? 431 : 400,
                            big ? "Request Header Fields Too Large" : "Bad Request",
                            http_errno_description(err));
            } else if (d->ex && !d->ex->resp_started) {
                fail_exchange(d->ex, 400, "Bad Request", http_errno_description(err));
            }
            d->closing = 1;
            break;
        }
        if (used < n)
            break;
    }
    d->in_parse = 0;
    if (d->dead) {
        d->dead = 0;
        downstream_free(d);
        return;
    }
    /* Pipelined requests wait in the input while one is in progress:
     * bounded, the client is not read beyond SLATE_PROXY_HIGH_WATER
     * (finish reads it again). */
    if (d->ex && d->ex->req_complete && evbuffer_get_length(in) > SLATE_PROXY_HIGH_WATER)
        reader_disable(&d->rd);
    if (d->ex && d->ex->u)
        write_now(d->ex->u->bev);
    if (write_now(d->bev) && d->closing)
        downstream_free(d);
}

static void down_event(struct bufferevent *bev, short what, void *arg);

static void down_readable(evutil_socket_t fd, short what, void *arg)
{
    downstream *d = arg;
    if (read_event(d->p, d->bev, &d->rd, fd, what, down_event, d))
        down_process(d);
}

static void down_write(struct bufferevent *bev, void *arg)
{
    downstream *d = arg;
    if (d->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        downstream_free(d);
        return;
    }
    write_idle(bev);
    /* The client caught up: read the upstream again. */
    if (d->ex && d->ex->u)
        reader_enable(&d->ex->u->rd);
}

static void down_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    downstream *d = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (d->ex && (what & BEV_EVENT_EOF) && d->ex->req_complete && !d->closing) {
            /* Half-close after a complete request: still answer it. */
            d->keepalive = 0;
            reader_disable(&d->rd);
            return;
        }
        downstream_free(d);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    slate_proxy *p = arg;
    int inbound = l == p->listeners[1];
    downstream *d = calloc(1, sizeof(*d));
    if (!d) {
        evutil_closesocket(fd);
        return;
    }
    d->p = p;
    d->inbound = inbound;
    slate_px_no_delay(fd);
    d->bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!d->bev) {
        evutil_closesocket(fd);
        free(d);
        return;
    }
    http_parser_init(&d->parser, HTTP_REQUEST);
    d->parser.data = d;
    d->next = p->downs;
    if (p->downs)
        p->downs->prev = d;
    p->downs = d;
    p->stats.downstream_conns++;
    bufferevent_setcb(d->bev, NULL, down_write, down_event, d);
    bufferevent_setwatermark(d->bev, EV_WRITE, SLATE_PROXY_HIGH_WATER / 2, 0);
    /* A new bufferevent has EV_WRITE enabled; here it is on only while
     * write_now leaves bytes. Reading is the reader's (idle timeout). */
    bufferevent_disable(d->bev, EV_READ | EV_WRITE);
    d->rd.timeout.tv_sec = (time_t)p->cfg.idle_timeout_s;
    d->rd.on = 1;
    if (reader_start(&d->rd, p->base, fd, down_readable, d) != 0)
        downstream_free(d);
}

/* ---- lifecycle -------------------------------------------------------------------- */

int slate_proxy_new(struct event_base *base, const slate_proxy_config *cfg, slate_sc_tel *tel,
                    slate_proxy **out)
{
    if (!base || !cfg || !cfg->t || !tel || !out || cfg->cluster < 0 ||
        (size_t)cfg->cluster >= cfg->t->n_clusters)
        return SLATE_ERR_INVALID_ARG;
    slate_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return SLATE_ERR_NOMEM;
    p->base = base;
    p->cfg = *cfg;
    p->tel = tel;
    slate_rng_seed(&p->rng, cfg->seed);
    /* Every endpoint the topology or a table can name, once; 4096 covers
     * SLATE_RT_MAX_ENDPOINTS for the services one sidecar calls. */
    p->cap_eps = 4096;
    p->eps = calloc(p->cap_eps, sizeof(endpoint));
    p->rbuf = malloc(READ_CHUNK);
    if (!p->eps || !p->rbuf) {
        free(p->eps);
        free(p->rbuf);
        free(p);
        return SLATE_ERR_NOMEM;
    }
    if (slate_h2_new(p, &p->h2) != SLATE_OK) {
        free(p->eps);
        free(p->rbuf);
        free(p);
        return SLATE_ERR_NOMEM;
    }
    http_parser_settings_init(&p->req_settings);
    p->req_settings.on_url = req_on_url;
    p->req_settings.on_header_field = req_on_field;
    p->req_settings.on_header_value = req_on_value;
    p->req_settings.on_headers_complete = req_on_headers_complete;
    p->req_settings.on_body = req_on_body;
    p->req_settings.on_message_complete = req_on_complete;
    http_parser_settings_init(&p->resp_settings);
    p->resp_settings.on_status = resp_on_status;
    p->resp_settings.on_header_field = resp_on_field;
    p->resp_settings.on_header_value = resp_on_value;
    p->resp_settings.on_headers_complete = resp_on_headers_complete;
    p->resp_settings.on_body = resp_on_body;
    p->resp_settings.on_message_complete = resp_on_complete;
    *out = p;
    return SLATE_OK;
}

void slate_proxy_free(slate_proxy *p)
{
    if (!p)
        return;
    for (int i = 0; i < 2; i++)
        if (p->listeners[i])
            evconnlistener_free(p->listeners[i]);
    while (p->downs)
        downstream_free(p->downs);
    slate_h2_free(p->h2); /* before the endpoints its upstream sessions point to */
    for (size_t i = 0; i < p->n_eps; i++)
        while (p->eps[i].idle) {
            upstream *u = p->eps[i].idle;
            p->eps[i].idle = u->next_idle;
            upstream_free(u);
        }
    free(p->eps);
    slate_sc_table_free(p->table);
    msgbuf_cleanup(&p->scratch);
    free(p->rbuf);
    free(p);
}

int slate_proxy_listen(slate_proxy *p, int inbound, const char *host, uint16_t port,
                       uint16_t *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (!p || !host || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return SLATE_ERR_INVALID_ARG;
    struct evconnlistener *l =
        evconnlistener_new_bind(p->base, on_accept, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                1024, (struct sockaddr *)&sa, sizeof(sa));
    if (!l)
        return SLATE_ERR_IO;
    p->listeners[inbound ? 1 : 0] = l;
    if (bound) {
        struct sockaddr_in got;
        socklen_t len = sizeof(got);
        if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &len) != 0)
            return SLATE_ERR_IO;
        *bound = ntohs(got.sin_port);
    }
    return SLATE_OK;
}

void slate_proxy_set_table(slate_proxy *p, slate_sc_table *rt)
{
    memset(p->ep_cache, 0, sizeof(p->ep_cache)); /* the old table's strings go */
    slate_sc_table_free(p->table);
    p->table = rt;
}

const slate_sc_table *slate_proxy_table(const slate_proxy *p)
{
    return p->table;
}

size_t slate_proxy_drain(slate_proxy *p)
{
    p->draining = 1;
    for (int i = 0; i < 2; i++)
        if (p->listeners[i])
            evconnlistener_disable(p->listeners[i]);
    slate_h2_drain(p->h2);
    return slate_proxy_inflight(p);
}

size_t slate_proxy_inflight(const slate_proxy *p)
{
    return p->inflight + (p->draining ? slate_h2_connections(p->h2) : 0);
}

slate_proxy_stats slate_proxy_stats_get(const slate_proxy *p)
{
    return p->stats;
}

/* ---- shared with the HTTP/2 code (h2_int.h) ---------------------------------------- */

int slate_px_hop_by_hop(const char *name)
{
    return hop_by_hop(name);
}

double slate_px_wan_delay_ms(const slate_proxy *p, int dst_cluster)
{
    if (!p->cfg.emulate_wan || dst_cluster < 0 || dst_cluster == p->cfg.cluster)
        return 0;
    return slate_topology_rtt_ms(p->cfg.t, p->cfg.cluster, dst_cluster);
}

struct event_base *slate_px_base(const slate_proxy *p)
{
    return p->base;
}

const slate_proxy_config *slate_px_config(const slate_proxy *p)
{
    return &p->cfg;
}

slate_proxy_stats *slate_px_stats(slate_proxy *p)
{
    return &p->stats;
}

void slate_px_inflight_add(slate_proxy *p, int delta)
{
    p->inflight = (size_t)((long long)p->inflight + delta);
}
