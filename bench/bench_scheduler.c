/* bench_scheduler.c -- benchmark of dcmp-scheduler: webhooks accepted per second and their
 * response times, events planned per second into a 3-job graph, and the scheduler's memory.
 *
 * usage: bench_scheduler --port REDIS_PORT --scheduler BIN --modules DIR --dir TMP
 *                        [--events N] [--clients K] [--redis-pid PID] [--dicom SERIES_DIR]
 *                        [--orthanc URL --orthanc-series ID] [--python]
 * Starts the scheduler (its HTTP port free on loopback) with a registry of three services in
 * TMP: "a" (no dependency), "b" (depends on a), "c" (depends on a and b), each with a callback
 * that says yes (testcb.yes, run isolated in the scheduler's executor). K client threads post
 * N distinct webhooks (keep-alive connections). Also the CPU time per event of the scheduler,
 * of its helper processes (callback executors) and of Redis (with --redis-pid), and the
 * memory of the scheduler and of its helpers, and the Redis commands per event (INFO
 * commandstats: each command's count per event goes to stderr). With --dicom, the series folder's
 * files are copied under DATA and every webhook carries their dcmpath (the original's Lua script
 * did so): each event's header is then read from the files with DCMTK by dcmp-dicom, and the lines
 * say "from files". With --orthanc, the scheduler has ORTHANC_REST_URL and every webhook names
 * Orthanc's series ID (with its own LastUpdate): each event costs the planner its decision from
 * Orthanc (GET /series/{id} by dcmp-dicom, and the claim in Redis); the first is planned, the
 * others are duplicates. With --python, the three callbacks are Python
 * (REGISTRY/<svc>/__init__.py's `callback`, returning True, run by the embedded interpreter in
 * the same executor) and the lines say "Python callbacks". Prints lines for bench/run.sh:
 *   S|what|value|unit
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis.h"

typedef struct bench {
    int redis_port, http_port, events, clients;
    pid_t redis;
    const char *scheduler, *modules, *dir, *dicom;
    const char *orthanc, *series; /* --orthanc URL, --orthanc-series ID */
    const char *tag;              /* "" or " (headers from files)" in the lines printed */
    int python;                   /* --python: the callbacks are Python functions */
    double *latency_ms;           /* one per event */
    int failures;
    pthread_mutex_t lock;
} bench;

static bench b;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_scheduler: %s\n", what);
    exit(1);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
        die("cannot write the registry");
}

