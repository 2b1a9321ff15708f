/* inputs.c -- what a job's finished dependencies gave, merged into its added_params at start. */
#include "inputs.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(dcmp_inputs_note note, void *arg, int warn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(dcmp_inputs_note note, void *arg, int warn, const char *fmt, ...)
{
    char msg[DCMP_ERR_LEN];
    va_list ap;

    if (note == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    note(arg, warn, msg);
}

/* Printed length of an item, 0 for none; SIZE_MAX when it cannot be printed. */
static size_t printed(const cJSON *item)
{
    char *text;
    size_t n;

    if (item == NULL)
        return 0;
    if ((text = cJSON_PrintUnformatted(item)) == NULL)
        return (size_t)-1;
    n = strlen(text);
    free(text);
    return n;
}

/* Whether v is a path or a list of paths (strings), as `deleted` must be. */
static int paths_ok(const cJSON *v)
{
    const cJSON *it;

    if (cJSON_IsString(v))
        return 1;
    if (!cJSON_IsArray(v))
        return 0;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return 0;
    }
    return 1;
}

/* Checks one dependency's result. Returns 1 when it gives something (*ap, *st and *dl point
 * into res), 0 when it gives nothing, -1 when it is ignored (why set). */
static int usable(const cJSON *res, const cJSON **ap, const cJSON **st, const cJSON **dl, char *why,
                  size_t size)
{
    const size_t max = DCMP_INPUTS_ENTRY_MAX;
    size_t a, b;

    *ap = *st = *dl = NULL;
    if (res == NULL)
        return snprintf(why, size, "is not JSON"), -1;
    if (!cJSON_IsObject(res))
        return 0;
    *ap = cJSON_GetObjectItemCaseSensitive(res, "added_params");
    *st = cJSON_GetObjectItemCaseSensitive(res, "storage");
    *dl = cJSON_GetObjectItemCaseSensitive(res, "deleted");
    if (*ap != NULL && !cJSON_IsObject(*ap))
        return snprintf(why, size, "has an added_params that is not a JSON object"), -1;
    if (*st != NULL && !cJSON_IsArray(*st) && !cJSON_IsObject(*st))
        return snprintf(why, size, "has a storage that is neither a list nor an object"), -1;
    if (*dl != NULL && !paths_ok(*dl))
        return snprintf(why, size, "has a deleted that is neither a path nor a list of paths"), -1;
    if (*ap == NULL && *st == NULL && *dl == NULL)
        return 0;
    a = printed(*ap);
    b = printed(*st);
    if (a <= max && b <= max - a && printed(*dl) <= max - a - b)
        return 1;
    return snprintf(why, size, "has added_params and storage over %d KiB",
                    DCMP_INPUTS_ENTRY_MAX / 1024),
           -1;
}

/* Appends the path or paths of v (strings) to the list to. Returns 0 or -1 (out of memory). */
static int add_paths(cJSON *to, const cJSON *v)
{
    const cJSON *it;
    cJSON *copy;

    if (cJSON_IsString(v)) {
        copy = cJSON_CreateString(v->valuestring);
        if (copy == NULL || !cJSON_AddItemToArray(to, copy)) {
            cJSON_Delete(copy);
            return -1;
        }
        return 0;
    }
    cJSON_ArrayForEach(it, v)
    {
        if (cJSON_IsString(it) && add_paths(to, it) < 0)
            return -1;
    }
    return 0;
}

/* Replaces (or adds) key in obj with a copy of item. Returns 0 or -1 (out of memory). */
static int put_copy(cJSON *obj, const char *key, const cJSON *item)
{
    cJSON *copy = cJSON_Duplicate(item, 1);

    if (copy == NULL)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, copy) ? 0
                                                                      : (cJSON_Delete(copy), -1);
    return cJSON_AddItemToObject(obj, key, copy) ? 0 : (cJSON_Delete(copy), -1);
}

/* added_params[name] as an object to merge into: made, or replacing what is not an object. */
static cJSON *slot(cJSON *added, const char *name)
{
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(added, name), *fresh;

    if (cJSON_IsObject(cur))
        return cur;
    if ((fresh = cJSON_CreateObject()) == NULL)
        return NULL;
    if (cur != NULL ? !cJSON_ReplaceItemInObjectCaseSensitive(added, name, fresh)
                    : !cJSON_AddItemToObject(added, name, fresh)) {
        cJSON_Delete(fresh);
        return NULL;
    }
    return fresh;
}

