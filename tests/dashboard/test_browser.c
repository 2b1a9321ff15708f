/* test_browser.c -- the dashboard in a real browser (Debian's chromium, headless, driven over
 * the DevTools protocol): the overview shows the queues and a failed job; the job opens, is
 * requeued from the page and is seen finishing; events show each service's decision and the
 * job graph, a study (and a patient) event its level, its series and each entry's verdict; the same
 * with a login (a wrong password refused), a CSRF attempt from another origin refused, and a
 * read-only dashboard without actions. A screenshot of each page goes to $DCMP_ARTIFACTS/dashboard/
 * (docs/img/ holds copies). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browse.h"
#include "cdp.h"
#include "dash.h"
#include "harness.h"
#include "jobs.h"

#define WAIT_MS 20000

static fixture f;
static cdp b;
static char artifacts[PATH_MAX];
static dash main_dash;
static char ev_a[DCMP_ID_LEN],
    ids_a[4][DCMP_ID_LEN]; /* anon -> seg (flaky) -> report; anon -> qc */
static char ev_s[DCMP_ID_LEN], ids_s[2][DCMP_ID_LEN]; /* a study event: tumour -> tumour-report */

static char ev_p[DCMP_ID_LEN], ids_p[1][DCMP_ID_LEN]; /* a patient event: followup */

#define STUDY_ID   "5e1c9a2b-7d3f4e60-8a1b2c3d-4e5f6071-8293a4b5"
#define PATIENT_ID "6f2d0b3c-8e4f5a71-9b2c3d4e-5f607182-93a4b5c6"

/* A screenshot of the page as it is (the result of the last action hidden unless keep_toast). */
static void shot(const char *name, int keep_toast)
{
    char path[PATH_MAX + 64];

    if (!keep_toast)
        cdp_true(&b, "(document.getElementById('toast').hidden = true)");
    snprintf(path, sizeof path, "%s/%s.png", artifacts, name);
    CHECK(cdp_screenshot(&b, path) == 0);
}

static int go(dash *d, const char *where)
{
    char url[512];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", d->port, where);
    return cdp_navigate(&b, url);
}

static int wait_for(const char *fmt, const char *a, const char *c)
{
    char expr[2048];

    snprintf(expr, sizeof expr, fmt, a ? a : "", c ? c : "");
    return cdp_wait(&b, expr, WAIT_MS);
}

static int click(const char *selector)
{
    char expr[1024];

    snprintf(expr, sizeof expr,
             "(() => { const e = document.querySelector('%s'); if (!e) return false; e.click(); "
             "return true; })()",
             selector);
    return cdp_true(&b, expr) ? 0 : -1;
}

/* Confirms the page's dialog and waits for the result it shows. */
static int confirm_and_wait(const char *result)
{
    if (cdp_wait(&b, "document.getElementById('confirm').open", WAIT_MS) < 0 ||
        click("#confirm-yes") < 0)
        return -1;
    return wait_for("(() => { const t = document.getElementById('toast'); return !t.hidden && "
                    "t.dataset.kind === 'ok' && t.textContent.includes('%s'); })()",
                    result, NULL);
}

/* Some more history for the pages: a second series fully processed, jobs in "low". */
static void more_data(void)
{
    const char *jobs_b[] = {"anon|testmods.noop|default|", "dcm2nii|testmods.noop|default|0",
                            "brain-seg|testmods.noop|low|1", "report|testmods.noop|default|1,2"};
    char ev[DCMP_ID_LEN], ids[4][DCMP_ID_LEN];

    CHECK(jobs_event(&f, "7f3c1a2e-9b0d4c55-aa01f3e2-1c9d8b7a-00e4f611",
                     "{\"seriesId\":\"7f3c1a2e-9b0d4c55-aa01f3e2-1c9d8b7a-00e4f611\","
                     "\"patientId\":\"p1\",\"tags\":{\"PatientID\":\"ANON-0042\",\"StudyID\":"
                     "\"CT-2291\",\"Modality\":\"CT\",\"SeriesDescription\":\"Head 5mm\"}}",
                     jobs_b, 4,
                     "{\"jobName\":\"mr-only\",\"source\":\"registry/mr-only/settings.json\","
                     "\"group\":\"registry\",\"decision\":\"skipped\",\"reason\":\"callback "
                     "returned false\",\"jobId\":null}",
                     ev, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[3], "finished", WAIT_MS) == 0);
}

