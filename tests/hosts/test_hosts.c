/* test_hosts.c -- workers on two hosts made of Linux network namespaces (veth pairs, addresses
 * of their own, Redis with a password across them): 2,000 jobs drained by both; one host's
 * processes SIGKILLed at random; one host cut off mid-job for longer than WORKER_TTL; one host
 * frozen until its report comes late; one host whose wall clock is 10 minutes ahead. Needs
 * root (ip netns); skips otherwise. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "netns.h"
#include "redis.h"

#define MANY     2000
#define GRAPH    50
#define PASSWORD "hosts-test-6d1f0c"
#define SKIP     77

static fixture f;
static char ids[MANY + 64][DCMP_ID_LEN];
static netns_host host[2];

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run_to(char *const argv[], const char *out)
{
    return netns_run(f.dir, argv, out);
}

static int run(char *const argv[])
{
    return netns_run(f.dir, argv, NULL);
}

/* Cuts host i off (its link down) or restores it. */
static int link_set(int i, const char *state)
{
    return netns_host_link(&host[i], f.dir, state);
}

/* Redis listens on both root ends too, with a password; the test's client uses it. */
static int open_redis(void)
{
    char binds[64];

    snprintf(binds, sizeof binds, "%s %s", host[0].root_ip, host[1].root_ip);
    return fixture_redis_open(&f, binds, PASSWORD);
}

/* A worker of `queue` on host i (its Redis is the root end of the host's veth). */
static pid_t host_worker(int i, const char *queue, const char *const *env)
{
    pid_t pid;

    f.netns = host[i].ns;
    f.redis_host = host[i].root_ip;
    pid = fixture_worker(&f, queue, env);
    f.netns = NULL;
    f.redis_host = NULL;
    return pid;
}

/* n jobs (a multiple of GRAPH) of `queue` in graphs of GRAPH: a root, 48 children of it and
 * one child of three of those (dependents released by finishes). Ids go to ids[from..]. */
static int enqueue(int from, int n, const char *queue, const char *params)
{
    static char specs[GRAPH][96];
    const char *jobs[GRAPH];
    int i, k;

    for (k = 0; k < GRAPH; k++) {
        snprintf(specs[k], sizeof specs[k], "j%d|testmods.record|%s|%s", k, queue,
                 k == 0          ? ""
                 : k < GRAPH - 1 ? "0"
                                 : "1,2,3");
        jobs[k] = specs[k];
    }
    for (i = 0; i < n; i += GRAPH)
        if (fixture_enqueue(&f, jobs, GRAPH, params, 120, &ids[from + i]) < 0)
            return -1;
    return 0;
}

/* How many lines of DATA/record.log name id; *first_pid and *last_pid (either may be NULL) get
 * the pids of the first and the last one. */
static int markers(const char *log, const char *id, long *first_pid, long *last_pid)
{
    const char *p = log;
    int n = 0;

    while (log && (p = strstr(p, id)) != NULL) {
        p += strlen(id);
        if (n++ == 0 && first_pid)
            *first_pid = strtol(p, NULL, 10);
        if (last_pid)
            *last_pid = strtol(p, NULL, 10);
    }
    return n;
}

/* Every job of ids[from..from+n) finished, with exactly one run marker, and the finished
 * registry of `queue` holds exactly n. Two markers are allowed for `twice` (which ran on both
 * hosts); with `reaped`, a job the reaper took from a dead worker (its `crashes` count) may have
 * one marker more per time (its worker was killed after the run, before the report), and then
 * the result kept is the last run's. *rerun gets how many jobs ran more than once (may be NULL).
 * Returns the number of distinct workers that ran them. */
