/* executor.c -- runs one job in a forked child: crash isolation and a hard timeout. */
#include "executor.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dcmp/service.h"
#include "clock.h"
#include "confine.h"
#include "jsonw.h"
#include "runner.h"

#define RESULT_FD 3

/* ---- the child ---- */

static char *child_result; /* the last call's result, kept until the next call */

void dcmp_executor_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* Prints member `name` of kwargs as JSON text; `dflt` when absent. */
static char *kwarg(const cJSON *kw, const char *name, const char *dflt)
{
    const cJSON *v = kw ? cJSON_GetObjectItemCaseSensitive(kw, name) : NULL;
    char *s = v ? cJSON_PrintUnformatted(v) : strdup(dflt);

    if (s == NULL)
        _exit(70);
    return s;
}

static char *report_text(int status, const char *error, const char *result)
{
    dcmp_jsonw w;
    char *text;

    /* {"status","error","result"}, written directly (once per call in a busy executor) */
    dcmp_jsonw_init(&w, DCMP_EXECUTOR_RESULT_MAX + 2 * DCMP_ERR_LEN + 64);
    dcmp_jsonw_lit(&w, "{\"status\":");
    dcmp_jsonw_int(&w, status);
    dcmp_jsonw_lit(&w, ",\"error\":");
    dcmp_jsonw_str(&w, error ? error : "");
    dcmp_jsonw_lit(&w, ",\"result\":");
    dcmp_jsonw_str(&w, result ? result : "");
    dcmp_jsonw_lit(&w, "}");
    if ((text = dcmp_jsonw_finish(&w)) == NULL)
        _exit(70);
    return text;
}

char *dcmp_executor_call(const dcmp_executor_input *in, char loaded[PATH_MAX], int32_t *code,
                         const char **result)
{
    char err[DCMP_ERR_LEN];
    const dcmp_runner *runner;
    int32_t rc;
    int elsewhere;

    loaded[0] = '\0';
    free(child_result);
    child_result = NULL;
    if (code)
        *code = DCMP_ERROR;
    if (result)
        *result = NULL;
    if ((runner = dcmp_runner_pick(in, &elsewhere, err, sizeof err)) == NULL) {
        char *text = elsewhere ? strdup(DCMP_EXECUTOR_RESTART) : report_text(DCMP_ERROR, err, NULL);
        if (text == NULL)
            _exit(70);
        return text;
    }
    err[0] = '\0';
    rc = runner->run(in, loaded, &child_result, err, sizeof err);
    fflush(NULL);
    if (rc == DCMP_ERROR && err[0] == '\0')
        snprintf(err, sizeof err, "%s returned an error and gave no message", in->func);
    else if (rc != DCMP_OK && rc != DCMP_SKIP && rc != DCMP_ERROR) {
        snprintf(err, sizeof err, "%s: unknown return code %d", in->func, (int)rc);
        rc = DCMP_ERROR;
    }
    if (code)
        *code = rc;
    if (result)
        *result = child_result;
    /* an error says what failed; a skip may say why (a callback's reason not to run) */
    return report_text(rc, rc == DCMP_OK ? "" : err, child_result);
}

char *dcmp_executor_invoke(const dcmp_job *job, const char *modules, const char *data_dir,
                           const dcmp_resolved *resolved, int found, int callback,
                           char loaded[PATH_MAX])
{
    dcmp_executor_input in;
    char *headers, *params, *added, *container = NULL, *text;
    const cJSON *ctr;
    cJSON *kw;

    loaded[0] = '\0';
    kw = cJSON_Parse(job->kwargs);
    if (kw == NULL || !cJSON_IsObject(kw)) {
        cJSON_Delete(kw);
        return report_text(DCMP_ERROR, "job kwargs are not a JSON object", NULL);
    }
    headers = kwarg(kw, "headers", "{}");
    params = kwarg(kw, "params", "null");
    added = kwarg(kw, "added_params", "{}");
    /* a container entry's job (runner_container.c): the only runner that reads it */
    if ((ctr = cJSON_GetObjectItemCaseSensitive(kw, "container")) != NULL)
        container = kwarg(kw, "container", "null");
    cJSON_Delete(kw);
    memset(&in, 0, sizeof in);
    in.job_id = job->id;
    in.job_name = job->name;
    in.func = job->func;
    in.headers = headers;
    in.params = params;
    in.added_params = added;
    in.modules = modules;
    in.data_dir = data_dir;
    in.resolved = resolved;
    in.found = found;
    in.callback = callback;
    in.container = container;
    in.worker = job->worker;
    in.timeout = job->timeout;
    text = dcmp_executor_call(&in, loaded, NULL, NULL);
    free(container);
    free(headers);
    free(params);
    free(added);
    return text;
}

