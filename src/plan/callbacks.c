/* callbacks.c -- runs the services' callbacks for the planner, isolated in a supervised
 * executor process with a time limit. */
#include "callbacks.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcmp/service.h"
#include "plan.h"

void dcmp_callbacks_init(dcmp_callbacks *c, const char *registry, const char *data_dir,
                         int64_t timeout, long recycle)
{
    memset(c, 0, sizeof *c);
    dcmp_pool_init(&c->pool, registry, data_dir, recycle);
    c->pool.callbacks = 1;
    c->timeout = timeout > 0 ? timeout : 10;
}

void dcmp_callbacks_stop(dcmp_callbacks *c)
{
    dcmp_pool_stop(&c->pool);
}

int dcmp_callbacks_call(void *arg, const char *job_name, const char *callback, const char *headers,
                        const char *params, const char *added_params, char **inject, char *err)
{
    dcmp_callbacks *c = arg;
    dcmp_executor_outcome o;
    dcmp_job job;
    int rc;

    memset(&job, 0, sizeof job);
    job.name = (char *)job_name;
    job.func = (char *)callback;
    job.timeout = c->timeout;
    if ((job.kwargs = dcmp_plan_kwargs(job_name, headers, params, added_params)) == NULL)
        return dcmp_seterr(err, "out of memory");
    if (dcmp_pool_run(&c->pool, &job, NULL, NULL, &o) < 0) {
        free(job.kwargs);
        free(o.result);
        return dcmp_seterr(err, "%s", o.error);
    }
    free(job.kwargs);
    if (o.status == DCMP_EXEC_OK) {
        rc = o.code == DCMP_SKIP ? 0 : 1;
        if (rc == 0) /* a skip's reason, when the callback gave one */
            dcmp_strlcpy(err, o.error, DCMP_ERR_LEN);
        if (o.result && o.result[0]) {
            *inject = o.result;
            o.result = NULL;
        }
    } else {
        rc = dcmp_seterr(err, "%s", o.error);
    }
    free(o.result);
    return rc;
}

/* The added_params text call `upto` gets: added with the injections of calls 0..upto-1. New
 * string (free), or NULL when out of memory. */
static char *added_before(const char *added, const dcmp_plan_call *calls, int upto)
{
    cJSON *a = cJSON_Parse(added);
    char *text;
    int i;

    if (a == NULL)
        return NULL;
    for (i = 0; i < upto; i++)
        dcmp_plan_inject(a, calls[i].job_name, calls[i].rc == 1, calls[i].inject);
    text = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return text;
}

int dcmp_callbacks_batch(void *arg, const char *headers, const char *added_params,
                         dcmp_plan_call *calls, int n, char *err)
{
    dcmp_callbacks *c = arg;
    dcmp_executor_outcome *outs = malloc((size_t)(n ? n : 1) * sizeof *outs);
    char *added = NULL;
    int from = 0, restarts = 0, i, k, restart;

    if (outs == NULL)
        return dcmp_seterr(err, "out of memory");
    while (from < n) {
        if (c->tick && c->tick(c->tick_arg)) {
            /* the planner's budget is spent, or it stops: nothing more is started */
            for (i = from; i < n; i++) {
                calls[i].rc = -1;
                snprintf(calls[i].err, sizeof calls[i].err, "stopped before it ran");
            }
            break;
        }
        if (from > 0 && (added = added_before(added_params, calls, from)) == NULL) {
            free(outs);
            return dcmp_seterr(err, "out of memory");
        }
        k = dcmp_pool_calls(&c->pool, headers, added ? added : added_params, calls + from, n - from,
                            c->timeout, c->tick, c->tick_arg, outs + from, &restart);
        free(added);
        added = NULL;
        if (k < 0) {
            /* no executor: every call left fails with the reason */
            for (i = from; i < n; i++) {
                calls[i].rc = -1;
                snprintf(calls[i].err, sizeof calls[i].err, "%s", outs[from].error);
            }
            break;
        }
        for (i = from; i < from + k; i++) {
            dcmp_executor_outcome *o = &outs[i];
            calls[i].inject = NULL;
            if (o->status == DCMP_EXEC_OK) {
                calls[i].rc = o->code == DCMP_SKIP ? 0 : 1;
                if (calls[i].rc == 0) /* a skip's reason, when the callback gave one */
                    snprintf(calls[i].err, sizeof calls[i].err, "%s", o->error);
                if (o->result && o->result[0]) {
                    calls[i].inject = o->result;
                    o->result = NULL;
                }
            } else {
                calls[i].rc = -1;
                snprintf(calls[i].err, sizeof calls[i].err, "%s", o->error);
            }
            free(o->result);
            o->result = NULL;
        }
        from += k;
        /* a library changed: the rest in a new executor, which must not ask again at once */
        if (restart && k == 0 && ++restarts >= 2) {
            for (i = from; i < n; i++) {
                calls[i].rc = -1;
                snprintf(calls[i].err, sizeof calls[i].err,
                         "the executor kept asking to be replaced");
            }
            break;
        }
        if (k > 0)
            restarts = 0;
    }
    free(outs);
    return 0;
}
