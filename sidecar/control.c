/* Reporter and route client; see control.h. */
#include "sidecar/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/err.h"
#include "common/log.h"
#include "common/report.h"
#include "common/rng.h"

#define MAX_BACKOFF_MS 10000.0

struct slate_control {
    struct event_base *base;
    const slate_topology *t;
    int service, cluster;
    char host[64];
    uint16_t port;
    char *auth; /* owned "Bearer ..." or NULL */
    double window_ms;
    slate_sc_tel *tel;
    slate_proxy *proxy;
    slate_rng rng;
    struct evhttp_connection *report_conn, *route_conn;
    struct event *window_timer, *poll_timer;
    slate_report *backlog; /* owned: windows not sent yet, merged */
    slate_report *sending; /* owned: the report of the POST in flight */
    uint64_t sending_windows;
    int report_in_flight;
    double report_backoff_ms, poll_backoff_ms;
    double next_report_ms; /* monotonic, ms */
    uint64_t version;
    char *table_json;
    slate_control_stats stats;
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double backoff(slate_control *c, double *cur)
{
    *cur = *cur <= 0 ? 250 : (*cur * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : *cur * 2);
    return *cur * (0.75 + 0.5 * slate_rng_uniform(&c->rng)); /* jitter */
}

static void add_auth(slate_control *c, struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->host);
    if (c->auth)
        evhttp_add_header(h, "Authorization", c->auth);
}

/* ---- reporter --------------------------------------------------------------------- */

static void send_backlog(slate_control *c);

static void on_report_done(struct evhttp_request *req, void *arg)
{
    slate_control *c = arg;
    c->report_in_flight = 0;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 202) {
        c->stats.reports_sent++;
        slate_report_free(c->sending);
        c->sending = NULL;
        c->sending_windows = 0;
        c->report_backoff_ms = 0;
        return;
    }
    c->stats.reports_failed++;
    if (code >= 400 && code < 500 && code != 408 && code != 409 && code != 429) {
        /* The controller rejected it as invalid: resending cannot help. */
        SLATE_WARN("event=report_rejected status=%d windows=%llu", code,
                   (unsigned long long)c->sending_windows);
        c->stats.reports_dropped += c->sending_windows;
        slate_report_free(c->sending);
        c->sending = NULL;
        c->sending_windows = 0;
        return;
    }
    /* Not delivered: the unsent windows join it and it is retried later. */
    if (c->backlog && slate_report_merge(c->sending, c->backlog) != SLATE_OK) {
        c->stats.reports_dropped += c->stats.backlog_windows;
        c->stats.backlog_windows = 0;
    }
    slate_report_free(c->backlog);
    c->backlog = c->sending;
    c->stats.backlog_windows += c->sending_windows;
    c->sending = NULL;
    c->sending_windows = 0;
    c->next_report_ms = mono_ms() + backoff(c, &c->report_backoff_ms);
}

static void send_backlog(slate_control *c)
{
    if (!c->backlog || c->report_in_flight || mono_ms() < c->next_report_ms)
        return;
    char *text = NULL;
    size_t len = 0;
    if (slate_report_to_json(c->backlog, &text, &len) != SLATE_OK)
        return;
    struct evhttp_request *req = evhttp_request_new(on_report_done, c);
    if (!req) {
        free(text);
        return;
    }
    add_auth(c, req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, len);
    free(text);
    if (evhttp_make_request(c->report_conn, req, EVHTTP_REQ_POST, "/v1/reports") != 0)
        return; /* evhttp freed |req|; the backlog stays for the next window */
    c->report_in_flight = 1;
    c->sending = c->backlog;
    c->sending_windows = c->stats.backlog_windows;
    c->backlog = NULL;
    c->stats.backlog_windows = 0;
}

static void on_window(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    slate_control *c = arg;
    slate_report *r = NULL;
    if (slate_sc_tel_flush(c->tel, wall_ms(), &r) == SLATE_OK && r) {
        if (!c->backlog) {
            c->backlog = r;
            c->stats.backlog_windows = 1;
        } else if (c->stats.backlog_windows + c->sending_windows >=
                   SLATE_CONTROL_MAX_BACKLOG_WINDOWS) {
            /* Bounded: the old backlog goes, counted; the new window stays. */
            c->stats.reports_dropped += c->stats.backlog_windows;
            slate_report_free(c->backlog);
            c->backlog = r;
            c->stats.backlog_windows = 1;
        } else if (slate_report_merge(c->backlog, r) == SLATE_OK) {
            c->stats.windows_merged++;
            c->stats.backlog_windows++;
            slate_report_free(r);
        } else {
            c->stats.reports_dropped++;
            slate_report_free(r);
        }
    }
    send_backlog(c);
}

/* ---- route client ----------------------------------------------------------------- */

static void poll_routes(slate_control *c);

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    poll_routes(arg);
}

static void schedule_poll(slate_control *c, double delay_ms)
{
    struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1e3),
                         .tv_usec = (suseconds_t)((long)(delay_ms * 1e3) % 1000000)};
    evtimer_add(c->poll_timer, &tv);
}

