/* dcm2nii.c (registry) -- the dcm2nii callback: says where the NIfTI file of a series goes. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "dcmp/service.h"

/* Runs for every series and injects, as the original: output = nifti/<seriesId>.nii.gz,
 * base = nifti, filename = <seriesId>, ext = .nii.gz. */
static int32_t callback(const dcmp_call *call)
{
    cJSON *h = cJSON_Parse(call->headers), *out = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "seriesId");
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
    }
    if ((text = cJSON_PrintUnformatted(out)) == NULL || call->host->set_result(call, text) < 0) {
        call->host->set_error(call, "cannot inject the output names");
        rc = DCMP_ERROR;
    }
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(h);
    return rc;
}

DCMP_MODULE("dcm2nii", "1.0.0", DCMP_FUNCTION(callback));
