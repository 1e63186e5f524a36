/* Shared by the unit-test executables. */
#ifndef SLATE_TESTS_TEST_UTIL_H
#define SLATE_TESTS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

/* Each tests/unit/test_<module>.c defines this, ending with CU_SUITE_INFO_NULL. */
extern CU_SuiteInfo slate_test_suites[];

/* The source tree's root, for reading examples/ (set by CMake). */
#ifndef SLATE_SOURCE_DIR
#error "SLATE_SOURCE_DIR must be defined by the build"
#endif

/* Asserts two doubles agree within |tol| and prints both when they do not. */
#define SLATE_ASSERT_NEAR(actual, expected, tol)                                          \
    do {                                                                                  \
        double a_ = (actual), e_ = (expected);                                            \
        if (!(fabs(a_ - e_) <= (tol)))                                                    \
            fprintf(stderr, "\n  %s:%d: %s = %.9g, expected %.9g +- %g\n", __FILE__,     \
                    __LINE__, #actual, a_, e_, (double)(tol));                            \
        CU_ASSERT_DOUBLE_EQUAL(a_, e_, (tol));                                            \
    } while (0)

#endif
