/* test_plan.c -- unit tests of the planner against the settled semantics (ARCHITECTURE.md). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "plan.h"
#include "trigger.h"

/* What the fake callback answers for one jobName. */
typedef struct answer {
    const char *job;
    int rc;             /* 1 run, 0 skip, -1 error */
    const char *inject; /* JSON or NULL */
} answer;

typedef struct fake {
    const answer *answers;
    char seen_added[8][256]; /* added_params each callback saw, in call order */
    char seen_name[8][64];
    int calls;
} fake;

static int fake_callback(void *arg, const char *job_name, const char *callback, const char *headers,
                         const char *params, const char *added_params, char **inject, char *err)
{
    fake *f = arg;
    const answer *a;

    (void)callback;
    (void)headers;
    (void)params;
    if (f->calls < 8) {
        snprintf(f->seen_added[f->calls], sizeof f->seen_added[0], "%s", added_params);
        snprintf(f->seen_name[f->calls], sizeof f->seen_name[0], "%s", job_name);
    }
    f->calls++;
    for (a = f->answers; a && a->job; a++)
        if (strcmp(a->job, job_name) == 0) {
            if (a->inject)
                *inject = strdup(a->inject);
            if (a->rc < 0)
                snprintf(err, DCMP_ERR_LEN, "it broke");
            return a->rc;
        }
    return 1;
}

/* The level of the events plan() makes (DCMP_LEVEL_*); tests that change it set it back. */
static int event_level;
static int (*event_due)(void *, const char *, char *); /* dcmp_plan_input.due, or NULL */

/* A due hook: every entry but "r2" (its study is not complete). */
static int due_but_r2(void *arg, const char *name, char *why)
{
    (void)arg;
    if (strcmp(name, "r2") != 0)
        return 1;
    snprintf(why, DCMP_ERR_LEN, "study wait: waiting for series 1.3 to be ready");
    return 0;
}

/* Plans with a system settings text, up to 4 registry texts (NULL-terminated pairs of path,
 * text; a text of "!" is a file that failed to load) and event data. */
static int plan(dcmp_plan *out, fake *f, const char *system, const char *const *files,
                const char *data)
{
    dcmp_plan_file reg[4];
    cJSON *roots[4] = {NULL, NULL, NULL, NULL}, *sys = system ? cJSON_Parse(system) : NULL;
    cJSON *d = data ? cJSON_Parse(data) : cJSON_CreateObject();
    dcmp_plan_input in;
    char err[DCMP_ERR_LEN];
    int n = 0, rc;

    for (; files && files[2 * n] && n < 4; n++) {
        reg[n].path = files[2 * n];
        reg[n].load_error = NULL;
        if (strcmp(files[2 * n + 1], "!") == 0) {
            reg[n].root = NULL;
            reg[n].load_error = "not valid JSON at line 1";
        } else {
            roots[n] = cJSON_Parse(files[2 * n + 1]);
            reg[n].root = roots[n];
            CHECK(roots[n] != NULL);
        }
    }
    if (system)
        CHECK(sys != NULL);
    memset(&in, 0, sizeof in);
    in.system = sys;
    in.system_path = "settings.json";
    in.registry = reg;
    in.nregistry = n;
    in.data = d;
    in.default_queue = "default";
    in.callback = fake_callback;
    in.callback_arg = f;
    in.level = event_level;
    in.due = event_due;
    rc = dcmp_plan_make(&in, out, err);
    CHECK(rc == 0);
    for (int i = 0; i < 4; i++)
        cJSON_Delete(roots[i]);
    cJSON_Delete(sys);
    cJSON_Delete(d);
    return rc;
}

/* Plans with one registry file at `path` holding the NULL-terminated entries as a list. */
static int plan_entries(dcmp_plan *out, fake *f, const char *system, const char *path,
                        const char *const *entries)
{
    char list[4096];
    const char *files[] = {path, list, NULL};
    size_t used = (size_t)snprintf(list, sizeof list, "[");

    for (int i = 0; entries[i] && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? "," : "", entries[i]);
    CHECK(used + 1 < sizeof list);
    snprintf(list + used, sizeof list - used, "]");
    return plan(out, f, system, files, NULL);
}

static int job_index(const dcmp_plan *p, const char *name)
{
    for (int i = 0; i < p->njobs; i++)
        if (strcmp(p->jobs[i].name, name) == 0)
            return i;
    return -1;
}

/* "a,b" when the job depends on exactly those (by name, in order). */
static void deps_of(const dcmp_plan *p, const char *name, char *out, size_t size)
{
    int i = job_index(p, name);
    size_t used = 0;

    out[0] = '\0';
    if (i < 0) {
        snprintf(out, size, "(no job %s)", name);
        return;
    }
    for (int k = 0; k < p->jobs[i].ndeps; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", k ? "," : "",
                                 p->jobs[p->jobs[i].deps[k]].name);
}

static const dcmp_plan_decision *decision(const dcmp_plan *p, const char *name)
{
    for (int i = 0; i < p->ndecisions; i++)
        if (strcmp(p->decisions[i].job_name, name) == 0)
            return &p->decisions[i];
    return NULL;
}

static const char *decided(const dcmp_plan *p, const char *name)
{
    const dcmp_plan_decision *d = decision(p, name);
    return d ? d->decision : "(none)";
}

