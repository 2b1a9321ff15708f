/* trigger.c -- an entry's level (series, study, patient) and when a study-level entry is ready:
 * `trigger`, `requires`, `completeTimeout`, `onTimeout`, `rerun`, `rerunWindow`
 * (docs/planning.md). Pure. */
#include "trigger.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "glob.h"

const char *const dcmp_trigger_levels[DCMP_LEVELS] = {"series", "study", "patient"};

/* The keys only study and patient entries may have, in the order they are checked. */
static const char *const level_keys[] = {"requires", "completeTimeout", "onTimeout", "rerun",
                                         "rerunWindow"};

static int fail(const char **field, const char *name, char *why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(const char **field, const char *name, char *why, const char *fmt, ...)
{
    va_list ap;

    *field = name;
    va_start(ap, fmt);
    vsnprintf(why, DCMP_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

static const cJSON *item(const cJSON *entry, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);

    return cJSON_IsNull(v) ? NULL : v;
}

/* One of names[] (n of them), or -1. */
static int pick(const cJSON *v, const char *const *names, int n)
{
    int i;

    for (i = 0; cJSON_IsString(v) && i < n; i++)
        if (strcmp(v->valuestring, names[i]) == 0)
            return i;
    return -1;
}

static int pattern_ok(const cJSON *p)
{
    if (cJSON_IsNumber(p))
        return isfinite(p->valuedouble);
    return cJSON_IsString(p) && strlen(p->valuestring) <= DCMP_GLOB_PATTERN_MAX;
}

/* Checks one condition object, adding its patterns to *npatterns; why names it ("condition 2:
 * SeriesDescription: ..."). */
static int check_condition(const cJSON *cond, int index, int *npatterns, char *why)
{
    const cJSON *f, *alt;
    int nfields = 0;

    if (!cJSON_IsObject(cond) || cond->child == NULL)
        return dcmp_seterr(why,
                           "condition %d: must be an object of header fields, such as "
                           "{\"SeriesDescription\": \"*FLAIR*\"}",
                           index);
    cJSON_ArrayForEach(f, cond)
    {
        int nalt = 0;
        if (++nfields > DCMP_TRIGGER_MAX_FIELDS)
            return dcmp_seterr(why, "condition %d: more than %d fields", index,
                               DCMP_TRIGGER_MAX_FIELDS);
        if (f->string == NULL || f->string[0] == '\0')
            return dcmp_seterr(why, "condition %d: a field name is empty", index);
        *npatterns += cJSON_IsArray(f) ? cJSON_GetArraySize(f) : 1;
        if (*npatterns > DCMP_TRIGGER_MAX_PATTERNS)
            return dcmp_seterr(why, "condition %d: %s: more than %d patterns in all", index,
                               f->string, DCMP_TRIGGER_MAX_PATTERNS);
        if (pattern_ok(f))
            continue;
        if (cJSON_IsArray(f) && f->child != NULL) {
            cJSON_ArrayForEach(alt, f)
            {
                if (++nalt > DCMP_TRIGGER_MAX_ALTERNATIVES)
                    return dcmp_seterr(why, "condition %d: %s: more than %d alternatives", index,
                                       f->string, DCMP_TRIGGER_MAX_ALTERNATIVES);
                if (!pattern_ok(alt))
                    break;
            }
            if (alt == NULL)
                continue;
        }
        return dcmp_seterr(why,
                           "condition %d: %s: must be a pattern string of at most %d bytes, a "
                           "number, or a non-empty list of them",
                           index, f->string, DCMP_GLOB_PATTERN_MAX);
    }
    return 0;
}

static int read_requires(const cJSON *v, dcmp_trigger *t, const char **field, char *why)
{
    const cJSON *c;
    int i = 0, npatterns = 0;

    *field = "requires";
    if (cJSON_IsObject(v)) { /* one condition given alone: a list of one */
        if (check_condition(v, 1, &npatterns, why) < 0)
            return -1;
        t->requires = v;
        t->nrequires = 1;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return dcmp_seterr(why, "must be a list of conditions, such as [{\"Modality\": \"MR\", "
                                "\"SeriesDescription\": \"*T1*\"}]");
    cJSON_ArrayForEach(c, v)
    {
        if (++i > DCMP_TRIGGER_MAX_REQUIRES)
            return dcmp_seterr(why, "more than %d conditions", DCMP_TRIGGER_MAX_REQUIRES);
        if (check_condition(c, i, &npatterns, why) < 0)
            return -1;
    }
    t->requires = i ? v : NULL;
    t->nrequires = i;
    return 0;
}

/* A duration key of a study entry (`completeTimeout`, `rerunWindow`): a number of seconds or a
 * string as a job's `timeout`, not -1. Returns 0 with *out, or -1 with *field and why. */
static int read_duration(const cJSON *v, int64_t *out, const char *name, const char *must,
                         const char **field, char *why)
{
    int rc = cJSON_IsNumber(v)   ? dcmp_duration_from_number(v->valuedouble, out, why)
             : cJSON_IsString(v) ? dcmp_duration_parse(v->valuestring, out, why)
                                 : dcmp_seterr(why, "must be a number of seconds or a "
                                                    "string such as \"30m\", \"2h\"");

    if (rc == 0 && *out < 0)
        rc = dcmp_seterr(why, "-1 (no limit) is not allowed: %s at some point", must);
    if (rc < 0)
        *field = name;
    return rc;
}

int dcmp_trigger_read(const cJSON *entry, dcmp_trigger *t, const char **field, char *why)
{
    static const char *const on_timeout[] = {"drop", "plan"};
    static const char *const rerun[] = {"new-series", "never"};
    const cJSON *v;
    size_t k;

    memset(t, 0, sizeof *t);
    t->complete_timeout = DCMP_TRIGGER_COMPLETE_DEFAULT;
    v = item(entry, "trigger");
    if (v && (t->level = pick(v, dcmp_trigger_levels, DCMP_LEVELS)) < 0)
        return fail(field, "trigger", why, "must be \"series\", \"study\" or \"patient\"");
    if (t->level == DCMP_LEVEL_SERIES) {
        for (k = 0; k < sizeof level_keys / sizeof *level_keys; k++)
            if (item(entry, level_keys[k]))
                return fail(field, level_keys[k], why,
                            "only for an entry with trigger \"study\" or \"patient\" (this one "
                            "runs per series)");
        return 0;
    }
    if ((v = item(entry, "requires")) && read_requires(v, t, field, why) < 0)
        return -1;
    if ((v = item(entry, "completeTimeout")) &&
        read_duration(v, &t->complete_timeout, "completeTimeout", "a study must be decided", field,
                      why) < 0)
        return -1;
    v = item(entry, "onTimeout");
    if (v && (t->on_timeout = pick(v, on_timeout, 2)) < 0)
        return fail(field, "onTimeout", why, "must be \"drop\" (the default) or \"plan\"");
    v = item(entry, "rerun");
    if (v && (t->rerun = pick(v, rerun, 2)) < 0)
        return fail(field, "rerun", why, "must be \"new-series\" (the default) or \"never\"");
    t->rerun_window = t->rerun == DCMP_RERUN_NEVER ? 0 : DCMP_TRIGGER_WINDOW_DEFAULT;
    if ((v = item(entry, "rerunWindow")) && t->rerun == DCMP_RERUN_NEVER)
        return fail(field, "rerunWindow", why,
                    "only with rerun \"new-series\" (this entry never reruns: its files are "
                    "released once its study job ended)");
    if (v && read_duration(v, &t->rerun_window, "rerunWindow", "held files must be released", field,
                           why) < 0)
        return -1;
    return 0;
}

/* A number read from a string field ("3", " 3 "), as DICOM IS/DS values come. */
static int as_number(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    while (*end == ' ')
        end++;
    return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

/* Whether one pattern matches one scalar value. */
static int pattern_matches(const cJSON *pattern, const cJSON *value)
{
    char text[64];
    double d;

    if (cJSON_IsNumber(pattern)) {
        if (cJSON_IsNumber(value))
            return value->valuedouble == pattern->valuedouble;
        return cJSON_IsString(value) && as_number(value->valuestring, &d) &&
               d == pattern->valuedouble;
    }
    if (cJSON_IsString(value))
        return strlen(value->valuestring) <= DCMP_TRIGGER_VALUE_MAX &&
               dcmp_glob_match(pattern->valuestring, value->valuestring, NULL);
    if (!cJSON_IsNumber(value))
        return 0;
    if (value->valuedouble == floor(value->valuedouble) && fabs(value->valuedouble) < 1e15)
        snprintf(text, sizeof text, "%.0f", value->valuedouble);
    else
        snprintf(text, sizeof text, "%.17g", value->valuedouble);
    return dcmp_glob_match(pattern->valuestring, text, NULL);
}

/* Whether any of the patterns (one, or a list of alternatives) matches the value, or for a
 * multi-valued field any of its first items. */
static int field_matches(const cJSON *patterns, const cJSON *value)
{
    const cJSON *p, *v;
    int n = 0;

    if (cJSON_IsArray(value)) {
        cJSON_ArrayForEach(v, value)
        {
            if (++n > DCMP_TRIGGER_MAX_VALUES)
                break;
            if (!cJSON_IsArray(v) && field_matches(patterns, v))
                return 1;
        }
        return 0;
    }
    if (!cJSON_IsArray(patterns))
        return pattern_matches(patterns, value);
    cJSON_ArrayForEach(p, patterns) if (pattern_matches(p, value)) return 1;
    return 0;
}

int dcmp_trigger_matches(const dcmp_trigger *t, int cond, const cJSON *fields)
{
    const cJSON *c, *f;

    if (t->requires == NULL || cond < 0 || cond >= t->nrequires || !cJSON_IsObject(fields))
        return 0;
    c = cJSON_IsObject(t->requires) ? t->requires : cJSON_GetArrayItem(t->requires, cond);
    cJSON_ArrayForEach(f, c)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, f->string);
        if (v == NULL || !field_matches(f, v))
            return 0;
    }
    return 1;
}
