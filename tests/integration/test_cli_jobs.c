/* test_cli_jobs.c -- dcm-processor jobs, job, requeue, cancel, delete against a real
 * redis-server and a real worker: a failed job listed, shown with its error, log and blocked
 * dependent, requeued until it succeeds and its dependent runs; cancel and delete; errors. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "redis.h"

static fixture f;

/* Runs dcm-processor with args; stdout + stderr into out. Returns the exit status. */
static int cli(char *out, size_t size, const char *a1, const char *a2, const char *a3)
{
    char port[32];
    char *argv[] = {getenv("DCMP_CLI_BIN"), (char *)a1, (char *)a2, (char *)a3, NULL};
    char *envp[] = {port, "REDIS_HOST=127.0.0.1", "DCMP_ENV=", NULL};

    snprintf(port, sizeof port, "REDIS_PORT=%d", f.port);
    return fixture_run(&f, argv, envp, out, size);
}

static void test_failed_job_requeued(void)
{
    /* flaky fails its first run (until 2), then succeeds; after depends on it */
    const char *jobs[] = {"shaky|testmods.flaky|default|", "after|testmods.noop|default|0"};
    char ids[2][DCMP_ID_LEN], out[16384];
    pid_t w;

    CHECK(fixture_enqueue(&f, jobs, 2, "{\"until\":2}", 60, ids) == 0);
    w = fixture_worker(&f, "default", NULL);
    CHECK(fixture_wait_state(&f, ids[0], "failed", 20000) == 0);
    CHECK(fixture_wait_state(&f, ids[1], "blocked", 20000) == 0);

    CHECK(cli(out, sizeof out, "jobs", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "1 job(s) in queue default, state failed");
    CHECK_CONTAINS(out, ids[0]);
    CHECK_CONTAINS(out, "not yet");

    CHECK(cli(out, sizeof out, "job", ids[0], NULL) == 0);
    CHECK_CONTAINS(out, "state     failed");
    CHECK_CONTAINS(out, "error:\n  not yet");
    CHECK(strstr(out, ids[1]) != NULL && strstr(out, "(blocked)") != NULL);

    CHECK(cli(out, sizeof out, "requeue", ids[0], NULL) == 0);
    CHECK_CONTAINS(out, "requeued");
    CHECK(fixture_wait_state(&f, ids[0], "finished", 20000) == 0);
    CHECK(fixture_wait_state(&f, ids[1], "finished", 20000) == 0);
    CHECK(cli(out, sizeof out, "jobs", "--state", "finished") == 0);
    CHECK_CONTAINS(out, "2 job(s) in queue default, state finished");
    fixture_worker_stop(&f, w, 15);
}

static void test_cancel_delete_and_errors(void)
{
    const char *jobs[] = {"first|testmods.noop|nobody|", "second|testmods.noop|nobody|0"};
    char ids[2][DCMP_ID_LEN], out[16384], state[16];

    /* queue "nobody" has no worker: the jobs wait */
    CHECK(fixture_enqueue(&f, jobs, 2, NULL, 60, ids) == 0);
    CHECK(cli(out, sizeof out, "cancel", ids[0], NULL) == 0);
    CHECK_CONTAINS(out, "canceled");
    CHECK(fixture_state(&f, ids[0], state) == 0);
    CHECK_STR(state, "canceled");
    CHECK(fixture_state(&f, ids[1], state) == 0);
    CHECK_STR(state, "canceled");
    CHECK(cli(out, sizeof out, "delete", ids[1], NULL) == 0);
    CHECK(fixture_state(&f, ids[1], state) == 0);
    CHECK_STR(state, "");

    CHECK(cli(out, sizeof out, "job", "0123456789abcdef0123456789abcdef", NULL) == 1);
    CHECK_CONTAINS(out, "no such job");
    CHECK(cli(out, sizeof out, "requeue", "0123456789abcdef0123456789abcdef", NULL) == 1);
    CHECK(cli(out, sizeof out, "jobs", "--state", "sleeping") == 2);
    CHECK_CONTAINS(out, "state");
    CHECK(cli(out, sizeof out, "requeue", NULL, NULL) == 2);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_failed_job_requeued);
    RUN(test_cancel_delete_and_errors);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
