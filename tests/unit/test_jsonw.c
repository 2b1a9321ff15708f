/* test_jsonw.c -- the direct JSON writer prints what cJSON_PrintUnformatted prints for the same
 * values: every byte in strings, integers on both sides of the int and double limits. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jsonw.h"

static void test_strings(void)
{
    const char *samples[] = {"",
                             "plain",
                             "quote \" backslash \\ slash /",
                             "tab\tnl\ncr\rbs\bff\f",
                             "caf\xc3\xa9 \xe2\x82\xac \xff\xfe",
                             NULL};
    char all[256];
    int i;

    for (i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    for (i = 0; i < 6; i++) {
        const char *s = i < 5 ? samples[i] : all;
        cJSON *v = cJSON_CreateString(s);
        char *want = cJSON_PrintUnformatted(v), *got;
        dcmp_jsonw w;
        dcmp_jsonw_init(&w, 1 << 20);
        dcmp_jsonw_str(&w, s);
        got = dcmp_jsonw_finish(&w);
        CHECK_STR(got, want);
        free(got);
        free(want);
        cJSON_Delete(v);
    }
}

static void test_integers(void)
{
    const int64_t samples[] = {0,
                               1,
                               -1,
                               3600,
                               INT_MAX,
                               (int64_t)INT_MAX + 1,
                               INT_MIN,
                               (int64_t)INT_MIN - 1,
                               999999999999999LL,
                               1000000000000000LL,
                               1234567890123456LL,
                               9007199254740993LL,
                               INT64_MAX,
                               INT64_MIN};
    size_t i;

    for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        cJSON *v = cJSON_CreateNumber((double)samples[i]);
        char *want = cJSON_PrintUnformatted(v), *got;
        dcmp_jsonw w;
        dcmp_jsonw_init(&w, 64);
        dcmp_jsonw_int(&w, samples[i]);
        got = dcmp_jsonw_finish(&w);
        CHECK_STR(got, want);
        free(got);
        free(want);
        cJSON_Delete(v);
    }
}

static void test_cap(void)
{
    dcmp_jsonw w;
    char *got;

    dcmp_jsonw_init(&w, 8);
    dcmp_jsonw_lit(&w, "[1,2,3");
    dcmp_jsonw_lit(&w, "]");
    got = dcmp_jsonw_finish(&w);
    CHECK_STR(got, "[1,2,3]");
    free(got);
    dcmp_jsonw_init(&w, 8);
    dcmp_jsonw_str(&w, "longer than eight");
    dcmp_jsonw_lit(&w, "]");
    CHECK(dcmp_jsonw_finish(&w) == NULL);
}

int main(void)
{
    RUN(test_strings);
    RUN(test_integers);
    RUN(test_cap);
    return HARNESS_RESULT();
}
