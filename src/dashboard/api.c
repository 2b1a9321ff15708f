/* api.c -- dcmp-dashboard's JSON API (the GET routes): queues, workers, job pages and one job,
 * events, the chart's samples, /health and /metrics. Everything is read through browse.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "browse.h"
#include "dashboard.h"
#include "log.h"

#define API_MAX_NAMES   1000
#define API_METRICS_MAX (256 * 1024)

/* Refuses a request that has parameters where the route takes none. Returns 1 when it did. */
static int has_params(call *k, reply *r)
{
    static const char *const none[] = {NULL};
    char err[DCMP_ERR_LEN];

    if (request_check_keys(k->params, k->nparams, none, err) == 0)
        return 0;
    reply_error(r, 400, "%s", err);
    return 1;
}

/* ms since the epoch as a number, null for 0 (not yet). */
static int add_ms(cJSON *o, const char *key, int64_t ms)
{
    return (ms > 0 ? cJSON_AddNumberToObject(o, key, (double)ms) : cJSON_AddNullToObject(o, key)) !=
           NULL;
}

/* A text field as JSON when it parses as such, else as a string; "" is null. */
static int add_json_text(cJSON *o, const char *key, const char *text)
{
    cJSON *v;

    if (text == NULL || text[0] == '\0')
        return cJSON_AddNullToObject(o, key) != NULL;
    if ((v = cJSON_Parse(text)) == NULL)
        return cJSON_AddStringToObject(o, key, text) != NULL;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return 0;
    }
    return 1;
}

