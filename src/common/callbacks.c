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
                         int64_t timeout)
{
    memset(c, 0, sizeof *c);
    dcmp_pool_init(&c->pool, registry, data_dir, 1000);
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
