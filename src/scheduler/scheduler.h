/* scheduler.h -- dcmp-scheduler: the webhook intake (http.c) and the planning loop
 * (planner.c) around one durable inbox in Redis. */
#ifndef DCMP_SCHEDULER_H
#define DCMP_SCHEDULER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <cjson/cJSON.h>
#include <stdint.h>

#include "callbacks.h"
#include "config.h"
#include "level.h"
#include "pool.h"
#include "queue.h"
#include "settings.h"
#include "settings_cache.h"
#include "throttle.h"
#include "trigger.h"
#include "webhook.h"

#define LATENCY_BUCKETS 9

/* Counters for /metrics, written by both threads. */
typedef struct metrics {
    atomic_long received;    /* webhook requests to /stable-series and /stable-study */
    atomic_long accepted;    /* stored as new events */
    atomic_long duplicates;  /* the same series version again */
    atomic_long rejected;    /* 4xx: malformed, unauthorized, too large */
    atomic_long unavailable; /* 503: Redis did not answer */
    atomic_long planned;     /* events planned with at least one job */
    atomic_long ignored;     /* events planned with no job */
    atomic_long failed;      /* events whose plan could not be written */
    atomic_long callback_errors;
    atomic_long caught_up; /* events made by the catch-up (their webhook was lost) */
    atomic_long arriving;  /* series Orthanc's script said are arriving */
    atomic_long early;     /* events made by the arrival watch, before Orthanc's webhook */
    atomic_long throttled; /* webhooks refused with 429 (WEBHOOK_RATE) */
    atomic_long latency[LATENCY_BUCKETS + 1]; /* received -> enqueued, cumulative buckets */
    atomic_long latency_count;
    atomic_llong latency_sum_us;
} metrics;

#define SCHEDULER_MAX_PLANNERS 8
#define SCHEDULER_HTTP_THREADS 2 /* while one waits on Redis, the other takes a request */

#define WATCH_MAX     1024 /* series watched at once; more wait for Orthanc's own webhook */
#define WATCH_POLL_MS 100  /* how often a watched series is looked at */

/* A series Orthanc's script said is arriving, watched until it is stable. */
typedef struct watched {
    char id[65];          /* Orthanc's series id */
    char last_update[40]; /* its LastUpdate when last looked at */
    int instances;        /* its instance count then */
    int64_t changed_ms;   /* monotonic ms of the last change seen (or the arrival) */
    int64_t since_ms;     /* monotonic ms it was added */
} watched;

/* Locks over the held folders (hold.c): holds and releases of one folder take the same one. */
#define HOLD_LOCKS 64

typedef struct scheduler {
    const dcmp_config *cfg;
    const char *dicom_program;                  /* dcmp-dicom's path */
    dcmp_queue *intake[SCHEDULER_HTTP_THREADS]; /* one Redis connection per HTTP thread */
    atomic_int intake_next;                     /* hands out the connections */
    struct MHD_Daemon *http;
    dcmp_throttle *rate;         /* owned: webhook posts per client address; NULL = no limit */
    volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT */
    metrics m;
    atomic_int plan_failures;      /* events in a row that could not be planned (see health) */
    pthread_mutex_t health_lock;   /* guards plan_error */
    char plan_error[DCMP_ERR_LEN]; /* why the last of them could not */
    atomic_int studies;            /* bit 1 << level for each level (study, patient) the
                                    * registry has entries of (study.c): its events are taken;
                                    * else its webhook is answered and dropped, and the
                                    * catch-up makes none */
    pthread_mutex_t hold_locks[HOLD_LOCKS]; /* a held folder's marks and its release (hold.c):
                                             * one lock per folder, by a hash of its path */
    pthread_mutex_t watch_lock;             /* guards the arrival watch below */
    watched watch[WATCH_MAX];
    int nwatch;
} scheduler;

/* Time limits of the requests to dcmp-dicom (s). A fetch is bounded per file by the Orthanc
 * client's own timeouts too. */
#define HELPER_FETCH_TIMEOUT  3600
#define HELPER_HEADER_TIMEOUT 600
#define HELPER_GET_TIMEOUT    600

/* A helper process (dcmp-executor or dcmp-dicom) idle this long is ended: the scheduler gives
 * its memory back while nothing arrives, and starts a new one with the next event. */
