/* bench_worker.c -- benchmark of dcmp-worker: no-op jobs/s, enqueue-to-finish latency, RSS. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "confine.h"
#include "job.h"
#include "jsonw.h"
#include "loader.h"
#include "queue.h"
#include "redis.h"
#include "spec.h"

/*
 * Prints one result per line on stdout, fields split by '|', for bench/run.sh
 * to tabulate (progress and errors go to stderr):
 *   T|system|mode|workers|jobs|seconds|jobs_per_s
 *   L|system|what|runs|client_median_ms|client_p95_ms|server_median_ms|server_p95_ms
 *   M|system|what|kB
 *   B|what|runs|us_per_job
 *   C|system|what|jobs|cpu_us_per_job
 * Every phase uses its own queue name, so the finished registries count one
 * phase each and no FLUSHALL is needed between phases.
 */

extern char **environ;

#define MAX_WORKERS   8
#define JOB_TIMEOUT_S 60
#define WAIT_LIMIT_US (120 * 1000000LL) /* any phase taking longer is broken */

typedef struct bench {
    const char *label; /* the system's name in the output, e.g. "dcmp-pool" */
    int port;
    const char *worker_bin; /* borrowed from argv */
    const char *modules;    /* MODULES: where testmods.so (or func's module) is */
    const char *func;       /* the jobs' dotted function, testmods.noop by default */
    const char *container;  /* --container IMAGE: the jobs run that image (NULL: none) */
    char *kwargs;           /* the jobs' kwargs (new); with --container, its image's job */
    const char *dir;        /* DATA and the workers' logs */
    long jobs;              /* throughput: jobs per phase */
    long runs;              /* latency: runs per measurement */
    pid_t redis;            /* for its CPU time; 0 = unknown */
    dcmp_queue *q;
    int nlogs;
} bench;

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bench_worker: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* The first child of pid (a pool worker has one executor), 0 when none. */
static pid_t first_child(pid_t pid)
{
    char path[96];
    long child = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fscanf(f, "%ld", &child) != 1)
        child = 0;
    fclose(f);
    return (pid_t)child;
}

/* VmRSS of a process's direct children (a pool worker's executor), in kB: their sum into
 * *sum, the largest into *max; 0 when it has none, -1 when it cannot be read. */
static int children_rss_kb(pid_t pid, long *sum, long *max)
{
    char path[96];
    long child;
    FILE *f;

    *sum = 0;
    *max = 0;
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fscanf(f, "%ld", &child) == 1) {
        long c = fixture_rss_kb((pid_t)child);
        if (c > 0) {
            *sum += c;
            *max = c > *max ? c : *max;
        }
    }
    fclose(f);
    return 0;
}

/* VmRSS of a process and its direct children, in kB. */
static long family_rss_kb(pid_t pid)
{
    long kb = fixture_rss_kb(pid), sum, max;

    if (kb < 0 || children_rss_kb(pid, &sum, &max) < 0)
        return kb;
    return kb + sum;
}

