/* queue.h -- the Redis job protocol: enqueue graphs, fetch, finish, fail, requeue, reap. */
#ifndef DCMP_QUEUE_H
#define DCMP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"
#include "log.h"

/*
 * Every transition is one Lua script run by Redis (see src/queue/lua/), so a
 * crash of any client leaves no half state, and a job is in exactly one
 * place at every instant: its queue list, the processing list of the worker
 * running it, or a state registry. Scripts are loaded by SHA and loaded again
 * when Redis answers NOSCRIPT (after a restart).
 *
 * A dcmp_queue is one connection, for one thread. When the connection breaks,
 * the call that saw it returns -1 with err DCMP_QUEUE_EIO; the next call
 * connects again (dcmp_queue_connected says whether it is up).
 */

enum {
    DCMP_QUEUE_OK = 0,
    DCMP_QUEUE_EIO,      /* Redis unreachable or the connection broke */
    DCMP_QUEUE_EREPLY,   /* Redis or a script said no (errstr has its words) */
    DCMP_QUEUE_ENOJOB,   /* no such job */
    DCMP_QUEUE_ESTATE,   /* the job's state does not allow it */
    DCMP_QUEUE_ENOWORKER /* the worker is not registered (heartbeat expired) */
};

typedef struct dcmp_queue_opts {
    const char *host; /* borrowed during dcmp_queue_new */
    int port;
    const char *password;     /* "" or NULL: no AUTH */
    int64_t ttl_finished;     /* seconds a finished job is kept */
    int64_t ttl_failed;       /* seconds a failed or canceled job is kept */
    int64_t max_crashes;      /* worker deaths before a job fails for good */
    int64_t heartbeat_ttl_ms; /* a worker silent this long is dead */
    int64_t event_max_takes;  /* takes of an event never finished before it is quarantined (3) */
    int connect_timeout_ms;   /* default 2000 when 0 */
} dcmp_queue_opts;

typedef struct dcmp_queue dcmp_queue;

/* New handle; does not connect yet. Free with dcmp_queue_free. */
dcmp_queue *dcmp_queue_new(const dcmp_queue_opts *opts);

/* A handle with the settings a daemon read (REDIS_*, TTLs, WORKER_TTL, WORKER_MAX_CRASHES).
 * Free with dcmp_queue_free; NULL when out of memory. */
dcmp_queue *dcmp_queue_from_config(const dcmp_config *cfg);
void dcmp_queue_free(dcmp_queue *q);

/* Connects (AUTH, PING) unless connected. Returns 0 or -1. */
int dcmp_queue_connect(dcmp_queue *q);
int dcmp_queue_connected(const dcmp_queue *q);

/* The last error: a DCMP_QUEUE_E* code and its text (borrowed from q). */
int dcmp_queue_err(const dcmp_queue *q);
const char *dcmp_queue_errstr(const dcmp_queue *q);

/* Writes a graph made by dcmp_job_encode_graph in one step. Returns 0 or -1. */
int dcmp_queue_enqueue(dcmp_queue *q, const char *graph_json);

/*
 * Moves the next job of the first non-empty queue of `queues` (priority
 * order) into the worker's processing list and marks it started. Returns 1
 * with *job filled (clear it with dcmp_job_clear), 0 when all are empty, -1
 * on error (ENOWORKER: call dcmp_queue_heartbeat, then try again).
 */
int dcmp_queue_fetch(dcmp_queue *q, const char *worker, const char *const *queues, int n,
                     dcmp_job *job);

/* Blocks until a job may be waiting on one of `queues` or timeout_ms passes.
 * Returns 1 (woken), 0 (timeout) or -1. */
int dcmp_queue_wait(dcmp_queue *q, const char *const *queues, int n, int timeout_ms);

/* The worker's reports on a job it fetched. *outcome (may be NULL) gets
 * "ok"/"stale" (finish), "failed"/"retry"/"stale" (fail), "ok"/"stale"
 * (giveback). Strings are borrowed; result and log may be "". */
