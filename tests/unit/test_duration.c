/* test_duration.c -- unit tests of duration parsing, conversion from numbers and formatting. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "duration.h"
#include "harness.h"

/* Parses text and expects success with `want` seconds. */
static void parses_to(const char *text, int64_t want)
{
    char err[DCMP_ERR_LEN] = "";
    int64_t got = 12345;

    CHECK(dcmp_duration_parse(text, &got, err) == 0);
    CHECK(got == want);
    if (got != want)
        fprintf(stderr, "  \"%s\" gave %lld, expected %lld (err \"%s\")\n", text, (long long)got,
                (long long)want, err);
}

/* Parses text and expects an error that names the input and leaves *seconds alone. */
static void rejects(const char *text, const char *reason)
{
    char err[DCMP_ERR_LEN] = "";
    int64_t got = 12345;

    CHECK(dcmp_duration_parse(text, &got, err) == -1);
    CHECK(got == 12345);
    CHECK(err[0] != '\0');
    if (text != NULL) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", text);
        CHECK_CONTAINS(err, quoted);
    }
    if (reason != NULL)
        CHECK_CONTAINS(err, reason);
}

static void test_parse_units(void)
{
    parses_to("90s", 90);
    parses_to("30m", 1800);
    parses_to("1h", 3600);
    parses_to("1d", 86400);
    parses_to("45", 45);
    parses_to("1", 1);
    parses_to("1s", 1);
    parses_to("2d", 172800);
    parses_to("120m", 7200);
    parses_to("007", 7);
}

/* As RQ reads a string: the unit letter in either case, a digit string is seconds, a sign
 * and blanks as Python's int() takes them. */
static void test_parse_as_rq(void)
{
    parses_to("10S", 10);
    parses_to("30M", 1800);
    parses_to("1H", 3600);
    parses_to("2D", 172800);
    parses_to("90", 90);
    parses_to("+5", 5);
    parses_to("+5m", 300);
    parses_to("10 s", 10);
    parses_to(" 10 M ", 600);
}

static void test_parse_blanks(void)
{
    parses_to(" 2h ", 7200);
    parses_to("\t10m\n", 600);
    parses_to("  45", 45);
    parses_to("45  ", 45);
}

static void test_parse_no_limit(void)
{
    parses_to("-1", DCMP_DURATION_NONE);
    parses_to(" -1", DCMP_DURATION_NONE);
    parses_to("-1 ", DCMP_DURATION_NONE);
    parses_to(" -1\t", DCMP_DURATION_NONE);
    CHECK(DCMP_DURATION_NONE == -1);
}

static void test_parse_errors(void)
{
    rejects("0", "greater than zero");
    rejects("0s", "greater than zero");
    rejects("0d", "greater than zero");
    rejects("", NULL);
    rejects("   ", NULL);
    rejects("abc", NULL);
    rejects("1.5h", NULL);
    rejects("10x", NULL);
    rejects("-5", NULL);
    rejects("-0", NULL);
    rejects("-1s", NULL);
    rejects("-1h", NULL);
    rejects("1h30m", NULL);
    rejects("h", NULL);
    rejects("1hh", NULL);
    rejects("1.5", NULL);
    rejects("2.9s", NULL);
    rejects("+-5", NULL);
    rejects("5 5", NULL);
    rejects("0x10", NULL);
    rejects("1e3", NULL);
}

static void test_parse_missing(void)
{
    char err[DCMP_ERR_LEN] = "";
    int64_t got = 12345;

    CHECK(dcmp_duration_parse(NULL, &got, err) == -1);
    CHECK(got == 12345);
    CHECK(err[0] != '\0');
    /* err may be NULL: the caller does not want the reason */
    CHECK(dcmp_duration_parse("abc", &got, NULL) == -1);
    CHECK(dcmp_duration_parse(NULL, &got, NULL) == -1);
}

/* The cap is 10 years of 366 days; it applies after the unit is applied. */
static void test_parse_cap(void)
{
    const int64_t max = (int64_t)10 * 366 * 86400;

    parses_to("316224000", max);
    parses_to("3660d", max);
    parses_to("87840h", max);
    parses_to("5270400m", max);
    rejects("316224001", "10 years");
    rejects("3661d", "10 years");
    rejects("87841h", "10 years");
    rejects("5270401m", "10 years");
    rejects("99999999999999d", "10 years");
    rejects("9223372036854775807", "10 years");
    rejects("99999999999999999999", "out of range");
    rejects("99999999999999999999d", "out of range");
}

/* "-1" means no limit only on its own: anything after it is garbage. */
static void test_parse_no_limit_trailing(void)
{
    rejects("-1 x", NULL);
    rejects("-1 -1", NULL);
    rejects("-1 h", NULL);
}

