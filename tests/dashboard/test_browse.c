/* test_browse.c -- the reading side of the job engine (browse.c) against a real redis-server:
 * counts per state, workers, pages and filters (every source of browse_jobs.lua), job links,
 * events, the bulk actions, chart samples, and the indexes written at enqueue. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "browse.h"
#include "harness.h"
#include "jobs.h"

extern const char dcmp_lua_browse_jobs[];

static fixture f;
static jobs_states st;

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

static const dcmp_browse_queue *find_queue(const dcmp_browse_queue *qs, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(qs[i].name, name) == 0)
            return &qs[i];
    return NULL;
}

static void test_counts(void)
{
    dcmp_browse_queue *qs = NULL;
    const dcmp_browse_queue *d;
    int n = 0, all = 0, i;

    CHECK(dcmp_browse_queues(f.q, &qs, &n, &all) == 0);
    CHECK(n == 1 && all == 1);
    d = find_queue(qs, n, "default");
    CHECK(d != NULL);
    for (i = 0; d && i < DCMP_BROWSE_NSTATES; i++) {
        if (d->count[i] != 1)
            fprintf(stderr, "state %s: %lld\n", dcmp_browse_states[i], (long long)d->count[i]);
        CHECK(d->count[i] == 1);
    }
    free(qs);
    CHECK(dcmp_browse_state_index("failed") == DCMP_BROWSE_FAILED);
    CHECK(dcmp_browse_state_index("nope") == -1);
}

static void test_workers(void)
{
    dcmp_browse_worker *ws = NULL;
    dcmp_queue_opts o = {.host = "127.0.0.1", .port = f.port, .heartbeat_ttl_ms = 2000};
    dcmp_queue *shortq = dcmp_queue_new(&o);
    int n = 0, all = 0, i, seen = 0;

    /* a worker whose heartbeat expires at once is shown dead until the reaper runs */
    CHECK(dcmp_queue_heartbeat(shortq, "ghost", "default", 1, "h", 1) == 0);
    CHECK(raw_int("PEXPIRE dcmp:worker:%s:hb 1", "ghost") == 1);
    usleep(20000);
    CHECK(dcmp_browse_workers(f.q, &ws, &n, &all) == 0);
    CHECK(n == 3 && all == 3);
    for (i = 0; i < n; i++) {
        if (strcmp(ws[i].name, "holder") == 0) {
            CHECK_STR(ws[i].state, "busy");
            CHECK_STR(ws[i].current, st.started);
            CHECK_STR(ws[i].queues, "default");
            CHECK_STR(ws[i].host, "test-host");
            CHECK(ws[i].pid == (int64_t)getpid() && ws[i].beat > 1000000000000LL);
            seen++;
        } else if (strcmp(ws[i].name, "runner") == 0) {
            CHECK_STR(ws[i].state, "idle");
            CHECK(ws[i].processed == 1 && ws[i].failed == 1);
            seen++;
        } else if (strcmp(ws[i].name, "ghost") == 0) {
            CHECK_STR(ws[i].state, "dead");
            seen++;
        }
    }
    CHECK(seen == 3);
    /* sorted by name */
    CHECK(n == 3 && strcmp(ws[0].name, "ghost") == 0 && strcmp(ws[2].name, "runner") == 0);
    free(ws);
    CHECK(dcmp_queue_unregister(shortq, "ghost") == 0);
    dcmp_queue_free(shortq);
}

/* A page of queue+state has the job of that state with every field. */
static void test_page_each_state(void)
{
    static const struct {
        const char *state;
        const char *id;
    } want[] = {{"queued", st.queued},       {"deferred", st.deferred}, {"blocked", st.blocked},
                {"scheduled", st.scheduled}, {"started", st.started},   {"finished", st.finished},
                {"failed", st.failed},       {"canceled", st.canceled}};
    size_t i;

    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        dcmp_browse_filter flt = {"default", want[i].state, NULL, NULL, 0, 50};
        dcmp_browse_page page;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 1 && page.n == 1 && page.exact);
        if (page.n == 1) {
            char name[32];
            snprintf(name, sizeof name, "s-%s", want[i].state);
            CHECK_STR(page.rows[0].id, want[i].id);
            CHECK_STR(page.rows[0].state, want[i].state);
            CHECK_STR(page.rows[0].name, name);
            CHECK_STR(page.rows[0].queue, "default");
            CHECK(page.rows[0].created > 0);
        }
        dcmp_browse_page_free(&page);
    }
    {
        dcmp_browse_filter flt = {"default", "failed", NULL, NULL, 0, 50};
        dcmp_browse_page page;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.n == 1 && page.rows[0].attempts == 1 && page.rows[0].started > 0 &&
              page.rows[0].ended >= page.rows[0].started);
        CHECK(page.n == 1 && strstr(page.rows[0].error, "no pixels") != NULL);
        dcmp_browse_page_free(&page);
    }
}