static int check_runs(int from, int n, const char *queue, const char *twice, int reaped, int *rerun)
{
    char *log = fixture_read_data(&f, "record.log");
    char workers[8][DCMP_WORKER_LEN], want[64];
    int i, k, nw = 0, bad_marks = 0, unfinished = 0, reruns = 0;
    int64_t finished = -1;

    CHECK(log != NULL);
    for (i = from; log && i < from + n; i++) {
        dcmp_job job;
        long last = 0;
        int marks = markers(log, ids[i], NULL, &last), allowed;

        if (dcmp_queue_job(f.q, ids[i], &job) != 1) {
            unfinished++;
            continue;
        }
        allowed = twice && strcmp(ids[i], twice) == 0 ? 2 : 1;
        if (reaped)
            allowed += (int)job.crashes;
        if (marks < 1 || marks > allowed || (twice == NULL && !reaped && marks != 1))
            bad_marks++;
        if (strcmp(job.state, "finished") != 0)
            unfinished++;
        snprintf(want, sizeof want, "\"pid\":%ld}", last);
        if (marks > 1 && reaped && (job.result == NULL || strstr(job.result, want) == NULL))
            bad_marks++;
        reruns += marks > 1;
        for (k = 0; k < nw && strcmp(workers[k], job.worker) != 0; k++)
            ;
        if (k == nw && nw < 8)
            memcpy(workers[nw++], job.worker, DCMP_WORKER_LEN);
        dcmp_job_clear(&job);
    }
    CHECK(dcmp_queue_count(f.q, queue, "finished", &finished) == 0);
    if (bad_marks || unfinished || finished != n)
        fprintf(stderr,
                "%s: %d job(s) with a wrong count of run markers or result, %d not finished, "
                "%lld in the finished registry (want %d)\n",
                queue, bad_marks, unfinished, (long long)finished, n);
    CHECK(bad_marks == 0);
    CHECK(unfinished == 0);
    CHECK(finished == n);
    if (rerun)
        *rerun = reruns;
    free(log);
    return nw;
}

static int check_once(int from, int n, const char *queue, const char *twice)
{
    return check_runs(from, n, queue, twice, 0, NULL);
}

static void stop_workers(void)
{
    int i;

    for (i = 0; i < f.nworkers; i++)
        if (f.workers[i] > 0)
            fixture_worker_stop(&f, f.workers[i], SIGTERM);
}

/* The log of the worker with fixture index i contains text, and then `then` (or NULL). */
static int worker_log_has(int i, const char *text, const char *then)
{
    char name[32], *log, *at;
    int has;

    snprintf(name, sizeof name, "../worker-%d.log", i);
    log = fixture_read_data(&f, name);
    at = log ? strstr(log, text) : NULL;
    has = at != NULL && (then == NULL || strstr(at, then) != NULL);
    free(log);
    return has;
}

/* Two workers on each host drain 2,000 jobs: each runs once, both hosts take part. */
static void test_two_hosts(void)
{
    int64_t t0 = dcmp_clock_mono_ms();
    int i;

    CHECK(enqueue(0, MANY, "two", NULL) == 0);
    for (i = 0; i < 4; i++)
        CHECK(host_worker(i % 2, "two", NULL) > 0);
    CHECK(fixture_wait_count(&f, "two", "finished", MANY, 240000) == 0);
    fprintf(stderr, "two hosts, 4 workers: %d jobs in %lld ms\n", MANY,
            (long long)(dcmp_clock_mono_ms() - t0));
    CHECK(check_once(0, MANY, "two", NULL) >= 4);
    stop_workers();
}

/* Host a is cut off (link down) for 6 s, past WORKER_TTL (2 s), while its two workers run a 20 s
 * job and a 2.5 s one: host b reaps them and runs both jobs again. a kills its copy of the long
 * job and does not report it (one run marker). The short one ends during the cut, while a's
 * heartbeat is blocked on the dead link; a then finds its lease gone and drops the end
 * unreported (a report sent anyway would be fenced: test_late_report). Either way the result
 * kept is the rerun's, and every dependent runs once. a serves again once restored. */
