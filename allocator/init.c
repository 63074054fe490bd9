/*
 * init.c — start-up and fork() handling.
 *
 * Start-up reads the PAGODA_* variables, installs the size-class table, prepares the
 * central lists and the thread-exit hook. It runs under init_lock and calls nothing
 * that allocates. Only afterwards, with pagoda_initialized set, are the fork handlers
 * registered (pthread_atfork may itself allocate, which is then an ordinary call).
 *
 * fork(): the prepare handler takes every lock of the allocator in the global order of
 * docs/design.md, so no lock is mid-update when the address space is copied; the
 * parent releases them, and the child, whose other threads are gone, resets them. A
 * process with a single thread takes none: no other thread can hold one, and taking
 * and releasing them would write their pages, each then copied once in the parent
 * and once in the child (process_single_threaded, single_thread.h).
 */
#include "allocator/init.h"

#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/lock.h"
#include "allocator/malloc_path.h"
#include "allocator/release.h"
#include "allocator/single_thread.h"
#include "allocator/size_class_tuning.h"
#include "allocator/size_classes.h"
#include "allocator/stats.h"
#include "allocator/thread_cache.h"
#include "central/central_list.h"
#include "central/large_spare.h"
#include "central/metadata.h"
#include "central/os_release.h"
#include "central/page_heap.h"

#include <pthread.h>

int pagoda_initialized;
static pagoda_lock init_lock FORK_LOCK = PAGODA_LOCK_INIT;

/* Whether the fork this thread is in took the locks. Kept in the thread's TLS, beside
 * its thread control block, whose page fork writes anyway: a static variable's page
 * would be copied in both processes. */
static __thread bool fork_took_locks __attribute__((tls_model("initial-exec")));

static void before_fork(void)
{
    fork_took_locks = !process_single_threaded();
    if (!fork_took_locks)
        return;
    lock_acquire(&init_lock);
    thread_cache_lock_for_fork();
    central_lock_for_fork();
    page_heap_lock_for_fork();
    metadata_lock_for_fork();
}

static void unlock_after_fork(int in_child)
{
    metadata_unlock_after_fork(in_child);
    page_heap_unlock_after_fork(in_child);
    central_unlock_after_fork(in_child);
    thread_cache_unlock_after_fork(in_child);
    if (in_child)
        lock_reset(&init_lock);
    else
        lock_release(&init_lock);
}

static void after_fork(int in_child)
{
    if (fork_took_locks)
        unlock_after_fork(in_child);
    if (in_child) {
        thread_cache_after_fork_in_child();
        release_after_fork_in_child();
        large_spare_after_fork_in_child();
        os_release_recheck_filters();
    }
}

static void after_fork_in_parent(void) { after_fork(0); }
static void after_fork_in_child(void) { after_fork(1); }

void pagoda_initialize(void)
{
    lock_acquire(&init_lock);
    bool first = !pagoda_initialized;
    if (first) {
        config_load();
        debug_load_options();
        stats_at_exit_configure();
        struct size_class table[SIZE_CLASS_MAX_COUNT];
        int count = size_class_tuning_select(table, SIZE_CLASS_MAX_COUNT);
        size_classes_init(table, count);
        thread_cache_init();
        /* Published with release: a thread that reads the limit (with acquire) sees
         * the tables built above. */
        __atomic_store_n(&malloc_fast_path_limit, pagoda_debug.enabled ? 0 : size_class_small_limit,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&pagoda_initialized, 1, __ATOMIC_RELEASE);
    }
    lock_release(&init_lock);
    if (first)
        pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}
