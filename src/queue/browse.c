/* browse.c -- reading the job engine for people: queues, workers, job pages, events, chart
 * samples, and the bulk actions (requeue every failed job, empty a queue). */
#include "browse.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scripts, embedded from src/queue/lua/ at build time (lua_scripts.c). */
extern const char dcmp_lua_browse_queues[], dcmp_lua_browse_workers[], dcmp_lua_browse_jobs[],
    dcmp_lua_browse_job[], dcmp_lua_browse_events[], dcmp_lua_requeue_failed[], dcmp_lua_empty[],
    dcmp_lua_sample[];

#define BROWSE_BATCH       500 /* jobs per step of the bulk actions */
#define BROWSE_SAMPLE_MAXQ 32  /* queues whose depth a chart sample keeps one by one */

const char *const dcmp_browse_states[DCMP_BROWSE_NSTATES] = {
    "queued", "deferred", "blocked", "scheduled", "started", "finished", "failed", "canceled"};

int dcmp_browse_state_index(const char *state)
{
    int i;

    for (i = 0; state && i < DCMP_BROWSE_NSTATES; i++)
        if (strcmp(state, dcmp_browse_states[i]) == 0)
            return i;
    return -1;
}

/* Runs a browse script with string arguments; NULL with the handle's error set. */
static redisReply *script(dcmp_queue *q, const char *body, int nargs, const char **args)
{
    return dcmp_queue_script(q, body, nargs, args, NULL);
}

/* Copies a string element into dst[size] ("" for anything else); cut when longer. */
static void str_at(const redisReply *r, size_t i, char *dst, size_t size)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;
    size_t len;

    dst[0] = '\0';
    if (e == NULL || e->type != REDIS_REPLY_STRING)
        return;
    len = e->len < size - 1 ? e->len : size - 1;
    memcpy(dst, e->str, len);
    dst[len] = '\0';
}

/* An integer element, or a string element holding one; 0 for anything else. */
static int64_t int_at(const redisReply *r, size_t i)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;

    if (e == NULL)
        return 0;
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING && e->len > 0 && e->len < 24) {
        char buf[24], *end;
        long long v;
        memcpy(buf, e->str, e->len);
        buf[e->len] = '\0';
        v = strtoll(buf, &end, 10);
        return *end == '\0' ? (int64_t)v : 0;
    }
    return 0;
}

static int is_array(const redisReply *r, size_t min)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= min;
}

/* Frees r and sets the handle's error for a reply whose shape is not the script's. */
static int shape_error(dcmp_queue *q, redisReply *r, const char *what)
{
    freeReplyObject(r);
    return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: %s: unexpected reply", what);
}

static int no_memory(dcmp_queue *q, redisReply *r)
{
    if (r)
        freeReplyObject(r);
    return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "out of memory");
}

int dcmp_browse_queues(dcmp_queue *q, dcmp_browse_queue **out, int *n, int *all)
{
    const char *args[DCMP_BROWSE_NSTATES];
    char max[16];
    redisReply *r;
    size_t per = 1 + DCMP_BROWSE_NSTATES, i, k;
    int count;

    *out = NULL;
    *n = 0;
    snprintf(max, sizeof max, "%d", DCMP_BROWSE_MAX_QUEUES);
    args[0] = max;
    for (i = 1; i < DCMP_BROWSE_NSTATES; i++)
        args[i] = dcmp_browse_states[i]; /* the registries: every state but queued */
    if ((r = script(q, dcmp_lua_browse_queues, DCMP_BROWSE_NSTATES, args)) == NULL)
        return -1;
    if (!is_array(r, 1) || (r->elements - 1) % per != 0)
        return shape_error(q, r, "browse_queues");
    count = (int)((r->elements - 1) / per);
    if (count > 0 && (*out = calloc((size_t)count, sizeof **out)) == NULL)
        return no_memory(q, r);
    for (k = 0; k < (size_t)count; k++) {
        size_t base = 1 + k * per;
        str_at(r, base, (*out)[k].name, sizeof(*out)[k].name);
        for (i = 0; i < DCMP_BROWSE_NSTATES; i++)
            (*out)[k].count[i] = int_at(r, base + 1 + i);
    }
    *n = count;
    if (all)
        *all = (int)int_at(r, 0);
    freeReplyObject(r);
    return 0;
}

