/* pool.h -- runs jobs in a long-lived, supervised executor process (WORKER_EXECUTOR=pool). */
#ifndef DCMP_POOL_H
#define DCMP_POOL_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "executor.h"
#include "plan.h"

/*
 * The executor is a dcmp-executor process started once and reused for many jobs, in its own
 * process group, so the start and the dlopen of fork-per-job are paid once. It is a program of
 * its own (posix_spawn), not a fork of the caller: the scheduler has threads, and a fork of a
 * threaded process may inherit a lock held forever.
 * Isolation is kept where it matters: a job that crashes the executor, or
 * overruns its timeout (the whole group gets SIGKILL), fails alone and a
 * new executor starts for the next job. The executor is also replaced after
 * `recycle` jobs (bounding what leaks; a batch of callbacks, one event's, counts as one), and
 * before a job whose library file changed since it was loaded (a reinstalled service is picked
 * up). What a library keeps in globals survives between jobs of one executor.
 */
typedef struct dcmp_pool {
    pid_t pid;    /* the executor, -1 when none */
    int cmd;      /* jobs to the executor */
    int res;      /* reports from the executor */
    int logfd;    /* memfd: the executor's stdout and stderr (O_APPEND) */
    long jobs;    /* jobs (or batches of callbacks) this executor ran */
    long recycle; /* jobs (or batches) before it is replaced */
    const char *modules;
    const char *data_dir;
    const char *program; /* the program started; NULL: dcmp-executor (dcmp_pool_executor) */
    /* dcmp-executor's environment and limits (borrowed; NULL: the allow-list, no limits) */
    const struct dcmp_confine *confine;
    char cgroup[PATH_MAX]; /* the executor's cgroup (confine->cgroup), "" when none */
    int64_t used_ms;       /* monotonic ms when it last finished a job */
    int callbacks; /* its jobs are callbacks (dcmp_callbacks_init sets it): runners read it */
    /* bytes of the executor's reports read but not yet taken (a short report comes in one
     * read): rbuf[roff, roff + rlen); emptied with the executor */
    char rbuf[256];
    size_t roff, rlen;
} dcmp_pool;

/* Prepares a pool (no executor yet). Borrowed strings must outlive it. */
void dcmp_pool_init(dcmp_pool *p, const char *modules, const char *data_dir, long recycle);

/* Runs one job as dcmp_executor_run does (same outcome), starting an executor
 * when none runs. Returns 0, or -1 when no executor could be started. */
int dcmp_pool_run(dcmp_pool *p, const dcmp_job *job, dcmp_executor_tick tick, void *tick_arg,
                  dcmp_executor_outcome *out);

/*
 * Runs a batch of callbacks in the executor (starting one when none runs): calls[0..n) in
 * order, in one frame, each with `timeout` seconds (0: none), call i getting as added_params
 * the text given with the injections of calls 0..i-1 applied (dcmp_plan_inject). Only the
 * calls' job_name, callback and params are read. Returns k, the number of outs filled
 * (free their result): outs[i] as dcmp_pool_run's outcome of call i. When k < n: *restart is 1
 * and the executor asked to be replaced before call k (its library changed; send calls k.. to
 * a new one), or outs[k - 1] failed without a report (crashed, timed out: the executor was
 * killed; the next call starts a new one). tick (may be NULL) is called about once a second
 * while a call runs: when it returns nonzero the executor is killed and that call fails as
 * stopped (DCMP_EXEC_STOPPED). Returns -1 when no executor could be started (outs[0].error
 * says why). The batch counts as one job towards `recycle`: an executor's interpreter start
 * is paid once per `recycle` events, however many callbacks each has.
 */
int dcmp_pool_calls(dcmp_pool *p, const char *headers, const char *added_params,
                    const dcmp_plan_call *calls, int n, int64_t timeout, dcmp_executor_tick tick,
                    void *tick_arg, dcmp_executor_outcome *outs, int *restart);

/* Ends the executor (and its process group). */
void dcmp_pool_stop(dcmp_pool *p);

/* Finds the executor program: $DCMP_EXECUTOR, else dcmp-executor in the running program's
 * folder. Returns 0 (path filled), or -1 when it is missing or not executable (err says
 * which path, and what to do). */
int dcmp_pool_executor(char *path, size_t size, char *err);

/* The same for another helper program: $env (when set and not empty), else `name` in the
 * running program's folder. */
int dcmp_pool_program(const char *name, const char *env, char *path, size_t size, char *err);

/* A pool whose process is `program` (a path, borrowed) instead of dcmp-executor: a helper
 * that serves job frames with dcmp_pool_serve. It gets `arg` and data_dir as its arguments. */
void dcmp_pool_init_program(dcmp_pool *p, const char *program, const char *arg,
                            const char *data_dir, long recycle);

/* Ends the process when it has been idle (no job) for idle_ms or more: memory given back
 * while nothing happens; the next job starts a new one. */
void dcmp_pool_stop_idle(dcmp_pool *p, int64_t idle_ms);

/*
 * What a helper program does with one job: returns its report, JSON text {"status" (DCMP_OK,
 * DCMP_SKIP or DCMP_ERROR), "error", "result"} as dcmp_executor_decode reads it (new: the
 * loop frees it). Called on the helper's only thread.
 */
typedef char *(*dcmp_pool_handler)(const dcmp_job *job, void *arg);

/* A helper program's loop: reads job frames on descriptor 4, hands each to `handle`, writes
 * the report on descriptor 3, until the job pipe closes. */
void dcmp_pool_serve(dcmp_pool_handler handle, void *arg) __attribute__((noreturn));

/* The executor's loop (dcmp-executor's main): reads jobs from descriptor 4, runs each with
 * dcmp_executor_invoke, and writes each report to descriptor 3, until the job pipe closes. */
void dcmp_pool_executor_main(const char *modules, const char *data_dir) __attribute__((noreturn));

#endif
