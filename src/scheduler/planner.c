/* planner.c -- dcmp-scheduler's planning loop: takes events from the durable inbox, reads the
 * settings afresh, runs the callbacks isolated, and writes each event's job graph and record in
 * one step. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "plan.h"
#include "scheduler.h"
#include "settings_cache.h"
#include "webhook.h"

/* What planning one event produced, for event_done. */
typedef struct outcome {
    char *graph; /* owned; NULL when no job */
    char *plan;  /* owned: the plan JSON (the event record's "plan") */
    const char *state;
    char error[DCMP_ERR_LEN];
    int callback_errors;
} outcome;

/* A dcmpath the original's Lua script may post: relative, no "..", no odd characters. */
static int dcmpath_ok(const char *p)
{
    const char *c;

    if (*p == '\0' || *p == '/' || strlen(p) > 512 || strstr(p, ".."))
        return 0;
    for (c = p; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '/' || *c == '-' || *c == '_' || *c == '.'))
            return 0;
    return 1;
}

/*
 * Replaces w->data by the series' DICOM header plus the event's keys, when there are files:
 * the body's dcmpath when that folder exists under DATA (the original's Lua script wrote the
 * files itself), else the series fetched from Orthanc (ORTHANC_REST_URL). Without either, the
 * body's tags stay the header. The fetch and the header are dcmp-dicom's work (helper.c).
 * Returns 0; 1 when the event fails for good (reason says why: a corrupt file, a series
 * Orthanc does not have, the helper crashed on it); -1 when it must wait (Orthanc down).
 */
static int header_from_files(planner *pl, dcmp_webhook *w, char *reason)
{
    static const char *const keys[] = {"seriesId", "studyId", "patientId"};
    const scheduler *s = pl->s;
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(w->data, "dcmpath");
    char dcmpath[PATH_MAX], dir[2 * PATH_MAX];
    struct stat st;
    cJSON *header = NULL;
    int n = 0, rc;
    size_t i;

    dcmpath[0] = '\0';
    if (cJSON_IsString(dp) && dcmpath_ok(dp->valuestring)) {
        snprintf(dir, sizeof dir, "%s/%s", s->cfg->data, dp->valuestring);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(dcmpath, sizeof dcmpath, "%s", dp->valuestring);
    }
    if (dcmpath[0] == '\0' && s->cfg->orthanc_url[0]) {
        if ((rc = helper_fetch(&pl->dicom, w->series, dcmpath, sizeof dcmpath, &n, reason)) != 0)
            return rc;
        dcmp_log_info("series %s: %d instance(s) fetched into %s", w->series, n, dcmpath);
    }
    if (dcmpath[0] == '\0')
        return 0;
    if ((rc = helper_header(&pl->dicom, dcmpath, &header, reason)) != 0)
        return rc;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->data, keys[i]);
        if (v) {
            cJSON_DeleteItemFromObjectCaseSensitive(header, keys[i]);
            cJSON_AddItemToObject(header, keys[i], cJSON_Duplicate(v, 1));
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(header, "dcmpath");
    cJSON_AddStringToObject(header, "dcmpath", dcmpath);
    cJSON_Delete(w->data);
    w->data = header;
    return 0;
}

/* Plans one event. Returns 0 (out filled), or -1 when the settings cannot be read or Orthanc
 * does not answer: the event must wait (err says why). */
