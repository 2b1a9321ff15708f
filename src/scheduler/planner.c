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
#include "trigger.h"
#include "webhook.h"

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
 * the body's dcmpath when that folder exists under DATA and, with Orthanc's facts f, holds
 * exactly the series' instances (reached without following a link: helper_header), else the
 * series fetched from Orthanc (ORTHANC_REST_URL) into DATA/dicom/<series>. Without either, the
 * body's tags stay the header. The fetch and the header are dcmp-dicom's work (helper.c).
 * Returns 0; 1 when the event fails for good (reason says why: a corrupt file, a series
 * Orthanc does not have, the helper crashed on it); -1 when it must wait (Orthanc down).
 */
static int header_from_files(planner *pl, dcmp_webhook *w, const series_facts *f, char *reason)
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
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* the body's folder is taken only when it holds the series' instances */
            rc = helper_header(&pl->dicom, dp->valuestring, f ? f->uid : NULL, f ? f->instances : 0,
                               &header, reason);
            if (rc < 0 || (rc > 0 && !s->cfg->orthanc_url[0]))
                return rc;
            if (rc == 0)
                snprintf(dcmpath, sizeof dcmpath, "%s", dp->valuestring);
            else
                dcmp_log_warn("series %s: dcmpath %s refused (%s): fetching the series from "
                              "Orthanc",
                              w->series, dp->valuestring, reason);
        }
    }
    if (dcmpath[0] == '\0' && s->cfg->orthanc_url[0]) {
        if ((rc = helper_fetch(&pl->dicom, w->series, dcmpath, sizeof dcmpath, &n, reason)) != 0)
            return rc;
        dcmp_log_info("series %s: %d instance(s) fetched into %s", w->series, n, dcmpath);
        if ((rc = helper_header(&pl->dicom, dcmpath, NULL, 0, &header, reason)) != 0)
            return rc;
    }
    if (dcmpath[0] == '\0')
        return 0;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->data, keys[i]);
        if (v) {
            cJSON_DeleteItemFromObjectCaseSensitive(header, keys[i]);
            cJSON_AddItemToObject(header, keys[i], cJSON_Duplicate(v, 1));
        }
    }
    if (f && f->study[0]) { /* Orthanc's, not the body's */
        cJSON_DeleteItemFromObjectCaseSensitive(header, "studyId");
        cJSON_AddStringToObject(header, "studyId", f->study);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(header, "dcmpath");
    cJSON_AddStringToObject(header, "dcmpath", dcmpath);
    cJSON_Delete(w->data);
    w->data = header;
    return 0;
}

