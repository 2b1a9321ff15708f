/* plan.c -- the planner: from settings entries, an event's data and callback answers to a job
 * graph, with the original dcm-processor's semantics (docs/planning.md). Pure: no I/O. */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "jsonw.h"
#include "spec.h"
#include "trigger.h"

#define PLAN_MAX_ENTRIES 1024
#define SOURCE_LEN       (PATH_MAX + 64)
#define REASON_LEN       (SOURCE_LEN + DCMP_ERR_LEN + 64)

enum { E_VALID, E_INVALID, E_DISABLED, E_DUPLICATE, E_OTHER_LEVEL, E_NOT_DUE };
enum { A_NONE, A_RUN, A_SKIP, A_ERROR };

typedef struct entry {
    const cJSON *obj;
    const char *name, *worker, *callback, *queue;
    const cJSON *params;
    const cJSON *container; /* a valid `container` object given instead of worker, or NULL */
    const char *deps[DCMP_DEPS_MAX];
    int ndeps;
    int64_t timeout, retry_max, retry_interval;
    double sort;
    int group, seq; /* seq: position in collection order (stable sorting) */
    int level;      /* DCMP_LEVEL_*: its trigger */
    int state, answer, kept, dropped;
    int cycle; /* 1 + the number of its dependsOn cycle, else 0 */
    int job;
    char source[SOURCE_LEN];
    char reason[REASON_LEN];
} entry;

typedef struct planner {
    const dcmp_plan_input *in;
    dcmp_plan *out;
    entry *entries;
    int n, cap;
    int oom;
} planner;

static const char *const group_names[] = {"preServices", "registry", "postServices"};

static void report(planner *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(planner *p, const char *fmt, ...)
{
    char line[SOURCE_LEN + REASON_LEN], **grown, *copy;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    grown = realloc(p->out->reports, (size_t)(p->out->nreports + 1) * sizeof *grown);
    copy = strdup(line);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown)
            p->out->reports = grown;
        p->oom = 1;
        return;
    }
    p->out->reports = grown;
    p->out->reports[p->out->nreports++] = copy;
}

/* ---- reading one entry ---- */

static int queue_name_ok(const char *s)
{
    if (*s == '\0' || strlen(s) >= DCMP_QUEUE_LEN)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.' || *s == ':'))
            return 0;
    return 1;
}

/* Marks e invalid with the reason "FIELD: why" and reports it. */
static void invalid(planner *p, entry *e, const char *field, const char *why)
{
    e->state = E_INVALID;
    snprintf(e->reason, sizeof e->reason, "%s: %s", field, why);
    report(p, "%s: %s: %s: entry skipped", e->source, field, why);
}

static const char *required_string(planner *p, entry *e, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->obj, field);

    if (e->state != E_VALID)
        return NULL;
    if (v == NULL || cJSON_IsNull(v))
        invalid(p, e, field, "missing");
    else if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        invalid(p, e, field, "must be a non-empty string");
    else
        return v->valuestring;
    return NULL;
}

static void read_deps(planner *p, entry *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->obj, "dependsOn"), *d;

    if (e->state != E_VALID || v == NULL || cJSON_IsNull(v))
        return;
    if (cJSON_IsString(v)) {
        e->deps[e->ndeps++] = v->valuestring;
        return;
    }
    if (!cJSON_IsArray(v)) {
        invalid(p, e, "dependsOn", "must be a string or a list of strings");
        return;
    }
    cJSON_ArrayForEach(d, v)
    {
        int k, seen = 0;
        if (!cJSON_IsString(d)) {
            invalid(p, e, "dependsOn", "must be a string or a list of strings");
            return;
        }
        for (k = 0; k < e->ndeps; k++)
            seen |= strcmp(e->deps[k], d->valuestring) == 0;
        if (seen)
            continue;
        if (e->ndeps >= DCMP_DEPS_MAX) {
            invalid(p, e, "dependsOn", "names more than 256 jobs");
            return;
        }
        e->deps[e->ndeps++] = d->valuestring;
    }
}

static void read_queue(planner *p, entry *e)
{
    static const char *const fields[] = {"priority", "channel"};
    int i;

    e->queue = p->in->default_queue ? p->in->default_queue : "default";
    for (i = 0; i < 2 && e->state == E_VALID; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->obj, fields[i]);
        if (v == NULL || cJSON_IsNull(v) || (cJSON_IsString(v) && v->valuestring[0] == '\0'))
            continue; /* missing, null and "" all mean the default queue */
        if (!cJSON_IsString(v))
            invalid(p, e, fields[i], "must be a string (a queue name)");
        else if (!queue_name_ok(v->valuestring))
            invalid(p, e, fields[i], "a queue name is letters, digits, _ - . : (at most 127)");
        else {
            e->queue = v->valuestring;
            return;
        }
    }
}

/* A duration field: seconds or "90s"/"30m"/"1h"/"1d"; allow_none accepts -1. */
static int read_duration(planner *p, entry *e, const cJSON *v, const char *field, int64_t dflt,
                         int allow_none, int64_t *out)
{
    char why[DCMP_ERR_LEN];
    int rc;

    if (v == NULL || cJSON_IsNull(v)) {
        *out = dflt;
        return 0;
    }
    if (cJSON_IsNumber(v))
        rc = dcmp_duration_from_number(v->valuedouble, out, why);
    else if (cJSON_IsString(v))
        rc = dcmp_duration_parse(v->valuestring, out, why);
    else {
        invalid(p, e, field, "must be a number of seconds or a string such as \"90s\", \"30m\"");
        return -1;
    }
    if (rc == 0 && *out < 0 && !allow_none) {
        snprintf(why, sizeof why, "-1 (no limit) is not allowed here");
        rc = -1;
    }
    if (rc < 0) {
        invalid(p, e, field, why);
        return -1;
    }
    return 0;
}

