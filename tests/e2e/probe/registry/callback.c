/* callback.c -- the end-to-end tests' probe service, callbacks: `check` schedules every series
 * that has a Modality and injects what it saw; `only` schedules a series whose
 * SeriesDescription equals params.description. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <dcmp/service.h>

static const char *text_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int32_t check(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *inject;
    const char *modality = text_of(headers, "Modality"), *series = text_of(headers, "seriesId");
    char *text;
    int32_t rc = DCMP_SKIP;

    if (modality != NULL && series != NULL) {
        inject = cJSON_CreateObject();
        cJSON_AddStringToObject(inject, "checkedBy", call->job_name);
        cJSON_AddStringToObject(inject, "series", series);
        cJSON_AddStringToObject(inject, "modality", modality);
        text = cJSON_PrintUnformatted(inject);
        if (text == NULL || call->host->set_result(call, text) != 0) {
            call->host->set_error(call, "cannot inject");
            rc = DCMP_ERROR;
        } else {
            rc = DCMP_OK;
        }
        cJSON_free(text);
        cJSON_Delete(inject);
    }
    cJSON_Delete(headers);
    return rc;
}

static int32_t only(const dcmp_call *call)
{
    cJSON *headers = cJSON_Parse(call->headers), *params = cJSON_Parse(call->params);
    const char *want = text_of(params, "description");
    const char *got = text_of(headers, "SeriesDescription");
    int32_t rc = want && got && strcmp(want, got) == 0 ? DCMP_OK : DCMP_SKIP;

    cJSON_Delete(headers);
    cJSON_Delete(params);
    return rc;
}

DCMP_MODULE("probe-callbacks", "1.0.0", DCMP_FUNCTION(check), DCMP_FUNCTION(only));