extern char **environ;

/* The fork child becomes a job's process: the allow-listed environment plus the variables of
 * this job's service, the limits, a subreaper of what it starts. */
static void child_confine(const dcmp_job *job, const char *modules, const dcmp_confine *c)
{
    const dcmp_confine_limits none = {0, 0, 0}, *l = c ? &c->limits : &none;
    char scoped[DCMP_CONFINE_SCOPED_MAX], err[DCMP_ERR_LEN], **env;

    dcmp_confine_scoped(job->func, scoped, sizeof scoped);
    if ((env = dcmp_confine_env_root(environ, c, 0, modules)) == NULL)
        _exit(70);
    environ = env; /* the worker's own array stays in this copy's memory, unreferenced */
    dcmp_confine_apply_scoped(scoped, 1);
    if (dcmp_confine_enter(l, err) < 0) {
        fprintf(stderr, "%s\n", err);
        _exit(73);
    }
    dcmp_confine_job_cpu(l);
}

static void __attribute__((noreturn))
child_main(const dcmp_job *job, const char *modules, const char *data_dir, const dcmp_confine *c)
{
    char loaded[PATH_MAX], *text;

    child_confine(job, modules, c);
    text = dcmp_executor_invoke(job, modules, data_dir, NULL, 0, 0, loaded);
    /* nothing the job started outlives it (they are this process' descendants: subreaper) */
    dcmp_confine_kill_descendants(getpid(), 50);
    dcmp_executor_write_all(RESULT_FD, text, strlen(text));
    /* No dlclose or free: the process ends here, and a library's destructors
     * must not run twice (the parent never loaded it). */
    _exit(0);
}

int dcmp_executor_lift_fd(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD, 16);
}

