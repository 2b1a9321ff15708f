/* ctp_date.c -- dates as the CTP the original shipped reads them: util.jar's DateUtil, CTP's
 * incrementDate and modifyDate, and the DA/DT/TM checks dcm4che 1.4 makes before a value is
 * stored. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctp_int.h"

/* ---- Java's number parsing ---- */

int ctp_date_parse_long(const char *s, size_t n, long long lo, long long hi, long long *out)
{
    size_t i = 0;
    int neg = 0;
    long long v = 0;

    if (n == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        if (n == 1)
            return -1;
        i = 1;
    }
    for (; i < n; i++) {
        int d = s[i] - '0';
        if (s[i] < '0' || s[i] > '9')
            return -1;
        /* accumulate negatively, as Java, so that the minimum fits */
        if (v < (INT64_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Integer.parseInt of s[0..n): 0 and *out, -1 when Java throws. */
static int java_int(const char *s, size_t n, long long *out)
{
    return ctp_date_parse_long(s, n, INT32_MIN, INT32_MAX, out);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Float.parseFloat (Java's grammar: blanks trimmed, sign, "NaN", "Infinity", decimal or hex
 * with a 'p' exponent, an f/F/d/D suffix) then (int) as Java's f2i. Returns 0 and *out, -1
 * when Java throws. */
static int java_float_int(const char *s, size_t n, long long *out)
{
    char *tmp;
    size_t i = 0, k = 0, digits = 0;
    int neg = 0, hex = 0, rc = -1;
    float f;

    ctp_trim(&s, &n);
    if (n == 0 || (tmp = malloc(n + 3)) == NULL)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i++;
    }
    if (n - i == 3 && memcmp(s + i, "NaN", 3) == 0) {
        *out = 0;
        rc = 0;
        goto done;
    }
    if (n - i == 8 && memcmp(s + i, "Infinity", 8) == 0) {
        *out = neg ? INT32_MIN : INT32_MAX;
        rc = 0;
        goto done;
    }
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
        hex = 1;
    memcpy(tmp, s, i);
    k = i;
    if (hex) {
        tmp[k++] = '0';
        tmp[k++] = 'x';
        i += 2;
    }
    while (i < n && (hex ? is_hex(s[i]) : is_digit(s[i])))
        tmp[k++] = s[i++], digits++;
    if (i < n && s[i] == '.') {
        tmp[k++] = s[i++];
        while (i < n && (hex ? is_hex(s[i]) : is_digit(s[i])))
            tmp[k++] = s[i++], digits++;
    }
    if (digits == 0)
        goto done;
    if (i < n && (hex ? (s[i] == 'p' || s[i] == 'P') : (s[i] == 'e' || s[i] == 'E'))) {
        size_t e = 0;
        tmp[k++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            tmp[k++] = s[i++];
        while (i < n && is_digit(s[i]))
            tmp[k++] = s[i++], e++;
        if (e == 0)
            goto done;
    } else if (hex) {
        goto done; /* Java requires the binary exponent */
    }
    if (i < n && s[i] != '\0' && strchr("fFdD", s[i]) != NULL)
        i++;
    if (i != n)
        goto done;
    tmp[k] = '\0';
    f = strtof(tmp, NULL);
    if (isnan(f))
        *out = 0;
    else if (f >= 2147483648.0f)
        *out = INT32_MAX;
    else if (f <= -2147483648.0f)
        *out = INT32_MIN;
    else
        *out = (long long)f;
    rc = 0;
done:
    free(tmp);
    return rc;
}

/* ---- java.util.GregorianCalendar, lenient, Julian before 15 October 1582, in UTC ---- */

#define GREGORIAN_START 2299161L /* Julian day number of 1582-10-15 */

static long long floordiv(long long a, long long b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static long long jdn_gregorian(long long y, long long m, long long d)
{
    long long a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;

    return d + (153 * mm + 2) / 5 + 365 * yy + floordiv(yy, 4) - floordiv(yy, 100) +
           floordiv(yy, 400) - 32045;
}

static long long jdn_julian(long long y, long long m, long long d)
{
    long long a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;

    return d + (153 * mm + 2) / 5 + 365 * yy + floordiv(yy, 4) - 32083;
}

/* Day number of year y (astronomical), month m (1-12), day d (may overflow). In 1582, the
 * cutover year, a date the Gregorian calendar puts before 15 October is read as Julian, as
 * GregorianCalendar does: 4 October + 1 day is 15 October, 10 October is 20 October. */
static long long day_of(long long y, long long m, long long d)
{
    long long g = jdn_gregorian(y, m, 1) + (d - 1);

    if (y > 1582 || (y == 1582 && g >= GREGORIAN_START))
        return g;
    return jdn_julian(y, m, 1) + (d - 1);
}

static void ymd_of(long long jdn, long long *y, long long *m, long long *d)
{
    long long b, c, dd, e, mm;

    if (jdn >= GREGORIAN_START) {
        long long a = jdn + 32044;
        b = floordiv(4 * a + 3, 146097);
        c = a - floordiv(146097 * b, 4);
    } else {
        b = 0;
        c = jdn + 32082;
    }
    dd = floordiv(4 * c + 3, 1461);
    e = c - floordiv(1461 * dd, 4);
    mm = floordiv(5 * e + 2, 153);
    *d = e - floordiv(153 * mm + 2, 5) + 1;
    *m = mm + 3 - 12 * floordiv(mm, 10);
    *y = 100 * b + dd - 4800 + floordiv(mm, 10);
}

/* set(YEAR, y), set(MONTH, month0), set(DAY_OF_MONTH, d), lenient. */
static long long calendar(long long y, long long month0, long long d)
{
    y += floordiv(month0, 12);
    month0 -= 12 * floordiv(month0, 12);
    return day_of(y, month0 + 1, d);
}

/* A parsed date: the day of its year, month and day fields, and the time of day in seconds
 * that its hour, minute and second fields add (lenient: may exceed a day). */
typedef struct jdate {
    long long day, tod;
} jdate;

/* DateUtil.getCalendar: drops '@' ':' 'T' '-' and blanks, reads "00" years as "19", stops at
 * '\', then yyyyMMdd and, after 8 characters, HH mm and (float) seconds, up to an '&'. */
static int get_calendar(const char *v, size_t n, jdate *out)
{
    char *s = malloc(n + 1);
    size_t len = 0, i;
    long long y, m, d, h = 0, mi = 0, sec = 0;
    int rc = -1;

    if (s == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\\')
            break; /* only the first value */
        if (c == '@' || c == ':' || c == 'T' || c == '-' || c == ' ' || c == '\t' || c == '\n' ||
            c == '\v' || c == '\f' || c == '\r')
            continue;
        s[len++] = c;
    }
    if (len >= 2 && s[0] == '0' && s[1] == '0')
        s[0] = '1', s[1] = '9';
    if (len < 8 || java_int(s, 4, &y) < 0 || java_int(s + 4, 2, &m) < 0 ||
        java_int(s + 6, 2, &d) < 0)
        goto done;
    if (len > 8) {
        const char *r = s + 8, *amp = memchr(r, '&', len - 8);
        size_t rn = amp ? (size_t)(amp - r) : len - 8;
        if (rn < 4 || java_int(r, 2, &h) < 0 || java_int(r + 2, 2, &mi) < 0)
            goto done;
        if (rn > 4 && java_float_int(r + 4, rn - 4, &sec) < 0)
            goto done;
    }
    out->day = calendar(y, m - 1, d);
    out->tod = h * 3600 + mi * 60 + sec;
    rc = 0;
done:
    free(s);
    return rc;
}

/* Appends Calendar.get(YEAR) (era-relative: 1 BC is 1), MONTH + 1 and DAY_OF_MONTH, zero-padded
 * to 4, 2, 2 digits (never cut), with '-' between them when `dash`, then date[from..]. */
static int put_date(long long day, int dash, const char *date, size_t n, size_t from, ctp_buf *b)
{
    char s[64];
    long long y, m, d;
    int len;

    ymd_of(day, &y, &m, &d);
    if (y <= 0)
        y = 1 - y;
    len = snprintf(s, sizeof s, dash ? "%04lld-%02lld-%02lld" : "%04lld%02lld%02lld", y, m, d);
    ctp_buf_add(b, s, (size_t)len);
    if (n > from)
        ctp_buf_add(b, date + from, n - from);
    return b->failed ? -1 : 0;
}

int ctp_date_increment(const char *date, size_t n, int32_t inc, ctp_buf *b)
{
    int dash = memchr(date, '-', n) != NULL;
    jdate j;

    if (get_calendar(date, n, &j) < 0)
        return -1;
    /* add(DAY_OF_MONTH) first normalizes: the time of day carries into the date */
    return put_date(j.day + floordiv(j.tod, 86400) + inc, dash, date, n, dash ? 10 : 8, b);
}

int ctp_date_modify(const char *date, size_t n, int32_t y, int32_t m, int32_t d, ctp_buf *b)
{
    int dash = memchr(date, '-', n) != NULL;
    long long day, cy, cm, cd;
    jdate j;

    if (get_calendar(date, n, &j) < 0)
        return -1;
    if (y < 0 || m < 0 || d < 0) {
        /* a get() normalizes the calendar first: the time of day carries into the date and
         * is then less than a day; a year set with the era already BC stays BC */
        ymd_of(j.day + floordiv(j.tod, 86400), &cy, &cm, &cd);
        if (y >= 0 && cy <= 0)
            cy = 1 - (long long)y;
        else if (y >= 0)
            cy = y;
        day = calendar(cy, m < 0 ? cm - 1 : (long long)m - 1, d < 0 ? cd : d);
    } else {
        /* the time fields were never normalized: they still carry into the new date */
        day = calendar(y, (long long)m - 1, d) + floordiv(j.tod, 86400);
    }
    return put_date(day, dash, date, n, dash ? 10 : 8, b);
}

/* ---- dcm4che's DAFormat, TMFormat, DTFormat: the value a DA, TM or DT element accepts ---- */

/* Reads a 2-digit field at *i (< len) after an optional separator: 'd' skips one non-digit,
 * ':' skips a colon, 0 nothing. Returns 0 when Java throws. */
static int two_digits(const char *s, size_t len, size_t *i, char sep)
{
    long long v;

    if ((sep == 'd' && !is_digit(s[*i])) || (sep == ':' && s[*i] == ':'))
        (*i)++;
    if (len < *i + 2 || java_int(s + *i, 2, &v) < 0)
        return 0;
    *i += 2;
    return 1;
}

/* Float seconds at *i (< len) after an optional colon. */
static int seconds(const char *s, size_t len, size_t i)
{
    long long v;

    if (s[i] == ':')
        i++;
    return java_float_int(s + i, len - i, &v) == 0;
}

static int da_ok(const char *s, size_t n)
{
    long long v;
    size_t i = 4;

    if (n <= 4 || java_int(s, 4, &v) < 0 || !two_digits(s, n, &i, 'd') || n <= i)
        return 0;
    /* the day is read from index 6 whatever the separators: "1993-04-30" fails */
    return java_int(s + 6, n - 6, &v) == 0;
}

static int tm_ok(const char *s, size_t n)
{
    long long v;
    size_t i = 2;

    if (n < 2 || java_int(s, 2, &v) < 0)
        return 0;
    if (i >= n)
        return 0; /* "HH" alone: parsed, but the position is never set, so rejected */
    if (!two_digits(s, n, &i, ':'))
        return 0;
    return i >= n || seconds(s, n, i);
}

static int dt_ok(const char *s, size_t n)
{
    static const char seps[] = {'d', 'd', 0, ':'}; /* month, day, hour, minute */
    long long v;
    size_t i = 4, len = n, k;

    if (n == 0)
        return 0;
    if (n >= 5 && (s[n - 5] == '+' || s[n - 5] == '-')) {
        if (java_int(s + n - 4, 4, &v) < 0)
            return 0;
        len = n - 5;
    }
    if (len < 4 || java_int(s, 4, &v) < 0)
        return 0;
    for (k = 0; k < sizeof seps && len > i; k++)
        if (!two_digits(s, len, &i, seps[k]))
            return 0;
    return len <= i || seconds(s, len, i);
}

int ctp_date_vr_accepts(const char *vr, const char *value)
{
    int (*ok)(const char *, size_t);
    size_t n = strlen(value), start = 0, i, end = n;

    if (strcmp(vr, "DA") == 0)
        ok = da_ok;
    else if (strcmp(vr, "TM") == 0)
        ok = tm_ok;
    else if (strcmp(vr, "DT") == 0)
        ok = dt_ok;
    else
        return 1;
    /* value.split("\\\\"): trailing empty values are dropped */
    while (end > 0 && value[end - 1] == '\\')
        end--;
    for (i = 0; i <= end && end > 0; i++) {
        if (i == end || value[i] == '\\') {
            if (!ok(value + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}
