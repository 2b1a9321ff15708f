/* job.h -- a job as stored in Redis (wire version 1): decode, and encode a job graph. */
#ifndef DCMP_JOB_H
#define DCMP_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_WIRE_VERSION 1
#define DCMP_ID_LEN       40  /* ids are at most 39 characters */
#define DCMP_QUEUE_LEN    128 /* queue names */
#define DCMP_WORKER_LEN   160 /* worker names */
#define DCMP_GRAPH_MAX    256 /* jobs in one event's graph */
#define DCMP_DEPS_MAX     256 /* dependencies of one job */

/* A job read from Redis. Strings marked owned are freed by dcmp_job_clear. */
typedef struct dcmp_job {
    char id[DCMP_ID_LEN];
    char event[DCMP_ID_LEN * 2];
    char state[16]; /* deferred queued started finished failed canceled blocked scheduled */
    char queue[DCMP_QUEUE_LEN];
    char worker[DCMP_WORKER_LEN]; /* who runs or ran it, "" when none */
    char *name;                   /* owned: jobName */
    char *func;                   /* owned: dotted worker function */
    char *kwargs;                 /* owned: JSON {"jobName","headers","params","added_params"} */
    char *error;                  /* owned: "" when none */
    char *log;                    /* owned: tail of the job's log */
    char *result;                 /* owned: JSON the worker set, "" when none */
    char *deps;                   /* owned: JSON array of dependency ids */
    char *inputs;    /* owned: at a fetch, the finished dependencies' results (fetch.lua's
                      * job_inputs, as JSON made by queue.c; dcmp_inputs_merge reads it), ""
                      * otherwise */
    int64_t wire;    /* the hash's wire version */
    int64_t timeout; /* seconds, -1 = no limit */
    int64_t created, enqueued, started, ended; /* ms since the epoch, 0 = not yet */
    int64_t attempts, crashes, retry_max, retry_interval, pending;
} dcmp_job;

/* What the planner gives for one job of a graph. All borrowed. */
typedef struct dcmp_job_spec {
    const char *id;          /* from dcmp_job_new_id */
    const char *name;        /* jobName */
    const char *func;        /* dotted worker function */
    const char *queue;       /* queue name */
    const char *kwargs;      /* JSON text, stored as given */
    int64_t timeout;         /* seconds, -1 = no limit */
    const char *const *deps; /* ids of jobs earlier in the graph or already in Redis */
    int ndeps;
    int64_t retry_max;      /* extra runs after a failure, 0 = none */
    int64_t retry_interval; /* seconds between runs, 0 = at once */
} dcmp_job_spec;

/* Makes a new random job id (32 hex digits). Returns 0 or -1 when no randomness. */
int dcmp_job_new_id(char id[DCMP_ID_LEN]);

/*
 * Fills *job from the field/value pairs of the job's hash (HGETALL order),
 * `n` strings in all. Unknown fields are ignored (newer writers may add
 * some). Returns 0, or -1 with err when a required field is missing, a
 * number is not a number, or the wire version is newer than this reader.
 * Clear the job with dcmp_job_clear either way.
 */
int dcmp_job_decode(dcmp_job *job, size_t n, const char *const *strs, const size_t *lens,
                    char *err);

/* Frees the owned strings and zeroes the job. */
void dcmp_job_clear(dcmp_job *job);

/*
 * Encodes an event's job graph as the JSON the enqueue script reads:
 * {"v":1,"event":...,"jobs":[...]}. Checks every spec (ids and names set,
 * dependencies earlier in the graph or external, no more than the caps).
 * Returns a new string (free with free) or NULL with err.
 */
char *dcmp_job_encode_graph(const char *event, const dcmp_job_spec *specs, int n, char *err);

#endif
