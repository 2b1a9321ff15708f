/* test_plan_cli.c -- dcm-processor plan and validate: real settings files (JSON and YAML), real
 * callback libraries and Python modules run isolated (a crashing and a hanging one among
 * them), the plan printed, every named function checked. */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "redis.h"

static fixture f;
static char base[PATH_MAX + 16];

static int write_file(const char *rel, const char *text)
{
    char path[PATH_MAX + 256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", base, rel);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* BASEDIR/<reg>/<svc>/ with a cb.so (the test callbacks) and optionally settings. */
static void service_in(const char *reg, const char *svc, const char *file, const char *text)
{
    char dir[PATH_MAX + 64], lib[PATH_MAX + 96], src[PATH_MAX + 64], rel[256];

    snprintf(dir, sizeof dir, "%s/%s/%s", base, reg, svc);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(lib, sizeof lib, "%s/cb.so", dir);
    snprintf(src, sizeof src, "%s/testcb.so", getenv("DCMP_TEST_MODULES"));
    CHECK(symlink(src, lib) == 0);
    if (file) {
        snprintf(rel, sizeof rel, "%s/%s/%s", reg, svc, file);
        CHECK(write_file(rel, text) == 0);
    }
}

/* BASEDIR/registry/<svc>/, as service_in. */
static void service(const char *svc, const char *file, const char *text)
{
    service_in("registry", svc, file, text);
}

/* Runs dcm-processor CMD with args; output (stdout + stderr) into out. Returns the status. */
static int run_cli(const char *cmd, const char *const *args, char *out, size_t size)
{
    char reg[PATH_MAX + 32], set[PATH_MAX + 32];
    /* 4 s: the hanging callback ends there; a Python callback's interpreter, started cold on a
     * loaded machine, took over 1 s */
    char *argv[16], *envp[] = {reg, set, "CALLBACK_TIMEOUT=4s", "DCMP_ENV=", NULL};
    int n = 0;

    snprintf(reg, sizeof reg, "REGISTRY=%s/registry", base);
    snprintf(set, sizeof set, "SETTINGS=%s/settings.json", base);
    argv[n++] = getenv("DCMP_CLI_BIN");
    argv[n++] = (char *)cmd;
    while (*args && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    return fixture_run(&f, argv, envp, out, size);
}

static int run_plan(const char *const *args, char *out, size_t size)
{
    return run_cli("plan", args, out, size);
}

static const cJSON *find_by(const cJSON *list, const char *key, const char *value)
{
    const cJSON *o;

    cJSON_ArrayForEach(o, list)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return o;
    }
    return NULL;
}

static const char *field(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : "(missing)";
}

static void setup(void)
{
    char dir[PATH_MAX + 32];

    snprintf(base, sizeof base, "%s/base", f.dir);
    snprintf(dir, sizeof dir, "%s/registry", base);
    CHECK(mkdir(base, 0755) == 0 && mkdir(dir, 0755) == 0);
    CHECK(write_file("settings.json",
                     "{\"headerFields\":[\"PatientID\",\"Modality\",\"seriesId\"],"
                     "\"preServices\":[{\"jobName\":\"anon\",\"worker\":\"base.anon.worker\","
                     "\"callback\":\"base.cb.yes\"}],"
                     "\"postServices\":[{\"jobName\":\"store\",\"worker\":\"base.store.worker\","
                     "\"callback\":\"base.cb.yes\"}]}") == 0);
    service("base", NULL, NULL);
    service("ct", "settings.yaml",
            "# a YAML settings file\n"
            "jobName: ct\n"
            "worker: ct.w.run\n"
            "callback: ct.cb.modality\n"
            "priority: high\n"
            "timeout: 30M\n" /* RQ reads the unit in either case */
            "params:\n"
            "  threshold: 0.5\n"
            "  labels: [liver, spleen]\n");
    service("crashy", "settings.json",
            "{\"jobName\":\"crashy\",\"worker\":\"c.w\",\"callback\":\"crashy.cb.crash\"}");
    service("dep", "settings.json",
            "{\"jobName\":\"dep\",\"worker\":\"d.w\",\"callback\":\"dep.cb.yes\","
            "\"dependsOn\":\"crashy\"}");
    service("slow", "settings.json",
            "{\"jobName\":\"slow\",\"worker\":\"s.w\",\"callback\":\"slow.cb.hang\"}");
    service("shy", "settings.json",
            "{\"jobName\":\"shy\",\"worker\":\"s.w\",\"callback\":\"shy.cb.no\"}");
    service("picky", "settings.json",
            "{\"jobName\":\"picky\",\"worker\":\"s.w\",\"callback\":\"picky.cb.nowhy\"}");
    service("broken", "settings.json", "{\"jobName\": \"broken\",\n  \"worker\": }\n");
    /* an installed service reusing a post service's name, and one with RQ's timeout forms */
    service("takeover", "settings.json",
            "{\"jobName\":\"store\",\"worker\":\"t.w\",\"callback\":\"takeover.cb.yes\"}");
    service("rq", "settings.json",
            "[{\"jobName\":\"rq1\",\"worker\":\"r.w\",\"callback\":\"rq.cb.modality\","
            "\"timeout\":\"10S\",\"params\":{\"p\":[1,2]}},"
            "{\"jobName\":\"rq2\",\"worker\":\"r.w\",\"callback\":\"rq.cb.yes\","
            "\"timeout\":2.9},"
            "{\"jobName\":\"rq3\",\"worker\":\"r.w\",\"callback\":\"rq.cb.yes\","
            "\"timeout\":0},"
            "{\"jobName\":\"rq4\",\"worker\":\"r.w\",\"callback\":\"rq.cb.yes\","
            "\"dependsOn\":\"rq3\"}]");
    CHECK(write_file("event.json", "{\"PatientID\":\"P1\",\"Modality\":\"CT\",\"seriesId\":"
                                   "\"s-1\",\"StudyDate\":\"20260101\"}") == 0);
}

static void test_plan_json(void)
{
    char event[PATH_MAX + 32], out[65536];
    const char *args[] = {event, "--json", NULL};
    const cJSON *jobs, *decisions, *store, *ct, *deps;
    cJSON *o;

    snprintf(event, sizeof event, "%s/event.json", base);
    CHECK(run_plan(args, out, sizeof out) == 0);
    o = cJSON_Parse(out);
    CHECK(o != NULL);
    if (o == NULL) {
        fprintf(stderr, "%s\n", out);
        return;
    }
    jobs = cJSON_GetObjectItem(o, "jobs");
    decisions = cJSON_GetObjectItem(o, "decisions");
    CHECK(cJSON_GetArraySize(jobs) == 5);
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 0), "jobName"), "anon");
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 1), "jobName"), "ct");
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 2), "jobName"), "rq1");
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 3), "jobName"), "rq2");
    CHECK_STR(field(cJSON_GetArrayItem(jobs, 4), "jobName"), "store");
    /* timeouts as RQ reads them; 0 skips the entry at load, and its dependent says so */
    CHECK(cJSON_GetObjectItem(find_by(jobs, "jobName", "rq1"), "timeout")->valuedouble == 10);
    CHECK(cJSON_GetObjectItem(find_by(jobs, "jobName", "rq2"), "timeout")->valuedouble == 2);
    CHECK_STR(field(find_by(decisions, "jobName", "rq3"), "decision"), "invalid");
    CHECK_STR(field(find_by(decisions, "jobName", "rq4"), "decision"), "dropped");
    CHECK_CONTAINS(field(find_by(decisions, "jobName", "rq4"), "reason"),
                   "dependsOn \"rq3\", which was skipped at load (timeout: bad duration 0");
    /* the installed "store" is the duplicate: the post service keeps its name and place */
    CHECK_STR(field(find_by(jobs, "jobName", "store"), "group"), "postServices");
    CHECK_CONTAINS(out, "registry/takeover/settings.json (store): jobName \\\"store\\\" already "
                        "used by ");
    /* each job's kwargs, as its worker receives them */
    {
        const cJSON *kw = cJSON_GetObjectItem(find_by(jobs, "jobName", "rq1"), "kwargs");
        char *params = cJSON_PrintUnformatted(cJSON_GetObjectItem(kw, "params"));
        char *headers = cJSON_PrintUnformatted(cJSON_GetObjectItem(kw, "headers"));
        char *added = cJSON_PrintUnformatted(cJSON_GetObjectItem(kw, "added_params"));
        char *all = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "added_params"));
        CHECK_STR(field(kw, "jobName"), "rq1");
        CHECK_STR(params, "{\"p\":[1,2]}");
        CHECK_STR(headers, "{\"PatientID\":\"P1\",\"Modality\":\"CT\",\"seriesId\":\"s-1\"}");
        CHECK_STR(added, all);
        free(params);
        free(headers);
        free(added);
        free(all);
    }
    ct = find_by(jobs, "jobName", "ct");
    CHECK_STR(field(ct, "queue"), "high");
    CHECK(cJSON_GetObjectItem(ct, "timeout") &&
          cJSON_GetObjectItem(ct, "timeout")->valuedouble == 1800);
    store = find_by(jobs, "jobName", "store");
    deps = cJSON_GetObjectItem(store, "dependsOn");
    CHECK(cJSON_GetArraySize(deps) == 4); /* anon, ct, rq1, rq2 */
    CHECK_STR(field(find_by(decisions, "jobName", "shy"), "decision"), "skipped");
    CHECK_STR(field(find_by(decisions, "jobName", "shy"), "reason"), "");
    /* a skip with the callback's reason (set_error before DCMP_SKIP) */
    CHECK_STR(field(find_by(decisions, "jobName", "picky"), "decision"), "skipped");
    CHECK_STR(field(find_by(decisions, "jobName", "picky"), "reason"),
              "not a series for this service");
    CHECK_STR(field(find_by(decisions, "jobName", "crashy"), "decision"), "error");
    CHECK_CONTAINS(field(find_by(decisions, "jobName", "crashy"), "reason"), "crashed: signal 11");
    CHECK_STR(field(find_by(decisions, "jobName", "slow"), "decision"), "error");
    CHECK_CONTAINS(field(find_by(decisions, "jobName", "slow"), "reason"), "timed out after 4s");
    CHECK_STR(field(find_by(decisions, "jobName", "dep"), "decision"), "dropped");
    CHECK_CONTAINS(out, "registry/broken/settings.json:2:");
    /* headers picked by headerFields; injections: anon's seen by store; a no stores nothing
     * (shy injected {"why":"not wanted"}), a bare yes stores {} (ct) */
    CHECK_CONTAINS(out, "\"headers\":");
    {
        char *h = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "headers"));
        CHECK_STR(h, "{\"PatientID\":\"P1\",\"Modality\":\"CT\",\"seriesId\":\"s-1\"}");
        free(h);
    }
    {
        const cJSON *added = cJSON_GetObjectItem(o, "added_params");
        CHECK_STR(field(cJSON_GetObjectItem(added, "anon"), "by"), "anon");
        CHECK(cJSON_GetObjectItem(added, "shy") == NULL);
        CHECK(cJSON_GetObjectItem(added, "picky") == NULL);
        CHECK(cJSON_GetObjectItem(added, "crashy") == NULL);
        CHECK(cJSON_IsObject(cJSON_GetObjectItem(added, "ct")) &&
              cJSON_GetArraySize(cJSON_GetObjectItem(added, "ct")) == 0);
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(added, "store"), "saw"),
                                  "anon") != NULL);
    }
    cJSON_Delete(o);
}

