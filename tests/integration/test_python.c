/* test_python.c -- Python workers run by the real worker beside C ones: kwargs in, result
 * stored, exceptions with their traceback, print() in the log, crashes, hangs and memory
 * exhaustion ending their job only, a changed module imported afresh, a name of neither kind, and
 * results given to dependents. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

static fixture f;
static char modules[PATH_MAX + 16];

static const char service_init[] =
    "from .main import worker, boom, talk, leave, segv, hang, hog, give, see, bad, huge, pad\n";

static const char service_main[] =
    "import ctypes, os, time\n"
    "\n"
    "def worker(jobName, headers, params, added_params, **kwargs):\n"
    "    return {'jobName': jobName, 'headers': headers, 'params': params,\n"
    "            'added': added_params, 'env': [os.environ.get(k) for k in\n"
    "            ('DATA', 'MODULES', 'ORTHANC_REST_URL')]}\n"
    "\n"
    "def boom(**kwargs):\n"
    "    raise ValueError('bad input 42')\n"
    "\n"
    "def talk(**kwargs):\n"
    "    print('hello from python')\n"
    "\n"
    "def leave(**kwargs):\n"
    "    print('leaving now')\n"
    "    os._exit(3)\n"
    "\n"
    "def segv(**kwargs):\n"
    "    print('about to crash')\n"
    "    ctypes.string_at(0)\n"
    "\n"
    "def hang(**kwargs):\n"
    "    print('hanging')\n"
    "    time.sleep(600)\n"
    "\n"
    "def hog(**kwargs):\n"
    "    print('asking for 4 GiB')\n"
    "    return len(bytearray(4 << 30))\n"
    "\n"
    "def give(**kwargs):\n"
    "    return {'added_params': {'score': 7}, 'storage': [{'path': 'a.dcm', 'type': 'dicom'}]}\n"
    "\n"
    "def see(added_params, **kwargs):\n"
    "    return {'seen': added_params}\n"
    "\n"
    "def bad(**kwargs):\n"
    "    return {'added_params': [1, 2]}\n"
    "\n"
    "def huge(**kwargs):\n"
    "    return {'added_params': {'blob': 'x' * 600000}}\n"
    "\n"
    "def pad(**kwargs):\n"
    "    return {'added_params': {'pad': 'x' * 900000}}\n";

/* Runs jobs (specs as fixture_enqueue's) and waits for the last one to be `state`; returns it
 * in *job (clear it) or -1. */
static int run_jobs(const char *const *specs, int n, const char *params, int64_t timeout,
                    const char *state, dcmp_job *job)
{
    char ids[4][DCMP_ID_LEN];

    if (fixture_enqueue(&f, specs, n, params, timeout, ids) < 0)
        return -1;
    if (fixture_wait_state(&f, ids[n - 1], state, 30000) < 0) {
        fprintf(stderr, "job %s not %s\n", specs[n - 1], state);
        return -1;
    }
    return dcmp_queue_job(f.q, ids[n - 1], job) == 1 ? 0 : -1;
}

/* Runs func alone, checks it ends `state` with error and log containing what is given, then
 * that the worker still serves both kinds. */
static void expect(const char *func, int64_t timeout, const char *state, const char *error,
                   const char *log)
{
    char spec[256];
    const char *specs[1] = {spec};
    dcmp_job job;

    snprintf(spec, sizeof spec, "job|%s|default|", func);
    if (run_jobs(specs, 1, NULL, timeout, state, &job) < 0) {
        CHECK(!"job did not end as expected");
        return;
    }
    if (error)
        CHECK_CONTAINS(job.error, error);
    else
        CHECK_STR(job.error, "");
    if (log)
        CHECK_CONTAINS(job.log, log);
    dcmp_job_clear(&job);
    snprintf(spec, sizeof spec, "after|pysvc.talk|default|");
    CHECK(run_jobs(specs, 1, NULL, 60, "finished", &job) == 0);
    dcmp_job_clear(&job);
    snprintf(spec, sizeof spec, "after|testmods.noop|default|");
    CHECK(run_jobs(specs, 1, NULL, 60, "finished", &job) == 0);
    dcmp_job_clear(&job);
}

/* A C job then a Python job that depends on it, in one graph: the Python function gets the
 * original's keywords and the containers' environment, and its return value is the result. */
