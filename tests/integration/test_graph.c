/* test_graph.c -- job graphs through real workers: dependency order, priority, blocked, retry. */
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "redis.h"

static fixture f;

static void clear_record(void)
{
    char path[PATH_MAX + 32];

    snprintf(path, sizeof path, "%s/record.log", f.data);
    remove(path);
}

/* Position of "name " at a line start in the record log, or -1. */
static long line_pos(const char *log, const char *name)
{
    char pat[80];
    const char *p;

    snprintf(pat, sizeof pat, "%s ", name);
    if (strncmp(log, pat, strlen(pat)) == 0)
        return 0;
    snprintf(pat, sizeof pat, "\n%s ", name);
    p = strstr(log, pat);
    return p ? p - log + 1 : -1;
}

static long long raw_int(const char *fmt, const char *arg)
{
    redisContext *c = redisConnect("127.0.0.1", f.port);
    redisReply *r = c && !c->err ? redisCommand(c, fmt, arg) : NULL;
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;

    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

/* a -> (b, c) -> d: d runs last, b and c after a. */
static void test_diamond(void)
{
    const char *jobs[] = {"a|testmods.record|default|", "b|testmods.record|default|0",
                          "c|testmods.record|default|0", "d|testmods.record|default|1,2"};
    char ids[4][DCMP_ID_LEN], *log, st[16];
    dcmp_job job;

    clear_record();
    CHECK(fixture_enqueue(&f, jobs, 4, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[3], "finished", 20000) == 0);
    log = fixture_read_data(&f, "record.log");
    CHECK(log != NULL);
    if (log) {
        CHECK(line_pos(log, "a") == 0);
        CHECK(line_pos(log, "d") > line_pos(log, "b") && line_pos(log, "b") > 0);
        CHECK(line_pos(log, "d") > line_pos(log, "c") && line_pos(log, "c") > 0);
        free(log);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(fixture_state(&f, ids[i], st) == 0);
        CHECK_STR(st, "finished");
    }
    CHECK(dcmp_queue_job(f.q, ids[3], &job) == 1);
    CHECK_CONTAINS(job.result, "{\"recorded\":\"d\",\"pid\":");
    CHECK_CONTAINS(job.log, "recorded d");
    CHECK_CONTAINS(job.kwargs, "\"jobName\":\"d\"");
    CHECK_CONTAINS(job.deps, ids[1]);
    CHECK(job.attempts == 1 && job.wire == 1);
    CHECK(job.started >= job.created && job.ended >= job.started && job.enqueued >= job.created);
    CHECK(job.worker[0] != '\0');
    dcmp_job_clear(&job);
    /* Finished jobs expire after JOB_TTL_FINISHED (default 1 day). */
    long long ttl = raw_int("TTL dcmp:job:%s", ids[3]);
    CHECK(ttl > 86000 && ttl <= 86400);
}

/* One worker serving "high default low" takes every high job before any default one. */
static void test_priority(void)
{
    const char *jobs[] = {"low1|testmods.record|low|",     "def1|testmods.record|default|",
                          "high1|testmods.record|high|",   "low2|testmods.record|low|",
                          "def2|testmods.record|default|", "high2|testmods.record|high|"};
    char ids[6][DCMP_ID_LEN], *log;
    pid_t w;

    clear_record();
    CHECK(fixture_enqueue(&f, jobs, 6, NULL, 60, ids) == 0);
    w = fixture_worker(&f, "high default low", NULL);
    CHECK(fixture_wait_state(&f, ids[3], "finished", 20000) == 0);
    CHECK(fixture_wait_state(&f, ids[0], "finished", 20000) == 0);
    log = fixture_read_data(&f, "record.log");
    CHECK(log != NULL);
    if (log) {
        /* queued in order within a queue (FIFO), queues in priority order */
        CHECK(line_pos(log, "high1") == 0);
        CHECK(line_pos(log, "high2") < line_pos(log, "def1"));
        CHECK(line_pos(log, "def1") < line_pos(log, "def2"));
        CHECK(line_pos(log, "def2") < line_pos(log, "low1"));
        CHECK(line_pos(log, "low1") < line_pos(log, "low2"));
        free(log);
    }
    fixture_worker_stop(&f, w, SIGTERM);
}

/* a fails -> b and c are blocked; requeue a (it succeeds the second time) -> all finish. */
static void test_blocked_then_requeue(pid_t *w)
{
    const char *jobs[] = {"a|testmods.flaky|default|", "b|testmods.record|default|0",
                          "c|testmods.record|default|1"};
    char ids[3][DCMP_ID_LEN], st[16];
    int64_t n = -1;
    dcmp_job job;

    (void)w;
    CHECK(fixture_enqueue(&f, jobs, 3, "{\"until\":2}", 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], "failed", 20000) == 0);
    CHECK(fixture_wait_state(&f, ids[1], "blocked", 5000) == 0);
    CHECK(fixture_wait_state(&f, ids[2], "blocked", 5000) == 0);
    CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
    CHECK_STR(job.error, "not yet");
    dcmp_job_clear(&job);
    CHECK(dcmp_queue_count(f.q, "default", "blocked", &n) == 0 && n >= 2);
    /* requeue of a job that is not failed is refused with the state named */
    CHECK(dcmp_queue_requeue(f.q, ids[1]) < 0 && dcmp_queue_err(f.q) == DCMP_QUEUE_ESTATE);
    CHECK_CONTAINS(dcmp_queue_errstr(f.q), "blocked");
    CHECK(dcmp_queue_requeue(f.q, "nosuchjob") < 0 && dcmp_queue_err(f.q) == DCMP_QUEUE_ENOJOB);
    CHECK(dcmp_queue_requeue(f.q, ids[0]) == 0);
    CHECK(fixture_wait_state(&f, ids[2], "finished", 20000) == 0);
    CHECK(fixture_state(&f, ids[0], st) == 0);
    CHECK_STR(st, "finished");
    CHECK(fixture_state(&f, ids[1], st) == 0);
    CHECK_STR(st, "finished");
}

