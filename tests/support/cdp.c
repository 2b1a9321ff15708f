/* cdp.c -- test fixture: a headless Chromium driven over the DevTools protocol through
 * --remote-debugging-pipe (JSON messages ending in NUL on fds 3 and 4): no WebSocket, no
 * download, Debian's chromium package only. */
#include "cdp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(cdp *b, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(b->to, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Takes the next complete message out of the buffer (new), or NULL when none is whole. */
static char *take_message(cdp *b)
{
    char *nul = b->len ? memchr(b->buf, '\0', b->len) : NULL, *msg;
    size_t n;

    if (nul == NULL)
        return NULL;
    n = (size_t)(nul - b->buf);
    if ((msg = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(msg, b->buf, n + 1);
    memmove(b->buf, nul + 1, b->len - n - 1);
    b->len -= n + 1;
    return msg;
}

/* Reads what the browser wrote, waiting up to ms. Returns 0, or -1 when it closed the pipe
 * or sent more than CDP_MAX_MESSAGE without a message end. */
static int fill(cdp *b, int ms)
{
    struct pollfd p = {b->from, POLLIN, 0};
    ssize_t n;

    if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0)
        return 0;
    if (b->cap - b->len < 65536) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 20;
        char *nb;
        if (cap > CDP_MAX_MESSAGE || (nb = realloc(b->buf, cap)) == NULL)
            return -1;
        b->buf = nb;
        b->cap = cap;
    }
    n = read(b->from, b->buf + b->len, b->cap - b->len);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 0 : -1;
    b->len += (size_t)n;
    return 0;
}

/* Sends a command to the page without waiting for its answer (from inside an event). */
static void post(cdp *b, const char *method, const char *params)
{
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "{\"id\":%d,\"sessionId\":\"%s\",\"method\":\"%s\",\"params\":%s}",
                     ++b->next_id, b->session, method, params);

    if (n > 0 && (size_t)n < sizeof text)
        send_all(b, text, (size_t)n + 1);
}

/* Events: keeps the text of an exception the page threw; lets requests paused by the Fetch
 * domain go on, and answers login prompts (cdp_login). */
static void on_event(cdp *b, const cJSON *msg)
{
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "method"));
    const cJSON *params = cJSON_GetObjectItem(msg, "params"), *d, *ex;
    const char *text = NULL, *req = cJSON_GetStringValue(cJSON_GetObjectItem(params, "requestId"));
    char answer[1024];
    size_t used = strlen(b->errors);

    if (method == NULL)
        return;
    if (strcmp(method, "Fetch.requestPaused") == 0 && req) {
        snprintf(answer, sizeof answer, "{\"requestId\":\"%s\"}", req);
        post(b, "Fetch.continueRequest", answer);
    } else if (strcmp(method, "Fetch.authRequired") == 0 && req) {
        if (b->login_tries > 0) {
            cJSON *o = cJSON_CreateObject(),
                  *r = cJSON_AddObjectToObject(o, "authChallengeResponse");
            char *t;
            b->login_tries--;
            cJSON_AddStringToObject(o, "requestId", req);
            cJSON_AddStringToObject(r, "response", "ProvideCredentials");
            cJSON_AddStringToObject(r, "username", b->user);
            cJSON_AddStringToObject(r, "password", b->pass);
            if ((t = cJSON_PrintUnformatted(o)) != NULL)
                post(b, "Fetch.continueWithAuth", t);
            free(t);
            cJSON_Delete(o);
        } else {
            snprintf(answer, sizeof answer,
                     "{\"requestId\":\"%s\",\"authChallengeResponse\":{\"response\":"
                     "\"CancelAuth\"}}",
                     req);
            post(b, "Fetch.continueWithAuth", answer);
        }
    } else if (strcmp(method, "Runtime.exceptionThrown") == 0) {
        d = cJSON_GetObjectItem(params, "exceptionDetails");
        ex = cJSON_GetObjectItem(d, "exception");
        text = cJSON_GetStringValue(cJSON_GetObjectItem(ex, "description"));
        if (text == NULL)
            text = cJSON_GetStringValue(cJSON_GetObjectItem(d, "text"));
        snprintf(b->errors + used, sizeof b->errors - used, "%s\n", text ? text : "(exception)");
    }
}

