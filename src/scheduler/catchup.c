/* catchup.c -- dcmp-scheduler's catch-up: reads Orthanc's /changes from the last sequence
 * number handled and turns every StableSeries into an event, so a series whose webhook was
 * lost (the scheduler down, a network failure) is planned anyway. Its own thread. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "scheduler.h"
#include "webhook.h"

#define CATCHUP_PAGE 200

/* Accepts one stable series as an event, with the body and version a webhook would have, so
 * a series both posted and caught up is one event. Returns 0, or -1 when Redis failed. */
static int accept_series(scheduler *s, helper *o, dcmp_queue *q, const char *series)
{
    char path[128], err[DCMP_ERR_LEN], id[DCMP_ID_LEN], dup[DCMP_ID_LEN], *body;
    const cJSON *lu, *study;
    cJSON *info = NULL, *b;
    dcmp_webhook w;
    int rc;

    snprintf(path, sizeof path, "/series/%s", series);
    if (helper_get(o, path, &info, err) != 0) {
        dcmp_log_warn("catch-up: series %s: %s (skipped)", series, err);
        return 0; /* deleted since: nothing to plan */
    }
    lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
    study = cJSON_GetObjectItemCaseSensitive(info, "ParentStudy");
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "seriesId", series);
    if (cJSON_IsString(study))
        cJSON_AddStringToObject(b, "studyId", study->valuestring);
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
    dcmp_queue *q;
    helper o;

    if ((q = dcmp_queue_from_config(cfg)) == NULL)
        return NULL;
    helper_init(&o, cfg, s->dicom_program);
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