/* True when some report contains all of the given words. */
static int reported(const dcmp_plan *p, const char *a, const char *b)
{
    for (int i = 0; i < p->nreports; i++)
        if (strstr(p->reports[i], a) && (b == NULL || strstr(p->reports[i], b)))
            return 1;
    return 0;
}

static void dump_reports(const dcmp_plan *p)
{
    for (int i = 0; i < p->nreports; i++)
        fprintf(stderr, "  report: %s\n", p->reports[i]);
}

#define ENTRY(name) "{\"jobName\":\"" name "\",\"worker\":\"m." name "\",\"callback\":\"c.cb\"}"
/* An entry with more fields: WITH("x", "\"timeout\":0") */
#define WITH(name, fields) \
    "{\"jobName\":\"" name "\",\"worker\":\"a.w\",\"callback\":\"a.c\"," fields "}"

/* pre, registry and post: order, implicit dependencies, kwargs. */
static void test_groups_and_implicit_deps(void)
{
    const char *sys = "{\"headerFields\":[\"PatientID\",\"Modality\"],"
                      "\"preServices\":[" ENTRY("anon") "],"
                                                        "\"postServices\":[" ENTRY(
                                                            "store") "," ENTRY("clean") "]}";
    const char *files[] = {"registry/seg/settings.json",
                           "[{\"jobName\":\"seg\",\"worker\":\"seg.worker\",\"callback\":"
                           "\"seg.cb\",\"params\":{\"k\":1}}," ENTRY("nii") "]",
                           NULL};
    char deps[256];
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, sys, files, "{\"PatientID\":\"007\",\"Modality\":\"CT\",\"Other\":1}");
    CHECK(p.njobs == 5);
    CHECK(job_index(&p, "anon") == 0);
    CHECK(job_index(&p, "seg") == 1 && job_index(&p, "nii") == 2);
    CHECK(job_index(&p, "store") == 3 && job_index(&p, "clean") == 4);
    deps_of(&p, "anon", deps, sizeof deps);
    CHECK_STR(deps, "");
    deps_of(&p, "seg", deps, sizeof deps);
    CHECK_STR(deps, "anon");
    deps_of(&p, "store", deps, sizeof deps);
    CHECK_STR(deps, "anon,seg,nii");
    deps_of(&p, "clean", deps, sizeof deps);
    CHECK_STR(deps, "anon,seg,nii"); /* post jobs do not depend on each other implicitly */
    CHECK_STR(p.headers, "{\"PatientID\":\"007\",\"Modality\":\"CT\"}");
    CHECK_STR(p.jobs[1].kwargs, "{\"jobName\":\"seg\",\"headers\":{\"PatientID\":\"007\","
                                "\"Modality\":\"CT\"},\"params\":{\"k\":1},\"added_params\":"
                                "{\"anon\":{},\"seg\":{},\"nii\":{},\"store\":{},\"clean\":{}}}");
    CHECK_CONTAINS(p.jobs[0].kwargs, "\"params\":null"); /* params absent: null */
    CHECK_STR(p.jobs[1].worker, "seg.worker");
    CHECK_STR(p.jobs[1].queue, "default");
    CHECK(p.jobs[1].timeout == 3600);
    CHECK_STR(decided(&p, "seg"), "scheduled");
    CHECK(f.calls == 5);
    CHECK_STR(f.seen_name[0], "anon");
    CHECK_STR(f.seen_name[1], "seg");
    CHECK_STR(f.seen_name[3], "store");
    CHECK(p.nreports == 0);
    if (p.nreports)
        dump_reports(&p);
    dcmp_plan_free(&p);
}

/* headerFields: order kept, missing keys skipped, null values kept; fullTags keeps all. */
static void test_headers(void)
{
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, "{\"headerFields\":[\"B\",\"Missing\",\"A\",\"N\"]}", NULL,
         "{\"A\":1,\"B\":\"x\",\"N\":null,\"C\":3}");
    CHECK_STR(p.headers, "{\"B\":\"x\",\"A\":1,\"N\":null}");
    dcmp_plan_free(&p);
    plan(&p, &f, "{\"fullTags\":true,\"headerFields\":[\"A\"]}", NULL, "{\"A\":1,\"C\":3}");
    CHECK_STR(p.headers, "{\"A\":1,\"C\":3}");
    dcmp_plan_free(&p);
    plan(&p, &f, "{\"headerFields\":null,\"preServices\":null}", NULL, "{\"A\":1}");
    CHECK_STR(p.headers, "{}");
    CHECK(reported(&p, "headerFields is null", NULL));
    CHECK(reported(&p, "preServices is null", NULL));
    dcmp_plan_free(&p);
}