void planner_make(planner *pl, const char *id, const cJSON *system, const dcmp_settings_files *reg,
                  const cJSON *data, int level, int (*due)(void *, const char *, char *),
                  void *due_arg, outcome *out)
{
    const dcmp_config *cfg = pl->s->cfg;
    dcmp_plan_input in;
    dcmp_plan p;
    int i;

    memset(&in, 0, sizeof in);
    in.system = system;
    in.system_path = cfg->settings;
    in.registry = reg->files;
    in.nregistry = reg->n;
    in.data = data;
    in.default_queue = cfg->default_priority;
    in.batch = dcmp_callbacks_batch;
    in.callback_arg = &pl->callbacks;
    in.level = level;
    in.due = due;
    in.due_arg = due_arg;
    out->state = "failed";
    if (dcmp_plan_make(&in, &p, out->error) < 0) {
        dcmp_plan_free(&p);
        out->plan = strdup("{}");
        return;
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
}

/* Plans one event, decided before (v: series_decide_all; NULL for a study event). Returns 0
 * (out filled), or -1 when the settings cannot be read or Orthanc does not answer: the event
 * must wait (err says why). */
static int plan_event(planner *pl, const char *id, const char *body, series_verdict *v,
                      outcome *out, char *err)
{
    const dcmp_settings_files *reg;
    const cJSON *system;
    const int orthanc = pl->s->cfg->orthanc_url[0] != '\0';

    memset(out, 0, sizeof *out);
    out->state = "failed";
    if (v == NULL)
        return study_plan(pl, id, body, out, err);
    /* duplicate, ignored, unknown: decided from Orthanc's answer, not the body (series.c) */
    switch (v->rc) {
    case -1: snprintf(err, DCMP_ERR_LEN, "%s", v->why); return -1;
    case 1:
        out->state = v->state;
        dcmp_strlcpy(out->error, v->why, sizeof out->error);
        out->plan = strdup("{}");
        return 0; /* recorded with the reason, not retried */
    default: break;
    }
    switch (header_from_files(pl, &v->w, orthanc ? &v->f : NULL, out->error)) {
    case -1: snprintf(err, DCMP_ERR_LEN, "%s", out->error); return -1;
    case 1:
        /* its study does not wait for it (study.c): it has no files to give */
        if (orthanc && (dcmp_settings_cache_refresh(pl->settings, &system, &reg, err) < 0 ||
                        study_note(pl, id, v->w.series, reg, v->w.data, &v->f, 1, err) < 0))
            return -1;
        out->plan = strdup("{}");
        return 0; /* recorded as failed with the reason, not retried */
    default: break;
    }
    if (dcmp_settings_cache_refresh(pl->settings, &system, &reg, err) < 0)
        return -1;
    /* the series joins its study (study.c) before its event is finished: a retry adds it
     * again, harmlessly */
    if (study_note(pl, id, v->w.series, reg, v->w.data, orthanc ? &v->f : NULL, 0, err) < 0)
        return -1;
    planner_make(pl, id, system, reg, v->w.data, DCMP_LEVEL_SERIES, NULL, NULL, out);
    return 0;
}

int scheduler_stopping(void *arg)
{
    const scheduler *s = arg;

    return *s->stop != 0;
}

/* The helper's and the callbacks' tick while an event is planned: ends what runs when the
 * scheduler stops or the event's budget (PLAN_TIMEOUT) is spent, and says which in pl->cut. */
static int planner_tick(void *arg)
{
    planner *pl = arg;

    if (*pl->s->stop)
        pl->cut = PLAN_CUT_STOP;
    else if (pl->deadline_ms > 0 && dcmp_clock_mono_ms() >= pl->deadline_ms)
        pl->cut = PLAN_CUT_BUDGET;
    return pl->cut != PLAN_CUT_NONE;
}

void planner_ticks(planner *pl)
{
    pl->dicom.tick = planner_tick;
    pl->dicom.tick_arg = pl;
    pl->callbacks.tick = planner_tick;
    pl->callbacks.tick_arg = pl;
}

/* Counts an event that could not be planned for /health (why: the reason), or one that was. */
static void health(scheduler *s, const char *why)
{
    if (why == NULL) {
        atomic_store(&s->plan_failures, 0);
        return;
    }
    pthread_mutex_lock(&s->health_lock);
    snprintf(s->plan_error, sizeof s->plan_error, "%s", why);
    pthread_mutex_unlock(&s->health_lock);
    atomic_fetch_add(&s->plan_failures, 1);
}

/* An event the take quarantined (taken too often without being finished): already recorded
 * failed in Redis; counted and logged here. */
static void quarantined(scheduler *s, const char *id, const char *why)
{
    atomic_fetch_add(&s->m.failed, 1);
    health(s, why);
    dcmp_log_error("event %s: failed: %s", id, why);
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
        health(s, NULL);
    } else if (strcmp(state, "ignored") == 0) {
        atomic_fetch_add(&s->m.ignored, 1);
        health(s, NULL);
    } else {
        atomic_fetch_add(&s->m.failed, 1);
        health(s, error);
    }
    dcmp_log_info("event %s: %s%s%s", e->id, state, error[0] ? ": " : "", error);
}

