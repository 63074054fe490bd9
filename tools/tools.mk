# tools.mk — host tools, included by the top-level Makefile.
#
#   make size-classes             regenerate allocator/size_class_table.h
#   make test-size-class-header   fail if the checked-in table differs from the generator
#
# mksizeclasses links the same size_class_gen.c as the library, so the checked-in
# default table and start-up tuning can never disagree.

MKSIZECLASSES      := $(BUILD)/tools/mksizeclasses
MKSIZECLASSES_SRCS := tools/mksizeclasses.c allocator/size_class_gen.c allocator/log.c
SIZE_CLASS_TABLE   := allocator/size_class_table.h

.PHONY: size-classes test-size-class-header
all: $(MKSIZECLASSES)

$(MKSIZECLASSES): $(MKSIZECLASSES_SRCS) allocator/size_class_gen.h allocator/log.h tools/tools.mk
	@mkdir -p $(dir $@)
	$(CC) $(COMMON_CFLAGS) -o $@ $(MKSIZECLASSES_SRCS)

size-classes: $(MKSIZECLASSES)
	$(MKSIZECLASSES) --header > $(BUILD)/size_class_table.h
	mv $(BUILD)/size_class_table.h $(SIZE_CLASS_TABLE)

test-size-class-header: $(MKSIZECLASSES)
	@$(MKSIZECLASSES) --header > $(BUILD)/size_class_table.expected
	@diff -u $(SIZE_CLASS_TABLE) $(BUILD)/size_class_table.expected >&2 || { \
	    echo "test-size-class-header: FAIL: $(SIZE_CLASS_TABLE) is not what" \
	         "'$(MKSIZECLASSES) --header' writes; run 'make size-classes'" >&2; exit 1; }
	@echo "test-size-class-header: OK ($(SIZE_CLASS_TABLE) matches the generator)"

TEST_STEPS += test-size-class-header
