/* slate-controller's REST handlers (the endpoint list is in issue 4 and README). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/report.h"
#include "controller/api.h"
#include "controller/export.h"

static int is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen("{\"error\":\"method not allowed\",\"path\":\"\"}"),
        (void *)"{\"error\":\"method not allowed\",\"path\":\"\"}", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, 405, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- /v1/topology ----------------------------------------------------------------- */

static enum MHD_Result topology(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                                slate_req *r)
{
    if (is(method, "GET")) {
        char *text = NULL;
        pthread_mutex_lock(&c->mu);
        int rv = c->topology ? slate_topology_to_json(c->topology, 1, &text) : SLATE_ERR_NOT_FOUND;
        pthread_mutex_unlock(&c->mu);
        if (rv == SLATE_ERR_NOT_FOUND)
            return slate_reply_error(conn, 404, "no topology loaded yet", "", NULL);
        return slate_reply_json_owned(conn, 200, rv == SLATE_OK ? text : NULL);
    }
    if (!is(method, "PUT"))
        return method_not_allowed(conn, "GET, PUT");
    slate_diag d;
    slate_diag_init(&d);
    int rv = slate_ctl_set_topology(c, r->body ? r->body : "", r->len, &d);
    enum MHD_Result ret;
    if (rv == SLATE_OK) {
        ret = slate_reply(conn, 200, "application/json", "{\"status\":\"accepted\"}", 21);
    } else {
        unsigned code = rv == SLATE_ERR_NOMEM ? 500 : rv == SLATE_ERR_TOO_LARGE ? 413 : 400;
        ret = slate_reply_error(conn, code, "topology rejected, the previous one stays", NULL, &d);
    }
    slate_diag_cleanup(&d);
    return ret;
}

/* ---- /v1/routes ------------------------------------------------------------------- */

/* Adds "endpoints": {dst_service: {cluster: [addr...]}} for the services
 * the rules name: static endpoints plus live reporting instances. */
static int add_endpoints(slate_ctl *c, const slate_snapshot *s, cJSON *root)
{
    cJSON *eps = cJSON_AddObjectToObject(root, "endpoints");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    if (!eps)
        return SLATE_ERR_NOMEM;
    const cJSON *rule;
    int64_t now = slate_ctl_wall_ms();
    cJSON_ArrayForEach(rule, rules)
    {
        const cJSON *dst = cJSON_GetObjectItemCaseSensitive(rule, "dst_service");
        if (!cJSON_IsString(dst) || cJSON_GetObjectItemCaseSensitive(eps, dst->valuestring))
            continue;
        int sv = slate_topology_find_service(s->t, dst->valuestring);
        cJSON *per = cJSON_AddObjectToObject(eps, dst->valuestring);
        if (sv < 0 || !per)
            return per ? SLATE_OK : SLATE_ERR_NOMEM;
        const slate_service *svc = &s->t->services[sv];
        for (size_t d = 0; d < svc->n_deployments; d++) {
            const slate_deployment *dep = &svc->deployments[d];
            const char *cluster = s->t->clusters[dep->cluster];
            cJSON *list = cJSON_AddArrayToObject(per, cluster);
            if (!list)
                return SLATE_ERR_NOMEM;
            for (size_t e = 0; e < dep->n_endpoints; e++)
                cJSON_AddItemToArray(list, cJSON_CreateString(dep->endpoints[e]));
            /* Live instances, by name in the current topology. */
            char **live = NULL;
            size_t n = 0;
            pthread_mutex_lock(&c->mu);
            int cs = c->topology ? slate_topology_find_service(c->topology, svc->name) : -1;
            int cc = c->topology ? slate_topology_find_cluster(c->topology, cluster) : -1;
            if (cs >= 0 && cc >= 0 && c->agg)
                slate_aggregator_endpoints(c->agg, cs, cc, now, &live, &n);
            pthread_mutex_unlock(&c->mu);
            for (size_t i = 0; i < n; i++) {
                int dup = 0;
                for (size_t e = 0; e < dep->n_endpoints; e++)
                    dup |= is(dep->endpoints[e], live[i]);
                if (!dup)
                    cJSON_AddItemToArray(list, cJSON_CreateString(live[i]));
                free(live[i]);
            }
            free(live);
        }
    }
    return SLATE_OK;
}