static void test_from_number(void)
{
    char err[DCMP_ERR_LEN];
    int64_t got;

    got = 0;
    CHECK(dcmp_duration_from_number(3600.0, &got, err) == 0);
    CHECK(got == 3600);
    got = 0;
    CHECK(dcmp_duration_from_number(1.0, &got, err) == 0);
    CHECK(got == 1);
    got = 0;
    CHECK(dcmp_duration_from_number(-1.0, &got, err) == 0);
    CHECK(got == DCMP_DURATION_NONE);
    got = 0;
    CHECK(dcmp_duration_from_number(316224000.0, &got, err) == 0);
    CHECK(got == 316224000);
}

/* A float is cut to whole seconds, as RQ's int(): 2.9 is 2 s; -1.5 is -1 (no limit). */
static void test_from_number_cut(void)
{
    char err[DCMP_ERR_LEN];
    int64_t got = 0;

    CHECK(dcmp_duration_from_number(2.9, &got, err) == 0 && got == 2);
    CHECK(dcmp_duration_from_number(1.5, &got, err) == 0 && got == 1);
    CHECK(dcmp_duration_from_number(90.99, &got, err) == 0 && got == 90);
    CHECK(dcmp_duration_from_number(-1.5, &got, err) == 0 && got == DCMP_DURATION_NONE);
    CHECK(dcmp_duration_from_number(316224000.7, &got, err) == 0 && got == 316224000);
}

static void from_number_rejects(double value, const char *reason)
{
    char err[DCMP_ERR_LEN] = "";
    int64_t got = 12345;

    CHECK(dcmp_duration_from_number(value, &got, err) == -1);
    CHECK(got == 12345);
    CHECK(err[0] != '\0');
    if (reason != NULL)
        CHECK_CONTAINS(err, reason);
}

static void test_from_number_errors(void)
{
    char err[DCMP_ERR_LEN] = "";

    from_number_rejects(0.0, "greater than zero");
    from_number_rejects(-0.0, "greater than zero");
    from_number_rejects(0.5, "cut to whole seconds it is 0");
    from_number_rejects(0.999, "cut to whole seconds it is 0");
    from_number_rejects(-0.5, "greater than zero");
    from_number_rejects(-2.0, "greater than zero");
    from_number_rejects(-2.5, "greater than zero");
    from_number_rejects(NAN, "not a number");
    from_number_rejects(INFINITY, "not a number");
    from_number_rejects(-INFINITY, "not a number");
    from_number_rejects(316224001.0, "10 years");
    from_number_rejects(1e300, "10 years");
    /* the value is named in the message */
    dcmp_duration_from_number(0.5, &(int64_t){0}, err);
    CHECK_CONTAINS(err, "0.5");
}

static void formats_as(int64_t seconds, const char *want)
{
    char buf[32];

    memset(buf, 'x', sizeof buf);
    dcmp_duration_format(seconds, buf, (int)sizeof buf);
    CHECK_STR(buf, want);
}

static void test_format(void)
{
    formats_as(90, "90s");
    formats_as(1, "1s");
    formats_as(59, "59s");
    formats_as(60, "1m");
    formats_as(1800, "30m");
    formats_as(5400, "90m");
    formats_as(3600, "1h");
    formats_as(7200, "2h");
    formats_as(90000, "25h");
    formats_as(86400, "1d");
    formats_as(172800, "2d");
    formats_as(3601, "3601s");
    formats_as(86460, "1441m");
    formats_as(316224000, "3660d");
    formats_as(DCMP_DURATION_NONE, "none");
    formats_as(-7, "none");
    formats_as(0, "0s");
}

/* What format writes, parse reads back to the same number. */
static void test_format_round_trip(void)
{
    static const int64_t values[] = {
        1,    59,    60,    61,    1800,   3599,      3600,
        5400, 86399, 86400, 90000, 172800, 316224000, DCMP_DURATION_NONE};
    char buf[32], err[DCMP_ERR_LEN];
    size_t i;

    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = 0;
        dcmp_duration_format(values[i], buf, (int)sizeof buf);
        if (values[i] < 0)
            continue; /* "none" is for display only */
        CHECK(dcmp_duration_parse(buf, &back, err) == 0);
        CHECK(back == values[i]);
    }
}

static void test_format_small_buffer(void)
{
    char buf[4];

    memset(buf, 'x', sizeof buf);
    dcmp_duration_format(123456, buf, (int)sizeof buf);
    CHECK(buf[3] == '\0');
    CHECK_STR(buf, "123");
    memset(buf, 'x', sizeof buf);
    dcmp_duration_format(-1, buf, 2);
    CHECK_STR(buf, "n");
    CHECK(buf[2] == 'x');
}

int main(void)
{
    RUN(test_parse_units);
    RUN(test_parse_as_rq);
    RUN(test_parse_blanks);
    RUN(test_parse_no_limit);
    RUN(test_parse_errors);
    RUN(test_parse_missing);
    RUN(test_parse_cap);
    RUN(test_parse_no_limit_trailing);
    RUN(test_from_number);
    RUN(test_from_number_cut);
    RUN(test_from_number_errors);
    RUN(test_format);
    RUN(test_format_round_trip);
    RUN(test_format_small_buffer);
    return HARNESS_RESULT();
}
