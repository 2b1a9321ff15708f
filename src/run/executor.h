/* executor.h -- runs one job in a forked child: crash isolation and a hard timeout. */
#ifndef DCMP_EXECUTOR_H
#define DCMP_EXECUTOR_H

#include <limits.h>
#include <stdint.h>

#include "job.h"
#include "resolve.h"

struct dcmp_confine; /* confine.h */

#define DCMP_EXECUTOR_LOG_TAIL   4096      /* bytes of the job's log kept with the job */
#define DCMP_EXECUTOR_RESULT_MAX (1 << 20) /* largest result JSON a job may set */

enum dcmp_executor_status {
    DCMP_EXEC_OK,      /* finished (DCMP_OK or DCMP_SKIP) */
    DCMP_EXEC_FAILED,  /* the function returned an error, or could not be loaded */
    DCMP_EXEC_CRASHED, /* the child died of a signal or exited without reporting */
    DCMP_EXEC_TIMEOUT, /* killed at the job's timeout */
    DCMP_EXEC_STOPPED  /* killed because the worker is stopping: give the job back */
};

typedef struct dcmp_executor_outcome {
    enum dcmp_executor_status status;
    int32_t code; /* with DCMP_EXEC_OK: what the function returned, DCMP_OK or DCMP_SKIP */
    char error[DCMP_ERR_LEN];
    char *result;                          /* owned (free), "" when none */
    char log[DCMP_EXECUTOR_LOG_TAIL + 64]; /* the tail of what the job wrote */
    int64_t ms;                            /* run time */
} dcmp_executor_outcome;

/* Called about once a second while a job runs (heartbeats). Returns nonzero
 * when the job must be stopped now (the worker's stop grace ran out). */
typedef int (*dcmp_executor_tick)(void *arg);

/*
 * Runs `job` under `modules` (where its dotted function is resolved) with
 * `data_dir` passed to the function. The child runs in its own process
 * group, with the environment and limits of `confine` (borrowed; NULL: the
 * allow-list, no limits; confine.h), as the subreaper of what it starts; at
 * the job's timeout, or when tick asks, every descendant and the whole group
 * get SIGKILL, and the child kills its descendants when the job ends.
 * Fills *out (free out->result). Returns 0, or -1 when no child could be
 * started (out->error says why; the job was not run).
 */
int dcmp_executor_run(const dcmp_job *job, const char *modules, const char *data_dir,
                      const struct dcmp_confine *confine, dcmp_executor_tick tick, void *tick_arg,
                      dcmp_executor_outcome *out);

/*
 * Runs `job` in this process: parses its kwargs, loads its library (left
 * loaded), calls the function. Returns the report as JSON text
 * {"status","error","result"} (new: free it). `loaded` gets the library's
 * path, "" when none was loaded. resolved: job->func already resolved under
 * modules, candidate `found` existing (-1: none exists; NULL: resolved here). callback: the job is
 * a scheduler's callback framed as a job (dcmp_executor_input's callback). For a process made to
 * run jobs (a fork child, a pool executor), never for the worker itself.
 */
char *dcmp_executor_invoke(const dcmp_job *job, const char *modules, const char *data_dir,
                           const dcmp_resolved *resolved, int found, int callback,
                           char loaded[PATH_MAX]);

/* One call of a service function in this process. */
typedef struct dcmp_executor_input {
    const char *job_id, *job_name;
    const char *func;                            /* dotted, resolved under modules */
    const char *headers, *params, *added_params; /* JSON texts */
    const char *modules, *data_dir;
    const dcmp_resolved *resolved; /* func already resolved (NULL: resolve it here) */
    int found;                     /* with resolved: its candidate that exists, -1: none */
    int callback;                  /* a scheduler's callback, not a worker (runners read it) */
    /* validate's check: a worker whose virtual environment is not made yet (the Docker worker
     * makes it when it starts) is imported with the system's Python instead of refused */
    int system_python;
    /* calls with the same nonzero batch came in one frame (one event's callbacks): a runner
     * may look for changed service files once per batch; 0: a call alone */
    uint64_t batch;
    const char *container; /* the kwargs' `container` (JSON text), NULL when none */
    const char *worker;    /* the worker running the job ("" or NULL: unknown) */
    int64_t timeout;       /* the job's timeout in seconds, -1 or 0: none */
} dcmp_executor_input;

/* The report of a call this process cannot make but a new one can (a job that needs another
 * Python environment, runner.h's DCMP_RUNNER_ELSEWHERE): the pool's executor answers it, ends,
 * and the job runs in a new executor. */
#define DCMP_EXECUTOR_RESTART "restart"

/*
 * Calls in->func in this process with the given JSON texts as its inputs, as
 * dcmp_executor_invoke does for a job's kwargs. Returns the report (new: free it), or
 * DCMP_EXECUTOR_RESTART (new) when only a new process can run it; `loaded` as
 * for dcmp_executor_invoke. *code (may be NULL) gets what the function returned (DCMP_ERROR
 * when it could not be called), *result (may be NULL) what it set with set_result (NULL when
 * nothing; borrowed until the next call). Everything in `in` is borrowed.
 */
char *dcmp_executor_call(const dcmp_executor_input *in, char loaded[PATH_MAX], int32_t *code,
                         const char **result);

/* Writes all of buf to fd (a pipe), retrying after signals; gives up when fd is gone. */
void dcmp_executor_write_all(int fd, const char *buf, size_t len);

/* Fills out->status, out->error and out->result from a report (NULL: none). */
void dcmp_executor_decode(const char *report, int over, dcmp_executor_outcome *out);

/* In a child just forked to run jobs: its own process group, default signal
 * handling (sanitizers' and the worker's handlers gone), no blocked signals. */
void dcmp_executor_child_setup(void);

/* In such a child: a copy of fd numbered 16 or above (the original stays open), so that
 * moving several descriptors to small fixed numbers cannot overwrite one of them. */
int dcmp_executor_lift_fd(int fd);

/* Fills out->status and out->error for a process that ended without a report. */
void dcmp_executor_describe_exit(int status, dcmp_executor_outcome *out);

#endif