int dcmp_browse_workers(dcmp_queue *q, dcmp_browse_worker **out, int *n, int *all)
{
    char max[16];
    const char *args[1] = {max};
    redisReply *r;
    size_t per = 11, k;
    int count;

    *out = NULL;
    *n = 0;
    snprintf(max, sizeof max, "%d", DCMP_BROWSE_MAX_WORKERS);
    if ((r = script(q, dcmp_lua_browse_workers, 1, args)) == NULL)
        return -1;
    if (!is_array(r, 1) || (r->elements - 1) % per != 0)
        return shape_error(q, r, "browse_workers");
    count = (int)((r->elements - 1) / per);
    if (count > 0 && (*out = calloc((size_t)count, sizeof **out)) == NULL)
        return no_memory(q, r);
    for (k = 0; k < (size_t)count; k++) {
        dcmp_browse_worker *w = &(*out)[k];
        size_t b = 1 + k * per;
        str_at(r, b, w->name, sizeof w->name);
        str_at(r, b + 1, w->queues, sizeof w->queues);
        w->pid = int_at(r, b + 2);
        str_at(r, b + 3, w->host, sizeof w->host);
        w->birth = int_at(r, b + 4);
        w->beat = int_at(r, b + 5);
        str_at(r, b + 6, w->state, sizeof w->state);
        str_at(r, b + 7, w->current, sizeof w->current);
        w->processed = int_at(r, b + 8);
        w->failed = int_at(r, b + 9);
        if (int_at(r, b + 10) == 0)
            dcmp_strlcpy(w->state, "dead", sizeof w->state);
        else if (w->state[0] == '\0')
            dcmp_strlcpy(w->state, "idle", sizeof w->state);
    }
    *n = count;
    if (all)
        *all = (int)int_at(r, 0);
    freeReplyObject(r);
    return 0;
}

cJSON *dcmp_browse_queues_json(const dcmp_browse_queue *qs, int n)
{
    cJSON *list = cJSON_CreateArray(), *o;
    int i, k;

    for (i = 0; list && i < n; i++) {
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(list, o) ||
            !cJSON_AddStringToObject(o, "name", qs[i].name))
            goto oom;
        for (k = 0; k < DCMP_BROWSE_NSTATES; k++)
            if (!cJSON_AddNumberToObject(o, dcmp_browse_states[k], (double)qs[i].count[k]))
                goto oom;
    }
    return list;
oom:
    cJSON_Delete(list);
    return NULL;
}

cJSON *dcmp_browse_workers_json(const dcmp_browse_worker *ws, int n)
{
    cJSON *list = cJSON_CreateArray(), *o;
    int i;

    for (i = 0; list && i < n; i++) {
        const dcmp_browse_worker *w = &ws[i];
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(list, o) ||
            !cJSON_AddStringToObject(o, "name", w->name) ||
            !cJSON_AddStringToObject(o, "state", w->state) ||
            !(w->current[0] ? cJSON_AddStringToObject(o, "currentJob", w->current)
                            : cJSON_AddNullToObject(o, "currentJob")) ||
            !cJSON_AddStringToObject(o, "queues", w->queues) ||
            !cJSON_AddNumberToObject(o, "lastHeartbeat", (double)w->beat) ||
            !cJSON_AddNumberToObject(o, "processed", (double)w->processed) ||
            !cJSON_AddNumberToObject(o, "failed", (double)w->failed) ||
            !cJSON_AddStringToObject(o, "host", w->host) ||
            !cJSON_AddNumberToObject(o, "pid", (double)w->pid) ||
            !cJSON_AddNumberToObject(o, "startedAt", (double)w->birth))
            goto oom;
    }
    return list;
