/* dash.c -- test fixture: a real dcmp-dashboard process on a free loopback port, and HTTP
 * requests to it (libcurl). */
#include "dash.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

long dash_http(dash *d, const char *method, const char *path, const char *const *headers,
               const char *basic, dash_reply *r)
{
    http_request q = {d->port, method, path, headers, NULL, basic, d->source, 30};

    if (strcmp(method, "POST") == 0)
        q.body = "";
    return http_do(&q, r);
}

cJSON *dash_json(dash *d, const char *path, const char *basic, long *status)
{
    dash_reply *r = malloc(sizeof *r);
    cJSON *o = NULL;

    if (r == NULL)
        return NULL;
    *status = dash_http(d, "GET", path, NULL, basic, r);
    if (r->len > 0)
        o = cJSON_Parse(r->body);
    free(r);
    return o;
}

/* Reads the CSRF token from the page's settings. */
static int read_token(dash *d, const char *basic)
{
    dash_reply *r = malloc(sizeof *r);
    const char *p;
    int rc = -1;

    if (r == NULL)
        return -1;
    if (dash_http(d, "GET", "/", NULL, basic, r) == 200 &&
        (p = strstr(r->body, "\"csrf\":\"")) != NULL && sscanf(p + 8, "%127[0-9a-f]", d->csrf) == 1)
        rc = 0;
    free(r);
    return rc;
}

int dash_start(fixture *f, dash *d, const char *const *extra, const char *basic)
{
    const char *bin = getenv("DCMP_DASHBOARD_BIN");
    char port[64], redis[64], *argv[2], *envp[64];
    struct timespec nap = {0, 25 * 1000000L};
    posix_spawn_file_actions_t fa;
    dash_reply *r;
    int n = 0, i, up = 0;

    memset(d, 0, sizeof *d);
    d->pid = -1;
    if (bin == NULL) {
        fprintf(stderr, "dash: DCMP_DASHBOARD_BIN is not set\n");
        return -1;
    }
    d->port = fixture_free_port();
    snprintf(port, sizeof port, "DASHBOARD_PORT=%d", d->port);
    snprintf(redis, sizeof redis, "REDIS_PORT=%d", f->port);
    snprintf(d->log, sizeof d->log, "%s/dashboard-%d.log", f->dir, d->port);
    envp[n++] = port;
    envp[n++] = redis;
    envp[n++] = "REDIS_HOST=127.0.0.1";
    envp[n++] = "DCMP_ENV=";
    for (i = 0; environ[i] && n < 40; i++)
        if (strncmp(environ[i], "ASAN_", 5) == 0 || strncmp(environ[i], "UBSAN_", 6) == 0 ||
            strncmp(environ[i], "LSAN_", 5) == 0 || strncmp(environ[i], "LD_", 3) == 0)
            envp[n++] = environ[i];
    for (i = 0; extra && extra[i] && n < 62; i++)
        envp[n++] = (char *)extra[i];
    envp[n] = NULL;
    argv[0] = (char *)bin;
    argv[1] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, d->log, O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    i = posix_spawn(&d->pid, bin, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (i != 0) {
        fprintf(stderr, "dash: cannot start %s\n", bin);
        d->pid = -1;
        return -1;
    }
    if ((r = malloc(sizeof *r)) == NULL)
        return -1;
    for (i = 0; i < 400 && !up; i++) {
        up = dash_http(d, "GET", "/health", NULL, NULL, r) == 200;
        if (!up)
            nanosleep(&nap, NULL);
    }
    free(r);
    if (!up) {
        fprintf(stderr, "dash: no answer on port %d (log: %s)\n", d->port, d->log);
        return -1;
    }
    if (read_token(d, basic) < 0) {
        fprintf(stderr, "dash: no CSRF token in the page\n");
        return -1;
    }
    return 0;
}

int dash_stop(dash *d)
{
    int status = 0;

    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    waitpid(d->pid, &status, 0);
    d->pid = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "dash: dcmp-dashboard on port %d ended with status %d (log: %s)\n", d->port,
            status, d->log);
    return -1;
}

int dash_log_has(const dash *d, const char *text)
{
    char buf[65536];
    size_t n;
    FILE *fp = fopen(d->log, "r");

    if (fp == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return strstr(buf, text) != NULL;
}
