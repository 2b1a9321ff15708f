/* series.c -- what decides a series' planning, taken from Orthanc itself and never from the
 * event's body: the series' LastUpdate (the version planned once), its instance count and
 * modality (MIN_INSTANCES, SUPPORTED_MODALITY), its stability and SeriesInstanceUID. One
 * GET /series/{id} per event, by the planner's dcmp-dicom helper. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
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

/* The claim's answer for one event, with Orthanc's facts (orthanc: f filled) or the body's. */
static void judge(planner *pl, series_verdict *v, const dcmp_queue_claim *c, int orthanc)
{
    scheduler *s = pl->s;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(v->w.data, "ignoredBecause");

    v->rc = 1;
    v->state = "ignored";
    if (c->result == 0) {
        atomic_fetch_add(&s->m.duplicates, 1);
        snprintf(v->why, sizeof v->why, "duplicate of event %s (series %s version %s)", c->other,
                 c->series, c->version);
    } else if (c->result == 2) {
        /* a webhook for a series Orthanc still receives: it may only make the scheduler look */
        int looked = s->cfg->early_stable && watch_add(s, c->series) >= 0;
        snprintf(v->why, sizeof v->why,
                 "Orthanc does not call series %s stable yet (%d instance(s) so far): %s",
                 c->series, v->f.instances,
                 looked ? "watched until it is (arrival watch), and Orthanc's webhook follows"
                        : "Orthanc's webhook follows when it is");
    } else if (orthanc && series_ignored(s->cfg, &v->f, v->why, sizeof v->why)) {
        /* left out by MIN_INSTANCES or SUPPORTED_MODALITY: ignored, the reason given */
    } else if (!orthanc && cJSON_IsString(reason)) {
        snprintf(v->why, sizeof v->why, "%s", reason->valuestring);
    } else {
        v->rc = 0;
        v->state = NULL;
    }
}

void series_decide_all(planner *pl, series_verdict *const *v, const char *const *ids, int n)
{
    scheduler *s = pl->s;
    const int orthanc = s->cfg->orthanc_url[0] != '\0';
    dcmp_queue_claim c[DCMP_QUEUE_EVENT_BATCH];
    series_verdict *who[DCMP_QUEUE_EVENT_BATCH];
    int k, nc = 0;

    for (k = 0; k < n && k < DCMP_QUEUE_EVENT_BATCH; k++) {
        series_verdict *x = v[k];
        x->state = "failed";
        x->cut = PLAN_CUT_NONE;
        if (orthanc) {
            /* one GET each, within the event's budget (PLAN_TIMEOUT), as its planning */
            pl->cut = PLAN_CUT_NONE;
            pl->deadline_ms = dcmp_clock_mono_ms() + s->cfg->plan_timeout * 1000;
            x->rc = series_look(&pl->dicom, x->w.series, &x->f, x->why);
            pl->deadline_ms = 0;
            x->cut = pl->cut;
            if (x->rc != 0)
                continue; /* nothing claimed: a later real arrival is planned */
        }
        memset(&c[nc], 0, sizeof c[nc]);
        c[nc].id = ids[k];
        c[nc].series = x->w.series;
        c[nc].version = orthanc ? x->f.last_update : x->w.version;
        c[nc].stable = orthanc ? x->f.stable : 1;
        who[nc++] = x;
    }
    if (nc == 0)
        return;
    if (dcmp_queue_event_claims(pl->seen, c, nc, s->cfg->seen_ttl) < 0) {
        for (k = 0; k < nc; k++) {
            who[k]->rc = -1;
            snprintf(who[k]->why, sizeof who[k]->why, "claiming series %s version %s: %s",
                     c[k].series, c[k].version, dcmp_queue_errstr(pl->seen));
        }
        return;
    }
    for (k = 0; k < nc; k++)
        judge(pl, who[k], &c[k], orthanc);
}
