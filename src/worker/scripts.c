/* scripts.c -- MODULES/<service>/script.sh: every one runs when the worker starts, and again
 * when it is new or changed while the worker runs (a service installed with service.sh), as
 * the original's worker containers did. */
#include "scripts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

extern char **environ;

/* Logs the complete lines of buf[0..*len) as "path: line" and keeps the rest. A line longer than
 * the buffer is logged in pieces. */
static void log_lines(const char *path, char *buf, size_t *len, int flush)
{
    size_t start = 0, i;

    for (i = 0; i < *len; i++) {
        if (buf[i] == '\n') {
            buf[i] = '\0';
            dcmp_log_info("%s: %s", path, buf + start);
            start = i + 1;
        }
    }
    if (start == 0 && (*len == SCRIPTS_LINE_MAX || (flush && *len > 0))) {
        buf[*len] = '\0';
        dcmp_log_info("%s: %s", path, buf);
        start = *len;
    } else if (flush && start < *len) {
        buf[*len] = '\0';
        dcmp_log_info("%s: %s", path, buf + start);
        start = *len;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

int worker_scripts_exec(const char *dir, char *const *argv, const char *path, void (*beat)(void *),
                        void *arg, int64_t beat_ms)
{
    posix_spawn_file_actions_t fa;
    char line[SCRIPTS_LINE_MAX + 1];
    size_t llen = 0;
    int p[2], status = 0;
    int64_t next = dcmp_clock_mono_ms() + beat_ms;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0) {
        dcmp_log_error("%s: pipe: %s", path, strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    if ((errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) != 0) {
        dcmp_log_error("%s: cannot start %s: %s", path, argv[0], strerror(errno));
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    dcmp_log_info("%s: running", path);
    for (;;) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        int64_t now = dcmp_clock_mono_ms();
        ssize_t n;
        int rc;

        if (beat && now >= next) {
            beat(arg);
            next = now + beat_ms;
        }
        rc = poll(&pfd, 1, (int)(next - now > 0 ? next - now : 0));
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        n = read(p[0], line + llen, SCRIPTS_LINE_MAX - llen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        llen += (size_t)n;
        log_lines(path, line, &llen, 0);
    }
    log_lines(path, line, &llen, 1);
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        dcmp_log_info("%s: done", path);
        return 0;
    }
    dcmp_log_warn("%s: ended with %s %d", path, WIFEXITED(status) ? "status" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

/* The entry of `name`, or NULL. */
static worker_script *find(worker_scripts *s, const char *name)
{
    int i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->seen[i].name, name) == 0)
            return &s->seen[i];
    return NULL;
}

static int same_file(const worker_script *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void worker_scripts_run(worker_scripts *s, const char *modules, void (*beat)(void *), void *arg,
                        int64_t beat_ms)
{
    struct dirent **names = NULL;
    int n, i, k;

    n = scandir(modules, &names, NULL, alphasort);
    if (n < 0) {
        if (!s->warned)
            dcmp_log_warn("MODULES %s: %s", modules, strerror(errno));
        s->warned = 1;
        return;
    }
    s->warned = 0;
    for (i = 0; i < s->n; i++)
        s->seen[i].present = 0;
    for (i = 0; i < n; i++) {
        char dir[PATH_MAX], path[PATH_MAX];
        const char *name = names[i]->d_name;
        worker_script *e;
        struct stat st;

        if (name[0] == '.' || strlen(name) >= sizeof s->seen[0].name ||
            snprintf(dir, sizeof dir, "%s/%s", modules, name) >= (int)sizeof dir ||
            snprintf(path, sizeof path, "%s/script.sh", dir) >= (int)sizeof path ||
            stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(names[i]);
            continue;
        }
        e = find(s, name);
        if (e == NULL && s->n < SCRIPTS_MAX) {
            e = &s->seen[s->n++];
            memset(e, 0, sizeof *e);
            memcpy(e->name, name, strlen(name) + 1);
        } else if (e == NULL) {
            dcmp_log_warn("%s: more than %d services with a script.sh: not run", path, SCRIPTS_MAX);
            free(names[i]);
            continue;
        } else if (same_file(e, &st)) {
            e->present = 1;
            free(names[i]);
            continue;
        } else {
            dcmp_log_info("%s changed: running it again", path);
        }
        e->present = 1;
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        {
            char *argv[] = {"/bin/sh", path, NULL};
            (void)worker_scripts_exec(dir, argv, path, beat, arg, beat_ms);
        }
        free(names[i]);
    }
    free(names);
    /* forget removed services: reinstalled, their script runs again */
    for (i = 0, k = 0; i < s->n; i++)
        if (s->seen[i].present)
            s->seen[k++] = s->seen[i];
    s->n = k;
}