/* Missing required fields, bad types: reported with file, entry and field; only that entry. */
static void test_invalid_entries(void)
{
    const char *files[] = {
        "registry/x/settings.json",
        "[{\"worker\":\"a.w\",\"callback\":\"a.c\"},"
        "{\"jobName\":\"nowork\",\"callback\":\"a.c\"},"
        "{\"jobName\":\"nocb\",\"worker\":\"a.w\"},"
        "{\"jobName\":\"baddeps\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":3},"
        "{\"jobName\":\"nulldep\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":[null]},"
        "{\"jobName\":\"t0\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"timeout\":0},"
        "{\"jobName\":\"tbad\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"timeout\":\"soon\"},"
        "{\"jobName\":\"prio\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"priority\":5},"
        "{\"jobName\":\"retry\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"retry\":{\"max\":-1}},"
        "\"just a string\"," ENTRY("good") "]",
        "registry/broken/settings.json", "!", NULL};
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, "{}", files, NULL);
    CHECK(p.njobs == 1 && job_index(&p, "good") == 0);
    CHECK(reported(&p, "registry/x/settings.json: entry 1: jobName: missing", NULL));
    CHECK(reported(&p, "entry 2 (nowork): worker: missing", NULL));
    CHECK(reported(&p, "entry 3 (nocb): callback: missing", NULL));
    CHECK(reported(&p, "entry 4 (baddeps): dependsOn: must be a string or a list", NULL));
    CHECK(reported(&p, "entry 5 (nulldep): dependsOn", NULL));
    CHECK(reported(&p, "entry 6 (t0): timeout", "greater than zero"));
    CHECK(reported(&p, "entry 7 (tbad): timeout", "soon"));
    CHECK(reported(&p, "entry 8 (prio): priority: must be a string", NULL));
    CHECK(reported(&p, "entry 9 (retry): retry.max", NULL));
    CHECK(reported(&p, "entry 10: not an object", NULL));
    CHECK(reported(&p, "registry/broken/settings.json: not valid JSON at line 1", NULL));
    CHECK_STR(decided(&p, "t0"), "invalid");
    CHECK(decision(&p, "t0") && strstr(decision(&p, "t0")->reason, "timeout") != NULL);
    CHECK(f.calls == 1); /* callbacks run only for valid entries */
    dcmp_plan_free(&p);
}

/* The same jobName twice: the later one is skipped and reported, across groups too. */
static void test_duplicates(void)
{
    const char *sys = "{\"preServices\":[" ENTRY("a") "],\"postServices\":[" ENTRY("a") "]}";
    const char *files[] = {"r/one/settings.json", ENTRY("b"), "r/two/settings.json", ENTRY("b"),
                           NULL};
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, sys, files, NULL);
    CHECK(p.njobs == 2);
    CHECK(reported(&p, "r/two/settings.json (b): jobName \"b\" already used by r/one", NULL));
    CHECK(reported(&p,
                   "settings.json: postServices[0] (a): jobName \"a\" already used by "
                   "settings.json: preServices[0]",
                   NULL));
    CHECK(p.jobs[job_index(&p, "b")].group == DCMP_GROUP_REGISTRY);
    dcmp_plan_free(&p);
}

/* disabled: true is skipped; a job depending on it is dropped. */
static void test_disabled(void)
{
    const char *files[] = {
        "r/s/settings.json",
        "[{\"jobName\":\"off\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"disabled\":true},"
        "{\"jobName\":\"on\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"disabled\":false},"
        "{\"jobName\":\"after\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"off\"}]",
        NULL};
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, NULL, files, NULL);
    CHECK(p.njobs == 1 && job_index(&p, "on") == 0);
    CHECK_STR(decided(&p, "off"), "disabled");
    CHECK_STR(decided(&p, "after"), "dropped");
    CHECK(reported(&p, "(after): dependsOn \"off\", which is disabled", NULL));
    CHECK(f.calls == 2);
    dcmp_plan_free(&p);
}

/* sortPosition orders callbacks and enqueueing within a group (default 999 in the registry,
 * 1 in pre and post; numeric strings are numbers; a bad value is reported, default used). */
static void test_sort_positions(void)
{
    const char *files[] = {
        "r/s/settings.json",
        "[{\"jobName\":\"late\",\"worker\":\"a.w\",\"callback\":\"a.c\"},"
        "{\"jobName\":\"first\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"sortPosition\":1},"
        "{\"jobName\":\"second\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"sortPosition\":\"2\"},"
        "{\"jobName\":\"bad\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"sortPosition\":\"x\"},"
        "{\"jobName\":\"tie\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"sortPosition\":2}]",
        NULL};
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, NULL, files, NULL);
    CHECK(p.njobs == 5);
    CHECK(job_index(&p, "first") == 0 && job_index(&p, "second") == 1);
    CHECK(job_index(&p, "tie") == 2); /* equal positions keep file order */
    CHECK(job_index(&p, "late") == 3 && job_index(&p, "bad") == 4);
    CHECK(reported(&p, "(bad): sortPosition: must be a number; using 999", NULL));
    CHECK_STR(f.seen_name[0], "first");
    dcmp_plan_free(&p);
}

/* Callbacks: false skips, an error counts as false and is reported, injections reach later
 * callbacks and every job's kwargs (the final dict, including the injections of jobs dropped
 * later). Only a yes stores added_params[jobName]: its object, or {} when it injected none or
 * something that is not an object; a no or an error stores nothing, whatever it injected. */
