/* scheduler.h -- dcmp-scheduler: the webhook intake (http.c) and the planning loop
 * (planner.c) around one durable inbox in Redis. */
#ifndef DCMP_SCHEDULER_H
#define DCMP_SCHEDULER_H

#include <signal.h>
#include <stdatomic.h>

#include "callbacks.h"
#include "config.h"
#include "queue.h"

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

typedef struct scheduler {
    const dcmp_config *cfg;
    dcmp_queue *intake; /* used by the HTTP thread only */
    dcmp_queue *plan;   /* used by the planning loop only */
    struct MHD_Daemon *http;
    volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT */
    dcmp_callbacks callbacks;
    struct dcmp_orthanc *orthanc; /* NULL when ORTHANC_REST_URL is not set */
    metrics m;
} scheduler;

extern const double latency_bounds[LATENCY_BUCKETS];

/* Starts the HTTP server on SCHEDULER_BIND:SCHEDULER_PORT (its own thread). */
int http_start(scheduler *s, char *err);
void http_stop(scheduler *s);

/* The /changes catch-up thread (when ORTHANC_REST_URL is set); arg: the scheduler. */
void *catchup_main(void *arg);

/* Plans events from the inbox until *s->stop. */
void planner_run(scheduler *s);

#endif