/* Parses an unsigned decimal query value; -1 if malformed. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 19)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static enum MHD_Result routes(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                              slate_req *r)
{
    if (!is(method, "GET"))
        return method_not_allowed(conn, "GET");
    const char *cluster = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cluster");
    const char *service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
    const char *version_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "version");
    const char *wait_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait_s");
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    if (!cluster || !*cluster)
        return slate_reply_error(conn, 400, "query parameter \"cluster\" is required", "cluster",
                                 NULL);
    uint64_t known = 0, wait = 0;
    int has_known = version_s != NULL;
    if (has_known && parse_u64(version_s, &known) != 0)
        return slate_reply_error(conn, 400, "\"version\" must be a non-negative integer",
                                 "version", NULL);
    if (wait_s && (parse_u64(wait_s, &wait) != 0 || wait > SLATE_CTL_MAX_WAIT_S))
        return slate_reply_error(conn, 400, "\"wait_s\" must be an integer in [0, 60]", "wait_s",
                                 NULL);
    if (inm) {
        uint64_t tag;
        char buf[32];
        size_t n = strlen(inm);
        if (n >= 3 && n < sizeof(buf) && inm[0] == '"' && inm[n - 1] == '"') {
            memcpy(buf, inm + 1, n - 2);
            buf[n - 2] = '\0';
            if (parse_u64(buf, &tag) == 0 && (!has_known || tag > known)) {
                known = tag;
                has_known = 1;
            }
        }
    }
    slate_snapshot *s = slate_ctl_acquire(c);
    if (!s)
        return slate_reply_error(conn, 503, "no routing table has been published yet", "", NULL);
    enum MHD_Result ret;
    if (has_known && s->version <= known) {
        if (wait > 0 && !r->waited) {
            slate_ctl_release(c, s);
            if (slate_server_wait(c, conn, r, known, (double)wait))
                return MHD_YES; /* answered when resumed */
            s = slate_ctl_acquire(c);
        }
        if (s->version <= known) {
            char etag[32];
            snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)s->version);
            struct MHD_Response *resp =
                MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            if (resp)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
            ret = resp ? MHD_queue_response(conn, 304, resp) : MHD_NO;
            if (resp)
                MHD_destroy_response(resp);
            slate_ctl_release(c, s);
            return ret;
        }
    }
    char *text = NULL;
    int rv = slate_route_table_to_json(s->table, s->t, cluster, service, 0, &text);
    if (rv == SLATE_ERR_NOT_FOUND) {
        slate_ctl_release(c, s);
        return slate_reply_error(conn, 404, "unknown cluster or service",
                                 service ? "service" : "cluster", NULL);
    }
    cJSON *root = rv == SLATE_OK ? cJSON_Parse(text) : NULL;
    free(text);
    text = NULL;
    if (root && cJSON_AddStringToObject(root, "cluster", cluster) &&
        cJSON_AddStringToObject(root, "service", service ? service : "") &&
        add_endpoints(c, s, root) == SLATE_OK)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)s->version);
    slate_ctl_release(c, s);
    if (!text)
        return slate_reply_error(conn, 500, "out of memory", "", NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- /v1/solution, /v1/solve ------------------------------------------------------ */

static enum MHD_Result solution(slate_ctl *c, struct MHD_Connection *conn, const char *method)
{
    if (!is(method, "GET"))
        return method_not_allowed(conn, "GET");
    pthread_mutex_lock(&c->mu);
    char *text = c->solution_json ? strdup(c->solution_json) : NULL;
    int none = !c->solution_json;
    char err[320];
    snprintf(err, sizeof(err), "no solution yet%s%s", c->last_error[0] ? ": " : "", c->last_error);
    pthread_mutex_unlock(&c->mu);
    if (none)
        return slate_reply_error(conn, 404, err, "", NULL);
    return slate_reply_json_owned(conn, 200, text);
}

static enum MHD_Result solve(slate_ctl *c, struct MHD_Connection *conn, const char *method)
{
    if (!is(method, "POST"))
        return method_not_allowed(conn, "POST");
    pthread_mutex_lock(&c->mu);
    int have = c->topology != NULL;
    uint64_t version = c->last_version;
    if (have) {
        c->solve_requested = 1;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->mu);
    if (!have)
        return slate_reply_error(conn, 409, "no topology loaded yet", "", NULL);
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"requested\":true,\"current_version\":%llu}",
                     (unsigned long long)version);
    return slate_reply(conn, 202, "application/json", body, (size_t)n);
}

