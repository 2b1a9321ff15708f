/* test_api.c -- dcmp-dashboard's JSON API over real HTTP against a real redis-server holding
 * jobs in every state and events: every GET route, the errors (400 naming the parameter, 404,
 * 405, 413, 414), the actions with the login, the CSRF token, Origin/Referer and the read-only
 * mode, a requeued job run again by a real worker, /health with Redis down, the start-up
 * checks. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "browse.h"
#include "dash.h"
#include "flood.h"
#include "harness.h"
#include "jobs.h"
#include "jsonw.h"

static fixture f;
static jobs_states st;
static dash d;
static dash_reply *rep; /* large: allocated once */
static char ev[DCMP_ID_LEN], ev_jobs[2][DCMP_ID_LEN];
static flood fl;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *field(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

static double num(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));
}

/* GET path: expects status; returns the JSON (new) or NULL. */
static cJSON *get(const char *path, long want)
{
    long status = 0;
    cJSON *o = dash_json(&d, path, NULL, &status);

    if (status != want)
        fprintf(stderr, "GET %s: %ld, expected %ld\n", path, status, want);
    CHECK(status == want);
    CHECK(o != NULL);
    return o;
}

/* POST with the page's token and Origin. Returns the status; the body is in rep. */
static long post(dash *to, const char *path, const char *basic)
{
    char token[200], origin[100];
    const char *h[] = {token, origin, NULL};

    snprintf(token, sizeof token, "X-CSRF-Token: %s", to->csrf);
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d", to->port);
    return dash_http(to, "POST", path, h, basic, rep);
}

static void test_queues_workers(void)
{
    cJSON *o = get("/api/queues", 200), *q, *w;
    int found = 0, i;

    cJSON_ArrayForEach(q, cJSON_GetObjectItem(o, "queues"))
    {
        if (strcmp(field(q, "name"), "default") != 0)
            continue;
        found = 1;
        for (i = 0; i < DCMP_BROWSE_NSTATES; i++)
            CHECK(num(q, dcmp_browse_states[i]) >= 1);
    }
    CHECK(found);
    cJSON_Delete(o);
    o = get("/api/workers", 200);
    found = 0;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(o, "workers"))
    {
        if (strcmp(field(w, "name"), "holder") == 0) {
            CHECK_STR(field(w, "state"), "busy");
            CHECK_STR(field(w, "currentJob"), st.started);
            CHECK_STR(field(w, "queues"), "default");
            CHECK(num(w, "lastHeartbeat") > 1e12);
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(w, "processed")));
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(w, "failed")));
            found = 1;
        }
    }
    CHECK(found);
    cJSON_Delete(o);
}

static void test_jobs_pages(void)
{
    char path[256];
    cJSON *o, *j;

    snprintf(path, sizeof path, "/api/jobs?queue=default&state=failed&page=1&perPage=10");
    o = get(path, 200);
    CHECK(num(o, "total") >= 1 && num(o, "page") == 1 && num(o, "perPage") == 10);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "exact")));
    j = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0);
    CHECK_STR(field(j, "state"), "failed");
    CHECK(field(j, "id") && field(j, "jobName") && field(j, "queue") && field(j, "eventId") &&
          field(j, "seriesId") && field(j, "error"));
    CHECK(num(j, "createdAt") > 1e12 && num(j, "startedAt") > 1e12 && num(j, "endedAt") > 1e12);
    CHECK(num(j, "attempts") == 1);
    cJSON_Delete(o);

    /* a queued job has not started: null times */
    o = get("/api/jobs?queue=default&state=queued", 200);
    j = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "startedAt")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "endedAt")));
    cJSON_Delete(o);

    /* name and series filters */
    o = get("/api/jobs?queue=default&state=failed&name=s-failed", 200);
    CHECK(num(o, "total") == 1);
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0), "id"), st.failed);
    cJSON_Delete(o);
    o = get("/api/jobs?queue=default&state=failed&name=nobody", 200);
    CHECK(num(o, "total") == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(o, "jobs")) == 0);
    cJSON_Delete(o);
    o = get("/api/jobs?series=ser-api", 200);
    CHECK(num(o, "total") == 2);
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0), "seriesId"), "ser-api");
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0), "eventId"), ev);
    cJSON_Delete(o);
    /* a page past the end */
    o = get("/api/jobs?queue=default&state=failed&page=999", 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "jobs")) == 0 && num(o, "total") >= 1);
    cJSON_Delete(o);
}

