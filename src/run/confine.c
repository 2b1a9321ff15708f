/* confine.c -- what a job's process gets: an allow-listed environment, resource limits, and
 * the end of every process it started. */
#include "confine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define PROC_MAX 65536 /* processes looked at in one round of a sweep */

/* Variables every job gets (a trailing '*' matches a prefix). Service code reads its settings
 * with getenv: the stack's folders, Orthanc's REST address and login (storageManager), the
 * default destination; the rest is what programs and libraries expect of a process. */
static const char *const allowed[] = {"PATH",
                                      "HOME",
                                      "USER",
                                      "LOGNAME",
                                      "SHELL",
                                      "LANG",
                                      "LANGUAGE",
                                      "LC_*",
                                      "TZ",
                                      "TMPDIR",
                                      "LD_LIBRARY_PATH",
                                      "ASAN_*",
                                      "UBSAN_*",
                                      "LSAN_*",
                                      "PYTHONPATH",
                                      "PYTHONHOME",
                                      "VIRTUAL_ENV",
                                      "BASEDIR",
                                      "MODULES",
                                      "DATA",
                                      "REGISTRY",
                                      "LOGS",
                                      "LOG_LEVEL",
                                      "ORTHANC_REST_URL",
                                      "ORTHANC_REST_USERNAME",
                                      "ORTHANC_REST_USER",
                                      "ORTHANC_REST_PASSWORD",
                                      "ORTHANC_DEFUALT_STORE",
                                      "ORTHANC_DEFAULT_STORE",
                                      NULL};

/* Variables only one service's functions get: {name, dotted prefix of the functions}. */
static const char *const scoped[][2] = {
    {"ANONYMIZER_SECRET", "base.dicomAnonymizer."},
    {"ANONYMIZER_TABLES", "base.dicomAnonymizer."},
    /* container jobs (docs/containers.md): DATA's path on the engine's host, whether Docker
     * mode gave the worker the engine's socket, the host's container slots */
    {"DCMP_DATA_HOST", "container:"},
    {"CONTAINER_JOBS", "container:"},
    {"WORKER_CONTAINER_SLOTS", "container:"},
    {"WORKER_SLOTS_DIR", "container:"},
};

/* Whether the variable `entry` ("NAME=VALUE") is named by `pattern` (NAME or PREFIX*). */
static int matches(const char *entry, const char *pattern, size_t plen)
{
    const char *eq = strchr(entry, '=');
    size_t nlen = eq ? (size_t)(eq - entry) : strlen(entry);

    if (plen > 0 && pattern[plen - 1] == '*')
        return nlen >= plen - 1 && strncmp(entry, pattern, plen - 1) == 0;
    return nlen == plen && strncmp(entry, pattern, plen) == 0;
}

/* Whether `entry` is named in the blank separated list `names`. */
static int listed(const char *entry, const char *names)
{
    const char *p = names;

    while (p && *p) {
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, " \t,");
        if (n > 0 && matches(entry, p, n))
            return 1;
        p += n;
    }
    return 0;
}

static int allowed_entry(const char *entry, const dcmp_confine *c)
{
    size_t i;

    for (i = 0; allowed[i]; i++)
        if (matches(entry, allowed[i], strlen(allowed[i])))
            return 1;
    return c && c->extra && listed(entry, c->extra);
}

char **dcmp_confine_env(char *const *env, const dcmp_confine *c)
{
    return dcmp_confine_env_root(env, c, 0, NULL);
}

char **dcmp_confine_env_root(char *const *env, const dcmp_confine *c, int callbacks,
                             const char *root)
{
    char **out = calloc(DCMP_CONFINE_ENV_MAX + 3, sizeof *out), line[128];
    const dcmp_confine_limits none = {0, 0, 0}, *l = c ? &c->limits : &none;
    /* the original set PYTHONPATH=REGISTRY for callbacks and ran `rq worker --path MODULES` */
    const char *root_name = callbacks ? "REGISTRY" : "MODULES";
    size_t rlen;
    int n = 0, i;

    if (out == NULL)
        return NULL;
    for (i = 0; env && env[i] && n < DCMP_CONFINE_ENV_MAX; i++) {
        if (matches(env[i], DCMP_CONFINE_LIMITS_ENV, strlen(DCMP_CONFINE_LIMITS_ENV)) ||
            (root && matches(env[i], root_name, strlen(root_name))) || !allowed_entry(env[i], c))
            continue;
        if ((out[n++] = strdup(env[i])) == NULL)
            goto oom;
    }
    snprintf(line, sizeof line, "%s=%" PRId64 " %" PRId64 " %" PRId64, DCMP_CONFINE_LIMITS_ENV,
             l->memory, l->cpu, l->files);
    if ((out[n++] = strdup(line)) == NULL)
        goto oom;
    if (root) {
        rlen = strlen(root_name) + strlen(root) + 2;
        if ((out[n] = malloc(rlen)) == NULL)
            goto oom;
        snprintf(out[n++], rlen, "%s=%s", root_name, root);
    }
    out[n] = NULL;
    return out;
oom:
    dcmp_confine_free_env(out);
    return NULL;
}

