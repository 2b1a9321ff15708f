/* browse.h -- reading the job engine for people: queues, workers, job pages, events, chart
 * samples, and the bulk actions (requeue every failed job, empty a queue). */
#ifndef DCMP_BROWSE_H
#define DCMP_BROWSE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "job.h"
#include "queue.h"

/*
 * Used by dcmp-dashboard and `dcm-processor status`. Every function is one Lua script run by
 * Redis (src/queue/lua/browse_*.lua, requeue_failed.lua, empty.lua, sample.lua), so a page
 * is one round trip, and none walks every job: counts are ZCARD/LLEN of the state registries,
 * pages are ranges of them, and the name and series filters use the indexes written at
 * enqueue (common.lua, index_job). Every result is capped (the DCMP_BROWSE_* limits below).
 * Errors are the handle's (dcmp_queue_err, dcmp_queue_errstr).
 */

#define DCMP_BROWSE_MAX_QUEUES  256  /* queues listed */
#define DCMP_BROWSE_MAX_WORKERS 1024 /* workers listed */
#define DCMP_BROWSE_MAX_PAGE    500  /* jobs or events in one page */
#define DCMP_BROWSE_MAX_OFFSET  1000000
#define DCMP_BROWSE_MAX_LINKS   256   /* dependencies, dependents shown of one job */
#define DCMP_BROWSE_SERIES_CAP  10000 /* newest jobs of one series looked at */
#define DCMP_BROWSE_WINDOW      10000 /* registry entries a name filter looks at, at most */
#define DCMP_BROWSE_ERROR_LEN   300   /* error text kept per row of a page */
#define DCMP_BROWSE_BODY_MAX    65536 /* webhook body bytes decoded or returned per event */
#define DCMP_BROWSE_NAME_LEN    256   /* job names (longer ones are cut in rows) */
#define DCMP_BROWSE_SERIES_LEN  128   /* series ids */

/* The states a job can be in, in the order of dcmp_browse_queue.count. */
enum {
    DCMP_BROWSE_QUEUED,
    DCMP_BROWSE_DEFERRED,
    DCMP_BROWSE_BLOCKED,
    DCMP_BROWSE_SCHEDULED,
    DCMP_BROWSE_STARTED,
    DCMP_BROWSE_FINISHED,
    DCMP_BROWSE_FAILED,
    DCMP_BROWSE_CANCELED,
    DCMP_BROWSE_NSTATES
};

/* The state names, indexed by the enum above ("queued", ..., "canceled"). */
extern const char *const dcmp_browse_states[DCMP_BROWSE_NSTATES];

/* The index of a state name, or -1. */
int dcmp_browse_state_index(const char *state);

typedef struct dcmp_browse_queue {
    char name[DCMP_QUEUE_LEN];
    int64_t count[DCMP_BROWSE_NSTATES];
} dcmp_browse_queue;

/* Every queue (sorted by name, at most DCMP_BROWSE_MAX_QUEUES) with its counts. *out is new
 * (free it), *n its length; *all (may be NULL) gets how many queues exist. Returns 0 or -1. */
int dcmp_browse_queues(dcmp_queue *q, dcmp_browse_queue **out, int *n, int *all);

typedef struct dcmp_browse_worker {
    char name[DCMP_WORKER_LEN];
    char queues[1024];
    char host[256];
    char state[16]; /* idle, busy, or dead (heartbeat expired, not reaped yet) */
    char current[DCMP_ID_LEN];
    int64_t pid, birth, beat, processed, failed; /* birth and beat: ms since the epoch */
} dcmp_browse_worker;

/* Every registered worker (sorted by name, at most DCMP_BROWSE_MAX_WORKERS). *out is new
 * (free it), *n its length; *all (may be NULL) gets how many exist. Returns 0 or -1. */
int dcmp_browse_workers(dcmp_queue *q, dcmp_browse_worker **out, int *n, int *all);

/* The queues as the API gives them: [{"name","queued","deferred","blocked","scheduled",
 * "started","finished","failed","canceled"}]. New (cJSON_Delete it), NULL when out of memory. */
cJSON *dcmp_browse_queues_json(const dcmp_browse_queue *qs, int n);

/* The workers as the API gives them: [{"name","state","currentJob" (null when idle),"queues",
 * "lastHeartbeat" (ms),"processed","failed","host","pid","startedAt" (ms)}]. New, or NULL. */
cJSON *dcmp_browse_workers_json(const dcmp_browse_worker *ws, int n);

/* What a page of jobs shows. Strings are borrowed, "" or NULL for any. */
typedef struct dcmp_browse_filter {
    const char *queue;  /* with state, unless series is given */
    const char *state;  /* a name of dcmp_browse_states */
    const char *name;   /* jobName, exact */
    const char *series; /* series id, exact */
    int64_t offset;     /* 0 .. DCMP_BROWSE_MAX_OFFSET */
    int64_t count;      /* 1 .. DCMP_BROWSE_MAX_PAGE */
} dcmp_browse_filter;

