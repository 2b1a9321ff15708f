/* test_isolation.c -- broken services end their job failed, with a clear error, and the worker
 * keeps serving: crash, hang past the timeout, wrong ABI, missing function, no descriptor. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

static fixture f;

/* Runs one job of `func` (timeout seconds) and checks it ends `state` with `error` in its error. */
static void expect(const char *func, int64_t timeout, const char *state, const char *error,
                   const char *log)
{
    char spec[256], ids[1][DCMP_ID_LEN];
    const char *jobs[1] = {spec};
    dcmp_job job;

    snprintf(spec, sizeof spec, "job|%s|default|", func);
    CHECK(fixture_enqueue(&f, jobs, 1, NULL, timeout, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], state, 30000) == 0);
    if (dcmp_queue_job(f.q, ids[0], &job) == 1) {
        if (error)
            CHECK_CONTAINS(job.error, error);
        else
            CHECK_STR(job.error, "");
        if (log)
            CHECK_CONTAINS(job.log, log);
        dcmp_job_clear(&job);
    } else {
        CHECK(!"job not found");
    }
    /* the worker still serves */
    snprintf(spec, sizeof spec, "after|testmods.noop|default|");
    CHECK(fixture_enqueue(&f, jobs, 1, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], "finished", 20000) == 0);
}

static void test_crash(void)
{
    expect("testmods.crash", 60, "failed", "crashed: signal 11", "about to crash");
}

static void test_timeout(void)
{
    expect("testmods.hang", 1, "failed", "timed out after 1s", "hanging");
}

static void test_bad_abi(void)
{
    expect("badabi.worker", 60, "failed", "ABI version", NULL);
}

static void test_missing_function(void)
{
    expect("testmods.nosuch", 60, "failed", "no function \"nosuch\"", NULL);
}

static void test_missing_library(void)
{
    expect("nolib.worker", 60, "failed", "nolib.so", NULL);
}

static void test_no_descriptor(void)
{
    expect("nodesc.worker", 60, "failed", "dcmp_module_descriptor", NULL);
}

static void test_unknown_return(void)
{
    expect("testmods.weird", 60, "failed", "unknown return code 42", NULL);
}

static void test_error_message(void)
{
    expect("testmods.fail", 60, "failed", "failed on purpose", "failing on purpose");
}

static void test_bad_name(void)
{
    expect("../etc.worker", 60, "failed", "must be letters", NULL);
}

/* The pool's executor is a program of its own (dcmp-executor), never a fork of the worker;
 * WORKER_EXECUTOR=fork runs each job in a fork of the worker. */
static void test_executor_program(void)
{
    const char *mode = getenv("DCMP_TEST_EXECUTOR");

    expect("testmods.whoami", 60, "finished", NULL,
           mode && strcmp(mode, "pool") == 0 ? "/dcmp-executor\n" : "/dcmp-worker\n");
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    fixture_worker(&f, "default", NULL);
    RUN(test_crash);
    RUN(test_timeout);
    RUN(test_bad_abi);
    RUN(test_missing_function);
    RUN(test_missing_library);
    RUN(test_no_descriptor);
    RUN(test_unknown_return);
    RUN(test_error_message);
    RUN(test_bad_name);
    RUN(test_executor_program);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