static void read_retry(planner *p, entry *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->obj, "retry"), *max;

    e->retry_max = e->retry_interval = 0;
    if (e->state != E_VALID || v == NULL || cJSON_IsNull(v))
        return;
    if (!cJSON_IsObject(v)) {
        invalid(p, e, "retry", "must be an object such as {\"max\": 3, \"interval\": \"30s\"}");
        return;
    }
    max = cJSON_GetObjectItemCaseSensitive(v, "max");
    if (!cJSON_IsNumber(max) || max->valuedouble < 0 || max->valuedouble > 100 ||
        max->valuedouble != (double)(int)max->valuedouble) {
        invalid(p, e, "retry.max", "must be a whole number from 0 to 100");
        return;
    }
    e->retry_max = (int64_t)max->valuedouble;
    read_duration(p, e, cJSON_GetObjectItemCaseSensitive(v, "interval"), "retry.interval", 0, 0,
                  &e->retry_interval);
}

static void read_sort(planner *p, entry *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->obj, "sortPosition");
    char *end;
    double d;

    e->sort = e->group == DCMP_GROUP_REGISTRY ? 999 : 1;
    if (e->state != E_VALID || v == NULL || cJSON_IsNull(v))
        return;
    if (cJSON_IsNumber(v)) {
        e->sort = v->valuedouble;
        return;
    }
    if (cJSON_IsString(v)) {
        errno = 0;
        d = strtod(v->valuestring, &end);
        if (errno == 0 && end != v->valuestring && *end == '\0' && d == d) {
            e->sort = d;
            return;
        }
    }
    report(p, "%s: sortPosition: must be a number; using %g", e->source, e->sort);
}

static void read_trigger(planner *p, entry *e)
{
    char why[DCMP_ERR_LEN];
    const char *field;
    dcmp_trigger t;

    if (e->state != E_VALID)
        return;
    if (dcmp_trigger_read(e->obj, &t, &field, why) < 0)
        invalid(p, e, field, why);
    else if (e->group != DCMP_GROUP_REGISTRY && t.level != DCMP_LEVEL_SERIES)
        invalid(p, e, "trigger",
                "preServices and postServices run per series: only \"series\" is allowed");
    else
        e->level = t.level;
}

/* `container` instead of `worker` (docs/containers.md): e->container when it is valid. */
static void read_container(planner *p, entry *e, const cJSON *v)
{
    char why[DCMP_ERR_LEN];
    dcmp_spec s;

    if (e->state != E_VALID)
        return;
    if (cJSON_GetObjectItemCaseSensitive(e->obj, "worker") != NULL) {
        invalid(p, e, "container", "give either worker or container, not both");
        return;
    }
    if (dcmp_spec_parse(v, &s, why) < 0) {
        /* why names the key: "container.memory: ..." */
        e->state = E_INVALID;
        snprintf(e->reason, sizeof e->reason, "%s", why);
        report(p, "%s: %s: entry skipped", e->source, why);
        return;
    }
    e->container = v;
    e->worker = s.image;
}

static void read_entry(planner *p, entry *e)
{
    const cJSON *dis, *ctr;

    if (!cJSON_IsObject(e->obj)) {
        e->state = E_INVALID;
        snprintf(e->reason, sizeof e->reason, "not an object");
        report(p, "%s: not an object: entry skipped", e->source);
        return;
    }
    e->name = required_string(p, e, "jobName");
    if (e->name) {
        size_t len = strlen(e->source);
        snprintf(e->source + len, sizeof e->source - len, " (%s)", e->name);
    }
    ctr = cJSON_GetObjectItemCaseSensitive(e->obj, "container");
    if (ctr != NULL && !cJSON_IsNull(ctr))
        read_container(p, e, ctr);
    else
        e->worker = required_string(p, e, "worker");
    e->callback = required_string(p, e, "callback");
    dis = cJSON_GetObjectItemCaseSensitive(e->obj, "disabled");
    if (e->state == E_VALID && dis && !cJSON_IsNull(dis) && !cJSON_IsBool(dis))
        invalid(p, e, "disabled", "must be true or false");
    read_deps(p, e);
    read_queue(p, e);
    if (e->state == E_VALID)
        read_duration(p, e, cJSON_GetObjectItemCaseSensitive(e->obj, "timeout"), "timeout",
                      DCMP_DEFAULT_TIMEOUT, 1, &e->timeout);
    read_retry(p, e);
    read_sort(p, e);
    read_trigger(p, e);
    e->params = cJSON_GetObjectItemCaseSensitive(e->obj, "params");
    if (e->state == E_VALID && cJSON_IsTrue(dis)) {
        e->state = E_DISABLED;
        snprintf(e->reason, sizeof e->reason, "disabled: true");
    }
}

static entry *add_entry(planner *p, const cJSON *obj, int group, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static entry *add_entry(planner *p, const cJSON *obj, int group, const char *fmt, ...)
{
    entry *e;
    va_list ap;

    if (p->n >= PLAN_MAX_ENTRIES) {
        report(p, "more than %d entries: the rest are ignored", PLAN_MAX_ENTRIES);
        return NULL;
    }
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        entry *grown = realloc(p->entries, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            p->oom = 1;
            return NULL;
        }
        p->entries = grown;
        p->cap = cap;
    }
    e = &p->entries[p->n];
    /* source and reason are kilobytes each: set, not cleared */
    memset(e, 0, offsetof(entry, source));
    e->reason[0] = '\0';
    e->obj = obj;
    e->group = group;
    e->seq = p->n++;
    e->job = -1;
    va_start(ap, fmt);
    vsnprintf(e->source, sizeof e->source, fmt, ap);
    va_end(ap);
    read_entry(p, e);
    return e;
}