/* Six seconds of traffic on "low" (one sample a second): the chart has a shape. */
static void traffic(void)
{
    jobs_spec specs[8];
    char lines[8][64], ids[8][DCMP_ID_LEN];
    int round, i;

    for (round = 0; round < 24; round++) {
        for (i = 0; i < 8; i++) {
            snprintf(lines[i], sizeof lines[i], "%s|testmods.%s|low|",
                     i == 7 && round % 3 == 0 ? "convert" : "thumbnail",
                     i == 7 && round % 3 == 0 ? "fail" : "noop");
            specs[i].line = lines[i];
            specs[i].retry_max = specs[i].retry_interval = 0;
        }
        CHECK(jobs_graph(&f, "", specs, 1 + round % 8, ids) == 0);
        usleep(250000);
    }
}

static void test_overview_requeue(void)
{
    dash *d = &main_dash;
    char sel[256];

    CHECK(go(d, "") == 0);
    CHECK(wait_for("(() => { const a = document.querySelector('#queues tr[data-queue=\"default\"] "
                   "a[data-count=\"failed\"]'); return !!a && a.textContent === '1'; })()",
                   NULL, NULL) == 0);
    CHECK(cdp_true(&b, "document.getElementById('banner').textContent.includes('loopback')"));
    CHECK(cdp_true(&b, "!!document.querySelector('#workers tbody tr')"));
    /* the chart has samples (one a second here) */
    CHECK(wait_for("(() => { location.hash = '#/'; return !!document.querySelector('svg.chart "
                   "path[stroke]'); })()",
                   NULL, NULL) == 0);
    shot("overview", 0);

    CHECK(click("#queues tr[data-queue=\"default\"] a[data-count=\"failed\"]") == 0);
    snprintf(sel, sizeof sel, "#jobs tr[data-job=\"%s\"]", ids_a[1]);
    CHECK(wait_for("!!document.querySelector('#jobs tr[data-job=\"%s\"]')", ids_a[1], NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('#jobs tbody').textContent.includes('not yet')"));
    shot("jobs", 0);

    CHECK(click(sel) == 0);
    CHECK(wait_for("!!document.querySelector('#job-state [data-state=\"failed\"]') && "
                   "document.getElementById('job-error').textContent.includes('not yet')",
                   NULL, NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('h1').textContent.includes('seg')"));
    shot("job-failed", 0);
    CHECK(click("button[data-action=\"requeue\"]") == 0);
    CHECK(confirm_and_wait("requeued") == 0);
    /* the worker runs it again (flaky: the second run succeeds); auto refresh shows it */
    CHECK(wait_for("!!document.querySelector('#job-state [data-state=\"finished\"]')", NULL,
                   NULL) == 0);
    CHECK(fixture_wait_state(&f, ids_a[2], "finished", WAIT_MS) == 0); /* report released */
    shot("job-finished", 1);
}

/* Before the requeue: the series' decisions, and its graph with the failed and blocked job. */
static void test_events(void)
{
    dash *d = &main_dash;

    CHECK(go(d, "#/events") == 0);
    CHECK(wait_for("!!document.querySelector('#events tr[data-event=\"%s\"]')", ev_a, NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('#events').textContent.includes('T1 axial')"));
    CHECK(cdp_true(&b, "!!document.querySelector('#events .chip[data-decision=\"error\"]')"));
    shot("events", 0);
    CHECK(wait_for("(() => { document.querySelector('#events tr[data-event=\"%s\"] a').click(); "
                   "return true; })()",
                   ev_a, NULL) == 0);
    CHECK(wait_for("!!document.querySelector('#dag g.node[data-job=\"%s\"][data-state="
                   "\"failed\"]')",
                   ids_a[1], NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelectorAll('#dag g.node').length === 4"));
    CHECK(cdp_true(&b, "document.querySelectorAll('#dag path.edge').length === 3"));
    CHECK(wait_for("!!document.querySelector('#dag g.node[data-job=\"%s\"][data-state="
                   "\"blocked\"]')",
                   ids_a[2], NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('#decisions').textContent.includes('signal 11')"));
    CHECK(cdp_true(&b, "!!document.querySelector('#decisions tr[data-decision=\"skipped\"]')"));
    /* a study-level service on a series event: says at which level it runs */
    CHECK(cdp_true(&b, "document.querySelector('#decisions tr[data-decision=\"other-level\"]')"
                       ".textContent.includes('runs per study')"));
    CHECK(cdp_true(&b, "document.querySelector('#decisions tr[data-decision=\"other-level\"]')"
                       ".textContent.includes('registry (study)')"));
    shot("event", 0);
}

/* A study event as the scheduler records it (jobs_level_event; the plan's "study" object as
 * src/scheduler/study.c's summary writes it): "tumour" planned with three series, "whole"
 * waiting for Orthanc to call the study stable. A series description holds markup, shown as
 * text. */
static void study_event(void)
{
    const char *jobs[] = {"tumour|testmods.noop|default|", "tumour-report|testmods.noop|default|0"};
    const char *headers =
        "{\"StudyInstanceUID\":\"1.2.826.0.1.3680043.8.498.77\",\"StudyDescription\":\"MR Brain "
        "tumour protocol\",\"PatientID\":\"ANON-0043\",\"studyId\":\"" STUDY_ID "\"}";
    const char *summary =
        "{\"studyId\":\"" STUDY_ID "\",\"version\":\"9f86d081884c7d65\",\"series\":["
        "{\"seriesId\":\"aa11bb22-cc33dd44-ee55ff66-77889900-aabbccdd\",\"SeriesInstanceUID\":"
        "\"1.2.826.0.1.3680043.8.498.77.1\",\"SeriesDescription\":\"AX T1 MPRAGE\","
        "\"instances\":176,\"ready\":true},"
        "{\"seriesId\":\"aa11bb22-cc33dd44-ee55ff66-77889900-aabbccde\",\"SeriesInstanceUID\":"
        "\"1.2.826.0.1.3680043.8.498.77.2\",\"SeriesDescription\":\"AX T2\",\"instances\":30,"
        "\"ready\":true},"
        "{\"seriesId\":\"aa11bb22-cc33dd44-ee55ff66-77889900-aabbccdf\",\"SeriesInstanceUID\":"
        "\"1.2.826.0.1.3680043.8.498.77.3\",\"SeriesDescription\":\"<b>FLAIR</b>\","
        "\"instances\":30,\"ready\":true}],\"decisions\":["
        "{\"jobName\":\"tumour\",\"decision\":\"plan\",\"reason\":\"requires met (2 conditions) "
        "with 3 series\"},{\"jobName\":\"whole\",\"decision\":\"wait\",\"reason\":\"waiting for "
        "the study to be stable, at most until 1h after the first series\",\"waitUntil\":"
        "1796033435}]}";
    const char *extra = "{\"jobName\":\"whole\",\"source\":\"registry/whole/settings.json\","
                        "\"group\":\"registry\",\"trigger\":\"study\",\"decision\":\"not-due\","
                        "\"reason\":\"study wait: waiting for the study to be stable, at most "
                        "until 1h after the first series\",\"jobId\":null}";

    CHECK(jobs_level_event(&f, "study", STUDY_ID, headers, summary, jobs, 2, extra, ev_s, ids_s) ==
          0);
    CHECK(fixture_wait_state(&f, ids_s[1], "finished", WAIT_MS) == 0);
}

/* The decisions table's row of `service` has the study verdict, the decision and the text. */
static int decision_row(const char *service, const char *verdict, const char *decision,
                        const char *text)
{
    char expr[1024];

    snprintf(expr, sizeof expr,
             "(() => { const r = document.querySelector('#decisions tr[data-service=\"%s\"]'); "
             "return !!r && r.dataset.verdict === '%s' && r.dataset.decision === '%s' && "
             "r.textContent.includes('%s'); })()",
             service, verdict, decision, text);
    return cdp_true(&b, expr);
}

/* The study event in the list (its level, study, number of series) and on its own page (its
 * version, series, each entry's verdict beside its decision, the job graph). */
static void test_study_event(void)
{
    char path[128];
    cJSON *m, *row;
    long status;
    int found = 0;

    m = dash_json(&main_dash, "/api/events", NULL, &status);
    CHECK(status == 200);
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(m, "events"))
    {
        const char *level = cJSON_GetStringValue(cJSON_GetObjectItem(row, "level"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(row, "id"));
        if (strcmp(id, ev_s) != 0) {
            CHECK(level && strcmp(level, strcmp(id, ev_p) == 0 ? "patient" : "series") == 0);
            continue;
        }
        found = 1;
        CHECK(level && strcmp(level, "study") == 0);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(row, "seriesCount")) == 3);
        CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "studyDescription")),
                     "MR Brain tumour protocol") == 0);
        CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "patientId")), "ANON-0043") ==
              0);
    }
    CHECK(found);
    cJSON_Delete(m);
    snprintf(path, sizeof path, "/api/events/%s", ev_s);
    m = dash_json(&main_dash, path, NULL, &status);
    CHECK(status == 200 &&
          strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "level")), "study") == 0);
    cJSON_Delete(m);

    CHECK(go(&main_dash, "#/events") == 0);
    CHECK(
        wait_for("!!document.querySelector('#events tr[data-event=\"%s\"][data-level=\"study\"]')",
                 ev_s, NULL) == 0);
    CHECK(wait_for("(() => { const t = document.querySelector('#events tr[data-event=\"%s\"]')"
                   ".textContent; return t.includes('MR Brain tumour protocol') && "
                   "t.includes('3 series'); })()",
                   ev_s, NULL) == 0);
    CHECK(wait_for("document.querySelector('#events tr[data-event=\"%s\"] .level').textContent "
                   "=== 'series'",
                   ev_a, NULL) == 0);
    CHECK(wait_for("(() => { document.querySelector('#events tr[data-event=\"%s\"] a').click(); "
                   "return true; })()",
                   ev_s, NULL) == 0);
    CHECK(wait_for("document.querySelectorAll('#study-series tbody tr').length === 3", NULL,
                   NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('h1').textContent.startsWith('Study')"));
    CHECK(cdp_true(&b, "document.getElementById('study-version').textContent === "
                       "'9f86d081884c7d65'"));
    CHECK(cdp_true(&b, "(() => { const t = document.querySelector('#study-series').textContent; "
                       "return t.includes('1.2.826.0.1.3680043.8.498.77.2') && t.includes('AX "
                       "T1 MPRAGE') && t.includes('176') && "
                       "document.querySelectorAll('#study-series .ready.yes').length === 3; })()"));
    /* markup in a description is text */
    CHECK(cdp_true(&b, "document.querySelector('#study-series').textContent.includes('<b>FLAIR"
                       "</b>') && !document.querySelector('#study-series b')"));
    CHECK(decision_row("tumour", "plan", "scheduled", "requires met (2 conditions) with 3 series"));
    CHECK(decision_row("whole", "wait", "not-due", "waiting for the study to be stable"));
    CHECK(cdp_true(&b, "document.querySelector('#decisions tr[data-service=\"whole\"]')"
                       ".textContent.includes('not due')"));
    CHECK(wait_for("document.querySelectorAll('#dag g.node[data-state=\"finished\"]').length === 2 "
                   "&& document.querySelectorAll('#dag path.edge').length === 1",
                   NULL, NULL) == 0);
    shot("event-study", 0);
}

/* A patient event as the scheduler records it (the plan's "patient" object): "followup"
 * planned with a series of each of two studies. */
static void patient_event(void)
{
    const char *jobs[] = {"followup|testmods.noop|default|"};
    const char *summary =
        "{\"patientId\":\"" PATIENT_ID "\",\"version\":\"0011223344556677\",\"series\":["
        "{\"seriesId\":\"bb11bb22-cc33dd44-ee55ff66-77889900-aabbccdd\",\"studyId\":"
        "\"cc11bb22-cc33dd44-ee55ff66-77889900-00000001\",\"SeriesInstanceUID\":\"1.2.3.1.1\","
        "\"SeriesDescription\":\"AX T1 2025\",\"instances\":20,\"ready\":true},"
        "{\"seriesId\":\"bb11bb22-cc33dd44-ee55ff66-77889900-aabbccde\",\"studyId\":"
        "\"cc11bb22-cc33dd44-ee55ff66-77889900-00000002\",\"SeriesInstanceUID\":\"1.2.3.2.1\","
        "\"SeriesDescription\":\"AX T1 2026\",\"instances\":20,\"ready\":true}],\"decisions\":["
        "{\"jobName\":\"followup\",\"decision\":\"plan\",\"reason\":\"patient stable with 2 "
        "series\"}]}";

    CHECK(jobs_level_event(&f, "patient", PATIENT_ID,
                           "{\"PatientID\":\"ANON-0099\",\"patientId\":\"" PATIENT_ID "\"}",
                           summary, jobs, 1, "", ev_p, ids_p) == 0);
    CHECK(fixture_wait_state(&f, ids_p[0], "finished", WAIT_MS) == 0);
}

/* The patient event: its level and series count in the list; its page names the study of
 * each series. */
static void test_patient_event(void)
{
    char where[128];

    CHECK(go(&main_dash, "#/events") == 0);
    CHECK(wait_for("(() => { const r = document.querySelector('#events tr[data-event=\"%s\"]"
                   "[data-level=\"patient\"]'); return !!r && r.textContent.includes('ANON-0099') "
                   "&& r.textContent.includes('2 series'); })()",
                   ev_p, NULL) == 0);
    snprintf(where, sizeof where, "#/event/%s", ev_p);
    CHECK(go(&main_dash, where) == 0);
    CHECK(wait_for("document.querySelectorAll('#study-series tbody tr').length === 2", NULL,
                   NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelector('h1').textContent.startsWith('Patient') && "
                       "document.querySelector('#study-series thead').textContent"
                       ".startsWith('Study')"));
    CHECK(decision_row("followup", "plan", "scheduled", "patient stable with 2 series"));
}

/* After the requeue: the graph shows every job finished. */
static void test_event_after(void)
{
    char where[128];

    snprintf(where, sizeof where, "#/event/%s", ev_a);
    CHECK(go(&main_dash, where) == 0);
    CHECK(wait_for("!!document.querySelector('#dag g.node[data-job=\"%s\"][data-state="
                   "\"finished\"]')",
                   ids_a[2], NULL) == 0);
    CHECK(cdp_true(&b, "document.querySelectorAll('#dag g.node[data-state=\"finished\"]')"
                       ".length === 4"));
}

/* A page of another origin (here a data: URL, whose Origin is "null") submits a form to the
 * dashboard, the classic CSRF: refused by the Origin check, nothing done. */
static void test_csrf_from_elsewhere(void)
{
    dash *d = &main_dash;
    char params[1024], cond[256];
    long status;
    cJSON *m, *r;
    double before;

    m = dash_json(d, "/api/queues", NULL, &status);
    before = cJSON_GetNumberValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "queues"), 0), "finished"));
    cJSON_Delete(m);
    CHECK(status == 200 && before >= 3);
    snprintf(params, sizeof params,
             "{\"url\":\"data:text/html,<form method=post action='http://127.0.0.1:%d/api/queues/"
             "default/empty%%3Fstate=finished'></form><script>document.forms[0].submit()"
             "</script>\"}",
             d->port);
    r = cdp_call(&b, "Page.navigate", params, 0, 30000);
    CHECK(r != NULL);
    cJSON_Delete(r);
    snprintf(cond, sizeof cond,
             "location.href.startsWith('http://127.0.0.1:%d/api/queues/default/empty') && "
             "document.body.innerText.includes('Origin is not this dashboard')",
             d->port);
    CHECK(cdp_wait(&b, cond, WAIT_MS) == 0);
    m = dash_json(d, "/api/queues", NULL, &status);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(
              cJSON_GetArrayItem(cJSON_GetObjectItem(m, "queues"), 0), "finished")) == before);
    cJSON_Delete(m);
    CHECK(dash_log_has(d, "Origin is not this dashboard"));
    /* and from the page itself without the token */
    CHECK(go(d, "") == 0);
    CHECK(cdp_true(&b, "fetch('/api/queues/default/empty', {method: 'POST'}).then(r => "
                       "r.status === 403)"));
}