#define HELPER_IDLE_MS 60000

/* /health answers 503 once this many events in a row could not be planned (each went back to
 * the inbox to wait, failed, or was quarantined), until one is planned again. */
#define HEALTH_PLAN_FAILURES 3

/* Seconds the planners, the catch-up and the watch get to end after SIGTERM before the process
 * exits anyway (what they had taken stays in their processing list: planned after a restart). */
#define SCHEDULER_STOP_GRACE 5

/* One thread's dcmp-dicom helper: Orthanc's REST API and DICOM headers, out of the daemon. */
typedef struct helper {
    dcmp_pool pool;
    const dcmp_config *cfg; /* borrowed: ORTHANC_REST_*, DATA */
    /* NULL, or asked about once a second while a request runs: nonzero ends the request (the
     * helper is killed; the request fails as stopped). Set after helper_init. */
    dcmp_executor_tick tick;
    void *tick_arg;
} helper;

/* One row of Orthanc's /changes, as the helper checked it. */
typedef struct helper_change {
    char type[48]; /* ChangeType */
    char id[65];   /* the resource's Orthanc id */
    int64_t seq;
} helper_change;

/* One planning thread: its own Redis connection, callback executor and dcmp-dicom helper. */
typedef struct planner {
    scheduler *s;
    dcmp_queue *q;
    dcmp_callbacks callbacks;
    dcmp_settings_cache *settings; /* this thread's parsed settings files */
    helper dicom;                  /* started with the first event that has files */
    dcmp_queue *seen;    /* claims series versions (series.c) while q has steps in flight */
    char name[96];       /* names its processing list: SCHEDULER_NAME[.N] */
    int index;           /* N */
    int64_t deadline_ms; /* monotonic ms the event being planned must be done by; 0: none */
    int cut;             /* why the tick ended the event's helper or callback: PLAN_CUT_* */
} planner;

enum { PLAN_CUT_NONE, PLAN_CUT_BUDGET, PLAN_CUT_STOP };

/* A dcmp_executor_tick for threads that only stop with the scheduler (arg: the scheduler). */
int scheduler_stopping(void *arg);

extern const double latency_bounds[LATENCY_BUCKETS];

/* Starts the HTTP server on SCHEDULER_BIND:SCHEDULER_PORT (SCHEDULER_HTTP_THREADS threads). */
int http_start(scheduler *s, char *err);
void http_stop(scheduler *s);

/* A helper that starts `program` (borrowed) when first asked. */
void helper_init(helper *h, const dcmp_config *cfg, const char *program);
void helper_stop(helper *h);

/* The helper's requests. Each returns 0, 1 when it failed for good (a series Orthanc does not
 * have, a corrupt file, the helper crashed or overran), or -1 when it may work later (Orthanc
 * does not answer); why[DCMP_ERR_LEN] says why. */

/* Checks ORTHANC_REST_URL and its credentials as the Orthanc client takes them (no request). */
int helper_check(helper *h, char *why);
/* Downloads the series into DATA/dicom/<series> (dcmp_orthanc_fetch_series): dcmpath and *n
 * (instances) filled. */
int helper_fetch(helper *h, const char *series, char *dcmpath, size_t size, int *n, char *why);
/* The header of the series folder DATA/dcmpath, reached without following a link: with
 * series_uid, the folder must hold exactly the series' `instances` files
 * (dcmp_dicom_series_check), else any series folder (dcmp_dicom_series_header). *out new. */
int helper_header(helper *h, const char *dcmpath, const char *series_uid, int instances,
                  cJSON **out, char *why);
/* Orthanc's JSON answer to GET path: *out new. */
int helper_get(helper *h, const char *path, cJSON **out, char *why);
/* Orthanc's answer to GET path as text, into text[size] (too long: fails for good). */
int helper_text(helper *h, const char *path, char *text, size_t size, char *why);
/* One page of GET /changes (dcmp_orthanc_changes): rows[max], *n, *last, *done. */
int helper_changes(helper *h, int64_t since, int limit, helper_change *rows, int max, int *n,
                   int64_t *last, int *done, char *why);

/* The /changes catch-up thread (when ORTHANC_REST_URL is set); arg: the scheduler. */
void *catchup_main(void *arg);

