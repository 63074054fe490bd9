/*
 * test_lock_tier.c — the allocator's lock (allocator/lock.h) in both of its modes:
 * plain stores while the process has one thread (allocator/single_thread.h), atomic
 * instructions once it has more, and across the change between them.
 *
 * Invariants checked: a process with one thread reads as single-threaded, and stops
 * reading so once it has created a thread; in either mode a held lock cannot be
 * taken again, and a released one can; a lock taken with a plain store before the
 * first thread existed still keeps that thread out until it is released, and the
 * waiting thread then gets it; with threads the lock excludes (no increment made
 * under it is lost); the spare, set by one thread before there were others, is taken
 * whole by a thread created afterwards.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "allocator/lock.h"
#include "allocator/single_thread.h"
#include "central/large_spare.h"
#include "pagoda.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pagoda_lock lock = PAGODA_LOCK_INIT;

static void *nothing(void *unused)
{
    return unused;
}

/* Creates and joins a thread that does nothing: the process has had two threads. */
static void become_multi_threaded(void)
{
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, nothing, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
}

static void check_held_lock_excludes(void)
{
    lock_acquire(&lock);
    ck_assert(!lock_try_acquire(&lock));
    lock_release(&lock);
    ck_assert(lock_try_acquire(&lock));
    lock_release(&lock);
    ck_assert_int_eq(lock.state, 0);
}

START_TEST(test_a_process_is_single_threaded_until_its_first_thread)
{
    ck_assert(process_single_threaded());
    become_multi_threaded();
    ck_assert(!process_single_threaded());
}
END_TEST

START_TEST(test_a_held_lock_excludes_in_both_modes)
{
    ck_assert(process_single_threaded());
    check_held_lock_excludes();
    become_multi_threaded();
    check_held_lock_excludes();
}
END_TEST

static int taken_by_thread;

static void *take_the_lock(void *unused)
{
    lock_acquire(&lock);
    __atomic_store_n(&taken_by_thread, 1, __ATOMIC_RELAXED);
    lock_release(&lock);
    return unused;
}

START_TEST(test_a_lock_taken_before_the_first_thread_keeps_it_out)
{
    ck_assert(process_single_threaded());
    lock_acquire(&lock);                  /* a plain store */
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, take_the_lock, NULL), 0);
    usleep(50 * 1000);                    /* long enough to spin and sleep on it */
    ck_assert_int_eq(__atomic_load_n(&taken_by_thread, __ATOMIC_RELAXED), 0);
    lock_release(&lock);                  /* atomic now: wakes the waiter */
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(taken_by_thread, 1);
    ck_assert_int_eq(lock.state, 0);
}
END_TEST

#define INCREMENTS 200000

static unsigned long counter;

static void *increment_under_the_lock(void *unused)
{
    for (int i = 0; i < INCREMENTS; i++) {
        lock_acquire(&lock);
        counter++;
        lock_release(&lock);
    }
    return unused;
}

START_TEST(test_threads_lose_no_increment_made_under_the_lock)
{
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, increment_under_the_lock, NULL), 0);
    increment_under_the_lock(NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    ck_assert_uint_eq(counter, 3ul * INCREMENTS);
}
END_TEST

#define HUGE_BLOCK ((size_t)8 << 20)   /* beyond the thread budget set below */

static void *allocate_huge_block(void *unused)
{
    (void)unused;
    return pagoda_malloc(HUGE_BLOCK);
}

START_TEST(test_a_spare_set_before_the_first_thread_goes_to_it_whole)
{
    setenv("PAGODA_RELEASE_DELAY_MS", "never", 1);
    setenv("PAGODA_THREAD_CACHE_BYTES", "4M", 1);
    pagoda_initialize();
    ck_assert(process_single_threaded());
    void *block = pagoda_malloc(HUGE_BLOCK);
    ck_assert_ptr_nonnull(block);
    pagoda_free(block);
    ck_assert_uint_eq(large_spare_bytes(), HUGE_BLOCK);
    pthread_t thread;
    void *taken;
    ck_assert_int_eq(pthread_create(&thread, NULL, allocate_huge_block, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, &taken), 0);
    ck_assert_ptr_eq(taken, block);
    ck_assert(!large_spare_held());
    pagoda_free(taken);                   /* atomic now, and the spare again */
    ck_assert_uint_eq(large_spare_bytes(), HUGE_BLOCK);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("lock");
    TCase *modes = tcase_create("single-threaded and threaded");
    tcase_add_test(modes, test_a_process_is_single_threaded_until_its_first_thread);
    tcase_add_test(modes, test_a_held_lock_excludes_in_both_modes);
    tcase_add_test(modes, test_a_lock_taken_before_the_first_thread_keeps_it_out);
    tcase_add_test(modes, test_threads_lose_no_increment_made_under_the_lock);
    tcase_add_test(modes, test_a_spare_set_before_the_first_thread_goes_to_it_whole);
    suite_add_tcase(suite, modes);
    return suite;
}
