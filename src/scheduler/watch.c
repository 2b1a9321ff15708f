/* watch.c -- dcmp-scheduler's arrival watch: a series Orthanc's script says is arriving (POST
 * /series-arriving, sent with its first instance) is looked at through Orthanc's REST API every
 * WATCH_POLL_MS; once its instance count and LastUpdate have not changed for STABLE_AGE, it
 * becomes an event, as the catch-up would make it. Orthanc 1.10.1 calls a series stable
 * 0.3 to 1.1 s after StableAge (its check runs about once a second on whole seconds); its
 * webhook then comes with the same LastUpdate: a duplicate. Its own thread. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "scheduler.h"

/* A series watched this long without becoming stable is left to Orthanc's webhook (a sender
 * that never stops, or a series deleted meanwhile). */
#define WATCH_GIVE_UP_MS (6 * 3600 * 1000LL)

int watch_add(scheduler *s, const char *id)
{
    int i, rc = 1;
    int64_t now = dcmp_clock_mono_ms();

    pthread_mutex_lock(&s->watch_lock);
    for (i = 0; i < s->nwatch; i++)
        if (strcmp(s->watch[i].id, id) == 0)
            break;
    if (i < s->nwatch) {
        rc = 0;
    } else if (s->nwatch == WATCH_MAX) {
        rc = -1;
    } else {
        watched *w = &s->watch[s->nwatch++];
        memset(w, 0, sizeof *w);
        snprintf(w->id, sizeof w->id, "%s", id);
        w->instances = -1; /* not looked at yet */
        w->changed_ms = now;
        w->since_ms = now;
    }
    pthread_mutex_unlock(&s->watch_lock);
    return rc;
}

/* Removes series `id` from the watch. */
static void drop(scheduler *s, const char *id)
{
    int i;

    pthread_mutex_lock(&s->watch_lock);
    for (i = 0; i < s->nwatch; i++)
        if (strcmp(s->watch[i].id, id) == 0) {
            s->watch[i] = s->watch[--s->nwatch];
            break;
        }
    pthread_mutex_unlock(&s->watch_lock);
}

/*
 * Looks at one watched series: what Orthanc has of it now. Returns 1 when it has been still
 * for STABLE_AGE (an event was accepted, or the filters left it out), 2 when it is to be
 * dropped (Orthanc no longer has it, or it is watched too long), 0 to look again, -1 when
 * Redis failed (look again).
 */
static int look(scheduler *s, helper *o, dcmp_queue *q, watched *w, int64_t now)
{
    const cJSON *inst, *lu;
    char path[128], err[DCMP_ERR_LEN];
    cJSON *info = NULL;
    int rc, n;

    if (now - w->since_ms > WATCH_GIVE_UP_MS) {
        dcmp_log_warn("arrival: series %s still receiving after %lld h: left to Orthanc's webhook",
                      w->id, (long long)(WATCH_GIVE_UP_MS / 3600000));
        return 2;
    }
    snprintf(path, sizeof path, "/series/%s", w->id);
    if ((rc = helper_get(o, path, &info, err)) != 0) {
        if (rc > 0) { /* 404 or an answer that is not JSON: gone or not ours to plan */
            dcmp_log_info("arrival: series %s: %s: not watched any more", w->id, err);
            return 2;
        }
        dcmp_log_warn("arrival: series %s: %s (looked at again)", w->id, err);
        return 0;
    }
    inst = cJSON_GetObjectItemCaseSensitive(info, "Instances");
    lu = cJSON_GetObjectItemCaseSensitive(info, "LastUpdate");
    n = cJSON_GetArraySize(inst);
    if (n != w->instances || !cJSON_IsString(lu) || strcmp(lu->valuestring, w->last_update) != 0) {
        w->instances = n;
        snprintf(w->last_update, sizeof w->last_update, "%s",
                 cJSON_IsString(lu) ? lu->valuestring : "");
        if (n > 0)
            w->changed_ms = now;
        cJSON_Delete(info);
        return 0;
    }
    if (now - w->changed_ms < s->cfg->stable_age * 1000) {
        cJSON_Delete(info);
        return 0;
    }
    rc = catchup_accept(s, o, q, w->id, info, "arrival");
    cJSON_Delete(info);
    return rc < 0 ? -1 : 1;
}

void *watch_main(void *arg)
{
    scheduler *s = arg;
    watched snap[WATCH_MAX];
    dcmp_queue *q;
    helper o;
    int n, i, idle = 1;

    if ((q = dcmp_queue_from_config(s->cfg)) == NULL)
        return NULL;
    helper_init(&o, s->cfg, s->dicom_program);
    o.tick = scheduler_stopping; /* a request to Orthanc ends at a stop */
    o.tick_arg = s;
    while (!*s->stop) {
        int64_t now = dcmp_clock_mono_ms();

        pthread_mutex_lock(&s->watch_lock);
        n = s->nwatch;
        memcpy(snap, s->watch, (size_t)n * sizeof *snap);
        pthread_mutex_unlock(&s->watch_lock);
        if (n == 0 && !idle) {
            helper_stop(&o); /* a helper only while series arrive */
            idle = 1;
        }
        for (i = 0; i < n && !*s->stop; i++) {
            int rc = look(s, &o, q, &snap[i], now);
            idle = 0;
            if (rc == 1 || rc == 2) {
                drop(s, snap[i].id);
                continue;
            }
            if (rc < 0)
                dcmp_log_warn("arrival: %s", dcmp_queue_errstr(q));
            /* what was seen goes back, unless the series was dropped meanwhile */
            pthread_mutex_lock(&s->watch_lock);
            for (int k = 0; k < s->nwatch; k++)
                if (strcmp(s->watch[k].id, snap[i].id) == 0) {
                    s->watch[k].instances = snap[i].instances;
                    s->watch[k].changed_ms = snap[i].changed_ms;
                    memcpy(s->watch[k].last_update, snap[i].last_update,
                           sizeof s->watch[k].last_update);
                    break;
                }
            pthread_mutex_unlock(&s->watch_lock);
        }
        dcmp_clock_sleep_ms(WATCH_POLL_MS);
    }
    helper_stop(&o);
    dcmp_queue_free(q);
    return NULL;
}