static void test_callbacks(void)
{
    const char *sys = "{\"preServices\":[" ENTRY("pre") "]}";
    const char *files[] = {
        "r/s/settings.json",
        "[" ENTRY("no") ",{\"jobName\":\"needsno\",\"worker\":\"a.w\",\"callback\":\"a.c\","
                        "\"dependsOn\":[\"no\"]}," ENTRY("err") "," ENTRY("yes") "]",
        NULL};
    const answer answers[] = {{"pre", 1, "{\"p\":1}"},
                              {"no", 0, "{\"n\":2}"},
                              {"err", -1, "{\"e\":3}"},
                              {"yes", 1, "[1]"},
                              {NULL, 0, NULL}};
    dcmp_plan p;
    fake f = {.answers = answers};

    plan(&p, &f, sys, files, NULL);
    CHECK(p.njobs == 2 && job_index(&p, "pre") == 0 && job_index(&p, "yes") == 1);
    CHECK_STR(decided(&p, "no"), "skipped");
    CHECK_STR(decided(&p, "needsno"), "dropped");
    CHECK(reported(&p, "(needsno): dependsOn \"no\", which was skipped by its callback", NULL));
    CHECK_STR(decided(&p, "err"), "error");
    CHECK(decision(&p, "err") && strstr(decision(&p, "err")->reason, "it broke") != NULL);
    CHECK(reported(&p, "(err): callback c.cb: it broke", NULL));
    CHECK(reported(&p, "(yes): callback c.cb injected something that is not a JSON object",
                   "{} stored"));
    CHECK_STR(f.seen_added[0], "{}");
    CHECK_STR(f.seen_added[1], "{\"pre\":{\"p\":1}}");
    CHECK_STR(f.seen_added[2], "{\"pre\":{\"p\":1}}"); /* no's injection is not stored */
    CHECK_STR(f.seen_added[3], "{\"pre\":{\"p\":1},\"needsno\":{}}");
    CHECK_STR(f.seen_added[4], "{\"pre\":{\"p\":1},\"needsno\":{}}"); /* nor an error's */
    CHECK_STR(p.added_params, "{\"pre\":{\"p\":1},\"needsno\":{},\"yes\":{}}");
    CHECK_CONTAINS(p.jobs[0].kwargs,
                   "\"added_params\":{\"pre\":{\"p\":1},\"needsno\":{},\"yes\":{}}");
    dcmp_plan_free(&p);
}

/* dependsOn within a group: passes until nothing changes, unknown names and cycles dropped,
 * a dependent listed (or sorted) before its dependency still comes after it. */
static void test_dependencies(void)
{
    const char *files[] = {
        "r/s/settings.json",
        "[{\"jobName\":\"c\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":[\"b\"]},"
        "{\"jobName\":\"b\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"a\"},"
        "{\"jobName\":\"a\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":[]},"
        "{\"jobName\":\"x\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"ghost\"},"
        "{\"jobName\":\"y\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"x\"},"
        "{\"jobName\":\"p\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"q\"},"
        "{\"jobName\":\"q\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"p\"},"
        "{\"jobName\":\"e\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"\"}]",
        NULL};
    char deps[128];
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, NULL, files, NULL);
    CHECK(p.njobs == 3);
    CHECK(job_index(&p, "a") == 0 && job_index(&p, "b") == 1 && job_index(&p, "c") == 2);
    deps_of(&p, "c", deps, sizeof deps);
    CHECK_STR(deps, "b");
    CHECK(reported(&p, "(x): dependsOn names \"ghost\", which is no known job", NULL));
    CHECK(reported(&p, "(y): dependsOn \"x\", which was dropped (dependsOn names \"ghost\"", NULL));
    CHECK(reported(&p, "(p): dependsOn forms a cycle", NULL));
    CHECK(reported(&p, "(q): dependsOn forms a cycle", NULL));
    CHECK(reported(&p, "(e): dependsOn names \"\", which is no known job", NULL));
    CHECK_STR(decided(&p, "y"), "dropped");
    dcmp_plan_free(&p);
}

/* Across groups: naming a kept job of an earlier group keeps the job (the original dropped
 * it); naming a job of a later group drops it, reported. */
static void test_cross_group(void)
{
    const char *sys = "{\"preServices\":[" ENTRY(
        "pre") "],\"postServices\":["
               "{\"jobName\":\"post\",\"worker\":\"a.w\",\"callback\":\"a.c\","
               "\"dependsOn\":\"reg\"}]}";
    const char *files[] = {
        "r/s/settings.json",
        "[{\"jobName\":\"reg\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"pre\"},"
        "{\"jobName\":\"early\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"dependsOn\":\"post\"}]",
        NULL};
    char deps[128];
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, sys, files, NULL);
    CHECK(p.njobs == 3);
    deps_of(&p, "reg", deps, sizeof deps);
    CHECK_STR(deps, "pre");
    deps_of(&p, "post", deps, sizeof deps);
    CHECK_STR(deps, "reg,pre");
    CHECK_STR(decided(&p, "early"), "dropped");
    CHECK(reported(&p,
                   "(early): dependsOn names \"post\" of postServices, which is planned after "
                   "registry",
                   NULL));
    dcmp_plan_free(&p);
}

/* A dropped pre job is not an implicit dependency of registry jobs. */
static void test_implicit_only_kept(void)
{
    const char *sys = "{\"preServices\":[" ENTRY("a") "," ENTRY("b") "]}";
    const char *files[] = {"r/s/settings.json", ENTRY("r"), NULL};
    const answer answers[] = {{"b", 0, NULL}, {NULL, 0, NULL}};
    char deps[128];
    dcmp_plan p;
    fake f = {.answers = answers};

    plan(&p, &f, sys, files, NULL);
    deps_of(&p, "r", deps, sizeof deps);
    CHECK_STR(deps, "a");
    dcmp_plan_free(&p);
}

