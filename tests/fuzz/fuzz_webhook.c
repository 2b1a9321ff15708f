/* fuzz_webhook.c -- libFuzzer target: the webhook body parser takes any bytes without
 * crashing. */
#include <stdint.h>
#include <stdlib.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN];
    dcmp_webhook w;

    if (dcmp_webhook_parse((const char *)data, size, &w, err) == 0)
        dcmp_webhook_free(&w);
    return 0;
}
