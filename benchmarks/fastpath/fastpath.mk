# benchmarks/fastpath — instruction counts of the allocation hit path under callgrind.
#
#   make fastpath               build build/bench/fastpath, print the table for every allocator
#   make test-fastpath-smoke    run the program natively once with a tiny iteration count

BENCH_PROGRAMS += $(BUILD)/bench/fastpath

# -fno-plt: call malloc and free through the GOT, so no PLT stub is counted.
FASTPATH_CFLAGS := $(COMMON_CFLAGS) -fno-plt

.PHONY: fastpath test-fastpath-smoke

$(BUILD)/bench/fastpath: benchmarks/fastpath/fastpath.c benchmarks/fastpath/fastpath.mk
	@mkdir -p $(dir $@)
	$(CC) $(FASTPATH_CFLAGS) -o $@ $<

fastpath: $(BUILD)/bench/fastpath
	tools/fastpath-callgrind

test-fastpath-smoke: $(BUILD)/bench/fastpath
	$(BUILD)/bench/fastpath 10
	@echo "test-fastpath-smoke: ok"

TEST_STEPS += test-fastpath-smoke
