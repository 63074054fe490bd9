/*
 * stats_exit_program.c — a small program for the PAGODA_STATS tests: it allocates
 * objects of a few sizes, keeps some (so the report at exit has classes in use),
 * prints "ran normally" on stdout and exits through exit(), which runs pagoda's
 * report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static void *kept[300];
    for (unsigned i = 0; i < 600; i++) {
        void *p = malloc(16 + (i % 3) * 1000);
        memset(p, 1, 16);
        if (i % 2)
            free(p);
        else
            kept[i / 2] = p;
    }
    void *large = malloc(1 << 20);
    puts("ran normally");
    fflush(stdout);
    free(kept[0]);
    free(large);
    return 0;
}