/* Every bad parameter is a 400 whose message names it. */
static void test_bad_params(void)
{
    static const struct {
        const char *path, *names;
    } bad[] = {
        {"/api/jobs?queue=default", "state"},
        {"/api/jobs?state=failed", "queue"},
        {"/api/jobs", "queue"},
        {"/api/jobs?queue=de%20fault&state=failed", "queue"},
        {"/api/jobs?queue=default&state=lost", "state"},
        {"/api/jobs?queue=default&state=failed&page=0", "page"},
        {"/api/jobs?queue=default&state=failed&page=-1", "page"},
        {"/api/jobs?queue=default&state=failed&page=1x", "page"},
        {"/api/jobs?queue=default&state=failed&page=99999999999999999999", "page"},
        {"/api/jobs?queue=default&state=failed&perPage=0", "perPage"},
        {"/api/jobs?queue=default&state=failed&perPage=201", "perPage"},
        {"/api/jobs?queue=default&state=failed&name=a%0Ab", "name"},
        {"/api/jobs?series=a/b", "series"},
        {"/api/jobs?queue=default&state=failed&color=red", "color"},
        {"/api/jobs?queue=default&state=failed&state=finished", "state"},
        {"/api/events?page=zero", "page"},
        {"/api/events?perPage=1000", "perPage"},
        {"/api/events?queue=x", "queue"},
        {"/api/queues?x=1", "x"},
        {"/api/jobs/abc?verbose=1", "verbose"},
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *o = get(bad[i].path, 400);
        const char *e = field(o, "error");
        CHECK(e != NULL && strncmp(e, bad[i].names, strlen(bad[i].names)) == 0);
        if (e == NULL || strncmp(e, bad[i].names, strlen(bad[i].names)) != 0)
            fprintf(stderr, "%s: \"%s\"\n", bad[i].path, e ? e : "(none)");
        cJSON_Delete(o);
    }
    /* more than 16 parameters */
    {
        char path[512] = "/api/events?";
        for (i = 0; i < 20; i++)
            snprintf(path + strlen(path), sizeof path - strlen(path), "p%zu=1&", i);
        cJSON *o = get(path, 400);
        CHECK_CONTAINS(field(o, "error"), "too many");
        cJSON_Delete(o);
    }
}

static void test_not_found_and_methods(void)
{
    cJSON *o;
    char path[4096];

    o = get("/api/jobs/no-such-job", 404);
    CHECK_CONTAINS(field(o, "error"), "no job no-such-job");
    cJSON_Delete(o);
    o = get("/api/events/no-such-event", 404);
    CHECK_CONTAINS(field(o, "error"), "no event");
    cJSON_Delete(o);
    o = get("/api/nothing", 404);
    CHECK_STR(field(o, "error"), "no such path");
    cJSON_Delete(o);
    o = get("/api/jobs/a/b/c", 404);
    cJSON_Delete(o);
    o = get("/api/jobs/bad!id", 404);
    cJSON_Delete(o);
    /* a path of a POST route read with GET, and the other way round */
    CHECK(dash_http(&d, "GET", "/api/jobs/x/requeue", NULL, NULL, rep) == 405);
    CHECK_CONTAINS(rep->headers, "Allow: POST");
    CHECK_CONTAINS(rep->body, "\"error\"");
    CHECK(dash_http(&d, "POST", "/api/queues", NULL, NULL, rep) == 405);
    CHECK_CONTAINS(rep->headers, "Allow: GET");
    CHECK(dash_http(&d, "DELETE", "/api/jobs/x", NULL, NULL, rep) == 405);
    /* a path over 2048 bytes */
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[3000] = '\0';
    CHECK(dash_http(&d, "GET", path, NULL, NULL, rep) == 414);
}