/* The entries of the system settings' preServices or postServices. */
static void collect_system(planner *p, int group)
{
    const char *path = p->in->system_path ? p->in->system_path : "settings.json";
    const char *key = group_names[group];
    const cJSON *list = p->in->system ? cJSON_GetObjectItemCaseSensitive(p->in->system, key) : NULL;
    const cJSON *item;
    int i = 0;

    if (list == NULL)
        return;
    if (cJSON_IsNull(list)) {
        report(p, "%s: %s is null: treated as absent", path, key);
        return;
    }
    if (cJSON_IsObject(list)) {
        add_entry(p, list, group, "%s: %s", path, key);
        return;
    }
    if (!cJSON_IsArray(list)) {
        report(p, "%s: %s must be a list of entries: ignored", path, key);
        return;
    }
    cJSON_ArrayForEach(item, list)
    {
        add_entry(p, item, group, "%s: %s[%d]", path, key, i);
        i++;
    }
}

static void collect_registry(planner *p)
{
    int f;

    for (f = 0; f < p->in->nregistry; f++) {
        const dcmp_plan_file *file = &p->in->registry[f];
        const cJSON *item;
        int i = 1;
        if (file->root == NULL) {
            /* a load error names the file already (with the line and column) */
            if (file->load_error && strstr(file->load_error, file->path) == file->load_error)
                report(p, "%s: its entries are skipped", file->load_error);
            else
                report(p, "%s: %s: its entries are skipped", file->path,
                       file->load_error ? file->load_error : "could not be read");
            continue;
        }
        if (!cJSON_IsArray(file->root)) {
            add_entry(p, file->root, DCMP_GROUP_REGISTRY, "%s", file->path);
            continue;
        }
        cJSON_ArrayForEach(item, file->root)
        {
            add_entry(p, item, DCMP_GROUP_REGISTRY, "%s: entry %d", file->path, i);
            i++;
        }
    }
}

/* Whether e holds its jobName: it has the required jobName, worker and callback (read in that
 * order, so a callback means all three), whatever else made it invalid, as the original, which
 * read an entry's name before anything else of it. */
static int holds_name(const entry *e)
{
    return e->callback != NULL && e->state != E_DUPLICATE;
}

/* A later entry with the jobName of an earlier one that holds it is a duplicate. */
static void mark_duplicates(planner *p)
{
    int i, k;

    for (i = 0; i < p->n; i++) {
        entry *e = &p->entries[i];
        if (!holds_name(e) || e->state == E_INVALID)
            continue; /* an invalid entry is reported as such already */
        for (k = 0; k < i; k++) {
            entry *o = &p->entries[k];
            if (holds_name(o) && strcmp(o->name, e->name) == 0) {
                e->state = E_DUPLICATE;
                snprintf(e->reason, sizeof e->reason, "jobName already used by %s", o->source);
                report(p, "%s: jobName \"%s\" already used by %s: entry skipped", e->source,
                       e->name, o->source);
                break;
            }
        }
    }
}

static entry *find(planner *p, const char *name);

/*
 * A dependsOn across levels (a study job naming a series job, or the reverse) cannot be met:
 * the two run from different events. The entry is skipped at load, saying so. Then the
 * entries of another level than the event's are set aside ("other-level").
 */
static void check_levels(planner *p)
{
    int i, k;

    for (i = 0; i < p->n; i++) {
        entry *e = &p->entries[i];
        for (k = 0; k < e->ndeps && e->state == E_VALID; k++) {
            const entry *t = find(p, e->deps[k]);
            char why[DCMP_ERR_LEN];
            if (t == NULL || (t->state != E_VALID && t->state != E_DISABLED) ||
                t->level == e->level)
                continue;
            snprintf(why, sizeof why,
                     "names \"%s\", which runs per %s, while this entry runs per %s: a "
                     "dependsOn stays within one level",
                     t->name, dcmp_trigger_levels[t->level], dcmp_trigger_levels[e->level]);
            invalid(p, e, "dependsOn", why);
        }
    }
    for (i = 0; i < p->n; i++) {
        entry *e = &p->entries[i];
        if (e->state != E_VALID || e->level == p->in->level)
            continue;
        e->state = E_OTHER_LEVEL;
        snprintf(e->reason, sizeof e->reason,
                 "trigger \"%s\": planned from %s events, not from this %s event",
                 dcmp_trigger_levels[e->level], dcmp_trigger_levels[e->level],
                 dcmp_trigger_levels[p->in->level]);
    }
    for (i = 0; i < p->n && p->in->due; i++) {
        entry *e = &p->entries[i];
        char why[DCMP_ERR_LEN] = "";
        if (e->state != E_VALID || p->in->due(p->in->due_arg, e->name, why))
            continue;
        e->state = E_NOT_DUE;
        snprintf(e->reason, sizeof e->reason, "%s", why);
    }
}

/* Callback order: by group, then sortPosition, then the order entries were read. */
static int by_order(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;

    if (x->group != y->group)
        return x->group - y->group;
    if (x->sort != y->sort)
        return x->sort < y->sort ? -1 : 1;
    return x->seq - y->seq;
}

/* ---- headers, callbacks ---- */

