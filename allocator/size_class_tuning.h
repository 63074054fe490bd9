/*
 * size_class_tuning.h — chooses the size-class table at start-up: the compiled-in
 * default (allocator/size_class_table.h), or one reshaped through PAGODA_* variables.
 */
#ifndef PAGODA_SIZE_CLASS_TUNING_H
#define PAGODA_SIZE_CLASS_TUNING_H

#include "allocator/size_class_gen.h"

/* Writes the table to use into out (room for max_count classes) and returns its
 * length. Never fails: a malformed setting is reported on stderr and the default
 * table is used. Called once, during initialisation, under the init lock: it must not
 * allocate. */
int size_class_tuning_select(struct size_class *out, int max_count);

#endif /* PAGODA_SIZE_CLASS_TUNING_H */
