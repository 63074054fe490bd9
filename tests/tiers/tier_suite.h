/*
 * tier_suite.h — the one thing each white-box tier test file provides: its Check
 * suite. tier_main.c runs it.
 *
 * Every test runs in its own forked process (tier_main.c insists on it), so each
 * starts with pagoda untouched: no heap, no leaves, no size-class table. A test can
 * therefore set PAGODA_* variables with setenv before its first call into pagoda.
 *
 * Loops over many values check with `if (...) ck_abort_msg(...)` rather than
 * ck_assert: in fork mode every passing ck_assert writes a message to a pipe, which
 * would dominate the run time of an exhaustive check.
 */
#ifndef TESTS_TIERS_TIER_SUITE_H
#define TESTS_TIERS_TIER_SUITE_H

#include <check.h>

Suite *tier_suite(void);

#endif /* TESTS_TIERS_TIER_SUITE_H */
