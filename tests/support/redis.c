/* redis.c -- test fixture: a real redis-server and real dcmp-worker processes in a temp dir. */
#include "redis.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"

extern char **environ;

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int fixture_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static pid_t spawn_logged(char *const argv[], char *const envp[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* not the test's sockets */
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "fixture: cannot start %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    return pid;
}

pid_t fixture_scheduler(fixture *f, int port, const char *base, const char *const *extra,
                        const char *log)
{
    char sport[64], redis[64], reg[PATH_MAX + 32], set[PATH_MAX + 32], data[PATH_MAX + 32];
    char *bin = getenv("DCMP_SCHEDULER_BIN"), *argv[] = {bin, NULL}, *envp[48];
    int n = 0, i;

    if (bin == NULL) {
        fprintf(stderr, "fixture: DCMP_SCHEDULER_BIN is not set\n");
        return -1;
    }
    snprintf(sport, sizeof sport, "SCHEDULER_PORT=%d", port);
    snprintf(redis, sizeof redis, "REDIS_PORT=%d", f->port);
    snprintf(reg, sizeof reg, "REGISTRY=%s/registry", base);
    snprintf(set, sizeof set, "SETTINGS=%s/settings.json", base);
    snprintf(data, sizeof data, "DATA=%s", f->data);
    /* extra first: the environment's first entry of a name is the one read */
    for (i = 0; extra && extra[i] && n < 16; i++)
        envp[n++] = (char *)extra[i];
    envp[n++] = sport;
    envp[n++] = redis;
    envp[n++] = reg;
    envp[n++] = set;
    envp[n++] = data;
    envp[n++] = "REDIS_HOST=127.0.0.1";
    envp[n++] = "DCMP_ENV=";
    envp[n++] = "PATH=/usr/bin:/bin";
    for (i = 0; environ[i] && n < 47; i++) /* the sanitizers' settings */
        if (strncmp(environ[i], "ASAN_", 5) == 0 || strncmp(environ[i], "UBSAN_", 6) == 0 ||
            strncmp(environ[i], "LSAN_", 5) == 0)
            envp[n++] = environ[i];
    envp[n] = NULL;
    return spawn_logged(argv, envp, log);
}

static int start_redis(fixture *f)
{
    char port[16], log[PATH_MAX + 16];
    char *argv[] = {"redis-server",
                    "--port",
                    port,
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    f->dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    NULL};
    int i;

    snprintf(port, sizeof port, "%d", f->port);
    snprintf(log, sizeof log, "%s/redis.log", f->dir);
    if ((f->redis = spawn_logged(argv, NULL, log)) < 0)
        return -1;
    for (i = 0; i < 200; i++) {
        dcmp_queue_free(f->q);
        dcmp_queue_opts o = {.host = "127.0.0.1", .port = f->port, .heartbeat_ttl_ms = 2000};
        f->q = dcmp_queue_new(&o);
        if (dcmp_queue_connect(f->q) == 0)
            return 0;
        nap_ms(25);
    }
    fprintf(stderr, "fixture: redis on port %d did not answer: %s\n", f->port,
            dcmp_queue_errstr(f->q));
    return -1;
}

int fixture_start(fixture *f)
{
    const char *tmp = getenv("TMPDIR");

    memset(f, 0, sizeof *f);
    f->redis = -1;
    snprintf(f->dir, sizeof f->dir, "%s/dcmp-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        perror("fixture: mkdtemp");
        return -1;
    }
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    mkdir(f->data, 0755);
    if ((f->port = fixture_free_port()) < 0) {
        fprintf(stderr, "fixture: no free port\n");
        return -1;
    }
    return start_redis(f);
}

int fixture_redis_restart(fixture *f)
{
    int status;

    if (f->redis > 0) {
        kill(f->redis, SIGTERM);
        waitpid(f->redis, &status, 0);
        f->redis = -1;
    }
    return start_redis(f);
}

int fixture_redis_config(fixture *f, const char *name, const char *value)
{
    char port[16], log[PATH_MAX + 32], auth[300];
    char *argv[] = {"redis-cli", "-p", port, "CONFIG", "SET", (char *)name, (char *)value, NULL};
    char *envp[256];
    int status = 0, n = 0, i;
    pid_t pid;

    snprintf(port, sizeof port, "%d", f->port);
    snprintf(log, sizeof log, "%s/redis-cli.log", f->dir);
    /* the password in redis-cli's environment, not on its command line */
    if (f->password) {
        snprintf(auth, sizeof auth, "REDISCLI_AUTH=%s", f->password);
        envp[n++] = auth;
    }
    for (i = 0; environ[i] && n < 255; i++)
        envp[n++] = environ[i];
    envp[n] = NULL;
    if ((pid = spawn_logged(argv, envp, log)) < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fixture: CONFIG SET %s failed (see %s)\n", name, log);
        return -1;
    }
    return 0;
}

int fixture_redis_open(fixture *f, const char *binds, const char *password)
{
    char all[512];

    snprintf(all, sizeof all, "127.0.0.1 %s", binds);
    if (fixture_redis_config(f, "bind", all) < 0 ||
        fixture_redis_config(f, "requirepass", password) < 0)
        return -1;
    f->password = password;
    dcmp_queue_free(f->q);
    dcmp_queue_opts o = {
        .host = "127.0.0.1", .port = f->port, .password = password, .heartbeat_ttl_ms = 2000};
    f->q = dcmp_queue_new(&o);
    if (f->q == NULL || dcmp_queue_connect(f->q) < 0) {
        fprintf(stderr, "fixture: redis on port %d refuses the new password\n", f->port);
        return -1;
    }
    return 0;
}

pid_t fixture_worker(fixture *f, const char *queues, const char *const *extra)
{
    const char *bin = getenv("DCMP_WORKER_BIN"), *mods = getenv("DCMP_TEST_MODULES");
    char port[64], modules[PATH_MAX + 16], data[PATH_MAX + 32], ttl[64], log[PATH_MAX + 32];
    char exec[64], host[128], pass[300];
    char *envp[64], *argv[] = {(char *)bin, "--queues", (char *)queues,
                               f->scripts ? NULL : "--no-scripts", NULL};
    char *in_ns[] = {"ip",        "netns",    "exec",         (char *)f->netns,
                     (char *)bin, "--queues", (char *)queues, f->scripts ? NULL : "--no-scripts",
                     NULL};
    int n = 0, i;
    pid_t pid;

    if (bin == NULL || mods == NULL || f->nworkers >= FIXTURE_MAX_WORKERS) {
        fprintf(stderr, "fixture: DCMP_WORKER_BIN and DCMP_TEST_MODULES must be set\n");
        return -1;
    }
    snprintf(port, sizeof port, "REDIS_PORT=%d", f->port);
    snprintf(modules, sizeof modules, "MODULES=%s", f->modules ? f->modules : mods);
    snprintf(data, sizeof data, "DATA=%s", f->data);
    snprintf(ttl, sizeof ttl, "WORKER_TTL=%s", f->worker_ttl ? f->worker_ttl : "2s");
    snprintf(host, sizeof host, "REDIS_HOST=%s", f->redis_host ? f->redis_host : "127.0.0.1");
    envp[n++] = host;
    if (f->password) {
        snprintf(pass, sizeof pass, "REDIS_PASSWORD=%s", f->password);
        envp[n++] = pass;
    }
    envp[n++] = port;
    envp[n++] = modules;
    envp[n++] = data;
    envp[n++] = ttl;
    envp[n++] = "DCMP_ENV=";
    /* Fork per job unless DCMP_TEST_EXECUTOR=pool: CTest runs every integration test
     * with each executor. */
    snprintf(exec, sizeof exec, "WORKER_EXECUTOR=%s",
             getenv("DCMP_TEST_EXECUTOR") ? getenv("DCMP_TEST_EXECUTOR") : "fork");
    envp[n++] = exec;
    for (i = 0; environ[i] && n < 50; i++)
        if (strncmp(environ[i], "ASAN_", 5) == 0 || strncmp(environ[i], "UBSAN_", 6) == 0 ||
            strncmp(environ[i], "LSAN_", 5) == 0 || strncmp(environ[i], "PATH=", 5) == 0 ||
            strncmp(environ[i], "LD_", 3) == 0)
            envp[n++] = environ[i];
    for (i = 0; extra && extra[i] && n < 62; i++)
        envp[n++] = (char *)extra[i];
    envp[n] = NULL;
    snprintf(log, sizeof log, "%s/worker-%d.log", f->dir, f->nworkers);
    if ((pid = spawn_logged(f->netns ? in_ns : argv, envp, log)) > 0)
        f->workers[f->nworkers++] = pid;
    return pid;
}

void fixture_worker_stop(fixture *f, pid_t pid, int sig)
{
    int i, status;

    kill(pid, sig);
    waitpid(pid, &status, 0);
    for (i = 0; i < f->nworkers; i++)
        if (f->workers[i] == pid)
            f->workers[i] = -1;
}

int fixture_state(fixture *f, const char *id, char state[16])
{
    dcmp_job job;
    int rc = dcmp_queue_job(f->q, id, &job);

    state[0] = '\0';
    if (rc > 0)
        memcpy(state, job.state, 16);
    if (rc > 0)
        dcmp_job_clear(&job);
    return rc < 0 ? -1 : 0;
}

int fixture_wait_state(fixture *f, const char *id, const char *state, int timeout_ms)
{
    char st[16] = "";
    int waited;

    for (waited = 0; waited <= timeout_ms; waited += 20) {
        if (fixture_state(f, id, st) == 0 && strcmp(st, state) == 0)
            return 0;
        if (!dcmp_queue_connected(f->q))
            dcmp_queue_connect(f->q);
        nap_ms(20);
    }
    fprintf(stderr, "fixture: job %s is \"%s\", waited %d ms for \"%s\"\n", id, st, timeout_ms,
            state);
    return -1;
}

int fixture_wait_count(fixture *f, const char *queue, const char *state, int64_t n, int timeout_ms)
{
    int64_t have = -1;
    int waited;

    for (waited = 0; waited <= timeout_ms; waited += 50) {
        if (dcmp_queue_count(f->q, queue, state, &have) == 0 && have >= n)
            return 0;
        nap_ms(50);
    }
    fprintf(stderr, "fixture: %lld %s jobs in %s, waited %d ms for %lld\n", (long long)have, state,
            queue, timeout_ms, (long long)n);
    return -1;
}

int fixture_enqueue(fixture *f, const char *const *jobs, int n, const char *params, int64_t timeout,
                    char ids[][DCMP_ID_LEN])
{
    dcmp_job_spec specs[64];
    char names[64][64], funcs[64][128], queues[64][64], kwargs[64][512];
    const char *deps[64][16];
    char err[DCMP_ERR_LEN], *graph;
    int i, rc;

    if (n > 64)
        return -1;
    for (i = 0; i < n; i++)
        if (dcmp_job_new_id(ids[i]) < 0)
            return -1;
    for (i = 0; i < n; i++) {
        char depl[128] = "", *tok, *save;
        memset(&specs[i], 0, sizeof specs[i]);
        if (sscanf(jobs[i], "%63[^|]|%127[^|]|%63[^|]|%127s", names[i], funcs[i], queues[i], depl) <
            3)
            return -1;
        snprintf(kwargs[i], sizeof kwargs[i],
                 "{\"jobName\":\"%s\",\"headers\":{},\"params\":%s,\"added_params\":{}}", names[i],
                 params ? params : "null");
        specs[i].id = ids[i];
        specs[i].name = names[i];
        specs[i].func = funcs[i];
        specs[i].queue = queues[i];
        specs[i].kwargs = kwargs[i];
        specs[i].timeout = timeout;
        specs[i].deps = deps[i];
        for (tok = strtok_r(depl, ",", &save); tok && specs[i].ndeps < 16;
             tok = strtok_r(NULL, ",", &save))
            deps[i][specs[i].ndeps++] = ids[atoi(tok)];
    }
    if ((graph = dcmp_job_encode_graph("test-event", specs, n, err)) == NULL) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    rc = dcmp_queue_enqueue(f->q, graph);
    if (rc < 0)
        fprintf(stderr, "fixture: enqueue: %s\n", dcmp_queue_errstr(f->q));
    free(graph);
    return rc;
}

int fixture_write_new(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    FILE *fp;

    int bad;

    snprintf(tmp, sizeof tmp, "%s.new", path);
    if ((fp = fopen(tmp, "w")) == NULL) {
        fprintf(stderr, "fixture: cannot write %s\n", tmp);
        return -1;
    }
    bad = fputs(text, fp) < 0;
    if (fclose(fp) != 0 || bad || rename(tmp, path) != 0) {
        fprintf(stderr, "fixture: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

char *fixture_read_data(fixture *f, const char *name)
{
    char path[PATH_MAX + 256], *buf;
    FILE *fp;
    long len;

    snprintf(path, sizeof path, "%s/%s", f->data, name);
    if ((fp = fopen(path, "r")) == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    buf = calloc(1, (size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fixture_stop(fixture *f, int failed)
{
    int i, status;

    /* Two SIGTERMs stop a worker at once, killing its job's process group
     * (a hanging job included); SIGKILL after that for anything stuck. */
    for (i = 0; i < f->nworkers; i++)
        if (f->workers[i] > 0) {
            kill(f->workers[i], SIGTERM);
            kill(f->workers[i], SIGTERM);
        }
    nap_ms(f->nworkers ? 300 : 0);
    for (i = 0; i < f->nworkers; i++)
        if (f->workers[i] > 0) {
            kill(f->workers[i], SIGKILL);
            waitpid(f->workers[i], &status, 0);
        }
    if (f->redis > 0) {
        kill(f->redis, SIGKILL);
        waitpid(f->redis, &status, 0);
    }
    dcmp_queue_free(f->q);
    f->q = NULL;
    if (failed || getenv("DCMP_TEST_KEEP") != NULL)
        fprintf(stderr, "fixture: kept %s (logs of redis and the workers)\n", f->dir);
    else
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

long fixture_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t n = strlen(field);
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            char *end;
            errno = 0;
            kb = strtol(line + n + 1, &end, 10);
            if (errno != 0 || end == line + n + 1)
                kb = -1;
            break;
        }
    fclose(f);
    return kb;
}

/* VmRSS of a process in kB, -1 when it cannot be read (the process ended). */
long fixture_rss_kb(pid_t pid)
{
    return fixture_status_kb(pid, "VmRSS");
}

/* From /proc/PID/stat: *ppid, *cpu_us (its own), *reaped_us (of the children it waited
 * for; may be NULL). Returns 0 or -1. */
static int proc_stat(pid_t pid, long *ppid, long long *cpu_us, long long *reaped_us)
{
    char buf[1024];
    const char *p = dcmp_confine_proc_stat(pid, buf, sizeof buf);
    unsigned long long ut, st, cut, cst;

    /* after the command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime cutime cstime */
    if (p == NULL || sscanf(p, " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                            ppid, &ut, &st, &cut, &cst) != 5)
        return -1;
    *cpu_us = (long long)(ut + st) * 1000000 / sysconf(_SC_CLK_TCK);
    if (reaped_us)
        *reaped_us = (long long)(cut + cst) * 1000000 / sysconf(_SC_CLK_TCK);
    return 0;
}

long long fixture_cpu_us(pid_t pid)
{
    long ppid;
    long long us;

    return proc_stat(pid, &ppid, &us, NULL) < 0 ? -1 : us;
}

int fixture_children(pid_t parent, long *rss_kb, long long *cpu_us)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    long long reaped = 0, own;
    long pp;
    int n = 0;

    if (rss_kb)
        *rss_kb = 0;
    if (cpu_us)
        *cpu_us = proc_stat(parent, &pp, &own, &reaped) == 0 ? reaped : 0;
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10), ppid, kb;
        long long us;
        if (*end != '\0' || pid <= 0 || proc_stat((pid_t)pid, &ppid, &us, NULL) < 0 ||
            ppid != parent)
            continue;
        n++;
        if (cpu_us)
            *cpu_us += us;
        if (rss_kb && (kb = fixture_rss_kb((pid_t)pid)) > 0)
            *rss_kb += kb;
    }
    closedir(d);
    return n;
}

int fixture_run(fixture *f, char *const *argv, char *const *envp, char *out, size_t size)
{
    char outfile[PATH_MAX + 32];
    posix_spawn_file_actions_t fa;
    int status = -1;
    FILE *fp;
    pid_t pid;
    size_t got;

    out[0] = '\0';
    snprintf(outfile, sizeof outfile, "%s/run.out", f->dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, outfile, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    /* only 0-2 open, as from a shell: a child's own pipes then land on fds 3 and 4 */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (argv[0] == NULL || posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if ((fp = fopen(outfile, "r")) != NULL) {
        got = fread(out, 1, size - 1, fp);
        out[got] = '\0';
        fclose(fp);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