/* Queue from priority, else channel, else the default; "" is missing. Timeouts and retry. */
static void test_queue_timeout_retry(void)
{
    const char *files[] = {
        "r/s/settings.json",
        "[{\"jobName\":\"p\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"priority\":\"high\","
        "\"channel\":\"low\",\"timeout\":\"90s\"},"
        "{\"jobName\":\"c\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"channel\":\"low\","
        "\"timeout\":-1},"
        "{\"jobName\":\"e\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"priority\":\"\","
        "\"timeout\":null},"
        "{\"jobName\":\"n\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"priority\":null,"
        "\"timeout\":120,\"retry\":{\"max\":2,\"interval\":\"30s\"}},"
        "{\"jobName\":\"h\",\"worker\":\"a.w\",\"callback\":\"a.c\",\"timeout\":\"1d\","
        "\"retry\":{\"max\":1}}]",
        NULL};
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, NULL, files, NULL);
    CHECK(p.njobs == 5);
    CHECK_STR(p.jobs[job_index(&p, "p")].queue, "high");
    CHECK(p.jobs[job_index(&p, "p")].timeout == 90);
    CHECK_STR(p.jobs[job_index(&p, "c")].queue, "low");
    CHECK(p.jobs[job_index(&p, "c")].timeout == -1);
    CHECK_STR(p.jobs[job_index(&p, "e")].queue, "default");
    CHECK(p.jobs[job_index(&p, "e")].timeout == 3600);
    CHECK_STR(p.jobs[job_index(&p, "n")].queue, "default");
    CHECK(p.jobs[job_index(&p, "n")].timeout == 120);
    CHECK(p.jobs[job_index(&p, "n")].retry_max == 2);
    CHECK(p.jobs[job_index(&p, "n")].retry_interval == 30);
    CHECK(p.jobs[job_index(&p, "h")].timeout == 86400);
    CHECK(p.jobs[job_index(&p, "h")].retry_max == 1 &&
          p.jobs[job_index(&p, "h")].retry_interval == 0);
    dcmp_plan_free(&p);
}

/* Two events share nothing: the second sees none of the first's injections. */
static void test_events_independent(void)
{
    const char *files[] = {"r/s/settings.json", ENTRY("a"), NULL};
    const answer first[] = {{"a", 1, "{\"from\":\"first\"}"}, {NULL, 0, NULL}};
    dcmp_plan p;
    fake f1 = {.answers = first}, f2 = {0};

    plan(&p, &f1, NULL, files, NULL);
    CHECK_STR(p.added_params, "{\"a\":{\"from\":\"first\"}}");
    dcmp_plan_free(&p);
    plan(&p, &f2, NULL, files, NULL);
    CHECK_STR(p.added_params, "{\"a\":{}}"); /* a bare yes: {} */
    CHECK_STR(f2.seen_added[0], "{}");
    dcmp_plan_free(&p);
}

/* The plan as JSON and as job specs the enqueue script accepts. */
static void test_json_and_specs(void)
{
    const char *sys = "{\"preServices\":[" ENTRY("a") "]}";
    const char *files[] = {"r/s/settings.json", ENTRY("b"), NULL};
    const char *dep_ids[2 * DCMP_DEPS_MAX];
    dcmp_job_spec specs[2];
    char err[DCMP_ERR_LEN], *json, *graph;
    cJSON *o;
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, sys, files, NULL);
    json = dcmp_plan_json(&p);
    CHECK(json != NULL);
    o = cJSON_Parse(json);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "jobs")) == 2);
    CHECK_CONTAINS(json, "\"dependsOn\":[\"a\"]");
    CHECK_CONTAINS(json, "\"decision\":\"scheduled\"");
    CHECK(strstr(json, "\"kwargs\"") == NULL); /* the event record's form: no kwargs */
    cJSON_Delete(o);
    free(json);
    /* dcm-processor plan's form: each job with the kwargs its worker receives */
    json = dcmp_plan_json_with(&p, 1);
    o = json ? cJSON_Parse(json) : NULL;
    CHECK(o != NULL);
    {
        const cJSON *kw =
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 1), "kwargs");
        char *text = kw ? cJSON_PrintUnformatted(kw) : NULL;
        CHECK_STR(text, p.jobs[1].kwargs);
        free(text);
    }
    cJSON_Delete(o);
    free(json);
    dcmp_plan_specs(&p, specs, dep_ids);
    CHECK(specs[1].ndeps == 1 && strcmp(specs[1].deps[0], p.jobs[0].id) == 0);
    graph = dcmp_job_encode_graph("ev", specs, p.njobs, err);
    CHECK(graph != NULL);
    free(graph);
    dcmp_plan_free(&p);
}

/* The system settings' names are reserved first: a registry entry reusing a pre or a post
 * name is the duplicate, reported and skipped, whatever the collection order; the system job
 * keeps its group (a post job still runs after every registry job). Also when the system
 * entry is itself skipped at load: the name stays the system's. */
