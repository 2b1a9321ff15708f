/* series.c -- what decides a series' planning, taken from Orthanc itself and never from the
 * event's body: the series' LastUpdate (the version planned once), its instance count and
 * modality (MIN_INSTANCES, SUPPORTED_MODALITY), its stability and SeriesInstanceUID. One
 * GET /series/{id} per event, by the planner's dcmp-dicom helper. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "scheduler.h"
#include "webhook.h"

/* Copies o[key] when it is a string that fits; returns 1 then, else 0 ("" in out). */
static int text(const cJSON *o, const char *key, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    out[0] = '\0';
    return cJSON_IsString(v) && dcmp_strlcpy(out, v->valuestring, size) == 0;
}

int series_look(helper *h, const char *id, series_facts *f, char *why)
{
    const cJSON *tags;
    char path[128];
    cJSON *info = NULL;
    int rc;

    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "/series/%.64s", id);
    if ((rc = helper_get(h, path, &info, why)) != 0) {
        if (rc > 0 && strstr(why, "HTTP 404"))
            snprintf(why, DCMP_ERR_LEN,
                     "Orthanc has no series %.64s (HTTP 404: never received, or deleted): "
                     "nothing planned",
                     id);
        return rc;
    }
    tags = cJSON_GetObjectItemCaseSensitive(info, "MainDicomTags");
    f->instances = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(info, "Instances"));
    f->stable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "IsStable"));
    text(info, "ParentStudy", f->study, sizeof f->study);
    text(tags, "Modality", f->modality, sizeof f->modality);
    rc = text(info, "LastUpdate", f->last_update, sizeof f->last_update) && f->last_update[0] &&
                 text(tags, "SeriesInstanceUID", f->uid, sizeof f->uid)
             ? 0
             : 1;
    cJSON_Delete(info);
    if (rc)
        snprintf(why, DCMP_ERR_LEN,
                 "GET %s: no LastUpdate or SeriesInstanceUID (or one too long) in Orthanc's "
                 "answer",
                 path);
    return rc;
}

int series_ignored(const dcmp_config *cfg, const series_facts *f, char *why, size_t size)
{
    if (f->instances < cfg->min_instances) {
        snprintf(why, size, "%d instance(s), fewer than MIN_INSTANCES=%lld", f->instances,
                 (long long)cfg->min_instances);
        return 1;
    }
    if (!dcmp_config_modality_ok(cfg, f->modality)) {
        snprintf(why, size, "modality %s is not in SUPPORTED_MODALITY", f->modality);
        return 1;
    }
    return 0;
}

/* The claim's answer 0 (a duplicate) as the event's outcome. */
static int duplicate(scheduler *s, const char *other, const char *series, const char *version,
                     const char **state, char *why)
{
    atomic_fetch_add(&s->m.duplicates, 1);
    *state = "ignored";
    snprintf(why, DCMP_ERR_LEN, "duplicate of event %s (series %s version %s)", other, series,
             version);
    return 1;
}

int series_decide(planner *pl, const char *id, const char *series, series_facts *f,
                  const char **state, char *why)
{
    scheduler *s = pl->s;
    char other[DCMP_ID_LEN];
    int rc;

    *state = "failed";
    if ((rc = series_look(&pl->dicom, series, f, why)) != 0)
        return rc;
    rc = dcmp_queue_event_claim(pl->seen, id, series, f->last_update, f->stable, s->cfg->seen_ttl,
                                other);
    if (rc < 0)
        return dcmp_seterr(why, "claiming series %s version %s: %s", series, f->last_update,
                           dcmp_queue_errstr(pl->seen));
    if (rc == 0)
        return duplicate(s, other, series, f->last_update, state, why);
    *state = "ignored";
    if (rc == 2) {
        /* a webhook for a series Orthanc still receives: it may only make the scheduler look */
        int looked = s->cfg->early_stable && watch_add(s, series) >= 0;
        snprintf(why, DCMP_ERR_LEN,
                 "Orthanc does not call series %s stable yet (%d instance(s) so far): %s", series,
                 f->instances,
                 looked ? "watched until it is (arrival watch), and Orthanc's webhook follows"
                        : "Orthanc's webhook follows when it is");
        return 1;
    }
    if (series_ignored(s->cfg, f, why, DCMP_ERR_LEN))
        return 1;
    return 0;
}

int series_decide_body(planner *pl, const char *id, const dcmp_webhook *w, const char **state,
                       char *why)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(w->data, "ignoredBecause");
    char other[DCMP_ID_LEN];
    int rc;

    *state = "failed";
    rc =
        dcmp_queue_event_claim(pl->seen, id, w->series, w->version, 1, pl->s->cfg->seen_ttl, other);
    if (rc < 0)
        return dcmp_seterr(why, "claiming series %s version %s: %s", w->series, w->version,
                           dcmp_queue_errstr(pl->seen));
    if (rc == 0)
        return duplicate(pl->s, other, w->series, w->version, state, why);
    if (cJSON_IsString(reason)) {
        *state = "ignored";
        snprintf(why, DCMP_ERR_LEN, "%s", reason->valuestring);
        return 1;
    }
    return 0;
}
