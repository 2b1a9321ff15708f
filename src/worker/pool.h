/* pool.h -- runs jobs in a long-lived, supervised executor process (WORKER_EXECUTOR=pool). */
#ifndef DCMP_POOL_H
#define DCMP_POOL_H

#include <sys/types.h>

#include "executor.h"

/*
 * The executor is a child forked once and reused for many jobs, in its own
 * process group, so the fork and the dlopen of fork-per-job are paid once.
 * Isolation is kept where it matters: a job that crashes the executor, or
 * overruns its timeout (the whole group gets SIGKILL), fails alone and a
 * new executor starts for the next job. The executor is also replaced after
 * `recycle` jobs (bounding what leaks), and before a job whose library file
 * changed since it was loaded (a reinstalled service is picked up). What a
 * library keeps in globals survives between jobs of one executor.
 */
typedef struct pool {
    pid_t pid;    /* the executor, -1 when none */
    int cmd;      /* jobs to the executor */
    int res;      /* reports from the executor */
    int logfd;    /* memfd: the executor's stdout and stderr (O_APPEND) */
    long jobs;    /* jobs this executor ran */
    long recycle; /* jobs before it is replaced */
    const char *modules;
    const char *data_dir;
} pool;

/* Prepares a pool (no executor yet). Borrowed strings must outlive it. */
void pool_init(pool *p, const char *modules, const char *data_dir, long recycle);

/* Runs one job as executor_run does (same outcome), starting an executor
 * when none runs. Returns 0, or -1 when no executor could be started. */
int pool_run(pool *p, const dcmp_job *job, executor_tick tick, void *tick_arg,
             executor_outcome *out);

/* Ends the executor (and its process group). */
void pool_stop(pool *p);

#endif
