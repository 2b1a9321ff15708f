/* actions.c -- dcmp-dashboard's actions (the POST routes): requeue, cancel or delete a job;
 * requeue every failed job of a queue; empty a queue. http.c has checked the login, the
 * read-only mode, Origin and the CSRF token before any of these runs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "browse.h"
#include "dashboard.h"

/* {"ok": true, "message": ..., "count": n}. */
static void done(reply *r, int64_t count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void done(reply *r, int64_t count, const char *fmt, ...)
{
    char msg[DCMP_ERR_LEN];
    cJSON *o = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && (!cJSON_AddBoolToObject(o, "ok", 1) || !cJSON_AddStringToObject(o, "message", msg) ||
              !cJSON_AddNumberToObject(o, "count", (double)count))) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, 200, o);
}

/* Refuses parameters other than `allowed` (NULL-terminated). Returns 1 when it did. */
static int bad_params(call *k, reply *r, const char *const *allowed)
{
    char err[DCMP_ERR_LEN];

    if (request_check_keys(k->params, k->nparams, allowed, err) == 0)
        return 0;
    reply_error(r, 400, "%s", err);
    return 1;
}

static const char *const no_params[] = {NULL};

void action_requeue(call *k, reply *r)
{
    if (bad_params(k, r, no_params))
        return;
    if (dcmp_queue_requeue(k->q, k->cap[0]) < 0)
        reply_queue_error(r, k->q);
    else
        done(r, 1, "job %s requeued", k->cap[0]);
}

void action_cancel(call *k, reply *r)
{
    int64_t n = 0;

    if (bad_params(k, r, no_params))
        return;
    if (dcmp_queue_cancel(k->q, k->cap[0], &n) < 0)
        reply_queue_error(r, k->q);
    else if (n > 1)
        done(r, n, "job %s canceled, and %lld jobs that depended on it", k->cap[0],
             (long long)(n - 1));
    else
        done(r, n, "job %s canceled", k->cap[0]);
}

void action_delete(call *k, reply *r)
{
    int64_t n = 0;

    if (bad_params(k, r, no_params))
        return;
    if (dcmp_queue_delete(k->q, k->cap[0], &n) < 0)
        reply_queue_error(r, k->q);
    else if (n > 0)
        done(r, 1, "job %s deleted; %lld jobs that depended on it canceled", k->cap[0],
             (long long)n);
    else
        done(r, 1, "job %s deleted", k->cap[0]);
}

void action_requeue_failed(call *k, reply *r)
{
    int64_t n = 0;

    if (bad_params(k, r, no_params))
        return;
    if (dcmp_browse_requeue_failed(k->q, k->cap[0], &n) < 0)
        reply_queue_error(r, k->q);
    else
        done(r, n, "%lld failed jobs of %s requeued", (long long)n, k->cap[0]);
}

void action_empty(call *k, reply *r)
{
    static const char *const allowed[] = {"state", NULL};
    static const char *const states[] = {"queued", "failed", "finished", "canceled"};
    const char *state;
    int64_t n = 0, canceled = 0;
    size_t i;
    int ok = 0;

    if (bad_params(k, r, allowed))
        return;
    state = request_param_get(k->params, k->nparams, "state");
    if (state == NULL || state[0] == '\0')
        state = "queued";
    for (i = 0; i < sizeof states / sizeof states[0]; i++)
        ok |= strcmp(state, states[i]) == 0;
    if (!ok) {
        reply_error(r, 400, "state: queued, failed, finished or canceled");
        return;
    }
    if (dcmp_browse_empty(k->q, k->cap[0], state, k->d->cfg->ttl_failed, &n, &canceled) < 0)
        reply_queue_error(r, k->q);
    else if (canceled > 0)
        done(r, n, "%lld %s jobs of %s deleted; %lld jobs that depended on them canceled",
             (long long)n, state, k->cap[0], (long long)canceled);
    else
        done(r, n, "%lld %s jobs of %s deleted", (long long)n, state, k->cap[0]);
}