oom:
    cJSON_Delete(list);
    return NULL;
}

static int queue_name_ok(const char *s)
{
    size_t len = strlen(s), i;

    if (len == 0 || len >= DCMP_QUEUE_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' &&
            s[i] != ':')
            return 0;
    return 1;
}

static int is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int dcmp_browse_check_filter(const dcmp_browse_filter *f, char *err)
{
    size_t i;

    if (is_set(f->queue) && !queue_name_ok(f->queue))
        return dcmp_seterr(err, "queue: letters, digits, _ - . : (1 to %d)", DCMP_QUEUE_LEN - 1);
    if (is_set(f->state) && dcmp_browse_state_index(f->state) < 0)
        return dcmp_seterr(err, "state: one of queued, deferred, blocked, scheduled, started, "
                                "finished, failed, canceled");
    if (is_set(f->name)) {
        if (strlen(f->name) >= DCMP_BROWSE_NAME_LEN)
            return dcmp_seterr(err, "name: longer than %d bytes", DCMP_BROWSE_NAME_LEN - 1);
        for (i = 0; f->name[i]; i++)
            if ((unsigned char)f->name[i] < 0x20 || f->name[i] == 0x7f)
                return dcmp_seterr(err, "name: control characters are not allowed");
    }
    if (is_set(f->series)) {
        if (strlen(f->series) >= DCMP_BROWSE_SERIES_LEN)
            return dcmp_seterr(err, "series: longer than %d bytes", DCMP_BROWSE_SERIES_LEN - 1);
        for (i = 0; f->series[i]; i++)
            if (!isalnum((unsigned char)f->series[i]) && f->series[i] != '-' &&
                f->series[i] != '_' && f->series[i] != '.')
                return dcmp_seterr(err, "series: letters, digits, - _ . only");
    }
    if (!is_set(f->series) && (!is_set(f->queue) || !is_set(f->state)))
        return dcmp_seterr(err,
                           "%s: required (queue and state go together, unless series is "
                           "given)",
                           is_set(f->queue) ? "state" : "queue");
    if (f->offset < 0 || f->offset > DCMP_BROWSE_MAX_OFFSET)
        return dcmp_seterr(err, "offset: from 0 to %d", DCMP_BROWSE_MAX_OFFSET);
    if (f->count < 1 || f->count > DCMP_BROWSE_MAX_PAGE)
        return dcmp_seterr(err, "count: from 1 to %d", DCMP_BROWSE_MAX_PAGE);
    return 0;
}

static void row_from(dcmp_browse_row *row, const redisReply *e)
{
    str_at(e, 0, row->id, sizeof row->id);
    str_at(e, 1, row->name, sizeof row->name);
    str_at(e, 2, row->queue, sizeof row->queue);
    str_at(e, 3, row->state, sizeof row->state);
    str_at(e, 4, row->event, sizeof row->event);
    str_at(e, 5, row->series, sizeof row->series);
    row->created = int_at(e, 6);
    row->started = int_at(e, 7);
    row->ended = int_at(e, 8);
    row->attempts = int_at(e, 9);
    str_at(e, 10, row->error, sizeof row->error);
}

