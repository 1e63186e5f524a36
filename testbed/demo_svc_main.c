/*
 * slate-demo-svc: one emulated microservice instance of a topology, for the
 * end-to-end testbed (see testbed/demo_svc.h).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/hostport.h"
#include "common/numarg.h"
#include "testbed/demo_svc.h"
#include "topology/topology.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: slate-demo-svc --topology FILE --service NAME --cluster NAME\n"
            "                      [--listen HOST:PORT] [--port-file FILE] [--proxy HOST:PORT]\n"
            "                      [--workers N] [--timeout S] [--seed N]\n"
            "Serves the service's call-tree nodes of every class with a fixed pool of\n"
            "--workers (default: capacity_rps x service_time_ms / 1000 rounded, at least 1,\n"
            "with the mean service time then set so the capacity is exact) and exponential\n"
            "service times, calling children through the sidecar at --proxy.\n"
            "--listen defaults to 127.0.0.1:0 (a free port, written to --port-file).\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    const char *topo_path = NULL, *service = NULL, *cluster = NULL, *port_file = NULL;
    char listen_host[64] = "127.0.0.1";
    uint16_t listen_port = 0;
    slate_demo_svc_opts opts = {.timeout_s = 10, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--topology") == 0 && has) {
            topo_path = argv[++i];
        } else if (strcmp(a, "--service") == 0 && has) {
            service = argv[++i];
        } else if (strcmp(a, "--cluster") == 0 && has) {
            cluster = argv[++i];
        } else if (strcmp(a, "--port-file") == 0 && has) {
            port_file = argv[++i];
        } else if (strcmp(a, "--listen") == 0 && has &&
                   slate_hostport_parse(argv[i + 1], listen_host, sizeof(listen_host), &listen_port) == 0) {
            i++;
        } else if (strcmp(a, "--proxy") == 0 && has &&
                   slate_hostport_parse(argv[i + 1], opts.proxy_host, sizeof(opts.proxy_host),
                                  &opts.proxy_port) == 0) {
            i++;
        } else if (strcmp(a, "--workers") == 0 && has &&
                   slate_numarg_int(argv[i + 1], 1, 100000, &opts.workers) == 0) {
            i++;
        } else if (strcmp(a, "--timeout") == 0 && has &&
                   slate_numarg_double(argv[i + 1], 0, 3600, &opts.timeout_s) == 0 &&
                   opts.timeout_s > 0) {
            i++;
        } else if (strcmp(a, "--seed") == 0 && has &&
                   slate_numarg_uint(argv[i + 1], UINT64_MAX, &opts.seed) == 0) {
            i++;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "slate-demo-svc: bad or incomplete option \"%s\"\n", a);
        usage(stderr);
        return 2;
    }
    if (!topo_path || !service || !cluster) {
        usage(stderr);
        return 2;
    }
    slate_topology *t = slate_topology_load_or_report("slate-demo-svc", topo_path);
    if (t == NULL)
        return 1;
    int rv;
    int status = 1;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    slate_demo_svc *svc = NULL;
    opts.service = slate_topology_find_service(t, service);
    opts.cluster = slate_topology_find_cluster(t, cluster);
    if (opts.service < 0 || opts.cluster < 0) {
        fprintf(stderr, "slate-demo-svc: unknown %s \"%s\"\n", opts.service < 0 ? "service" : "cluster",
                opts.service < 0 ? service : cluster);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The precise timer: the coarse default clock would stretch every
     * emulated service time by up to a kernel tick (several ms). */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!base)
        goto out;
    rv = slate_demo_svc_new(t, base, &opts, &svc);
    if (rv != SLATE_OK) {
        fprintf(stderr, "slate-demo-svc: %s\n",
                rv == SLATE_ERR_NOT_FOUND ? "the service is not deployed in that cluster"
                                          : slate_strerror(rv));
        goto out;
    }
    uint16_t bound = 0;
    if ((rv = slate_demo_svc_listen(svc, listen_host, listen_port, &bound)) != SLATE_OK) {
        fprintf(stderr, "slate-demo-svc: cannot listen on %s:%u\n", listen_host, listen_port);
        goto out;
    }
    if (port_file) {
        FILE *fp = fopen(port_file, "w");
        if (!fp || fprintf(fp, "%u\n", bound) < 0 || fclose(fp) != 0) {
            fprintf(stderr, "slate-demo-svc: cannot write %s\n", port_file);
            goto out;
        }
    }
    fprintf(stderr, "slate-demo-svc: %s@%s listening on %s:%u with %d workers\n", service, cluster,
            listen_host, bound, slate_demo_svc_workers(svc));
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
        goto out;
    event_base_dispatch(base);
    const slate_demo_svc_stats *st = slate_demo_svc_stats_get(svc);
    fprintf(stderr,
            "slate-demo-svc: %s@%s served=%" PRIu64 " errors=%" PRIu64 " not_found=%" PRIu64
            " rejected=%" PRIu64 " child_calls=%" PRIu64 " child_errors=%" PRIu64
            " queue_peak=%" PRIu64 "\n",
            service, cluster, st->served, st->errors, st->not_found, st->rejected, st->child_calls,
            st->child_errors, st->queue_peak);
    status = 0;
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    slate_demo_svc_free(svc);
    if (base)
        event_base_free(base);
    slate_topology_free(t);
    return status;
}
