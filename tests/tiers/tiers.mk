# tiers.mk — white-box tests of each tier alone (included by the top-level Makefile).
#
#   make test-tiers   size classes, pagemap (entries and dirty bits), page heap,
#                     central lists, thread caches, large blocks kept for reuse
#                     (large caches and the spare), pages given back in batches, and
#                     the lock with and without threads, one Check binary each
#
# pagoda's sources (LIB_SRCS) are compiled once, with -DPAGODA_NO_STANDARD_NAMES, into
# build/tests/tiers/obj and linked into every binary: the test process keeps glibc's
# malloc, and reaches pagoda through its internal functions and the pagoda_* names.
# test-tiers is appended to TEST_STEPS. The rules are static patterns, so that the
# pattern rule of tests/tests.mk does not build these binaries.

TIERS_DIR     := $(BUILD)/tests/tiers
TIERS_NAMES   := test_size_class_tier test_pagemap_entries test_pagemap_dirty \
                 test_page_heap_tier test_central_tier test_thread_cache_tier \
                 test_large_cache_tier test_page_release_tier test_lock_tier
TIERS_BINS    := $(TIERS_NAMES:%=$(TIERS_DIR)/%)
TIERS_CFLAGS  := $(COMMON_CFLAGS) -pthread -DPAGODA_NO_STANDARD_NAMES \
                 $(shell pkg-config --cflags check)
TIERS_LDLIBS  := $(shell pkg-config --libs check) -pthread
TIERS_LIB_OBJS := $(patsubst %.c,$(TIERS_DIR)/obj/%.o,$(LIB_SRCS))
TIERS_SUPPORT := tests/tiers/tier_main.c tests/support/child.c
TIERS_HEADERS := $(wildcard include/*.h allocator/*.h central/*.h pagemap/*.h) \
                 tests/tiers/tier_suite.h tests/support/child.h tests/support/clock.h
# Check's default per-test limit (4 s) is tight on a loaded 2-core machine.
TIERS_TIMEOUT := 30

$(TIERS_LIB_OBJS): $(TIERS_DIR)/obj/%.o: %.c $(TIERS_HEADERS) tests/tiers/tiers.mk
	@mkdir -p $(dir $@)
	$(CC) $(TIERS_CFLAGS) -c $< -o $@

$(TIERS_BINS): $(TIERS_DIR)/%: tests/tiers/%.c $(TIERS_SUPPORT) $(TIERS_LIB_OBJS) \
                               $(TIERS_HEADERS) tests/tiers/tiers.mk
	@mkdir -p $(dir $@)
	$(CC) $(TIERS_CFLAGS) -o $@ $< $(TIERS_SUPPORT) $(TIERS_LIB_OBJS) $(TIERS_LDLIBS)

.PHONY: test-tiers
# Runs every binary even when one fails, then fails if any did.
test-tiers: $(TIERS_BINS)
	@status=0; for t in $(TIERS_BINS); do \
	    CK_DEFAULT_TIMEOUT=$(TIERS_TIMEOUT) $$t || status=1; \
	done; exit $$status

TEST_STEPS += test-tiers
