/* catchup.c -- dcmp-scheduler's catch-up: reads Orthanc's /changes from the last sequence
 * number handled and turns every StableSeries into an event, so a series whose webhook was
 * lost (the scheduler down, a network failure) is planned anyway; with the Lua script's
 * filters (MIN_INSTANCES, SUPPORTED_MODALITY, the pipeline's own results). Its own thread. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "orthanc.h"
#include "scheduler.h"
#include "webhook.h"

#define CATCHUP_PAGE 200

/* The text value of a /tags?short answer's element "gggg,eeee", or NULL. */
static const char *short_tag(const cJSON *tags, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * Why the series `info` (Orthanc's /series/{id}) is not to be processed, as the Lua script
 * decides for the webhook: fewer instances than MIN_INSTANCES, a modality not in
 * SUPPORTED_MODALITY, or a result the pipeline stored back (its first instance carries the
 * private ActionSource (0405,1005) = dcm-processor under the creator DCM-PROCESSOR; without this
 * guard every stored result would be planned again at the next scan). Writes the reason and
 * returns 1, or returns 0 (process it).
 */
static int not_processed(scheduler *s, dcmp_orthanc *o, const char *series, const cJSON *info,
                         char *why, size_t size)
{
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(info, "Instances");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(info, "MainDicomTags");
    const cJSON *first = cJSON_GetArrayItem(inst, 0);
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(tags, "Modality");
    const char *modality = cJSON_IsString(mod) ? mod->valuestring : "";
    int n = cJSON_GetArraySize(inst);
    char path[160], err[DCMP_ERR_LEN];
    const char *creator, *source;
    cJSON *short_tags = NULL;
    int rc = 0;

    if (n < s->cfg->min_instances) {
        snprintf(why, size, "%d instance(s), fewer than MIN_INSTANCES=%lld", n,
                 (long long)s->cfg->min_instances);
        return 1;
    }
    if (!dcmp_config_modality_ok(s->cfg, modality)) {
        snprintf(why, size, "modality %s is not in SUPPORTED_MODALITY", modality);
        return 1;
    }
    if (!cJSON_IsString(first) || !dcmp_orthanc_id_ok(first->valuestring))
        return 0;
    snprintf(path, sizeof path, "/instances/%s/tags?short", first->valuestring);
    if (dcmp_orthanc_get_json(o, path, &short_tags, err) < 0) {
        dcmp_log_warn("catch-up: series %s: %s (processed)", series, err);
        return 0;
    }
    creator = short_tag(short_tags, "0405,0010");
    source = short_tag(short_tags, "0405,1005");
    if (creator && source && strncmp(creator, "DCM-PROCESSOR", 13) == 0 &&
        strncmp(source, "dcm-processor", 13) == 0) {
        snprintf(why, size, "a result of the pipeline (ActionSource dcm-processor)");
        rc = 1;
    }
    cJSON_Delete(short_tags);
    return rc;
}

/* Accepts one stable series as an event, with the body and version a webhook would have, so
 * a series both posted and caught up is one event. Returns 0, or -1 when Redis failed. */
static int accept_series(scheduler *s, dcmp_orthanc *o, dcmp_queue *q, const char *series)
{
    char path[128], err[DCMP_ERR_LEN], id[DCMP_ID_LEN], dup[DCMP_ID_LEN], why[160], *body;
    const cJSON *lu, *study, *patient;
    cJSON *info = NULL, *b, *sinfo = NULL;
    dcmp_webhook w;
    int rc;

    snprintf(path, sizeof path, "/series/%s", series);
    if (dcmp_orthanc_get_json(o, path, &info, err) < 0) {
        dcmp_log_warn("catch-up: series %s: %s (skipped)", series, err);
        return 0; /* deleted since: nothing to plan */
    }
    if (not_processed(s, o, series, info, why, sizeof why)) {
        dcmp_log_info("catch-up: series %s: %s: not processed", series, why);
        cJSON_Delete(info);
        return 0;
    }
    lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
    study = cJSON_GetObjectItemCaseSensitive(info, "ParentStudy");
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "seriesId", series);
    if (cJSON_IsString(study)) {
        cJSON_AddStringToObject(b, "studyId", study->valuestring);
        /* patientId, as the Lua script posts it: the study's ParentPatient */
        if (dcmp_orthanc_id_ok(study->valuestring)) {
            snprintf(path, sizeof path, "/studies/%s", study->valuestring);
            if (dcmp_orthanc_get_json(o, path, &sinfo, err) == 0 &&
                cJSON_IsString(patient = cJSON_GetObjectItemCaseSensitive(sinfo, "ParentPatient")))
                cJSON_AddStringToObject(b, "patientId", patient->valuestring);
            cJSON_Delete(sinfo);
        }
    }
    if (cJSON_IsString(lu))
        cJSON_AddStringToObject(b, "LastUpdate", lu->valuestring);
    cJSON_AddStringToObject(b, "source", "catch-up");
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON_Delete(info);
    if (body == NULL || dcmp_webhook_parse(body, strlen(body), &w, err) < 0 ||
        dcmp_job_new_id(id) < 0) {
        dcmp_log_error("catch-up: series %s: cannot make its event", series);
        free(body);
        return 0;
    }
    dcmp_webhook_free(&w);
    rc = dcmp_queue_event_accept(q, id, w.series, w.version, body, strlen(body), s->cfg->seen_ttl,
                                 dup);
    free(body);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        atomic_fetch_add(&s->m.caught_up, 1);
        dcmp_log_info("catch-up: series %s version %s: event %s accepted", w.series, w.version, id);
    }
    return 0;
}

