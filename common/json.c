#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"

void slate_jpath_init(slate_jpath *p)
{
    p->buf[0] = '\0';
    p->len = 0;
}

/* Appends |len| bytes of |text|, truncating at the buffer's end (the path
 * then stays a prefix). Every typed getter pushes a key, so this is on the
 * hot path of report parsing: plain copies, no printf. */
static void jpath_put(slate_jpath *p, const char *text, size_t len)
{
    size_t room = sizeof(p->buf) - 1 - p->len;
    if (len > room)
        len = room;
    memcpy(p->buf + p->len, text, len);
    p->len += len;
    p->buf[p->len] = '\0';
}

size_t slate_jpath_push_key(slate_jpath *p, const char *key)
{
    size_t mark = p->len;
    if (p->len)
        jpath_put(p, ".", 1);
    jpath_put(p, key, strlen(key));
    return mark;
}

size_t slate_jpath_push_index(slate_jpath *p, size_t i)
{
    size_t mark = p->len;
    char digits[24];
    size_t n = sizeof(digits);
    digits[--n] = ']';
    do {
        digits[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    digits[--n] = '[';
    jpath_put(p, digits + n, sizeof(digits) - n);
    return mark;
}

void slate_jpath_pop(slate_jpath *p, size_t mark)
{
    if (mark <= p->len) {
        p->len = mark;
        p->buf[mark] = '\0';
    }
}

int slate_file_read(const char *path, size_t max_bytes, char **out, size_t *out_len,
                    slate_diag *d)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        slate_diag_add(d, SLATE_ERR_IO, NULL, "cannot open %s: %s", path, strerror(errno));
        return SLATE_ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > max_bytes) {
        fclose(fp);
        slate_diag_add(d, SLATE_ERR_TOO_LARGE, NULL, "%s is %lld bytes, over the %zu-byte limit",
                       path, (long long)st.st_size, max_bytes);
        return SLATE_ERR_TOO_LARGE;
    }
    /* Read in chunks so a pipe or a file that grows is bounded too. */
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(fp);
        return SLATE_ERR_NOMEM;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max_bytes + 1) {
                free(buf);
                fclose(fp);
                slate_diag_add(d, SLATE_ERR_TOO_LARGE, NULL, "%s is over the %zu-byte limit", path,
                               max_bytes);
                return SLATE_ERR_TOO_LARGE;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                fclose(fp);
                return SLATE_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - 1 - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        slate_diag_add(d, SLATE_ERR_IO, NULL, "cannot read %s", path);
        return SLATE_ERR_IO;
    }
    if (len > max_bytes) {
        free(buf);
        slate_diag_add(d, SLATE_ERR_TOO_LARGE, NULL, "%s is over the %zu-byte limit", path,
                       max_bytes);
        return SLATE_ERR_TOO_LARGE;
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return SLATE_OK;
}

int slate_json_parse(const char *text, size_t len, size_t max_bytes, cJSON **out, slate_diag *d)
{
    if (text == NULL && len > 0)
        return SLATE_ERR_INVALID_ARG;
    if (len > max_bytes) {
        slate_diag_add(d, SLATE_ERR_TOO_LARGE, NULL, "document is %zu bytes, over the %zu-byte limit",
                       len, max_bytes);
        return SLATE_ERR_TOO_LARGE;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(text ? text : "", len, &end, 0);
    if (json == NULL) {
        size_t off = (end && text && end >= text) ? (size_t)(end - text) : 0;
        if (len == 0)
            slate_diag_add(d, SLATE_ERR_PARSE, NULL, "empty document");
        else
            slate_diag_add(d, SLATE_ERR_PARSE, NULL, "malformed JSON near byte %zu", off);
        return SLATE_ERR_PARSE;
    }
    /* Anything but whitespace after the document is an error too. */
    if (end && text) {
        const char *p = end;
        while ((size_t)(p - text) < len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        if ((size_t)(p - text) < len && *p != '\0') {
            cJSON_Delete(json);
            slate_diag_add(d, SLATE_ERR_PARSE, NULL, "trailing data after JSON at byte %zu",
                           (size_t)(p - text));
            return SLATE_ERR_PARSE;
        }
    }
    *out = json;
    return SLATE_OK;
}

const char *slate_json_type_name(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "invalid value";
}

/* Looks up |key| case-sensitively; records "missing" for required members. */
static const cJSON *member(const cJSON *obj, const char *key, unsigned flags, slate_jpath *path,
                           slate_diag *d, int err_code, int *missing_required)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *missing_required = 0;
    if (v == NULL && (flags & SLATE_JSON_REQUIRED)) {
        size_t m = slate_jpath_push_key(path, key);
        slate_diag_add(d, err_code, path->buf, "is required");
        slate_jpath_pop(path, m);
        *missing_required = 1;
    }
    return v;
}

int slate_json_check_number(const cJSON *v, double min, double max, double *out,
                            const slate_jpath *path, slate_diag *d, int err_code)
{
    if (!cJSON_IsNumber(v))
        slate_diag_add(d, err_code, path->buf, "must be a number, not %s", slate_json_type_name(v));
    else if (!isfinite(v->valuedouble))
        slate_diag_add(d, err_code, path->buf, "must be a finite number");
    else if (v->valuedouble < min || v->valuedouble > max)
        slate_diag_add(d, err_code, path->buf, "%g is out of range [%g, %g]", v->valuedouble, min,
                       max);
    else {
        *out = v->valuedouble;
        return SLATE_OK;
    }
    return err_code;
}

int slate_json_check_string(const cJSON *v, size_t max_len, const char **out,
                            const slate_jpath *path, slate_diag *d, int err_code)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        slate_diag_add(d, err_code, path->buf, "must be a string, not %s", slate_json_type_name(v));
    else if (v->valuestring[0] == '\0')
        slate_diag_add(d, err_code, path->buf, "must not be empty");
    else if (strlen(v->valuestring) > max_len)
        slate_diag_add(d, err_code, path->buf, "is longer than %zu bytes", max_len);
    else {
        *out = v->valuestring;
        return SLATE_OK;
    }
    return err_code;
}

