/* testmods.c -- sample service functions for the tests: no-op, sleep, crash, hang, fail, record,
 * whoami, echo. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcmp/service.h"

/* Does nothing and succeeds. */
static int32_t noop(const dcmp_call *call)
{
    (void)call;
    return DCMP_OK;
}

/* Reads a whole number after "key": in a flat JSON text; dflt when absent. */
static long json_number(const char *json, const char *key, long dflt)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (json == NULL || (p = strstr(json, pat)) == NULL)
        return dflt;
    return strtol(p + strlen(pat), NULL, 10);
}

/* Sleeps params.ms milliseconds (default 200), then succeeds. */
static int32_t nap(const dcmp_call *call)
{
    long ms = json_number(call->params, "ms", 200);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    call->host->log(call, DCMP_LOG_INFO, "sleeping %ld ms", ms);
    nanosleep(&ts, NULL);
    return DCMP_OK;
}

/* Dereferences NULL: the job's process dies of SIGSEGV. */
static int32_t crash(const dcmp_call *call)
{
    volatile int *p = NULL;

    call->host->log(call, DCMP_LOG_INFO, "about to crash");
    fflush(stdout);
    raise(SIGSEGV); /* sanitizers would catch the NULL write and exit instead */
    return *p;
}

/* Never returns. */
static int32_t hang(const dcmp_call *call)
{
    call->host->log(call, DCMP_LOG_INFO, "hanging");
    for (;;)
        pause();
    return DCMP_OK;
}

/* Fails with a message. */
static int32_t fail(const dcmp_call *call)
{
    call->host->log(call, DCMP_LOG_WARN, "failing on purpose");
    call->host->set_error(call, "failed on purpose");
    return DCMP_ERROR;
}

/* Fails until DATA/<job_id>.flaky has params.until lines, then succeeds (retries). */
static int32_t flaky(const dcmp_call *call)
{
    long until = json_number(call->params, "until", 2), lines = 0;
    char path[4096], c;
    int fd;

    snprintf(path, sizeof path, "%s/%s.flaky", call->data_dir, call->job_id);
    fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        call->host->set_error(call, "cannot open the counter file");
        return DCMP_ERROR;
    }
    while (read(fd, &c, 1) == 1)
        lines += c == '\n';
    if (write(fd, "x\n", 2) != 2)
        lines = -1;
    close(fd);
    if (lines + 1 < until) {
        call->host->set_error(call, "not yet");
        return DCMP_ERROR;
    }
    return DCMP_OK;
}

/* After params.ms milliseconds (default 0), appends "jobName jobId pid\n" to DATA/record.log
 * (O_APPEND: one write per line, so lines of concurrent jobs stay whole) and sets a result
 * naming the pid (which run's result was kept). */
static int32_t record(const dcmp_call *call)
{
    char path[4096], line[512], result[256];
    const char *file = "record.log";
    long ms = json_number(call->params, "ms", 0);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int fd, n;

    if (ms > 0)
        nanosleep(&ts, NULL);
    snprintf(path, sizeof path, "%s/%s", call->data_dir, file);
    n = snprintf(line, sizeof line, "%s %s %ld\n", call->job_name, call->job_id, (long)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        call->host->set_error(call, "cannot append to the record file");
        if (fd >= 0)
            close(fd);
        return DCMP_ERROR;
    }
    close(fd);
    snprintf(result, sizeof result, "{\"recorded\":\"%s\",\"pid\":%ld}", call->job_name,
             (long)getpid());
    call->host->set_result(call, result);
    printf("recorded %s\n", call->job_name);
    return DCMP_OK;
}

/* Returns a code the ABI does not know. */
static int32_t weird(const dcmp_call *call)
{
    (void)call;
    return 42;
}

/* Prints the program it runs in (the worker's fork, or dcmp-executor). */
static int32_t whoami(const dcmp_call *call)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    (void)call;
    exe[n > 0 ? n : 0] = '\0';
    printf("running in %s\n", exe);
    fflush(stdout);
    return DCMP_OK;
}

/* Sets the result {"added": <the added_params it got>}: what its dependencies gave it. */
static int32_t echo(const dcmp_call *call)
{
    size_t n = strlen(call->added_params) + 16;
    char *result = malloc(n);

    if (result == NULL) {
        call->host->set_error(call, "out of memory");
        return DCMP_ERROR;
    }
    snprintf(result, n, "{\"added\":%s}", call->added_params);
    call->host->set_result(call, result);
    free(result);
    return DCMP_OK;
}

DCMP_MODULE("testmods", "1.0.0", DCMP_FUNCTION(noop), DCMP_FUNCTION(nap), DCMP_FUNCTION(crash),
            DCMP_FUNCTION(hang), DCMP_FUNCTION(fail), DCMP_FUNCTION(flaky), DCMP_FUNCTION(record),
            DCMP_FUNCTION(weird), DCMP_FUNCTION(whoami), DCMP_FUNCTION(echo));
