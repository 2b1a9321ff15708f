/* pool.c -- runs jobs in a long-lived, supervised executor process (WORKER_EXECUTOR=pool). */
#include "pool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "resolve.h"

extern char **environ;

/* The executor's descriptors. */
#define EXEC_RES_FD 3
#define EXEC_CMD_FD 4

#define FRAME_MAX      (16u << 20) /* largest job or report frame */
#define LOG_CAP        (8 << 20)   /* the log memfd is emptied past this while a job runs */
#define EXEC_LIBS      64          /* libraries an executor tracks before it asks to be replaced */
#define RESTART_REPORT "restart"   /* the executor's answer when it must be replaced first */

/* ---- frames: a 4-byte length, then the bytes ---- */

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_frame(int fd, const char *data, size_t len)
{
    uint32_t n = (uint32_t)len;

    return write_full(fd, &n, sizeof n) < 0 ? -1 : write_full(fd, data, len);
}

/* ---- the executor ---- */

typedef struct lib_id {
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} lib_id;

static int same_file(const lib_id *l, const struct stat *st)
{
    return l->dev == st->st_dev && l->ino == st->st_ino && l->size == st->st_size &&
           l->mtime.tv_sec == st->st_mtim.tv_sec && l->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* True when the library `func` resolves to was loaded here and its file changed since:
 * dlopen would hand back the old copy, so only a new executor can load the new one. */
static int library_changed(const lib_id *libs, int n, const char *modules, const char *func)
{
    dcmp_resolved r;
    struct stat st;
    int i, k;

    if (dcmp_resolve_name(modules, func, &r, NULL) < 0 ||
        (i = dcmp_resolve_find(&r, func, NULL)) < 0)
        return 0;
    if (stat(r.paths[i], &st) < 0)
        return 0;
    for (k = 0; k < n; k++)
        if (strcmp(libs[k].path, r.paths[i]) == 0)
            return !same_file(&libs[k], &st);
    return 0;
}

/* Remembers a library just loaded; returns -1 when the table is full. */
static int remember(lib_id *libs, int *n, const char *path)
{
    struct stat st;
    int k;

    for (k = 0; k < *n; k++)
        if (strcmp(libs[k].path, path) == 0)
            return 0;
    if (*n >= EXEC_LIBS || stat(path, &st) < 0)
        return -1;
    memcpy(libs[*n].path, path, PATH_MAX);
    libs[*n].dev = st.st_dev;
    libs[*n].ino = st.st_ino;
    libs[*n].size = st.st_size;
    libs[*n].mtime = st.st_mtim;
    (*n)++;
    return 0;
}

void dcmp_pool_executor_main(const char *modules, const char *data_dir)
{
    static lib_id libs[EXEC_LIBS];
    int nlibs = 0;

    for (;;) {
        char loaded[PATH_MAX], *payload, *fields[4], *report;
        uint32_t len;
        dcmp_job job;
        size_t off = 0;
        int k, full;

        if (read_full(EXEC_CMD_FD, &len, sizeof len) < 0)
            _exit(0); /* the worker closed the pipe: done */
        if (len > FRAME_MAX || (payload = malloc((size_t)len + 1)) == NULL)
            _exit(72);
        if (read_full(EXEC_CMD_FD, payload, len) < 0)
            _exit(0);
        payload[len] = '\0';
        /* id NUL name NUL func NUL kwargs */
        for (k = 0; k < 4; k++) {
            fields[k] = payload + off;
            off += strlen(payload + off) + 1;
            if (off > (size_t)len + 1)
                _exit(72);
        }
        memset(&job, 0, sizeof job);
        dcmp_strlcpy(job.id, fields[0], sizeof job.id);
        job.name = fields[1];
        job.func = fields[2];
        job.kwargs = fields[3];
        if (library_changed(libs, nlibs, modules, job.func)) {
            write_frame(EXEC_RES_FD, RESTART_REPORT, strlen(RESTART_REPORT));
            _exit(0);
        }
        report = dcmp_executor_invoke(&job, modules, data_dir, loaded);
        full = loaded[0] != '\0' && remember(libs, &nlibs, loaded) < 0;
        if (write_frame(EXEC_RES_FD, report, strlen(report)) < 0)
            _exit(0);
        free(report);
        free(payload);
        if (full)
            _exit(0); /* too many libraries to watch: a new executor starts clean */
    }
}

/* ---- the worker's side ---- */

void dcmp_pool_init(dcmp_pool *p, const char *modules, const char *data_dir, long recycle)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->cmd = p->res = p->logfd = -1;
    p->recycle = recycle > 0 ? recycle : 1000;
    p->modules = modules;
    p->data_dir = data_dir;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Kills the executor's whole group and reaps it; *status (may be NULL) gets its status. */
static void kill_executor(dcmp_pool *p, int *status)
{
    int st = 0;

    if (p->pid > 0) {
        kill(-p->pid, SIGKILL);
        while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (status)
        *status = st;
    p->pid = -1;
    close_fd(&p->cmd);
    close_fd(&p->res);
    close_fd(&p->logfd);
}

void dcmp_pool_stop(dcmp_pool *p)
{
    kill_executor(p, NULL);
}

int dcmp_pool_executor(char *path, size_t size, char *err)
{
    const char *env = getenv("DCMP_EXECUTOR");
    char self[PATH_MAX], *slash;
    ssize_t n;

    if (env && *env) {
        if (snprintf(path, size, "%s", env) >= (int)size)
            return dcmp_seterr(err, "DCMP_EXECUTOR: the path is too long");
    } else {
        if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) < 0)
            return dcmp_seterr(err, "/proc/self/exe: %s", strerror(errno));
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            *slash = '\0';
        if (snprintf(path, size, "%s/dcmp-executor", self) >= (int)size)
            return dcmp_seterr(err, "%s/dcmp-executor: the path is too long", self);
    }
    if (access(path, X_OK) < 0)
        return dcmp_seterr(err,
                           "cannot start an executor: %s: %s (install dcmp-executor beside "
                           "this program, or set DCMP_EXECUTOR to its path)",
                           path, strerror(errno));
    return 0;
}