static cJSON *select_fields(planner *p)
{
    const char *path = p->in->system_path ? p->in->system_path : "settings.json";
    const cJSON *sys = p->in->system, *fields, *f, *full;
    cJSON *h;

    full = sys ? cJSON_GetObjectItemCaseSensitive(sys, "fullTags") : NULL;
    if (cJSON_IsTrue(full))
        return p->in->data ? cJSON_Duplicate(p->in->data, 1) : cJSON_CreateObject();
    if ((h = cJSON_CreateObject()) == NULL)
        return NULL;
    fields = sys ? cJSON_GetObjectItemCaseSensitive(sys, "headerFields") : NULL;
    if (fields && cJSON_IsNull(fields)) {
        report(p, "%s: headerFields is null: treated as absent", path);
        return h;
    }
    if (fields && !cJSON_IsArray(fields)) {
        report(p, "%s: headerFields must be a list of names: ignored", path);
        return h;
    }
    cJSON_ArrayForEach(f, fields)
    {
        const cJSON *v;
        cJSON *copy;
        if (!cJSON_IsString(f)) {
            report(p, "%s: headerFields: an item that is not a string is ignored", path);
            continue;
        }
        v = p->in->data ? cJSON_GetObjectItemCaseSensitive(p->in->data, f->valuestring) : NULL;
        if (v == NULL || cJSON_GetObjectItemCaseSensitive(h, f->valuestring))
            continue; /* missing keys are skipped, as the original */
        if ((copy = cJSON_Duplicate(v, 1)) == NULL)
            break;
        cJSON_AddItemToObject(h, f->valuestring, copy);
    }
    return h;
}

/* The headers: the headerFields picked from the event's data and, for a study or patient
 * event, its list of series (of studies) whatever headerFields says: what such a job is for. */
