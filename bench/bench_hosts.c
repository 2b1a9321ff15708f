/* bench_hosts.c -- workers on network-namespace hosts: jobs/s split over two hosts against one. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "netns.h"
#include "redis.h"

/*
 * Needs root (ip netns). Makes two hosts (network namespaces with a veth pair each, Redis
 * reached at the root end with a password) and measures, with no-op jobs run by the real
 * dcmp-worker:
 *   throughput: N single-job graphs queued first, then W workers started, all on loopback
 *     (the reference), all on host a, or split over hosts a and b; timed from starting the
 *     workers to the last job finished (polled every 1 ms); ROUNDS rounds, interleaved.
 *   latency: one idle worker on loopback and one on host a, each of its own queue; a job
 *     enqueued and its finish polled every 100 us, in turns, RUNS times each: the difference
 *     is what a Redis across a link adds per job; and a bare Redis PING's round trip.
 * Prints a table on stdout; progress and errors go to stderr.
 */

#define PASSWORD   "bench-hosts-5a2e"
#define MAX_ROUNDS 9
#define WAIT_MS    120000

static fixture f;
static netns_host host[2];
static const char *const worker_env[] = {"LOG_LEVEL=warn", NULL};

static void die(const char *what)
{
    fprintf(stderr, "bench_hosts: %s\n", what);
    netns_teardown();
    fixture_stop(&f, 1);
    exit(1);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Starts w workers of queue, one after the other on hosts[0..nhosts), or on loopback when
 * nhosts is 0. */
static void start_workers(const char *queue, int w, int nhosts)
{
    int i;

    for (i = 0; i < w; i++) {
        f.netns = nhosts ? host[i % nhosts].ns : NULL;
        f.redis_host = nhosts ? host[i % nhosts].root_ip : NULL;
        if (fixture_worker(&f, queue, worker_env) < 0)
            die("cannot start a worker");
    }
    f.netns = NULL;
    f.redis_host = NULL;
}

static void stop_workers(void)
{
    int i;

    for (i = 0; i < f.nworkers; i++)
        if (f.workers[i] > 0)
            fixture_worker_stop(&f, f.workers[i], SIGTERM);
    f.nworkers = 0; /* their slots are free again; logs are appended to */
}

static void enqueue(const char *queue, char id[DCMP_ID_LEN])
{
    char spec[128];
    const char *jobs[] = {spec};

    snprintf(spec, sizeof spec, "noop|testmods.noop|%s|", queue);
    if (fixture_enqueue(&f, jobs, 1, NULL, 60, (char(*)[DCMP_ID_LEN])id) < 0)
        die("cannot enqueue");
}

/* Jobs per second of w workers on nhosts hosts (0: loopback) over n queued no-op jobs. */
static double throughput(const char *queue, long n, int w, int nhosts)
{
    char id[DCMP_ID_LEN];
    int64_t t0, have = 0;
    long i;

    for (i = 0; i < n; i++)
        enqueue(queue, id);
    t0 = now_us();
    start_workers(queue, w, nhosts);
    while (have < n) {
        if (dcmp_queue_count(f.q, queue, "finished", &have) < 0)
            die(dcmp_queue_errstr(f.q));
        if (now_us() - t0 > (int64_t)WAIT_MS * 1000)
            die("a throughput phase took longer than 2 minutes");
        sleep_us(1000);
    }
    t0 = now_us() - t0;
    stop_workers();
    return (double)n * 1e6 / (double)t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The value at fraction q (0.5: the median) of v[n], sorted in place. */
static double quantile(double *v, long n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(long)(q * (double)(n - 1) + 0.5)];
}

/* Waits until job `id` is finished; returns the ms since t0. */
static double finish_ms(const char *id, int64_t t0)
{
    char state[16];

    do {
        sleep_us(100);
        if (fixture_state(&f, id, state) < 0)
            die(dcmp_queue_errstr(f.q));
        if (now_us() - t0 > (int64_t)WAIT_MS * 1000)
            die("a job took longer than 2 minutes");
    } while (strcmp(state, "finished") != 0);
    return (double)(now_us() - t0) / 1000.0;
}

/* Enqueue-to-finished latency (ms) of one job, with one idle worker on loopback and one on
 * host a, each serving its own queue; measured in turns (loopback, then veth), runs times after
 * 5 turns not counted: medians into med[2], 95th percentiles into p95[2]. */
static void latency(long runs, double med[2], double p95[2])
{
    static const char *const queue[2] = {"lat-lo", "lat-veth"};
    double *ms[2];
    char id[DCMP_ID_LEN];
    long r;
    int k;

    ms[0] = calloc((size_t)runs, sizeof(double));
    ms[1] = calloc((size_t)runs, sizeof(double));
    if (ms[0] == NULL || ms[1] == NULL)
        die("out of memory");
    start_workers(queue[0], 1, 0);
    f.netns = host[0].ns;
    f.redis_host = host[0].root_ip;
    if (fixture_worker(&f, queue[1], worker_env) < 0)
        die("cannot start a worker");
    f.netns = NULL;
    f.redis_host = NULL;
    for (r = -5; r < runs; r++)
        for (k = 0; k < 2; k++) {
            int64_t t0 = now_us();
            double t;

            enqueue(queue[k], id);
            t = finish_ms(id, t0);
            if (r >= 0)
                ms[k][r] = t;
        }
    stop_workers();
    for (k = 0; k < 2; k++) {
        med[k] = quantile(ms[k], runs, 0.5);
        p95[k] = quantile(ms[k], runs, 0.95);
        free(ms[k]);
    }
}

/* Microseconds per Redis PING round trip from host `on` (-1: the root namespace over
 * loopback): `redis-cli -r N PING` timed for N = 1 and N = 1 + n, the difference over n. */
static double ping_us(int on, long n)
{
    char port[16], count[24], out[PATH_MAX + 32];
    char *argv[] = {"ip",
                    "netns",
                    "exec",
                    on >= 0 ? host[on].ns : "",
                    "redis-cli",
                    "-h",
                    on >= 0 ? host[on].root_ip : "127.0.0.1",
                    "-p",
                    port,
                    "-r",
                    count,
                    "PING",
                    NULL};
    char *const *cmd = on >= 0 ? argv : argv + 4;
    int64_t t[2];
    int i;

    snprintf(port, sizeof port, "%d", f.port);
    snprintf(out, sizeof out, "%s/ping.out", f.dir);
    for (i = 0; i < 2; i++) {
        snprintf(count, sizeof count, "%ld", i ? 1 + n : 1);
        t[i] = now_us();
        if (netns_run(f.dir, cmd, out) < 0)
            die("redis-cli PING failed (see ping.out)");
        t[i] = now_us() - t[i];
    }
    return (double)(t[1] - t[0]) / (double)n;
}

/* The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
static void loadavg(char out[64])
{
    FILE *fp = fopen("/proc/loadavg", "r");
    double l[3] = {0, 0, 0};

    if (fp == NULL || fscanf(fp, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
        snprintf(out, 64, "?");
    else
        snprintf(out, 64, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    if (fp)
        fclose(fp);
}

int main(int argc, char **argv)
{
    static const char *const setup[] = {"loopback (no namespace)", "one namespace host",
                                        "two namespace hosts"};
    double rate[3][MAX_ROUNDS], pings[2][MAX_ROUNDS], med[2], p95[2], ping[2];
    long jobs = 4000, runs = 200, rounds = 3, workers = 4;
    char binds[64], queue[32], load[2][64];
    int i, k, s;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--jobs") == 0)
            jobs = args_long(argv[i + 1], "--jobs", 1, 1000000);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = args_long(argv[i + 1], "--runs", 1, 100000);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = args_long(argv[i + 1], "--rounds", 1, MAX_ROUNDS);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = args_long(argv[i + 1], "--workers", 2, FIXTURE_MAX_WORKERS);
        else
            break;
    }
    if (i < argc) {
        fprintf(stderr, "usage: bench_hosts [--jobs N] [--runs N] [--rounds N] [--workers N]\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench_hosts: network-namespace hosts need root (ip netns add)\n");
        return 1;
    }
    /* the default executor unless WORKER_EXECUTOR says otherwise */
    setenv("DCMP_TEST_EXECUTOR", getenv("WORKER_EXECUTOR") ? getenv("WORKER_EXECUTOR") : "pool", 1);
    if (fixture_start(&f) < 0)
        return 1;
    netns_guard(&f, host, 2);
    if (netns_host_make(&host[0], f.dir, 0) < 0 || netns_host_make(&host[1], f.dir, 1) < 0)
        die("cannot make the namespace hosts");
    snprintf(binds, sizeof binds, "%s %s", host[0].root_ip, host[1].root_ip);
    /* persistence off, as in the other benchmarks */
    /* redis-cli (PING) finds the password in its environment */
    setenv("REDISCLI_AUTH", PASSWORD, 1);
    if (fixture_redis_config(&f, "appendonly", "no") < 0 ||
        fixture_redis_open(&f, binds, PASSWORD) < 0)
        die("cannot open redis to the hosts");

    loadavg(load[0]);
    for (k = 0; k < rounds; k++)
        for (s = 0; s < 3; s++) {
            snprintf(queue, sizeof queue, "tp%d-%d", s, k);
            rate[s][k] = throughput(queue, jobs, (int)workers, s);
            fprintf(stderr, "round %d, %s: %.0f jobs/s\n", k + 1, setup[s], rate[s][k]);
        }
    latency(runs, med, p95);
    for (k = 0; k < rounds; k++) {
        pings[0][k] = ping_us(-1, 5000);
        pings[1][k] = ping_us(0, 5000);
    }
    ping[0] = quantile(pings[0], rounds, 0.5);
    ping[1] = quantile(pings[1], rounds, 0.5);
    loadavg(load[1]);
    netns_teardown();
    fixture_stop(&f, 0);

    printf("Throughput, no-op jobs, %s executor: %ld queued first, then %ld workers started;\n"
           "timed from their start to the last finished (median of %ld rounds, interleaved)\n",
           getenv("DCMP_TEST_EXECUTOR"), jobs, workers, rounds);
    printf("%-26s %8s %10s   %s\n", "workers on", "workers", "jobs/s", "each round");
    for (s = 0; s < 3; s++) {
        double sorted[MAX_ROUNDS];
        char each[16 * MAX_ROUNDS];
        size_t used = 0;

        for (k = 0; k < rounds; k++) {
            sorted[k] = rate[s][k];
            used += (size_t)snprintf(each + used, sizeof each - used, "%s%.0f", k ? " " : "",
                                     rate[s][k]);
        }
        printf("%-26s %8ld %10.0f   %s\n", setup[s], workers, quantile(sorted, rounds, 0.5), each);
    }
    printf("\nLatency, one idle worker, one no-op job enqueued and its finish polled every "
           "100 us (%ld runs)\n",
           runs);
    printf("%-26s %10s %10s\n", "redis reached over", "median ms", "p95 ms");
    printf("%-26s %10.3f %10.3f\n", "loopback", med[0], p95[0]);
    printf("%-26s %10.3f %10.3f\n", "veth (namespace host)", med[1], p95[1]);
    printf("%-26s %10.3f\n", "added per job", med[1] - med[0]);
    printf("\nRedis PING round trip (redis-cli -r 5000 PING, less one PING's run; median of %ld "
           "rounds, in turns)\n",
           rounds);
    printf("%-26s %10.1f us\n%-26s %10.1f us\n", "loopback", ping[0], "veth (namespace host)",
           ping[1]);
    printf("\nload average: %s before, %s after\n", load[0], load[1]);
    return 0;
}