static void test_reserved_names(void)
{
    const char *sys = "{\"preServices\":[" ENTRY("anon") "],\"postServices\":[" ENTRY(
        "store") ",{\"jobName\":\"clean\",\"worker\":\"a.w\",\"callback\":\"a.c\","
                 "\"timeout\":0}]}";
    const char *files[] = {"r/a/settings.json", "[" ENTRY("store") "," ENTRY("seg") "]",
                           "r/b/settings.json", "[" ENTRY("anon") "," ENTRY("clean") "]", NULL};
    char deps[128];
    dcmp_plan p;
    fake f = {0};
    int i, dups = 0;

    plan(&p, &f, sys, files, NULL);
    CHECK(p.njobs == 3);
    CHECK(p.jobs[job_index(&p, "anon")].group == DCMP_GROUP_PRE);
    CHECK(p.jobs[job_index(&p, "store")].group == DCMP_GROUP_POST);
    CHECK(job_index(&p, "clean") < 0);
    deps_of(&p, "store", deps, sizeof deps);
    CHECK_STR(deps, "anon,seg");
    CHECK(reported(&p,
                   "r/a/settings.json: entry 1 (store): jobName \"store\" already used by "
                   "settings.json: postServices[0]",
                   NULL));
    CHECK(reported(&p,
                   "r/b/settings.json: entry 1 (anon): jobName \"anon\" already used by "
                   "settings.json: preServices[0]",
                   NULL));
    CHECK(reported(&p,
                   "r/b/settings.json: entry 2 (clean): jobName \"clean\" already used by "
                   "settings.json: postServices[1]",
                   NULL));
    for (i = 0; i < p.ndecisions; i++)
        if (strstr(p.decisions[i].source, "r/") == p.decisions[i].source &&
            strcmp(p.decisions[i].job_name, "seg") != 0) {
            CHECK_STR(p.decisions[i].decision, "duplicate");
            dups++;
        }
    CHECK(dups == 3);
    CHECK(f.calls == 3); /* anon, seg, store: a duplicate's callback never runs */
    dcmp_plan_free(&p);
}

/* Timeouts as RQ reads them: a float cut to whole seconds, a digit string is seconds, the
 * unit in either case; missing or null 1 h; -1 no limit; 0 (also after the cut) or a bad
 * string skips the entry at load, reported. */
static void test_timeouts_as_rq(void)
{
    static const char *const entries[] = {
        WITH("f", "\"timeout\":2.9"),
        WITH("digits", "\"timeout\":\"90\""),
        WITH("upper", "\"timeout\":\"10S\""),
        WITH("mins", "\"timeout\":\"30M\""),
        WITH("none", "\"timeout\":\"-1\""),
        WITH("nul", "\"timeout\":null"),
        WITH("half", "\"timeout\":0.5"),
        WITH("zero", "\"timeout\":\"0\""),
        WITH("frac", "\"timeout\":\"1.5h\""),
        ENTRY("missing"),
        NULL,
    };
    dcmp_plan p;
    fake f = {0};

    plan_entries(&p, &f, NULL, "r/t/settings.json", entries);
    CHECK(p.njobs == 7);
    CHECK(p.jobs[job_index(&p, "f")].timeout == 2);
    CHECK(p.jobs[job_index(&p, "digits")].timeout == 90);
    CHECK(p.jobs[job_index(&p, "upper")].timeout == 10);
    CHECK(p.jobs[job_index(&p, "mins")].timeout == 1800);
    CHECK(p.jobs[job_index(&p, "none")].timeout == -1);
    CHECK(p.jobs[job_index(&p, "nul")].timeout == 3600);
    CHECK(p.jobs[job_index(&p, "missing")].timeout == 3600);
    CHECK_STR(decided(&p, "half"), "invalid");
    CHECK(reported(&p, "(half): timeout: bad duration 0.5: cut to whole seconds it is 0",
                   "entry skipped"));
    CHECK_STR(decided(&p, "zero"), "invalid");
    CHECK(reported(&p, "(zero): timeout: bad duration \"0\"", "greater than zero"));
    CHECK_STR(decided(&p, "frac"), "invalid");
    CHECK(reported(&p, "(frac): timeout: bad duration \"1.5h\"", NULL));
    dcmp_plan_free(&p);
}

/* Drop reasons name the real cause: a dependency skipped at load (bad timeout, no worker)
 * says so and why, also across groups; a job that only waits on a cycle says that, while the
 * members of the cycle (of two or three) say they form one. */
