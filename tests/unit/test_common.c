#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/json.h"
#include "common/numarg.h"
#include "tests/unit/test_util.h"

static void test_strerror_covers_every_code(void)
{
    CU_ASSERT_STRING_EQUAL(slate_strerror(SLATE_OK), "success");
    CU_ASSERT_STRING_EQUAL(slate_errname(SLATE_ERR_PARSE), "SLATE_ERR_PARSE");
    CU_ASSERT_STRING_EQUAL(slate_strerror(-9999), "unknown error");
#define CHECK_ONE(name, value, msg) CU_ASSERT_STRING_EQUAL(slate_strerror(value), msg);
    SLATE_ERR_LIST(CHECK_ONE)
#undef CHECK_ONE
}

static void test_diag_collects_and_bounds(void)
{
    slate_diag d;
    slate_diag_init(&d);
    slate_diag_add(&d, SLATE_ERR_RANGE, "a.b[1]", "bad %d", 7);
    CU_ASSERT_EQUAL(slate_diag_count(&d), 1);
    CU_ASSERT_STRING_EQUAL(d.entries[0].path, "a.b[1]");
    CU_ASSERT_STRING_EQUAL(d.entries[0].msg, "bad 7");
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "bad 7"));
    CU_ASSERT_PTR_NULL(slate_diag_find(&d, "missing"));
    for (int i = 0; i < SLATE_DIAG_MAX_ENTRIES + 10; i++)
        slate_diag_add(&d, SLATE_ERR_RANGE, NULL, "x");
    CU_ASSERT_EQUAL(d.n, SLATE_DIAG_MAX_ENTRIES);
    CU_ASSERT_EQUAL(slate_diag_count(&d), SLATE_DIAG_MAX_ENTRIES + 11);
    slate_diag_add(NULL, 0, NULL, "ignored"); /* must not crash */
    slate_diag_cleanup(&d);
}

static void test_jpath(void)
{
    slate_jpath p;
    slate_jpath_init(&p);
    size_t m0 = slate_jpath_push_key(&p, "classes");
    size_t m1 = slate_jpath_push_index(&p, 2);
    slate_jpath_push_key(&p, "calls");
    CU_ASSERT_STRING_EQUAL(p.buf, "classes[2].calls");
    slate_jpath_pop(&p, m1);
    CU_ASSERT_STRING_EQUAL(p.buf, "classes");
    slate_jpath_pop(&p, m0);
    CU_ASSERT_STRING_EQUAL(p.buf, "");
    /* Overlong paths truncate instead of overflowing. */
    for (int i = 0; i < 200; i++)
        slate_jpath_push_key(&p, "abcdefgh");
    CU_ASSERT(p.len < sizeof(p.buf));
    CU_ASSERT_EQUAL(strlen(p.buf), p.len);
}

static void test_json_parse_errors(void)
{
    slate_diag d;
    slate_diag_init(&d);
    cJSON *j = NULL;
    CU_ASSERT_EQUAL(slate_json_parse("{\"a\":", 5, 100, &j, &d), SLATE_ERR_PARSE);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "malformed JSON"));
    slate_diag_clear(&d);
    CU_ASSERT_EQUAL(slate_json_parse("{} x", 4, 100, &j, &d), SLATE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "trailing data"));
    slate_diag_clear(&d);
    CU_ASSERT_EQUAL(slate_json_parse("[1,2,3]", 7, 3, &j, &d), SLATE_ERR_TOO_LARGE);
    CU_ASSERT_EQUAL(slate_json_parse("", 0, 3, &j, &d), SLATE_ERR_PARSE);
    /* Not NUL-terminated: only |len| bytes are read. */
    const char text[] = {'[', '1', ']', 'x'};
    CU_ASSERT_EQUAL(slate_json_parse(text, 3, 100, &j, &d), SLATE_OK);
    CU_ASSERT_PTR_NOT_NULL(j);
    cJSON_Delete(j);
    slate_diag_cleanup(&d);
}

static void test_json_getters(void)
{
    const char *doc = "{\"n\": 5, \"s\": \"x\", \"b\": true, \"big\": 1e999, \"arr\": [1], "
                      "\"empty\": \"\"}";
    cJSON *j = NULL;
    slate_diag d;
    slate_diag_init(&d);
    slate_jpath p;
    slate_jpath_init(&p);
    CU_ASSERT_EQUAL_FATAL(slate_json_parse(doc, strlen(doc), 1000, &j, &d), SLATE_OK);
    double v = -1;
    CU_ASSERT_EQUAL(slate_json_get_number(j, "n", SLATE_JSON_REQUIRED, 0, 10, &v, &p, &d, -100),
                    SLATE_OK);
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_EQUAL(slate_json_get_number(j, "n", 0, 0, 4, &v, &p, &d, -100), -100);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "out of range"));
    CU_ASSERT_EQUAL(slate_json_get_number(j, "s", 0, 0, 4, &v, &p, &d, -100), -100);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "must be a number, not string"));
    CU_ASSERT_EQUAL(slate_json_get_number(j, "big", 0, 0, 4, &v, &p, &d, -100), -100);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "finite"));
    v = 42;
    CU_ASSERT_EQUAL(slate_json_get_number(j, "absent", 0, 0, 4, &v, &p, &d, -100), SLATE_OK);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(slate_json_get_number(j, "absent", SLATE_JSON_REQUIRED, 0, 4, &v, &p, &d, -100),
                    -100);
    CU_ASSERT_PTR_NOT_NULL(slate_diag_find(&d, "is required"));
    const char *s = NULL;
    CU_ASSERT_EQUAL(slate_json_get_string(j, "s", 0, 10, &s, &p, &d, -100), SLATE_OK);
    CU_ASSERT_STRING_EQUAL(s, "x");
    CU_ASSERT_EQUAL(slate_json_get_string(j, "empty", 0, 10, &s, &p, &d, -100), -100);
    int b = 0;
    CU_ASSERT_EQUAL(slate_json_get_bool(j, "b", 0, &b, &p, &d, -100), SLATE_OK);
    CU_ASSERT_EQUAL(b, 1);
    int bad = 0;
    CU_ASSERT_PTR_NOT_NULL(slate_json_get_array(j, "arr", 0, &p, &d, -100, &bad));
    CU_ASSERT_PTR_NULL(slate_json_get_object(j, "arr", 0, &p, &d, -100, &bad));
    CU_ASSERT_EQUAL(bad, 1);
    CU_ASSERT_STRING_EQUAL(p.buf, ""); /* every getter restores the path */
    cJSON_Delete(j);
    slate_diag_cleanup(&d);
}

