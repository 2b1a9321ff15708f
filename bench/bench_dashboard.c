/* bench_dashboard.c -- the dashboard at scale: fills Redis with N finished and N failed jobs
 * through the real protocol scripts (enqueue, fetch, finish, fail), starts a real
 * dcmp-dashboard, and times its API over HTTP (one keep-alive connection) and the library
 * calls behind it. Prints one table; makes no pass/fail decision beyond naming the targets of
 * issue 5 (/api/queues < 20 ms, a jobs page < 50 ms). Run by bench/dashboard.sh. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "browse.h"
#include "job.h"
#include "queue.h"
#include "redis.h"

#define SERVICES 5

extern char **environ;

/* Each series gets one job of each service; anon and dcm2nii finish, seg and report fail,
 * qc does one or the other: N finished and N failed jobs for 2N / 5 series. */
static const char *const services[SERVICES] = {"anon", "dcm2nii", "seg", "report", "qc"};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void series_id(char *out, size_t size, long i)
{
    snprintf(out, size, "%08lx-5f607182-93a4b5c6-d7e8f901-%08lx", i, i * 2654435761UL);
}

/* Enqueues `nseries` graphs of SERVICES jobs, one series each. Returns 0 or -1. */
static int fill_enqueue(dcmp_queue *q, long nseries, double *ms)
{
    dcmp_job_spec specs[SERVICES];
    char ids[SERVICES][DCMP_ID_LEN], kwargs[SERVICES][160], series[64], err[DCMP_ERR_LEN];
    double t0 = now_ms();
    long s;
    int k;

    for (s = 0; s < nseries; s++) {
        char *graph, *with;
        size_t len;
        series_id(series, sizeof series, s);
        for (k = 0; k < SERVICES; k++) {
            if (dcmp_job_new_id(ids[k]) < 0)
                return -1;
            snprintf(kwargs[k], sizeof kwargs[k],
                     "{\"jobName\":\"%s\",\"headers\":{\"Modality\":\"CT\"},\"params\":null,"
                     "\"added_params\":{}}",
                     services[k]);
            memset(&specs[k], 0, sizeof specs[k]);
            specs[k].id = ids[k];
            specs[k].name = services[k];
            specs[k].func = "bench.noop";
            specs[k].queue = "default";
            specs[k].kwargs = kwargs[k];
            specs[k].timeout = 3600;
        }
        if ((graph = dcmp_job_encode_graph("", specs, SERVICES, err)) == NULL) {
            fprintf(stderr, "bench_dashboard: %s\n", err);
            return -1;
        }
        /* the graph's series, as the scheduler's event record would give it */
        len = strlen(graph) + strlen(series) + 16;
        if ((with = malloc(len)) == NULL) {
            free(graph);
            return -1;
        }
        snprintf(with, len, "{\"series\":\"%s\",%s", series, graph + 1);
        free(graph);
        if (dcmp_queue_enqueue(q, with) < 0) {
            fprintf(stderr, "bench_dashboard: enqueue: %s\n", dcmp_queue_errstr(q));
            free(with);
            return -1;
        }
        free(with);
    }
    *ms = now_ms() - t0;
    return 0;
}

/* Runs every queued job as worker "bench": finished or failed by its name. */
static int fill_run(dcmp_queue *q, long *finished, long *failed)
{
    const char *queues[1] = {"default"};
    char outcome[16];
    dcmp_job job, next;
    long qc = 0;
    int rc;

    if (dcmp_queue_heartbeat(q, "bench", "default", (long)getpid(), "bench", 1) < 0)
        return -1;
    rc = dcmp_queue_fetch(q, "bench", queues, 1, &job);
    while (rc == 1) {
        int fail = strcmp(job.name, "seg") == 0 || strcmp(job.name, "report") == 0 ||
                   (strcmp(job.name, "qc") == 0 && qc++ % 2 == 1);
        if ((*finished + *failed) % 20000 == 0 &&
            dcmp_queue_heartbeat(q, "bench", "default", (long)getpid(), "bench", 1) < 0)
            rc = -1;
        if (fail) {
            (*failed)++;
            if (dcmp_queue_fail(q, "bench", job.id, "segmentation failed: no brain found",
                                "loading model\nrunning\nTraceback: ValueError\n", outcome) < 0)
                rc = -1;
            dcmp_job_clear(&job);
            if (rc >= 0)
                rc = dcmp_queue_fetch(q, "bench", queues, 1, &job);
        } else {
            (*finished)++;
            rc = dcmp_queue_finish_fetch(q, "bench", job.id, "{\"ok\":true}", "done\n", outcome,
                                         queues, 1, &next);
            dcmp_job_clear(&job);
            if (rc == 1)
                job = next;
        }
    }
    if (rc < 0)
        fprintf(stderr, "bench_dashboard: run: %s\n", dcmp_queue_errstr(q));
    return rc < 0 ? -1 : 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    size_t *total = arg;

    (void)p;
    *total += size * n;
    return size * n;
}

