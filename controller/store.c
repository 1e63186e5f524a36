/*
 * The state store (--state-dir, issue 4 item 4): topology.json,
 * profiles.json and routes.json, each written atomically (temp file in the
 * same directory, fsync, the current file rotated to <name>.prev, rename,
 * fsync of the directory). Each file is one JSON document, so a truncated
 * or partial write cannot parse; on load, a file that fails to parse or
 * validate is reported and its .prev copy is used; if both are bad they are
 * renamed aside (<name>.corrupt-<unix time>) and the daemon starts without
 * that part: nothing is deleted, nothing is silently lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/ctl.h"

#define STATE_MAX_BYTES (64u * 1024u * 1024u)

static int path_of(char *out, size_t cap, const char *dir, const char *name, const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, suffix);
    return n > 0 && (size_t)n < cap ? SLATE_OK : SLATE_ERR_INVALID_ARG;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return SLATE_ERR_IO;
    int rv = fsync(fd) == 0 ? SLATE_OK : SLATE_ERR_IO;
    close(fd);
    return rv;
}

/* Writes |text| to dir/name atomically, keeping the old file as name.prev. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[4096], dst[4096], prev[4096];
    char suffix[32];
    snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
    if (path_of(tmp, sizeof(tmp), dir, name, suffix) || path_of(dst, sizeof(dst), dir, name, "") ||
        path_of(prev, sizeof(prev), dir, name, ".prev"))
        return SLATE_ERR_INVALID_ARG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return SLATE_ERR_IO;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    int ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return SLATE_ERR_IO;
    }
    /* The current file becomes the last good copy; a crash between the two
     * renames leaves .prev, which the loader falls back to. */
    if (rename(dst, prev) != 0 && errno != ENOENT) {
        unlink(tmp);
        return SLATE_ERR_IO;
    }
    if (rename(tmp, dst) != 0) {
        unlink(tmp);
        return SLATE_ERR_IO;
    }
    return fsync_dir(dir);
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK) == 0)
            return SLATE_OK;
    }
    return SLATE_ERR_IO;
}

int slate_ctl_store_save(slate_ctl *c, const slate_snapshot *s)
{
    const char *dir = c->cfg.state_dir;
    if (!dir)
        return SLATE_OK;
    if (ensure_dir(dir) != SLATE_OK)
        return SLATE_ERR_IO;
    char *topo = NULL, *prof = NULL, *routes = NULL, *wrapped = NULL;
    pthread_mutex_lock(&c->mu);
    int rv = c->topology ? slate_topology_to_json(c->topology, 0, &topo) : SLATE_OK;
    if (rv == SLATE_OK && c->profiles)
        rv = slate_profile_set_to_json(c->profiles, 0, &prof);
    pthread_mutex_unlock(&c->mu);
    if (rv == SLATE_OK && s)
        rv = slate_route_table_to_json(s->table, s->t, NULL, NULL, 0, &routes);
    if (rv == SLATE_OK && routes) {
        size_t n = strlen(routes) + 64;
        wrapped = malloc(n);
        if (!wrapped)
            rv = SLATE_ERR_NOMEM;
        else
            snprintf(wrapped, n, "{\"version\":%llu,\"table\":%s}", (unsigned long long)s->version,
                     routes);
    }
    if (rv == SLATE_OK && topo)
        rv = write_atomic(dir, "topology.json", topo);
    if (rv == SLATE_OK && prof)
        rv = write_atomic(dir, "profiles.json", prof);
    if (rv == SLATE_OK && wrapped)
        rv = write_atomic(dir, "routes.json", wrapped);
    free(topo);
    free(prof);
    free(routes);
    free(wrapped);
    return rv;
}

/* ---- loading ---------------------------------------------------------------------- */

static int cmp_rule(const void *a, const void *b)
{
    const slate_route_rule *x = a, *y = b;
    int d[4] = {x->klass - y->klass, x->src_service - y->src_service,
                x->src_cluster - y->src_cluster, x->dst_service - y->dst_service};
    for (int i = 0; i < 4; i++)
        if (d[i])
            return d[i] < 0 ? -1 : 1;
    return 0;
}

