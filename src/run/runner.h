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
/* resolve's answer for a function this process cannot run but a new one can: the Python
 * runner's interpreter was started for another virtual environment (one per process). */
#define DCMP_RUNNER_ELSEWHERE 2

typedef struct dcmp_runner {
    /* What it runs, as errors name it: "container image", "C library", "Python module". */
    const char *kind;
    /*
     * Whether in->func is this runner's: 1 when it is and can be run; 0 when no file of this
     * kind exists for it (err lists what was tried, so the next runner's candidates can be
     * added; "" when this runner is not for such jobs at all, and nothing is listed); -1 when it is
     * this kind's but cannot be run (err says why: a bad library, an import that failed, a bad
     * name); DCMP_RUNNER_ELSEWHERE when it is this kind's but needs another environment than the
     * one this process was started with (err says which): a new process runs it (the pool
     * replaces its executor; a fork child is always new).
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
    /*
     * For dcm-processor validate, after resolve said 1: makes sure in->func could be called
     * (a library loaded, its descriptor checked and the function in it; a module imported and
     * the name a function) without calling it. Returns 0 with out saying what was found (a
     * file, and a library's name and version), or -1 with out saying what is wrong.
     */
    int (*describe)(const dcmp_executor_input *in, char *out, size_t outlen);
} dcmp_runner;

extern const dcmp_runner dcmp_runner_container; /* runner_container.c */
extern const dcmp_runner dcmp_runner_c;         /* runner_c.c */
extern const dcmp_runner dcmp_runner_python;    /* runner_python.c */

/*
 * The first runner, in the order container (a job with in->container), C, Python, whose
 * resolve says 1. Returns it, or NULL with err: the error of the runner that said -1 or
 * DCMP_RUNNER_ELSEWHERE (then *elsewhere is 1, else 0), or, when none has a file for the name,
 * what every runner tried.
 */
const dcmp_runner *dcmp_runner_pick(const dcmp_executor_input *in, int *elsewhere, char *err,
                                    size_t errlen);

/*
 * Picks the runner of in->func and has it describe the function (see describe). Returns 0
 * with out ("C library PATH (NAME VERSION)", "Python module FILE"), or -1 with out: why no
 * runner has it (every candidate of every kind), or why it cannot be called. Loads or imports
 * service code in this process: call it in a process made for that.
 */
int dcmp_runner_describe(const dcmp_executor_input *in, char *out, size_t outlen);

#endif
