/*
 * size_class_tuning.c — the table pagoda starts with (size_class_tuning.h).
 */
#include "allocator/size_class_tuning.h"

#include "allocator/size_class_table.h"

int size_class_tuning_select(struct size_class *out, int max_count)
{
    int count = SIZE_CLASS_DEFAULT_COUNT < max_count ? SIZE_CLASS_DEFAULT_COUNT : max_count;
    for (int i = 0; i < count; i++)
        out[i] = size_class_default_table[i];
    return count;
}
