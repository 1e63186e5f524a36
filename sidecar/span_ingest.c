/* Zipkin v2 and OTLP JSON span payloads; see span_ingest.h. */
#include "sidecar/span_ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/json.h"

#define BAD SLATE_ERR_SPANS_INVALID

struct slate_span_batch {
    cJSON *doc;        /* owned; the spans' strings point into it */
    slate_span *spans; /* owned */
    size_t n, rejected;
};

void slate_span_batch_free(slate_span_batch *b)
{
    if (!b)
        return;
    cJSON_Delete(b->doc);
    free(b->spans);
    free(b);
}

const slate_span *slate_span_batch_spans(const slate_span_batch *b)
{
    return b ? b->spans : NULL;
}

size_t slate_span_batch_count(const slate_span_batch *b)
{
    return b ? b->n : 0;
}

size_t slate_span_batch_rejected(const slate_span_batch *b)
{
    return b ? b->rejected : 0;
}

/* ---- typed readers (each records its own diagnostic at |path|) ---------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Reads member |key| of |obj| as a hex id of |w1| or |w2| characters into
 * |out| (|out_w| + 1 bytes), lower-cased and left-padded with zeros to
 * |out_w|. An optional id that is absent, null or "" leaves |out| "".
 */
static int get_hex_id(const cJSON *obj, const char *key, int required, size_t w1, size_t w2,
                      char *out, size_t out_w, slate_jpath *path, slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark = slate_jpath_push_key(path, key);
    int rv = BAD;
    char widths[32];
    if (w1 == w2)
        snprintf(widths, sizeof(widths), "%zu", w1);
    else
        snprintf(widths, sizeof(widths), "%zu or %zu", w1, w2);
    out[0] = '\0';
    if (!required && (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && v->valuestring[0] == '\0'))) {
        rv = SLATE_OK;
    } else if (!v) {
        slate_diag_add(d, BAD, path->buf, "is required (%s hex characters)", widths);
    } else if (!cJSON_IsString(v)) {
        slate_diag_add(d, BAD, path->buf, "expected %s hex characters, not %s", widths,
                       slate_json_type_name(v));
    } else {
        const char *s = v->valuestring;
        size_t len = strnlen(s, out_w + 1);
        size_t nonhex = 0, nonzero = 0;
        for (size_t i = 0; i < len; i++) {
            nonhex += hexval(s[i]) < 0;
            nonzero += s[i] != '0';
        }
        if (len != w1 && len != w2)
            slate_diag_add(d, BAD, path->buf, "expected %s hex characters, got %s%zu", widths,
                           len > out_w ? "more than " : "", len > out_w ? out_w : len);
        else if (nonhex)
            slate_diag_add(d, BAD, path->buf, "expected %s hex characters, got a non-hex character",
                           widths);
        else if (!nonzero)
            slate_diag_add(d, BAD, path->buf, "must not be all zeros (an invalid id)");
        else {
            size_t pad = out_w - len;
            memset(out, '0', pad);
            for (size_t i = 0; i < len; i++)
                out[pad + i] = "0123456789abcdef"[hexval(s[i])];
            out[out_w] = '\0';
            rv = SLATE_OK;
        }
    }
    slate_jpath_pop(path, mark);
    return rv;
}

/* Checks |v| (named by |path|) as a string of at most SLATE_SPANS_MAX_STRING
 * bytes; null and "" read as absent (|*out| = NULL). */
static int check_opt_string(const cJSON *v, const char **out, const slate_jpath *path,
                            slate_diag *d)
{
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return SLATE_OK;
    if (!cJSON_IsString(v)) {
        slate_diag_add(d, BAD, path->buf, "must be a string, not %s", slate_json_type_name(v));
        return BAD;
    }
    if (strnlen(v->valuestring, SLATE_SPANS_MAX_STRING + 1) > SLATE_SPANS_MAX_STRING) {
        slate_diag_add(d, BAD, path->buf, "is longer than %u bytes", SLATE_SPANS_MAX_STRING);
        return BAD;
    }
    if (v->valuestring[0])
        *out = v->valuestring;
    return SLATE_OK;
}