/* Moves fd above the descriptors the executor gets (0-4), keeping it close-on-exec. */
static int lift(int fd)
{
    int high;

    if (fd < 0 || fd > EXEC_CMD_FD)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, EXEC_CMD_FD + 1);
    close(fd);
    return high;
}

/*
 * Starts the executor with posix_spawn: dcmp-executor MODULES DATA_DIR, with the job pipe on
 * descriptor 4, the report pipe on 3, the log memfd as stdout and stderr, in its own process
 * group, every signal at its default. Never a bare fork: the scheduler has threads, and a
 * forked child of a threaded process may block forever on a lock another thread held (the
 * allocator's, the dynamic loader's). A new program has no such state.
 */
static int spawn(dcmp_pool *p, char *err)
{
    int cmdp[2] = {-1, -1}, resp[2] = {-1, -1}, logfd = -1, devnull = -1, rc;
    char prog[PATH_MAX], *argv[4];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    pid_t pid;

    if (dcmp_pool_executor(prog, sizeof prog, err) < 0)
        return -1;
    if (pipe2(cmdp, O_CLOEXEC) < 0 || pipe2(resp, O_CLOEXEC) < 0 ||
        (logfd = memfd_create("dcmp-job-log", MFD_CLOEXEC)) < 0 ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, DCMP_ERR_LEN, "cannot start an executor: %s", strerror(errno));
        goto fail;
    }
    /* O_APPEND: after the worker empties the file, the executor writes from its start. */
    fcntl(logfd, F_SETFL, O_APPEND);
    /* dup2 onto 0-4 must not overwrite an end still to be placed */
    cmdp[0] = lift(cmdp[0]);
    resp[1] = lift(resp[1]);
    logfd = lift(logfd);
    devnull = lift(devnull);
    if (cmdp[0] < 0 || resp[1] < 0 || logfd < 0 || devnull < 0) {
        snprintf(err, DCMP_ERR_LEN, "cannot start an executor: %s", strerror(errno));
        goto fail;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, logfd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&fa, resp[1], EXEC_RES_FD);
    posix_spawn_file_actions_adddup2(&fa, cmdp[0], EXEC_CMD_FD);
    posix_spawn_file_actions_addclosefrom_np(&fa, EXEC_CMD_FD + 1);
    posix_spawnattr_init(&at);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
    argv[0] = prog;
    argv[1] = (char *)p->modules;
    argv[2] = (char *)(p->data_dir ? p->data_dir : "");
    argv[3] = NULL;
    rc = posix_spawn(&pid, prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        dcmp_seterr(err, "cannot start an executor: %s: %s", prog, strerror(rc));
        goto fail;
    }
    close(cmdp[0]);
    close(resp[1]);
    close(devnull);
    p->pid = pid;
    p->cmd = cmdp[1];
    p->res = resp[0];
    p->logfd = logfd;
    p->jobs = 0;
    fcntl(p->res, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    for (rc = 0; rc < 2; rc++) {
        if (cmdp[rc] >= 0)
            close(cmdp[rc]);
        if (resp[rc] >= 0)
            close(resp[rc]);
    }
    if (logfd >= 0)
        close(logfd);
    if (devnull >= 0)
        close(devnull);
    return -1;
}

