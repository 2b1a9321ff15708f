/* fuzz_webhook.c -- libFuzzer target: the webhook body parser takes any bytes without
 * crashing, and the intake's check (no event data) agrees with it on every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN], err2[DCMP_ERR_LEN];
    dcmp_webhook w, c;
    int rc = dcmp_webhook_parse((const char *)data, size, &w, err);
    int rc2 = dcmp_webhook_check((const char *)data, size, &c, err2);

    if (rc != rc2 || (rc == 0 && (strcmp(w.series, c.series) != 0 ||
                                  strcmp(w.version, c.version) != 0 || c.data != NULL)))
        abort();
    if (rc == 0)
        dcmp_webhook_free(&w);
    return 0;
}
