# debug.mk — tests of the debug mode (PAGODA_DEBUG).
#
#   make test-debug   planted bugs, one per detector, each caught in a child process;
#                     then the API and thread suites again with every detector on, to
#                     show the debug mode raises no false alarm

DEBUG_TEST_BIN := $(BUILD)/tests/debug/test_debug

$(DEBUG_TEST_BIN): tests/debug/test_debug.c $(TEST_SUPPORT) $(BUILD)/libpagoda.so tests/debug/debug.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(TEST_LDLIBS)

.PHONY: test-debug
test-debug: $(DEBUG_TEST_BIN) $(BUILD)/tests/test_api $(BUILD)/tests/test_threads
	CK_DEFAULT_TIMEOUT=$(TEST_TIMEOUT) $(DEBUG_TEST_BIN)
	PAGODA_DEBUG=all CK_DEFAULT_TIMEOUT=120 $(BUILD)/tests/test_api
	PAGODA_DEBUG=all CK_DEFAULT_TIMEOUT=120 $(BUILD)/tests/test_threads

TEST_STEPS += test-debug