static void test_login(void)
{
    const char *env[] = {"DASHBOARD_USER=admin", "DASHBOARD_PASSWORD=correct horse",
                         "DASHBOARD_SAMPLE_INTERVAL=1s", NULL};
    jobs_spec spec = {"retake|testmods.flaky|default|", 0, 0};
    char id[1][DCMP_ID_LEN], sel[128];
    dash d;

    CHECK(jobs_graph(&f, "", &spec, 1, id) == 0);
    CHECK(fixture_wait_state(&f, id[0], "failed", WAIT_MS) == 0);
    if (dash_start(&f, &d, env, "admin:correct horse") < 0) {
        CHECK(0);
        return;
    }
    /* a wrong password, typed once into the browser's login prompt: refused, nothing shown */
    CHECK(cdp_login(&b, "admin", "wrong", 1) == 0);
    CHECK(go(&d, "") == 0);
    CHECK(cdp_true(&b, "document.body.innerText.includes('authentication required')"));
    CHECK(cdp_true(&b, "!document.getElementById('queues')"));
    shot("login-refused", 0);
    CHECK(cdp_true(&b, "fetch('/api/queues', {headers: {Authorization: 'Basic ' + "
                       "btoa('admin:wrong')}}).then(r => r.status === 401)"));
    /* the right one */
    CHECK(cdp_login(&b, "admin", "correct horse", 1000) == 0);
    CHECK(go(&d, "") == 0);
    CHECK(wait_for("!!document.querySelector('#queues tr[data-queue=\"default\"] "
                   "a[data-count=\"failed\"]')",
                   NULL, NULL) == 0);
    CHECK(cdp_true(&b, "document.getElementById('banner').hidden"));
    CHECK(cdp_true(&b, "document.getElementById('badges').textContent.includes('login on')"));
    snprintf(sel, sizeof sel, "#/job/%s", id[0]);
    CHECK(go(&d, sel) == 0);
    CHECK(wait_for("!!document.querySelector('#job-state [data-state=\"failed\"]')", NULL, NULL) ==
          0);
    CHECK(click("button[data-action=\"requeue\"]") == 0);
    CHECK(confirm_and_wait("requeued") == 0);
    CHECK(wait_for("!!document.querySelector('#job-state [data-state=\"finished\"]')", NULL,
                   NULL) == 0);
    cJSON_Delete(cdp_call(&b, "Fetch.disable", NULL, 0, 10000));
    CHECK(dash_stop(&d) == 0);
}

