/* test_inputs.c -- dcmp_inputs_merge: dependencies' results into a job's added_params. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "inputs.h"

static char notes[4096];

static void note(void *arg, int warn, const char *msg)
{
    size_t used = strlen(notes);

    (void)arg;
    snprintf(notes + used, sizeof notes - used, "%s %s\n", warn ? "WARN" : "INFO", msg);
}

/* Merges and returns added_params as printed JSON (new), or NULL when nothing merged. */
static char *merged(const char *kwargs, const char *inputs)
{
    char err[DCMP_ERR_LEN], *out = NULL, *text;
    cJSON *kw;
    int rc;

    notes[0] = '\0';
    rc = dcmp_inputs_merge(kwargs, inputs, &out, note, NULL, err);
    CHECK(rc >= 0);
    if (rc <= 0) {
        CHECK(out == NULL);
        return NULL;
    }
    kw = cJSON_Parse(out);
    CHECK(kw != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(kw, "jobName")), "b");
    text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(kw, "added_params"));
    cJSON_Delete(kw);
    free(out);
    return text;
}

static const char kwargs[] = "{\"jobName\":\"b\",\"headers\":{},\"params\":null,"
                             "\"added_params\":{\"seg\":{\"out\":\"planned\",\"keep\":1},"
                             "\"other\":{\"x\":2}}}";

/* The result's added_params keys win over the callback's, its other keys stay, storage is
 * set; a dependency no callback injected for gets its own entry. */
static void test_merge(void)
{
    char *ap = merged(
        kwargs,
        "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"output\\\":\\\"o\\\","
        "\\\"added_params\\\":{\\\"out\\\":\\\"real\\\",\\\"score\\\":7},"
        "\\\"storage\\\":[{\\\"path\\\":\\\"c/x.dcm\\\",\\\"type\\\":\\\"dicom\\\"}]}\"},"
        "{\"id\":\"j2\",\"name\":\"py\",\"result\":\"{\\\"added_params\\\":{\\\"n\\\":1}}\"}]");

    CHECK(ap != NULL);
    if (ap == NULL)
        return;
    CHECK_STR(ap, "{\"seg\":{\"out\":\"real\",\"keep\":1,\"score\":7,\"storage\":[{\"path\":"
                  "\"c/x.dcm\",\"type\":\"dicom\"}]},\"other\":{\"x\":2},\"py\":{\"n\":1}}");
    CHECK_CONTAINS(notes, "INFO dependency j1 (seg): its result's 2 added_params key(s) and "
                          "storage merged into added_params[seg]");
    free(ap);
}

/* Plain results (no added_params, no storage; a list; a number) give nothing, silently. */
static void test_plain(void)
{
    CHECK(merged(kwargs, "") == NULL);
    CHECK(merged(kwargs, NULL) == NULL);
    CHECK(merged(kwargs, "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"entries\\\":1}\"},"
                         "{\"id\":\"j2\",\"name\":\"a\",\"result\":\"[1,2]\"},"
                         "{\"id\":\"j3\",\"name\":\"c\",\"result\":\"42\"}]") == NULL);
    CHECK_STR(notes, "");
}

/* Malformed results are ignored, each with its line; the good one beside them is merged. */
static void test_malformed(void)
{
    char *ap = merged(
        kwargs, "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{not json\"},"
                "{\"id\":\"j2\",\"name\":\"a\",\"result\":\"{\\\"added_params\\\":[1]}\"},"
                "{\"id\":\"j3\",\"name\":\"b\",\"result\":\"{\\\"storage\\\":\\\"x.dcm\\\"}\"},"
                "{\"id\":\"j4\",\"name\":\"big\",\"size\":2000000},"
                "{\"id\":\"j5\",\"name\":\"ok\",\"result\":\"{\\\"storage\\\":[]}\"}]");

    CHECK_CONTAINS(notes, "WARN dependency j1 (seg): its result is not JSON: ignored");
    CHECK_CONTAINS(notes, "WARN dependency j2 (a): its result has an added_params that is not a "
                          "JSON object: ignored");
    CHECK_CONTAINS(notes, "WARN dependency j3 (b): its result has a storage that is neither");
    CHECK_CONTAINS(notes, "WARN dependency j4 (big): its result of 2000000 bytes is over");
    CHECK(ap != NULL);
    if (ap)
        CHECK_STR(ap, "{\"seg\":{\"out\":\"planned\",\"keep\":1},\"other\":{\"x\":2},\"ok\":{"
                      "\"storage\":[]}}");
    free(ap);
}

