# size_classes.mk — tests of start-up size-class tuning (included by the top-level
# Makefile; docs/size-classes.md describes the variables).
#
#   make test-size-classes   build/tests/size_classes/test_size_classes runs
#                            tuned_child under each tuning and each malformed value
#   make size-class-example  builds clustered_strings, the workload measured in
#                            docs/size-classes.md
#
# test-size-classes is appended to TEST_STEPS. The rules are explicit so that the
# pattern rule of tests/tests.mk does not build these binaries. tuned_child keeps gcc's
# builtins (no -fno-builtin): it checks every byte it writes, and memcmp calls per word
# would dominate its run time; its malloc calls cannot be folded away because their
# results are inspected.

SIZE_CLASS_TEST_DIR := $(BUILD)/tests/size_classes
SIZE_CLASS_TEST     := $(SIZE_CLASS_TEST_DIR)/test_size_classes
SIZE_CLASS_CHILD    := $(SIZE_CLASS_TEST_DIR)/tuned_child
SIZE_CLASS_EXAMPLE  := $(SIZE_CLASS_TEST_DIR)/clustered_strings
SIZE_CLASS_LINK     := -L$(BUILD) -lpagoda -Wl,-rpath,$(abspath $(BUILD)) -pthread

.PHONY: test-size-classes size-class-example

$(SIZE_CLASS_TEST): tests/size_classes/test_size_classes.c tests/size_classes/run_tuned.c \
                    tests/size_classes/run_tuned.h allocator/size_class_gen.c \
                    allocator/size_class_gen.h allocator/size_class_table.h allocator/log.c \
                    $(BUILD)/libpagoda.so tests/size_classes/size_classes.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $(filter %.c,$^) $(TEST_LDLIBS)

$(SIZE_CLASS_CHILD): tests/size_classes/tuned_child.c tests/support/pattern.c \
                     tests/support/pattern.h $(BUILD)/libpagoda.so tests/size_classes/size_classes.mk
	@mkdir -p $(dir $@)
	$(CC) $(COMMON_CFLAGS) -o $@ $(filter %.c,$^) $(SIZE_CLASS_LINK)

$(SIZE_CLASS_EXAMPLE): tests/size_classes/clustered_strings.c tests/size_classes/size_classes.mk
	@mkdir -p $(dir $@)
	$(CC) $(COMMON_CFLAGS) -o $@ $(filter %.c,$^)

size-class-example: $(SIZE_CLASS_EXAMPLE)

test-size-classes: $(SIZE_CLASS_TEST) $(SIZE_CLASS_CHILD)
	@CK_DEFAULT_TIMEOUT=$(TEST_TIMEOUT) $(SIZE_CLASS_TEST)

TEST_STEPS += test-size-classes
