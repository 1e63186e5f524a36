/*
 * slate-sidecar: the proxy beside one service instance (see sidecar/proxy.h,
 * sidecar/control.h, sidecar/admin.h). Thin: options, then the library.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/hostport.h"
#include "common/json.h"
#include "common/log.h"
#include "common/numarg.h"
#include "sidecar/admin.h"
#include "sidecar/control.h"
#include "sidecar/proxy.h"
#include "sidecar/telemetry.h"
#include "topology/topology.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: slate-sidecar --topology FILE --service NAME --cluster NAME --app HOST:PORT\n"
            "                     [--outbound HOST:PORT] [--inbound HOST:PORT] [--admin HOST:PORT]\n"
            "                     [--controller HOST:PORT] [--token-file FILE] [--instance NAME]\n"
            "                     [--window-ms MS] [--port-file FILE] [--emulate-wan]\n"
            "                     [--timeout-s S] [--drain-s S] [--seed N] [--log-level L]\n"
            "                     [--routes FILE]\n"
            "  --outbound   the app's HTTP_PROXY (default 127.0.0.1:15001)\n"
            "  --inbound    peers' entry to the app (default 0.0.0.0:15006)\n"
            "  --admin      /healthz /stats /routes /metrics (default 127.0.0.1:15000)\n"
            "  --controller where to report and long-poll routes (none: default routing)\n"
            "  --routes     a routing table (GET /v1/routes format) to start with; a\n"
            "               controller's tables replace it\n"
            "  --emulate-wan  EMULATION ONLY: delay calls to another cluster by the\n"
            "                 topology's RTT, to stand in for regions on one machine\n"
            "Port 0 picks a free port; --port-file receives {\"outbound\":P,\"inbound\":P,\"admin\":P}.\n"
            "SIGTERM/SIGINT stop accepting and drain in-flight requests (--drain-s, default 10).\n");
}

typedef struct run {
    struct event_base *base;
    slate_proxy *proxy;
    double drain_s;
    double drain_deadline;
    struct event *drain_timer;
} run;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run *r = arg;
    if (slate_proxy_inflight(r->proxy) == 0 || mono_s() >= r->drain_deadline) {
        SLATE_INFO("event=stopped inflight_left=%zu", slate_proxy_inflight(r->proxy));
        event_base_loopbreak(r->base);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    run *r = arg;
    if (r->drain_timer)
        return; /* already draining */
    size_t left = slate_proxy_drain(r->proxy);
    SLATE_INFO("event=draining signal=%d inflight=%zu", (int)sig, left);
    r->drain_deadline = mono_s() + r->drain_s;
    r->drain_timer = event_new(r->base, -1, EV_PERSIST, on_drain_tick, r);
    struct timeval tick = {.tv_usec = 20000};
    if (r->drain_timer)
        event_add(r->drain_timer, &tick);
    else
        event_base_loopbreak(r->base);
}