cJSON *cdp_call(cdp *b, const char *method, const char *params, int browser, int timeout_ms)
{
    char head[512];
    char *text;
    size_t len;
    long long deadline = now_ms() + timeout_ms;
    int id = ++b->next_id, n;

    n = snprintf(head, sizeof head, "{\"id\":%d,\"method\":\"%s\",%s%s%s\"params\":", id, method,
                 browser ? "" : "\"sessionId\":\"", browser ? "" : b->session,
                 browser ? "" : "\",");
    len = (size_t)n + strlen(params ? params : "{}") + 2;
    if ((text = malloc(len + 1)) == NULL)
        return NULL;
    snprintf(text, len + 1, "%s%s}", head, params ? params : "{}");
    if (send_all(b, text, strlen(text) + 1) < 0) { /* the NUL ends the message */
        free(text);
        fprintf(stderr, "cdp: %s: cannot write to the browser\n", method);
        return NULL;
    }
    free(text);
    for (;;) {
        char *m;
        while ((m = take_message(b)) != NULL) {
            cJSON *msg = cJSON_Parse(m), *res;
            free(m);
            if (msg == NULL)
                continue;
            if (cJSON_GetNumberValue(cJSON_GetObjectItem(msg, "id")) == id) {
                const cJSON *err = cJSON_GetObjectItem(msg, "error");
                if (err) {
                    char *e = cJSON_PrintUnformatted(err);
                    fprintf(stderr, "cdp: %s: %s\n", method, e ? e : "error");
                    free(e);
                    cJSON_Delete(msg);
                    return NULL;
                }
                res = cJSON_DetachItemFromObject(msg, "result");
                cJSON_Delete(msg);
                return res ? res : cJSON_CreateObject();
            }
            on_event(b, msg);
            cJSON_Delete(msg);
        }
        if (now_ms() >= deadline) {
            fprintf(stderr, "cdp: %s: no answer in %d ms\n", method, timeout_ms);
            return NULL;
        }
        if (fill(b, (int)(deadline - now_ms())) < 0) {
            fprintf(stderr, "cdp: %s: the browser closed the pipe\n", method);
            return NULL;
        }
    }
}

/* A JSON string literal of s (new). */
static char *quoted(const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    char *t = v ? cJSON_PrintUnformatted(v) : NULL;

    cJSON_Delete(v);
    return t;
}

cJSON *cdp_eval(cdp *b, const char *expr, int timeout_ms)
{
    char *q = quoted(expr), *params;
    cJSON *res, *val, *ex;
    size_t len;

    if (q == NULL)
        return NULL;
    len = strlen(q) + 128;
    if ((params = malloc(len)) == NULL) {
        free(q);
        return NULL;
    }
    snprintf(params, len, "{\"expression\":%s,\"awaitPromise\":true,\"returnByValue\":true}", q);
    free(q);
    res = cdp_call(b, "Runtime.evaluate", params, 0, timeout_ms);
    free(params);
    if (res == NULL)
        return NULL;
    if ((ex = cJSON_GetObjectItem(res, "exceptionDetails")) != NULL) {
        const char *d = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "exception"), "description"));
        fprintf(stderr, "cdp: %s: threw %s\n", expr, d ? d : "an exception");
        cJSON_Delete(res);
        return NULL;
    }
    val = cJSON_DetachItemFromObject(cJSON_GetObjectItem(res, "result"), "value");
    cJSON_Delete(res);
    return val ? val : cJSON_CreateNull();
}

int cdp_true(cdp *b, const char *expr)
{
    cJSON *v = cdp_eval(b, expr, 10000);
    int yes = cJSON_IsTrue(v);

    cJSON_Delete(v);
    return yes;
}

int cdp_wait(cdp *b, const char *expr, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    struct timespec nap = {0, 100 * 1000000L};

    do {
        cJSON *v = cdp_eval(b, expr, 10000);
        int yes = cJSON_IsTrue(v);
        cJSON_Delete(v);
        if (yes)
            return 0;
        nanosleep(&nap, NULL);
    } while (now_ms() < deadline);
    fprintf(stderr, "cdp: waited %d ms for: %s\n", timeout_ms, expr);
    return -1;
}

