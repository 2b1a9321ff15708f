/* dcm2nii.c (registry) -- the dcm2nii callback: says where the NIfTI file of a series goes. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "dcmp/service.h"

/* Runs for every series and injects, as the original: output = nifti/<seriesId>.nii.gz,
 * base = nifti, filename = <seriesId>, ext = .nii.gz. Ours, when params.store is true or names a
 * destination: a `storage` entry for the NIfTI (type nifti: storageManager stores it in Orthanc
 * as a DICOM series, forwarded to the destination when one is named) and `deleted`, so that
 * systemcleaner removes the file once it is stored. */
static int32_t callback(const dcmp_call *call)
{
    cJSON *h = cJSON_Parse(call->headers), *out = cJSON_CreateObject();
    cJSON *params = cJSON_Parse(call->params);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "seriesId");
    const cJSON *store = cJSON_GetObjectItemCaseSensitive(params, "store");
    char output[512], *text = NULL;
    int32_t rc = DCMP_OK;

    if (out == NULL) {
        cJSON_Delete(h);
        call->host->set_error(call, "out of memory");
        return DCMP_ERROR;
    }
    if (cJSON_IsString(id)) {
        snprintf(output, sizeof output, "nifti/%s.nii.gz", id->valuestring);
        cJSON_AddStringToObject(out, "output", output);
        cJSON_AddStringToObject(out, "base", "nifti");
        cJSON_AddStringToObject(out, "filename", id->valuestring);
        cJSON_AddStringToObject(out, "ext", ".nii.gz");
        if (cJSON_IsTrue(store) || (cJSON_IsString(store) && store->valuestring[0])) {
            cJSON *st = cJSON_AddObjectToObject(out, "storage");
            if (st != NULL) {
                cJSON_AddStringToObject(st, "path", output);
                cJSON_AddStringToObject(st, "type", "nifti");
                if (cJSON_IsString(store))
                    cJSON_AddStringToObject(st, "destination", store->valuestring);
            }
            cJSON_AddStringToObject(out, "deleted", output);
        }
    }
    if ((text = cJSON_PrintUnformatted(out)) == NULL || call->host->set_result(call, text) < 0) {
        call->host->set_error(call, "cannot inject the output names");
        rc = DCMP_ERROR;
    }
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(h);
    cJSON_Delete(params);
    return rc;
}

DCMP_MODULE("dcm2nii", "1.0.0", DCMP_FUNCTION(callback));