/* One scan: pages of /changes from the stored sequence number until Orthanc is done. */
static void scan(scheduler *s, dcmp_orthanc *o, dcmp_queue *q)
{
    dcmp_orthanc_change rows[CATCHUP_PAGE];
    char err[DCMP_ERR_LEN];
    int64_t since, last;
    int n, done = 0, i;

    if (dcmp_queue_catchup_get(q, &since) < 0) {
        dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
        return;
    }
    while (!done && !*s->stop) {
        if (dcmp_orthanc_changes(o, since, CATCHUP_PAGE, rows, CATCHUP_PAGE, &n, &last, &done,
                                 err) < 0) {
            dcmp_log_warn("catch-up: %s", err);
            return;
        }
        if (last < since) {
            /* Orthanc's index was reset (a new database): start again from its beginning */
            dcmp_log_warn("catch-up: Orthanc's changes restarted (%lld < %lld): rescanning",
                          (long long)last, (long long)since);
            since = 0;
            done = 0;
            continue;
        }
        for (i = 0; i < n; i++)
            if (strcmp(rows[i].type, "StableSeries") == 0 &&
                accept_series(s, o, q, rows[i].id) < 0) {
                dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
                return; /* since is not advanced: the rows are read again next time */
            }
        since = last;
        if (dcmp_queue_catchup_set(q, since) < 0) {
            dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
            return;
        }
    }
}

void *catchup_main(void *arg)
{
    scheduler *s = arg;
    const dcmp_config *cfg = s->cfg;
    char err[DCMP_ERR_LEN];
    dcmp_orthanc *o;
    dcmp_queue *q;

    if ((q = dcmp_queue_from_config(cfg)) == NULL)
        return NULL;
    if ((o = dcmp_orthanc_new(cfg->orthanc_url, cfg->orthanc_user, cfg->orthanc_password, err)) ==
        NULL) {
        dcmp_log_error("catch-up: %s", err);
        dcmp_queue_free(q);
        return NULL;
    }
    while (!*s->stop) {
        int64_t next = dcmp_clock_mono_ms() + cfg->catchup_interval * 1000;
        scan(s, o, q);
        while (!*s->stop && dcmp_clock_mono_ms() < next)
            dcmp_clock_sleep_ms(100);
    }
    dcmp_orthanc_free(o);
    dcmp_queue_free(q);
    return NULL;
}