static void test_job_detail(void)
{
    char path[128];
    cJSON *o, *kw, *a;

    snprintf(path, sizeof path, "/api/jobs/%s", st.failed);
    o = get(path, 200);
    CHECK_STR(field(o, "id"), st.failed);
    CHECK_STR(field(o, "jobName"), "s-failed");
    CHECK_STR(field(o, "function"), "testmods.fail");
    CHECK_STR(field(o, "state"), "failed");
    CHECK_STR(field(o, "worker"), "runner");
    CHECK_CONTAINS(field(o, "error"), "no pixels");
    CHECK_CONTAINS(field(o, "log"), "Traceback");
    CHECK(num(o, "attempts") == 1 && num(o, "timeout") == 60);
    CHECK(num(o, "enqueuedAt") > 1e12);
    kw = cJSON_GetObjectItem(o, "kwargs");
    CHECK(cJSON_IsObject(kw));
    CHECK_STR(field(cJSON_GetObjectItem(kw, "headers"), "Modality"), "CT");
    CHECK(num(cJSON_GetObjectItem(kw, "params"), "until") == 2);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(kw, "added_params")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "dependencies")) == 0);
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "dependents"), 0), "id"), st.blocked);
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "dependents"), 0), "state"),
              "blocked");
    a = cJSON_GetObjectItem(o, "actions");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "requeue")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "cancel")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "delete")));
    cJSON_Delete(o);
    /* a running job: nothing allowed */
    snprintf(path, sizeof path, "/api/jobs/%s", st.started);
    o = get(path, 200);
    a = cJSON_GetObjectItem(o, "actions");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a, "requeue")) &&
          cJSON_IsFalse(cJSON_GetObjectItem(a, "cancel")) &&
          cJSON_IsFalse(cJSON_GetObjectItem(a, "delete")));
    CHECK_STR(field(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "dependents"), 0), "state"),
              "deferred");
    cJSON_Delete(o);
    /* a finished job's result is JSON */
    snprintf(path, sizeof path, "/api/jobs/%s", st.finished);
    o = get(path, 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"), "ok")));
    cJSON_Delete(o);
}

static void test_events(void)
{
    char path[128];
    cJSON *o, *e, *jobs;

    o = get("/api/events?page=1&perPage=5", 200);
    CHECK(num(o, "total") == 1 && num(o, "perPage") == 5);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "events"), 0);
    CHECK_STR(field(e, "id"), ev);
    CHECK_STR(field(e, "seriesId"), "ser-api");
    CHECK_STR(field(e, "modality"), "US");
    CHECK_STR(field(e, "description"), "Liver");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(e, "decisions")) == 3);
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/events/%s", ev);
    o = get(path, 200);
    CHECK_STR(field(o, "state"), "planned");
    CHECK_STR(field(cJSON_GetObjectItem(o, "body"), "seriesId"), "ser-api");
    jobs = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "plan"), "jobs");
    CHECK(cJSON_GetArraySize(jobs) == 2);
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 0), "state"), "queued");
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 1), "state"), "deferred");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 1), "dependsOnIds")) ==
          1);
    cJSON_Delete(o);
}

/* Old records may hold bytes that are not UTF-8 (stored before the intake refused them): the
 * API replaces each with U+FFFD, so what it serves is always valid UTF-8 JSON. */
static void test_invalid_utf8_record(void)
{
    char key[DCMP_ID_LEN + 16], path[128], *old = NULL;
    const char *set[4] = {"HSET", key, "error", "bad \xff\xfe byte"};
    struct redisReply *r;
    const unsigned char *p;
    cJSON *o;

    snprintf(key, sizeof key, "dcmp:event:%s", ev);
    CHECK(dcmp_queue_event_field(f.q, ev, "error", &old) >= 0);
    CHECK((r = dcmp_queue_command(f.q, 4, set, NULL)) != NULL);
    freeReplyObject(r);
    snprintf(path, sizeof path, "/api/events/%s", ev);
    CHECK(dash_http(&d, "GET", path, NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "\"error\":\"bad \xef\xbf\xbd\xef\xbf\xbd byte\"");
    for (p = (const unsigned char *)rep->body; *p;) {
        size_t k = dcmp_jsonw_utf8(p, strlen((const char *)p));
        CHECK(k > 0);
        p += k ? k : 1;
    }
    o = get("/api/events?page=1&perPage=5", 200);
    cJSON_Delete(o);
    set[3] = old ? old : "";
    CHECK((r = dcmp_queue_command(f.q, 4, set, NULL)) != NULL);
    freeReplyObject(r);
    free(old);
}

static void test_page_history_names_metrics(void)
{
    cJSON *o;

    CHECK(dash_http(&d, "GET", "/", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->headers, "Content-Type: text/html");
    CHECK_CONTAINS(rep->headers, "Content-Security-Policy: default-src 'none'; script-src 'self'");
    CHECK_CONTAINS(rep->headers, "X-Frame-Options: DENY");
    CHECK_CONTAINS(rep->body, "\"loopbackOnly\":true");
    CHECK_CONTAINS(rep->body, "\"readonly\":false");
    CHECK(strstr(rep->body, "{{CONFIG}}") == NULL);
    CHECK(dash_http(&d, "GET", "/app.js", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->headers, "text/javascript");
    CHECK_CONTAINS(rep->body, "textContent");
    CHECK(dash_http(&d, "GET", "/style.css", NULL, NULL, rep) == 200);
    CHECK(dash_http(&d, "GET", "/favicon.svg", NULL, NULL, rep) == 200);
    o = get("/api/history", 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "samples")) >= 1);
    CHECK(num(o, "interval") == 1000);
    cJSON_Delete(o);
    o = get("/api/names", 200);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "names")) >= 8);
    cJSON_Delete(o);
    o = get("/health", 200);
    CHECK_STR(field(o, "status"), "ok");
    cJSON_Delete(o);
    CHECK(dash_http(&d, "GET", "/metrics", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "dcmp_queue_jobs{queue=\"default\",state=\"failed\"} 1\n");
    CHECK_CONTAINS(rep->body, "dcmp_workers{state=\"busy\"} 1\n");
    CHECK_CONTAINS(rep->body, "dcmp_redis_up 1\n");
    CHECK_CONTAINS(rep->body, "dcmp_dashboard_requests_total{code=\"4xx\"}");
}

