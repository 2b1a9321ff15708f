/* args.c -- test and benchmark support: command-line numbers read with bounds. */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

long args_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: \"%s\" is not a number from %ld to %ld\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}