static void test_plan_text(void)
{
    char event[PATH_MAX + 32], out[65536];
    const char *args[] = {event, NULL};

    snprintf(event, sizeof event, "%s/event.json", base);
    CHECK(run_plan(args, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "jobs (in enqueue order):");
    CHECK_CONTAINS(out, "2. ct  (trigger series, worker ct.w.run, queue high, timeout 30m)");
    CHECK_CONTAINS(out, "after: anon, ct");
    CHECK_CONTAINS(out, "     kwargs: {\"jobName\":\"ct\",\"headers\":{\"PatientID\":\"P1\","
                        "\"Modality\":\"CT\",\"seriesId\":\"s-1\"},\"params\":{\"threshold\":0.5,"
                        "\"labels\":[\"liver\",\"spleen\"]},\"added_params\":{\"anon\":");
    CHECK_CONTAINS(out, "reports:");
}

/* A webhook body as Orthanc's script posts it: the keywords under "tags" are the headers. */
static void test_plan_webhook_body(void)
{
    char event[PATH_MAX + 32], out[65536];
    const char *args[] = {event, "--json", NULL};
    cJSON *o;

    snprintf(event, sizeof event, "%s/body.json", base);
    CHECK(write_file("body.json", "{\"seriesId\":\"s-2\",\"studyId\":\"st\",\"LastUpdate\":"
                                  "\"20260101T000000\",\"series\":{\"Instances\":[]},"
                                  "\"tags\":{\"PatientID\":\"P9\",\"Modality\":\"CT\"}}") == 0);
    CHECK(run_plan(args, out, sizeof out) == 0);
    o = cJSON_Parse(out);
    if (o) {
        char *h = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "headers"));
        CHECK_STR(h, "{\"PatientID\":\"P9\",\"Modality\":\"CT\",\"seriesId\":\"s-2\"}");
        free(h);
    }
    CHECK(o != NULL);
    cJSON_Delete(o);
}