/* The last DCMP_EXECUTOR_LOG_TAIL bytes of the executor's log since the job began. */
static void read_log(dcmp_pool *p, int cut, dcmp_executor_outcome *out)
{
    char buf[DCMP_EXECUTOR_LOG_TAIL + 1];
    struct stat st;
    off_t from = 0;
    ssize_t n;

    out->log[0] = '\0';
    if (p->logfd < 0 || fstat(p->logfd, &st) < 0)
        return;
    if (st.st_size > DCMP_EXECUTOR_LOG_TAIL) {
        from = st.st_size - DCMP_EXECUTOR_LOG_TAIL;
        cut = 1;
    }
    n = pread(p->logfd, buf, (size_t)(st.st_size - from), from);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    snprintf(out->log, sizeof out->log, "%s%s", cut ? "[... log cut ...]\n" : "", buf);
}

/* Sends the job; reads its report. Returns 1 when the executor asked to be replaced
 * first (the job did not run), 0 otherwise (out filled). */
static int run_once(dcmp_pool *p, const dcmp_job *job, dcmp_executor_tick tick, void *tick_arg,
                    dcmp_executor_outcome *out)
{
    int64_t start = dcmp_clock_mono_ms(), deadline, next_tick = start + 1000;
    size_t lens[4] = {strlen(job->id) + 1, strlen(job->name) + 1, strlen(job->func) + 1,
                      strlen(job->kwargs)};
    char *frame, *report = NULL, hdr[4];
    size_t want = 0, have = 0, hdr_have = 0, off = 0;
    int cut = 0, status = 0, k;
    const char *parts[4] = {job->id, job->name, job->func, job->kwargs};

    if (ftruncate(p->logfd, 0) < 0)
        cut = 1;
    if ((frame = malloc(lens[0] + lens[1] + lens[2] + lens[3])) == NULL) {
        out->status = DCMP_EXEC_FAILED;
        snprintf(out->error, sizeof out->error, "out of memory sending the job");
        return 0;
    }
    for (k = 0; k < 4; k++) {
        memcpy(frame + off, parts[k], lens[k]);
        off += lens[k];
    }
    if (off > FRAME_MAX || write_frame(p->cmd, frame, off) < 0) {
        free(frame);
        kill_executor(p, &status);
        dcmp_executor_describe_exit(status, out);
        snprintf(out->error, sizeof out->error, "the executor could not take the job: %s",
                 off > FRAME_MAX ? "larger than 16 MiB" : "it ended");
        return 0;
    }
    free(frame);
    deadline = job->timeout > 0 ? start + job->timeout * 1000 : INT64_MAX;
    for (;;) {
        struct pollfd pfd = {p->res, POLLIN, 0};
        int64_t now = dcmp_clock_mono_ms(), wait_ms;
        ssize_t n;

        if (now >= deadline) {
            read_log(p, cut, out);
            kill_executor(p, NULL);
            out->status = DCMP_EXEC_TIMEOUT;
            snprintf(out->error, sizeof out->error, "timed out after %llds: killed",
                     (long long)job->timeout);
            free(report);
            return 0;
        }
        if (now >= next_tick) {
            struct stat st;
            next_tick = now + 1000;
            if (fstat(p->logfd, &st) == 0 && st.st_size > LOG_CAP && ftruncate(p->logfd, 0) == 0)
                cut = 1; /* a job writing without end: keep memory bounded */
            if (tick && tick(tick_arg)) {
                read_log(p, cut, out);
                kill_executor(p, NULL);
                out->status = DCMP_EXEC_STOPPED;
                snprintf(out->error, sizeof out->error, "the worker stopped while the job ran");
                free(report);
                return 0;
            }
        }
        wait_ms = (next_tick < deadline ? next_tick : deadline) - now;
        if (poll(&pfd, 1, (int)(wait_ms < 0 ? 0 : wait_ms)) < 0 && errno != EINTR)
            continue;
        for (;;) {
            if (hdr_have < sizeof hdr)
                n = read(p->res, hdr + hdr_have, sizeof hdr - hdr_have);
            else
                n = read(p->res, report + have, want - have);
            if (n > 0) {
                if (hdr_have < sizeof hdr) {
                    hdr_have += (size_t)n;
                    if (hdr_have == sizeof hdr) {
                        uint32_t len;
                        memcpy(&len, hdr, sizeof len);
                        want = len;
                        if (want > FRAME_MAX || (report = malloc(want + 1)) == NULL) {
                            read_log(p, cut, out);
                            kill_executor(p, NULL);
                            out->status = DCMP_EXEC_CRASHED;
                            snprintf(out->error, sizeof out->error,
                                     "the executor sent an unreadable report");
                            return 0;
                        }
                    }
                } else {
                    have += (size_t)n;
                }
                if (hdr_have == sizeof hdr && have == want)
                    goto got_report;
                continue;
            }
            if (n == 0) {
                /* The executor died: the job crashed it. */
                read_log(p, cut, out);
                kill_executor(p, &status);
                dcmp_executor_describe_exit(status, out);
                free(report);
                return 0;
            }
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: wait for more */
        }
    }
got_report:
    report[want] = '\0';
    if (strcmp(report, RESTART_REPORT) == 0) {
        free(report);
        kill_executor(p, NULL);
        return 1;
    }
    read_log(p, cut, out);
    dcmp_executor_decode(report, 0, out);
    free(report);
    return 0;
}

int dcmp_pool_run(dcmp_pool *p, const dcmp_job *job, dcmp_executor_tick tick, void *tick_arg,
                  dcmp_executor_outcome *out)
{
    int64_t start = dcmp_clock_mono_ms();
    int tries;

    memset(out, 0, sizeof *out);
    for (tries = 0; tries < 2; tries++) {
        if (p->pid < 0 && spawn(p, out->error) < 0) {
            out->result = strdup("");
            return -1;
        }
        if (run_once(p, job, tick, tick_arg, out) == 0)
            break;
        /* its library changed since the executor loaded it: once more, in a new one */
        dcmp_log_info("job %s: the library of %s changed: starting a new executor", job->id,
                      job->func);
    }
    if (tries == 2) {
        out->status = DCMP_EXEC_FAILED;
        snprintf(out->error, sizeof out->error, "the executor kept asking to be replaced");
    }
    if (out->result == NULL)
        out->result = strdup("");
    out->ms = dcmp_clock_mono_ms() - start;
    if (p->pid > 0 && ++p->jobs >= p->recycle)
        dcmp_pool_stop(p); /* bounds what leaks; the next job starts a new one */
    return 0;
}
