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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "confine.h"
#include "fdio.h"
#include "dcmp/service.h"
#include "log.h"
#include "plan.h"
#include "resolve.h"

extern char **environ;

/* The executor's descriptors. */
#define EXEC_RES_FD 3
#define EXEC_CMD_FD 4

#define FRAME_MAX      (16u << 20) /* largest job or report frame */
#define LOG_CAP        (8 << 20)   /* the log memfd is emptied past this while a job runs */
#define EXEC_LIBS      64          /* libraries an executor tracks before it asks to be replaced */
#define RESTART_REPORT DCMP_EXECUTOR_RESTART /* its answer when it must be replaced first */
#define FRAME_JOB      'J'                   /* a frame's first byte: one job */
#define FRAME_CALLBACK 'K' /* a frame's first byte: one callback, framed as a job */
#define FRAME_CALLS    'C' /* a frame's first byte: a batch of callbacks */

/* ---- frames: a 4-byte length, then the bytes ---- */

static int write_frame(int fd, const char *data, size_t len)
{
    uint32_t n = (uint32_t)len;
    struct iovec iov[2] = {{&n, sizeof n}, {(void *)(uintptr_t)data, len}};
    ssize_t w;
    size_t done;

    /* one system call for both parts (a report per callback: it counts); the rest, if the
     * pipe took only part, written whole */
    while ((w = writev(fd, iov, 2)) < 0 && errno == EINTR)
        ;
    if (w < 0)
        return -1;
    done = (size_t)w;
    if (done < sizeof n && dcmp_fdio_write(fd, (const char *)&n + done, sizeof n - done) < 0)
        return -1;
    done = done < sizeof n ? 0 : done - sizeof n;
    return done >= len ? 0 : dcmp_fdio_write(fd, data + done, len - done);
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

/* Resolves `func` under modules into *r (*found: the candidate that exists, -1 when none,
 * -2 when the name is bad). Returns 1 when that library was loaded here and its file changed since:
 * dlopen would hand back the old copy, so only a new executor can load the new one. One stat
 * serves both the lookup and the check. */
static int library_changed(const lib_id *libs, int n, const char *modules, const char *func,
                           dcmp_resolved *r, int *found)
{
    struct stat st;
    int k;

    *found = -2;
    if (dcmp_resolve_name(modules, func, r, NULL) < 0 ||
        (*found = dcmp_resolve_find_stat(r, func, &st, NULL)) < 0)
        return 0;
    for (k = 0; k < n; k++)
        if (strcmp(libs[k].path, r->paths[*found]) == 0)
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

/* Where the executor is, between frames. */
typedef struct served {
    const char *modules, *data_dir;
    lib_id libs[EXEC_LIBS];
    int nlibs;
    int full; /* too many libraries to watch: the next frame is answered "restart" */
    dcmp_confine_limits limits; /* DCMP_JOB_LIMITS */
} served;

/* Writes a report frame; the caller is gone when it cannot be written. */
static void report(const char *text)
{
    if (write_frame(EXEC_RES_FD, text, strlen(text)) < 0)
        _exit(0);
}

/* Before running func: when the executor must be replaced first, says so and ends.
 * Otherwise fills in->resolved and in->found (-1: no candidate exists; no resolution when
 * func is not a valid name: the call then reports why). */
static void restart_if_needed(served *sv, const char *func, dcmp_resolved *r,
                              dcmp_executor_input *in)
{
    int found;

    if (sv->full || library_changed(sv->libs, sv->nlibs, sv->modules, func, r, &found)) {
        report(RESTART_REPORT);
        _exit(0);
    }
    in->resolved = found >= -1 ? r : NULL; /* no library is an answer too: not looked for again */
    in->found = found;
}

static void loaded_one(served *sv, const char *loaded)
{
    if (loaded[0] != '\0' && remember(sv->libs, &sv->nlibs, loaded) < 0)
        sv->full = 1;
}

/* Splits a frame's payload into NUL-ended fields; the last one ends at the frame's end.
 * Returns the number found (at most max). */
static int split(char *payload, size_t len, char **fields, int max)
{
    size_t off = 0;
    int k = 0;

    while (k < max && off <= len) {
        fields[k++] = payload + off;
        off += strlen(payload + off) + 1;
    }
    return k;
}

/* After a job or a callback: nothing it started outlives it (this process is their subreaper,
 * so even a process that left its session is a descendant), and none is left a zombie. */
static void end_of_call(void)
{
    siginfo_t si;

    /* the common case, no child at all, known in one system call: a subreaper's descendants
     * are its children or theirs, so none is left when it has no child (running or not) */
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
        return;
    dcmp_confine_kill_descendants(getpid(), 50);
    dcmp_confine_reap();
}

/* A job frame: id NUL name NUL func NUL kwargs NUL scoped (the variables this job alone gets,
 * "NAME=VALUE\n" lines, dcmp_confine_scoped) NUL worker NUL timeout (seconds, decimal). */
static void serve_job(served *sv, char *payload, size_t len, int callback)
{
    char loaded[PATH_MAX], *fields[7], *text, *end;
    dcmp_executor_input in;
    dcmp_resolved r;
    dcmp_job job;

    if (split(payload, len, fields, 7) != 7)
        _exit(72);
    memset(&job, 0, sizeof job);
    dcmp_strlcpy(job.id, fields[0], sizeof job.id);
    job.name = fields[1];
    job.func = fields[2];
    job.kwargs = fields[3];
    dcmp_strlcpy(job.worker, fields[5], sizeof job.worker);
    job.timeout = strtoll(fields[6], &end, 10);
    if (*end != '\0')
        _exit(72);
    restart_if_needed(sv, job.func, &r, &in);
    dcmp_confine_apply_scoped(fields[4], 1);
    dcmp_confine_job_cpu(&sv->limits);
    text = dcmp_executor_invoke(&job, sv->modules, sv->data_dir, in.resolved, in.found, callback,
                                loaded);
    dcmp_confine_apply_scoped(fields[4], 0);
    end_of_call();
    loaded_one(sv, loaded);
    report(text);
    if (strcmp(text, RESTART_REPORT) == 0)
        _exit(0); /* the job needs another environment: a new executor runs it */
    free(text);
}

/*
 * A frame of callbacks: headers NUL added_params NUL, then per call job_name NUL callback NUL
 * params NUL. Runs them in order, one report each as soon as it is known, giving each call
 * added_params with the injections of the calls before it (dcmp_plan_inject, as the planner).
 */
static void serve_calls(served *sv, char *payload, size_t len)
{
    static uint64_t batches;
    char loaded[PATH_MAX], *fields[2], *added_text, *text, *p, *end = payload + len;
    dcmp_executor_input in;
    dcmp_resolved r;
    cJSON *added;

    if (split(payload, len, fields, 2) != 2 || (added = cJSON_Parse(fields[1])) == NULL)
        _exit(72);
    added_text = fields[1];
    p = fields[1] + strlen(fields[1]) + 1;
    batches++;
    while (p < end) {
        const char *name = p, *callback, *params, *result;
        int32_t code;
        callback = name + strlen(name) + 1;
        params = callback >= end ? NULL : callback + strlen(callback) + 1;
        if (params == NULL || params >= end)
            _exit(72);
        p = (char *)params + strlen(params) + 1;
        memset(&in, 0, sizeof in);
        restart_if_needed(sv, callback, &r, &in);
        in.job_id = "";
        in.callback = 1;
        in.batch = batches;
        in.job_name = name;
        in.func = callback;
        in.headers = fields[0];
        in.params = params;
        in.added_params = added_text;
        in.modules = sv->modules;
        in.data_dir = sv->data_dir;
        dcmp_confine_job_cpu(&sv->limits);
        text = dcmp_executor_call(&in, loaded, &code, &result);
        end_of_call();
        loaded_one(sv, loaded);
        report(text);
        if (strcmp(text, RESTART_REPORT) == 0)
            _exit(0); /* calls k.. go to a new executor */
        free(text);
        if (code == DCMP_OK && p < end) { /* only a yes stores: its object, or {} */
            dcmp_plan_inject(added, name, 1, result);
            if (added_text != fields[1])
                free(added_text);
            if ((added_text = cJSON_PrintUnformatted(added)) == NULL)
                _exit(70);
        }
    }
    if (added_text != fields[1])
        free(added_text);
    cJSON_Delete(added);
}

/* Reads the next frame whole (first byte: its kind). Returns it (new, NUL-terminated; *len
 * its length), or ends the process: 0 when the caller closed the pipe, 72 on a bad frame. */
static char *next_frame(uint32_t *len)
{
    char *payload;

    if (dcmp_fdio_read(EXEC_CMD_FD, len, sizeof *len) < 0)
        _exit(0); /* the caller closed the pipe: done */
    if (*len < 1 || *len > FRAME_MAX || (payload = malloc((size_t)*len + 1)) == NULL)
        _exit(72);
    if (dcmp_fdio_read(EXEC_CMD_FD, payload, *len) < 0)
        _exit(0);
    payload[*len] = '\0';
    return payload;
}

void dcmp_pool_serve(dcmp_pool_handler handle, void *arg)
{
    for (;;) {
        char *fields[5], *payload, *text;
        uint32_t len;
        dcmp_job job;

        payload = next_frame(&len);
        /* the fifth field (variables for service code) and the rest are not for a helper
         * program */
        if (payload[0] != FRAME_JOB || split(payload + 1, len - 1, fields, 5) != 5)
            _exit(72);
        memset(&job, 0, sizeof job);
        dcmp_strlcpy(job.id, fields[0], sizeof job.id);
        job.name = fields[1];
        job.func = fields[2];
        job.kwargs = fields[3];
        text = handle(&job, arg);
        report(text);
        free(text);
        free(payload);
    }
}

void dcmp_pool_executor_main(const char *modules, const char *data_dir)
{
    static served sv;
    char err[DCMP_ERR_LEN];

    sv.modules = modules;
    sv.data_dir = data_dir;
    if (dcmp_confine_limits_from_env(&sv.limits, err) < 0 ||
        dcmp_confine_enter(&sv.limits, err) < 0) {
        /* said in the log of the job that finds this executor ended */
        fprintf(stderr, "dcmp-executor: %s\n", err);
        _exit(73);
    }
    for (;;) {
        uint32_t len;
        char *payload = next_frame(&len);

        /* the first byte says what the frame holds */
        if (payload[0] == FRAME_JOB || payload[0] == FRAME_CALLBACK)
            serve_job(&sv, payload + 1, len - 1, payload[0] == FRAME_CALLBACK);
        else if (payload[0] == FRAME_CALLS)
            serve_calls(&sv, payload + 1, len - 1);
        else
            _exit(72);
        free(payload);
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

/* Kills the executor, everything its jobs started (its descendants first, while it still
 * holds them: it is their subreaper) and its whole group, and reaps it; *status (may be NULL)
 * gets its status. */
static void kill_executor(dcmp_pool *p, int *status)
{
    int st = 0;

    if (p->pid > 0) {
        dcmp_confine_kill_descendants(p->pid, 50);
        dcmp_cgroup_end(p->cgroup); /* whatever escaped the descendants' walk */
        p->cgroup[0] = '\0';
        kill(-p->pid, SIGKILL);
        while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (status)
        *status = st;
    p->pid = -1;
    p->roff = p->rlen = 0;
    close_fd(&p->cmd);
    close_fd(&p->res);
    close_fd(&p->logfd);
}

void dcmp_pool_stop(dcmp_pool *p)
{
    kill_executor(p, NULL);
}

int dcmp_pool_program(const char *name, const char *env, char *path, size_t size, char *err)
{
    const char *set = getenv(env);
    char self[PATH_MAX], *slash;
    ssize_t n;

    if (set && *set) {
        if (snprintf(path, size, "%s", set) >= (int)size)
            return dcmp_seterr(err, "%s: the path is too long", env);
    } else {
        if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) < 0)
            return dcmp_seterr(err, "/proc/self/exe: %s", strerror(errno));
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            *slash = '\0';
        if (snprintf(path, size, "%s/%s", self, name) >= (int)size)
            return dcmp_seterr(err, "%s/%s: the path is too long", self, name);
    }
    if (access(path, X_OK) < 0)
        return dcmp_seterr(err,
                           "cannot start %s: %s: %s (install %s beside this program, or set %s "
                           "to its path)",
                           name, path, strerror(errno), name, env);
    return 0;
}

int dcmp_pool_executor(char *path, size_t size, char *err)
{
    return dcmp_pool_program("dcmp-executor", "DCMP_EXECUTOR", path, size, err);
}

void dcmp_pool_init_program(dcmp_pool *p, const char *program, const char *arg,
                            const char *data_dir, long recycle)
{
    dcmp_pool_init(p, arg, data_dir, recycle);
    p->program = program;
}

void dcmp_pool_stop_idle(dcmp_pool *p, int64_t idle_ms)
{
    if (p->pid > 0 && dcmp_clock_mono_ms() - p->used_ms >= idle_ms)
        dcmp_pool_stop(p);
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
    char prog[PATH_MAX], *argv[4], **envp = environ;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    pid_t pid;

    if (p->program) {
        if (snprintf(prog, sizeof prog, "%s", p->program) >= (int)sizeof prog)
            return dcmp_seterr(err, "%s: the path is too long", p->program);
    } else if (dcmp_pool_executor(prog, sizeof prog, err) < 0) {
        return -1;
    }
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
    /* service code sees only the allow-listed variables: not the passwords of the daemon */
    if (p->program == NULL &&
        (envp = dcmp_confine_env_root(environ, p->confine, p->callbacks, p->modules)) == NULL)
        rc = ENOMEM;
    else
        rc = posix_spawn(&pid, prog, &fa, &at, argv, envp);
    if (envp != environ)
        dcmp_confine_free_env(envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        dcmp_seterr(err, "cannot start an executor: %s: %s", prog, strerror(rc));
        goto fail;
    }
    /* into a cgroup of its own before it gets any job: nothing a job starts can leave it */
    if (p->program == NULL && p->confine && p->confine->cgroup &&
        dcmp_cgroup_new(p->confine->cgroup, p->cgroup) == 0 &&
        dcmp_cgroup_enter(p->cgroup, pid) < 0) {
        dcmp_log_warn("cannot move the executor into %s: %s", p->cgroup, strerror(errno));
        dcmp_cgroup_end(p->cgroup);
        p->cgroup[0] = '\0';
    }
    close(cmdp[0]);
    close(resp[1]);
    close(devnull);
    p->pid = pid;
    p->cmd = cmdp[1];
    p->res = resp[0];
    p->logfd = logfd;
    p->jobs = 0;
    p->roff = p->rlen = 0;
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

/* Sends one frame: the kind byte, then the parts, each followed by a NUL except the last
 * when last_nul is 0. Returns 0, or -1 with out filled (the executor was killed). */
static int send_frame(dcmp_pool *p, char kind, const char *const *parts, int n, int last_nul,
                      dcmp_executor_outcome *out)
{
    size_t len = 1, off = 1;
    int status = 0, k;
    char *frame;

    for (k = 0; k < n; k++)
        len += strlen(parts[k]) + (k < n - 1 || last_nul);
    if (len > FRAME_MAX) {
        out->status = DCMP_EXEC_FAILED;
        snprintf(out->error, sizeof out->error,
                 "the executor could not take the job: larger than 16 MiB");
        return -1;
    }
    if ((frame = malloc(len)) == NULL) {
        out->status = DCMP_EXEC_FAILED;
        snprintf(out->error, sizeof out->error, "out of memory sending to the executor");
        return -1;
    }
    frame[0] = kind;
    for (k = 0; k < n; k++) {
        size_t l = strlen(parts[k]) + (k < n - 1 || last_nul);
        memcpy(frame + off, parts[k], l);
        off += l;
    }
    if (write_frame(p->cmd, frame, len) < 0) {
        free(frame);
        kill_executor(p, &status);
        dcmp_executor_describe_exit(status, out);
        snprintf(out->error, sizeof out->error, "the executor could not take the job: it ended");
        return -1;
    }
    free(frame);
    return 0;
}

/* Whether the executor has ended (left a zombie, not reaped: its pid stays its own until
 * kill_executor reaps it). */
static int executor_ended(const dcmp_pool *p)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    return p->pid > 0 && waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == p->pid;
}

/* The executor ended during a job: out gets its log, how it ended and the limit that may
 * explain it; it is reaped, with everything it left. */
static void executor_died(dcmp_pool *p, int cut, dcmp_executor_outcome *out)
{
    int status = 0;

    read_log(p, cut, out);
    kill_executor(p, &status);
    dcmp_executor_describe_exit(status, out);
    if (WIFSIGNALED(status) && p->confine)
        dcmp_confine_explain(WTERMSIG(status), &p->confine->limits, out->error, sizeof out->error);
}

/* Reads up to len bytes of the executor's reports: what the last read left in p->rbuf first,
 * else one read(2) of as much as the pipe holds, up to the buffer, so that a short report (its
 * length and its bytes) comes in one system call; a long one is read in place. As read(2):
 * the count, 0 at end of file, -1 with errno (EAGAIN: nothing there yet). */
static ssize_t read_res(dcmp_pool *p, char *dst, size_t len)
{
    ssize_t n;

    if (p->rlen == 0) {
        if (len >= sizeof p->rbuf)
            return read(p->res, dst, len);
        if ((n = read(p->res, p->rbuf, sizeof p->rbuf)) <= 0)
            return n;
        p->roff = 0;
        p->rlen = (size_t)n;
    }
    n = (ssize_t)(len < p->rlen ? len : p->rlen);
    memcpy(dst, p->rbuf + p->roff, (size_t)n);
    p->roff += (size_t)n;
    p->rlen -= (size_t)n;
    return n;
}

/*
 * Reads the executor's next report, waiting until `deadline` (monotonic ms; INT64_MAX: none)
 * and calling tick about once a second. Returns 0 with *report (new: free it), or -1 with out
 * filled (crashed, timed out after `timeout` s, stopped; the executor was killed). cut says
 * whether the log was emptied while the job ran (for out->log).
 */
static int read_report(dcmp_pool *p, int64_t deadline, int64_t timeout, dcmp_executor_tick tick,
                       void *tick_arg, int *cut, char **report, dcmp_executor_outcome *out)
{
    int64_t next_tick = dcmp_clock_mono_ms() + 1000;
    size_t want = 0, have = 0, hdr_have = 0;
    char *body = NULL, hdr[4];
    int ended = 0; /* the executor ended (a zombie): what is in the pipe is all there is */

    *report = NULL;
    for (;;) {
        struct pollfd pfd = {p->res, POLLIN, 0};
        int64_t now = dcmp_clock_mono_ms(), wait_ms;
        ssize_t n;

        if (now >= deadline) {
            read_log(p, *cut, out);
            kill_executor(p, NULL);
            out->status = DCMP_EXEC_TIMEOUT;
            snprintf(out->error, sizeof out->error, "timed out after %llds: killed",
                     (long long)timeout);
            free(body);
            return -1;
        }
        if (now >= next_tick) {
            struct stat st;
            next_tick = now + 1000;
            if (fstat(p->logfd, &st) == 0 && st.st_size > LOG_CAP && ftruncate(p->logfd, 0) == 0)
                *cut = 1; /* a job writing without end: keep memory bounded */
            if (tick && tick(tick_arg)) {
                read_log(p, *cut, out);
                kill_executor(p, NULL);
                out->status = DCMP_EXEC_STOPPED;
                snprintf(out->error, sizeof out->error, "the worker stopped while the job ran");
                free(body);
                return -1;
            }
        }
        wait_ms = ended ? 0 : (next_tick < deadline ? next_tick : deadline) - now;
        /* bytes read before (the start of this report) are taken without a wait */
        if (p->rlen == 0 && poll(&pfd, 1, (int)(wait_ms < 0 ? 0 : wait_ms)) < 0 && errno != EINTR)
            continue;
        for (;;) {
            if (hdr_have < sizeof hdr)
                n = read_res(p, hdr + hdr_have, sizeof hdr - hdr_have);
            else
                n = read_res(p, body + have, want - have);
            if (n > 0) {
                if (hdr_have < sizeof hdr) {
                    hdr_have += (size_t)n;
                    if (hdr_have == sizeof hdr) {
                        uint32_t len;
                        memcpy(&len, hdr, sizeof len);
                        want = len;
                        if (want > FRAME_MAX || (body = malloc(want + 1)) == NULL) {
                            read_log(p, *cut, out);
                            kill_executor(p, NULL);
                            out->status = DCMP_EXEC_CRASHED;
                            snprintf(out->error, sizeof out->error,
                                     "the executor sent an unreadable report");
                            return -1;
                        }
                    }
                } else {
                    have += (size_t)n;
                }
                if (hdr_have == sizeof hdr && have == want) {
                    body[want] = '\0';
                    *report = body;
                    return 0;
                }
                continue;
            }
            if (n == 0) {
                /* The executor died: the job crashed it. */
                executor_died(p, *cut, out);
                free(body);
                return -1;
            }
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: wait for more */
        }
        /* Everything it wrote is read (reports of calls before its end included), and the
         * executor ended while a process it started still holds the report pipe open (no end
         * of file comes): the job crashed it all the same. */
        if (ended) {
            executor_died(p, *cut, out);
            free(body);
            return -1;
        }
        /* seen ended: one more pass reads what it wrote between the last read and its end */
        ended = executor_ended(p);
    }
}

/* Sends the job; reads its report. Returns 1 when the executor asked to be replaced
 * first (the job did not run), 0 otherwise (out filled). */
static int run_once(dcmp_pool *p, const dcmp_job *job, dcmp_executor_tick tick, void *tick_arg,
                    dcmp_executor_outcome *out)
{
    char scoped[DCMP_CONFINE_SCOPED_MAX], timeout[24];
    const char *parts[7] = {job->id, job->name,   job->func, job->kwargs,
                            scoped,  job->worker, timeout};
    int64_t deadline;
    char *report;
    int cut = 0;

    /* only executors of dcmp-executor run service code; a helper program gets none */
    if (p->program != NULL)
        scoped[0] = '\0';
    else
        dcmp_confine_scoped(job->func, scoped, sizeof scoped);
    snprintf(timeout, sizeof timeout, "%lld", (long long)job->timeout);
    if (ftruncate(p->logfd, 0) < 0)
        cut = 1;
    if (send_frame(p, p->callbacks ? FRAME_CALLBACK : FRAME_JOB, parts, 7, 0, out) < 0)
        return 0;
    deadline = job->timeout > 0 ? dcmp_clock_mono_ms() + job->timeout * 1000 : INT64_MAX;
    if (read_report(p, deadline, job->timeout, tick, tick_arg, &cut, &report, out) < 0)
        return 0;
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
        /* its library changed since the executor loaded it, or it needs another Python
         * environment: once more, in a new one (also asked when the executor holds too many
         * libraries to watch) */
        dcmp_log_info("job %s: %s runs in another Python environment, or its library "
                      "changed: starting a new executor",
                      job->id, job->func);
    }
    if (tries == 2) {
        out->status = DCMP_EXEC_FAILED;
        snprintf(out->error, sizeof out->error, "the executor kept asking to be replaced");
    }
    if (out->result == NULL)
        out->result = strdup("");
    out->ms = dcmp_clock_mono_ms() - start;
    p->used_ms = dcmp_clock_mono_ms();
    if (p->pid > 0 && ++p->jobs >= p->recycle)
        dcmp_pool_stop(p); /* bounds what leaks; the next job starts a new one */
    return 0;
}

int dcmp_pool_calls(dcmp_pool *p, const char *headers, const char *added_params,
                    const dcmp_plan_call *calls, int n, int64_t timeout, dcmp_executor_tick tick,
                    void *tick_arg, dcmp_executor_outcome *outs, int *restart)
{
    const char **parts;
    int64_t deadline;
    int cut = 0, k, i;

    *restart = 0;
    for (i = 0; i < n; i++) {
        /* cleared field by field: the log buffers are kilobytes each, and unused here */
        outs[i].status = DCMP_EXEC_FAILED;
        outs[i].code = 0;
        outs[i].error[0] = outs[i].log[0] = '\0';
        outs[i].result = NULL;
        outs[i].ms = 0;
    }
    if (n <= 0)
        return 0;
    if ((parts = calloc((size_t)(2 + 3 * n), sizeof *parts)) == NULL) {
        snprintf(outs[0].error, sizeof outs[0].error, "out of memory");
        return -1;
    }
    parts[0] = headers;
    parts[1] = added_params;
    for (i = 0; i < n; i++) {
        parts[2 + 3 * i] = calls[i].job_name;
        parts[3 + 3 * i] = calls[i].callback;
        parts[4 + 3 * i] = calls[i].params;
    }
    /* An executor that ended since the last batch (killed from outside) did not take the
     * frame: the batch goes to a new one, once. */
    for (i = 0;; i++) {
        if (p->pid < 0 && spawn(p, outs[0].error) < 0) {
            free(parts);
            return -1;
        }
        /* The log is not kept for callbacks: emptied once, so that it stays bounded. */
        if (ftruncate(p->logfd, 0) < 0)
            cut = 1;
        if ((k = send_frame(p, FRAME_CALLS, parts, 2 + 3 * n, 1, &outs[0])) == 0 || i == 1 ||
            p->pid > 0)
            break;
        outs[0].error[0] = '\0';
    }
    free(parts);
    if (k < 0)
        return 1; /* outs[0] says why */
    for (k = 0; k < n; k++) {
        char *report;
        int64_t start = dcmp_clock_mono_ms();
        deadline = timeout > 0 ? start + timeout * 1000 : INT64_MAX;
        if (read_report(p, deadline, timeout, tick, tick_arg, &cut, &report, &outs[k]) < 0) {
            outs[k].ms = dcmp_clock_mono_ms() - start;
            if (outs[k].result == NULL)
                outs[k].result = strdup("");
            return k + 1; /* crashed or timed out in call k: the executor was killed */
        }
        if (strcmp(report, RESTART_REPORT) == 0) {
            free(report);
            kill_executor(p, NULL);
            *restart = 1;
            return k;
        }
        dcmp_executor_decode(report, 0, &outs[k]);
        free(report);
        if (outs[k].result == NULL)
            outs[k].result = strdup("");
        outs[k].ms = dcmp_clock_mono_ms() - start;
    }
    p->used_ms = dcmp_clock_mono_ms();
    if (p->pid > 0 && ++p->jobs >= p->recycle)
        dcmp_pool_stop(p); /* bounds what leaks; the next batch starts a new one */
    return n;
}