/* Many jobs: newest first, offsets, totals, and the name filter through each of its paths. */
static void test_pages_and_names(void)
{
    jobs_spec specs[40];
    char lines[40][96], ids[40][DCMP_ID_LEN], all[120][DCMP_ID_LEN];
    dcmp_browse_page page;
    int i, k, made = 0;

    /* 120 failed jobs in "bulk": names alpha (every third) and beta, created in order */
    for (k = 0; k < 3; k++) {
        for (i = 0; i < 40; i++) {
            snprintf(lines[i], sizeof lines[i], "%s|testmods.fail|bulk|",
                     (k * 40 + i) % 3 == 0 ? "alpha" : "beta");
            specs[i].line = lines[i];
            specs[i].retry_max = specs[i].retry_interval = 0;
        }
        CHECK(jobs_graph(&f, "", specs, 40, ids) == 0);
        for (i = 0; i < 40; i++) {
            CHECK(jobs_run(&f, "runner", "bulk", 0, "boom") == 0);
            memcpy(all[made++], ids[i], DCMP_ID_LEN);
            usleep(1500); /* distinct ms scores: the order is the order of failure */
        }
    }
    {
        dcmp_browse_filter flt = {"bulk", "failed", NULL, NULL, 0, 25};
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 120 && page.n == 25 && page.exact);
        CHECK(page.n == 25 && strcmp(page.rows[0].id, all[119]) == 0 &&
              strcmp(page.rows[24].id, all[95]) == 0);
        dcmp_browse_page_free(&page);
        flt.offset = 100;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 120 && page.n == 20);
        CHECK(page.n == 20 && strcmp(page.rows[19].id, all[0]) == 0);
        dcmp_browse_page_free(&page);
        flt.offset = 500;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 120 && page.n == 0);
        dcmp_browse_page_free(&page);
    }
    /* name filter, through the name's index (40 alpha jobs, fewer than the 120 failed) */
    {
        dcmp_browse_filter flt = {"bulk", "failed", "alpha", NULL, 0, 10};
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 40 && page.n == 10 && page.exact && page.scanned == 0);
        CHECK(page.n == 10 && strcmp(page.rows[0].id, all[117]) == 0 &&
              strcmp(page.rows[9].id, all[90]) == 0);
        for (i = 0; i < page.n; i++)
            CHECK_STR(page.rows[i].name, "alpha");
        dcmp_browse_page_free(&page);
        flt.offset = 35;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 40 && page.n == 5);
        CHECK(page.n == 5 && strcmp(page.rows[4].id, all[0]) == 0);
        dcmp_browse_page_free(&page);
        flt.name = "beta"; /* 80 of 120: still the index */
        flt.offset = 0;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 80 && page.exact && strcmp(page.rows[0].id, all[119]) == 0);
        dcmp_browse_page_free(&page);
    }
    /* a window of 30 (the script called directly): the newest 30 failed jobs are looked at,
     * 10 of them alpha; the total says so (not exact) */
    {
        const char *args[9] = {"bulk", "failed", "alpha", "", "5", "10", "300", "10000", "30"};
        redisReply *r = dcmp_queue_script(f.q, dcmp_lua_browse_jobs, 9, args, NULL);
        CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 + 5);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 8) {
            CHECK(r->element[0]->integer == 10);
            CHECK(r->element[1]->integer == 0);
            CHECK(r->element[2]->integer == 30);
            CHECK_STR(r->element[3]->element[0]->str, all[102]);
            CHECK_STR(r->element[7]->element[0]->str, all[90]);
        }
        if (r)
            freeReplyObject(r);
    }
    /* no match, and a name that does not exist */
    {
        dcmp_browse_filter flt = {"bulk", "finished", "alpha", NULL, 0, 10};
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 0 && page.n == 0);
        dcmp_browse_page_free(&page);
        flt.state = "failed";
        flt.name = "gamma";
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 0 && page.n == 0);
        dcmp_browse_page_free(&page);
    }
    /* queued list with a name: walked */
    {
        const char *const names[] = {"q1", "q2", "q1", "q1"};
        char qids[4][DCMP_ID_LEN];
        for (i = 0; i < 4; i++) {
            snprintf(lines[i], sizeof lines[i], "%s|testmods.noop|waiting|", names[i]);
            specs[i].line = lines[i];
            CHECK(jobs_graph(&f, "", &specs[i], 1, &qids[i]) == 0);
            usleep(2000); /* distinct creation ms: the order is the order of enqueue */
        }
        dcmp_browse_filter flt = {"waiting", "queued", "q1", NULL, 0, 2};
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 3 && page.n == 2 && page.exact);
        CHECK(page.n == 2 && strcmp(page.rows[0].id, qids[3]) == 0 &&
              strcmp(page.rows[1].id, qids[2]) == 0);
        dcmp_browse_page_free(&page);
        flt.name = NULL;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 4 && page.n == 2 && strcmp(page.rows[0].id, qids[3]) == 0);
        dcmp_browse_page_free(&page);
    }
}

