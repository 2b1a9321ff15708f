/* test_callbacks.c -- the callbacks of an event run in one batch give the plan they give run one
 * at a time: the same decisions, reasons, injections and reports, with a callback that
 * crashes, one that errs, one that hangs past the time limit, and injections carried across
 * the new executors those need. Real dcmp-executor processes, the sample callbacks (testcb). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callbacks.h"
#include "harness.h"
#include "plan.h"

static char reg_dir[PATH_MAX];
static const char *const svcs[] = {"a", "b", "crash", "c", "err", "hang", "d", "no", NULL};

/* A registry folder whose callbacks are testcb's: REGISTRY/<svc>/cb.so. */
static void service(const char *svc)
{
    char dir[PATH_MAX + 64], link[PATH_MAX + 96], src[PATH_MAX];

    snprintf(dir, sizeof dir, "%s/%s", reg_dir, svc);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(src, sizeof src, "%s/testcb.so", getenv("DCMP_TEST_MODULES"));
    snprintf(link, sizeof link, "%s/cb.so", dir);
    CHECK(symlink(src, link) == 0);
}

/* The plan's JSON without the job ids (new for every plan). */
static char *plan_text(const cJSON *system, const cJSON *data, int batch, dcmp_callbacks *cb)
{
    dcmp_plan_input in;
    dcmp_plan p;
    char err[DCMP_ERR_LEN], *text;
    cJSON *o, *j;

    memset(&in, 0, sizeof in);
    in.system = system;
    in.system_path = "settings.json";
    in.data = data;
    in.default_queue = "default";
    if (batch)
        in.batch = dcmp_callbacks_batch;
    else
        in.callback = dcmp_callbacks_call;
    in.callback_arg = cb;
    CHECK(dcmp_plan_make(&in, &p, err) == 0);
    text = dcmp_plan_json(&p);
    dcmp_plan_free(&p);
    o = cJSON_Parse(text);
    free(text);
    cJSON_ArrayForEach(j, cJSON_GetObjectItem(o, "jobs"))
    {
        cJSON_DeleteItemFromObject(j, "id");
        cJSON_DeleteItemFromObject(j, "dependsOnIds");
    }
    cJSON_ArrayForEach(j, cJSON_GetObjectItem(o, "decisions"))
        cJSON_DeleteItemFromObject(j, "jobId");
    text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

/* Whether process pid has libpython mapped. */
static int maps_python(pid_t pid)
{
    char path[64], line[1024];
    int found = 0;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, "libpython") != NULL;
    fclose(fp);
    return found;
}

static void test_batch_equals_one_by_one(void)
{
    static const char *const injected[] = {"a", "b", "c", "d"};
    const char *system =
        "{\"headerFields\":[\"Modality\"],\"preServices\":["
        "{\"jobName\":\"a\",\"worker\":\"w.w\",\"callback\":\"a.cb.yes\"},"
        "{\"jobName\":\"b\",\"worker\":\"w.w\",\"callback\":\"b.cb.yes\",\"dependsOn\":\"a\"},"
        "{\"jobName\":\"crash\",\"worker\":\"w.w\",\"callback\":\"crash.cb.crash\"},"
        "{\"jobName\":\"c\",\"worker\":\"w.w\",\"callback\":\"c.cb.yes\",\"params\":{\"x\":1}},"
        "{\"jobName\":\"err\",\"worker\":\"w.w\",\"callback\":\"err.cb.err\"},"
        "{\"jobName\":\"hang\",\"worker\":\"w.w\",\"callback\":\"hang.cb.hang\"},"
        "{\"jobName\":\"d\",\"worker\":\"w.w\",\"callback\":\"d.cb.yes\",\"dependsOn\":\"c\"},"
        "{\"jobName\":\"missing\",\"worker\":\"w.w\",\"callback\":\"nowhere.cb.yes\"},"
        "{\"jobName\":\"no\",\"worker\":\"w.w\",\"callback\":\"no.cb.no\"}],"
        "\"postServices\":{\"jobName\":\"z\",\"worker\":\"w.w\",\"callback\":\"a.cb.yes\"}}";
    cJSON *sys = cJSON_Parse(system), *data = cJSON_Parse("{\"Modality\":\"CT\"}");
    dcmp_callbacks one, all;
    const cJSON *saw;
    char *a, *b;
    cJSON *o;
    int i;

    for (i = 0; svcs[i]; i++)
        service(svcs[i]);
    /* 4 s: the hanging callback ends there; under ASan on a loaded machine a callback that
     * answers took over 1 s, and the two plans differed */
    dcmp_callbacks_init(&one, reg_dir, reg_dir, 4, 1000);
    dcmp_callbacks_init(&all, reg_dir, reg_dir, 4, 1000);
    a = plan_text(sys, data, 0, &one);
    b = plan_text(sys, data, 1, &all);
    CHECK_STR(b, a);
    /* what it holds: a crash and a timeout as errors, the rest carried on */
    CHECK_CONTAINS(b, "crashed: signal 11");
    CHECK_CONTAINS(b, "timed out after 4s");
    CHECK_CONTAINS(b, "callback refused");
    CHECK_CONTAINS(b, "nowhere");
    /* a callback of neither kind: the candidates of both, Python's under REGISTRY */
    CHECK_CONTAINS(b, "C library: cannot find the library of \\\"nowhere.cb.yes\\\"");
    CHECK_CONTAINS(b, "Python module: python: nowhere.cb.yes: no module nowhere under REGISTRY");
    /* z ran after two executors were replaced, and saw what the calls before injected: only
     * the yeses (no's injection, the errors' nothing are not stored) */
    o = cJSON_Parse(b);
    saw = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "added_params"), "z"),
                              "saw");
    for (i = 0; i < 4; i++)
        CHECK(cJSON_GetObjectItem(saw, injected[i]) != NULL);
    CHECK(cJSON_GetArraySize(saw) == 4);
    CHECK(cJSON_GetObjectItem(saw, "no") == NULL);
    cJSON_Delete(o);
    free(a);
    free(b);
    /* the same again in executors that already run */
    a = plan_text(sys, data, 0, &one);
    b = plan_text(sys, data, 1, &all);
    CHECK_STR(b, a);
    free(a);
    free(b);
    /* only C callbacks and a name of neither kind: the interpreter was never started */
    CHECK(all.pool.pid > 0);
    CHECK(!maps_python(all.pool.pid));
    dcmp_callbacks_stop(&one);
    dcmp_callbacks_stop(&all);
    cJSON_Delete(sys);
    cJSON_Delete(data);
}

int main(void)
{
    char path[PATH_MAX + 96];
    int rc, i;

    if (getenv("DCMP_TEST_MODULES") == NULL) {
        fprintf(stderr, "DCMP_TEST_MODULES is not set: run through ctest\n");
        return 1;
    }
    CHECK(snprintf(reg_dir, sizeof reg_dir, "/tmp/dcmp-callbacks-XXXXXX") < (int)sizeof reg_dir);
    CHECK(mkdtemp(reg_dir) != NULL);
    RUN(test_batch_equals_one_by_one);
    rc = HARNESS_RESULT();
    for (i = 0; svcs[i]; i++) {
        snprintf(path, sizeof path, "%s/%s/cb.so", reg_dir, svcs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", reg_dir, svcs[i]);
        rmdir(path);
    }
    rmdir(reg_dir);
    return rc;
}