void dcmp_confine_free_env(char **env)
{
    int i;

    for (i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

size_t dcmp_confine_scoped(const char *func, char *out, size_t size)
{
    size_t used = 0, i;

    if (size == 0)
        return 0;
    out[0] = '\0';
    for (i = 0; i < sizeof scoped / sizeof scoped[0]; i++) {
        const char *v = getenv(scoped[i][0]);
        int n;
        if (v == NULL || strchr(v, '\n') != NULL || func == NULL ||
            strncmp(func, scoped[i][1], strlen(scoped[i][1])) != 0)
            continue;
        n = snprintf(out + used, size - used, "%s=%s\n", scoped[i][0], v);
        if (n < 0 || (size_t)n >= size - used) {
            out[used] = '\0'; /* does not fit: left out whole */
            continue;
        }
        used += (size_t)n;
    }
    return used;
}

void dcmp_confine_apply_scoped(const char *lines, int set)
{
    char name[256];
    const char *p = lines;

    while (p && *p) {
        const char *end = strchr(p, '\n'), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (eq && eq < p + len && (size_t)(eq - p) < sizeof name) {
            char value[DCMP_CONFINE_SCOPED_MAX];
            memcpy(name, p, (size_t)(eq - p));
            name[eq - p] = '\0';
            if (set && len - (size_t)(eq - p) - 1 < sizeof value) {
                memcpy(value, eq + 1, len - (size_t)(eq - p) - 1);
                value[len - (size_t)(eq - p) - 1] = '\0';
                setenv(name, value, 1);
            } else if (!set) {
                unsetenv(name);
            }
        }
        p += len + (end != NULL);
    }
}

int dcmp_confine_limits_from_env(dcmp_confine_limits *l, char *err)
{
    const char *v = getenv(DCMP_CONFINE_LIMITS_ENV);
    long long a, b, c;
    char extra;

    memset(l, 0, sizeof *l);
    if (v == NULL || *v == '\0')
        return 0;
    if (sscanf(v, "%lld %lld %lld %c", &a, &b, &c, &extra) != 3 || a < 0 || b < 0 || c < 0)
        return dcmp_seterr(err, "%s=\"%s\": expected three whole numbers", DCMP_CONFINE_LIMITS_ENV,
                           v);
    l->memory = a;
    l->cpu = b;
    l->files = c;
    return 0;
}

static int set_limit(int resource, const char *name, int64_t value, char *err)
{
    struct rlimit r;

    r.rlim_cur = r.rlim_max = (rlim_t)value;
    if (setrlimit(resource, &r) < 0)
        return dcmp_seterr(err, "setrlimit(%s, %lld): %s", name, (long long)value, strerror(errno));
    return 0;
}

int dcmp_confine_enter(const dcmp_confine_limits *l, char *err)
{
    if (l->memory > 0 && set_limit(RLIMIT_AS, "RLIMIT_AS", l->memory, err) < 0)
        return -1;
    if (l->files > 0 && set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", l->files, err) < 0)
        return -1;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return dcmp_seterr(err, "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    return 0;
}

void dcmp_confine_job_cpu(const dcmp_confine_limits *l)
{
    struct rusage ru;
    struct rlimit r;

    if (l->cpu <= 0 || getrusage(RUSAGE_SELF, &ru) < 0 || getrlimit(RLIMIT_CPU, &r) < 0)
        return;
    /* soft only: the next job of this process needs it raised again (SIGXCPU ends it) */
    r.rlim_cur = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + l->cpu);
    if (r.rlim_max != RLIM_INFINITY && r.rlim_cur > r.rlim_max)
        r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_CPU, &r);
}

const char *dcmp_confine_proc_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    const char *rparen;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (pid <= 0 || size < 2 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return (rparen = strrchr(buf, ')')) == NULL ? NULL : rparen + 1;
}

/* The parent of process `pid`; -1 when it is gone or a zombie (dead already). */
static pid_t parent_of(pid_t pid)
{
    char buf[512], state;
    const char *fields = dcmp_confine_proc_stat(pid, buf, sizeof buf);
    long ppid;

    if (fields == NULL || sscanf(fields, " %c %ld", &state, &ppid) != 2 || state == 'Z' ||
        state == 'X')
        return -1;
    return (pid_t)ppid;
}

/* Appends the children of `pid` listed in /proc/PID/task/TID/children (every thread's) to
 * out[*n..max). Returns 0, or -1 when the kernel has no such files. */
static int children_of(pid_t pid, pid_t *out, int *n, int max)
{
    char path[96], buf[4096];
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) == NULL)
        return errno == ENOENT ? 0 : -1; /* gone meanwhile */
    while ((e = readdir(d)) != NULL && *n < max) {
        ssize_t len;
        char *p, *end;
        int fd;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.20s/children", (int)pid, e->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            if (errno != ENOENT)
                continue;
            closedir(d);
            return -1; /* no CONFIG_PROC_CHILDREN */
        }
        /* a longer list is cut at a whole number: the rest are found in the next round */
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        if (len == (ssize_t)sizeof buf - 1 && (p = strrchr(buf, ' ')) != NULL)
            *p = '\0';
        for (p = buf; *n < max;) {
            long c = strtol(p, &end, 10);
            if (end == p)
                break;
            out[(*n)++] = (pid_t)c;
            p = end;
        }
    }
    closedir(d);
    return 0;
}