/* One dependency's added_params and storage over DCMP_INPUTS_ENTRY_MAX: ignored. */
static void test_oversized(void)
{
    size_t n = DCMP_INPUTS_ENTRY_MAX + 16, used;
    char *inputs = malloc(n + 256);

    if (inputs == NULL)
        return;
    used = (size_t)snprintf(inputs, 256,
                            "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"added_params\\\":"
                            "{\\\"blob\\\":\\\"");
    memset(inputs + used, 'x', n);
    snprintf(inputs + used + n, 256, "\\\"}}\"}]");
    CHECK(merged(kwargs, inputs) == NULL);
    CHECK_CONTAINS(notes, "WARN dependency j1 (seg): its result has added_params and storage "
                          "over 512 KiB: ignored");
    free(inputs);
}

/* A result's top-level deleted (a container job's folder) is added to the deleted paths a
 * callback injected and those of the result's own added_params, never replacing them; a
 * deleted that is not paths is refused. */
static void test_deleted(void)
{
    static const char kw[] = "{\"jobName\":\"b\",\"added_params\":{\"seg\":{\"deleted\":"
                             "\"dicom/s1\"}}}";
    char *ap =
        merged(kw, "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"added_params\\\":"
                   "{\\\"deleted\\\":[\\\"tmp/a\\\"]},\\\"deleted\\\":\\\"containers/j1\\\"}\"},"
                   "{\"id\":\"j2\",\"name\":\"ctr\",\"result\":\"{\\\"storage\\\":[],"
                   "\\\"deleted\\\":[\\\"containers/j2\\\"]}\"},"
                   "{\"id\":\"j3\",\"name\":\"bad\",\"result\":\"{\\\"deleted\\\":[1]}\"}]");

    CHECK(ap != NULL);
    if (ap)
        CHECK_STR(ap, "{\"seg\":{\"deleted\":[\"tmp/a\",\"containers/j1\"]},\"ctr\":{"
                      "\"storage\":[],\"deleted\":[\"containers/j2\"]}}");
    CHECK_CONTAINS(notes, "INFO dependency j1 (seg): its result's 1 added_params key(s) and "
                          "deleted merged");
    CHECK_CONTAINS(notes, "WARN dependency j3 (bad): its result has a deleted that is neither a "
                          "path nor a list of paths: ignored");
    free(ap);
    /* with no added_params key of the same name, the callback's path stays */
    ap = merged(kw, "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"deleted\\\":"
                    "\\\"containers/j1\\\"}\"}]");
    if (ap)
        CHECK_STR(ap, "{\"seg\":{\"deleted\":[\"dicom/s1\",\"containers/j1\"]}}");
    CHECK(ap != NULL);
    free(ap);
}

/* Kwargs that are not an object are an error; kwargs without added_params get one. */
static void test_kwargs(void)
{
    char err[DCMP_ERR_LEN], *out = NULL;
    const char *in = "[{\"id\":\"j1\",\"name\":\"seg\",\"result\":\"{\\\"added_params\\\":{}}\"}]";

    CHECK(dcmp_inputs_merge("[1]", in, &out, NULL, NULL, err) == -1);
    CHECK_CONTAINS(err, "kwargs are not a JSON object");
    CHECK(dcmp_inputs_merge("{\"jobName\":\"b\"}", "{}", &out, NULL, NULL, err) == -1);
    CHECK_CONTAINS(err, "not a JSON list");
    CHECK(dcmp_inputs_merge("{\"jobName\":\"b\"}", in, &out, NULL, NULL, err) == 1);
    if (out)
        CHECK_STR(out, "{\"jobName\":\"b\",\"added_params\":{\"seg\":{}}}");
    free(out);
}

int main(void)
{
    RUN(test_merge);
    RUN(test_plain);
    RUN(test_malformed);
    RUN(test_oversized);
    RUN(test_kwargs);
    RUN(test_deleted);
    return HARNESS_RESULT();
}
