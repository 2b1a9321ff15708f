/* callback.c (registry) -- the template service's callback: copy this folder to start a
 * service.
 *
 * A callback runs in the scheduler's callback executor for every stable series, before any job
 * runs. It decides whether this service's job runs for the series (DCMP_OK) or not (DCMP_SKIP)
 * and may inject a JSON object that every later callback and every job of the event reads as
 * added_params[<its jobName>]. Keep it fast (it has CALLBACK_TIMEOUT, default 10 s): read the
 * headers, decide, inject; do the work in the worker. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcmp/service.h"

/* The service's name, from CMakeLists.txt's set(SERVICE ...): the descriptor's name and the
 * folder under DATA its files go to. */
#ifndef SERVICE_NAME
#define SERVICE_NAME "temp"
#endif

static int32_t callback(const dcmp_call *call)
{
    /* call->headers: the headerFields of the system settings, picked from the series' DICOM
     * header and the event (seriesId, studyId, dcmpath, ...). call->params: this entry's
     * "params" from settings.json. Both are JSON text, borrowed until we return. */
    cJSON *headers = cJSON_Parse(call->headers), *params = cJSON_Parse(call->params);
    const cJSON *modality = cJSON_GetObjectItemCaseSensitive(headers, "Modality");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(params, "modality");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(headers, "seriesId");
    cJSON *inject = NULL, *storage;
    char path[512], why[160], *text = NULL;
    int32_t rc = DCMP_SKIP;

    /* Filter: run only for the modality params names ("" or absent: every series). */
    if (cJSON_IsString(want) && want->valuestring[0] != '\0' &&
        !(cJSON_IsString(modality) && strcmp(modality->valuestring, want->valuestring) == 0)) {
        /* set_error before DCMP_SKIP gives the reason `plan` and the dashboard show */
        snprintf(why, sizeof why, "not a %.100s series", want->valuestring);
        call->host->set_error(call, why);
        goto done;
    }
    if (!cJSON_IsString(series)) {
        call->host->set_error(call, "no seriesId in the headers");
        goto done;
    }
    /* Inject what the worker and storageManager need: the file the worker will write, as a
     * `storage` entry (path under DATA, type pdf|dicom|nifti, optional destination and tags),
     * and `deleted`, so that systemcleaner removes it once it is stored. */
    snprintf(path, sizeof path, SERVICE_NAME "/%s.pdf", series->valuestring);
    if ((inject = cJSON_CreateObject()) == NULL ||
        (storage = cJSON_AddObjectToObject(inject, "storage")) == NULL ||
        !cJSON_AddStringToObject(storage, "path", path) ||
        !cJSON_AddStringToObject(storage, "type", "pdf") ||
        !cJSON_AddStringToObject(inject, "deleted", path) ||
        !cJSON_AddStringToObject(inject, "custom-data", "Some new data") ||
        (text = cJSON_PrintUnformatted(inject)) == NULL || call->host->set_result(call, text) < 0) {
        call->host->set_error(call, "cannot build the injected object");
        rc = DCMP_ERROR;
        goto done;
    }
    rc = DCMP_OK;
done:
    free(text);
    cJSON_Delete(inject);
    cJSON_Delete(headers);
    cJSON_Delete(params);
    return rc;
}

/* The one exported symbol: the library's name, version and functions by name. settings.json's
 * "callback": "<SERVICE>.callback" finds REGISTRY/<SERVICE>/<SERVICE>.so and this `callback`. */
DCMP_MODULE(SERVICE_NAME, "1.0.0", DCMP_FUNCTION(callback));