static int get_opt_string(const cJSON *obj, const char *key, const char **out, slate_jpath *path,
                          slate_diag *d)
{
    size_t mark = slate_jpath_push_key(path, key);
    int rv = check_opt_string(cJSON_GetObjectItemCaseSensitive(obj, key), out, path, d);
    slate_jpath_pop(path, mark);
    return rv;
}

/*
 * Checks |v| as an unsigned integer in [min, max], given as a JSON number
 * (integral) or a decimal string (proto3 JSON writes 64-bit integers so).
 */
static int check_uint(const cJSON *v, uint64_t min, uint64_t max, uint64_t *out,
                      const slate_jpath *path, slate_diag *d)
{
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (!isfinite(x) || x != floor(x))
            slate_diag_add(d, BAD, path->buf, "must be an integer, not %g", x);
        else if (x < (double)min || x >= 18446744073709551616.0 || (uint64_t)x > max)
            slate_diag_add(d, BAD, path->buf, "%.17g is out of range [%llu, %llu]", x,
                           (unsigned long long)min, (unsigned long long)max);
        else {
            *out = (uint64_t)x;
            return SLATE_OK;
        }
        return BAD;
    }
    if (!cJSON_IsString(v)) {
        slate_diag_add(d, BAD, path->buf,
                       "must be an integer (a number or a decimal string), not %s",
                       slate_json_type_name(v));
        return BAD;
    }
    const char *s = v->valuestring;
    size_t len = strnlen(s, 21);
    if (len == 0 || len > 20 || strspn(s, "0123456789") != len) {
        slate_diag_add(d, BAD, path->buf, "must be a decimal integer string of 1 to 20 digits");
        return BAD;
    }
    uint64_t x = 0;
    int overflow = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (x > (UINT64_MAX - digit) / 10)
            overflow = 1;
        else
            x = x * 10 + digit;
    }
    if (overflow || x < min || x > max) {
        slate_diag_add(d, BAD, path->buf, "%s is out of range [%llu, %llu]", s,
                       (unsigned long long)min, (unsigned long long)max);
        return BAD;
    }
    *out = x;
    return SLATE_OK;
}

/* check_uint on member |key|; absent (or null) leaves |*present| 0. */
static int get_opt_uint(const cJSON *obj, const char *key, uint64_t min, uint64_t max,
                        uint64_t *out, int *present, slate_jpath *path, slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v && !cJSON_IsNull(v);
    if (!*present)
        return SLATE_OK;
    size_t mark = slate_jpath_push_key(path, key);
    int rv = check_uint(v, min, max, out, path, d);
    slate_jpath_pop(path, mark);
    return rv;
}

/* Member |key| when it is of the type |is| tests (named |what|); NULL when
 * absent or null; another type is reported and sets |*bad|. */
static const cJSON *get_opt_typed(const cJSON *obj, const char *key,
                                  cJSON_bool (*is)(const cJSON *), const char *what, int *bad,
                                  slate_jpath *path, slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (is(v))
        return v;
    size_t mark = slate_jpath_push_key(path, key);
    slate_diag_add(d, BAD, path->buf, "must be %s, not %s", what, slate_json_type_name(v));
    slate_jpath_pop(path, mark);
    *bad = 1;
    return NULL;
}

static const cJSON *get_opt_object(const cJSON *obj, const char *key, int *bad, slate_jpath *path,
                                   slate_diag *d)
{
    return get_opt_typed(obj, key, cJSON_IsObject, "an object", bad, path, d);
}

static const cJSON *get_opt_array(const cJSON *obj, const char *key, int *bad, slate_jpath *path,
                                  slate_diag *d)
{
    return get_opt_typed(obj, key, cJSON_IsArray, "an array", bad, path, d);
}

/* ---- tags and attributes the sidecar uses ------------------------------------------- */

typedef enum known_key {
    K_NONE,
    K_CLASS,
    K_BAGGAGE,
    K_CLUSTER,
    K_STATUS,
    K_METHOD,
    K_PATH,
    K_ERROR,
    K_PEER,
    K_ADDRESS,
    K_SERVICE, /* OTLP resource attribute */
} known_key;

