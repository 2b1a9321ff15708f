/* test_trigger.c -- unit tests of entry triggers: globs (hostile ones too), reading `trigger`,
 * `requires`, `completeTimeout`, `onTimeout`, `rerun`, `rerunWindow`, matching series to
 * conditions, and how long a study's held files are kept (dcmp_study_keep). */
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "harness.h"
#include "study.h"
#include "trigger.h"
#include "trigger_entry.h"

static void test_glob(void)
{
    CHECK(dcmp_glob_match("*T1*", "Ax t1 MPRAGE", NULL));
    CHECK(dcmp_glob_match("MR", "mr", NULL));
    CHECK(!dcmp_glob_match("MR", "MRI", NULL));
    CHECK(dcmp_glob_match("T?", "T2", NULL));
    CHECK(!dcmp_glob_match("T?", "T", NULL));
    CHECK(dcmp_glob_match("*", "", NULL));
    CHECK(dcmp_glob_match("", "", NULL));
    CHECK(!dcmp_glob_match("", "x", NULL));
    CHECK(dcmp_glob_match("a*b*c", "a--b--b--c", NULL));
    CHECK(!dcmp_glob_match("a*b*c", "a--b--b--d", NULL));
    CHECK(dcmp_glob_match("\\*x", "*X", NULL));
    CHECK(!dcmp_glob_match("\\*x", "ax", NULL));
    CHECK(dcmp_glob_match("100\\?", "100?", NULL));
    CHECK(dcmp_glob_match("a\\", "a\\", NULL)); /* a trailing backslash is itself */
    CHECK(dcmp_glob_match("*FLAIR*", "T2_FLAIR_AX", NULL));
}

/* Patterns that make a backtracking matcher take exponential time stay within
 * (pattern + 1) * (value + 1) steps. */
static void test_hostile_globs(void)
{
    static const char *const patterns[] = {
        "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
        "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c*",
        "?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b",
        "*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"};
    char value[4097];
    size_t i;

    memset(value, 'a', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        size_t steps = 0, bound = (strlen(patterns[i]) + 1) * (strlen(value) + 1);
        CHECK(!dcmp_glob_match(patterns[i], value, &steps));
        CHECK(steps > 0 && steps <= bound);
        if (steps > bound)
            fprintf(stderr, "  pattern %zu: %zu steps, bound %zu\n", i, steps, bound);
    }
    /* and a match found among them */
    value[sizeof value - 2] = 'b';
    CHECK(dcmp_glob_match(patterns[0], value, NULL));
}

static void test_trigger_read_and_match(void)
{
    dcmp_trigger t;
    cJSON *e = entry_of("{\"trigger\":\"study\",\"requires\":[{\"Modality\":\"MR\","
                        "\"SeriesDescription\":[\"*T1*\",\"*MPRAGE*\"]},{\"SeriesNumber\":3},"
                        "{\"ImageType\":\"DERIVED\"}],\"completeTimeout\":\"2h\"}",
                        &t);
    cJSON *s1 = cJSON_Parse("{\"Modality\":\"MR\",\"SeriesDescription\":\"sag mprage\"}");
    cJSON *s2 = cJSON_Parse("{\"Modality\":\"CT\",\"SeriesDescription\":\"T1\"}");
    cJSON *s3 = cJSON_Parse("{\"SeriesNumber\":\" 3\",\"ImageType\":[\"ORIGINAL\",\"DERIVED\"]}");
    cJSON *s4 = cJSON_Parse("{\"SeriesNumber\":3.5,\"SeriesDescription\":\"x\"}");

    CHECK(t.level == DCMP_LEVEL_STUDY && t.nrequires == 3);
    CHECK(t.complete_timeout == 7200);
    CHECK(t.on_timeout == DCMP_ON_TIMEOUT_DROP && t.rerun == DCMP_RERUN_NEW_SERIES);
    CHECK(dcmp_trigger_matches(&t, 0, s1));  /* equality and one alternative */
    CHECK(!dcmp_trigger_matches(&t, 0, s2)); /* every field must match */
    CHECK(!dcmp_trigger_matches(&t, 0, s3)); /* an absent field does not */
    CHECK(dcmp_trigger_matches(&t, 1, s3));  /* a number equals a numeric string */
    CHECK(!dcmp_trigger_matches(&t, 1, s4));
    CHECK(dcmp_trigger_matches(&t, 2, s3));  /* any value of a multi-valued field */
    CHECK(!dcmp_trigger_matches(&t, 3, s3)); /* no such condition */
    cJSON_Delete(e);

    /* one condition alone, and the defaults */
    e = entry_of("{\"trigger\":\"patient\",\"requires\":{\"Modality\":\"CT\"},\"onTimeout\":"
                 "\"plan\",\"rerun\":\"never\"}",
                 &t);
    CHECK(t.level == DCMP_LEVEL_PATIENT && t.nrequires == 1);
    CHECK(t.complete_timeout == DCMP_TRIGGER_COMPLETE_DEFAULT);
    CHECK(t.on_timeout == DCMP_ON_TIMEOUT_PLAN && t.rerun == DCMP_RERUN_NEVER);
    CHECK(dcmp_trigger_matches(&t, 0, s2));
    cJSON_Delete(e);
    e = entry_of("{\"jobName\":\"x\"}", &t);
    CHECK(t.level == DCMP_LEVEL_SERIES && t.requires == NULL);
    cJSON_Delete(e);
    cJSON_Delete(s1);
    cJSON_Delete(s2);
    cJSON_Delete(s3);
    cJSON_Delete(s4);
}

