/*
 * JSON helpers over cJSON, shared by the modules' loaders.
 *
 * Everything that reads JSON from outside the process goes through
 * slate_json_parse(), which enforces a byte limit and reports the byte offset
 * of a syntax error, and through the typed getters below, which check type,
 * finiteness and range and record a diagnostic with the JSON path on any
 * problem. cJSON types appear only in module internals, never in another
 * module's public header.
 */
#ifndef SLATE_COMMON_JSON_H
#define SLATE_COMMON_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/diag.h"

/* Default limit for one JSON document read from a file or a request body. */
#define SLATE_JSON_MAX_BYTES (4u * 1024u * 1024u)

/* A JSON path under construction, e.g. "classes[2].calls.children[0]". */
typedef struct slate_jpath {
    char buf[SLATE_DIAG_PATH_MAX];
    size_t len;
} slate_jpath;

void slate_jpath_init(slate_jpath *p);
/* Appends ".key" (or "key" at the root); returns a mark for slate_jpath_pop. */
size_t slate_jpath_push_key(slate_jpath *p, const char *key);
/* Appends "[i]"; returns a mark for slate_jpath_pop. */
size_t slate_jpath_push_index(slate_jpath *p, size_t i);
/* Truncates back to |mark|. */
void slate_jpath_pop(slate_jpath *p, size_t mark);

/*
 * Reads the whole file at |path| into a NUL-terminated buffer (returns owned,
 * free with free()). Files larger than |max_bytes| are refused without being
 * read whole. Returns SLATE_OK, SLATE_ERR_IO, SLATE_ERR_TOO_LARGE or
 * SLATE_ERR_NOMEM; |*out| and |*out_len| are untouched on failure.
 */
int slate_file_read(const char *path, size_t max_bytes, char **out, size_t *out_len,
                    slate_diag *d);

/*
 * Parses |len| bytes of |text| (borrowed; need not be NUL-terminated) as one
 * JSON document. Returns owned cJSON (free with cJSON_Delete) in |*out|.
 * Returns SLATE_OK, SLATE_ERR_TOO_LARGE (len > max_bytes), SLATE_ERR_PARSE
 * (with the byte offset in the diagnostic) or SLATE_ERR_NOMEM.
 */
int slate_json_parse(const char *text, size_t len, size_t max_bytes, cJSON **out, slate_diag *d);

/* Flags for the typed getters. */
#define SLATE_JSON_REQUIRED 1u

/*
 * Reads number member |key| of object |obj| into |*out|. A missing optional
 * member leaves |*out| unchanged (callers preset the default) and returns
 * SLATE_OK. A wrong type, a non-finite value, or a value outside
 * [min, max] records a diagnostic at path.key and returns
 * SLATE_ERR_TOPOLOGY_INVALID-style |err_code| passed by the caller.
 */
int slate_json_get_number(const cJSON *obj, const char *key, unsigned flags, double min,
                          double max, double *out, slate_jpath *path, slate_diag *d,
                          int err_code);

/*
 * Reads string member |key| into |*out| (returns borrowed: valid while |obj|
 * lives). Empty strings and strings longer than |max_len| bytes are
 * rejected. Same missing/diagnostic rules as slate_json_get_number.
 */
int slate_json_get_string(const cJSON *obj, const char *key, unsigned flags, size_t max_len,
                          const char **out, slate_jpath *path, slate_diag *d, int err_code);

/* Returns "number", "string", "boolean", "null", "array" or "object" for |v|. */
const char *slate_json_type_name(const cJSON *v);

/*
 * Checks the value |v| itself (an array element, say: |path| already names
 * it) as the number getter checks a member: a finite number in [min, max].
 * On success stores it in |*out| and returns SLATE_OK; otherwise records a
 * diagnostic at |path| and returns |err_code|.
 */
int slate_json_check_number(const cJSON *v, double min, double max, double *out,
                            const slate_jpath *path, slate_diag *d, int err_code);

/* As slate_json_check_number, for a non-empty string of at most |max_len|
 * bytes; |*out| is borrowed from |v|. */
int slate_json_check_string(const cJSON *v, size_t max_len, const char **out,
                            const slate_jpath *path, slate_diag *d, int err_code);

/* Reads boolean member |key| into |*out| (0 or 1). Same rules as above. */
int slate_json_get_bool(const cJSON *obj, const char *key, unsigned flags, int *out,
                        slate_jpath *path, slate_diag *d, int err_code);

/*
 * Returns the member |key| of |obj| if it is an array, NULL if absent. A
 * present member of another type records a diagnostic and sets |*bad| to 1.
 */
const cJSON *slate_json_get_array(const cJSON *obj, const char *key, unsigned flags,
                                  slate_jpath *path, slate_diag *d, int err_code, int *bad);

/* As slate_json_get_array, for objects. */
const cJSON *slate_json_get_object(const cJSON *obj, const char *key, unsigned flags,
                                   slate_jpath *path, slate_diag *d, int err_code, int *bad);

/*
 * Prints |json| (borrowed) indented (|pretty| != 0) or compact. Returns owned
 * text (free with free()) in |*out|. Returns SLATE_OK or SLATE_ERR_NOMEM.
 */
int slate_json_print(const cJSON *json, int pretty, char **out);

/*
 * Adds |item| to object |parent| under |key|, or to array |parent| when |key|
 * is NULL. Takes ownership of |item| also on failure. Returns 1, or 0 when out
 * of memory (including |item| == NULL from a failed create), so calls can be
 * chained with &&.
 */
int slate_json_attach(cJSON *parent, const char *key, cJSON *item);

/*
 * Returns a number item (returns owned) printed with the fewest digits
 * (15..17) that read back as exactly |v|, so a saved document reloads bit for
 * bit (cJSON's own printer settles for 15 digits within an epsilon). |v| must
 * be finite. NULL when out of memory.
 */
cJSON *slate_json_exact_number(double v);

/* Adds a number that is finite, or null when it is not (JSON has no inf/NaN). */
cJSON *slate_json_add_number(cJSON *obj, const char *key, double v);

#endif