/* Times `runs` GETs of path over one keep-alive connection; prints median, p95, max. */
static void time_http(CURL *c, int port, const char *label, const char *path, int runs,
                      double *p95_out)
{
    char url[512];
    double *t = calloc((size_t)runs, sizeof *t);
    size_t bytes = 0;
    long status = 0;
    int i;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
    curl_easy_perform(c); /* warm: the connection, the scripts' SHA */
    for (i = 0; t && i < runs; i++) {
        double t0 = now_ms();
        bytes = 0;
        if (curl_easy_perform(c) != CURLE_OK)
            break;
        t[i] = now_ms() - t0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t == NULL || i < runs) {
        printf("  %-52s failed\n", label);
        free(t);
        return;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("  %-52s %8.2f %8.2f %8.2f %8zu  %ld\n", label, t[runs / 2], t[runs * 95 / 100],
           t[runs - 1], bytes, status);
    if (p95_out)
        *p95_out = t[runs * 95 / 100];
    free(t);
}

static long long redis_int(int port, const char *cmd, const char *field)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *r = c && !c->err ? redisCommand(c, cmd) : NULL;
    long long v = -1;

    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING && field) {
        const char *p = strstr(r->str, field);
        if (p)
            v = strtoll(p + strlen(field), NULL, 10);
    }
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

/* Bytes of the dashboard's indexes: the name indexes exactly, the series indexes from a
 * sample of 200. */
static double index_bytes(int port, long nseries)
{
    char cmd[160], series[64];
    double total = 0, sample = 0;
    int k, i;

    for (k = 0; k < SERVICES; k++) {
        snprintf(cmd, sizeof cmd, "MEMORY USAGE dcmp:idx:name:%s SAMPLES 0", services[k]);
        total += (double)redis_int(port, cmd, NULL);
    }
    for (i = 0; i < 200; i++) {
        series_id(series, sizeof series, (long)i * (nseries / 200));
        snprintf(cmd, sizeof cmd, "MEMORY USAGE dcmp:idx:series:%s", series);
        sample += (double)redis_int(port, cmd, NULL);
    }
    total += sample / 200 * (double)nseries;
    total += (double)redis_int(port, "MEMORY USAGE dcmp:idx:series SAMPLES 0", NULL);
    return total;
}

