# pagoda — top-level build.
#
#   make                 build/libpagoda.so and build/libpagoda.a (and the tools)
#   make test            install test dependencies, build, run every test suite
#   make bench           install benchmark dependencies, compare pagoda with its peers
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#
# Component fragments (*.mk) add their own targets; the test suites add themselves to
# TEST_STEPS, which `make test` runs in order.

CC      ?= gcc
CXX     ?= g++
BUILD   := build
PREFIX  ?= /usr/local
DESTDIR ?=

WARN          := -Wall -Wextra
COMMON_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -I.
# The library: position independent, initial-exec TLS so the thread cache is one
# %fs-relative load away, and only the public API visible (no PLT hops inside).
LIB_CFLAGS    := $(COMMON_CFLAGS) -fPIC -ftls-model=initial-exec -fvisibility=hidden \
                 -fno-semantic-interposition -fno-plt -pthread $(EXTRA_CFLAGS)

LIB_SRCS := $(sort $(wildcard allocator/*.c central/*.c pagemap/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))

.PHONY: all lib test bench install clean deps-build deps-test deps-bench
all: lib

lib: $(BUILD)/libpagoda.so $(BUILD)/libpagoda.a

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h allocator/*.h central/*.h pagemap/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

# Packed relative relocations (DT_RELR: binutils 2.38 and glibc 2.36 on), where the
# toolchain links a probe with them without a warning. The class map's root alone
# takes 1,024 relocations at load: 24 KiB of records as RELA, a few hundred bytes as
# RELR, which leaves the library's mapped image a fifth smaller. Expanded (and the
# probe run) only when the library is linked.
PACK_RELOCS = $(shell echo 'int x; int *p = &x;' | $(CC) -shared -fPIC -x c - -o /dev/null \
                 -Wl,-z,pack-relative-relocs -Wl,--fatal-warnings 2>/dev/null \
                 && echo -Wl,-z,pack-relative-relocs)

# -z nodelete: a dlclose never unmaps the library, whose background thread (and the
# memory it handed out) outlive any one user of it.
$(BUILD)/libpagoda.so: $(LIB_OBJS)
	$(CC) -shared -pthread -Wl,-soname,libpagoda.so -Wl,-z,now -Wl,-z,nodelete $(PACK_RELOCS) -o $@ $^

$(BUILD)/libpagoda.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

deps-build:
	@tools/install-deps build
deps-test:
	@tools/install-deps test
deps-bench:
	@tools/install-deps bench

TEST_STEPS :=
include tools/tools.mk
include tests/tests.mk
include $(sort $(wildcard tests/*/*.mk))
include benchmarks/benchmarks.mk
include benchmarks/workloads/workloads.mk
include benchmarks/fastpath/fastpath.mk

test: deps-test
	@$(MAKE) --no-print-directory lib $(TEST_STEPS)

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(BUILD)/libpagoda.so $(DESTDIR)$(PREFIX)/lib/libpagoda.so
	install -m 0644 $(BUILD)/libpagoda.a $(DESTDIR)$(PREFIX)/lib/libpagoda.a
	install -m 0644 include/pagoda.h $(DESTDIR)$(PREFIX)/include/pagoda.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@VERSION@|$(shell sed -n 's/^#define PAGODA_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' include/pagoda.h | paste -sd.)|g' \
	    tools/pagoda.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pagoda.pc

clean:
	rm -rf $(BUILD)