int dcmp_queue_finish(dcmp_queue *q, const char *worker, const char *id, const char *result,
                      const char *log, char outcome[16]);
int dcmp_queue_fail(dcmp_queue *q, const char *worker, const char *id, const char *error,
                    const char *log, char outcome[16]);
int dcmp_queue_giveback(dcmp_queue *q, const char *worker, const char *id, char outcome[16]);

/* dcmp_queue_finish and dcmp_queue_fetch in one round trip: records the success of `id`,
 * then takes the next job of `queues`. Returns 1 (*next filled: clear it), 0 (the queues
 * are empty) or -1; *outcome as for dcmp_queue_finish. After -1 with EIO the finish may or
 * may not have happened: report it again (a repeated finish is "stale", harmless), and a job
 * taken but unseen is put back by dcmp_queue_recover. */
int dcmp_queue_finish_fetch(dcmp_queue *q, const char *worker, const char *id, const char *result,
                            const char *log, char outcome[16], const char *const *queues, int n,
                            dcmp_job *next);

/* Registers the worker or renews its heartbeat (ttl from opts). birth_ms 0: the registration
 * is stamped with Redis' clock (what a worker passes: its host's clock may be off). */
int dcmp_queue_heartbeat(dcmp_queue *q, const char *worker, const char *queues, long pid,
                         const char *host, int64_t birth_ms);
/* Puts back the jobs of the worker's processing list other than `current`
 * ("" for none). *n (may be NULL) gets how many. */
int dcmp_queue_recover(dcmp_queue *q, const char *worker, const char *current, int64_t *n);
/* Removes the worker (a clean stop). */
int dcmp_queue_unregister(dcmp_queue *q, const char *worker);
/* Reaps dead workers. counts (may be NULL) gets {workers, jobs put back, jobs failed}. */
int dcmp_queue_reap(dcmp_queue *q, int64_t counts[3]);
/* Moves due retries back to their queues. *n (may be NULL) gets how many. */
int dcmp_queue_promote(dcmp_queue *q, int64_t *n);

/* Actions on one job (the dashboard's and the CLI's). *n (may be NULL) gets the
 * number of jobs canceled (cancel: the job and its descendants; delete: descendants). */
int dcmp_queue_requeue(dcmp_queue *q, const char *id);
int dcmp_queue_cancel(dcmp_queue *q, const char *id, int64_t *n);
int dcmp_queue_delete(dcmp_queue *q, const char *id, int64_t *n);

/* Reads a job. Returns 1 with *job filled, 0 when there is no such job, -1. */
int dcmp_queue_job(dcmp_queue *q, const char *id, dcmp_job *job);

/* Number of jobs of `queue` in `state` (queued: the list's length). */
int dcmp_queue_count(dcmp_queue *q, const char *queue, const char *state, int64_t *n);

/* Checks that Redis answers (connecting when needed). Returns 0 or -1. */
int dcmp_queue_ping(dcmp_queue *q);

/* ---- events (the scheduler's durable inbox) ---- */

/* Stores a received event (body: the webhook's JSON) and queues it for planning, unless
 * that series version (series + version key) was claimed within seen_ttl seconds
 * (dcmp_queue_event_claims). Returns 1 (accepted), 0 (a duplicate: dup_id gets the claiming
 * event's id) or -1. The event's origin is "webhook": it claims nothing. */
int dcmp_queue_event_accept(dcmp_queue *q, const char *id, const char *series, const char *version,
                            const char *body, size_t body_len, int64_t seen_ttl,
                            char dup_id[DCMP_ID_LEN]);

/* dcmp_queue_event_accept with the event's origin recorded. "arrival" and "catch-up" (the
 * scheduler's own threads, which read the version from Orthanc) also claim the version when
 * accepted, and event_claim trusts them to call a series stable. */