static void test_readonly(void)
{
    const char *env[] = {"DASHBOARD_READONLY=1", NULL};
    jobs_spec spec = {"frozen|testmods.fail|default|", 0, 0};
    char id[1][DCMP_ID_LEN], where[128];
    dash d;

    CHECK(jobs_graph(&f, "", &spec, 1, id) == 0);
    CHECK(fixture_wait_state(&f, id[0], "failed", WAIT_MS) == 0);
    if (dash_start(&f, &d, env, NULL) < 0) {
        CHECK(0);
        return;
    }
    snprintf(where, sizeof where, "#/job/%s", id[0]);
    CHECK(go(&d, where) == 0);
    CHECK(wait_for("!!document.querySelector('#job-state [data-state=\"failed\"]')", NULL, NULL) ==
          0);
    CHECK(cdp_true(&b, "!document.querySelector('button[data-action]')"));
    CHECK(cdp_true(&b, "document.getElementById('badges').textContent.includes('read-only')"));
    CHECK(go(&d, "") == 0);
    CHECK(wait_for("!!document.querySelector('#queues')", NULL, NULL) == 0);
    CHECK(cdp_true(&b, "!document.querySelector('#queues button')"));
    /* the token is in the page, and still the action is refused */
    CHECK(cdp_true(&b, "fetch('/api/queues/default/requeue-failed', {method: 'POST', headers: "
                       "{'X-CSRF-Token': JSON.parse(document.getElementById('config')"
                       ".textContent).csrf}}).then(r => r.status === 403)"));
    CHECK(dash_stop(&d) == 0);
}