/* Parses routes.json's {"version": N, "table": {"rules": [...]}} against |t|. */
static int parse_routes(const slate_topology *t, const char *text, size_t len, uint64_t *version,
                        slate_route_table **out, slate_diag *d)
{
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, STATE_MAX_BYTES, &root, d);
    if (rv != SLATE_OK)
        return SLATE_ERR_STATE_CORRUPT;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(root, "table");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(table, "rules");
    size_t nc = t->n_clusters;
    slate_route_table *rt = calloc(1, sizeof(*rt));
    rv = SLATE_ERR_STATE_CORRUPT;
    if (!rt || !cJSON_IsNumber(ver) || ver->valuedouble < 1 || !cJSON_IsArray(rules)) {
        slate_diag_add(d, SLATE_ERR_STATE_CORRUPT, "", "expected {\"version\": N, \"table\": {\"rules\": [...]}}");
        goto fail;
    }
    size_t n = (size_t)cJSON_GetArraySize(rules);
    rt->n_clusters = nc;
    rt->rules = calloc(n + 1, sizeof(slate_route_rule));
    if (!rt->rules)
        goto fail;
    const cJSON *r;
    size_t i = 0;
    cJSON_ArrayForEach(r, rules)
    {
        slate_route_rule *x = &rt->rules[i];
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "class");
        const cJSON *ss = cJSON_GetObjectItemCaseSensitive(r, "src_service");
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r, "src_cluster");
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(r, "dst_service");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(r, "weights");
        x->klass = cJSON_IsString(k) ? slate_topology_find_class(t, k->valuestring) : -1;
        x->src_service = cJSON_IsString(ss) ? slate_topology_find_service(t, ss->valuestring)
                                            : (cJSON_IsNull(ss) ? -1 : -2);
        x->src_cluster = cJSON_IsString(sc) ? slate_topology_find_cluster(t, sc->valuestring) : -1;
        x->dst_service = cJSON_IsString(ds) ? slate_topology_find_service(t, ds->valuestring) : -1;
        x->weights = calloc(nc, sizeof(double));
        rt->n_rules = i + 1;
        if (!x->weights)
            goto fail;
        if (x->klass < 0 || x->src_service < -1 || x->src_cluster < 0 || x->dst_service < 0 ||
            !cJSON_IsObject(w)) {
            slate_diag_add(d, SLATE_ERR_STATE_CORRUPT, "", "rule %zu does not match the topology", i);
            goto fail;
        }
        double sum = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, w)
        {
            int b = slate_topology_find_cluster(t, e->string);
            if (b < 0 || !cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble <= 1)) {
                slate_diag_add(d, SLATE_ERR_STATE_CORRUPT, "", "rule %zu has a bad weight", i);
                goto fail;
            }
            x->weights[b] = e->valuedouble;
            sum += e->valuedouble;
        }
        if (!(sum > 0.999 && sum < 1.001)) {
            slate_diag_add(d, SLATE_ERR_STATE_CORRUPT, "", "rule %zu weights sum to %g", i, sum);
            goto fail;
        }
        const cJSON *fb = cJSON_GetObjectItemCaseSensitive(r, "fallback");
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(r, "flow_rps");
        x->fallback = cJSON_IsTrue(fb);
        x->flow_rps = cJSON_IsNumber(fl) ? fl->valuedouble : 0;
        i++;
    }
    qsort(rt->rules, rt->n_rules, sizeof(slate_route_rule), cmp_rule);
    rt->version = (uint64_t)ver->valuedouble;
    *version = rt->version;
    *out = rt;
    cJSON_Delete(root);
    return SLATE_OK;
fail:
    slate_route_table_free(rt);
    cJSON_Delete(root);
    return rv;
}

/* Moves a bad file aside so it is kept for inspection but not loaded again. */
static void set_aside(const char *path)
{
    char aside[4200];
    snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path, (long long)time(NULL));
    if (rename(path, aside) == 0)
        SLATE_ERROR("event=state_set_aside file=%s kept_as=%s", path, aside);
}

typedef int (*apply_fn)(slate_ctl *c, const char *text, size_t len, slate_diag *d);

