/* test_prefetch.c -- a job the worker fetched together with its last report is its own: a
 * heartbeat that comes before it starts must not put it back in its queue (it would then run
 * twice, once by another worker). Jobs of 300 ms, heartbeats every 500 ms: most jobs are
 * fetched by a report after a heartbeat became due. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "redis.h"

#define JOBS 12

static fixture f;

static void test_prefetched_job_runs_once(void)
{
    const char *jobs[] = {"napper|testmods.nap|default|"};
    char ids[JOBS][DCMP_ID_LEN], *log;
    pid_t w;
    int i;

    for (i = 0; i < JOBS; i++)
        CHECK(fixture_enqueue(&f, jobs, 1, "{\"ms\":300}", 60, &ids[i]) == 0);
    w = fixture_worker(&f, "default", NULL);
    CHECK(fixture_wait_count(&f, "default", "finished", JOBS, 60000) == 0);
    for (i = 0; i < JOBS; i++) {
        dcmp_job job;
        memset(&job, 0, sizeof job);
        CHECK(dcmp_queue_job(f.q, ids[i], &job) == 1);
        CHECK_STR(job.state, "finished");
        if (job.attempts != 1)
            fprintf(stderr, "job %d (%s) ran %lld times\n", i, ids[i], (long long)job.attempts);
        CHECK(job.attempts == 1);
        dcmp_job_clear(&job);
    }
    fixture_worker_stop(&f, w, 15);
    log = fixture_read_data(&f, "../worker-0.log");
    CHECK(log != NULL);
    if (log) {
        CHECK(strstr(log, "put back") == NULL);
        CHECK(strstr(log, "given to another worker") == NULL);
        free(log);
    }
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_prefetched_job_runs_once);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
