/* study.c -- when a study-level entry runs: completion, timeout, versions and reruns, and the
 * data its job receives (docs/planning.md, "Study and patient triggers"). Pure: no I/O. */
#include "study.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define ID_MAX 128 /* bytes of a study or series id */

const char *const dcmp_study_decisions[4] = {"wait", "plan", "drop", "done"};

static int by_uid(const void *a, const void *b)
{
    const dcmp_study_series *x = *(const dcmp_study_series *const *)a;
    const dcmp_study_series *y = *(const dcmp_study_series *const *)b;

    return strcmp(x->uid, y->uid);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The series sorted by uid (new array: free), or NULL with err. */
static const dcmp_study_series **sorted(const dcmp_study_series *series, int n, char *err)
{
    const dcmp_study_series **s;
    int i;

    if (n < 0 || n > DCMP_STUDY_MAX_SERIES) {
        dcmp_seterr(err, "a study of %d series: at most %d are handled", n, DCMP_STUDY_MAX_SERIES);
        return NULL;
    }
    for (i = 0; i < n; i++)
        if (series[i].uid == NULL || series[i].uid[0] == '\0') {
            dcmp_seterr(err, "series %d (%s) has no SeriesInstanceUID", i + 1,
                        series[i].id ? series[i].id : "no id");
            return NULL;
        }
    if ((s = calloc((size_t)(n ? n : 1), sizeof *s)) == NULL) {
        dcmp_seterr(err, "out of memory sorting %d series", n);
        return NULL;
    }
    for (i = 0; i < n; i++)
        s[i] = &series[i];
    qsort(s, (size_t)n, sizeof *s, by_uid);
    return s;
}

int dcmp_study_key(const dcmp_study_series *series, int n, char key[DCMP_STUDY_VERSION_LEN],
                   char *err)
{
    const dcmp_study_series **s = sorted(series, n, err);
    uint64_t h = 0xcbf29ce484222325ULL;
    int i;

    if (s == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        char count[32];
        const char *lu = s[i]->last_update ? s[i]->last_update : "";
        int len = snprintf(count, sizeof count, "%" PRId64, s[i]->instances);
        /* each part with its NUL, so no two different sets read as the same bytes */
        h = fnv(h, s[i]->uid, strlen(s[i]->uid) + 1);
        h = fnv(h, count, (size_t)len + 1);
        h = fnv(h, lu, strlen(lu) + 1);
    }
    free(s);
    snprintf(key, DCMP_STUDY_VERSION_LEN, "%016" PRIx64, h);
    return 0;
}

static int ready(const dcmp_study_series *s)
{
    return s->stable && s->planned && s->ended;
}

/* What a series still waits for, in words. */
static const char *missing(const dcmp_study_series *s)
{
    if (!s->stable)
        return "to be stable";
    if (!s->planned)
        return "its series event to be planned";
    return "its series jobs to end";
}

static int in_planned(const dcmp_study_view *v, const char *uid)
{
    int i, k;

    for (i = 0; i < v->nplanned; i++)
        for (k = 0; k < v->planned[i].nuids; k++)
            if (strcmp(v->planned[i].uids[k], uid) == 0)
                return 1;
    return 0;
}

/* Appends the conditions no ready series meets to buf ("condition 2 {...}"); returns how
 * many. */
static int unmet(const dcmp_trigger *t, const dcmp_study_view *v, char *buf, size_t size)
{
    int c, i, n = 0;
    size_t len = 0;

    buf[0] = '\0';
    for (c = 0; c < t->nrequires; c++) {
        int met = 0;
        for (i = 0; i < v->nseries && !met; i++)
            met = ready(&v->series[i]) && dcmp_trigger_matches(t, c, v->series[i].fields);
        if (met)
            continue;
        if (n++ < 8 && len < size) { /* the first few are enough to say what is missing */
            const cJSON *cond =
                cJSON_IsObject(t->requires) ? t->requires : cJSON_GetArrayItem(t->requires, c);
            char *text = cJSON_PrintUnformatted(cond);
            int w = snprintf(buf + len, size - len, "%scondition %d %s", n > 1 ? ", " : "", c + 1,
                             text ? text : "");
            free(text);
            len = w < 0 || len + (size_t)w >= size ? size : len + (size_t)w;
        }
    }
    return n;
}

static int verdict(dcmp_study_verdict *out, int decision, int64_t until, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int verdict(dcmp_study_verdict *out, int decision, int64_t until, const char *fmt, ...)
{
    va_list ap;

    out->decision = decision;
    out->wait_until = until;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    return 0;
}

int dcmp_study_decide(const dcmp_trigger *t, const dcmp_study_view *v, int64_t now,
                      dcmp_study_verdict *out, char *err)
{
    const char *level = t->level == DCMP_LEVEL_PATIENT ? "patient" : "study";
    char conds[DCMP_ERR_LEN / 2], limit[32];
    int64_t since = INT64_MAX, deadline;
    int i, nnew = 0, nwait = 0, first_wait = -1, nunmet;

    memset(out, 0, sizeof *out);
    /* at most versions x series x their series comparisons: bounded by the two caps */
    if (v->nplanned < 0 || v->nplanned > DCMP_STUDY_MAX_VERSIONS)
        return dcmp_seterr(err, "%d versions decided before: at most %d are looked at", v->nplanned,
                           DCMP_STUDY_MAX_VERSIONS);
    if (dcmp_study_key(v->series, v->nseries, out->version, err) < 0)
        return -1;
    if (v->nseries == 0)
        return verdict(out, DCMP_STUDY_WAIT, 0, "no series of the %s is known yet", level);
    for (i = 0; i < v->nplanned; i++)
        if (strcmp(v->planned[i].key, out->version) == 0)
            return verdict(out, DCMP_STUDY_DONE, 0, "this content (version %s) was decided already",
                           out->version);
    for (i = 0; i < v->nseries; i++) {
        const dcmp_study_series *s = &v->series[i];
        int fresh = v->nplanned == 0 || !in_planned(v, s->uid);
        nnew += fresh && v->nplanned > 0;
        if (fresh && s->arrived < since)
            since = s->arrived;
        if (!ready(s) && nwait++ == 0)
            first_wait = i;
    }
    if (v->nplanned > 0 && t->rerun == DCMP_RERUN_NEVER)
        return verdict(out, DCMP_STUDY_DONE, 0,
                       "decided before (version %s); rerun is \"never\": not planned again",
                       v->planned[v->nplanned - 1].key);
    if (v->nplanned > 0 && nnew == 0)
        return verdict(out, DCMP_STUDY_DONE, 0,
                       "no new series since version %s (only instances changed): rerun "
                       "\"new-series\" plans again for a new series only",
                       v->planned[v->nplanned - 1].key);
    if (nwait > 0)
        return verdict(out, DCMP_STUDY_WAIT, 0, "waiting for series %s to be ready (%s)%s",
                       v->series[first_wait].uid, missing(&v->series[first_wait]),
                       nwait > 1 ? " and others" : "");
    deadline = since > INT64_MAX - t->complete_timeout ? INT64_MAX : since + t->complete_timeout;
    nunmet = unmet(t, v, conds, sizeof conds);
    if (t->nrequires > 0 && nunmet == 0)
        return verdict(out, DCMP_STUDY_PLAN, 0, "requires met (%d condition%s) with %d series%s",
                       t->nrequires, t->nrequires > 1 ? "s" : "", v->nseries,
                       v->nplanned ? ": a new series came after the last version" : "");
    if (t->nrequires == 0 && v->stable)
        return verdict(out, DCMP_STUDY_PLAN, 0, "%s stable with %d series%s", level, v->nseries,
                       v->nplanned ? ": a new series came after the last version" : "");
    dcmp_duration_format(t->complete_timeout, limit, sizeof limit);
    if (now < deadline) {
        if (t->nrequires > 0)
            return verdict(out, DCMP_STUDY_WAIT, deadline,
                           "waiting for %s, at most until %s after the first series", conds, limit);
        out->awaits_stable = 1;
        return verdict(out, DCMP_STUDY_WAIT, deadline,
                       "waiting for the %s to be stable, at most until %s after the first "
                       "series",
                       level, limit);
    }
    out->timed_out = 1;
    if (t->nrequires == 0)
        return verdict(out, DCMP_STUDY_PLAN, 0,
                       "completeTimeout %s passed without a stable %s: planned with %d series",
                       limit, level, v->nseries);
    if (t->on_timeout == DCMP_ON_TIMEOUT_PLAN)
        return verdict(out, DCMP_STUDY_PLAN, 0,
                       "completeTimeout %s passed, requires unmet (%s): onTimeout \"plan\": "
                       "planned with %d series",
                       limit, conds, v->nseries);
    return verdict(out, DCMP_STUDY_DROP, 0,
                   "completeTimeout %s passed, requires unmet (%s): onTimeout \"drop\"", limit,
                   conds);
}

/* An Orthanc id or a UID: [0-9A-Za-z.-], not "." or "..", at most ID_MAX bytes. */
static int id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    size_t i;

    if (n == 0 || n > ID_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* A relative path under DATA: no leading '/', no ".." component, printable. */
static int relpath_ok(const char *p)
{
    const char *c;

    if (p == NULL || p[0] == '\0' || p[0] == '/')
        return 0;
    for (c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return 0;
    for (c = p; c; c = strchr(c, '/')) {
        if (*c == '/')
            c++;
        if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
            return 0;
    }
    return 1;
}

static int version_ok(const char *v)
{
    size_t i;

    if (v == NULL || strlen(v) != DCMP_STUDY_VERSION_LEN - 1)
        return 0;
    for (i = 0; v[i]; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
            return 0;
    return 1;
}

int dcmp_study_link(const dcmp_level *L, const char *id, const char *version,
                    const dcmp_study_series *s, char *link, char *target, size_t size, char *err)
{
    int deep = L->depth > 1, n, m;

    if (!id_ok(id))
        return dcmp_seterr(err, "%s id \"%.200s\": must be letters, digits, '.' or '-'", L->name,
                           id ? id : "");
    if (!version_ok(version))
        return dcmp_seterr(err, "%s %s: version \"%.40s\": must be 16 hex digits", L->name, id,
                           version ? version : "");
    if (!id_ok(s->id))
        return dcmp_seterr(err,
                           "%s %s: series id \"%.200s\": must be letters, digits, '.' "
                           "or '-'",
                           L->name, id, s->id ? s->id : "");
    if (deep && !id_ok(s->study))
        return dcmp_seterr(err,
                           "%s %s: series %s: study id \"%.200s\": must be letters, digits, "
                           "'.' or '-'",
                           L->name, id, s->id, s->study ? s->study : "");
    if (!relpath_ok(s->dcmpath))
        return dcmp_seterr(err,
                           "%s %s: series %s: dcmpath \"%.200s\": must be a path under "
                           "DATA without \"..\"",
                           L->name, id, s->id, s->dcmpath ? s->dcmpath : "");
    if (deep)
        n = snprintf(link, size, "%s/%s/%s/%s/%s", L->folder, id, version, s->study, s->id);
    else
        n = snprintf(link, size, "%s/%s/%s/%s", L->folder, id, version, s->id);
    /* from the link's folder up to DATA: <folder>/<id>/<version>[/<study>] */
    m = snprintf(target, size, "%s%s", deep ? "../../../../" : "../../../", s->dcmpath);
    if (n < 0 || m < 0 || (size_t)n >= size || (size_t)m >= size)
        return dcmp_seterr(err, "%s %s: series %s: a path needs more than %zu bytes", L->name, id,
                           s->id, size);
    return 0;
}

/* SeriesNumber as a number (a JSON number or a numeric string); absent sorts last. */
static double series_number(const dcmp_study_series *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->fields, "SeriesNumber");
    char *end;
    double d;

    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v)) {
        d = strtod(v->valuestring, &end);
        if (end != v->valuestring && isfinite(d))
            return d;
    }
    return HUGE_VAL;
}

static int by_number(const void *a, const void *b)
{
    const dcmp_study_series *x = *(const dcmp_study_series *const *)a;
    const dcmp_study_series *y = *(const dcmp_study_series *const *)b;
    double nx = series_number(x), ny = series_number(y);

    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(x->uid, y->uid);
}

/* A study's own field as text ("" when absent). */
static const char *study_field(const dcmp_study_series *s, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->study_fields, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* At patient level: by study (StudyDate, then the study id), then as by_number. */
static int by_study(const void *a, const void *b)
{
    const dcmp_study_series *x = *(const dcmp_study_series *const *)a;
    const dcmp_study_series *y = *(const dcmp_study_series *const *)b;
    int c = strcmp(study_field(x, "StudyDate"), study_field(y, "StudyDate"));

    if (c == 0)
        c = strcmp(x->study ? x->study : "", y->study ? y->study : "");
    return c ? c : by_number(a, b);
}

/* The series' entry of the "series" list, or NULL with err. */
static cJSON *series_item(const dcmp_study_series *s, const char *dcmpath, char *err)
{
    static const char *const copied[] = {"Modality", "SeriesDescription", "SeriesNumber"};
    cJSON *o = cJSON_CreateObject();
    size_t k;

    if (o == NULL || !cJSON_AddStringToObject(o, "seriesId", s->id) ||
        !cJSON_AddStringToObject(o, "SeriesInstanceUID", s->uid))
        goto oom;
    for (k = 0; k < sizeof copied / sizeof *copied; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->fields, copied[k]);
        cJSON *copy = v ? cJSON_Duplicate(v, 1) : NULL;
        if (v && (copy == NULL || !cJSON_AddItemToObject(o, copied[k], copy))) {
            cJSON_Delete(copy);
            goto oom;
        }
    }
    if (!cJSON_AddNumberToObject(o, "instances", (double)s->instances) ||
        !cJSON_AddStringToObject(o, "dcmpath", dcmpath))
        goto oom;
    return o;
oom:
    cJSON_Delete(o);
    dcmp_seterr(err, "out of memory listing series %s", s->id);
    return NULL;
}

/* A copy of fields (an object, or a new empty one) without "dcmpath" and the lists a level's
 * data sets, with "dcmpath" folder and an empty list named list (*out). NULL when out of
 * memory. */
static cJSON *level_object(const cJSON *fields, const char *folder, const char *list, cJSON **out)
{
    cJSON *o = cJSON_IsObject(fields) ? cJSON_Duplicate(fields, 1) : cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "dcmpath");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "series");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "studies");
    if (!cJSON_AddStringToObject(o, "dcmpath", folder) ||
        (*out = cJSON_AddArrayToObject(o, list)) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *dcmp_study_data(const dcmp_level *L, const cJSON *fields, const char *id,
                       const char *version, const dcmp_study_series *series, int n, char *err)
{
    const dcmp_study_series **s = sorted(series, n, err);
    char link[4096], target[4096], folder[512], sub[1024];
    cJSON *data = NULL, *list, *study = NULL, *in = NULL;
    int i;

    if (s == NULL)
        return NULL;
    if (!id_ok(id) || !version_ok(version)) {
        dcmp_seterr(err,
                    "%s id \"%.200s\" (letters, digits, '.', '-') or version \"%.40s\" "
                    "(16 hex digits) is not valid",
                    L->name, id ? id : "", version ? version : "");
        free(s);
        return NULL;
    }
    qsort(s, (size_t)n, sizeof *s, L->depth > 1 ? by_study : by_number);
    snprintf(folder, sizeof folder, "%s/%s/%s", L->folder, id, version);
    if ((data = level_object(fields, folder, L->members, &list)) == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        cJSON *item;
        if (dcmp_study_link(L, id, version, s[i], link, target, sizeof link, err) < 0)
            goto fail;
        if ((item = series_item(s[i], link, err)) == NULL)
            goto fail;
        if (L->depth > 1 && (i == 0 || strcmp(s[i]->study, s[i - 1]->study) != 0)) {
            /* a patient: the series of each study under it */
            snprintf(sub, sizeof sub, "%s/%s", folder, s[i]->study);
            if ((study = level_object(s[i]->study_fields, sub, "series", &in)) == NULL) {
                cJSON_Delete(item);
                goto oom;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(study, "studyId");
            if (!cJSON_AddStringToObject(study, "studyId", s[i]->study)) {
                cJSON_Delete(item);
                cJSON_Delete(study);
                goto oom;
            }
            cJSON_AddItemToArray(list, study);
        }
        cJSON_AddItemToArray(L->depth > 1 ? in : list, item);
    }
    free(s);
    return data;
oom:
    dcmp_seterr(err, "out of memory making the data of %s %.200s", L->name, id ? id : "");
fail:
    cJSON_Delete(data);
    free(s);
    return NULL;
}

int dcmp_study_entries(const dcmp_settings_files *reg, int level, dcmp_study_entry *out, int max)
{
    int f, k, count = 0;

    for (f = 0; f < reg->n; f++) {
        const cJSON *root = reg->files[f].root;
        int n = cJSON_IsArray(root) ? cJSON_GetArraySize(root) : cJSON_IsObject(root);
        for (k = 0; k < n; k++) {
            const cJSON *e = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, k) : root;
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "jobName");
            const char *field;
            char why[DCMP_ERR_LEN];
            dcmp_trigger t;
            if (!cJSON_IsObject(e) || !cJSON_IsString(name) ||
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "disabled")) ||
                dcmp_trigger_read(e, &t, &field, why) < 0 || t.level != level)
                continue;
            if (count == max)
                return count;
            out[count].name = name->valuestring;
            out[count].t = t;
            count++;
        }
    }
    return count;
}

int dcmp_study_keep(const dcmp_trigger *const *t, int n, int64_t quiet_ms, int64_t now_ms,
                    int64_t *until_ms)
{
    int64_t window = 0;
    int i;

    *until_ms = 0;
    if (quiet_ms <= 0)
        return 1;
    for (i = 0; i < n; i++)
        if (t[i]->rerun == DCMP_RERUN_NEW_SERIES && t[i]->rerun_window > window)
            window = t[i]->rerun_window;
    /* at most 10 years (duration.h): no overflow in ms */
    *until_ms = quiet_ms + window * 1000;
    if (now_ms < *until_ms)
        return 1;
    *until_ms = 0;
    return 0;
}
