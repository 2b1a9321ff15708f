/* svc.c -- helpers the shipped services share: paths inside DATA, trees, JSON, their folder. */
#include "svc.h"

#include "holdmark.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* True when path is root or under it (both canonical). */
static int inside(const char *root, const char *path)
{
    size_t n = strlen(root);

    if (strcmp(root, "/") == 0)
        return 1;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int svc_data_path(const char *data_dir, const char *rel, int must_exist, char out[PATH_MAX],
                  char err[SVC_ERR_LEN])
{
    char root[PATH_MAX], real[PATH_MAX], probe[PATH_MAX];
    const char *p;
    int n;

    if (rel == NULL || rel[0] == '\0')
        return snprintf(err, SVC_ERR_LEN, "an empty path"), -1;
    if (rel[0] == '/')
        return snprintf(err, SVC_ERR_LEN, "%s: an absolute path (paths are relative to DATA)", rel),
               -1;
    for (p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return snprintf(err, SVC_ERR_LEN, "%s: \"..\" is not allowed", rel), -1;
        p += len;
        while (*p == '/')
            p++;
    }
    if (realpath(data_dir, root) == NULL)
        return snprintf(err, SVC_ERR_LEN, "DATA %s: %s", data_dir, strerror(errno)), -1;
    n = snprintf(out, PATH_MAX, "%s/%s", root, rel);
    if (n < 0 || n >= PATH_MAX)
        return snprintf(err, SVC_ERR_LEN, "%.100s...: path too long", rel), -1;
    /* trailing slashes off */
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    /* The deepest existing part must resolve inside DATA (a symbolic link may not lead out). */
    memcpy(probe, out, (size_t)n + 1);
    for (;;) {
        struct stat st;
        char *slash;
        if (lstat(probe, &st) == 0) {
            if (realpath(probe, real) == NULL)
                return snprintf(err, SVC_ERR_LEN, "%s: %s", rel, strerror(errno)), -1;
            if (!inside(root, real))
                return snprintf(err, SVC_ERR_LEN, "%s: leads outside DATA (to %s)", rel, real), -1;
            /* "." or "a/.." would name DATA itself: never a thing to write or remove */
            if (strcmp(real, root) == 0 && strcmp(probe, out) == 0)
                return snprintf(err, SVC_ERR_LEN, "%s: is DATA itself", rel), -1;
            break;
        }
        if (must_exist && strcmp(probe, out) == 0)
            return snprintf(err, SVC_ERR_LEN, "%s: %s", rel, strerror(errno)), -1;
        if ((slash = strrchr(probe, '/')) == NULL || slash == probe)
            break;
        *slash = '\0';
    }
    return 0;
}

int svc_held(const char *data_dir, const char *path)
{
    char root[PATH_MAX], parent[PATH_MAX], rel[PATH_MAX], probe[2 * PATH_MAX + 16];
    const char *base = strrchr(path, '/');
    struct stat st;
    size_t n, i;

    if (base == NULL || realpath(data_dir, root) == NULL || strcmp(root, "/") == 0)
        return 1;
    n = (size_t)(base - path);
    if (n >= sizeof parent)
        return 1;
    memcpy(parent, path, n);
    parent[n] = '\0';
    if (realpath(n ? parent : "/", probe) == NULL || !inside(root, probe))
        return 1;
    n = strlen(root);
    /* the path from DATA: the resolved parent's part below DATA, then the last part */
    if (snprintf(rel, sizeof rel, "%s%s%s", probe[n] ? probe + n + 1 : "", probe[n] ? "/" : "",
                 base + 1) >= (int)sizeof rel)
        return 1;
    if (strcmp(rel, ".holds") == 0 || strncmp(rel, ".holds/", 7) == 0)
        return 1;
    /* each leading part of rel, rel itself last: a folder marked held */
    for (i = 0;; i++) {
        if (rel[i] == '/' || rel[i] == '\0') {
            snprintf(probe, sizeof probe, "%s/.holds/%.*s", root, (int)i, rel);
            if (dcmp_holdmark_any(probe)) {
                /* to be removed when released: DATA/.holds/<folder>/@deleted, a line each */
                int fd, ok;
                snprintf(probe, sizeof probe, "%s/.holds/%.*s/@deleted", root, (int)i, rel);
                fd = open(probe, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                    return 1;
                n = strlen(rel);
                rel[n] = '\n';
                ok = write(fd, rel, n + 1) == (ssize_t)(n + 1);
                close(fd);
                return ok ? 2 : 1;
            }
        }
        if (rel[i] == '\0')
            break;
    }
    /* a folder with a held folder under it */
    snprintf(probe, sizeof probe, "%s/.holds/%s", root, rel);
    return lstat(probe, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *rm_err;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT) {
        snprintf(rm_err, SVC_ERR_LEN, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int svc_rmtree(const char *path, char err[SVC_ERR_LEN])
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0
                               : (snprintf(err, SVC_ERR_LEN, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0)
            return snprintf(err, SVC_ERR_LEN, "cannot remove %s: %s", path, strerror(errno)), -1;
        return 0;
    }
    rm_err = err;
    return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int svc_mkdirs(const char *path, char err[SVC_ERR_LEN])
{
    char tmp[PATH_MAX];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof tmp)
        return snprintf(err, SVC_ERR_LEN, "bad folder path"), -1;
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return snprintf(err, SVC_ERR_LEN, "cannot create %s: %s", tmp, strerror(errno)), -1;
            tmp[i] = c;
        }
    }
    return 0;
}

int svc_library_dir(const void *addr, char out[PATH_MAX])
{
    Dl_info info;
    char *slash;

    if (dladdr(addr, &info) == 0 || info.dli_fname == NULL || realpath(info.dli_fname, out) == NULL)
        return -1;
    if ((slash = strrchr(out, '/')) != NULL)
        *slash = '\0';
    return 0;
}

const char *svc_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int32_t svc_fail(const dcmp_call *call, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    call->host->log(call, DCMP_LOG_ERROR, "%s", msg);
    call->host->set_error(call, msg);
    return DCMP_ERROR;
}
