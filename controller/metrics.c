/* GET /metrics: Prometheus text exposition format 0.0.4. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/err.h"
#include "controller/api.h"

/* Appends a label value with \, " and newline escaped as the format requires. */
static int label(slate_buf *b, const char *v)
{
    int rv = SLATE_OK;
    for (const char *p = v; rv == SLATE_OK && *p; p++) {
        if (*p == '\\' || *p == '"')
            rv = slate_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rv = slate_buf_append(b, "\\n", 2);
        else
            rv = slate_buf_append(b, p, 1);
    }
    return rv;
}

enum MHD_Result slate_api_metrics(slate_ctl *c, struct MHD_Connection *conn)
{
    slate_buf b;
    slate_buf_init(&b);
    pthread_mutex_lock(&c->mu);
    uint64_t received = c->reports_received, rejected = c->reports_rejected;
    uint64_t ok = c->solves_ok, failed = c->solves_failed, publishes = c->publishes;
    uint64_t buckets[SLATE_CTL_SOLVE_BUCKETS + 1];
    memcpy(buckets, c->solve_bucket, sizeof(buckets));
    double sum = c->solve_seconds_sum;
    uint64_t count = c->solve_count;
    int rows = c->lp_rows, cols = c->lp_cols;
    uint64_t version = c->snap ? c->snap->version : 0;
    size_t waiters = c->n_waiters;
    char *sol = c->solution_json ? strdup(c->solution_json) : NULL;
    pthread_mutex_unlock(&c->mu);

    int rv = slate_buf_printf(
        &b,
        "# HELP slate_reports_received_total Sidecar reports accepted.\n"
        "# TYPE slate_reports_received_total counter\n"
        "slate_reports_received_total %llu\n"
        "# HELP slate_reports_rejected_total Sidecar reports rejected (invalid, unauthorized).\n"
        "# TYPE slate_reports_rejected_total counter\n"
        "slate_reports_rejected_total %llu\n"
        "# HELP slate_solves_total Control-loop solves by result.\n"
        "# TYPE slate_solves_total counter\n"
        "slate_solves_total{result=\"ok\"} %llu\n"
        "slate_solves_total{result=\"failed\"} %llu\n"
        "# HELP slate_route_table_publishes_total Routing-table versions published.\n"
        "# TYPE slate_route_table_publishes_total counter\n"
        "slate_route_table_publishes_total %llu\n"
        "# HELP slate_route_table_version The published routing-table version.\n"
        "# TYPE slate_route_table_version gauge\n"
        "slate_route_table_version %llu\n"
        "# HELP slate_long_polls_waiting Suspended GET /v1/routes long-polls.\n"
        "# TYPE slate_long_polls_waiting gauge\n"
        "slate_long_polls_waiting %zu\n"
        "# HELP slate_lp_rows Rows of the last solved LP.\n"
        "# TYPE slate_lp_rows gauge\n"
        "slate_lp_rows %d\n"
        "# HELP slate_lp_columns Columns of the last solved LP.\n"
        "# TYPE slate_lp_columns gauge\n"
        "slate_lp_columns %d\n"
        "# HELP slate_solve_seconds Wall time of control-loop solves.\n"
        "# TYPE slate_solve_seconds histogram\n",
        (unsigned long long)received, (unsigned long long)rejected, (unsigned long long)ok,
        (unsigned long long)failed, (unsigned long long)publishes, (unsigned long long)version,
        waiters, rows, cols);
    uint64_t cum = 0;
    for (int i = 0; rv == SLATE_OK && i < SLATE_CTL_SOLVE_BUCKETS; i++) {
        cum += buckets[i];
        rv = slate_buf_printf(&b, "slate_solve_seconds_bucket{le=\"%g\"} %llu\n",
                              slate_ctl_solve_bounds[i], (unsigned long long)cum);
    }
    if (rv == SLATE_OK)
        rv = slate_buf_printf(&b,
                              "slate_solve_seconds_bucket{le=\"+Inf\"} %llu\n"
                              "slate_solve_seconds_sum %.9g\nslate_solve_seconds_count %llu\n",
                              (unsigned long long)count, sum, (unsigned long long)count);
    /* Per-class predictions and egress from the last solve report. */
    cJSON *root = sol ? cJSON_Parse(sol) : NULL;
    free(sol);
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    if (rv == SLATE_OK && cJSON_IsArray(classes) && cJSON_GetArraySize(classes) > 0) {
        rv = slate_buf_printf(&b, "# HELP slate_predicted_latency_seconds Predicted mean latency "
                                  "per request of a class entering at a cluster.\n"
                                  "# TYPE slate_predicted_latency_seconds gauge\n");
        const cJSON *o;
        cJSON_ArrayForEach(o, classes)
        {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "class");
            const cJSON *cl = cJSON_GetObjectItemCaseSensitive(o, "cluster");
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
            if (rv != SLATE_OK || !cJSON_IsString(k) || !cJSON_IsString(cl) || !cJSON_IsNumber(l))
                continue;
            rv = slate_buf_printf(&b, "slate_predicted_latency_seconds{class=\"");
            if (rv == SLATE_OK)
                rv = label(&b, k->valuestring);
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\",cluster=\"");
            if (rv == SLATE_OK)
                rv = label(&b, cl->valuestring);
            if (rv == SLATE_OK)
                rv = slate_buf_printf(&b, "\"} %.9g\n", l->valuedouble / 1e3);
        }
    }
    const cJSON *egress = cJSON_GetObjectItemCaseSensitive(root, "egress_usd_per_hour");
    if (rv == SLATE_OK && cJSON_IsNumber(egress))
        rv = slate_buf_printf(&b,
                              "# HELP slate_egress_usd_per_hour Predicted inter-cluster egress "
                              "cost.\n# TYPE slate_egress_usd_per_hour gauge\n"
                              "slate_egress_usd_per_hour %.9g\n",
                              egress->valuedouble);
    cJSON_Delete(root);
    char *text = rv == SLATE_OK ? slate_buf_detach(&b) : NULL;
    slate_buf_cleanup(&b);
    if (!text)
        return slate_reply_error(conn, 500, "out of memory", "", NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}