static void test_graph(void)
{
    const char *specs[2] = {"cjob|testmods.noop|default|", "pyjob|pysvc.worker|default|0"};
    char want[PATH_MAX + 64];
    dcmp_job job;

    if (run_jobs(specs, 2, "{\"size\":[1,2],\"label\":\"ü\"}", 60, "finished", &job) < 0) {
        CHECK(!"graph did not finish");
        return;
    }
    CHECK_STR(job.error, "");
    CHECK_CONTAINS(job.result, "\"jobName\":\"pyjob\"");
    CHECK_CONTAINS(job.result, "\"params\":{\"size\":[1,2],\"label\":\"ü\"}");
    CHECK_CONTAINS(job.result, "\"headers\":{");
    CHECK_CONTAINS(job.result, "\"added\":{");
    snprintf(want, sizeof want, "\"env\":[\"%s\",\"%s\",", f.data, modules);
    CHECK_CONTAINS(job.result, want);
    dcmp_job_clear(&job);
}

/* Reads DIR/worker-0.log and worker-1.log into buf (cut). */
static void worker_logs(char *buf, size_t size)
{
    size_t used = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; i < 2 && used + 1 < size; i++) {
        char path[PATH_MAX + 32];
        FILE *fp;
        snprintf(path, sizeof path, "%s/worker-%d.log", f.dir, i);
        if ((fp = fopen(path, "r")) == NULL)
            continue;
        used += fread(buf + used, 1, size - 1 - used, fp);
        buf[used] = '\0';
        fclose(fp);
    }
}

/* A job's result {"added_params": {...}, "storage": [...]} reaches its dependent as
 * added_params[<its jobName>]; a malformed one and one over 512 KiB are ignored, each with a
 * line in the worker's log, and the good one beside them still arrives. */
static void test_results(void)
{
    const char *specs[4] = {"bad|pysvc.bad|default|", "huge|pysvc.huge|default|",
                            "give|pysvc.give|default|", "see|pysvc.see|default|0,1,2"};
    static char logs[1 << 16];
    dcmp_job job;

    if (run_jobs(specs, 4, NULL, 60, "finished", &job) < 0) {
        CHECK(!"the graph did not finish");
        return;
    }
    CHECK_CONTAINS(job.result, "\"seen\":{\"give\":{\"score\":7,\"storage\":[{\"path\":"
                               "\"a.dcm\",\"type\":\"dicom\"}]}}");
    dcmp_job_clear(&job);
    worker_logs(logs, sizeof logs);
    CHECK_CONTAINS(logs, "(bad): its result has an added_params that is not a JSON object: "
                         "ignored");
    CHECK_CONTAINS(logs, "(huge): its result has added_params and storage over 512 KiB: ignored");
    CHECK_CONTAINS(logs, "(give): its result's 1 added_params key(s) and storage merged into "
                         "added_params[give]");
}

/* The queue reads at most 4 MiB of a job's dependencies' results: of five results of about
 * 900 kB (each over 512 KiB of added_params too), the fifth is left out by fetch.lua and named
 * in the worker's log; the job runs. */
static void test_results_cap(void)
{
    const char *specs[6] = {"pad0|pysvc.pad|default|", "pad1|pysvc.pad|default|",
                            "pad2|pysvc.pad|default|", "pad3|pysvc.pad|default|",
                            "pad4|pysvc.pad|default|", "last|pysvc.see|default|0,1,2,3,4"};
    static char logs[1 << 16];
    char ids[6][DCMP_ID_LEN];

    if (fixture_enqueue(&f, specs, 6, NULL, 60, ids) < 0 ||
        fixture_wait_state(&f, ids[5], "finished", 60000) < 0) {
        CHECK(!"the graph did not finish");
        return;
    }
    worker_logs(logs, sizeof logs);
    CHECK_CONTAINS(logs, "(pad4): its result of 9000"); /* 900000 and the JSON around it */
    CHECK_CONTAINS(logs, "(pad3): its result has added_params and storage over 512 KiB");
    CHECK_CONTAINS(logs, " bytes is over the queue's limits (1 MiB each, 4 MiB in all): ignored");
    CHECK(strstr(logs, "(pad3): its result of") == NULL);
}

static void test_exception(void)
{
    expect("pysvc.boom", 60, "failed", "ValueError: bad input 42", NULL);
    expect("pysvc.boom", 60, "failed", "in boom", NULL); /* the traceback's frame */
}

static void test_print(void)
{
    expect("pysvc.talk", 60, "finished", NULL, "hello from python");
}

static void test_exit(void)
{
    expect("pysvc.leave", 60, "failed", "status 3", "leaving now");
}

static void test_segfault(void)
{
    expect("pysvc.segv", 60, "failed", "crashed: signal 11", "about to crash");
}

/* The timeout counts from the job's start, the interpreter's start and the import included: 5 s
 * leaves a loaded machine time to reach the print (1 s did not, at load 40). */
static void test_timeout(void)
{
    expect("pysvc.hang", 5, "failed", "timed out after 5s", "hanging");
}

/* Memory exhaustion under JOB_MEMORY_LIMIT=1G (the queue memq's worker): the job fails with
 * Python's MemoryError, the worker serves the next job. (Not under AddressSanitizer, whose
 * shadow memory exceeds any address-space limit.) */