static void test_plan_errors(void)
{
    char out[4096], bad[PATH_MAX + 32];
    const char *missing[] = {"/nonexistent/event.json", NULL};
    const char *notobj[] = {bad, NULL};

    CHECK(run_plan(missing, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "/nonexistent/event.json");
    snprintf(bad, sizeof bad, "%s/list.json", base);
    CHECK(write_file("list.json", "[1,2]") == 0);
    CHECK(run_plan(notobj, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "must be a JSON object");
}

/* dcm-processor validate: the settings checked by the planner's rules, every named function
 * loaded from its library (registry for callbacks, modules for workers). */
static void test_validate(void)
{
    char out[16384], modules[PATH_MAX + 32], path[PATH_MAX + 64];
    const char *good[] = {"ct2", "--modules", modules, NULL};
    const char *broken[] = {"broken", NULL};
    const char *absent[] = {"absent", NULL};
    const char *bad[] = {"badnames", "--modules", modules, NULL};
    const char *byfile[] = {path, "--modules", modules, NULL};
    const char *study[] = {"study", "--modules", modules, NULL};
    const char *mixed[] = {"mixed", "--modules", modules, NULL};
    const char *window[] = {"window", "--modules", modules, NULL};

    snprintf(modules, sizeof modules, "%s", getenv("DCMP_TEST_MODULES"));
    service("ct2", "settings.json",
            "[{\"jobName\":\"ct2\",\"worker\":\"testmods.noop\",\"callback\":\"ct2.cb.yes\"},"
            "{\"jobName\":\"ct2b\",\"worker\":\"testmods.nap\",\"callback\":\"ct2.cb.no\","
            "\"dependsOn\":\"ct2\"}]");
    CHECK(run_cli("validate", good, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "ok     entry 1 (ct2): worker testmods.noop -> ");
    CHECK_CONTAINS(out, "ok     entry 2 (ct2b): callback ct2.cb.no -> ");
    CHECK_CONTAINS(out, "\nvalid\n");

    /* a function missing from its library, a library that is not there, a bad timeout */
    service("badnames", "settings.json",
            "[{\"jobName\":\"b1\",\"worker\":\"testmods.nosuch\",\"callback\":\"badnames.cb.yes\"},"
            "{\"jobName\":\"b2\",\"worker\":\"testmods.noop\",\"callback\":\"nowhere.cb.yes\"},"
            "{\"jobName\":\"b3\",\"worker\":\"testmods.noop\",\"callback\":\"badnames.cb.yes\","
            "\"timeout\":\"soon\"}]");
    CHECK(run_cli("validate", bad, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "error  entry 1 (b1): worker testmods.nosuch: ");
    CHECK_CONTAINS(out, "nosuch");
    CHECK_CONTAINS(out, "error  entry 2 (b2): callback nowhere.cb.yes: ");
    CHECK_CONTAINS(out, "nowhere");
    CHECK_CONTAINS(out, "timeout");
    CHECK_CONTAINS(out, "\ninvalid\n");

    /* each entry is judged at its own level: a study entry after another is no note; a
     * dependsOn across levels is an error */
    service("study", "settings.json",
            "[{\"jobName\":\"st\",\"worker\":\"testmods.noop\",\"callback\":\"study.cb.yes\","
            "\"trigger\":\"study\",\"requires\":{\"Modality\":\"MR\"}},"
            "{\"jobName\":\"st2\",\"worker\":\"testmods.noop\",\"callback\":\"study.cb.yes\","
            "\"trigger\":\"study\",\"dependsOn\":\"st\"}]");
    CHECK(run_cli("validate", study, out, sizeof out) == 0);
    CHECK(strstr(out, "note") == NULL && strstr(out, "other-level") == NULL);
    CHECK_CONTAINS(out, "ok     entry 2 (st2): callback study.cb.yes -> ");
    CHECK_CONTAINS(out, "ok     entry 1 (st): trigger study, 1 condition in requires, "
                        "completeTimeout 1h, onTimeout drop, rerun new-series, rerunWindow 1h");
    CHECK_CONTAINS(out, "\nvalid\n");
    service("mixed", "settings.json",
            "[{\"jobName\":\"mst\",\"worker\":\"testmods.noop\",\"callback\":\"mixed.cb.yes\","
            "\"trigger\":\"study\"},"
            "{\"jobName\":\"mse\",\"worker\":\"testmods.noop\",\"callback\":\"mixed.cb.yes\","
            "\"dependsOn\":\"mst\"}]");
    CHECK(run_cli("validate", mixed, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "ok     entry 1 (mst): trigger study, 0 conditions in requires, "
                        "completeTimeout 1h, onTimeout drop, rerun new-series, rerunWindow 1h");
    CHECK_CONTAINS(out, "entry 2 (mse): invalid: dependsOn: names \"mst\", which runs per study, "
                        "while this entry runs per series");
    CHECK_CONTAINS(out, "\ninvalid\n");
    /* rerunWindow: shown, and a bad one names its entry */
    service("window", "settings.json",
            "[{\"jobName\":\"w1\",\"worker\":\"testmods.noop\",\"callback\":\"window.cb.yes\","
            "\"trigger\":\"patient\",\"rerunWindow\":\"2d\",\"onTimeout\":\"plan\"},"
            "{\"jobName\":\"w2\",\"worker\":\"testmods.noop\",\"callback\":\"window.cb.yes\","
            "\"trigger\":\"study\",\"rerunWindow\":\"soon\"},"
            "{\"jobName\":\"w3\",\"worker\":\"testmods.noop\",\"callback\":\"window.cb.yes\","
            "\"trigger\":\"study\",\"rerun\":\"never\"}]");
    CHECK(run_cli("validate", window, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "ok     entry 1 (w1): trigger patient, 0 conditions in requires, "
                        "completeTimeout 1h, onTimeout plan, rerun new-series, rerunWindow 2d");
    CHECK_CONTAINS(out, "entry 2 (w2): invalid: rerunWindow: bad duration \"soon\"");
    CHECK_CONTAINS(out, "ok     entry 3 (w3): trigger study, 0 conditions in requires, "
                        "completeTimeout 1h, onTimeout drop, rerun never (its study's files "
                        "released once its jobs ended)");

    /* a settings file given by path */
    snprintf(path, sizeof path, "%s/registry/ct2/settings.json", base);
    CHECK(run_cli("validate", byfile, out, sizeof out) == 0);

    CHECK(run_cli("validate", broken, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "registry/broken/settings.json:2:");
    CHECK_CONTAINS(out, "\ninvalid\n");
    /* a service without settings of its own (as base): its libraries, and the system
     * settings' entries that name it (base.anon.worker: no such library under MODULES) */
    {
        const char *libonly[] = {"base", "--modules", modules, NULL};
        const char *notlib[] = {"notlib", NULL};
        CHECK(run_cli("validate", libonly, out, sizeof out) == 1);
        CHECK_CONTAINS(out, "a service without settings of its own");
        CHECK_CONTAINS(out, "ok     library ");
        CHECK_CONTAINS(out, "preServices entry 1: callback base.cb.yes -> ");
        CHECK_CONTAINS(out, "error  ");
        CHECK_CONTAINS(out, "preServices entry 1: worker base.anon.worker: ");
        service("notlib", NULL, NULL);
        CHECK(write_file("registry/notlib/fake.so", "not a library\n") == 0);
        CHECK(run_cli("validate", notlib, out, sizeof out) == 1);
        CHECK_CONTAINS(out, "cannot load ");
        CHECK_CONTAINS(out, "fake.so");
        CHECK_CONTAINS(out, "nothing would run it");
    }
    CHECK(run_cli("validate", absent, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "service absent: no settings.json, settings.yaml or settings.yml");
}

/* --level: a study event plans the study-level entries (trigger "study") with the series list
 * in the headers, each decided from the series listed as the scheduler decides (requires met
 * or not: "not-due" with the verdict); a patient event alike with its studies; a series event
 * shows them as other-level; a bad level is a usage error, an event without its list an
 * error naming it. */
static void test_plan_levels(void)
{
    char reg[PATH_MAX + 32], event[PATH_MAX + 32], out[65536];
    const char *study[] = {event, "--registry", reg, "--level", "study", "--json", NULL};
    const char *series[] = {event, "--registry", reg, NULL};
    const char *bad[] = {event, "--level", "exam", NULL};
    const char *text_study[] = {event, "--registry", reg, "--level", "study", NULL};
    const char *patient[] = {event, "--registry", reg, "--level", "patient", NULL};
    cJSON *o;

    snprintf(reg, sizeof reg, "%s/levels", base);
    CHECK(mkdir(reg, 0755) == 0);
    service_in("levels", "report", "settings.json",
               "[{\"jobName\":\"report\",\"worker\":\"r.w\",\"callback\":\"report.cb.yes\","
               "\"trigger\":\"study\",\"requires\":[{\"Modality\":\"CT\"}]},"
               "{\"jobName\":\"seg\",\"worker\":\"s.w\",\"callback\":\"report.cb.yes\"},"
               "{\"jobName\":\"followup\",\"worker\":\"f.w\",\"callback\":\"report.cb.yes\","
               "\"trigger\":\"patient\",\"requires\":[{\"Modality\":\"MR\"}]}]");
    CHECK(write_file("study.json",
                     "{\"PatientID\":\"P1\",\"studyId\":\"st-1\",\"series\":[{\"seriesId\":"
                     "\"s-1\",\"SeriesInstanceUID\":\"1.2.1\",\"Modality\":\"CT\"}]}") == 0);
    snprintf(event, sizeof event, "%s/study.json", base);

    CHECK(run_plan(study, out, sizeof out) == 0);
    o = cJSON_Parse(out);
    CHECK(o != NULL);
    {
        const cJSON *jobs = cJSON_GetObjectItem(o, "jobs"), *j = find_by(jobs, "jobName", "report");
        const cJSON *d = find_by(cJSON_GetObjectItem(o, "decisions"), "jobName", "seg");
        char *h = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "headers"));
        CHECK(cJSON_GetArraySize(jobs) == 1); /* no anon, store or seg: they run per series */
        CHECK_STR(field(j, "trigger"), "study");
        CHECK_STR(field(d, "decision"), "other-level");
        CHECK_STR(
            field(find_by(cJSON_GetObjectItem(o, "decisions"), "jobName", "anon"), "decision"),
            "other-level");
        CHECK_STR(h, "{\"PatientID\":\"P1\",\"series\":[{\"seriesId\":\"s-1\","
                     "\"SeriesInstanceUID\":\"1.2.1\",\"Modality\":\"CT\"}]}");
        free(h);
    }
    cJSON_Delete(o);

    CHECK(run_plan(series, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "other-level  study    report");
    CHECK_CONTAINS(out, "trigger \"study\": planned from study events, not from this series "
                        "event");
    CHECK_CONTAINS(out, "scheduled    series   seg");

    CHECK(run_plan(bad, out, sizeof out) == 2);
    CHECK_CONTAINS(out, "--level \"exam\": must be series, study or patient");

    /* a study whose series do not meet requires: report is not due, with the verdict */
    CHECK(write_file("study.json", "{\"studyId\":\"st-2\",\"series\":[{\"seriesId\":\"s-2\","
                                   "\"SeriesInstanceUID\":\"1.2.2\",\"Modality\":\"MR\"}]}") == 0);
    CHECK(run_plan(text_study, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "not-due      study    report");
    CHECK_CONTAINS(out, "study wait: waiting for condition 1 {\"Modality\":\"CT\"}");
    /* a patient of two studies: followup's MR is in the second */
    CHECK(write_file("study.json",
                     "{\"patientId\":\"p-1\",\"studies\":[{\"studyId\":\"st-1\",\"series\":"
                     "[{\"SeriesInstanceUID\":\"1.2.1\",\"Modality\":\"CT\"}]},"
                     "{\"studyId\":\"st-2\",\"series\":[{\"SeriesInstanceUID\":\"1.2.2\","
                     "\"Modality\":\"MR\"}]}]}") == 0);
    CHECK(run_plan(patient, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "scheduled    patient  followup");
    CHECK_CONTAINS(out, "other-level  study    report");
    /* a study event without its series list, or a series without its UID */
    CHECK(run_plan(text_study, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "a study event needs its \"series\" list");
    CHECK(write_file("study.json", "{\"series\":[{\"Modality\":\"CT\"}]}") == 0);
    CHECK(run_plan(text_study, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "series[0]: must be an object of the series' header fields with "
                        "SeriesInstanceUID");
}

/* Python names, in validate and plan: a worker from MODULES and a callback from REGISTRY of
 * one service named alike in both roots (the original's layout), C tried first, and each
 * failure named: a missing attribute, a failed import, a name of neither kind. */
static void test_python_names(void)
{
    char out[16384], modules[PATH_MAX + 32], want[PATH_MAX + 160], path[PATH_MAX + 32];
    const char *good[] = {"pysvc", "--modules", modules, NULL};
    const char *bad[] = {"pybad", "--modules", modules, NULL};
    const char *event[] = {path, NULL};

    snprintf(path, sizeof path, "%s/event.json", base);
    snprintf(modules, sizeof modules, "%s/pymods", base);
    CHECK(mkdir(modules, 0755) == 0);
    CHECK(write_file("pymods/pysvc.py", "def worker(**kwargs):\n    return None\n") == 0);
    service("pysvc", "settings.json",
            "[{\"jobName\":\"pysvc\",\"worker\":\"pysvc.worker\","
            "\"callback\":\"pysvc.callback\"},"
            "{\"jobName\":\"pyc\",\"worker\":\"pysvc.worker\",\"callback\":\"pysvc.cb.yes\"}]");
    /* a module beside the library of pysvc.cb.yes (cb.so, testcb's yes): the library wins */
    CHECK(write_file("registry/pysvc/cb.py", "def yes(**kwargs):\n    return False\n") == 0);
    CHECK(write_file("registry/pysvc/__init__.py",
                     "def callback(headers, **kwargs):\n"
                     "    return headers['Modality'] == 'CT', {'seen': headers['PatientID']}\n") ==
          0);
    CHECK(run_cli("validate", good, out, sizeof out) == 0);
    snprintf(want, sizeof want,
             "ok     entry 1 (pysvc): worker pysvc.worker -> Python module %s/pysvc.py", modules);
    CHECK_CONTAINS(out, want);
    snprintf(want, sizeof want,
             "ok     entry 1 (pysvc): callback pysvc.callback -> Python module "
             "%s/registry/pysvc/__init__.py",
             base);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, "ok     entry 2 (pyc): callback pysvc.cb.yes -> C library ");
    CHECK_CONTAINS(out, "\nvalid\n");

    service("pybad", "settings.json",
            "[{\"jobName\":\"pb1\",\"worker\":\"pysvc.nope\",\"callback\":\"pybad.callback\"},"
            "{\"jobName\":\"pb2\",\"worker\":\"zz.w\",\"callback\":\"pysvc.callback\"}]");
    CHECK(write_file("registry/pybad/__init__.py", "import nosuchmodule_x\n") == 0);
    CHECK(run_cli("validate", bad, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "error  entry 1 (pb1): worker pysvc.nope: ");
    CHECK_CONTAINS(out, "has no attribute nope");
    CHECK_CONTAINS(out, "error  entry 1 (pb1): callback pybad.callback: ");
    CHECK_CONTAINS(out, "ModuleNotFoundError: No module named 'nosuchmodule_x'");
    /* neither kind: every candidate of both */
    CHECK_CONTAINS(out, "error  entry 2 (pb2): worker zz.w: no service code for \"zz.w\": C "
                        "library: ");
    CHECK_CONTAINS(out, "/zz.so");
    CHECK_CONTAINS(out, "/libzz.so");
    CHECK_CONTAINS(out, "Python module: python: zz.w: no module zz under MODULES");
    CHECK_CONTAINS(out, "ok     entry 2 (pb2): callback pysvc.callback -> Python module ");
    CHECK_CONTAINS(out, "\ninvalid\n");

    /* plan runs the Python callbacks for real: a yes with its injection, a failed import */
    CHECK(run_plan(event, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "  scheduled    series   pysvc ");
    CHECK_CONTAINS(out, "  scheduled    series   pyc ");
    CHECK_CONTAINS(out, "injected: {\"seen\":\"P1\"}");
    CHECK_CONTAINS(out, "  error        series   pb1 ");
    CHECK_CONTAINS(out, "callback pybad.callback: python: pybad.callback: importing pybad");
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(setup);
    RUN(test_plan_json);
    RUN(test_plan_text);
    RUN(test_plan_webhook_body);
    RUN(test_plan_errors);
    RUN(test_plan_levels);
    RUN(test_validate);
    RUN(test_python_names);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