static void test_partition(void)
{
    const char *slow[] = {"slow|testmods.record|part|", "d1|testmods.record|part|0",
                          "d2|testmods.record|part|0"};
    const char *late[] = {"late|testmods.record|part|", "l1|testmods.record|part|0",
                          "l2|testmods.record|part|0"};
    int first = f.nworkers, marks;
    long late_pid = 0, last_pid = 0;
    char *log, want[64];
    dcmp_job job;

    CHECK(fixture_enqueue(&f, slow, 3, "{\"ms\":20000}", 120, &ids[0]) == 0);
    CHECK(host_worker(0, "part", NULL) > 0);
    CHECK(fixture_wait_state(&f, ids[0], "started", 20000) == 0);
    CHECK(fixture_enqueue(&f, late, 3, "{\"ms\":2500}", 120, &ids[3]) == 0);
    CHECK(host_worker(0, "part", NULL) > 0);
    CHECK(fixture_wait_state(&f, ids[3], "started", 20000) == 0);
    CHECK(link_set(0, "down") == 0);
    CHECK(host_worker(1, "part", NULL) > 0);
    CHECK(enqueue(6, 400, "part", NULL) == 0);
    nap_ms(6000);
    CHECK(link_set(0, "up") == 0);
    CHECK(fixture_wait_count(&f, "part", "finished", 406, 120000) == 0);
    log = fixture_read_data(&f, "record.log");
    marks = markers(log, ids[3], &late_pid, &last_pid);
    free(log);
    fprintf(stderr, "partition: host a's copy of the 2.5 s job %s\n",
            marks == 2 ? "ran to its end during the cut, its end not recorded"
                       : "was killed before its end");
    CHECK(marks == 1 || marks == 2);
    check_once(0, 406, "part", marks == 2 ? ids[3] : NULL);
    CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
    CHECK(job.attempts == 2);
    dcmp_job_clear(&job);
    CHECK(dcmp_queue_job(f.q, ids[3], &job) == 1);
    CHECK(job.attempts == 2);
    snprintf(want, sizeof want, "\"pid\":%ld}", last_pid);
    CHECK_CONTAINS(job.result, want);
    dcmp_job_clear(&job);
    /* killed, then serving again once restored */
    CHECK(worker_log_has(first, "killing it, its end is not reported", "finished in"));
    CHECK(worker_log_has(first + 1, "was given to another worker meanwhile", NULL) ||
          worker_log_has(first + 1, "its end is not reported", NULL));
    stop_workers();
}

#define KILLS 4

/* SIGKILLs every process of host i until none is left (a job's process forked while the
 * worker was being listed shows up in the next listing), as when the host dies. Returns how
 * many, -1 on error. */
static int kill_host(int i)
{
    long pids[NETNS_MAX_PIDS];
    int n, k, total = 0, round;

    for (round = 0; round < 100; round++) {
        if ((n = netns_host_pids(&host[i], f.dir, pids, NETNS_MAX_PIDS)) <= 0)
            return n < 0 ? -1 : total;
        for (k = 0; k < n; k++)
            kill((pid_t)pids[k], SIGKILL);
        total += n;
        nap_ms(20);
    }
    return -1;
}

/* Host a's processes (its two workers, their executors and jobs) are SIGKILLed at random times
 * while both hosts drain 1,000 jobs, and two workers start there again after each kill, as
 * after a reboot. The reaper puts the dead workers' jobs back: every job finishes once in the
 * registries, none fails, each dependent runs once, and a job runs again only when the reaper
 * took it from a dead worker (its crashes count: killed after its run marker, before its report),
 * the result kept being the last run's. */
static void test_sigkill(void)
{
    unsigned seed = (unsigned)getpid() ^ (unsigned)dcmp_clock_wall_ms();
    int kills = 0, rerun = 0, i, k, n;
    int64_t done = 0, failed = -1;
    pid_t a[2];

    fprintf(stderr, "sigkill: seed %u\n", seed);
    srand(seed);
    CHECK(enqueue(0, 1000, "kill", "{\"ms\":20}") == 0);
    for (i = 0; i < 2; i++) {
        CHECK((a[i] = host_worker(0, "kill", NULL)) > 0);
        CHECK(host_worker(1, "kill", NULL) > 0);
    }
    for (k = 0; k < KILLS; k++) {
        nap_ms(300 + rand() % 1200);
        CHECK(dcmp_queue_count(f.q, "kill", "finished", &done) == 0);
        if (done >= 1000)
            break;
        n = kill_host(0);
        CHECK(n >= 2);
        for (i = 0; i < 2; i++) {
            fixture_worker_stop(&f, a[i], SIGKILL);
            CHECK((a[i] = host_worker(0, "kill", NULL)) > 0);
        }
        kills++;
        fprintf(stderr, "sigkill: host a's %d processes killed with %lld jobs finished\n", n,
                (long long)done);
    }
    /* 1,000 jobs of 20 ms over four workers take 5 s at least; the kills come within 6 s */
    CHECK(kills >= 2);
    CHECK(fixture_wait_count(&f, "kill", "finished", 1000, 240000) == 0);
    CHECK(check_runs(0, 1000, "kill", NULL, 1, &rerun) >= 2);
    CHECK(dcmp_queue_count(f.q, "kill", "failed", &failed) == 0);
    CHECK(failed == 0);
    fprintf(stderr,
            "sigkill: %d kills; %d job(s) ran again after a kill between their end and "
            "their report\n",
            kills, rerun);
    stop_workers();
}