/* Loads dir/name, falling back to name.prev. 1 = loaded, 0 = absent, -1 = both bad. */
static int load_one(slate_ctl *c, const char *name, apply_fn apply)
{
    char path[4096], prev[4096];
    if (path_of(path, sizeof(path), c->cfg.state_dir, name, "") ||
        path_of(prev, sizeof(prev), c->cfg.state_dir, name, ".prev"))
        return -1;
    const char *candidates[2] = {path, prev};
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        char *text = NULL;
        size_t len = 0;
        slate_diag d;
        slate_diag_init(&d);
        if (access(candidates[i], F_OK) != 0) {
            slate_diag_cleanup(&d);
            continue;
        }
        seen = 1;
        int rv = slate_file_read(candidates[i], STATE_MAX_BYTES, &text, &len, &d);
        if (rv == SLATE_OK)
            rv = apply(c, text, len, &d);
        free(text);
        if (rv == SLATE_OK) {
            if (i == 1)
                SLATE_WARN("event=state_fallback file=%s used=%s", path, prev);
            slate_diag_cleanup(&d);
            return 1;
        }
        SLATE_ERROR("event=state_corrupt file=%s err=%s detail=\"%s%s%s\"", candidates[i],
                    slate_strerror(rv), d.n ? d.entries[0].path : "", d.n ? ": " : "",
                    d.n ? d.entries[0].msg : "");
        slate_diag_cleanup(&d);
    }
    if (!seen)
        return 0;
    set_aside(path);
    set_aside(prev);
    return -1;
}

static int apply_topology(slate_ctl *c, const char *text, size_t len, slate_diag *d)
{
    return slate_ctl_set_topology(c, text, len, d);
}

static int apply_profiles(slate_ctl *c, const char *text, size_t len, slate_diag *d)
{
    pthread_mutex_lock(&c->mu);
    int rv = c->profiles ? slate_profile_set_load_json(c->profiles, text, len, d)
                         : SLATE_ERR_STATE_CORRUPT;
    if (rv == SLATE_OK)
        c->profiles_gen++;
    pthread_mutex_unlock(&c->mu);
    return rv;
}

static int apply_routes(slate_ctl *c, const char *text, size_t len, slate_diag *d)
{
    pthread_mutex_lock(&c->mu);
    slate_topology *t = NULL;
    int rv = c->topology ? slate_topology_clone(c->topology, &t) : SLATE_ERR_STATE_CORRUPT;
    uint64_t gen = c->topology_gen;
    pthread_mutex_unlock(&c->mu);
    if (rv != SLATE_OK)
        return rv;
    slate_route_table *rt = NULL;
    uint64_t version = 0;
    rv = parse_routes(t, text, len, &version, &rt, d);
    slate_snapshot *s = rv == SLATE_OK ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        slate_route_table_free(rt);
        slate_topology_free(t);
        return rv == SLATE_OK ? SLATE_ERR_NOMEM : rv;
    }
    s->refs = 1;
    s->version = version;
    s->topology_gen = gen;
    s->t = t;
    s->table = rt;
    slate_ctl_publish(c, s);
    return SLATE_OK;
}

int slate_ctl_store_load(slate_ctl *c)
{
    if (!c->cfg.state_dir)
        return SLATE_OK;
    if (ensure_dir(c->cfg.state_dir) != SLATE_OK) {
        SLATE_ERROR("event=state_dir_unusable dir=%s err=\"%s\"", c->cfg.state_dir, strerror(errno));
        return SLATE_ERR_IO;
    }
    int topo = load_one(c, "topology.json", apply_topology);
    if (topo != 1)
        return SLATE_OK; /* nothing (usable) persisted: a fresh start */
    load_one(c, "profiles.json", apply_profiles);
    if (load_one(c, "routes.json", apply_routes) == 1) {
        /* Serve the restored version; the next solve comes at the period. */
        pthread_mutex_lock(&c->mu);
        c->solve_requested = 0;
        uint64_t v = c->snap ? c->snap->version : 0;
        pthread_mutex_unlock(&c->mu);
        SLATE_INFO("event=state_restored dir=%s version=%llu", c->cfg.state_dir,
                   (unsigned long long)v);
    }
    return SLATE_OK;
}