static known_key key_kind(const char *key)
{
    static const struct {
        const char *name;
        known_key kind;
    } keys[] = {
        {"slate.class", K_CLASS},
        {"baggage", K_BAGGAGE},
        {"slate.cluster", K_CLUSTER},
        {"http.status_code", K_STATUS},
        {"http.response.status_code", K_STATUS},
        {"http.method", K_METHOD},
        {"http.request.method", K_METHOD},
        {"http.target", K_PATH},
        {"url.path", K_PATH},
        {"error", K_ERROR},
        {"peer.service", K_PEER},
        {"server.address", K_ADDRESS},
        {"net.peer.name", K_ADDRESS},
        {"service.name", K_SERVICE},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i].name) == 0)
            return keys[i].kind;
    return K_NONE;
}

/* What tags or attributes said, before the remote service is settled. */
typedef struct span_extra {
    const char *endpoint_remote; /* Zipkin remoteEndpoint.serviceName */
    const char *peer, *address;
} span_extra;

/* Stores string |value| of a known key; status codes are checked here. */
static int take_string(slate_span *s, span_extra *x, known_key kind, const cJSON *value,
                       const slate_jpath *path, slate_diag *d)
{
    if (kind == K_STATUS) {
        uint64_t code = 0;
        if (check_uint(value, 100, 599, &code, path, d) != SLATE_OK)
            return BAD;
        s->http_status = (int)code;
        return SLATE_OK;
    }
    const char *str = NULL;
    if (check_opt_string(value, &str, path, d) != SLATE_OK)
        return BAD;
    switch (kind) {
    case K_CLASS:
        s->klass = str;
        break;
    case K_BAGGAGE:
        s->baggage = str;
        break;
    case K_CLUSTER:
        s->cluster = str;
        break;
    case K_METHOD:
        s->http_method = str;
        break;
    case K_PATH:
        s->http_path = str;
        break;
    case K_ERROR:
        s->error = 1; /* Zipkin: the tag's presence marks a failed span */
        break;
    case K_PEER:
        x->peer = str;
        break;
    case K_ADDRESS:
        x->address = str;
        break;
    default:
        break;
    }
    return SLATE_OK;
}

/* Zipkin "tags": an object whose values are all strings. */
static int zipkin_tags(const cJSON *tags, slate_span *s, span_extra *x, slate_jpath *path,
                       slate_diag *d)
{
    int rv = SLATE_OK;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        size_t mark = slate_jpath_push_key(path, t->string ? t->string : "");
        if (!cJSON_IsString(t)) {
            slate_diag_add(d, BAD, path->buf, "tag values must be strings, not %s",
                           slate_json_type_name(t));
            rv = BAD;
        } else {
            known_key kind = key_kind(t->string ? t->string : "");
            if (kind != K_NONE && kind != K_SERVICE &&
                take_string(s, x, kind, t, path, d) != SLATE_OK)
                rv = BAD;
            else if (kind == K_NONE &&
                     strnlen(t->valuestring, SLATE_SPANS_MAX_STRING + 1) > SLATE_SPANS_MAX_STRING) {
                slate_diag_add(d, BAD, path->buf, "is longer than %u bytes",
                               SLATE_SPANS_MAX_STRING);
                rv = BAD;
            }
        }
        slate_jpath_pop(path, mark);
    }
    return rv;
}

/*
 * OTLP "attributes": [{"key": K, "value": AnyValue}]. Each entry must be an
 * object with a non-empty string key; the values of keys the sidecar uses
 * must be a stringValue (an intValue, or a decimal stringValue, for status
 * codes). |resource| selects the resource's keys (service.name only).
 */