/* Answers {"<key>": list} (list taken over), with "notShown" when `all` exceeds the `n` listed. */
static void reply_list(reply *r, const char *key, cJSON *list, int n, int all)
{
    cJSON *o = NULL;

    if (list && (o = cJSON_CreateObject()) != NULL && cJSON_AddItemToObject(o, key, list)) {
        list = NULL;
        if (all > n && !cJSON_AddNumberToObject(o, "notShown", all - n)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    cJSON_Delete(list);
    reply_json(r, 200, o);
}

void api_queues(call *k, reply *r)
{
    dcmp_browse_queue *qs = NULL;
    cJSON *list;
    int n = 0, all = 0;

    if (has_params(k, r))
        return;
    if (dcmp_browse_queues(k->q, &qs, &n, &all) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    list = dcmp_browse_queues_json(qs, n);
    free(qs);
    reply_list(r, "queues", list, n, all);
}

void api_workers(call *k, reply *r)
{
    dcmp_browse_worker *ws = NULL;
    cJSON *list;
    int n = 0, all = 0;

    if (has_params(k, r))
        return;
    if (dcmp_browse_workers(k->q, &ws, &n, &all) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    list = dcmp_browse_workers_json(ws, n);
    free(ws);
    reply_list(r, "workers", list, n, all);
}

static cJSON *row_json(const dcmp_browse_row *row)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddStringToObject(o, "id", row->id) ||
        !cJSON_AddStringToObject(o, "jobName", row->name) ||
        !cJSON_AddStringToObject(o, "queue", row->queue) ||
        !cJSON_AddStringToObject(o, "state", row->state) ||
        !cJSON_AddStringToObject(o, "eventId", row->event) ||
        !cJSON_AddStringToObject(o, "seriesId", row->series) ||
        !add_ms(o, "createdAt", row->created) || !add_ms(o, "startedAt", row->started) ||
        !add_ms(o, "endedAt", row->ended) ||
        !cJSON_AddNumberToObject(o, "attempts", (double)row->attempts) ||
        !cJSON_AddStringToObject(o, "error", row->error)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void api_jobs(call *k, reply *r)
{
    char err[DCMP_ERR_LEN];
    dcmp_browse_filter f;
    dcmp_browse_page page;
    int64_t pageno, per;
    cJSON *o, *list;
    int i;

    if (request_jobs_query(k->params, k->nparams, &f, &pageno, &per, err) < 0) {
        reply_error(r, 400, "%s", err);
        return;
    }
    if (dcmp_browse_jobs(k->q, &f, &page) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if ((o = cJSON_CreateObject()) == NULL || (list = cJSON_AddArrayToObject(o, "jobs")) == NULL)
        goto oom;
    for (i = 0; i < page.n; i++) {
        cJSON *row = row_json(&page.rows[i]);
        if (row == NULL || !cJSON_AddItemToArray(list, row)) {
            cJSON_Delete(row);
            goto oom;
        }
    }
    if (!cJSON_AddNumberToObject(o, "total", (double)page.total) ||
        !cJSON_AddBoolToObject(o, "exact", page.exact) ||
        !cJSON_AddNumberToObject(o, "scanned", (double)page.scanned) ||
        !cJSON_AddNumberToObject(o, "page", (double)pageno) ||
        !cJSON_AddNumberToObject(o, "perPage", (double)per))
        goto oom;
    dcmp_browse_page_free(&page);
    reply_json(r, 200, o);
    return;
oom:
    dcmp_browse_page_free(&page);
    cJSON_Delete(o);
    reply_json(r, 500, NULL);
}

static cJSON *links_json(const dcmp_browse_link *links, int n)
{
    cJSON *list = cJSON_CreateArray(), *o;
    int i;

    for (i = 0; list && i < n; i++)
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(list, o) ||
            !cJSON_AddStringToObject(o, "id", links[i].id) ||
            !cJSON_AddStringToObject(o, "jobName", links[i].name) ||
            !cJSON_AddStringToObject(o, "state", links[i].state)) {
            cJSON_Delete(list);
            return NULL;
        }
    return list;
}

/* Which actions the job's state allows now (none on a read-only dashboard). */
static cJSON *actions_json(const char *state, int readonly)
{
    static const char *const cancelable[] = {"queued", "deferred", "blocked", "scheduled",
                                             "failed"};
    cJSON *o = cJSON_CreateObject();
    int cancel = 0;
    size_t i;

    for (i = 0; i < sizeof cancelable / sizeof cancelable[0]; i++)
        cancel |= strcmp(state, cancelable[i]) == 0;
    if (o == NULL ||
        !cJSON_AddBoolToObject(o, "requeue", !readonly && strcmp(state, "failed") == 0) ||
        !cJSON_AddBoolToObject(o, "cancel", !readonly && cancel) ||
        !cJSON_AddBoolToObject(o, "delete", !readonly && strcmp(state, "started") != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void api_job(call *k, reply *r)
{
    dcmp_browse_detail d;
    const dcmp_job *j;
    cJSON *o = NULL, *v;
    int rc;

    if (has_params(k, r))
        return;
    if ((rc = dcmp_browse_job(k->q, k->cap[0], &d)) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if (rc == 0) {
        reply_error(r, 404, "no job %s (it may have expired)", k->cap[0]);
        return;
    }
    j = &d.job;
    if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(o, "id", j->id) ||
        !cJSON_AddStringToObject(o, "jobName", j->name) ||
        !cJSON_AddStringToObject(o, "function", j->func) ||
        !cJSON_AddStringToObject(o, "queue", j->queue) ||
        !cJSON_AddStringToObject(o, "state", j->state) ||
        !cJSON_AddStringToObject(o, "eventId", j->event) ||
        !cJSON_AddStringToObject(o, "seriesId", d.series) || !add_ms(o, "createdAt", j->created) ||
        !add_ms(o, "enqueuedAt", j->enqueued) || !add_ms(o, "startedAt", j->started) ||
        !add_ms(o, "endedAt", j->ended) || !cJSON_AddStringToObject(o, "worker", j->worker) ||
        !cJSON_AddNumberToObject(o, "attempts", (double)j->attempts) ||
        !cJSON_AddNumberToObject(o, "crashes", (double)j->crashes) ||
        !cJSON_AddNumberToObject(o, "retryMax", (double)j->retry_max) ||
        !cJSON_AddNumberToObject(o, "retryInterval", (double)j->retry_interval) ||
        !cJSON_AddNumberToObject(o, "timeout", (double)j->timeout) ||
        !cJSON_AddNumberToObject(o, "pending", (double)j->pending) ||
        !cJSON_AddStringToObject(o, "error", j->error) ||
        !cJSON_AddStringToObject(o, "log", j->log) || !add_json_text(o, "result", j->result) ||
        !add_json_text(o, "kwargs", j->kwargs) || (v = links_json(d.deps, d.ndeps)) == NULL ||
        !cJSON_AddItemToObject(o, "dependencies", v) ||
        (v = links_json(d.dependents, d.ndependents)) == NULL ||
        !cJSON_AddItemToObject(o, "dependents", v) ||
        (v = actions_json(j->state, k->d->cfg->dashboard_readonly)) == NULL ||
        !cJSON_AddItemToObject(o, "actions", v)) {
        cJSON_Delete(o);
        o = NULL;
    }
    dcmp_browse_detail_free(&d);
    reply_json(r, 200, o);
}

/* An event's level: a study (or patient) event's body says so ({"level":"study",...}, written
 * by the scheduler's study_accept) and it has no series id; every other event is a series'. */
static const char *event_level(const cJSON *ev)
{
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(ev, "seriesId");
    const cJSON *level =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "body"), "level");

    if (cJSON_IsString(series) && series->valuestring[0] != '\0')
        return "series";
    if (cJSON_IsString(level) &&
        (strcmp(level->valuestring, "study") == 0 || strcmp(level->valuestring, "patient") == 0))
        return level->valuestring;
    return "series";
}

/* A string member of o, or "" when it is absent or not a string. */
static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* What a list row shows of a study or patient event, from its record (ev, the one-event
 * view): the level, the study's UID, description and patient when the plan's headers hold
 * them, and the number of series the plan's "study" or "patient" object lists (null before
 * it is planned).
 * Returns 1, or 0 when out of memory. */
static int add_level_fields(cJSON *row, const cJSON *ev)
{
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(ev, "plan");
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(plan, "headers");
    const char *level = event_level(ev), *patient = str_of(headers, "PatientID");
    /* the plan's "study" (or "patient") object, written by the scheduler's study.c */
    const cJSON *series =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plan, level), "series");

    if (patient[0] == '\0')
        patient = str_of(headers, "patientId");

    /* the body of a study event names no patient, a patient event's only by Orthanc's id: the
     * plan's headers may have its PatientID, as a series event's row shows */
    if (patient[0] != '\0') {
        cJSON_DeleteItemFromObjectCaseSensitive(row, "patientId");
        if (!cJSON_AddStringToObject(row, "patientId", patient))
            return 0;
    }
    return cJSON_AddStringToObject(row, "level", level) &&
           cJSON_AddStringToObject(row, "studyUid", str_of(headers, "StudyInstanceUID")) &&
           cJSON_AddStringToObject(row, "studyDescription", str_of(headers, "StudyDescription")) &&
           (cJSON_IsArray(series)
                ? cJSON_AddNumberToObject(row, "seriesCount", cJSON_GetArraySize(series)) != NULL
                : cJSON_AddNullToObject(row, "seriesCount") != NULL);
}

/* Adds "level" to each row of an events page; a row without a series id (a study or patient
 * event, or an expired record) is read once more whole for add_level_fields: one script per
 * such row, so a page costs at most twice its rows. Returns 0 or -1 (the queue's error). */
static int add_levels(dcmp_queue *q, cJSON *page)
{
    cJSON *row;
    int oom = 0;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(page, "events"))
    {
        cJSON *one = NULL;
        int rc;
        if (str_of(row, "seriesId")[0] != '\0') {
            oom |= !cJSON_AddStringToObject(row, "level", "series");
            continue;
        }
        if ((rc = dcmp_browse_event(q, str_of(row, "id"), &one)) < 0)
            return -1;
        /* rc 0: expired between the two reads */
        oom |= rc ? !add_level_fields(row, one) : !cJSON_AddStringToObject(row, "level", "");
        cJSON_Delete(one);
    }
    return oom ? dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "out of memory") : 0;
}