static void test_filter_errors(void)
{
    static const struct {
        dcmp_browse_filter f;
        const char *field;
    } bad[] = {
        {{"default", NULL, NULL, NULL, 0, 10}, "state: required"},
        {{NULL, "failed", NULL, NULL, 0, 10}, "queue: required"},
        {{NULL, NULL, "x", NULL, 0, 10}, "queue: required"},
        {{"de fault", "failed", NULL, NULL, 0, 10}, "queue: letters"},
        {{"default", "lost", NULL, NULL, 0, 10}, "state: one of"},
        {{"default", "failed", "a\nb", NULL, 0, 10}, "name: control"},
        {{NULL, NULL, NULL, "1.2.3/../x", 0, 10}, "series: letters"},
        {{"default", "failed", NULL, NULL, -1, 10}, "offset"},
        {{"default", "failed", NULL, NULL, 0, 0}, "count"},
        {{"default", "failed", NULL, NULL, 0, DCMP_BROWSE_MAX_PAGE + 1}, "count"},
    };
    char err[DCMP_ERR_LEN];
    dcmp_browse_page page;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK(dcmp_browse_check_filter(&bad[i].f, err) == -1);
        CHECK_CONTAINS(err, bad[i].field);
        CHECK(dcmp_browse_jobs(f.q, &bad[i].f, &page) == -1);
        CHECK_CONTAINS(dcmp_queue_errstr(f.q), bad[i].field);
    }
}

