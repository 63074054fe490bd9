# tests.mk — the black-box test suites (included by the top-level Makefile).
#
#   make test-unit     build and run the Check suites in build/tests/, linked against
#                      build/libpagoda.so so the whole process (Check too) runs on it
#   make test-preload  run real programs with LD_PRELOAD=build/libpagoda.so
#
# Both are appended to TEST_STEPS, which `make test` runs in order.

TEST_NAMES    := test_api test_threads test_fork test_invalid test_release test_config
TEST_BINS     := $(TEST_NAMES:%=$(BUILD)/tests/%)
TEST_SUPPORT  := $(wildcard tests/support/*.c)
# -fno-builtin: the tests must call the allocator, not let gcc fold malloc/free pairs
# away or reason about the deliberately absurd sizes some tests pass.
TEST_CFLAGS   := $(COMMON_CFLAGS) -fno-builtin -pthread $(shell pkg-config --cflags check)
TEST_LDLIBS   := -L$(BUILD) -lpagoda -Wl,-rpath,$(abspath $(BUILD)) \
                 $(shell pkg-config --libs check) -ldl
# Check's per-test default (4 s) is too short for a loaded 2-core machine; the
# stress, fork and aligned-allocation cases set their own, longer limits.
TEST_TIMEOUT  := 20

.PHONY: test-unit test-preload

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(wildcard tests/support/*.h) \
                  $(BUILD)/libpagoda.so tests/tests.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(TEST_LDLIBS)

# Runs every suite even when one fails, then fails if any did.
test-unit: $(TEST_BINS)
	@status=0; for t in $(TEST_BINS); do \
	    CK_DEFAULT_TIMEOUT=$(TEST_TIMEOUT) $$t || status=1; \
	done; exit $$status

test-preload: $(BUILD)/libpagoda.so
	tests/test_preload.sh $(abspath $(BUILD)/libpagoda.so)

TEST_STEPS += test-unit test-preload