/* The caps: patterns in all of requires, and the length of a value matched. */
static void test_caps(void)
{
    char text[8192], why[DCMP_ERR_LEN] = "";
    const char *field = NULL;
    size_t used = (size_t)snprintf(text, sizeof text, "{\"trigger\":\"study\",\"requires\":[");
    dcmp_trigger t;
    cJSON *e, *fields, *big;
    char *value;
    int c, a;

    for (c = 0; c < 5; c++) { /* 5 conditions of 30 alternatives: 150 patterns */
        used += (size_t)snprintf(text + used, sizeof text - used, "%s{\"SeriesDescription\":[",
                                 c ? "," : "");
        for (a = 0; a < 30; a++)
            used +=
                (size_t)snprintf(text + used, sizeof text - used, "%s\"*s%d*\"", a ? "," : "", a);
        used += (size_t)snprintf(text + used, sizeof text - used, "]}");
    }
    snprintf(text + used, sizeof text - used, "]}");
    CHECK(used + 3 < sizeof text);
    e = cJSON_Parse(text);
    CHECK(dcmp_trigger_read(e, &t, &field, why) == -1);
    CHECK_STR(field, "requires");
    CHECK_CONTAINS(why, "condition 5: SeriesDescription: more than 128 patterns in all");
    cJSON_Delete(e);

    e = entry_of("{\"trigger\":\"study\",\"requires\":{\"SeriesDescription\":\"*\"}}", &t);
    value = malloc(DCMP_TRIGGER_VALUE_MAX + 2);
    fields = cJSON_CreateObject();
    memset(value, 'x', DCMP_TRIGGER_VALUE_MAX);
    value[DCMP_TRIGGER_VALUE_MAX] = '\0';
    big = cJSON_AddStringToObject(fields, "SeriesDescription", value);
    CHECK(big != NULL && dcmp_trigger_matches(&t, 0, fields)); /* at the cap: matched */
    value[DCMP_TRIGGER_VALUE_MAX] = 'x';
    value[DCMP_TRIGGER_VALUE_MAX + 1] = '\0';
    cJSON_ReplaceItemInObject(fields, "SeriesDescription", cJSON_CreateString(value));
    CHECK(!dcmp_trigger_matches(&t, 0, fields)); /* over it: never */
    free(value);
    cJSON_Delete(fields);
    cJSON_Delete(e);
}