static void on_routes(struct evhttp_request *req, void *arg)
{
    slate_control *c = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 200) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *text = malloc(len + 1);
        slate_sc_table *rt = NULL;
        slate_diag d;
        slate_diag_init(&d);
        if (text) {
            evbuffer_copyout(in, text, len);
            text[len] = '\0';
        }
        if (text && slate_sc_table_parse(c->t, c->service, c->cluster, text, len, &rt, &d) ==
                        SLATE_OK) {
            c->version = slate_sc_table_version(rt);
            slate_proxy_set_table(c->proxy, rt);
            free(c->table_json);
            c->table_json = text;
            text = NULL;
            c->stats.tables_received++;
            c->poll_backoff_ms = 0;
            SLATE_INFO("event=routes_updated version=%llu", (unsigned long long)c->version);
            schedule_poll(c, 0);
        } else {
            c->stats.tables_rejected++;
            SLATE_WARN("event=routes_rejected detail=\"%s\"", d.n ? d.entries[0].msg : "");
            schedule_poll(c, backoff(c, &c->poll_backoff_ms));
        }
        free(text);
        slate_diag_cleanup(&d);
        return;
    }
    if (code == 304) {
        c->stats.polls_not_modified++;
        c->poll_backoff_ms = 0;
        schedule_poll(c, 0);
        return;
    }
    /* Controller away or not ready: keep the last table (fail static). */
    c->stats.poll_errors++;
    schedule_poll(c, backoff(c, &c->poll_backoff_ms));
}

static void poll_routes(slate_control *c)
{
    char uri[512];
    snprintf(uri, sizeof(uri), "/v1/routes?cluster=%s&service=%s&version=%llu&wait_s=30",
             c->t->clusters[c->cluster], c->service >= 0 ? c->t->services[c->service].name : "",
             (unsigned long long)c->version);
    struct evhttp_request *req = evhttp_request_new(on_routes, c);
    if (!req) {
        schedule_poll(c, 1000);
        return;
    }
    add_auth(c, req);
    if (evhttp_make_request(c->route_conn, req, EVHTTP_REQ_GET, uri) != 0)
        schedule_poll(c, backoff(c, &c->poll_backoff_ms));
}

/* ---- lifecycle -------------------------------------------------------------------- */

int slate_control_new(struct event_base *base, const slate_topology *t, int service, int cluster,
                      const char *host, uint16_t port, const char *token, double window_ms,
                      slate_sc_tel *tel, slate_proxy *proxy, slate_control **out)
{
    if (!base || !t || !host || strlen(host) >= 64 || !(window_ms >= 10) || !tel || !proxy ||
        !out)
        return SLATE_ERR_INVALID_ARG;
    slate_control *c = calloc(1, sizeof(*c));
    if (!c)
        return SLATE_ERR_NOMEM;
    c->base = base;
    c->t = t;
    c->service = service;
    c->cluster = cluster;
    strcpy(c->host, host);
    c->port = port;
    c->window_ms = window_ms;
    c->tel = tel;
    c->proxy = proxy;
    slate_rng_seed(&c->rng, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c);
    if (token) {
        size_t n = strlen(token) + 8;
        c->auth = malloc(n);
        if (c->auth)
            snprintf(c->auth, n, "Bearer %s", token);
    }
    c->report_conn = evhttp_connection_base_new(base, NULL, host, port);
    c->route_conn = evhttp_connection_base_new(base, NULL, host, port);
    c->window_timer = event_new(base, -1, EV_PERSIST, on_window, c);
    c->poll_timer = evtimer_new(base, on_poll_timer, c);
    if ((token && !c->auth) || !c->report_conn || !c->route_conn || !c->window_timer ||
        !c->poll_timer) {
        slate_control_free(c);
        return SLATE_ERR_NOMEM;
    }
    evhttp_connection_set_timeout(c->report_conn, 5);
    evhttp_connection_set_timeout(c->route_conn, 35); /* above the 30 s long-poll */
    struct timeval w = {.tv_sec = (time_t)(window_ms / 1e3),
                        .tv_usec = (suseconds_t)((long)(window_ms * 1e3) % 1000000)};
    event_add(c->window_timer, &w);
    schedule_poll(c, 0);
    *out = c;
    return SLATE_OK;
}

void slate_control_free(slate_control *c)
{
    if (!c)
        return;
    if (c->window_timer)
        event_free(c->window_timer);
    if (c->poll_timer)
        event_free(c->poll_timer);
    if (c->report_conn)
        evhttp_connection_free(c->report_conn);
    if (c->route_conn)
        evhttp_connection_free(c->route_conn);
    if (c->backlog)
        SLATE_WARN("event=report_backlog_lost windows=%llu",
                   (unsigned long long)c->stats.backlog_windows);
    slate_report_free(c->backlog);
    slate_report_free(c->sending);
    free(c->table_json);
    free(c->auth);
    free(c);
}

slate_control_stats slate_control_stats_get(const slate_control *c)
{
    return c->stats;
}

const char *slate_control_table_json(const slate_control *c)
{
    return c->table_json;
}
