/* fuzz_settings.c -- libFuzzer target: the settings parser takes any bytes as JSON and as YAML. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN];
    cJSON *root = NULL;
    /* An exact-size copy, not NUL-terminated, so that reading past len is caught. */
    char *text = malloc(size ? size : 1);
    int yaml;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    for (yaml = 0; yaml <= 1; yaml++) {
        if (dcmp_settings_parse(text, size, "fuzz", yaml, &root, err) == 0) {
            char *printed = cJSON_PrintUnformatted(root);
            free(printed);
            cJSON_Delete(root);
        } else if (root != NULL || err[0] == '\0') {
            abort(); /* a failure must leave no tree and must say why */
        }
        root = NULL;
    }
    free(text);
    return 0;
}
