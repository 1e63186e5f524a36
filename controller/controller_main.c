/*
 * slate-controller: the central daemon (REST API, report aggregation,
 * learning, control loop, persistence). Thin: options, then the library.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/hostport.h"
#include "common/json.h"
#include "common/log.h"
#include "common/numarg.h"
#include "controller/ctl.h"
#include "sim/policy.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: slate-controller [options]\n"
            "  --listen HOST:PORT       listen address (default 127.0.0.1:8080; port 0 = any)\n"
            "  --port-file FILE         write the bound port there once listening\n"
            "  --topology FILE          topology to load at start and on SIGHUP\n"
            "  --state-dir DIR          persist topology, profiles and tables there; restored\n"
            "                           at start (wins over --topology when present)\n"
            "  --token-file FILE        bearer token for PUT/POST (or env SLATE_TOKEN)\n"
            "  --insecure-no-auth       accept PUT/POST without a token (testing only)\n"
            "  --period-ms MS           control period (default 5000)\n"
            "  --damping STEP           move weights this fraction toward the optimum (0,1] (0.5)\n"
            "  --publish-threshold W    publish only when a weight moves by >= W (0.01)\n"
            "  --min-gain G             slate: publish only a table predicted to cost a\n"
            "                           fraction >= G less than the published one (0.02)\n"
            "  --instance-ttl-ms MS     forget sidecars silent this long (3 periods)\n"
            "  --no-learn               keep the given profiles; do not refit from reports\n"
            "  --route-ingress          let the LP move requests to another cluster's root\n"
            "                           service (needs a gateway applying the ingress rules;\n"
            "                           default: the root stays where the request entered)\n"
            "  --policy NAME            slate (default) or a baseline: local, equal, spray,\n"
            "                           waterfall, envoy-locality, rings\n"
            "  --max-body BYTES         request body limit (default 4194304)\n"
            "  --conn-limit N           concurrent connections (default 8192)\n"
            "  --conn-timeout-s S       idle/slow client timeout (default 15)\n"
            "  --threads N              HTTP worker threads (default 2)\n"
            "  --config FILE            JSON config with the same fields (flags override)\n"
            "  --log-level LEVEL        debug, info, warn, error (default info)\n"
            "Signals: SIGTERM/SIGINT stop gracefully (persisting state); SIGHUP reloads\n"
            "--topology (a bad file is rejected and the current topology stays).\n");
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

static int load_topology_file(slate_ctl *c, const char *path)
{
    slate_diag d;
    slate_diag_init(&d);
    char *text = NULL;
    size_t len = 0;
    int rv = slate_file_read(path, 64u << 20, &text, &len, &d);
    if (rv == SLATE_OK)
        rv = slate_ctl_set_topology(c, text, len, &d);
    if (rv != SLATE_OK) {
        SLATE_ERROR("event=topology_rejected file=%s err=\"%s\"", path, slate_strerror(rv));
        for (size_t i = 0; i < d.n; i++)
            SLATE_ERROR("event=topology_problem path=%s msg=\"%s\"", d.entries[i].path,
                        d.entries[i].msg);
    }
    free(text);
    slate_diag_cleanup(&d);
    return rv;
}

int main(int argc, char **argv)
{
    slate_ctl_config cfg;
    slate_ctl_config_init(&cfg);
    int status = 1;
    /* The config file first, so flags override it. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0) {
            slate_diag d;
            slate_diag_init(&d);
            int rv = slate_ctl_config_load(&cfg, argv[i + 1], &d);
            if (rv != SLATE_OK) {
                fprintf(stderr, "slate-controller: %s: %s\n", argv[i + 1], slate_strerror(rv));
                slate_diag_print(&d, stderr);
                slate_diag_cleanup(&d);
                slate_ctl_config_cleanup(&cfg);
                return 2;
            }
            slate_diag_cleanup(&d);
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        int whole;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            slate_ctl_config_cleanup(&cfg);
            return 0;
        } else if (strcmp(a, "--insecure-no-auth") == 0) {
            cfg.insecure_no_auth = 1;
            continue;
        } else if (strcmp(a, "--no-learn") == 0) {
            cfg.learn = 0;
            continue;
        } else if (strcmp(a, "--route-ingress") == 0) {
            cfg.pin_ingress = 0;
            continue;
        } else if (!v) {
            goto bad;
        }
        i++;
        if (strcmp(a, "--config") == 0) {
            /* read above */
        } else if (strcmp(a, "--listen") == 0) {
            if (slate_hostport_parse(v, cfg.listen_host, sizeof(cfg.listen_host), &cfg.listen_port) != 0)
                goto bad;
        } else if (strcmp(a, "--port-file") == 0) {
            if (set_str(&cfg.port_file, v))
                goto bad;
        } else if (strcmp(a, "--topology") == 0) {
            if (set_str(&cfg.topology_path, v))
                goto bad;
        } else if (strcmp(a, "--state-dir") == 0) {
            if (set_str(&cfg.state_dir, v))
                goto bad;
        } else if (strcmp(a, "--token-file") == 0) {
            char *tok = NULL;
            size_t n = 0;
            if (slate_file_read(v, 4096, &tok, &n, NULL) != SLATE_OK) {
                fprintf(stderr, "slate-controller: cannot read token file %s\n", v);
                goto out;
            }
            while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
                tok[--n] = '\0';
            free(cfg.token);
            cfg.token = tok;
        } else if (strcmp(a, "--period-ms") == 0 && slate_numarg_double(v, 10, 3600000, &x) == 0) {
            cfg.period_ms = x;
        } else if (strcmp(a, "--damping") == 0 && slate_numarg_double(v, 1e-6, 1, &x) == 0) {
            cfg.damping_step = x;
        } else if (strcmp(a, "--min-gain") == 0 && slate_numarg_double(v, 0, 1, &x) == 0) {
            cfg.min_gain = x;
        } else if (strcmp(a, "--publish-threshold") == 0 && slate_numarg_double(v, 0, 1, &x) == 0) {
            cfg.publish_threshold = x;
        } else if (strcmp(a, "--instance-ttl-ms") == 0 &&
                   slate_numarg_double(v, 1, 86400000, &x) == 0) {
            cfg.instance_ttl_ms = x;
        } else if (strcmp(a, "--policy") == 0 && strlen(v) < sizeof(cfg.policy)) {
            strcpy(cfg.policy, v);
        } else if (strcmp(a, "--max-body") == 0 &&
                   slate_numarg_int(v, 1024, 1 << 30, &whole) == 0) {
            cfg.max_body = (size_t)whole;
        } else if (strcmp(a, "--conn-limit") == 0 && slate_numarg_int(v, 1, 1000000, &whole) == 0) {
            cfg.conn_limit = (unsigned)whole;
        } else if (strcmp(a, "--conn-timeout-s") == 0 &&
                   slate_numarg_int(v, 1, 3600, &whole) == 0) {
            cfg.conn_timeout_s = (unsigned)whole;
        } else if (strcmp(a, "--threads") == 0 && slate_numarg_int(v, 1, 64, &whole) == 0) {
            cfg.threads = (unsigned)whole;
        } else if (strcmp(a, "--log-level") == 0 && slate_log_level_parse(v) >= 0) {
            slate_log_set_level((slate_log_level)slate_log_level_parse(v));
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "slate-controller: bad or incomplete option \"%s\" (see --help)\n", a);
        slate_ctl_config_cleanup(&cfg);
        return 2;
    }
    slate_policy_kind kind;
    if (slate_policy_parse(cfg.policy, &kind) != SLATE_OK || !slate_policy_has_table(kind)) {
        fprintf(stderr, "slate-controller: unknown or table-less policy \"%s\"\n", cfg.policy);
        slate_ctl_config_cleanup(&cfg);
        return 2;
    }
    const char *env_token = getenv("SLATE_TOKEN");
    if (!cfg.token && env_token && *env_token && set_str(&cfg.token, env_token)) {
        slate_ctl_config_cleanup(&cfg);
        return 1;
    }
    if (!cfg.token && !cfg.insecure_no_auth) {
        fprintf(stderr, "slate-controller: no bearer token: give --token-file or SLATE_TOKEN, "
                        "or --insecure-no-auth for a test setup\n");
        slate_ctl_config_cleanup(&cfg);
        return 2;
    }

    /* Signals are taken synchronously by this thread; block them before any
     * other thread exists so none of those receives them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    slate_ctl c;
    if (slate_ctl_init(&c, &cfg) != SLATE_OK) {
        slate_ctl_config_cleanup(&cfg);
        return 1;
    }
    if (slate_ctl_store_load(&c) != SLATE_OK)
        goto cleanup;
    pthread_mutex_lock(&c.mu);
    int have_topology = c.topology != NULL;
    pthread_mutex_unlock(&c.mu);
    if (!have_topology && c.cfg.topology_path &&
        load_topology_file(&c, c.cfg.topology_path) != SLATE_OK)
        goto cleanup;
    if (slate_ctl_server_start(&c) != SLATE_OK)
        goto cleanup;
    if (c.cfg.port_file) {
        FILE *fp = fopen(c.cfg.port_file, "w");
        if (!fp || fprintf(fp, "%u\n", c.bound_port) < 0 || fclose(fp) != 0) {
            fprintf(stderr, "slate-controller: cannot write %s\n", c.cfg.port_file);
            goto stop;
        }
    }
    if (slate_ctl_loop_start(&c) != SLATE_OK)
        goto stop;
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (c.cfg.topology_path) {
                SLATE_INFO("event=reload file=%s", c.cfg.topology_path);
                load_topology_file(&c, c.cfg.topology_path);
            } else {
                SLATE_WARN("event=reload_ignored reason=\"no --topology file\"");
            }
            continue;
        }
        SLATE_INFO("event=stopping signal=%d", sig);
        break;
    }
    status = 0;
stop:
    /* Stop taking requests (long-polls are answered first), then the loop,
     * then persist what is published. */
    slate_ctl_server_stop(&c);
    slate_ctl_loop_stop(&c);
    if (c.cfg.state_dir) {
        slate_snapshot *s = slate_ctl_acquire(&c);
        if (slate_ctl_store_save(&c, s) != SLATE_OK) {
            SLATE_ERROR("event=persist_failed dir=%s", c.cfg.state_dir);
            status = 1;
        }
        slate_ctl_release(&c, s);
    }
cleanup:
    slate_ctl_cleanup(&c);
out:
    return status;
}
