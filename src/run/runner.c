/* runner.c -- the runners, in the order they are tried, and picking the one a name is for. */
#include "runner.h"

#include <stdio.h>
#include <string.h>

static const dcmp_runner *const runners[] = {&dcmp_runner_container, &dcmp_runner_c,
                                             &dcmp_runner_python};

#define NRUNNERS (sizeof runners / sizeof runners[0])

const dcmp_runner *dcmp_runner_pick(const dcmp_executor_input *in, int *elsewhere, char *err,
                                    size_t errlen)
{
    char tried[DCMP_ERR_LEN];
    size_t used;
    unsigned i;
    int n, listed = 0;

    *elsewhere = 0;
    n = snprintf(err, errlen, "no service code for \"%s\":", in->func);
    used = n < 0 ? 0 : (size_t)n;
    for (i = 0; i < NRUNNERS; i++) {
        int rc = runners[i]->resolve(in, tried, sizeof tried);
        if (rc == 1)
            return runners[i];
        if (rc < 0 || rc == DCMP_RUNNER_ELSEWHERE) {
            *elsewhere = rc == DCMP_RUNNER_ELSEWHERE;
            dcmp_strlcpy(err, tried, errlen);
            return NULL;
        }
        /* no file of this kind: say what was tried, and go on */
        if (used < errlen && tried[0] != '\0') {
            n = snprintf(err + used, errlen - used, "%s %s: %s", listed++ ? ";" : "",
                         runners[i]->kind, tried);
            used += n < 0 ? 0 : (size_t)n;
        }
    }
    return NULL;
}

int dcmp_runner_describe(const dcmp_executor_input *in, char *out, size_t outlen)
{
    char what[DCMP_ERR_LEN];
    int elsewhere; /* a fresh process (validate's child) has no interpreter started elsewhere */
    const dcmp_runner *r = dcmp_runner_pick(in, &elsewhere, out, outlen);

    if (r == NULL)
        return -1;
    if (r->describe(in, what, sizeof what) < 0) {
        dcmp_strlcpy(out, what, outlen);
        return -1;
    }
    snprintf(out, outlen, "%s %s", r->kind, what);
    return 0;
}
