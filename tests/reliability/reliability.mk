# reliability.mk — sanitizer, fault-injection, stress, fuzzing and real-program suites
# (included by the top-level Makefile; docs/reliability.md describes each one).
#
#   make test-sanitizers  API contract + 8-thread stress with pagoda compiled in under
#                         ASan+UBSan, then under TSan (pagoda_* names only)
#   make test-faults      failed mmaps injected at every point; a real RLIMIT_AS
#   make test-stress      32 threads x 5 s; 10,000-thread churn; fork loop; 20 GiB
#   make test-fuzz        the libFuzzer harness for 30 s, after replaying its corpus
#   make fuzz SECONDS=N   the same for N seconds
#   make test-programs    real Debian programs on LD_PRELOAD=libpagoda.so vs glibc
#
# Each is appended to TEST_STEPS, which `make test` runs in order.

REL            := $(BUILD)/reliability
REL_SRC        := tests/reliability
REL_LIB_DEPS   := $(wildcard include/*.h allocator/*.h central/*.h pagemap/*.h) $(REL_SRC)/reliability.mk
REL_SUPPORT    := tests/support/pattern.c tests/support/rss.c tests/support/child.c
REL_CHECK      := $(shell pkg-config --cflags --libs check)
# No -fno-builtin: these programs call only the pagoda_* names, which compilers do not
# know as allocation functions, and the pattern code needs memcpy inlined to be fast.
REL_TEST_FLAGS := $(COMMON_CFLAGS) -pthread
REL_ASAN       := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
REL_TSAN       := -fsanitize=thread
REL_SAN_ENV    := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
                  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 CK_DEFAULT_TIMEOUT=120
SECONDS        ?= 30
FUZZ_CORPUS    := $(REL_SRC)/fuzz/corpus
FUZZ_CRASHES   := $(REL_SRC)/fuzz/regressions

.PHONY: test-sanitizers test-faults test-stress test-fuzz fuzz test-programs

# pagoda's sources compiled into a static library per variant: $(1) name, $(2) compiler,
# $(3) extra flags. Every variant keeps only the pagoda_* names, so the sanitizer's
# own malloc stays the process's malloc.
define REL_LIBRARY
$(REL)/$(1)/obj/%.o: %.c $(REL_LIB_DEPS)
	@mkdir -p $$(dir $$@)
	$(2) $(LIB_CFLAGS) -DPAGODA_NO_STANDARD_NAMES $(3) -c $$< -o $$@
$(REL)/$(1)/libpagoda.a: $(patsubst %.c,$(REL)/$(1)/obj/%.o,$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(eval $(call REL_LIBRARY,asan,$(CC),$(REL_ASAN)))
$(eval $(call REL_LIBRARY,tsan,$(CC),$(REL_TSAN)))
$(eval $(call REL_LIBRARY,fault,$(CC),$(REL_ASAN) -DPAGODA_FAULT_INJECTION))
$(eval $(call REL_LIBRARY,fuzz,clang,$(REL_ASAN) -fsanitize=fuzzer-no-link))

# A test program linked with one variant's library: $(1) variant, $(2) program, $(3) flags.
define REL_PROGRAM
$(REL)/$(1)/$(2): $(REL_SRC)/$(2).c $(REL_SUPPORT) $(REL)/$(1)/libpagoda.a $(REL_SRC)/reliability.mk
	@mkdir -p $$(dir $$@)
	$(CC) $(REL_TEST_FLAGS) $(3) -o $$@ $$< $(REL_SUPPORT) $(REL)/$(1)/libpagoda.a $(REL_CHECK)
endef
$(eval $(call REL_PROGRAM,asan,api_contract,$(REL_ASAN)))
$(eval $(call REL_PROGRAM,asan,stress,$(REL_ASAN)))
$(eval $(call REL_PROGRAM,tsan,api_contract,$(REL_TSAN)))
$(eval $(call REL_PROGRAM,tsan,stress,$(REL_TSAN)))
$(eval $(call REL_PROGRAM,fault,fault_injection,$(REL_ASAN)))

# Programs that run on build/libpagoda.so itself, standard names and all.
REL_ON_LIBPAGODA := stress oom_rlimit thread_churn fork_loop address_space
$(REL_ON_LIBPAGODA:%=$(REL)/%): $(REL)/%: $(REL_SRC)/%.c $(REL_SUPPORT) $(BUILD)/libpagoda.so \
                                  $(REL_SRC)/reliability.mk
	@mkdir -p $(dir $@)
	$(CC) $(REL_TEST_FLAGS) -o $@ $< $(REL_SUPPORT) -L$(BUILD) -lpagoda \
	    -Wl,-rpath,$(abspath $(BUILD)) $(REL_CHECK)

REL_RUN := $(REL_SAN_ENV) $(REL_SRC)/run-suite

test-sanitizers: $(REL)/asan/api_contract $(REL)/asan/stress $(REL)/tsan/api_contract $(REL)/tsan/stress
	@$(REL_RUN) $@ $(REL)/asan/api_contract '$(REL)/asan/stress 8 3' \
	    $(REL)/tsan/api_contract '$(REL)/tsan/stress 8 3'

test-faults: $(REL)/fault/fault_injection $(REL)/oom_rlimit
	@$(REL_RUN) $@ $(REL)/fault/fault_injection $(REL)/oom_rlimit

test-stress: $(REL)/stress $(REL)/thread_churn $(REL)/fork_loop $(REL)/address_space
	@$(REL_RUN) $@ '$(REL)/stress 32 5' $(REL)/thread_churn $(REL)/fork_loop $(REL)/address_space

# The pattern code is the harness's own and stays uninstrumented: it fills and checks
# every byte of every object, and runs many times faster without coverage tracing.
$(REL)/fuzz/pattern.o: tests/support/pattern.c tests/support/pattern.h $(REL_SRC)/reliability.mk
	@mkdir -p $(dir $@)
	clang $(REL_TEST_FLAGS) -c -o $@ $<

$(REL)/fuzz/fuzz_pagoda: $(REL_SRC)/fuzz/fuzz_pagoda.c $(REL)/fuzz/pattern.o $(REL)/fuzz/libpagoda.a \
                         $(REL_SRC)/reliability.mk
	clang $(REL_TEST_FLAGS) $(REL_ASAN) -fsanitize=fuzzer -o $@ $< $(REL)/fuzz/pattern.o \
	    $(REL)/fuzz/libpagoda.a

# libFuzzer: the checked-in corpus and every past crash replay first (a regression
# fails the step), then new inputs are searched for from a scratch copy of the corpus.
# A crash input is written to $(REL)/fuzz/crashes/; docs/reliability.md says how it
# becomes a regression input.
fuzz: $(REL)/fuzz/fuzz_pagoda
	@rm -rf $(REL)/fuzz/work && mkdir -p $(REL)/fuzz/work $(REL)/fuzz/crashes
	$(REL_SAN_ENV) $(REL)/fuzz/fuzz_pagoda -runs=0 $(FUZZ_CORPUS) $(wildcard $(FUZZ_CRASHES))
	$(REL_SAN_ENV) $(REL)/fuzz/fuzz_pagoda -max_total_time=$(SECONDS) -timeout=20 \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(REL)/fuzz/crashes/ \
	    $(REL)/fuzz/work $(FUZZ_CORPUS)

test-fuzz:
	@$(MAKE) --no-print-directory fuzz SECONDS=30

test-programs: $(BUILD)/libpagoda.so
	tests/programs/run-all $(abspath $(BUILD)/libpagoda.so)

TEST_STEPS += test-sanitizers test-faults test-stress test-fuzz test-programs
