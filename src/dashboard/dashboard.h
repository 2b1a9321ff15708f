/* dashboard.h -- dcmp-dashboard: the HTTP side (http.c: login, CSRF, routes), the JSON API
 * (api.c), the actions (actions.c) and the chart's sampler (sampler.c). */
#ifndef DCMP_DASHBOARD_H
#define DCMP_DASHBOARD_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdatomic.h>

#include "config.h"
#include "queue.h"
#include "request.h"
#include "throttle.h"

#define DASHBOARD_HTTP_THREADS 4 /* each with its own Redis connection */
#define DASHBOARD_CSRF_LEN     64

/* Counters for /metrics. */
typedef struct dashboard_metrics {
    atomic_long requests[6]; /* by status class: [1] 1xx ... [5] 5xx */
    atomic_long refused_auth, refused_csrf, refused_origin, refused_readonly;
    atomic_long refused_host, refused_throttled;
    atomic_long actions, action_errors;
} dashboard_metrics;

typedef struct dashboard {
    const dcmp_config *cfg;
    int auth;                          /* DASHBOARD_USER and DASHBOARD_PASSWORD are set */
    char bind[64];                     /* the address listened on (loopback without auth) */
    char csrf[DASHBOARD_CSRF_LEN + 1]; /* this process's token, required on every POST */
    char hosts[REQUEST_MAX_HOSTS][REQUEST_HOST_LEN]; /* the names a Host header may give */
    int nhosts;
    int any_address;       /* listening on every address: any address literal is a Host too */
    dcmp_throttle *logins; /* owned: failed logins per client address; NULL = no limit */
    char *page;            /* owned: index.html with the page's settings */
    size_t page_len;
    dcmp_queue *redis[DASHBOARD_HTTP_THREADS]; /* owned: one per HTTP thread */
    atomic_int redis_next;                     /* hands them out */
    struct MHD_Daemon *http;
    volatile sig_atomic_t *stop;
    dashboard_metrics m;
} dashboard;

/* One request, as a route's handler sees it. */
typedef struct call {
    dashboard *d;
    dcmp_queue *q; /* this HTTP thread's Redis connection */
    struct MHD_Connection *c;
    const char *path;                                /* the request's path */
    char cap[REQUEST_MAX_CAPS][REQUEST_SEGMENT_LEN]; /* the {} segments of the path */
    request_param params[REQUEST_MAX_PARAMS];        /* the query (borrowed from MHD) */
    int nparams;                                     /* more than the max: refused before */
    const char *user;                                /* the login, "" without one */
} call;

/* What a handler answers. */
typedef struct reply {
    unsigned status;
    const char *type; /* static */
    char *body;       /* owned: sent, then freed */
    size_t len;
} reply;

typedef void (*route_fn)(call *k, reply *r);

/* Replies: JSON (takes ownership of o; NULL is an out-of-memory 500), and {"error": text}. */
void reply_json(reply *r, unsigned status, cJSON *o);
void reply_error(reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error of a failed queue call: 404 (no such job), 409 (its state), 503 (Redis down), or
 * 500, with the queue's message. */
void reply_queue_error(reply *r, dcmp_queue *q);

/* http.c: the names the dashboard answers to (d->hosts): localhost, 127.0.0.1, [::1], the
 * address it listens on and the one it is published on when not 0.0.0.0, and DASHBOARD_HOSTS.
 * Returns 0, or -1 with err naming a bad DASHBOARD_HOSTS entry. */
int http_hosts(dashboard *d, char *err);

/* http.c: builds the page and starts listening (DASHBOARD_HTTP_THREADS threads). */
int http_start(dashboard *d, char *err);
void http_stop(dashboard *d);

/* api.c: the GET routes. */
void api_queues(call *k, reply *r);
void api_workers(call *k, reply *r);
void api_jobs(call *k, reply *r);
void api_job(call *k, reply *r);
void api_events(call *k, reply *r);
void api_event(call *k, reply *r);
void api_history(call *k, reply *r);
void api_names(call *k, reply *r);
void api_health(call *k, reply *r);
void api_metrics(call *k, reply *r);

/* actions.c: the POST routes (login, read-only, Origin and CSRF checked before). */
void action_requeue(call *k, reply *r);
void action_cancel(call *k, reply *r);
void action_delete(call *k, reply *r);
void action_requeue_failed(call *k, reply *r);
void action_empty(call *k, reply *r);

/* sampler.c: takes a chart sample every DASHBOARD_SAMPLE_INTERVAL until *d->stop (a thread
 * entry; arg: the dashboard). */
void *sampler_main(void *arg);

/* The number of samples kept: one hour's worth, at least 10. */
int64_t sampler_cap(const dcmp_config *cfg);

#endif
