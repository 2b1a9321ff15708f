/* test_chaos.c -- nothing is lost when things fail: a worker killed mid-run, Redis restarted
 * mid-run, a job that keeps killing its worker, a worker stopped with SIGTERM. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

#define MANY 1000

static fixture f;
static char ids[MANY][DCMP_ID_LEN];

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void clear_record(void)
{
    char path[PATH_MAX + 32];

    snprintf(path, sizeof path, "%s/record.log", f.data);
    remove(path);
}

/* Enqueues n record jobs on `queue`, 50 to a graph. */
static int enqueue_many(int n, const char *queue)
{
    char spec[128];
    const char *jobs[50];
    int i, k;

    snprintf(spec, sizeof spec, "r|testmods.record|%s|", queue);
    for (k = 0; k < 50; k++)
        jobs[k] = spec;
    for (i = 0; i < n; i += 50)
        if (fixture_enqueue(&f, jobs, 50, NULL, 60, &ids[i]) < 0)
            return -1;
    return 0;
}

/* Every one of the n jobs is finished and ran at least once. */
static void check_all_ran(int n, const char *queue)
{
    char *log = fixture_read_data(&f, "record.log");
    int missing = 0, unfinished = 0, i;
    char st[16];

    CHECK(log != NULL);
    for (i = 0; log && i < n; i++) {
        if (strstr(log, ids[i]) == NULL)
            missing++;
        if (fixture_state(&f, ids[i], st) < 0 || strcmp(st, "finished") != 0)
            unfinished++;
    }
    if (missing || unfinished)
        fprintf(stderr, "%s: %d of %d never ran, %d not finished\n", queue, missing, n, unfinished);
    CHECK(missing == 0);
    CHECK(unfinished == 0);
    free(log);
}

/* SIGKILL one of two workers in the middle of 1,000 jobs: none is lost. */
static void test_worker_killed(void)
{
    int64_t done = 0;
    pid_t a, b;

    clear_record();
    CHECK(enqueue_many(MANY, "kill") == 0);
    a = fixture_worker(&f, "kill", NULL);
    b = fixture_worker(&f, "kill", NULL);
    CHECK(fixture_wait_count(&f, "kill", "finished", MANY / 4, 60000) == 0);
    fixture_worker_stop(&f, a, SIGKILL);
    dcmp_queue_count(f.q, "kill", "finished", &done);
    fprintf(stderr, "killed worker %d after %lld jobs finished\n", (int)a, (long long)done);
    CHECK(done < MANY);
    CHECK(fixture_wait_count(&f, "kill", "finished", MANY, 240000) == 0);
    check_all_ran(MANY, "kill");
    fixture_worker_stop(&f, b, SIGTERM);
}

/* Restart Redis (AOF on) in the middle of 500 jobs: the workers reconnect, none is lost. */
static void test_redis_restart(void)
{
    pid_t a, b;

    clear_record();
    CHECK(enqueue_many(500, "restart") == 0);
    a = fixture_worker(&f, "restart", NULL);
    b = fixture_worker(&f, "restart", NULL);
    CHECK(fixture_wait_count(&f, "restart", "finished", 100, 60000) == 0);
    CHECK(fixture_redis_restart(&f) == 0);
    nap_ms(300);
    CHECK(fixture_wait_count(&f, "restart", "finished", 500, 240000) == 0);
    check_all_ran(500, "restart");
    fixture_worker_stop(&f, a, SIGTERM);
    fixture_worker_stop(&f, b, SIGTERM);
}

/* A job whose worker dies every time fails for good after WORKER_MAX_CRASHES (3) deaths. */
static void test_poison_pill(void)
{
    const char *jobs[] = {"pill|testmods.nap|pill|", "after|testmods.noop|pill|0"};
    char pid_ids[2][DCMP_ID_LEN], st[16];
    dcmp_job job;
    pid_t w, keeper;
    int round;

    CHECK(fixture_enqueue(&f, jobs, 2, "{\"ms\":60000}", 120, pid_ids) == 0);
    /* a worker of another queue reaps the dead ones */
    keeper = fixture_worker(&f, "elsewhere", NULL);
    for (round = 0; round < 3; round++) {
        w = fixture_worker(&f, "pill", NULL);
        CHECK(fixture_wait_state(&f, pid_ids[0], "started", 20000) == 0);
        fixture_worker_stop(&f, w, SIGKILL);
        if (round < 2)
            CHECK(fixture_wait_state(&f, pid_ids[0], "queued", 20000) == 0);
    }
    CHECK(fixture_wait_state(&f, pid_ids[0], "failed", 20000) == 0);
    CHECK(dcmp_queue_job(f.q, pid_ids[0], &job) == 1);
    CHECK_CONTAINS(job.error, "worker died");
    CHECK(job.crashes == 3 && job.attempts == 3);
    dcmp_job_clear(&job);
    CHECK(fixture_state(&f, pid_ids[1], st) == 0);
    CHECK_STR(st, "blocked");
    fixture_worker_stop(&f, keeper, SIGTERM);
}

/* SIGTERM lets the running job finish; past WORKER_STOP_GRACE it goes back to its queue. */
static void test_sigterm(void)
{
    const char *grace[] = {"WORKER_STOP_GRACE=1", NULL};
    const char *jobs[] = {"nap|testmods.nap|term|"};
    char id[1][DCMP_ID_LEN], st[16];
    dcmp_job job;
    pid_t w;

    CHECK(fixture_enqueue(&f, jobs, 1, "{\"ms\":700}", 60, id) == 0);
    w = fixture_worker(&f, "term", NULL);
    CHECK(fixture_wait_state(&f, id[0], "started", 20000) == 0);
    fixture_worker_stop(&f, w, SIGTERM);
    CHECK(fixture_state(&f, id[0], st) == 0);
    CHECK_STR(st, "finished");

    CHECK(fixture_enqueue(&f, jobs, 1, "{\"ms\":30000}", 60, id) == 0);
    w = fixture_worker(&f, "term", grace);
    CHECK(fixture_wait_state(&f, id[0], "started", 20000) == 0);
    fixture_worker_stop(&f, w, SIGTERM);
    CHECK(dcmp_queue_job(f.q, id[0], &job) == 1);
    CHECK_STR(job.state, "queued");
    CHECK(job.attempts == 0 && job.crashes == 0);
    dcmp_job_clear(&job);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_sigterm);
    RUN(test_poison_pill);
    RUN(test_worker_killed);
    RUN(test_redis_restart);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