int dcmp_queue_event_accept_from(dcmp_queue *q, const char *origin, const char *id,
                                 const char *series, const char *version, const char *body,
                                 size_t body_len, int64_t seen_ttl, char dup_id[DCMP_ID_LEN]);

/* A series version a planner is about to plan, as Orthanc reported it (version: its
 * LastUpdate; stable: Orthanc calls the series stable), and the claim's answer. */
typedef struct dcmp_queue_claim {
    const char *id, *series, *version; /* borrowed */
    int stable;
    int result; /* 1 claimed by this event (now or before), 0 claimed by
                 * another event within seen_ttl (other: its id), 2 not stable
                 * and the event came from a webhook: not claimed */
    char other[DCMP_ID_LEN];
} dcmp_queue_claim;

/* Claims n versions (at most DCMP_QUEUE_EVENT_BATCH) in one step, in order, recording each as
 * its event's version; fills each one's result. Returns 0, or -1 (nothing known claimed). */
int dcmp_queue_event_claims(dcmp_queue *q, dcmp_queue_claim *c, int n, int64_t seen_ttl);

/* Moves the next event to plan into the scheduler's processing list, blocking up to
 * timeout_ms. Returns 1 with id, *body (new: free it) and *received (ms since the epoch;
 * may be NULL) set, 0 on timeout, or -1. Every take is counted in the event's record until the
 * event is finished or put back: an event taken event_max_takes times already (a scheduler
 * killed, crashed or hung on it each time) is recorded failed instead, off the processing list,
 * and 2 is returned with id and *body (new) set to the reason. */
int dcmp_queue_event_take(dcmp_queue *q, const char *scheduler, int timeout_ms,
                          char id[DCMP_ID_LEN], char **body, int64_t *received);

/* Writes the event's graph (from dcmp_job_encode_graph; NULL or "" for none) and its
 * record (plan JSON, state "planned", "ignored" or "failed", error text) and takes it off
 * the processing list, in one step. The record expires after the failed-jobs TTL. A graph
 * Redis refuses is an error (EREPLY); the event is then recorded failed with the reason.
 * An event no longer in the processing list (done already) is left alone. */
int dcmp_queue_event_done(dcmp_queue *q, const char *scheduler, const char *id, const char *graph,
                          const char *plan, const char *state, const char *error);

#define DCMP_QUEUE_EVENT_BATCH 16 /* events finished or taken in one step */

/* An event a planner took. */
typedef struct dcmp_queue_event {
    char id[DCMP_ID_LEN];
    char *body;       /* new: free it */
    int64_t received; /* ms since the epoch, 0 when unknown */
    int quarantined;  /* 1: taken too often, recorded failed at the take (not to be planned);
                       * body is then the reason */
} dcmp_queue_event;

/* One event a planner finished: what it planned, and what Redis did with it. */
typedef struct dcmp_queue_event_result {
    const char *id, *graph, *plan, *error; /* as for dcmp_queue_event_done; borrowed */
    const char *state; /* as for dcmp_queue_event_done, or "back": it waits in the inbox */
    int64_t jobs;      /* out: jobs written; -1: Redis refused the graph (refused says why) and
                        * the event was recorded failed with that reason; -2: the event was no
                        * longer in the processing list (done already), nothing changed */
    char refused[DCMP_ERR_LEN];
} dcmp_queue_event_result;

/*
 * Finishes n events (0..DCMP_QUEUE_EVENT_BATCH) as dcmp_queue_event_done does each, and takes
 * up to `take` next events from the inbox into the processing list (next[] filled, *nnext of
 * them: free their bodies; taken as by dcmp_queue_event_take, so one may be quarantined: not
 * to plan), all in one step, so a planner makes one round trip per batch. An event in state
 * "back" returns to the inbox (at its end); finishing or putting back resets its take count. Safe
 * to repeat after a lost reply: events already finished are left alone (-2). Returns 0 (each
 * done[i].jobs set), or -1 (nothing done, nothing taken).
 */