static int otlp_attributes(const cJSON *attrs, int resource, slate_span *s, span_extra *x,
                           const char **service, slate_jpath *path, slate_diag *d)
{
    int rv = SLATE_OK;
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        size_t mark = slate_jpath_push_index(path, i++);
        const char *key = NULL;
        int bad = 0;
        const cJSON *value = NULL;
        if (!cJSON_IsObject(a)) {
            slate_diag_add(d, BAD, path->buf, "must be an object {\"key\", \"value\"}, not %s",
                           slate_json_type_name(a));
            bad = 1;
        } else if (get_opt_string(a, "key", &key, path, d) != SLATE_OK) {
            bad = 1;
        } else if (!key) {
            size_t m = slate_jpath_push_key(path, "key");
            slate_diag_add(d, BAD, path->buf, "is required");
            slate_jpath_pop(path, m);
            bad = 1;
        } else {
            value = get_opt_object(a, "value", &bad, path, d);
        }
        known_key kind = key ? key_kind(key) : K_NONE;
        if (!bad && value && kind != K_NONE && (kind == K_SERVICE) == (resource != 0) &&
            kind != K_ERROR) {
            size_t m = slate_jpath_push_key(path, "value");
            const cJSON *sv = cJSON_GetObjectItemCaseSensitive(value, "stringValue");
            const cJSON *iv = cJSON_GetObjectItemCaseSensitive(value, "intValue");
            if (kind == K_STATUS && iv) {
                size_t m2 = slate_jpath_push_key(path, "intValue");
                bad = take_string(s, x, kind, iv, path, d) != SLATE_OK;
                slate_jpath_pop(path, m2);
            } else if (sv) {
                size_t m2 = slate_jpath_push_key(path, "stringValue");
                if (kind == K_SERVICE)
                    bad = check_opt_string(sv, service, path, d) != SLATE_OK;
                else
                    bad = take_string(s, x, kind, sv, path, d) != SLATE_OK;
                slate_jpath_pop(path, m2);
            } else {
                slate_diag_add(d, BAD, path->buf, "attribute \"%s\" must have a %s", key,
                               kind == K_STATUS ? "intValue" : "stringValue");
                bad = 1;
            }
            slate_jpath_pop(path, m);
        }
        if (bad)
            rv = BAD;
        slate_jpath_pop(path, mark);
    }
    return rv;
}

/* The remote service: the endpoint's name, else peer.service, else the
 * address attribute. */
static void settle_remote(slate_span *s, const span_extra *x)
{
    s->remote_service = x->endpoint_remote ? x->endpoint_remote : x->peer ? x->peer : x->address;
}

/* ---- Zipkin v2 ---------------------------------------------------------------------- */

static int zipkin_span(const cJSON *o, slate_span *s, slate_jpath *path, slate_diag *d)
{
    memset(s, 0, sizeof(*s));
    if (!cJSON_IsObject(o)) {
        slate_diag_add(d, BAD, path->buf, "a span must be an object, not %s",
                       slate_json_type_name(o));
        return BAD;
    }
    int bad = 0;
    span_extra x = {0};
    bad |= get_hex_id(o, "traceId", 1, 16, 32, s->trace_id, 32, path, d) != SLATE_OK;
    bad |= get_hex_id(o, "id", 1, 16, 16, s->span_id, 16, path, d) != SLATE_OK;
    bad |= get_hex_id(o, "parentId", 0, 16, 16, s->parent_id, 16, path, d) != SLATE_OK;
    const char *kind = NULL;
    if (get_opt_string(o, "kind", &kind, path, d) != SLATE_OK) {
        bad = 1;
    } else if (kind) {
        static const char *const names[] = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
        static const slate_span_kind kinds[] = {SLATE_SPAN_SERVER, SLATE_SPAN_CLIENT,
                                                SLATE_SPAN_PRODUCER, SLATE_SPAN_CONSUMER};
        size_t k = 0;
        while (k < 4 && strcmp(kind, names[k]) != 0)
            k++;
        if (k == 4) {
            size_t mark = slate_jpath_push_key(path, "kind");
            slate_diag_add(d, BAD, path->buf, "expected CLIENT, SERVER, PRODUCER or CONSUMER");
            slate_jpath_pop(path, mark);
            bad = 1;
        } else {
            s->kind = kinds[k];
        }
    }
    int has_ts = 0, has_dur = 0;
    bad |= get_opt_uint(o, "timestamp", 1, UINT64_MAX / 1000, &s->start_us, &has_ts, path, d) !=
           SLATE_OK;
    bad |= get_opt_uint(o, "duration", 0, SLATE_SPANS_MAX_DURATION_US, &s->duration_us, &has_dur,
                        path, d) != SLATE_OK;
    s->timed = has_ts && has_dur;
    if (!s->timed)
        s->start_us = s->duration_us = 0;
    const cJSON *local = get_opt_object(o, "localEndpoint", &bad, path, d);
    const cJSON *remote = get_opt_object(o, "remoteEndpoint", &bad, path, d);
    if (local) {
        size_t mark = slate_jpath_push_key(path, "localEndpoint");
        bad |= get_opt_string(local, "serviceName", &s->service, path, d) != SLATE_OK;
        slate_jpath_pop(path, mark);
    }
    if (remote) {
        size_t mark = slate_jpath_push_key(path, "remoteEndpoint");
        bad |= get_opt_string(remote, "serviceName", &x.endpoint_remote, path, d) != SLATE_OK;
        slate_jpath_pop(path, mark);
    }
    const cJSON *tags = get_opt_object(o, "tags", &bad, path, d);
    if (tags) {
        size_t mark = slate_jpath_push_key(path, "tags");
        bad |= zipkin_tags(tags, s, &x, path, d) != SLATE_OK;
        slate_jpath_pop(path, mark);
    }
    settle_remote(s, &x);
    return bad ? BAD : SLATE_OK;
}

