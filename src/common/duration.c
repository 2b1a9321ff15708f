/* duration.c -- job timeouts and intervals: "90s", "30m", "1h", "1d" or seconds. */
#include "duration.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX ((int64_t)10 * 366 * 86400)

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
    if (!isdigit((unsigned char)*p))
        return dcmp_seterr(err,
                           "bad duration \"%s\": expected a number of seconds or N followed "
                           "by s, m, h or d",
                           text);
    errno = 0;
    n = strtoll(p, &end, 10);
    if (errno != 0)
        return dcmp_seterr(err, "bad duration \"%s\": number out of range", text);
    switch (*end) {
    case 's':
        unit = 1;
        end++;
        break;
    case 'm':
        unit = 60;
        end++;
        break;
    case 'h':
        unit = 3600;
        end++;
        break;
    case 'd':
        unit = 86400;
        end++;
        break;
    default: break;
    }
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
    if (value == -1.0) {
        *seconds = DCMP_DURATION_NONE;
        return 0;
    }
    if (!isfinite(value) || value != floor(value))
        return dcmp_seterr(err, "bad duration %g: must be a whole number of seconds", value);
    if (value <= 0)
        return dcmp_seterr(err, "bad duration %g: must be greater than zero (or -1 for no limit)",
                           value);
    if (value > (double)DURATION_MAX)
        return dcmp_seterr(err, "bad duration %g: more than 10 years", value);
    *seconds = (int64_t)value;
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
