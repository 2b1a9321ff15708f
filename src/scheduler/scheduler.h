/* scheduler.h -- dcmp-scheduler: the webhook intake (http.c) and the planning loop
 * (planner.c) around one durable inbox in Redis. */
#ifndef DCMP_SCHEDULER_H
#define DCMP_SCHEDULER_H

#include <signal.h>
#include <stdatomic.h>

#include "callbacks.h"
#include "config.h"
#include "queue.h"
#include "settings_cache.h"

#define LATENCY_BUCKETS 9

/* Counters for /metrics, written by both threads. */
typedef struct metrics {
    atomic_long received;    /* webhook requests to /stable-series */
    atomic_long accepted;    /* stored as new events */
    atomic_long duplicates;  /* the same series version again */
    atomic_long rejected;    /* 4xx: malformed, unauthorized, too large */
    atomic_long unavailable; /* 503: Redis did not answer */
    atomic_long planned;     /* events planned with at least one job */
    atomic_long ignored;     /* events planned with no job */
    atomic_long failed;      /* events whose plan could not be written */
    atomic_long callback_errors;
    atomic_long caught_up; /* events made by the catch-up (their webhook was lost) */
    atomic_long latency[LATENCY_BUCKETS + 1]; /* received -> enqueued, cumulative buckets */
    atomic_long latency_count;
    atomic_llong latency_sum_us;
} metrics;

#define SCHEDULER_MAX_PLANNERS 8
#define SCHEDULER_HTTP_THREADS 2 /* while one waits on Redis, the other takes a request */

typedef struct scheduler {
    const dcmp_config *cfg;
    dcmp_queue *intake[SCHEDULER_HTTP_THREADS]; /* one Redis connection per HTTP thread */
    atomic_int intake_next;                     /* hands out the connections */
    struct MHD_Daemon *http;
    volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT */
    metrics m;
} scheduler;

/* One planning thread: its own Redis connection, callback executor and Orthanc client. */
typedef struct planner {
    scheduler *s;
    dcmp_queue *q;
    dcmp_callbacks callbacks;
    dcmp_settings_cache *settings; /* this thread's parsed settings files */
    struct dcmp_orthanc *orthanc;  /* NULL when ORTHANC_REST_URL is not set */
    char name[96];                 /* names its processing list: SCHEDULER_NAME[.N] */
    int index;                     /* N */
} planner;

extern const double latency_bounds[LATENCY_BUCKETS];

/* Starts the HTTP server on SCHEDULER_BIND:SCHEDULER_PORT (SCHEDULER_HTTP_THREADS threads). */
int http_start(scheduler *s, char *err);
void http_stop(scheduler *s);

/* The /changes catch-up thread (when ORTHANC_REST_URL is set); arg: the scheduler. */
void *catchup_main(void *arg);

/* The processing-list name of planner i (SCHEDULER_NAME for 0, SCHEDULER_NAME.i after). */
void planner_name(const dcmp_config *cfg, int i, char *name, size_t size);

/* Plans events from the inbox until *s->stop (a thread entry; arg: a planner). */
void *planner_main(void *arg);

#endif
