/* fuzz_webhook.c -- libFuzzer target: the webhook body parser takes any bytes without
 * crashing, in time linear in their length (test.sh runs it with a per-input -timeout, so a
 * quadratic path fails the run), the intake's check (no event data) agrees with it on every
 * input, and what the check keeps of a body gives the planner the same series and data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DCMP_ERR_LEN], err2[DCMP_ERR_LEN];
    dcmp_webhook w, c, k;
    char *a, *b;
    int rc = dcmp_webhook_parse((const char *)data, size, &w, err);
    int rc2 = dcmp_webhook_check((const char *)data, size, &c, err2);

    if (rc != rc2 ||
        (rc == 0 && (strcmp(w.series, c.series) != 0 || strcmp(w.version, c.version) != 0 ||
                     c.data != NULL || c.kept == NULL || strlen(c.kept) > DCMP_WEBHOOK_MAX_KEPT)))
        abort();
    if (rc != 0)
        return 0;
    /* the stored part, read back by the planner: the same series and event data (compared as
     * printed: a number too large for a double is null either way) */
    if (dcmp_webhook_parse(c.kept, strlen(c.kept), &k, err) != 0 || strcmp(k.series, w.series) != 0)
        abort();
    a = cJSON_PrintUnformatted(k.data);
    b = cJSON_PrintUnformatted(w.data);
    if (a == NULL || b == NULL || strcmp(a, b) != 0)
        abort();
    free(a);
    free(b);
    dcmp_webhook_free(&k);
    dcmp_webhook_free(&c);
    dcmp_webhook_free(&w);
    return 0;
}