int dcmp_browse_jobs(dcmp_queue *q, const dcmp_browse_filter *f, dcmp_browse_page *page)
{
    char err[DCMP_ERR_LEN], offset[24], count[24], errlen[16], scap[16], window[16];
    const char *args[9] = {f->queue ? f->queue : "",
                           f->state ? f->state : "",
                           f->name ? f->name : "",
                           f->series ? f->series : "",
                           offset,
                           count,
                           errlen,
                           scap,
                           window};
    redisReply *r;
    size_t i;

    memset(page, 0, sizeof *page);
    if (dcmp_browse_check_filter(f, err) < 0)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s", err);
    snprintf(offset, sizeof offset, "%lld", (long long)f->offset);
    snprintf(count, sizeof count, "%lld", (long long)f->count);
    snprintf(errlen, sizeof errlen, "%d", DCMP_BROWSE_ERROR_LEN);
    snprintf(scap, sizeof scap, "%d", DCMP_BROWSE_SERIES_CAP);
    snprintf(window, sizeof window, "%d", DCMP_BROWSE_WINDOW);
    if ((r = script(q, dcmp_lua_browse_jobs, 9, args)) == NULL)
        return -1;
    if (!is_array(r, 3) || r->elements - 3 > (size_t)f->count)
        return shape_error(q, r, "browse_jobs");
    page->total = int_at(r, 0);
    page->exact = int_at(r, 1) != 0;
    page->scanned = int_at(r, 2);
    if (r->elements > 3 && (page->rows = calloc(r->elements - 3, sizeof *page->rows)) == NULL)
        return no_memory(q, r);
    for (i = 3; i < r->elements; i++)
        if (is_array(r->element[i], 11))
            row_from(&page->rows[page->n++], r->element[i]);
    freeReplyObject(r);
    return 0;
}

void dcmp_browse_page_free(dcmp_browse_page *page)
{
    free(page->rows);
    memset(page, 0, sizeof *page);
}

/* Fills links[] (new) from a reply array of {id, name, state} triples. */
static int links_from(const redisReply *r, dcmp_browse_link **links, int *n)
{
    size_t i;

    *links = NULL;
    *n = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return 0;
    if ((*links = calloc(r->elements, sizeof **links)) == NULL)
        return -1;
    for (i = 0; i < r->elements && i < DCMP_BROWSE_MAX_LINKS; i++) {
        const redisReply *e = r->element[i];
        if (!is_array(e, 3))
            continue;
        str_at(e, 0, (*links)[*n].id, sizeof(*links)[*n].id);
        str_at(e, 1, (*links)[*n].name, sizeof(*links)[*n].name);
        str_at(e, 2, (*links)[*n].state, sizeof(*links)[*n].state);
        (*n)++;
    }
    return 0;
}

int dcmp_browse_job(dcmp_queue *q, const char *id, dcmp_browse_detail *d)
{
    char max[16], err[DCMP_ERR_LEN];
    const char *args[2] = {id, max}, *strs[128];
    size_t lens[128], i;
    redisReply *r, *h;

    memset(d, 0, sizeof *d);
    snprintf(max, sizeof max, "%d", DCMP_BROWSE_MAX_LINKS);
    if ((r = script(q, dcmp_lua_browse_job, 2, args)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (!is_array(r, 4) || r->element[0]->type != REDIS_REPLY_ARRAY)
        return shape_error(q, r, "browse_job");
    h = r->element[0];
    if (h->elements > 128 || h->elements % 2 != 0)
        return shape_error(q, r, "browse_job: job hash");
    for (i = 0; i < h->elements; i++) {
        if (h->element[i]->type != REDIS_REPLY_STRING)
            return shape_error(q, r, "browse_job: job hash");
        strs[i] = h->element[i]->str;
        lens[i] = h->element[i]->len;
    }
    if (dcmp_job_decode(&d->job, h->elements, strs, lens, err) < 0) {
        dcmp_browse_detail_free(d);
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "job %s: %s", id, err);
    }
    str_at(r, 3, d->series, sizeof d->series);
    if (links_from(r->element[1], &d->deps, &d->ndeps) < 0 ||
        links_from(r->element[2], &d->dependents, &d->ndependents) < 0) {
        dcmp_browse_detail_free(d);
        return no_memory(q, r);
    }
    freeReplyObject(r);
    return 1;
}

void dcmp_browse_detail_free(dcmp_browse_detail *d)
{
    dcmp_job_clear(&d->job);
    free(d->deps);
    free(d->dependents);
    memset(d, 0, sizeof *d);
}

/* A string element as a new cJSON string ("" for anything else). */
static cJSON *json_str(const redisReply *r, size_t i)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;
    char *tmp;
    cJSON *v;

    if (e == NULL || e->type != REDIS_REPLY_STRING)
        return cJSON_CreateString("");
    if ((tmp = malloc(e->len + 1)) == NULL)
        return NULL;
    memcpy(tmp, e->str, e->len);
    tmp[e->len] = '\0';
    v = cJSON_CreateString(tmp);
    free(tmp);
    return v;
}

