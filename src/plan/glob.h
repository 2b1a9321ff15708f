/* glob.h -- shell-style patterns (* ? and \ escapes) matched in bounded time, ASCII case folded. */
#ifndef DCMP_GLOB_H
#define DCMP_GLOB_H

#include <stddef.h>

/* The longest pattern a settings file may hold (checked where patterns are read). */
#define DCMP_GLOB_PATTERN_MAX 256

/*
 * Whether value matches pattern as a whole: `*` matches any run of characters (also none),
 * `?` exactly one, `\` makes the next character literal (a trailing `\` is itself), anything
 * else itself with ASCII letters compared without case ("*t1*" matches "Ax T1 MPRAGE").
 * Never backtracks past the last `*` seen, so the work is at most about
 * (strlen(pattern) + 1) * (strlen(value) + 1) steps whatever the input (no exponential
 * blow-up on "a*a*a*...b"). When steps is not NULL it receives the number of steps taken
 * (how tests check that bound). Pure. Returns 1 (match) or 0.
 */
int dcmp_glob_match(const char *pattern, const char *value, size_t *steps);

#endif
