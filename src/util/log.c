/* log.c -- logging to stderr with time, program and level, one escaped line per message,
 * optionally rate-limited per call site; fatal exits. */
#include "log.h"

#include <pthread.h>
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

#define LOG_LIMIT_SITES 32 /* call sites dcmp_log_limited counts apart */

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

/* Length of the UTF-8 sequence at p (NUL-terminated) when it is valid and printable: 1 for
 * ASCII other than controls and DEL, 2 to 4 for a valid sequence that is not a C1 control
 * (U+0080..U+009F, which some terminals obey); 0 for anything to escape. */
static size_t printable(const unsigned char *p)
{
    size_t k, i;
    unsigned cp;

    if (p[0] < 0x80)
        return p[0] >= 0x20 && p[0] != 0x7f;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        k = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        k = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        k = 4, cp = p[0] & 0x07u;
    else
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < 0xa0 || (k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

/* Copies msg into out[size] with every control character (newlines and terminal escape codes
 * included) and every byte that is not valid UTF-8 written as \xNN: a message made from
 * request data stays one line and cannot drive the terminal. Cut to fit. */
static void escape_into(char *out, size_t size, const char *msg)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)msg;
    size_t o = 0, k;

    while (*p) {
        if ((k = printable(p)) > 0) {
            if (o + k >= size)
                break;
            memcpy(out + o, p, k);
            o += k;
            p += k;
            continue;
        }
        if (o + 4 >= size)
            break;
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[*p >> 4];
        out[o++] = hex[*p & 15];
        p++;
    }
    out[o] = '\0';
}

static void log_line(int level, const char *fmt, va_list ap)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char stamp[32], msg[2048], line[4096];
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
    vsnprintf(msg, sizeof msg, fmt, ap);
    escape_into(line + n, sizeof line - (size_t)n - 1, msg);
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

/* One call site's budget for the current second (dcmp_log_limited). */
typedef struct site {
    const char *fmt; /* the call site, by its format string; NULL: free */
    time_t second;   /* the second counted */
    long lines;      /* lines printed in it */
    long dropped;    /* lines not printed since the last report */
} site;

static site sites[LOG_LIMIT_SITES];
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;

/* Prints a line through log_line with arguments given here. */
static void log_args(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

void dcmp_log_limited(int level, const char *fmt, ...)
{
    struct timespec now;
    long dropped = 0;
    site *s = NULL;
    va_list ap;
    int i, ok;

    if (level < log_min || level < DCMP_DEBUG || level > DCMP_ERROR_LEVEL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&sites_lock);
    for (i = 0; i < LOG_LIMIT_SITES && s == NULL; i++)
        if (sites[i].fmt == fmt || sites[i].fmt == NULL)
            s = &sites[i];
    if (s == NULL) /* more call sites than slots: they share the last one */
        s = &sites[LOG_LIMIT_SITES - 1];
    if (s->fmt != fmt || s->second != now.tv_sec) {
        dropped = s->dropped;
        s->fmt = fmt;
        s->second = now.tv_sec;
        s->lines = 0;
        s->dropped = 0;
    }
    ok = s->lines++ < DCMP_LOG_LIMIT;
    if (!ok)
        s->dropped++;
    pthread_mutex_unlock(&sites_lock);
    if (dropped > 0)
        log_args(DCMP_WARN, "%ld more line(s) like \"%s\" not logged (over %d a second)", dropped,
                 fmt, DCMP_LOG_LIMIT);
    if (!ok)
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