/* A string element parsed as JSON, or `fallback` (a new cJSON) when it is not JSON. */
static cJSON *json_parsed(const redisReply *r, size_t i, cJSON *fallback)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;
    cJSON *v;

    if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0)
        return fallback;
    if ((v = cJSON_ParseWithLength(e->str, e->len)) == NULL)
        return fallback;
    cJSON_Delete(fallback);
    return v;
}

/* A number element as a cJSON number, or null when 0 (not yet). */
static cJSON *json_ms(const redisReply *r, size_t i)
{
    int64_t v = int_at(r, i);

    return v ? cJSON_CreateNumber((double)v) : cJSON_CreateNull();
}

/* Adds the fields common to the list and the one-event view, from elements base.. of r
 * (series, version, received, state, error, jobs, planned, patient, study, description,
 * modality). Returns 0 or -1 (out of memory). */
static int event_fields(cJSON *o, const redisReply *r, size_t base)
{
    static const char *const names[] = {"seriesId", "version",     "receivedAt", "state",
                                        "error",    "jobCount",    "plannedAt",  "patientId",
                                        "studyId",  "description", "modality"};
    size_t k;

    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        cJSON *v;
        if (k == 2 || k == 6)
            v = json_ms(r, base + k);
        else if (k == 5)
            v = cJSON_CreateNumber((double)int_at(r, base + k));
        else
            v = json_str(r, base + k);
        if (v == NULL || !cJSON_AddItemToObject(o, names[k], v)) {
            cJSON_Delete(v);
            return -1;
        }
    }
    return 0;
}

int dcmp_browse_events(dcmp_queue *q, int64_t offset, int64_t count, cJSON **out)
{
    char off[24], cnt[24], max[24], rlen[16];
    const char *args[5] = {"list", off, cnt, max, rlen};
    cJSON *root, *list;
    redisReply *r;
    size_t i;

    *out = NULL;
    if (offset < 0 || offset > DCMP_BROWSE_MAX_OFFSET || count < 1 || count > DCMP_BROWSE_MAX_PAGE)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "events: offset or count out of range");
    snprintf(off, sizeof off, "%lld", (long long)offset);
    snprintf(cnt, sizeof cnt, "%lld", (long long)count);
    snprintf(max, sizeof max, "%d", DCMP_BROWSE_BODY_MAX);
    snprintf(rlen, sizeof rlen, "%d", DCMP_BROWSE_ERROR_LEN);
    if ((r = script(q, dcmp_lua_browse_events, 5, args)) == NULL)
        return -1;
    if (!is_array(r, 1))
        return shape_error(q, r, "browse_events");
    if ((root = cJSON_CreateObject()) == NULL ||
        (list = cJSON_AddArrayToObject(root, "events")) == NULL) {
        cJSON_Delete(root);
        return no_memory(q, r);
    }
    for (i = 1; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        cJSON *o, *v;
        if (!is_array(e, 13))
            continue;
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(list, o) ||
            (v = json_str(e, 0)) == NULL || !cJSON_AddItemToObject(o, "id", v) ||
            event_fields(o, e, 1) < 0 || (v = json_parsed(e, 12, cJSON_CreateArray())) == NULL ||
            !cJSON_AddItemToObject(o, "decisions", v)) {
            cJSON_Delete(root);
            return no_memory(q, r);
        }
    }
    if (cJSON_AddNumberToObject(root, "total", (double)int_at(r, 0)) == NULL) {
        cJSON_Delete(root);
        return no_memory(q, r);
    }
    freeReplyObject(r);
    *out = root;
    return 0;
}