/* Events: the series index, the list with decisions, one event with its jobs' states. */
static void test_events(void)
{
    const char *jobs[] = {"anon|testmods.noop|default|", "seg|testmods.fail|default|0",
                          "report|testmods.noop|default|1"};
    const char *other[] = {"anon|testmods.noop|default|"};
    char ev[DCMP_ID_LEN], ev2[DCMP_ID_LEN], ids[3][DCMP_ID_LEN], ids2[1][DCMP_ID_LEN];
    const char *body = "{\"seriesId\":\"ser-1\",\"patientId\":\"p-orthanc\",\"studyId\":\"st-1\","
                       "\"tags\":{\"PatientID\":\"PAT001\",\"Modality\":\"MR\","
                       "\"SeriesDescription\":\"T1 axial\",\"StudyID\":\"42\"}}";
    const char *extra = "{\"jobName\":\"ctonly\",\"source\":\"registry/ctonly/settings.json\","
                        "\"group\":\"registry\",\"decision\":\"skipped\",\"reason\":\"the "
                        "callback said no\",\"jobId\":null},{\"jobName\":\"broken\",\"source\":"
                        "\"registry/broken/settings.json\",\"group\":\"registry\",\"decision\":"
                        "\"error\",\"reason\":\"crashed: signal 11 (Segmentation fault)\","
                        "\"jobId\":null}";
    dcmp_browse_page page;
    cJSON *out = NULL, *e, *d, *j;
    int found = 0;

    CHECK(jobs_event(&f, "ser-1", body, jobs, 3, extra, ev, ids) == 0);
    /* run anon (ok) and seg (fails): report is blocked */
    CHECK(jobs_run(&f, "runner", "default", 1, NULL) == 0); /* s-queued, made earlier */
    CHECK(jobs_run(&f, "runner", "default", 1, NULL) == 0); /* anon */
    CHECK(jobs_run(&f, "runner", "default", 0, "segmentation failed") == 0);
    CHECK(jobs_event(&f, "ser-2", "{\"seriesId\":\"ser-2\",\"Modality\":\"CT\"}", other, 1, "", ev2,
                     ids2) == 0);

    /* the series filter: any queue and state, narrowed by state */
    {
        dcmp_browse_filter flt = {NULL, NULL, NULL, "ser-1", 0, 50};
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 3 && page.n == 3 && page.exact);
        for (int i = 0; i < page.n; i++) {
            CHECK_STR(page.rows[i].series, "ser-1");
            CHECK_STR(page.rows[i].event, ev);
        }
        dcmp_browse_page_free(&page);
        flt.state = "blocked";
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 1 && page.n == 1 && strcmp(page.rows[0].id, ids[2]) == 0);
        dcmp_browse_page_free(&page);
        flt.state = NULL;
        flt.name = "anon";
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 1 && page.n == 1 && strcmp(page.rows[0].state, "finished") == 0);
        dcmp_browse_page_free(&page);
        flt.series = "ser-none";
        flt.name = NULL;
        CHECK(dcmp_browse_jobs(f.q, &flt, &page) == 0);
        CHECK(page.total == 0 && page.n == 0);
        dcmp_browse_page_free(&page);
    }

    CHECK(dcmp_browse_events(f.q, 0, 10, &out) == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(out, "total")) == 2);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "events"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")), ev2); /* newest first */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "modality")), "CT");
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "events"), 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")), ev);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "seriesId")), "ser-1");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "patientId")), "PAT001");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "studyId")), "42");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "description")), "T1 axial");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "modality")), "MR");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "state")), "planned");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "jobCount")) == 3);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "receivedAt")) > 1e12);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(e, "decisions")) == 5);
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(e, "decisions"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(d, "jobName"));
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(d, "state"));
        if (name && strcmp(name, "seg") == 0) {
            CHECK_STR(state, "failed");
            found++;
        } else if (name && strcmp(name, "broken") == 0) {
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d, "decision")), "error");
            CHECK_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(d, "reason")), "signal 11");
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(d, "jobId")));
            found++;
        }
    }
    CHECK(found == 2);
    cJSON_Delete(out);
    CHECK(dcmp_browse_events(f.q, 1, 1, &out) == 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(out, "events")) == 1);
    cJSON_Delete(out);

    CHECK(dcmp_browse_event(f.q, ev, &out) == 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "patientId")), "PAT001");
    CHECK_STR(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "body"), "studyId")),
        "st-1");
    j = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "plan"), "jobs");
    CHECK(cJSON_GetArraySize(j) == 3);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "state")),
              "finished");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "state")),
              "failed");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "state")),
              "blocked");
    cJSON_Delete(out);
    CHECK(dcmp_browse_event(f.q, "no-such-event", &out) == 0 && out == NULL);
}

static void test_job_detail(void)
{
    dcmp_browse_detail d;

    CHECK(dcmp_browse_job(f.q, st.failed, &d) == 1);
    CHECK_STR(d.job.state, "failed");
    CHECK_STR(d.job.name, "s-failed");
    CHECK_CONTAINS(d.job.error, "no pixels");
    CHECK_CONTAINS(d.job.log, "Traceback");
    CHECK_CONTAINS(d.job.kwargs, "\"Modality\":\"CT\"");
    CHECK(d.ndeps == 0 && d.ndependents == 1);
    CHECK(d.ndependents == 1 && strcmp(d.dependents[0].id, st.blocked) == 0 &&
          strcmp(d.dependents[0].state, "blocked") == 0 &&
          strcmp(d.dependents[0].name, "s-blocked") == 0);
    dcmp_browse_detail_free(&d);
    CHECK(dcmp_browse_job(f.q, st.deferred, &d) == 1);
    CHECK(d.ndeps == 1 && strcmp(d.deps[0].id, st.started) == 0 &&
          strcmp(d.deps[0].state, "started") == 0);
    dcmp_browse_detail_free(&d);
    CHECK(dcmp_browse_job(f.q, "nope", &d) == 0);
}

