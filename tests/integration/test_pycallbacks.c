/* test_pycallbacks.c -- Python callbacks in a real dcmp-scheduler with a real redis-server: yes
 * with an injection, yes with nothing, no, an exception, a crash and os._exit deciding only
 * their own job, a callback rewritten on disk picked up without a restart, and the executor
 * replaced every CALLBACK_RECYCLE events (not callbacks), and a process a callback leaves
 * behind (an orphan in a session of its own) ended when the callback returns. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "http.h"
#include "redis.h"

static fixture f;
static char base[PATH_MAX + 16];
static int http_port;
static pid_t sched = -1;

/* Each service's callback: REGISTRY/<svc>/__init__.py defines `callback`. The crashing ones
 * crash only for the modality named after them, and say yes otherwise. */
static const struct {
    const char *svc, *code;
} services[] = {
    {"pyyes", "import os\n"
              "def callback(jobName, headers, params, added_params, **kwargs):\n"
              "    return (True, {'modality': headers['Modality'], 'job': jobName,\n"
              "                   'params': params, 'registry': os.environ.get('REGISTRY')})\n"},
    {"pyempty", "def callback(**kwargs):\n    return True\n"},
    {"pyno", "def callback(**kwargs):\n    return (False, {'never': 'stored'})\n"},
    {"pyboom", "def callback(headers, **kwargs):\n"
               "    raise ValueError('no series for ' + headers['PatientID'])\n"},
    {"pysegv", "import ctypes\n"
               "def callback(headers, **kwargs):\n"
               "    if headers['Modality'] == 'SEGV':\n"
               "        ctypes.string_at(0)\n"
               "    return True\n"},
    {"pyexit", "import os\n"
               "def callback(headers, **kwargs):\n"
               "    if headers['Modality'] == 'EXIT':\n"
               "        os._exit(3)\n"
               "    return True\n"},
    {"pyver", "def callback(**kwargs):\n    return [True, {'v': 1}]\n"},
    {"pyorphan", "import os\n"
                 "def callback(headers, **kwargs):\n"
                 "    if headers['Modality'] == 'ORPHAN':\n"
                 "        child = os.fork()\n"
                 "        if child == 0:\n"
                 "            os.setsid()\n"
                 "            g = os.fork()\n"
                 "            if g == 0:\n"
                 "                os.execvp('sleep', ['sleep', '1000'])\n"
                 "            with open(os.environ['REGISTRY'] + '/orphan.pid', 'w') as f:\n"
                 "                f.write(str(g))\n"
                 "            os._exit(0)\n"
                 "        os.waitpid(child, 0)\n"
                 "    return True\n"},
    {"pypid", "import os\n"
              "def callback(**kwargs):\n"
              "    return (True, {'pid': os.getpid()})\n"},
};

#define NSERVICES (sizeof services / sizeof services[0])

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void service(const char *svc, const char *code)
{
    char path[PATH_MAX + 96];

    snprintf(path, sizeof path, "%s/registry/%s", base, svc);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/registry/%s/__init__.py", base, svc);
    CHECK(fixture_write_new(path, code) == 0);
    snprintf(path, sizeof path, "%s/registry/%s/settings.json", base, svc);
    if (access(path, F_OK) != 0) {
        char settings[256];
        snprintf(settings, sizeof settings,
                 "{\"jobName\":\"%s\",\"worker\":\"w.worker\",\"callback\":\"%s.callback\","
                 "\"params\":{\"n\":%d}}",
                 svc, svc, (int)strlen(svc));
        CHECK(fixture_write_new(path, settings) == 0);
    }
}

/* Posts a series with these tags; returns the event's plan (new, free it) once planned. */
static cJSON *plan_of(const char *series, const char *modality)
{
    char body[512], auth[] = "Content-Type: application/json", id[DCMP_ID_LEN] = "";
    const char *headers[] = {auth, NULL};
    http_request q = {http_port, "POST", "/stable-series", headers, body, NULL, NULL, 10};
    http_reply *got = calloc(1, sizeof *got);
    cJSON *o, *plan = NULL;
    char *v = NULL;
    int i;

    snprintf(body, sizeof body,
             "{\"seriesId\":\"%s\",\"LastUpdate\":\"1\",\"tags\":{\"PatientID\":\"P-%s\","
             "\"Modality\":\"%s\"}}",
             series, series, modality);
    if (got == NULL || http_do(&q, got) != 202) {
        CHECK(!"webhook not accepted");
        free(got);
        return NULL;
    }
    o = cJSON_ParseWithLength(got->body, got->len);
    if (o && cJSON_IsString(cJSON_GetObjectItem(o, "event")))
        snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(o, "event")->valuestring);
    cJSON_Delete(o);
    free(got);
    for (i = 0; i < 1500 && plan == NULL; i++) {
        if (dcmp_queue_event_field(f.q, id, "state", &v) == 1 && strcmp(v, "planned") == 0) {
            free(v);
            v = NULL;
            if (dcmp_queue_event_field(f.q, id, "plan", &v) == 1)
                plan = cJSON_Parse(v);
        } else {
            nap_ms(20);
        }
        free(v);
        v = NULL;
    }
    CHECK(plan != NULL);
    return plan;
}