/* The plan's jobs, each with "state" added from the id/state pairs of states[]. */
static void annotate_jobs(cJSON *plan, const redisReply *states)
{
    cJSON *jobs = cJSON_GetObjectItemCaseSensitive(plan, "jobs"), *j;
    size_t i;

    cJSON_ArrayForEach(j, jobs)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        const char *state = "expired";
        if (!cJSON_IsString(id))
            continue;
        for (i = 0; i + 1 < states->elements; i += 2)
            if (states->element[i]->type == REDIS_REPLY_STRING &&
                states->element[i + 1]->type == REDIS_REPLY_STRING &&
                strcmp(states->element[i]->str, id->valuestring) == 0) {
                state = states->element[i + 1]->str;
                break;
            }
        cJSON_DeleteItemFromObjectCaseSensitive(j, "state");
        cJSON_AddStringToObject(j, "state", state);
    }
}

int dcmp_browse_event(dcmp_queue *q, const char *id, cJSON **out)
{
    char max[24];
    const char *args[3] = {"one", id, max};
    cJSON *root, *v, *plan;
    redisReply *r;

    *out = NULL;
    snprintf(max, sizeof max, "%d", DCMP_BROWSE_BODY_MAX);
    if ((r = script(q, dcmp_lua_browse_events, 3, args)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (!is_array(r, 14) || r->element[13]->type != REDIS_REPLY_ARRAY)
        return shape_error(q, r, "browse_events one");
    if ((root = cJSON_CreateObject()) == NULL || (v = cJSON_CreateString(id)) == NULL ||
        !cJSON_AddItemToObject(root, "id", v) || event_fields(root, r, 0) < 0 ||
        (v = json_parsed(r, 11, cJSON_CreateNull())) == NULL ||
        !cJSON_AddItemToObject(root, "body", v) ||
        (plan = json_parsed(r, 12, cJSON_CreateObject())) == NULL ||
        !cJSON_AddItemToObject(root, "plan", plan)) {
        cJSON_Delete(root);
        return no_memory(q, r);
    }
    annotate_jobs(plan, r->element[13]);
    freeReplyObject(r);
    *out = root;
    return 1;
}

/* Runs a bulk script until it handles nothing; *n gets the sum of its first counts. */
static int bulk(dcmp_queue *q, const char *body, int nargs, const char **args, int64_t *n,
                int64_t *canceled)
{
    int64_t total = 0, total_canceled = 0, got;
    redisReply *r;

    do {
        if ((r = script(q, body, nargs, args)) == NULL)
            return -1;
        if (r->type == REDIS_REPLY_INTEGER) {
            got = r->integer;
        } else if (is_array(r, 2)) {
            got = int_at(r, 0);
            total_canceled += int_at(r, 1);
        } else {
            return shape_error(q, r, "bulk action");
        }
        freeReplyObject(r);
        total += got;
    } while (got > 0);
    if (n)
        *n = total;
    if (canceled)
        *canceled = total_canceled;
    return 0;
}

int dcmp_browse_requeue_failed(dcmp_queue *q, const char *queue, int64_t *n)
{
    char batch[16];
    const char *args[2] = {queue, batch};

    if (!queue_name_ok(queue))
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "bad queue name");
    snprintf(batch, sizeof batch, "%d", BROWSE_BATCH);
    return bulk(q, dcmp_lua_requeue_failed, 2, args, n, NULL);
}

int dcmp_browse_empty(dcmp_queue *q, const char *queue, const char *state, int64_t ttl_failed,
                      int64_t *n, int64_t *canceled)
{
    char batch[16], ttl[24];
    const char *args[4] = {queue, state, ttl, batch};

    if (!queue_name_ok(queue))
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "bad queue name");
    if (strcmp(state, "queued") != 0 && strcmp(state, "failed") != 0 &&
        strcmp(state, "finished") != 0 && strcmp(state, "canceled") != 0)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                 "state: queued, failed, finished or canceled, not \"%s\"", state);
    snprintf(batch, sizeof batch, "%d", BROWSE_BATCH);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_failed);
    return bulk(q, dcmp_lua_empty, 4, args, n, canceled);
}