static pid_t start_dashboard(const char *bin, int redis_port, int port, const char *dir)
{
    char p1[64], p2[64], log[4200];
    char *argv[] = {(char *)bin, NULL};
    char *envp[] = {p1, p2, "REDIS_HOST=127.0.0.1", "DCMP_ENV=", "LOG_LEVEL=warn", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;

    snprintf(p1, sizeof p1, "REDIS_PORT=%d", redis_port);
    snprintf(p2, sizeof p2, "DASHBOARD_PORT=%d", port);
    snprintf(log, sizeof log, "%s/dashboard.log", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    if (posix_spawn(&pid, bin, &fa, NULL, argv, envp) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Times a library call `runs` times; prints median and p95. */
#define TIME_LIB(label, call)                                                                    \
    do {                                                                                         \
        double t_[400];                                                                          \
        int i_, n_ = runs < 400 ? runs : 400;                                                    \
        for (i_ = 0; i_ < n_; i_++) {                                                            \
            double t0_ = now_ms();                                                               \
            call;                                                                                \
            t_[i_] = now_ms() - t0_;                                                             \
        }                                                                                        \
        qsort(t_, (size_t)n_, sizeof t_[0], cmp_double);                                         \
        printf("  %-52s %8.2f %8.2f %8.2f\n", label, t_[n_ / 2], t_[n_ * 95 / 100], t_[n_ - 1]); \
    } while (0)

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'}, {"dashboard", required_argument, NULL, 'd'},
        {"dir", required_argument, NULL, 'D'},  {"jobs", required_argument, NULL, 'j'},
        {"runs", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    const char *bin = NULL, *dir = "/tmp";
    long jobs = 100000, finished = 0, failed = 0, nseries;
    int port = 0, runs = 100, c, dport, i, up = 0;
    double enq_ms = 0, run_t0, run_ms, p95_queues = 0, p95_page = 0, worst_filtered = 0, p;
    long long mem_before, mem_after;
    char path[256], series[64], some_id[DCMP_ID_LEN] = "";
    dcmp_queue_opts o = {0};
    dcmp_queue *q;
    pid_t dash;
    CURL *curl;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = (int)strtol(optarg, NULL, 10); break;
        case 'd': bin = optarg; break;
        case 'D': dir = optarg; break;
        case 'j': jobs = strtol(optarg, NULL, 10); break;
        case 'r': runs = (int)strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (port <= 0 || bin == NULL || jobs < 100 || runs < 20) {
        fprintf(stderr, "usage: bench_dashboard --port REDIS_PORT --dashboard BIN [--dir DIR] "
                        "[--jobs N (finished, and as many failed)] [--runs R]\n");
        return 2;
    }
    o.host = "127.0.0.1";
    o.port = port;
    o.heartbeat_ttl_ms = 3600 * 1000;
    if ((q = dcmp_queue_new(&o)) == NULL || dcmp_queue_connect(q) < 0) {
        fprintf(stderr, "bench_dashboard: redis on %d: %s\n", port, q ? dcmp_queue_errstr(q) : "");
        return 1;
    }
    nseries = jobs * 2 / SERVICES;
    mem_before = redis_int(port, "INFO memory", "used_memory:");
    fprintf(stderr, "bench_dashboard: enqueueing %ld jobs (%ld series)...\n", nseries * SERVICES,
            nseries);
    if (fill_enqueue(q, nseries, &enq_ms) < 0)
        return 1;
    fprintf(stderr, "bench_dashboard: running them (finish or fail)...\n");
    run_t0 = now_ms();
    if (fill_run(q, &finished, &failed) < 0)
        return 1;
    run_ms = now_ms() - run_t0;
    mem_after = redis_int(port, "INFO memory", "used_memory:");

    dport = fixture_free_port();
    if ((dash = start_dashboard(bin, port, dport, dir)) < 0) {
        fprintf(stderr, "bench_dashboard: cannot start %s\n", bin);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    snprintf(path, sizeof path, "http://127.0.0.1:%d/health", dport);
    curl_easy_setopt(curl, CURLOPT_URL, path);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    {
        size_t bytes = 0;
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
        for (i = 0; i < 200 && !up; i++) {
            long st = 0;
            if (curl_easy_perform(curl) == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &st);
            up = st == 200;
            if (!up)
                usleep(25000);
        }
    }
    if (!up) {
        fprintf(stderr, "bench_dashboard: the dashboard did not answer\n");
        kill(dash, SIGTERM);
        return 1;
    }
    {
        dcmp_browse_filter f = {"default", "failed", NULL, NULL, 0, 1};
        dcmp_browse_page pg;
        if (dcmp_browse_jobs(q, &f, &pg) == 0 && pg.n == 1)
            memcpy(some_id, pg.rows[0].id, DCMP_ID_LEN);
        dcmp_browse_page_free(&pg);
    }

    printf("Redis: %ld finished + %ld failed jobs in queue default (%ld series of %d jobs: "
           "anon, dcm2nii, seg, report, qc)\n",
           finished, failed, nseries, SERVICES);
    printf("  filled through the protocol: enqueue %.0f jobs/s (graphs of 5, with the "
           "indexes), run %.0f jobs/s (one client)\n",
           (double)nseries * SERVICES / (enq_ms / 1000),
           (double)(finished + failed) / (run_ms / 1000));
    printf("  Redis used_memory: %.1f MB before, %.1f MB after; the dashboard's indexes "
           "(idx:name:*, idx:series:*): %.1f MB\n",
           mem_before / 1048576.0, mem_after / 1048576.0, index_bytes(port, nseries) / 1048576.0);
    printf("\nHTTP, one keep-alive connection, %d requests each, ms\n", runs);
    printf("  %-52s %8s %8s %8s %8s  %s\n", "request", "median", "p95", "max", "bytes", "status");
    time_http(curl, dport, "GET /api/queues", "/api/queues", runs, &p95_queues);
    time_http(curl, dport, "GET /api/workers", "/api/workers", runs, NULL);
    time_http(curl, dport, "GET /api/jobs failed, page 1 of 50",
              "/api/jobs?queue=default&state=failed&perPage=50", runs, &p95_page);
    time_http(curl, dport, "GET /api/jobs finished, page 1000 (offset 49,950)",
              "/api/jobs?queue=default&state=finished&page=1000&perPage=50", runs, NULL);
    time_http(curl, dport, "GET /api/jobs failed, perPage=200",
              "/api/jobs?queue=default&state=failed&perPage=200", runs, NULL);
    time_http(curl, dport, "GET /api/jobs failed, name=seg (40% of them)",
              "/api/jobs?queue=default&state=failed&name=seg", runs, &p);
    worst_filtered = p;
    time_http(curl, dport, "GET /api/jobs failed, name=qc (20%)",
              "/api/jobs?queue=default&state=failed&name=qc", runs, &p);
    worst_filtered = p > worst_filtered ? p : worst_filtered;
    time_http(curl, dport, "GET /api/jobs failed, name=anon (none)",
              "/api/jobs?queue=default&state=failed&name=anon", runs, &p);
    worst_filtered = p > worst_filtered ? p : worst_filtered;
    time_http(curl, dport, "GET /api/jobs finished, name=qc, page 20",
              "/api/jobs?queue=default&state=finished&name=qc&page=20", runs, &p);
    worst_filtered = p > worst_filtered ? p : worst_filtered;
    series_id(series, sizeof series, nseries / 2);
    snprintf(path, sizeof path, "/api/jobs?series=%s", series);
    time_http(curl, dport, "GET /api/jobs series=S (its 5 jobs)", path, runs, NULL);
    snprintf(path, sizeof path, "/api/jobs/%s", some_id);
    time_http(curl, dport, "GET /api/jobs/ID", path, runs, NULL);
    time_http(curl, dport, "GET /api/history", "/api/history", runs, NULL);
    time_http(curl, dport, "GET /metrics", "/metrics", runs, NULL);
    time_http(curl, dport, "GET / (the page)", "/", runs, NULL);

    printf("\nThe library calls behind them (browse.c, one Redis round trip each), ms\n");
    {
        dcmp_browse_queue *qs;
        dcmp_browse_page pg;
        dcmp_browse_filter f1 = {"default", "failed", NULL, NULL, 0, 50};
        dcmp_browse_filter f2 = {"default", "failed", "qc", NULL, 0, 50};
        int64_t count;
        int n;
        TIME_LIB("dcmp_browse_queues", (dcmp_browse_queues(q, &qs, &n, NULL), free(qs)));
        TIME_LIB("dcmp_browse_jobs failed, page 1",
                 (dcmp_browse_jobs(q, &f1, &pg), dcmp_browse_page_free(&pg)));
        TIME_LIB("dcmp_browse_jobs failed, name=qc",
                 (dcmp_browse_jobs(q, &f2, &pg), dcmp_browse_page_free(&pg)));
        TIME_LIB("dcmp_queue_count failed (ZCARD alone)",
                 dcmp_queue_count(q, "default", "failed", &count));
    }
    printf("\nTargets (issue 5): /api/queues p95 %.2f ms (< 20 ms): %s; a jobs page p95 %.2f ms "
           "(< 50 ms): %s; filtered pages, worst p95 %.2f ms (< 50 ms): %s\n",
           p95_queues, p95_queues < 20 ? "met" : "missed", p95_page,
           p95_page < 50 ? "met" : "missed", worst_filtered,
           worst_filtered < 50 ? "met" : "missed");
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    kill(dash, SIGTERM);
    waitpid(dash, &i, 0);
    dcmp_queue_free(q);
    return 0;
}
