/*
 * A pool of HTTP/1.1 client connections to one address, on libevent's evhttp
 * client (a well-kept HTTP implementation; nothing is parsed by hand here).
 *
 * Each connection carries at most one outstanding request. evhttp would
 * otherwise queue further requests behind a busy connection, and a request
 * waiting in a client-side queue is latency the load generator would charge
 * to the system under test. So a send picks an idle connection, opens a new
 * one up to |max_conns|, and past that refuses (the caller counts it): the
 * tools that use the pool are open-loop and must never wait silently.
 *
 * Single-threaded: every call happens on the event loop thread of |base|.
 */
#ifndef SLATE_TESTBED_HTTP_POOL_H
#define SLATE_TESTBED_HTTP_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

typedef struct slate_http_pool slate_http_pool;

typedef struct slate_http_header {
    const char *name;
    const char *value;
} slate_http_header;

/*
 * Completion of one request: |status| is the HTTP status, or 0 when the
 * request failed before a response (connect error, reset, timeout);
 * |body_bytes| is the response body length.
 */
typedef void (*slate_http_done_cb)(int status, size_t body_bytes, void *arg);

/*
 * Creates a pool for |host| (numeric IPv4/IPv6 or a name resolvable without
 * DNS, e.g. "127.0.0.1") and |port|. |timeout_s| bounds connect and each
 * request. Returns owned pool. SLATE_OK, SLATE_ERR_INVALID_ARG or NOMEM.
 */
int slate_http_pool_new(struct event_base *base, const char *host, uint16_t port,
                        size_t max_conns, double timeout_s, slate_http_pool **out);

/* Closes every connection; callbacks of outstanding requests are NOT called. */
void slate_http_pool_free(slate_http_pool *p);

/*
 * Sends one request: |method|, |uri| (origin-form "/path" or absolute-form
 * "http://host/path" when talking to a proxy), the Host header, extra
 * headers, and an optional body (copied). |cb| runs exactly once, later, on
 * the loop thread (never from inside this call). Returns SLATE_OK, or
 * SLATE_ERR_TOO_LARGE when every connection is busy and the pool is at
 * |max_conns| (cb is not called then), SLATE_ERR_NOMEM, SLATE_ERR_IO.
 */
int slate_http_pool_send(slate_http_pool *p, enum evhttp_cmd_type method, const char *uri,
                         const char *host_header, const slate_http_header *headers,
                         size_t n_headers, const void *body, size_t body_len,
                         slate_http_done_cb cb, void *arg);

/* Requests sent and not yet completed. */
size_t slate_http_pool_inflight(const slate_http_pool *p);

#endif