/* A batch of events and what planning made of them. */
typedef struct batch {
    dcmp_queue_event ev[DCMP_QUEUE_EVENT_BATCH];
    dcmp_queue_event_result res[DCMP_QUEUE_EVENT_BATCH];
    outcome out[DCMP_QUEUE_EVENT_BATCH];
    series_verdict v[DCMP_QUEUE_EVENT_BATCH]; /* each series event's decision (plan_all) */
    int series[DCMP_QUEUE_EVENT_BATCH];       /* 1: ev is a series event, v[] holds its body */
    int n;
    int planned; /* res and out are filled */
    int wait;    /* an event must wait (state "back"): pause 5 s after it is finished */
} batch;

/* Plans one event of b within its budget; a stop puts it back. */
static void plan_one(planner *pl, batch *b, int i)
{
    const dcmp_config *cfg = pl->s->cfg;
    outcome *out = &b->out[i];
    char err[DCMP_ERR_LEN];
    int rc;

    memset(&b->res[i], 0, sizeof b->res[i]);
    b->res[i].id = b->ev[i].id;
    if (b->ev[i].quarantined) {
        /* recorded failed by the take, off the processing list: finishing it does nothing */
        quarantined(pl->s, b->ev[i].id, b->ev[i].body);
        memset(out, 0, sizeof *out);
        out->state = "failed";
        out->plan = strdup("{}");
        b->res[i].state = "failed";
        return;
    }
    if (*pl->s->stop) {
        b->res[i].state = "back"; /* taken, not begun: waits in the inbox for the restart */
        return;
    }
    /* a look at Orthanc ended by a stop or the budget (series_decide_all) counts as this */
    pl->cut = b->series[i] ? b->v[i].cut : PLAN_CUT_NONE;
    pl->deadline_ms = dcmp_clock_mono_ms() + cfg->plan_timeout * 1000;
    rc = plan_event(pl, b->ev[i].id, b->ev[i].body, b->series[i] ? &b->v[i] : NULL, out, err);
    pl->deadline_ms = 0;
    if (pl->cut == PLAN_CUT_STOP || rc < 0) {
        if (rc == 0) {
            free(out->graph);
            free(out->plan);
        }
        b->res[i].state = "back";
        if (pl->cut == PLAN_CUT_STOP) {
            /* what it was doing was ended: planned again after the restart, not counted as a
             * take that never finished */
            dcmp_log_info("event %s: the scheduler stops: back to the inbox", b->ev[i].id);
            return;
        }
        /* Settings unreadable or Orthanc down: the event goes back and waits. */
        dcmp_log_error("event %s: %s: it stays in the inbox; retrying in 5 s", b->ev[i].id, err);
        health(pl->s, err);
        b->wait = 1;
        return;
    }
    if (pl->cut == PLAN_CUT_BUDGET) {
        /* a helper request or a callback was ended: whatever was planned is incomplete */
        free(out->graph);
        out->graph = NULL;
        out->state = "failed";
        snprintf(out->error, sizeof out->error,
                 "planning took longer than PLAN_TIMEOUT (%llds): stopped, nothing enqueued",
                 (long long)cfg->plan_timeout);
    }
    atomic_fetch_add(&pl->s->m.callback_errors, out->callback_errors);
    b->res[i].graph = out->graph;
    b->res[i].plan = out->plan;
    b->res[i].state = out->state;
    b->res[i].error = out->error;
}

/*
 * Reads the series events of b and decides them together (series_decide_all: one claim step
 * in Redis for the batch, where one per event cost a round trip each). A body the intake
 * accepted always parses; one that does not is recorded failed, as any event that cannot be
 * planned.
 */
