/* slate-controller's shared state: topology changes and snapshots. */
#include "controller/ctl.h"
#include "controller/publish_gate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"

const double slate_ctl_solve_bounds[SLATE_CTL_SOLVE_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

void slate_ctl_config_init(slate_ctl_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    c->period_ms = 5000;
    c->damping_step = 0.5;
    c->publish_threshold = 0.01;
    c->min_gain = SLATE_PUBLISH_MIN_GAIN_DEFAULT;
    c->instance_ttl_ms = 0; /* 0: three periods */
    c->learn = 1;
    c->pin_ingress = 1;
    c->max_body = SLATE_CTL_MAX_BODY_DEFAULT;
    c->conn_limit = 8192;
    c->conn_timeout_s = 15;
    c->threads = 2;
    strcpy(c->policy, "slate");
}

void slate_ctl_config_cleanup(slate_ctl_config *c)
{
    free(c->port_file);
    free(c->token);
    free(c->topology_path);
    free(c->state_dir);
    c->port_file = c->token = c->topology_path = c->state_dir = NULL;
}

static int set_string(char **dst, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return SLATE_ERR_NOMEM;
    free(*dst);
    *dst = copy;
    return SLATE_OK;
}

int slate_ctl_config_load(slate_ctl_config *c, const char *path, slate_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    int rv = slate_file_read(path, 1u << 20, &text, &len, d);
    if (rv != SLATE_OK)
        return rv;
    rv = slate_json_parse(text, len, 1u << 20, &root, d);
    free(text);
    if (rv != SLATE_OK)
        return rv == SLATE_ERR_NOMEM ? rv : SLATE_ERR_CONFIG_INVALID;
    const int E = SLATE_ERR_CONFIG_INVALID;
    slate_jpath p;
    slate_jpath_init(&p);
    if (!cJSON_IsObject(root)) {
        slate_diag_add(d, E, "", "the config must be a JSON object");
        cJSON_Delete(root);
        return E;
    }
    const char *listen = NULL, *token_file = NULL, *topology = NULL, *state_dir = NULL,
               *policy = NULL;
    double port = c->listen_port, threads = c->threads, conn_limit = c->conn_limit,
           timeout = c->conn_timeout_s, max_body = (double)c->max_body, ttl = c->instance_ttl_ms;
    int learn = c->learn;
    rv = slate_json_get_string(root, "listen_host", 0, sizeof(c->listen_host) - 1, &listen, &p, d, E) |
         slate_json_get_number(root, "listen_port", 0, 0, 65535, &port, &p, d, E) |
         slate_json_get_string(root, "token_file", 0, 4096, &token_file, &p, d, E) |
         slate_json_get_string(root, "topology", 0, 4096, &topology, &p, d, E) |
         slate_json_get_string(root, "state_dir", 0, 4096, &state_dir, &p, d, E) |
         slate_json_get_string(root, "policy", 0, sizeof(c->policy) - 1, &policy, &p, d, E) |
         slate_json_get_number(root, "period_ms", 0, 10, 3600000, &c->period_ms, &p, d, E) |
         slate_json_get_number(root, "damping_step", 0, 1e-6, 1, &c->damping_step, &p, d, E) |
         slate_json_get_number(root, "publish_threshold", 0, 0, 1, &c->publish_threshold, &p, d, E) |
         slate_json_get_number(root, "min_gain", 0, 0, 1, &c->min_gain, &p, d, E) |
         slate_json_get_number(root, "instance_ttl_ms", 0, 0, 86400000, &ttl, &p, d, E) |
         slate_json_get_bool(root, "learn", 0, &learn, &p, d, E) |
         slate_json_get_number(root, "max_body", 0, 1024, 1 << 30, &max_body, &p, d, E) |
         slate_json_get_number(root, "conn_limit", 0, 1, 1000000, &conn_limit, &p, d, E) |
         slate_json_get_number(root, "conn_timeout_s", 0, 1, 3600, &timeout, &p, d, E) |
         slate_json_get_number(root, "threads", 0, 1, 64, &threads, &p, d, E);
    if (rv == SLATE_OK) {
        if (listen)
            strcpy(c->listen_host, listen);
        if (policy)
            strcpy(c->policy, policy);
        c->listen_port = (uint16_t)port;
        c->threads = (unsigned)threads;
        c->conn_limit = (unsigned)conn_limit;
        c->conn_timeout_s = (unsigned)timeout;
        c->max_body = (size_t)max_body;
        c->instance_ttl_ms = ttl;
        c->learn = learn;
        if ((topology && set_string(&c->topology_path, topology)) ||
            (state_dir && set_string(&c->state_dir, state_dir)))
            rv = SLATE_ERR_NOMEM;
        if (rv == SLATE_OK && token_file) {
            char *tok = NULL;
            size_t n = 0;
            rv = slate_file_read(token_file, 4096, &tok, &n, d);
            if (rv == SLATE_OK) {
                while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
                    tok[--n] = '\0';
                free(c->token);
                c->token = tok;
            }
        }
    } else {
        rv = E;
    }
    cJSON_Delete(root);
    return rv;
}

double slate_ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t slate_ctl_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int slate_ctl_init(slate_ctl *c, slate_ctl_config *cfg_moved)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg_moved;
    memset(cfg_moved, 0, sizeof(*cfg_moved)); /* ownership moved */
    if (c->cfg.instance_ttl_ms <= 0)
        c->cfg.instance_ttl_ms = 3 * c->cfg.period_ms;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return SLATE_ERR_NOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rv = pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rv != 0) {
        pthread_mutex_destroy(&c->mu);
        return SLATE_ERR_NOMEM;
    }
    return SLATE_OK;
}