/* CPU time (user + system, us) of this process's reaped children. */
static int64_t children_cpu_us(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_CHILDREN, &ru) < 0)
        return 0;
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* CPU time (user + system, us) of a process from /proc, -1 when unknown. */
static int64_t proc_cpu_us(pid_t pid)
{
    char buf[1024];
    const char *p = dcmp_confine_proc_stat(pid, buf, sizeof buf);
    unsigned long long ut, st;

    /* Fields after the command name: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (p == NULL ||
        sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (int64_t)(ut + st) * 1000000 / sysconf(_SC_CLK_TCK);
}

/* Starts dcmp-worker on `queue` (its executor, pool or fork, from WORKER_EXECUTOR). */
static pid_t spawn_worker(bench *b, const char *queue, int burst)
{
    char port[32], modules[PATH_MAX + 16], data[PATH_MAX + 16], log[PATH_MAX + 32], name[64];
    char *argv[] = {(char *)b->worker_bin,    "--queues", (char *)queue,
                    "--no-scripts",           "--name",   name,
                    burst ? "--burst" : NULL, NULL};
    char *envp[64];
    posix_spawn_file_actions_t fa;
    int n = 0, i, rc;
    pid_t pid;

    snprintf(port, sizeof port, "REDIS_PORT=%d", b->port);
    snprintf(modules, sizeof modules, "MODULES=%s", b->modules);
    snprintf(data, sizeof data, "DATA=%s", b->dir);
    snprintf(log, sizeof log, "%s/worker-%d.log", b->dir, b->nlogs);
    snprintf(name, sizeof name, "bench-%s-%d", queue, b->nlogs++);
    envp[n++] = "REDIS_HOST=127.0.0.1";
    envp[n++] = port;
    envp[n++] = modules;
    envp[n++] = data;
    envp[n++] = "LOG_LEVEL=warn";
    envp[n++] = "DCMP_ENV=";
    /* WORKER_* passes through, so that e.g. WORKER_EXECUTOR=... bench/run.sh measures it. */
    for (i = 0; environ[i] && n < 60; i++)
        if (strncmp(environ[i], "PATH=", 5) == 0 || strncmp(environ[i], "LD_", 3) == 0 ||
            strncmp(environ[i], "WORKER_", 7) == 0)
            envp[n++] = environ[i];
    envp[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    rc = posix_spawn(&pid, b->worker_bin, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("cannot start %s: %s", b->worker_bin, strerror(rc));
    return pid;
}

/* SIGTERM, then SIGKILL after 5 s; reaps it. */
static void stop_worker(pid_t pid, int term)
{
    int status, i;

    if (term)
        kill(pid, SIGTERM);
    for (i = 0; i < 500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return;
        sleep_us(10000);
    }
    fprintf(stderr, "bench_worker: worker %ld did not stop: killed\n", (long)pid);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* Enqueues n no-op jobs as one graph; chain: each depends on the one before. */
static void enqueue(bench *b, const char *queue, int n, int chain, char (*ids)[DCMP_ID_LEN])
{
    dcmp_job_spec specs[DCMP_GRAPH_MAX];
    const char *deps[DCMP_GRAPH_MAX];
    char event[DCMP_ID_LEN], err[DCMP_ERR_LEN], *graph;
    int i;

    if (n < 1 || n > DCMP_GRAPH_MAX || dcmp_job_new_id(event) < 0)
        die("enqueue: bad graph size %d or no randomness", n);
    for (i = 0; i < n; i++) {
        if (dcmp_job_new_id(ids[i]) < 0)
            die("enqueue: no randomness");
        memset(&specs[i], 0, sizeof specs[i]);
        specs[i].id = ids[i];
        specs[i].name = "noop";
        specs[i].func = b->func;
        specs[i].queue = queue;
        specs[i].kwargs = b->kwargs;
        specs[i].timeout = JOB_TIMEOUT_S;
        if (chain && i > 0) {
            deps[i] = ids[i - 1];
            specs[i].deps = &deps[i];
            specs[i].ndeps = 1;
        }
    }
    if ((graph = dcmp_job_encode_graph(event, specs, n, err)) == NULL)
        die("enqueue: %s", err);
    if (dcmp_queue_enqueue(b->q, graph) < 0)
        die("enqueue: %s", dcmp_queue_errstr(b->q));
    free(graph);
}

static int64_t finished(bench *b, const char *queue)
{
    int64_t n = 0;

    if (dcmp_queue_count(b->q, queue, "finished", &n) < 0)
        die("count %s: %s", queue, dcmp_queue_errstr(b->q));
    return n;
}

/*
 * Polls until `target` jobs of `queue` are finished, sleeping poll_us between
 * reads; meanwhile samples the workers' RSS every 10 ms into *rss_max (may be
 * NULL). Returns the monotonic time (us) the target was seen.
 */
static int64_t wait_finished(bench *b, const char *queue, int64_t target, int64_t poll_us,
                             const pid_t *pids, int npids, long *rss_max)
{
    int64_t start = now_us(), next_rss = start, next_failed = start, t, nfailed = 0;
    int i;

    for (;;) {
        t = now_us();
        if (finished(b, queue) >= target)
            return now_us();
        if (t >= next_failed) { /* a failed job never finishes: say so at once */
            next_failed = t + 10000;
            if (dcmp_queue_count(b->q, queue, "failed", &nfailed) == 0 && nfailed > 0)
                die("%s: %lld job(s) failed (is --func %s a no-op?); see the logs in %s", queue,
                    (long long)nfailed, b->func, b->dir);
        }
        if (t - start > WAIT_LIMIT_US)
            die("%s: %lld of %lld jobs finished after %lld s; see the logs in %s", queue,
                (long long)finished(b, queue), (long long)target,
                (long long)(WAIT_LIMIT_US / 1000000), b->dir);
        if (rss_max && t >= next_rss) {
            next_rss = t + 10000;
            for (i = 0; i < npids; i++) {
                long kb = fixture_rss_kb(pids[i]);
                if (kb > *rss_max)
                    *rss_max = kb;
            }
        }
        sleep_us(poll_us);
    }
}

/* Enqueues `n` single-job graphs. */
static void enqueue_many(bench *b, const char *queue, long n)
{
    char id[1][DCMP_ID_LEN];
    long i;

    for (i = 0; i < n; i++)
        enqueue(b, queue, 1, 0, id);
}

/* Jobs queued before the workers start; the workers run with --burst. */
static void throughput_burst(bench *b, int nw, long *rss_busy)
{
    char queue[32];
    pid_t pids[MAX_WORKERS];
    int64_t t0, t1, base, cpu0, rcpu0, cpu, rcpu;
    int i;

    snprintf(queue, sizeof queue, "burst%d", nw);
    base = finished(b, queue); /* not 0 when a run before used this Redis */
    enqueue_many(b, queue, b->jobs);
    cpu0 = children_cpu_us();
    rcpu0 = proc_cpu_us(b->redis);
    t0 = now_us();
    for (i = 0; i < nw; i++)
        pids[i] = spawn_worker(b, queue, 1);
    t1 = wait_finished(b, queue, base + b->jobs, 1000, pids, nw, rss_busy);
    rcpu = proc_cpu_us(b->redis);
    for (i = 0; i < nw; i++)
        stop_worker(pids[i], 0);    /* --burst: they leave once the queue is empty */
    cpu = children_cpu_us() - cpu0; /* the workers and every job process they reaped */
    printf("T|%s|burst|%d|%ld|%.3f|%.0f\n", b->label, nw, b->jobs, (double)(t1 - t0) / 1e6,
           (double)b->jobs * 1e6 / (double)(t1 - t0));
    printf("C|%s|CPU: worker + its job processes, burst, %d worker(s)|%ld|%.1f\n", b->label, nw,
           b->jobs, (double)cpu / (double)b->jobs);
    if (rcpu0 >= 0 && rcpu >= 0)
        printf("C|%s|CPU: redis-server (10 ms ticks), burst, %d worker(s)|%ld|%.1f\n", b->label, nw,
               b->jobs, (double)(rcpu - rcpu0) / (double)b->jobs);
    fflush(stdout);
}

/* Workers already waiting; the jobs are enqueued one graph each while they run. */
static void throughput_steady(bench *b, int nw, long *rss_idle, long *rss_busy)
{
    char queue[32];
    pid_t pids[MAX_WORKERS];
    int64_t t0, te, t1, base;
    int i;

    snprintf(queue, sizeof queue, "steady%d", nw);
    base = finished(b, queue) + 2 * nw;
    for (i = 0; i < nw; i++)
        pids[i] = spawn_worker(b, queue, 0);
    enqueue_many(b, queue, 2 * nw); /* warm-up: every worker is up and waiting */
    wait_finished(b, queue, base, 1000, NULL, 0, NULL);
    sleep_us(100000);
    for (i = 0; i < nw; i++) {
        long kb = fixture_rss_kb(pids[i]);
        if (kb > *rss_idle)
            *rss_idle = kb;
    }
    t0 = now_us();
    enqueue_many(b, queue, b->jobs);
    te = now_us();
    t1 = wait_finished(b, queue, base + b->jobs, 1000, pids, nw, rss_busy);
    for (i = 0; i < nw; i++)
        stop_worker(pids[i], 1);
    printf("T|%s|steady|%d|%ld|%.3f|%.0f\n", b->label, nw, b->jobs, (double)(t1 - t0) / 1e6,
           (double)b->jobs * 1e6 / (double)(t1 - t0));
    printf("B|enqueue one single-job graph (client, %d worker(s) running)|%ld|%.1f\n", nw, b->jobs,
           (double)(te - t0) / (double)b->jobs);
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double p95(double *v, long n)
{
    long i = (long)ceil(0.95 * (double)n) - 1;

    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[i < 0 ? 0 : i];
}

/* Server-side span from the job hashes: first's created to last's ended (ms). */
static double server_ms(bench *b, const char *first, const char *last)
{
    dcmp_job j1, j2;
    double ms;

    if (dcmp_queue_job(b->q, first, &j1) != 1 || dcmp_queue_job(b->q, last, &j2) != 1)
        die("read job: %s", dcmp_queue_errstr(b->q));
    ms = (double)(j2.ended - j1.created);
    dcmp_job_clear(&j1);
    dcmp_job_clear(&j2);
    return ms;
}

/*
 * One idle worker; `runs` times: enqueue a graph of `len` jobs (a chain when
 * len > 1), poll every 100 us until the last is finished. Client time is
 * from just before the enqueue call to the poll that saw it; server time is
 * the hashes' ended - created (Redis TIME, whole ms).
 */
static void latency(bench *b, const char *what, int len, long *rss_idle)
{
    char ids[3][DCMP_ID_LEN], queue[32];
    double *client = calloc((size_t)b->runs, sizeof *client);
    double *server = calloc((size_t)b->runs, sizeof *server);
    int64_t base, t0, t1;
    pid_t pid;
    long i;

    if (client == NULL || server == NULL || len > 3)
        die("out of memory");
    snprintf(queue, sizeof queue, "lat-%s", what);
    pid = spawn_worker(b, queue, 0);
    base = finished(b, queue) + 5 * len;
    for (i = 0; i < 5; i++) /* warm-up: the worker is up and has loaded its scripts */
        enqueue(b, queue, len, len > 1, ids);
    wait_finished(b, queue, base, 1000, NULL, 0, NULL);
    sleep_us(100000);
    *rss_idle = fixture_rss_kb(pid);
    if (len == 1) { /* after jobs ran: with WORKER_EXECUTOR=pool its executor is alive */
        long sum, max;
        printf("M|%s|worker + its executor, idle after jobs|%ld\n", b->label, family_rss_kb(pid));
        if (children_rss_kb(pid, &sum, &max) == 0 && max > 0) {
            pid_t exe = first_child(pid);
            printf("M|%s|executor alone (dcmp-executor), idle after jobs|%ld\n", b->label, max);
            /* the files' part (libpython's code...) is shared with every process mapping them */
            printf("M|%s|  of which anonymous (RssAnon: heap, objects)|%ld\n", b->label,
                   fixture_status_kb(exe, "RssAnon"));
            printf("M|%s|  of which files (RssFile: libraries' code, shared)|%ld\n", b->label,
                   fixture_status_kb(exe, "RssFile"));
        }
    }
    for (i = 0; i < b->runs; i++) {
        sleep_us(3000); /* the worker is back in its blocking wait */
        t0 = now_us();
        enqueue(b, queue, len, len > 1, ids);
        t1 = wait_finished(b, queue, base + len, 100, NULL, 0, NULL);
        base += len;
        client[i] = (double)(t1 - t0) / 1000.0;
        server[i] = server_ms(b, ids[0], ids[len - 1]);
        if (b->container) /* bench/containers.sh joins them with the engine's events */
            printf("J|%s|%.2f|%.0f\n", ids[0], client[i], server[i]);
    }
    stop_worker(pid, 1);
    printf("L|%s|%s|%ld|%.2f|%.2f|%.1f|%.1f\n", b->label, what, b->runs, median(client, b->runs),
           p95(client, b->runs), median(server, b->runs), p95(server, b->runs));
    fflush(stdout);
    free(client);
    free(server);
}

/* The Redis part of a job: fetch and finish (one EVALSHA each) done by this
 * client as a registered worker, with no process started. */
static void breakdown_redis(bench *b)
{
    char(*ids)[DCMP_ID_LEN] = calloc((size_t)b->jobs, DCMP_ID_LEN);
    const char *queues[1] = {"probe"};
    char outcome[16];
    int64_t t0, t1, fetch_us = 0, finish_us = 0;
    dcmp_job job;
    long i;

    if (ids == NULL)
        die("out of memory");
    if (dcmp_queue_heartbeat(b->q, "bench-probe", "probe", (long)getpid(), "localhost", wall_ms()) <
        0)
        die("heartbeat: %s", dcmp_queue_errstr(b->q));
    t0 = now_us();
    for (i = 0; i < b->jobs; i++)
        enqueue(b, "probe", 1, 0, &ids[i]);
    t1 = now_us();
    printf("B|enqueue one single-job graph (client, alone)|%ld|%.1f\n", b->jobs,
           (double)(t1 - t0) / (double)b->jobs);
    for (i = 0; i < b->jobs; i++) {
        t0 = now_us();
        if (dcmp_queue_fetch(b->q, "bench-probe", queues, 1, &job) != 1)
            die("fetch: %s", dcmp_queue_errstr(b->q));
        t1 = now_us();
        if (dcmp_queue_finish(b->q, "bench-probe", job.id, "", "", outcome) < 0)
            die("finish: %s", dcmp_queue_errstr(b->q));
        fetch_us += t1 - t0;
        finish_us += now_us() - t1;
        dcmp_job_clear(&job);
    }
    printf("B|fetch: 1 EVALSHA + decoding the job (client as worker)|%ld|%.1f\n", b->jobs,
           (double)fetch_us / (double)b->jobs);
    printf("B|finish: 1 EVALSHA (client as worker)|%ld|%.1f\n", b->jobs,
           (double)finish_us / (double)b->jobs);
    dcmp_queue_unregister(b->q, "bench-probe");
    free(ids);
}

/* One job's process part, as the executor does it but without its poll
 * loop: two pipes, fork; in the child dlopen (unless `pre` is already
 * loaded) + call + report + _exit; in the parent read to EOF, waitpid. */
static void fork_job(bench *b, const dcmp_loaded *pre)
{
    static const char report[] = "{\"status\":0,\"error\":\"\",\"result\":\"\"}";
    int p[2], r[2], status;
    char buf[256];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0 || pipe2(r, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid == 0) {
        char err[DCMP_ERR_LEN];
        dcmp_loaded lib;
        dcmp_call call;
        memset(&call, 0, sizeof call);
        if (pre)
            lib = *pre;
        else if (dcmp_loader_open(b->modules, "testmods.noop", &lib, err) < 0)
            _exit(1);
        if (lib.fn(&call) != 0 || write(r[1], report, sizeof report - 1) < 0)
            _exit(1);
        _exit(0);
    }
    if (pid < 0)
        die("fork: %s", strerror(errno));
    close(p[1]);
    close(r[1]);
    while (read(r[0], buf, sizeof buf) > 0)
        ;
    waitpid(pid, &status, 0);
    close(p[0]);
    close(r[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the probe child failed to run testmods.noop from %s", b->modules);
}

/* The process part of a job: a bare fork, the executor's steps, and the
 * same with the library loaded once in the parent (what dlopen costs). */
static void breakdown_fork(bench *b)
{
    char err[DCMP_ERR_LEN];
    dcmp_loaded pre;
    int64_t t0, t1;
    long i, n = b->jobs;
    int status;

    fflush(NULL);
    t0 = now_us();
    for (i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            die("fork: %s", strerror(errno));
        waitpid(pid, &status, 0);
    }
    t1 = now_us();
    printf("B|fork + _exit + waitpid|%ld|%.1f\n", n, (double)(t1 - t0) / (double)n);
    fflush(stdout);
    t0 = now_us();
    for (i = 0; i < n; i++)
        fork_job(b, NULL);
    t1 = now_us();
    printf("B|pipes + fork + dlopen testmods.so + call + report + _exit + waitpid|%ld|%.1f\n", n,
           (double)(t1 - t0) / (double)n);
    fflush(stdout);
    if (dcmp_loader_open(b->modules, "testmods.noop", &pre, err) < 0)
        die("%s", err);
    t0 = now_us();
    for (i = 0; i < n; i++)
        fork_job(b, &pre);
    t1 = now_us();
    printf("B|the same, library loaded once in the parent (no dlopen per job)|%ld|%.1f\n", n,
           (double)(t1 - t0) / (double)n);
    fflush(stdout);
    dcmp_loader_close(&pre);
}

/* Whether `what` is in the comma-separated list `only` ("" means everything). */
static int wanted(const char *only, const char *what)
{
    size_t n = strlen(what);
    const char *p = only;

    if (*only == '\0')
        return 1;
    while ((p = strstr(p, what)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
        p += n;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_worker --port PORT --worker PATH --modules DIR --dir DIR\n"
            "                    [--jobs N (4000)] [--runs N (200)] [--only WHAT[,WHAT]]\n"
            "                    [--func DOTTED (testmods.noop)] [--label NAME (dcmp)]\n"
            "                    [--redis-pid PID (to count its CPU time)]\n"
            "                    [--container IMAGE (the jobs run this image, no chain3;\n"
            "                     latency prints J|id|client_ms|server_ms per run)]\n"
            "WHAT: burst, steady, latency, breakdown (default: all; breakdown times\n"
            "testmods.noop whatever --func says). Needs a redis-server on 127.0.0.1:PORT;\n"
            "DIR gets the workers' logs and is their DATA; DIR of --modules is their MODULES.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"worker", required_argument, NULL, 'w'},
                                         {"modules", required_argument, NULL, 'm'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"jobs", required_argument, NULL, 'n'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"only", required_argument, NULL, 'o'},
                                         {"redis-pid", required_argument, NULL, 'R'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"func", required_argument, NULL, 'f'},
                                         {"container", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *only = "";
    char func[DCMP_SPEC_IMAGE_MAX + 16];
    dcmp_jsonw kw;
    long rss_idle = -1, rss_busy = -1, rss_lat = -1;
    dcmp_queue_opts o = {0};
    bench b;
    int c;

    memset(&b, 0, sizeof b);
    b.jobs = 4000;
    b.label = "dcmp";
    b.func = "testmods.noop";
    b.runs = 200;
    while ((c = getopt_long(argc, argv, "p:w:m:d:n:r:o:R:l:f:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': b.port = (int)args_long(optarg, "--port", 1, 65535); break;
        case 'w': b.worker_bin = optarg; break;
        case 'm': b.modules = optarg; break;
        case 'd': b.dir = optarg; break;
        case 'n': b.jobs = args_long(optarg, "--jobs", 1, 1000000); break;
        case 'r': b.runs = args_long(optarg, "--runs", 1, 100000); break;
        case 'o': only = optarg; break;
        case 'R': b.redis = (pid_t)args_long(optarg, "--redis-pid", 1, INT_MAX); break;
        case 'l': b.label = optarg; break;
        case 'f': b.func = optarg; break;
        case 'c': b.container = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (b.port == 0 || b.worker_bin == NULL || b.modules == NULL || b.dir == NULL) {
        usage(stderr);
        return 2;
    }
    dcmp_jsonw_init(&kw, 4096);
    dcmp_jsonw_lit(&kw, "{\"jobName\":\"noop\",\"headers\":{},\"params\":null,"
                        "\"added_params\":{}");
    if (b.container) { /* a container job as the planner makes it: func and kwargs' object */
        snprintf(func, sizeof func, DCMP_SPEC_FUNC "%s", b.container);
        b.func = func;
        dcmp_jsonw_lit(&kw, ",\"container\":{\"image\":");
        dcmp_jsonw_str(&kw, b.container);
        dcmp_jsonw_lit(&kw, "}");
    }
    dcmp_jsonw_lit(&kw, "}");
    if ((b.kwargs = dcmp_jsonw_finish(&kw)) == NULL)
        die("--container: image name too long");
    o.host = "127.0.0.1";
    o.port = b.port;
    o.heartbeat_ttl_ms = 30000;
    if ((b.q = dcmp_queue_new(&o)) == NULL || dcmp_queue_connect(b.q) < 0)
        die("redis 127.0.0.1:%d: %s", b.port, b.q ? dcmp_queue_errstr(b.q) : "out of memory");

    if (wanted(only, "burst")) {
        fprintf(stderr, "dcmp: throughput, burst, 1 and 2 workers, %ld jobs each\n", b.jobs);
        throughput_burst(&b, 1, &rss_busy);
        throughput_burst(&b, 2, &rss_busy);
    }
    if (wanted(only, "steady")) {
        fprintf(stderr, "dcmp: throughput, steady state, 1 and 2 workers\n");
        throughput_steady(&b, 1, &rss_idle, &rss_busy);
        throughput_steady(&b, 2, &rss_idle, &rss_busy);
    }
    if (wanted(only, "latency")) {
        fprintf(stderr, "dcmp: latency, %ld runs each\n", b.runs);
        latency(&b, "single", 1, &rss_lat);
        if (b.container == NULL)
            latency(&b, "chain3", 3, &rss_lat);
        if (rss_lat > rss_idle)
            rss_idle = rss_lat;
    }
    if (rss_idle >= 0)
        printf("M|%s|worker idle (max of the waiting workers)|%ld\n", b.label, rss_idle);
    if (rss_busy >= 0)
        printf("M|%s|worker running jobs (max sampled every 10 ms)|%ld\n", b.label, rss_busy);
    fflush(stdout);
    if (wanted(only, "breakdown")) {
        fprintf(stderr, "dcmp: where the time of one job goes\n");
        breakdown_redis(&b);
        breakdown_fork(&b);
    }
    dcmp_queue_free(b.q);
    free(b.kwargs);
    return 0;
}