/* The key at fault and the reason, for an entry text that must be refused. */
static void refused(const char *text, const char *key, const char *why_part)
{
    cJSON *e = cJSON_Parse(text);
    const char *field = NULL;
    char why[DCMP_ERR_LEN] = "";
    dcmp_trigger t;

    CHECK(e != NULL && dcmp_trigger_read(e, &t, &field, why) == -1);
    CHECK_STR(field ? field : "", key);
    CHECK_CONTAINS(why, why_part);
    cJSON_Delete(e);
}

static void test_rerun_window(void)
{
    dcmp_trigger t;
    cJSON *e = entry_of("{\"trigger\":\"study\"}", &t);

    CHECK(t.rerun == DCMP_RERUN_NEW_SERIES && t.rerun_window == DCMP_TRIGGER_WINDOW_DEFAULT);
    cJSON_Delete(e);
    e = entry_of("{\"trigger\":\"study\",\"rerunWindow\":\"2s\"}", &t);
    CHECK(t.rerun_window == 2);
    cJSON_Delete(e);
    e = entry_of("{\"trigger\":\"patient\",\"rerunWindow\":90.7}", &t);
    CHECK(t.rerun_window == 90);
    cJSON_Delete(e);
    e = entry_of("{\"trigger\":\"study\",\"rerun\":\"never\"}", &t);
    CHECK(t.rerun_window == 0);
    cJSON_Delete(e);
    refused("{\"trigger\":\"study\",\"rerunWindow\":\"soon\"}", "rerunWindow", "soon");
    refused("{\"trigger\":\"study\",\"rerunWindow\":0}", "rerunWindow", "greater than zero");
    refused("{\"trigger\":\"study\",\"rerunWindow\":-1}", "rerunWindow",
            "held files must be released");
    refused("{\"trigger\":\"study\",\"rerunWindow\":true}", "rerunWindow", "a number");
    refused("{\"trigger\":\"study\",\"rerun\":\"never\",\"rerunWindow\":\"1h\"}", "rerunWindow",
            "only with rerun \"new-series\"");
    refused("{\"rerunWindow\":\"1h\"}", "rerunWindow", "runs per series");
}

/* Kept while the study is not quiet; once quiet, for the largest window of its rerun entries
 * ("never" entries add none); then released. */
static void test_keep(void)
{
    dcmp_trigger a, b, c;
    const dcmp_trigger *both[2] = {&a, &b}, *never[1] = {&c};
    cJSON *ea = entry_of("{\"trigger\":\"study\",\"rerunWindow\":\"2s\"}", &a);
    cJSON *eb = entry_of("{\"trigger\":\"study\",\"rerunWindow\":\"1m\"}", &b);
    cJSON *ec = entry_of("{\"trigger\":\"study\",\"rerun\":\"never\"}", &c);
    int64_t until = -1;

    CHECK(dcmp_study_keep(both, 2, 0, 5000000, &until) == 1 && until == 0); /* not quiet */
    CHECK(dcmp_study_keep(both, 1, 1000000, 1000000, &until) == 1 && until == 1002000);
    CHECK(dcmp_study_keep(both, 1, 1000000, 1001999, &until) == 1 && until == 1002000);
    CHECK(dcmp_study_keep(both, 1, 1000000, 1002000, &until) == 0 && until == 0);
    CHECK(dcmp_study_keep(both, 2, 1000000, 1002000, &until) == 1 && until == 1060000);
    CHECK(dcmp_study_keep(both, 2, 1000000, 1060000, &until) == 0);
    CHECK(dcmp_study_keep(never, 1, 1000000, 1000000, &until) == 0); /* at once */
    CHECK(dcmp_study_keep(never, 1, 0, 1000000, &until) == 1);       /* but not before quiet */
    CHECK(dcmp_study_keep(both, 0, 1000000, 1000000, &until) == 0);  /* no entry left */
    cJSON_Delete(ea);
    cJSON_Delete(eb);
    cJSON_Delete(ec);
}

int main(void)
{
    RUN(test_glob);
    RUN(test_hostile_globs);
    RUN(test_trigger_read_and_match);
    RUN(test_caps);
    RUN(test_rerun_window);
    RUN(test_keep);
    return HARNESS_RESULT();
}