/* Actions without the token, with a wrong one, from another origin: refused, nothing done. */
static void test_csrf(void)
{
    char path[128], token[200], origin[100];
    const char *wrong_token[] = {"X-CSRF-Token: 0000", NULL};
    const char *no_origin[] = {token, NULL};
    const char *bad_origin[] = {token, "Origin: http://evil.example", NULL};
    const char *bad_referer[] = {token, "Referer: http://127.0.0.1:1/page", NULL};
    const char *ok_referer[] = {token, origin, NULL};
    char state[16];

    snprintf(path, sizeof path, "/api/jobs/%s/requeue", st.failed);
    snprintf(token, sizeof token, "X-CSRF-Token: %s", d.csrf);
    snprintf(origin, sizeof origin, "Referer: http://127.0.0.1:%d/#/jobs", d.port);
    CHECK(dash_http(&d, "POST", path, NULL, NULL, rep) == 403);
    CHECK_CONTAINS(rep->body, "X-CSRF-Token");
    CHECK(dash_http(&d, "POST", path, wrong_token, NULL, rep) == 403);
    CHECK(dash_http(&d, "POST", path, bad_origin, NULL, rep) == 403);
    CHECK_CONTAINS(rep->body, "Origin is not this dashboard");
    CHECK(dash_http(&d, "POST", path, bad_referer, NULL, rep) == 403);
    CHECK_CONTAINS(rep->body, "Referer");
    CHECK(fixture_state(&f, st.failed, state) == 0);
    CHECK_STR(state, "failed");
    /* a client without Origin or Referer (curl, the CLI) with the token is accepted; so is a
     * browser's Referer of this dashboard: tested below with real actions */
    (void)no_origin;
    (void)ok_referer;
    CHECK(dash_http(&d, "GET", "/metrics", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "dcmp_dashboard_refused_total{reason=\"csrf\"} 2\n");
    CHECK_CONTAINS(rep->body, "dcmp_dashboard_refused_total{reason=\"origin\"} 2\n");
}

/* DNS rebinding: a page of evil.example whose name now points here sends Host and Origin of
 * evil.example; the pair agrees, but the Host is not this dashboard's: refused (421), nothing
 * done, nothing read. The dashboard's own names pass (the actions below). */
static void test_rebinding(void)
{
    char path[128], token[200], state[16];
    const char *forged[] = {token, "Host: evil.example:8080", "Origin: http://evil.example:8080",
                            NULL};
    const char *forged_get[] = {"Host: evil.example", NULL};
    const char *own[] = {"Host: localhost:1234", NULL};
    const char *own6[] = {"Host: [::1]", NULL};
    const char *address[] = {"Host: 192.0.2.1:8080", NULL};

    snprintf(path, sizeof path, "/api/jobs/%s/requeue", st.failed);
    snprintf(token, sizeof token, "X-CSRF-Token: %s", d.csrf);
    CHECK(dash_http(&d, "POST", path, forged, NULL, rep) == 421);
    CHECK_CONTAINS(rep->body, "Host \\\"evil.example:8080\\\" is not a name of this dashboard");
    CHECK(fixture_state(&f, st.failed, state) == 0);
    CHECK_STR(state, "failed");
    CHECK(dash_http(&d, "GET", "/api/jobs?state=failed&queue=default", forged_get, NULL, rep) ==
          421);
    CHECK(strstr(rep->body, st.failed) == NULL);
    CHECK(dash_http(&d, "GET", "/", forged_get, NULL, rep) == 421);
    CHECK(strstr(rep->body, "csrf") == NULL);
    CHECK(dash_http(&d, "GET", "/api/queues", own, NULL, rep) == 200);
    CHECK(dash_http(&d, "GET", "/api/queues", own6, NULL, rep) == 200);
    /* listening on loopback: another address is not one of its names either */
    CHECK(dash_http(&d, "GET", "/api/queues", address, NULL, rep) == 421);
    CHECK(dash_http(&d, "GET", "/health", forged_get, NULL, rep) == 200);
    CHECK(dash_log_has(&d, "refused 421 to 127.0.0.1: Host \"evil.example:8080\""));
    CHECK(dash_http(&d, "GET", "/metrics", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "dcmp_dashboard_refused_total{reason=\"host\"} 4\n");
}

static void test_actions(void)
{
    char path[128], state[16], token[200], referer[100];
    const char *by_referer[] = {token, referer, NULL};
    cJSON *o;

    snprintf(token, sizeof token, "X-CSRF-Token: %s", d.csrf);
    snprintf(referer, sizeof referer, "Referer: http://127.0.0.1:%d/#/jobs", d.port);

    /* requeue: failed -> queued; its blocked dependent deferred again */
    snprintf(path, sizeof path, "/api/jobs/%s/requeue", st.failed);
    CHECK(dash_http(&d, "POST", path, by_referer, NULL, rep) == 200);
    o = cJSON_Parse(rep->body);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
    CHECK_CONTAINS(field(o, "message"), "requeued");
    cJSON_Delete(o);
    CHECK(fixture_state(&f, st.failed, state) == 0);
    CHECK_STR(state, "queued");
    CHECK(fixture_state(&f, st.blocked, state) == 0);
    CHECK_STR(state, "deferred");
    /* again: it is not failed any more */
    CHECK(post(&d, path, NULL) == 409);
    CHECK_CONTAINS(rep->body, "only failed jobs can be requeued");
    CHECK(post(&d, "/api/jobs/nope/requeue", NULL) == 404);
    CHECK(post(&d, "/api/jobs/nope/requeue?x=1", NULL) == 400);

    /* cancel the requeued job: it and its deferred dependent */
    snprintf(path, sizeof path, "/api/jobs/%s/cancel", st.failed);
    CHECK(post(&d, path, NULL) == 200);
    CHECK_CONTAINS(rep->body, "and 1 jobs that depended on it");
    CHECK(fixture_state(&f, st.blocked, state) == 0);
    CHECK_STR(state, "canceled");
    /* a running job cannot be canceled nor deleted */
    snprintf(path, sizeof path, "/api/jobs/%s/cancel", st.started);
    CHECK(post(&d, path, NULL) == 409);
    snprintf(path, sizeof path, "/api/jobs/%s/delete", st.started);
    CHECK(post(&d, path, NULL) == 409);
    /* delete the finished one */
    snprintf(path, sizeof path, "/api/jobs/%s/delete", st.finished);
    CHECK(post(&d, path, NULL) == 200);
    CHECK(fixture_state(&f, st.finished, state) == 0);
    CHECK_STR(state, "");
    snprintf(path, sizeof path, "/api/jobs/%s", st.finished);
    cJSON_Delete(get(path, 404));

    /* empty: queued (default), bad state */
    CHECK(post(&d, "/api/queues/default/empty?state=started", NULL) == 400);
    CHECK_CONTAINS(rep->body, "state");
    CHECK(post(&d, "/api/queues/default/empty?color=1", NULL) == 400);
    CHECK(post(&d, "/api/queues/default/empty", NULL) == 200);
    o = cJSON_Parse(rep->body);
    CHECK(num(o, "count") >= 2); /* s-queued and the event's first job */
    cJSON_Delete(o);
    CHECK(fixture_state(&f, st.queued, state) == 0);
    CHECK_STR(state, "");
    CHECK(fixture_state(&f, ev_jobs[1], state) == 0);
    CHECK_STR(state, "canceled"); /* depended on the event's first job */
    CHECK(post(&d, "/api/queues/default/empty?state=canceled", NULL) == 200);
    CHECK(post(&d, "/api/queues/bad%20name/empty", NULL) == 404);
    /* the log names every action */
    CHECK(dash_log_has(&d, "action /api/queues/default/empty by 127.0.0.1: 200"));
}

/* Requeue-failed with a real worker: the flaky jobs fail once, are requeued through the API
 * and finish. */
static void test_requeue_failed_with_worker(void)
{
    jobs_spec specs[5];
    char ids[5][DCMP_ID_LEN];
    int i;

    for (i = 0; i < 5; i++) {
        specs[i].line = "retake|testmods.flaky|flaky|";
        specs[i].retry_max = specs[i].retry_interval = 0;
    }
    CHECK(jobs_graph(&f, "", specs, 5, ids) == 0);
    CHECK(fixture_worker(&f, "flaky", NULL) > 0);
    CHECK(fixture_wait_count(&f, "flaky", "failed", 5, 20000) == 0);
    CHECK(post(&d, "/api/queues/flaky/requeue-failed", NULL) == 200);
    CHECK_CONTAINS(rep->body, "5 failed jobs of flaky requeued");
    CHECK(fixture_wait_count(&f, "flaky", "finished", 5, 20000) == 0);
    for (i = 0; i < 5; i++)
        CHECK(fixture_wait_state(&f, ids[i], "finished", 1000) == 0);
}

static void test_login(void)
{
    const char *env[] = {"DASHBOARD_USER=admin", "DASHBOARD_PASSWORD=s3cret:pass",
                         "DASHBOARD_BIND=0.0.0.0", NULL};
    dash a;
    long status;
    cJSON *o;

    if (dash_start(&f, &a, env, "admin:s3cret:pass") < 0) {
        CHECK(0);
        return;
    }
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, NULL, rep) == 401);
    CHECK_CONTAINS(rep->headers, "WWW-Authenticate: Basic realm=\"dcm-processor dashboard\"");
    CHECK(dash_http(&a, "GET", "/", NULL, NULL, rep) == 401);
    CHECK(strstr(rep->body, "csrf") == NULL);
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:wrong", rep) == 401);
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, "Admin:s3cret:pass", rep) == 401);
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:s3cret:pas", rep) == 401);
    CHECK(dash_http(&a, "GET", "/api/nothing", NULL, NULL, rep) == 401); /* no path probing */
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:s3cret:pass", rep) == 200);
    CHECK(dash_http(&a, "GET", "/metrics", NULL, NULL, rep) == 401);
    o = dash_json(&a, "/health", NULL, &status); /* for load balancers: no login */
    CHECK(status == 200);
    cJSON_Delete(o);
    CHECK(dash_http(&a, "GET", "/", NULL, "admin:s3cret:pass", rep) == 200);
    CHECK_CONTAINS(rep->body, "\"auth\":true");
    CHECK_CONTAINS(rep->body, "\"loopbackOnly\":false");
    /* an action: the login and the token */
    CHECK(post(&a, "/api/queues/nosuch/requeue-failed", NULL) == 401);
    CHECK(post(&a, "/api/queues/nosuch/requeue-failed", "admin:s3cret:pass") == 200);
    CHECK(dash_http(&a, "POST", "/api/queues/nosuch/requeue-failed", NULL, "admin:s3cret:pass",
                    rep) == 403);
    CHECK(dash_log_has(&a, "action /api/queues/nosuch/requeue-failed by admin@127.0.0.1: 200"));
    CHECK(dash_log_has(&a, "listening on http://0.0.0.0:"));
    CHECK(dash_stop(&a) == 0);
}

