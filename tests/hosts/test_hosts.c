/* test_hosts.c -- workers on two hosts made of Linux network namespaces (veth pairs, addresses
 * of their own, Redis with a password across them): 2,000 jobs drained by both; one host cut
 * off mid-job for longer than WORKER_TTL; one host frozen until its report comes late; one
 * host whose wall clock is 10 minutes ahead. Needs root (ip netns); skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "redis.h"

#define MANY     2000
#define GRAPH    50
#define PASSWORD "hosts-test-6d1f0c"
#define SKIP     77

extern char **environ;

static fixture f;
static char ids[MANY + 64][DCMP_ID_LEN];
static char ns[2][32], veth[2][16], root_ip[2][20], host_ip[2][20];
static int made[2];

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs argv (found on PATH), its output appended to `out` (default DIR/commands.log).
 * Returns 0 when it exits with status 0. */
static int run_to(char *const argv[], const char *out)
{
    char log[PATH_MAX + 32];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0, rc;

    snprintf(log, sizeof log, "%s/commands.log", f.dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out ? out : log,
                                     O_WRONLY | O_CREAT | (out ? O_TRUNC : O_APPEND), 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int run(char *const argv[])
{
    return run_to(argv, NULL);
}

/* Kills the workers and Redis by pid, then removes the namespaces and their veth pairs. */
static void cleanup(void)
{
    int i;

    for (i = 0; i < f.nworkers; i++)
        if (f.workers[i] > 0) {
            kill(f.workers[i], SIGCONT);
            kill(f.workers[i], SIGKILL);
            waitpid(f.workers[i], NULL, 0);
            f.workers[i] = -1;
        }
    for (i = 0; i < 2; i++) {
        if (!made[i])
            continue;
        char *del_link[] = {"ip", "link", "del", veth[i], NULL};
        char *del_ns[] = {"ip", "netns", "del", ns[i], NULL};
        run(del_link);
        run(del_ns);
        made[i] = 0;
    }
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup();
    if (f.redis > 0)
        kill(f.redis, SIGKILL);
    _exit(1);
}

/* A third octet X for 10.251.X.0/30 that no address of the root namespace uses (another host,
 * or another run of this test at the same time), tried from one our pid gives; -1 if none. */
static int free_subnet(void)
{
    char out[PATH_MAX + 32], net[32], *text;
    int k, x, used;

    snprintf(out, sizeof out, "%s/addr.out", f.dir);
    for (k = 0; k < 240; k++) {
        /* runs started at once have pids close together: two octets apart each */
        x = 10 + (int)((2 * (getpid() % 120) + k) % 240);
        snprintf(net, sizeof net, "10.251.%d.0/24", x);
        char *show[] = {"ip", "-o", "-4", "addr", "show", "to", net, NULL};
        if (run_to(show, out) < 0)
            return -1;
        text = fixture_read_data(&f, "../addr.out");
        used = text == NULL || text[0] != '\0';
        free(text);
        if (!used)
            return x;
    }
    return -1;
}

/* Host i: namespace ns[i] with lo and veth "<veth[i]>h" at host_ip[i]/30, its peer veth[i] in
 * the root namespace at root_ip[i]/30 (where Redis listens), in 10.251.X.0/30 with X free. */
static int make_host(int i)
{
    int x = free_subnet();
    char peer[20], cidr_root[32], cidr_host[32];

    snprintf(ns[i], sizeof ns[i], "dcmp-t%d-%c", (int)getpid(), 'a' + i);
    snprintf(veth[i], sizeof veth[i], "dv%d%c", (int)(getpid() % 10000000), 'a' + i);
    snprintf(peer, sizeof peer, "%.13sh", veth[i]);
    snprintf(root_ip[i], sizeof root_ip[i], "10.251.%d.1", x);
    snprintf(host_ip[i], sizeof host_ip[i], "10.251.%d.2", x);
    snprintf(cidr_root, sizeof cidr_root, "%s/30", root_ip[i]);
    snprintf(cidr_host, sizeof cidr_host, "%s/30", host_ip[i]);
    char *add_ns[] = {"ip", "netns", "add", ns[i], NULL};
    char *add_link[] = {"ip", "link", "add", veth[i], "type", "veth", "peer", "name", peer, NULL};
    char *move[] = {"ip", "link", "set", peer, "netns", ns[i], NULL};
    char *addr_root[] = {"ip", "addr", "add", cidr_root, "dev", veth[i], NULL};
    char *up_root[] = {"ip", "link", "set", veth[i], "up", NULL};
    char *addr_host[] = {"ip", "-n", ns[i], "addr", "add", cidr_host, "dev", peer, NULL};
    char *up_host[] = {"ip", "-n", ns[i], "link", "set", peer, "up", NULL};
    char *up_lo[] = {"ip", "-n", ns[i], "link", "set", "lo", "up", NULL};

    if (x < 0) {
        fprintf(stderr, "no free 10.251.X.0/24 for host %d\n", i);
        return -1;
    }
    if (run(add_ns) < 0)
        return -1;
    made[i] = 1;
    if (run(add_link) < 0 || run(move) < 0 || run(addr_root) < 0 || run(up_root) < 0 ||
        run(addr_host) < 0 || run(up_host) < 0 || run(up_lo) < 0) {
        fprintf(stderr, "host %s: cannot set up its veth (see %s/commands.log)\n", ns[i], f.dir);
        return -1;
    }
    return 0;
}

/* Cuts host i off (its link down) or restores it. */
static int link_set(int i, const char *state)
{
    char *argv[] = {"ip", "link", "set", veth[i], (char *)state, NULL};
    return run(argv);
}

/* Redis listens on both root ends too, with a password; the test's client uses it. */
static int open_redis(void)
{
    char port[16], binds[96];
    char *bind[] = {"redis-cli", "-p", port, "CONFIG", "SET", "bind", binds, NULL};
    char *pass[] = {"redis-cli", "-p", port, "CONFIG", "SET", "requirepass", PASSWORD, NULL};

    snprintf(port, sizeof port, "%d", f.port);
    snprintf(binds, sizeof binds, "127.0.0.1 %s %s", root_ip[0], root_ip[1]);
    if (run(bind) < 0 || run(pass) < 0)
        return -1;
    dcmp_queue_free(f.q);
    dcmp_queue_opts o = {
        .host = "127.0.0.1", .port = f.port, .password = PASSWORD, .heartbeat_ttl_ms = 2000};
    f.q = dcmp_queue_new(&o);
    return f.q && dcmp_queue_connect(f.q) == 0 ? 0 : -1;
}

/* A worker of `queue` on host i (its Redis is the root end of the host's veth). */
static pid_t host_worker(int i, const char *queue, const char *const *env)
{
    pid_t pid;

    f.netns = ns[i];
    f.redis_host = root_ip[i];
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

/* How many lines of DATA/record.log name id; *last_pid gets the pid of the last one. */
static int markers(const char *log, const char *id, long *last_pid)
{
    const char *p = log;
    int n = 0;

    while (log && (p = strstr(p, id)) != NULL) {
        n++;
        p += strlen(id);
        if (last_pid)
            *last_pid = strtol(p, NULL, 10);
    }
    return n;
}

/* Every job of ids[from..from+n) finished, with exactly one run marker (except `twice`, which
 * ran on both hosts), and the finished registry of `queue` holds exactly n. Returns the number
 * of distinct workers that ran them. */
static int check_once(int from, int n, const char *queue, const char *twice)
{
    char *log = fixture_read_data(&f, "record.log");
    char workers[8][DCMP_WORKER_LEN];
    int i, k, nw = 0, bad_marks = 0, unfinished = 0;
    int64_t finished = -1;

    CHECK(log != NULL);
    for (i = from; log && i < from + n; i++) {
        dcmp_job job;
        int want = twice && strcmp(ids[i], twice) == 0 ? 2 : 1;

        if (markers(log, ids[i], NULL) != want)
            bad_marks++;
        if (dcmp_queue_job(f.q, ids[i], &job) != 1) {
            unfinished++;
            continue;
        }
        if (strcmp(job.state, "finished") != 0)
            unfinished++;
        for (k = 0; k < nw && strcmp(workers[k], job.worker) != 0; k++)
            ;
        if (k == nw && nw < 8)
            memcpy(workers[nw++], job.worker, DCMP_WORKER_LEN);
        dcmp_job_clear(&job);
    }
    CHECK(dcmp_queue_count(f.q, queue, "finished", &finished) == 0);
    if (bad_marks || unfinished || finished != n)
        fprintf(stderr,
                "%s: %d job(s) without exactly one run marker, %d not finished, %lld in "
                "the finished registry (want %d)\n",
                queue, bad_marks, unfinished, (long long)finished, n);
    CHECK(bad_marks == 0);
    CHECK(unfinished == 0);
    CHECK(finished == n);
    free(log);
    return nw;
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

/* Host a is cut off (link down) for 6 s, past WORKER_TTL (2 s), while it runs a 20 s job:
 * host b reaps it and runs the job again; a kills its copy and does not report it (one run
 * marker); the job's dependents run once; a serves again once restored. */
static void test_partition(void)
{
    const char *slow[] = {"slow|testmods.record|part|", "d1|testmods.record|part|0",
                          "d2|testmods.record|part|0"};
    int first = f.nworkers;
    dcmp_job job;

    CHECK(fixture_enqueue(&f, slow, 3, "{\"ms\":20000}", 120, &ids[0]) == 0);
    CHECK(host_worker(0, "part", NULL) > 0);
    CHECK(fixture_wait_state(&f, ids[0], "started", 20000) == 0);
    CHECK(host_worker(1, "part", NULL) > 0);
    CHECK(enqueue(3, 400, "part", NULL) == 0);
    nap_ms(500);
    CHECK(link_set(0, "down") == 0);
    nap_ms(6000);
    CHECK(link_set(0, "up") == 0);
    CHECK(fixture_wait_count(&f, "part", "finished", 403, 120000) == 0);
    check_once(0, 403, "part", NULL);
    CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
    CHECK(job.attempts == 2);
    dcmp_job_clear(&job);
    /* killed, then serving again once restored */
    CHECK(worker_log_has(first, "killing it, its end is not reported", "finished in"));
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
    marks = markers(log, ids[0], &last_pid);
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
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
    if (run(probe) < 0) {
        fprintf(stderr, "skipped: ip netns does not work here (see %s/commands.log)\n", f.dir);
        fixture_stop(&f, 0);
        return SKIP;
    }
    f.password = PASSWORD;
    if (make_host(0) < 0 || make_host(1) < 0 || open_redis() < 0) {
        fprintf(stderr, "cannot set up the hosts or Redis on them\n");
        cleanup();
        fixture_stop(&f, 1);
        return 1;
    }
    fprintf(stderr, "hosts %s (%s) and %s (%s), redis on %s and %s port %d\n", ns[0], host_ip[0],
            ns[1], host_ip[1], root_ip[0], root_ip[1], f.port);
    RUN(test_two_hosts);
    RUN(test_partition);
    RUN(test_late_report);
    RUN(test_clock_shift);
    cleanup();
    fixture_stop(&f, harness_failed);
    rc = HARNESS_RESULT();
    return rc;
}