static void decide_all(planner *pl, batch *b)
{
    series_verdict *v[DCMP_QUEUE_EVENT_BATCH];
    const char *ids[DCMP_QUEUE_EVENT_BATCH];
    int i, n = 0;

    for (i = 0; i < b->n; i++) {
        const char *body = b->ev[i].body;
        b->series[i] = 0;
        if (b->ev[i].quarantined || *pl->s->stop ||
            (strncmp(body, LEVEL_BODY_PREFIX, strlen(LEVEL_BODY_PREFIX)) == 0 &&
             strstr(body, "\"seriesId\"") == NULL))
            continue;
        memset(&b->v[i], 0, sizeof b->v[i]);
        b->series[i] = 1;
        b->v[i].rc = 1;
        b->v[i].state = "failed";
        if (dcmp_webhook_parse(body, strlen(body), &b->v[i].w, b->v[i].why) < 0)
            continue;
        v[n] = &b->v[i];
        ids[n++] = b->ev[i].id;
    }
    series_decide_all(pl, v, ids, n);
}

/* Plans every event of b. */
static void plan_all(planner *pl, batch *b)
{
    int i;

    b->wait = 0;
    decide_all(pl, b);
    for (i = 0; i < b->n; i++)
        plan_one(pl, b, i);
    for (i = 0; i < b->n; i++)
        if (b->series[i])
            dcmp_webhook_free(&b->v[i].w);
    b->planned = 1;
}

/* Empties b: its bodies and outcomes freed; counted in the metrics when written. */
static void drop(scheduler *s, batch *b, int written)
{
    int i;

    for (i = 0; i < b->n; i++) {
        if (b->planned && strcmp(b->res[i].state, "back") != 0) {
            if (written)
                count(s, &b->ev[i], &b->res[i]);
            free(b->out[i].graph);
            free(b->out[i].plan);
        }
        free(b->ev[i].body);
    }
    b->n = 0;
    b->planned = 0;
}

/*
 * Finishes a planned batch in one step and waits for it, retrying until Redis takes it (a
 * step Redis refuses records the events failed with why). Returns 1 when written, 0 when the
 * planner stops first (the events stay in the processing list: planned again after the
 * restart).
 */
static int finish_sync(planner *pl, batch *b)
{
    dcmp_queue_event none[1];
    int k, n;

    while (dcmp_queue_event_finish(pl->q, pl->name, b->res, b->n, 0, none, &n) < 0) {
        if (dcmp_queue_err(pl->q) != DCMP_QUEUE_EIO) {
            dcmp_log_error("events: %s", dcmp_queue_errstr(pl->q));
            for (k = 0; k < b->n; k++)
                if (strcmp(b->res[k].state, "back") != 0) {
                    b->res[k].graph = NULL;
                    b->res[k].state = "failed";
                    b->res[k].error = dcmp_queue_errstr(pl->q);
                }
            continue;
        }
        dcmp_log_warn("events: %s; retrying", dcmp_queue_errstr(pl->q));
        dcmp_clock_sleep_ms(500);
        if (*pl->s->stop)
            return 0;
    }
    return 1;
}

/*
 * After a failed step in flight: whatever was planned is finished again (safe: events
 * already done are left alone), what was taken but not planned is forgotten here, and
 * everything left in the processing list (those, and what a lost step took) goes back to the
 * inbox. So every event stays in exactly one place, and none waits for a restart.
 */
static void resync(planner *pl, batch *sent, batch *cur, batch *next)
{
    scheduler *s = pl->s;
    batch *b[2] = {sent, cur};
    int k;

    dcmp_log_warn("events: %s; finishing again what was planned", dcmp_queue_errstr(pl->q));
    for (k = 0; k < 2; k++)
        if (b[k]->n > 0 && b[k]->planned)
            drop(s, b[k], finish_sync(pl, b[k]));
        else
            drop(s, b[k], 0);
    drop(s, next, 0);
    while (!*s->stop && dcmp_queue_event_recover(pl->q, pl->name, NULL) < 0)
        dcmp_clock_sleep_ms(500);
}

/*
 * The planning loop in steady state, pipelined on the planner's Redis connection: while it
 * plans batch `cur`, Redis finishes the batch planned before (`sent`) and takes the next one,
 * so neither waits for the other. Per turn: ask for the next batch; plan cur; read sent's
 * answer, then the next batch; send cur's step without waiting. Returns when no event is left
 * in hand (the caller then waits in Redis for one) or the planner stops. The three batches
 * are the caller's (swapped here); sent and next start empty.
 */