/*
 * Accepts the series `info` (Orthanc's /series/{id}) as an event, as a webhook would have
 * made it, unless it is a result of the pipeline; `source` ("catch-up", "arrival") goes into
 * the body and is the event's origin (the planner trusts these to call a series stable).
 * Returns 0, or -1 when Redis failed.
 */
int catchup_accept(scheduler *s, helper *o, dcmp_queue *q, const char *series, const cJSON *info,
                   const char *source);

/* Starts watching series `id` (POST /series-arriving). Returns 1 when added, 0 when watched
 * already, -1 when the watch is full (the series then waits for Orthanc's webhook). */
int watch_add(scheduler *s, const char *id);

/* The arrival watch thread (ORTHANC_REST_URL set, EARLY_STABLE on); arg: the scheduler. */
void *watch_main(void *arg);

/* What Orthanc says of a series (GET /series/{id}): what decides its planning. */
typedef struct series_facts {
    char last_update[40]; /* LastUpdate: the version planned once */
    char uid[65];         /* MainDicomTags.SeriesInstanceUID */
    char study[65];       /* ParentStudy */
    char modality[65];    /* MainDicomTags.Modality ("" when none) */
    int instances;        /* how many instances Orthanc has */
    int stable;           /* IsStable */
} series_facts;

/* Asks Orthanc for series `id` (one GET /series/{id}). Returns as the helper's requests: 0
 * (f filled), 1 for good (a series Orthanc does not have: why says so), -1 for now. */
int series_look(helper *h, const char *id, series_facts *f, char *why);

/* 1 with why[size] when MIN_INSTANCES or SUPPORTED_MODALITY leave the series out, else 0. */
int series_ignored(const dcmp_config *cfg, const series_facts *f, char *why, size_t size);

/* One series event decided before it is planned (series_decide_all). */
typedef struct series_verdict {
    dcmp_webhook w;    /* the event's body, parsed (owned: dcmp_webhook_free) */
    int rc;            /* 0: plan it (its version claimed); 1: recorded with why, not
                        * planned (state); -1: it must wait (Orthanc or Redis does not
                        * answer: why) */
    const char *state; /* "ignored" or "failed" when rc is 1 */
    int cut;           /* PLAN_CUT_* when the look at Orthanc was ended */
    series_facts f;    /* what Orthanc said of the series (with ORTHANC_REST_URL) */
    char why[DCMP_ERR_LEN];
} series_verdict;

/*
 * Decides n series events of a batch (ids[k] the event of v[k], whose w is parsed), with one
 * claim step in Redis for all of them. With ORTHANC_REST_URL, from what Orthanc says of each
 * series (one GET /series/{id} each, f filled): a series Orthanc does not have fails (nothing
 * claimed: a later real arrival is planned); a version another event claimed is a duplicate, a
 * webhook for a series Orthanc does not call stable yet only adds it to the arrival watch, a
 * series MIN_INSTANCES or SUPPORTED_MODALITY leave out is ignored. Without Orthanc, from the
 * body (tests and benchmarks without files): its version is claimed alike and its
 * ignoredBecause is the reason to ignore it. Fills each rc, state, why (and cut).
 */
void series_decide_all(planner *pl, series_verdict *const *v, const char *const *ids, int n);

/* The processing-list name of planner i (SCHEDULER_NAME for 0, SCHEDULER_NAME.i after). */
void planner_name(const dcmp_config *cfg, int i, char *name, size_t size);

/* Gives the planner's helper and callbacks the tick that ends them at a stop or when an
 * event's PLAN_TIMEOUT is spent. */
void planner_ticks(planner *pl);

/* Plans events from the inbox until *s->stop (a thread entry; arg: a planner). */
void *planner_main(void *arg);

/* What planning one event produced, for event_done. */
typedef struct outcome {
    char *graph; /* owned; NULL when no job */
    char *plan;  /* owned: the plan JSON (the event record's "plan") */
    const char *state;
    char error[DCMP_ERR_LEN];
    int callback_errors;
} outcome;

/* Plans data (an event's data) at level (DCMP_LEVEL_*) with the settings given, the callbacks
 * run in the planner's executor; due: as dcmp_plan_input's (NULL: every entry of the level).
 * Fills out (state planned, ignored or failed). */
