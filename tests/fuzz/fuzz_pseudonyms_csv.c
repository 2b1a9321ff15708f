/* fuzz_pseudonyms_csv.c -- libFuzzer target: the pseudonym table reader (CSV) takes any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pseudonyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PN_ERR_LEN], row[PN_FIELD_MAX * 4 + 8];
    ctp_lut *t = ctp_lut_new();
    char *text = malloc(size ? size : 1);

    if (text != NULL && t != NULL) {
        memcpy(text, data, size);
        err[0] = '\0';
        if (pn_parse_csv(t, text, size, "fuzz", err) < 0 && err[0] == '\0')
            abort();
        /* what is written must read back the same */
        if (size > 0 && size < 200 && memchr(text, '\0', size) == NULL) {
            char *id = strndup(text, size);
            ctp_lut *back = ctp_lut_new();
            int n = id ? pn_csv_row(row, sizeof row, id, "P") : -1;
            if (n > 0 && back != NULL && id[strspn(id, " \t")] != '\0' && strspn(id, " \t") == 0 &&
                id[strlen(id) - 1] != ' ' && id[strlen(id) - 1] != '\t' &&
                pn_parse_csv(back, row, (size_t)n, "row", err) == 0 &&
                strcasecmp(id, "PatientID") != 0) {
                const char *v = ctp_lut_get(back, id);
                if (v == NULL || strcmp(v, "P") != 0)
                    abort();
            }
            ctp_lut_free(back);
            free(id);
        }
    }
    ctp_lut_free(t);
    free(text);
    return 0;
}