/* ---- /v1/reports ------------------------------------------------------------------ */

static enum MHD_Result reports(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                               slate_req *r)
{
    if (!is(method, "POST"))
        return method_not_allowed(conn, "POST");
    slate_diag d;
    slate_diag_init(&d);
    slate_report *rep = NULL;
    int rv = slate_report_parse(r->body ? r->body : "", r->len, &rep, &d);
    unsigned code = 202;
    if (rv == SLATE_OK) {
        pthread_mutex_lock(&c->mu);
        if (!c->agg)
            rv = SLATE_ERR_NOT_FOUND;
        else
            rv = slate_aggregator_add(c->agg, rep, slate_ctl_wall_ms(), &d);
        pthread_mutex_unlock(&c->mu);
    }
    if (rv != SLATE_OK)
        code = rv == SLATE_ERR_NOT_FOUND ? 409 : rv == SLATE_ERR_TOO_LARGE ? 413
               : rv == SLATE_ERR_NOMEM ? 500 : 400;
    pthread_mutex_lock(&c->mu);
    if (rv == SLATE_OK)
        c->reports_received++;
    else
        c->reports_rejected++;
    pthread_mutex_unlock(&c->mu);
    slate_report_free(rep);
    enum MHD_Result ret =
        rv == SLATE_OK
            ? slate_reply(conn, 202, "application/json", "{\"accepted\":true}", 17)
            : slate_reply_error(conn, code,
                                rv == SLATE_ERR_NOT_FOUND ? "no topology loaded yet"
                                                          : "report rejected",
                                NULL, &d);
    slate_diag_cleanup(&d);
    return ret;
}

/* ---- /v1/profiles[/{service}/{cluster}] ------------------------------------------- */

static enum MHD_Result profiles(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                                const char *rest, slate_req *r)
{
    char svc[SLATE_TOPO_MAX_NAME + 1] = "", cl[SLATE_TOPO_MAX_NAME + 1] = "";
    if (*rest) {
        const char *slash = strchr(rest + 1, '/');
        size_t a = slash ? (size_t)(slash - rest - 1) : 0, b = slash ? strlen(slash + 1) : 0;
        if (rest[0] != '/' || !slash || a == 0 || b == 0 || a > SLATE_TOPO_MAX_NAME ||
            b > SLATE_TOPO_MAX_NAME || strchr(slash + 1, '/'))
            return slate_reply_error(conn, 404, "expected /v1/profiles/{service}/{cluster}", "",
                                     NULL);
        memcpy(svc, rest + 1, a);
        memcpy(cl, slash + 1, b);
    }
    if (!is(method, "GET") && !is(method, "PUT"))
        return method_not_allowed(conn, "GET, PUT");
    slate_diag d;
    slate_diag_init(&d);
    enum MHD_Result ret;
    pthread_mutex_lock(&c->mu);
    if (!c->topology) {
        pthread_mutex_unlock(&c->mu);
        return slate_reply_error(conn, 409, "no topology loaded yet", "", NULL);
    }
    int s = *svc ? slate_topology_find_service(c->topology, svc) : -1;
    int b = *cl ? slate_topology_find_cluster(c->topology, cl) : -1;
    if (*svc && (s < 0 || b < 0 || !slate_profile_set_get(c->profiles, s, b))) {
        pthread_mutex_unlock(&c->mu);
        return slate_reply_error(conn, 404, "no such deployment", s < 0 ? "service" : "cluster",
                                 NULL);
    }
    if (is(method, "GET")) {
        char *text = NULL;
        int rv = *svc ? slate_profile_to_json(slate_profile_set_get(c->profiles, s, b), 1, &text)
                      : slate_profile_set_to_json(c->profiles, 1, &text);
        pthread_mutex_unlock(&c->mu);
        return slate_reply_json_owned(conn, 200, rv == SLATE_OK ? text : NULL);
    }
    /* PUT: one profile becomes a one-entry set document. */
    char *doc = NULL;
    int rv = SLATE_OK;
    if (*svc) {
        cJSON *one = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
        cJSON *wrap = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        if (!cJSON_IsObject(one)) {
            slate_diag_add(&d, SLATE_ERR_PROFILE_INVALID, "", "expected one profile object");
            rv = SLATE_ERR_PROFILE_INVALID;
            cJSON_Delete(one);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(one, "service");
            cJSON_DeleteItemFromObjectCaseSensitive(one, "cluster");
            cJSON_AddStringToObject(one, "service", svc);
            cJSON_AddStringToObject(one, "cluster", cl);
            cJSON_AddItemToArray(arr, one);
        }
        if (wrap && arr) {
            cJSON_AddItemToObject(wrap, "profiles", arr);
            arr = NULL;
            doc = rv == SLATE_OK ? cJSON_PrintUnformatted(wrap) : NULL;
        }
        cJSON_Delete(arr);
        cJSON_Delete(wrap);
        if (rv == SLATE_OK && !doc)
            rv = SLATE_ERR_NOMEM;
    }
    if (rv == SLATE_OK) {
        const char *text = doc ? doc : (r->body ? r->body : "");
        rv = slate_profile_set_load_json(c->profiles, text, doc ? strlen(doc) : r->len, &d);
    }
    if (rv == SLATE_OK) {
        c->profiles_gen++;
        c->solve_requested = 1;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->mu);
    free(doc);
    ret = rv == SLATE_OK
              ? slate_reply(conn, 200, "application/json", "{\"status\":\"accepted\"}", 21)
              : slate_reply_error(conn, rv == SLATE_ERR_NOMEM ? 500 : 400, "profiles rejected",
                                  NULL, &d);
    slate_diag_cleanup(&d);
    return ret;
}

