/* fuzz_dicom.c -- libFuzzer target: the DICOM header reader takes any bytes without crashing. */
#include <stdint.h>
#include <stdlib.h>

#include "dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN];
    cJSON *out = NULL;

    if (dcmp_dicom_parse_header(data, size, &out, err) == 0) {
        /* what a caller does next: the result must print as JSON */
        char *text = cJSON_PrintUnformatted(out);
        if (text == NULL)
            abort();
        free(text);
        cJSON_Delete(out);
    } else if (out != NULL || err[0] == '\0') {
        abort();
    }
    return 0;
}
