/* duration.h -- job timeouts and intervals: "90s", "30m", "1h", "1d" or seconds. */
#ifndef DCMP_DURATION_H
#define DCMP_DURATION_H

#include <stdint.h>

#include "log.h"

/* No time limit (the original's -1). */
#define DCMP_DURATION_NONE ((int64_t)-1)

/* The timeout a job gets when settings.json gives none (the original's 1 h). */
#define DCMP_DEFAULT_TIMEOUT ((int64_t)3600)

/*
 * Parses a duration: a positive whole number of seconds, optionally followed
 * by one unit s, m, h or d ("90", "90s", "30m", "1h", "1d"), or "-1" for no
 * limit. Surrounding blanks are allowed. Zero, negative values other than
 * -1, fractions, unknown units and values over 10 years are errors.
 * Returns 0 and sets *seconds, or -1 with the reason in err.
 */
int dcmp_duration_parse(const char *text, int64_t *seconds, char *err);

/*
 * The same for a number given as a double (a JSON number): a whole positive
 * number of seconds or -1.
 */
int dcmp_duration_from_number(double value, int64_t *seconds, char *err);

/* Formats seconds as the shortest exact form ("90s", "30m", "1h", "2d", "none"). */
void dcmp_duration_format(int64_t seconds, char *buf, int size);

#endif
