/*
 * rss.c — reads the resident page count (second field of /proc/self/statm). Uses
 * open/read rather than stdio so that measuring does not itself allocate.
 */
#include "tests/support/rss.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

size_t resident_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        abort();
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        abort();
    buf[n] = '\0';
    char *field = buf;
    strtoul(field, &field, 10);                  /* total program size */
    unsigned long resident_pages = strtoul(field, NULL, 10);
    return resident_pages * (size_t)sysconf(_SC_PAGESIZE);
}