/* Host a's worker is frozen (SIGSTOP) past WORKER_TTL while its 1.5 s job ends: b runs the
 * job again; a's late report, sent when it thaws, is refused as stale: the result kept is
 * b's run's, and the dependents are released once. */
static void test_late_report(void)
{
    const char *graph[] = {"late|testmods.record|late|", "d1|testmods.record|late|0",
                           "d2|testmods.record|late|0"};
    int first = f.nworkers;
    long last_pid = 0;
    char *log, want[64];
    dcmp_job job;
    int marks;
    pid_t a;

    CHECK(fixture_enqueue(&f, graph, 3, "{\"ms\":1500}", 120, &ids[0]) == 0);
    CHECK((a = host_worker(0, "late", NULL)) > 0);
    CHECK(fixture_wait_state(&f, ids[0], "started", 20000) == 0);
    kill(a, SIGSTOP);
    CHECK(host_worker(1, "late", NULL) > 0);
    nap_ms(6000);
    kill(a, SIGCONT);
    CHECK(fixture_wait_count(&f, "late", "finished", 3, 60000) == 0);
    nap_ms(1000);
    log = fixture_read_data(&f, "record.log");
    marks = markers(log, ids[0], NULL, &last_pid);
    free(log);
    /* Frozen once Redis marked the job started, worker a had either forked the job, which ran
     * to its end meanwhile (two run markers: a's late report must be fenced), or not yet (a slow
     * start, as under the sanitizers): then, woken, it finds its lease gone and kills the job
     * before it ends, reporting nothing (one marker). Both are safe; each is checked. */
    fprintf(stderr, "late: the frozen worker's copy %s\n",
            marks == 2 ? "ran to its end, its report fenced" : "was killed on waking, unreported");
    if (marks == 2) {
        check_once(0, 3, "late", ids[0]);
        CHECK(worker_log_has(first, "was given to another worker meanwhile", NULL));
    } else {
        CHECK(marks == 1);
        check_once(0, 3, "late", NULL);
        CHECK(worker_log_has(first, "its end is not reported", NULL));
    }
    CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
    snprintf(want, sizeof want, "\"pid\":%ld}", last_pid);
    CHECK_CONTAINS(job.result, want);
    CHECK(job.attempts == 2);
    dcmp_job_clear(&job);
    stop_workers();
}

/* Reads the numbers printed one a line by argv into v[max]; returns how many, -1 on error. */
static int numbers_of(char *const argv[], int64_t *v, int max)
{
    char out[PATH_MAX + 32], *text, *p, *end;
    int n = 0;

    snprintf(out, sizeof out, "%s/numbers.out", f.dir);
    if (run_to(argv, out) < 0)
        return -1;
    if ((text = fixture_read_data(&f, "../numbers.out")) == NULL)
        return -1;
    for (p = text; *p && n < max; p = end) {
        long long x = strtoll(p, &end, 10);
        if (end == p) {
            end = p + 1;
            continue;
        }
        v[n++] = x;
    }
    free(text);
    return n;
}

/* Host b's wall clock runs 10 minutes ahead (an LD_PRELOAD shim: Debian's faketime is not
 * installed here, and a time namespace shifts only the monotonic clocks): the jobs run once
 * each, and every time stored (jobs' start and end, the workers' registration) is Redis'. */
