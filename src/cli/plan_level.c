/* plan_level.c -- dcm-processor plan for a study or patient event: each entry of the level is
 * decided from the series the event lists (dcmp_study_decide, as the scheduler decides), so
 * `plan --level study` shows which entries such an event runs and, for the others, why not
 * ("study wait: requires unmet ..."). */
#include "plan_level.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* o's string member key, NULL when absent or not a string. */
static const char *text(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Adds the series objects of list (of study `study`, NULL for a study event) to c. */
static int add_series(cli_level *c, const cJSON *list, const char *where, const char *study,
                      const cJSON *study_fields, int64_t now, char *err)
{
    const cJSON *s;
    int i = 0;

    cJSON_ArrayForEach(s, list)
    {
        dcmp_study_series *d;
        const cJSON *n;
        if (c->nseries == DCMP_STUDY_MAX_SERIES)
            return dcmp_seterr(err, "more than %d series", DCMP_STUDY_MAX_SERIES);
        if (!cJSON_IsObject(s) || text(s, "SeriesInstanceUID") == NULL)
            return dcmp_seterr(err,
                               "%s[%d]: must be an object of the series' header fields with "
                               "SeriesInstanceUID",
                               where, i);
        d = &c->series[c->nseries++];
        memset(d, 0, sizeof *d);
        d->uid = text(s, "SeriesInstanceUID");
        d->id = text(s, "seriesId") ? text(s, "seriesId") : d->uid;
        d->dcmpath = text(s, "dcmpath") ? text(s, "dcmpath") : "";
        d->fields = s;
        n = cJSON_GetObjectItemCaseSensitive(s, "instances");
        d->instances = cJSON_IsNumber(n) ? (int64_t)n->valuedouble : 0;
        d->last_update = "";
        d->arrived = now;
        d->stable = d->planned = d->ended = 1;
        d->study = study;
        d->study_fields = study_fields;
        i++;
    }
    return 0;
}

int cli_level_decide(const cJSON *event, int level, const dcmp_settings_files *reg, cli_level *c,
                     char *err)
{
    const int64_t now = (int64_t)time(NULL);
    const cJSON *list, *st;
    dcmp_study_view v;
    int i;

    memset(c, 0, sizeof *c);
    if ((c->L = dcmp_level_of(level)) == NULL)
        return dcmp_seterr(err, "level %d has no events of its own", level);
    list = cJSON_GetObjectItemCaseSensitive(event, c->L->members);
    if (!cJSON_IsArray(list))
        return dcmp_seterr(
            err, "a %s event needs its \"%s\" list (each %s with its header fields%s)", c->L->name,
            c->L->members, level == DCMP_LEVEL_STUDY ? "series" : "study",
            level == DCMP_LEVEL_STUDY ? " and SeriesInstanceUID" : " and its \"series\" list");
    if ((c->series = calloc(DCMP_STUDY_MAX_SERIES, sizeof *c->series)) == NULL)
        return dcmp_seterr(err, "out of memory");
    if (level == DCMP_LEVEL_STUDY) {
        if (add_series(c, list, "series", NULL, NULL, now, err) < 0)
            return -1;
    } else {
        i = 0;
        cJSON_ArrayForEach(st, list)
        {
            char where[64];
            const char *id = text(st, "studyId");
            snprintf(where, sizeof where, "studies[%d].series", i);
            if (!cJSON_IsObject(st) ||
                !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(st, "series")))
                return dcmp_seterr(err, "studies[%d]: must be an object with a \"series\" list", i);
            if (add_series(c, cJSON_GetObjectItemCaseSensitive(st, "series"), where, id ? id : "",
                           st, now, err) < 0)
                return -1;
            i++;
        }
    }
    c->n = dcmp_study_entries(reg, level, c->e, CLI_LEVEL_MAX_ENTRIES);
    memset(&v, 0, sizeof v);
    v.series = c->series;
    v.nseries = c->nseries;
    v.stable = 1;
    for (i = 0; i < c->n; i++) {
        char why[DCMP_ERR_LEN];
        if (dcmp_study_decide(&c->e[i].t, &v, now, &c->v[i], why) < 0) {
            memset(&c->v[i], 0, sizeof c->v[i]);
            c->v[i].decision = DCMP_STUDY_DONE;
            snprintf(c->v[i].reason, sizeof c->v[i].reason, "cannot be decided: %.480s", why);
        }
    }
    return 0;
}

int cli_level_due(void *arg, const char *job_name, char *why)
{
    const cli_level *c = arg;
    int i;

    for (i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, job_name) == 0) {
            if (c->v[i].decision == DCMP_STUDY_PLAN)
                return 1;
            snprintf(why, DCMP_ERR_LEN, "%s %s: %.480s", c->L->name,
                     dcmp_study_decisions[c->v[i].decision], c->v[i].reason);
            return 0;
        }
    snprintf(why, DCMP_ERR_LEN, "not decided for this %s (more than %d %s entries)", c->L->name,
             CLI_LEVEL_MAX_ENTRIES, c->L->name);
    return 0;
}

void cli_level_free(cli_level *c)
{
    free(c->series);
    c->series = NULL;
}