int slate_json_get_number(const cJSON *obj, const char *key, unsigned flags, double min,
                          double max, double *out, slate_jpath *path, slate_diag *d, int err_code)
{
    int missing;
    const cJSON *v = member(obj, key, flags, path, d, err_code, &missing);
    if (v == NULL)
        return missing ? err_code : SLATE_OK;
    size_t m = slate_jpath_push_key(path, key);
    int rv = slate_json_check_number(v, min, max, out, path, d, err_code);
    slate_jpath_pop(path, m);
    return rv;
}

int slate_json_get_string(const cJSON *obj, const char *key, unsigned flags, size_t max_len,
                          const char **out, slate_jpath *path, slate_diag *d, int err_code)
{
    int missing;
    const cJSON *v = member(obj, key, flags, path, d, err_code, &missing);
    if (v == NULL)
        return missing ? err_code : SLATE_OK;
    size_t m = slate_jpath_push_key(path, key);
    int rv = slate_json_check_string(v, max_len, out, path, d, err_code);
    slate_jpath_pop(path, m);
    return rv;
}

int slate_json_get_bool(const cJSON *obj, const char *key, unsigned flags, int *out,
                        slate_jpath *path, slate_diag *d, int err_code)
{
    int missing;
    const cJSON *v = member(obj, key, flags, path, d, err_code, &missing);
    if (v == NULL)
        return missing ? err_code : SLATE_OK;
    if (!cJSON_IsBool(v)) {
        size_t m = slate_jpath_push_key(path, key);
        slate_diag_add(d, err_code, path->buf, "must be true or false, not %s", slate_json_type_name(v));
        slate_jpath_pop(path, m);
        return err_code;
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return SLATE_OK;
}

static const cJSON *get_typed(const cJSON *obj, const char *key, unsigned flags,
                              slate_jpath *path, slate_diag *d, int err_code, int *bad,
                              int want_array)
{
    int missing;
    const cJSON *v = member(obj, key, flags, path, d, err_code, &missing);
    if (missing && bad)
        *bad = 1;
    if (v == NULL)
        return NULL;
    if (want_array ? cJSON_IsArray(v) : cJSON_IsObject(v))
        return v;
    size_t m = slate_jpath_push_key(path, key);
    slate_diag_add(d, err_code, path->buf, "must be an %s, not %s", want_array ? "array" : "object",
                   slate_json_type_name(v));
    slate_jpath_pop(path, m);
    if (bad)
        *bad = 1;
    return NULL;
}

const cJSON *slate_json_get_array(const cJSON *obj, const char *key, unsigned flags,
                                  slate_jpath *path, slate_diag *d, int err_code, int *bad)
{
    return get_typed(obj, key, flags, path, d, err_code, bad, 1);
}

const cJSON *slate_json_get_object(const cJSON *obj, const char *key, unsigned flags,
                                   slate_jpath *path, slate_diag *d, int err_code, int *bad)
{
    return get_typed(obj, key, flags, path, d, err_code, bad, 0);
}

int slate_json_print(const cJSON *json, int pretty, char **out)
{
    char *s = pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
    if (s == NULL)
        return SLATE_ERR_NOMEM;
    *out = s;
    return SLATE_OK;
}

cJSON *slate_json_add_number(cJSON *obj, const char *key, double v)
{
    if (isfinite(v))
        return cJSON_AddNumberToObject(obj, key, v);
    return cJSON_AddNullToObject(obj, key);
}

int slate_json_attach(cJSON *parent, const char *key, cJSON *item)
{
    if (item == NULL)
        return 0;
    if (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

cJSON *slate_json_exact_number(double v)
{
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(text);
}
