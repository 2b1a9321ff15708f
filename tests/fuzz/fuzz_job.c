/* fuzz_job.c -- libFuzzer target: decoding a job hash (NUL-separated field/value strings)
 * and parsing a dotted function name take any bytes without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *strs[64];
    size_t lens[64], n = 0, start = 0, i;
    char err[DCMP_ERR_LEN], *copy = malloc(size + 1);
    dcmp_resolved r;
    dcmp_job job;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (i = 0; i <= size && n < 64; i++)
        if (i == size || copy[i] == '\0') {
            strs[n] = copy + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    dcmp_job_decode(&job, n & ~(size_t)1, strs, lens, err);
    dcmp_job_clear(&job);
    dcmp_resolve_name("/modules", copy, &r, err);
    free(copy);
    return 0;
}