static int parse_zipkin(cJSON *root, slate_span_batch *b, size_t *n_in_request, slate_diag *d)
{
    slate_jpath path;
    slate_jpath_init(&path);
    slate_jpath_push_key(&path, "spans");
    if (!cJSON_IsArray(root)) {
        slate_diag_add(d, BAD, path.buf, "expected a JSON array of Zipkin v2 spans, not %s",
                       slate_json_type_name(root));
        return BAD;
    }
    int count = cJSON_GetArraySize(root);
    *n_in_request = (size_t)count;
    if (count > SLATE_SPANS_MAX_COUNT) {
        slate_diag_add(d, SLATE_ERR_TOO_LARGE, path.buf,
                       "%d spans, over the limit of %d per request", count, SLATE_SPANS_MAX_COUNT);
        return SLATE_ERR_TOO_LARGE;
    }
    b->spans = calloc((size_t)count + 1, sizeof(slate_span));
    if (!b->spans)
        return SLATE_ERR_NOMEM;
    int bad = 0;
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root)
    {
        size_t mark = slate_jpath_push_index(&path, i++);
        if (zipkin_span(o, &b->spans[b->n], &path, d) == SLATE_OK)
            b->n++;
        else
            bad = 1;
        slate_jpath_pop(&path, mark);
    }
    return bad ? BAD : SLATE_OK; /* all or nothing, as a Zipkin server answers */
}

/* ---- OTLP --------------------------------------------------------------------------- */

/* kind or status code: an integer in [0, max], or its proto enum name. */
static int otlp_enum(const cJSON *obj, const char *key, const char *const *names, uint64_t max,
                     uint64_t *out, slate_jpath *path, slate_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return SLATE_OK;
    size_t mark = slate_jpath_push_key(path, key);
    int rv = SLATE_OK;
    if (cJSON_IsString(v) && strspn(v->valuestring, "0123456789") == 0) {
        uint64_t k = 0;
        while (k <= max && strcmp(v->valuestring, names[k]) != 0)
            k++;
        if (k > max) {
            slate_diag_add(d, BAD, path->buf, "expected an integer 0..%llu or %s..%s",
                           (unsigned long long)max, names[0], names[max]);
            rv = BAD;
        } else {
            *out = k;
        }
    } else {
        rv = check_uint(v, 0, max, out, path, d);
    }
    slate_jpath_pop(path, mark);
    return rv;
}