/* DASHBOARD_LOGIN_FAILURES=3: three wrong logins from an address, then 429 with Retry-After
 * for it (the right password too), logged once; another address is not affected. A login on
 * every address answers to any address typed, and to the names of DASHBOARD_HOSTS. */
static void test_login_throttle(void)
{
    const char *env[] = {"DASHBOARD_USER=admin",
                         "DASHBOARD_PASSWORD=pw",
                         "DASHBOARD_BIND=0.0.0.0",
                         "DASHBOARD_LOGIN_FAILURES=3",
                         "DASHBOARD_HOSTS=dash.example.org",
                         NULL};
    const char *named[] = {"Host: DASH.example.org:443", NULL};
    const char *address[] = {"Host: 192.0.2.1:8080", NULL};
    const char *other[] = {"Host: other.example.org", NULL};
    dash a;
    int i;

    if (dash_start(&f, &a, env, "admin:pw") < 0) {
        CHECK(0);
        return;
    }
    CHECK(dash_http(&a, "GET", "/api/queues", named, "admin:pw", rep) == 200);
    CHECK(dash_http(&a, "GET", "/api/queues", address, "admin:pw", rep) == 200);
    CHECK(dash_http(&a, "GET", "/api/queues", other, "admin:pw", rep) == 421);
    for (i = 0; i < 5; i++) /* no credentials: a browser's first request, not a failure */
        CHECK(dash_http(&a, "GET", "/api/queues", NULL, NULL, rep) == 401);
    for (i = 0; i < 3; i++)
        CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:guess", rep) == 401);
    for (i = 0; i < 5; i++) {
        CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:guess", rep) == 429);
        CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:pw", rep) == 429);
    }
    CHECK_CONTAINS(rep->headers, "Retry-After: ");
    CHECK(atoi(strstr(rep->headers, "Retry-After: ") + 13) > 0 &&
          atoi(strstr(rep->headers, "Retry-After: ") + 13) <= 20);
    CHECK_CONTAINS(rep->body, "too many failed logins");
    CHECK(dash_http(&a, "GET", "/health", NULL, NULL, rep) == 200);
    /* another address logs in */
    a.source = "127.0.0.2";
    CHECK(dash_http(&a, "GET", "/api/queues", NULL, "admin:pw", rep) == 200);
    CHECK(dash_http(&a, "GET", "/metrics", NULL, "admin:pw", rep) == 200);
    CHECK_CONTAINS(rep->body, "dcmp_dashboard_refused_total{reason=\"login_throttled\"} 10\n");
    a.source = NULL;
    CHECK(dash_log_has(&a, "logins from 127.0.0.1 refused (429)"));
    CHECK(dash_stop(&a) == 0);
    {
        /* once per minute: the ten refusals made one line */
        FILE *fp = fopen(a.log, "r");
        char line[4096];
        int n = 0;
        while (fp && fgets(line, sizeof line, fp))
            n += strstr(line, "refused (429)") != NULL;
        if (fp)
            fclose(fp);
        CHECK(n == 1);
    }
}