int main(void)
{
    const char *jobs_a[] = {"anon|testmods.noop|default|", "seg|testmods.flaky|default|0",
                            "report|testmods.noop|default|1", "qc|testmods.noop|low|0"};
    const char *extra =
        "{\"jobName\":\"ctonly\",\"source\":\"registry/ctonly/settings.json\","
        "\"group\":\"registry\",\"decision\":\"skipped\",\"reason\":\"the "
        "callback said no (modality MR)\",\"jobId\":null},{\"jobName\":"
        "\"legacy\",\"source\":\"registry/legacy/settings.json\",\"group\":"
        "\"registry\",\"decision\":\"error\",\"reason\":\"crashed: signal 11 "
        "(Segmentation fault)\",\"jobId\":null},{\"jobName\":\"tumour\",\"source\":"
        "\"registry/tumour/settings.json\",\"group\":\"registry\",\"trigger\":"
        "\"study\",\"decision\":\"other-level\",\"reason\":\"trigger \\\"study\\\": "
        "planned from study events, not from this series event\",\"jobId\":null}";
    const char *env[] = {"DASHBOARD_SAMPLE_INTERVAL=1s", NULL};
    const char *dir = getenv("DCMP_ARTIFACTS");
    int started;

    if (fixture_start(&f) < 0)
        return 1;
    snprintf(artifacts, sizeof artifacts, "%s/dashboard", dir ? dir : f.dir);
    if (dir)
        mkdir(dir, 0755);
    mkdir(artifacts, 0755);
    CHECK(fixture_worker(&f, "default low", NULL) > 0);
    more_data();
    CHECK(jobs_event(&f, "1b2c3d4e-5f607182-93a4b5c6-d7e8f901-23456789",
                     "{\"seriesId\":\"1b2c3d4e-5f607182-93a4b5c6-d7e8f901-23456789\","
                     "\"patientId\":\"p2\",\"tags\":{\"PatientID\":\"ANON-0043\",\"StudyID\":"
                     "\"MR-0815\",\"Modality\":\"MR\",\"SeriesDescription\":\"T1 axial\"}}",
                     jobs_a, 4, extra, ev_a, ids_a) == 0);
    CHECK(fixture_wait_state(&f, ids_a[1], "failed", WAIT_MS) == 0);
    CHECK(fixture_wait_state(&f, ids_a[2], "blocked", WAIT_MS) == 0);
    CHECK(fixture_wait_state(&f, ids_a[3], "finished", WAIT_MS) == 0);
    study_event();
    patient_event();
    started = dash_start(&f, &main_dash, env, NULL) == 0;
    CHECK(started);
    if (started && cdp_start(&b, f.dir, 1280, 860) == 0) {
        traffic();
        RUN(test_events);
        RUN(test_study_event);
        RUN(test_patient_event);
        RUN(test_overview_requeue);
        RUN(test_event_after);
        RUN(test_csrf_from_elsewhere);
        RUN(test_login);
        RUN(test_readonly);
        if (b.errors[0])
            fprintf(stderr, "the page threw:\n%s", b.errors);
        CHECK(b.errors[0] == '\0');
    } else {
        CHECK(0 && "chromium did not start");
    }
    cdp_stop(&b);
    CHECK(dash_stop(&main_dash) == 0);
    fprintf(stderr, "screenshots: %s\n", artifacts);
    fixture_stop(&f, harness_failed > 0);
    return HARNESS_RESULT();
}
