/* fuzz_env.c -- libFuzzer target: the .env parser takes any bytes without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN], *text = malloc(size + 1);
    dcmp_env env = {0};

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dcmp_config_parse_env(&env, text, "fuzz.env", err);
    dcmp_config_free_env(&env);
    free(text);
    return 0;
}
