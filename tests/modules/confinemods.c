/* confinemods.c -- service functions that try to escape their job: a grandchild that leaves its
 * session, a look at the environment, a 4 GiB allocation, CPU time burnt. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dcmp/service.h"

extern char **environ;

/* Reads the string after "key":" in a flat JSON text into out; dflt when absent. */
static void json_string(const char *json, const char *key, const char *dflt, char *out, size_t size)
{
    char pat[64];
    const char *p;
    size_t n;

    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if (json == NULL || (p = strstr(json, pat)) == NULL) {
        snprintf(out, size, "%s", dflt);
        return;
    }
    p += strlen(pat);
    n = strcspn(p, "\"");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* Starts `setsid sleep 1000` as a grandchild (its parent ends at once, so it is an orphan in
 * a session of its own), writes its pid to DATA/<params.file>, then hangs, or crashes 2 s
 * later when params.then is "crash". */
static int32_t orphan(const dcmp_call *call)
{
    char file[256], path[4096], line[32], then[16];
    int fds[2], fd;
    pid_t child, grandchild = 0;

    json_string(call->params, "file", "orphan.pid", file, sizeof file);
    if (pipe(fds) < 0 || (child = fork()) < 0) {
        call->host->set_error(call, "cannot fork");
        return DCMP_ERROR;
    }
    if (child == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(fds[0]);
            close(fds[1]);
            setsid();
            execlp("sleep", "sleep", "1000", (char *)NULL);
            _exit(127);
        }
        if (write(fds[1], &g, sizeof g) != (ssize_t)sizeof g)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &grandchild, sizeof grandchild) != (ssize_t)sizeof grandchild) {
        call->host->set_error(call, "no grandchild");
        return DCMP_ERROR;
    }
    close(fds[0]);
    waitpid(child, NULL, 0);
    snprintf(path, sizeof path, "%s/%s", call->data_dir, file);
    snprintf(line, sizeof line, "%ld\n", (long)grandchild);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, line, strlen(line)) < 0) {
        call->host->set_error(call, "cannot write the pid file");
        return DCMP_ERROR;
    }
    close(fd);
    json_string(call->params, "then", "hang", then, sizeof then);
    call->host->log(call, DCMP_LOG_INFO, "grandchild %ld started; %s", (long)grandchild, then);
    if (strcmp(then, "crash") == 0) {
        sleep(2); /* the test sees the grandchild alive first */
        raise(SIGSEGV);
    }
    for (;;)
        pause();
}

/* Logs the names of every variable of its environment, blank separated, and the value of
 * params.show. */
static int32_t env(const dcmp_call *call)
{
    char show[128];
    const char *v;
    int i;

    for (i = 0; environ[i]; i++)
        printf("%.*s ", (int)strcspn(environ[i], "="), environ[i]);
    json_string(call->params, "show", "", show, sizeof show);
    v = show[0] ? getenv(show) : NULL;
    printf("\n%s=%s\n", show, v ? v : "(unset)");
    fflush(stdout);
    return DCMP_OK;
}

/* CPU time this process used, in ms. */
static long cpu_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Burns params.ms milliseconds of CPU time (params.ms "0" or absent: without end). */
static int32_t spin(const dcmp_call *call)
{
    char ms_text[32];
    long ms, until;
    volatile unsigned long x = 0;
    int i;

    json_string(call->params, "ms", "0", ms_text, sizeof ms_text);
    ms = strtol(ms_text, NULL, 10);
    until = cpu_ms() + ms;
    for (;;) {
        for (i = 0; i < 100000; i++)
            x += (unsigned long)i;
        if (ms > 0 && cpu_ms() >= until)
            return DCMP_OK;
    }
}

/* Touches 4 GiB as careless code would: no check of what malloc returned. */
static int32_t hog(const dcmp_call *call)
{
    size_t size = (size_t)4 << 30, i;
    volatile char *p = malloc(size);

    call->host->log(call, DCMP_LOG_INFO, "allocated 4 GiB at %p", (void *)p);
    for (i = 0; i < size; i += 4096)
        p[i] = 1;
    return DCMP_OK;
}

DCMP_MODULE("confinemods", "1.0.0", DCMP_FUNCTION(orphan), DCMP_FUNCTION(env), DCMP_FUNCTION(hog),
            DCMP_FUNCTION(spin));
