/* base.c -- the callbacks of the base services (REGISTRY/base/base.so): dicomAnonymizer,
 * storageManager, systemcleaner. They run in the scheduler's callback executor for every
 * series, so they only decide and inject; the work is in the workers (MODULES/base/). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "dcmp/service.h"

/* Runs for every series. Injects `deleted`: the series' working copy (headers.dcmpath), which
 * systemcleaner removes once every job of the event is done. (The original injected
 * "dicom", the folder of every series; ours removes only this series'.) */
static int32_t dicomAnonymizer(const dcmp_call *call)
{
    cJSON *h = cJSON_Parse(call->headers), *out = cJSON_CreateObject(), *del;
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(h, "dcmpath");
    char *text = NULL;
    int32_t rc = DCMP_OK;

    if (out == NULL) {
        cJSON_Delete(h);
        call->host->set_error(call, "out of memory");
        return DCMP_ERROR;
    }
    if (cJSON_IsString(path) && path->valuestring[0] != '\0' &&
        (del = cJSON_AddArrayToObject(out, "deleted")) != NULL)
        cJSON_AddItemToArray(del, cJSON_CreateString(path->valuestring));
    if ((text = cJSON_PrintUnformatted(out)) == NULL || call->host->set_result(call, text) < 0) {
        call->host->set_error(call, "cannot inject the deleted list");
        rc = DCMP_ERROR;
    }
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(h);
    return rc;
}

/* Always runs: what to store is injected by jobs planned before it (added_params[*].storage)
 * and the worker stores whatever it finds; with nothing to store it does nothing. */
static int32_t storageManager(const dcmp_call *call)
{
    (void)call;
    return DCMP_OK;
}

/* Always runs, last: removes every `deleted` path injected for the event, inside DATA only. */
static int32_t systemcleaner(const dcmp_call *call)
{
    (void)call;
    return DCMP_OK;
}

DCMP_MODULE("base", "1.0.0", DCMP_FUNCTION(dicomAnonymizer), DCMP_FUNCTION(storageManager),
            DCMP_FUNCTION(systemcleaner));