int main(int argc, char **argv)
{
    const char *topo_path = NULL, *service = NULL, *cluster = NULL, *port_file = NULL,
               *instance = NULL, *token_file = NULL, *routes_path = NULL;
    char out_host[64] = "127.0.0.1", in_host[64] = "0.0.0.0", admin_host[64] = "127.0.0.1";
    char app_host[64] = "", ctl_host[64] = "";
    uint16_t out_port = 15001, in_port = 15006, admin_port = 15000, app_port = 0, ctl_port = 0;
    slate_proxy_config cfg = {.connect_timeout_s = 5, .request_timeout_s = 30,
                              .idle_timeout_s = 60, .seed = (uint64_t)time(NULL) ^ (uint64_t)getpid()};
    double window_ms = 1000, drain_s = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--emulate-wan") == 0) {
            cfg.emulate_wan = 1;
            continue;
        } else if (!v) {
            goto bad;
        }
        i++;
        if (strcmp(a, "--topology") == 0)
            topo_path = v;
        else if (strcmp(a, "--service") == 0)
            service = v;
        else if (strcmp(a, "--cluster") == 0)
            cluster = v;
        else if (strcmp(a, "--instance") == 0)
            instance = v;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--token-file") == 0)
            token_file = v;
        else if (strcmp(a, "--routes") == 0)
            routes_path = v;
        else if (strcmp(a, "--app") == 0 && slate_hostport_parse(v, app_host, sizeof(app_host), &app_port) == 0)
            ;
        else if (strcmp(a, "--outbound") == 0 && slate_hostport_parse(v, out_host, sizeof(out_host), &out_port) == 0)
            ;
        else if (strcmp(a, "--inbound") == 0 && slate_hostport_parse(v, in_host, sizeof(in_host), &in_port) == 0)
            ;
        else if (strcmp(a, "--admin") == 0 && slate_hostport_parse(v, admin_host, sizeof(admin_host), &admin_port) == 0)
            ;
        else if (strcmp(a, "--controller") == 0 && slate_hostport_parse(v, ctl_host, sizeof(ctl_host), &ctl_port) == 0)
            ;
        else if (strcmp(a, "--window-ms") == 0 &&
                 slate_numarg_double(v, 10, 3600000, &window_ms) == 0)
            ;
        else if (strcmp(a, "--timeout-s") == 0 &&
                 slate_numarg_double(v, 0, 3600, &cfg.request_timeout_s) == 0 &&
                 cfg.request_timeout_s > 0)
            ;
        else if (strcmp(a, "--drain-s") == 0 && slate_numarg_double(v, 0, 3600, &drain_s) == 0)
            ;
        else if (strcmp(a, "--seed") == 0 && slate_numarg_uint(v, UINT64_MAX, &cfg.seed) == 0)
            ;
        else if (strcmp(a, "--log-level") == 0 && slate_log_level_parse(v) >= 0)
            slate_log_set_level((slate_log_level)slate_log_level_parse(v));
        else
            goto bad;
        continue;
    bad:
        fprintf(stderr, "slate-sidecar: bad or incomplete option \"%s\" (see --help)\n", a);
        return 2;
    }
    if (!topo_path || !service || !cluster || !app_host[0]) {
        usage(stderr);
        return 2;
    }
    slate_topology *t = slate_topology_load_or_report("slate-sidecar", topo_path);
    if (t == NULL)
        return 1;
    int rv;
    slate_diag d;
    int status = 1;
    char *token = NULL;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    slate_sc_tel *tel = NULL;
    slate_proxy *proxy = NULL;
    slate_control *control = NULL;
    slate_admin *admin = NULL;
    run r = {0};
    cfg.t = t;
    cfg.service = slate_topology_find_service(t, service);
    cfg.cluster = slate_topology_find_cluster(t, cluster);
    if (cfg.service < 0 || cfg.cluster < 0) {
        fprintf(stderr, "slate-sidecar: unknown %s\n", cfg.service < 0 ? "service" : "cluster");
        goto out;
    }
    snprintf(cfg.app_host, sizeof(cfg.app_host), "%s", app_host);
    cfg.app_port = app_port;
    if (token_file) {
        size_t n = 0;
        if (slate_file_read(token_file, 4096, &token, &n, NULL) != SLATE_OK) {
            fprintf(stderr, "slate-sidecar: cannot read %s\n", token_file);
            goto out;
        }
        while (n && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
            token[--n] = '\0';
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_config *ec = event_config_new();
    if (ec) {
        /* Precise timers: the coarse default clock would add ms of jitter. */
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (!base)
        goto out;
    uint16_t bout = 0, bin = 0, badmin = 0;
    char inst[160], addr[96];
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if ((rv = slate_sc_tel_new(t, cfg.service, cfg.cluster, "pending", NULL, now_ms, &tel)) !=
                SLATE_OK ||
            (rv = slate_proxy_new(base, &cfg, tel, &proxy)) != SLATE_OK)
            goto out;
    }
    if (slate_proxy_listen(proxy, 1, in_host, in_port, &bin) != SLATE_OK ||
        slate_proxy_listen(proxy, 0, out_host, out_port, &bout) != SLATE_OK) {
        fprintf(stderr, "slate-sidecar: cannot listen (inbound %s:%u, outbound %s:%u)\n", in_host,
                in_port, out_host, out_port);
        goto out;
    }
    /* The reports advertise the bound inbound address. */
    snprintf(addr, sizeof(addr), "%s:%u", strcmp(in_host, "0.0.0.0") == 0 ? "127.0.0.1" : in_host,
             bin);
    snprintf(inst, sizeof(inst), "%s-%s-%u", service, cluster, bin);
    if (slate_sc_tel_set_identity(tel, instance ? instance : inst, addr) != SLATE_OK)
        goto out;
    if (routes_path) {
        char *text = NULL;
        size_t n = 0;
        slate_sc_table *rt = NULL;
        slate_diag_init(&d);
        rv = slate_file_read(routes_path, SLATE_RT_MAX_BYTES, &text, &n, &d);
        if (rv == SLATE_OK)
            rv = slate_sc_table_parse(t, cfg.service, cfg.cluster, text, n, &rt, &d);
        free(text);
        if (rv != SLATE_OK) {
            fprintf(stderr, "slate-sidecar: %s: %s\n", routes_path, slate_strerror(rv));
            slate_diag_print(&d, stderr);
            slate_diag_cleanup(&d);
            goto out;
        }
        slate_diag_cleanup(&d);
        slate_proxy_set_table(proxy, rt);
    }
    if (ctl_host[0] && (rv = slate_control_new(base, t, cfg.service, cfg.cluster, ctl_host, ctl_port,
                                               token, window_ms, tel, proxy, &control)) != SLATE_OK)
        goto out;
    if (slate_admin_new(base, admin_host, admin_port, proxy, tel, control, &admin, &badmin) !=
        SLATE_OK) {
        fprintf(stderr, "slate-sidecar: cannot listen on admin %s:%u\n", admin_host, admin_port);
        goto out;
    }
    if (port_file) {
        FILE *fp = fopen(port_file, "w");
        if (!fp || fprintf(fp, "{\"outbound\":%u,\"inbound\":%u,\"admin\":%u}\n", bout, bin, badmin) < 0 ||
            fclose(fp) != 0) {
            fprintf(stderr, "slate-sidecar: cannot write %s\n", port_file);
            goto out;
        }
    }
    SLATE_INFO("event=listening service=%s cluster=%s outbound=%u inbound=%u admin=%u app=%s:%u "
               "controller=%s",
               service, cluster, bout, bin, badmin, app_host, app_port, ctl_host[0] ? ctl_host : "-");
    r.base = base;
    r.proxy = proxy;
    r.drain_s = drain_s;
    sigterm = evsignal_new(base, SIGTERM, on_signal, &r);
    sigint = evsignal_new(base, SIGINT, on_signal, &r);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL))
        goto out;
    event_base_dispatch(base);
    status = 0;
out:
    if (r.drain_timer)
        event_free(r.drain_timer);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    slate_admin_free(admin);
    slate_control_free(control);
    slate_proxy_free(proxy);
    slate_sc_tel_free(tel);
    if (base)
        event_base_free(base);
    free(token);
    slate_topology_free(t);
    return status;
}