static void plan_stream(planner *pl, batch *cur, batch *sent, batch *next)
{
    scheduler *s = pl->s;
    batch *t;
    int wait;

    while (cur->n > 0 || sent->n > 0) {
        int want = *s->stop ? 0 : DCMP_QUEUE_EVENT_BATCH;
        if (dcmp_queue_event_finish_send(pl->q, pl->name, NULL, 0, want) < 0) {
            resync(pl, sent, cur, next);
            return;
        }
        if (cur->n > 0)
            plan_all(pl, cur);
        if (sent->n > 0) {
            int none;
            if (dcmp_queue_event_finish_recv(pl->q, sent->res, sent->n, 0, NULL, &none) < 0) {
                resync(pl, sent, cur, next);
                return;
            }
            drop(s, sent, 1);
        }
        if (dcmp_queue_event_finish_recv(pl->q, NULL, 0, want, next->ev, &next->n) < 0) {
            resync(pl, sent, cur, next);
            return;
        }
        wait = cur->n > 0 && cur->wait;
        if (cur->n > 0 && dcmp_queue_event_finish_send(pl->q, pl->name, cur->res, cur->n, 0) < 0) {
            /* not sent: cur is finished by resync, with the rest */
            resync(pl, sent, cur, next);
            return;
        }
        /* cur is on its way: it becomes sent, the next batch becomes cur */
        t = sent;
        sent = cur;
        cur = next;
        next = t;
        if (wait) {
            /* an event waits (settings unreadable, Orthanc down): the step that put it back
             * is read, then a pause before the next turn */
            int none;
            if (dcmp_queue_event_finish_recv(pl->q, sent->res, sent->n, 0, NULL, &none) < 0) {
                resync(pl, sent, cur, next);
                return;
            }
            drop(s, sent, 1);
            for (int k = 0; k < 50 && !*s->stop; k++)
                dcmp_clock_sleep_ms(100);
        }
        if (*s->stop && sent->n == 0)
            break;
    }
    /* stopping with events in hand: taken, not planned; they stay in the processing list */
    drop(s, cur, 0);
}

void *planner_main(void *arg)
{
    planner *pl = arg;
    scheduler *s = pl->s;
    const char *name = pl->name;
    batch *b = dcmp_xcalloc(3, sizeof *b), *cur = &b[0]; /* 20 KB each: not on the stack */
    int64_t back = 0, delay = 100;
    char title[16];
    int lost = 0; /* a take failed: recover the processing list first */

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
        /* idle: wait in Redis for the next event (the steady state takes batches) */
        char *body = NULL;
        int rc;
        if (lost && dcmp_queue_event_recover(pl->q, name, NULL) == 0)
            lost = 0;
        rc = lost ? -1
                  : dcmp_queue_event_take(pl->q, name, 1000, cur->ev[0].id, &body,
                                          &cur->ev[0].received);
        if (rc < 0) {
            /* the take may have moved an event whose answer was lost: it goes back to the
             * inbox before the next take */
            lost = 1;
            dcmp_log_warn("inbox: %s; retrying in %lld ms", dcmp_queue_errstr(pl->q),
                          (long long)delay);
            dcmp_clock_sleep_ms(delay);
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
            continue;
        }
        delay = 100;
        if (rc == 2) {
            quarantined(s, cur->ev[0].id, body);
            free(body);
            continue;
        }
        cur->ev[0].quarantined = 0;
        if (rc == 0) {
            /* nothing for a second: helpers idle for a minute give their memory back */
            dcmp_pool_stop_idle(&pl->callbacks.pool, HELPER_IDLE_MS);
            dcmp_pool_stop_idle(&pl->dicom.pool, HELPER_IDLE_MS);
            continue;
        }
        cur->ev[0].body = body;
        cur->n = 1;
        cur->planned = 0;
        plan_stream(pl, &b[0], &b[1], &b[2]);
    }
    free(b);
    return NULL;
}