static void test_drop_reasons(void)
{
    const char *sys = "{\"preServices\":[" WITH("prebad", "\"timeout\":\"soon\"") "]}";
    static const char *const entries[] = {
        WITH("bad", "\"timeout\":0"),
        WITH("usesbad", "\"dependsOn\":\"bad\""),
        "{\"jobName\":\"nw\",\"callback\":\"a.c\"}",
        WITH("usesnw", "\"dependsOn\":\"nw\""),
        WITH("usespre", "\"dependsOn\":\"prebad\""),
        WITH("r", "\"dependsOn\":\"p\""),
        WITH("p", "\"dependsOn\":\"q\""),
        WITH("q", "\"dependsOn\":\"p\""),
        WITH("s", "\"dependsOn\":[\"r\"]"),
        WITH("c1", "\"dependsOn\":\"c3\""),
        WITH("c2", "\"dependsOn\":\"c1\""),
        WITH("c3", "\"dependsOn\":[\"c2\",\"p\"]"),
        ENTRY("fine"),
        NULL,
    };
    dcmp_plan p;
    fake f = {0};

    plan_entries(&p, &f, sys, "r/s/settings.json", entries);
    CHECK(p.njobs == 1 && job_index(&p, "fine") == 0);
    CHECK(reported(&p,
                   "(usesbad): dependsOn \"bad\", which was skipped at load (timeout: bad "
                   "duration 0: must be greater than zero",
                   NULL));
    CHECK(reported(&p, "(usesnw): dependsOn \"nw\", which was skipped at load (worker: missing)",
                   NULL));
    CHECK(reported(&p,
                   "(usespre): dependsOn \"prebad\", which was skipped at load (timeout: "
                   "bad duration \"soon\"",
                   NULL));
    CHECK(reported(&p, "(p): dependsOn forms a cycle (through \"q\")", NULL));
    CHECK(reported(&p, "(q): dependsOn forms a cycle (through \"p\")", NULL));
    CHECK(reported(&p, "(r): dependsOn \"p\", which is in a dependsOn cycle", NULL));
    CHECK(reported(&p,
                   "(s): dependsOn \"r\", which was dropped (dependsOn \"p\", which is in a "
                   "dependsOn cycle)",
                   NULL));
    CHECK(!reported(&p, "(r): dependsOn forms a cycle", NULL));
    CHECK(!reported(&p, "(s): dependsOn forms a cycle", NULL));
    CHECK(reported(&p, "(c1): dependsOn forms a cycle (through \"c3\")", NULL));
    CHECK(reported(&p, "(c2): dependsOn forms a cycle (through \"c1\")", NULL));
    CHECK(reported(&p, "(c3): dependsOn forms a cycle (through \"c2\")", NULL));
    CHECK(!reported(&p, "no known job", NULL));
    CHECK_STR(decided(&p, "usesbad"), "dropped");
    CHECK_STR(decided(&p, "r"), "dropped");
    if (harness_failed)
        dump_reports(&p);
    dcmp_plan_free(&p);
}

/* No settings at all: nothing planned, nothing reported, no crash. */
static void test_empty(void)
{
    dcmp_plan p;
    fake f = {0};

    plan(&p, &f, NULL, NULL, NULL);
    CHECK(p.njobs == 0 && p.ndecisions == 0 && p.nreports == 0);
    CHECK_STR(p.headers, "{}");
    dcmp_plan_free(&p);
}

/* trigger: entries of each level are planned from events of that level; pre and post stay
 * series-level; a dependsOn across levels is skipped at load; bad trigger keys name the key. */
static void test_levels(void)
{
    const char *sys = "{\"headerFields\":[\"StudyDate\",\"Modality\"],"
                      "\"preServices\":[" ENTRY("anon") "]}";
    const char *files[] = {
        "registry/r/settings.json",
        "[" ENTRY("seg") "," WITH("report", "\"trigger\":\"study\"") "," WITH(
            "bad",
            "\"trigger\":\"study\",\"dependsOn\":\"seg\"") "," WITH("r2",
                                                                    "\"trigger\":\"study\","
                                                                    "\"dependsOn\":\"report\","
                                                                    "\"requires\":[{"
                                                                    "\"Modality\":[\"MR\","
                                                                    "\"CT\"]}],"
                                                                    "\"completeTimeout\":"
                                                                    "\"2h\",\"onTimeout\":"
                                                                    "\"plan\",\"rerun\":"
                                                                    "\"never\"") "," WITH("afte"
                                                                                          "r",
                                                                                          "\"de"
                                                                                          "pend"
                                                                                          "sOn"
                                                                                          "\":"
                                                                                          "\"ba"
                                                                                          "d\"") "]",
        NULL};
    const char *study = "{\"StudyDate\":\"20260101\",\"series\":[{\"SeriesInstanceUID\":"
                        "\"1.2\",\"Modality\":\"MR\"}]}";
    char deps[256], *json;
    fake f = {0};
    dcmp_plan p;

    /* a series event: the study jobs wait for their own events */
    plan(&p, &f, sys, files, "{\"StudyDate\":\"20260101\",\"Modality\":\"MR\"}");
    CHECK_STR(decided(&p, "anon"), "scheduled");
    CHECK_STR(decided(&p, "seg"), "scheduled");
    CHECK_STR(decided(&p, "report"), "other-level");
    CHECK_CONTAINS(decision(&p, "report")->reason, "trigger \"study\": planned from study events");
    CHECK(decision(&p, "report")->level == DCMP_LEVEL_STUDY);
    CHECK_STR(decided(&p, "r2"), "other-level");
    CHECK_STR(decided(&p, "bad"), "invalid");
    CHECK(reported(&p,
                   "entry 3 (bad): dependsOn: names \"seg\", which runs per series, while "
                   "this entry runs per study",
                   "entry skipped"));
    CHECK_STR(decided(&p, "after"), "dropped"); /* a series job on the skipped one */
    /* anon, seg and after ran their callbacks: after is dropped for its dependency */
    CHECK(p.njobs == 2 && f.calls == 3);
    json = dcmp_plan_json(&p);
    CHECK_CONTAINS(json, "\"jobName\":\"report\",\"source\":\"registry/r/settings.json: "
                         "entry 2 (report)\",\"group\":\"registry\",\"trigger\":\"study\","
                         "\"decision\":\"other-level\"");
    CHECK_CONTAINS(json, "\"queue\":\"default\",\"trigger\":\"series\"");
    free(json);
    dcmp_plan_free(&p);

    /* a study event: only study entries, without the series-level pre group; the headers
     * carry the series list */
    memset(&f, 0, sizeof f);
    event_level = DCMP_LEVEL_STUDY;
    plan(&p, &f, sys, files, study);
    event_level = DCMP_LEVEL_SERIES;
    CHECK_STR(decided(&p, "anon"), "other-level");
    CHECK_STR(decided(&p, "seg"), "other-level");
    CHECK_STR(decided(&p, "report"), "scheduled");
    CHECK_STR(decided(&p, "r2"), "scheduled");
    CHECK(p.njobs == 2 && f.calls == 2);
    deps_of(&p, "r2", deps, sizeof deps);
    CHECK_STR(deps, "report");
    deps_of(&p, "report", deps, sizeof deps);
    CHECK_STR(deps, "");
    CHECK_STR(p.headers, "{\"StudyDate\":\"20260101\",\"series\":[{\"SeriesInstanceUID\":"
                         "\"1.2\",\"Modality\":\"MR\"}]}");
    CHECK(p.jobs[0].level == DCMP_LEVEL_STUDY);
    dcmp_plan_free(&p);

    /* an entry its study event does not plan yet (due says no): not-due with the reason, its
     * callback not run; the entry it depends on still runs */
    memset(&f, 0, sizeof f);
    event_level = DCMP_LEVEL_STUDY;
    event_due = due_but_r2;
    plan(&p, &f, sys, files, study);
    event_level = DCMP_LEVEL_SERIES;
    event_due = NULL;
    CHECK_STR(decided(&p, "report"), "scheduled");
    CHECK_STR(decided(&p, "r2"), "not-due");
    CHECK_STR(decision(&p, "r2")->reason, "study wait: waiting for series 1.3 to be ready");
    CHECK(p.njobs == 1 && f.calls == 1);
    dcmp_plan_free(&p);
}