void api_events(call *k, reply *r)
{
    char err[DCMP_ERR_LEN];
    int64_t page, per;
    cJSON *o;

    if (request_events_query(k->params, k->nparams, &page, &per, err) < 0) {
        reply_error(r, 400, "%s", err);
        return;
    }
    if (dcmp_browse_events(k->q, (page - 1) * per, per, &o) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if (add_levels(k->q, o) < 0) {
        cJSON_Delete(o);
        reply_queue_error(r, k->q);
        return;
    }
    if (!cJSON_AddNumberToObject(o, "page", (double)page) ||
        !cJSON_AddNumberToObject(o, "perPage", (double)per)) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, 200, o);
}

void api_event(call *k, reply *r)
{
    cJSON *o;
    int rc;

    if (has_params(k, r))
        return;
    if ((rc = dcmp_browse_event(k->q, k->cap[0], &o)) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if (rc == 0) {
        reply_error(r, 404, "no event %s (it may have expired)", k->cap[0]);
        return;
    }
    if (!cJSON_AddStringToObject(o, "level", event_level(o))) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, 200, o);
}

static int64_t now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void api_history(call *k, reply *r)
{
    cJSON *o = NULL, *list;

    if (has_params(k, r))
        return;
    if (dcmp_browse_history(k->q, now_ms() - 3600 * 1000, sampler_cap(k->d->cfg), &list) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToObject(o, "samples", list)) {
        cJSON_Delete(list);
        cJSON_Delete(o);
        o = NULL;
    } else if (!cJSON_AddNumberToObject(o, "interval",
                                        (double)k->d->cfg->dashboard_sample * 1000)) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, 200, o);
}

void api_names(call *k, reply *r)
{
    cJSON *o = NULL, *list;

    if (has_params(k, r))
        return;
    if (dcmp_browse_names(k->q, API_MAX_NAMES, &list) < 0) {
        reply_queue_error(r, k->q);
        return;
    }
    if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToObject(o, "names", list)) {
        cJSON_Delete(list);
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, 200, o);
}