static void test_requeue_failed(void)
{
    dcmp_browse_queue *qs = NULL;
    const dcmp_browse_queue *b;
    int64_t n = -1;
    char state[16];
    int nq = 0;

    /* 120 failed in bulk: all requeued */
    CHECK(dcmp_browse_requeue_failed(f.q, "bulk", &n) == 0);
    CHECK(n == 120);
    CHECK(dcmp_browse_queues(f.q, &qs, &nq, NULL) == 0);
    b = find_queue(qs, nq, "bulk");
    CHECK(b && b->count[DCMP_BROWSE_FAILED] == 0 && b->count[DCMP_BROWSE_QUEUED] == 120);
    free(qs);
    /* default: s-failed requeued, its blocked dependent deferred again */
    CHECK(dcmp_browse_requeue_failed(f.q, "default", &n) == 0);
    CHECK(n == 2); /* s-failed and seg */
    CHECK(fixture_state(&f, st.failed, state) == 0);
    CHECK_STR(state, "queued");
    CHECK(fixture_state(&f, st.blocked, state) == 0);
    CHECK_STR(state, "deferred");
    CHECK(dcmp_browse_requeue_failed(f.q, "nosuch", &n) == 0 && n == 0);
    CHECK(dcmp_browse_requeue_failed(f.q, "bad queue", &n) == -1);
}

static void test_empty(void)
{
    dcmp_browse_queue *qs = NULL;
    const dcmp_browse_queue *b;
    int64_t n = -1, canceled = -1;
    char state[16];
    int nq = 0;

    /* bulk: 120 queued jobs deleted, with their hashes and index entries */
    CHECK(raw_int("ZCARD dcmp:idx:name:%s", "alpha") >= 40);
    CHECK(dcmp_browse_empty(f.q, "bulk", "queued", 3600, &n, &canceled) == 0);
    CHECK(n == 120 && canceled == 0);
    CHECK(dcmp_browse_queues(f.q, &qs, &nq, NULL) == 0);
    b = find_queue(qs, nq, "bulk");
    CHECK(b && b->count[DCMP_BROWSE_QUEUED] == 0);
    free(qs);
    CHECK(raw_int("ZCARD dcmp:idx:name:%s", "alpha") == 0);
    /* default's queued jobs: s-failed's requeue is among them, its deferred dependent is
     * canceled with it */
    CHECK(dcmp_browse_empty(f.q, "default", "queued", 3600, &n, &canceled) == 0);
    CHECK(n >= 2 && canceled >= 1);
    CHECK(fixture_state(&f, st.failed, state) == 0);
    CHECK_STR(state, "");
    CHECK(fixture_state(&f, st.blocked, state) == 0);
    CHECK_STR(state, "canceled");
    CHECK(dcmp_browse_empty(f.q, "default", "started", 3600, &n, &canceled) == -1);
    CHECK_CONTAINS(dcmp_queue_errstr(f.q), "state");
    CHECK(dcmp_browse_empty(f.q, "default", "canceled", 3600, &n, NULL) == 0 && n >= 2);
}