/* Copies the regular files of `from` into `to` (created). */
static void copy_series(const char *from, const char *to)
{
    char src[8400], dst[8400], buf[65536];
    struct dirent *e;
    DIR *d = opendir(from);
    int n = 0;

    if (d == NULL || (mkdir(to, 0755) < 0 && errno != EEXIST))
        die("--dicom: cannot read the series folder");
    while ((e = readdir(d)) != NULL) {
        FILE *in, *out;
        size_t k;
        if (e->d_name[0] == '.')
            continue;
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        if ((in = fopen(src, "rb")) == NULL)
            continue;
        if ((out = fopen(dst, "wb")) == NULL)
            die("--dicom: cannot copy");
        while ((k = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, k, out);
        fclose(in);
        if (fclose(out) != 0)
            die("--dicom: cannot copy");
        n++;
    }
    closedir(d);
    if (n == 0)
        die("--dicom: no files in the series folder");
}

static void service(const char *name, const char *deps)
{
    char dir[4096], path[4200], src[4200], text[512];

    snprintf(dir, sizeof dir, "%s/sched/registry/%s", b.dir, name);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        die("mkdir");
    if (b.python) {
        /* the original's form: a callback saying yes, by keyword */
        snprintf(path, sizeof path, "%s/__init__.py", dir);
        write_file(path, "def callback(jobName, headers, params, added_params, **kwargs):\n"
                         "    return True\n");
    } else {
        snprintf(path, sizeof path, "%s/cb.so", dir);
        snprintf(src, sizeof src, "%s/testcb.so", b.modules);
        if (symlink(src, path) < 0 && errno != EEXIST)
            die("symlink");
    }
    snprintf(text, sizeof text,
             "{\"jobName\":\"%s\",\"worker\":\"testmods.noop\",\"callback\":\"%s.%s\"%s%s}", name,
             name, b.python ? "callback" : "cb.yes", deps ? ",\"dependsOn\":" : "",
             deps ? deps : "");
    snprintf(path, sizeof path, "%s/settings.json", dir);
    write_file(path, text);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void *client(void *arg)
{
    long t = (long)arg;
    char url[128], body[256];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    int i;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/stable-series", b.http_port);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    /* threads: no signals for the timeout (libcurl's rule for threaded programs), and no
     * SIGPIPE handler set and restored around each post (two sigactions a post) */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (i = (int)t; i < b.events; i += b.clients) {
        long status = 0;
        double t0;
        if (b.series)
            snprintf(body, sizeof body, "{\"seriesId\":\"%s\",\"LastUpdate\":\"%d\"}", b.series, i);
        else if (b.dicom)
            snprintf(body, sizeof body,
                     "{\"seriesId\":\"bench-%d\",\"LastUpdate\":\"1\",\"dcmpath\":"
                     "\"dicom/bench\"}",
                     i);
        else
            snprintf(body, sizeof body,
                     "{\"seriesId\":\"bench-%d\",\"LastUpdate\":\"1\",\"tags\":{"
                     "\"PatientID\":\"p%d\",\"Modality\":\"CT\",\"SeriesDescription\":"
                     "\"bench\"}}",
                     i, i);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        t0 = now_s();
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        b.latency_ms[i] = (now_s() - t0) * 1000.0;
        if (status != 202) {
            pthread_mutex_lock(&b.lock);
            b.failures++;
            pthread_mutex_unlock(&b.lock);
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* CPU time (user + system, us) of this process so far. */
static long long self_cpu_us(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

/* Events planned so far (the planner's counter in /metrics is per process; count records): the
 * records less what is still in the inbox and the planners' processing lists, asked in one
 * pipelined round trip so the watching costs Redis little beside the scheduler's work. */
static long planned(redisContext *r)
{
    long n = -1, inbox = 0;
    redisReply *rep;
    int i;

    redisAppendCommand(r, "ZCARD dcmp:events");
    redisAppendCommand(r, "LLEN dcmp:inbox");
    redisAppendCommand(r, "LLEN dcmp:inbox:scheduler:processing");
    for (i = 1; i < 8; i++)
        redisAppendCommand(r, "LLEN dcmp:inbox:scheduler.%d:processing", i);
    for (i = 0; i < 10; i++) {
        if (redisGetReply(r, (void **)&rep) != REDIS_OK || rep == NULL)
            return -1;
        if (rep->type == REDIS_REPLY_INTEGER) {
            if (i == 0)
                n = (long)rep->integer;
            else
                inbox += (long)rep->integer;
        }
        freeReplyObject(rep);
    }
    return n - inbox;
}

/* Redis commands run so far, from INFO commandstats (a script's redis.call() counts, as does
 * the EVALSHA that ran it): returns their total, or -1, and fills stats[] (at most NCMDS, *n
 * of them) with each command's name and calls, for main to print each one's count per event. */
#define NCMDS 64
typedef struct cmdstat {
    char name[48];
    long long calls;
} cmdstat;

static long long commands(redisContext *r, cmdstat *stats, int *n)
{
    redisReply *rep = redisCommand(r, "INFO commandstats");
    long long total = 0;
    const char *p;

    *n = 0;
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return -1;
    }
    for (p = rep->str; (p = strstr(p, "cmdstat_")) != NULL; p++) {
        const char *colon = strchr(p, ':'), *calls = strstr(p, "calls=");
        size_t len = colon ? (size_t)(colon - p - 8) : 0;
        long long c;
        if (colon == NULL || calls == NULL)
            break;
        c = strtoll(calls + 6, NULL, 10);
        total += c;
        if (*n < NCMDS && len < sizeof stats[0].name) {
            memcpy(stats[*n].name, p + 8, len);
            stats[*n].name[len] = '\0';
            stats[(*n)++].calls = c;
        }
    }
    freeReplyObject(rep);
    return total;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"scheduler", required_argument, NULL, 's'},
                                         {"modules", required_argument, NULL, 'm'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"events", required_argument, NULL, 'n'},
                                         {"clients", required_argument, NULL, 'c'},
                                         {"redis-pid", required_argument, NULL, 'R'},
                                         {"dicom", required_argument, NULL, 'D'},
                                         {"orthanc", required_argument, NULL, 'O'},
                                         {"orthanc-series", required_argument, NULL, 'S'},
                                         {"python", no_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    char path[4096], env_port[64], env_redis[64], env_reg[4200], env_set[4200], env_data[4200];
    char env_planners[64] = "DCMP_BENCH=1"; /* SCHEDULER_PLANNERS when set, else a filler */
    char env_orthanc[512] = "DCMP_BENCH_ORTHANC=";
    char *envp[] = {env_port, env_redis, env_reg, env_set, env_data, "REDIS_HOST=127.0.0.1",
                    "DCMP_ENV=", "LOG_LEVEL=warn", "PATH=/usr/bin:/bin",
                    /* the benchmark posts thousands a second from one address */
                    "WEBHOOK_RATE=0", env_planners, env_orthanc, "EARLY_STABLE=0", NULL};
    posix_spawn_file_actions_t fa;
    pthread_t *th;
    redisContext *r;
    double t0, t1, t2, written, next_rss;
    long idle, busy = 0, k, helpers_idle, helpers_busy = 0, kb;
    long long cpu0, cpu, hcpu0, hcpu, rcpu0, rcpu, bcpu0, bcpu, cmds0, cmds, polls = 0;
    cmdstat before[NCMDS], after[NCMDS];
    int nhelpers_idle, nhelpers_busy = 0, nbefore, nafter, j;
    pid_t pid;
    int c, i, status;

    b.events = 5000;
    b.clients = 4;
    pthread_mutex_init(&b.lock, NULL);
    while ((c = getopt_long(argc, argv, "p:s:m:d:n:c:R:D:O:S:P", opts, NULL)) != -1) {
        switch (c) {
        case 'p': b.redis_port = (int)strtol(optarg, NULL, 10); break;
        case 's': b.scheduler = optarg; break;
        case 'm': b.modules = optarg; break;
        case 'd': b.dir = optarg; break;
        case 'n': b.events = (int)strtol(optarg, NULL, 10); break;
        case 'c': b.clients = (int)strtol(optarg, NULL, 10); break;
        case 'R': b.redis = (pid_t)strtol(optarg, NULL, 10); break;
        case 'D': b.dicom = optarg; break;
        case 'O': b.orthanc = optarg; break;
        case 'S': b.series = optarg; break;
        case 'P': b.python = 1; break;
        default: return 2;
        }
    }
    if (!b.redis_port || !b.scheduler || !b.modules || !b.dir || b.events < 1 || b.clients < 1 ||
        !b.orthanc != !b.series)
        die("usage: --port --scheduler --modules --dir [--events] [--clients]");
    b.latency_ms = calloc((size_t)b.events, sizeof *b.latency_ms);
    th = calloc((size_t)b.clients, sizeof *th);
    if (!b.latency_ms || !th)
        die("out of memory");

    snprintf(path, sizeof path, "%s/sched", b.dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sched/registry", b.dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sched/data", b.dir);
    mkdir(path, 0755);
    b.tag = "";
    if (b.dicom) {
        snprintf(path, sizeof path, "%s/sched/data/dicom", b.dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/sched/data/dicom/bench", b.dir);
        copy_series(b.dicom, path);
        b.tag = " (headers from files)";
    }
    if (b.orthanc) {
        /* every event names the one series of a real Orthanc: the planner asks Orthanc for it
         * (GET /series/{id}) and claims its LastUpdate; the first is planned (fetched), every
         * later one is a duplicate of it, so the run measures that per-event decision */
        snprintf(env_orthanc, sizeof env_orthanc, "ORTHANC_REST_URL=%s", b.orthanc);
        b.tag = " (each looked up in Orthanc, all but one duplicates)";
    }
    if (b.python)
        b.tag = " (Python callbacks)";
    service("a", NULL);
    service("b", "\"a\"");
    service("c", "[\"a\",\"b\"]");
    snprintf(path, sizeof path, "%s/sched/settings.json", b.dir);
    write_file(path, "{\"headerFields\":[\"PatientID\",\"Modality\",\"SeriesDescription\","
                     "\"seriesId\"]}");
    written = now_s();

    if (getenv("SCHEDULER_PLANNERS"))
        snprintf(env_planners, sizeof env_planners, "SCHEDULER_PLANNERS=%s",
                 getenv("SCHEDULER_PLANNERS"));
    b.http_port = fixture_free_port();
    snprintf(env_port, sizeof env_port, "SCHEDULER_PORT=%d", b.http_port);
    snprintf(env_redis, sizeof env_redis, "REDIS_PORT=%d", b.redis_port);
    snprintf(env_reg, sizeof env_reg, "REGISTRY=%s/sched/registry", b.dir);
    snprintf(env_set, sizeof env_set, "SETTINGS=%s/sched/settings.json", b.dir);
    snprintf(env_data, sizeof env_data, "DATA=%s/sched/data", b.dir);
    snprintf(path, sizeof path, "%s/sched/scheduler.log", b.dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    {
        char *sargv[] = {(char *)b.scheduler, NULL};
        if (posix_spawn(&pid, b.scheduler, &fa, NULL, sargv, envp) != 0)
            die("cannot start the scheduler");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = redisConnect("127.0.0.1", b.redis_port);
    if (r == NULL || r->err)
        die("cannot reach redis");
    for (i = 0; i < 400; i++) {
        char url[128];
        long st = 0;
        CURL *h = curl_easy_init();
        snprintf(url, sizeof url, "http://127.0.0.1:%d/health", b.http_port);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_cleanup(h);
        if (st == 200)
            break;
        usleep(25000);
    }
    usleep(200000);
    /* A site's settings are older than the scheduler's racy window (a file changed less than
     * DCMP_SETTINGS_CACHE_RACY_MS ago is compared byte for byte on every event): wait until
     * these are too, so the run measures that steady state. */
    while (now_s() - written < 2.1)
        usleep(10000);
    idle = fixture_rss_kb(pid);
    nhelpers_idle = fixture_children(pid, &helpers_idle, &hcpu0);
    cpu0 = fixture_cpu_us(pid);
    rcpu0 = fixture_cpu_us(b.redis);
    bcpu0 = self_cpu_us();
    cmds0 = commands(r, before, &nbefore);

    t0 = now_s();
    for (k = 0; k < b.clients; k++)
        pthread_create(&th[k], NULL, client, (void *)k);
    for (k = 0; k < b.clients; k++)
        pthread_join(th[k], NULL);
    t1 = now_s();
    busy = fixture_rss_kb(pid);
    nhelpers_busy = fixture_children(pid, &helpers_busy, NULL);
    next_rss = t1 + 0.01;
    /* memory sampled every 10 ms: a scan of /proc each poll would load the 2 CPUs */
    while (++polls && planned(r) < b.events && now_s() - t0 < 300) {
        if (now_s() >= next_rss) {
            int n = fixture_children(pid, &kb, NULL);
            next_rss = now_s() + 0.01;
            if (kb > helpers_busy) {
                helpers_busy = kb;
                nhelpers_busy = n;
            }
            if ((kb = fixture_rss_kb(pid)) > busy)
                busy = kb;
        }
        usleep(2000);
    }
    t2 = now_s();
    cpu = fixture_cpu_us(pid) - cpu0;
    rcpu = fixture_cpu_us(b.redis) - rcpu0;
    bcpu = self_cpu_us() - bcpu0;
    fixture_children(pid, NULL, &hcpu);
    hcpu -= hcpu0;
    /* the bench's own: 10 commands a poll, and the first INFO */
    cmds = commands(r, after, &nafter) - cmds0 - 10 * polls - 1;
    for (i = 0; i < nafter; i++) {
        long long was = 0;
        for (j = 0; j < nbefore; j++)
            if (strcmp(before[j].name, after[i].name) == 0)
                was = before[j].calls;
        if (after[i].calls - was >= b.events / 10)
            fprintf(stderr, "bench_scheduler:%s Redis %s: %.2f per event\n", b.tag, after[i].name,
                    (double)(after[i].calls - was) / b.events);
    }

    qsort(b.latency_ms, (size_t)b.events, sizeof *b.latency_ms, cmp);
    /* every line names the run: "" or " (headers from files)" */
    printf("S|webhooks accepted (%d clients, %d events)%s|%.0f|events/s\n", b.clients, b.events,
           b.tag, b.events / (t1 - t0));
    printf("S|events planned into a 3-job graph, end to end into Redis%s|%.0f|events/s\n", b.tag,
           b.events / (t2 - t0));
    printf("S|webhook response p50%s|%.2f|ms\n", b.tag, b.latency_ms[b.events / 2]);
    printf("S|webhook response p99%s|%.2f|ms\n", b.tag, b.latency_ms[(int)(b.events * 0.99)]);
    printf("S|webhook response max%s|%.2f|ms\n", b.tag, b.latency_ms[b.events - 1]);
    printf("S|scheduler RSS idle%s|%.1f|MB\n", b.tag, idle / 1024.0);
    printf("S|scheduler RSS under load (max)%s|%.1f|MB\n", b.tag, busy / 1024.0);
    printf("S|its helper processes' RSS idle (%d process(es), sum)%s|%.1f|MB\n", nhelpers_idle,
           b.tag, helpers_idle / 1024.0);
    printf("S|its helper processes' RSS under load (%d process(es), max of sum)%s|%.1f|MB\n",
           nhelpers_busy, b.tag, helpers_busy / 1024.0);
    printf("S|CPU per event: scheduler, all threads (10 ms ticks)%s|%.0f|us\n", b.tag,
           (double)cpu / b.events);
    printf("S|CPU per event: its helper processes (10 ms ticks)%s|%.0f|us\n", b.tag,
           (double)hcpu / b.events);
    if (b.redis > 0)
        printf("S|CPU per event: redis-server (10 ms ticks)%s|%.0f|us\n", b.tag,
               (double)rcpu / b.events);
    printf("S|CPU per event: this benchmark (HTTP clients, polling)%s|%.0f|us\n", b.tag,
           (double)bcpu / b.events);
    if (cmds0 >= 0)
        printf(
            "S|Redis commands per event (INFO commandstats; the benchmark's own left out)%s|%.1f|"
            "commands\n",
            b.tag, (double)cmds / b.events);
    if (b.failures)
        fprintf(stderr, "bench_scheduler: %d webhooks not answered 202\n", b.failures);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    redisFree(r);
    curl_global_cleanup();
    return b.failures ? 1 : 0;
}
