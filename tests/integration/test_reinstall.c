/* test_reinstall.c -- a service library replaced on disk is used by the next job without a
 * worker restart (fork per job loads it fresh; a pool executor is replaced when it changed),
 * and a pool executor is replaced after WORKER_RECYCLE jobs. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

static fixture f;
static char mods[PATH_MAX + 16];
static int pool; /* the workers run WORKER_EXECUTOR=pool */

/* Installs build/tests/modules/<from>.so as MODULES/svc.so (a new file, as an install does). */
static int install(const char *from)
{
    char src[PATH_MAX + 64], tmp[PATH_MAX + 64], dst[PATH_MAX + 64], buf[65536];
    int in, out;
    ssize_t n;

    snprintf(src, sizeof src, "%s/%s.so", getenv("DCMP_TEST_MODULES"), from);
    snprintf(tmp, sizeof tmp, "%s/.svc.so.new", mods);
    snprintf(dst, sizeof dst, "%s/svc.so", mods);
    if ((in = open(src, O_RDONLY)) < 0)
        return -1;
    if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755)) < 0) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    close(in);
    close(out);
    return rename(tmp, dst);
}

/* Runs svc.<fn> and checks its end state and error. */
static void run(const char *fn, const char *state, const char *error)
{
    char spec[128], ids[1][DCMP_ID_LEN];
    const char *jobs[1] = {spec};
    dcmp_job job;

    snprintf(spec, sizeof spec, "job|svc.%s|default|", fn);
    CHECK(fixture_enqueue(&f, jobs, 1, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], state, 20000) == 0);
    if (error && dcmp_queue_job(f.q, ids[0], &job) == 1) {
        CHECK_CONTAINS(job.error, error);
        dcmp_job_clear(&job);
    }
}

static void test_reinstall(void)
{
    CHECK(install("testmods") == 0);
    run("noop", "finished", NULL);
    run("noop", "finished", NULL);
    /* replaced by a library of another ABI: the next job sees the new file */
    CHECK(install("badabi") == 0);
    run("worker", "failed", "ABI version");
    CHECK(install("testmods") == 0);
    run("noop", "finished", NULL);
    if (pool) {
        /* one executor ran the first two jobs; the change made the worker start another */
        char *log = fixture_read_data(&f, "../worker-0.log");
        CHECK_CONTAINS(log, "changed: starting a new executor");
        free(log);
    }
}

/* Counts the distinct pids in the record log. */
static int distinct_pids(void)
{
    char *log = fixture_read_data(&f, "record.log"), *line, *save = NULL;
    long pids[64];
    int n = 0, i;

    for (line = log ? strtok_r(log, "\n", &save) : NULL; line && n < 64;
         line = strtok_r(NULL, "\n", &save)) {
        const char *sp = strrchr(line, ' ');
        long pid = sp ? strtol(sp + 1, NULL, 10) : 0;
        for (i = 0; i < n && pids[i] != pid; i++)
            ;
        if (i == n)
            pids[n++] = pid;
    }
    free(log);
    return n;
}

/* With WORKER_RECYCLE=2 five jobs in a row run in at least three executors (fork: five
 * processes), and all finish. */
static void test_recycle(void)
{
    const char *jobs[] = {"r|svc.record|default|", "r|svc.record|default|0",
                          "r|svc.record|default|1", "r|svc.record|default|2",
                          "r|svc.record|default|3"};
    char ids[5][DCMP_ID_LEN];
    int i;

    CHECK(fixture_enqueue(&f, jobs, 5, NULL, 60, ids) == 0);
    for (i = 0; i < 5; i++)
        CHECK(fixture_wait_state(&f, ids[i], "finished", 20000) == 0);
    if (pool)
        CHECK(distinct_pids() == 3);
    else
        CHECK(distinct_pids() == 5);
}

int main(void)
{
    const char *env[] = {"WORKER_RECYCLE=2", NULL};
    pid_t w;

    if (fixture_start(&f) < 0)
        return 1;
    snprintf(mods, sizeof mods, "%s/modules", f.dir);
    mkdir(mods, 0755);
    f.modules = mods;
    pool = getenv("DCMP_TEST_EXECUTOR") && strcmp(getenv("DCMP_TEST_EXECUTOR"), "pool") == 0;
    w = fixture_worker(&f, "default", NULL);
    RUN(test_reinstall);
    fixture_worker_stop(&f, w, 15);
    fixture_worker(&f, "default", env);
    RUN(test_recycle);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
