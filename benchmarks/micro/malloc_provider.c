/*
 * malloc_provider.c — which shared object malloc resolves to in this process.
 *
 * A preload that the dynamic loader cannot load is ignored with a mere warning, and
 * the program then silently runs on glibc; the runner uses this to make sure each
 * allocator it names is the one actually measured.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "micro_case.h"

const char *malloc_provider(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
        return "unknown";
    return info.dli_fname;
}
