/* holds.h -- the paths under DATA held for a study's (patient's) pending events, in Redis.
 * Every function works on level L (level.h), "study" in the words below. */
#ifndef DCMP_HOLDS_H
#define DCMP_HOLDS_H

#include <stdint.h>

#include "level.h"
#include "queue.h"

#define DCMP_HOLDS_MAX      2048 /* paths held for one study (a study has at most 1,024 series) */
#define DCMP_HOLDS_PATH_LEN 513  /* a held path, relative to DATA: at most 512 bytes */

/* What is held for a study, from dcmp_holds_load. */
typedef struct dcmp_holds {
    char (*paths)[DCMP_HOLDS_PATH_LEN]; /* owned: free with dcmp_holds_clear */
    int n;
    int ended;            /* 1: every study event of the study is over: planned with all its jobs
                           * ended, ignored or failed (none pinned by a planner meanwhile) */
    int64_t state_ttl_ms; /* what the study's state has left to live; -2: gone (expired) */
    int releasing;        /* 1: a release claimed (dcmp_holds_claim) has not ended */
    int64_t quiet_ms;     /* Redis' time the study was first seen quiet (dcmp_holds_quiet); 0 */
} dcmp_holds;

/*
 * Holds `path` (relative to DATA) for study `study`, at Redis' time: kept 2 x ttl seconds after
 * its last hold, so it outlives the study's state. Returns 0 or -1 (the handle's error).
 */
int dcmp_holds_add(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path,
                   int64_t ttl);

/*
 * What is held for study `study`: its paths held at or before since_ms (Redis' time: the time
 * its state was read at; at most DCMP_HOLDS_MAX, longer ones left out),
 * whether the jobs of its planned study events have all ended, and its state's time to live.
 * Returns 0 with *h filled (h->n 0: nothing held), or -1.
 */
int dcmp_holds_load(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms,
                    dcmp_holds *h);

/* Releases `path` of study `study` (removed from its holds). Returns 0 or -1. */
int dcmp_holds_drop(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path);

/* 1 when `path` is held for `study` after since_ms (held again since the state was read), 0
 * when not (or not held), -1 on error. */
int dcmp_holds_again(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path,
                     int64_t since_ms);

/*
 * The study was seen quiet in its state read at since_ms: notes since_ms as the time it became
 * quiet, unless noted already or a series joined after that read (a join, or a version
 * decided, removes the note). Returns 0 with *quiet_ms the noted time (0: none), or -1.
 */
int dcmp_holds_quiet(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms,
                     int64_t *quiet_ms);

/* The study is not quiet: the note of dcmp_holds_quiet removed. Returns 0 or -1. */
int dcmp_holds_unquiet(dcmp_queue *q, const dcmp_level *L, const char *study);

/*
 * Begins the release of the study's held paths, in one step with the check that no study
 * event of it is being planned (pinned: dcmp_holds_pin) or has a job that has not ended, and
 * that no series joined after since_ms. Returns 1 (claimed: the study is `releasing` until
 * dcmp_holds_released), 0 (not now), or -1.
 */
int dcmp_holds_claim(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms);

/* The release claimed has ended. Returns 0 or -1. */
int dcmp_holds_released(dcmp_queue *q, const dcmp_level *L, const char *study);

/*
 * Study event `event` begins planning: pinned, so no release of the study begins until it is
 * over. Returns 1 (pinned), 0 (a release runs: plan the event after it), or -1.
 */
int dcmp_holds_pin(dcmp_queue *q, const dcmp_level *L, const char *study, const char *event);

/* Frees what dcmp_holds_load filled. */
void dcmp_holds_clear(dcmp_holds *h);

#endif