static int otlp_span(const cJSON *o, const char *service, slate_span *s, slate_jpath *path,
                     slate_diag *d)
{
    static const char *const kinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    static const char *const codes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
    memset(s, 0, sizeof(*s));
    s->service = service;
    if (!cJSON_IsObject(o)) {
        slate_diag_add(d, BAD, path->buf, "a span must be an object, not %s",
                       slate_json_type_name(o));
        return BAD;
    }
    int bad = 0;
    span_extra x = {0};
    bad |= get_hex_id(o, "traceId", 1, 32, 32, s->trace_id, 32, path, d) != SLATE_OK;
    bad |= get_hex_id(o, "spanId", 1, 16, 16, s->span_id, 16, path, d) != SLATE_OK;
    bad |= get_hex_id(o, "parentSpanId", 0, 16, 16, s->parent_id, 16, path, d) != SLATE_OK;
    uint64_t kind = 0, code = 0, start = 0, end = 0;
    bad |= otlp_enum(o, "kind", kinds, 5, &kind, path, d) != SLATE_OK;
    s->kind = (slate_span_kind)kind;
    int has_start = 0, has_end = 0;
    int start_bad = get_opt_uint(o, "startTimeUnixNano", 1, UINT64_MAX, &start, &has_start, path,
                                 d) != SLATE_OK;
    int end_bad =
        get_opt_uint(o, "endTimeUnixNano", 1, UINT64_MAX, &end, &has_end, path, d) != SLATE_OK;
    bad |= start_bad | end_bad;
    if (!start_bad && !end_bad) {
        const char *missing = !has_start ? "startTimeUnixNano"
                              : !has_end ? "endTimeUnixNano"
                                         : NULL;
        size_t mark = slate_jpath_push_key(path, missing ? missing : "endTimeUnixNano");
        if (missing) {
            slate_diag_add(d, BAD, path->buf, "is required (Unix time in ns)");
            bad = 1;
        } else if (end < start) {
            slate_diag_add(d, BAD, path->buf, "is before startTimeUnixNano");
            bad = 1;
        } else if ((end - start) / 1000 + ((end - start) % 1000 >= 500) >
                   SLATE_SPANS_MAX_DURATION_US) {
            slate_diag_add(d, BAD, path->buf, "the span lasts over %llu us",
                           (unsigned long long)SLATE_SPANS_MAX_DURATION_US);
            bad = 1;
        } else {
            s->timed = 1;
            s->start_us = start / 1000;
            s->duration_us = (end - start) / 1000 + ((end - start) % 1000 >= 500);
        }
        slate_jpath_pop(path, mark);
    }
    const cJSON *attrs = get_opt_array(o, "attributes", &bad, path, d);
    if (attrs) {
        size_t mark = slate_jpath_push_key(path, "attributes");
        bad |= otlp_attributes(attrs, 0, s, &x, NULL, path, d) != SLATE_OK;
        slate_jpath_pop(path, mark);
    }
    const cJSON *status = get_opt_object(o, "status", &bad, path, d);
    if (status) {
        size_t mark = slate_jpath_push_key(path, "status");
        bad |= otlp_enum(status, "code", codes, 2, &code, path, d) != SLATE_OK;
        slate_jpath_pop(path, mark);
        s->error = code == 2;
    }
    settle_remote(s, &x);
    return bad ? BAD : SLATE_OK;
}

/* Spans in the request, counted before anything is parsed so the limit holds
 * before memory is committed (members of the wrong type count 0 here and are
 * reported by the parse). */
static const cJSON *array_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsArray(v) ? v : NULL;
}

static size_t otlp_count(const cJSON *root)
{
    size_t n = 0;
    const cJSON *rs, *ss;
    cJSON_ArrayForEach(rs, array_member(root, "resourceSpans"))
    {
        cJSON_ArrayForEach(ss, array_member(rs, "scopeSpans"))
        {
            const cJSON *spans = array_member(ss, "spans");
            if (spans)
                n += (size_t)cJSON_GetArraySize(spans);
        }
    }
    return n;
}