/* Canceling or deleting a failed job cancels its blocked dependents. */
static void test_cancel_and_delete(void)
{
    const char *jobs[] = {"a|testmods.fail|default|", "b|testmods.record|default|0",
                          "c|testmods.record|default|1"};
    char ids[3][DCMP_ID_LEN], ids2[3][DCMP_ID_LEN], st[16];
    int64_t n = 0;

    CHECK(fixture_enqueue(&f, jobs, 3, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[2], "blocked", 20000) == 0);
    CHECK(dcmp_queue_cancel(f.q, ids[0], &n) == 0);
    CHECK(n == 3);
    for (int i = 0; i < 3; i++) {
        CHECK(fixture_state(&f, ids[i], st) == 0);
        CHECK_STR(st, "canceled");
    }
    CHECK(dcmp_queue_cancel(f.q, ids[0], &n) < 0 && dcmp_queue_err(f.q) == DCMP_QUEUE_ESTATE);

    CHECK(fixture_enqueue(&f, jobs, 3, NULL, 60, ids2) == 0);
    CHECK(fixture_wait_state(&f, ids2[2], "blocked", 20000) == 0);
    CHECK(dcmp_queue_delete(f.q, ids2[0], &n) == 0);
    CHECK(n == 2);
    CHECK(fixture_state(&f, ids2[0], st) == 0);
    CHECK_STR(st, "");
    CHECK(fixture_state(&f, ids2[1], st) == 0);
    CHECK_STR(st, "canceled");
    CHECK(fixture_state(&f, ids2[2], st) == 0);
    CHECK_STR(st, "canceled");
}

/* Cancel a queued job before any worker takes it: it never runs. */
static void test_cancel_queued(void)
{
    const char *jobs[] = {"x|testmods.record|nobody|", "y|testmods.record|nobody|0"};
    char ids[2][DCMP_ID_LEN], st[16];
    int64_t n = 0;

    CHECK(fixture_enqueue(&f, jobs, 2, NULL, 60, ids) == 0);
    CHECK(fixture_state(&f, ids[0], st) == 0);
    CHECK_STR(st, "queued");
    CHECK(fixture_state(&f, ids[1], st) == 0);
    CHECK_STR(st, "deferred");
    CHECK(dcmp_queue_count(f.q, "nobody", "queued", &n) == 0 && n == 1);
    CHECK(dcmp_queue_cancel(f.q, ids[0], &n) == 0 && n == 2);
    CHECK(dcmp_queue_count(f.q, "nobody", "queued", &n) == 0 && n == 0);
    CHECK(dcmp_queue_count(f.q, "nobody", "canceled", &n) == 0 && n == 2);
}

