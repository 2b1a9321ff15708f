/* duration.c -- job timeouts and intervals: "90s", "30m", "1h", "1d" or seconds. */
#include "duration.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX ((int64_t)10 * 366 * 86400)

/* The seconds of a unit letter, any case (as RQ reads it: the letter lowered), or 0. */
static int64_t unit_seconds(char c)
{
    switch (tolower((unsigned char)c)) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    default: return 0;
    }
}

int dcmp_duration_parse(const char *text, int64_t *seconds, char *err)
{
    const char *p = text;
    char *end;
    long long n;
    int64_t unit = 1;

    if (text == NULL)
        return dcmp_seterr(err, "duration is missing");
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "-1", 2) == 0) {
        const char *rest = p + 2;
        while (isspace((unsigned char)*rest))
            rest++;
        if (*rest == '\0') {
            *seconds = DCMP_DURATION_NONE;
            return 0;
        }
    }
    /* a sign, as Python's int() takes it: "+5" is 5 */
    if (*p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return dcmp_seterr(err,
                           "bad duration \"%s\": expected a number of seconds or N followed "
                           "by s, m, h or d",
                           text);
    errno = 0;
    n = strtoll(p, &end, 10);
    if (errno != 0)
        return dcmp_seterr(err, "bad duration \"%s\": number out of range", text);
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' && unit_seconds(*end) != 0)
        unit = unit_seconds(*end++);
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return dcmp_seterr(err,
                           "bad duration \"%s\": expected a number of seconds or N followed "
                           "by s, m, h or d",
                           text);
    if (n == 0)
        return dcmp_seterr(
            err, "bad duration \"%s\": must be greater than zero (or -1 for no limit)", text);
    if (n > DURATION_MAX / unit)
        return dcmp_seterr(err, "bad duration \"%s\": more than 10 years", text);
    *seconds = (int64_t)n * unit;
    return 0;
}

int dcmp_duration_from_number(double value, int64_t *seconds, char *err)
{
    double whole;

    if (!isfinite(value))
        return dcmp_seterr(err, "bad duration %g: not a number of seconds", value);
    /* cut to whole seconds, as RQ's int(): 2.9 is 2, -1.5 is -1 */
    whole = trunc(value);
    if (whole == -1.0) {
        *seconds = DCMP_DURATION_NONE;
        return 0;
    }
    if (whole <= 0 && whole != value)
        return dcmp_seterr(err,
                           "bad duration %g: cut to whole seconds it is %g: must be greater "
                           "than zero (or -1 for no limit)",
                           value, whole);
    if (whole <= 0)
        return dcmp_seterr(err, "bad duration %g: must be greater than zero (or -1 for no limit)",
                           value);
    if (whole > (double)DURATION_MAX)
        return dcmp_seterr(err, "bad duration %g: more than 10 years", value);
    *seconds = (int64_t)whole;
    return 0;
}

void dcmp_duration_format(int64_t seconds, char *buf, int size)
{
    if (seconds < 0)
        snprintf(buf, (size_t)size, "none");
    else if (seconds > 0 && seconds % 86400 == 0)
        snprintf(buf, (size_t)size, "%lldd", (long long)(seconds / 86400));
    else if (seconds > 0 && seconds % 3600 == 0)
        snprintf(buf, (size_t)size, "%lldh", (long long)(seconds / 3600));
    else if (seconds > 0 && seconds % 60 == 0)
        snprintf(buf, (size_t)size, "%lldm", (long long)(seconds / 60));
    else
        snprintf(buf, (size_t)size, "%llds", (long long)seconds);
}