/* ---- /v1/export/{envoy,istio} ----------------------------------------------------- */

static enum MHD_Result export_config(slate_ctl *c, struct MHD_Connection *conn,
                                     const char *method, int istio)
{
    if (!is(method, "GET"))
        return method_not_allowed(conn, "GET");
    const char *cluster = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cluster");
    const char *service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
    if (!cluster || !*cluster || !service || !*service)
        return slate_reply_error(conn, 400, "query parameters \"cluster\" and \"service\" are required",
                                 !cluster || !*cluster ? "cluster" : "service", NULL);
    slate_snapshot *s = slate_ctl_acquire(c);
    if (!s)
        return slate_reply_error(conn, 503, "no routing table has been published yet", "", NULL);
    char *yaml = NULL;
    int rv = istio ? slate_export_istio(s->table, s->t, cluster, service, &yaml)
                   : slate_export_envoy(s->table, s->t, cluster, service, &yaml);
    slate_ctl_release(c, s);
    if (rv == SLATE_ERR_NOT_FOUND)
        return slate_reply_error(conn, 404, "unknown cluster or service", "", NULL);
    if (rv != SLATE_OK || !yaml)
        return slate_reply_error(conn, 500, slate_strerror(rv), "", NULL);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(yaml), yaml,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(yaml);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/yaml");
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result slate_api_dispatch(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                                   const char *path, slate_req *r)
{
    if (is(path, "/healthz"))
        return slate_reply(conn, 200, "application/json", "{\"status\":\"ok\"}", 15);
    if (is(path, "/readyz")) {
        slate_snapshot *s = slate_ctl_acquire(c);
        int ready = s != NULL;
        slate_ctl_release(c, s);
        return ready ? slate_reply(conn, 200, "application/json", "{\"ready\":true}", 14)
                     : slate_reply_error(conn, 503, "not ready: no topology or no published table",
                                         "", NULL);
    }
    if (is(path, "/v1/topology"))
        return topology(c, conn, method, r);
    if (is(path, "/v1/routes"))
        return routes(c, conn, method, r);
    if (is(path, "/v1/solution"))
        return solution(c, conn, method);
    if (is(path, "/v1/solve"))
        return solve(c, conn, method);
    if (is(path, "/v1/reports"))
        return reports(c, conn, method, r);
    if (strncmp(path, "/v1/profiles", 12) == 0 && (path[12] == '\0' || path[12] == '/'))
        return profiles(c, conn, method, path + 12, r);
    if (is(path, "/v1/export/envoy"))
        return export_config(c, conn, method, 0);
    if (is(path, "/v1/export/istio"))
        return export_config(c, conn, method, 1);
    if (is(path, "/metrics"))
        return method_not_allowed(conn, "GET");
    return slate_reply_error(conn, 404, "no such endpoint", "", NULL);
}
