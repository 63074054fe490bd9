# benchmarks/fastpath — instruction counts of the allocation hit path under callgrind.
#
#   make fastpath               build build/bench/fastpath, print the table for every allocator
#   make test-fastpath-smoke    run the program natively once with a tiny iteration count
#   make test-fastpath-budget   fail when pagoda's hit path costs more instructions than
#                               FASTPATH_BUDGET per malloc+free in any case (callgrind)

BENCH_PROGRAMS += $(BUILD)/bench/fastpath

# -fno-plt: call malloc and free through the GOT, so no PLT stub is counted.
FASTPATH_CFLAGS := $(COMMON_CFLAGS) -fno-plt

# Instructions per malloc+free pair, loop included, that no case may exceed: the
# worst case costs 44 today (docs/benchmarks.md).
FASTPATH_BUDGET := 45

.PHONY: fastpath test-fastpath-smoke test-fastpath-budget

$(BUILD)/bench/fastpath: benchmarks/fastpath/fastpath.c benchmarks/fastpath/fastpath.mk
	@mkdir -p $(dir $@)
	$(CC) $(FASTPATH_CFLAGS) -o $@ $<

fastpath: $(BUILD)/bench/fastpath
	tools/fastpath-callgrind

test-fastpath-smoke: $(BUILD)/bench/fastpath
	$(BUILD)/bench/fastpath 10
	@echo "test-fastpath-smoke: ok"

test-fastpath-budget: $(BUILD)/bench/fastpath $(BUILD)/libpagoda.so
	tools/fastpath-callgrind --allocators pagoda --check-max $(FASTPATH_BUDGET) pagoda

TEST_STEPS += test-fastpath-smoke test-fastpath-budget