/* 2,000 idle connections from another address for 20 s: the page's requests from this one are
 * answered within a few seconds all along and right after. */
static void test_idle_flood(void)
{
    double end, worst = 0, t0;
    int posts = 0, ok = 0;

    CHECK(flood_open(&fl, "127.0.0.2", d.port, 2000) == 2000);
    CHECK(flood_closed_by_server(&fl, 1000) >= 2000 - 32);
    for (end = now_s() + 20; now_s() < end; usleep(500000)) {
        t0 = now_s();
        posts++;
        ok += dash_http(&d, "GET", "/api/queues", NULL, NULL, rep) == 200;
        if (now_s() - t0 > worst)
            worst = now_s() - t0;
    }
    fprintf(stderr, "  during the flood: %d of %d requests answered 200, slowest %.3f s\n", ok,
            posts, worst);
    CHECK(posts >= 20 && ok == posts && worst < 3.0);
    flood_close(&fl);
    t0 = now_s();
    CHECK(dash_http(&d, "GET", "/api/queues", NULL, NULL, rep) == 200);
    CHECK(now_s() - t0 < 3.0);
}

static void test_readonly(void)
{
    const char *env[] = {"DASHBOARD_READONLY=1", NULL};
    char path[128];
    dash r;
    cJSON *o, *a;
    long status;

    if (dash_start(&f, &r, env, NULL) < 0) {
        CHECK(0);
        return;
    }
    CHECK(post(&r, "/api/queues/default/empty?state=failed", NULL) == 403);
    CHECK_CONTAINS(rep->body, "read-only");
    snprintf(path, sizeof path, "/api/jobs/%s", st.scheduled);
    o = dash_json(&r, path, NULL, &status);
    a = cJSON_GetObjectItem(o, "actions");
    CHECK(status == 200 && cJSON_IsFalse(cJSON_GetObjectItem(a, "delete")) &&
          cJSON_IsFalse(cJSON_GetObjectItem(a, "cancel")));
    cJSON_Delete(o);
    CHECK(dash_http(&r, "GET", "/", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "\"readonly\":true");
    CHECK(dash_stop(&r) == 0);
}

/* Start-up: --check, a login half set, a public address without a login. */
static int run_dashboard(const char *const *env, char *out, size_t size)
{
    char *argv[] = {getenv("DCMP_DASHBOARD_BIN"), "--check", NULL}, *envp[16];
    int n = 0;

    envp[n++] = "DCMP_ENV=";
    while (env && *env && n < 15)
        envp[n++] = (char *)*env++;
    envp[n] = NULL;
    return fixture_run(&f, argv, envp, out, size);
}

static void test_startup(void)
{
    const char *open_bind[] = {"DASHBOARD_BIND=0.0.0.0", NULL};
    const char *half[] = {"DASHBOARD_USER=admin", NULL};
    const char *bad[] = {"DASHBOARD_READONLY=perhaps", NULL};
    const char *hosts[] = {"DASHBOARD_HOSTS=Dash.Example.org, [2001:db8::1]", NULL};
    const char *bad_hosts[] = {"DASHBOARD_HOSTS=dash.example.org:8080", NULL};
    char out[4096];

    CHECK(run_dashboard(NULL, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "listen: 127.0.0.1:8080");
    CHECK_CONTAINS(out, "login: none (loopback only)");
    CHECK(run_dashboard(open_bind, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "DASHBOARD_BIND=0.0.0.0 ignored");
    CHECK_CONTAINS(out, "listen: 127.0.0.1:8080");
    CHECK(run_dashboard(half, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "DASHBOARD_USER and DASHBOARD_PASSWORD go together");
    CHECK(run_dashboard(bad, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "DASHBOARD_READONLY");
    CHECK(run_dashboard(hosts, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "hosts: localhost 127.0.0.1 [::1] dash.example.org [2001:db8::1]\n");
    CHECK(run_dashboard(bad_hosts, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "DASHBOARD_HOSTS: \"dash.example.org:8080\"");
}

/* Redis down: /health and the API say so (503), the dashboard lives on and recovers. */
static void test_redis_down(void)
{
    cJSON *o;
    int status;

    kill(f.redis, SIGTERM);
    waitpid(f.redis, &status, 0);
    f.redis = -1;
    o = get("/api/queues", 503);
    CHECK_CONTAINS(field(o, "error"), "redis unavailable");
    cJSON_Delete(o);
    o = get("/health", 503);
    CHECK_STR(field(o, "status"), "degraded");
    cJSON_Delete(o);
    CHECK(dash_http(&d, "GET", "/metrics", NULL, NULL, rep) == 200);
    CHECK_CONTAINS(rep->body, "dcmp_redis_up 0\n");
    CHECK(fixture_redis_restart(&f) == 0);
    cJSON_Delete(get("/health", 200));
    cJSON_Delete(get("/api/queues", 200));
}

int main(void)
{
    const char *env[] = {"DASHBOARD_SAMPLE_INTERVAL=1s", NULL};
    const char *evjobs[] = {"scan|testmods.noop|default|", "measure|testmods.noop|default|0"};
    const char *extra = "{\"jobName\":\"ctonly\",\"source\":\"registry/ctonly/settings.json\","
                        "\"group\":\"registry\",\"decision\":\"skipped\",\"reason\":\"not CT\","
                        "\"jobId\":null}";

    if ((rep = malloc(sizeof *rep)) == NULL || fixture_start(&f) < 0)
        return 1;
    CHECK(jobs_every_state(&f, "default", &st) == 0);
    CHECK(jobs_event(&f, "ser-api",
                     "{\"seriesId\":\"ser-api\",\"tags\":{\"Modality\":\"US\","
                     "\"SeriesDescription\":\"Liver\"}}",
                     evjobs, 2, extra, ev, ev_jobs) == 0);
    if (dash_start(&f, &d, env, NULL) < 0) {
        fixture_stop(&f, 1);
        return 1;
    }
    usleep(1200 * 1000); /* a chart sample */
    RUN(test_queues_workers);
    RUN(test_jobs_pages);
    RUN(test_bad_params);
    RUN(test_not_found_and_methods);
    RUN(test_job_detail);
    RUN(test_events);
    RUN(test_invalid_utf8_record);
    RUN(test_page_history_names_metrics);
    RUN(test_csrf);
    RUN(test_rebinding);
    RUN(test_actions);
    RUN(test_requeue_failed_with_worker);
    RUN(test_login);
    RUN(test_login_throttle);
    RUN(test_idle_flood);
    RUN(test_readonly);
    RUN(test_startup);
    RUN(test_redis_down);
    CHECK(dash_stop(&d) == 0);
    fixture_stop(&f, harness_failed > 0);
    free(rep);
    return HARNESS_RESULT();
}