void api_health(call *k, reply *r)
{
    cJSON *o = cJSON_CreateObject();
    int up = dcmp_queue_ping(k->q) == 0;

    if (o && (!cJSON_AddStringToObject(o, "status", up ? "ok" : "degraded") ||
              !cJSON_AddStringToObject(o, "redis", up ? "ok" : dcmp_queue_errstr(k->q)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, up ? 200 : 503, o);
}

/* Appends to a text buffer of fixed capacity; a full buffer drops the rest (then noticed). */
typedef struct text {
    char *buf;
    size_t used, cap;
    int full;
} text;

static void out(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, t->cap - t->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->used)
        t->full = 1;
    else
        t->used += (size_t)n;
}

/* A label value: queue names are [A-Za-z0-9_.:-] already; anything else becomes '_'. */
static void label(char *dst, size_t size, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < size; i++)
        dst[i] = (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20) ? '_' : s[i];
    dst[i] = '\0';
}

void api_metrics(call *k, reply *r)
{
    static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    dcmp_browse_queue *qs = NULL;
    dcmp_browse_worker *ws = NULL;
    dashboard_metrics *m = &k->d->m;
    text t = {0};
    int nq = 0, nw = 0, i, s, idle = 0, busy = 0, dead = 0, up;
    char name[DCMP_QUEUE_LEN];

    if (has_params(k, r))
        return;
    if ((t.buf = malloc(API_METRICS_MAX)) == NULL) {
        reply_error(r, 500, "out of memory");
        return;
    }
    t.cap = API_METRICS_MAX;
    up = dcmp_browse_queues(k->q, &qs, &nq, NULL) == 0 &&
         dcmp_browse_workers(k->q, &ws, &nw, NULL) == 0;
    out(&t,
        "# HELP dcmp_redis_up Whether the dashboard could read Redis.\n"
        "# TYPE dcmp_redis_up gauge\ndcmp_redis_up %d\n",
        up);
    out(&t, "# HELP dcmp_queue_jobs Jobs of a queue in a state.\n# TYPE dcmp_queue_jobs gauge\n");
    for (i = 0; up && i < nq; i++) {
        label(name, sizeof name, qs[i].name);
        for (s = 0; s < DCMP_BROWSE_NSTATES; s++)
            out(&t, "dcmp_queue_jobs{queue=\"%s\",state=\"%s\"} %lld\n", name,
                dcmp_browse_states[s], (long long)qs[i].count[s]);
    }
    for (i = 0; up && i < nw; i++) {
        idle += strcmp(ws[i].state, "idle") == 0;
        busy += strcmp(ws[i].state, "busy") == 0;
        dead += strcmp(ws[i].state, "dead") == 0;
    }
    out(&t,
        "# HELP dcmp_workers Registered workers by state.\n# TYPE dcmp_workers gauge\n"
        "dcmp_workers{state=\"idle\"} %d\ndcmp_workers{state=\"busy\"} %d\n"
        "dcmp_workers{state=\"dead\"} %d\n",
        idle, busy, dead);
    out(&t, "# HELP dcmp_dashboard_requests_total Answers by status class.\n"
            "# TYPE dcmp_dashboard_requests_total counter\n");
    for (i = 1; i < 6; i++)
        out(&t, "dcmp_dashboard_requests_total{code=\"%s\"} %ld\n", classes[i],
            atomic_load(&m->requests[i]));
    out(&t,
        "# HELP dcmp_dashboard_refused_total Requests refused, by reason.\n"
        "# TYPE dcmp_dashboard_refused_total counter\n"
        "dcmp_dashboard_refused_total{reason=\"auth\"} %ld\n"
        "dcmp_dashboard_refused_total{reason=\"csrf\"} %ld\n"
        "dcmp_dashboard_refused_total{reason=\"origin\"} %ld\n"
        "dcmp_dashboard_refused_total{reason=\"readonly\"} %ld\n"
        "dcmp_dashboard_refused_total{reason=\"host\"} %ld\n"
        "dcmp_dashboard_refused_total{reason=\"login_throttled\"} %ld\n",
        atomic_load(&m->refused_auth), atomic_load(&m->refused_csrf),
        atomic_load(&m->refused_origin), atomic_load(&m->refused_readonly),
        atomic_load(&m->refused_host), atomic_load(&m->refused_throttled));
    out(&t,
        "# HELP dcmp_dashboard_actions_total Actions answered, by outcome.\n"
        "# TYPE dcmp_dashboard_actions_total counter\n"
        "dcmp_dashboard_actions_total{outcome=\"ok\"} %ld\n"
        "dcmp_dashboard_actions_total{outcome=\"error\"} %ld\n",
        atomic_load(&m->actions), atomic_load(&m->action_errors));
    free(qs);
    free(ws);
    if (t.full)
        dcmp_log_warn("/metrics: more than %d bytes, cut", API_METRICS_MAX);
    r->status = 200;
    r->type = "text/plain; version=0.0.4";
    r->body = t.buf;
    r->len = t.used;
}
