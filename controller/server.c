/*
 * slate-controller's HTTP server on libmicrohttpd: request bodies with a
 * size limit, bearer-token checks, JSON errors, and long-polls that are
 * suspended (MHD_suspend_connection) instead of holding a thread each.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/api.h"

enum MHD_Result slate_reply(struct MHD_Connection *conn, unsigned code, const char *content_type,
                            const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result ret = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result slate_reply_json_owned(struct MHD_Connection *conn, unsigned code, char *body)
{
    if (!body)
        return slate_reply(conn, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    size_t len = strlen(body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result slate_reply_error(struct MHD_Connection *conn, unsigned code, const char *msg,
                                  const char *path, const slate_diag *d)
{
    cJSON *o = cJSON_CreateObject();
    const char *first_path = path ? path : (d && d->n ? d->entries[0].path : "");
    const char *first_msg = msg;
    char joined[512];
    if (d && d->n) {
        snprintf(joined, sizeof(joined), "%s: %s", msg, d->entries[0].msg);
        first_msg = joined;
    }
    cJSON *arr = NULL;
    if (o && cJSON_AddStringToObject(o, "error", first_msg) &&
        cJSON_AddStringToObject(o, "path", first_path) && d && d->n &&
        (arr = cJSON_AddArrayToObject(o, "problems"))) {
        for (size_t i = 0; i < d->n; i++) {
            cJSON *p = cJSON_CreateObject();
            if (!p)
                break;
            cJSON_AddItemToArray(arr, p);
            cJSON_AddStringToObject(p, "path", d->entries[i].path);
            cJSON_AddStringToObject(p, "error", d->entries[i].msg);
        }
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return slate_reply_json_owned(conn, code, text);
}

/* Constant-time comparison, so response timing does not leak the token. */
static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static int authorized(slate_ctl *c, struct MHD_Connection *conn)
{
    if (c->cfg.insecure_no_auth)
        return 1;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || !c->cfg.token || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    return token_equal(h + 7, c->cfg.token);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    slate_ctl *c = cls;
    slate_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        *con_cls = r;
        int mutating = strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0;
        if (mutating && !authorized(c, conn)) {
            if (strcmp(url, "/v1/reports") == 0) {
                pthread_mutex_lock(&c->mu);
                c->reports_rejected++;
                pthread_mutex_unlock(&c->mu);
            }
            return slate_reply_error(conn, 401, "missing or wrong bearer token", "", NULL);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > c->cfg.max_body) {
            r->too_large = 1;
            return slate_reply_error(conn, 413, "request body exceeds the size limit", "", NULL);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > c->cfg.max_body) {
            /* Keep reading (and dropping) so the client gets the 413. */
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *g = realloc(r->body, cap);
            if (!g)
                return MHD_NO;
            r->body = g;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (r->too_large)
        return slate_reply_error(conn, 413, "request body exceeds the size limit", "", NULL);
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0)
        return slate_api_metrics(c, conn);
    return slate_api_dispatch(c, conn, method, url, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    slate_ctl *c = cls;
    slate_req *r = *con_cls;
    if (!r)
        return;
    if (r->waiting) {
        pthread_mutex_lock(&c->mu);
        if (r->waiting) {
            slate_waiter *w = &r->waiter;
            if (w->prev)
                w->prev->next = w->next;
            else
                c->waiters = w->next;
            if (w->next)
                w->next->prev = w->prev;
            c->n_waiters--;
            r->waiting = 0;
        }
        pthread_mutex_unlock(&c->mu);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

int slate_server_wait(slate_ctl *c, struct MHD_Connection *conn, slate_req *r, uint64_t version,
                      double wait_s)
{
    pthread_mutex_lock(&c->mu);
    if (c->snap && c->snap->version > version) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    slate_waiter *w = &r->waiter;
    w->conn = conn;
    w->deadline_ms = slate_ctl_now_ms() + wait_s * 1e3;
    w->resumed = 0;
    w->prev = NULL;
    w->next = c->waiters;
    if (c->waiters)
        c->waiters->prev = w;
    c->waiters = w;
    c->n_waiters++;
    r->waiting = 1;
    r->waited = 1;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

void slate_ctl_wake_waiters(slate_ctl *c, int all)
{
    double now = slate_ctl_now_ms();
    slate_waiter *w = c->waiters;
    while (w) {
        slate_waiter *next = w->next;
        if (all || now >= w->deadline_ms) {
            if (w->prev)
                w->prev->next = w->next;
            else
                c->waiters = w->next;
            if (w->next)
                w->next->prev = w->prev;
            c->n_waiters--;
            slate_req *r = (slate_req *)((char *)w - offsetof(slate_req, waiter));
            r->waiting = 0;
            w->resumed = 1;
            MHD_resume_connection(w->conn);
        }
        w = next;
    }
}

int slate_ctl_server_start(slate_ctl *c)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(c->cfg.listen_port);
    if (inet_pton(AF_INET, c->cfg.listen_host, &sa.sin_addr) != 1) {
        SLATE_ERROR("event=bad_listen_address host=%s (an IPv4 address is expected)",
                    c->cfg.listen_host);
        return SLATE_ERR_INVALID_ARG;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    c->mhd = MHD_start_daemon(
        flags, c->cfg.listen_port, NULL, NULL, on_request, c, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->cfg.conn_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)c->cfg.conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, c, MHD_OPTION_END);
    if (!c->mhd) {
        SLATE_ERROR("event=listen_failed host=%s port=%u", c->cfg.listen_host, c->cfg.listen_port);
        return SLATE_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(c->mhd, MHD_DAEMON_INFO_BIND_PORT);
    c->bound_port = info ? info->port : c->cfg.listen_port;
    SLATE_INFO("event=listening host=%s port=%u", c->cfg.listen_host, c->bound_port);
    return SLATE_OK;
}

void slate_ctl_server_stop(slate_ctl *c)
{
    if (!c->mhd)
        return;
    /* MHD must not stop with suspended connections: answer them first. */
    pthread_mutex_lock(&c->mu);
    slate_ctl_wake_waiters(c, 1);
    pthread_mutex_unlock(&c->mu);
    MHD_stop_daemon(c->mhd);
    c->mhd = NULL;
}