static int parse_otlp(cJSON *root, slate_span_batch *b, size_t *n_in_request, slate_diag *d)
{
    slate_jpath path;
    slate_jpath_init(&path);
    if (!cJSON_IsObject(root)) {
        slate_diag_add(d, BAD, NULL,
                       "expected an ExportTraceServiceRequest object {\"resourceSpans\": [...]}, "
                       "not %s",
                       slate_json_type_name(root));
        return BAD;
    }
    int shape_bad = 0;
    const cJSON *resource_spans = get_opt_array(root, "resourceSpans", &shape_bad, &path, d);
    if (shape_bad)
        return BAD;
    size_t count = otlp_count(root);
    *n_in_request = count;
    if (count > SLATE_SPANS_MAX_COUNT) {
        slate_diag_add(d, SLATE_ERR_TOO_LARGE, "resourceSpans",
                       "%zu spans, over the limit of %d per request", count, SLATE_SPANS_MAX_COUNT);
        return SLATE_ERR_TOO_LARGE;
    }
    b->spans = calloc(count + 1, sizeof(slate_span));
    if (!b->spans)
        return SLATE_ERR_NOMEM;
    size_t mark_root = slate_jpath_push_key(&path, "resourceSpans");
    size_t i = 0;
    const cJSON *rs;
    cJSON_ArrayForEach(rs, resource_spans)
    {
        size_t mark_rs = slate_jpath_push_index(&path, i++);
        if (!cJSON_IsObject(rs)) {
            slate_diag_add(d, BAD, path.buf, "must be an object, not %s", slate_json_type_name(rs));
            shape_bad = 1;
            slate_jpath_pop(&path, mark_rs);
            continue;
        }
        const char *service = NULL;
        const cJSON *resource = get_opt_object(rs, "resource", &shape_bad, &path, d);
        if (resource) {
            size_t m = slate_jpath_push_key(&path, "resource");
            const cJSON *attrs = get_opt_array(resource, "attributes", &shape_bad, &path, d);
            if (attrs) {
                size_t m2 = slate_jpath_push_key(&path, "attributes");
                slate_span unused;
                span_extra x = {0};
                memset(&unused, 0, sizeof(unused));
                shape_bad |= otlp_attributes(attrs, 1, &unused, &x, &service, &path, d) != SLATE_OK;
                slate_jpath_pop(&path, m2);
            }
            slate_jpath_pop(&path, m);
        }
        const cJSON *scope_spans = get_opt_array(rs, "scopeSpans", &shape_bad, &path, d);
        size_t mark_ss = slate_jpath_push_key(&path, "scopeSpans");
        size_t j = 0;
        const cJSON *ss;
        cJSON_ArrayForEach(ss, scope_spans)
        {
            size_t m = slate_jpath_push_index(&path, j++);
            if (!cJSON_IsObject(ss)) {
                slate_diag_add(d, BAD, path.buf, "must be an object, not %s",
                               slate_json_type_name(ss));
                shape_bad = 1;
                slate_jpath_pop(&path, m);
                continue;
            }
            const cJSON *spans = get_opt_array(ss, "spans", &shape_bad, &path, d);
            size_t m2 = slate_jpath_push_key(&path, "spans");
            size_t k = 0;
            const cJSON *o;
            cJSON_ArrayForEach(o, spans)
            {
                size_t m3 = slate_jpath_push_index(&path, k++);
                if (b->n < count && otlp_span(o, service, &b->spans[b->n], &path, d) == SLATE_OK)
                    b->n++;
                else
                    b->rejected++;
                slate_jpath_pop(&path, m3);
            }
            slate_jpath_pop(&path, m2);
            slate_jpath_pop(&path, m);
        }
        slate_jpath_pop(&path, mark_ss);
        slate_jpath_pop(&path, mark_rs);
    }
    slate_jpath_pop(&path, mark_root);
    /* A wrong shape around the spans fails the request; invalid spans alone
     * fail it only when nothing valid is left (else partialSuccess). */
    if (shape_bad || (b->rejected > 0 && b->n == 0))
        return BAD;
    return SLATE_OK;
}

int slate_spans_parse(slate_span_format format, const char *text, size_t len,
                      slate_span_batch **out, size_t *n_in_request, slate_diag *d)
{
    size_t unused_count = 0;
    if (!n_in_request)
        n_in_request = &unused_count;
    *n_in_request = 0;
    if (!out || (!text && len > 0) || (format != SLATE_SPANS_ZIPKIN && format != SLATE_SPANS_OTLP))
        return SLATE_ERR_INVALID_ARG;
    cJSON *root = NULL;
    int rv = slate_json_parse(text, len, SLATE_SPANS_MAX_BYTES, &root, d);
    if (rv != SLATE_OK)
        return rv;
    slate_span_batch *b = calloc(1, sizeof(*b));
    if (!b) {
        cJSON_Delete(root);
        return SLATE_ERR_NOMEM;
    }
    b->doc = root;
    rv = format == SLATE_SPANS_ZIPKIN ? parse_zipkin(root, b, n_in_request, d)
                                      : parse_otlp(root, b, n_in_request, d);
    if (rv != SLATE_OK) {
        slate_span_batch_free(b);
        return rv;
    }
    *out = b;
    return SLATE_OK;
}

/* ---- answers ------------------------------------------------------------------------ */

