/* resolve.c -- dotted service names ("base.storageManager.worker") to library paths. */
#include "resolve.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int part_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int dcmp_resolve_name(const char *root, const char *dotted, dcmp_resolved *out, char *err)
{
    char dir[PATH_MAX];
    const char *last_dot, *p, *prev, *leaf;
    size_t dlen, rlen, leaf_len;
    int n, i;

    memset(out, 0, sizeof *out);
    if (dotted == NULL || *dotted == '\0')
        return dcmp_seterr(err, "empty function name");
    dlen = strlen(dotted);
    if (dlen > DCMP_DOTTED_MAX)
        return dcmp_seterr(err, "function name \"%.40s...\" is longer than %d characters", dotted,
                           DCMP_DOTTED_MAX);
    last_dot = strrchr(dotted, '.');
    if (last_dot == NULL)
        return dcmp_seterr(err, "function name \"%s\" has no module part: expected module.function",
                           dotted);
    for (prev = dotted;; prev = p + 1) {
        p = strchr(prev, '.');
        size_t len = p ? (size_t)(p - prev) : strlen(prev);
        if (!part_ok(prev, len))
            return dcmp_seterr(err,
                               "function name \"%s\": part \"%.*s\" must be letters, digits, _ or "
                               "- and not empty",
                               dotted, (int)len, prev);
        if (p == NULL)
            break;
    }
    if (strlen(last_dot + 1) >= sizeof out->function)
        return dcmp_seterr(err, "function name \"%s\": function part too long", dotted);
    memcpy(out->function, last_dot + 1, strlen(last_dot + 1) + 1); /* length checked above */

    /* dir = root + "/" + "a/b" (dots of the module part become slashes) */
    rlen = strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    if (rlen + 1 + (size_t)(last_dot - dotted) + 1 > sizeof dir)
        return dcmp_seterr(err, "path for \"%s\" under %s is too long", dotted, root);
    memcpy(dir, root, rlen);
    dir[rlen] = '/';
    for (i = 0; dotted + i < last_dot; i++)
        dir[rlen + 1 + (size_t)i] = dotted[i] == '.' ? '/' : dotted[i];
    dir[rlen + 1 + (size_t)i] = '\0';

    leaf = strrchr(dir, '/') + 1;
    leaf_len = strlen(leaf);
    n = snprintf(out->paths[0], PATH_MAX, "%s.so", dir);
    if (n < 0 || n >= PATH_MAX)
        return dcmp_seterr(err, "path for \"%s\" under %s is too long", dotted, root);
    n = snprintf(out->paths[1], PATH_MAX, "%s/%.*s.so", dir, (int)leaf_len, leaf);
    if (n < 0 || n >= PATH_MAX)
        return dcmp_seterr(err, "path for \"%s\" under %s is too long", dotted, root);
    n = snprintf(out->paths[2], PATH_MAX, "%s/lib%.*s.so", dir, (int)leaf_len, leaf);
    if (n < 0 || n >= PATH_MAX)
        return dcmp_seterr(err, "path for \"%s\" under %s is too long", dotted, root);
    return 0;
}

int dcmp_resolve_find_stat(const dcmp_resolved *r, const char *dotted, struct stat *st, char *err)
{
    int i;

    for (i = 0; i < DCMP_RESOLVE_CANDIDATES; i++)
        if (stat(r->paths[i], st) == 0 && S_ISREG(st->st_mode))
            return i;
    return dcmp_resolve_missing(r, dotted, err);
}

int dcmp_resolve_missing(const dcmp_resolved *r, const char *dotted, char *err)
{
    return dcmp_seterr(err, "cannot find the library of \"%s\": tried %s, %s, %s", dotted,
                       r->paths[0], r->paths[1], r->paths[2]);
}

int dcmp_resolve_find(const dcmp_resolved *r, const char *dotted, char *err)
{
    struct stat st;

    return dcmp_resolve_find_stat(r, dotted, &st, err);
}
