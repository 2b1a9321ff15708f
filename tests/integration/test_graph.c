/* test_graph.c -- job graphs through real workers: dependency order, priority, blocked, retry. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "redis.h"

static fixture f;

/* a -> (b, c) -> d: d runs last, b and c after a. */
static void test_diamond(void)
{
    const char *jobs[] = {"a|testmods.record|default|", "b|testmods.record|default|0",
                          "c|testmods.record|default|0", "d|testmods.record|default|1,2"};
    char ids[4][DCMP_ID_LEN], *log;
    dcmp_job job;

    CHECK(fixture_enqueue(&f, jobs, 4, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[3], "finished", 20000) == 0);
    log = fixture_read_data(&f, "record.log");
    CHECK(log != NULL);
    if (log) {
        CHECK(strncmp(log, "a ", 2) == 0);
        CHECK(strstr(log, "d ") != NULL && strstr(log, "d ") > strstr(log, "b "));
        CHECK(strstr(log, "d ") > strstr(log, "c "));
        free(log);
    }
    CHECK(dcmp_queue_job(f.q, ids[3], &job) == 1);
    CHECK_STR(job.result, "{\"recorded\":\"d\"}");
    CHECK_CONTAINS(job.log, "recorded d");
    CHECK(job.attempts == 1);
    CHECK(job.started >= job.created && job.ended >= job.started && job.enqueued >= job.created);
    CHECK(job.worker[0] != '\0');
    dcmp_job_clear(&job);
    remove(strcat(strcpy((char[4096]){0}, f.data), "/record.log"));
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    fixture_worker(&f, "high default low", NULL);
    RUN(test_diamond);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
