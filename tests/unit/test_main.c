/*
 * The one generic CUnit main: every unit-test executable links this file and
 * one tests/unit/test_<module>.c that defines slate_test_suites[]. Exits
 * non-zero if any assertion fails or the registry cannot be built.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "tests/unit/test_util.h"

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 2;
    }
    if (CU_register_suites(slate_test_suites) != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    /* An optional argument runs one suite only, for debugging. */
    if (argc > 1) {
        CU_pSuite suite = CU_get_suite(argv[1]);
        if (suite == NULL) {
            fprintf(stderr, "no suite named %s\n", argv[1]);
            CU_cleanup_registry();
            return 2;
        }
        CU_basic_run_suite(suite);
    } else {
        CU_basic_run_tests();
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}