/* "path: message; path: message" for the first |max| problems (owned). */
static char *problems_text(const slate_diag *d, size_t max)
{
    size_t cap = 1;
    for (size_t i = 0; d && i < d->n && i < max; i++)
        cap += strlen(d->entries[i].path) + strlen(d->entries[i].msg) + 4;
    cap += 48;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t len = 0;
    s[0] = '\0';
    for (size_t i = 0; d && i < d->n && i < max; i++) {
        const slate_diag_entry *e = &d->entries[i];
        len += (size_t)snprintf(s + len, cap - len, "%s%s%s%s", i ? "; " : "", e->path,
                                e->path[0] ? ": " : "", e->msg);
    }
    size_t total = slate_diag_count(d);
    if (total > max)
        snprintf(s + len, cap - len, " (%zu more)", total - max);
    return s;
}

int slate_spans_response(slate_span_format format, int rv, const slate_span_batch *b,
                         const slate_diag *d, int *status, char **body)
{
    int code = rv == SLATE_OK              ? (format == SLATE_SPANS_ZIPKIN ? 202 : 200)
               : rv == SLATE_ERR_TOO_LARGE ? 413
               : rv == SLATE_ERR_NOMEM     ? 500
                                           : 400;
    const char *reason = rv == SLATE_ERR_TOO_LARGE ? "span payload over a size limit"
                         : rv == SLATE_ERR_PARSE   ? "malformed JSON"
                         : rv == SLATE_ERR_NOMEM   ? "out of memory"
                                                   : "span payload is invalid";
    cJSON *root = NULL;
    if (format == SLATE_SPANS_ZIPKIN && rv == SLATE_OK) {
        char *empty = strdup("");
        if (!empty)
            return SLATE_ERR_NOMEM;
        *status = code;
        *body = empty;
        return SLATE_OK;
    }
    root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && format == SLATE_SPANS_OTLP && rv == SLATE_OK) {
        size_t rejected = slate_span_batch_rejected(b);
        if (rejected) {
            /* int64 fields are strings in proto3 JSON. */
            char n[24];
            snprintf(n, sizeof(n), "%zu", rejected);
            char *msg = problems_text(d, 3);
            cJSON *ps = cJSON_CreateObject();
            ok = msg && slate_json_attach(root, "partialSuccess", ps) &&
                 slate_json_attach(ps, "rejectedSpans", cJSON_CreateString(n)) &&
                 slate_json_attach(ps, "errorMessage", cJSON_CreateString(msg));
            free(msg);
        }
    } else if (ok && format == SLATE_SPANS_OTLP) {
        /* google.rpc.Status: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 13 INTERNAL. */
        char *msg = problems_text(d, 3);
        size_t len = msg ? strlen(msg) : 0;
        char *full = msg ? malloc(strlen(reason) + len + 3) : NULL;
        if (full)
            sprintf(full, "%s%s%s", reason, len ? ": " : "", msg);
        ok = full &&
             slate_json_attach(root, "code",
                               cJSON_CreateNumber(code == 413   ? 8
                                                  : code == 500 ? 13
                                                                : 3)) &&
             slate_json_attach(root, "message", cJSON_CreateString(full));
        free(msg);
        free(full);
    } else if (ok) {
        const char *first = d && d->n ? d->entries[0].path : "";
        cJSON *problems = cJSON_CreateArray();
        ok = slate_json_attach(root, "error", cJSON_CreateString(reason)) &&
             slate_json_attach(root, "path", cJSON_CreateString(first)) &&
             slate_json_attach(root, "problems", problems);
        for (size_t i = 0; ok && d && i < d->n && i < SLATE_SPANS_MAX_PROBLEMS; i++) {
            cJSON *p = cJSON_CreateObject();
            ok = slate_json_attach(problems, NULL, p) &&
                 slate_json_attach(p, "path", cJSON_CreateString(d->entries[i].path)) &&
                 slate_json_attach(p, "message", cJSON_CreateString(d->entries[i].msg));
        }
        if (ok && slate_diag_count(d) > SLATE_SPANS_MAX_PROBLEMS)
            ok = slate_json_attach(
                root, "more_problems",
                cJSON_CreateNumber((double)(slate_diag_count(d) - SLATE_SPANS_MAX_PROBLEMS)));
    }
    char *text = NULL;
    if (ok && slate_json_print(root, 0, &text) != SLATE_OK)
        ok = 0;
    cJSON_Delete(root);
    if (!ok)
        return SLATE_ERR_NOMEM;
    *status = code;
    *body = text;
    return SLATE_OK;
}