int cdp_navigate(cdp *b, const char *url)
{
    char *q = quoted(url), params[4096], cond[4200];
    cJSON *r;

    if (q == NULL)
        return -1;
    snprintf(params, sizeof params, "{\"url\":%s}", q);
    r = cdp_call(b, "Page.navigate", params, 0, 30000);
    if (r == NULL) {
        free(q);
        return -1;
    }
    cJSON_Delete(r);
    snprintf(cond, sizeof cond, "document.readyState === 'complete' && location.href === %s", q);
    free(q);
    return cdp_wait(b, cond, 30000);
}

int cdp_login(cdp *b, const char *user, const char *pass, int tries)
{
    cJSON *r;

    snprintf(b->user, sizeof b->user, "%s", user);
    snprintf(b->pass, sizeof b->pass, "%s", pass);
    b->login_tries = tries;
    r = cdp_call(b, "Fetch.enable",
                 "{\"handleAuthRequests\":true,\"patterns\":[{\"urlPattern\":\"*\"}]}", 0, 10000);
    cJSON_Delete(r);
    return r ? 0 : -1;
}

int cdp_headers(cdp *b, const char *headers_json)
{
    char params[2048];
    cJSON *r;

    snprintf(params, sizeof params, "{\"headers\":%s}", headers_json);
    r = cdp_call(b, "Network.setExtraHTTPHeaders", params, 0, 10000);
    cJSON_Delete(r);
    return r ? 0 : -1;
}

static int b64(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int metrics(cdp *b, int height)
{
    char params[256];
    cJSON *r;

    snprintf(params, sizeof params,
             "{\"width\":%d,\"height\":%d,\"deviceScaleFactor\":1,\"mobile\":false}", b->width,
             height);
    r = cdp_call(b, "Emulation.setDeviceMetricsOverride", params, 0, 10000);
    cJSON_Delete(r);
    return r ? 0 : -1;
}

int cdp_screenshot(cdp *b, const char *path)
{
    cJSON *v = cdp_eval(b,
                        "Math.max(document.documentElement.scrollHeight, "
                        "document.body ? document.body.scrollHeight : 0)",
                        10000),
          *r = NULL;
    const char *data;
    unsigned char *png = NULL;
    size_t n = 0, i;
    unsigned acc = 0;
    int bits = 0, height = v && cJSON_IsNumber(v) ? (int)v->valuedouble : b->height, rc = -1, c;
    FILE *fp;

    cJSON_Delete(v);
    if (height < b->height)
        height = b->height;
    if (height > 4000)
        height = 4000;
    if (metrics(b, height) < 0)
        return -1;
    /* two frames, so the new size is laid out and painted */
    cJSON_Delete(cdp_eval(b,
                          "new Promise(r => requestAnimationFrame(() => "
                          "requestAnimationFrame(() => r(true))))",
                          10000));
    r = cdp_call(b, "Page.captureScreenshot", "{\"format\":\"png\"}", 0, 30000);
    metrics(b, b->height);
    data = cJSON_GetStringValue(cJSON_GetObjectItem(r, "data"));
    if (data == NULL || (png = malloc(strlen(data))) == NULL)
        goto out;
    for (i = 0; data[i] && data[i] != '='; i++) {
        if ((c = b64((unsigned char)data[i])) < 0)
            goto out;
        acc = (acc << 6) | (unsigned)c;
        if ((bits += 6) >= 8) {
            bits -= 8;
            png[n++] = (unsigned char)(acc >> bits);
        }
    }
    if ((fp = fopen(path, "wb")) == NULL) {
        fprintf(stderr, "cdp: %s: %s\n", path, strerror(errno));
        goto out;
    }
    rc = fwrite(png, 1, n, fp) == n ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
out:
    free(png);
    cJSON_Delete(r);
    return rc;
}

/* The browser's end of a pipe moved to an fd above 9, so that the dup2s onto 3 and 4 in the
 * child cannot overwrite one another. */
static int high(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);

    close(fd);
    return h;
}

