/*
 * tier_main.c — main() of every tier test binary: runs the file's suite with each
 * test in a fresh forked process (whatever CK_FORK says), so no test sees pagoda state
 * left by another; exits non-zero when any test failed.
 */
#include "tests/tiers/tier_suite.h"

#include <stdlib.h>

int main(void)
{
    SRunner *runner = srunner_create(tier_suite());
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