static void test_file_read_limits(void)
{
    char path[] = "/tmp/slate-test-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char body[] = "0123456789";
    CU_ASSERT_EQUAL(write(fd, body, 10), 10);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(slate_file_read(path, 100, &text, &len, NULL), SLATE_OK);
    CU_ASSERT_EQUAL(len, 10);
    CU_ASSERT_STRING_EQUAL(text, body);
    free(text);
    text = NULL;
    CU_ASSERT_EQUAL(slate_file_read(path, 9, &text, &len, NULL), SLATE_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NULL(text);
    unlink(path);
    CU_ASSERT_EQUAL(slate_file_read(path, 100, &text, &len, NULL), SLATE_ERR_IO);
}

static void test_buf(void)
{
    slate_buf b;
    slate_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(slate_buf_printf(&b, "%d,", i), SLATE_OK);
    char *s = slate_buf_detach(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT(strncmp(s, "0,1,2,", 6) == 0);
    CU_ASSERT(strstr(s, "999,") != NULL);
    free(s);
    slate_buf_init(&b);
    s = slate_buf_detach(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
}

static void test_numarg(void)
{
    double d = -1;
    CU_ASSERT_EQUAL(slate_numarg_double("0.5", 0, 1, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.5, 0);
    CU_ASSERT_EQUAL(slate_numarg_double("1e3", 0, 1e3, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 1000, 0);
    d = 7;
    /* Rejected, and |*out| untouched: empty, blank-led, trailing text, out
     * of range, not finite, overflow, NULL. */
    const char *bad_doubles[] = {"", " 1", "1 ", "1x", "2", "-0.5", "nan", "inf", "1e999", "0x"};
    for (size_t i = 0; i < sizeof(bad_doubles) / sizeof(bad_doubles[0]); i++)
        CU_ASSERT_EQUAL(slate_numarg_double(bad_doubles[i], 0, 1, &d), -1);
    CU_ASSERT_EQUAL(slate_numarg_double(NULL, 0, 1, &d), -1);
    CU_ASSERT_DOUBLE_EQUAL(d, 7, 0);

    uint64_t u = 0;
    CU_ASSERT_EQUAL(slate_numarg_uint("18446744073709551615", UINT64_MAX, &u), 0);
    CU_ASSERT_EQUAL(u, UINT64_MAX);
    CU_ASSERT_EQUAL(slate_numarg_uint("0", 0, &u), 0);
    CU_ASSERT_EQUAL(u, 0);
    const char *bad_uints[] = {"", "-1", "+1", " 1", "1 ", "1.0", "18446744073709551616", "1e3"};
    for (size_t i = 0; i < sizeof(bad_uints) / sizeof(bad_uints[0]); i++)
        CU_ASSERT_EQUAL(slate_numarg_uint(bad_uints[i], UINT64_MAX, &u), -1);
    CU_ASSERT_EQUAL(slate_numarg_uint("101", 100, &u), -1);
    CU_ASSERT_EQUAL(slate_numarg_uint("7", 5, &u), -1); /* one digit above a one-digit max */
    CU_ASSERT_EQUAL(slate_numarg_uint("100", 100, &u), 0);
    CU_ASSERT_EQUAL(u, 100);

    int n = 0;
    CU_ASSERT_EQUAL(slate_numarg_int("64", 1, 64, &n), 0);
    CU_ASSERT_EQUAL(n, 64);
    CU_ASSERT_EQUAL(slate_numarg_int("0", 1, 64, &n), -1);
    CU_ASSERT_EQUAL(slate_numarg_int("65", 1, 64, &n), -1);
    CU_ASSERT_EQUAL(slate_numarg_int("1.5", 1, 64, &n), -1);
    CU_ASSERT_EQUAL(n, 64);
}

static CU_TestInfo common_tests[] = {
    {"strerror covers every code", test_strerror_covers_every_code},
    {"diag collects and bounds", test_diag_collects_and_bounds},
    {"json path", test_jpath},
    {"json parse errors", test_json_parse_errors},
    {"json typed getters", test_json_getters},
    {"file read limits", test_file_read_limits},
    {"text buffer", test_buf},
    {"command-line numbers", test_numarg},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo slate_test_suites[] = {
    {.pName = "common", .pInitFunc = NULL, .pCleanupFunc = NULL, .pSetUpFunc = NULL,
     .pTearDownFunc = NULL, .pTests = common_tests},
    CU_SUITE_INFO_NULL,
};