static int plan_event(planner *pl, const char *id, const char *body, outcome *out, char *err)
{
    const dcmp_config *cfg = pl->s->cfg;
    const dcmp_settings_files *reg;
    const cJSON *system;
    dcmp_plan_input in;
    dcmp_webhook w;
    dcmp_plan p;
    int i, rc = -1;

    memset(out, 0, sizeof *out);
    out->state = "failed";
    if (dcmp_webhook_parse(body, strlen(body), &w, out->error) < 0) {
        out->plan = strdup("{}");
        return 0; /* cannot happen for a body the intake accepted; recorded, not retried */
    }
    switch (header_from_files(pl, &w, out->error)) {
    case -1: snprintf(err, DCMP_ERR_LEN, "%s", out->error); goto out;
    case 1:
        out->plan = strdup("{}");
        rc = 0; /* recorded as failed with the reason, not retried */
        goto out;
    default: break;
    }
    if (dcmp_settings_cache_refresh(pl->settings, &system, &reg, err) < 0)
        goto out;
    memset(&in, 0, sizeof in);
    in.system = system;
    in.system_path = cfg->settings;
    in.registry = reg->files;
    in.nregistry = reg->n;
    in.data = w.data;
    in.default_queue = cfg->default_priority;
    in.batch = dcmp_callbacks_batch;
    in.callback_arg = &pl->callbacks;
    if (dcmp_plan_make(&in, &p, out->error) < 0) {
        dcmp_plan_free(&p);
        out->plan = strdup("{}");
        rc = 0;
        goto out;
    }
    for (i = 0; i < p.ndecisions; i++)
        out->callback_errors += strcmp(p.decisions[i].decision, "error") == 0;
    for (i = 0; i < p.nreports; i++)
        dcmp_log_warn("event %s: %s", id, p.reports[i]);
    out->plan = dcmp_plan_json(&p);
    if (p.njobs > 0) {
        dcmp_job_spec *specs = calloc((size_t)p.njobs, sizeof *specs);
        const char **deps = calloc((size_t)p.njobs * DCMP_DEPS_MAX, sizeof *deps);
        if (specs && deps) {
            dcmp_plan_specs(&p, specs, deps);
            out->graph = dcmp_job_encode_graph(id, specs, p.njobs, out->error);
        } else {
            snprintf(out->error, sizeof out->error, "out of memory");
        }
        free(specs);
        free(deps);
        out->state = out->graph ? "planned" : "failed";
    } else {
        out->state = "ignored";
    }
    dcmp_plan_free(&p);
    rc = 0;
out:
    dcmp_webhook_free(&w);
    return rc;
}

static void observe_latency(scheduler *s, int64_t received_ms)
{
    double secs = (double)(dcmp_clock_wall_ms() - received_ms) / 1000.0;
    int i;

    if (received_ms <= 0 || secs < 0)
        return;
    for (i = 0; i < LATENCY_BUCKETS; i++)
        if (secs <= latency_bounds[i])
            atomic_fetch_add(&s->m.latency[i], 1);
    atomic_fetch_add(&s->m.latency_count, 1);
    atomic_fetch_add(&s->m.latency_sum_us, (long long)(secs * 1e6));
}

void planner_name(const dcmp_config *cfg, int i, char *name, size_t size)
{
    if (i == 0)
        snprintf(name, size, "%s", cfg->scheduler_name);
    else
        snprintf(name, size, "%s.%d", cfg->scheduler_name, i);
}

/* Counts one finished event in the metrics and logs it. */
static void count(scheduler *s, const dcmp_queue_event *e, const dcmp_queue_event_result *r)
{
    const char *state = r->jobs == -1 ? "failed" : r->state;
    const char *error = r->jobs == -1 ? r->refused : r->error;

    if (r->jobs == -2)
        return; /* finished by an earlier try of the same step */
    if (r->jobs == -1)
        dcmp_log_error("event %s: %s", e->id, r->refused);
    if (strcmp(state, "planned") == 0) {
        atomic_fetch_add(&s->m.planned, 1);
        observe_latency(s, e->received);
    } else if (strcmp(state, "ignored") == 0) {
        atomic_fetch_add(&s->m.ignored, 1);
    } else {
        atomic_fetch_add(&s->m.failed, 1);
    }
    dcmp_log_info("event %s: %s%s%s", e->id, state, error[0] ? ": " : "", error);
}

/*
 * Plans a batch of taken events and finishes them in one step with Redis, which also takes
 * the next batch (unless the planner stops, or an event must wait: then it goes back to the
 * inbox and the planner pauses 5 s). *n: in, the batch's size; out, the next batch's.
 */
