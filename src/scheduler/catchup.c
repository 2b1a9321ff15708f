/* catchup.c -- dcmp-scheduler's catch-up: reads Orthanc's /changes from the last sequence
 * number handled and turns every StableSeries into an event, so a series whose webhook was
 * lost (the scheduler down, a network failure) is planned anyway; and a series that got a
 * NewSeries but never a StableSeries (Orthanc stopped before StableAge) once its LastUpdate
 * is CATCHUP_STABLE_AFTER old; every StableStudy (StablePatient) becomes a study (patient)
 * event. The pipeline's own results
 * are left out, as by the Lua script; the planner decides the rest from Orthanc (series.c). Its own
 * thread. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "scheduler.h"
#include "webhook.h"

#define CATCHUP_PAGE    200
#define CATCHUP_PENDING 100 /* series without StableSeries looked at per scan, oldest first */

/* 1 when id may go into an Orthanc URL: 1 to 64 ASCII letters, digits or '-'. */
static int orthanc_id(const char *id)
{
    size_t n = 0;

    for (; id[n]; n++)
        if (n >= 64 || !((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= 'A' && id[n] <= 'Z') ||
                         (id[n] >= '0' && id[n] <= '9') || id[n] == '-'))
            return 0;
    return n > 0;
}

/* The text value of a /tags?short answer's element "gggg,eeee", or NULL. */
static const char *short_tag(const cJSON *tags, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * 1 when the series `info` (Orthanc's /series/{id}) is a result the pipeline stored back (its
 * first instance carries the private ActionSource (0405,1005) = dcm-processor under the
 * creator DCM-PROCESSOR): as the Lua script, no event at all, else every stored result would
 * be planned again at the next scan. 0 otherwise. MIN_INSTANCES and SUPPORTED_MODALITY are the
 * planner's to apply, from what Orthanc says when it plans (series.c).
 */
int catchup_result(helper *o, const char *series, const cJSON *info)
{
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(info, "Instances"), 0);
    char path[160], err[DCMP_ERR_LEN];
    const char *creator, *source;
    cJSON *short_tags = NULL;
    int rc;

    if (!cJSON_IsString(first) || !orthanc_id(first->valuestring))
        return 0;
    snprintf(path, sizeof path, "/instances/%s/tags?short", first->valuestring);
    if (helper_get(o, path, &short_tags, err) != 0) {
        dcmp_log_warn("catch-up: series %s: %s (taken as not a result)", series, err);
        return 0;
    }
    creator = short_tag(short_tags, "0405,0010");
    source = short_tag(short_tags, "0405,1005");
    rc = creator && source && strncmp(creator, "DCM-PROCESSOR", 13) == 0 &&
         strncmp(source, "dcm-processor", 13) == 0;
    cJSON_Delete(short_tags);
    return rc;
}

/* Accepts one series as an event from its /series/{id} answer (info), with the body and
 * version a webhook would have, so a series both posted and caught up is one event; unless
 * the Lua script's filters leave it out (logged). unstable: it is planned without a
 * StableSeries (the body says so). Returns 0, or -1 when Redis failed. */
static int accept_info(scheduler *s, helper *o, dcmp_queue *q, const char *series,
                       const cJSON *info, int unstable, const char *source)
{
    char err[DCMP_ERR_LEN], id[DCMP_ID_LEN], dup[DCMP_ID_LEN], path[128], *body;
    const cJSON *lu, *study, *patient;
    cJSON *sinfo = NULL;
    dcmp_webhook w;
    cJSON *b;
    int rc;

    if (catchup_result(o, series, info)) {
        dcmp_log_info("%s: series %s: a result of the pipeline (ActionSource dcm-processor): "
                      "not processed",
                      source, series);
        return 0;
    }
    lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
    study = cJSON_GetObjectItemCaseSensitive(info, "ParentStudy");
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "seriesId", series);
    if (cJSON_IsString(study)) {
        cJSON_AddStringToObject(b, "studyId", study->valuestring);
        /* patientId, as the Lua script posts it: the study's ParentPatient */
        if (orthanc_id(study->valuestring)) {
            snprintf(path, sizeof path, "/studies/%s", study->valuestring);
            if (helper_get(o, path, &sinfo, err) == 0 &&
                cJSON_IsString(patient = cJSON_GetObjectItemCaseSensitive(sinfo, "ParentPatient")))
                cJSON_AddStringToObject(b, "patientId", patient->valuestring);
            cJSON_Delete(sinfo);
        }
    }
    if (cJSON_IsString(lu))
        cJSON_AddStringToObject(b, "LastUpdate", lu->valuestring);
    cJSON_AddStringToObject(b, "source", source);
    if (unstable)
        cJSON_AddTrueToObject(b, "noStableSeries");
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (body == NULL || dcmp_webhook_parse(body, strlen(body), &w, err) < 0 ||
        dcmp_job_new_id(id) < 0) {
        dcmp_log_error("catch-up: series %s: cannot make its event", series);
        free(body);
        return 0;
    }
    dcmp_webhook_free(&w);
    /* the origin lets the planner plan a series the watch found still before Orthanc calls
     * it stable; the body's LastUpdate only lets the intake skip a version planned already */
    rc = dcmp_queue_event_accept_from(q, source, id, w.series, w.version, body, strlen(body),
                                      s->cfg->seen_ttl, dup);
    free(body);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        atomic_fetch_add(strcmp(source, "arrival") == 0 ? &s->m.early : &s->m.caught_up, 1);
        dcmp_log_info("%s: series %s version %s%s: event %s accepted", source, w.series, w.version,
                      unstable ? " (no StableSeries)" : "", id);
    }
    return 0;
}