void planner_make(planner *pl, const char *id, const cJSON *system, const dcmp_settings_files *reg,
                  const cJSON *data, int level, int (*due)(void *, const char *, char *),
                  void *due_arg, outcome *out);

/* ---- study and patient events (study.c) ---- */

/* A study or patient event's body starts so ({"level":"study","studyId":...},
 * {"level":"patient","patientId":...}); a series event has a seriesId, which those never
 * have. */
#define LEVEL_BODY_PREFIX "{\"level\":\""

/* 1 when the registry has entries of level L (study, patient): its events are taken. */
int study_wanted(scheduler *s, const dcmp_level *L);

/*
 * Adds series `series` (Orthanc's id) of series event `id` to its study's state and to its
 * patient's (for each level the registry has entries of; else does nothing): its data (the
 * event's data: header fields, SeriesInstanceUID, dcmpath, studyId, patientId) and Orthanc's
 * facts f (NULL without Orthanc). skip: the series failed and has no files: its study does not
 * wait for it. The study is then due to be decided. Returns 0, or -1 with err when Redis
 * failed (the event waits).
 */
int study_note(planner *pl, const char *id, const char *series, const dcmp_settings_files *reg,
               const cJSON *data, const series_facts *f, int skip, char *err);

/*
 * Plans study or patient event `id` (body: its JSON text, its "level" naming which): with
 * origin webhook, check or catch-up, first records the study stable when Orthanc says so, with
 * the series Orthanc has; then decides every entry of its level (dcmp_study_decide), makes the
 * folder for those whose study is complete and plans them; records the versions decided and
 * when the study is due next.
 * Returns 0 (out filled), or -1 with err when it must wait (Redis, Orthanc, the settings).
 */
int study_plan(planner *pl, const char *id, const char *body, outcome *out, char *err);

/* Stores an event of level L for `study` (a study or patient id; origin: webhook, watch,
 * check, catch-up; version: Orthanc's LastUpdate of it, "" when not known) through q. Returns
 * 1 (accepted: id filled), 0 (a duplicate: id gets the other event's) or -1 (Redis failed). */
int study_accept(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                 const char *version, const char *origin, char id[DCMP_ID_LEN]);

/* Sets s->studies from the registry as it is now (at start, before any thread). */
void study_init(scheduler *s);

/* The study thread: decides the studies that are due (news, deadlines, series jobs running)
 * and makes a study event for each that has an entry to plan or drop; arg: the scheduler. */
void *study_main(void *arg);

/* ---- holds (hold.c) ---- */

/*
 * Holds dcmpath (a series folder relative to DATA) for `study` of level L (a study or a
 * patient: a holder): recorded in Redis, then marked DATA/.holds/<dcmpath>/@held.<level>.<id>,
 * one mark per holder, under the folder's lock (s->hold_locks) that its releases take too;
 * systemcleaner leaves the folder in place while any mark is left.
 * Returns 0, or -1 with err (a bad path or id, Redis, the mark cannot be written: the series
 * event waits).
 */
int hold_series(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                const char *dcmpath, char *err);

/*
 * When `study` (of level L, its entries t[n]) holds paths: releases them (removes its own mark
 * of each; when no other holder's mark is left, what systemcleaner deferred in it; then
 * DATA/<L's folder>/<study> when the cleaner deferred anything in them; inside DATA, links
 * never followed) when its state expired, or once it has been `quiet` (no entry waits, every
 * series is ready) with every study event over for the rerun window of its entries
 * (dcmp_study_keep); the release is claimed in Redis first, so no study event is planned
 * meanwhile (study_plan's pin waits). Only the paths held at or before since_ms (Redis' time
 * its state was read at: a series that joined after is not released), each under its folder's
 * lock. Returns when the study is to be looked at next: due_ms (0: on news), or sooner while
 * something stays held.
 */
int64_t hold_next(scheduler *s, dcmp_queue *q, const dcmp_level *L, const char *study,
                  const dcmp_trigger *const *t, int n, int quiet, int64_t since_ms, int64_t due_ms);

/* 1 when the series `info` (Orthanc's /series/{id}) is a result the pipeline stored back
 * (catchup.c), else 0. */
int catchup_result(helper *o, const char *series, const cJSON *info);

#endif
