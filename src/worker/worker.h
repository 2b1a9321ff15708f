/* worker.h -- the dcmp-worker loop: fetch in priority order, run, report, heartbeat, reap. */
#ifndef DCMP_WORKER_H
#define DCMP_WORKER_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "confine.h"
#include "job.h"
#include "pool.h"
#include "queue.h"
#include "scripts.h"

#define WORKER_MAX_QUEUES 32

typedef struct worker {
    const dcmp_config *cfg;
    dcmp_queue *q;
    char name[DCMP_WORKER_LEN];
    char queue_buf[1024];
    const char *queues[WORKER_MAX_QUEUES];
    int nqueues;
    char host[256];
    int64_t birth_ms;
    int burst;                   /* stop when every queue is empty */
    volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT; 2 or more = at once */
    int64_t stop_seen;           /* monotonic ms the stop was first seen, 0 = none */
    int64_t next_beat;           /* monotonic ms of the next heartbeat */
    int64_t next_sweep;          /* monotonic ms of the next sweep of orphaned containers */
    int64_t beat_ok;             /* monotonic ms the last heartbeat Redis took was sent */
    int cut_off;                 /* the running job was killed for a lost lease */
    char current[DCMP_ID_LEN];   /* the job running, "" when none */
    long done, failed;
    int use_pool;           /* WORKER_EXECUTOR=pool */
    dcmp_pool pool;         /* the long-lived executor, when use_pool */
    dcmp_confine confine;   /* every job's environment and limits (JOB_ENV, JOB_*_LIMIT) */
    dcmp_cgroup cgroup;     /* the folder of the job processes' cgroups, when usable */
    int scripts_on;         /* run MODULES/<service>/script.sh (not with --no-scripts) */
    int64_t next_scan;      /* monotonic ms of the next look for new or changed scripts */
    worker_scripts scripts; /* the scripts run so far */
} worker;

/* Sets up *w: name, queues (WORKER_JOBS or `queues`), the Redis handle.
 * Returns 0 or -1 with err. */
int worker_init(worker *w, const dcmp_config *cfg, const char *queues, const char *name,
                volatile sig_atomic_t *stop, char *err);

/* Runs MODULES/<service>/script.sh of every service once, logging their output; with
 * w->scripts_on, worker_run looks again every WORKER_SCRIPT_SCAN_MS and runs the new and the
 * changed ones (a service installed while the worker runs). */
void worker_run_scripts(worker *w);

#define WORKER_SCRIPT_SCAN_MS 2000

/* Serves jobs until stopped (or, in burst mode, until the queues are empty).
 * Returns the exit status for main. */
int worker_run(worker *w);

void worker_free(worker *w);

#endif
