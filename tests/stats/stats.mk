# stats.mk — the statistics suites (included by the top-level Makefile).
#
#   make test-stats   build and run the Check suites of tests/stats/ against
#                     build/libpagoda.so: figures, text and JSON reports, PAGODA_STATS
#                     at exit, and glibc's introspection calls. They use python3 and jq
#                     (installed by `make deps-test`) to parse the output.

STATS_TEST_NAMES   := test_stats_figures test_stats_output test_glibc_introspection
STATS_TEST_BINS    := $(STATS_TEST_NAMES:%=$(BUILD)/tests/stats/%)
STATS_EXIT_PROGRAM := $(BUILD)/tests/stats/stats_exit_program
STATS_TEST_HELPERS := tests/stats/shell.c

.PHONY: test-stats

$(STATS_TEST_BINS): $(BUILD)/tests/stats/%: tests/stats/%.c $(STATS_TEST_HELPERS) tests/stats/shell.h \
                    $(BUILD)/libpagoda.so include/pagoda.h tests/stats/stats.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STATS_TEST_HELPERS) $(TEST_LDLIBS)

$(STATS_EXIT_PROGRAM): tests/stats/stats_exit_program.c $(BUILD)/libpagoda.so tests/stats/stats.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TEST_LDLIBS)

# Runs every suite even when one fails, then fails if any did.
test-stats: $(STATS_TEST_BINS) $(STATS_EXIT_PROGRAM)
	@status=0; for t in $(STATS_TEST_BINS); do \
	    CK_DEFAULT_TIMEOUT=$(TEST_TIMEOUT) $$t || status=1; \
	done; exit $$status

TEST_STEPS += test-stats