int cdp_start(cdp *b, const char *dir, int width, int height)
{
    const char *bin = getenv("DCMP_CHROMIUM") ? getenv("DCMP_CHROMIUM") : "/usr/bin/chromium";
    char profile[PATH_MAX + 64], log[PATH_MAX + 64], size[64], *argv[16];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int in[2], out[2], n = 0, rc;
    cJSON *r;

    memset(b, 0, sizeof *b);
    b->pid = -1;
    b->width = width;
    b->height = height;
    snprintf(b->dir, sizeof b->dir, "%s/chromium", dir);
    snprintf(profile, sizeof profile, "--user-data-dir=%s", b->dir);
    snprintf(log, sizeof log, "%s/chromium.log", dir);
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    if (mkdir(b->dir, 0700) < 0 && errno != EEXIST)
        return -1;
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "cdp: %s: not found (apt-get install chromium)\n", bin);
        return -1;
    }
    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    /* in: we write, it reads on fd 3; out: it writes on fd 4, we read */
    in[0] = high(in[0]);
    out[1] = high(out[1]);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    argv[n++] = (char *)bin;
    argv[n++] = "--headless";
    argv[n++] = "--no-sandbox"; /* as root in CI */
    argv[n++] = "--disable-gpu";
    argv[n++] = "--disable-background-networking";
    argv[n++] = "--disable-component-update";
    argv[n++] = "--disable-sync";
    argv[n++] = "--no-first-run";
    argv[n++] = "--disable-dev-shm-usage";
    argv[n++] = "--hide-scrollbars";
    argv[n++] = "--remote-debugging-pipe";
    argv[n++] = profile;
    argv[n++] = size;
    argv[n++] = "about:blank";
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 3);
    posix_spawn_file_actions_adddup2(&fa, out[1], 4);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_init(&attr);
    /* its own process group: the browser's helpers (zygote, renderer) end with it */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    rc = posix_spawn(&b->pid, bin, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    b->to = in[1];
    b->from = out[0];
    if (rc != 0) {
        fprintf(stderr, "cdp: cannot start %s: %s\n", bin, strerror(rc));
        b->pid = -1;
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    r = cdp_call(b, "Target.createTarget", "{\"url\":\"about:blank\"}", 1, 60000);
    if (r == NULL)
        return -1;
    {
        char params[256];
        const char *target = cJSON_GetStringValue(cJSON_GetObjectItem(r, "targetId"));
        snprintf(params, sizeof params, "{\"targetId\":\"%s\",\"flatten\":true}",
                 target ? target : "");
        cJSON_Delete(r);
        r = cdp_call(b, "Target.attachToTarget", params, 1, 30000);
    }
    if (r == NULL || cJSON_GetStringValue(cJSON_GetObjectItem(r, "sessionId")) == NULL) {
        cJSON_Delete(r);
        return -1;
    }
    snprintf(b->session, sizeof b->session, "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(r, "sessionId")));
    cJSON_Delete(r);
    if ((r = cdp_call(b, "Page.enable", NULL, 0, 30000)) == NULL)
        return -1;
    cJSON_Delete(r);
    if ((r = cdp_call(b, "Runtime.enable", NULL, 0, 30000)) == NULL)
        return -1;
    cJSON_Delete(r);
    if ((r = cdp_call(b, "Network.enable", NULL, 0, 30000)) == NULL)
        return -1;
    cJSON_Delete(r);
    return metrics(b, height);
}

void cdp_stop(cdp *b)
{
    struct timespec nap = {0, 50 * 1000000L};
    int status, i;

    if (b->pid > 0) {
        cJSON_Delete(cdp_call(b, "Browser.close", NULL, 1, 5000));
        for (i = 0; i < 100 && waitpid(b->pid, &status, WNOHANG) == 0; i++)
            nanosleep(&nap, NULL);
        if (i == 100) {
            kill(-b->pid, SIGKILL);
            waitpid(b->pid, &status, 0);
        } else {
            kill(-b->pid, SIGKILL); /* helpers left in its group, if any */
        }
    }
    if (b->to > 0)
        close(b->to);
    if (b->from > 0)
        close(b->from);
    free(b->buf);
    b->buf = NULL;
    b->pid = -1;
}