/* The decision and reason of job `name` in a plan: "decision: reason". */
static const char *decided(const cJSON *plan, const char *name, char *out, size_t size)
{
    const cJSON *d;

    snprintf(out, size, "(no decision for %s)", name);
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(plan, "decisions"))
    {
        const cJSON *n = cJSON_GetObjectItem(d, "jobName");
        const char *dec = cJSON_GetStringValue(cJSON_GetObjectItem(d, "decision"));
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(d, "reason"));
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            snprintf(out, size, "%s: %s", dec ? dec : "?", reason ? reason : "");
    }
    return out;
}

/* What a plan stored as added_params[name], printed (new), or NULL when nothing. */
static char *added(const cJSON *plan, const char *name)
{
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(plan, "added_params"), name);

    return a ? cJSON_PrintUnformatted(a) : NULL;
}

/* Whether the scheduler answers GET /health with 200. */
static int healthy(void)
{
    http_request q = {http_port, "GET", "/health", NULL, NULL, NULL, NULL, 10};
    http_reply *got = calloc(1, sizeof *got);
    int ok = got != NULL && http_do(&q, got) == 200;

    free(got);
    return ok;
}

static void setup(void)
{
    char path[PATH_MAX + 32], log[PATH_MAX + 32];
    /* one planner: one executor, whose process test_recycled follows */
    const char *env[] = {"CALLBACK_TIMEOUT=30s", "CALLBACK_RECYCLE=3", "SCHEDULER_PLANNERS=1",
                         NULL};
    unsigned i;

    snprintf(base, sizeof base, "%s/base", f.dir);
    snprintf(path, sizeof path, "%s/registry", base);
    CHECK(mkdir(base, 0755) == 0 && mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/settings.json", base);
    CHECK(fixture_write_new(path, "{\"headerFields\":[\"PatientID\",\"Modality\"]}") == 0);
    for (i = 0; i < NSERVICES; i++)
        service(services[i].svc, services[i].code);
    http_port = fixture_free_port();
    snprintf(log, sizeof log, "%s/scheduler.log", f.dir);
    CHECK((sched = fixture_scheduler(&f, http_port, base, env, log)) > 0);
    for (i = 0; i < 400 && !healthy(); i++)
        nap_ms(25);
    CHECK(i < 400);
}

/* Yes with an injection (stored, with the original's keywords and REGISTRY), yes with
 * nothing ({}), no (nothing stored), an exception (its type and message in the decision). */
static void test_answers(void)
{
    cJSON *plan = plan_of("ct-1", "CT");
    char want[PATH_MAX + 64], why[1024], *a;

    if (plan == NULL)
        return;
    CHECK_STR(decided(plan, "pyyes", why, sizeof why), "scheduled: ");
    a = added(plan, "pyyes");
    snprintf(want, sizeof want,
             "{\"modality\":\"CT\",\"job\":\"pyyes\",\"params\":{\"n\":5},"
             "\"registry\":\"%s/registry\"}",
             base);
    CHECK_STR(a ? a : "(none)", want);
    free(a);
    CHECK_STR(decided(plan, "pyempty", why, sizeof why), "scheduled: ");
    a = added(plan, "pyempty");
    CHECK_STR(a ? a : "(none)", "{}");
    free(a);
    CHECK_CONTAINS(decided(plan, "pyno", why, sizeof why), "skipped");
    CHECK(added(plan, "pyno") == NULL);
    CHECK_CONTAINS(decided(plan, "pyboom", why, sizeof why), "error: ");
    CHECK_CONTAINS(why, "ValueError: no series for P-ct-1");
    CHECK(added(plan, "pyboom") == NULL);
    CHECK_STR(decided(plan, "pysegv", why, sizeof why), "scheduled: ");
    CHECK_STR(decided(plan, "pyexit", why, sizeof why), "scheduled: ");
    a = added(plan, "pyver");
    CHECK_STR(a ? a : "(none)", "{\"v\":1}");
    free(a);
    cJSON_Delete(plan);
}

/* A segfault (through ctypes) and os._exit fail only their own decision; the callbacks after
 * them still run, and the next event plans as before. */
static void test_crashes(void)
{
    static const char *const modalities[] = {"SEGV", "EXIT"};
    static const char *const crashed[] = {"pysegv", "pyexit"};
    static const char *const errors[] = {"crashed: signal 11",
                                         "exited with status 3 without reporting"};
    char series[32], why[1024];
    cJSON *plan;
    int i;

    for (i = 0; i < 2; i++) {
        snprintf(series, sizeof series, "crash-%d", i);
        if ((plan = plan_of(series, modalities[i])) == NULL)
            return;
        CHECK_CONTAINS(decided(plan, crashed[i], why, sizeof why), errors[i]);
        CHECK_STR(decided(plan, crashed[1 - i], why, sizeof why), "scheduled: ");
        CHECK_STR(decided(plan, "pyyes", why, sizeof why), "scheduled: ");
        CHECK_STR(decided(plan, "pyver", why, sizeof why), "scheduled: ");
        cJSON_Delete(plan);
        snprintf(series, sizeof series, "after-%d", i);
        if ((plan = plan_of(series, "CT")) == NULL)
            return;
        CHECK_STR(decided(plan, crashed[i], why, sizeof why), "scheduled: ");
        CHECK_STR(decided(plan, "pyempty", why, sizeof why), "scheduled: ");
        cJSON_Delete(plan);
    }
}

/* A callback rewritten on disk (a reinstall) answers with its new code at the next event,
 * the scheduler not restarted. */
static void test_rewritten(void)
{
    cJSON *plan;
    char *a;

    service("pyver", "def callback(**kwargs):\n    return [True, {'v': 2}]\n");
    if ((plan = plan_of("ver-2", "CT")) == NULL)
        return;
    a = added(plan, "pyver");
    CHECK_STR(a ? a : "(none)", "{\"v\":2}");
    free(a);
    cJSON_Delete(plan);
}

/* With CALLBACK_RECYCLE=3 the executor (its pid, as a callback injects it) runs the callbacks
 * of three events in a row, eight callbacks each, then a new one takes over. */
static void test_recycled(void)
{
    char series[32];
    long pids[7];
    int i, first = -1;

    for (i = 0; i < 7; i++) {
        cJSON *plan, *pid;
        snprintf(series, sizeof series, "recycle-%d", i);
        if ((plan = plan_of(series, "CT")) == NULL)
            return;
        pid = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(plan, "added_params"), "pypid"), "pid");
        CHECK(cJSON_IsNumber(pid));
        pids[i] = cJSON_IsNumber(pid) ? (long)pid->valuedouble : -1;
        cJSON_Delete(plan);
    }
    /* the executor of the earlier tests has 1 to 3 events left: a new one by event 3 */
    for (i = 1; i < 7 && first < 0; i++)
        if (pids[i] != pids[i - 1])
            first = i;
    CHECK(first > 0 && first <= 3);
    if (first <= 0 || first > 3)
        return;
    CHECK(pids[first + 1] == pids[first] && pids[first + 2] == pids[first]);
    CHECK(pids[first + 3] != pids[first]);
}