/* Each bad trigger key skips its entry, naming the entry and the key. */
static void test_trigger_errors(void)
{
    static const struct {
        const char *entry, *says;
    } cases[] = {
        {WITH("t", "\"trigger\":\"exam\""), "(t): trigger: must be \"series\", \"study\" or "},
        {WITH("t", "\"trigger\":3"), "(t): trigger: must be"},
        {WITH("t", "\"requires\":[]"), "(t): requires: only for an entry with trigger \"study\""},
        {WITH("t", "\"rerun\":\"never\""), "(t): rerun: only for an entry with trigger"},
        {WITH("t", "\"trigger\":\"study\",\"requires\":\"T1\""),
         "(t): requires: must be a list of conditions"},
        {WITH("t", "\"trigger\":\"study\",\"requires\":[{}]"),
         "(t): requires: condition 1: must be an object of header fields"},
        {WITH("t", "\"trigger\":\"study\",\"requires\":[{\"Modality\":\"MR\"},"
                   "{\"SeriesDescription\":{\"x\":1}}]"),
         "(t): requires: condition 2: SeriesDescription: must be a pattern string"},
        {WITH("t", "\"trigger\":\"study\",\"requires\":[{\"Modality\":[]}]"),
         "(t): requires: condition 1: Modality: must be"},
        {WITH("t", "\"trigger\":\"study\",\"completeTimeout\":0"), "(t): completeTimeout: "},
        {WITH("t", "\"trigger\":\"study\",\"completeTimeout\":-1"),
         "(t): completeTimeout: -1 (no limit) is not allowed"},
        {WITH("t", "\"trigger\":\"patient\",\"onTimeout\":\"maybe\""),
         "(t): onTimeout: must be \"drop\" (the default) or \"plan\""},
        {WITH("t", "\"trigger\":\"study\",\"rerun\":\"always\""),
         "(t): rerun: must be \"new-series\" (the default) or \"never\""},
    };
    const char *sys = "{\"preServices\":[" WITH("pre", "\"trigger\":\"study\"") "]}";
    fake f = {0};
    dcmp_plan p;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *entries[] = {cases[i].entry, NULL};
        plan_entries(&p, &f, NULL, "registry/t/settings.json", entries);
        CHECK_STR(decided(&p, "t"), "invalid");
        CHECK(reported(&p, cases[i].says, "entry skipped"));
        if (!reported(&p, cases[i].says, "entry skipped")) {
            fprintf(stderr, "  case %zu: expected \"%s\"\n", i, cases[i].says);
            dump_reports(&p);
        }
        dcmp_plan_free(&p);
    }
    plan(&p, &f, sys, NULL, NULL);
    CHECK_STR(decided(&p, "pre"), "invalid");
    CHECK(reported(&p,
                   "settings.json: preServices[0] (pre): trigger: preServices and "
                   "postServices run per series",
                   NULL));
    dcmp_plan_free(&p);
}

int main(void)
{
    RUN(test_groups_and_implicit_deps);
    RUN(test_headers);
    RUN(test_invalid_entries);
    RUN(test_duplicates);
    RUN(test_disabled);
    RUN(test_sort_positions);
    RUN(test_callbacks);
    RUN(test_dependencies);
    RUN(test_cross_group);
    RUN(test_implicit_only_kept);
    RUN(test_queue_timeout_retry);
    RUN(test_events_independent);
    RUN(test_json_and_specs);
    RUN(test_empty);
    RUN(test_reserved_names);
    RUN(test_timeouts_as_rq);
    RUN(test_drop_reasons);
    RUN(test_levels);
    RUN(test_trigger_errors);
    return HARNESS_RESULT();
}