int catchup_accept(scheduler *s, helper *o, dcmp_queue *q, const char *series, const cJSON *info,
                   const char *source)
{
    return accept_info(s, o, q, series, info, 0, source);
}

/* A StableSeries: the series as Orthanc has it now becomes an event. Returns 0, or -1 when
 * Redis failed. */
static int accept_series(scheduler *s, helper *o, dcmp_queue *q, const char *series)
{
    char path[128], err[DCMP_ERR_LEN];
    cJSON *info = NULL;
    int rc;

    snprintf(path, sizeof path, "/series/%s", series);
    if (helper_get(o, path, &info, err) != 0) {
        dcmp_log_warn("catch-up: series %s: %s (skipped)", series, err);
        return 0; /* deleted since: nothing to plan */
    }
    rc = accept_info(s, o, q, series, info, 0, "catch-up");
    cJSON_Delete(info);
    return rc;
}

/* A StableStudy (StablePatient: L): an event of its level (study.c) with its LastUpdate as
 * Orthanc has it now, so one whose webhook came with the same version is a duplicate. Returns
 * 0, or -1 when Redis failed. */
static int accept_level(scheduler *s, helper *o, dcmp_queue *q, const dcmp_level *L,
                        const char *study)
{
    char path[128], err[DCMP_ERR_LEN], id[DCMP_ID_LEN];
    const cJSON *lu;
    cJSON *info = NULL;
    int rc;

    if (!study_wanted(s, L))
        return 0; /* no entry of its level: no event */
    snprintf(path, sizeof path, "%s/%s", L->orthanc, study);
    if (helper_get(o, path, &info, err) != 0) {
        dcmp_log_warn("catch-up: %s %s: %s (skipped)", L->name, study, err);
        return 0; /* deleted since: nothing to plan */
    }
    lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
    rc = study_accept(s, q, L, study, cJSON_IsString(lu) ? lu->valuestring : "", "catch-up", id);
    if (rc > 0)
        dcmp_log_info("catch-up: %s %s: event %s", L->name, study, id);
    cJSON_Delete(info);
    return rc < 0 ? -1 : 0;
}

/* Seconds since the epoch of Orthanc's UTC time text "YYYYMMDDTHHMMSS" (LastUpdate,
 * /tools/now), or -1 when it is not one. */