static void snapshot_free(slate_snapshot *s)
{
    if (!s)
        return;
    slate_route_table_free(s->table);
    slate_topology_free(s->t);
    free(s);
}

void slate_ctl_cleanup(slate_ctl *c)
{
    if (c->snap && --c->snap->refs == 0)
        snapshot_free(c->snap);
    c->snap = NULL;
    free(c->solution_json);
    slate_aggregator_free(c->agg);
    slate_profile_set_free(c->profiles);
    slate_topology_free(c->topology);
    slate_ctl_config_cleanup(&c->cfg);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
}

int slate_ctl_set_topology(slate_ctl *c, const char *text, size_t len, slate_diag *d)
{
    slate_topology *t = NULL;
    slate_profile_set *ps = NULL;
    slate_aggregator *agg = NULL;
    int rv = slate_topology_load_json(text, len, &t, d);
    if (rv != SLATE_OK)
        return rv;
    if ((rv = slate_profile_set_new(t, &ps)) != SLATE_OK ||
        (rv = slate_aggregator_new(t, (int64_t)c->cfg.instance_ttl_ms, &agg)) != SLATE_OK) {
        slate_profile_set_free(ps);
        slate_topology_free(t);
        return rv;
    }
    pthread_mutex_lock(&c->mu);
    /* The aggregator and profile set borrow the old topology: free them
     * together, under the lock no report handler can be inside them. */
    slate_aggregator_free(c->agg);
    slate_profile_set_free(c->profiles);
    slate_topology_free(c->topology);
    c->topology = t;
    c->profiles = ps;
    c->agg = agg;
    c->topology_gen++;
    c->profiles_gen++;
    c->solve_requested = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    SLATE_INFO("event=topology_loaded name=%s clusters=%zu services=%zu classes=%zu",
               t->name[0] ? t->name : "-", t->n_clusters, t->n_services, t->n_classes);
    return SLATE_OK;
}

slate_snapshot *slate_ctl_acquire(slate_ctl *c)
{
    pthread_mutex_lock(&c->mu);
    slate_snapshot *s = c->snap;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&c->mu);
    return s;
}

void slate_ctl_release(slate_ctl *c, slate_snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&c->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        snapshot_free(s);
}

void slate_ctl_publish(slate_ctl *c, slate_snapshot *s)
{
    pthread_mutex_lock(&c->mu);
    slate_snapshot *old = c->snap;
    c->snap = s;
    if (s->version > c->last_version)
        c->last_version = s->version;
    c->publishes++;
    int last = old && --old->refs == 0;
    slate_ctl_wake_waiters(c, 1);
    pthread_mutex_unlock(&c->mu);
    if (last)
        snapshot_free(old);
}