static void test_clock_shift(void)
{
    const char *shim = getenv("DCMP_CLOCKSHIFT_LIB");
    char preload[PATH_MAX + 16], port[16];
    const char *env[] = {preload, "DCMP_CLOCK_SHIFT=600", NULL};
    char *date[] = {"env", preload, "DCMP_CLOCK_SHIFT=600", "date", "+%s", NULL};
    char *births[] = {"redis-cli",
                      "-p",
                      port,
                      "-a",
                      PASSWORD,
                      "--no-auth-warning",
                      "EVAL",
                      "local r = {} for _, w in ipairs(redis.call('SMEMBERS', 'dcmp:workers')) do "
                      "r[#r + 1] = redis.call('HGET', 'dcmp:worker:' .. w, 'birth') end return r",
                      "0",
                      NULL};
    int64_t t0, t1, v[8], shifted = 0;
    int i, n, out_of_range = 0;

#if defined(__SANITIZE_ADDRESS__)
    /* a preloaded shim would come before AddressSanitizer's runtime, which refuses to start so
     * (and the shim itself is instrumented): the plain build runs this test */
    (void)shim, (void)env, (void)date, (void)births, (void)port, (void)t0, (void)t1, (void)v;
    (void)shifted, (void)i, (void)n, (void)out_of_range;
    fprintf(stderr, "test_clock_shift: skipped under AddressSanitizer (LD_PRELOAD shim)\n");
    return;
#endif
    CHECK(shim != NULL);
    if (shim == NULL)
        return;
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    snprintf(port, sizeof port, "%d", f.port);
    /* the shim works: date under it is 10 minutes ahead */
    t0 = dcmp_clock_wall_ms() / 1000;
    CHECK(numbers_of(date, &shifted, 1) == 1);
    CHECK(shifted - t0 >= 590 && shifted - t0 <= 610);

    t0 = dcmp_clock_wall_ms();
    CHECK(enqueue(0, 1000, "shift", NULL) == 0);
    CHECK(host_worker(0, "shift", NULL) > 0);
    CHECK(host_worker(1, "shift", env) > 0);
    CHECK(fixture_wait_count(&f, "shift", "finished", 1000, 240000) == 0);
    n = numbers_of(births, v, 8);
    t1 = dcmp_clock_wall_ms();
    CHECK(check_once(0, 1000, "shift", NULL) == 2);
    for (i = 0; i < 1000; i++) {
        dcmp_job job;
        if (dcmp_queue_job(f.q, ids[i], &job) != 1)
            continue;
        if (job.started < t0 || job.ended > t1 || job.ended < job.started)
            out_of_range++;
        dcmp_job_clear(&job);
    }
    CHECK(out_of_range == 0);
    CHECK(n == 2);
    for (i = 0; i < n; i++) {
        if (v[i] < t0 - 60000 || v[i] > t1)
            fprintf(stderr, "worker registered at %lld ms, not within [%lld, %lld]\n",
                    (long long)v[i], (long long)(t0 - 60000), (long long)t1);
        CHECK(v[i] >= t0 - 60000 && v[i] <= t1);
    }
    stop_workers();
}

int main(void)
{
    char *probe[] = {"ip", "netns", "list", NULL};
    int rc;

    if (geteuid() != 0) {
        fprintf(stderr, "skipped: network-namespace hosts need root (ip netns add)\n");
        return SKIP;
    }
    if (fixture_start(&f) < 0)
        return 1;
    netns_guard(&f, host, 2);
    if (run(probe) < 0) {
        fprintf(stderr, "skipped: ip netns does not work here (see %s/commands.log)\n", f.dir);
        fixture_stop(&f, 0);
        return SKIP;
    }
    if (netns_host_make(&host[0], f.dir, 0) < 0 || netns_host_make(&host[1], f.dir, 1) < 0 ||
        open_redis() < 0) {
        fprintf(stderr, "cannot set up the hosts or Redis on them\n");
        netns_teardown();
        fixture_stop(&f, 1);
        return 1;
    }
    fprintf(stderr, "hosts %s (%s) and %s (%s), redis on %s and %s port %d\n", host[0].ns,
            host[0].host_ip, host[1].ns, host[1].host_ip, host[0].root_ip, host[1].root_ip, f.port);
    RUN(test_two_hosts);
    RUN(test_sigkill);
    RUN(test_partition);
    RUN(test_late_report);
    RUN(test_clock_shift);
    netns_teardown();
    fixture_stop(&f, harness_failed);
    rc = HARNESS_RESULT();
    return rc;
}