void dcmp_executor_child_setup(void)
{
    sigset_t none;
    int sig;

    setpgid(0, 0);
    for (sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- the parent ---- */

/* Keeps the last DCMP_EXECUTOR_LOG_TAIL bytes of the log. */
typedef struct tail {
    char buf[2 * DCMP_EXECUTOR_LOG_TAIL];
    size_t len;
    int cut;
} tail;

static void tail_add(tail *t, const char *data, size_t n)
{
    if (n >= DCMP_EXECUTOR_LOG_TAIL) {
        data += n - DCMP_EXECUTOR_LOG_TAIL;
        n = DCMP_EXECUTOR_LOG_TAIL;
        t->cut = 1;
        t->len = 0;
    }
    if (t->len + n > sizeof t->buf) {
        size_t keep = DCMP_EXECUTOR_LOG_TAIL - n;
        memmove(t->buf, t->buf + t->len - keep, keep);
        t->len = keep;
        t->cut = 1;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
}

static void tail_get(const tail *t, char *out, size_t size)
{
    size_t n = t->len > DCMP_EXECUTOR_LOG_TAIL ? DCMP_EXECUTOR_LOG_TAIL : t->len;
    const char *start = t->buf + t->len - n;
    int cut = t->cut || n < t->len;

    snprintf(out, size, "%s%.*s", cut ? "[... log cut ...]\n" : "", (int)n, start);
}

typedef struct buf {
    char *data;
    size_t len, cap;
    int over;
} buf;

static void buf_add(buf *b, const char *data, size_t n)
{
    if (b->over || b->len + n > DCMP_EXECUTOR_RESULT_MAX + 8192) {
        b->over = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->data, cap)) == NULL) {
            b->over = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Reads what is there; returns 0 at EOF, 1 otherwise. */
static int drain(int fd, tail *t, buf *b)
{
    char chunk[8192];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            if (t)
                tail_add(t, chunk, (size_t)n);
            else
                buf_add(b, chunk, (size_t)n);
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 1 : 0;
    }
}

void dcmp_executor_decode(const char *report, int over, dcmp_executor_outcome *out)
{
    cJSON *o = report ? cJSON_Parse(report) : NULL;
    const cJSON *st = o ? cJSON_GetObjectItemCaseSensitive(o, "status") : NULL;
    const cJSON *er = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
    const cJSON *re = o ? cJSON_GetObjectItemCaseSensitive(o, "result") : NULL;

    if (!cJSON_IsNumber(st) || !cJSON_IsString(er) || !cJSON_IsString(re)) {
        out->status = DCMP_EXEC_CRASHED;
        snprintf(out->error, sizeof out->error, "the job's process sent an unreadable report%s",
                 over ? " (larger than 1 MiB)" : "");
    } else if (st->valueint == DCMP_ERROR) {
        out->status = DCMP_EXEC_FAILED;
        dcmp_strlcpy(out->error, er->valuestring, sizeof out->error);
    } else {
        out->status = DCMP_EXEC_OK;
        out->code = st->valueint == DCMP_SKIP ? DCMP_SKIP : DCMP_OK;
        /* a skip may say why (set_error before DCMP_SKIP): a callback's reason not to run */
        if (out->code == DCMP_SKIP)
            dcmp_strlcpy(out->error, er->valuestring, sizeof out->error);
        free(out->result);
        out->result = strdup(re->valuestring);
    }
    cJSON_Delete(o);
}

void dcmp_executor_describe_exit(int status, dcmp_executor_outcome *out)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        out->status = DCMP_EXEC_CRASHED;
        snprintf(out->error, sizeof out->error, "crashed: signal %d (%s)", sig, strsignal(sig));
    } else {
        out->status = DCMP_EXEC_CRASHED;
        snprintf(out->error, sizeof out->error,
                 "the job's process exited with status %d without reporting",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

int dcmp_executor_run(const dcmp_job *job, const char *modules, const char *data_dir,
                      const dcmp_confine *confine, dcmp_executor_tick tick, void *tick_arg,
                      dcmp_executor_outcome *out)
{
    int logp[2] = {-1, -1}, resp[2] = {-1, -1}, status = 0, log_open, res_open, exited = 0;
    int pidfd;
    char cgroup[PATH_MAX];
    int64_t start = dcmp_clock_mono_ms(), deadline, next_tick;
    buf report = {0};
    tail *t = calloc(1, sizeof *t);
    pid_t pid;

    memset(out, 0, sizeof *out);
    out->result = NULL;
    if (t == NULL || pipe2(logp, O_CLOEXEC) < 0 || pipe2(resp, O_CLOEXEC) < 0) {
        snprintf(out->error, sizeof out->error, "cannot make pipes: %s", strerror(errno));
        goto fail_early;
    }
    if (confine == NULL || dcmp_cgroup_new(confine->cgroup, cgroup) < 0)
        cgroup[0] = '\0';
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(out->error, sizeof out->error, "fork: %s", strerror(errno));
        dcmp_cgroup_end(cgroup);
        goto fail_early;
    }
    if (pid == 0) {
        /* in the job's cgroup before anything else: what it starts cannot leave it (should
         * the move fail, the subreaper below still holds what the job starts) */
        if (cgroup[0] != '\0')
            (void)dcmp_cgroup_enter(cgroup, 0);
        dcmp_executor_child_setup();
        logp[1] = dcmp_executor_lift_fd(logp[1]);
        resp[1] = dcmp_executor_lift_fd(resp[1]);
        if (logp[1] < 0 || resp[1] < 0 || dup2(logp[1], STDOUT_FILENO) < 0 ||
            dup2(logp[1], STDERR_FILENO) < 0 || dup2(resp[1], RESULT_FD) < 0)
            _exit(71);
        closefrom(RESULT_FD + 1); /* the Redis socket and the pipes' other ends */
        child_main(job, modules, data_dir, confine);
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    close(logp[1]);
    close(resp[1]);
    logp[1] = resp[1] = -1;
    fcntl(logp[0], F_SETFL, O_NONBLOCK);
    fcntl(resp[0], F_SETFL, O_NONBLOCK);
    deadline = job->timeout > 0 ? start + job->timeout * 1000 : INT64_MAX;
    next_tick = start + 1000;
    log_open = res_open = 1;
    /* A pidfd turns the child's exit into a poll event: no sleeping while it ends. */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    for (;;) {
        struct pollfd fds[3];
        int nfds = 0, wait_ms;
        int64_t now = dcmp_clock_mono_ms();

        if (!exited) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                exited = 1;
        }
        if (exited) {
            /* The child wrote its report before it ended: read what is left. */
            if (res_open)
                drain(resp[0], NULL, &report);
            break;
        }
        if (now >= deadline) {
            dcmp_confine_kill_descendants(pid, 50);
            kill(-pid, SIGKILL);
            out->status = DCMP_EXEC_TIMEOUT;
            snprintf(out->error, sizeof out->error, "timed out after %llds: killed",
                     (long long)job->timeout);
            break;
        }
        if (now >= next_tick) {
            next_tick = now + 1000;
            if (tick && tick(tick_arg)) {
                dcmp_confine_kill_descendants(pid, 50);
                kill(-pid, SIGKILL);
                out->status = DCMP_EXEC_STOPPED;
                snprintf(out->error, sizeof out->error, "the worker stopped while the job ran");
                break;
            }
        }
        if (log_open) {
            fds[nfds].fd = logp[0];
            fds[nfds++].events = POLLIN;
        }
        if (res_open) {
            fds[nfds].fd = resp[0];
            fds[nfds++].events = POLLIN;
        }
        if (pidfd >= 0) {
            fds[nfds].fd = pidfd;
            fds[nfds++].events = POLLIN;
        }
        wait_ms = (int)((next_tick < deadline ? next_tick : deadline) - now);
        /* Without a pidfd (kernels before 5.3), the exit after the report is polled for. */
        if (!res_open && pidfd < 0)
            wait_ms = wait_ms > 2 ? 2 : wait_ms;
        if (wait_ms < 0)
            wait_ms = 0;
        if (poll(fds, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR)
            break;
        if (log_open && !drain(logp[0], t, NULL))
            log_open = 0;
        if (res_open && !drain(resp[0], NULL, &report))
            res_open = 0;
    }
    if (pidfd >= 0)
        close(pidfd);
    /* Nothing of the job's process group, nor of its cgroup (a job whose process crashed
     * leaves its descendants to init: only the cgroup still finds them), outlives the job. */
    kill(-pid, SIGKILL);
    dcmp_cgroup_end(cgroup);
    if (!exited)
        waitpid(pid, &status, 0);
    if (log_open)
        drain(logp[0], t, NULL);
    close(logp[0]);
    close(resp[0]);
    out->ms = dcmp_clock_mono_ms() - start;
    if (out->status != DCMP_EXEC_TIMEOUT && out->status != DCMP_EXEC_STOPPED) {
        if (WIFSIGNALED(status) || report.len == 0)
            dcmp_executor_describe_exit(status, out);
        if (WIFSIGNALED(status) && confine)
            dcmp_confine_explain(WTERMSIG(status), &confine->limits, out->error, sizeof out->error);
        else if (report.len > 0) /* an exit without a report keeps its status in the error */
            dcmp_executor_decode(report.data, report.over, out);
    }
    if (out->result == NULL)
        out->result = strdup("");
    tail_get(t, out->log, sizeof out->log);
    free(report.data);
    free(t);
    return 0;

fail_early:
    if (logp[0] >= 0) {
        close(logp[0]);
        close(logp[1]);
    }
    if (resp[0] >= 0) {
        close(resp[0]);
        close(resp[1]);
    }
    free(t);
    out->result = strdup("");
    return -1;
}
