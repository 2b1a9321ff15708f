/* callbacks.h -- runs the services' callbacks for the planner, isolated in a supervised
 * executor process with a time limit. */
#ifndef DCMP_CALLBACKS_H
#define DCMP_CALLBACKS_H

#include <stdint.h>

#include "pool.h"

typedef struct dcmp_callbacks {
    dcmp_pool pool;  /* the executor; its root is REGISTRY */
    int64_t timeout; /* seconds a callback may take (CALLBACK_TIMEOUT) */
    /* NULL, or asked about once a second while a callback runs, and before each batch: when
     * it returns nonzero the callback running is ended and the batch's calls left fail as
     * "stopped" (the caller's budget is spent, or it is stopping) */
    dcmp_executor_tick tick;
    void *tick_arg;
} dcmp_callbacks;

/* Prepares a runner whose callbacks resolve under `registry`, its executor replaced after
 * `recycle` events (batches; single calls count one each; 0: 1000). Strings are borrowed. */
void dcmp_callbacks_init(dcmp_callbacks *c, const char *registry, const char *data_dir,
                         int64_t timeout, long recycle);

/*
 * A dcmp_plan_callback (arg: the dcmp_callbacks). Runs the callback in the executor:
 * DCMP_OK -> 1, DCMP_SKIP -> 0; an error, a crash ("crashed: signal 11 ...") or a
 * timeout ("timed out after 10s") -> -1 with the reason in err. What the callback set
 * with set_result becomes *inject. The executor is replaced after a crash or a timeout,
 * so the next callback runs in a fresh one.
 */
int dcmp_callbacks_call(void *arg, const char *job_name, const char *callback, const char *headers,
                        const char *params, const char *added_params, char **inject, char *err);

/*
 * A dcmp_plan_batch (arg: the dcmp_callbacks): all of an event's callbacks in one round trip
 * to the executor, each with the time limit and the answers of dcmp_callbacks_call. A call
 * that crashes or overruns the executor counts as an error with the reason, and the calls
 * after it go to a new executor with the injections so far. Returns 0, or -1 when out of
 * memory.
 */
int dcmp_callbacks_batch(void *arg, const char *headers, const char *added_params,
                         dcmp_plan_call *calls, int n, char *err);

/* Ends the executor. */
void dcmp_callbacks_stop(dcmp_callbacks *c);

#endif
