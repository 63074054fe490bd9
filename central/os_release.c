/*
 * os_release.c — madvise and process_madvise behind os_release.h. Nothing here takes
 * a lock or allocates; /proc/self/status is read with plain system calls.
 */
#include "central/os_release.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
/* The calling process as a pidfd (Linux 6.15); older kernels answer EBADF. */
#define PIDFD_SELF_PROCESS (-10001)

static int advice_of(bool now_zero)
{
#ifdef MADV_FREE
    if (!now_zero)
        return MADV_FREE;
#endif
    (void)now_zero;
    return MADV_DONTNEED;
}

/* Whether process_madvise may be used: not known yet, yes, no. */
enum { BATCH_UNKNOWN, BATCH_USABLE, BATCH_UNUSABLE };
static int batch_support;

/* Whether /proc/self/status shows no seccomp filter ("Seccomp: 0"). Unreadable counts
 * as filtered. */
static bool runs_unfiltered(void)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char status[4096];
    ssize_t length = read(fd, status, sizeof status - 1);
    close(fd);
    if (length <= 0)
        return false;
    status[length] = '\0';
    const char *line = strstr(status, "\nSeccomp:");
    if (!line)
        return false;
    line += strlen("\nSeccomp:");
    while (*line == ' ' || *line == '\t')
        line++;
    return line[0] == '0' && line[1] == '\n';
}

static bool batch_usable(void)
{
    int support = __atomic_load_n(&batch_support, __ATOMIC_RELAXED);
    if (support == BATCH_UNKNOWN) {
        support = runs_unfiltered() ? BATCH_USABLE : BATCH_UNUSABLE;
        __atomic_store_n(&batch_support, support, __ATOMIC_RELAXED);
    }
    return support == BATCH_USABLE;
}

/* One process_madvise over the whole batch; returns how many ranges, from the first,
 * it gave back wholly (it stops at the first range it fails on). An error that says
 * the kernel cannot do this at all stops further attempts. */
static unsigned release_ranges_at_once(const struct os_release_batch *batch, int advice)
{
    long advised = syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, batch->ranges, (size_t)batch->count,
                           advice, 0u);
    if (advised < 0) {
        if (errno == EBADF || errno == EINVAL || errno == ENOSYS || errno == EPERM)
            __atomic_store_n(&batch_support, BATCH_UNUSABLE, __ATOMIC_RELAXED);
        return 0;
    }
    unsigned done = 0;
    size_t left = (size_t)advised;
    while (done < batch->count && left >= batch->ranges[done].iov_len)
        left -= batch->ranges[done++].iov_len;
    return done;
}

void os_release_batch_run(const struct os_release_batch *batch, bool now_zero, bool released[])
{
    int advice = advice_of(now_zero);
    unsigned done = 0;
    if (batch->count > 1 && batch_usable())
        done = release_ranges_at_once(batch, advice);
    for (unsigned i = 0; i < done; i++)
        released[i] = true;
    for (unsigned i = done; i < batch->count; i++)
        released[i] = madvise(batch->ranges[i].iov_base, batch->ranges[i].iov_len, advice) == 0;
}

void os_release_recheck_filters(void)
{
    /* "Unusable" stays: filters are never removed, and the kernel does not change. */
    int usable = BATCH_USABLE;
    /* Looked at first: the exchange writes the page even when it fails, and in a fork
     * child that copies it. */
    if (__atomic_load_n(&batch_support, __ATOMIC_RELAXED) == BATCH_USABLE)
        __atomic_compare_exchange_n(&batch_support, &usable, BATCH_UNKNOWN, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
}