static void test_memory(void)
{
    const char *hog[1] = {"job|pysvc.hog|memq|"}, *talk[1] = {"after|pysvc.talk|memq|"};
    dcmp_job job;

    if (UNDER_ASAN) {
        printf("  (skipped under AddressSanitizer)\n");
        return;
    }
    if (run_jobs(hog, 1, NULL, 60, "failed", &job) < 0) {
        CHECK(!"the 4 GiB job did not fail");
        return;
    }
    CHECK_CONTAINS(job.error, "MemoryError");
    CHECK_CONTAINS(job.log, "asking for 4 GiB");
    dcmp_job_clear(&job);
    CHECK(run_jobs(talk, 1, NULL, 60, "finished", &job) == 0);
    dcmp_job_clear(&job);
}

/* Neither a library nor a module: the error names the candidates of both kinds. */
static void test_neither(void)
{
    expect("zz.w", 60, "failed", "/zz.so", NULL);
    expect("zz.w", 60, "failed", "/libzz.so", NULL);
    expect("zz.w", 60, "failed", "no module zz under MODULES", NULL);
    expect("zz.w", 60, "failed", "/zz.py", NULL);
}

/* Reads member "v" and "pid" of a finished job's result. */
static int version_of(const char *func, long *pid)
{
    char spec[256];
    const char *specs[1] = {spec};
    dcmp_job job;
    cJSON *o;
    int v = -1;

    snprintf(spec, sizeof spec, "ver|%s|default|", func);
    if (run_jobs(specs, 1, NULL, 60, "finished", &job) < 0)
        return -1;
    if ((o = cJSON_Parse(job.result)) != NULL) {
        const cJSON *jv = cJSON_GetObjectItemCaseSensitive(o, "v");
        const cJSON *jp = cJSON_GetObjectItemCaseSensitive(o, "pid");
        if (cJSON_IsNumber(jv) && cJSON_IsNumber(jp)) {
            v = jv->valueint;
            *pid = (long)jp->valuedouble;
        }
        cJSON_Delete(o);
    }
    dcmp_job_clear(&job);
    return v;
}

/* A module rewritten on disk (a reinstall) is imported afresh, the worker not restarted; the
 * pool's executor reloads it in the same process. */
static void test_changed(void)
{
    char dir[PATH_MAX + 32], path[PATH_MAX + 64];
    const char *mode = getenv("DCMP_TEST_EXECUTOR");
    long pid1 = 0, pid2 = 0;

    snprintf(dir, sizeof dir, "%s/pyver", modules);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/__init__.py", dir);
    CHECK(fixture_write_new(
              path, "import os\ndef worker(**kw):\n    return {'v': 1, 'pid': os.getpid()}\n") ==
          0);
    CHECK(version_of("pyver.worker", &pid1) == 1);
    CHECK(fixture_write_new(
              path, "import os\ndef worker(**kw):\n    return {'v': 2, 'pid': os.getpid()}\n") ==
          0);
    CHECK(version_of("pyver.worker", &pid2) == 2);
    if (mode && strcmp(mode, "pool") == 0)
        CHECK(pid1 == pid2 && pid1 > 0);
    else
        CHECK(pid1 != pid2 && pid1 > 0 && pid2 > 0);
}

int main(void)
{
    const char *mods = getenv("DCMP_TEST_MODULES");
    const char *memory_env[] = {"JOB_MEMORY_LIMIT=1G", NULL};
    char path[PATH_MAX + 64], target[PATH_MAX + 32];

    if (mods == NULL || fixture_start(&f) < 0)
        return 1;
    snprintf(modules, sizeof modules, "%s/mods", f.dir);
    snprintf(path, sizeof path, "%s/pysvc", modules);
    if (mkdir(modules, 0700) < 0 || mkdir(path, 0700) < 0)
        return 1;
    snprintf(path, sizeof path, "%s/pysvc/__init__.py", modules);
    CHECK(fixture_write_new(path, service_init) == 0);
    snprintf(path, sizeof path, "%s/pysvc/main.py", modules);
    CHECK(fixture_write_new(path, service_main) == 0);
    snprintf(target, sizeof target, "%s/testmods.so", mods);
    snprintf(path, sizeof path, "%s/testmods.so", modules);
    CHECK(symlink(target, path) == 0);
    f.modules = modules;
    fixture_worker(&f, "default", NULL);
    fixture_worker(&f, "memq", memory_env);
    RUN(test_graph);
    RUN(test_results);
    RUN(test_results_cap);
    RUN(test_exception);
    RUN(test_print);
    RUN(test_exit);
    RUN(test_segfault);
    RUN(test_timeout);
    RUN(test_memory);
    RUN(test_neither);
    RUN(test_changed);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
