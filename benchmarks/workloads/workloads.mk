# Allocator workloads: multi-threaded programs modelled on the usual allocator-paper
# benchmarks (see the comment at the top of each .c). The benchmark runner reads
# manifest.tsv and runs build/bench/<name> under each allocator.
#
#   make test-workloads-smoke   every manifest row once with --quick, at its smallest and
#                               largest thread count, under the system allocator and (if
#                               built) with build/libpagoda.so preloaded

WORKLOADS          := larson xmalloc cache_thrash cache_scratch mstress retention \
                      calloc_loop hashtable
# Probes: built beside the workloads, run by hand, not timed (not in the manifest).
PROBES             := thread_locality
WORKLOAD_PROGRAMS  := $(addprefix $(BUILD)/bench/,$(WORKLOADS) $(PROBES))
WORKLOAD_HELPER    := benchmarks/workloads/workload.c
WORKLOAD_MANIFEST  := benchmarks/workloads/manifest.tsv
BENCH_PROGRAMS     += $(WORKLOAD_PROGRAMS)

$(WORKLOAD_PROGRAMS): $(BUILD)/bench/%: benchmarks/workloads/%.c $(WORKLOAD_HELPER) \
                      benchmarks/workloads/workload.h
	@mkdir -p $(dir $@)
	$(CC) $(COMMON_CFLAGS) -pthread -o $@ $< $(WORKLOAD_HELPER)

.PHONY: workloads test-workloads-smoke
workloads: $(WORKLOAD_PROGRAMS)

# Reads the manifest (name, thread list, extra args); a run passes if it exits 0 and its
# last line starts with "CHECK OK".
test-workloads-smoke: $(WORKLOAD_PROGRAMS)
	@pagoda=$(abspath $(BUILD)/libpagoda.so); failed=0; runs=0; \
	preloads="system"; [ -e "$$pagoda" ] && preloads="system $$pagoda"; \
	while IFS='	' read -r name threads args; do \
	  case "$$name" in ''|'#'*) continue ;; esac; \
	  lo=$$(echo "$$threads" | tr , '\n' | sort -n | head -n 1); \
	  hi=$$(echo "$$threads" | tr , '\n' | sort -n | tail -n 1); \
	  for preload in $$preloads; do \
	    for t in $$(echo $$lo $$hi | tr ' ' '\n' | uniq); do \
	      label="$$name --threads $$t --quick$${args:+ $$args} ($${preload##*/})"; \
	      if [ "$$preload" = system ]; then env=""; else env="LD_PRELOAD=$$preload"; fi; \
	      runs=$$((runs + 1)); \
	      if out=$$(env $$env $(BUILD)/bench/$$name --threads $$t --quick $$args 2>&1 </dev/null) \
	         && [ "$$(printf '%s\n' "$$out" | tail -n 1 | cut -c1-8)" = "CHECK OK" ]; then \
	        echo "  ok    $$label"; \
	      else \
	        echo "  FAIL  $$label"; printf '%s\n' "$$out" | tail -n 5 | sed 's/^/        /'; \
	        failed=$$((failed + 1)); \
	      fi; \
	    done; \
	  done; \
	done < $(WORKLOAD_MANIFEST); \
	echo "test-workloads-smoke: $$runs runs, $$failed failed"; \
	[ $$failed -eq 0 ]

TEST_STEPS += test-workloads-smoke
