/* venv.c -- a Python service's virtual environment: where it lives, whether it is current. */
#include "venv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

int dcmp_venv_of(const char *modules, const char *name, char venv[PATH_MAX], char *err)
{
    char req[PATH_MAX];
    size_t len = strcspn(name, ".");
    int n;

    venv[0] = '\0';
    /* a folder name under MODULES, never a path: [A-Za-z0-9_-]+ as every part of a name */
    if (len == 0 || strspn(name, NAME_CHARS) < len)
        return dcmp_seterr(err,
                           "\"%.200s\": its first part is not a service name "
                           "([A-Za-z0-9_-]+)",
                           name);
    n = snprintf(req, sizeof req, "%s/%.*s/requirements.txt", modules, (int)len, name);
    if (n < 0 || (size_t)n >= sizeof req)
        return dcmp_seterr(err, "%s: the path of its requirements.txt is too long", name);
    if (access(req, F_OK) != 0)
        return 0;
    n = snprintf(venv, PATH_MAX, "%s/" DCMP_VENV_DIR "/%.*s", modules, (int)len, name);
    if (n < 0 || n >= PATH_MAX) {
        venv[0] = '\0';
        return dcmp_seterr(err, "%s: the path of its virtual environment is too long", name);
    }
    return 1;
}

/* The bytes of path (at most DCMP_VENV_REQ_MAX), new; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;

    if (fp == NULL)
        return NULL;
    if ((buf = malloc(DCMP_VENV_REQ_MAX + 1)) != NULL) {
        *len = fread(buf, 1, DCMP_VENV_REQ_MAX + 1, fp);
        if (ferror(fp) || *len > DCMP_VENV_REQ_MAX) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(fp);
    return buf;
}

int dcmp_venv_current(const char *modules, const char *name)
{
    char venv[PATH_MAX], req[PATH_MAX], path[PATH_MAX], err[DCMP_ERR_LEN], *a, *b;
    size_t alen = 0, blen = 0;
    int same;

    if (dcmp_venv_of(modules, name, venv, err) != 1 ||
        snprintf(req, sizeof req, "%s/%s/requirements.txt", modules, name) >= (int)sizeof req ||
        snprintf(path, sizeof path, "%s/pyvenv.cfg", venv) >= (int)sizeof path ||
        access(path, R_OK) != 0 ||
        snprintf(path, sizeof path, "%s/bin/python3", venv) >= (int)sizeof path ||
        access(path, X_OK) != 0 || /* follows the link: its interpreter is there */
        snprintf(path, sizeof path, "%s/" DCMP_VENV_MADE_FROM, venv) >= (int)sizeof path)
        return 0;
    a = slurp(req, &alen);
    b = slurp(path, &blen);
    same = a && b && alen == blen && memcmp(a, b, alen) == 0;
    free(a);
    free(b);
    return same;
}