/* Merges one usable result into added_params[name]: its `deleted` paths are added to those
 * already there (a callback's or the result's added_params'), never replacing them. Returns 0
 * or -1 (out of memory). */
static int merge_one(cJSON *added, const char *name, const cJSON *ap, const cJSON *st,
                     const cJSON *dl)
{
    cJSON *dst = slot(added, name), *paths;
    const cJSON *it;
    int rc;

    if (dst == NULL)
        return -1;
    cJSON_ArrayForEach(it, ap)
    {
        if (put_copy(dst, it->string, it) < 0)
            return -1;
    }
    if (st != NULL && put_copy(dst, "storage", st) < 0)
        return -1;
    if (dl == NULL)
        return 0;
    if ((paths = cJSON_CreateArray()) == NULL)
        return -1;
    rc = add_paths(paths, cJSON_GetObjectItemCaseSensitive(dst, "deleted")) < 0 ||
                 add_paths(paths, dl) < 0
             ? -1
             : put_copy(dst, "deleted", paths);
    cJSON_Delete(paths);
    return rc;
}

int dcmp_inputs_merge(const char *kwargs, const char *inputs, char **out, dcmp_inputs_note note,
                      void *arg, char *err)
{
    cJSON *kw, *list, *added;
    const cJSON *in;
    int merged = 0;

    *out = NULL;
    if (inputs == NULL || inputs[0] == '\0')
        return 0;
    if ((list = cJSON_Parse(inputs)) == NULL || !cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return dcmp_seterr(err, "the dependencies' results the queue gave are not a JSON list");
    }
    if ((kw = cJSON_Parse(kwargs)) == NULL || !cJSON_IsObject(kw)) {
        cJSON_Delete(kw);
        cJSON_Delete(list);
        return dcmp_seterr(err, "job kwargs are not a JSON object");
    }
    added = cJSON_GetObjectItemCaseSensitive(kw, "added_params");
    if (!cJSON_IsObject(added)) {
        cJSON *fresh = cJSON_CreateObject();
        if (fresh == NULL ||
            (added != NULL ? !cJSON_ReplaceItemInObjectCaseSensitive(kw, "added_params", fresh)
                           : !cJSON_AddItemToObject(kw, "added_params", fresh))) {
            cJSON_Delete(fresh);
            goto oom;
        }
        added = fresh;
    }
    cJSON_ArrayForEach(in, list)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "id"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "name"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "result"));
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(in, "size"), *ap, *st, *dl;
        char why[128];
        cJSON *res;
        int ok;

        if (id == NULL || name == NULL || name[0] == '\0')
            continue; /* written by fetch.lua: always both */
        if (text == NULL) {
            say(note, arg, 1,
                "dependency %s (%s): its result of %.0f bytes is over the queue's limits "
                "(1 MiB each, 4 MiB in all): ignored",
                id, name, cJSON_IsNumber(size) ? size->valuedouble : 0.0);
            continue;
        }
        res = cJSON_Parse(text);
        ok = usable(res, &ap, &st, &dl, why, sizeof why);
        if (ok < 0)
            say(note, arg, 1, "dependency %s (%s): its result %s: ignored", id, name, why);
        if (ok > 0 && merge_one(added, name, ap, st, dl) < 0) {
            cJSON_Delete(res);
            goto oom;
        }
        if (ok > 0) {
            say(note, arg, 0,
                "dependency %s (%s): its result's %d added_params key(s)%s%s merged into "
                "added_params[%s]",
                id, name, ap ? cJSON_GetArraySize(ap) : 0, st ? " and storage" : "",
                dl ? " and deleted" : "", name);
            merged = 1;
        }
        cJSON_Delete(res);
    }
    if (merged && (*out = cJSON_PrintUnformatted(kw)) == NULL)
        goto oom;
    cJSON_Delete(kw);
    cJSON_Delete(list);
    return merged;
oom:
    cJSON_Delete(kw);
    cJSON_Delete(list);
    return dcmp_seterr(err, "out of memory merging the dependencies' results");
}
