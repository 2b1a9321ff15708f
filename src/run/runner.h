/* runner.h -- one kind of service code (a C library, a Python module) behind one interface. */
#ifndef DCMP_RUNNER_H
#define DCMP_RUNNER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "executor.h"

/*
 * A runner runs one kind of service function in the process that calls it (a fork child, a
 * pool executor). The executor calls only this interface: dcmp_runner_pick, then run. A new
 * kind of runner is one more file and one more entry in runner.c's list, no branch elsewhere.
 */
typedef struct dcmp_runner {
    /* What it runs, as errors name it: "container image", "C library", "Python module". */
    const char *kind;
    /*
     * Whether in->func is this runner's: 1 when it is and can be run; 0 when no file of this
     * kind exists for it (err lists what was tried, so the next runner's candidates can be
     * added; "" when this runner is not for such jobs at all, and nothing is listed); -1 when it is
     * this kind's but cannot be run (err says why: a bad library, an import that failed, a bad
     * name).
     */
    int (*resolve)(const dcmp_executor_input *in, char *err, size_t errlen);
    /*
     * Calls in->func, just resolved by this runner. Returns DCMP_OK, DCMP_SKIP or DCMP_ERROR
     * (err set; a skip may give a reason there). *result: what the function set as its result
     * (new, free it; NULL when nothing). loaded: the library file it keeps loaded, "" when
     * none (the pool restarts its executor when that file changes).
     */
    int32_t (*run)(const dcmp_executor_input *in, char loaded[PATH_MAX], char **result, char *err,
                   size_t errlen);
} dcmp_runner;

extern const dcmp_runner dcmp_runner_container; /* runner_container.c */
extern const dcmp_runner dcmp_runner_c;         /* runner_c.c */
extern const dcmp_runner dcmp_runner_python;    /* runner_python.c */

/*
 * The first runner, in the order container (a job with in->container), C, Python, whose
 * resolve says 1. Returns it, or NULL
 * with err: the error of the runner that said -1, or, when none has a file for the name, what
 * every runner tried.
 */
const dcmp_runner *dcmp_runner_pick(const dcmp_executor_input *in, char *err, size_t errlen);

#endif
