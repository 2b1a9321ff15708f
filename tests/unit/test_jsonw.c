/* test_jsonw.c -- the direct JSON writer prints what cJSON_PrintUnformatted prints for the same
 * values: every byte in strings, integers on both sides of the int and double limits; invalid
 * UTF-8 (which cJSON copies) becomes U+FFFD, so what it writes is always valid UTF-8. */
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
                             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
                             NULL};
    char all[128];
    int i;

    for (i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
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

/* Bytes that are not UTF-8 become U+FFFD, one each; the rest is written as cJSON would. */
static void test_invalid_utf8(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xff\xfe", "\"\xef\xbf\xbd\xef\xbf\xbd\""},
        {"a\x80"
         "b",
         "\"a\xef\xbf\xbd"
         "b\""},                                                      /* stray continuation */
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* overlong '/' */
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
        {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\""},        /* cut short */
        {"\n\xe9t\xc3\xa9", "\"\\n\xef\xbf\xbdt\xc3\xa9\""}, /* Latin-1 beside UTF-8 */
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dcmp_jsonw w;
        char *got;
        dcmp_jsonw_init(&w, 1 << 10);
        dcmp_jsonw_str(&w, cases[i].in);
        got = dcmp_jsonw_finish(&w);
        CHECK_STR(got, cases[i].out);
        free(got);
    }
    /* every byte value: the result is valid UTF-8 */
    {
        char all[256], *got;
        const unsigned char *p;
        dcmp_jsonw w;
        for (i = 1; i < 256; i++)
            all[i - 1] = (char)i;
        all[255] = '\0';
        dcmp_jsonw_init(&w, 1 << 12);
        dcmp_jsonw_str(&w, all);
        got = dcmp_jsonw_finish(&w);
        CHECK(got != NULL);
        for (p = (const unsigned char *)got; p && *p;) {
            size_t k = dcmp_jsonw_utf8(p, strlen((const char *)p));
            CHECK(k > 0);
            p += k ? k : 1;
        }
        free(got);
    }
    /* text printed by cJSON from stored bytes (what the dashboard serves) */
    {
        cJSON *o = cJSON_CreateObject();
        char *text;
        cJSON_AddStringToObject(o, "error", "bad \xff here");
        text = dcmp_jsonw_valid_utf8(cJSON_PrintUnformatted(o));
        CHECK_STR(text, "{\"error\":\"bad \xef\xbf\xbd here\"}");
        free(text);
        cJSON_Delete(o);
        text = dcmp_jsonw_valid_utf8(strdup("{\"ok\":\"caf\xc3\xa9\"}"));
        CHECK_STR(text, "{\"ok\":\"caf\xc3\xa9\"}");
        free(text);
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
    RUN(test_invalid_utf8);
    RUN(test_integers);
    RUN(test_cap);
    return HARNESS_RESULT();
}