/* A graph naming an unknown dependency writes nothing. */
static void test_enqueue_atomic(void)
{
    dcmp_job_spec s[2];
    char id0[DCMP_ID_LEN], id1[DCMP_ID_LEN], err[DCMP_ERR_LEN], st[16], *g;
    const char *deps[] = {"doesnotexist"};

    dcmp_job_new_id(id0);
    dcmp_job_new_id(id1);
    memset(s, 0, sizeof s);
    s[0] = (dcmp_job_spec){id0, "ok", "testmods.noop", "default", "{}", 60, NULL, 0, 0, 0};
    s[1] = (dcmp_job_spec){id1, "bad", "testmods.noop", "default", "{}", 60, deps, 1, 0, 0};
    g = dcmp_job_encode_graph("ev", s, 2, err);
    CHECK(g != NULL);
    CHECK(dcmp_queue_enqueue(f.q, g) < 0);
    CHECK_CONTAINS(dcmp_queue_errstr(f.q), "doesnotexist");
    CHECK(fixture_state(&f, id0, st) == 0);
    CHECK_STR(st, "");
    free(g);
}

/* A graph whose third job's id is taken (by a job in Redis) is refused with that job and id
 * named, and writes nothing (the ids are checked in one EXISTS, then one by one only to name
 * the one taken). */
static void test_enqueue_taken_id(void)
{
    dcmp_job_spec s[3];
    char ids[3][DCMP_ID_LEN], taken[DCMP_ID_LEN], err[DCMP_ERR_LEN], want[128], st[16], *g;
    int k;

    dcmp_job_new_id(taken);
    memset(s, 0, sizeof s);
    s[0] = (dcmp_job_spec){taken, "first", "testmods.noop", "takenq", "{}", 60, NULL, 0, 0, 0};
    g = dcmp_job_encode_graph("ev", s, 1, err);
    CHECK(g != NULL && dcmp_queue_enqueue(f.q, g) == 0);
    free(g);
    for (k = 0; k < 3; k++) {
        dcmp_job_new_id(ids[k]);
        s[k] = (dcmp_job_spec){ids[k], "again", "testmods.noop", "takenq", "{}", 60, NULL, 0, 0, 0};
    }
    s[2].id = taken;
    g = dcmp_job_encode_graph("ev", s, 3, err);
    CHECK(g != NULL && dcmp_queue_enqueue(f.q, g) < 0);
    snprintf(want, sizeof want, "job 3: id %s already exists", taken);
    CHECK_CONTAINS(dcmp_queue_errstr(f.q), want);
    free(g);
    for (k = 0; k < 3; k++) {
        CHECK(fixture_state(&f, ids[k], st) == 0);
        CHECK_STR(st, "");
    }
}

/* retry {max 2}: a job failing twice then succeeding ends finished after 3 attempts;
 * with an interval it waits in the scheduled state in between. */
static void test_retry(void)
{
    dcmp_job_spec s;
    char id[DCMP_ID_LEN], err[DCMP_ERR_LEN], *g;
    const char *kw = "{\"jobName\":\"flaky\",\"headers\":{},\"params\":{\"until\":3},"
                     "\"added_params\":{}}";
    dcmp_job job;

    dcmp_job_new_id(id);
    s = (dcmp_job_spec){id, "flaky", "testmods.flaky", "default", kw, 60, NULL, 0, 2, 1};
    g = dcmp_job_encode_graph("ev", &s, 1, err);
    CHECK(g != NULL && dcmp_queue_enqueue(f.q, g) == 0);
    free(g);
    CHECK(fixture_wait_state(&f, id, "scheduled", 10000) == 0);
    CHECK(fixture_wait_state(&f, id, "finished", 20000) == 0);
    CHECK(dcmp_queue_job(f.q, id, &job) == 1);
    CHECK(job.attempts == 3);
    dcmp_job_clear(&job);

    /* retry max 1 is not enough for until 3: failed after 2 attempts */
    dcmp_job_new_id(id);
    s = (dcmp_job_spec){id, "flaky", "testmods.flaky", "default", kw, 60, NULL, 0, 1, 0};
    g = dcmp_job_encode_graph("ev", &s, 1, err);
    CHECK(g != NULL && dcmp_queue_enqueue(f.q, g) == 0);
    free(g);
    CHECK(fixture_wait_state(&f, id, "failed", 20000) == 0);
    CHECK(dcmp_queue_job(f.q, id, &job) == 1);
    CHECK(job.attempts == 2);
    CHECK_STR(job.error, "not yet");
    dcmp_job_clear(&job);
}

int main(void)
{
    pid_t w;

    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_enqueue_atomic);
    RUN(test_enqueue_taken_id);
    RUN(test_cancel_queued);
    RUN(test_priority);
    w = fixture_worker(&f, "high default low", NULL);
    RUN(test_diamond);
    test_blocked_then_requeue(&w);
    fprintf(stderr, "%s test_blocked_then_requeue\n", harness_failed ? "FAIL" : "ok  ");
    RUN(test_cancel_and_delete);
    RUN(test_retry);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
