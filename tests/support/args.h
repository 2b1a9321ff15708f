/* args.h -- test and benchmark support: command-line numbers read with bounds. */
#ifndef DCMP_TEST_ARGS_H
#define DCMP_TEST_ARGS_H

/* The whole of s as a decimal number within [lo, hi]. Anything else prints
 * "WHAT: "S" is not a number from LO to HI" to stderr and exits with status 2 (a usage error):
 * for the command lines of benchmarks and test helpers. */
long args_long(const char *s, const char *what, long lo, long hi);

#endif