/* The living descendants of root through every process' parent in /proc (kernels without
 * the children files): into out (at most max, pids and parents are scratch). */
static int descendants_scan(pid_t root, pid_t *pids, pid_t *parents, int max, pid_t *out)
{
    struct dirent *e;
    int n = 0, found = 0, grew, i, k;
    DIR *d = opendir("/proc");

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        pid_t pp;
        if (*end != '\0' || pid <= 0 || (pp = parent_of((pid_t)pid)) < 0)
            continue;
        pids[n] = (pid_t)pid;
        parents[n++] = pp;
    }
    closedir(d);
    out[found++] = root;
    /* the closure of "parent is in the set": few passes, as process trees are shallow */
    do {
        grew = 0;
        for (i = 0; i < n && found < max; i++) {
            if (pids[i] == 0)
                continue;
            for (k = 0; k < found; k++) {
                if (parents[i] == out[k]) {
                    out[found++] = pids[i];
                    pids[i] = 0;
                    grew = 1;
                    break;
                }
            }
        }
    } while (grew && found < max);
    memmove(out, out + 1, (size_t)(found - 1) * sizeof *out);
    return found - 1;
}

/* One round: the descendants of root into out (at most max). Returns their number. */
static int descendants(pid_t root, pid_t *scratch, int max, pid_t *out)
{
    int n = 0, k;

    /* breadth first through the children files: no scan of every process */
    if (children_of(root, out, &n, max) < 0)
        return descendants_scan(root, scratch, scratch + max, max, out);
    for (k = 0; k < n; k++)
        if (children_of(out[k], out, &n, max) < 0)
            break;
    return n;
}

int dcmp_confine_kill_descendants(pid_t root, int rounds)
{
    pid_t first[8], *pids;
    int total = 0, r, n = 0, i;

    /* the common case, after every job: no child at all, known without a scan */
    if (root <= 0 || (children_of(root, first, &n, 8) == 0 && n == 0))
        return 0;
    if ((pids = malloc(3 * PROC_MAX * sizeof *pids)) == NULL)
        return 0;
    for (r = 0; r < rounds; r++) {
        n = descendants(root, pids, PROC_MAX, pids + 2 * PROC_MAX);
        if (n == 0)
            break;
        /* stopped first, so none forks between being found and being killed */
        for (i = 0; i < n; i++)
            kill(pids[2 * PROC_MAX + i], SIGSTOP);
        for (i = 0; i < n; i++)
            kill(pids[2 * PROC_MAX + i], SIGKILL);
        total += n;
    }
    free(pids);
    return total;
}

void dcmp_confine_reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

void dcmp_confine_explain(int sig, const dcmp_confine_limits *l, char *err, size_t size)
{
    size_t len = strlen(err);

    if (sig == SIGXCPU && l->cpu > 0)
        snprintf(err + len, size - len, ": the job used its CPU time limit (JOB_CPU_LIMIT=%llds)",
                 (long long)l->cpu);
    else if ((sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS) && l->memory > 0)
        snprintf(err + len, size - len,
                 ": the job's memory limit is %lld MiB (JOB_MEMORY_LIMIT): an allocation past it "
                 "fails, and a job that does not check may crash so",
                 (long long)(l->memory >> 20));
}