int dcmp_queue_event_finish(dcmp_queue *q, const char *scheduler, dcmp_queue_event_result *done,
                            int n, int take, dcmp_queue_event *next, int *nnext);

/*
 * dcmp_queue_event_finish in two halves, so a planner plans its next batch while Redis runs
 * the step: send writes the step to Redis and returns (done[] may be freed after it), recv
 * reads the answers in the order the steps were sent (the same n and take as their send).
 * Several steps may be in flight on one connection. Any failure (EIO) drops the connection:
 * a step sent may or may not have run, and its answer is lost; finishing the same events
 * again is safe (they are left alone when done), and events a lost step took stay in the
 * processing list until dcmp_queue_event_recover puts them back.
 */
int dcmp_queue_event_finish_send(dcmp_queue *q, const char *scheduler,
                                 const dcmp_queue_event_result *done, int n, int take);
int dcmp_queue_event_finish_recv(dcmp_queue *q, dcmp_queue_event_result *done, int n, int take,
                                 dcmp_queue_event *next, int *nnext);

/* Puts back into the inbox every event of the scheduler's processing list (at start: what a
 * killed scheduler had taken but not finished). *n (may be NULL) gets how many. */
int dcmp_queue_event_recover(dcmp_queue *q, const char *scheduler, int64_t *n);

/* The Orthanc /changes sequence number the catch-up has handled (0 when none yet), and
 * setting it after a page was handled. */
int dcmp_queue_catchup_get(dcmp_queue *q, int64_t *since);
int dcmp_queue_catchup_set(dcmp_queue *q, int64_t since);

/* Series that got a NewSeries change and no StableSeries yet, as the catch-up saw them
 * (dcmp:catchup:pending, by when first seen): a series cut off by an Orthanc shutdown before
 * StableAge never gets a StableSeries. pending adds one (kept when already there), settled
 * removes one, waiting lists the `max` seen first (ids up to 64 characters). */
#define DCMP_QUEUE_SERIES_LEN 65
int dcmp_queue_catchup_pending(dcmp_queue *q, const char *series, int64_t seen_ms);
int dcmp_queue_catchup_settled(dcmp_queue *q, const char *series);
int dcmp_queue_catchup_waiting(dcmp_queue *q, int max, char ids[][DCMP_QUEUE_SERIES_LEN], int *n);

/* Reads one field of an event record. Returns 1 with *value (new) set, 0 when absent, -1. */
int dcmp_queue_event_field(dcmp_queue *q, const char *id, const char *field, char **value);

/* ---- for the other files of libdcmp (browse.c), not for programs ---- */

struct redisReply;

#define DCMP_QUEUE_EXTRA_SCRIPTS 16 /* distinct scripts dcmp_queue_script keeps per handle */

/* Runs one Redis command (connecting when needed). Returns the reply, an error reply
 * included (free with freeReplyObject), or NULL with the error set (EIO). */
struct redisReply *dcmp_queue_command(dcmp_queue *q, int argc, const char **argv,
                                      const size_t *lens);

/* Runs a Lua script of src/queue/lua/ given by its embedded text (`body`: a dcmp_lua_NAME
 * array, which must outlive q; common.lua is prepended) with EVALSHA, loading it on first use
 * and again after NOSCRIPT. At most DCMP_QUEUE_EXTRA_SCRIPTS distinct scripts per handle. Returns
 * the reply (free with freeReplyObject) or NULL with the error set; an error reply becomes NULL
 * with the code its first word names (NOJOB, STATE, ...), as for the protocol's own scripts. */
struct redisReply *dcmp_queue_script(dcmp_queue *q, const char *body, int nargs, const char **args,
                                     const size_t *lens);

/* Sets the handle's error (a DCMP_QUEUE_E* code and a message), as the queue's own calls do.
 * Returns -1. */
int dcmp_queue_seterr(dcmp_queue *q, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