static cJSON *select_headers(planner *p)
{
    static const char *const lists[DCMP_LEVELS] = {NULL, "series", "studies"};
    const char *name = lists[p->in->level];
    cJSON *h = select_fields(p), *copy;
    const cJSON *v;

    if (h == NULL || name == NULL || cJSON_GetObjectItemCaseSensitive(h, name))
        return h;
    v = p->in->data ? cJSON_GetObjectItemCaseSensitive(p->in->data, name) : NULL;
    if (v == NULL)
        return h;
    if ((copy = cJSON_Duplicate(v, 1)) == NULL || !cJSON_AddItemToObject(h, name, copy)) {
        cJSON_Delete(copy);
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

static char *print_or_null(const cJSON *v)
{
    return v ? cJSON_PrintUnformatted(v) : strdup("null");
}

int dcmp_plan_inject(cJSON *added, const char *job_name, int yes, const char *inject)
{
    cJSON *obj;
    int rc = 0;

    if (!yes)
        return 0;
    obj = inject && inject[0] ? cJSON_Parse(inject) : NULL;
    if (inject && inject[0] && !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        obj = NULL;
        rc = -1;
    }
    if (obj == NULL && (obj = cJSON_CreateObject()) == NULL)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(added, job_name);
    cJSON_AddItemToObject(added, job_name, obj);
    return rc;
}

/* Takes in one callback's answer: its injection into added (only a yes stores one), and the
 * entry's answer. */
static void answered(planner *p, entry *e, int rc, char *inject, const char *err, cJSON *added)
{
    if (dcmp_plan_inject(added, e->name, rc == 1, inject) < 0)
        report(p, "%s: callback %s injected something that is not a JSON object: {} stored",
               e->source, e->callback);
    free(inject);
    if (rc == 1) {
        e->answer = A_RUN;
    } else if (rc == 0) {
        e->answer = A_SKIP;
        /* the callback's own words for not running (set_error before DCMP_SKIP), or none */
        snprintf(e->reason, sizeof e->reason, "%s", err ? err : "");
    } else {
        e->answer = A_ERROR;
        snprintf(e->reason, sizeof e->reason, "callback %s: %s", e->callback,
                 err[0] ? err : "failed");
        report(p, "%s: %s: not scheduled", e->source, e->reason);
    }
}

/* All of an event's callbacks in one call of in->batch. */
static void run_batch(planner *p, entry **order, int n, const char *headers, cJSON *added)
{
    char err[DCMP_ERR_LEN] = "", *added_text = cJSON_PrintUnformatted(added);
    dcmp_plan_call *calls = calloc((size_t)(n ? n : 1), sizeof *calls);
    char **params = calloc((size_t)(n ? n : 1), sizeof *params);
    entry **valid = calloc((size_t)(n ? n : 1), sizeof *valid);
    int i, k = 0;

    if (added_text == NULL || calls == NULL || params == NULL || valid == NULL) {
        p->oom = 1;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (order[i]->state != E_VALID)
            continue;
        if ((params[k] = print_or_null(order[i]->params)) == NULL) {
            p->oom = 1;
            goto out;
        }
        valid[k] = order[i];
        calls[k].job_name = order[i]->name;
        calls[k].callback = order[i]->callback;
        calls[k].params = params[k];
        k++;
    }
    if (k > 0 && p->in->batch(p->in->callback_arg, headers, added_text, calls, k, err) < 0)
        for (i = 0; i < k; i++) {
            calls[i].rc = -1;
            snprintf(calls[i].err, sizeof calls[i].err, "%s", err[0] ? err : "failed");
        }
    for (i = 0; i < k; i++) {
        answered(p, valid[i], calls[i].rc, calls[i].inject, calls[i].err, added);
        calls[i].inject = NULL;
    }
out:
    for (i = 0; i < k; i++) {
        free(params[i]);
        if (calls)
            free(calls[i].inject);
    }
    free(added_text);
    free(calls);
    free(params);
    free(valid);
}

static void run_callbacks(planner *p, entry **order, int n, const char *headers, cJSON *added)
{
    int i;

    if (p->in->batch) {
        run_batch(p, order, n, headers, added);
        return;
    }
    for (i = 0; i < n; i++) {
        entry *e = order[i];
        char err[DCMP_ERR_LEN] = "", *inject = NULL, *params, *added_text;
        int rc;

        if (e->state != E_VALID)
            continue;
        params = print_or_null(e->params);
        added_text = cJSON_PrintUnformatted(added);
        if (params == NULL || added_text == NULL) {
            free(params);
            free(added_text);
            p->oom = 1;
            return;
        }
        rc = p->in->callback ? p->in->callback(p->in->callback_arg, e->name, e->callback, headers,
                                               params, added_text, &inject, err)
                             : 1;
        free(params);
        free(added_text);
        answered(p, e, rc, inject, err, added);
    }
}

/* ---- dependencies ---- */

/* The entry a dependsOn name means: the one holding the name, else an entry with that name
 * skipped at load for lacking a worker or callback (so a drop can say why), else NULL. */
static entry *find(planner *p, const char *name)
{
    entry *named = NULL;
    int i;

    for (i = 0; i < p->n; i++) {
        entry *e = &p->entries[i];
        if (e->name == NULL || strcmp(e->name, name) != 0)
            continue;
        if (holds_name(e))
            return e;
        if (named == NULL && e->state == E_INVALID)
            named = e;
    }
    return named;
}

/* Why t, a dependency, was not kept: "which " + this. */
static const char *why_not(const entry *t, char *buf, size_t size)
{
    if (t->state == E_INVALID)
        snprintf(buf, size, "was skipped at load (%.2048s)", t->reason);
    else if (t->state == E_DISABLED)
        snprintf(buf, size, "is disabled");
    else if (t->answer == A_SKIP)
        snprintf(buf, size, "was skipped by its callback");
    else if (t->answer == A_ERROR)
        snprintf(buf, size, "had a callback error");
    else if (t->cycle)
        snprintf(buf, size, "is in a dependsOn cycle");
    else if (t->dropped)
        snprintf(buf, size, "was dropped (%.2048s)", t->reason);
    else
        snprintf(buf, size, "was not scheduled");
    return buf;
}

static void drop(planner *p, entry *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void drop(planner *p, entry *e, const char *fmt, ...)
{
    va_list ap;

    e->dropped = 1;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    report(p, "%s: %s: not scheduled", e->source, e->reason);
}

/* Whether e's callback said run and its fate is not known yet. */
static int undecided(const entry *e)
{
    return e->state == E_VALID && e->answer == A_RUN && !e->kept && !e->dropped;
}

/* Whether e keeps waiting on t: t is another job of e's group, still undecided. */
static int pending(const entry *e, const entry *t)
{
    return t && t != e && t->group == e->group && undecided(t);
}

/* Tarjan's strongly connected components over the undecided jobs of one group; the arrays
 * are indexed like p->entries. */
typedef struct scc {
    planner *p;
    int *index, *low, *stack, *onstack;
    int next, top;
} scc;

static void scc_visit(scc *c, int v)
{
    entry *e = &c->p->entries[v];
    int k;

    c->index[v] = c->low[v] = c->next++;
    c->stack[c->top++] = v;
    c->onstack[v] = 1;
    for (k = 0; k < e->ndeps; k++) {
        entry *t = find(c->p, e->deps[k]);
        int w;
        if (!pending(e, t))
            continue;
        w = (int)(t - c->p->entries);
        if (c->index[w] < 0) {
            scc_visit(c, w);
            if (c->low[w] < c->low[v])
                c->low[v] = c->low[w];
        } else if (c->onstack[w] && c->index[w] < c->low[v]) {
            c->low[v] = c->index[w];
        }
    }
    if (c->low[v] == c->index[v]) {
        int w, size = 0, first = c->top;
        do {
            w = c->stack[--first];
            size++;
        } while (w != v);
        /* a component of more than one job is a cycle (numbered v + 1); a lone job only
         * waits on one */
        while (c->top > first) {
            w = c->stack[--c->top];
            c->onstack[w] = 0;
            c->p->entries[w].cycle = size > 1 ? v + 1 : 0;
        }
    }
}

/* Drops the members of dependsOn cycles among the undecided jobs of a group, naming a member
 * of the same cycle; the jobs that only wait on a cycle are left to the next passes, which
 * drop them saying so. Recursion depth is at most PLAN_MAX_ENTRIES. */
static void drop_cycles(planner *p, entry **order, int n, int group)
{
    int *mem = calloc((size_t)(4 * (p->n ? p->n : 1)), sizeof *mem);
    scc c = {p, NULL, NULL, NULL, NULL, 0, 0};
    int i, k;

    if (mem == NULL) {
        p->oom = 1;
        return;
    }
    c.index = mem;
    c.low = mem + p->n;
    c.stack = mem + 2 * p->n;
    c.onstack = mem + 3 * p->n;
    for (i = 0; i < p->n; i++)
        c.index[i] = -1;
    for (i = 0; i < n; i++) {
        int v = (int)(order[i] - p->entries);
        if (order[i]->group == group && undecided(order[i]) && c.index[v] < 0)
            scc_visit(&c, v);
    }
    for (i = 0; i < n; i++) {
        entry *e = order[i];
        if (e->group != group || !e->cycle || e->dropped)
            continue;
        for (k = 0; k < e->ndeps; k++) {
            entry *t = find(p, e->deps[k]);
            if (t && t != e && t->cycle == e->cycle) {
                drop(p, e, "dependsOn forms a cycle (through \"%s\")", t->name);
                break;
            }
        }
    }
    free(mem);
}

/*
 * Keeps, pass after pass, the accepted jobs of one group whose dependencies are all kept;
 * kept[] receives them in the order they were kept (dependencies first). When jobs are left
 * waiting, the cycles among them are dropped and the passes go on.
 */
static void prune_group(planner *p, entry **order, int n, int group, entry **kept, int *nkept)
{
    char why[REASON_LEN];
    int i, k, changed = 1, cycles = 0;

    while (changed) {
        changed = 0;
        for (i = 0; i < n; i++) {
            entry *e = order[i];
            int ok = 1;
            if (e->group != group || e->state != E_VALID || e->answer != A_RUN || e->kept ||
                e->dropped)
                continue;
            for (k = 0; k < e->ndeps && ok; k++) {
                entry *t = find(p, e->deps[k]);
                if (t == NULL) {
                    drop(p, e, "dependsOn names \"%s\", which is no known job", e->deps[k]);
                    ok = 0;
                } else if (t == e) {
                    drop(p, e, "dependsOn names the job itself");
                    ok = 0;
                } else if (t->state == E_INVALID) {
                    drop(p, e, "dependsOn \"%s\", which %s", t->name, why_not(t, why, sizeof why));
                    ok = 0;
                } else if (t->group > group) {
                    drop(p, e, "dependsOn names \"%s\" of %s, which is planned after %s", t->name,
                         group_names[t->group], group_names[group]);
                    ok = 0;
                } else if (!t->kept) {
                    if (!pending(e, t))
                        drop(p, e, "dependsOn \"%s\", which %s", t->name,
                             why_not(t, why, sizeof why));
                    ok = 0;
                }
            }
            if (ok) {
                e->kept = 1;
                kept[(*nkept)++] = e;
                changed = 1;
            } else if (e->dropped) {
                changed = 1; /* a drop can decide the fate of others */
            }
        }
        if (!changed && !cycles) {
            /* what still waits is in a cycle or waits on one: the cycles go first, then the
             * passes drop what waited on them */
            cycles = 1;
            for (i = 0; i < n && !changed; i++)
                changed = order[i]->group == group && undecided(order[i]);
            if (changed)
                drop_cycles(p, order, n, group);
        }
    }
    for (i = 0; i < n; i++) /* none is left after the cycles went; kept safe all the same */
        if (order[i]->group == group && undecided(order[i]))
            drop(p, order[i], "dependsOn could not be resolved");
}

/* ---- the graph ---- */

char *dcmp_plan_kwargs(const char *job_name, const char *headers, const char *params,
                       const char *added_params)
{
    dcmp_jsonw w;

    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_lit(&w, "{\"jobName\":");
    dcmp_jsonw_str(&w, job_name);
    dcmp_jsonw_lit(&w, ",\"headers\":");
    dcmp_jsonw_lit(&w, headers);
    dcmp_jsonw_lit(&w, ",\"params\":");
    dcmp_jsonw_lit(&w, params);
    dcmp_jsonw_lit(&w, ",\"added_params\":");
    dcmp_jsonw_lit(&w, added_params);
    dcmp_jsonw_lit(&w, "}");
    return dcmp_jsonw_finish(&w);
}

static char *make_kwargs(const entry *e, const char *container, const char *headers,
                         const char *added)
{
    char *params = print_or_null(e->params);
    char *out = params ? dcmp_plan_kwargs(e->name, headers, params, added) : NULL;
    dcmp_jsonw w;

    free(params);
    if (out == NULL || container == NULL)
        return out;
    /* a container job's kwargs also carry the container (read by runner_container.c) */
    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_raw(&w, out, strlen(out) - 1);
    dcmp_jsonw_lit(&w, ",\"container\":");
    dcmp_jsonw_lit(&w, container);
    dcmp_jsonw_lit(&w, "}");
    free(out);
    return dcmp_jsonw_finish(&w);
}

/* A container entry's func ("container:IMAGE") and its container object with every default
 * written (new texts); a worker entry's worker and NULL. Returns 0, or -1 out of memory. */
static int job_func(const entry *e, char **worker, char **container)
{
    dcmp_spec s;
    size_t n;

    *container = NULL;
    if (e->container == NULL)
        return (*worker = strdup(e->worker)) ? 0 : -1;
    (void)dcmp_spec_parse(e->container, &s, NULL); /* valid: read_container checked it */
    n = strlen(DCMP_SPEC_FUNC) + strlen(s.image) + 1;
    if ((*worker = malloc(n)) == NULL)
        return -1;
    snprintf(*worker, n, DCMP_SPEC_FUNC "%s", s.image);
    return (*container = dcmp_spec_json(&s)) ? 0 : -1;
}

static int add_dep(dcmp_plan_job *j, int dep)
{
    int k;

    for (k = 0; k < j->ndeps; k++)
        if (j->deps[k] == dep)
            return 0;
    if (j->ndeps >= DCMP_DEPS_MAX)
        return -1;
    j->deps[j->ndeps++] = dep;
    return 0;
}

static int build_jobs(planner *p, entry **kept, int nkept, const char *headers, const char *added,
                      char *err)
{
    dcmp_plan *out = p->out;
    int i, k;

    if (nkept == 0)
        return 0;
    if ((out->jobs = calloc((size_t)nkept, sizeof *out->jobs)) == NULL)
        return dcmp_seterr(err, "out of memory planning %d jobs", nkept);
    for (i = 0; i < nkept; i++) {
        entry *e = kept[i];
        dcmp_plan_job *j = &out->jobs[out->njobs];
        const char *lost = NULL;
        int over = 0, oom;
        if (dcmp_job_new_id(j->id) < 0)
            return dcmp_seterr(err, "no randomness for job ids");
        j->deps = calloc(DCMP_DEPS_MAX, sizeof *j->deps);
        j->name = strdup(e->name);
        j->queue = strdup(e->queue);
        oom = job_func(e, &j->worker, &j->container);
        j->kwargs = make_kwargs(e, j->container, headers, added);
        out->njobs++;
        if (oom || !j->deps || !j->name || !j->worker || !j->queue || !j->kwargs)
            return dcmp_seterr(err, "out of memory planning job %s", e->name);
        j->group = e->group;
        j->level = e->level;
        j->timeout = e->timeout;
        j->retry_max = e->retry_max;
        j->retry_interval = e->retry_interval;
        for (k = 0; k < e->ndeps; k++) {
            const entry *t = find(p, e->deps[k]);
            if (t->job < 0)
                lost = t->name;
            else
                over |= add_dep(j, t->job);
        }
        /* implicit: registry jobs after every pre job, post jobs after pre and registry */
        for (k = 0; k < i; k++)
            if (kept[k]->group < e->group && kept[k]->job >= 0)
                over |= add_dep(j, kept[k]->job);
        if (over || lost) {
            /* more dependencies than a job may have: the job cannot be enqueued */
            out->njobs--;
            free(j->deps);
            free(j->name);
            free(j->worker);
            free(j->container);
            free(j->queue);
            free(j->kwargs);
            memset(j, 0, sizeof *j);
            e->kept = 0;
            if (lost)
                drop(p, e, "dependsOn \"%s\", which could not be scheduled", lost);
            else
                drop(p, e, "more than %d dependencies", DCMP_DEPS_MAX);
            continue;
        }
        e->job = out->njobs - 1;
    }
    return 0;
}

static int add_decisions(planner *p, entry **order, int n)
{
    dcmp_plan *out = p->out;
    int i;

    if ((out->decisions = calloc((size_t)(n ? n : 1), sizeof *out->decisions)) == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        entry *e = order[i];
        dcmp_plan_decision *d = &out->decisions[out->ndecisions++];
        d->group = e->group;
        d->level = e->level;
        d->job = e->job;
        d->job_name = strdup(e->name ? e->name : "");
        d->source = strdup(e->source);
        if (e->state == E_INVALID)
            d->decision = "invalid";
        else if (e->state == E_DISABLED)
            d->decision = "disabled";
        else if (e->state == E_DUPLICATE)
            d->decision = "duplicate";
        else if (e->state == E_OTHER_LEVEL)
            d->decision = "other-level";
        else if (e->state == E_NOT_DUE)
            d->decision = "not-due";
        else if (e->answer == A_SKIP)
            d->decision = "skipped";
        else if (e->answer == A_ERROR)
            d->decision = "error";
        else if (e->dropped || e->job < 0)
            d->decision = "dropped";
        else
            d->decision = "scheduled";
        d->reason = strdup(e->reason);
        if (!d->job_name || !d->source || !d->reason)
            return -1;
    }
    return 0;
}

int dcmp_plan_make(const dcmp_plan_input *in, dcmp_plan *out, char *err)
{
    planner p = {in, out, NULL, 0, 0, 0};
    entry **order = NULL, **kept = NULL;
    cJSON *headers = NULL, *added = NULL;
    char *headers_text = NULL, *added_text = NULL;
    int i, g, nkept = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (in->level < 0 || in->level >= DCMP_LEVELS)
        return dcmp_seterr(err, "event level %d: must be series, study or patient", in->level);
    if (in->system && !cJSON_IsObject(in->system))
        report(&p, "%s: the system settings must be an object: ignored",
               in->system_path ? in->system_path : "settings.json");
    /* the system settings' names are reserved first (pre, then post), as the original read
     * them: a registry entry reusing one is the duplicate, never the system job */
    collect_system(&p, DCMP_GROUP_PRE);
    collect_system(&p, DCMP_GROUP_POST);
    collect_registry(&p);
    mark_duplicates(&p);
    check_levels(&p);
    order = calloc((size_t)(p.n ? p.n : 1), sizeof *order);
    kept = calloc((size_t)(p.n ? p.n : 1), sizeof *kept);
    headers = select_headers(&p);
    added = cJSON_CreateObject();
    if (order == NULL || kept == NULL || headers == NULL || added == NULL ||
        (headers_text = cJSON_PrintUnformatted(headers)) == NULL) {
        dcmp_seterr(err, "out of memory planning");
        goto out;
    }
    for (i = 0; i < p.n; i++)
        order[i] = &p.entries[i];
    qsort(order, (size_t)p.n, sizeof *order, by_order);

    run_callbacks(&p, order, p.n, headers_text, added);
    for (g = DCMP_GROUP_PRE; g <= DCMP_GROUP_POST; g++)
        prune_group(&p, order, p.n, g, kept, &nkept);
    if ((added_text = cJSON_PrintUnformatted(added)) == NULL) {
        dcmp_seterr(err, "out of memory planning");
        goto out;
    }
    if (build_jobs(&p, kept, nkept, headers_text, added_text, err) < 0)
        goto out;
    if (add_decisions(&p, order, p.n) < 0 || p.oom) {
        dcmp_seterr(err, "out of memory planning");
        goto out;
    }
    out->headers = headers_text;
    out->added_params = added_text;
    headers_text = added_text = NULL;
    rc = 0;
out:
    free(headers_text);
    free(added_text);
    cJSON_Delete(headers);
    cJSON_Delete(added);
    free(order);
    free(kept);
    free(p.entries);
    return rc;
}

void dcmp_plan_free(dcmp_plan *plan)
{
    int i;

    for (i = 0; i < plan->njobs; i++) {
        free(plan->jobs[i].name);
        free(plan->jobs[i].worker);
        free(plan->jobs[i].container);
        free(plan->jobs[i].queue);
        free(plan->jobs[i].kwargs);
        free(plan->jobs[i].deps);
    }
    free(plan->jobs);
    for (i = 0; i < plan->ndecisions; i++) {
        free(plan->decisions[i].job_name);
        free(plan->decisions[i].source);
        free(plan->decisions[i].reason);
    }
    free(plan->decisions);
    for (i = 0; i < plan->nreports; i++)
        free(plan->reports[i]);
    free(plan->reports);
    free(plan->headers);
    free(plan->added_params);
    memset(plan, 0, sizeof *plan);
}

/* "key": as the members after the first are written */
static void key(dcmp_jsonw *w, const char *name, int first)
{
    if (!first)
        dcmp_jsonw_lit(w, ",");
    dcmp_jsonw_str(w, name);
    dcmp_jsonw_lit(w, ":");
}

char *dcmp_plan_json(const dcmp_plan *plan)
{
    return dcmp_plan_json_with(plan, 0);
}

char *dcmp_plan_json_with(const dcmp_plan *plan, int kwargs)
{
    dcmp_jsonw w;
    int i, k;

    /* headers and added_params are texts cJSON printed: the same bytes it would print again */
    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_lit(&w, "{\"headers\":");
    dcmp_jsonw_lit(&w, plan->headers ? plan->headers : "null");
    dcmp_jsonw_lit(&w, ",\"added_params\":");
    dcmp_jsonw_lit(&w, plan->added_params ? plan->added_params : "null");
    dcmp_jsonw_lit(&w, ",\"jobs\":[");
    for (i = 0; i < plan->njobs; i++) {
        const dcmp_plan_job *j = &plan->jobs[i];
        dcmp_jsonw_lit(&w, i ? ",{" : "{");
        key(&w, "id", 1);
        dcmp_jsonw_str(&w, j->id);
        key(&w, "jobName", 0);
        dcmp_jsonw_str(&w, j->name);
        key(&w, "group", 0);
        dcmp_jsonw_str(&w, group_names[j->group]);
        key(&w, "worker", 0);
        dcmp_jsonw_str(&w, j->worker);
        if (j->container) {
            /* dcmp_spec_json's text: valid JSON */
            key(&w, "container", 0);
            dcmp_jsonw_lit(&w, j->container);
        }
        key(&w, "queue", 0);
        dcmp_jsonw_str(&w, j->queue);
        key(&w, "trigger", 0);
        dcmp_jsonw_str(&w, dcmp_trigger_levels[j->level]);
        key(&w, "timeout", 0);
        dcmp_jsonw_int(&w, j->timeout);
        dcmp_jsonw_lit(&w, ",\"retry\":{\"max\":");
        dcmp_jsonw_int(&w, j->retry_max);
        dcmp_jsonw_lit(&w, ",\"interval\":");
        dcmp_jsonw_int(&w, j->retry_interval);
        dcmp_jsonw_lit(&w, "},\"dependsOn\":[");
        for (k = 0; k < j->ndeps; k++) {
            if (k)
                dcmp_jsonw_lit(&w, ",");
            dcmp_jsonw_str(&w, plan->jobs[j->deps[k]].name);
        }
        dcmp_jsonw_lit(&w, "],\"dependsOnIds\":[");
        for (k = 0; k < j->ndeps; k++) {
            if (k)
                dcmp_jsonw_lit(&w, ",");
            dcmp_jsonw_str(&w, plan->jobs[j->deps[k]].id);
        }
        dcmp_jsonw_lit(&w, "]");
        if (kwargs) {
            /* a text dcmp_plan_kwargs wrote from cJSON prints: valid JSON */
            key(&w, "kwargs", 0);
            dcmp_jsonw_lit(&w, j->kwargs);
        }
        dcmp_jsonw_lit(&w, "}");
    }
    dcmp_jsonw_lit(&w, "],\"decisions\":[");
    for (i = 0; i < plan->ndecisions; i++) {
        const dcmp_plan_decision *d = &plan->decisions[i];
        dcmp_jsonw_lit(&w, i ? ",{" : "{");
        key(&w, "jobName", 1);
        dcmp_jsonw_str(&w, d->job_name);
        key(&w, "source", 0);
        dcmp_jsonw_str(&w, d->source);
        key(&w, "group", 0);
        dcmp_jsonw_str(&w, group_names[d->group]);
        key(&w, "trigger", 0);
        dcmp_jsonw_str(&w, dcmp_trigger_levels[d->level]);
        key(&w, "decision", 0);
        dcmp_jsonw_str(&w, d->decision);
        key(&w, "reason", 0);
        dcmp_jsonw_str(&w, d->reason);
        key(&w, "jobId", 0);
        if (d->job >= 0)
            dcmp_jsonw_str(&w, plan->jobs[d->job].id);
        else
            dcmp_jsonw_lit(&w, "null");
        dcmp_jsonw_lit(&w, "}");
    }
    dcmp_jsonw_lit(&w, "],\"reports\":[");
    for (i = 0; i < plan->nreports; i++) {
        if (i)
            dcmp_jsonw_lit(&w, ",");
        dcmp_jsonw_str(&w, plan->reports[i]);
    }
    dcmp_jsonw_lit(&w, "]}");
    return dcmp_jsonw_finish(&w);
}

void dcmp_plan_specs(const dcmp_plan *plan, dcmp_job_spec *specs, const char **dep_ids)
{
    int i, k;

    for (i = 0; i < plan->njobs; i++) {
        const dcmp_plan_job *j = &plan->jobs[i];
        const char **deps = dep_ids + (size_t)i * DCMP_DEPS_MAX;
        for (k = 0; k < j->ndeps; k++)
            deps[k] = plan->jobs[j->deps[k]].id;
        specs[i].id = j->id;
        specs[i].name = j->name;
        specs[i].func = j->worker;
        specs[i].queue = j->queue;
        specs[i].kwargs = j->kwargs;
        specs[i].timeout = j->timeout;
        specs[i].deps = deps;
        specs[i].ndeps = j->ndeps;
        specs[i].retry_max = j->retry_max;
        specs[i].retry_interval = j->retry_interval;
    }
}