/* A callback that returns leaving a grandchild behind (setsid, its parent gone): the executor,
 * its subreaper, ends it before the next call, so nothing a decision started outlives it. */
static void test_orphan(void)
{
    char path[PATH_MAX + 64], why[1024], text[32] = "", proc[64];
    cJSON *plan;
    FILE *fp;
    long pid = 0;
    int i;

    if ((plan = plan_of("orphan-1", "ORPHAN")) == NULL)
        return;
    CHECK_STR(decided(plan, "pyorphan", why, sizeof why), "scheduled: ");
    cJSON_Delete(plan);
    snprintf(path, sizeof path, "%s/registry/orphan.pid", base);
    if ((fp = fopen(path, "r")) != NULL) {
        if (fgets(text, sizeof text, fp) != NULL)
            pid = strtol(text, NULL, 10);
        fclose(fp);
    }
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    /* killed and reaped: its /proc entry goes (waited for: the machine may be slow) */
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    for (i = 0; i < 500 && access(proc, F_OK) == 0; i++)
        nap_ms(20);
    CHECK(access(proc, F_OK) != 0);
}

int main(void)
{
    int status;

    if (fixture_start(&f) < 0)
        return 1;
    RUN(setup);
    RUN(test_answers);
    RUN(test_crashes);
    RUN(test_rewritten);
    RUN(test_orphan);
    RUN(test_recycled);
    if (sched > 0) {
        kill(sched, SIGTERM);
        waitpid(sched, &status, 0);
    }
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