static void test_samples(void)
{
    cJSON *h = NULL, *s;
    int taken = -1;

    CHECK(dcmp_browse_sample(f.q, 1000, 5, &taken) == 0 && taken == 1);
    CHECK(dcmp_browse_sample(f.q, 1000, 5, &taken) == 0 && taken == 0); /* too soon */
    usleep(1000 * 1000);
    CHECK(dcmp_browse_sample(f.q, 1000, 5, &taken) == 0 && taken == 1);
    CHECK(dcmp_browse_history(f.q, 0, 5, &h) == 0);
    CHECK(cJSON_GetArraySize(h) == 2);
    s = cJSON_GetArrayItem(h, 1);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "t")) >
          cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "t")));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "dt")) >= 900);
    for (int i = 1; i < DCMP_BROWSE_NSTATES; i++)
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(s, dcmp_browse_states[i])));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "started")) == 1);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(s, "done")));
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(s, "depth")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "depth"), "default")));
    cJSON_Delete(h);
    /* the cap: 7 samples 3 ms apart, 5 kept */
    for (int i = 0; i < 7; i++) {
        usleep(3000);
        CHECK(dcmp_browse_sample(f.q, 1, 5, &taken) == 0 && taken == 1);
    }
    CHECK(raw_int("LLEN dcmp:dashboard:samples%s", "") == 5);
    CHECK(dcmp_browse_history(f.q, (int64_t)time(NULL) * 1000 + 60000, 5, &h) == 0);
    CHECK(cJSON_GetArraySize(h) == 0);
    cJSON_Delete(h);
    CHECK(dcmp_browse_names(f.q, 100, &h) == 0);
    CHECK(cJSON_GetArraySize(h) >= 5);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(h, 0)), "alpha");
    cJSON_Delete(h);
}

/* Entries of expired jobs leave the name index by sampling at enqueue. */
static void test_index_sweep(void)
{
    jobs_spec spec = {"sweep|testmods.noop|sweepq|", 0, 0};
    char ids[1][DCMP_ID_LEN], key[64];
    int i;

    for (i = 0; i < 50; i++) {
        CHECK(jobs_graph(&f, "", &spec, 1, ids) == 0);
        snprintf(key, sizeof key, "dcmp:job:%s", ids[0]);
        CHECK(raw_int("DEL %s", key) == 1); /* as if it expired */
    }
    /* each enqueue drops up to two dead entries: far fewer than 50 remain */
    CHECK(raw_int("ZCARD dcmp:idx:name:%s", "sweep") < 20);
}

/* In a graph of three names, one name's index is swept per graph (six entries looked at),
 * in turn: every index still loses its dead entries, and every name is listed. */
static void test_index_sweep_graph(void)
{
    static const char *const names[] = {"sweepa", "sweepb", "sweepc"};
    jobs_spec spec[3] = {{"sweepa|testmods.noop|sweepq|", 0, 0},
                         {"sweepb|testmods.noop|sweepq|0", 0, 0},
                         {"sweepc|testmods.noop|sweepq|0,1", 0, 0}};
    char ids[3][DCMP_ID_LEN], key[64];
    cJSON *h;
    int i, k;

    for (i = 0; i < 60; i++) {
        CHECK(jobs_graph(&f, "", spec, 3, ids) == 0);
        for (k = 0; k < 3; k++) {
            snprintf(key, sizeof key, "dcmp:job:%s", ids[k]);
            CHECK(raw_int("DEL %s", key) == 1); /* as if it expired */
        }
    }
    CHECK(dcmp_browse_names(f.q, 1000, &h) == 0);
    for (k = 0; k < 3; k++) {
        int listed = 0, j;
        /* 60 entries each without the sweep; about 3 with it (a picked index loses up to 6) */
        CHECK(raw_int("ZCARD dcmp:idx:name:%s", names[k]) < 30);
        for (j = 0; j < cJSON_GetArraySize(h); j++)
            listed |= strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(h, j)), names[k]) == 0;
        CHECK(listed);
    }
    cJSON_Delete(h);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    if (jobs_every_state(&f, "default", &st) < 0) {
        fprintf(stderr, "cannot make jobs in every state\n");
        fixture_stop(&f, 1);
        return 1;
    }
    RUN(test_counts);
    RUN(test_workers);
    RUN(test_page_each_state);
    RUN(test_pages_and_names);
    RUN(test_filter_errors);
    RUN(test_events);
    RUN(test_job_detail);
    RUN(test_requeue_failed);
    RUN(test_empty);
    RUN(test_samples);
    RUN(test_index_sweep);
    RUN(test_index_sweep_graph);
    fixture_stop(&f, harness_failed > 0);
    return HARNESS_RESULT();
}
