/* jobs.h -- test fixture: jobs in every state and events, made with the real protocol scripts
 * (enqueue, fetch, finish, fail, cancel; event accept and done), no worker process needed. */
#ifndef DCMP_TEST_JOBS_H
#define DCMP_TEST_JOBS_H

#include "redis.h"

/* One job of a graph: "name|func|queue|deps" as fixture_enqueue, plus retries. */
typedef struct jobs_spec {
    const char *line;
    int64_t retry_max, retry_interval;
} jobs_spec;

/* Enqueues a graph of n jobs (at most 64) for `event` ("" for none), writing their ids.
 * Returns 0 or -1 (message printed). */
int jobs_graph(fixture *f, const char *event, const jobs_spec *specs, int n,
               char ids[][DCMP_ID_LEN]);

/* Registers `worker` (heartbeat of 60 s) on `queue`, fetches the next job of it into id.
 * Returns 1, 0 when the queue is empty, or -1. */
int jobs_take(fixture *f, const char *worker, const char *queue, char id[DCMP_ID_LEN]);

/* Fetches and finishes (ok) or fails (!ok, with error) the next job of `queue` as
 * `worker`. Returns 0 or -1. */
int jobs_run(fixture *f, const char *worker, const char *queue, int ok, const char *error);

/*
 * An event as the scheduler makes it: accepted for `series` with the body given, taken, and
 * done with the graph of `jobs` (fixture_enqueue's "name|func|queue|deps" lines) and a plan
 * whose decisions are those jobs ("scheduled") plus `extra_decisions` (a JSON fragment of
 * more decision objects, "" for none). Event id and job ids are written. Returns 0 or -1.
 */
int jobs_event(fixture *f, const char *series, const char *body, const char *const *jobs, int n,
               const char *extra_decisions, char event[DCMP_ID_LEN], char ids[][DCMP_ID_LEN]);

/*
 * A study or patient event (level "study" or "patient") as the scheduler makes it
 * (src/scheduler/study.c): accepted for the Orthanc study or patient id `id` by the real
 * study_accept script with the body the scheduler writes ({"level":"study","studyId":...,
 * "origin":"watch"}), taken, and done as jobs_event does, its plan with `headers` (JSON text),
 * the jobs' trigger the level, and `summary` (JSON text: the plan's "study" or "patient"
 * object, {"studyId" or "patientId","version","series":[...],"decisions":[...]}, as study.c
 * writes it). Returns 0 or -1.
 */
int jobs_level_event(fixture *f, const char *level, const char *id, const char *headers,
                     const char *summary, const char *const *jobs, int n,
                     const char *extra_decisions, char event[DCMP_ID_LEN], char ids[][DCMP_ID_LEN]);

/* One job of `queue` in each state (and the worker holding the started one), made in the
 * order of the fields. */
typedef struct jobs_states {
    char finished[DCMP_ID_LEN];
    char failed[DCMP_ID_LEN];
    char blocked[DCMP_ID_LEN]; /* depends on failed */
    char canceled[DCMP_ID_LEN];
    char scheduled[DCMP_ID_LEN]; /* failed once, retry in an hour */
    char started[DCMP_ID_LEN];   /* held by worker "holder" */
    char queued[DCMP_ID_LEN];
    char deferred[DCMP_ID_LEN]; /* depends on started */
} jobs_states;

/* Makes jobs_states in `queue` with the job names "s-<state>". Returns 0 or -1. */
int jobs_every_state(fixture *f, const char *queue, jobs_states *s);

#endif
