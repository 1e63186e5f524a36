/*
 * HTTP/1.1 client connection pool over evhttp; see http_pool.h for why each
 * connection carries one request at a time.
 */
#include "testbed/http_pool.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/err.h"

/* One outstanding request; owned by its connection slot until completion. */
typedef struct pending {
    slate_http_pool *pool;
    size_t slot;
    slate_http_done_cb cb;
    void *arg;
} pending;

typedef struct conn_slot {
    struct evhttp_connection *evcon; /* owned; NULL until first used */
    pending *busy;                   /* owned; NULL when idle */
} conn_slot;

struct slate_http_pool {
    struct event_base *base; /* borrowed */
    char *host;              /* owned */
    uint16_t port;
    double timeout_s;
    conn_slot *slots; /* owned, max_conns entries */
    size_t max_conns;
    size_t n_open; /* slots [0, n_open) have a connection */
    size_t inflight;
    size_t idle_hint; /* where to start looking for an idle slot */
};

int slate_http_pool_new(struct event_base *base, const char *host, uint16_t port,
                        size_t max_conns, double timeout_s, slate_http_pool **out)
{
    if (!base || !host || !*host || !out || max_conns == 0 || max_conns > 65536 ||
        !(timeout_s > 0) || timeout_s > 3600)
        return SLATE_ERR_INVALID_ARG;
    slate_http_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return SLATE_ERR_NOMEM;
    p->host = strdup(host);
    p->slots = calloc(max_conns, sizeof(conn_slot));
    if (!p->host || !p->slots) {
        free(p->host);
        free(p->slots);
        free(p);
        return SLATE_ERR_NOMEM;
    }
    p->base = base;
    p->port = port;
    p->max_conns = max_conns;
    p->timeout_s = timeout_s;
    *out = p;
    return SLATE_OK;
}

void slate_http_pool_free(slate_http_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_open; i++) {
        /* Freeing the connection drops its request without calling back. */
        if (p->slots[i].evcon)
            evhttp_connection_free(p->slots[i].evcon);
        free(p->slots[i].busy);
    }
    free(p->slots);
    free(p->host);
    free(p);
}

size_t slate_http_pool_inflight(const slate_http_pool *p)
{
    return p ? p->inflight : 0;
}

static void on_response(struct evhttp_request *req, void *arg)
{
    pending *pd = arg;
    slate_http_pool *p = pd->pool;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    size_t body = 0;
    if (req && status > 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        body = in ? evbuffer_get_length(in) : 0;
    }
    p->slots[pd->slot].busy = NULL;
    p->inflight--;
    if (pd->slot < p->idle_hint)
        p->idle_hint = pd->slot;
    slate_http_done_cb cb = pd->cb;
    void *cb_arg = pd->arg;
    free(pd);
    cb(status, body, cb_arg);
}

/* Returns an idle slot with a connection, opening one if needed; or -1. */
static long take_slot(slate_http_pool *p)
{
    for (size_t i = p->idle_hint; i < p->n_open; i++) {
        if (!p->slots[i].busy) {
            p->idle_hint = i + 1;
            return (long)i;
        }
    }
    if (p->n_open == p->max_conns)
        return -1;
    size_t i = p->n_open;
    struct evhttp_connection *evcon = evhttp_connection_base_new(p->base, NULL, p->host, p->port);
    if (!evcon)
        return -1;
    struct timeval tv = {.tv_sec = (time_t)p->timeout_s,
                         .tv_usec = (suseconds_t)((p->timeout_s - (double)(time_t)p->timeout_s) * 1e6)};
    evhttp_connection_set_timeout_tv(evcon, &tv);
    p->slots[i].evcon = evcon;
    p->n_open++;
    p->idle_hint = i + 1;
    return (long)i;
}

int slate_http_pool_send(slate_http_pool *p, enum evhttp_cmd_type method, const char *uri,
                         const char *host_header, const slate_http_header *headers,
                         size_t n_headers, const void *body, size_t body_len,
                         slate_http_done_cb cb, void *arg)
{
    if (!p || !uri || !host_header || !cb || (n_headers && !headers) || (body_len && !body))
        return SLATE_ERR_INVALID_ARG;
    long slot = take_slot(p);
    if (slot < 0)
        return SLATE_ERR_TOO_LARGE;
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd)
        return SLATE_ERR_NOMEM;
    *pd = (pending){.pool = p, .slot = (size_t)slot, .cb = cb, .arg = arg};
    struct evhttp_request *req = evhttp_request_new(on_response, pd);
    if (!req) {
        free(pd);
        return SLATE_ERR_NOMEM;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    int bad = evhttp_add_header(out, "Host", host_header);
    for (size_t i = 0; i < n_headers && !bad; i++)
        bad = evhttp_add_header(out, headers[i].name, headers[i].value);
    if (!bad && body_len)
        bad = evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
    if (bad) {
        evhttp_request_free(req);
        free(pd);
        return SLATE_ERR_INVALID_ARG;
    }
    /* On failure evhttp frees |req| itself and does not call back. */
    if (evhttp_make_request(p->slots[slot].evcon, req, method, uri) != 0) {
        free(pd);
        return SLATE_ERR_IO;
    }
    p->slots[slot].busy = pd;
    p->inflight++;
    return SLATE_OK;
}
