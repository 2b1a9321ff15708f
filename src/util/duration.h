/* duration.h -- job timeouts and intervals as RQ reads them: "90s", "30m", "1h", "1d", seconds. */
#ifndef DCMP_DURATION_H
#define DCMP_DURATION_H

#include <stdint.h>

#include "log.h"

/* No time limit (the original's -1). */
#define DCMP_DURATION_NONE ((int64_t)-1)

/* The timeout a job gets when settings.json gives none (the original's 1 h). */
#define DCMP_DEFAULT_TIMEOUT ((int64_t)3600)

/*
 * Parses a duration as RQ (the original's queue) reads a timeout string: a
 * positive whole number of seconds ("90", "+90"), optionally followed by one
 * unit s, m, h or d in either case ("90s", "10S", "30m", "1H", "1d"), or "-1"
 * for no limit. Blanks around the number and the unit are allowed. Zero,
 * negative values other than -1, fractions ("1.5h"), unknown units and values
 * over 10 years are errors. Returns 0 and sets *seconds, or -1 with the
 * reason in err.
 */
int dcmp_duration_parse(const char *text, int64_t *seconds, char *err);

/*
 * The same for a number given as a double (a JSON number), cut to whole
 * seconds as RQ's int() does (2.9 is 2 s, -1.5 is -1: no limit). What is 0
 * after the cut (0, 0.5, -0.9), other negative values, infinities and values
 * over 10 years are errors.
 */
int dcmp_duration_from_number(double value, int64_t *seconds, char *err);

/* Formats seconds as the shortest exact form ("90s", "30m", "1h", "2d", "none"). */
void dcmp_duration_format(int64_t seconds, char *buf, int size);

#endif
