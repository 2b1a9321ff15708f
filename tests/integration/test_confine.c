/* test_confine.c -- what a job cannot keep or see: a grandchild that left its session dies at
 * the job's timeout and when the worker stops, the environment holds no daemon password, and
 * a job touching 4 GiB under JOB_MEMORY_LIMIT, or spinning past JOB_CPU_LIMIT, fails alone with
 * a clear error. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confine.h"
#include "harness.h"
#include "redis.h"

#define REDIS_SECRET "redis-secret-4711"

static fixture f;
static pid_t stop_worker; /* serves queue "stopq" only */

/* Whether process pid lives (a zombie does not). */
static int alive(pid_t pid)
{
    char buf[512];
    const char *fields = dcmp_confine_proc_stat(pid, buf, sizeof buf);

    return fields != NULL && fields[0] == ' ' && fields[1] != 'Z' && fields[1] != 'X';
}

/* Waits until the orphan's pid file exists and names a living process; returns it, or -1. */
static pid_t orphan_pid(const char *file)
{
    int i;

    for (i = 0; i < 200; i++) {
        char *text = fixture_read_data(&f, file);
        long pid = text ? strtol(text, NULL, 10) : 0;
        free(text);
        if (pid > 0 && alive((pid_t)pid))
            return (pid_t)pid;
        usleep(50000);
    }
    return -1;
}

/* Waits up to ms for pid to end; returns 1 when it did. */
static int gone_within(pid_t pid, int ms)
{
    for (; ms > 0; ms -= 50) {
        if (!alive(pid))
            return 1;
        usleep(50000);
    }
    return !alive(pid);
}

static void enqueue_one(const char *func, const char *queue, const char *params, int64_t timeout,
                        char id[DCMP_ID_LEN])
{
    char spec[256], ids[1][DCMP_ID_LEN];
    const char *jobs[1] = {spec};

    snprintf(spec, sizeof spec, "job|%s|%s|", func, queue);
    CHECK(fixture_enqueue(&f, jobs, 1, params, timeout, ids) == 0);
    memcpy(id, ids[0], DCMP_ID_LEN);
}

/* The job's error and log, after it reached `state`. */
static void job_text(const char *id, const char *state, char *error, char *log, size_t size)
{
    dcmp_job job;

    error[0] = log[0] = '\0';
    CHECK(fixture_wait_state(&f, id, state, 30000) == 0);
    if (dcmp_queue_job(f.q, id, &job) == 1) {
        snprintf(error, size, "%s", job.error);
        snprintf(log, size, "%s", job.log);
        dcmp_job_clear(&job);
    }
}

static void still_serves(const char *queue)
{
    char id[DCMP_ID_LEN];

    enqueue_one("testmods.noop", queue, NULL, 60, id);
    CHECK(fixture_wait_state(&f, id, "finished", 20000) == 0);
}

/* A grandchild started with setsid outlives nothing: killed at the job's timeout. */
static void test_timeout_kills_grandchild(void)
{
    char id[DCMP_ID_LEN], error[4096], log[4096];
    pid_t pid;

    enqueue_one("confinemods.orphan", "default", "{\"file\":\"timeout.pid\"}", 2, id);
    CHECK((pid = orphan_pid("timeout.pid")) > 0);
    job_text(id, "failed", error, log, sizeof error);
    CHECK_CONTAINS(error, "timed out after 2s");
    if (pid > 0)
        CHECK(gone_within(pid, 3000));
    if (pid > 0 && alive(pid))
        kill(pid, SIGKILL);
    still_serves("default");
}

/* The same when the worker is stopped (SIGTERM, as run.sh down and docker stop do) while the
 * job runs: after WORKER_STOP_GRACE the job and everything it started are killed. */
static void test_stop_kills_grandchild(void)
{
    char id[DCMP_ID_LEN];
    pid_t pid;

    enqueue_one("confinemods.orphan", "stopq", "{\"file\":\"stop.pid\"}", 600, id);
    CHECK((pid = orphan_pid("stop.pid")) > 0);
    fixture_worker_stop(&f, stop_worker, SIGTERM);
    if (pid > 0)
        CHECK(gone_within(pid, 3000));
    if (pid > 0 && alive(pid))
        kill(pid, SIGKILL);
}

/* Whether the first worker put its jobs in cgroups (it says so in its log at start). */
static int worker_uses_cgroups(void)
{
    char path[PATH_MAX + 32], buf[8192];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/worker-0.log", f.dir);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strstr(buf, "jobs are contained by a cgroup each") != NULL;
}

/* A job whose process crashes leaves its grandchild to init: only a cgroup finds it then.
 * Where the worker can make cgroups (root here; not as the Docker image's user), the
 * grandchild is in the job's cgroup and dies with it. */
static void test_crash_with_cgroup(void)
{
    char id[DCMP_ID_LEN], error[4096], log[4096], path[64], cg[512] = "";
    FILE *fp;
    pid_t pid;

    if (!worker_uses_cgroups()) {
        printf("  (skipped: the worker cannot make cgroups here; see its log)\n");
        return;
    }
    enqueue_one("confinemods.orphan", "default", "{\"file\":\"crash.pid\",\"then\":\"crash\"}", 60,
                id);
    CHECK((pid = orphan_pid("crash.pid")) > 0);
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (pid > 0 && (fp = fopen(path, "r")) != NULL) {
        size_t n = fread(cg, 1, sizeof cg - 1, fp);
        cg[n] = '\0';
        fclose(fp);
    }
    job_text(id, "failed", error, log, sizeof error);
    CHECK_CONTAINS(error, "crashed: signal 11");
    /* when it was read before the job ended: its cgroup is the worker's job cgroup */
    if (cg[0] != '\0' && alive(pid))
        CHECK_CONTAINS(cg, "/dcmp-worker-");
    if (pid > 0)
        CHECK(gone_within(pid, 3000));
    if (pid > 0 && alive(pid))
        kill(pid, SIGKILL);
    still_serves("default");
}

