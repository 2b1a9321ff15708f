/* testcb.c -- sample callbacks for the tests: yes, no, modality, crash, hang, hold, err. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dcmp/service.h"

/* Schedules the job and injects {"by": jobName, "saw": <added_params it got>}. */
static int32_t yes(const dcmp_call *call)
{
    char inject[1024];

    snprintf(inject, sizeof inject, "{\"by\":\"%s\",\"saw\":%s}", call->job_name,
             call->added_params);
    call->host->set_result(call, inject);
    return DCMP_OK;
}

/* Does not schedule the job, and says why in an injection. */
static int32_t no(const dcmp_call *call)
{
    call->host->set_result(call, "{\"why\":\"not wanted\"}");
    return DCMP_SKIP;
}

/* Does not schedule the job and says why (set_error before DCMP_SKIP). */
static int32_t nowhy(const dcmp_call *call)
{
    call->host->set_error(call, "not a series for this service");
    return DCMP_SKIP;
}

/* Schedules CT series only (reads the Modality header). */
static int32_t modality(const dcmp_call *call)
{
    return strstr(call->headers, "\"Modality\":\"CT\"") ? DCMP_OK : DCMP_SKIP;
}

static int32_t crash(const dcmp_call *call)
{
    (void)call;
    raise(SIGSEGV);
    return DCMP_OK;
}

static int32_t hang(const dcmp_call *call)
{
    (void)call;
    for (;;)
        pause();
    return DCMP_OK;
}

/* Waits while DATA/hold exists (a test holds planning with it), then schedules the job. */
static int32_t hold(const dcmp_call *call)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/hold", call->data_dir);
    while (access(path, F_OK) == 0)
        usleep(20000);
    return DCMP_OK;
}

static int32_t err(const dcmp_call *call)
{
    call->host->set_error(call, "callback refused");
    return DCMP_ERROR;
}

DCMP_MODULE("testcb", "1.0.0", DCMP_FUNCTION(yes), DCMP_FUNCTION(no), DCMP_FUNCTION(nowhy),
            DCMP_FUNCTION(modality), DCMP_FUNCTION(crash), DCMP_FUNCTION(hang), DCMP_FUNCTION(hold),
            DCMP_FUNCTION(err));
