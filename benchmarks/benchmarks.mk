# benchmarks/benchmarks.mk — the microbenchmark binary, `make bench` and the bench smoke test.
#
#   make bench                 build everything, compare pagoda with its peers (benchmarks/run.py)
#   make bench QUICK=1         the same in under a minute: fewer repetitions, smaller sizes
#   make bench BENCH_ARGS='--reps 3 --only malloc_free'   any other run.py option
#
# The workload fragments are included after this one and append their binaries to
# BENCH_PROGRAMS; bench-programs builds that list from its recipe, which make expands
# only once every fragment has been read.

MICRO          := $(BUILD)/bench/micro
MICRO_OBJDIR   := $(BUILD)/bench/micro-obj
MICRO_OBJS     := $(patsubst benchmarks/micro/%.c,$(MICRO_OBJDIR)/%.o,$(sort $(wildcard benchmarks/micro/*.c))) \
                  $(MICRO_OBJDIR)/register_cases.o
MICRO_CFLAGS   := $(COMMON_CFLAGS) -pthread
MICRO_CXXFLAGS := -std=c++17 -O2 -g $(WARN) -pthread

BENCH_PROGRAMS += $(MICRO)

$(MICRO_OBJDIR)/%.o: benchmarks/micro/%.c $(wildcard benchmarks/micro/*.h) benchmarks/benchmarks.mk
	@mkdir -p $(dir $@)
	$(CC) $(MICRO_CFLAGS) -c $< -o $@

$(MICRO_OBJDIR)/register_cases.o: benchmarks/micro/register_cases.cc benchmarks/micro/micro_case.h benchmarks/benchmarks.mk
	@mkdir -p $(dir $@)
	$(CXX) $(MICRO_CXXFLAGS) -c $< -o $@

$(MICRO): $(MICRO_OBJS)
	$(CXX) -pthread -o $@ $^ -lbenchmark -lpthread

# Google Benchmark's headers and library come with the benchmark dependencies.
$(MICRO_OBJS): | deps-bench

.PHONY: bench-programs test-bench-smoke
bench-programs: deps-bench
	@$(MAKE) --no-print-directory $(BENCH_PROGRAMS)

bench: deps-bench lib bench-programs
	python3 benchmarks/run.py $(if $(QUICK),--quick) $(BENCH_ARGS)

# Every micro case once, at its first size, one iteration: under glibc, and under
# pagoda when build/libpagoda.so exists (checking that the preload really took).
test-bench-smoke: $(MICRO)
	$(MICRO) --smoke --expect-malloc-from=libc.so.6 --benchmark_format=json >/dev/null
	@if [ -e $(BUILD)/libpagoda.so ]; then \
	  echo "LD_PRELOAD=$(CURDIR)/$(BUILD)/libpagoda.so $(MICRO) --smoke"; \
	  LD_PRELOAD=$(CURDIR)/$(BUILD)/libpagoda.so $(MICRO) --smoke \
	    --expect-malloc-from=libpagoda.so --benchmark_format=json >/dev/null; \
	else \
	  echo "test-bench-smoke: pagoda SKIPPED: $(BUILD)/libpagoda.so does not exist"; \
	fi
	@echo "test-bench-smoke: OK"

TEST_STEPS += test-bench-smoke