/* Service code sees the allow-listed variables and JOB_ENV's, never a daemon's password. */
static void test_environment(void)
{
    char id[DCMP_ID_LEN], error[4096], log[4096];

    enqueue_one("confinemods.env", "default", "{\"show\":\"SITE_SETTING\"}", 60, id);
    job_text(id, "finished", error, log, sizeof error);
    CHECK_CONTAINS(log, "PATH ");
    CHECK_CONTAINS(log, "DATA ");
    CHECK_CONTAINS(log, "ORTHANC_REST_URL ");
    CHECK_CONTAINS(log, "SITE_SETTING=site-value");
    CHECK(strstr(log, "REDIS_PSWD") == NULL);
    CHECK(strstr(log, "DASHBOARD_PASSWORD") == NULL);
    CHECK(strstr(log, "WEBHOOK_TOKEN") == NULL);
    CHECK(strstr(log, "ANONYMIZER_SECRET") == NULL);
    CHECK(strstr(log, "DCMP_ENV") == NULL);
    /* and a variable asked for by name is unset */
    enqueue_one("confinemods.env", "default", "{\"show\":\"REDIS_PSWD\"}", 60, id);
    job_text(id, "finished", error, log, sizeof error);
    CHECK_CONTAINS(log, "REDIS_PSWD=(unset)");
    CHECK(strstr(log, REDIS_SECRET) == NULL);
}

/* Touching 4 GiB under JOB_MEMORY_LIMIT=1G: the job fails with the limit in its error, the
 * worker goes on. (Not under AddressSanitizer, whose reserved shadow memory already exceeds
 * any address-space limit.) */
static void test_memory_limit(void)
{
    char id[DCMP_ID_LEN], error[4096], log[4096];

    if (UNDER_ASAN) {
        printf("  (skipped under AddressSanitizer)\n");
        return;
    }
    enqueue_one("confinemods.hog", "default", NULL, 60, id);
    job_text(id, "failed", error, log, sizeof error);
    CHECK_CONTAINS(error, "crashed: signal 11");
    CHECK_CONTAINS(error, "memory limit is 1024 MiB (JOB_MEMORY_LIMIT)");
    still_serves("default");
}

/* JOB_CPU_LIMIT=1s, counted per job: two jobs of 600 ms CPU each pass in one executor, a job
 * that never stops fails with the limit named, the worker goes on. */
static void test_cpu_limit(void)
{
    char id[DCMP_ID_LEN], error[4096], log[4096];

    enqueue_one("confinemods.spin", "cpuq", "{\"ms\":\"600\"}", 60, id);
    CHECK(fixture_wait_state(&f, id, "finished", 30000) == 0);
    enqueue_one("confinemods.spin", "cpuq", "{\"ms\":\"600\"}", 60, id);
    CHECK(fixture_wait_state(&f, id, "finished", 30000) == 0);
    enqueue_one("confinemods.spin", "cpuq", NULL, 30, id);
    job_text(id, "failed", error, log, sizeof error);
    CHECK_CONTAINS(error, "crashed: signal 24");
    CHECK_CONTAINS(error, "the job used its CPU time limit (JOB_CPU_LIMIT=1s)");
    still_serves("cpuq");
}

int main(void)
{
    const char *env[] = {"REDIS_PSWD=" REDIS_SECRET,
                         "DASHBOARD_PASSWORD=dash-secret",
                         "WEBHOOK_TOKEN=hook-secret",
                         "ANONYMIZER_SECRET=anon-secret-0123456789",
                         "ORTHANC_REST_URL=http://127.0.0.1:9",
                         "JOB_ENV=SITE_SETTING",
                         "SITE_SETTING=site-value",
                         "WORKER_STOP_GRACE=1",
                         UNDER_ASAN ? "JOB_FILES_LIMIT=0" : "JOB_MEMORY_LIMIT=1G",
                         NULL};
    const char *cpu_env[] = {"REDIS_PSWD=" REDIS_SECRET, "JOB_CPU_LIMIT=1s", NULL};
    char out[256];
    char *config[] = {"/usr/bin/redis-cli", "-p",         NULL, "CONFIG", "SET",
                      "requirepass",        REDIS_SECRET, NULL};
    char port[16], *noenv[] = {NULL};

    if (fixture_start(&f) < 0)
        return 1;
    /* Redis with a password, as a stack made from .env.example has */
    snprintf(port, sizeof port, "%d", f.port);
    config[2] = port;
    if (fixture_run(&f, config, noenv, out, sizeof out) != 0) {
        fprintf(stderr, "redis-cli CONFIG SET requirepass: %s\n", out);
        return 1;
    }
    {
        dcmp_queue_opts o = {.host = "127.0.0.1",
                             .port = f.port,
                             .password = REDIS_SECRET,
                             .heartbeat_ttl_ms = 2000};
        dcmp_queue_free(f.q);
        f.q = dcmp_queue_new(&o);
        if (dcmp_queue_connect(f.q) < 0)
            return 1;
    }
    fixture_worker(&f, "default", env);
    stop_worker = fixture_worker(&f, "stopq", env);
    fixture_worker(&f, "cpuq", cpu_env);
    RUN(test_environment);
    RUN(test_timeout_kills_grandchild);
    RUN(test_stop_kills_grandchild);
    RUN(test_crash_with_cgroup);
    RUN(test_memory_limit);
    RUN(test_cpu_limit);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