static int64_t orthanc_time(const char *text)
{
    struct tm tm;
    int k;

    for (k = 0; k < 15; k++)
        if (k == 8 ? text[k] != 'T' : (text[k] < '0' || text[k] > '9'))
            return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year =
        ((text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0')) -
        1900;
    tm.tm_mon = (text[4] - '0') * 10 + (text[5] - '0') - 1;
    tm.tm_mday = (text[6] - '0') * 10 + (text[7] - '0');
    tm.tm_hour = (text[9] - '0') * 10 + (text[10] - '0');
    tm.tm_min = (text[11] - '0') * 10 + (text[12] - '0');
    tm.tm_sec = (text[13] - '0') * 10 + (text[14] - '0');
    return (int64_t)timegm(&tm);
}

/*
 * The series that got a NewSeries and no StableSeries yet (the oldest CATCHUP_PENDING): one
 * Orthanc no longer has is forgotten; one whose LastUpdate is CATCHUP_STABLE_AFTER old by
 * Orthanc's clock (/tools/now), or that Orthanc calls stable without having logged its
 * StableSeries (IsStable: after a restart Orthanc has forgotten which series were unstable),
 * becomes an event as if it had its StableSeries: Orthanc stopped before StableAge, and will
 * never send one.
 */
static void settle_pending(scheduler *s, helper *o, dcmp_queue *q)
{
    char ids[CATCHUP_PENDING][DCMP_QUEUE_SERIES_LEN], now_text[64], path[128], err[DCMP_ERR_LEN];
    int64_t now;
    int n, i;

    if (dcmp_queue_catchup_waiting(q, CATCHUP_PENDING, ids, &n) < 0) {
        dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
        return;
    }
    if (n == 0)
        return;
    if (helper_text(o, "/tools/now", now_text, sizeof now_text, err) != 0 ||
        (now = orthanc_time(now_text)) < 0) {
        dcmp_log_warn("catch-up: Orthanc's time (/tools/now): %s", err[0] ? err : now_text);
        return;
    }
    for (i = 0; i < n && !*s->stop; i++) {
        const cJSON *stable, *lu;
        cJSON *info = NULL;
        int64_t updated;
        int rc;

        snprintf(path, sizeof path, "/series/%.64s", ids[i]);
        if ((rc = helper_get(o, path, &info, err)) < 0) {
            dcmp_log_warn("catch-up: series %s: %s (next scan)", ids[i], err);
            return;
        }
        if (rc > 0) {
            dcmp_log_info("catch-up: series %s: %s: forgotten", ids[i], err);
            dcmp_queue_catchup_settled(q, ids[i]);
            continue;
        }
        stable = cJSON_GetObjectItemCaseSensitive(info, "IsStable");
        lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
        updated = cJSON_IsString(lu) ? orthanc_time(lu->valuestring) : -1;
        if (cJSON_IsTrue(stable) ||
            (updated >= 0 && now - updated >= s->cfg->catchup_stable_after)) {
            if (accept_info(s, o, q, ids[i], info, 1, "catch-up") < 0 ||
                dcmp_queue_catchup_settled(q, ids[i]) < 0) {
                dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
                cJSON_Delete(info);
                return;
            }
        }
        cJSON_Delete(info);
    }
}

/* One scan: pages of /changes from the stored sequence number until Orthanc is done. */
static void scan(scheduler *s, helper *o, dcmp_queue *q)
{
    helper_change rows[CATCHUP_PAGE];
    char err[DCMP_ERR_LEN];
    int64_t since, last;
    int n, done = 0, i;

    if (dcmp_queue_catchup_get(q, &since) < 0) {
        dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
        return;
    }
    while (!done && !*s->stop) {
        if (helper_changes(o, since, CATCHUP_PAGE, rows, CATCHUP_PAGE, &n, &last, &done, err) !=
            0) {
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
        for (i = 0; i < n; i++) {
            int rc = 0;
            if (strcmp(rows[i].type, "StableSeries") == 0)
                rc = accept_series(s, o, q, rows[i].id) < 0 ||
                     dcmp_queue_catchup_settled(q, rows[i].id) < 0;
            else if (dcmp_level_change(rows[i].type) != NULL)
                rc = accept_level(s, o, q, dcmp_level_change(rows[i].type), rows[i].id) < 0;
            else if (strcmp(rows[i].type, "NewSeries") == 0)
                rc = dcmp_queue_catchup_pending(q, rows[i].id, dcmp_clock_wall_ms()) < 0;
            if (rc) {
                dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
                return; /* since is not advanced: the rows are read again next time */
            }
        }
        since = last;
        if (dcmp_queue_catchup_set(q, since) < 0) {
            dcmp_log_warn("catch-up: %s", dcmp_queue_errstr(q));
            return;
        }
    }
    /* every StableSeries up to now is read: the series still waiting for one are looked at */
    if (done && !*s->stop)
        settle_pending(s, o, q);
}

void *catchup_main(void *arg)
{
    scheduler *s = arg;
    const dcmp_config *cfg = s->cfg;
    dcmp_queue *q;
    helper o;

    if ((q = dcmp_queue_from_config(cfg)) == NULL)
        return NULL;
    helper_init(&o, cfg, s->dicom_program);
    o.tick = scheduler_stopping; /* a request to Orthanc ends at a stop */
    o.tick_arg = s;
    while (!*s->stop) {
        int64_t next = dcmp_clock_mono_ms() + cfg->catchup_interval * 1000;
        scan(s, &o, q);
        helper_stop(&o); /* a helper only while scanning: none between scans */
        while (!*s->stop && dcmp_clock_mono_ms() < next)
            dcmp_clock_sleep_ms(100);
    }
    dcmp_queue_free(q);
    return NULL;
}