/* One job of a page. */
typedef struct dcmp_browse_row {
    char id[DCMP_ID_LEN];
    char name[DCMP_BROWSE_NAME_LEN];
    char queue[DCMP_QUEUE_LEN];
    char state[16]; /* a job state, or "expired" (in a registry, its hash gone) */
    char event[DCMP_ID_LEN * 2];
    char series[DCMP_BROWSE_SERIES_LEN];
    char error[DCMP_BROWSE_ERROR_LEN + 1]; /* cut at DCMP_BROWSE_ERROR_LEN bytes */
    int64_t created, started, ended, attempts;
} dcmp_browse_row;

typedef struct dcmp_browse_page {
    dcmp_browse_row *rows; /* owned: free with dcmp_browse_page_free */
    int n;
    int64_t total;   /* jobs matching the filter (among the scanned ones when not exact) */
    int exact;       /* 0: the total and the pages cover only the newest `scanned` jobs */
    int64_t scanned; /* registry entries looked at by a name filter (0: not a scan) */
} dcmp_browse_page;

/* Checks a filter against the rules below and the caps; the error names the field
 * ("state: one of ..."). Pure. Returns 0 or -1 with err. */
int dcmp_browse_check_filter(const dcmp_browse_filter *f, char *err);

/*
 * A page of jobs, newest first. Either queue and state are given (name and series then
 * narrow it), or series (any of the others narrow it). A name filter over a registry and a
 * name both larger than DCMP_BROWSE_WINDOW looks at the newest DCMP_BROWSE_WINDOW entries of
 * the registry only (exact 0): its cost is bounded, whatever the number of jobs. Returns 0 or -1 (a
 * filter that breaks these rules is EREPLY with the field named). Free the page with
 * dcmp_browse_page_free.
 */
int dcmp_browse_jobs(dcmp_queue *q, const dcmp_browse_filter *f, dcmp_browse_page *page);
void dcmp_browse_page_free(dcmp_browse_page *page);

/* A dependency or dependent of a job. */
typedef struct dcmp_browse_link {
    char id[DCMP_ID_LEN];
    char name[DCMP_BROWSE_NAME_LEN];
    char state[16]; /* "expired" when that job is gone */
} dcmp_browse_link;

typedef struct dcmp_browse_detail {
    dcmp_job job; /* every field of the job */
    char series[DCMP_BROWSE_SERIES_LEN];
    dcmp_browse_link *deps, *dependents; /* owned; at most DCMP_BROWSE_MAX_LINKS each */
    int ndeps, ndependents;
} dcmp_browse_detail;

/* One job with its links. Returns 1 (free *d with dcmp_browse_detail_free), 0 when there is
 * no such job, or -1. */
int dcmp_browse_job(dcmp_queue *q, const char *id, dcmp_browse_detail *d);
void dcmp_browse_detail_free(dcmp_browse_detail *d);

/*
 * A page of events (received series), newest first: {"events":[{"id","seriesId","version",
 * "receivedAt","plannedAt","state","error","jobCount","patientId","studyId","description",
 * "modality","decisions":[{"jobName","decision","reason","jobId","state"}]}],"total"}.
 * Returns 0 with *out new (cJSON_Delete it) or -1.
 */
int dcmp_browse_events(dcmp_queue *q, int64_t offset, int64_t count, cJSON **out);

/*
 * One event with its webhook body (null when larger than DCMP_BROWSE_BODY_MAX), its plan
 * (headers, decisions, jobs, reports) and "jobs": the plan's jobs, each with its "state"
 * now. Returns 1 with *out new (cJSON_Delete it), 0 when there is no such event, or -1.
 */
int dcmp_browse_event(dcmp_queue *q, const char *id, cJSON **out);

/* Requeues every failed job of `queue` (oldest first, in batches of 500: each batch is one
 * step, the whole is not). *n (may be NULL) gets how many registry entries were handled. */
int dcmp_browse_requeue_failed(dcmp_queue *q, const char *queue, int64_t *n);

/* Deletes every job of `queue` in `state` (queued, failed, finished or canceled), in batches
 * of 500; descendants that have not run are canceled (kept ttl_failed seconds, as by
 * dcmp_queue_delete). *n and *canceled (may be NULL) get the counts. */
int dcmp_browse_empty(dcmp_queue *q, const char *queue, const char *state, int64_t ttl_failed,
                      int64_t *n, int64_t *canceled);

/* Takes one chart sample (totals over every queue, jobs finished and failed since the last
 * sample) unless another dashboard took one less than 0.9 interval ago; keeps `cap`.
 * *taken (may be NULL) gets 1 or 0. */
int dcmp_browse_sample(dcmp_queue *q, int64_t interval_ms, int64_t cap, int *taken);

/* The samples newer than since_ms, oldest first, as a cJSON array of objects {"t","dt",
 * "queued","deferred",...,"done","errors","depth":{queue: queued}}. Returns 0 with *out new
 * (cJSON_Delete it) or -1. */
int dcmp_browse_history(dcmp_queue *q, int64_t since_ms, int64_t cap, cJSON **out);

/* The job names seen at enqueue (sorted, at most max), as a cJSON array of strings. */
int dcmp_browse_names(dcmp_queue *q, int max, cJSON **out);

#endif