int dcmp_browse_sample(dcmp_queue *q, int64_t interval_ms, int64_t cap, int *taken)
{
    char interval[24], scap[24], maxq[16];
    const char *args[3 + DCMP_BROWSE_NSTATES] = {interval, scap, maxq};
    redisReply *r;
    int i;

    snprintf(interval, sizeof interval, "%lld", (long long)interval_ms);
    snprintf(scap, sizeof scap, "%lld", (long long)cap);
    snprintf(maxq, sizeof maxq, "%d", BROWSE_SAMPLE_MAXQ);
    for (i = 1; i < DCMP_BROWSE_NSTATES; i++)
        args[2 + i] = dcmp_browse_states[i];
    if ((r = script(q, dcmp_lua_sample, 2 + DCMP_BROWSE_NSTATES, args)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_INTEGER)
        return shape_error(q, r, "sample");
    if (taken)
        *taken = r->integer != 0;
    freeReplyObject(r);
    return 0;
}

int dcmp_browse_history(dcmp_queue *q, int64_t since_ms, int64_t cap, cJSON **out)
{
    char stop[24];
    const char *argv[4] = {"LRANGE", "dcmp:dashboard:samples", "0", stop};
    redisReply *r;
    cJSON *list;
    size_t i;

    *out = NULL;
    snprintf(stop, sizeof stop, "%lld", (long long)(cap - 1));
    if ((r = dcmp_queue_command(q, 4, argv, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY)
        return shape_error(q, r, "LRANGE dashboard:samples");
    if ((list = cJSON_CreateArray()) == NULL)
        return no_memory(q, r);
    /* newest first in Redis: read backwards so the array is oldest first */
    for (i = r->elements; i-- > 0;) {
        const redisReply *e = r->element[i];
        const cJSON *t;
        cJSON *s;
        if (e->type != REDIS_REPLY_STRING || (s = cJSON_ParseWithLength(e->str, e->len)) == NULL)
            continue;
        t = cJSON_GetObjectItemCaseSensitive(s, "t");
        if (!cJSON_IsObject(s) || !cJSON_IsNumber(t) || t->valuedouble < (double)since_ms ||
            !cJSON_AddItemToArray(list, s))
            cJSON_Delete(s);
    }
    freeReplyObject(r);
    *out = list;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const redisReply *x = *(const redisReply *const *)a, *y = *(const redisReply *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int dcmp_browse_names(dcmp_queue *q, int max, cJSON **out)
{
    const char *argv[2] = {"SMEMBERS", "dcmp:idx:names"};
    redisReply *r;
    cJSON *list;
    size_t i;

    *out = NULL;
    if ((r = dcmp_queue_command(q, 2, argv, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY)
        return shape_error(q, r, "SMEMBERS idx:names");
    for (i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return shape_error(q, r, "SMEMBERS idx:names");
    qsort(r->element, r->elements, sizeof r->element[0], by_name);
    if ((list = cJSON_CreateArray()) == NULL)
        return no_memory(q, r);
    for (i = 0; i < r->elements && (int)i < max; i++) {
        cJSON *v = json_str(r, i);
        if (v == NULL || !cJSON_AddItemToArray(list, v)) {
            cJSON_Delete(v);
            cJSON_Delete(list);
            return no_memory(q, r);
        }
    }
    freeReplyObject(r);
    *out = list;
    return 0;
}
