/* fuzz_ctp_lut.c -- libFuzzer target: the lookup table reader (Java properties) takes any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[CTP_ERR_LEN];
    ctp_lut *lut = ctp_lut_new();
    char *text = malloc(size ? size : 1);

    if (text != NULL && lut != NULL) {
        memcpy(text, data, size);
        if (ctp_lut_parse(lut, text, size, "fuzz", err) < 0 && err[0] == '\0')
            abort();
        (void)ctp_lut_get(lut, "ptid/PAT1");
    }
    ctp_lut_free(lut);
    free(text);
    return 0;
}
