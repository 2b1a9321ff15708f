/* log.c -- logging to stderr with time, program and level; fatal exits. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_program[64] = "dcmp";
static int log_min = DCMP_INFO;

void dcmp_log_init(const char *program, const char *level)
{
    if (program)
        dcmp_strlcpy(log_program, program, sizeof log_program);
    if (level == NULL || *level == '\0')
        return;
    if (strcasecmp(level, "debug") == 0)
        log_min = DCMP_DEBUG;
    else if (strcasecmp(level, "warn") == 0 || strcasecmp(level, "warning") == 0)
        log_min = DCMP_WARN;
    else if (strcasecmp(level, "error") == 0)
        log_min = DCMP_ERROR_LEVEL;
    else
        log_min = DCMP_INFO;
}

static void log_line(int level, const char *fmt, va_list ap)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char stamp[32], line[4096];
    struct timeval tv;
    struct tm tm;
    int n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%03dZ %s[%d] %s ", stamp, (int)(tv.tv_usec / 1000),
                 log_program, (int)getpid(), names[level]);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    n = (int)strlen(line);
    line[n++] = '\n';
    /* One write per line, so lines of concurrent processes do not interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void dcmp_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level < log_min || level < DCMP_DEBUG || level > DCMP_ERROR_LEVEL)
        return;
    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

void dcmp_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(DCMP_ERROR_LEVEL, fmt, ap);
    va_end(ap);
    exit(1);
}

void *dcmp_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL) {
        dcmp_log_error("out of memory allocating %zu bytes", size);
        abort();
    }
    return p;
}

void *dcmp_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        dcmp_log_error("out of memory allocating %zu x %zu bytes", n, size);
        abort();
    }
    return p;
}

char *dcmp_xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = dcmp_xmalloc(len);

    memcpy(p, s, len);
    return p;
}

int dcmp_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size == 0)
        return -1;
    if (len >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

int dcmp_seterr(char *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err, DCMP_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}
