#include "tests/unit/test_util.h"
CU_SuiteInfo slate_test_suites[] = {CU_SUITE_INFO_NULL};