static void plan_batch(planner *pl, dcmp_queue_event *batch, int *n)
{
    scheduler *s = pl->s;
    dcmp_queue_event next[DCMP_QUEUE_EVENT_BATCH];
    dcmp_queue_event_result res[DCMP_QUEUE_EVENT_BATCH];
    outcome out[DCMP_QUEUE_EVENT_BATCH];
    int i, k, take, nnext = 0, wait = 0, written = 1;

    for (i = 0; i < *n; i++) {
        char err[DCMP_ERR_LEN];
        memset(&res[i], 0, sizeof res[i]);
        res[i].id = batch[i].id;
        if (plan_event(pl, batch[i].id, batch[i].body, &out[i], err) < 0) {
            /* Settings unreadable or Orthanc down: the event goes back and waits. */
            dcmp_log_error("event %s: %s: it stays in the inbox; retrying in 5 s", batch[i].id,
                           err);
            res[i].state = "back";
            wait = 1;
            continue;
        }
        atomic_fetch_add(&s->m.callback_errors, out[i].callback_errors);
        res[i].graph = out[i].graph;
        res[i].plan = out[i].plan;
        res[i].state = out[i].state;
        res[i].error = out[i].error;
    }
    take = wait || *s->stop ? 0 : DCMP_QUEUE_EVENT_BATCH;
    while (dcmp_queue_event_finish(pl->q, pl->name, res, *n, take, next, &nnext) < 0) {
        if (dcmp_queue_err(pl->q) != DCMP_QUEUE_EIO) {
            /* Redis refused the step: the events are recorded as failed, with why. */
            dcmp_log_error("events: %s", dcmp_queue_errstr(pl->q));
            for (k = 0; k < *n; k++)
                if (strcmp(res[k].state, "back") != 0) {
                    res[k].graph = NULL;
                    res[k].state = "failed";
                    res[k].error = dcmp_queue_errstr(pl->q);
                }
            continue;
        }
        dcmp_log_warn("events: %s; retrying", dcmp_queue_errstr(pl->q));
        dcmp_clock_sleep_ms(500);
        if (*s->stop) {
            written = 0; /* they stay in the processing list: planned again after the restart */
            break;
        }
    }
    for (i = 0; i < *n; i++) {
        if (strcmp(res[i].state, "back") != 0) {
            if (written)
                count(s, &batch[i], &res[i]);
            free(out[i].graph);
            free(out[i].plan);
        }
        free(batch[i].body);
    }
    memcpy(batch, next, (size_t)nnext * sizeof *next);
    *n = nnext;
    if (wait)
        dcmp_clock_sleep_ms(5000);
}

void *planner_main(void *arg)
{
    planner *pl = arg;
    scheduler *s = pl->s;
    const char *name = pl->name;
    dcmp_queue_event batch[DCMP_QUEUE_EVENT_BATCH];
    int64_t back = 0, delay = 100;
    char title[16];
    int n = 0, i;

    /* "planner-N" in top -H, perf and /proc/PID/task/TID/comm */
    snprintf(title, sizeof title, "planner-%d", pl->index);
    pthread_setname_np(pthread_self(), title);

    while (!*s->stop && dcmp_queue_event_recover(pl->q, name, &back) < 0) {
        dcmp_log_warn("%s; retrying in %lld ms", dcmp_queue_errstr(pl->q), (long long)delay);
        dcmp_clock_sleep_ms(delay);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    if (back > 0)
        dcmp_log_warn("%lld event(s) taken but not planned before a stop: planning them again",
                      (long long)back);
    delay = 100;
    while (!*s->stop) {
        int rc;

        if (n == 0) {
            /* idle: wait in Redis for the next event (the steady state takes batches) */
            char *body = NULL;
            rc = dcmp_queue_event_take(pl->q, name, 1000, batch[0].id, &body, &batch[0].received);
            if (rc < 0) {
                dcmp_log_warn("inbox: %s; retrying in %lld ms", dcmp_queue_errstr(pl->q),
                              (long long)delay);
                dcmp_clock_sleep_ms(delay);
                delay = delay * 2 > 5000 ? 5000 : delay * 2;
                continue;
            }
            delay = 100;
            if (rc == 0) {
                /* nothing for a second: helpers idle for a minute give their memory back */
                dcmp_pool_stop_idle(&pl->callbacks.pool, HELPER_IDLE_MS);
                dcmp_pool_stop_idle(&pl->dicom.pool, HELPER_IDLE_MS);
                continue;
            }
            batch[0].body = body;
            n = 1;
        }
        plan_batch(pl, batch, &n);
    }
    for (i = 0; i < n; i++)
        free(batch[i].body); /* taken, not planned: planned again after the restart */
    return NULL;
}
